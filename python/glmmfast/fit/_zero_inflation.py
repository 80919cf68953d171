"""glmmTMB's model components on top of glmer: zero inflation, hurdles and family names.

(The dispersion formula is :mod:`glmmfast.fit._dispersion_model`.)

Holds what :func:`glmmfast.glmer` needs beyond lme4's arguments:

- :func:`tmb_family`: a family given by glmmTMB's name (``"nbinom2"``,
  ``"nbinom1"``, ``"truncated_poisson"``, ``"truncated_nbinom2"``, ``"truncated_nbinom1"``, ``"genpois"``,
  ``"compois"``, ``"ziGamma"``) or object, with the family parameter the fit estimates (the NB2 shape
  theta, the phi of NB1, genpois and compois) and its start;
- :func:`zero_inflation_design`: the design with its ``ziformula``
  component (:mod:`glmmfast.design._component_design`), and the checks of
  what a family can take (no zero inflation for the gaussian; a
  truncated family's zeros need a ziformula).  binomial and betabinomial
  take one as glmmTMB: a row is no successes with probability p, else a
  draw of its trials (the mixture is over the whole count, the trials
  inside the density: ``weight_roles`` in ``cpp/src/family/family.hpp``);
- :func:`zero_inflation_start`: beta_zi's start (a hurdle's zero part by
  its logistic regression, glmmTMB's 0 otherwise);
- :func:`separable_zero_part_hessian`: where the zero part's likelihood
  separates from the rest (a family without zeros of its own, no random
  effects in the ziformula), its exact Hessian in beta_zi, which the
  optimiser's start Hessians take instead of differences of the gradient
  (``fit/_optimize.py``); :func:`zero_part_information` the same
  logistic information, elsewhere an upper bound on the zero part's
  curvature (stage 1's start Hessian takes it);
- :func:`zero_part_tail`: the zero part's rows for the joint stage, which
  holds coefficients diverging to -inf out of its search
  (:mod:`~glmmfast.fit._zero_part_tail`); :func:`diverging_zero_part`: those
  coefficients at an estimate (their standard errors are not defined), and
  :func:`diverging_zero_part_message`, the message naming them (their
  cells' zero probability 0, where the likelihood is flat).

The engine's side is ``cpp/src/model/observation_model.cpp`` and
``cpp/src/family/zero_inflation.hpp`` (the mixture's log density and exact
eta derivatives); the optimiser treats beta_zi as extra coordinates
(``cpp/src/optim/objective.hpp``), with the exact gradient in them
(``cpp/src/model/observation_gradient.cpp``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd

from .._errors import FamilyError
from ..design._component_design import component_design_for
from ..design._design import ModelDesign
from .. import _core
from ..families import (Beta, Binomial, Family, Gamma, NegativeBinomial, StudentT, TruncatedNBinom2, Tweedie,
                        _PhiFamily, get_family)
from ._zero_part_tail import DIVERGED_ZERO_PART_ETA, ZeroPartTail, diverging_columns

__all__ = ["tmb_family", "has_zero_inflation", "check_zero_inflation_family", "zero_inflation_design",
           "zero_inflation_start", "count_part_start_design", "separable_zero_part_hessian",
           "zero_part_information", "zero_part_tail", "diverging_zero_part", "diverging_zero_part_message",
           "DIVERGED_ZERO_PART_ETA"]

#: families refused with a ziformula
_NO_ZERO_INFLATION = ("gaussian",)
#: glmmTMB's names of the families whose parameter glmer estimates, and the family at a placeholder start
#: (the families holding phi are taken by their own names through get_family)
_ESTIMATED = {"nbinom2": lambda link: NegativeBinomial(1.0, link),
              "truncated_nbinom2": lambda link: TruncatedNBinom2(1.0, link),
              "beta_family": lambda link: Beta(1.0, link),
              "t": lambda link: StudentT(None, 1.0, link), "t_family": lambda link: StudentT(None, 1.0, link),
              "tweedie": lambda link: Tweedie(1.5, link)}
#: family objects whose parameter glmer estimates, started at the object's value
_ESTIMATED_CLASSES = (_PhiFamily, StudentT)


def tmb_family(family: str | Family, link: str | None = None) -> tuple[Family, bool]:
    """The family for glmmTMB's name or object, and whether its parameter is estimated by the fit.

    ``"nbinom2"`` (the negative binomial NB2) and ``"truncated_nbinom2"``
    estimate theta; the families holding a shape phi (``"nbinom1"``,
    ``"truncated_nbinom1"``, ``"genpois"``, ``"compois"``, ``"beta"``,
    ``"betabinomial"``) estimate phi and ``"t"`` its sigma (and df); so do
    those family objects, started at their value; ``"ziGamma"`` is the Gamma
    (its zeros come from the ziformula); other names and objects go through
    :func:`glmmfast.families.get_family` (their parameters as given).
    """
    if isinstance(family, str):
        name = family.lower()
        if name in _ESTIMATED:
            return _ESTIMATED[name](link), True
        if name == "zigamma":
            return Gamma(link=link), False
    family = get_family(family, link)
    return family, isinstance(family, _ESTIMATED_CLASSES)


def has_zero_inflation(ziformula: str | None) -> bool:
    """Whether ``ziformula`` asks for a zero part (None and ``"~0"`` do not, as glmmTMB's default)."""
    return ziformula is not None and not (isinstance(ziformula, str) and ziformula.replace(" ", "") == "~0")


def check_zero_inflation_family(ziformula: str | None, family: Family) -> None:
    """FamilyError for a ziformula with the gaussian family (not supported)."""
    if has_zero_inflation(ziformula) and family.name in _NO_ZERO_INFLATION:
        raise FamilyError(f"zero inflation (ziformula) is not supported for the {family.name} family")


def zero_inflation_design(design: ModelDesign, ziformula: str | None, data: pd.DataFrame,
                          contrasts: dict | None) -> ModelDesign:
    """``design`` with its ``ziformula`` component (or as it is, for None / ``"~0"``).

    Raises
    ------
    FamilyError
        A ziformula for the gaussian family (not supported).
    DataError
        A truncated family's zero counts without a ziformula
        (:meth:`~glmmfast.families.TruncatedPoisson.check_response`, run by
        the design when there is no zero part).
    """
    if not has_zero_inflation(ziformula):
        return design
    check_zero_inflation_family(ziformula, design.family)
    zi = component_design_for(ziformula, "ziformula", data, design.rows, contrasts)
    return dataclasses.replace(design, zi=zi)


def count_part_start_design(design: ModelDesign) -> ModelDesign:
    """The design the GLM start is fitted to: for a family with no zeros (hurdle, ziGamma) its zeros
    get weight 0 (and a placeholder response, the positive responses' mean), so the start describes
    the positive part; other designs as they are."""
    if design.zi is None or not design.family.zero_truncated:
        return design
    zero = design.y == 0
    if not zero.any():
        return design
    y = np.where(zero, float(np.mean(design.y[~zero])), design.y)
    return dataclasses.replace(design, y=y, weights=np.where(zero, 0.0, design.weights))


def zero_inflation_start(design: ModelDesign, mu_start: np.ndarray | None = None) -> np.ndarray:
    """beta_zi's start (``mu_start``, the GLM start's means, is not needed by either rule).

    - A family without zeros of its own (a hurdle's truncated counts,
      ziGamma): every zero is structural, and with no random effects in the
      zero part its likelihood is the logistic regression of 1[y = 0] on
      X_zi, separate from the count part's.  Its IRLS fit is the zero part's
      estimate, so the start is that fit (the logit of the zeros' share
      where X_zi is an intercept).
    - A family with zeros of its own: 0 (p = 1/2), glmmTMB's start.  The
      zeros are then shared between the mixture and the family (its
      dispersion), and the likelihood can have a mode for each way of
      sharing them; from p = 1/2 the fit reaches glmmTMB's mode on every
      reference case, where a start at the zeros' share a Poisson leaves
      unexplained (0.16 on Salamanders) ended genpois's fit on the other
      mode (zero part switched off, 6.6 above in -2 log L).
    """
    k = design.zi.X.shape[1]
    if not design.family.zero_truncated:
        return np.zeros(k)
    structural = (design.y == 0).astype(float)
    fit = _core.glm_irls(np.asfortranarray(design.zi.X, dtype=float), structural, design.weights,
                         np.asarray(design.zi.offset, dtype=float), Binomial().engine)
    beta = np.asarray(fit["beta"], dtype=float)
    if np.all(np.isfinite(beta)):
        return beta
    # Separation (no zeros, or only zeros, in some cell): the logit of the overall share as the intercept.
    p = float(np.clip(np.average(structural, weights=design.weights), 0.02, 0.98))
    target = np.full(design.n, np.log(p / (1 - p))) - design.zi.offset
    return np.linalg.lstsq(design.zi.X, target, rcond=None)[0]


def zero_part_information(design: ModelDesign) -> Callable[[np.ndarray], np.ndarray] | None:
    """The zero part's logistic-regression information in beta_zi, as a function of beta_zi,
    2 X_zi' diag(w p (1 - p)) X_zi with p = logistic(offset_zi + X_zi beta_zi) (on the scale of -2 log L);
    None without a zero part or with random effects in it.

    For a separable zero part (:func:`separable_zero_part_hessian`) it is
    the exact Hessian of -2 log L in beta_zi.  Otherwise it is the zero
    part's complete-data information (EM's), an upper bound on the
    observed one: with pi = P(structural zero | y) the mixture's
    -d^2 log f_ZI / d eta_zi^2 is p (1 - p) - pi (1 - pi)
    (``cpp/src/family/zero_inflation.hpp``: d log f_ZI / d eta_zi = pi - p).
    """
    if design.zi is None or design.zi.random:
        return None
    X = np.asarray(design.zi.X, dtype=float)
    offset = np.asarray(design.zi.offset, dtype=float)
    weights = np.asarray(design.weights, dtype=float)

    def information(beta_zi: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(offset + X @ np.asarray(beta_zi, dtype=float))))
        return 2.0 * (X.T * (weights * p * (1.0 - p))) @ X

    return information


