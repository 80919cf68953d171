"""From formula and data to the numbers a model is fitted to (lme4's glFormula).

Holds :class:`ModelDesign` and :func:`model_design_for`, which parses the
formula, drops incomplete rows, evaluates the response for the family
(binomial proportions and trials from ``cbind``, factors or 0/1), builds the
fixed-effects matrix with its stored encoding, the offset, and the
random-effects terms and Z.  Every check on the inputs happens here, before
the engine sees anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._errors import DataError, FormulaError
from ..formula._deparse import deparse
from ..formula._formula import ParsedFormula, grouping_parts, parse_formula
from ..formula._model_frame import complete_rows, evaluate_response, model_design, variables_in
from ..formula._r_eval import column_array
from ..formula._identity_memo import remembered
from ..formula._nodes import BinOp, Name, Node, UnaryOp
from ._design_checks import (check_extreme_scales, check_grouping_factors, check_random_effects_count,
                             few_levels_messages, response_scale_messages, scale_messages)
from ._re_terms import CscParts, ReTerm, build_re_terms, random_effects_matrix
from ..families import Binomial, Family, Gaussian

__all__ = ["ModelDesign", "model_design_for", "dataset_name", "aliased_columns"]


@dataclass
class ModelDesign:
    """Everything a fit needs, evaluated on the complete rows of the data."""

    formula: str
    parsed: ParsedFormula
    family: Family
    y: np.ndarray
    weights: np.ndarray
    offset: np.ndarray
    X: np.ndarray
    x_names: list[str]
    x_spec: object = field(repr=False)
    terms: list[ReTerm] = field(repr=False)
    #: Z's CSC parts as the engine takes them (design/_re_terms.py's random_effects_matrix), or None
    z_csc: CscParts | None = field(repr=False)
    rows: pd.Index = field(repr=False)
    n_dropped: int = 0
    response_kind: str = "numeric"
    #: fixed-effects columns dropped as aliased (lme4's rank-deficiency rule)
    x_dropped: list[str] = field(default_factory=list)
    #: notes on what was done to the data (rows dropped, columns dropped)
    messages: list[str] = field(default_factory=list)
    #: the fit had an ``offset=`` argument (values for the fitted rows only,
    #: so predictions on new data need new values)
    offset_argument: bool = False
    #: the complete rows of the data columns the fixed effects use (copies of
    #: their arrays, categoricals kept): type III contrasts and emmeans'
    #: reference grid are evaluated on them (:attr:`x_frame`)
    x_data: dict | None = field(default=None, repr=False)
    #: the zero-inflation component (glmmTMB's ziformula; design/_component_design.py), or None
    zi: object = field(default=None, repr=False)
    #: the dispersion model's component (glmmTMB's dispformula with covariates or ~0;
    #: fit/_dispersion_model.py), or None
    disp: object = field(default=None, repr=False)
    _Z: sp.csc_matrix | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def Z(self) -> sp.csc_matrix | None:
        """The random-effects matrix (n x q, scipy CSC), built from :attr:`z_csc` when first asked for
        (a fit hands the parts to the engine: scipy's construction would cost a tenth of a small model's design)."""
        if self.z_csc is None:
            return None
        if self._Z is None:
            self._Z = self.z_csc.tocsc()
        return self._Z

    @property
    def x_frame(self) -> pd.DataFrame | None:
        """:attr:`x_data` as a DataFrame, built when asked for (a DataFrame copy
        per fit would cost more than the rest of a small model's design stage)."""
        return None if self.x_data is None else pd.DataFrame(self.x_data)

    @property
    def n(self) -> int:
        return len(self.y)


def dataset_name(data: pd.DataFrame, given: str | None = None) -> str | None:
    """The name summaries print after ``Data:``: ``given`` (a fit's ``data_name=``), else
    ``data.attrs["name"]`` (set by ``datasets.load``), else None."""
    if given is not None:
        if not isinstance(given, str) or not given.strip():
            raise DataError(f"data_name must be a non-empty string, got {given!r}")
        return given
    name = data.attrs.get("name")
    return name if isinstance(name, str) else None


def _as_vector(values, n_rows: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise DataError(f"{what} must be an array of numbers, not a string (use a column's values)")
    raw = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values).reshape(-1)
    bad = next((v for v in raw if isinstance(v, (str, bytes, complex, np.complexfloating))), None) \
        if raw.dtype.kind in "OUSc" else None
    if bad is not None:
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise DataError(f"{what} must be real numbers, not {type(bad).__name__} values such as {bad!r}")
    try:
        arr = raw.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be real numbers ({exc})") from None
    if arr.shape[0] != n_rows:
        raise DataError(f"{what} has length {arr.shape[0]} but the data have {n_rows} rows")
    return arr


def _response_for_family(response: Node, frame: pd.DataFrame, family: Family, weights: np.ndarray,
                         messages: list[str]):
    """The engine's response and prior weights; binomial uses R's proportions-and-trials form.

    A factor response with more than two levels is taken as R's binomial
    takes it (first level failure, all others success), noted in ``messages``.
    """
    resp = evaluate_response(response, frame)
    vals = np.asarray(resp.values, dtype=float)
    if resp.kind == "cbind":
        if not family.trials_response:
            raise DataError("cbind(successes, failures) responses need the binomial or betabinomial family")
        s, f = vals[:, 0], vals[:, 1]
        if np.any(s < 0):
            raise DataError("cbind(successes, failures) has negative successes")
        if np.any(f < 0):
            raise DataError("cbind(successes, failures) has negative failures (successes above trials?)")
        m = s + f
        y = np.divide(s, m, out=np.zeros_like(s), where=m > 0)
        return y, weights * m, resp.kind
    if resp.kind in ("factor", "bool") and not family.trials_response:
        raise DataError(f"a {resp.kind} response needs the binomial family")
    if vals.ndim != 1:
        raise DataError(f"response {deparse(response)!r} must be a single column")
    if resp.kind == "factor" and len(resp.levels) > 2:
        # R's binomial()$initialize: y <- y != levels(y)[1L], silently.
        messages.append(f"binomial response {deparse(response)} is a factor with {len(resp.levels)} levels: "
                        f"{resp.levels[0]!r} counts as failure and {', '.join(map(repr, resp.levels[1:]))} as success")
    return vals, weights, resp.kind


_NA_ACTIONS = ("omit", "raise")
_RANK_TOL = 1e-7  # R's qr() tolerance, as lme4's chkRank.X uses


def aliased_columns(X: np.ndarray, tol: float = _RANK_TOL) -> list[int]:
    """Indices of columns of ``X`` that are linear combinations of earlier ones.

    As R's ``qr()`` (LINPACK dqrdc2, limited pivoting) used by lme4's
    ``chkRank.X``: columns are taken in order and a column whose norm after
    projecting out the kept columns falls below ``tol`` times its own norm
    is moved to the end, i.e. dropped.  The later of two aliased columns goes.

    One factorisation first: with no column dropped before it, column j's
    residual norm is |R_jj| (X = QR), so where every |R_jj| exceeds 1e-3 of
    its column's norm (far above ``tol``: the usual full-rank X) nothing is
    dropped, without the column-by-column loop (p^2 small products: ~0.3 ms
    at p = 15).  R is the Cholesky factor of X'X (X'X = R'R; LAPACK's dpotrf
    called directly: a fifth of numpy's QR of a 400 x 3 X, which is most of
    a small model's design time here); squaring X's condition number costs
    ~1e-16 cond^2 relative in R_jj^2, far below the 1e-6 compared, and a
    column near the threshold goes to the exact loop anyway.
    """
    n, p = X.shape
    if 0 < p <= n:
        from scipy.linalg.lapack import dpotrf  # lazily: scipy.linalg is not needed to import glmmfast

        gram = X.T @ X
        norms2 = gram.diagonal().tolist()  # |X_j|^2 (p numbers: read in Python, cheaper than numpy's masks)
        R, info = dpotrf(gram, lower=0, clean=0, overwrite_a=1)
        if info == 0 and all(0 < nj and r * r > 1e-6 * nj for nj, r in zip(norms2, R.diagonal().tolist())):
            return []
    return aliased_by_columns(X, tol)


def aliased_by_columns(X: np.ndarray, tol: float = _RANK_TOL) -> list[int]:
    """:func:`aliased_columns` by R's rule column by column (Gram-Schmidt, twice), without its fast path."""
    kept: list[np.ndarray] = []
    dropped = []
    for j in range(X.shape[1]):
        v = X[:, j].astype(float)
        norm = np.linalg.norm(v)
        for _ in range(2):  # Gram-Schmidt twice: re-orthogonalisation keeps it accurate
            for qv in kept:
                v = v - (qv @ v) * qv
        r = np.linalg.norm(v)
        if norm == 0 or r < tol * norm:
            dropped.append(j)
        else:
            kept.append(v / r)
    return dropped


def _column_names(columns: pd.Index) -> tuple:
    return tuple(columns.tolist())


def _column_set(columns: pd.Index) -> frozenset:
    """The column names as a set: membership without pandas' Index lookup (~2 us a name)."""
    return frozenset(remembered(columns, _column_names))


def _formula_columns(columns: pd.Index) -> tuple[str, ...]:
    """The column names as text, as the parser's ``data_columns`` (for ``.``)."""
    return tuple(str(c) for c in remembered(columns, _column_names))


def _formula_variables(parsed: ParsedFormula) -> tuple[frozenset, frozenset]:
    """The columns the fixed effects use, and all the formula uses (remembered per parsed formula,
    which :func:`parse_formula` shares between fits of the same text)."""
    x_used = variables_in(parsed.fixed_expr)
    used = variables_in(parsed.response_expr) | x_used
    for s in parsed.random:
        # each factor of a grouping interaction must be a column itself
        used |= variables_in(s.lhs_expr) | {p.name if isinstance(p, Name) else deparse(p)
                                            for p in grouping_parts(s.group_expr)}
    return frozenset(x_used), frozenset(used)


def model_design_for(
    formula: str | Node,
    data: pd.DataFrame,
    family: Family,
    weights=None,
    offset=None,
    *,
    random: bool,
    na_action: str = "omit",
    contrasts: dict | None = None,
    zero_inflated: bool = False,
    dispersion_model: bool = False,
) -> ModelDesign:
    """Evaluate ``formula`` on ``data`` for ``family``.

    Parameters
    ----------
    formula : str or Node
        lme4 formula, as text or as the tree of
        :func:`~glmmfast.formula._formula.parse_formula_tree`.
    data : DataFrame
        Never modified.
    family : Family
    weights, offset : array-like, optional
        Prior weights and an offset, one value per row of ``data``.
    random : bool
        True for mixed models (at least one bar required); False for GLMs
        (bars not allowed).
    na_action : {"omit", "raise"}
        ``"omit"`` drops rows with a missing value in a column the model uses
        (recorded in ``n_dropped`` and ``messages``); ``"raise"`` raises
        :class:`DataError` instead.
    contrasts : dict, optional
        Contrasts of fixed-effects factors, as R's ``contrasts`` argument
        (see :func:`glmmfast.formula._model_matrix.model_design`); stored for new data.
    zero_inflated : bool, default False
        Zeros come from a zero-inflation part (glmmTMB's ziformula): the
        family checks only the non-zero responses (a hurdle's truncated
        counts, ziGamma's positive values).
    dispersion_model : bool, default False
        The family parameter comes from a dispersion model (glmmTMB's
        dispformula): a gaussian identity model is then glmmTMB's, not an
        LMM, and lme4's LMM refusals of a grouping factor with as many
        levels as observations do not apply (glmmTMB's ``dispformula = ~0``
        with an observation-level term).

    Returns
    -------
    ModelDesign
    """
    if not isinstance(formula, (str, BinOp, UnaryOp)):
        raise FormulaError(f"formula must be a string, not {type(formula).__name__}")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if na_action not in _NA_ACTIONS:
        raise DataError(f"na_action must be one of {', '.join(map(repr, _NA_ACTIONS))}, not {na_action!r}")
    n_rows = len(data)
    if n_rows == 0:
        raise DataError("data has no rows")
    # The column names once (a tuple, and as text and a set below): pandas' string Index is slow to iterate
    # (and to list: remembered per columns Index, which a DataFrame keeps until its columns change).
    column_names = remembered(data.columns, _column_names)
    parsed = parse_formula(formula, data_columns=remembered(data.columns, _formula_columns))
    if not isinstance(formula, str):
        formula = deparse(formula)
    if parsed.response_expr is None:
        raise FormulaError(f"formula {formula!r} has no response (left-hand side)")
    if random and not parsed.random:
        raise FormulaError(f"no random-effects terms in {formula!r}; use glmmfast.glm for a model without them")
    if not random and parsed.random:
        raise FormulaError(f"glm formulas cannot have random-effects terms: {formula!r}")

    x_used, used = remembered(parsed, _formula_variables)
    missing = sorted(used - remembered(data.columns, _column_set))
    if missing:
        raise DataError(f"unknown column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} in formula")
    repeated = [] if data.columns.is_unique else \
        sorted({c for c in data.columns[data.columns.duplicated()] if c in used})
    if repeated:
        raise DataError(f"data has more than one column named {', '.join(map(repr, repeated))}: the formula's "
                        "variables must name columns uniquely")

    w_all = _as_vector(weights, n_rows, "weights")
    o_all = _as_vector(offset, n_rows, "offset")
    cols = [c for c in column_names if c in used]
    complete = complete_rows(data, cols)
    for arr in (w_all, o_all):
        if arr is not None:
            complete = complete & ~np.isnan(arr)  # to_numpy() may be read-only
    n_dropped = n_rows - int(np.count_nonzero(complete))
    if n_dropped == n_rows:
        raise DataError("no complete rows: every row has a missing value in a column the model uses")
    messages = []
    if parsed.response_dropped:
        messages.append("the response appeared on the right-hand side and was dropped")  # R's terms.formula
    if n_dropped:
        na_cols = [c for c in cols if data[c].isna().any()]
        na_cols += [nm for nm, arr in (("weights", w_all), ("offset", o_all)) if arr is not None and np.isnan(arr).any()]
        if na_action == "raise":
            raise DataError(f"{n_dropped} row{'s' if n_dropped > 1 else ''} with missing values in "
                            f"{', '.join(map(repr, na_cols))} (na_action='raise')")
        messages.append(f"{n_dropped} observation{'s' if n_dropped > 1 else ''} deleted due to missingness "
                        f"(in {', '.join(map(repr, na_cols))})")
    # Evaluation only reads columns, so complete data need no copy.
    all_complete = n_dropped == 0
    frame = data if all_complete else data.loc[complete, cols].reset_index(drop=True)
    n = n_rows - n_dropped  # len(frame), without pandas' __len__
    # Given weights and offsets are checked; the defaults (ones, zeros) need no check.
    if w_all is None:
        w = np.ones(n)
    else:
        w = w_all[complete]
        if not np.isfinite(w).all() or (w < 0).any():
            raise DataError("weights must be finite and non-negative")
        if not (w > 0).any():
            raise DataError("weights are all zero: no observation would count in the fit")
    off = np.zeros(n) if o_all is None else o_all[complete]
    if o_all is not None and not np.isfinite(off).all():
        raise DataError("offset must be finite")

    y, w, kind = _response_for_family(parsed.response_expr, frame, family, w, messages)
    if not np.isfinite(y).all():
        raise DataError("response has non-finite values")
    nonzero = y != 0 if zero_inflated else slice(None)
    family.check_response(y[nonzero], w[nonzero])

    fixed = model_design(parsed.fixed_expr, frame, contrasts)
    x_columns = [c for c in column_names if c in x_used]
    if fixed.offset is not None:
        off = off + fixed.offset
    X = np.asarray(fixed.X, dtype=float)
    x_names = list(fixed.names)
    check_extreme_scales(X, x_names)  # before aliasing: a column of 1e-300s has norm 0 there
    dropped = aliased_columns(X)
    if dropped:
        x_dropped = [x_names[j] for j in dropped]
        keep = [j for j in range(X.shape[1]) if j not in set(dropped)]
        X, x_names = X[:, keep], [x_names[j] for j in keep]
        messages.append(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} column"
                        f"{'s' if len(dropped) > 1 else ''} / coefficient{'s' if len(dropped) > 1 else ''} "
                        f"({', '.join(x_dropped)})")
    else:
        x_dropped = []
    terms = build_re_terms(parsed.random, frame) if random else []
    z_csc = None
    if random:
        # lFormula (lmer) and glFormula (glmer) differ in allow.n: the LMM
        # also estimates a residual variance.
        allow_n = dispersion_model or not (isinstance(family, Gaussian) and family.link == "identity")
        check_grouping_factors(terms, n, allow_n=allow_n,
                               binary_response=isinstance(family, Binomial) and bool(np.all(w == 1)))
        check_random_effects_count(terms, n, allow_n=allow_n)  # before Z: it may not fit in memory
        z_csc = random_effects_matrix(terms, n)
        # An LMM's criterion is equivariant in y's scale: only the GLMM families' PIRLS suffers.
        messages += scale_messages(X) + (response_scale_messages(y) if allow_n else []) + few_levels_messages(terms)
    return ModelDesign(
        formula=formula, parsed=parsed, family=family, y=y, weights=w, offset=off, offset_argument=o_all is not None,
        X=np.asfortranarray(X), x_names=x_names, x_spec=fixed.spec,
        terms=terms, z_csc=z_csc, rows=data.index if all_complete else data.index[complete], n_dropped=n_dropped, response_kind=kind,
        x_dropped=x_dropped, messages=messages,
        x_data={c: column_array(frame, c).copy() for c in x_columns},
    )
