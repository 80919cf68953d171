"""The outer optimisation of a GLMM (lme4's optimizeGlmer), driven by nlopt.

Holds :class:`OptimizerInfo` (what happened: stages, evaluation counts,
PIRLS failures, gradient and Hessian at the optimum, messages),
:func:`optimize_lmer` (lme4's optimizeLmer: the profiled deviance or REML
criterion over theta alone) and :func:`optimize_glmer`:

1. theta alone, with beta updated inside PIRLS (the nAGQ = 0 deviance);
2. theta and beta jointly on the Laplace (nAGQ = 1) or adaptive
   Gauss-Hermite (nAGQ > 1) deviance, beta rescaled by its standard errors
   from stage 1 so every coordinate has unit scale.

A family parameter (the dispersion phi of Gamma, inverse Gaussian and
non-identity gaussian fits, or the negative-binomial shape of glmer_nb) is
estimated by maximum likelihood in both stages as one more coordinate, on
the log scale.

Both stages use BOBYQA with tight tolerances and are restarted from their
own solution until the deviance stops improving, so fits do not stop short
where lme4's Nelder-Mead does.  A PIRLS failure at a trial point makes the
objective large (the optimiser backs off) and is counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import nlopt
import numpy as np

from . import _core
from ._agq import joint_deviance
from ._derivatives import gradient_hessian
from ._errors import ConvergenceError
from ._engine import set_family_parameter

__all__ = ["OptimizerInfo", "optimize_lmer", "optimize_glmer", "newton_polish", "check_convergence"]

_PENALTY = 1e15  # objective value for a point where PIRLS failed
_FD_STEP = 1e-4  # finite-difference step at the optimum (lme4's deriv12)


@dataclass
class OptimizerInfo:
    """Record of an optimisation.

    Attributes
    ----------
    optimizer : str
    factorization : str
        The engine's Cholesky strategy ("blocked" or "sparse").
    stages : list of dict
        Per stage: ``name``, ``evaluations``, ``deviance``, ``status``, ``seconds``.
    evaluations : int
        Deviance evaluations in total (including derivative checks).
    pirls_iterations : int
    pirls_failures : int
        Trial points at which PIRLS failed and the optimiser backed off.
    gradient, hessian : ndarray
        Finite-difference derivatives of the deviance at the optimum w.r.t.
        (theta, beta).
    messages : list of str
    family_parameter : float or None
        The estimated family parameter (phi or the negative-binomial theta).
    theta_scale : float
        Scale of the linear predictor the theta coordinates were optimised
        on (theta / theta_scale); 1 except for links such as inverse and
        1/mu^2 whose linear predictor is tiny.
    """

    optimizer: str = "bobyqa"
    factorization: str = ""
    stages: list = field(default_factory=list)
    evaluations: int = 0
    pirls_iterations: int = 0
    pirls_failures: int = 0
    gradient: np.ndarray | None = field(default=None, repr=False)
    hessian: np.ndarray | None = field(default=None, repr=False)
    messages: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    family_parameter: float | None = None
    theta_scale: float = 1.0


class _Objective:
    """Wraps an engine evaluation, counting calls and PIRLS failures."""

    def __init__(self, fun, info: OptimizerInfo, reset):
        self.fun, self.info, self.reset = fun, info, reset
        self.best_x, self.best_f = None, np.inf
        self.last_error = ""

    def __call__(self, x, grad=None):
        self.info.evaluations += 1
        try:
            f = float(self.fun(np.asarray(x, dtype=float)))
        except _core.PirlsError as err:
            self.last_error = str(err)
            self.info.pirls_failures += 1
            self.reset()
            return _PENALTY
        if not np.isfinite(f):
            self.info.pirls_failures += 1
            self.reset()
            return _PENALTY
        if f < self.best_f:
            self.best_f, self.best_x = f, np.array(x, dtype=float)
        return f


def _bobyqa(obj: _Objective, x0: np.ndarray, lower: np.ndarray, step: np.ndarray,
            ftol_abs: float, xtol_abs: float, maxeval: int, restarts: int = 3) -> tuple[np.ndarray, float, int]:
    """Minimise with BOBYQA, restarting (at most ``restarts`` times) from the
    solution until it stops improving."""
    x = np.maximum(np.asarray(x0, dtype=float), lower)
    fbest, status = obj(x), 0
    for _ in range(1 + restarts):
        opt = nlopt.opt(nlopt.LN_BOBYQA, x.size)
        opt.set_min_objective(obj)
        opt.set_lower_bounds(lower)
        opt.set_initial_step(step)
        opt.set_ftol_abs(ftol_abs)
        opt.set_xtol_abs(np.full(x.size, xtol_abs))
        opt.set_maxeval(maxeval)
        try:
            opt.optimize(x)
            status = opt.last_optimize_result()
        except nlopt.RoundoffLimited:
            status = nlopt.ROUNDOFF_LIMITED
        if obj.best_x is None:
            raise ConvergenceError(f"PIRLS failed at every one of {obj.info.evaluations} parameter values "
                                   f"tried (last: {obj.last_error or 'non-finite deviance'}); the link may not suit "
                                   "these data (e.g. an identity link whose mean reaches 0)")
        xnew, fnew = obj.best_x, obj.best_f
        improved = fbest - fnew
        x, fbest = xnew, fnew
        if improved < 10 * ftol_abs:
            break
        step = np.maximum(step * 0.1, 10 * xtol_abs)
    return x, fbest, status


def optimize_lmer(model, reml: bool) -> tuple[np.ndarray, float, OptimizerInfo]:
    """Minimise the profiled criterion of ``model`` (an engine LmmModel) over theta.

    Beta, u and sigma are profiled out in the engine, so BOBYQA works on
    theta alone, from lme4's start (identity relative covariance factors);
    :func:`newton_polish` then finishes the optimum and leaves the gradient
    and Hessian in ``info`` for the convergence checks.

    Parameters
    ----------
    model : glmmfast._core.LmmModel
    reml : bool
        Minimise the REML criterion (True) or -2 log L (False).

    Returns
    -------
    theta : ndarray
    criterion : float
    info : OptimizerInfo
    """
    info = OptimizerInfo()
    lower = np.asarray(model.lower_bounds(), dtype=float)
    t0 = time.perf_counter()
    obj = _Objective(lambda th: model.deviance(th, reml), info, lambda: None)
    x0 = np.asarray(model.initial_theta(), dtype=float)
    # Tolerances relative to the criterion's size (its rounding noise grows
    # with it).  BOBYQA runs to a loose tolerance only, without restarts:
    # Newton steps on finite differences finish faster (on InstEval BOBYQA
    # spent 20 of its 80 evaluations going from 3e-3 to 4e-7 above the
    # optimum and a restart 19 more for 3e-7, where two Newton steps take
    # 20).  Where Newton cannot finish (far from the optimum, an indefinite
    # Hessian), the tight BOBYQA with restarts takes over.
    ftol = 1e-11 * max(1.0, abs(model.deviance(x0, reml)))
    # An initial trust region of 0.5 (from theta = 1) took 25-40% fewer
    # evaluations than 0.25 or 0.1 on sleepstudy and InstEval.
    theta, crit, status = _bobyqa(obj, x0, lower, np.full(lower.size, 0.5), 1000 * ftol, 1e-6, 100000, restarts=0)
    theta, crit, info.gradient, info.hessian, done = _newton_polish(obj, theta, crit, lower)
    if not done:
        theta, crit, status = _bobyqa(obj, theta, lower, np.full(lower.size, 0.05), ftol, 1e-6, 100000)
        theta, crit, info.gradient, info.hessian = newton_polish(obj, theta, crit, lower)
    crit = model.deviance(theta, reml)  # leave the engine at the optimum
    info.stages.append({"name": "theta (beta, sigma profiled)", "evaluations": info.evaluations,
                        "deviance": crit, "status": int(status), "seconds": time.perf_counter() - t0})
    return theta, crit, info


def newton_polish(f, x: np.ndarray, fx: float, lower: np.ndarray,
                  max_steps: int = 3) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Finish a derivative-free optimum with Newton steps on finite-difference derivatives.

    BOBYQA stops where its trust region is small, which on a flat optimum can
    leave theta ~1e-6 short (enough to change printed variance components).
    Each step solves H s = g on the free coordinates and is kept only if it
    lowers ``f``.  Returns the point, its value, and the gradient and Hessian
    there (reused by :func:`check_convergence`): derivatives are recomputed
    after an accepted step unless the step is far below the finite-difference
    step, where they are unchanged to their own accuracy.
    """
    return _newton_polish(f, x, fx, lower, max_steps)[:4]


