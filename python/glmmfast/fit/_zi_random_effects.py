"""glmmTMB's random effects in the zero-inflation formula (``ziformula = "~ x + (1 | g)"``): the fit.

The conditional random effects u_c and the zero-inflation ones u_z are
integrated jointly by one Laplace approximation, as glmmTMB does: the
engine's ``ZiRandomEffectsModel`` (``cpp/src/model/zi_random_effects_model.hpp``,
the math there; its system A = U'HU + I with each observation's 2 x 2
Hessian in (eta, eta_zi) in ``cpp/src/linalg/coupled_penalized_system.hpp``)
finds the joint conditional modes and evaluates -2 log L.

Holds :func:`fit_zi_random_effects`, which returns a
:class:`ZiRandomEffectsState` (:func:`state_deviance`: an engine and its
deviance at a state, for the profile and the conditional variances):

1. start: the same model with the zero-inflation random effects left out
   (the ordinary zero-inflated fit, :func:`~glmmfast.fit._fit_state.fit_glmm`),
   the zero-inflation terms' theta at the structures' start;
2. optimisation over x = (theta, beta, beta_zi, beta_disp, the family
   parameter on its optimiser scale), theta ordered as the conditional terms'
   parameters then the zero-inflation terms' (beta_disp: glmmTMB's
   dispformula, the family parameter per observation exp(power X_d beta_d),
   :mod:`~glmmfast.fit._dispersion_model`, set on the conditional engine as
   the ordinary fit sets it; its start the ordinary fit's), by the exact
   gradient of the Laplace deviance in every coordinate (the engine's
   ``laplace_gradient``, derived in
   ``cpp/src/model/zi_random_effects_gradient.cpp``; in beta_disp and the log
   family parameter from central differences of the observation terms with
   the mode held, no further mode search): BFGS from the Hessian measured at the start by
   differences of that gradient (its block in beta the start's curvature there, :func:`_start_beta_block`),
   L-BFGS where it cannot finish
   (:func:`~glmmfast.fit._optimize._measured_quasi_newton`, the ordinary
   glmer path's first stage);
3. the Hessian at the optimum from central differences of the gradient
   (2 evaluations per coordinate, the engine's ``Objective.gradient_hessian``,
   ``cpp/src/optim/gradient_differences.hpp``), the covariance of every outer parameter
   (glmmTMB's ``vcov(full = TRUE)``: 2 H^{-1}), and Newton steps from it that finish the estimates.
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
from ._family_parameter import FamilyParameter, JointShapeParameters, gradient_parameter_names
from ._fit_state import fit_glmm
from .._errors import ConvergenceError
from ._objective import function_objective
from ._optimize import _FD_STEP, _measured_quasi_newton, _positive_definite, _quasi_newton
from ._optimizer_info import OptimizerInfo, StageClock

__all__ = ["ZiRandomEffectsState", "fit_zi_random_effects", "state_deviance", "zi_random_effects_engine"]


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
        The finite-difference Hessian of -2 log L in x = (theta, beta, beta_zi, beta_disp, family parameter).
    info : OptimizerInfo
    beta_disp : ndarray or None
        The dispersion model's coefficients (a ``dispformula`` with covariates), else None.
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
    beta_disp: np.ndarray | None = None

    @property
    def family(self):
        """The fitted family (its parameter at the estimate)."""
        return self.design.family

    def optimizer_point(self) -> np.ndarray:
        """x = (theta, beta, beta_zi, beta_disp, the family parameter on its optimiser scale): the
        coordinates of :func:`state_deviance`'s function and of ``hessian``."""
        fp = self.family_parameter
        return np.concatenate([self.theta, self.beta, self.beta_zi, [] if self.beta_disp is None else self.beta_disp,
                               [] if fp is None else fp.optimizer_coordinates()])

    @property
    def ntheta_cond(self) -> int:
        """How many of theta's entries belong to the conditional terms."""
        return sum(t.nparams for t in self.design.terms)


