"""An interpreter for the R expressions of a formula's variables, over the columns of a DataFrame.

Interface
---------
evaluate(node, data, term, transforms=None) -> Value
    The value of one R syntax tree: a float64 vector, a :class:`Factor`, a
    :class:`MatrixValue` (poly, ns, bs, scale), a logical vector or a scalar.
    ``term`` names the formula term in error messages; ``transforms`` maps
    the R text of each scale/poly/ns/bs call to the parameters computed on
    the fitting data (filled on the fitting data, read on new data: R's
    makepredictcall).
Factor, MatrixValue, Value
    The values it produces besides numpy arrays and scalars.
level_label(value) -> str       R's printed form of a factor level
as_factor(value, n), drop_unused(factor), complete_factor(factor, term)
    R's factor(), droplevels(), and a check for missing codes
column_array(data, name)                    a column's array, without a Series
category_labels(dtype) -> list of str       a categorical dtype's levels (remembered per dtype)
finite_numeric(value, n, term) -> ndarray   a finite float64 vector or a DataError
supported_functions() -> list of str        every function a formula may call

The interpreter handles columns, arithmetic, comparisons and logic, a
whitelist of numpy functions, ``I()``, ``offset()``, ``factor()``,
``ordered()``, ``dummy()``, ``c()`` and the stateful scale/poly/ns/bs of
_formula_functions, so no Python ``eval`` is involved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import pandas as pd

from glmmfast._errors import DataError, FormulaError

from ._deparse import deparse
from ._identity_memo import remembered
from ._formula_functions import STATEFUL_FUNCTIONS, apply_function, fit_function, function_suffixes, match_arguments
from ._nodes import BinOp, Call, Const, Index, Name, Node, Num, Paren, Str, UnaryOp, iter_names

__all__ = ["Factor", "MatrixValue", "Value", "evaluate", "level_label", "as_factor", "drop_unused", "column_array",
           "complete_factor", "finite_numeric", "broadcast", "supported_functions"]


@dataclass
class Factor:
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
class MatrixValue:
    """A matrix-valued variable (poly, ns, bs): ``(n, k)`` values and R's column-name suffixes."""

    values: np.ndarray
    suffixes: list[str]


Value = Union[np.ndarray, Factor, MatrixValue, float, bool, str]


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


def _factor_from_values(values: np.ndarray) -> Factor:
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
    return Factor(codes, list(index))


def as_factor(value: Value, n: int) -> Factor:
    """R's ``factor()`` of an evaluated value (a Factor is returned as it is)."""
    if isinstance(value, Factor):
        return value
    arr = np.asarray(broadcast(value, n))
    return _factor_from_values(arr.astype(object) if arr.dtype == bool else arr)