def _newton_polish(f, x: np.ndarray, fx: float, lower: np.ndarray,
                   max_steps: int = 3) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, bool]:
    """:func:`newton_polish`, also saying whether it converged: its last
    Newton step (taken, or rejected as below the rounding of ``f``) was
    below 1e-2 of the finite-difference step, or no coordinate is free."""
    x = np.asarray(x, dtype=float)
    grad, hess = gradient_hessian(f, x, _FD_STEP, fx)
    for _ in range(max_steps):
        free = _free(x, lower)
        if not free.any():
            return x, fx, grad, hess, True
        try:
            step = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        # A step this small moves the derivatives by less than their own
        # finite-difference error and leaves theta within ~1e-10.
        small = np.max(np.abs(step)) < 1e-2 * _FD_STEP
        xn = x.copy()
        xn[free] -= step
        xn = np.maximum(xn, lower)
        fn = f(xn)
        if not fn < fx:
            return x, fx, grad, hess, bool(small)
        x, fx = xn, fn
        if small:
            return x, fx, grad, hess, True
        grad, hess = gradient_hessian(f, x, _FD_STEP, fx)
    return x, fx, grad, hess, False


def _reevaluate(fun, x: np.ndarray, restart) -> float:
    """``fun(x)`` again (to leave the engine there), once more after ``restart()``
    if PIRLS fails from where the last trial point left it."""
    try:
        return float(fun(x))
    except _core.PirlsError:
        restart()
        return float(fun(x))


