# The lme4 formula language: tokenizer, parser and term algebra for R model
# formulas with random-effects bars.
#
# Interface
#   parse_formula(formula, data_columns=None) -> ParsedFormula   split
#       "y ~ fixed + (lhs | group)" (text, or the tree of parse_formula_tree)
#       into the response, the fixed-effects part and the expanded bar terms
#       (`||` and nested `a/b` grouping expanded the way lme4's findbars
#       does), all syntax trees; `.` in the fixed part becomes the data
#       columns not in the response, as R's terms(formula, data = data).
#       Text is parsed once per (text, data columns): the result is immutable
#       (frozen trees), so repeated fits of one formula share it.
#   parse_formula_tree(text) -> Node           the whole formula as one tree, a
#       `~` node (BinOp("~", response, rhs) or UnaryOp("~", rhs))
#   parse_expression(text) -> Node             parse one R expression (no `~`)
#   as_expression(node_or_text) -> Node        a tree as it is, or text parsed
#   expand_double_verts(formula) -> str | Node the formula as lme4 stores and
#       prints it: each `(x || g)` replaced by `((1 | g) + (0 + x | g))`
#   expand_terms(node) -> Terms                R's terms(): intercept flag,
#       term list ordered by degree, offset() expressions, variable list
#   grouping_parts(group) -> list[Node]        the factors of a grouping
#       expression `a:b:c`
#   refuses_deep_nesting(func)                 decorator: RecursionError in a
#       function working on a syntax tree becomes a FormulaError
# The node classes live in _nodes (re-exported here), the deparser (R's
# canonical text of a tree, `deparse`) in _deparse.  The text of a formula is
# parsed once; everything downstream (model frame, printing) works on trees.
#
# Everything here is pure syntax: nothing looks at data.

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from glmmfast._errors import FormulaError

from ._deparse import deparse
from ._nodes import (BARS, CONSTANTS, Arg, BinOp, Call, Const, Index, Name, Node, Num, Paren, Str, UnaryOp, chain,
                     find_bar, formula_sides, is_name_char, is_name_start, iter_names, node_pos, unparen)

__all__ = [
    "RandomTermSpec",
    "ParsedFormula",
    "Terms",
    "parse_formula",
    "parse_formula_tree",
    "parse_expression",
    "as_expression",
    "deparse",
    "expand_double_verts",
    "expand_terms",
    "grouping_parts",
    "iter_names",
    "refuses_deep_nesting",
    "Name", "Num", "Str", "Const", "Arg", "Call", "Index", "BinOp", "UnaryOp", "Paren", "Node",
]

_F = TypeVar("_F", bound=Callable)


