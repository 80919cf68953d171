"""R's ``deparse``: the canonical text of a formula syntax tree, on one line or broken as R breaks it.

Interface
---------
deparse(node) -> str
    R's text for ``node`` on one line: spaces around ``+ - * | ~`` and
    comparisons, none around ``: ^ / $ @ :: %%``; user parentheses kept;
    non-syntactic names back-quoted.  Term labels and column names use it.
deparse_lines(node, cutoff=60) -> list of str
    The same text broken into lines as R's ``deparse(width.cutoff = 60)``
    breaks it (deparse2buff's ``linebreak``: after a spaced binary operator
    or a call's ``, `` once the line is longer than the cutoff, the
    continuation indented by four spaces a level); lme4's summary prints
    ``Formula:`` and R's ``summary.glm`` its ``Call:`` this way.
deparse_name(name) -> str
    A symbol as R prints it (back-quoted unless syntactic).

Both spell leaves (:func:`_leaf`) and operators alike; :func:`deparse`, on
the hot path of every model frame (term labels, column names), builds its
line directly rather than through the line-breaking writer.
"""

from __future__ import annotations

import functools
import re

from ._nodes import CONSTANTS, Arg, BinOp, Call, Const, Index, Name, Node, Num, Paren, Str, UnaryOp
from ._nodes import is_name_char, is_name_start

__all__ = ["deparse", "deparse_lines", "deparse_name"]

# R's reserved words (?Reserved): syntactic in form, but deparsed back-quoted.
_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "in", "NA_integer_", "NA_real_",
             "NA_character_", "NA_complex_"} | CONSTANTS
_DOTS = re.compile(r"\.\.(?:\.|[0-9]+)")  # ... and ..1, ..2: reserved too
#: operators R prints without spaces (deparse's PP_BINARY2 and the namespace/slot operators)
_TIGHT_OPS = {":", "^", "/", "$", "@", "%%", "%/%", "::", ":::"}


def _is_syntactic(name: str) -> bool:
    """R's syntactic names (?make.names): letters (any the locale calls letters,
    so ``höhe`` in a UTF-8 locale), digits, ``.`` and ``_``, starting with a
    letter or a dot not followed by a digit, and not a reserved word."""
    if not name or name in _RESERVED or _DOTS.fullmatch(name):
        return False
    if not is_name_start(name[0]) or (name[0] == "." and len(name) > 1 and name[1].isdigit()):
        return False
    return all(is_name_char(ch) for ch in name)


@functools.lru_cache(maxsize=4096)
def deparse_name(name: str) -> str:
    """A symbol as R deparses it: back-quoted unless it is syntactic (remembered: a model's names recur).

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    if _is_syntactic(name):
        return name
    return "`" + name.replace("`", "\\`") + "`"


def _leaf(node: Node) -> str | None:
    """R's text of a symbol or constant; None for a node with parts."""
    if isinstance(node, Name):
        return deparse_name(node.name)
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Str):
        return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Const):
        return node.name
    return None


class _Writer:
    """R's deparse2buff: writes a tree into lines, breaking after ``cutoff`` characters
    at the places R breaks (4-space indent a level for the first four levels, then 2)."""

    def __init__(self, cutoff: float) -> None:
        self.cutoff = cutoff
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.width = 0
        self.indent = 0

    def write(self, s: str) -> None:
        if not self.buf and self.indent:
            pad = "".join("    " if i < 4 else "  " for i in range(self.indent))
            self.buf.append(pad)
            self.width = len(pad)
        self.buf.append(s)
        self.width += len(s)

    def end_line(self) -> None:
        self.lines.append("".join(self.buf))
        self.buf = []
        self.width = 0

    def linebreak(self, broken: bool) -> bool:
        """Break the line when it is past the cutoff; the first break of a construct indents once more."""
        if self.width > self.cutoff:
            if not broken:
                broken = True
                self.indent += 1
            self.end_line()
        return broken

    def args(self, args: tuple[Arg, ...]) -> None:
        broken = False
        for k, a in enumerate(args):
            if a.name is not None:
                self.write(deparse_name(a.name) + " = ")
            self.node(a.value)
            if k < len(args) - 1:
                self.write(", ")
                broken = self.linebreak(broken)
        if broken:
            self.indent -= 1

    def node(self, node: Node) -> None:
        leaf = _leaf(node)
        if leaf is not None:
            self.write(leaf)
        elif isinstance(node, Paren):
            self.write("(")
            self.node(node.expr)
            self.write(")")
        elif isinstance(node, UnaryOp):
            self.write(node.op)
            self.node(node.operand)
        elif isinstance(node, Call):
            self.node(node.func)
            self.write("(")
            self.args(node.args)
            self.write(")")
        elif isinstance(node, Index):
            self.node(node.obj)
            self.write("[[" if node.double else "[")
            self.args(node.args)
            self.write("]]" if node.double else "]")
        elif isinstance(node, BinOp):
            self.node(node.left)
            if node.op in _TIGHT_OPS:
                self.write(node.op)
                self.node(node.right)
            else:
                self.write(f" {node.op} ")
                broken = self.linebreak(False)
                self.node(node.right)
                if broken:
                    self.indent -= 1
        else:
            raise TypeError(f"not a formula node: {node!r}")


def deparse_lines(node: Node, cutoff: float = 60) -> list[str]:
    """R's ``deparse(node, width.cutoff = cutoff)``: the text, broken into lines as R breaks it.

    Parameters
    ----------
    node : Node
        A syntax tree (a whole formula is a ``~`` node).
    cutoff : float
        R's ``width.cutoff``: a line is broken at the first place R allows once
        it is longer than this.

    Returns
    -------
    list of str
        One element unless the text is longer than the cutoff.

    Examples
    --------
    >>> from glmmfast.formula._formula import parse_formula_tree
    >>> deparse_lines(parse_formula_tree("y ~ x + (1 | g)"))
    ['y ~ x + (1 | g)']
    """
    writer = _Writer(cutoff)
    writer.node(node)
    writer.end_line()
    return writer.lines


def deparse(node: Node) -> str:
    """Return R's canonical text for ``node`` on one line.

    Spacing follows R's ``deparse``: spaces around ``+ - * | ~`` and
    comparisons, none around ``:``, ``^`` and ``/``; user parentheses are kept.

    Parameters
    ----------
    node : Node
        A syntax tree from :func:`~glmmfast.formula._formula.parse_expression`.

    Returns
    -------
    str
    """
    leaf = _leaf(node)
    if leaf is not None:
        return leaf
    if isinstance(node, BinOp):
        left, right = deparse(node.left), deparse(node.right)
        return f"{left}{node.op}{right}" if node.op in _TIGHT_OPS else f"{left} {node.op} {right}"
    if isinstance(node, Call):
        return f"{deparse(node.func)}({_args(node.args)})"
    if isinstance(node, Paren):
        return f"({deparse(node.expr)})"
    if isinstance(node, UnaryOp):
        return node.op + deparse(node.operand)
    if isinstance(node, Index):
        return f"{deparse(node.obj)}{'[[' if node.double else '['}{_args(node.args)}{']]' if node.double else ']'}"
    raise TypeError(f"not a formula node: {node!r}")


def _args(args: tuple[Arg, ...]) -> str:
    return ", ".join(deparse(a.value) if a.name is None else f"{deparse_name(a.name)} = {deparse(a.value)}"
                     for a in args)
