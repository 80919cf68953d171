"""Confidence intervals for a fitted GLMM (lme4's confint.merMod).

Holds :func:`confint` with three methods, rows named as lme4 names them
(``.sig01``, ... for the random-effect standard deviations, then the fixed
effects), columns ``"2.5 %"`` and ``"97.5 %"`` for level 0.95:

- ``"Wald"``: beta-hat +- z se for the fixed effects; NaN for variance
  parameters (as lme4); for the models only glmmTMB fits, also glmmTMB's
  rows for the zero-inflation coefficients (``zi.<name>``), the
  dispersion model's (``disp.<name>``, a ``dispformula`` with covariates)
  and the family parameter (``sigma``, Wald on the log scale; the Tweedie
  ``power`` on logit(p - 1)), :mod:`glmmfast.results._tmb_parameters`;
- ``"profile"`` (for the models only glmmTMB fits also over the
  zero-inflation and dispersion-model coefficients and sigma, whose
  interval comes from the profile of its log-scale coordinate, a Tweedie
  power's from its logit(p - 1) one; with random effects in the ziformula over
  both components' standard deviations and coefficients, the deviance the
  joint Laplace approximation over both components' random effects, as
  glmmTMB's): where the signed square root of the profiled deviance,
  zeta(v) = sign(v - v-hat) sqrt(d(v) - d-hat), crosses +-z.  d(v) is the
  fit's deviance (Laplace, or AGQ with nAGQ > 1) minimised over all other parameters (theta, beta) with
  the profiled one held at v (lme4's profile.merMod), and the crossing is
  found by bracketing and Brent's method rather than lme4's spline
  interpolation of a grid.  Variance parameters are profiled on lme4's
  scale, standard deviations and correlations (theta = chol(D R D)); a
  standard deviation whose zeta at 0 stays above -z gets the limit 0, a
  correlation whose zeta at +-1 stays inside gets +-1;
- ``"boot"``: percentile intervals (R's quantile type 7) of a parametric
  bootstrap (:func:`~glmmfast.results._bootstrap.bootstrap`); failed refits are
  left out and counted in ``attrs["n_failed"]``.

A result class offers the profile its deviance through
:func:`profile_target` (a :class:`ProfileTarget`: -2 log L in (theta, the
other outer coordinates), its estimates and Hessian); the profiler itself
knows no engine.  glmmTMB's REML fit of a dispersion model (beta
integrated out) has Wald and bootstrap intervals only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..fit._agq import joint_deviance
from ..fit._fit_state import joint_objective
from ..fit._zi_random_effects import state_deviance
from .._arguments import check_choice, check_level
from .._errors import ArgumentError
from ..results._bootstrap import BootstrapResult, bootstrap, default_statistic_names
from ..fit._objective import function_objective
from ..fit._optimize import OptimizerInfo, _bobyqa
from ..design._re_terms import sdcor_bounds, sdcor_from_theta, theta_from_sdcor
from ..results._tmb_parameters import family_parameter_rows, tmb_parameter_names
from ..results._zi_random_effects_result import ZiRandomEffectsResult

__all__ = ["confint", "ProfileTarget", "profile_target"]

_METHODS = ("Wald", "profile", "boot")


def _columns(level: float) -> list[str]:
    a = (1 - level) / 2
    return [f"{100 * a:.3g} %", f"{100 * (1 - a):.3g} %"]


def _wald(result, level: float) -> pd.DataFrame:
    z = stats.norm.ppf(1 - (1 - level) / 2)
    names = default_statistic_names(result._design)
    nt = len(names) - result.fixef.size
    lo = np.concatenate([np.full(nt, np.nan), result.fixef.to_numpy() - z * result.se.to_numpy()])
    hi = np.concatenate([np.full(nt, np.nan), result.fixef.to_numpy() + z * result.se.to_numpy()])
    out = pd.DataFrame({c: v for c, v in zip(_columns(level), (lo, hi))}, index=names)
    if result.glmmtmb_model:
        out = pd.concat([out, _wald_tmb_parameters(result, z, _columns(level))])
    return out


def _wald_tmb_parameters(result, z: float, columns: list[str]) -> pd.DataFrame:
    """glmmTMB's Wald rows beyond the conditional model: zi.<name> (estimate +- z se); sigma and the
    Tweedie power on their optimiser scales (log sigma = k log value; logit(p - 1)), transformed back."""
    state = result._state
    lo, hi = [], []
    for component, coefficients in (("zi", state.beta_zi), ("disp", state.beta_disp)):
        if coefficients is not None and len(coefficients):
            table = result.coef_table(component)
            lo += list(table["Estimate"] - z * table["Std. Error"])
            hi += list(table["Estimate"] + z * table["Std. Error"])
    for parameter, var, k in _transformed_parameters(result):
        x, half = parameter.to_optimizer(), z * np.sqrt(var)
        lo.append(parameter.from_optimizer(x - half) ** k)
        hi.append(parameter.from_optimizer(x + half) ** k)
    return pd.DataFrame({columns[0]: lo, columns[1]: hi}, index=tmb_parameter_names(state, dispersion_model=True))


def _transformed_parameters(result) -> list[tuple]:
    """(FamilyParameter, variance on its optimiser scale, power k giving the row's value) per family parameter row."""
    state = result._state
    if state.family_parameter is None:
        return []
    full = result.vcov_full
    return [(p, float(full.loc[c, c]), k)
            for (_, p, k), c in zip(family_parameter_rows(state), state.family_parameter.coordinate_names)]


def _boot(result, level: float, nsim: int = 500, seed=None, n_jobs: int = -1, executor=None,
          progress: bool = True, boot: BootstrapResult | None = None) -> pd.DataFrame:
    if boot is None:
        boot = bootstrap(result, nsim, None, seed, n_jobs, executor, progress)
    a = (1 - level) / 2
    reps = boot.replicates.to_numpy()
    q = np.nanquantile(reps, [a, 1 - a], axis=0)
    out = pd.DataFrame(q.T, index=boot.replicates.columns, columns=_columns(level))
    out.attrs["n_failed"] = boot.n_failed
    out.attrs["bootstrap"] = boot
    return out


@dataclass
class ProfileTarget:
    """What a profile needs of a fit: its -2 log L in (theta, rest) and where that is least.

    Attributes
    ----------
    devfun : callable
        ``devfun(theta, rest)``: -2 log L (the fit's approximation) at theta and the remaining outer
        coordinates ``rest`` (beta, then the glmmTMB coordinates: beta_zi, beta_disp, the family
        parameter on its optimiser scale), the random effects at their modes.
    reset : callable
        Puts the conditional modes back at 0 (after a failed evaluation).
    terms : list of ReTerm
        The random-effects terms theta belongs to, in theta's order.
    theta, rest : ndarray
        The estimates.
    deviance : float
        -2 log L at the estimates.
    hessian : ndarray or None
        The Hessian of -2 log L in (theta, rest) at the estimates (the profile's step sizes).
    """

    devfun: Callable[[np.ndarray, np.ndarray], float]
    reset: Callable[[], None]
    terms: list
    theta: np.ndarray
    rest: np.ndarray
    deviance: float
    hessian: np.ndarray | None


def _glmer_target(result) -> ProfileTarget:
    """The profile target of a :class:`~glmmfast.GlmerResult`: its engine's Laplace (or AGQ) deviance."""
    if result.nAGQ == 0:
        raise ValueError("profile intervals need a fit of the likelihood (nAGQ >= 1), not the nAGQ = 0 fast fit")
    state = result._state
    if state.integrated_beta:
        raise ArgumentError("profile intervals of glmmTMB's REML fit of a dispersion model (beta integrated out) "
                            "are not supported yet: use method='Wald' or method='boot'")
    model = result._engine()
    # The models only glmmTMB fits: the zero-inflation and dispersion-model coefficients and the family
    # parameter (on its optimiser scale) are coordinates too, profiled and minimised over like beta.
    if result.glmmtmb_model:
        objective = joint_objective(model, state.family_parameter, result.nAGQ)
        devfun = lambda theta, x: objective.evaluate(np.concatenate([theta, x]))  # noqa: E731
        rest = state.optimizer_point()[result.theta.size:]
    else:
        devfun, rest = joint_deviance(model, result.nAGQ), result.fixef.to_numpy()
    result.vcov  # computes optinfo.hessian on first use
    zeros_u = np.zeros(model.q)
    return ProfileTarget(devfun, lambda: model.set_u(zeros_u), result._design.terms, np.asarray(result.theta),
                         np.asarray(rest, dtype=float), state.deviance, result.optinfo.hessian)


def _zi_random_effects_target(result) -> ProfileTarget:
    """The profile target of a :class:`~glmmfast.results._zi_random_effects_result.ZiRandomEffectsResult`: the
    joint Laplace deviance over both components' random effects, in x = (theta, beta, beta_zi, beta_disp, the
    family parameter on its optimiser scale), theta the conditional terms' then the zero-inflation terms'."""
    state, design = result._state, result._design
    model, deviance = state_deviance(state)
    rest = state.optimizer_point()[state.theta.size:]
    zeros_u = np.zeros(model.q)
    return ProfileTarget(lambda theta, x: deviance(np.concatenate([theta, x])), lambda: model.set_u(zeros_u),
                         design.terms + design.zi.terms, np.asarray(state.theta), rest, state.deviance,
                         state.hessian)


def profile_target(result) -> ProfileTarget:
    """The :class:`ProfileTarget` of a fitted GLMM (either result class)."""
    return _zi_random_effects_target(result) if isinstance(result, ZiRandomEffectsResult) else _glmer_target(result)


class _Profiler:
    """The deviance minimised with one parameter held fixed.

    Coordinates are lme4's: the random effects' standard deviations and
    correlations (in theta's positions, :func:`sdcor_from_theta`), then the
    target's remaining coordinates (beta, ...).  For a scalar term the
    standard deviation is theta itself.
    """

    def __init__(self, target: ProfileTarget):
        self.terms = target.terms
        self.devfun, self.reset = target.devfun, target.reset
        sdcor = sdcor_from_theta(self.terms, target.theta)
        self.nt = sdcor.size
        self.x_hat = np.concatenate([sdcor, target.rest])
        self.d_hat = target.deviance  # the complete -2 log L, as devfun gives it
        nb = self.x_hat.size - self.nt
        lower, upper = sdcor_bounds(self.terms)
        self.lower = np.concatenate([lower, np.full(nb, -np.inf)])
        self.upper = np.concatenate([upper, np.full(nb, np.inf)])
        # Scales: standard errors from the Hessian of the deviance in (theta, rest)
        # (Cov = 2 H^-1); theta's are those of the standard deviations of scalar terms only.
        with np.errstate(invalid="ignore"):
            try:
                se = np.sqrt(np.diag(2 * np.linalg.inv(target.hessian)))
            except (np.linalg.LinAlgError, ValueError):
                se = np.full(self.x_hat.size, np.nan)
        scalar = np.array([t.structure.scalar() for t in self.terms for _ in range(t.nparams)], dtype=bool)
        se[:self.nt][~scalar] = np.nan
        fallback = 0.1 * np.abs(self.x_hat) + 0.1
        self.se = np.where(np.isfinite(se) & (se > 0), se, fallback)
        self.info = OptimizerInfo()
        self.start: dict[int, np.ndarray] = {}

    def _dev(self, x: np.ndarray) -> float:
        theta = theta_from_sdcor(self.terms, x[:self.nt])
        if theta is None or np.any(x > self.upper):
            return np.inf  # correlations outside [-1, 1] or not positive semi-definite
        return self.devfun(theta, x[self.nt:])

    def deviance(self, j: int, v: float) -> float:
        """min over the other coordinates of the deviance with x_j = v."""
        idx = np.arange(self.x_hat.size)
        free = idx != j
        x0 = self.start.get(j, self.x_hat)
        base = x0.copy()
        scale = np.where(idx < self.nt, 1.0, self.se)[free]

        def full(z):
            x = base.copy()
            x[free] = z * scale
            x[j] = v
            return x

        obj = function_objective(lambda z: self._dev(full(z)), int(free.sum()), self.reset)
        z0 = x0[free] / scale
        step = np.where(idx < self.nt, 0.05, 0.5)[free]
        if z0.size:
            z, dev, _ = _bobyqa(obj, z0, self.lower[free] / scale, step, 1e-10, 1e-8, 100000)
        else:
            z, dev = z0, obj(z0)
        self.info.evaluations += obj.evaluations
        self.info.pirls_failures += obj.failures
        self.start[j] = full(z)
        return dev

    def zeta(self, j: int, v: float) -> float:
        d = self.deviance(j, v)
        return np.sign(v - self.x_hat[j]) * np.sqrt(max(0.0, d - self.d_hat))

    def limit(self, j: int, side: int, z: float) -> float:
        """The v on ``side`` (-1 or +1) of the estimate where zeta(v) = side * z.

        Returns the bound itself (0 for a standard deviation, +-1 for a
        correlation) when zeta there has not reached +-z.
        """
        est = self.x_hat[j]
        bound = self.lower[j] if side < 0 else self.upper[j]
        self.start.pop(j, None)
        target = side * z
        prev, v = est, est + side * z * self.se[j]
        for _ in range(30):
            if side * (v - bound) >= 0:
                v = bound
                if abs(self.zeta(j, v)) < z:
                    return v  # the bound is inside the interval
                break
            if abs(self.zeta(j, v)) >= z:
                break
            prev, v = v, est + 2 * (v - est)
        else:
            return np.nan
        return optimize.brentq(lambda t: self.zeta(j, t) - target, min(prev, v), max(prev, v), xtol=1e-7)


def _profile(result, level: float) -> pd.DataFrame:
    z = stats.norm.ppf(1 - (1 - level) / 2)
    names = default_statistic_names(result._design)
    state = result._state
    if result.glmmtmb_model:  # zi.<name>, disp.<name>, sigma, the Tweedie power
        names = names + tmb_parameter_names(state, dispersion_model=True)
    target = profile_target(result)
    prof = _Profiler(target)
    lo, hi = np.full(len(names), np.nan), np.full(len(names), np.nan)
    for j in range(len(names)):
        lo[j], hi[j] = prof.limit(j, -1, z), prof.limit(j, +1, z)
    prof.devfun(target.theta, target.rest)  # back to the optimum
    for name, fp, k in family_parameter_rows(state) if result.glmmtmb_model else []:
        # profiled on the parameter's optimiser scale (log, the power's logit): sigma = value^k, monotone
        j = names.index(name)
        lo[j], hi[j] = fp.from_optimizer(lo[j]) ** k, fp.from_optimizer(hi[j]) ** k
    out = pd.DataFrame({c: v for c, v in zip(_columns(level), (lo, hi))}, index=names)
    out.attrs["evaluations"] = prof.info.evaluations
    return out


def confint(result, method: str = "Wald", level: float = 0.95, **kwargs) -> pd.DataFrame:
    """Confidence intervals, as lme4's ``confint(fit, method=...)``.

    Parameters
    ----------
    result : GlmerResult
    method : {"Wald", "profile", "boot"}
    level : float
        Confidence level in (0, 1).
    **kwargs
        For ``"boot"``: ``nsim`` (default 500), ``seed``, ``n_jobs``,
        ``executor``, ``progress``, or ``boot`` (a finished
        :class:`~glmmfast.results._bootstrap.BootstrapResult` to reuse).

    Returns
    -------
    pandas.DataFrame
        Rows ``.sig01``, ... then the fixed effects; lower and upper limits.
    """
    level = check_level(level)
    check_choice("method", method, _METHODS)
    if method == "Wald":
        return _wald(result, level)
    if method == "profile":
        return _profile(result, level)
    return _boot(result, level, **kwargs)
