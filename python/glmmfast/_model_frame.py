# Evaluating formula pieces on a pandas DataFrame, the way R's model.frame and
# model.matrix do.
#
# Interface
#   variables_in(expr) -> set[str]          data columns an R expression uses
#   model_design(rhs, data) -> Design        fixed-effects matrix, R column
#                                            names/order, summed offset()s
#   apply_design(spec, data) -> Design       same encoding on new data
#   evaluate_response(expr, data) -> Response   numeric / cbind / factor / bool
#   term_labels(spec), term_columns(spec)    R's term.labels and each term's columns
#   term_cell_matrix(spec, term, data)       model.matrix(~ 0 + term) (type III tests)
#
# The terms come from glmmfast._formula.expand_terms (R's terms.formula);
# each variable is evaluated by a small interpreter over the R syntax tree
# (columns, arithmetic, a whitelist of numpy functions, I(), factor()), so no
# Python eval is involved. Coding follows R's model.matrix exactly: treatment
# contrasts, a factor gets full dummy coding when the term without it is not
# "contained" in an earlier term, and without an intercept the first factor
# is fully dummy coded. Rows are never dropped: callers remove NA rows first
# and any NaN/inf left is a DataError.

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import pandas as pd

from glmmfast._errors import DataError, FormulaError
from glmmfast._formula import (
    BinOp,
    Call,
    Const,
    Index,
    Name,
    Node,
    Num,
    Paren,
    Str,
    UnaryOp,
    deparse,
    expand_terms,
    iter_names,
    parse_expression,
    refuses_deep_nesting,
)

__all__ = [
    "grouping_factor",
    "Design",
    "Response",
    "variables_in",
    "model_design",
    "apply_design",
    "evaluate_response",
    "term_labels",
    "term_columns",
    "term_cell_matrix",
    "level_label",
]


# --------------------------------------------------------------------------
# Public result types
# --------------------------------------------------------------------------


@dataclass
class Design:
    """A fixed-effects model matrix.

    Attributes
    ----------
    X : numpy.ndarray
        float64, shape ``(n, p)``, Fortran order.
    names : list of str
        Column names as R's ``model.matrix`` gives them, e.g.
        ``"(Intercept)"``, ``"YEAR96"``, ``"sppPR:minedno"``, ``"I(age^2)"``.
    offset : numpy.ndarray or None
        Sum of all ``offset(...)`` terms, shape ``(n,)``; None if there are none.
    spec : DesignSpec
        Picklable recipe for :func:`apply_design`.
    """

    X: np.ndarray
    names: list[str]
    offset: np.ndarray | None
    spec: "DesignSpec"


@dataclass
class Response:
    """An evaluated model response.

    Attributes
    ----------
    values : numpy.ndarray
        float64, ``(n,)``, or ``(n, 2)`` ``[successes, failures]`` for cbind.
    kind : str
        ``"numeric"``, ``"cbind"``, ``"factor"`` (first level 0, others 1, as
        R's binomial family) or ``"bool"`` (True is 1).
    levels : list of str or None
        Factor levels (unused ones dropped) for ``kind == "factor"``.
    """

    values: np.ndarray
    kind: str
    levels: list[str] | None


@dataclass(frozen=True)
class DesignSpec:
    """Everything needed to rebuild a design on new data.

    Attributes
    ----------
    rhs : str
        The R text the design was built from.
    intercept : bool
        Whether column 0 is ``(Intercept)``.
    labels : tuple of str
        R text of each variable (re-parsed by :func:`apply_design`).
    levels : tuple of (tuple of str or None)
        Levels kept for each factor variable; None for numeric variables.
    terms : tuple of tuple of (int, int)
        Per term, ``(variable index, code)`` with code 1 = treatment
        contrasts, 2 = full dummy coding (ignored for numeric variables).
    offsets : tuple of str
        R text of each ``offset()`` argument.
    names : tuple of str
        Column names.
    """

    rhs: str
    intercept: bool
    labels: tuple[str, ...]
    levels: tuple[tuple[str, ...] | None, ...]
    terms: tuple[tuple[tuple[int, int], ...], ...]
    offsets: tuple[str, ...]
    names: tuple[str, ...]


# --------------------------------------------------------------------------
# Values produced by the interpreter
# --------------------------------------------------------------------------


