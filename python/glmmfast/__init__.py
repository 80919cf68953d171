"""glmmfast: lme4-compatible generalized linear mixed models on a C++ engine.

Public API
----------
glmer : fit a GLMM by maximum likelihood (Laplace approximation)
glmer_nb : negative-binomial GLMM with the shape estimated (lme4's glmer.nb)
lmer : fit a linear mixed model by REML or maximum likelihood
glm : fit a GLM (no random effects), as R's ``glm``
anova : likelihood-ratio tests between nested fits
emmeans : estimated marginal means and pairwise comparisons (R's emmeans)
VarCorr : the variance components, printed as lme4 prints them
fit_many : one design fitted to many response columns
GlmerModel : low-level reusable model for repeated refits
families : Poisson, Binomial, Gaussian, Gamma, InverseGaussian, NegativeBinomial and their links
datasets : bundled example data (grouseticks, cbpp, sleepstudy, InstEval)
plots : caterpillar, diagnostic and overdispersion plots (needs matplotlib)
dispersion_check : Pearson chi-squared / df overdispersion test
simulate_residuals : simulation-based scaled (quantile) residuals and their tests (DHARMa)
cli : the ``glmmfast`` command line
num_factor : a factor of coordinates for the ou, exp, gau and mat covariance structures (glmmTMB's numFactor)
"""

from . import datasets, families
from .covariance import num_factor
from .fit._dispersion import DispersionCheck, dispersion_check
from ._errors import (ArgumentError, ArgumentTypeError, ConvergenceError, ConvergenceWarning, DataError, FamilyError,
                      FormulaError, GlmmfastError, SingularFitWarning)
from .fit._glm import GlmResult, glm
from .inference._anova import anova
from .summary._display import VarCorr
from .inference._emmeans import Emmeans, emmeans
from .results._bootstrap import BootstrapResult
from .fit._fit_many import fit_many
from .fit._glmer import glmer, glmer_nb
from .fit._lmer import lmer
from .results._refit import GlmerModel
from .results._results import GlmerResult, LmerResult
from .inference._scaled_residuals import ResidualTest, ScaledResiduals, simulate_residuals

__version__ = "0.1.0"


def __getattr__(name: str):
    # glmmfast.plots imports scipy.stats (and matplotlib when drawing): loaded
    # on first use so that ``import glmmfast`` (and every command-line call)
    # stays fast.  PEP 562 module __getattr__.
    if name == "plots":
        import importlib
        return importlib.import_module(".plots", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "glmer",
    "glmer_nb",
    "lmer",
    "glm",
    "anova",
    "emmeans",
    "Emmeans",
    "VarCorr",
    "fit_many",
    "num_factor",
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
    "ConvergenceWarning",
    "SingularFitWarning",
]
