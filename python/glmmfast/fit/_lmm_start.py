"""A moment start for theta in a linear mixed model (``lmer``): per-level regressions of OLS residuals.

lme4 starts every LMM at theta = identity relative factors (T_t = I), which
is far from the optimum on most data (relative standard deviations of
0.05-0.5) and often on the concave side of the profiled criterion, where
the measured start Hessian of :func:`~glmmfast.fit._optimize.optimize_lmer`
is indefinite and BFGS takes many steps (or gives up).  Starting instead
from a method-of-moments estimate cuts the evaluations by 30-90% on the
benchmark LMMs; the optimum is the same (the criterion is then minimised
as before).

The estimate, with r = W^{1/2}(y - offset - X beta_OLS) the weighted OLS
residuals and, per term t and level j of its grouping factor,
Z_j (the rows of the term's model matrix, times W^{1/2}) and r_j:

- b_j = (Z_j'Z_j)^{-1} Z_j'r_j, over the levels with more rows than the
  term has columns and a well-conditioned Z_j'Z_j;
- s_t^2 = sum_j ||r_j - Z_j b_j||^2 / sum_j (n_j - k): the residual variance
  within levels, which still holds the other terms' variance; the smallest
  over terms estimates sigma^2;
- Sigma_t = cov_j(b_j) - sigma^2 mean_j (Z_j'Z_j)^{-1} (the spread of the
  levels' coefficients less their sampling variance), relative to sigma^2,
  with its eigenvalues floored at ``FLOOR``^2 (a start off theta's bounds,
  where a gradient method could not leave them) and capped at ``CAP``^2;
- theta_t from Sigma_t's standard deviations and correlations
  (:meth:`~glmmfast.covariance._base.CovarianceStructure.theta_from_sdcor`).

Only the unstructured (``us``, lme4's default) and ``diag`` terms get a
moment start; any other structure, and any term whose estimate is not
available (too few usable levels, a non-finite value), keeps the engine's
start.

The estimate costs ~0.2 ms of numpy calls plus ~30 ns a row; below
``MIN_ROWS`` rows an evaluation of the criterion costs ~20 us, so the
evaluations it saves are worth less than that (sleepstudy, 180 rows: 9
fewer evaluations, 0.3 ms slower end to end) and lme4's start is kept
(:func:`worth_a_moment_start`).  An LMM's evaluation works on the
cross-products, not the rows: it costs ~40-100 ns per entry of Z'WZ's
lower-triangle pattern (the engine's ``pattern_size``), so the 4-16
evaluations the estimate saves pay for its per-row cost only where that
pattern has at least ``MIN_PATTERN_PER_ROW`` entries per row (crossed
terms: sim_lmm_slope_1e5, 1.3 per row, 4 evaluations fewer, 45 ms faster);
on nested or single-term models it has far fewer (Exam 0.05, Hsb82 0.07,
ScotsSec 0.14, Chem97 0.16 per row) and lme4's start is faster end to end
(0.3-0.5 ms each).

Interface: :func:`moment_theta_start` (design, the engine's start) -> theta0;
:func:`worth_a_moment_start` (design) -> bool; :func:`theta_from_residuals`, the
estimate from given weighted residuals (also a GLMM's working residuals:
:mod:`~glmmfast.fit._glmm_start`), in two parts: :func:`level_sums` (term,
residuals) -> the per-level sums, which add over row blocks, and
:func:`theta_from_level_sums` (terms, their sums) -> theta0 (the partitioned
GLMM's workers send the sums, :mod:`~glmmfast.fit._partitioned`).
"""

from __future__ import annotations

import numpy as np

from ..design._design import ModelDesign

__all__ = ["moment_theta_start", "worth_a_moment_start", "theta_from_residuals", "theta_from_level_sums",
           "level_sums", "has_moment_estimate", "FLOOR", "CAP", "MIN_ROWS", "MIN_PATTERN_PER_ROW"]

#: smallest relative standard deviation (square root of Sigma_t's eigenvalues) the start takes
FLOOR = 0.05
#: largest relative standard deviation the start takes
CAP = 100.0
#: fewest rows for which the moment start pays for itself (see the module docstring)
MIN_ROWS = 1000
#: fewest entries of Z'WZ's pattern per row for which an LMM's moment start pays (see the module docstring)
MIN_PATTERN_PER_ROW = 0.25
#: structures whose theta_from_sdcor takes standard deviations (and correlations: ``us``)
_MOMENT_STRUCTURES = ("us", "diag")