def optimize_glmer(model, theta0: np.ndarray, beta0: np.ndarray, nAGQ: int = 1,
                   family_parameter: tuple[str, float] | None = None, theta_scale: float = 1.0,
                   warm_start: bool = False) -> tuple[np.ndarray, np.ndarray, float, OptimizerInfo]:
    """Maximise the approximate likelihood of ``model`` (an engine GlmmModel).

    Parameters
    ----------
    model : glmmfast._core.GlmmModel
    theta0, beta0 : ndarray
        Starting values (beta0 typically from the GLM without random effects).
    nAGQ : int
        0: stop after stage 1 (the fast fit); 1: Laplace; k > 1: k-point
        adaptive Gauss-Hermite quadrature in stage 2.
    family_parameter : (str, float), optional
        ``(kind, start)``: a family parameter to estimate as well (see
        :func:`~glmmfast._engine.set_family_parameter`); its estimate is
        returned in ``info.family_parameter``.
    theta_scale : float
        The optimiser works on theta / theta_scale (unit-scale coordinates
        when the linear predictor is of order theta_scale).
    warm_start : bool
        (theta0, beta0) is the optimum of a closely related fit (a refit to
        a new response): skip stage 1 and start stage 2 there, with the
        engine's current u as PIRLS's start.  Stage 1 only supplies stage
        2's start and beta scaling; from a neighbouring optimum stage 2
        reaches the same optimum in fewer evaluations (tests/test_refit.py
        checks refits against fits from scratch).  Falls back to both stages
        if PIRLS fails at the start.

    Returns
    -------
    theta, beta : ndarray
    deviance : float
        The complete -2 log L (with the family's normalising constants).
    info : OptimizerInfo
    """
    info = OptimizerInfo(theta_scale=float(theta_scale))
    lower = np.asarray(model.lower_bounds(), dtype=float)
    ntheta = lower.size
    zeros_u = np.zeros(model.q)

    def reset():
        model.set_u(zeros_u)

    # Optimiser coordinates: (theta / theta_scale, ..., log family parameter).
    kind, npar = (None, 0) if family_parameter is None else (family_parameter[0], 1)
    logpar = np.log([family_parameter[1]]) if npar else np.zeros(0)

    def with_par(fun):
        def f(x):
            if npar:
                set_family_parameter(model, kind, float(np.exp(x[-1])))
            y = np.array(x[:x.size - npar], dtype=float)
            y[:ntheta] *= theta_scale
            return fun(y)
        return f

    theta, beta = np.asarray(theta0, dtype=float), np.asarray(beta0, dtype=float)
    if warm_start and nAGQ >= 1:
        try:
            with_par(lambda y: model.deviance_at(y, beta))(np.concatenate([theta / theta_scale, logpar]))
        except _core.PirlsError:
            reset()
            warm_start = False
    if not (warm_start and nAGQ >= 1):
        # Stage 1: theta, with beta inside PIRLS.
        t0 = time.perf_counter()
        model.set_beta(beta)
        ev0 = info.evaluations
        obj1 = _Objective(with_par(model.deviance_profiled_beta), info, reset)
        # Stage 1 only supplies a start for stage 2: no restarts.
        tol1 = 1e-8 if nAGQ == 0 else 1e-5
        x1, dev1, st1 = _bobyqa(obj1, np.concatenate([theta / theta_scale, logpar]),
                                np.concatenate([lower, np.full(npar, -np.inf)]), np.full(ntheta + npar, 0.25),
                                tol1, tol1, 100000, restarts=3 if nAGQ == 0 else 0)
        theta, logpar = x1[:ntheta] * theta_scale, x1[ntheta:]

        def restart():  # PIRLS's path can matter on hard problems: retry from the GLM start
            reset()
            model.set_beta(np.asarray(beta0, dtype=float))

        _reevaluate(with_par(model.deviance_profiled_beta), x1, restart)
        beta = np.array(model.beta)
        if npar:
            info.family_parameter = float(np.exp(logpar[0]))
        info.stages.append({"name": "theta (beta in PIRLS)", "evaluations": info.evaluations - ev0,
                            "deviance": dev1, "status": int(st1), "seconds": time.perf_counter() - t0})
        if nAGQ == 0:
            return theta, beta, dev1, info

    # Stage 2: theta and beta jointly; beta = beta1 + s * gamma with s the
    # standard errors at the start, so all coordinates have unit scale.
    t0 = time.perf_counter()
    scale = np.sqrt(np.clip(np.diag(model.beta_unscaled_vcov()), 1e-12, None))
    beta1 = beta.copy()
    deviance = joint_deviance(model, nAGQ)
    p = beta.size

    def dev2(x):
        return deviance(x[:ntheta], beta1 + scale * x[ntheta:ntheta + p])

    ev0 = info.evaluations
    obj2 = _Objective(with_par(dev2), info, reset)
    x0 = np.concatenate([theta / theta_scale, np.zeros(p), logpar])
    lower2 = np.concatenate([lower, np.full(p + npar, -np.inf)])
    # Stage 1 leaves theta close and beta within a fraction of an SE, so
    # small first steps; f to 1e-8 is far inside the 0.002 that matters.
    step2 = np.concatenate([np.full(ntheta, 0.02), np.full(p, 0.2), np.full(npar, 0.05)])
    x, dev, st2 = _bobyqa(obj2, x0, lower2, step2, 1e-8, 1e-6, 100000)
    theta, beta = x[:ntheta] * theta_scale, beta1 + scale * x[ntheta:ntheta + p]
    dev = _reevaluate(with_par(dev2), x, reset)  # leave the engine at the optimum
    if npar:
        info.family_parameter = float(np.exp(x[-1]))
    approx = "Laplace" if nAGQ == 1 else f"AGQ, nAGQ = {nAGQ}"
    info.stages.append({"name": f"theta and beta ({approx})", "evaluations": info.evaluations - ev0,
                        "deviance": dev, "status": int(st2), "seconds": time.perf_counter() - t0})
    return theta, beta, dev, info


