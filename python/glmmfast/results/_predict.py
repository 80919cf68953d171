"""Predictions from a fitted GLMM, on the fitted or new data (lme4's predict.merMod).

Holds the pieces every post-fit computation on rows shares:

- :func:`select_terms` turns ``re_form`` (None: all random-effects terms;
  ``"~0"``, ``"NA"`` or NaN: none; a formula: a subset of the fit's bars)
  into a boolean per term;
- :func:`term_rows` encodes a term's rows (its model matrix and the level
  of each row) on the fitted data or on new data through the stored
  encodings, marking levels not seen in the fit;
- :func:`fixed_part` gives X beta + offset on new data
  (``_model_frame.apply_design`` with the fit's ``x_spec``);
- :func:`predict` combines them: eta = X beta + offset + sum_t Z_t b_t,
  with b = 0 for new levels (the population level, as lme4 does when
  ``allow.new.levels = TRUE``), and glmmTMB's types for its components:
  ``"zlink"``/``"zprob"`` the zero-inflation predictor and probability p,
  ``"conditional"`` the conditional part's mean (E(y | y > 0) for a
  truncated family), ``"response"`` (1 - p) times it, ``"disp"`` the family
  parameter (glmmTMB's sigma());
- :func:`zero_inflation_probability`: p on the fitted rows or new data;
- :func:`dispersion_predictor`: a dispersion model's betad on the fitted
  rows or new data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._arguments import check_choice
from ..design._design import ModelDesign
from .._errors import DataError, FormulaError
from ..formula._formula import parse_formula
from ..formula._model_frame import apply_design, grouping_factor
from ..design._re_terms import ReTerm

__all__ = ["select_terms", "TermRows", "term_rows", "fixed_part", "predict", "zero_inflation_probability",
           "dispersion_predictor", "PREDICT_TYPES"]

#: predict's types: lme4's two and glmmTMB's
PREDICT_TYPES = ("link", "response", "conditional", "zprob", "zlink", "disp")

_NONE_FORMS = ("~0", "~ 0", "NA", "~-1", "~ -1")


def select_terms(terms: list[ReTerm], re_form) -> np.ndarray:
    """Which random-effects terms ``re_form`` keeps (lme4's ``re.form``).

    Parameters
    ----------
    terms : list of ReTerm
        The fit's terms.
    re_form : None, str or float
        None: all terms; ``"~0"``, ``"NA"`` or NaN: none; a one-sided
        formula whose bars are a subset of the fit's, e.g. ``"~(1|LOCATION)"``.

    Returns
    -------
    ndarray of bool, one per term
    """
    if re_form is None:
        return np.ones(len(terms), dtype=bool)
    if isinstance(re_form, float) and np.isnan(re_form):
        return np.zeros(len(terms), dtype=bool)
    if not isinstance(re_form, str):
        raise FormulaError(f"re_form must be None, '~0' or a formula string, not {type(re_form).__name__}")
    text = re_form.strip()
    if text in _NONE_FORMS:
        return np.zeros(len(terms), dtype=bool)
    if not text.startswith("~"):
        raise FormulaError(f"re_form must be a one-sided formula such as '~(1 | g)', got {re_form!r}")
    parsed = parse_formula(text)
    keep = np.zeros(len(terms), dtype=bool)
    for spec in parsed.random:
        hits = [i for i, t in enumerate(terms) if t.group == spec.group and t.lhs == spec.lhs]
        if not hits:
            known = ", ".join(f"({t.lhs} | {t.group})" for t in terms)
            raise FormulaError(f"re_form term ({spec.lhs} | {spec.group}) is not a random-effects term of the "
                               f"model (its terms: {known})")
        keep[hits] = True
    return keep


@dataclass
class TermRows:
    """A random-effects term evaluated on some rows.

    Attributes
    ----------
    X : ndarray, shape (n, k)
        The term's model matrix on the rows.
    codes : ndarray of int, shape (n,)
        Index into the fit's levels; ``-1`` for a level the fit did not see.
    new_levels : list of str
        Labels of the unseen levels, in order of appearance.
    new_codes : ndarray of int, shape (n,)
        Index into ``new_levels`` for rows with ``codes == -1``, else -1.
    """

    X: np.ndarray
    codes: np.ndarray
    new_levels: list[str]
    new_codes: np.ndarray


def term_rows(term: ReTerm, newdata: pd.DataFrame | None, allow_new_levels: bool = False) -> TermRows:
    """Encode ``term`` on ``newdata`` (None: the fitted rows) with the fit's levels.

    Raises
    ------
    DataError
        A grouping level the fit did not see and ``allow_new_levels`` is False.
    """
    if newdata is None:
        n = term.codes.size
        return TermRows(term.X, term.codes, [], np.full(n, -1, dtype=np.int64))
    X = apply_design(term.spec, newdata).X
    codes_here, labels_here = grouping_factor(term.group, newdata)
    if np.any(codes_here < 0):
        raise DataError(f"grouping factor {term.group!r} has missing values in newdata "
                        f"(row {int(np.flatnonzero(codes_here < 0)[0])})")
    index = {lab: i for i, lab in enumerate(term.levels)}
    mapping = np.array([index.get(lab, -1) for lab in labels_here], dtype=np.int64)
    codes = mapping[codes_here] if codes_here.size else codes_here
    unseen = [lab for lab, m in zip(labels_here, mapping) if m < 0]
    if unseen and not allow_new_levels:
        raise DataError(f"new level{'s' if len(unseen) > 1 else ''} {', '.join(map(repr, unseen[:5]))} of grouping "
                        f"factor {term.group!r} not seen in the fit; pass allow_new_levels=True to predict "
                        "them at the population level")
    new_index = {lab: i for i, lab in enumerate(unseen)}
    here_to_new = np.array([new_index.get(lab, -1) for lab in labels_here], dtype=np.int64)
    new_codes = here_to_new[codes_here] if codes_here.size else codes_here
    return TermRows(np.asarray(X, dtype=float), codes, unseen, new_codes)


def _check_rows(newdata: pd.DataFrame, design: ModelDesign) -> None:
    if not isinstance(newdata, pd.DataFrame):
        raise DataError(f"newdata must be a pandas DataFrame, not {type(newdata).__name__}")
    if len(newdata) == 0:
        raise DataError("newdata has no rows")


def fixed_part(design: ModelDesign, beta: np.ndarray, newdata: pd.DataFrame | None,
               offset=None) -> np.ndarray:
    """X beta + offset on the fitted rows (None) or on ``newdata``.

    On new data the offset is the formula's ``offset()`` terms plus
    ``offset`` (one value per row of ``newdata``).  A fit with an ``offset=``
    argument needs ``offset`` here: its values belonged to the fitted rows,
    and leaving them out would shift every prediction silently.
    """
    if newdata is None:
        if offset is not None:
            raise DataError("offset= is for new data; the fitted rows keep the fit's offset")
        return design.X @ beta + design.offset
    _check_rows(newdata, design)
    if offset is None and design.offset_argument:
        raise DataError("the model was fitted with an offset= argument: pass offset= with one value per row of "
                        "newdata (or put the offset in the formula as offset(...))")
    d = apply_design(design.x_spec, newdata)
    # The encoding rebuilds every column; the fit dropped the aliased ones.
    dropped = set(design.x_dropped)
    eta = d.X[:, [j for j, name in enumerate(d.names) if name not in dropped]] @ beta
    if d.offset is not None:
        eta = eta + d.offset
    if offset is not None:
        off = np.asarray(offset, dtype=float).reshape(-1)
        if off.shape != (len(newdata),) or not np.all(np.isfinite(off)):
            raise DataError(f"offset must be {len(newdata)} finite numbers (one per row of newdata)")
        eta = eta + off
    return eta


def random_part(terms: list[ReTerm], b_blocks: list[np.ndarray], keep: np.ndarray,
                newdata: pd.DataFrame | None, allow_new_levels: bool) -> np.ndarray:
    """sum over kept terms of Z_t b_t on the rows; b = 0 for unseen levels.

    ``b_blocks[t]`` has shape ``(nlevels_t, k_t)``.
    """
    out = None
    for t, b, k in zip(terms, b_blocks, keep):
        if not k:
            continue
        rows = term_rows(t, newdata, allow_new_levels)
        seen = rows.codes >= 0
        contrib = np.zeros(rows.codes.size)
        contrib[seen] = np.einsum("ij,ij->i", rows.X[seen], b[rows.codes[seen]])
        out = contrib if out is None else out + contrib
    return out


def _zero_inflation_link(result, newdata: pd.DataFrame | None) -> np.ndarray | None:
    """The zero-inflation linear predictor on the rows (None without a ziformula)."""
    if result.fixef_zi is None:
        return None
    return fixed_part(result._design.zi, result.fixef_zi.to_numpy(), newdata)


def zero_inflation_probability(result, newdata: pd.DataFrame | None = None) -> np.ndarray:
    """p = logistic(X_zi beta_zi + offset_zi) on the fitted rows or ``newdata`` (zeros without a ziformula)."""
    zlink = _zero_inflation_link(result, newdata)
    if zlink is None:
        n = result._design.n if newdata is None else len(newdata)
        return np.zeros(n)
    return 0.5 * (1.0 + np.tanh(0.5 * zlink))  # the logistic function without overflow


def _disp_value(result) -> float:
    """glmmTMB's sigma(): theta (nbinom2), phi (nbinom1), sigma (gaussian; sqrt(phi) otherwise), 1 without."""
    params = getattr(result, "family_parameters", None)
    if params is None or "dispersion" in params:  # an LMM's residual SD, or the dispersion families' sqrt(phi)
        return float(result.sigma)
    return float(next(iter(params.values()))) if params else 1.0


def dispersion_predictor(result, newdata: pd.DataFrame | None) -> np.ndarray:
    """The dispersion model's predictor betad = X_d beta_d + offset_d on the fitted rows or ``newdata``."""
    design = result._design
    if design.disp.x_spec is None:  # "~0": the fixed offset only
        n = design.n if newdata is None else len(newdata)
        return np.full(n, design.disp.offset[0])
    return fixed_part(design.disp, result.fixef_disp.to_numpy(), newdata)


def _dispersion_model_value(result, newdata: pd.DataFrame | None) -> np.ndarray:
    """glmmTMB's sigma per observation from the dispersion model's predictor betad (``X_d beta_d + offset_d``):
    sqrt(exp(betad)) for the gaussian (betad is log sigma^2), exp(-betad / 2) for the Gamma (betad is log shape,
    sigma = 1 / sqrt(shape)), exp(betad) for the others."""
    betad = dispersion_predictor(result, newdata)
    name = result.family.name
    if name == "gaussian":
        return np.exp(0.5 * betad)
    if name == "Gamma":
        return np.exp(-0.5 * betad)
    return np.exp(betad)


def predict(result, newdata: pd.DataFrame | None = None, type: str = "link", re_form=None,
            allow_new_levels: bool = False, offset=None) -> np.ndarray:
    """Predictions of a fitted GLMM (see :meth:`GlmerResult.predict`)."""
    check_choice("type", type, PREDICT_TYPES)
    design = result._design
    keep = select_terms(design.terms, re_form)
    if newdata is not None:
        _check_rows(newdata, design)
    n = design.n if newdata is None else len(newdata)
    if type == "zlink":
        zlink = _zero_inflation_link(result, newdata)
        return np.full(n, -np.inf) if zlink is None else zlink
    if type == "zprob":
        return zero_inflation_probability(result, newdata)
    if type == "disp":
        if result.fixef_disp is not None:
            return _dispersion_model_value(result, newdata)
        return np.full(n, _disp_value(result))
    eta = fixed_part(design, result.fixef.to_numpy(), newdata, offset)
    if keep.any():
        blocks = [modes for _, modes, _ in result._ranef_parts()]
        eta = eta + random_part(design.terms, blocks, keep, newdata, allow_new_levels)
    if type == "link":
        return eta
    mu = np.asarray(result.family.linkinv(eta), dtype=float)
    if type == "response" and result.fixef_zi is None and not result.family.zero_truncated:
        return mu  # lme4's response (for the Gamma too: its zeros need a ziformula)
    conditional = result.family.conditional_mean(mu)
    if type == "conditional":
        return conditional
    return (1.0 - zero_inflation_probability(result, newdata)) * conditional