def separable_zero_part_hessian(design: ModelDesign) -> Callable[[np.ndarray], np.ndarray] | None:
    """The exact Hessian of -2 log L in beta_zi, as a function of beta_zi, where the zero part separates
    from the rest of the likelihood; None where it does not.

    With a family that has no zeros of its own (a hurdle's truncated counts,
    ziGamma) every zero is structural: log f_ZI(y) is log p at y = 0 and
    log(1 - p) + log f(y) above (``cpp/src/family/zero_inflation.hpp``), so
    with no random effects in the zero part the (Laplace) log likelihood is
    the logistic regression's sum w [z log p + (1 - z) log(1 - p)], z = 1[y = 0],
    plus a term free of beta_zi.  The Hessian of -2 log L in beta_zi is then
    that regression's information (:func:`zero_part_information`), and its
    cross terms with theta, beta, the dispersion model and the family
    parameter are exactly 0.
    """
    return zero_part_information(design) if design.family.zero_truncated else None


def zero_part_tail(design: ModelDesign) -> ZeroPartTail | None:
    """The zero part's rows for holding diverging coefficients out of the joint stage's search
    (:class:`~glmmfast.fit._zero_part_tail.ZeroPartTail`); None without a zero part or with random effects
    in it."""
    if design.zi is None or design.zi.random:
        return None
    return ZeroPartTail(design.zi.X, design.zi.offset, design.weights, np.asarray(design.y) != 0)


