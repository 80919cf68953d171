"""glmmfast: lme4-compatible generalized linear mixed models on a C++ engine.

Public API
----------
glmer : fit a GLMM by maximum likelihood (Laplace approximation)
lmer : fit a linear mixed model by REML or maximum likelihood
glm : fit a GLM (no random effects), as R's ``glm``
families : Poisson, Binomial, Gaussian and their links
datasets : bundled example data (grouseticks, cbpp, sleepstudy, InstEval)
"""

from . import datasets, families
from ._errors import ConvergenceError, DataError, FamilyError, FormulaError, GlmmfastError
from ._glm import GlmResult, glm
from ._glmer import glmer
from ._lmer import lmer
from ._results import GlmerResult, LmerResult

__version__ = "0.1.0"

__all__ = [
    "glmer",
    "lmer",
    "glm",
    "GlmerResult",
    "LmerResult",
    "GlmResult",
    "families",
    "datasets",
    "GlmmfastError",
    "FormulaError",
    "DataError",
    "FamilyError",
    "ConvergenceError",
]
