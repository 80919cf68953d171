"""Conditional variances of the random effects of a fit with random effects in the ziformula.

glmmTMB's ``ranef(fit, condVar = TRUE)`` reads TMB's ``sdreport``: the
variance of each random effect b about its prediction b-hat(x-hat), x the
outer parameters (theta, beta, beta_zi, beta_disp, the family parameter), *with* the
uncertainty of x-hat (TMB's default, unlike lme4's condVar):

    Var(b) ~= [H_bb^{-1}]  +  J Cov(x-hat) J',      J = d b-hat / d x,

H_bb the Hessian of -log f(y, b | x) in b at the mode.  Here b = Lambda u,
and H_uu = A (the engine's coupled system with the exact 2 x 2 Hessian
blocks, ``cpp/src/linalg/coupled_penalized_system.hpp``), so the first
term's blocks are T_t [A^{-1}]_ll T_t' (the engine's ``cond_var``, as
lme4's condVar for the ordinary GLMM).  J is differenced centrally: the
engine's modes at x +- h e_j (h = 1e-4 (1 + |x_j|); one-sided at a bound of
theta), and Cov(x-hat) = 2 H^{-1}, H the fit's Hessian of -2 log L in x
(glmmTMB's ``vcov(full = TRUE)``).  Each level's k x k block is kept
(glmmTMB reports the diagonal only).

Interface: :func:`zi_conditional_variances` (one ``(nlevels, k, k)`` array
per term, the conditional terms' then the zero-inflation terms').
"""

from __future__ import annotations

import numpy as np

from ..fit._zi_random_effects import state_deviance

__all__ = ["zi_conditional_variances"]


def zi_conditional_variances(state) -> list[np.ndarray]:
    """Var(b) blocks per term of a :class:`~glmmfast.fit._zi_random_effects.ZiRandomEffectsState`, parameter
    uncertainty included (see the module's equation).

    Parameters
    ----------
    state : ZiRandomEffectsState

    Returns
    -------
    list of ndarray
        One ``(nlevels, k, k)`` array per term: the conditional terms', then the zero-inflation terms'.
        The parameter-uncertainty term is NaN where the fit has no positive-definite Hessian.
    """
    design = state.design
    terms = design.terms + design.zi.terms
    model, deviance = state_deviance(state)
    nt = state.theta.size
    x = state.optimizer_point()
    lower = np.concatenate([np.asarray(model.lower_bounds(), dtype=float), np.full(x.size - nt, -np.inf)])
    deviance(x)
    given_x = [np.array(model.cond_var(i)).reshape(t.nlevels, t.k, t.k) for i, t in enumerate(terms)]
    b_hat = np.array(model.b)
    J = np.empty((b_hat.size, x.size))
    for j in range(x.size):
        h = 1e-4 * (1.0 + abs(x[j]))
        step = np.zeros(x.size)
        step[j] = h
        deviance(x + step)
        plus = np.array(model.b)
        if x[j] - h < lower[j]:  # theta at its bound: forward difference
            J[:, j] = (plus - b_hat) / h
            continue
        deviance(x - step)
        J[:, j] = (plus - np.array(model.b)) / (2 * h)
    try:
        cov_x = 2.0 * np.linalg.inv(state.hessian)
    except (np.linalg.LinAlgError, ValueError, TypeError):
        cov_x = np.full((x.size, x.size), np.nan)
    out, off = [], 0
    for t, v in zip(terms, given_x):
        Jt = J[off:off + t.k * t.nlevels].reshape(t.nlevels, t.k, x.size)
        out.append(v + np.einsum("lai,ij,lbj->lab", Jt, cov_x, Jt))
        off += t.k * t.nlevels
    return out
