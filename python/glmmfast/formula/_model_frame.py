# Evaluating formula pieces on a pandas DataFrame, the way R's model.frame and
# model.matrix do.
#
# Interface
#   variables_in(expr) -> set[str]          data columns an R expression uses
#   model_design(rhs, data, contrasts=None) -> Design   fixed-effects matrix,
#                                            R column names/order, summed offset()s
#   apply_design(spec, data) -> Design       same encoding on new data (factor
#                                            levels, contrasts and the stored
#                                            parameters of scale/poly/ns/bs)
#   evaluate_response(expr, data) -> Response   numeric / cbind / factor / bool
#   term_labels(spec), term_columns(spec)    R's term.labels and each term's columns
#   term_cell_matrix(spec, term, data)       model.matrix(~ 0 + term) (type III tests)
#
# The terms come from glmmfast.formula._formula.expand_terms (R's terms.formula);
# each variable is evaluated by a small interpreter over the R syntax tree
# (columns, arithmetic, a whitelist of numpy functions, I(), factor(), dummy(),
# and the stateful scale/poly/ns/bs of _formula_functions), so no Python eval
# is involved. Coding follows R's model.matrix exactly: contrasts (treatment,
# or contr.poly for ordered factors, unless given), a factor gets full dummy
# coding when the term without it is not
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

from glmmfast.formula._contrasts import contrast_matrix, default_contrast
from glmmfast._errors import DataError, FormulaError
from glmmfast.formula._formula_functions import (STATEFUL_FUNCTIONS, apply_function, fit_function, function_suffixes,
                                         match_arguments)
