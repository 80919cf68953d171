"""R² of a mixed model (Nakagawa, Johnson & Schielzeth 2017), as ``performance::r2_nakagawa``.

Holds :func:`variance_components` (insight's ``get_variance``: the variance
of the fixed-effects predictions, of the random effects, the
distribution-specific and the additive-dispersion variance, as a
:class:`VarianceComponents`) and :func:`r2_nakagawa` (the two R² from them),
the function behind :meth:`MixedResult.r2`.  The rules are those of
performance 0.10.2 / insight 0.19.0 (the versions the reference numbers in
tests/data/r2_reference.json come from), written anew from their definitions.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..design._design import ModelDesign
from .._errors import FamilyError
from ..fit._fit_state import fit_glmm
from ..design._re_terms import theta_blocks

__all__ = ["VarianceComponents", "variance_components", "r2_nakagawa"]

#: insight's tolerance for a variance component "equal to zero" (a diagonal theta at its bound 0)
SINGULAR_TOLERANCE = 1e-5
#: distribution-specific variance of the latent scale of a binomial model, by link (Nakagawa et al. 2017, Table 1)
_BINOMIAL_LATENT_VARIANCE = {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}


@dataclasses.dataclass(frozen=True)
class VarianceComponents:
    """The variances Nakagawa's R² is built from (insight's ``get_variance`` names).

    Attributes
    ----------
    fixed : float
        Sample variance (n - 1 divisor) of X beta over the fitted rows.
    random : float
        Mean over rows of z_i' Sigma_t z_i, summed over the terms that are not
        observation-level; NaN when a variance component is zero (singular fit).
    distribution : float
        Distribution-specific variance on the link scale.
    dispersion : float
        Variance of observation-level random effects (GLMMs; 0 otherwise).
    """

    fixed: float
    random: float
    distribution: float
    dispersion: float

    @property
    def residual(self) -> float:
        return self.distribution + self.dispersion


def _is_singular(result) -> bool:
    """insight's check for lme4 fits: a diagonal theta (lower bound 0) below the tolerance."""
    lower = np.asarray(result._engine().lower_bounds(), dtype=float)
    return bool(np.any(np.abs(result.theta[lower == 0]) < SINGULAR_TOLERANCE))


def _term_variance(design: ModelDesign, columns: list[str], sigma_t: np.ndarray) -> float:
    """mean_i z_i' Sigma z_i with z_i the fixed-effects columns of the term (insight's ``.sigma_sum``).

    As insight, z_i is taken from the fixed-effects model matrix (with an
    intercept column added if X has none), and a random-effects column that
    is not a fixed-effects column is left out: insight warns that such a
    random slope "artificially inflates" R², and computes it this way.
    """
    names = list(design.x_names)
    X = design.X
    if "(Intercept)" not in names:
        X = np.column_stack([np.ones(design.n), X])
        names = ["(Intercept)", *names]
    keep = [j for j, c in enumerate(columns) if c in names]
    if len(keep) < len(columns):
        left_out = ", ".join(c for c in columns if c not in names)
        warnings.warn(f"random slopes not present as fixed effects ({left_out}) are left out of the random-effects "
                      "variance, as performance::r2_nakagawa does", UserWarning, stacklevel=6)  # fit.r2()'s caller
    Z = X[:, [names.index(columns[j]) for j in keep]]
    S = sigma_t[np.ix_(keep, keep)]
    return float(np.einsum("ij,jk,ik->", Z, S, Z) / design.n)


def _null_model_mean(result) -> float:
    """exp(intercept) of the model refitted with the same random effects and an intercept only.

    insight's ``null_model``: the formula's fixed part becomes ``~ 1``;
    offset, prior weights and nAGQ are kept, and a negative-binomial shape
    estimated by the fit (glmer_nb) is estimated again (as performance's null
    model of a glmmTMB ``nbinom2`` fit; lme4's ``glmer.nb`` call would keep
    it fixed); a shape the user fixed stays fixed.  As insight, the
    offset does not enter the returned mean.
    """
    state = result._state
    design = state.design  # with the fitted family: an estimated shape starts there
    null = dataclasses.replace(design, X=np.ones((design.n, 1)), x_names=["(Intercept)"], x_dropped=[],
                               messages=[])
    # the same fitting stages as glmer; an estimated shape is estimated again, a user's fixed one stays fixed
    null_state = fit_glmm(null, result.nAGQ, state.family_parameter)
    return float(np.exp(null_state.beta[0]))