def diverging_zero_part(design: ModelDesign, beta_zi: np.ndarray | None) -> np.ndarray:
    """Indices of the zero-inflation coefficients diverging to -inf at ``beta_zi``
    (:func:`~glmmfast.fit._zero_part_tail.diverging_columns`); empty without a zero part."""
    if design.zi is None or beta_zi is None or len(beta_zi) == 0:
        return np.arange(0)
    return diverging_columns(design.zi.X, design.zi.offset, design.weights, beta_zi)


def diverging_zero_part_message(design: ModelDesign, beta_zi: np.ndarray | None) -> str | None:
    """A message naming the zero-inflation coefficients walking to -inf at ``beta_zi``, or None.

    A coefficient diverges when it is negative and every row with its
    column nonzero has eta_zi = offset_zi + X_zi beta_zi below
    :data:`DIVERGED_ZERO_PART_ETA` (:func:`diverging_zero_part`): the zero probability of its cells is 0
    to working precision, the likelihood's slope in it, sum w (pi - p) x, is
    ~p, and its maximum lies at -inf (Salamanders' ZI generalised Poisson:
    sppPR, sppDF and minedno, where glmmTMB reports the finite values its
    optimiser stopped at).  The joint stage holds such coefficients where what
    -2 log L could still gain is below its tolerance (``fit/_zero_part_tail.py``):
    their estimates are where they were held, their standard errors not defined
    (NaN); the other coefficients and -2 log L are unaffected.
    """
    if design.zi is None:  # (no zero part: nothing to look for)
        return None
    diverging = [design.zi.x_names[k] for k in diverging_zero_part(design, beta_zi)]
    if not diverging:
        return None
    return (f"zero-inflation coefficients diverging to -Inf: {', '.join(diverging)} (the zero probability of their "
            "rows is 0; they are held at that limit, and their standard errors are not defined)")