@dataclass
class _Factor:
    """A categorical vector: integer codes into ``levels`` (-1 = missing)."""

    codes: np.ndarray
    levels: list[str]

    def labels(self) -> np.ndarray:
        out = np.empty(len(self.codes), dtype=object)
        lv = np.asarray(self.levels, dtype=object)
        ok = self.codes >= 0
        out[ok] = lv[self.codes[ok]]
        out[~ok] = None
        return out


_Value = Union[np.ndarray, _Factor, float, bool, str]


def level_label(value: object) -> str:
    """R's printed form of a factor level (``95`` not ``95.0``, ``TRUE``)."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.15g}"
    return str(value)


def _factor_from_values(values: np.ndarray) -> _Factor:
    """R's factor(): levels are the sorted distinct values."""
    mask = pd.isna(values)
    present = pd.unique(values[~mask])
    try:
        ordered = sorted(present)
    except TypeError:  # mixed types: sort on the printed form
        ordered = sorted(present, key=level_label)
    levels = [level_label(v) for v in ordered]
    # Two values may print alike (1 and 1.0); merge them, keeping first.
    index: dict[str, int] = {}
    for lab in levels:
        index.setdefault(lab, len(index))
    codes = np.full(len(values), -1, dtype=np.int64)
    labels = np.array([level_label(v) for v in values[~mask]], dtype=object)
    codes[~mask] = [index[lab] for lab in labels]
    return _Factor(codes, list(index))


def _as_factor(value: _Value, n: int) -> _Factor:
    if isinstance(value, _Factor):
        return value
    arr = np.asarray(_broadcast(value, n))
    return _factor_from_values(arr.astype(object) if arr.dtype == bool else arr)


def _drop_unused(f: _Factor) -> _Factor:
    used = np.unique(f.codes[f.codes >= 0])
    if len(used) == len(f.levels):
        return f
    remap = np.full(len(f.levels), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    codes = np.where(f.codes >= 0, remap[np.maximum(f.codes, 0)], -1)
    return _Factor(codes, [f.levels[i] for i in used])


def _broadcast(value: _Value, n: int) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return np.full(n, value)


# --------------------------------------------------------------------------
# Interpreter for R expressions over DataFrame columns
# --------------------------------------------------------------------------


def _log(x: np.ndarray, base: float | None = None) -> np.ndarray:
    return np.log(x) if base is None else np.log(x) / np.log(base)


def _round(x: np.ndarray, digits: float = 0) -> np.ndarray:
    # R rounds half to even too (IEC 60559), like numpy.
    return np.round(x, int(digits))


# Functions of numeric arguments only. Data-dependent transforms (scale, poly,
# ns) are deliberately absent: they would need stored state for new data.
_NUMERIC_FUNCTIONS: dict[str, Callable[..., _Value]] = {
    "log": _log,
    "log10": np.log10,
    "log2": np.log2,
    "log1p": np.log1p,
    "exp": np.exp,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "floor": np.floor,
    "ceiling": np.ceil,
    "trunc": np.trunc,
    "round": _round,
    "sign": np.sign,
    "plogis": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "qlogis": lambda p: np.log(p / (1.0 - p)),
    "pmin": np.minimum,
    "pmax": np.maximum,
    "as.numeric": lambda x: x,
    "as.double": lambda x: x,
}

_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
    "^": np.power,
    "%%": np.mod,
    "%/%": np.floor_divide,
}
_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    ">": np.greater,
    "<=": np.less_equal,
    ">=": np.greater_equal,
}
_LOGICAL = {"&": np.logical_and, "&&": np.logical_and,
            "|": np.logical_or, "||": np.logical_or}


