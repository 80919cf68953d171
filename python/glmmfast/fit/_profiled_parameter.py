"""A family parameter estimated on the profile likelihood: an outer one-dimensional search around complete fits.

Holds :class:`ProfiledParameter` (the estimate, its variance on the
optimiser's scale and the profile's evaluations) and
:func:`fit_profiling_parameter` (the search).  The engine's optimiser
estimates family parameters with theta and beta on the log scale (the
dispersion, shapes such as the t's sigma and df); a parameter bounded on
both sides, the Tweedie power p in (1, 2), is estimated here: for each
trial value psi (p's optimiser coordinate,
``FamilyParameter.to_optimizer``: logit(p - 1)) the model is fitted
completely (theta, beta, the dispersion), giving the profile deviance

    D(psi) = min over (theta, beta, phi) of -2 log L(theta, beta, phi, p(psi)),

which Brent's method minimises.  Where the caller gives the profile's
slope at a fit, by the envelope theorem the partial derivative of -2 log L
in psi at the inner optimum,

    D'(psi) = d/dpsi -2 log L(x-hat(psi), psi)   (the inner gradient in x is 0 there),

the search finds the root of D' instead (Brent's root finder on a bracket
where D' changes sign from - to +), in fewer complete fits (8 instead of
12 on glmmTMB's tweedie case).  The maximum of the profile likelihood is
the joint maximum likelihood estimate, and the inverse of half the
profile's curvature is the parameter's asymptotic variance (the psi
diagonal element of the inverse of half the joint Hessian), estimated by a
central second difference at the optimum:

    Var(psi) = 2 / D''(psi),  D'' ~ (D(psi + h) - 2 D(psi) + D(psi - h)) / h^2.

The other parameters' covariance then gains psi's share: with x-hat(psi)
the inner fits' optimum (theta, beta, beta_zi, log phi: ``FitState.
optimizer_point``) and its slope b = d x-hat / d psi = -H_xx^-1 H_x,psi
(central differences of the same two fits),

    Cov(x) = Cov(x | psi) + b b' Var(psi),   Cov(x, psi) = b Var(psi),

the blocks of the inverse of the joint Hessian (its Schur complement in
psi), so standard errors are the joint model's, as glmmTMB's.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._family_parameter import FamilyParameter
from ._fit_state import FitState
from ._optimizer_info import StageClock

__all__ = ["ProfiledParameter", "fit_profiling_parameter"]

#: Brent's tolerance on the optimiser's scale (1e-4 in psi: the power to ~3e-5)
_PROFILE_XTOL = 1e-4
#: the second difference's step on the optimiser's scale
_CURVATURE_STEP = 0.05
#: the search stays within +-10 on the optimiser's scale (a Tweedie power within 5e-5 of 1 or 2)
_OPTIMIZER_LIMIT = 10.0


@dataclass(frozen=True)
class ProfiledParameter:
    """A family parameter estimated on the profile likelihood.

    Attributes
    ----------
    parameter : FamilyParameter
        At its estimate.
    variance : float
        Asymptotic variance on the optimiser's scale (NaN where the
        profile's curvature is not positive).
    evaluations : int
        Complete fits the search took.
    slope : ndarray
        d x-hat / d psi: the inner optimum's slope in the optimiser's
        coordinates of the state (``FitState.optimizer_point``).
    at_limit : bool
        The estimate is at the search's limit (no interior maximum).

    Examples
    --------
    >>> import numpy as np
    >>> from glmmfast.fit._family_parameter import power_parameter
    >>> p = ProfiledParameter(power_parameter(1.5), 0.01, 12, np.zeros(3))
    >>> round(p.standard_error, 6)
    0.025
    """

    parameter: FamilyParameter
    variance: float
    evaluations: int
    slope: np.ndarray
    at_limit: bool = False

    @property
    def message(self) -> str | None:
        """A convergence message where the estimate is at the search's limit, else None."""
        if not self.at_limit:
            return None
        return (f"the {self.parameter.name} went to its limit ({self.parameter.value:.6g}): the profile likelihood "
                "increases all the way towards its bound, so it has no interior maximum and no standard error")

    def joint_covariance(self, conditional: np.ndarray) -> np.ndarray:
        """The covariance of (x, psi) from ``conditional``, that of x with psi held (see the module docstring);
        psi's row and column NaN (and x's block ``conditional``) where psi has no variance."""
        b = np.asarray(self.slope, dtype=float)
        k = b.size
        out = np.full((k + 1, k + 1), np.nan)
        out[:k, :k] = conditional
        if np.isfinite(self.variance):
            out[:k, :k] += self.variance * np.outer(b, b)
            out[:k, k] = out[k, :k] = self.variance * b
            out[k, k] = self.variance
        return out

    @property
    def standard_error(self) -> float:
        """The standard error on the natural scale (delta method)."""
        return self.parameter.optimizer_derivative() * math.sqrt(self.variance)


