"""Exception classes raised by glmmfast.

Every problem glmmfast detects in its inputs is raised as a subclass of
:class:`GlmmfastError`; each also derives from the built-in exception a
Python user would reach for (``ValueError`` for bad values, ``RuntimeError``
for a fit that cannot proceed), so ``except ValueError`` keeps working.

Interface: ``GlmmfastError`` and its subclasses ``FormulaError``,
``DataError``, ``FamilyError``, ``ConvergenceError``, ``ArgumentError``
(bad argument values) and ``ArgumentTypeError`` (bad argument types).
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


class ArgumentError(GlmmfastError, ValueError):
    """An argument other than the formula and data has a value the function cannot take
    (``nsim=0``, ``level=1.5``, an unknown ``method``)."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument has the wrong type (``REML="yes"``); also a ``ValueError``, as
    :class:`ArgumentError`, so code catching either keeps working."""
