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

from ._errors import DataError, FormulaError
from ._formula import ParsedFormula, parse_formula
from ._model_frame import evaluate_response, model_design, variables_in
from ._re_terms import ReTerm, build_re_terms, random_effects_matrix
from .families import Binomial, Family

__all__ = ["ModelDesign", "model_design_for", "dataset_name"]


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
    Z: sp.csc_matrix | None = field(repr=False)
    rows: pd.Index = field(repr=False)
    n_dropped: int = 0
    response_kind: str = "numeric"

    @property
    def n(self) -> int:
        return len(self.y)


def dataset_name(data: pd.DataFrame) -> str | None:
    """The name summaries print after ``Data:`` (``data.attrs["name"]``, set by ``datasets.load``)."""
    name = data.attrs.get("name")
    return name if isinstance(name, str) else None


def _as_vector(values, n_rows: int, what: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise DataError(f"{what} must be an array of numbers, not a string (use a column's values)")
    arr = np.asarray(values, dtype=float).reshape(-1) if not isinstance(values, pd.Series) else values.to_numpy(dtype=float)
    if arr.shape[0] != n_rows:
        raise DataError(f"{what} has length {arr.shape[0]} but the data have {n_rows} rows")
    return arr


def _response_for_family(expr: str, frame: pd.DataFrame, family: Family, weights: np.ndarray):
    """The engine's response and prior weights; binomial uses R's proportions-and-trials form."""
    resp = evaluate_response(expr, frame)
    vals = np.asarray(resp.values, dtype=float)
    if resp.kind == "cbind":
        if not isinstance(family, Binomial):
            raise DataError("cbind(successes, failures) responses need the binomial family")
        s, f = vals[:, 0], vals[:, 1]
        if np.any(s < 0) or np.any(f < 0):
            raise DataError("cbind(successes, failures) has negative counts")
        m = s + f
        y = np.divide(s, m, out=np.zeros_like(s), where=m > 0)
        return y, weights * m, resp.kind
    if resp.kind in ("factor", "bool") and not isinstance(family, Binomial):
        raise DataError(f"a {resp.kind} response needs the binomial family")
    if vals.ndim != 1:
        raise DataError(f"response {expr!r} must be a single column")
    return vals, weights, resp.kind


def model_design_for(
    formula: str,
    data: pd.DataFrame,
    family: Family,
    weights=None,
    offset=None,
    *,
    random: bool,
) -> ModelDesign:
    """Evaluate ``formula`` on ``data`` for ``family``.

    Parameters
    ----------
    formula : str
        lme4 formula.
    data : DataFrame
        Never modified.
    family : Family
    weights, offset : array-like, optional
        Prior weights and an offset, one value per row of ``data``.
    random : bool
        True for mixed models (at least one bar required); False for GLMs
        (bars not allowed).

    Returns
    -------
    ModelDesign
    """
    if not isinstance(formula, str):
        raise FormulaError(f"formula must be a string, not {type(formula).__name__}")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if len(data) == 0:
        raise DataError("data has no rows")
    parsed = parse_formula(formula)
    if parsed.response is None:
        raise FormulaError(f"formula {formula!r} has no response (left-hand side)")
    if random and not parsed.random:
        raise FormulaError(f"no random-effects terms in {formula!r}; use glmmfast.glm for a model without them")
    if not random and parsed.random:
        raise FormulaError(f"glm formulas cannot have random-effects terms: {formula!r}")

    used = set(variables_in(parsed.response)) | set(variables_in(parsed.fixed))
    for s in parsed.random:
        used |= set(variables_in(s.lhs)) | {p.strip() for p in s.group.split(":")}
    missing = sorted(v for v in used if v not in data.columns)
    if missing:
        raise DataError(f"unknown column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} in formula")

    n_rows = len(data)
    w_all = _as_vector(weights, n_rows, "weights")
    o_all = _as_vector(offset, n_rows, "offset")
    cols = [c for c in data.columns if c in used]
    complete = np.ones(n_rows, dtype=bool)
    for c in cols:
        complete &= data[c].notna().to_numpy()
    for arr in (w_all, o_all):
        if arr is not None:
            complete = complete & ~np.isnan(arr)  # to_numpy() may be read-only
    if not complete.any():
        raise DataError("no complete rows: every row has a missing value in a column the model uses")
    # Evaluation only reads columns, so complete data need no copy.
    frame = data if complete.all() else data.loc[complete, cols].reset_index(drop=True)
    w = np.ones(len(frame)) if w_all is None else w_all[complete]
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise DataError("weights must be finite and non-negative")
    off = np.zeros(len(frame)) if o_all is None else o_all[complete]
    if np.any(~np.isfinite(off)):
        raise DataError("offset must be finite")

    y, w, kind = _response_for_family(parsed.response, frame, family, w)
    if np.any(~np.isfinite(y)):
        raise DataError("response has non-finite values")
    family.check_response(y, w)

    fixed = model_design(parsed.fixed, frame)
    if fixed.offset is not None:
        off = off + fixed.offset
    terms = build_re_terms(parsed.random, frame) if random else []
    Z = random_effects_matrix(terms, len(frame)) if random else None
    return ModelDesign(
        formula=formula, parsed=parsed, family=family, y=y, weights=w, offset=off,
        X=np.asfortranarray(fixed.X, dtype=float), x_names=list(fixed.names), x_spec=fixed.spec,
        terms=terms, Z=Z, rows=data.index[complete], n_dropped=int((~complete).sum()), response_kind=kind,
    )
