"""glmmTMB's random effects in the zero-inflation formula (``ziformula = "~ x + (1 | g)"``): the fit.

The conditional random effects u_c and the zero-inflation ones u_z are
integrated jointly by one Laplace approximation, as glmmTMB does: the
engine's ``ZiRandomEffectsModel`` (``cpp/src/model/zi_random_effects_model.hpp``,
the math there; its system A = U'HU + I with each observation's 2 x 2
Hessian in (eta, eta_zi) in ``cpp/src/linalg/coupled_penalized_system.hpp``)
finds the joint conditional modes and evaluates -2 log L.

Holds :func:`fit_zi_random_effects`, which returns a
:class:`ZiRandomEffectsState`:

1. start: the same model with the zero-inflation random effects left out
   (the ordinary zero-inflated fit, :func:`~glmmfast.fit._fit_state.fit_glmm`),
   the zero-inflation terms' theta at the structures' start;
2. optimisation over x = (theta, beta, beta_zi, the family parameter on its
   optimiser scale), theta ordered as the conditional terms' parameters then
   the zero-inflation terms'.  This model class has no exact gradient yet:
   BOBYQA (derivative-free), then Newton steps on central differences
   (:func:`~glmmfast.fit._optimize.newton_polish`), all in coordinates
   scaled by their uncertainty at the start; the Hessian differenced again
   in whitened coordinates (:func:`_whitened_hessian`) gives the covariance
   of every outer parameter (glmmTMB's ``vcov(full = TRUE)``: 2 H^{-1}).
   ``optinfo.optimizer`` says so ("bobyqa").
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .. import _core
from ..design._design import ModelDesign
from ._engine import engine_csc, engine_model, engine_terms
from ._derivatives import gradient_hessian
from ._family_parameter import FamilyParameter, JointShapeParameters
from ._fit_state import fit_glmm
from ._objective import function_objective
from ._optimize import _bobyqa, newton_polish
from ._optimizer_info import OptimizerInfo, StageClock

__all__ = ["ZiRandomEffectsState", "fit_zi_random_effects", "zi_random_effects_engine"]


@dataclass
class ZiRandomEffectsState:
    """A fit with random effects in the ziformula, at its optimum.

    Attributes
    ----------
    design : ModelDesign
        With ``design.zi.terms`` (the zero-inflation random-effects terms).
    theta : ndarray
        The conditional terms' parameters, then the zero-inflation terms'.
    beta, beta_zi : ndarray
    deviance : float
        -2 log L (Laplace, glmmTMB's exact Hessian).
    b : ndarray
        Conditional modes, the conditional terms' then the zero-inflation terms'.
    eta, eta_zi : ndarray
        The two linear predictors at the modes.
    family_parameter : FamilyParameter or JointShapeParameters or None
        The estimated family parameter at its estimate.
    hessian : ndarray or None
        The finite-difference Hessian of -2 log L in x = (theta, beta, beta_zi, family parameter).
    info : OptimizerInfo
    """

    design: ModelDesign
    theta: np.ndarray
    beta: np.ndarray
    beta_zi: np.ndarray
    deviance: float
    b: np.ndarray
    eta: np.ndarray
    eta_zi: np.ndarray
    family_parameter: FamilyParameter | JointShapeParameters | None
    hessian: np.ndarray | None = field(repr=False)
    info: OptimizerInfo = field(default_factory=OptimizerInfo, repr=False)

    #: no family parameter profiled out, and no dispersion model, with this model class (as the ordinary
    #: fit state's fields)
    profiled_parameter = None
    beta_disp = None

    @property
    def family(self):
        """The fitted family (its parameter at the estimate)."""
        return self.design.family

    @property
    def ntheta_cond(self) -> int:
        """How many of theta's entries belong to the conditional terms."""
        return sum(t.nparams for t in self.design.terms)


def _fixed_zero_part(design: ModelDesign) -> ModelDesign:
    """``design`` with the zero-inflation component's random effects left out."""
    return dataclasses.replace(design, zi=dataclasses.replace(design.zi, terms=[], Z=None))


def zi_random_effects_engine(design: ModelDesign, parameter, beta_zi: np.ndarray):
    """The engine's conditional GlmmModel (zero-inflated, ``parameter`` set on it) and the
    ZiRandomEffectsModel over it."""
    conditional = engine_model(_fixed_zero_part(design))
    if parameter is not None:
        parameter.set_on(conditional)
    conditional.set_beta_zi(np.asarray(beta_zi, dtype=float))
    Z = sp.hstack([design.Z, design.zi.Z], format="csc")
    Z.sort_indices()
    model = _core.ZiRandomEffectsModel(conditional, *engine_csc(Z), engine_terms(design.terms + design.zi.terms),
                                       len(design.terms), np.asfortranarray(design.zi.X, dtype=float),
                                       np.ascontiguousarray(design.zi.offset, dtype=float))
    return conditional, model


def _deviance_function(conditional, model, parameter, nt: int, p: int):
    """-2 log L at x = (theta, beta, beta_zi, family parameter on its optimiser scale)."""
    n_zi = model.n_zi

    def deviance(x: np.ndarray) -> float:
        if parameter is not None:
            parameter.with_value(parameter.estimate_from(x)).set_on(conditional)
        model.set_beta_zi(x[nt + p:nt + p + n_zi])
        return model.deviance_at(x[:nt], x[nt:nt + p])

    return deviance


def _coordinate_scales(deviance, x0: np.ndarray, lower: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Each coordinate's scale at the start: sqrt(2 / H_jj) (H_jj the second difference of -2 log L,
    a conditional standard error), 0.1 where that is not positive and finite; coordinates then
    move in units of their own uncertainty, which a derivative-free optimiser needs (the
    zero-inflation coefficients' standard errors span 100x on Owls)."""
    f0 = deviance(x0)
    scales = np.full(x0.size, 0.1)
    for j in range(x0.size):
        step = np.zeros(x0.size)
        step[j] = h
        if x0[j] - h < lower[j]:
            continue
        try:
            curvature = (deviance(x0 + step) - 2 * f0 + deviance(x0 - step)) / h**2
        except _core.PirlsError:
            continue
        if np.isfinite(curvature) and curvature > 0:
            scales[j] = float(np.sqrt(2.0 / curvature))
    deviance(x0)  # the engine back at the start
    return scales


def _whitened_hessian(deviance, x: np.ndarray, hess: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """The Hessian of -2 log L at ``x``, differenced again in coordinates whitened by the first
    estimate ``hess``: x = x-hat + L w with L L' = hess^{-1}, where the Hessian in w is near I.

    The fixed effects' covariance 2 H^{-1} amplifies the finite-difference error of H by its
    condition number (an intercept beside a covariate far from 0: ArrivalTime on Owls); in w
    the forward differences' O(h) error stays O(h) after inversion.  ``hess`` itself where it
    is not positive definite.
    """
    try:
        L = np.linalg.cholesky(np.linalg.inv(hess))
    except np.linalg.LinAlgError:
        return hess
    _, hess_w = gradient_hessian(lambda w: deviance(x + L @ w), np.zeros(x.size), h)
    Linv = np.linalg.inv(L)
    return Linv.T @ hess_w @ Linv


def fit_zi_random_effects(design: ModelDesign, parameter=None, t0: float | None = None) -> ZiRandomEffectsState:
    """Fit a model whose ziformula has random effects (Laplace over both parts' random effects).

    Parameters
    ----------
    design : ModelDesign
        With a zero-inflation component that has random-effects terms.
    parameter : FamilyParameter or JointShapeParameters, optional
        A family parameter to estimate, at its start (as :func:`~glmmfast.fit._fit_state.fit_glmm`'s).
    t0 : float, optional
        ``time.perf_counter()`` when the caller started.

    Returns
    -------
    ZiRandomEffectsState
    """
    t0 = time.perf_counter() if t0 is None else t0
    start = fit_glmm(_fixed_zero_part(design), 1, parameter, t0=t0)
    t1 = time.perf_counter()
    clock0, clock = StageClock(), StageClock()
    fitted = start.family_parameter
    conditional, model = zi_random_effects_engine(design, fitted, start.beta_zi)
    theta0 = np.asarray(model.initial_theta(), dtype=float)
    nt_cond = start.theta.size
    theta0[:nt_cond] = start.theta
    nt, p = theta0.size, start.beta.size
    x0 = np.concatenate([theta0, start.beta, start.beta_zi, [] if fitted is None else fitted.optimizer_coordinates()])
    lower = np.concatenate([np.asarray(model.lower_bounds(), dtype=float), np.full(p + model.n_zi, -np.inf),
                            [] if fitted is None else fitted.optimizer_lowers()])
    deviance = _deviance_function(conditional, model, fitted, nt, p)
    # Optimised in z = (x - x0) / scale (_coordinate_scales); the Hessian then back to x.
    scale = _coordinate_scales(deviance, x0, lower)
    objective = function_objective(lambda z: deviance(x0 + scale * z), x0.size, lambda: model.set_u(np.zeros(model.q)))
    lower_z = (lower - x0) / scale
    z, f, status = _bobyqa(objective, np.zeros(x0.size), lower_z, np.full(x0.size, 0.5), 1e-8, 1e-8, 100000)
    z, f, grad, hess = newton_polish(objective.evaluate, z, f, lower_z, max_steps=5)
    x = x0 + scale * z
    hess = _whitened_hessian(deviance, x, hess / np.outer(scale, scale))
    grad = grad / scale
    f = deviance(x)  # the engine at the optimum
    if fitted is not None:
        fitted = fitted.with_value(fitted.estimate_from(x))
        design = dataclasses.replace(design, family=fitted.fitted_family(design.family))
    info = OptimizerInfo(optimizer="bobyqa", gradient=grad, hessian=hess,
                         family_parameter=None if fitted is None else fitted.value)
    # The start is the whole fit without zi random effects: its counts become this fit's "start" stage.
    info.add_stage("start: the model without random effects in the ziformula", "start", clock0,
                   evaluations=start.info.evaluations, gradient_evaluations=start.info.gradient_evaluations,
                   pirls_iterations=start.info.pirls_iterations, seconds=t1 - t0, deviance=start.deviance)
    info.add_stage("zi random effects (derivative-free: no exact gradient for this model class yet)", "stage 2",
                   clock, (objective,), f, status, pirls_iterations=int(model.newton_iterations))
    info.seconds.update({"start": t1 - t0, "optimize": time.perf_counter() - t1})
    return ZiRandomEffectsState(design, x[:nt].copy(), x[nt:nt + p].copy(), x[nt + p:nt + p + model.n_zi].copy(),
                                float(f), np.array(model.b), np.array(conditional.eta), np.array(model.eta_zi),
                                fitted, hess, info)
