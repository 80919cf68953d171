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


class ArgumentError(GlmmfastError, ValueError, TypeError):
    """An argument other than the data has a value or type the function cannot take
    (a number of simulations below 2, an unknown test alternative, a result of the wrong kind);
    caught by ``except ValueError`` and ``except TypeError`` alike."""
