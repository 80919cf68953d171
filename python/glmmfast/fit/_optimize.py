"""The outer optimisation of a GLMM (lme4's optimizeGlmer), driven by nlopt.

Holds :func:`optimize_lmer` (lme4's optimizeLmer: the profiled deviance or REML
criterion over theta alone, by BFGS with its exact gradient,
cpp/src/model/cross_product_lmm.cpp) and :func:`optimize_glmer`, whose named stages are

1. :func:`_stage_profiled_beta`: theta alone, with beta updated inside PIRLS
   (the nAGQ = 0 deviance; skipped by a refit whose warm start holds,
   :func:`_warm_start_holds`);
2. :func:`_stage_joint`: theta and beta jointly on the Laplace (nAGQ = 1) or adaptive
   Gauss-Hermite (nAGQ > 1) deviance, beta rescaled by its standard errors
   from stage 1 so every coordinate has unit scale.

A family parameter (a :class:`~glmmfast.fit._family_parameter.FamilyParameter`:
the dispersion phi of Gamma, inverse Gaussian and non-identity gaussian
fits, or the negative-binomial shape of glmer_nb) is estimated by maximum
likelihood in both stages as one more coordinate, on its optimiser scale
(log).

The objectives live in the engine (``_core.Objective``,
cpp/src/optim/objective.cpp; made by :func:`~glmmfast.fit._objective.glmm_objective`):
nlopt calls them with no Python frame per evaluation.  Every driver here
takes any :class:`~glmmfast.fit._objective.OptimizerObjective`.  Where the engine
has the exact gradient of the Laplace deviance (every family, link, zero
inflation, dispersion model and family parameter: cpp/src/model/laplace_gradient.cpp), stage 1 uses
L-BFGS (with
the gradient of the nAGQ = 0 objective) and stage 2 BFGS steps from a
Hessian measured at its start (:func:`_joint_hessian_at_start`,
:func:`_quasi_newton`; stage 1 too where zero-inflation coefficients or a
family parameter follow theta, :func:`_measured_quasi_newton`), L-BFGS where those cannot finish and BOBYQA where
L-BFGS stops on a bound of theta or gives up; a refit warm-started at a
known optimum takes BFGS steps from that optimum's Hessian.  At nAGQ > 1 stage 1 goes on to the Laplace
optimum (:func:`_laplace_optimum`) and stage 2 takes BFGS steps from there and its Hessian, on the exact
gradient of the AGQ deviance where the engine has it (a canonical link without dispersion:
cpp/src/model/agq_gradient.cpp), else with central differences of the AGQ deviance as the gradient
(:func:`_differenced_quasi_newton`).  Otherwise both stages use BOBYQA with tight
tolerances, restarted from their own solution until the deviance stops
improving, so fits do not stop short where lme4's Nelder-Mead does.  A PIRLS
failure at a trial point makes the objective large (the optimiser backs off)
and is counted.  Each stage goes to the fit's
:class:`~glmmfast.fit._optimizer_info.OptimizerInfo` (``result.optinfo``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import nlopt
import numpy as np

from .. import _core
from ._derivatives import gradient_hessian
from .._errors import ConvergenceError
from ._family_parameter import FamilyParameter
from ._objective import (PENALTY as _PENALTY, ObjectiveStage, OptimizerObjective, differenced_objective,
                         function_objective, glmm_objective)
from ._zero_part_tail import ZeroPartTail
from ._optimizer_info import CountedCalls, OptimizerInfo, StageClock

__all__ = ["OptimizerInfo", "optimize_lmer", "lmm_criterion_at", "optimize_glmer", "newton_polish",
           "check_convergence"]
_FD_STEP = 1e-4  # finite-difference step at the optimum (lme4's deriv12)
_NEWTON_REACH = 10 * _FD_STEP  # longest polishing Newton step from a quasi-Newton optimum (_measured_newton)
#: an LMM's BFGS stops when its predicted decrease falls below this, relative to the criterion: a hundred
#: times stage 1's final tolerance, which the Newton step on the Hessian measured at the optimum then meets
#: (:func:`_polished_lmm_optimum`) one BFGS evaluation sooner (the benchmark LMMs' last BFGS step predicts
#: 1e-10 to 1e-9; the Newton step's error is the square of the distance left)
_LMM_BFGS_FTOL = 1e-9
#: smallest curvature of -2 log L the joint stage's start Hessian keeps where it is not positive definite
#: (its coordinates have unit scale: beta in standard errors, where the curvature is 2)
_JOINT_CURVATURE_FLOOR = 0.01
#: largest move of a log family parameter in one BFGS iteration (a factor e^2 = 7.4)
_LOG_PARAMETER_MAX_STEP = 2.0
#: stage 1's tolerance on the predicted decrease of -2 log L where zero-inflation coefficients follow theta
#: (:func:`_stage_profiled_beta`, before a joint stage).  Stage 1's criterion (beta in PIRLS) has its own
#: optimum in beta_zi, which along a weakly determined zero part is far from the joint one: on Salamanders'
#: ZIP (``spp * mined``) stage 1 walked sppEC-L and sppEC-L:minedno from 0 to -11.5 / 12.1 in 27
#: evaluations, which the joint stage then walked back to -4.5 / 5.1 in 26; and cells whose coefficients
#: diverge (p -> 0 where the family explains the zeros) lower it by ever smaller amounts for tens of steps.
#: Stopping within 0.1 of it: stages 1 and 2 took 55 evaluations instead of 86 there (ZINB 86 instead of
#: 134, genpois 80 instead of 102), every reference case reaching the same joint optimum.
_ZI_STAGE1_FTOL = 0.1
#: BFGS iterations per round of a joint stage that may hold zero-inflation coefficients diverging to -inf
#: (:func:`_quasi_newton_holding_tail`: each round ends with a look for coefficients in the likelihood's tail)
_TAIL_ROUND = 4
#: what -2 log L could still gain by moving a held coefficient further out, as a fraction of the joint
#: stage's tolerance on the predicted decrease (:func:`_quasi_newton_holding_tail`)
_TAIL_MARGIN = 1e-3
#: L-BFGS's stored correction pairs (nlopt's vector storage).  nlopt's default is min(maxeval, 1310720 / n):
#: 100000 pairs at our maxeval, whose work arrays (3.2 MB for one coordinate) it allocated and zeroed on
#: every run: ~4% of a grouseticks fit's instructions.  Iterations beyond the stored pairs are the only ones
#: the cap changes, and no fit takes 1000 L-BFGS iterations.
_LBFGS_MEMORY = 1000
#: a re-evaluation at an objective's best point above its best criterion by more than this (relative):
#: PIRLS ended in another conditional mode, or far from the best evaluation's (:func:`_reevaluate`).  The
#: suite's re-evaluations differ by < 1e-14 but on the negative binomial at theta -> inf (glmer_nb's AR(1)
#: fit in tests/test_covariance.py, theta 2.5e6: 1.3e-7, PIRLS's path) and the Student-t's two modes (5.0)
_MODE_NOISE = 1e-8


def _run_nlopt(algorithm: int, obj: OptimizerObjective, x: np.ndarray, lower: np.ndarray, ftol_abs: float, xtol_abs: float,
               maxeval: int, step: np.ndarray | None = None) -> int:
    """One nlopt run minimising ``obj`` from ``x``; returns nlopt's status
    (the best point is kept by ``obj``).  nlopt raises where it gives up
    (RoundoffLimited; its own runtime_error when a line search fails).

    Ctrl-C inside an engine objective's evaluation does not raise into
    nlopt (its L-BFGS does not stop on an exception and would report its
    own error): the objective stops nlopt (``set_stop``) and keeps the
    KeyboardInterrupt, raised here once nlopt has returned.
    """
    opt = nlopt.opt(algorithm, x.size)
    opt.set_min_objective(obj)
    obj.set_stop(opt.force_stop)
    opt.set_lower_bounds(lower)
    if step is not None:
        opt.set_initial_step(step)
    opt.set_ftol_abs(ftol_abs)
    opt.set_xtol_abs(np.full(x.size, xtol_abs))
    opt.set_maxeval(maxeval)
    if algorithm == nlopt.LD_LBFGS:
        opt.set_vector_storage(min(_LBFGS_MEMORY, maxeval))
    try:
        opt.optimize(x)
        return opt.last_optimize_result()
    except nlopt.RoundoffLimited:
        return nlopt.ROUNDOFF_LIMITED
    except (nlopt.runtime_error, nlopt.ForcedStop):  # nlopt's own classes (not Python's RuntimeError)
        return nlopt.FAILURE
    finally:
        obj.set_stop(None)  # also breaks the cycle opt -> obj -> opt.force_stop
        obj.raise_interrupt()


def _ran(methods: list[str] | None, name: str) -> None:
    """Note in ``methods`` (a stage's record, for its ``optimizer``; None: not recorded) that the method
    ``name`` ran; a method that runs again straight after (BOBYQA's restarts) is noted once."""
    if methods is not None and (not methods or methods[-1] != name):
        methods.append(name)


def _bobyqa(obj: OptimizerObjective, x0: np.ndarray, lower: np.ndarray, step: np.ndarray,
            ftol_abs: float, xtol_abs: float, maxeval: int, restarts: int = 3,
            methods: list[str] | None = None) -> tuple[np.ndarray, float, int]:
    """Minimise the objective ``obj`` (the engine's ``_core.Objective`` or a
    :func:`~glmmfast.fit._objective.function_objective`) with BOBYQA, restarting (at most
    ``restarts`` times) from the solution until it stops improving (noted in ``methods``, :func:`_ran`)."""
    _ran(methods, "bobyqa")
    x = np.maximum(np.asarray(x0, dtype=float), lower)
    fbest, status = obj(x), 0
    for _ in range(1 + restarts):
        status = _run_nlopt(nlopt.LN_BOBYQA, obj, x, lower, ftol_abs, xtol_abs, maxeval, step)
        if obj.best_x is None:
            raise ConvergenceError(f"PIRLS failed at every one of {obj.evaluations} parameter values "
                                   f"tried (last: {obj.last_error or 'non-finite deviance'}): a link that can leave "
                                   "the mean's range (e.g. an identity link whose mean reaches 0) or data on an "
                                   "extreme scale")
        xnew, fnew = _feasible_best(obj, lower)
        improved = fbest - fnew
        x, fbest = xnew, fnew
        if improved < 10 * ftol_abs:
            break
        step = np.maximum(step * 0.1, 10 * xtol_abs)
    return x, fbest, status


def _feasible_best(obj, lower: np.ndarray) -> tuple[np.ndarray, float]:
    """The objective's best point, moved onto its bounds if it is outside.

    The objective keeps the best point of every evaluation, including the
    finite-difference ones of :func:`newton_polish`, which step across a
    bound (theta_jj = -h: the criterion is even in theta_jj); nlopt refuses
    to start outside the bounds (its bare ``invalid_argument``), so such a
    point is projected and re-evaluated.
    """
    x = np.array(obj.best_x, dtype=float)
    if np.all(x >= lower):
        return x, float(obj.best_f)
    x = np.maximum(x, lower)
    return x, float(obj(x))


def _lbfgs(obj: OptimizerObjective, x0: np.ndarray, lower: np.ndarray, step: np.ndarray, ftol_abs: float, xtol_abs: float,
           maxeval: int, methods: list[str] | None = None) -> tuple[np.ndarray, float, int]:
    """Minimise an objective with an exact gradient (``obj.has_gradient``) by
    L-BFGS; :func:`_bobyqa` finishes from the best point found where L-BFGS
    gives up (roundoff, a failed line search) or stops on a bound (the methods
    that ran are noted in ``methods``, :func:`_ran`).

    The bound matters: the deviance is even in each diagonal entry of T_t
    (only T_t T_t' enters), so its derivative there is 0 at 0, and a
    gradient method that lands on theta_jj = 0 cannot leave it even when the
    optimum is inside (a (pnum | herd) fit of cbpp stopped 0.45 above its
    optimum so); BOBYQA's trial steps off the bound find the way back.
    """
    _ran(methods, "lbfgs")
    x = np.maximum(np.asarray(x0, dtype=float), lower)
    status = _run_nlopt(nlopt.LD_LBFGS, obj, x, lower, ftol_abs, xtol_abs, maxeval, step)
    best = obj.best_x
    bounded = np.isfinite(lower)
    if (best is None or status not in (nlopt.FTOL_REACHED, nlopt.XTOL_REACHED, nlopt.SUCCESS)
            or np.any(best[bounded] - lower[bounded] < 10 * xtol_abs)):
        return _bobyqa(obj, x if best is None else best, lower, step, ftol_abs, xtol_abs, maxeval, methods=methods)
    return np.array(best), float(obj.best_f), status


def _quasi_newton(obj, x0: np.ndarray, hess0: np.ndarray, lower: np.ndarray, ftol_abs: float,
                  max_iter: int = 50, start: tuple[float, np.ndarray] | None = None,
                  max_step: np.ndarray | None = None, methods: list[str] | None = None,
                  method: str = "bfgs", with_gradient: bool = False) -> tuple | None:
    """BFGS with the exact gradient, started from a known Hessian
    (``cpp/src/quasi_newton.cpp``; the loop runs in the engine without the GIL).

    For a refit: the Hessian at the original optimum approximates the one at
    the new optimum, so the first step lands close and the BFGS updates
    finish in a few evaluations (L-BFGS, starting from the identity, needs
    about three times as many); for the joint stage of a fit, a Hessian
    measured at its start (:func:`_joint_hessian_at_start`).  Steps are
    Newton steps with backtracking (Armijo); it stops when the predicted
    decrease g'B^{-1}g / 2 is below ``ftol_abs``, leaving the engine at the
    returned point.  Returns None where it cannot finish (a bound would
    become active, a PIRLS failure, a Hessian that is not positive definite,
    no progress): the caller then falls back to L-BFGS.  ``start`` is
    ``(f, g)`` at ``x0`` where the caller has evaluated them already;
    ``max_step`` the largest move of each coordinate in one iteration
    (:meth:`_GlmerProblem.max_steps`; none by default).  Noted in ``methods``
    as ``method`` (:func:`_ran`).  ``with_gradient``: the exact gradient at the returned point
    follows the status (the iteration's own, no new evaluation).
    """
    _ran(methods, method)
    out = obj.quasi_newton(np.asarray(x0, dtype=float), np.asarray(hess0, dtype=float),
                           np.asarray(lower, dtype=float), float(ftol_abs), int(max_iter), start,
                           None if max_step is None else np.asarray(max_step, dtype=float), resumable=with_gradient)
    if out is None or (with_gradient and not out[2]):  # (resumable: also a stop at max_iter, not converged)
        return None
    if with_gradient:
        return np.asarray(out[0]), float(out[1]), nlopt.SUCCESS, np.asarray(out[3])
    return np.asarray(out[0]), float(out[1]), nlopt.SUCCESS


def _joint_hessian_at_start(obj, x0: np.ndarray, ntheta: int, vbeta: np.ndarray, scale: np.ndarray,
                            h: float = 1e-3, known: tuple[np.ndarray, np.ndarray] | None = None
                            ) -> tuple[float, np.ndarray, np.ndarray] | None:
    """The deviance, its gradient and an approximate Hessian at the start
    ``x0`` of the joint stage (coordinates theta / s, then gamma with
    beta = beta_base + scale * gamma, then the zero-inflation coefficients
    and the family parameter), for :func:`_quasi_newton`.

    Columns for theta and the coordinates after beta are forward
    differences of the exact gradient (one evaluation each,
    :func:`_hessian_with_known_blocks`); the gamma block
    is 2 D V^{-1} D with V the unscaled covariance of beta (the deviance is
    -2 log L, and V^{-1} = R_X' R_X, from the block R_X of the penalised
    system's Cholesky factor in Bates et al. 2015, is its curvature in beta
    with u re-optimised) and D = diag(scale); ``known``: one more exact
    block (:meth:`_GlmerProblem.known_zero_part`).  None where an evaluation fails.
    """
    g0 = np.empty(x0.size)
    f0 = obj(x0, g0)
    if f0 >= _PENALTY:
        return None
    try:
        beta_block = 2.0 * np.linalg.inv(vbeta) * (scale[:, None] * scale)  # D V^{-1} D (np.outer's products)
    except np.linalg.LinAlgError:
        return None
    blocks = [(np.arange(ntheta, ntheta + vbeta.shape[0]), beta_block)] + ([] if known is None else [known])
    H = _hessian_with_known_blocks(obj, x0, g0, blocks, h)
    return None if H is None else (f0, g0, H)


def _hessian_with_known_blocks(obj, x0: np.ndarray, g0: np.ndarray,
                               blocks: list[tuple[np.ndarray, np.ndarray]], h: float) -> np.ndarray | None:
    """A Hessian at ``x0`` (gradient ``g0`` there) from exact diagonal blocks ``(index, block)`` and forward
    differences of the exact gradient (:func:`_gradient_differences`) in every other coordinate: those
    columns carry the cross terms with the known blocks; cross terms between two known blocks are 0
    (the callers' blocks have none: beta's with the zero part's of a separable zero part).  None where an
    evaluation fails."""
    n = x0.size
    if not blocks:  # every column measured: the symmetrised differences themselves
        cols = _gradient_differences(obj, x0, g0, n, h)
        return None if cols is None else 0.5 * (cols + cols.T)
    H = np.zeros((n, n))
    known = set()
    for index, block in blocks:
        index = np.asarray(index)
        H[index[:, None], index] = block  # H[np.ix_(index, index)], without ix_'s cost on a small fit
        known.update(index.tolist())
    measured = np.array([i for i in range(n) if i not in known], dtype=np.intp)  # (one array for the indexing)
    if measured.size:
        cols = _gradient_differences(obj, x0, g0, measured, h)
        if cols is None:
            return None
        H[:, measured] = cols
        H[measured, :] = cols.T
        square = cols[measured]
        H[measured[:, None], measured] = 0.5 * (square + square.T)
    return H


def _gradient_differences(obj, x0: np.ndarray, g0: np.ndarray, columns: int | np.ndarray,
                          h: float) -> np.ndarray | None:
    """Forward differences (g(x0 + h e_i) - g0) / h of the exact gradient for
    the first ``columns`` coordinates (or those indexed by it; one
    evaluation each): those columns of the Hessian.  None where an
    evaluation fails.  The loop runs in the engine (``Objective.forward_differences``,
    cpp/src/optim/gradient_differences.cpp): no Python frame per evaluation."""
    index = range(columns) if isinstance(columns, (int, np.integer)) else np.asarray(columns).tolist()
    return obj.forward_differences(x0, g0, index, h)


def optimize_lmer(model, reml: bool, theta0: np.ndarray | None = None) -> tuple[np.ndarray, float, OptimizerInfo]:
    """Minimise the profiled criterion of ``model`` (an engine LmmModel) over theta.

    Beta, u and sigma are profiled out in the engine, which also gives the
    criterion's exact gradient in theta (cpp/src/model/cross_product_lmm.cpp), so the
    machinery of :func:`optimize_glmer`'s joint stage applies: BFGS steps
    from a Hessian measured at the start (``theta0``: lme4's, identity relative
    covariance factors, unless the caller has a better one, such as
    :func:`~glmmfast.fit._lmm_start.moment_theta_start`'s; :func:`_quasi_newton`), L-BFGS where those cannot finish (an
    indefinite start Hessian, a bound reached) and BOBYQA where L-BFGS
    stops on a bound or gives up (:func:`_lbfgs`).  At the optimum the
    exact gradient and its differences (the Hessian) go to ``info``
    for the convergence checks, and a theta on its bound is kept only if the
    criterion rises along the directional derivatives into the interior
    (:func:`_descent_off_bounds`); otherwise BOBYQA restarts off the bound.

    Parameters
    ----------
    model : glmmfast._core.LmmModel or glmmfast._core.CrossProductLmm
    reml : bool
        Minimise the REML criterion (True) or -2 log L (False).
    theta0 : ndarray, optional
        The start (default lme4's, ``model.initial_theta()``, which also
        remains the start of the second path off a bound, :func:`_leave_bounds`).

    Returns
    -------
    theta : ndarray
    criterion : float
    info : OptimizerInfo
    """
    info = OptimizerInfo(optimizer="lbfgs", factorization=model.factorization)
    lower = np.asarray(model.lower_bounds(), dtype=float)
    obj = _core.lmm_objective(model, reml)
    x0 = np.asarray(model.initial_theta(), dtype=float)
    start = x0 if theta0 is None else np.maximum(np.asarray(theta0, dtype=float), lower)
    clock = StageClock(model)
    f0, g0, hess0 = _measured_hessian(obj, start, 1e-3, "the start")
    # The Newton decrement of BFGS's last step below ftol leaves theta within
    # ~sqrt(2 ftol / curvature) of the optimum; the Newton step on the
    # Hessian measured there (below) squares that distance.  BFGS stops at
    # the looser _LMM_BFGS_FTOL: the measured Hessian's Newton step from there
    # must meet ftol, else BFGS goes on (_polished_lmm_optimum).
    ftol = 1e-11 * max(1.0, abs(f0))
    methods: list[str] = []
    done = _quasi_newton(obj, start, _positive_definite(hess0), lower, _LMM_BFGS_FTOL * max(1.0, abs(f0)),
                         start=(f0, g0), methods=methods, with_gradient=True)
    read = 0  # the criterion and gradient at theta read off the engine (L-BFGS's end), as one evaluation
    if done is not None:
        theta, crit, status, gradient = done
        here = (crit, gradient)  # BFGS's end: its own criterion and gradient
    else:  # from the best point so far: L-BFGS, BOBYQA near a bound
        x = np.asarray(obj.best_x if obj.best_x is not None else start, dtype=float)
        theta, crit, status = _lbfgs(obj, x, lower, np.full(lower.size, 0.25), ftol, 1e-8, 100000, methods)
        here = _lmm_derivative_at(model, theta, reml)  # the engine left at theta: its gradient without refactoring
        read = int(here is not None)
    info.add_stage("theta (beta, sigma profiled)", "stage 1", clock, (obj,), crit, status, optimizer=methods)
    # Derivatives at the optimum (also lme4's convergence checks), and the
    # test of the bounds.
    clock = StageClock(model)
    check = _core.lmm_objective(model, reml)
    theta, crit, info.gradient, info.hessian = _polished_lmm_optimum(check, theta, crit, lower, ftol, here)
    # Every bound test below looks at coordinates within _FD_STEP of a finite bound (lower = -inf: never):
    # where there is none (the usual fit) they all pass, without their numpy calls.
    near_bound = bool((theta - lower < _FD_STEP).any())
    off = _descent_off_bounds(theta, lower, info.gradient, info.hessian, crit) if near_bound else None
    if near_bound and not off.any():
        theta, crit, info.gradient = _onto_bounds(check, theta, crit, lower, info.gradient)
    info.add_stage("derivatives at the optimum", "hessian", clock, (check,), crit, evaluations=read,
                   gradient_evaluations=read)
    if near_bound and (off.any() or (np.isfinite(lower) & (theta - lower <= 1e-8)).any()):
        clock = StageClock(model)
        retry = _core.lmm_objective(model, reml)
        theta_in, crit_in = theta, crit
        theta, crit, status = _leave_bounds(retry, theta, crit, lower, off, x0, ftol, status)
        if crit < crit_in:
            theta, crit, info.gradient, info.hessian, _ = _measured_newton(retry, theta, crit, lower)
            theta, crit, info.gradient = _onto_bounds(retry, theta, crit, lower, info.gradient)
        else:
            theta, crit = theta_in, crit_in
        info.add_stage("theta off a bound (BOBYQA)", "stage 1", clock, (retry,), crit, status, optimizer="bobyqa")
    crit = lmm_criterion_at(model, theta, reml)
    return theta, crit, info


def _polished_lmm_optimum(obj, theta: np.ndarray, crit: float, lower: np.ndarray, ftol: float,
                          here: tuple[float, np.ndarray] | None) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """theta, the criterion, its exact gradient and the measured Hessian at the end of an LMM's BFGS stopped
    at ``_LMM_BFGS_FTOL``: the Hessian measured there and its Newton step (:func:`_measured_newton`); where the
    predicted decrease g'H^{-1}g / 2 over the free coordinates is still ``ftol`` or more after that step,
    BFGS from that Hessian down to ``ftol``, then the Hessian and its Newton step again (the end meets the
    tolerance BFGS would have stopped on, judged on a better Hessian than BFGS's).  ``here``: the
    criterion and gradient at ``theta`` where known."""
    theta, crit, gradient, hessian, decrease = _measured_newton(obj, theta, crit, lower, here)
    if decrease >= ftol:  # (NaN where the Hessian is singular: it predicts nothing, the bound checks decide)
        more = _quasi_newton(obj, theta, _positive_definite(hessian), lower, ftol, start=(crit, gradient))
        if more is not None and more[1] < crit:
            theta, crit, gradient, hessian, _ = _measured_newton(obj, more[0], more[1], lower)
    return theta, crit, gradient, hessian


def _lmm_derivative_at(model, theta: np.ndarray, reml: bool) -> tuple[float, np.ndarray] | None:
    """The criterion and its exact gradient at ``theta`` from the LMM engine's last evaluation
    (no new factorisation), or None where that was not at ``theta`` (or failed)."""
    if not _same_point(model.theta, theta):
        return None
    try:
        return float(model.criterion(reml)), np.asarray(model.gradient(reml), dtype=float)
    except _core.PirlsError:
        return None


def _same_point(engine_theta, theta: np.ndarray) -> bool:
    """Whether the engine's theta (an array it returns) is ``theta``, entry for entry (np.array_equal's answer,
    without its conversions: it runs on every small fit)."""
    engine_theta = np.asarray(engine_theta)
    return engine_theta.shape == np.shape(theta) and bool((engine_theta == theta).all())


def lmm_criterion_at(model, theta: np.ndarray, reml: bool) -> float:
    """The criterion at ``theta`` with the LMM engine (LmmModel or CrossProductLmm) left there:
    evaluated only if its last evaluation was elsewhere (or failed), else read off (the same number)."""
    if _same_point(model.theta, theta):
        try:
            return float(model.criterion(reml))
        except _core.PirlsError:  # the last evaluation at theta failed: evaluate again
            pass
    return float(model.deviance(theta, reml))


def _leave_bounds(obj, theta: np.ndarray, crit: float, lower: np.ndarray, off: np.ndarray, x0: np.ndarray,
                  ftol: float, status: int) -> tuple[np.ndarray, float, int]:
    """BOBYQA restarts from a theta with coordinates on their bounds, before
    the fit is called singular: from off the bounds where the directional
    derivatives say the criterion falls (``off``), or where steps off them
    find lower values (:func:`_step_off_bounds`: the criterion is even in a
    column of T_t, so both derivatives can vanish there); then, while a
    coordinate stays on its bound, a second path from lme4's start ``x0``
    with a wide trust region, which escapes a local minimum on the bound
    (Machines' (Machine || Worker): 211.78 there, 208.31 at lme4's optimum).
    The deviance is even in a diagonal of T_t, so a gradient method that
    reaches theta_jj = 0 sees no slope there; BOBYQA's trial steps find the
    way back into the interior."""
    step = np.full(lower.size, 0.05)
    for _ in range(3):
        if off.any():
            start = theta.copy()
            start[off] = lower[off] + 0.1  # theta is relative (sd / sigma): 0.1 is a small step on its scale
            off = np.zeros_like(off)
        else:
            start = _step_off_bounds(obj, theta, crit, lower, 1000 * ftol)
        if start is None:
            break
        x, f, st = _bobyqa(obj, start, lower, step, ftol, 1e-6, 100000)
        if f < crit:
            theta, crit, status = x, f, st
    if np.any(np.isfinite(lower) & (theta - lower <= 1e-8)):
        alt, falt, alt_status = _bobyqa(obj, x0, lower, np.full(lower.size, 1.0), ftol, 1e-6, 100000)
        if falt < crit - 1000 * ftol:
            theta, crit, status = alt, falt, alt_status
    return theta, crit, status


def _measured_hessian(obj, x: np.ndarray, h: float, where: str,
                      at_x: tuple[float, np.ndarray] | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """The criterion, its exact gradient and the Hessian from forward
    differences of the gradient at ``x`` (one evaluation per coordinate,
    stepping into the feasible side; error O(h), as the finite differences
    of the criterion lme4 uses), symmetrised, in one engine call
    (``Objective.measured_hessian``, cpp/src/optim/measured_newton.cpp).  Raises ConvergenceError
    where an evaluation fails (``where`` names the point).  ``at_x``: the
    criterion and gradient at ``x``, where the caller has them."""
    out = obj.measured_hessian(x, h, at_x)
    if out is None:
        raise ConvergenceError(f"the criterion cannot be evaluated at {where}: {obj.last_error}")
    return out


def _measured_newton(obj, x: np.ndarray, fx: float, lower: np.ndarray, at_x: tuple[float, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, float]:
    """The Hessian measured at a quasi-Newton optimum ``x`` (criterion ``fx``; as :func:`_measured_hessian`,
    step ``_FD_STEP``) and one Newton step on it over the coordinates not within ``_FD_STEP`` of their
    bound, kept (with the exact gradient there) if it lowers the criterion: it takes theta from ~1e-6
    to ~1e-9 of the optimum.  Only steps below ``_NEWTON_REACH`` (ten of the differences' own steps) are
    taken, over which the Hessian still holds to a fraction of a percent: BFGS stopping on its predicted
    decrease leaves a coordinate of small curvature up to ~1e-4 short (a variance of 100 crossed levels
    in 10^5 rows: 1.5e-4).  Returns the end point, its criterion and gradient, the Hessian and the
    decrease g'H^{-1}g / 2 still predicted from the end (NaN where the Hessian is singular); one engine
    call (``Objective.measured_newton``, cpp/src/optim/measured_newton.cpp).  Raises ConvergenceError
    where an evaluation of the differences fails.  ``at_x``: the criterion and gradient at ``x``, where
    the caller has them."""
    out = obj.measured_newton(x, fx, lower, _FD_STEP, _FD_STEP, _NEWTON_REACH, at_x)
    if out is None:
        raise ConvergenceError(f"the criterion cannot be evaluated at the optimum: {obj.last_error}")
    return out


def _positive_definite(H: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """H with its eigenvalues replaced by their absolute values (floored at
    1e-8 of the largest, and at ``floor``): the modified Newton step of
    Nocedal and Wright (2006, sec. 3.4), which still descends where H is
    indefinite.  lme4's start (theta = 1) is often on the far side of an
    inflection: sleepstudy's Hessian there has an eigenvalue of -28, yet BFGS
    from the modified one takes 12 evaluations to L-BFGS's 37."""
    if H.shape == (1, 1):  # its own eigenpair (H, 1): LAPACK's answer, without a call costing more than the fit's step
        a = abs(float(H[0, 0]))
        return np.array([[max(a, max(1e-8 * max(a, 1e-300), floor))]])
    lam, V = np.linalg.eigh(H)
    lam = np.maximum(np.abs(lam), max(1e-8 * max(np.abs(lam).max(), 1e-300), floor))
    return (V * lam) @ V.T


def _onto_bounds(obj, x: np.ndarray, fx: float, lower: np.ndarray,
                 grad: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Coordinates within the finite-difference step of a bound the
    criterion does not fall from, put on it where that does not raise the
    criterion (beyond its rounding): BFGS approaches a boundary optimum
    geometrically and stops ~1e-6 short, where lme4's BOBYQA lands on 0."""
    near = np.isfinite(lower) & (x != lower) & (x - lower < _FD_STEP)
    if not near.any():
        return x, fx, grad
    xs = x.copy()
    xs[near] = lower[near]
    gs = np.empty(x.size)
    fs = obj(xs, gs)
    return (xs, fs, gs) if fs <= fx + 1e-13 * max(1.0, abs(fx)) else (x, fx, grad)


def _descent_off_bounds(x: np.ndarray, lower: np.ndarray, grad: np.ndarray, hess: np.ndarray,
                        fx: float) -> np.ndarray:
    """Coordinates on their lower bound along which the criterion decreases into the interior.

    The one-sided directional derivative there is ``grad[j]``: negative
    means the criterion falls.  Where it is zero because the criterion is
    even in the coordinate (a diagonal of T_t at 0, or a whole column of
    T_t at 0), the second directional derivative ``hess[j, j]`` decides.
    Thresholds are well above the derivatives' noise: the exact gradient
    carries the criterion's rounding (~1e-13 |f|), and the forward
    differences of an even function at 0 are exact to O(h^2) = 1e-8.
    """
    at = np.isfinite(lower) & (x - lower < _FD_STEP)
    scale = max(1.0, abs(fx))
    falls = (grad < -1e-6 * scale) | ((np.abs(grad) <= 1e-6 * scale) & (np.diag(hess) < -1e-6 * scale))
    return at & falls


def _step_off_bounds(f, x: np.ndarray, fx: float, lower: np.ndarray, ftol: float) -> np.ndarray | None:
    """A point below ``fx`` one step off the bound of a coordinate that sits on it, else None.

    BOBYQA can stop with a theta_jj on its bound 0 although the optimum is
    inside: the criterion is even in the whole column j of T (only T T'
    enters), so near the bound it is flat to first order in theta_jj and
    the trust region collapses there (the fit would be reported singular).
    The first-order test (the one-sided directional derivative) is blind
    to that, so steps of increasing length along each such coordinate are
    tried; the first that lowers the criterion by more than ``ftol`` is
    returned as a restart point.
    """
    on_bound = np.flatnonzero(np.isfinite(lower) & (x - lower <= 1e-8))
    best, fbest = None, fx - ftol
    for j in on_bound:
        for h in (1e-3, 1e-2, 0.1, 0.5, 2.0):
            xt = x.copy()
            xt[j] = lower[j] + h
            ft = float(f(xt))
            if ft < fbest:
                best, fbest = xt, ft
    return best


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


def _measured_quasi_newton(obj, x0: np.ndarray, lower: np.ndarray, step: np.ndarray, tol: float,
                           nAGQ: int, max_step: np.ndarray | None = None,
                           known: tuple[np.ndarray, np.ndarray] | None = None,
                           ftol: float | None = None,
                           methods: list[str] | None = None) -> tuple[np.ndarray, float, int]:
    """Stage 1 with coordinates after theta: BFGS (:func:`_quasi_newton`) from the
    Hessian measured at ``x0`` by forward differences of the exact gradient
    (made positive definite, :func:`_positive_definite`); L-BFGS (and BOBYQA
    near a bound, :func:`_lbfgs`) from the best point where that cannot finish.

    The start's eigenvalues are floored at 10 (curvature of -2 log L): the
    first steps along flat or concave directions, which a zero-inflation
    likelihood has at its start, then move at most |g| / 10, a trust region
    that keeps the iteration in the start's basin as glmmTMB's nlminb does.
    Without it (floor 1e-8 of the largest) BFGS jumped from the start of
    Salamanders' additive ZINB to a point with zero-inflation coefficients
    diverging (-2 log L 4.8 below glmmTMB's optimum, a different basin), and
    from the ZINB with ``spp * mined`` to one 5.3 above it.  ``known``: an exact diagonal block
    ``(index, block)`` of the Hessian, not differenced (:meth:`_GlmerProblem.known_zero_part`); ``ftol``: the
    tolerance on the predicted decrease (default ``tol``, or 1e-8 of the criterion where that is coarser);
    ``methods``: the record of the methods that ran (:func:`_ran`)."""
    g0 = np.empty(x0.size)
    f0 = obj(x0, g0)
    ftol = max(tol if ftol is None else ftol, 0.0 if nAGQ == 0 else 1e-8 * abs(f0))
    hess = None if f0 >= _PENALTY else _hessian_with_known_blocks(obj, x0, g0, [] if known is None else [known], 1e-4)
    done = None
    if hess is not None and np.isfinite(hess).all():
        hess0 = _positive_definite(hess, floor=10.0)
        done = _quasi_newton(obj, x0, hess0, lower, ftol, start=(f0, g0), max_step=max_step, methods=methods)
    if done is not None:
        return done
    x = np.asarray(obj.best_x if obj.best_x is not None else x0, dtype=float)
    return _lbfgs(obj, x, lower, step, ftol, tol, 100000, methods)


def _reevaluate(obj, x: np.ndarray, restart) -> float:
    """``obj.evaluate(x)`` again (to leave the engine there), once more after ``restart()``
    if PIRLS fails from where the last trial point left it.

    Where ``x`` is ``obj``'s best point and PIRLS, from where the last trial
    point left the conditional modes, ends in another mode than the best
    evaluation reached (its criterion above ``obj.best_f`` by more than
    :data:`_MODE_NOISE` relative), PIRLS starts again from the best
    evaluation's state (``Objective.return_to_best``).  A Student-t GLMM's
    conditional density is not log-concave: after L-BFGS's failed trial points
    stage 1's optimum (-2 log L -4212) re-evaluated to 17011, and stage 2 started there.
    """
    try:
        f = float(obj.evaluate(x))
    except _core.PirlsError:
        restart()
        f = float(obj.evaluate(x))
    best = obj.best_x
    if best is not None and f > obj.best_f + _MODE_NOISE * max(1.0, abs(obj.best_f)) and np.array_equal(best, x):
        f = float(obj.return_to_best())
    return f


@dataclass
class _GlmerProblem:
    """What both stages of :func:`optimize_glmer` share: the engine, the bounds
    of theta, the estimated family parameter and the scale of theta."""

    model: object
    lower: np.ndarray
    p: int
    nAGQ: int
    parameter: FamilyParameter | None
    theta_scale: float
    #: the dispersion's moment estimate at the engine's conditional means, or None (see :func:`optimize_glmer`)
    dispersion_estimate: Callable[[object], float] | None = None
    #: the zero part's exact Hessian in beta_zi where it separates, or None (see :func:`optimize_glmer`)
    zero_part_hessian: Callable[[np.ndarray], np.ndarray] | None = None
    #: an upper bound on the zero part's curvature in beta_zi, or None (see :func:`optimize_glmer`)
    zero_part_information: Callable[[np.ndarray], np.ndarray] | None = None
    #: theta's start is near the optimum: stage 1 from a Hessian measured there (see :func:`optimize_glmer`)
    measured_start: bool = False
    #: the zero part's rows, for holding coefficients diverging to -inf (see :func:`optimize_glmer`), or None
    zero_part_tail: ZeroPartTail | None = None

    @property
    def ntheta(self) -> int:
        return self.lower.size

    @functools.cached_property  # (the engine's counts are fixed: read once, not on every stage's arrays)
    def n_zi(self) -> int:
        """Zero-inflation coefficients among the extra coordinates (the engine's n_zi)."""
        return int(self.model.n_zi)

    @functools.cached_property
    def n_disp(self) -> int:
        """Dispersion-model coefficients among the extra coordinates (the engine's n_disp)."""
        return int(self.model.n_disp)

    @property
    def npar(self) -> int:
        """Coordinates after theta (and beta): the zero-inflation coefficients, the dispersion model's, then the
        family parameter."""
        return self.n_zi + self.n_disp + (0 if self.parameter is None else self.parameter.size)

    def extra_steps(self, zi_step: float, parameter_step: float) -> np.ndarray:
        """Initial optimiser steps of the extra coordinates (the dispersion model's as the zero part's)."""
        return np.concatenate([np.full(self.n_zi + self.n_disp, zi_step),
                               np.full(0 if self.parameter is None else self.parameter.size, parameter_step)])

    @functools.cached_property  # (fixed for the problem: built once for both stages)
    def extra_lowers(self) -> np.ndarray:
        """The optimiser's lower bounds of the extra coordinates: none but the family parameter's
        (``optimizer_lowers``: a Tweedie power's logit(p - 1) stays above -10)."""
        return np.concatenate([np.full(self.n_zi + self.n_disp, -np.inf),
                               [] if self.parameter is None else self.parameter.optimizer_lowers()])

    def max_steps(self, before: int) -> np.ndarray | None:
        """The largest move per BFGS iteration of each coordinate, ``before`` coordinates ahead of the
        extra ones: :data:`_LOG_PARAMETER_MAX_STEP` for the family parameter's (log scale), none
        elsewhere; None without a family parameter (no cap: :func:`_quasi_newton`'s default, as every
        cap infinite).  On a dispersion model for the t's sigma, BFGS's sixth step took log df from 2.5
        to -19.6, where PIRLS failed after its 300 iterations twice, 80% of the fit's time."""
        if self.parameter is None:
            return None
        caps = np.full(before + self.npar, np.inf)
        caps[before + self.n_zi + self.n_disp:] = _LOG_PARAMETER_MAX_STEP
        return caps

    def known_zero_part(self, x: np.ndarray, before: int,
                        upper_bound: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
        """The zero-inflation coordinates of ``x`` (``before`` coordinates ahead of them) and the exact
        Hessian block there where the zero part separates (``zero_part_hessian``); with ``upper_bound``,
        elsewhere its complete-data information (``zero_part_information``); else None."""
        block = self.zero_part_hessian or (self.zero_part_information if upper_bound else None)
        if block is None or not self.n_zi:
            return None
        index = np.arange(before, before + self.n_zi)
        return index, np.asarray(block(x[index]), dtype=float)

    def objective(self, stage: ObjectiveStage, theta_scale: float | None = None, beta_base=None, beta_scale=None):
        """The engine's objective of ``stage`` (theta on ``theta_scale``, default the problem's)."""
        scale = self.theta_scale if theta_scale is None else theta_scale
        return glmm_objective(self.model, stage, self.parameter, scale, self.nAGQ, beta_base, beta_scale)

    def reset(self) -> None:
        """Conditional modes back to 0 (PIRLS's safe start)."""
        self.model.set_u(np.zeros(self.model.q))


def optimize_glmer(model, theta0: np.ndarray, beta0: np.ndarray, nAGQ: int = 1,
                   parameter: FamilyParameter | None = None, theta_scale: float = 1.0,
                   warm_start: bool = False, hessian: np.ndarray | None = None,
                   dispersion_estimate: Callable[[object], float] | None = None,
                   zero_part_hessian: Callable[[np.ndarray], np.ndarray] | None = None,
                   zero_part_information: Callable[[np.ndarray], np.ndarray] | None = None,
                   measured_start: bool = False, zero_part_tail: ZeroPartTail | None = None
                   ) -> tuple[np.ndarray, np.ndarray, float, OptimizerInfo]:
    """Maximise the approximate likelihood of ``model`` (an engine GlmmModel).

    The stages: :func:`_warm_start_holds` (may a refit skip stage 1?),
    :func:`_stage_profiled_beta` (stage 1) and :func:`_stage_joint` (stage 2).

    Parameters
    ----------
    model : glmmfast._core.GlmmModel
    theta0, beta0 : ndarray
        Starting values (beta0 typically from the GLM without random effects).
    nAGQ : int
        0: stop after stage 1 (the fast fit); 1: Laplace; k > 1: k-point
        adaptive Gauss-Hermite quadrature in stage 2.
    parameter : FamilyParameter, optional
        A family parameter to estimate as well, started at its value; its
        estimate is returned in ``info.family_parameter``.
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
    hessian : ndarray, optional
        With ``warm_start``: the Hessian of -2 log L in (theta, beta) at the
        start (the original fit's).  Where the exact gradient exists, stage
        2 is then a quasi-Newton iteration from it (:func:`_quasi_newton`).
    dispersion_estimate : callable, optional
        With ``parameter`` the dispersion phi: its moment estimate from the
        conditional means, ``f(model) -> phi`` at the engine's current state
        (the Pearson chi-squared over its residual df).  Stage 1 restarts
        phi there after its first evaluation (:func:`_restart_dispersion`).
    zero_part_hessian : callable, optional
        Where the zero part separates from the rest of the likelihood (a
        hurdle or ziGamma without random effects in the ziformula), the exact
        Hessian of -2 log L in beta_zi, ``f(beta_zi) -> ndarray``
        (:func:`~glmmfast.fit._zero_inflation.separable_zero_part_hessian`):
        both stages' start Hessians take that block, and 0 for its cross
        terms, instead of one gradient evaluation per zero-inflation coefficient.
    zero_part_information : callable, optional
        The zero part's complete-data information in beta_zi, ``f(beta_zi) -> ndarray``
        (:func:`~glmmfast.fit._zero_inflation.zero_part_information`), an upper
        bound on its curvature: where the zero part does not separate, stage 1's
        start Hessian takes it as its beta_zi block (the cross terms still
        measured, in theta's and the family parameter's columns), so its first
        steps are no longer than Newton's; Salamanders' ZIP with ``spp * mined``:
        stages 1 and 2 in 41 evaluations instead of 55, its ZINB 67 instead of 86.
    measured_start : bool
        Stage 1 takes BFGS steps from a Hessian measured at theta0
        (:func:`_measured_quasi_newton`) instead of L-BFGS from the identity:
        where theta0 is an estimate near the optimum (the GLMM moment start,
        :mod:`~glmmfast.fit._glmm_start`), on the convex side of the stage-1
        deviance, and (at nAGQ <= 1) where every term is scalar.  There lme4's theta0 = 1
        often lies beyond the deviance's inflection (~ q log theta^2 +
        |b|^2 / theta^2 in theta: concave beyond sqrt(3) times the optimum),
        where L-BFGS's secant steps overshoot to the bound 0, project onto it,
        see the derivative 0 there (the deviance is even in theta) and stop:
        cbpp's probit GLMM ended stage 1 at theta 0.75 (8 above its optimum,
        stage 2 then took 14 evaluations).  The Newton step from the measured
        curvature lands near the optimum (0.50 against 0.34), and BFGS halves
        an overshooting step back inside the bound: 26 evaluations in all
        instead of 30 there, fewer or one more on the other scalar GLMMs of
        benchmarks/problems.py (vector terms keep L-BFGS: their measured start
        Hessian, concave in several directions, costs more than it saves).
    zero_part_tail : ZeroPartTail, optional
        The zero part's rows (:func:`~glmmfast.fit._zero_inflation.zero_part_tail`):
        the joint stage's BFGS from its measured start Hessian then holds
        zero-inflation coefficients diverging to -inf where what -2 log L could
        still gain by moving them on is below its tolerance
        (:func:`_quasi_newton_holding_tail`).

    Returns
    -------
    theta, beta : ndarray
    deviance : float
        The complete -2 log L (with the family's normalising constants).
    info : OptimizerInfo
    """
    info = OptimizerInfo(theta_scale=float(theta_scale))
    problem = _GlmerProblem(model, np.asarray(model.lower_bounds(), dtype=float), len(beta0), nAGQ, parameter,
                            theta_scale, dispersion_estimate, zero_part_hessian, zero_part_information,
                            measured_start, zero_part_tail)
    # Optimiser coordinates (see cpp/src/optim/objective.hpp): theta / theta_scale,
    # then in stage 2 the scaled beta, then the zero-inflation and dispersion-model
    # coefficients (started at the engine's), then the family parameter on its optimiser scale.
    logpar = np.concatenate([np.asarray(model.beta_zi, dtype=float),
                             np.asarray(model.beta_disp, dtype=float) if problem.n_disp else [],
                             parameter.optimizer_coordinates() if parameter is not None else []])
    theta, beta = np.asarray(theta0, dtype=float), np.asarray(beta0, dtype=float)
    warm = warm_start and nAGQ >= 1 and _warm_start_holds(problem, theta, beta, logpar)
    if not warm:
        theta, beta, logpar, dev1, hessian = _stage_profiled_beta(problem, theta, beta, logpar, info)
        if nAGQ == 0:
            return theta, beta, dev1, info
    return _stage_joint(problem, theta, beta, logpar, info, hessian, None if warm else dev1)


def _warm_start_holds(problem: _GlmerProblem, theta: np.ndarray, beta: np.ndarray, logpar: np.ndarray) -> bool:
    """PIRLS converges at the warm start (else the conditional modes are reset and both stages run)."""
    at_start = problem.objective(ObjectiveStage.JOINT, beta_base=beta, beta_scale=np.ones(problem.p))
    try:
        at_start.evaluate(np.concatenate([theta / problem.theta_scale, np.zeros(problem.p), logpar]))
    except _core.PirlsError:
        problem.reset()
        return False
    return True


def _stage_profiled_beta(problem: _GlmerProblem, theta: np.ndarray, beta0: np.ndarray, logpar: np.ndarray,
                         info: OptimizerInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray | None]:
    """Stage 1: theta (and the family parameter), with beta updated inside PIRLS (the nAGQ = 0 deviance);
    before an AGQ stage 2, then theta and beta on the Laplace deviance (:func:`_laplace_optimum`).

    Returns theta, beta, the family parameter's coordinate, the deviance
    and the Laplace optimum's Hessian in (theta, beta) (None without one),
    leaving the engine there.
    """
    clock = StageClock(problem.model)
    model, nAGQ, npar, theta_scale = problem.model, problem.nAGQ, problem.npar, problem.theta_scale
    ntheta = problem.ntheta
    x_theta = np.concatenate([theta / theta_scale, logpar])
    model.set_beta(beta0)
    obj1 = problem.objective(ObjectiveStage.PROFILED_BETA)
    objectives = [obj1]  # the stage's: a rescaled objective may follow the first
    methods: list[str] = []  # the stage's optimizer(s)
    if problem.dispersion_estimate is not None:
        x_theta = _restart_dispersion(problem, obj1, x_theta)
    # Stage 1 only supplies a start for stage 2: no restarts.  With the
    # exact gradient (canonical links) L-BFGS replaces BOBYQA: 6-15
    # evaluations instead of 8-76 on the grouseticks and cbpp models.
    tol1 = 1e-8 if nAGQ == 0 else 1e-5
    ftol1 = _ZI_STAGE1_FTOL if nAGQ > 0 and problem.n_zi else None
    lower1 = np.concatenate([problem.lower, problem.extra_lowers])
    step1 = np.full(ntheta + npar, 0.25)  # theta's and every extra coordinate's
    stretch = 1.0  # optimiser coordinates = theta / (theta_scale * stretch)
    if obj1.has_gradient and (npar or problem.measured_start):
        # Zero-inflation coefficients or a family parameter: coordinates on
        # other scales than theta's, so BFGS steps from a Hessian measured at
        # the start (differences of the exact gradient) rather than L-BFGS
        # from the identity, whose first step x0 - g can land anywhere.
        # Likewise from a moment start near the optimum (convex there): 5
        # evaluations instead of 22 on 10^6 crossed Poisson rows; and where every
        # term is scalar (optimize_glmer's measured_start: BFGS halves a step that
        # overshoots theta = 0 back inside, where L-BFGS stopped on the bound).
        x1, dev1, st1 = _measured_quasi_newton(obj1, x_theta, lower1, step1, tol1, nAGQ, problem.max_steps(ntheta),
                                               problem.known_zero_part(x_theta, ntheta, upper_bound=True), ftol1,
                                               methods)
    elif obj1.has_gradient:
        # L-BFGS's first trial point is x0 - g whatever the initial step:
        # from theta = 1 with |g| ~ 50 that is theta ~ 50, where PIRLS
        # fails (or grinds, on large data).  Coordinates stretched so that
        # stretch^2 |g|_inf = 0.25 make that first step 0.25 in theta.
        g0 = np.empty(x_theta.size)
        f0 = obj1(x_theta, g0)
        gmax = float(np.max(np.abs(g0)))
        if gmax > 0.25:
            stretch = np.sqrt(0.25 / gmax)
            obj1 = problem.objective(ObjectiveStage.PROFILED_BETA, theta_scale * stretch)
            objectives.append(obj1)
        # As a start for stage 2, f to 1e-8 relative is plenty on large
        # data (10^5 rows: ~30% fewer evaluations than 1e-5 absolute;
        # stage 2's measured Hessian finishes from there).
        ftol1 = tol1 if nAGQ == 0 else max(tol1, 1e-8 * abs(f0))
        x1, dev1, st1 = _lbfgs(obj1, x_theta / stretch, lower1, step1 / stretch, ftol1, tol1 / stretch, 100000,
                               methods)
    else:
        x1, dev1, st1 = _bobyqa(obj1, x_theta, lower1, step1, tol1, tol1, 100000, restarts=3 if nAGQ == 0 else 0,
                                methods=methods)
    theta, logpar = x1[:ntheta] * theta_scale * stretch, x1[ntheta:]

    def restart():  # PIRLS's path can matter on hard problems: retry from the GLM start
        problem.reset()
        model.set_beta(np.asarray(beta0, dtype=float))

    if methods != ["bfgs"]:  # BFGS alone leaves the engine at x1 (L-BFGS and BOBYQA: at their last trial point)
        _reevaluate(obj1, x1, restart)
    beta = np.array(model.beta)
    if problem.parameter is not None:
        info.family_parameter = problem.parameter.estimate_from(logpar)
    name, hessian = "theta (beta in PIRLS)", None
    if nAGQ > 1 and not npar:
        laplace = _laplace_optimum(problem, theta, beta, methods)
        if laplace is not None:
            theta, beta, dev1, hessian, obj = laplace
            objectives.append(obj)
            name += ", then theta and beta (Laplace)"
        else:  # back to stage 1's point
            _reevaluate(obj1, x1, restart)
    info.add_stage(name, "stage 1", clock, objectives, dev1, st1, optimizer=methods)
    return theta, beta, logpar, dev1, hessian


def _laplace_optimum(problem: _GlmerProblem, theta: np.ndarray, beta: np.ndarray, methods: list[str] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, object] | None:
    """The Laplace optimum from stage 1's (``theta``, ``beta``; the engine there), as the start of an AGQ
    stage 2 (nAGQ > 1: one scalar term, no family parameter).

    The Laplace deviance's evaluations are cheaper than AGQ's (and AGQ's has no
    exact gradient at a non-canonical link): BFGS from a Hessian measured at the start (:func:`_joint_measured_quasi_newton`)
    finds its optimum in a few evaluations, and the AGQ optimum is close to it
    (cbpp, nAGQ = 25: theta 0.6475 against 0.6423), so stage 2 starts there
    with this Hessian (:func:`_stage_joint`).  Returns theta, beta, the
    Laplace deviance, its Hessian in (theta, beta) and the objective (for
    its counts), leaving the engine there; None where the objective has no
    gradient or BFGS cannot finish.  ``methods``: the stage's record (:func:`_ran`).
    """
    model, ntheta, theta_scale = problem.model, problem.ntheta, problem.theta_scale
    vbeta = np.asarray(model.beta_unscaled_vcov())
    scale = _beta_scale(vbeta)
    laplace = glmm_objective(model, ObjectiveStage.JOINT, None, theta_scale, 1, beta, scale)
    if not laplace.has_gradient:
        return None
    x0 = np.concatenate([theta / theta_scale, np.zeros(problem.p)])
    lower = np.concatenate([problem.lower, np.full(problem.p, -np.inf)])
    ftol = max(1e-10, 1e-12 * abs(model.laplace_deviance()))
    done, hess0 = _joint_measured_quasi_newton(problem, laplace, x0, vbeta, scale, lower, ftol, methods)
    if done is None:
        return None
    x, dev, _ = done  # the engine is at x
    d = np.concatenate([np.full(ntheta, theta_scale), scale])  # d(theta, beta) / dx
    return x[:ntheta] * theta_scale, beta + scale * x[ntheta:], dev, hess0 / np.outer(d, d), laplace


def _restart_dispersion(problem: _GlmerProblem, obj, x: np.ndarray) -> np.ndarray:
    """Stage 1's start ``x`` with the dispersion phi (its last coordinate)
    re-estimated at the conditional modes there (``problem.dispersion_estimate``
    of the engine's conditional means after one evaluation of ``obj``).

    The GLM start's Pearson estimate of phi holds the random effects'
    variation as well (the simulated Gamma of benchmarks/problems.py: phi
    0.93 there, 0.51 at the optimum; the inverse Gaussian's 0.68 and 0.26),
    and from that corner stage 1's first BFGS steps overshoot to points where
    PIRLS takes ~100 iterations; the conditional estimate at theta's start
    is within a few per cent of the optimum's (0.50 and 0.26).  ``x`` is
    kept where the evaluation fails or the estimate is not positive.
    """
    if obj(x) >= _PENALTY:
        return x
    phi = float(problem.dispersion_estimate(problem.model))
    if not (np.isfinite(phi) and phi > 0):
        return x
    out = x.copy()
    out[-1] = problem.parameter.with_value(phi).to_optimizer()
    return out


def _stage_joint(problem: _GlmerProblem, theta: np.ndarray, beta: np.ndarray, logpar: np.ndarray,
                 info: OptimizerInfo, hessian: np.ndarray | None, start_deviance: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray, float, OptimizerInfo]:
    """Stage 2: theta and beta jointly (and the family parameter) on the Laplace or AGQ deviance.

    beta = beta1 + s * gamma with s the standard errors at the start, so all
    coordinates have unit scale.  ``hessian``: a warm start's Hessian in
    (theta, beta), for quasi-Newton steps from it.  ``start_deviance``: stage
    1's deviance at the start (the engine there), which a Laplace stage 2 must
    not end above (:func:`_kept_start`).
    """
    clock = StageClock(problem.model)
    model, ntheta, p, npar, theta_scale = problem.model, problem.ntheta, problem.p, problem.npar, problem.theta_scale
    guard = start_deviance is not None and problem.nAGQ == 1
    start_modes = np.array(model.u) if guard else None
    vbeta = np.asarray(model.beta_unscaled_vcov())
    scale = _beta_scale(vbeta)
    beta1 = beta.copy()
    obj2 = problem.objective(ObjectiveStage.JOINT, beta_base=beta1, beta_scale=scale)
    x0 = np.concatenate([theta / theta_scale, np.zeros(p), logpar])
    lower2 = np.concatenate([problem.lower, np.full(p, -np.inf), problem.extra_lowers])
    done = None
    methods: list[str] = []  # the stage's optimizer(s)
    differenced = (0, 0)  # AGQ's evaluations and differenced gradients, outside obj2's counters
    if hessian is not None and (obj2.has_gradient or (problem.nAGQ > 1 and not npar)):
        d = np.concatenate([np.full(ntheta, theta_scale), scale])  # d(theta, beta) / dx
        hess0 = hessian[:ntheta + p, :ntheta + p] * np.outer(d, d)
        if obj2.has_gradient:
            done = _quasi_newton(obj2, x0, hess0, lower2, 1e-11, methods=methods)
        else:
            done, differenced = _differenced_quasi_newton(problem, obj2, x0, hess0, lower2, methods)
    # f to 1e-10, or to its rounding (~1e-13 relative; sums over many rows)
    # where that is coarser: beyond it L-BFGS chases noise (10^5 rows: 20
    # evaluations instead of 8 for no change).
    ftol2 = max(1e-10, 1e-12 * abs(model.laplace_deviance()))
    if done is None and obj2.has_gradient:
        done = _joint_measured_quasi_newton(problem, obj2, x0, vbeta, scale, lower2, ftol2, methods)[0]
    if done is not None:
        x, dev, st2 = done  # the engine is at x
    else:
        # Stage 1 leaves theta close and beta within a fraction of an SE, so
        # small first steps; f to 1e-8 is far inside the 0.002 that matters.
        step2 = np.concatenate([np.full(ntheta, 0.02), np.full(p, 0.2), problem.extra_steps(0.2, 0.05)])
        if obj2.has_gradient:  # the exact gradient: L-BFGS takes a fraction of BOBYQA's evaluations
            # from the best point so far: BFGS that stops at its iteration limit has come most of the way
            start = x0 if obj2.best_x is None else _feasible_best(obj2, lower2)[0]
            x, dev, st2 = _lbfgs(obj2, start, lower2, step2, ftol2, 1e-8, 100000, methods)
        else:
            x, dev, st2 = _bobyqa(obj2, x0, lower2, step2, 1e-8, 1e-6, 100000, methods=methods)
        dev = _reevaluate(obj2, x, problem.reset)  # leave the engine at the optimum
    if guard:
        x, dev = _kept_start(model, obj2, x, dev, x0, start_deviance, start_modes, info, problem.reset)
    theta, beta = x[:ntheta] * theta_scale, beta1 + scale * x[ntheta:ntheta + p]
    if problem.parameter is not None:
        info.family_parameter = problem.parameter.estimate_from(x)
    # the fit's method: "lbfgs" for the exact-gradient ones, else the one that finished
    info.optimizer = "lbfgs" if obj2.has_gradient else methods[-1]
    approx = "Laplace" if problem.nAGQ == 1 else f"AGQ, nAGQ = {problem.nAGQ}"
    info.add_stage(f"theta and beta ({approx})", "stage 2", clock, (obj2,), dev, st2, evaluations=differenced[0],
                   gradient_evaluations=differenced[1], optimizer=methods)
    return theta, beta, dev, info


def _kept_start(model, obj, x: np.ndarray, dev: float, x0: np.ndarray, start_deviance: float,
                start_modes: np.ndarray, info: OptimizerInfo, reset: Callable[[], None]) -> tuple[np.ndarray, float]:
    """The joint stage's result ``(x, dev)``, or its start ``x0`` where it ended above the start's deviance.

    At ``x0`` the joint Laplace deviance equals stage 1's ``start_deviance`` (beta
    there is stage 1's PIRLS estimate), so an optimiser that only accepts
    descent cannot end above it, unless PIRLS took another conditional mode on
    the way (a conditional density that is not log-concave, as the Student-t's)
    and the stage ran on a different surface.  Then the engine goes back to the
    start, PIRLS from stage 1's conditional modes ``start_modes``; where the
    deviance there is the lower, the start is kept and ``info.messages`` says
    so (a "Model failed to converge" message: the fit's ``converged`` is False).
    The engine is left at the point returned: back at the stage's own point by :func:`_reevaluate`
    (``reset`` its restart), which starts PIRLS from the stage's best state if the modes left at the start
    lead elsewhere.
    """
    if not dev > start_deviance + _MODE_NOISE * max(1.0, abs(start_deviance)):
        return x, dev
    model.set_u(start_modes)
    at_start = float(obj.evaluate(x0))
    if not at_start < dev:
        _reevaluate(obj, x, reset)
        return x, dev
    info.messages.append(f"Model failed to converge: the joint stage ended at -2 log L {dev:.8g}, above its start's "
                         f"{at_start:.8g} (PIRLS reached another mode of the conditional density); the start "
                         "(stage 1's estimates) is reported")
    return x0, at_start


def _beta_scale(vbeta: np.ndarray) -> np.ndarray:
    """beta's unit in the joint stage's coordinates, x_j = (beta_j - beta1_j) / s_j: s_j its standard error at
    the start (the square root of ``vbeta``'s diagonal), so that a unit step moves every coefficient by about
    one SE whatever its predictor's scale; 1 where the variance is not positive.  (An absolute floor on the
    variance, 1e-12, made a predictor times 1e100, SE ~1e-102, step by ~1e96 SEs: invalid linear predictors,
    and BFGS stopped 0.2 above the optimum.)"""
    v = vbeta.diagonal()
    return np.sqrt(np.where(v > 0, v, 1.0))


def _joint_measured_quasi_newton(problem: _GlmerProblem, obj, x0: np.ndarray, vbeta: np.ndarray, scale: np.ndarray,
                                 lower: np.ndarray, ftol: float, methods: list[str] | None = None
                                 ) -> tuple[tuple[np.ndarray, float, int] | None, np.ndarray | None]:
    """The joint stage by BFGS (:func:`_quasi_newton`) on ``obj`` (exact gradient) from the Hessian measured at
    its start ``x0`` (:func:`_joint_hessian_at_start`); returns BFGS's result (None where it cannot finish)
    and the start Hessian it used (None where it could not be measured).  ``methods``: the stage's record."""
    ntheta, p = problem.ntheta, problem.p
    # theta's curvature grows with the data (10^6 rows: ~1e5 against
    # beta's ~2 in these coordinates), which costs L-BFGS, starting from
    # the identity, half its evaluations; a measured start Hessian does not.
    start = _joint_hessian_at_start(obj, x0, ntheta, vbeta, scale, known=problem.known_zero_part(x0, ntheta + p))
    if start is None:
        return None, None
    f0, g0, hess0 = start
    if _modified_newton_applies(hess0, ntheta, p):
        # A direction flat to within the floor at the start (zero-inflation coefficients near a
        # diverging boundary: sal_zip's smallest eigenvalue is -4e-4), or concave in the measured
        # coordinates (theta in stage 1's concave region): BFGS from the modified Hessian, each
        # eigenvalue at least _JOINT_CURVATURE_FLOOR, instead of L-BFGS from the identity (sal_zip:
        # 38 evaluations instead of 177; Contraception's probit GLMM: 12 instead of 53).
        hess0 = _positive_definite(hess0, floor=_JOINT_CURVATURE_FLOOR)
    if problem.zero_part_tail is not None:
        return _quasi_newton_holding_tail(problem, obj, x0, hess0, lower, ftol, (f0, g0),
                                          problem.max_steps(ntheta + p), methods), hess0
    return _quasi_newton(obj, x0, hess0, lower, ftol, start=(f0, g0), max_step=problem.max_steps(ntheta + p),
                         methods=methods), hess0


def _quasi_newton_holding_tail(problem: _GlmerProblem, obj, x0: np.ndarray, hess0: np.ndarray, lower: np.ndarray,
                               ftol: float, start: tuple[float, np.ndarray], max_step: np.ndarray | None,
                               methods: list[str] | None = None, max_iter: int = 50
                               ) -> tuple[np.ndarray, float, int] | None:
    """The joint stage's BFGS (:func:`_quasi_newton`, same start, tolerance and iterations) in rounds of
    :data:`_TAIL_ROUND` iterations, taking zero-inflation coefficients that diverge to -inf out of the search.

    After each round, a zero-part coefficient whose rows all lie in the likelihood's tail, the gradient
    pushing it further out (:meth:`~glmmfast.fit._zero_part_tail.ZeroPartTail.tail_columns`), is moved
    at once to where what -2 log L could still gain by moving it on is below :data:`_TAIL_MARGIN` times
    ``ftol`` (:meth:`~glmmfast.fit._zero_part_tail.ZeroPartTail.held_values`); where -2 log L did not rise
    there it is held, and BFGS goes on over the other coordinates from its Hessian approximation's block
    in them.  At convergence the held coefficients' bound is checked again (the others moved since): above
    ``ftol`` they are moved out once more and BFGS goes on.  BFGS walked them out about a unit per
    iteration, with ever smaller gains: Salamanders' zero-inflated generalised Poisson (sppPR, sppDF,
    minedno to -27, -39, -25) spent half its joint stage so.  Returns as :func:`_quasi_newton`, leaving
    the engine at the returned point; the held coefficients are reported without standard errors
    (``results/_results.py``).
    """
    _ran(methods, "bfgs")
    tail = problem.zero_part_tail
    zi = np.arange(problem.ntheta + problem.p, problem.ntheta + problem.p + problem.n_zi)
    x, f, g = np.array(x0, dtype=float), float(start[0]), np.array(start[1], dtype=float)
    free = np.ones(x.size, dtype=bool)
    tried = np.zeros(x.size, dtype=bool)  # moved out once (held since, or left where -2 log L rose)
    hess, inverse = np.asarray(hess0, dtype=float), None  # the free block's start: a Hessian or BFGS's inverse
    iterations, engine_at_x = 0, True
    while True:
        free_obj = obj if free.all() else _held_objective(obj, x, free)
        rounds = min(_TAIL_ROUND, max_iter - iterations)
        out = free_obj.quasi_newton(x[free], hess if inverse is None else inverse, lower[free], float(ftol), rounds,
                                    (f, g[free]), None if max_step is None else max_step[free], resumable=True,
                                    inverse=inverse is not None)
        if out is None:
            return None
        iterations += rounds
        moved = not np.array_equal(out[0], x[free])  # then BFGS left the engine at its point
        x[free], f, converged = out[0], float(out[1]), bool(out[2])
        g[free], inverse = out[3], np.asarray(out[4])
        engine_at_x = engine_at_x or moved
        held = np.flatnonzero(~free)
        if converged:
            walking = zi[tail.walking_columns(x[zi], g[zi], ftol)]
            walking = walking[free[walking]]
            if walking.size and iterations < max_iter:
                inverse = _with_tail_curvature(inverse, np.searchsorted(np.flatnonzero(free), walking), g[walking])
                continue
            if not held.size or tail.remaining_gain(x[zi], held - zi[0]) <= ftol:
                break
            move = held
        elif iterations >= max_iter:
            return None
        else:
            move = zi[tail.tail_columns(x[zi], g[zi])]
            move = move[free[move] & ~tried[move]]
            if not move.size:
                continue
        trial, g_trial = x.copy(), np.empty(x.size)
        trial[zi] = tail.held_values(x[zi], move - zi[0], _TAIL_MARGIN * ftol)
        f_trial = obj(trial, g_trial)
        tried[move] = True
        # Kept where -2 log L did not rise and the gradient still pushes every moved coefficient out: along
        # beta_j, with t = e^beta_j, the zero rows' terms -2 log(1 + a_i t / f0_i) are convex in t and the
        # others 2 log(1 + a_i t) linear to O(p^2) (p < 3e-7: DIVERGED_ZERO_PART_ETA), so a slope >= 0 near
        # t = 0 leaves no point lower by more than 2 sum w p^2 between
        # (rows whose zeros only the zero part explains pull it back: left to BFGS)
        if not (f_trial <= f and np.all(g_trial[move] >= 0)):
            engine_at_x = False
            if converged:
                break
            continue
        x, f, g, engine_at_x = trial, f_trial, g_trial, True
        if free[move].any():  # newly held: BFGS goes on from its Hessian approximation's block in the others
            block = np.linalg.inv(inverse)
            keep = ~np.isin(np.flatnonzero(free), move)
            hess, inverse = block[np.ix_(keep, keep)], None
            free[move] = False
    if not engine_at_x:
        f = float(obj(x, g))
    return x, f, nlopt.SUCCESS


def _with_tail_curvature(inverse: np.ndarray, index: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """BFGS's inverse Hessian ``inverse`` with the coordinates ``index`` (zero-part coefficients walking out,
    :meth:`~glmmfast.fit._zero_part_tail.ZeroPartTail.walking_columns`) given the tail's own curvature: along
    such a coefficient -2 log L is a + b e^{beta_j}, whose curvature equals its gradient, ``gradient``, and no
    cross terms (still positive definite: the other coordinates' block is a principal block of ``inverse``).

    BFGS's curvature there comes from steps along which it fell by e per unit moved: it overstates it, and the
    predicted decrease g^2 / (2 H_jj) fell below the stage's tolerance with the coefficient mid-walk (a round of
    3 iterations on Salamanders' zero-inflated generalised Poisson stopped with minedno at -16.6, every row
    above logit -15, so not held: -2 log L 9e-6 above the optimum, minedno reported with a standard error of
    465).  With the tail's curvature the Newton step moves it one unit out, and its predicted decrease is
    g_j / 2: BFGS goes on until it is in the tail and held."""
    out = np.array(inverse, dtype=float)
    out[index, :] = 0.0
    out[:, index] = 0.0
    out[index, index] = 1.0 / np.asarray(gradient, dtype=float)
    return out


def _held_objective(obj, x: np.ndarray, free: np.ndarray):
    """``obj`` (exact gradient) over the ``free`` coordinates, the others held at their values in ``x``
    (:func:`~glmmfast.fit._objective.function_objective`; ``obj`` counts the evaluations)."""
    full, grad = np.array(x, dtype=float), np.empty(x.size)

    def value(x_free: np.ndarray) -> float:
        full[free] = x_free
        return obj(full, grad)

    return function_objective(value, int(free.sum()), None, lambda: grad[free])


def _differenced_quasi_newton(problem: _GlmerProblem, agq, x0: np.ndarray, hess0: np.ndarray, lower: np.ndarray,
                              methods: list[str] | None = None
                              ) -> tuple[tuple[np.ndarray, float, int] | None, tuple[int, int]]:
    """BFGS (:func:`_quasi_newton`) on the AGQ deviance ``agq`` (no exact gradient: a non-canonical link) from
    ``x0``, the Laplace optimum, with central differences of the deviance as its gradient
    (:func:`~glmmfast.fit._objective.differenced_objective`, step 1e-4: error O(h^2) ~ 1e-8) and ``hess0``,
    the Laplace Hessian, as its start: cbpp at nAGQ = 25 takes 4 iterations (44 evaluations) where
    BOBYQA from stage 1's point, restarted until it stopped improving, took 65, and stops on the
    gradient rather than on BOBYQA's trust region.  Returns BFGS's result (None where it cannot finish: the
    caller's BOBYQA then), leaving the engine there, and the evaluations of the AGQ deviance made (the
    differences' among them) and the differenced gradients; noted in ``methods`` as "bfgs on central
    differences".
    """
    counted = CountedCalls(agq.evaluate)
    differenced = differenced_objective(counted, x0.size, _FD_STEP, problem.reset)
    done = _quasi_newton(differenced, x0, hess0, lower, max(1e-10, 1e-12 * abs(problem.model.laplace_deviance())),
                         methods=methods, method="bfgs on central differences")
    if done is not None:  # the differences left the engine a step away
        done = (done[0], _reevaluate(agq, done[0], problem.reset), done[2])
    return done, (counted.calls, int(differenced.gradient_evaluations))


def _modified_newton_applies(hess: np.ndarray, ntheta: int, p: int) -> bool:
    """Whether the joint stage's start Hessian ``hess`` (:func:`_joint_hessian_at_start`), not positive definite,
    is one BFGS may start from once modified (:func:`_positive_definite`).

    It may where its smallest eigenvalue is within :data:`_JOINT_CURVATURE_FLOOR` of 0 (a flat direction), and
    where every concave direction lies mostly (over half its squared length) in the measured coordinates
    (theta and those after beta): there the deviance is concave where stage 1 stopped (theta of a probit
    GLMM in its concave region; stage 1's L-BFGS can stop there).  A concave direction in the beta block
    2 D V^{-1} D, whose curvature is 2 in these coordinates, means V was lost to rounding (a predictor
    scaled by 1e100): L-BFGS then.
    """
    if not np.isfinite(hess).all():
        return False
    lam, vecs = np.linalg.eigh(hess)
    if lam[0] > 0:
        return False
    if lam[0] >= -_JOINT_CURVATURE_FLOOR:
        return True
    measured = np.ones(hess.shape[0], dtype=bool)
    measured[ntheta:ntheta + p] = False
    concave = vecs[:, lam < -_JOINT_CURVATURE_FLOOR]
    return bool(np.all(np.sum(concave[measured] ** 2, axis=0) > 0.5))


def _free(x: np.ndarray, lower: np.ndarray, h: float | np.ndarray = None) -> np.ndarray:
    """Coordinates not on their lower bound (to the finite-difference step)."""
    h = _FD_STEP if h is None else h  # a scalar or one step per coordinate: either broadcasts
    return ~(np.isfinite(lower) & (x - lower < h))


def _free_part(grad: np.ndarray, hess: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradient and Hessian on the ``free`` coordinates: the arrays themselves where every coordinate is
    free (the usual case; ``np.ix_`` and the copies cost more than a small Newton step's solve)."""
    return (grad, hess) if free.all() else (grad[free], hess[np.ix_(free, free)])


def check_convergence(f, x: np.ndarray, fx: float, lower: np.ndarray, tol: float = 0.002,
                      h: float | np.ndarray = None,
                      derivs: tuple[np.ndarray, np.ndarray] | None = None,
                      eigen: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """lme4-style checks at the optimum: scaled gradient and Hessian.

    The gradient is scaled by the Hessian (``solve(H, g)``, the Newton step),
    as lme4 does, and compared with ``tol``; parameters on the boundary are
    left out.  ``h``: finite-difference steps (lme4's 1e-4 by default);
    ``derivs`` (gradient, Hessian) skips the finite differences when they
    are already known at ``x``; ``eigen`` their Hessian's eigenpairs (``np.linalg.eigh``), used where
    every coordinate is free.  Returns the gradient, the Hessian and the
    warning messages.
    """
    h = _FD_STEP if h is None else h
    grad, hess = gradient_hessian(f, x, h, fx) if derivs is None else derivs
    msgs = []
    free = _free(x, lower, h)
    g, H = _free_part(grad, hess, free)
    if g.size:
        # The deviance is accurate to ~1e-14 |f|; central differences with
        # step 1e-4 turn that into noise of ~4e-6 |f| in H.  An eigenvalue
        # within that of zero is "zero" (an unidentifiable direction, e.g. a
        # redundant variance term or a coefficient diverging under
        # separation), not "negative".
        ev, vecs = eigen if eigen is not None and H is hess else np.linalg.eigh(H)
        noise = 1e-5 * max(1.0, abs(fx))
        scaled = _scaled_gradient(g, ev, vecs, noise)
        crit = np.minimum(np.abs(scaled), np.abs(g))
        worst = int(crit.argmax())
        if crit[worst] > tol:
            comp = int(np.flatnonzero(free)[worst]) + 1
            msgs.append(f"Model failed to converge with max|grad| = {crit[worst]:.6g} (tol = {tol}, component {comp})")
        smallest, largest = float(ev[0]), float(ev[-1])  # eigh's eigenvalues ascend
        if smallest < -noise:
            neg = int((ev < -noise).sum())
            msgs.append(f"Model failed to converge: degenerate  Hessian with {neg} negative eigenvalues")
        elif smallest < noise or smallest / largest < 1e-6:
            msgs.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return grad, hess, msgs


def _scaled_gradient(g: np.ndarray, ev: np.ndarray, vecs: np.ndarray, noise: float) -> np.ndarray:
    """lme4's scaled gradient H^{-1} g (the Newton step), from H's eigenpairs.

    Along directions whose curvature is within ``noise`` of zero (a flat
    direction: a coefficient diverging under separation, a redundant
    variance term) the gradient enters unscaled: dividing it by a curvature
    that is rounding noise would turn a converged fit's ~1e-11 into
    anything, and the solve would smear that over every coordinate (a
    separated cbpp fit was flagged on theta, whose Newton step was 5e-5).
    """
    c = vecs.T @ g
    flat = np.abs(ev) <= noise
    if not flat.any():  # the usual case: every direction curved, c / ev as the np.where below gives it
        return vecs @ (c / ev)
    return vecs @ np.where(flat, c, c / np.where(flat, 1.0, ev))