def _fixed_zero_part(design: ModelDesign) -> ModelDesign:
    """``design`` with the zero-inflation component's random effects left out."""
    return dataclasses.replace(design, zi=dataclasses.replace(design.zi, terms=[], Z=None))


def zi_random_effects_engine(design: ModelDesign, parameter, beta_zi: np.ndarray,
                             beta_disp: np.ndarray | None = None):
    """The engine's conditional GlmmModel (zero-inflated, ``parameter`` set on it; with the design's
    dispersion model at ``beta_disp``) and the ZiRandomEffectsModel over it."""
    conditional = engine_model(_fixed_zero_part(design))
    if parameter is not None:
        parameter.set_on(conditional)
    if beta_disp is not None:
        conditional.set_beta_disp(np.asarray(beta_disp, dtype=float))
    conditional.set_beta_zi(np.asarray(beta_zi, dtype=float))
    Z = sp.hstack([design.Z, design.zi.Z], format="csc")
    Z.sort_indices()
    model = _core.ZiRandomEffectsModel(conditional, *engine_csc(Z), engine_terms(design.terms + design.zi.terms),
                                       len(design.terms), np.asfortranarray(design.zi.X, dtype=float),
                                       np.ascontiguousarray(design.zi.offset, dtype=float))
    return conditional, model


def state_deviance(state: ZiRandomEffectsState):
    """A new engine at ``state``'s family parameter, beta_zi and beta_disp, and its -2 log L as a function
    of x (:meth:`ZiRandomEffectsState.optimizer_point`): ``(model, deviance)``."""
    conditional, model = zi_random_effects_engine(state.design, state.family_parameter, state.beta_zi,
                                                  state.beta_disp)
    return model, _deviance_function(conditional, model, state.family_parameter, state.theta.size, state.beta.size)


def _deviance_function(conditional, model, parameter, nt: int, p: int):
    """-2 log L at x = (theta, beta, beta_zi, beta_disp (the conditional engine's dispersion model's
    coefficients, none without one), family parameter on its optimiser scale)."""
    n_zi, n_disp = model.n_zi, conditional.n_disp

    def deviance(x: np.ndarray) -> float:
        if parameter is not None:
            parameter.with_value(parameter.estimate_from(x)).set_on(conditional)
        if n_disp:
            conditional.set_beta_disp(x[nt + p + n_zi:nt + p + n_zi + n_disp])
        model.set_beta_zi(x[nt + p:nt + p + n_zi])
        return model.deviance_at(x[:nt], x[nt:nt + p])

    return deviance


def _deviance_objective(deviance, model, dim: int, log_parameters: list[str]):
    """The engine objective of ``deviance`` with the engine's exact gradient in every coordinate at the
    point just evaluated (``log_parameters``: the family parameters' names,
    :func:`~glmmfast.fit._family_parameter.gradient_parameter_names`)."""
    return function_objective(deviance, dim, lambda: model.set_u(np.zeros(model.q)),
                              lambda: model.laplace_gradient(log_parameters))