class _Evaluator:
    """Evaluate one R expression against ``data``; ``term`` names it in errors."""

    def __init__(self, data: pd.DataFrame, term: str) -> None:
        self.data = data
        self.n = len(data)
        self.term = term

    def column(self, name: str) -> _Value:
        if name not in self.data.columns:
            raise DataError(f"unknown column {name!r} in formula term {self.term!r}")
        col = self.data[name]
        if isinstance(col, pd.DataFrame):
            raise DataError(f"column name {name!r} is not unique in the data")
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy(dtype=np.int64)
            cats = col.cat.categories
            labels = (cats.tolist() if cats.inferred_type == "string"
                      else [level_label(c) for c in cats])
            return _Factor(codes, labels)
        if pd.api.types.is_complex_dtype(dtype):
            raise DataError(f"column {name!r} holds complex numbers; model variables must be real "
                            f"(in formula term {self.term!r})")
        if pd.api.types.is_bool_dtype(dtype):
            if col.isna().any():
                raise DataError(f"missing values in column {name!r}")
            return col.to_numpy(dtype=bool)
        if pd.api.types.is_numeric_dtype(dtype):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            return _factor_from_values(col.to_numpy(dtype=object))
        raise DataError(f"column {name!r} has unsupported type {dtype} "
                        f"(in formula term {self.term!r})")

    def numeric(self, node: Node) -> np.ndarray | float:
        """Evaluate ``node`` and insist on numbers (logicals count as 0/1)."""
        value = self.eval(node)
        if isinstance(value, _Factor) or isinstance(value, str):
            raise DataError(f"non-numeric value {deparse(node)!r} used in "
                            f"arithmetic in formula term {self.term!r}")
        if isinstance(value, np.ndarray) and value.dtype == bool:
            return value.astype(np.float64)
        return float(value) if isinstance(value, (bool, float)) else value

    def eval(self, node: Node) -> _Value:
        if isinstance(node, Name):
            return self.column(node.name)
        if isinstance(node, Num):
            return float(node.text.rstrip("L"))
        if isinstance(node, Str):
            return node.value
        if isinstance(node, Const):
            return {"TRUE": True, "FALSE": False, "Inf": math.inf}.get(node.name, math.nan)
        if isinstance(node, Paren):
            return self.eval(node.expr)
        if isinstance(node, UnaryOp):
            if node.op == "!":
                return np.logical_not(self.logical(node.operand))
            x = self.numeric(node.operand)
            return -x if node.op == "-" else x
        if isinstance(node, BinOp):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Index):
            raise FormulaError(f"indexing is not supported in formula term {self.term!r}")
        raise FormulaError(f"cannot evaluate {deparse(node)!r}")

    def logical(self, node: Node) -> np.ndarray | bool:
        value = self.eval(node)
        if isinstance(value, _Factor) or isinstance(value, str):
            raise DataError(f"non-logical value {deparse(node)!r} in formula "
                            f"term {self.term!r}")
        return np.asarray(value) != 0 if not isinstance(value, bool) else value

    def binary(self, node: BinOp) -> _Value:
        op = node.op
        if op in _ARITHMETIC:
            with np.errstate(all="ignore"):
                return _ARITHMETIC[op](self.numeric(node.left), self.numeric(node.right))
        if op in _COMPARE:
            left, right = self.eval(node.left), self.eval(node.right)
            # Factors compare through their level labels ("f == 'a'").
            if isinstance(left, _Factor):
                left = left.labels()
            if isinstance(right, _Factor):
                right = right.labels()
            return np.asarray(_COMPARE[op](left, right), dtype=bool)
        if op in _LOGICAL:
            return _LOGICAL[op](self.logical(node.left), self.logical(node.right))
        raise FormulaError(f"operator {op!r} cannot be evaluated inside formula "
                           f"term {self.term!r}; wrap arithmetic in I(...)")

    def call(self, node: Call) -> _Value:
        if not isinstance(node.func, Name):
            raise FormulaError(f"unsupported call {deparse(node)!r} in formula "
                               f"term {self.term!r}")
        fname = node.func.name
        if fname == "I" or fname == "offset":
            self.arity(node, 1)
            return self.eval(node.args[0].value)
        if fname in ("factor", "as.factor"):
            self.arity(node, 1)
            return _drop_unused(_as_factor(self.eval(node.args[0].value), self.n))
        if fname in _NUMERIC_FUNCTIONS:
            positional = [self.numeric(a.value) for a in node.args if a.name is None]
            named = {a.name.replace(".", "_"): self.numeric(a.value)
                     for a in node.args if a.name is not None}
            with np.errstate(all="ignore"):
                try:
                    return _NUMERIC_FUNCTIONS[fname](*positional, **named)
                except TypeError as exc:
                    raise FormulaError(f"bad arguments to {fname}() in formula "
                                       f"term {self.term!r}") from exc
        raise FormulaError(f"unsupported function {fname!r} in formula term "
                           f"{self.term!r}")

    def arity(self, node: Call, k: int) -> None:
        if len(node.args) != k or any(a.name is not None for a in node.args):
            raise FormulaError(f"{deparse(node.func)}() takes {k} unnamed "
                               f"argument(s) in formula term {self.term!r}")


