"""glmmTMB's REML for a gaussian model with a dispersion model: the fixed effects integrated out.

glmmTMB's ``REML = TRUE`` treats beta as random effects with a flat prior
and integrates them out with the random effects (Laplace, exact for the
gaussian with the identity link).  With beta-hat(theta, beta_d) the joint
mode of (u, beta) (PIRLS with beta moving, the engine's
``deviance_profiled_beta``) and H_beta = X'WX - X'WU A^{-1} U'WX the
Schur complement of the penalised system's beta block (W = 1 / phi_i),
whose inverse is the engine's ``beta_unscaled_vcov``:

    -2 log L_R(theta, beta_d) = -2 log L(theta, beta-hat, beta_d) + log det H_beta - p log(2 pi).

(At glmmTMB's estimates on its ``disp_gauss_x_reml`` reference this
equals its -2 log L to 1e-12.)  The outer parameters are (theta,
beta_disp), optimised from the maximum-likelihood optimum (found first, by
BFGS on the exact gradient) by BFGS on the criterion's exact gradient
(:func:`criterion_gradient`): the profiled deviance's (the engine's
``laplace_gradient`` with beta profiled: at beta-hat the deviance is
stationary in beta) plus d log det H_beta = tr(H_beta^{-1} dH_beta) (the
engine's ``fixed_effects_log_det_gradient``, derived in
``cpp/src/model/reml_gradient.cpp``).  Cov(beta-hat) is H_beta^{-1} at the
optimum, and the covariance of (theta, beta_disp) is 2 H^{-1} from the
Hessian H of the criterion by central differences of its gradient, as glmmTMB's sdreport.

Holds :func:`reml_objective`, :func:`criterion_gradient`, :func:`fit_integrated_beta` (a FitState with
``integrated_beta`` set) and :func:`integrated_beta_vcov_full`.
"""

from __future__ import annotations

import time

import numpy as np

from ..design._design import ModelDesign
from ._objective import function_objective
from ._optimize import _FD_STEP, _measured_quasi_newton
from ._optimizer_info import OptimizerInfo, StageClock

__all__ = ["reml_objective", "criterion_gradient", "fit_integrated_beta", "integrated_beta_vcov_full"]

#: L-BFGS's initial step where BFGS cannot finish, from the ML optimum (from elsewhere 0.25)
_STEP_FROM_ML = 0.05


def _criterion(model, ntheta: int, x: np.ndarray) -> float:
    """-2 log L_R at x = (theta, beta_disp) (see the module's equation); leaves the engine there."""
    model.set_beta_disp(np.asarray(x[ntheta:], dtype=float))
    deviance = model.deviance_profiled_beta(np.asarray(x[:ntheta], dtype=float))
    sign, logdet_inverse = np.linalg.slogdet(np.asarray(model.beta_unscaled_vcov()))
    p = model.p
    return float(deviance - logdet_inverse - p * np.log(2 * np.pi)) if sign > 0 else np.inf


def criterion_gradient(model) -> np.ndarray:
    """d(-2 log L_R)/d(theta, beta_disp) at the point the criterion last evaluated (the engine there):
    d(-2 log L(theta, beta-hat, beta_disp)) (beta-hat moving with them) + d log det H_beta."""
    return (np.asarray(model.laplace_gradient(beta_profiled=True))
            + np.asarray(model.fixed_effects_log_det_gradient()))


def reml_objective(model):
    """The REML criterion of ``model`` (an engine GlmmModel with a dispersion model, gaussian identity) in
    (theta, beta_disp), with its exact gradient (:func:`criterion_gradient`)."""
    ntheta = len(model.initial_theta())
    return function_objective(lambda x: _criterion(model, ntheta, x), ntheta + int(model.n_disp),
                              lambda: model.set_u(np.zeros(model.q)), lambda: criterion_gradient(model))