def _start_beta_block(start, nt: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The Hessian block of -2 log L in beta (coordinates ``nt`` on) for the start Hessian of BFGS: 2 V^{-1},
    V the unscaled covariance of beta of the start's model (the zero part without random effects) at its
    optimum, the curvature in beta with the conditional modes re-optimised (as
    :func:`~glmmfast.fit._optimize._joint_hessian_at_start` takes it); the zero part's random effects
    change it little.  Its cross terms with theta and beta_zi come from those coordinates' differenced
    columns: p gradient evaluations fewer (Salamanders' ``mined + (1 | site)``: 8 of 12).  None where V
    is not invertible (every column differenced)."""
    vbeta = np.asarray(start.engine().beta_unscaled_vcov(), dtype=float)
    try:
        block = 2.0 * np.linalg.inv(vbeta)
    except np.linalg.LinAlgError:
        return None
    return (np.arange(nt, nt + vbeta.shape[0]), block) if np.all(np.isfinite(block)) else None


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
    conditional, model = zi_random_effects_engine(design, fitted, start.beta_zi, start.beta_disp)
    theta0 = np.asarray(model.initial_theta(), dtype=float)
    nt_cond = start.theta.size
    theta0[:nt_cond] = start.theta
    nt, p = theta0.size, start.beta.size
    beta_disp0 = np.zeros(0) if start.beta_disp is None else np.asarray(start.beta_disp, dtype=float)
    x0 = np.concatenate([theta0, start.beta, start.beta_zi, beta_disp0,
                         [] if fitted is None else fitted.optimizer_coordinates()])
    lower = np.concatenate([np.asarray(model.lower_bounds(), dtype=float),
                            np.full(p + model.n_zi + beta_disp0.size, -np.inf),
                            [] if fitted is None else fitted.optimizer_lowers()])
    deviance = _deviance_function(conditional, model, fitted, nt, p)
    objective = _deviance_objective(deviance, model, x0.size, gradient_parameter_names(fitted))
    step = np.full(x0.size, 0.1)
    methods: list[str] = []  # the stage's optimizer(s)
    x, f, status = _measured_quasi_newton(objective, x0, lower, step, 1e-8, 1, methods=methods,
                                          known=_start_beta_block(start, nt))
    try:  # central differences of the gradient in one engine call (cpp/src/optim/gradient_differences.hpp)
        grad, hess = (np.asarray(v) for v in objective.gradient_hessian(x, np.full(x.size, _FD_STEP)))
    except (_core.PirlsError, ValueError) as e:
        raise ConvergenceError(f"the Hessian at the optimum of the zi-random-effects model cannot be evaluated: {e}")
    # BFGS's stop (predicted decrease 1e-8 |f|) leaves the estimates ~1e-3 SE short: Newton
    # steps from the measured Hessian finish them (quadratically; the Hessian barely moves), from
    # BFGS's f and the differences' gradient at x (the engine a difference step away, its modes a
    # start as good as x's).
    polished = _quasi_newton(objective, x, _positive_definite(hess), lower, 1e-10, start=(f, grad), methods=methods)
    if polished is not None and not np.array_equal(polished[0], x):
        # BFGS's last evaluation was its returned point: the engine is there
        x, f = polished[0], polished[1]
        grad = np.asarray(model.laplace_gradient(gradient_parameter_names(fitted)))
    else:
        f = objective(x, grad)  # the engine back at x
    if fitted is not None:
        fitted = fitted.with_value(fitted.estimate_from(x))
        design = dataclasses.replace(design, family=fitted.fitted_family(design.family))
    info = OptimizerInfo(optimizer="lbfgs", gradient=grad, hessian=hess,
                         family_parameter=None if fitted is None else fitted.value)
    # The start is the whole fit without zi random effects: its counts become this fit's "start" stage.
    info.add_stage("start: the model without random effects in the ziformula", "start", clock0,
                   evaluations=start.info.evaluations, gradient_evaluations=start.info.gradient_evaluations,
                   pirls_iterations=start.info.pirls_iterations, seconds=t1 - t0, deviance=start.deviance,
                   optimizer=start.info.optimizer)
    info.add_stage("zi random effects (the exact gradient)", "stage 2",
                   clock, (objective,), f, status, pirls_iterations=int(model.newton_iterations), optimizer=methods)
    info.seconds.update({"start": t1 - t0, "optimize": time.perf_counter() - t1})
    n_zi = model.n_zi
    beta_disp = None if start.beta_disp is None else x[nt + p + n_zi:nt + p + n_zi + beta_disp0.size].copy()
    return ZiRandomEffectsState(design, x[:nt].copy(), x[nt:nt + p].copy(), x[nt + p:nt + p + n_zi].copy(),
                                float(f), np.array(model.b), np.array(conditional.eta), np.array(model.eta_zi),
                                fitted, hess, info, beta_disp)