def _count_latent_variance(result) -> float:
    """The lognormal approximation ln(1 + Var(y)/mu^2) at the null model's mean (Nakagawa et al. 2017, eq. 5.8).

    Var(y) = mu for the Poisson, mu (1 + mu/theta) for the negative binomial
    (theta: the fit's shape).  As performance, warns when mu < 6, where the
    approximation is poor.
    """
    mu = _null_model_mean(result)
    if mu < 6:
        warnings.warn(f"mu of {mu:.1f} is too close to zero, estimate of r-squared may be unreliable", UserWarning,
                      stacklevel=6)  # the caller of fit.r2()
    fam = result.family
    var = mu if fam.name == "poisson" else mu * (1 + mu / fam.theta)
    return float(np.log1p(var / mu**2))


def _distribution_variance(result) -> float:
    fam = result.family
    if result.reml is not None:  # a linear mixed model: the residual variance
        return float(result.sigma**2)
    if fam.name == "binomial" and fam.link in _BINOMIAL_LATENT_VARIANCE:
        return float(_BINOMIAL_LATENT_VARIANCE[fam.link])
    if fam.name in ("poisson", "negative.binomial") and fam.link in ("log", "sqrt"):
        return 0.25 if fam.link == "sqrt" else _count_latent_variance(result)
    raise FamilyError(f"r2 is available for linear mixed models and for poisson (log, sqrt), negative binomial "
                      f"(log, sqrt) and binomial (logit, probit, cloglog) GLMMs, not {fam.name}({fam.link})")


def variance_components(result) -> VarianceComponents:
    """The variance components of Nakagawa's R² for a fitted mixed model (insight's ``get_variance``).

    Parameters
    ----------
    result : LmerResult or GlmerResult

    Returns
    -------
    VarianceComponents

    Raises
    ------
    FamilyError
        For families and links without a distribution-specific variance here.
    """
    design = result._design
    distribution = _distribution_variance(result)  # first: an unsupported family fails before any work
    fixed = float(np.var(design.X @ result.fixef.to_numpy(), ddof=1)) if design.n > 1 else 0.0
    # Var(b) = sigma^2 T T' (sigma = 1 for GLMMs without a dispersion)
    sigmas = [result.sigma**2 * T @ T.T for T in theta_blocks(design.terms, result.theta)]
    obs_level = [t.nlevels == design.n for t in design.terms]
    random = float("nan")
    if not _is_singular(result):
        random = sum(_term_variance(design, t.names, S) for t, S, o in zip(design.terms, sigmas, obs_level) if not o)
    dispersion = 0.0
    if result.reml is None:  # GLMM: observation-level random effects are additive overdispersion
        dispersion = sum(_term_variance(design, t.names, S) for t, S, o in zip(design.terms, sigmas, obs_level) if o)
    return VarianceComponents(fixed, float(random), distribution, float(dispersion))


def r2_nakagawa(result) -> dict[str, float]:
    """Marginal and conditional R² (see :meth:`glmmfast.LmerResult.r2`)."""
    v = variance_components(result)
    if np.isnan(v.random):
        warnings.warn("can't compute the conditional r-squared: some variance components equal zero (singular "
                      "fit); the marginal r-squared leaves the random effects out", UserWarning, stacklevel=3)
        return {"marginal": v.fixed / (v.fixed + v.residual), "conditional": float("nan")}
    total = v.fixed + v.random + v.residual
    return {"marginal": v.fixed / total, "conditional": (v.fixed + v.random) / total}