def fit_integrated_beta(model, design: ModelDesign, theta0: np.ndarray, beta0: np.ndarray, beta_disp0: np.ndarray,
                        t0: float, ml: OptimizerInfo | None = None) -> "FitState":
    """Minimise the REML criterion of ``model`` from (theta0, beta_disp0), beta started at ``beta0``.

    ``ml``: the record of the maximum-likelihood fit that gave the start (its optimum), whose stages come first
    in the fit's record (REML's theta differs from ML's by the factor of about sqrt(m / (m - p)) for m
    groups, beta_disp by O(p / n)).  BFGS from the Hessian measured there by differences of the exact
    gradient, L-BFGS where it cannot finish (:func:`~glmmfast.fit._optimize._measured_quasi_newton`, as the
    ML fit's first stage)."""
    from ._fit_state import FitState

    info = OptimizerInfo(theta_scale=1.0)
    for stage in [] if ml is None else ml.stages:
        info.stages.append(dict(stage, name=stage["name"] + " (ML: REML's start)"))
        for total in ("evaluations", "gradient_evaluations", "pirls_iterations"):
            setattr(info, total, getattr(info, total) + stage[total])
    clock = StageClock(model)
    t1 = clock.t0
    model.set_beta(np.asarray(beta0, dtype=float))
    objective = reml_objective(model)
    lower = np.concatenate([np.asarray(model.lower_bounds(), dtype=float), np.full(len(beta_disp0), -np.inf)])
    x0 = np.concatenate([theta0, beta_disp0])
    step = np.full(x0.size, 0.25 if ml is None else _STEP_FROM_ML)
    methods: list[str] = []
    # nAGQ = 0: beta is profiled as in the nAGQ = 0 deviance, and likewise the predicted decrease must fall
    # to 1e-10, not to 1e-8 of the criterion (which left a refit 2e-6 above the fit from scratch)
    x, dev, status = _measured_quasi_newton(objective, x0, lower, step, 1e-10, 0, methods=methods)
    dev = objective.evaluate(x)  # leave the engine at the optimum
    info.add_stage("theta and beta_disp (REML: beta integrated out)", "stage 2", clock, (objective,), dev, status,
                   optimizer=methods)
    info.optimizer = "lbfgs"  # the exact gradient (OptimizerInfo.optimizer)
    info.seconds.update({"design": t1 - t0, "optimize": time.perf_counter() - t1})
    ntheta = len(theta0)
    return FitState(design, np.asarray(x[:ntheta]), np.array(model.beta), float(dev), info, nAGQ=1,
                    u=np.array(model.u), engine_at_optimum=model, beta_disp=np.asarray(x[ntheta:]),
                    integrated_beta=True)


def integrated_beta_vcov_full(model, theta: np.ndarray, beta_disp: np.ndarray) -> np.ndarray:
    """Covariance of (theta, beta, beta_disp) in the optimiser's order: 2 H^{-1} of the criterion for (theta,
    beta_disp), Cov(beta-hat) = H_beta^{-1} at the optimum, and no covariance between the two blocks (beta
    is integrated out).  Leaves the engine at the optimum."""
    ntheta, p = len(theta), model.p
    x = np.concatenate([theta, beta_disp])
    objective = reml_objective(model)
    # central differences of the exact gradient: 2 evaluations a coordinate (not the criterion's 2 d^2 + 1)
    _, hess = objective.gradient_hessian(x, np.full(x.size, _FD_STEP))
    outer = np.linalg.inv(np.asarray(hess))
    outer = outer + outer.T
    objective.evaluate(x)  # back at the optimum
    vbeta = np.asarray(model.beta_unscaled_vcov())
    full = np.zeros((ntheta + p + len(beta_disp),) * 2)
    keep = np.r_[0:ntheta, ntheta + p:full.shape[0]]
    full[np.ix_(keep, keep)] = outer
    full[ntheta:ntheta + p, ntheta:ntheta + p] = vbeta
    return full
