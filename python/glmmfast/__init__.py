"""glmmfast: lme4-compatible generalized linear mixed models on a C++ engine.

Public API
----------
glmer : fit a GLMM by maximum likelihood (Laplace approximation)
glm : fit a GLM (no random effects), as R's ``glm``
anova : likelihood-ratio tests between nested fits
fit_many : one design fitted to many response columns
GlmerModel : low-level reusable model for repeated refits
families : Poisson, Binomial, Gaussian and their links
datasets : bundled example data (grouseticks, cbpp, sleepstudy)
"""

from . import datasets, families
from ._errors import ConvergenceError, DataError, FamilyError, FormulaError, GlmmfastError
from ._glm import GlmResult, glm
from ._anova import anova
from ._bootstrap import BootstrapResult
from ._fit_many import fit_many
from ._glmer import glmer
from ._refit import GlmerModel
from ._results import GlmerResult

__version__ = "0.1.0"

__all__ = [
    "glmer",
    "glm",
    "anova",
    "fit_many",
    "GlmerModel",
    "BootstrapResult",
    "GlmerResult",
    "GlmResult",
    "families",
    "datasets",
    "GlmmfastError",
    "FormulaError",
    "DataError",
    "FamilyError",
    "ConvergenceError",
]