def _evaluate(node: Node, data: pd.DataFrame, term: str) -> _Value:
    return _Evaluator(data, term).eval(node)


def _finite_numeric(value: _Value, n: int, term: str) -> np.ndarray:
    """Coerce an evaluated value to a finite float64 vector of length n."""
    if isinstance(value, _Factor) or isinstance(value, str):
        raise DataError(f"formula term {term!r} is not numeric")
    arr = np.asarray(_broadcast(value, n), dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"formula term {term!r} has shape {arr.shape}, expected ({n},)")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise DataError(f"formula term {term!r} has a non-finite value "
                        f"({arr[bad]}) at row {bad}")
    return arr


def _complete_factor(f: _Factor, term: str) -> _Factor:
    if np.any(f.codes < 0):
        bad = int(np.flatnonzero(f.codes < 0)[0])
        raise DataError(f"formula term {term!r} has a missing value at row {bad}")
    return f


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------


@refuses_deep_nesting
def variables_in(expr: str) -> set[str]:
    """Return the data column names an R expression refers to.

    Parameters
    ----------
    expr : str
        R text, e.g. ``"cbind(incidence, size - incidence)"`` or
        ``"log(x) + I(z^2) + a*b"``.

    Returns
    -------
    set of str
        Symbols used as values; function and argument names are excluded.

    Raises
    ------
    FormulaError
        If ``expr`` does not parse.
    """
    return set(iter_names(parse_expression(expr)))


def _term_codes(terms: tuple[tuple[int, ...], ...], is_factor: list[bool],
                intercept: bool) -> list[list[tuple[int, int]]]:
    """R's TermCode: 1 = contrasts, 2 = full dummy coding, per term variable."""
    coded: list[list[tuple[int, int]]] = []
    for j, term in enumerate(terms):
        row = []
        for v in term:
            rest = set(term) - {v}
            # Contrasts when the term without v is empty (the intercept's
            # place) or contained in some earlier term.
            contained = not rest or any(rest <= set(terms[k]) for k in range(j))
            row.append((v, 1 if contained else 2))
        coded.append(row)
    if not intercept:
        # No intercept: the first factor in the first term holding a factor
        # spans the intercept's space, so it gets all its levels.
        for row in coded:
            for i, (v, _) in enumerate(row):
                if is_factor[v]:
                    row[i] = (v, 2)
                    break
            else:
                continue
            break
    return coded


def _build(spec: DesignSpec, values: list[np.ndarray | _Factor],
           offset: np.ndarray | None, n: int) -> Design:
    columns: list[np.ndarray] = []
    names: list[str] = []
    if spec.intercept:
        columns.append(np.ones(n))
        names.append("(Intercept)")
    for term in spec.terms:
        cols: list[tuple[list[str], np.ndarray]] = [([], np.ones(n))]
        for v, code in term:
            value = values[v]
            label = spec.labels[v]
            if isinstance(value, _Factor):
                levels = spec.levels[v]
                assert levels is not None
                keep = range(len(levels)) if code == 2 else range(1, len(levels))
                # The earlier variable varies fastest, as in R.
                cols = [(parts + [label + levels[k]], col * (value.codes == k))
                        for k in keep for parts, col in cols]
            else:
                cols = [(parts + [label], col * value) for parts, col in cols]
        for parts, col in cols:
            names.append(":".join(parts))
            columns.append(col)
    X = np.empty((n, len(columns)), dtype=np.float64, order="F")
    for i, col in enumerate(columns):
        X[:, i] = col
    return Design(X=X, names=names, offset=offset, spec=spec)


def _offset_sum(offsets: tuple[str, ...], data: pd.DataFrame) -> np.ndarray | None:
    if not offsets:
        return None
    n = len(data)
    total = np.zeros(n)
    for text in offsets:
        term = f"offset({text})"
        total += _finite_numeric(_evaluate(parse_expression(text), data, term), n, term)
    return total


