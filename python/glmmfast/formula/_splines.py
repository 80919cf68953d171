# B-spline bases as R's splines package makes them: splineDesign, bs() and ns().
#
# Interface
#   spline_design(knots, x, order, derivs=0) -> ndarray   splines::splineDesign
#   bs_knots(x, df, knots, degree, intercept, boundary) -> (interior, boundary)
#   bs_basis(x, interior, boundary, degree, intercept) -> ndarray
#   ns_knots(x, df, knots, intercept, boundary) -> (interior, boundary)
#   ns_basis(x, interior, boundary, intercept) -> ndarray
# Knot placement follows R: interior knots at the quantiles (type 7) of x at
# equally spaced probabilities; boundary knots at range(x).  The knots are
# what a fit stores so that new data get the fit's basis (R's makepredictcall).

from __future__ import annotations

import numpy as np

from .._errors import FormulaError

__all__ = ["spline_design", "bs_knots", "bs_basis", "ns_knots", "ns_basis"]


def spline_design(knots: np.ndarray, x: np.ndarray, order: int, derivs: int = 0) -> np.ndarray:
    """splines::splineDesign: the B-spline basis (or its ``derivs``-th
    derivative) of ``order`` on the full knot sequence, one row per x; x must
    lie in [knots[order-1], knots[-order]] (the right end included)."""
    from scipy.interpolate import BSpline  # lazily: scipy.interpolate costs ~0.4 s at import

    knots = np.asarray(knots, dtype=float)
    nbasis = len(knots) - order
    spl = BSpline(knots, np.eye(nbasis), order - 1, extrapolate=True)
    out = spl(np.asarray(x, dtype=float), nu=derivs) if derivs else spl(np.asarray(x, dtype=float))
    return np.asarray(out, dtype=float).reshape(len(np.atleast_1d(x)), nbasis)


def _interior(x: np.ndarray, n_interior: int, boundary: tuple[float, float]) -> np.ndarray:
    inside = x[(x >= boundary[0]) & (x <= boundary[1])]
    probs = np.linspace(0.0, 1.0, n_interior + 2)[1:-1]
    return np.quantile(inside, probs) if n_interior > 0 else np.empty(0)


def _boundary(x: np.ndarray, boundary) -> tuple[float, float]:
    if boundary is None:
        return float(np.min(x)), float(np.max(x))
    b = np.asarray(boundary, dtype=float).reshape(-1)
    if b.size != 2 or not np.all(np.isfinite(b)):
        raise FormulaError("Boundary.knots must be two finite numbers")
    return float(min(b)), float(max(b))


def bs_knots(x: np.ndarray, df, knots, degree: int, intercept: bool, boundary) -> tuple[np.ndarray, tuple]:
    """bs()'s knots: ``df - degree - 1 + (1 - intercept)`` interior knots at quantiles of x unless given."""
    b = _boundary(x, boundary)
    if knots is None:
        n_interior = max(0, int(df) - (degree + 1) + (1 - int(intercept))) if df is not None else 0
        return _interior(x, n_interior, b), b
    return np.sort(np.asarray(knots, dtype=float).reshape(-1)), b


def ns_knots(x: np.ndarray, df, knots, intercept: bool, boundary) -> tuple[np.ndarray, tuple]:
    """ns()'s knots: ``df - 1 - intercept`` interior knots at quantiles of x unless given."""
    b = _boundary(x, boundary)
    if knots is None:
        n_interior = max(0, int(df) - 1 - int(intercept)) if df is not None else 0
        return _interior(x, n_interior, b), b
    return np.sort(np.asarray(knots, dtype=float).reshape(-1)), b


def bs_basis(x: np.ndarray, interior: np.ndarray, boundary: tuple, degree: int, intercept: bool) -> np.ndarray:
    """splines::bs: beyond the boundary knots each basis function continues
    as its Taylor polynomial of ``degree`` at a pivot a quarter of the way to
    the nearest interior (or far boundary) knot, as R >= 4.0 does."""
    order = degree + 1
    aknots = np.sort(np.concatenate([np.repeat(boundary, order), interior]))
    x = np.asarray(x, dtype=float)
    basis = np.zeros((len(x), len(aknots) - order))
    left, right = x < boundary[0], x > boundary[1]
    inside = ~(left | right)
    if inside.any():
        basis[inside] = spline_design(aknots, x[inside], order)
    scale = np.array([np.prod(np.arange(1, d + 1, dtype=float)) for d in range(order)])  # gamma(1:ord)
    for mask, edge, near in ((left, boundary[0], aknots[order]), (right, boundary[1], aknots[-order - 1])):
        if mask.any():
            pivot = 0.75 * edge + 0.25 * near
            taylor = np.vstack([spline_design(aknots, [pivot], order, d) for d in range(order)])
            powers = np.vander(x[mask] - pivot, order, increasing=True)
            basis[mask] = powers @ (taylor / scale[:, None])
    return basis if intercept else basis[:, 1:]


def ns_basis(x: np.ndarray, interior: np.ndarray, boundary: tuple, intercept: bool) -> np.ndarray:
    """splines::ns: the cubic B-spline basis projected onto the functions
    with zero second derivative at both boundary knots (the columns after
    the first two of Q' from the QR of the constraint matrix), linear beyond
    the boundary knots."""
    aknots = np.sort(np.concatenate([np.repeat(boundary, 4), interior]))
    x = np.asarray(x, dtype=float)
    basis = np.zeros((len(x), len(aknots) - 4))
    left, right = x < boundary[0], x > boundary[1]
    inside = ~(left | right)
    if inside.any():
        basis[inside] = spline_design(aknots, x[inside], 4)
    for mask, pivot in ((left, boundary[0]), (right, boundary[1])):
        if mask.any():
            value = spline_design(aknots, [pivot], 4)
            slope = spline_design(aknots, [pivot], 4, 1)
            basis[mask] = value + (x[mask] - pivot)[:, None] * slope
    const = spline_design(aknots, list(boundary), 4, 2)
    if not intercept:
        const, basis = const[:, 1:], basis[:, 1:]
    # LAPACK's Householder QR has LINPACK's sign rule (R_jj = -sign(a_jj)|a_j|),
    # so Q is R's qr.Q to rounding.
    q, _ = np.linalg.qr(const.T, mode="complete")
    return (basis @ q)[:, 2:]
