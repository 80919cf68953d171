"""The outer optimisation of a GLMM (lme4's optimizeGlmer), driven by nlopt.

Holds :class:`OptimizerInfo` (what happened: stages, evaluation counts,
PIRLS failures, gradient and Hessian at the optimum, messages) and
:func:`optimize_glmer`:

1. theta alone, with beta updated inside PIRLS (the nAGQ = 0 deviance);
2. theta and beta jointly on the Laplace deviance, beta rescaled by its
   standard errors from stage 1 so every coordinate has unit scale.

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
from ._derivatives import gradient_hessian
from ._errors import ConvergenceError

__all__ = ["OptimizerInfo", "optimize_glmer", "check_convergence"]

_PENALTY = 1e15  # objective value for a point where PIRLS failed


@dataclass
class OptimizerInfo:
    """Record of an optimisation.

    Attributes
    ----------
    optimizer : str
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
    """

    optimizer: str = "bobyqa"
    stages: list = field(default_factory=list)
    evaluations: int = 0
    pirls_iterations: int = 0
    pirls_failures: int = 0
    gradient: np.ndarray | None = field(default=None, repr=False)
    hessian: np.ndarray | None = field(default=None, repr=False)
    messages: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


class _Objective:
    """Wraps an engine evaluation, counting calls and PIRLS failures."""

    def __init__(self, fun, info: OptimizerInfo, reset):
        self.fun, self.info, self.reset = fun, info, reset
        self.best_x, self.best_f = None, np.inf

    def __call__(self, x, grad=None):
        self.info.evaluations += 1
        try:
            f = float(self.fun(np.asarray(x, dtype=float)))
        except _core.PirlsError:
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
            ftol_abs: float, xtol_abs: float, maxeval: int) -> tuple[np.ndarray, float, int]:
    """Minimise with BOBYQA, restarting from the solution until it stops improving."""
    x = np.maximum(np.asarray(x0, dtype=float), lower)
    fbest, status = obj(x), 0
    for _ in range(4):
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
            raise ConvergenceError(f"PIRLS failed at every one of {obj.info.evaluations} trial points "
                                   f"({obj.info.pirls_failures} failures); the model cannot be evaluated")
        xnew, fnew = obj.best_x, obj.best_f
        improved = fbest - fnew
        x, fbest = xnew, fnew
        if improved < 10 * ftol_abs:
            break
        step = np.maximum(step * 0.1, 10 * xtol_abs)
    return x, fbest, status


def optimize_glmer(model, theta0: np.ndarray, beta0: np.ndarray, nAGQ: int = 1) -> tuple[np.ndarray, np.ndarray, float, OptimizerInfo]:
    """Maximise the Laplace likelihood of ``model`` (an engine GlmmModel).

    Parameters
    ----------
    model : glmmfast._core.GlmmModel
    theta0, beta0 : ndarray
        Starting values (beta0 typically from the GLM without random effects).
    nAGQ : int
        0: stop after stage 1 (the fast fit); 1: Laplace.

    Returns
    -------
    theta, beta : ndarray
    deviance : float
    info : OptimizerInfo
    """
    info = OptimizerInfo()
    lower = np.asarray(model.lower_bounds(), dtype=float)
    ntheta = lower.size
    zeros_u = np.zeros(model.q)

    def reset():
        model.set_u(zeros_u)

    # Stage 1: theta, with beta inside PIRLS.
    t0 = time.perf_counter()
    model.set_beta(beta0)
    ev0 = info.evaluations
    obj1 = _Objective(model.deviance_profiled_beta, info, reset)
    theta, dev1, st1 = _bobyqa(obj1, theta0, lower, np.full(ntheta, 0.25), 1e-8 if nAGQ == 0 else 1e-5,
                               1e-8 if nAGQ == 0 else 1e-5, 100000)
    model.deviance_profiled_beta(theta)
    beta = np.array(model.beta)
    info.stages.append({"name": "theta (beta in PIRLS)", "evaluations": info.evaluations - ev0,
                        "deviance": dev1, "status": int(st1), "seconds": time.perf_counter() - t0})
    if nAGQ == 0:
        return theta, beta, dev1, info

    # Stage 2: theta and beta jointly; beta = beta1 + s * gamma with s the
    # stage-1 standard errors, so all coordinates have unit scale.
    t0 = time.perf_counter()
    scale = np.sqrt(np.clip(np.diag(model.beta_unscaled_vcov()), 1e-12, None))
    beta1 = beta.copy()

    def dev2(x):
        return model.deviance_at(x[:ntheta], beta1 + scale * x[ntheta:])

    ev0 = info.evaluations
    obj2 = _Objective(dev2, info, reset)
    x0 = np.concatenate([theta, np.zeros(beta.size)])
    lower2 = np.concatenate([lower, np.full(beta.size, -np.inf)])
    step2 = np.concatenate([np.full(ntheta, 0.05), np.full(beta.size, 0.5)])
    x, dev, st2 = _bobyqa(obj2, x0, lower2, step2, 1e-10, 1e-8, 100000)
    theta, beta = x[:ntheta], beta1 + scale * x[ntheta:]
    dev = model.deviance_at(theta, beta)  # leave the engine at the optimum
    info.stages.append({"name": "theta and beta (Laplace)", "evaluations": info.evaluations - ev0,
                        "deviance": dev, "status": int(st2), "seconds": time.perf_counter() - t0})
    return theta, beta, dev, info


def check_convergence(f, x: np.ndarray, fx: float, lower: np.ndarray, tol: float = 0.002) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """lme4-style checks at the optimum: scaled gradient and Hessian.

    The gradient is scaled by the Hessian (``solve(H, g)``, the Newton step),
    as lme4 does, and compared with ``tol``; parameters on the boundary are
    left out.  Returns the gradient, the Hessian and the warning messages.
    """
    grad, hess = gradient_hessian(f, x, 1e-4, fx)
    msgs = []
    free = ~(np.isfinite(lower) & (x - lower < 1e-4))
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
        # Finite differences leave noise of ~1e-4 relative in H, so an
        # eigenvalue within that of zero is "zero" (an unidentifiable
        # direction, e.g. a redundant variance term), not "negative".
        ev = np.linalg.eigvalsh(H)
        noise = 1e-4 * max(1.0, np.abs(ev).max())
        if ev.min() < -noise:
            neg = int((ev < -noise).sum())
            msgs.append(f"Model failed to converge: degenerate  Hessian with {neg} negative eigenvalues")
        elif ev.min() < noise or ev.min() / ev.max() < 1e-6:
            msgs.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return grad, hess, msgs
