"""glmmfast: lme4-compatible generalized linear mixed models on a C++ engine.

Public API
----------
glmer : fit a GLMM by maximum likelihood (Laplace approximation)
glmer_nb : negative-binomial GLMM with the shape estimated (lme4's glmer.nb)
lmer : fit a linear mixed model by REML or maximum likelihood
glm : fit a GLM (no random effects), as R's ``glm``
anova : likelihood-ratio tests between nested fits
emmeans : estimated marginal means and pairwise comparisons (R's emmeans)
fit_many : one design fitted to many response columns
GlmerModel : low-level reusable model for repeated refits
families : Poisson, Binomial, Gaussian, Gamma, InverseGaussian, NegativeBinomial and their links
datasets : bundled example data (grouseticks, cbpp, sleepstudy, InstEval)
plots : caterpillar, diagnostic and overdispersion plots (needs matplotlib)
dispersion_check : Pearson chi-squared / df overdispersion test
simulate_residuals : simulation-based scaled (quantile) residuals and their tests (DHARMa)
cli : the ``glmmfast`` command line
"""

from . import datasets, families, plots
from ._dispersion import DispersionCheck, dispersion_check
from ._errors import (ArgumentError, ArgumentTypeError, ConvergenceError, DataError, FamilyError, FormulaError,
                      GlmmfastError)
from ._glm import GlmResult, glm
from ._anova import anova
from ._emmeans import Emmeans, emmeans
from ._bootstrap import BootstrapResult
from ._fit_many import fit_many
from ._glmer import glmer, glmer_nb
from ._lmer import lmer
from ._refit import GlmerModel
from ._results import GlmerResult, LmerResult
from ._scaled_residuals import ResidualTest, ScaledResiduals, simulate_residuals

__version__ = "0.1.0"

__all__ = [
    "glmer",
    "glmer_nb",
    "lmer",
    "glm",
    "anova",
    "emmeans",
    "Emmeans",
    "fit_many",
    "GlmerModel",
    "BootstrapResult",
    "GlmerResult",
    "LmerResult",
    "GlmResult",
    "families",
    "datasets",
    "plots",
    "dispersion_check",
    "DispersionCheck",
    "simulate_residuals",
    "ScaledResiduals",
    "ResidualTest",
    "GlmmfastError",
    "FormulaError",
    "DataError",
    "FamilyError",
    "ConvergenceError",
    "ArgumentError",
    "ArgumentTypeError",
]