def _bracket(deviance: Callable[[float], float], x0: float) -> tuple[float, float, float]:
    """Points xa < xb < xc with D(xb) below D(xa) and D(xc), walking downhill from x0 +- 0.5 in
    doubling steps, but not beyond +-_OPTIMIZER_LIMIT: where D still falls there the estimate is at
    that limit (returned as xa = xb = xc)."""
    xa, xb, xc = x0 - 0.5, x0, x0 + 0.5
    while True:
        fa, fb, fc = deviance(xa), deviance(xb), deviance(xc)
        if fb <= fa and fb <= fc:
            return xa, xb, xc
        if abs(xa) >= _OPTIMIZER_LIMIT or abs(xc) >= _OPTIMIZER_LIMIT:
            edge = xa if fa < fc else xc
            return edge, edge, edge
        if fa < fc:
            xa, xb, xc = max(xa - 2 * (xc - xa), -_OPTIMIZER_LIMIT), xa, xb
        else:
            xa, xb, xc = xb, xc, min(xc + 2 * (xc - xa), _OPTIMIZER_LIMIT)


def _bracket_root(slope: Callable[[float], float], x0: float) -> tuple[float, float] | None:
    """a < b with slope(a) <= 0 <= slope(b) (the profile's minimum between them), walking downhill from x0
    in doubling steps (0.5 first); None where the slope keeps its sign up to +-_OPTIMIZER_LIMIT."""
    s0 = slope(x0)
    if s0 == 0.0:
        return x0, x0
    direction = -1.0 if s0 > 0 else 1.0
    step, x = 0.5, x0
    while abs(x) < _OPTIMIZER_LIMIT:
        nxt = float(np.clip(x + direction * step, -_OPTIMIZER_LIMIT, _OPTIMIZER_LIMIT))
        if (slope(nxt) > 0) != (s0 > 0):
            return (x, nxt) if direction > 0 else (nxt, x)
        x, step = nxt, 2.0 * step
    return None


def fit_profiling_parameter(parameter: FamilyParameter, fit_at: Callable[[FamilyParameter], FitState],
                            slope_at: Callable[[FitState, FamilyParameter], float] | None = None) -> FitState:
    """Maximise the profile likelihood over ``parameter``, started at its value.

    Parameters
    ----------
    parameter : FamilyParameter
        The parameter (its optimiser scale, its start).
    fit_at : callable
        The complete fit with the parameter held at a value (returns a
        FitState, whose ``deviance`` is the profile deviance there).
    slope_at : callable, optional
        ``slope_at(state, parameter)``: the profile deviance's derivative in
        the optimiser's coordinate at the fit ``state`` (at ``parameter``);
        with it the search finds the slope's root (see the module docstring).

    Returns
    -------
    FitState
        The fit at the estimate, holding the :class:`ProfiledParameter`
        (``profiled_parameter``).
    """
    from scipy.optimize import brentq, minimize_scalar  # not at import time

    fits: dict[float, FitState] = {}
    clock = StageClock()

    def fit(x: float) -> FitState:
        x = float(x)
        if x not in fits:
            fits[x] = fit_at(parameter.with_value(parameter.from_optimizer(x)))
        return fits[x]

    def deviance(x: float) -> float:
        return fit(x).deviance

    def profile_slope(x: float) -> float:
        return slope_at(fit(x), parameter.with_value(parameter.from_optimizer(float(x))))

    if slope_at is not None:
        bracket = _bracket_root(profile_slope, parameter.to_optimizer())
        at_limit = bracket is None  # no interior maximum: no standard error (and a message)
        if bracket is not None and bracket[0] < bracket[1]:
            brentq(profile_slope, *bracket, xtol=_PROFILE_XTOL)
    else:
        xa, xb, xc = _bracket(deviance, parameter.to_optimizer())
        if xa < xb < xc:
            minimize_scalar(deviance, bracket=(xa, xb, xc), method="brent", options={"xtol": _PROFILE_XTOL})
        at_limit = not xa < xb < xc  # no interior maximum: no standard error (and a message)
    best = min(fits, key=lambda x: fits[x].deviance)
    h = _CURVATURE_STEP
    curvature = (deviance(best + h) - 2.0 * fits[best].deviance + deviance(best - h)) / (h * h)
    variance = 2.0 / curvature if curvature > 0 and not at_limit else math.nan
    slope = (fits[best + h].optimizer_point() - fits[best - h].optimizer_point()) / (2 * h)
    estimate = parameter.with_value(parameter.from_optimizer(best))
    profiled = ProfiledParameter(estimate, variance, len(fits), slope, at_limit)
    # The fit at the estimate keeps its own stages; the other fits on the profile are one stage before them.
    fit = fits[best]
    others = [f.info for x, f in fits.items() if x != best]
    info = dataclasses.replace(fit.info, stages=list(fit.info.stages), seconds=dict(fit.info.seconds))
    info.add_stage(f"{parameter.name} on the profile likelihood ({len(others)} other fits)", "family parameter",
                   clock, evaluations=sum(i.evaluations for i in others),
                   gradient_evaluations=sum(i.gradient_evaluations for i in others),
                   pirls_iterations=sum(i.pirls_iterations for i in others),
                   seconds=clock.seconds() - sum(s["seconds"] for s in fit.info.stages), first=True,
                   optimizer="brent")  # brentq on the profile's slope, or Brent's minimisation
    return dataclasses.replace(fit, profiled_parameter=profiled, info=info)