def _free(x: np.ndarray, lower: np.ndarray, h: float | np.ndarray = None) -> np.ndarray:
    """Coordinates not on their lower bound (to the finite-difference step)."""
    h = _FD_STEP if h is None else np.broadcast_to(h, x.shape)
    return ~(np.isfinite(lower) & (x - lower < h))


def check_convergence(f, x: np.ndarray, fx: float, lower: np.ndarray, tol: float = 0.002,
                      h: float | np.ndarray = None,
                      derivs: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """lme4-style checks at the optimum: scaled gradient and Hessian.

    The gradient is scaled by the Hessian (``solve(H, g)``, the Newton step),
    as lme4 does, and compared with ``tol``; parameters on the boundary are
    left out.  ``h``: finite-difference steps (lme4's 1e-4 by default);
    ``derivs`` (gradient, Hessian) skips the finite differences when they
    are already known at ``x``.  Returns the gradient, the Hessian and the
    warning messages.
    """
    h = _FD_STEP if h is None else h
    grad, hess = gradient_hessian(f, x, h, fx) if derivs is None else derivs
    msgs = []
    free = _free(x, lower, h)
    g, H = grad[free], hess[np.ix_(free, free)]
    if g.size:
        try:
            scaled = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            scaled = g
        crit = np.minimum(np.abs(scaled), np.abs(g))
        worst = int(np.argmax(crit))
        if crit[worst] > tol:
            comp = int(np.flatnonzero(free)[worst]) + 1
            msgs.append(f"Model failed to converge with max|grad| = {crit[worst]:.6g} (tol = {tol}, component {comp})")
        # The deviance is accurate to ~1e-14 |f|; central differences with
        # step 1e-4 turn that into noise of ~4e-6 |f| in H.  An eigenvalue
        # within that of zero is "zero" (an unidentifiable direction, e.g. a
        # redundant variance term), not "negative".
        ev = np.linalg.eigvalsh(H)
        noise = 1e-5 * max(1.0, abs(fx))
        if ev.min() < -noise:
            neg = int((ev < -noise).sum())
            msgs.append(f"Model failed to converge: degenerate  Hessian with {neg} negative eigenvalues")
        elif ev.min() < noise or ev.min() / ev.max() < 1e-6:
            msgs.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return grad, hess, msgs
