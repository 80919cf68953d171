"""The R syntax tree of a formula: node classes and the small helpers that build and walk them.

Interface
---------
Node classes ``Name``, ``Num``, ``Str``, ``Const``, ``Call`` (with ``Arg``),
``Index``, ``BinOp``, ``UnaryOp``, ``Paren`` are frozen dataclasses; ``Node``
is their union.  A whole formula is ``BinOp("~", response, rhs)`` or, one
sided, ``UnaryOp("~", rhs)``, as R's formula is a call to ``~``.  ``pos`` is
the 0-based character offset in the source; it is left out of equality and
hashing, so two trees are equal when they spell the same R expression.

node_pos(node) -> int                 the recorded source position
unparen(node) -> Node                 the expression inside any user parentheses
chain(op, nodes) -> Node              ``a op b op c``, left-associative as R parses it
iter_names(node)                      symbols used as values (not as function or
                                      argument names)
find_bar(node) -> BinOp | None        the first ``|``/``||`` anywhere inside
formula_sides(formula) -> (response, rhs)   the two sides of a ``~`` node
is_name_start(ch), is_name_char(ch)   R's lexical rule for symbols
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

__all__ = ["Name", "Num", "Str", "Const", "Arg", "Call", "Index", "BinOp", "UnaryOp", "Paren", "Node",
           "BARS", "CONSTANTS", "is_name_start", "is_name_char", "node_pos", "unparen", "chain", "iter_names",
           "find_bar", "formula_sides"]

BARS = ("|", "||")
#: R's reserved constants, parsed as :class:`Const`
CONSTANTS = {"TRUE", "FALSE", "NA", "NULL", "Inf", "NaN"}


def is_name_start(ch: str) -> bool:
    """A character that may start an R symbol: a letter (any the locale calls one) or ``.``."""
    return ch.isalpha() or ch == "."


def is_name_char(ch: str) -> bool:
    """A character that may continue an R symbol: a letter, digit, ``.`` or ``_``."""
    return ch.isalnum() or ch in "._"


@dataclass(frozen=True)
class Name:
    """A symbol, e.g. ``x`` or a back-quoted ```my var```."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Num:
    """A numeric literal; ``text`` is R's canonical spelling (``2``, ``0.5``, ``3L``)."""

    text: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Str:
    """A string literal."""

    value: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Const:
    """One of R's reserved constants: TRUE, FALSE, NA, NULL, Inf, NaN."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Arg:
    """A call argument, optionally named (``base = 2``)."""

    name: str | None
    value: "Node"


@dataclass(frozen=True)
class Call:
    """A function call ``func(args...)``."""

    func: "Node"
    args: tuple[Arg, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Index:
    """Subsetting ``obj[args]`` or ``obj[[args]]``."""

    obj: "Node"
    args: tuple[Arg, ...]
    double: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BinOp:
    """A binary operator; ``pos`` is the operator's position."""

    op: str
    left: "Node"
    right: "Node"
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class UnaryOp:
    """A prefix operator ``-``, ``+``, ``!`` (or ``~`` of a one-sided formula)."""

    op: str
    operand: "Node"
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Paren:
    """Parentheses written by the user (kept so deparsing reproduces them)."""

    expr: "Node"
    pos: int = field(default=0, compare=False)


Node = Union[Name, Num, Str, Const, Call, Index, BinOp, UnaryOp, Paren]


def node_pos(node: Node) -> int:
    """Return the source position recorded on ``node``."""
    return getattr(node, "pos", 0)


def unparen(node: Node) -> Node:
    """The expression inside any parentheses around ``node``."""
    while isinstance(node, Paren):
        node = node.expr
    return node


def chain(op: str, nodes: list[Node]) -> Node:
    """``nodes`` joined by the binary operator ``op``, left-associative (``(a + b) + c``) as R parses ``a + b + c``.

    Parameters
    ----------
    op : str
        E.g. ``"+"`` or ``":"``.
    nodes : list of Node
        At least one.

    Returns
    -------
    Node
    """
    out = nodes[0]
    for node in nodes[1:]:
        out = BinOp(op, out, node, node_pos(node))
    return out


def iter_names(node: Node) -> Iterator[str]:
    """Yield the symbols ``node`` uses as values.

    Function names (``log`` in ``log(x)``), argument names (``base`` in
    ``log(x, base = 2)``) and the right side of ``$``/``@`` are skipped.

    Parameters
    ----------
    node : Node

    Yields
    ------
    str
    """
    if isinstance(node, Name):
        yield node.name
    elif isinstance(node, Paren):
        yield from iter_names(node.expr)
    elif isinstance(node, UnaryOp):
        yield from iter_names(node.operand)
    elif isinstance(node, BinOp):
        yield from iter_names(node.left)
        if node.op not in ("$", "@"):
            yield from iter_names(node.right)
    elif isinstance(node, Call):
        if not isinstance(node.func, Name) and not (isinstance(node.func, BinOp) and node.func.op in ("::", ":::")):
            yield from iter_names(node.func)
        for a in node.args:
            yield from iter_names(a.value)
    elif isinstance(node, Index):
        yield from iter_names(node.obj)
        for a in node.args:
            yield from iter_names(a.value)


def find_bar(node: Node) -> BinOp | None:
    """Return the first ``|``/``||`` anywhere inside ``node``, if any."""
    if isinstance(node, BinOp):
        if node.op in BARS:
            return node
        return find_bar(node.left) or find_bar(node.right)
    if isinstance(node, Paren):
        return find_bar(node.expr)
    if isinstance(node, UnaryOp):
        return find_bar(node.operand)
    if isinstance(node, (Call, Index)):
        inner = node.func if isinstance(node, Call) else node.obj
        found = find_bar(inner)
        for a in node.args:
            found = found or find_bar(a.value)
        return found
    return None


def formula_sides(formula: Node) -> tuple[Node | None, Node]:
    """The response (None when one-sided) and right-hand side of a ``~`` node.

    Parameters
    ----------
    formula : BinOp or UnaryOp
        ``BinOp("~", response, rhs)`` or ``UnaryOp("~", rhs)``.

    Returns
    -------
    tuple
        ``(response, rhs)``.

    Raises
    ------
    TypeError
        If ``formula`` is not a ``~`` node.
    """
    if isinstance(formula, BinOp) and formula.op == "~":
        return formula.left, formula.right
    if isinstance(formula, UnaryOp) and formula.op == "~":
        return None, formula.operand
    raise TypeError(f"not a formula (a '~' node): {formula!r}")