def level_sums(term, r: np.ndarray, sqrtw: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """The per-level sums the moment estimate reads, over the rows of ``term`` (its ``codes`` and ``X``):
    n_j, Z_j'Z_j (nlevels x k x k), Z_j'r_j (nlevels x k) and r_j'r_j, Z_j the term's rows times W^{1/2}
    (``sqrtw``; None: unit weights).  Sums over rows: the sums of row blocks add (the partitioned fit's
    workers, :func:`~glmmfast.fit._partitioned.fit_glmm_partitioned`)."""
    k, nlev = term.k, term.nlevels
    codes, Z, rr = np.asarray(term.codes), np.asarray(term.X, dtype=float), r
    if codes.min(initial=0) < 0:  # rows outside the term
        rows = codes >= 0
        codes, Z, rr = codes[rows], Z[rows], r[rows]
        sqrtw = None if sqrtw is None else sqrtw[rows]
    if sqrtw is not None:
        Z = Z * sqrtw[:, None]
    ZtZ = np.empty((nlev, k, k))
    Ztr = np.empty((nlev, k))
    for a in range(k):
        Ztr[:, a] = np.bincount(codes, Z[:, a] * rr, nlev)
        for b in range(a + 1):
            ZtZ[:, a, b] = ZtZ[:, b, a] = np.bincount(codes, Z[:, a] * Z[:, b], nlev)
    return np.bincount(codes, minlength=nlev), ZtZ, Ztr, np.bincount(codes, rr * rr, nlev)


def _level_regressions(sums: tuple[np.ndarray, ...]):
    """Per usable level: the coefficients b_j, Z_j'Z_j, and the term's within-level residual variance s_t^2,
    from the term's :func:`level_sums`.

    None where fewer than two levels are usable.
    """
    nj, ZtZ, Ztr, rr = sums
    k = ZtZ.shape[1]
    if k == 1:
        usable = (nj > 1) & (ZtZ[:, 0, 0] > 0)
    else:
        ev = np.linalg.eigvalsh(ZtZ)
        usable = (nj > k) & (ev[:, 0] > 1e-8 * np.maximum(ev[:, -1], 1e-300))
    if usable.sum() < 2:
        return None
    ZtZ, Ztr = ZtZ[usable], Ztr[usable]
    B = Ztr / ZtZ[:, :, 0] if k == 1 else np.linalg.solve(ZtZ, Ztr[:, :, None])[:, :, 0]
    rss = rr[usable].sum() - np.sum(B * Ztr)
    within = rss / (nj[usable].sum() - k * usable.sum())
    return B, ZtZ, within


def _relative_covariance(B: np.ndarray, ZtZ: np.ndarray, sigma2: float, diagonal: bool) -> np.ndarray:
    """Sigma_t / sigma^2 from the levels' coefficients, eigenvalues in [FLOOR^2, CAP^2]."""
    inverse = 1.0 / ZtZ if ZtZ.shape[1] == 1 else np.linalg.inv(ZtZ)
    S = np.atleast_2d(np.cov(B.T)) - sigma2 * np.mean(inverse, axis=0)
    S = S / sigma2
    if diagonal:
        S = np.diag(np.diag(S))
    lam, V = np.linalg.eigh(0.5 * (S + S.T))
    return (V * np.clip(lam, FLOOR**2, CAP**2)) @ V.T


def _sdcor(S: np.ndarray, structure_name: str) -> np.ndarray:
    """Standard deviations and (``us``) correlations in the structure's sdcor order."""
    sd = np.sqrt(np.diag(S))
    if structure_name == "diag":
        return sd
    R = S / np.outer(sd, sd)
    k = S.shape[0]
    return np.array([sd[i] if i == j else R[i, j] for j in range(k) for i in range(j, k)])


def _least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The OLS coefficients, from the normal equations (X has full column rank after lme4's
    aliasing check; lstsq where they are singular)."""
    try:
        return np.linalg.solve(X.T @ X, X.T @ y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(X, y, rcond=None)[0]


def worth_a_moment_start(design: ModelDesign, n: int | None = None, pattern_size: int | None = None) -> bool:
    """Whether the fit should start from :func:`moment_theta_start`: at least ``MIN_ROWS`` rows (``n``, where
    the design holds none, else the design's) and, for an LMM engine (``pattern_size``: its Z'WZ pattern's
    entries, which its evaluations' cost follows), at least ``MIN_PATTERN_PER_ROW`` of them per row."""
    rows = design.n if n is None else n
    return rows >= MIN_ROWS and (pattern_size is None or pattern_size >= MIN_PATTERN_PER_ROW * rows)


def moment_theta_start(design: ModelDesign, default: np.ndarray) -> np.ndarray:
    """theta0 for ``design``'s LMM: the moment estimate per term where available, else ``default``'s entries.

    Parameters
    ----------
    design : ModelDesign
        The LMM's design (gaussian, identity link).
    default : ndarray
        The engine's start (lme4's), terms in order; kept for the terms the
        estimate does not cover.

    Returns
    -------
    ndarray
        theta0, the same length as ``default``.

    Examples
    --------
    >>> import glmmfast
    >>> from glmmfast.design._design import model_design_for
    >>> d = model_design_for("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"),
    ...                      glmmfast.families.Gaussian(), random=True)
    >>> moment_theta_start(d, np.ones(3)).round(2)  # the optimum: [0.93, 0.02, 0.22]
    array([0.97, 0.02, 0.23])
    """
    default = np.asarray(default, dtype=float)
    with np.errstate(all="ignore"):  # data on extreme scales: non-finite estimates keep the default
        try:
            return _moment_theta(design, default.copy())
        except np.linalg.LinAlgError:
            return default.copy()


def _moment_theta(design: ModelDesign, theta0: np.ndarray) -> np.ndarray:
    """:func:`moment_theta_start`'s estimate written into ``theta0`` (the default) term by term."""
    w = np.asarray(design.weights, dtype=float)
    sqrtw = None if np.all(w == 1.0) else np.sqrt(w)
    X, y = np.asarray(design.X, dtype=float), np.asarray(design.y - design.offset, dtype=float)
    Xw, yw = (X, y) if sqrtw is None else (X * sqrtw[:, None], y * sqrtw)
    r = yw - Xw @ _least_squares(Xw, yw) if X.shape[1] else yw
    return theta_from_residuals(design, r, sqrtw, None, theta0)


def has_moment_estimate(term) -> bool:
    """Whether ``term``'s structure takes a moment start (``us``, ``diag``)."""
    return term.structure.name in _MOMENT_STRUCTURES


def theta_from_residuals(design: ModelDesign, r: np.ndarray, sqrtw: np.ndarray | None, sigma2: float | None,
                         theta0: np.ndarray, relative: bool = True) -> np.ndarray:
    """The moment estimate from weighted residuals ``r`` (W^{1/2} times the residuals; ``sqrtw`` W^{1/2},
    None: unit weights), written into ``theta0``: :func:`theta_from_level_sums` of the terms'
    :func:`level_sums`."""
    sums = [level_sums(t, r, sqrtw) if has_moment_estimate(t) else None for t in design.terms]
    return theta_from_level_sums(design.terms, sums, sigma2, theta0, relative)


def theta_from_level_sums(terms: list, sums: list, sigma2: float | None, theta0: np.ndarray,
                          relative: bool = True) -> np.ndarray:
    """The moment estimate from each term's :func:`level_sums` (None: the term keeps ``theta0``'s entries),
    written into ``theta0`` term by term: Sigma_t = cov_j(b_j) - sigma^2 mean_j (Z_j'Z_j)^{-1}, relative to
    sigma^2 (``relative``: an LMM's theta) or not (a GLMM's, whose random effects are not scaled by its
    dispersion).  ``sigma2`` None: the smallest within-level residual variance over the terms (an LMM's, or
    a GLMM's dispersion phi); a known value (the working residuals of a GLMM without a dispersion: 1,
    :mod:`~glmmfast.fit._glmm_start`) otherwise."""
    fits = [None if s is None else _level_regressions(s) for s in sums]
    if sigma2 is None:
        within = [f[2] for f in fits if f is not None and np.isfinite(f[2]) and f[2] > 0]
        if not within:
            return theta0
        sigma2 = min(within)
    offset = 0
    for term, fit in zip(terms, fits):
        size = term.nparams
        if fit is not None:
            S = _relative_covariance(fit[0], fit[1], sigma2, term.structure.name == "diag")
            S = S if relative else sigma2 * S
            theta_t = term.structure.theta_from_sdcor(_sdcor(S, term.structure.name)) if np.all(
                np.isfinite(S)) else None
            if theta_t is not None and len(theta_t) == size and np.all(np.isfinite(theta_t)):
                theta0[offset:offset + size] = theta_t
        offset += size
    return theta0