def drop_unused(f: Factor) -> Factor:
    """R's ``droplevels()``: the levels no row takes are removed."""
    # a count, not a sort; codes + 1 puts the missing (-1) in bin 0 without a mask
    counts = np.bincount(f.codes + 1, minlength=len(f.levels) + 1)[1:]
    if np.count_nonzero(counts) == len(f.levels):
        return f
    present = counts > 0
    used = np.flatnonzero(present)
    remap = np.full(len(f.levels), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    codes = np.where(f.codes >= 0, remap[np.maximum(f.codes, 0)], -1)
    return Factor(codes, [f.levels[i] for i in used], f.ordered)


def category_labels(dtype: pd.CategoricalDtype) -> list[str]:
    """The level labels of a categorical column's dtype (R's levels: its categories as R prints them),
    remembered per dtype object (:func:`~glmmfast.formula._identity_memo.remembered`)."""
    return list(remembered(dtype, _category_labels))


def _category_labels(dtype: pd.CategoricalDtype) -> tuple[str, ...]:
    cats = dtype.categories
    return tuple(cats.tolist() if cats.inferred_type == "string" else [level_label(c) for c in cats])


def column_array(data: pd.DataFrame, name: str):
    """The values of column ``name`` as pandas holds them (a numpy array, or an
    extension array such as a Categorical), or None where the name is not unique.

    Read without building a Series (pandas spends ~25 us on one, a tenth of a
    small model's design); callers only read the array, never write it.
    """
    loc = data.columns.get_loc(name)
    if not isinstance(loc, (int, np.integer)):
        return None
    get_array = getattr(data, "_get_column_array", None)  # pandas' own accessor, if this version has it
    return data.iloc[:, loc].array if get_array is None else get_array(loc)


def broadcast(value: Value, n: int) -> np.ndarray:
    """A scalar repeated to length ``n`` (an array is returned as it is)."""
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
_NUMERIC_FUNCTIONS: dict[str, Callable[..., Value]] = {
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

    def column(self, name: str) -> Value:
        try:
            values = column_array(self.data, name)
        except KeyError:  # pandas' lookup of a name that is not a column
            raise DataError(f"unknown column {name!r} in formula term {self.term!r}") from None
        if values is None:
            raise DataError(f"column name {name!r} is not unique in the data")
        dtype = values.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            # numpy numbers have no missing marker but NaN (a copy: the
            # caller's data are never written).
            return np.array(values, dtype=np.float64)
        if isinstance(dtype, pd.CategoricalDtype):
            return Factor(values.codes.astype(np.int64), category_labels(dtype), bool(dtype.ordered))
        col = self.data[name]
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
        if isinstance(value, MatrixValue):
            if value.values.shape[1] != 1:
                raise FormulaError(f"{deparse(node)!r} has {value.values.shape[1]} columns and cannot be used "
                                   f"in arithmetic in formula term {self.term!r}")
            return value.values[:, 0]
        if isinstance(value, Factor) or isinstance(value, str):
            raise DataError(f"non-numeric value {deparse(node)!r} used in "
                            f"arithmetic in formula term {self.term!r}")
        if isinstance(value, np.ndarray) and value.dtype == bool:
            return value.astype(np.float64)
        return float(value) if isinstance(value, (bool, float)) else value

    def eval(self, node: Node) -> Value:
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
        if isinstance(value, Factor) or isinstance(value, str):
            raise DataError(f"non-logical value {deparse(node)!r} in formula "
                            f"term {self.term!r}")
        return np.asarray(value) != 0 if not isinstance(value, bool) else value

    def binary(self, node: BinOp) -> Value:
        op = node.op
        if op in _ARITHMETIC:
            with np.errstate(all="ignore"):
                return _ARITHMETIC[op](self.numeric(node.left), self.numeric(node.right))
        if op in _COMPARE:
            left, right = self.eval(node.left), self.eval(node.right)
            # Factors compare through their level labels ("f == 'a'").
            if isinstance(left, Factor):
                left = left.labels()
            if isinstance(right, Factor):
                right = right.labels()
            return np.asarray(_COMPARE[op](left, right), dtype=bool)
        if op in _LOGICAL:
            return _LOGICAL[op](self.logical(node.left), self.logical(node.right))
        raise FormulaError(f"operator {op!r} cannot be evaluated inside formula "
                           f"term {self.term!r}; wrap arithmetic in I(...)")

    def call(self, node: Call) -> Value:
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
            f = drop_unused(as_factor(self.eval(node.args[0].value), self.n))
            return Factor(f.codes, f.levels, True) if fname in ("ordered", "as.ordered") else f
        if fname in STATEFUL_FUNCTIONS:
            return self.stateful(node, fname)
        if fname == "dummy":
            return self.dummy(node)
        if fname == "c":
            return np.array([float(self.numeric(a.value)) for a in node.args])
        if fname in ("as.numeric", "as.double", "as.integer") and len(node.args) == 1:
            value = self.eval(node.args[0].value)
            if isinstance(value, Factor):  # R: the level codes 1..k
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

    def stateful(self, node: Call, fname: str) -> MatrixValue:
        """scale/poly/ns/bs: parameters computed on the fitting data, reused on new data."""
        if not node.args or node.args[0].name not in (None, "x"):
            raise FormulaError(f"{fname}() needs the variable as its first argument in formula term {self.term!r}")
        rest = list(node.args[1:])
        variables = [node.args[0]]
        if fname == "poly":  # poly(x, z, degree = 2): further variables (R's polym)
            variables += [a for a in rest if a.name is None and not _is_literal(a.value)]
            rest = [a for a in rest if a not in variables]
        columns = [finite_numeric(self.numeric(a.value), self.n, deparse(a.value)) for a in variables]
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
        return MatrixValue(values, suffixes)

    def constant(self, node: Node):
        """An argument that is not data: a number, TRUE/FALSE, NULL or c(...) of numbers."""
        if isinstance(node, Const) and node.name == "NULL":
            return None
        value = self.eval(node)
        if isinstance(value, (Factor, MatrixValue, str)) or (isinstance(value, np.ndarray) and value.size == self.n
                                                          and self.n > 1 and not _is_literal(node)):
            raise FormulaError(f"argument {deparse(node)!r} must be a constant in formula term {self.term!r}")
        return value

    def dummy(self, node: Call) -> np.ndarray:
        """lme4's dummy(f, "level"): 1 where the factor takes that level, else 0."""
        if len(node.args) != 2:
            raise FormulaError(f"dummy() takes a factor and a level, e.g. dummy(f, \"a\"), in formula term "
                               f"{self.term!r}")
        f = as_factor(self.eval(node.args[0].value), self.n)
        level = self.eval(node.args[1].value)
        label = level if isinstance(level, str) else level_label(level)
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


def evaluate(node: Node, data: pd.DataFrame, term: str, transforms: dict | None = None) -> Value:
    """The value of the R expression ``node`` on the columns of ``data``.

    Parameters
    ----------
    node : Node
        The expression's syntax tree.
    data : pandas.DataFrame
        Not modified.
    term : str
        The formula term, named in error messages.
    transforms : dict, optional
        R text of each scale/poly/ns/bs call -> its parameters: filled when
        missing (fitting data), read when present (new data).

    Returns
    -------
    Value
    """
    return _Evaluator(data, term, transforms).eval(node)


def finite_numeric(value: Value, n: int, term: str) -> np.ndarray:
    """Coerce an evaluated value to a finite float64 vector of length n."""
    if isinstance(value, MatrixValue) and value.values.shape[1] == 1:
        value = value.values[:, 0]
    if isinstance(value, (Factor, MatrixValue)) or isinstance(value, str):
        raise DataError(f"formula term {term!r} is not numeric")
    arr = np.asarray(broadcast(value, n), dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"formula term {term!r} has shape {arr.shape}, expected ({n},)")
    if not np.isfinite(arr).all():  # the array's method: np.all's dispatch costs as much on small data
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise DataError(f"formula term {term!r} has a non-finite value "
                        f"({arr[bad]}) at row {bad}")
    return arr


def complete_factor(f: Factor, term: str) -> Factor:
    """``f`` itself, or a DataError naming the first row with a missing value."""
    if (f.codes < 0).any():
        bad = int(np.flatnonzero(f.codes < 0)[0])
        raise DataError(f"formula term {term!r} has a missing value at row {bad}")
    return f

