"""A moment start for theta in a GLMM: the LMM's moment estimate on the GLM's working response.

lme4 starts every GLMM at theta = identity relative factors (T_t = I).
With standard deviations of 0.3-0.5 on the linear predictor that start lies
on the concave side of the stage-1 deviance in theta (for a scalar term the
deviance is ~ q_t log theta^2 + ||b_t||^2 / theta^2 in theta, concave beyond
sqrt(3) times the optimum), where a Hessian measured at the start is
indefinite and L-BFGS zig-zags: 10^6 rows with crossed 10^4 x 10^3 levels
took 22 stage-1 evaluations of ~0.8 s each from theta = 1.

From the GLM start (beta, eta, mu at the fixed-effects-only fit) the IRLS
linearisation gives the working residuals and weights

    r_i = (y_i - mu_i) / mu_eta(eta_i),   w_i = a_i mu_eta(eta_i)^2 / V(mu_i)

(a_i the prior weights), an LMM on the linear predictor's scale with the
residual variance phi / w_i: known, phi = 1, for a family without a dispersion;
for one with (Gamma, inverse Gaussian, ...: Var y = phi V(mu)) phi is the
within-level variance of the working residuals, which the GLM's Pearson
estimate is not (it holds the random effects' variance too: 0.93 against
0.51 at the optimum on the simulated Gamma of benchmarks/problems.py).
The LMM's per-level regressions (:func:`~glmmfast.fit._lmm_start.theta_from_level_sums`)
then give Sigma_t = cov_j(b_j) - phi mean_j (Z_j'W Z_j)^{-1}, theta on the
linear predictor's scale (a GLMM's random effects are not scaled by phi).
On the crossed Poisson benchmark data the start is within 5% of
the optimum (0.517 / 0.286 against 0.494 / 0.280); the linearisation
attenuates Bernoulli data (0.81 / 0.38 against 1.00 / 0.47), still on the
convex side.  From there stage 1 takes BFGS steps from a Hessian measured
at the start (:func:`~glmmfast.fit._optimize.optimize_glmer` with
``measured_start``): 5-7 evaluations instead of 13-22.  The simulated Gamma
and inverse Gaussian (log link, 5000 rows): theta 0.54 and 0.57 against 0.54
at both optima, where lme4's theta = 1 lies beyond the deviance's
inflection and the first BFGS step overshot (the Gamma's to theta = 0.11):
stage 1 in 6 and 7 evaluations instead of 11.

Applies (:func:`worth_a_glmm_moment_start`) from ``MIN_ROWS`` rows, as the
LMM's start, to GLMMs with no estimated parameter other than the family's
dispersion, without zero inflation or a dispersion model; other fits, and
terms the estimate does not cover, keep lme4's start.

Interface: :func:`worth_a_glmm_moment_start` (design, estimated parameter) -> bool;
:func:`glmm_moment_theta_start` (design, the GLM start, the engine's start) -> theta0, in two
parts the partitioned fit shares (its workers send the sums of their rows):
:func:`working_level_sums` (family, terms, rows at the GLM start) -> per-level sums and
:func:`glmm_theta_from_level_sums` (family, terms, sums, the engine's start) -> theta0.
"""

from __future__ import annotations

import numpy as np

from ..design._design import ModelDesign
from ._lmm_start import has_moment_estimate, level_sums, theta_from_level_sums, worth_a_moment_start

__all__ = ["worth_a_glmm_moment_start", "glmm_moment_theta_start", "working_level_sums",
           "glmm_theta_from_level_sums"]


def worth_a_glmm_moment_start(design: ModelDesign, parameter, n: int | None = None) -> bool:
    """Whether the GLMM of ``design`` (``parameter``: the caller's family parameter to estimate, such as
    glmer_nb's shape, or None; the family's dispersion is none) starts theta from
    :func:`glmm_moment_theta_start`: enough rows (``n``, where the design holds none: a partitioned fit's),
    no such parameter, no zero inflation and no dispersion model."""
    return (worth_a_moment_start(design, n) and parameter is None and design.zi is None
            and design.disp is None)


def glmm_moment_theta_start(design: ModelDesign, start: dict, default: np.ndarray) -> np.ndarray:
    """theta0 for ``design``'s GLMM from the GLM start's working residuals; ``default``'s entries where the
    estimate is not available.

    Parameters
    ----------
    design : ModelDesign
    start : dict
        The GLM start (:func:`~glmmfast.fit._engine.glm_start`): its ``"eta"`` and ``"mu"``.
    default : ndarray
        The engine's start (lme4's), terms in order.

    Returns
    -------
    ndarray
        theta0, the same length as ``default``.

    Examples
    --------
    >>> import glmmfast
    >>> from glmmfast.design._design import model_design_for
    >>> from glmmfast.fit._engine import glm_start
    >>> d = model_design_for("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
    ...                      glmmfast.families.Poisson(), random=True)
    >>> glmm_moment_theta_start(d, glm_start(d), np.ones(1)).round(2)  # the optimum: 1.28
    array([1.41])
    """
    sums = working_level_sums(design.family, design.terms, design.weights, design.y, start["eta"], start["mu"])
    return glmm_theta_from_level_sums(design.family, design.terms, sums, default)


def working_level_sums(family, terms: list, prior_weights, y, eta, mu) -> list | None:
    """Each term's :func:`~glmmfast.fit._lmm_start.level_sums` of the working residuals r = W^{1/2}(y - mu) /
    mu_eta(eta) (None for a term without a moment estimate), over the rows of ``terms`` (their codes and
    model matrices); None where a weight is not finite and non-negative.  Sums over rows: the partitioned
    fit's workers send them for their rows (:mod:`~glmmfast.fit._partitioned`)."""
    with np.errstate(all="ignore"):  # extreme fits: non-finite estimates keep the default
        eta, mu = np.asarray(eta, dtype=float), np.asarray(mu, dtype=float)
        mu_eta = np.asarray(family.mu_eta(eta), dtype=float)
        w = np.asarray(prior_weights, dtype=float) * mu_eta**2 / np.asarray(family.variance(mu), dtype=float)
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and np.all(mu_eta != 0)):
            return None
        sqrtw = np.sqrt(w)
        r = sqrtw * (np.asarray(y, dtype=float) - mu) / mu_eta
        return [level_sums(t, r, sqrtw) if has_moment_estimate(t) else None for t in terms]


def glmm_theta_from_level_sums(family, terms: list, sums: list | None, default: np.ndarray) -> np.ndarray:
    """theta0 from the terms' :func:`working_level_sums` (None: ``default``), on the linear predictor's scale:
    phi 1 for a family without a dispersion, else (None) the within-level variance of r."""
    default = np.asarray(default, dtype=float)
    if sums is None:
        return default.copy()
    phi = None if family.has_dispersion else 1.0
    with np.errstate(all="ignore"):
        try:
            return theta_from_level_sums(terms, sums, phi, default.copy(), relative=False)
        except np.linalg.LinAlgError:
            return default.copy()