from glmmfast.formula._formula import (
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
    columns : tuple of (tuple of str or None)
        Column-name suffixes of each matrix-valued variable (``poly(x, 2)``:
        ``("1", "2")``); None for a vector.
    contrasts : tuple of (tuple or None)
        Per factor variable ``(C, suffixes)``: its contrast matrix as nested
        tuples (levels x columns) and R's column-name suffixes.
    transforms : tuple of (str, tuple)
        R text of each scale/poly/ns/bs call and the parameters computed on
        the fitting data (R's makepredictcall), reused on new data.
    """

    rhs: str
    intercept: bool
    labels: tuple[str, ...]
    levels: tuple[tuple[str, ...] | None, ...]
    terms: tuple[tuple[tuple[int, int], ...], ...]
    offsets: tuple[str, ...]
    names: tuple[str, ...]
    columns: tuple[tuple[str, ...] | None, ...] = ()
    contrasts: tuple[tuple | None, ...] = ()
    transforms: tuple[tuple[str, tuple], ...] = ()


# --------------------------------------------------------------------------
# Values produced by the interpreter
# --------------------------------------------------------------------------


@dataclass
class _Factor:
    """A categorical vector: integer codes into ``levels`` (-1 = missing)."""

    codes: np.ndarray
    levels: list[str]
    ordered: bool = False

    def labels(self) -> np.ndarray:
        out = np.empty(len(self.codes), dtype=object)
        lv = np.asarray(self.levels, dtype=object)
        ok = self.codes >= 0
        out[ok] = lv[self.codes[ok]]
        out[~ok] = None
        return out


@dataclass
class _Matrix:
    """A matrix-valued variable (poly, ns, bs): ``(n, k)`` values and R's column-name suffixes."""

    values: np.ndarray
    suffixes: list[str]


_Value = Union[np.ndarray, _Factor, _Matrix, float, bool, str]


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
    return _Factor(codes, [f.levels[i] for i in used], f.ordered)


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

# Packages whose functions above may be called with their namespace (splines::ns).
_NAMESPACES = ("base", "stats", "splines", "lme4")

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

    def __init__(self, data: pd.DataFrame, term: str, transforms: dict | None = None) -> None:
        self.data = data
        self.n = len(data)
        self.term = term
        # R text of a scale/poly/ns/bs call -> its parameters: filled on the
        # fitting data, read on new data.
        self.transforms = {} if transforms is None else transforms

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
            return _Factor(codes, labels, bool(dtype.ordered))
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
        if isinstance(value, _Matrix):
            if value.values.shape[1] != 1:
                raise FormulaError(f"{deparse(node)!r} has {value.values.shape[1]} columns and cannot be used "
                                   f"in arithmetic in formula term {self.term!r}")
            return value.values[:, 0]
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
        func = node.func
        if isinstance(func, BinOp) and func.op in ("::", ":::") and isinstance(func.left, Name) \
                and func.left.name in _NAMESPACES and isinstance(func.right, Name):
            node = Call(func.right, node.args, node.pos)  # splines::ns is ns
        if not isinstance(node.func, Name):
            raise FormulaError(f"unsupported call {deparse(node)!r} in formula term {self.term!r}; supported: "
                               f"{', '.join(supported_functions())} (optionally as {'::, '.join(_NAMESPACES)}::)")
        fname = node.func.name
        if fname == "I" or fname == "offset":
            self.arity(node, 1)
            return self.eval(node.args[0].value)
        if fname in ("factor", "as.factor", "ordered", "as.ordered"):
            self.arity(node, 1)
            f = _drop_unused(_as_factor(self.eval(node.args[0].value), self.n))
            return _Factor(f.codes, f.levels, True) if fname in ("ordered", "as.ordered") else f
        if fname in STATEFUL_FUNCTIONS:
            return self.stateful(node, fname)
        if fname == "dummy":
            return self.dummy(node)
        if fname == "c":
            return np.array([float(self.numeric(a.value)) for a in node.args])
        if fname in ("as.numeric", "as.double", "as.integer") and len(node.args) == 1:
            value = self.eval(node.args[0].value)
            if isinstance(value, _Factor):  # R: the level codes 1..k
                return np.where(value.codes >= 0, value.codes + 1.0, np.nan)
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
        raise FormulaError(f"unsupported function {fname!r} in formula term {self.term!r}; supported: "
                           f"{', '.join(supported_functions())}")

    def stateful(self, node: Call, fname: str) -> _Matrix:
        """scale/poly/ns/bs: parameters computed on the fitting data, reused on new data."""
        if not node.args or node.args[0].name not in (None, "x"):
            raise FormulaError(f"{fname}() needs the variable as its first argument in formula term {self.term!r}")
        rest = list(node.args[1:])
        variables = [node.args[0]]
        if fname == "poly":  # poly(x, z, degree = 2): further variables (R's polym)
            variables += [a for a in rest if a.name is None and not _is_literal(a.value)]
            rest = [a for a in rest if a not in variables]
        columns = [_finite_numeric(self.numeric(a.value), self.n, deparse(a.value)) for a in variables]
        x = columns[0] if len(columns) == 1 else np.column_stack(columns)
        positional = [self.constant(a.value) for a in rest if a.name is None]
        named = {a.name: self.constant(a.value) for a in rest if a.name is not None}
        args = match_arguments(fname, positional, named)
        key = deparse(node)
        if key in self.transforms:
            values = apply_function(fname, x, args, self.transforms[key])
            suffixes = function_suffixes(fname, self.transforms[key], values.shape[1])
        else:
            values, suffixes, self.transforms[key] = fit_function(fname, x, args)
        return _Matrix(values, suffixes)

    def constant(self, node: Node):
        """An argument that is not data: a number, TRUE/FALSE, NULL or c(...) of numbers."""
        if isinstance(node, Const) and node.name == "NULL":
            return None
        value = self.eval(node)
        if isinstance(value, (_Factor, _Matrix, str)) or (isinstance(value, np.ndarray) and value.size == self.n
                                                          and self.n > 1 and not _is_literal(node)):
            raise FormulaError(f"argument {deparse(node)!r} must be a constant in formula term {self.term!r}")
        return value

    def dummy(self, node: Call) -> np.ndarray:
        """lme4's dummy(f, "level"): 1 where the factor takes that level, else 0."""
        if len(node.args) != 2:
            raise FormulaError(f"dummy() takes a factor and a level, e.g. dummy(f, \"a\"), in formula term "
                               f"{self.term!r}")
        f = _as_factor(self.eval(node.args[0].value), self.n)
        level = self.eval(node.args[1].value)
        label = level if isinstance(level, str) else _level_label(level)
        if label not in f.levels:
            raise FormulaError(f"dummy(): {label!r} is not a level of {deparse(node.args[0].value)} "
                               f"(levels: {f.levels}) in formula term {self.term!r}")
        return (f.labels() == label).astype(np.float64)

    def arity(self, node: Call, k: int) -> None:
        if len(node.args) != k or any(a.name is not None for a in node.args):
            raise FormulaError(f"{deparse(node.func)}() takes {k} unnamed "
                               f"argument(s) in formula term {self.term!r}")


def _is_literal(node: Node) -> bool:
    return not any(True for _ in iter_names(node))


def supported_functions() -> list[str]:
    """Every function a formula term may call (besides the operators)."""
    return sorted(set(_NUMERIC_FUNCTIONS) | set(STATEFUL_FUNCTIONS)
                  | {"I", "offset", "factor", "as.factor", "ordered", "as.ordered", "dummy", "c", "as.integer"})


def _evaluate(node: Node, data: pd.DataFrame, term: str, transforms: dict | None = None) -> _Value:
    return _Evaluator(data, term, transforms).eval(node)


def _finite_numeric(value: _Value, n: int, term: str) -> np.ndarray:
    """Coerce an evaluated value to a finite float64 vector of length n."""
    if isinstance(value, _Matrix) and value.values.shape[1] == 1:
        value = value.values[:, 0]
    if isinstance(value, (_Factor, _Matrix)) or isinstance(value, str):
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
                if code == 2:  # all levels' indicators (R's contrasts = FALSE)
                    coding, suffixes = np.eye(len(levels)), list(levels)
                else:
                    C, suffixes = spec.contrasts[v]
                    coding = np.asarray(C, dtype=float)
                mat = coding[value.codes]
            elif isinstance(value, _Matrix):
                mat, suffixes = value.values, value.suffixes
            else:
                mat, suffixes = value[:, None], [""]
            # The earlier variable varies fastest, as in R.
            cols = [(parts + [label + suffixes[k]], col * mat[:, k])
                    for k in range(len(suffixes)) for parts, col in cols]
        for parts, col in cols:
            names.append(":".join(parts))
            columns.append(col)
    X = np.empty((n, len(columns)), dtype=np.float64, order="F")
    for i, col in enumerate(columns):
        X[:, i] = col
    return Design(X=X, names=names, offset=offset, spec=spec)


def _offset_sum(offsets: tuple[str, ...], data: pd.DataFrame, transforms: dict) -> np.ndarray | None:
    if not offsets:
        return None
    n = len(data)
    total = np.zeros(n)
    for text in offsets:
        term = f"offset({text})"
        total += _finite_numeric(_evaluate(parse_expression(text), data, term, transforms), n, term)
    return total


def _check_contrasts(contrasts, labels: tuple[str, ...], levels: list) -> dict:
    """The ``contrasts=`` argument: a dict from factor variables of the formula to a contrast name or matrix."""
    if contrasts is None:
        return {}
    if not isinstance(contrasts, dict):
        raise FormulaError(f"contrasts must be a dict such as {{'f': 'contr.sum'}}, not {type(contrasts).__name__}")
    factors = [lab for lab, lv in zip(labels, levels) if lv is not None]
    for key in contrasts:
        if key not in factors:
            raise FormulaError(f"contrasts given for {key!r}, which is not a factor of the fixed-effects formula "
                               f"(factors: {factors})")
    return contrasts


@refuses_deep_nesting
def model_design(rhs: str, data: pd.DataFrame, contrasts: dict | None = None) -> Design:
    """Build the fixed-effects model matrix for an R right-hand side.

    Parameters
    ----------
    rhs : str
        R text without bars, e.g. ``"YEAR + cHEIGHT + offset(log(n))"``,
        ``"0 + YEAR"``, ``"1"``, ``"x*f + I(x^2)"``.
    data : pandas.DataFrame
        Rows already free of missing values in the variables used; it is
        not modified.
    contrasts : dict, optional
        R's ``contrasts.arg``: factor variable -> ``"contr.treatment"``,
        ``"contr.sum"``, ``"contr.helmert"``, ``"contr.poly"``,
        ``"contr.SAS"`` or an ``(nlevels, k)`` matrix.  Other factors get
        treatment contrasts, ordered ones ``contr.poly``.

    Returns
    -------
    Design
        One row per row of ``data``, in order, with R's column names and
        order (intercept, then terms by degree).

    Raises
    ------
    FormulaError
        Bad syntax, a bar, an unsupported function, bad contrasts.
    DataError
        Unknown column, non-finite value, single-level factor that needs
        contrasts.
    """
    terms = expand_terms(parse_expression(rhs), rhs)
    n = len(data)
    values: list[np.ndarray | _Factor | _Matrix] = []
    levels: list[tuple[str, ...] | None] = []
    transforms: dict = {}
    for node, label in zip(terms.variables, terms.labels):
        value = _evaluate(node, data, label, transforms)
        if isinstance(value, _Matrix):
            if not np.all(np.isfinite(value.values)):
                raise DataError(f"formula term {label!r} has non-finite values")
            values.append(value)
            levels.append(None)
        elif isinstance(value, (_Factor, str)) or (
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
    given = _check_contrasts(contrasts, terms.labels, levels)
    coding: list[tuple | None] = [None] * len(levels)
    for row in codes:
        for v, code in row:
            lv = levels[v]
            if lv is not None and code == 1 and len(lv) < 2:
                raise DataError(f"factor {terms.labels[v]!r} has only one level "
                                f"({lv[0] if lv else 'none'}); contrasts need at least two")
            if lv is not None and code == 1 and coding[v] is None:
                value = values[v]
                assert isinstance(value, _Factor)
                kind = given.get(terms.labels[v], default_contrast(value.ordered))
                C, suffixes = contrast_matrix(kind, list(lv))
                coding[v] = (tuple(map(tuple, C.tolist())), tuple(suffixes))
    spec = DesignSpec(
        rhs=rhs,
        intercept=terms.intercept,
        labels=terms.labels,
        levels=tuple(levels),
        terms=tuple(tuple(row) for row in codes),
        offsets=tuple(deparse(o) for o in terms.offsets),
        names=(),
        columns=tuple(tuple(v.suffixes) if isinstance(v, _Matrix) else None for v in values),
        contrasts=tuple(coding),
    )
    offset = _offset_sum(spec.offsets, data, transforms)
    design = _build(spec, values, offset, n)
    design.spec = dataclasses.replace(spec, names=tuple(design.names), transforms=tuple(transforms.items()))
    return design


def _spec_values(spec: DesignSpec, data: pd.DataFrame) -> list[np.ndarray | _Factor | _Matrix]:
    """Each variable of ``spec`` evaluated on ``data`` with the stored encoding (factor
    levels, and the fit's parameters of scale/poly/ns/bs)."""
    n = len(data)
    values: list[np.ndarray | _Factor | _Matrix] = []
    transforms = dict(spec.transforms)
    columns = spec.columns or (None,) * len(spec.labels)
    for label, levels, suffixes in zip(spec.labels, spec.levels, columns):
        value = _evaluate(parse_expression(label), data, label, transforms)
        if suffixes is not None:
            if not isinstance(value, _Matrix) or len(value.suffixes) != len(suffixes):
                raise DataError(f"variable {label!r} does not give the columns it gave when the model was fitted")
            if not np.all(np.isfinite(value.values)):
                raise DataError(f"formula term {label!r} has non-finite values in the new data")
            values.append(value)
            continue
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
    columns = spec.columns or (None,) * len(spec.labels)
    empty = [_Matrix(np.zeros((0, len(sx))), list(sx)) if sx is not None
             else np.zeros(0) if lv is None else _Factor(np.zeros(0, dtype=np.int64), list(lv))
             for lv, sx in zip(spec.levels, columns)]
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
    design = _build(spec, values, _offset_sum(spec.offsets, data, dict(spec.transforms)), n)
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
