"""Exception classes raised by glmmfast.

Every problem glmmfast detects in its inputs is raised as a subclass of
:class:`GlmmfastError`; each also derives from the built-in exception a
Python user would reach for (``ValueError`` for bad values, ``RuntimeError``
for a fit that cannot proceed), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class GlmmfastError(Exception):
    """Base class of every error glmmfast raises on purpose."""


class FormulaError(GlmmfastError, ValueError):
    """The model formula does not parse or names something it cannot use."""


class DataError(GlmmfastError, ValueError):
    """The data (response, predictors, weights, offset) do not fit the model."""


class FamilyError(GlmmfastError, ValueError):
    """Unknown family, or a link the family cannot take."""


class ConvergenceError(GlmmfastError, RuntimeError):
    """The engine could not reach a solution (e.g. PIRLS failed to converge)."""


class ConvergenceWarning(UserWarning):
    """A fit finished, but the optimum is doubtful: lme4's "Model failed to
    converge", a Hessian that is not positive definite, separation (fitted
    probabilities 0 or 1), or a GLM's IRLS stopping short.  Also in
    ``fit.messages``."""


class SingularFitWarning(UserWarning):
    """A fit is on the boundary of the parameter space: lme4's "boundary
    (singular) fit" (a variance estimated as 0 or a correlation of +-1).
    Also in ``fit.messages``."""
