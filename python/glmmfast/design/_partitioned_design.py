"""The design of a mixed model whose rows are partitions of a Dask DataFrame.

Holds :class:`PartitionedDesign` and the functions that make and use one:

- :func:`plan_partitioned_design` (on the driver): parses the formula,
  refuses what the partitioned path cannot do yet (before any work),
  unifies factor levels across partitions in one pass over the data (the
  distinct values of every factor column, or a categorical's known
  categories) and fixes, from those levels, the fixed-effects coding
  (contrasts, column names) and the random-effects terms with their global
  levels, exactly as :func:`~glmmfast.design._design.model_design_for`
  would decide them on the whole data in memory: levels are the sorted
  distinct values (R's ``factor``), the terms ordered by decreasing number
  of levels.
- :func:`partition_arrays` (on a worker): one partition's complete rows as
  the engine's arrays, X (every column of the coding), Z (the model's q
  columns, levels coded globally), y, prior weights, offset.
- :func:`aliased_from_r_factors`: the aliased fixed-effects columns
  (lme4's rank rule, :func:`~glmmfast.design._design.aliased_columns`)
  from the partitions' R factors of X: R of the stacked R's has X's column
  geometry, so the same Gram-Schmidt on it drops the same columns.
- :func:`design_shell`: the :class:`~glmmfast.design._design.ModelDesign`
  a result reads (names, terms, coding) with no rows in it.

Dependency direction: formula -> design (this module) -> fit/_partitioned.py.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._errors import ArgumentError, DataError, FamilyError, FormulaError
from ..families import Family
from ..formula._formula import ParsedFormula, grouping_parts, parse_formula
from ..formula._model_frame import grouping_factor, variables_in
from ..formula._model_matrix import apply_design, model_design
from ..formula._nodes import Name
from ..formula._r_eval import _factor_from_values, level_label
from ._design import ModelDesign, _response_for_family, aliased_columns
from ._re_terms import ReTerm, build_re_terms, random_effects_matrix

__all__ = ["PartitionedDesign", "plan_partitioned_design", "partition_arrays", "aliased_from_r_factors",
           "design_shell", "PARTITIONED_FAMILIES"]

#: families the partitioned path fits, every link of each (glmer's families: the engine's RowBlock
#: takes the exponential-dispersion families; the gaussian with the identity link is lmer's)
PARTITIONED_FAMILIES = ("poisson", "binomial", "Gamma", "inverse.gaussian", "gaussian", "negative.binomial")

# Rows of the first partition the coding's template frame starts from (its column types, real numbers).
_TEMPLATE_ROWS = 1000

# Functions whose result depends on all rows (their parameters would differ per partition).
_DATA_DEPENDENT = re.compile(r"\b(scale|poly|ns|bs|factor|ordered|as\.factor)\s*\(")


@dataclass
class PartitionedDesign:
    """What every partition needs to build its rows, decided once on the driver.

    Attributes
    ----------
    formula : str
    parsed : ParsedFormula
    family : Family
    columns : list of str
        The data columns the model uses (rows missing one are dropped).
    weights, offset : str or None
        Columns holding prior weights and an offset (``weights=``, ``offset=``).
    levels : dict
        Factor column -> its levels over all partitions (sorted distinct values).
    x_spec : object
        The fixed-effects coding (every column, before aliasing).
    x_names_all : list of str
        Its column names.
    keep : list of int
        The columns kept after lme4's aliasing rule (set once the partitions' R factors are in).
    terms : list of ReTerm
        The random-effects terms with their global levels (no rows).
    """

    formula: str
    parsed: ParsedFormula
    family: Family
    columns: list[str]
    weights: str | None
    offset: str | None
    levels: dict
    x_spec: object = field(repr=False)
    x_names_all: list[str]
    terms: list[ReTerm] = field(repr=False)
    keep: list[int] | None = None

    @property
    def x_names(self) -> list[str]:
        return [self.x_names_all[j] for j in self.keep]

    @property
    def x_dropped(self) -> list[str]:
        kept = set(self.keep)
        return [n for j, n in enumerate(self.x_names_all) if j not in kept]

    @property
    def q(self) -> int:
        return int(sum(t.k * t.nlevels for t in self.terms))


def _is_factor_column(dtype) -> bool:
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def _check_supported(formula: str, parsed: ParsedFormula, family: Family, nAGQ: int, linear: bool) -> None:
    """Refuse, before any work, what the partitioned path does not do yet (``linear``: the LMM's path)."""
    if not linear and family.name not in PARTITIONED_FAMILIES:
        raise FamilyError(f"a model on a Dask DataFrame supports glmer's families ({', '.join(PARTITIONED_FAMILIES)}, "
                          f"any of their links) for now, not {family.name}")
    if nAGQ not in (0, 1):
        raise ArgumentError(f"nAGQ = {nAGQ} (adaptive Gauss-Hermite quadrature) is not supported on a Dask "
                            "DataFrame yet: use nAGQ=1 (Laplace) or 0")
    found = _DATA_DEPENDENT.search(formula)
    if found:
        raise FormulaError(f"{found.group(1)}() is not supported on a Dask DataFrame yet (its value depends on "
                           "every row): compute the column before fitting")
    for s in parsed.random:
        if s.structure != "us":
            raise FormulaError(f"covariance structure {s.structure}() is not supported on a Dask DataFrame yet")
        if len(grouping_parts(s.group_expr)) != 1 or not isinstance(grouping_parts(s.group_expr)[0], Name):
            raise FormulaError(f"grouping factor {s.group!r}: only a data column is supported as a grouping "
                               "factor on a Dask DataFrame yet (make a column for an interaction or a nesting)")


def _global_levels(ddf, columns: list[str]) -> dict:
    """One pass over the partitions: the distinct values of each factor column.

    A categorical with known categories keeps their order (unused ones
    dropped, R's droplevels); other columns' values come unordered: the
    coding and :func:`_level_labels` sort them as the in-memory fit does.
    """
    import dask

    if not columns:
        return {}
    per_partition = dask.compute(*[dask.delayed(_distinct_values)(part, columns) for part in ddf[columns].to_delayed()])
    out = {}
    for c in columns:
        values = list(pd.unique(np.concatenate([p[c] for p in per_partition])))
        dtype = ddf[c].dtype
        if isinstance(dtype, pd.CategoricalDtype) and ddf[c].cat.known:
            seen = set(values)
            values = [v for v in dtype.categories if v in seen]
        out[c] = values
    return out


def _distinct_values(data: pd.DataFrame, columns: list[str]) -> dict:
    """One partition's distinct non-missing values of each column (objects)."""
    return {c: pd.unique(np.asarray(data[c].dropna().to_numpy(), dtype=object)) for c in columns}


def _level_labels(ddf, column: str, values: list) -> list[str]:
    """A grouping factor's levels as the in-memory fit names and orders them (R's factor of the column)."""
    if isinstance(ddf[column].dtype, pd.CategoricalDtype) and ddf[column].cat.known:
        return [level_label(v) for v in values]
    dtype = ddf[column].dtype
    arr = np.asarray(values, dtype=object if (_is_factor_column(dtype) or pd.api.types.is_bool_dtype(dtype))
                     else dtype)
    return _factor_from_values(arr).levels


def _template_frame(head: pd.DataFrame, levels: dict, columns: list[str]) -> pd.DataFrame:
    """A small frame holding every level of every factor column (numbers from real rows): the coding's source."""
    head = head[columns].dropna().reset_index(drop=True)
    if len(head) == 0:
        raise DataError(f"the first {_TEMPLATE_ROWS} rows of the first partition have no complete row to read the "
                        "columns' types from")
    m = max([len(head)] + [len(v) for v in levels.values()])
    frame = head.iloc[np.arange(m) % len(head)].reset_index(drop=True)
    for c, lev in levels.items():
        values = np.empty(m, dtype=object)
        values[:] = [lev[i % len(lev)] for i in range(m)]
        dtype = head[c].dtype
        frame[c] = (pd.Categorical(values, categories=lev, ordered=dtype.ordered)
                    if isinstance(dtype, pd.CategoricalDtype) else values)
    return frame


def plan_partitioned_design(formula: str, ddf, family: Family, weights=None, offset=None,
                            contrasts: dict | None = None, nAGQ: int = 1, linear: bool = False) -> PartitionedDesign:
    """Decide the design of ``formula`` on the Dask DataFrame ``ddf`` (one pass for the factor levels).

    ``linear``: the design of an LMM (lmer's gaussian family, fitted from
    cross-products: :mod:`glmmfast.fit._partitioned_lmm`).

    Raises
    ------
    FormulaError, FamilyError, ArgumentError, DataError
        Before any pass over the data: what the partitioned path does not support yet.
    """
    if not isinstance(formula, str):
        raise FormulaError(f"formula must be a string, not {type(formula).__name__}")
    for what, value in (("weights", weights), ("offset", offset)):
        if value is not None and not (isinstance(value, str) and value in ddf.columns):
            raise DataError(f"{what}= on a Dask DataFrame must name one of its columns")
    parsed = parse_formula(formula, data_columns=[str(c) for c in ddf.columns])
    if parsed.response_expr is None:
        raise FormulaError(f"formula {formula!r} has no response (left-hand side)")
    if not parsed.random:
        raise FormulaError(f"no random-effects terms in {formula!r}; use glmmfast.glm for a model without them")
    _check_supported(formula, parsed, family, nAGQ, linear)
    x_used = variables_in(parsed.fixed_expr)
    lhs_used = set().union(*[variables_in(s.lhs_expr) for s in parsed.random])
    groups = {grouping_parts(s.group_expr)[0].name for s in parsed.random}
    response_used = variables_in(parsed.response_expr)
    used = response_used | x_used | lhs_used | groups
    missing = sorted(v for v in used if v not in ddf.columns)
    if missing:
        raise DataError(f"unknown column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} in formula")
    for c in response_used:
        if _is_factor_column(ddf[c].dtype):
            raise DataError(f"response column {c!r}: a factor response is not supported on a Dask DataFrame yet "
                            "(code it as 0/1)")
    columns = [c for c in ddf.columns if c in used] + [c for c in (weights, offset) if c is not None]
    factor_columns = [c for c in columns if c in (x_used | lhs_used | groups) and
                      (c in groups or _is_factor_column(ddf[c].dtype))]
    levels = _global_levels(ddf, factor_columns)
    coding_levels = {c: v for c, v in levels.items() if c in (x_used | lhs_used)}
    with warnings.catch_warnings():  # a first partition shorter than the head asked for is fine
        warnings.simplefilter("ignore", UserWarning)
        head = ddf.get_partition(0).head(_TEMPLATE_ROWS, npartitions=1)  # computed by the workers: rows only
    template = _template_frame(head, coding_levels, columns)
    fixed = model_design(parsed.fixed_expr, template, contrasts)
    terms = []
    for s in parsed.random:  # each bar alone, in formula order, then lme4's order by global levels
        t = build_re_terms([s], template)[0]
        group = grouping_parts(s.group_expr)[0].name
        group_levels = _level_labels(ddf, group, levels[group])
        terms.append(dataclasses.replace(t, levels=group_levels, codes=np.zeros(0, dtype=np.int64),
                                         X=np.zeros((0, t.k))))
    terms = [terms[i] for i in sorted(range(len(terms)), key=lambda i: -terms[i].nlevels)]
    return PartitionedDesign(formula=formula, parsed=parsed, family=family, columns=columns, weights=weights,
                             offset=offset, levels=levels, x_spec=fixed.spec, x_names_all=list(fixed.names),
                             terms=terms)


@dataclass
class PartitionArrays:
    """One partition's complete rows in the engine's layout (X has every column of the coding); ``terms``: the
    plan's terms with this partition's codes and model matrices (the GLMM's moment start reads them)."""

    X: np.ndarray
    Z: sp.csc_matrix
    y: np.ndarray
    weights: np.ndarray
    offset: np.ndarray
    n_dropped: int
    terms: list = field(default_factory=list)


def partition_arrays(plan: PartitionedDesign, data: pd.DataFrame) -> PartitionArrays:
    """The engine's arrays for one partition, coded with the plan's global levels."""
    complete = np.ones(len(data), dtype=bool)
    for c in plan.columns:
        complete &= data[c].notna().to_numpy()
    frame = data.loc[complete, plan.columns].reset_index(drop=True)
    n = len(frame)
    w = np.ones(n) if plan.weights is None else frame[plan.weights].to_numpy(dtype=float)
    off = np.zeros(n) if plan.offset is None else frame[plan.offset].to_numpy(dtype=float)
    if n == 0:
        return PartitionArrays(np.zeros((0, len(plan.x_names_all))), sp.csc_matrix((0, plan.q)), np.zeros(0),
                               np.zeros(0), np.zeros(0), int((~complete).sum()))
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise DataError("weights must be finite and non-negative")
    y, w, _ = _response_for_family(plan.parsed.response_expr, frame, plan.family, w, [])
    if np.any(~np.isfinite(y)):
        raise DataError("response has non-finite values")
    plan.family.check_response(y, w)
    fixed = apply_design(plan.x_spec, frame)
    if fixed.offset is not None:
        off = off + fixed.offset
    terms = []
    for t in plan.terms:
        codes_here, labels_here = grouping_factor(t.group, frame)
        index = {lab: i for i, lab in enumerate(t.levels)}
        mapping = np.array([index[lab] for lab in labels_here], dtype=np.int64)
        terms.append(dataclasses.replace(t, codes=mapping[codes_here],
                                         X=np.asarray(apply_design(t.spec, frame).X, dtype=float)))
    Z = random_effects_matrix(terms, n).tocsc()
    return PartitionArrays(np.asfortranarray(fixed.X, dtype=float), Z, np.asarray(y, dtype=float),
                           np.asarray(w, dtype=float), np.asarray(off, dtype=float), int((~complete).sum()), terms)


def aliased_from_r_factors(r_factors: list[np.ndarray], p: int) -> list[int]:
    """Columns of X aliased by lme4's rule, from the R factors of X's row blocks (a TSQR)."""
    blocks = [r for r in r_factors if r.size]
    if not blocks:
        raise DataError("no complete rows: every row has a missing value in a column the model uses")
    R = np.linalg.qr(np.vstack(blocks), mode="r") if len(blocks) > 1 else blocks[0]
    R = np.vstack([R, np.zeros((max(p - R.shape[0], 0), p))])
    return aliased_columns(R)


def design_shell(plan: PartitionedDesign, n: int, n_dropped: int) -> ModelDesign:
    """The ModelDesign a result reads (formula, family, names, terms, coding) without rows."""
    p = len(plan.keep)
    messages = []
    if plan.x_dropped:
        k = len(plan.x_dropped)
        messages.append(f"fixed-effect model matrix is rank deficient so dropping {k} column{'s' if k > 1 else ''} "
                        f"/ coefficient{'s' if k > 1 else ''} ({', '.join(plan.x_dropped)})")
    if n_dropped:
        messages.append(f"{n_dropped} observation{'s' if n_dropped > 1 else ''} deleted due to missingness")
    return ModelDesign(formula=plan.formula, parsed=plan.parsed, family=plan.family, y=np.zeros(0),
                       weights=np.zeros(0), offset=np.zeros(0), X=np.zeros((0, p), order="F"), x_names=plan.x_names,
                       x_spec=plan.x_spec, terms=plan.terms, z_csc=None, rows=pd.RangeIndex(0), n_dropped=n_dropped,
                       x_dropped=plan.x_dropped, messages=messages, offset_argument=plan.offset is not None)
