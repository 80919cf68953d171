"""Finite-difference gradient and Hessian of a scalar function.

Used at the optimum for lme4-style convergence checks and for the Hessian
of the deviance with respect to the fixed effects (standard errors).
Central differences with step ``h`` (lme4's ``deriv12`` uses 1e-4) for the
gradient (alone: :func:`central_gradient`) and the diagonal, forward cross differences for the off-diagonal:
2d + d(d-1)/2 evaluations in all.  The deviance is computed to ~1e-12, so
the Hessian is accurate to ~1e-4 relative.  Where the exact gradient is
known, :func:`hessian_from_gradient` takes central differences of it
instead: 2d evaluations, accurate to O(h^2).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["central_gradient", "gradient_hessian", "hessian_from_gradient"]


def _axis_values(f: Callable[[np.ndarray], float], x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x + h_i e_i) and f(x - h_i e_i) for every coordinate i (in that order, pair by pair)."""
    fp, fm = np.empty(x.size), np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h[i]
        fp[i], fm[i] = f(x + e), f(x - e)
    return fp, fm


def central_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float | np.ndarray) -> np.ndarray:
    """Central-difference gradient (f(x + h e_i) - f(x - h e_i)) / 2h of ``f`` at ``x``: 2d evaluations,
    error O(h^2) (a step in theta may cross its bound 0: the deviance is even in theta_jj there)."""
    x = np.asarray(x, dtype=float)
    h = np.broadcast_to(np.asarray(h, dtype=float), x.shape)
    fp, fm = _axis_values(f, x, h)
    return (fp - fm) / (2 * h)


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
    fp, fm = _axis_values(f, x, h)
    grad = (fp - fm) / (2 * h)
    hess = np.empty((d, d))
    hess[np.diag_indices(d)] = (fp - 2 * fx + fm) / h**2
    for i in range(d):
        for j in range(i):
            e = np.zeros(d)
            e[i], e[j] = h[i], h[j]
            # Forward cross difference (one evaluation per pair): error
            # O(h * third derivatives), ~1e-4 relative at h = 1e-4.
            hess[i, j] = hess[j, i] = (f(x + e) - fp[i] - fp[j] + fx) / (h[i] * h[j])
    return grad, hess


def hessian_from_gradient(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                          h: float | np.ndarray = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Exact gradient at ``x`` and the Hessian by central differences of it (the engine's
    ``Objective.gradient_hessian`` takes them in one call, cpp/src/optim/gradient_differences.hpp).

    Parameters
    ----------
    grad : callable
        The gradient of the function, as a 1-d array.
    x : ndarray
    h : float or ndarray
        Step per coordinate.

    Returns
    -------
    grad : ndarray, shape (d,)
    hess : ndarray, shape (d, d), symmetrised
    """
    x = np.asarray(x, dtype=float)
    d = x.size
    h = np.broadcast_to(np.asarray(h, dtype=float), (d,))
    g0 = np.asarray(grad(x), dtype=float)
    hess = np.zeros((d, d))
    for i in range(d):
        e = np.zeros(d)
        e[i] = h[i]
        hess[:, i] = (np.asarray(grad(x + e)) - np.asarray(grad(x - e))) / (2 * h[i])
    return g0, 0.5 * (hess + hess.T)
