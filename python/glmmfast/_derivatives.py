"""Finite-difference gradient and Hessian of a scalar function.

Used at the optimum for lme4-style convergence checks and for the Hessian
of the deviance with respect to the fixed effects (standard errors).
Central differences with step ``h`` (lme4's ``deriv12`` uses 1e-4); the
deviance is computed to ~1e-11, so the Hessian is accurate to ~1e-3.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["gradient_hessian"]


def gradient_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, h: float | np.ndarray = 1e-4,
                     f0: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian of ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Scalar function of a 1-d array.
    x : ndarray
        Point of evaluation.
    h : float or ndarray
        Step per coordinate.
    f0 : float, optional
        ``f(x)`` if already known.

    Returns
    -------
    grad : ndarray, shape (d,)
    hess : ndarray, shape (d, d)
    """
    x = np.asarray(x, dtype=float)
    d = x.size
    h = np.broadcast_to(np.asarray(h, dtype=float), (d,))
    fx = f(x) if f0 is None else f0
    grad = np.empty(d)
    hess = np.empty((d, d))
    fp = np.empty(d)
    fm = np.empty(d)
    for i in range(d):
        e = np.zeros(d)
        e[i] = h[i]
        fp[i], fm[i] = f(x + e), f(x - e)
        grad[i] = (fp[i] - fm[i]) / (2 * h[i])
        hess[i, i] = (fp[i] - 2 * fx + fm[i]) / h[i] ** 2
    for i in range(d):
        for j in range(i):
            ei = np.zeros(d)
            ej = np.zeros(d)
            ei[i], ej[j] = h[i], h[j]
            fpp, fmm = f(x + ei + ej), f(x - ei - ej)
            # f(x+ei+ej) + f(x-ei-ej) = 2 f + h_i^2 H_ii + h_j^2 H_jj + 2 h_i h_j H_ij + O(h^4)
            hij = (fpp + fmm - 2 * fx - hess[i, i] * h[i] ** 2 - hess[j, j] * h[j] ** 2) / (2 * h[i] * h[j])
            hess[i, j] = hess[j, i] = hij
    return grad, hess