@refuses_deep_nesting
def model_design(rhs: str, data: pd.DataFrame) -> Design:
    """Build the fixed-effects model matrix for an R right-hand side.

    Parameters
    ----------
    rhs : str
        R text without bars, e.g. ``"YEAR + cHEIGHT + offset(log(n))"``,
        ``"0 + YEAR"``, ``"1"``, ``"x*f + I(x^2)"``.
    data : pandas.DataFrame
        Rows already free of missing values in the variables used; it is
        not modified.

    Returns
    -------
    Design
        One row per row of ``data``, in order, with R's column names and
        order (intercept, then terms by degree).

    Raises
    ------
    FormulaError
        Bad syntax, a bar, or an unsupported function.
    DataError
        Unknown column, non-finite value, single-level factor that needs
        contrasts.
    """
    terms = expand_terms(parse_expression(rhs), rhs)
    n = len(data)
    values: list[np.ndarray | _Factor] = []
    levels: list[tuple[str, ...] | None] = []
    for node, label in zip(terms.variables, terms.labels):
        value = _evaluate(node, data, label)
        if isinstance(value, (_Factor, str)) or (
                isinstance(value, np.ndarray) and value.dtype == bool) or isinstance(value, bool):
            # Logical and character variables are factors in model.matrix;
            # unused levels are dropped as lme4's model frame does.
            f = _drop_unused(_complete_factor(_as_factor(value, n), label))
            values.append(f)
            levels.append(tuple(f.levels))
        else:
            values.append(_finite_numeric(value, n, label))
            levels.append(None)
    codes = _term_codes(terms.terms, [lv is not None for lv in levels], terms.intercept)
    for row in codes:
        for v, code in row:
            lv = levels[v]
            if lv is not None and code == 1 and len(lv) < 2:
                raise DataError(f"factor {terms.labels[v]!r} has only one level "
                                f"({lv[0] if lv else 'none'}); contrasts need at least two")
    spec = DesignSpec(
        rhs=rhs,
        intercept=terms.intercept,
        labels=terms.labels,
        levels=tuple(levels),
        terms=tuple(tuple(row) for row in codes),
        offsets=tuple(deparse(o) for o in terms.offsets),
        names=(),
    )
    design = _build(spec, values, _offset_sum(spec.offsets, data), n)
    design.spec = dataclasses.replace(spec, names=tuple(design.names))
    return design


def _spec_values(spec: DesignSpec, data: pd.DataFrame) -> list[np.ndarray | _Factor]:
    """Each variable of ``spec`` evaluated on ``data`` with the stored encoding (factor levels)."""
    n = len(data)
    values: list[np.ndarray | _Factor] = []
    for label, levels in zip(spec.labels, spec.levels):
        value = _evaluate(parse_expression(label), data, label)
        if levels is None:
            if isinstance(value, _Factor) or isinstance(value, str):
                raise DataError(f"variable {label!r} was numeric when the model "
                                "was fitted but is categorical in the new data")
            values.append(_finite_numeric(value, n, label))
            continue
        labels = _as_factor(value, n).labels()
        index = {lev: i for i, lev in enumerate(levels)}
        codes = np.empty(n, dtype=np.int64)
        for row, lab in enumerate(labels):
            if lab is None:
                raise DataError(f"variable {label!r} has a missing value at row {row}")
            if lab not in index:
                raise DataError(f"new level {lab!r} of {label!r} was not seen when "
                                f"the model was fitted (known levels: {list(levels)})")
            codes[row] = index[lab]
        values.append(_Factor(codes, list(levels)))
    return values


def term_labels(spec: DesignSpec) -> list[str]:
    """R's ``term.labels``: each term's variables joined by ``:``."""
    return [":".join(spec.labels[v] for v, _ in term) for term in spec.terms]


def term_columns(spec: DesignSpec) -> list[list[str]]:
    """The model-matrix column names of each term (R's ``assign``, by name)."""
    empty = [np.zeros(0) if lv is None else _Factor(np.zeros(0, dtype=np.int64), list(lv)) for lv in spec.levels]
    return [_build(dataclasses.replace(spec, intercept=False, terms=(term,), offsets=()), empty, None, 0).names
            for term in spec.terms]