def refuses_deep_nesting(func: _F) -> _F:
    """Turn a ``RecursionError`` raised inside ``func`` into a :class:`FormulaError`.

    The parser, deparser, term algebra and evaluator recurse on the syntax
    tree, so nesting (``((((x))))``, ``I(I(I(x)))``, ``- - - x``) deeper than
    Python's recursion limit allows (a few hundred levels) exhausts the
    stack.  R refuses such formulas too, at 50 levels of brackets
    ("contextstack overflow").  Decorate the entry points, not the recursive
    functions themselves (the wrapper would double their stack use).
    """
    @functools.wraps(func)
    def guarded(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RecursionError:
            text = next((a for a in args if isinstance(a, str)), None)
            where = "" if text is None else f": {text[:60]!r}{'...' if len(text) > 60 else ''}"
            raise FormulaError(f"formula nested too deeply (R: contextstack overflow){where}") from None
    return guarded  # type: ignore[return-value]


# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------


def as_expression(value: Node | str) -> Node:
    """A syntax tree as given, or R text parsed (for callers that start from text).

    Parameters
    ----------
    value : Node or str

    Returns
    -------
    Node

    Raises
    ------
    FormulaError
        Text that does not parse.
    """
    return parse_expression(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class RandomTermSpec:
    """One random-effects term ``(lhs | group)`` after expansion.

    Attributes
    ----------
    lhs_expr : Node
        The bar's left side, e.g. ``1``, ``0 + x``, ``x`` (R text is parsed).
    group_expr : Node
        The grouping factor, e.g. ``g``, ``a:b``, ``b:a`` (R text is parsed).
    lhs, group : str
        Their R text (``deparse``), e.g. ``"0 + x"`` and ``"b:a"``.
    structure : str
        Covariance structure (glmmTMB's syntax ``ar1(0 + f | g)``); ``"us"``
        (unstructured) for a plain bar.
    """

    lhs_expr: Node
    group_expr: Node
    structure: str = "us"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lhs_expr", as_expression(self.lhs_expr))
        object.__setattr__(self, "group_expr", as_expression(self.group_expr))

    @property
    def lhs(self) -> str:
        """R text of the bar's left side."""
        return deparse(self.lhs_expr)

    @property
    def group(self) -> str:
        """R text of the grouping factor."""
        return deparse(self.group_expr)


@dataclass(frozen=True)
class ParsedFormula:
    """A mixed-model formula split into its parts.

    Attributes
    ----------
    response_expr : Node or None
        The left-hand side; ``None`` for a one-sided formula (R text is parsed).
    fixed_expr : Node
        The right-hand side with every bar term removed; ``1`` when nothing
        is left (R text is parsed).
    random : tuple of RandomTermSpec
        The bar terms in formula order, after ``||`` and ``/`` expansion.
    response_dropped : bool
        The response was also a term of the right-hand side and was dropped
        from it, as R's ``terms.formula`` does.
    formula : Node or None
        The whole formula as parsed (a ``~`` node), for printing; not compared.
    response, fixed : str or None, str
        R text of ``response_expr`` and ``fixed_expr``.
    """

    response_expr: Node | None
    fixed_expr: Node
    random: tuple[RandomTermSpec, ...]
    response_dropped: bool = False
    formula: Node | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.response_expr is not None:
            object.__setattr__(self, "response_expr", as_expression(self.response_expr))
        object.__setattr__(self, "fixed_expr", as_expression(self.fixed_expr))

    @property
    def response(self) -> str | None:
        """R text of the left-hand side (None for a one-sided formula)."""
        return None if self.response_expr is None else deparse(self.response_expr)

    @property
    def fixed(self) -> str:
        """R text of the fixed-effects part."""
        return deparse(self.fixed_expr)


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------





@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "num", "str", "op", "eof"
    text: str
    pos: int


# Longest operators first so "||" wins over "|", "**" over "*", etc.
_OPERATORS = (
    ":::", "::", "[[", "||", "&&", "==", "!=", "<=", ">=", "<-", "**",
    "~", "+", "-", "*", "/", "^", ":", "|", "&", "!", "<", ">",
    "(", ")", ",", "[", "]", "$", "@", "=",
)
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+L?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?"
)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        # A leading "." followed by a digit is a number (".5"), else a name.
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            tokens.append(_Token("num", m.group(0), i))
            i = m.end()
            continue
        if is_name_start(ch):
            j = i + 1
            while j < n and is_name_char(text[j]):
                j += 1
            tokens.append(_Token("name", text[i:j], i))
            i = j
            continue
        if ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise _error(text, i, "unterminated back-quoted name")
            tokens.append(_Token("qname", text[i + 1 : j], i))
            i = j + 1
            continue
        if ch in "'\"":
            value, j = _read_string(text, i)
            tokens.append(_Token("str", value, i))
            i = j
            continue
        if ch == "%":
            j = text.find("%", i + 1)
            if j < 0:
                raise _error(text, i, "unterminated %op% operator")
            tokens.append(_Token("op", text[i : j + 1], i))
            i = j + 1
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                # R reads "**" as "^".
                tokens.append(_Token("op", "^" if op == "**" else op, i))
                i += len(op)
                break
        else:
            raise _error(text, i, f"unexpected character {ch!r}")
    tokens.append(_Token("eof", "", n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise _error(text, start, "unterminated string")


def _error(text: str, pos: int, what: str) -> FormulaError:
    return FormulaError(f"{what} at position {pos} in {text!r}")


# --------------------------------------------------------------------------
# Parser (recursive descent following R's operator precedence)
# --------------------------------------------------------------------------

# Binary levels from loosest to tightest; `~` is handled by parse_formula,
# unary `!` sits between "and" and comparison, unary +/- between ":" and "^".
_COMPARISON = {"==", "!=", "<", ">", "<=", ">="}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # -- token helpers --------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def at(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def take(self) -> _Token:
        t = self.tok
        self.i += 1
        return t

    def fail(self, what: str, pos: int | None = None) -> FormulaError:
        return _error(self.text, self.tok.pos if pos is None else pos, what)

    def expect_close(self, closer: str, opener_pos: int) -> None:
        if self.at(closer):
            self.take()
            return
        if self.tok.kind == "eof":
            raise FormulaError(
                f"unbalanced parenthesis at position {self.tok.pos} in "
                f"{self.text!r} (the {self.text[opener_pos]!r} at position "
                f"{opener_pos} is never closed)"
            )
        raise self.fail(f"expected {closer!r} but found {self.tok.text!r}")

    def expect_end(self) -> None:
        if self.tok.kind == "eof":
            return
        if self.at(")"):
            raise FormulaError(
                f"unbalanced parenthesis at position {self.tok.pos} in "
                f"{self.text!r} (')' without a matching '(')"
            )
        if self.at("~"):
            raise self.fail("more than one '~'")
        raise self.fail(f"unexpected {self.tok.text!r}")

    # -- grammar ----------------------------------------------------------
    def expression(self) -> Node:
        return self.parse_or()

    def parse_or(self) -> Node:
        left = self.parse_and()
        while self.at("|", "||"):
            op = self.take()
            if self.at(")") or self.tok.kind == "eof":
                raise self.fail(f"empty grouping factor after {op.text!r}")
            left = BinOp(op.text, left, self.parse_and(), op.pos)
        return left

    def parse_and(self) -> Node:
        left = self.parse_not()
        while self.at("&", "&&"):
            op = self.take()
            left = BinOp(op.text, left, self.parse_not(), op.pos)
        return left

    def parse_not(self) -> Node:
        if self.at("!"):
            op = self.take()
            return UnaryOp("!", self.parse_not(), op.pos)
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_additive()
        if self.tok.kind == "op" and self.tok.text in _COMPARISON:
            op = self.take()
            left = BinOp(op.text, left, self.parse_additive(), op.pos)
        return left

    def parse_additive(self) -> Node:
        left = self.parse_multiplicative()
        while self.at("+", "-"):
            op = self.take()
            left = BinOp(op.text, left, self.parse_multiplicative(), op.pos)
        return left

    def parse_multiplicative(self) -> Node:
        left = self.parse_special()
        while self.at("*", "/"):
            op = self.take()
            left = BinOp(op.text, left, self.parse_special(), op.pos)
        return left

    def parse_special(self) -> Node:
        left = self.parse_colon()
        while self.tok.kind == "op" and self.tok.text.startswith("%"):
            op = self.take()
            left = BinOp(op.text, left, self.parse_colon(), op.pos)
        return left

    def parse_colon(self) -> Node:
        left = self.parse_unary()
        while self.at(":"):
            op = self.take()
            left = BinOp(":", left, self.parse_unary(), op.pos)
        return left

    def parse_unary(self) -> Node:
        if self.at("-", "+"):
            op = self.take()
            return UnaryOp(op.text, self.parse_unary(), op.pos)
        return self.parse_power()

    def parse_power(self) -> Node:
        base = self.parse_postfix()
        if self.at("^"):
            op = self.take()
            # Right-associative, and the exponent may carry a sign: 2^-1.
            return BinOp("^", base, self.parse_unary(), op.pos)
        return base

    def parse_postfix(self) -> Node:
        node = self.parse_primary()
        while True:
            if self.at("("):
                pos = self.take().pos
                node = Call(node, self.arguments(")", pos), node_pos(node))
            elif self.at("[[", "["):
                t = self.take()
                double = t.text == "[["
                args = self.arguments("]", t.pos)
                if double:
                    self.expect_close("]", t.pos)
                node = Index(node, args, double, node_pos(node))
            elif self.at("$", "@"):
                op = self.take()
                if self.tok.kind not in ("name", "qname", "str"):
                    raise self.fail(f"expected a name after {op.text!r}")
                t = self.take()
                node = BinOp(op.text, node, Name(t.text, t.pos), op.pos)
            else:
                return node

    def arguments(self, closer: str, opener_pos: int) -> tuple[Arg, ...]:
        args: list[Arg] = []
        if self.at(closer):
            self.take()
            return ()
        while True:
            name = None
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None  # none after the end token
            if (self.tok.kind in ("name", "qname", "str") and nxt is not None
                    and nxt.kind == "op" and nxt.text == "="):
                name = self.take().text
                self.take()
            args.append(Arg(name, self.expression()))
            if self.at(","):
                self.take()
                continue
            self.expect_close(closer, opener_pos)
            return tuple(args)

    def parse_primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.take()
            return Num(_canonical_number(t.text), t.pos)
        if t.kind == "str":
            self.take()
            return Str(t.text, t.pos)
        if t.kind == "qname":
            self.take()
            return Name(t.text, t.pos)
        if t.kind == "name":
            self.take()
            if t.text in CONSTANTS:
                return Const(t.text, t.pos)
            if self.at("::", ":::"):  # pkg::fun, as in splines::ns(x, df = 3)
                op = self.take()
                if self.tok.kind not in ("name", "qname"):
                    raise self.fail(f"expected a name after {op.text!r}")
                fun = self.take()
                return BinOp(op.text, Name(t.text, t.pos), Name(fun.text, fun.pos), op.pos)
            return Name(t.text, t.pos)
        if self.at("("):
            self.take()
            if self.at(")"):
                raise self.fail("empty parentheses")
            inner = self.expression()
            self.expect_close(")", t.pos)
            return Paren(inner, t.pos)
        if self.at("|", "||"):
            raise self.fail(f"bar {t.text!r} with no left side")
        if t.kind == "eof":
            raise self.fail("expected an expression but the formula ends")
        if self.at(")"):
            raise self.fail("expected an expression before ')'")
        raise self.fail(f"unexpected {t.text!r}")


def _canonical_number(text: str) -> str:
    """Spell a numeric literal the way R deparses it (``2.0`` -> ``2``)."""
    if text.endswith("L"):
        return str(int(text[:-1], 0)) + "L"
    value = int(text, 16) if text[:2].lower() == "0x" else float(text)
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"


@refuses_deep_nesting
def parse_expression(text: str) -> Node:
    """Parse a single R expression (no ``~``).

    Parameters
    ----------
    text : str
        R source, e.g. ``"cbind(a, b - a)"`` or ``"x * f + I(x^2)"``.

    Returns
    -------
    Node
        The syntax tree.

    Raises
    ------
    FormulaError
        If ``text`` is empty, contains ``~`` or is not valid R syntax.
    """
    if not text.strip():
        raise FormulaError(f"empty expression {text!r}")
    p = _Parser(text)
    node = p.expression()
    p.expect_end()
    return node


# --------------------------------------------------------------------------
# Term algebra (R's terms.formula)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """The expansion of a model formula's right-hand side into terms.

    Attributes
    ----------
    intercept : bool
        Whether the model has an intercept.
    variables : tuple of Node
        Distinct variables in order of first appearance.
    labels : tuple of str
        ``deparse`` of each variable (same order as ``variables``).
    terms : tuple of tuple of int
        Each term as sorted indices into ``variables``; terms are ordered by
        degree (main effects first), ties kept in formula order, as R does.
    offsets : tuple of Node
        The argument of every ``offset(...)`` term.
    """

    intercept: bool
    variables: tuple[Node, ...]
    labels: tuple[str, ...]
    terms: tuple[tuple[int, ...], ...]
    offsets: tuple[Node, ...]

    def term_labels(self) -> list[str]:
        """R's ``attr(terms, "term.labels")``: variables joined by ``:``."""
        return [":".join(self.labels[v] for v in t) for t in self.terms]

    def term_nodes(self) -> list[Node]:
        """Each term as a tree: its variables joined by ``:`` (``deparse`` gives :meth:`term_labels`)."""
        return [chain(":", [self.variables[v] for v in t]) for t in self.terms]


class _TermBuilder:
    """Recursive evaluation of the formula operators on sets of variables;
    ``source`` (R text, or the tree itself) is quoted in error messages."""

    def __init__(self, source: str | Node) -> None:
        self.source = source
        self.labels: list[str] = []
        self.variables: list[Node] = []
        self.offsets: list[Node] = []

    @property
    def text(self) -> str:
        """The source as R text (deparsed only when an error message needs it)."""
        return self.source if isinstance(self.source, str) else deparse(self.source)

    def var(self, node: Node) -> int:
        label = deparse(node)
        if label not in self.labels:
            self.labels.append(label)
            self.variables.append(node)
        return self.labels.index(label)

    # Each rule returns (terms, intercept) where intercept is True/False when
    # the expression sets it explicitly ("1", "0", "-1") and None otherwise.
    def expand(self, node: Node) -> tuple[list[frozenset[int]], bool | None]:
        if isinstance(node, Paren):
            return self.expand(node.expr)
        if isinstance(node, Num):
            if node.text in ("0", "1"):
                return [], node.text == "1"
            raise _error(self.text, node.pos, f"invalid model term {node.text!r}")
        if isinstance(node, Name) and node.name == ".":
            raise _error(self.text, node.pos, "'.' in formulas is not supported")
        if isinstance(node, UnaryOp) and node.op in "+-":
            terms, icpt = self.expand(node.operand)
            if node.op == "+":
                return terms, icpt
            # "-x" removes x from nothing; "-1" drops the intercept.
            return [], (None if icpt is None else not icpt)
        if isinstance(node, Call) and isinstance(node.func, Name) \
                and node.func.name == "offset":
            if len(node.args) != 1:
                raise _error(self.text, node.pos, "offset() takes one argument")
            self.offsets.append(node.args[0].value)
            return [], None
        if isinstance(node, BinOp) and node.op in ("+", "-", "*", ":", "/", "^", "%in%"):
            return self.binary(node)
        return [frozenset([self.var(node)])], None

    def binary(self, node: BinOp) -> tuple[list[frozenset[int]], bool | None]:
        lt, li = self.expand(node.left)
        if node.op == "^":
            power = node.right
            while isinstance(power, Paren):
                power = power.expr
            if not (isinstance(power, Num) and power.text.rstrip("L").isdigit()):
                raise _error(self.text, node.pos,
                             "the power in (...)^n must be a whole number")
            result = list(lt)
            for _ in range(int(power.text.rstrip("L")) - 1):
                result = _union(result, [a | b for a in result for b in lt])
            return result, li
        rt, ri = self.expand(node.right)
        if node.op == "+":
            return _union(lt, rt), (ri if ri is not None else li)
        if node.op == "-":
            kept = [t for t in lt if t not in rt]
            icpt = li if ri is None else (not ri)
            return kept, icpt
        if node.op == "*":
            return _union(lt, rt, [a | b for a in lt for b in rt]), None
        if node.op == ":":
            return _union([a | b for a in lt for b in rt]), None
        if node.op == "/":
            # a/b means a + b %in% a: every right term joins all left variables.
            outer = frozenset().union(*lt) if lt else frozenset()
            return _union(lt, [outer | b for b in rt]), None
        # %in%
        inner = frozenset().union(*rt) if rt else frozenset()
        return _union([a | inner for a in lt]), None


def _union(*lists: list[frozenset[int]]) -> list[frozenset[int]]:
    out: list[frozenset[int]] = []
    for lst in lists:
        for t in lst:
            if t and t not in out:
                out.append(t)
    return out


@refuses_deep_nesting
def expand_terms(node: Node, text: str | None = None) -> Terms:
    """Expand a right-hand side into R's terms, like ``stats::terms``.

    Handles ``+ - * : / ^ %in%``, ``1``/``0``/``-1`` for the intercept and
    ``offset()``. Any other expression (``x``, ``log(x)``, ``I(x^2)``) is a
    variable.

    Parameters
    ----------
    node : Node
        Right-hand side without bars.
    text : str, optional
        Source text, used in error messages.

    Returns
    -------
    Terms

    Raises
    ------
    FormulaError
        For a bar, ``.``, a numeric term other than 0/1, or a bad power.
    """
    bar = find_bar(node)
    if bar is not None:
        raise _error(deparse(node) if text is None else text, bar.pos,
                     f"random-effects bar {bar.op!r} not allowed here")
    builder = _TermBuilder(node if text is None else text)
    terms, icpt = builder.expand(node)
    # R orders terms by degree; sorted() is stable so formula order breaks ties.
    ordered = sorted(terms, key=len)
    return Terms(
        intercept=icpt is not False,
        variables=tuple(builder.variables),
        labels=tuple(builder.labels),
        terms=tuple(tuple(sorted(t)) for t in ordered),
        offsets=tuple(builder.offsets),
    )


# --------------------------------------------------------------------------
# lme4 formula: bars, || and / expansion
# --------------------------------------------------------------------------


def _slash_groups(group: Node, text: str) -> list[list[Node]]:
    """lme4's expandSlash: ``a/b/c`` -> the factors of ``c:b:a``, ``b:a`` and ``a``."""
    g = unparen(group)
    if not (isinstance(g, BinOp) and g.op == "/"):
        inner = _find_slash(g)
        if inner is not None:
            raise _error(text, inner.pos, "unparseable grouping factor: '/' "
                         "must be the outermost operator")
        return [[g]]
    outer = _slash_groups(g.left, text)  # e.g. [[b, a], [a]] for a/b
    innermost = outer[0]
    rights = _slash_groups(g.right, text)
    if len(rights) != 1:
        raise _error(text, g.pos, "unparseable grouping factor: nested '/' on "
                     "the right of '/'")
    return [rights[0] + innermost] + outer


def _find_slash(node: Node) -> BinOp | None:
    if isinstance(node, BinOp):
        if node.op == "/":
            return node
        return _find_slash(node.left) or _find_slash(node.right)
    if isinstance(node, Paren):
        return _find_slash(node.expr)
    return None


def grouping_parts(group: Node) -> list[Node]:
    """The factors of a grouping expression: ``a:b:c`` -> ``[a, b, c]``, ``g`` -> ``[g]``.

    Parameters
    ----------
    group : Node
        A bar's grouping factor (``RandomTermSpec.group_expr``).

    Returns
    -------
    list of Node
        The operands of its ``:`` interactions, in order (parentheses dropped).
    """
    g = unparen(group)
    if isinstance(g, BinOp) and g.op == ":":
        return grouping_parts(g.left) + grouping_parts(g.right)
    return [g]


def _uncorrelated_lhs(lhs: Node, text: str) -> list[Node]:
    """lme4's expandDoubleVerts of ``(lhs || g)``: the left sides ``1``, ``0 + term``, ... of its single bars."""
    terms = expand_terms(lhs, text)
    return ([Num("1", node_pos(lhs))] if terms.intercept else []) + [
        BinOp("+", Num("0", node_pos(lhs)), term, node_pos(lhs)) for term in terms.term_nodes()]


def _bar_terms(bar: BinOp, text: str, structure: str = "us") -> list[RandomTermSpec]:
    """Expand one ``(lhs | g)`` / ``(lhs || g)`` into lme4's bar list."""
    for side in (bar.left, bar.right):
        inner = find_bar(side)
        if inner is not None:
            raise _error(text, inner.pos, f"bar {inner.op!r} inside a random-effects term")
    groups = [chain(":", parts) for parts in _slash_groups(bar.right, text)]
    lhs_nodes = [bar.left] if bar.op == "|" else _uncorrelated_lhs(bar.left, text)
    # lme4 expands || first, then the slash in each resulting bar.
    return [RandomTermSpec(lhs, g, structure) for lhs in lhs_nodes for g in groups]
def _structure_term(node: Node, text: str) -> list[RandomTermSpec] | None:
    """glmmTMB's ``name(lhs | g)``: the bars of a covariance-structure call, or None if ``node`` is none."""
    if not (isinstance(node, Call) and len(node.args) == 1 and node.args[0].name is None):
        return None
    bar = unparen(node.args[0].value)
    if not (isinstance(bar, BinOp) and bar.op in BARS):
        return None
    from ..covariance._registry import STRUCTURES  # the formula layer reads only the names

    name = deparse(node.func)
    if name not in STRUCTURES:
        raise _error(text, bar.pos, f"bar {bar.op!r} is not at the top level of the formula: {name!r} in "
                     f"{deparse(node)} is an unknown covariance structure (known: {', '.join(STRUCTURES)})")
    if bar.op != "|":
        raise _error(text, bar.pos, f"{name}(...) takes a single bar '|', not {bar.op!r}")
    return _bar_terms(bar, text, name)


def _expand_double_verts_node(node: Node, text: str) -> Node:
    """lme4's expandDoubleVerts on a syntax tree (recursing as it does into every call)."""
    if isinstance(node, Paren):
        return Paren(_expand_double_verts_node(node.expr, text), node.pos)
    if isinstance(node, BinOp) and node.op == "||":
        return chain("+", [Paren(BinOp("|", lhs, node.right, node.pos), node.pos)
                           for lhs in _uncorrelated_lhs(node.left, text)])
    if isinstance(node, BinOp):
        return BinOp(node.op, _expand_double_verts_node(node.left, text),
                     _expand_double_verts_node(node.right, text), node.pos)
    if isinstance(node, UnaryOp):
        return UnaryOp(node.op, _expand_double_verts_node(node.operand, text), node.pos)
    if isinstance(node, Call):
        return Call(node.func, tuple(Arg(a.name, _expand_double_verts_node(a.value, text)) for a in node.args),
                    node.pos)
    return node


@refuses_deep_nesting
def expand_double_verts(formula: str | Node) -> str | Node:
    """The formula as lme4 stores and prints it, ``||`` expanded (lme4's expandDoubleVerts).

    ``"y ~ x + (x || g)"`` becomes ``"y ~ x + ((1 | g) + (0 + x | g))"``; a
    formula without ``||`` is returned unchanged.

    Parameters
    ----------
    formula : str or Node
        R text, or a formula tree (a ``~`` node, see :func:`parse_formula_tree`).

    Returns
    -------
    str or Node
        Of the type given.
    """
    if isinstance(formula, str):
        if "||" not in formula:
            return formula
        return deparse(expand_double_verts(parse_formula_tree(formula)))
    response, rhs = formula_sides(formula)
    rhs = _expand_double_verts_node(rhs, deparse(formula))
    return UnaryOp("~", rhs, formula.pos) if response is None else BinOp("~", response, rhs, formula.pos)


def _split_rhs(node: Node, text: str,
               bars: list[RandomTermSpec], whole: bool = False) -> Node | None:
    """Remove top-level bar terms from ``node`` (lme4's nobars).

    Appends the bars found to ``bars`` in formula order and returns what is
    left, or None when nothing is.  ``whole``: ``node`` is the entire right
    side, where lme4 accepts a bar without parentheses (``y ~ 1 | g`` parses
    as ``y ~ (1 | g)``) -- accepted here when its left side is a single term,
    so that ``y ~ x + 1 | g`` (which R reads as ``((x + 1) | g)``, no fixed
    effects) stays an error.
    """
    core = unparen(node)
    if isinstance(core, BinOp) and core.op in BARS:
        single = not (isinstance(core.left, BinOp) and core.left.op in ("+", "-"))
        if not isinstance(node, Paren) and not (whole and single):
            raise _error(text, core.pos, "random-effects term must be written in "
                         f"parentheses, e.g. (1 {core.op} g) (lme4 would read this bar's whole "
                         "left side as the random-effects term)")
        bars.extend(_bar_terms(core, text))
        return None
    if isinstance(node, BinOp) and node.op == "+":
        left = _split_rhs(node.left, text, bars)
        right = _split_rhs(node.right, text, bars)
        if left is None:
            return right
        if right is None:
            return left
        return BinOp("+", left, right, node.pos)
    if isinstance(node, BinOp) and node.op == "-":
        bar = find_bar(node.right)
        if bar is not None:
            raise _error(text, bar.pos, "a random-effects term cannot be subtracted")
        left = _split_rhs(node.left, text, bars)
        if left is None:
            return UnaryOp("-", node.right, node.pos)
        return BinOp("-", left, node.right, node.pos)
    structured = _structure_term(core, text)
    if structured is not None:
        bars.extend(structured)
        return None
    bar = find_bar(node)
    if bar is not None:
        raise _error(text, bar.pos, f"bar {bar.op!r} is not at the top level of "
                     "the formula (random-effects terms must be added with '+')")
    return node


def _uses_response(response: Node, variable: Node) -> bool:
    """The variable is the response, or (for a response that is a column) a function of that column."""
    if variable == response:
        return True
    return isinstance(response, Name) and response.name in set(iter_names(variable))


def _refuse_response_in(response: Node, bar: RandomTermSpec, text: str) -> None:
    terms = expand_terms(bar.lhs_expr, text)
    for v in terms.variables:
        if _uses_response(response, v):
            raise FormulaError(f"the response {deparse(response)} appears on the right-hand side in "
                               f"({bar.lhs} | {bar.group}) of {text!r}: a model cannot regress the response on itself")


def _drop_response_term(response: Node, fixed: Node, text: str) -> tuple[Node, bool]:
    """R's terms.formula: a right-hand-side term that is the response is dropped
    ("the response appeared on the right-hand side and was dropped"); any other
    term using the response (``y:x``, ``log(y)``) is refused, where R would
    keep it and regress y on itself."""
    terms = expand_terms(fixed, text)
    labels = terms.term_labels()
    involved = [i for i, t in enumerate(terms.terms) if any(_uses_response(response, terms.variables[v]) for v in t)]
    if not involved:
        return fixed, False
    for i in involved:
        if labels[i] != deparse(response):
            raise FormulaError(f"the response {deparse(response)} appears on the right-hand side in the term "
                               f"{labels[i]} of {text!r}: a model cannot regress the response on itself")
    # Rebuild the right-hand side from R's expanded terms, in R's order, so
    # the columns and their coding are those of the formula without y.
    parts = [t for i, t in enumerate(terms.term_nodes()) if i not in involved]
    parts += [Call(Name("offset", node_pos(o)), (Arg(None, o),), node_pos(o)) for o in terms.offsets]
    if not terms.intercept:
        parts.insert(0, Num("0", node_pos(fixed)))
    return (chain("+", parts) if parts else Num("1", node_pos(fixed))), True


def _expand_dot(node: Node, columns: list[str]) -> Node:
    """R's ``.`` in a formula with data: the sum of ``columns``."""
    if isinstance(node, Name) and node.name == ".":
        if not columns:
            raise FormulaError("'.' in the formula but the data have no other columns")
        return Paren(chain("+", [Name(c, node.pos) for c in columns]), node.pos)
    if isinstance(node, BinOp):
        return BinOp(node.op, _expand_dot(node.left, columns), _expand_dot(node.right, columns), node.pos)
    if isinstance(node, UnaryOp):
        return UnaryOp(node.op, _expand_dot(node.operand, columns), node.pos)
    if isinstance(node, Paren):
        return Paren(_expand_dot(node.expr, columns), node.pos)
    return node


@refuses_deep_nesting
def parse_formula_tree(formula: str | Node) -> Node:
    """Parse the text of a model formula into one tree, R's call to ``~``.

    Parameters
    ----------
    formula : str or Node
        E.g. ``"TICKS ~ YEAR + (1 | LOCATION)"`` or ``"~ x + (1 | g)"``; a
        tree already parsed (a ``~`` node) is returned as it is.

    Returns
    -------
    BinOp or UnaryOp
        ``BinOp("~", response, rhs)``, or ``UnaryOp("~", rhs)`` when one-sided.

    Raises
    ------
    FormulaError
        Not a string, empty, no ``~``, more than one, no right-hand side, or
        bad syntax (messages give the 0-based character position).
    """
    if isinstance(formula, (BinOp, UnaryOp)) and formula.op == "~":
        return formula
    if not isinstance(formula, str):
        raise FormulaError(f"formula must be a string, got {type(formula).__name__}")
    if not formula.strip():
        raise FormulaError("empty formula")
    p = _Parser(formula)
    if not any(t.kind == "op" and t.text == "~" for t in p.tokens):
        raise FormulaError(f"no '~' in formula {formula!r}")
    response: Node | None = None
    if not p.at("~"):
        response = p.expression()
        if not p.at("~"):
            p.expect_end()  # reports the stray token
            raise p.fail("expected '~'")
    tilde = p.take()
    if p.tok.kind == "eof":
        raise _error(formula, tilde.pos, "missing right-hand side after '~'")
    rhs = p.expression()
    p.expect_end()
    return UnaryOp("~", rhs, tilde.pos) if response is None else BinOp("~", response, rhs, tilde.pos)


@refuses_deep_nesting
def parse_formula(formula: str | Node, data_columns: list[str] | None = None) -> ParsedFormula:
    """Parse an lme4 model formula.

    Parameters
    ----------
    formula : str or Node
        E.g. ``"TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)"``, or
        the tree :func:`parse_formula_tree` makes of such text.
    data_columns : list of str, optional
        The data's column names: ``.`` in the fixed part stands for those not
        in the response (as R's ``terms(formula, data = data)``).  Without
        them ``.`` is an error.

    Returns
    -------
    ParsedFormula
        Response, fixed-effects part (bars removed) and the expanded
        random-effects terms, as trees. ``(x || g)`` becomes
        ``(1 | g) + (0 + x | g)`` and ``(1 | a/b)`` becomes
        ``(1 | b:a) + (1 | a)``, as in lme4.

    Raises
    ------
    FormulaError
        Empty formula, no ``~``, unbalanced parentheses, bar with no left
        side, empty grouping factor, bar not at the top level. Messages give
        the 0-based character position.
    """
    if isinstance(formula, str):
        return _parse_formula_text(formula, None if data_columns is None else tuple(data_columns))
    return _split_formula(formula, data_columns)


@functools.lru_cache(maxsize=256)
def _parse_formula_text(formula: str, data_columns: tuple[str, ...] | None) -> ParsedFormula:
    """:func:`parse_formula` of a text, remembered (errors are not: they raise again).

    The result holds frozen trees only, so every fit of the same formula on
    the same columns can share one: a small model's fit repeats the same
    formula (refits, fit loops, the bootstrap of a user's own loop).
    """
    return _split_formula(formula, data_columns)


def _split_formula(formula: str | Node, data_columns) -> ParsedFormula:
    """The work of :func:`parse_formula`: parse (text) and split the tree."""
    tree = parse_formula_tree(formula)
    text = formula if isinstance(formula, str) else deparse(tree)
    response, rhs = formula_sides(tree)
    if response is not None:
        bar = find_bar(response)
        if bar is not None:
            raise _error(text, bar.pos, f"bar {bar.op!r} in the response")
    bars: list[RandomTermSpec] = []
    fixed = _split_rhs(rhs, text, bars, whole=True)
    if fixed is not None and data_columns is not None:
        skip = set() if response is None else set(iter_names(response))
        fixed = _expand_dot(fixed, [c for c in data_columns if c not in skip])
    dropped = False
    if response is not None:
        for b in bars:
            _refuse_response_in(response, b, text)
        if fixed is not None:
            fixed, dropped = _drop_response_term(response, fixed, text)
    return ParsedFormula(
        response_expr=response,
        fixed_expr=Num("1", node_pos(rhs)) if fixed is None else fixed,
        random=tuple(bars),
        response_dropped=dropped,
        formula=tree,
    )