def term_cell_matrix(spec: DesignSpec, term: int, data: pd.DataFrame) -> Design:
    """``model.matrix(~ 0 + term)``: every factor of term ``term`` fully dummy coded
    (one column per cell, numeric variables multiplied in), on ``data``."""
    full = tuple((v, 2) for v, _ in spec.terms[term])
    cell_spec = dataclasses.replace(spec, intercept=False, terms=(full,), offsets=())
    return _build(cell_spec, _spec_values(spec, data), None, len(data))


@refuses_deep_nesting
def apply_design(spec: DesignSpec, data: pd.DataFrame) -> Design:
    """Rebuild a design on new data with the encoding of ``spec``.

    Parameters
    ----------
    spec : DesignSpec
        ``Design.spec`` from :func:`model_design`.
    data : pandas.DataFrame
        New rows (not modified).

    Returns
    -------
    Design
        Same columns, names and factor levels as the original design.

    Raises
    ------
    DataError
        A factor value not seen when the design was built (the message names
        the variable and the level), an unknown column, or a non-finite value.
    """
    if not isinstance(spec, DesignSpec):
        raise TypeError("spec must be the Design.spec of model_design()")
    n = len(data)
    values = _spec_values(spec, data)
    design = _build(spec, values, _offset_sum(spec.offsets, data), n)
    if tuple(design.names) != spec.names:  # defensive: encoding must not drift
        raise DataError("internal error: rebuilt design has different columns")
    return design


@refuses_deep_nesting
def evaluate_response(expr: str, data: pd.DataFrame) -> Response:
    """Evaluate a model response.

    Parameters
    ----------
    expr : str
        R text of the formula's left side, e.g. ``"TICKS"``, ``"y/n"``,
        ``"cbind(incidence, size - incidence)"``.
    data : pandas.DataFrame
        Not modified.

    Returns
    -------
    Response
        ``cbind(a, b)`` gives an ``(n, 2)`` array; a categorical or string
        response gives 0 for its first level and 1 otherwise (R's binomial
        convention); a logical gives 0/1.

    Raises
    ------
    DataError
        Unknown column, non-finite or missing values.
    FormulaError
        Bad syntax, or cbind() without exactly two columns.
    """
    node = parse_expression(expr)
    n = len(data)
    core = node
    while isinstance(core, Paren):
        core = core.expr
    if isinstance(core, Call) and isinstance(core.func, Name) and core.func.name == "cbind":
        if len(core.args) != 2 or any(a.name is not None for a in core.args):
            raise FormulaError(f"cbind() in the response must have exactly two "
                               f"unnamed columns (successes, failures): {expr!r}")
        cols = [_finite_numeric(_evaluate(a.value, data, expr), n, deparse(a.value))
                for a in core.args]
        return Response(np.column_stack(cols).astype(np.float64), "cbind", None)
    value = _evaluate(node, data, expr)
    if isinstance(value, (_Factor, str)):
        f = _drop_unused(_complete_factor(_as_factor(value, n), expr))
        return Response((f.codes != 0).astype(np.float64), "factor", list(f.levels))
    if isinstance(value, np.ndarray) and value.dtype == bool or isinstance(value, bool):
        return Response(np.asarray(_broadcast(value, n), dtype=np.float64), "bool", None)
    return Response(_finite_numeric(value, n, expr), "numeric", None)


@refuses_deep_nesting
def grouping_factor(expr: str, data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Codes and levels of a grouping factor ``g`` or interaction ``a:b:c``.

    As R's ``factor()`` of the expression, unused levels dropped: an
    interaction's levels are the observed combinations, the first factor
    varying slowest, labelled ``"la:lb"``.

    Parameters
    ----------
    expr : str
        Grouping expression from a bar, e.g. ``"LOCATION"`` or ``"b:a"``.
    data : DataFrame
        Complete rows.

    Returns
    -------
    codes : ndarray of int64
        Level index of each row.
    levels : list of str
    """
    n = len(data)
    factors = [_drop_unused(_as_factor(_evaluate(parse_expression(p), data, expr), n))
               for p in (s.strip() for s in expr.split(":"))]
    if len(factors) == 1:
        return factors[0].codes, factors[0].levels
    combo = np.stack([f.codes for f in factors], axis=1)
    uniq, codes = np.unique(combo, axis=0, return_inverse=True)
    labels = [":".join(f.levels[c] for f, c in zip(factors, row)) for row in uniq]
    return codes.reshape(-1).astype(np.int64), labels
