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
    """Base class of every error glmmfast raises on purpose.

    Examples
    --------
    >>> import glmmfast
    >>> try:
    ...     glmmfast.datasets.load("nope")
    ... except glmmfast.GlmmfastError as e:
    ...     print(type(e).__name__)
    DataError
    """


class FormulaError(GlmmfastError, ValueError):
    """The model formula does not parse or names something it cannot use.

    Examples
    --------
    >>> import glmmfast
    >>> glmmfast.glm("TICKS ~ YEAR +* x", glmmfast.datasets.load("grouseticks"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    glmmfast._errors.FormulaError: ...
    """


class DataError(GlmmfastError, ValueError):
    """The data (response, predictors, weights, offset) do not fit the model.

    Examples
    --------
    >>> import glmmfast
    >>> glmmfast.glm("TICKS ~ nosuch", glmmfast.datasets.load("grouseticks"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    glmmfast._errors.DataError: unknown column 'nosuch'...
    """


class FamilyError(GlmmfastError, ValueError):
    """Unknown family, or a link the family cannot take.

    Examples
    --------
    >>> import glmmfast
    >>> glmmfast.families.get_family("poisson", "logit")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    glmmfast._errors.FamilyError: ...
    """


class ConvergenceError(GlmmfastError, RuntimeError):
    """The engine could not reach a solution (e.g. PIRLS failed to converge).

    A ``RuntimeError``, so ``except RuntimeError`` catches it too.

    Examples
    --------
    >>> import glmmfast
    >>> issubclass(glmmfast.ConvergenceError, RuntimeError)
    True
    """


class ArgumentError(GlmmfastError, ValueError):
    """An argument other than the formula and data has a value the function cannot take
    (``nsim=0``, ``level=1.5``, an unknown ``method``).

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
    >>> fit.confint(level=1.5)
    Traceback (most recent call last):
    ...
    glmmfast._errors.ArgumentError: level must be in (0, 1), got 1.5
    """


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument has the wrong type (``REML="yes"``); also a ``ValueError``, as
    :class:`ArgumentError`, so code catching either keeps working.

    Examples
    --------
    >>> import glmmfast
    >>> glmmfast.lmer("Reaction ~ Days + (1 | Subject)", glmmfast.datasets.load("sleepstudy"), REML="yes")
    Traceback (most recent call last):
    ...
    glmmfast._errors.ArgumentTypeError: REML must be True or False, got 'yes'
    """


class ConvergenceWarning(UserWarning):
    """A fit finished, but the optimum is doubtful: lme4's "Model failed to
    converge", a Hessian that is not positive definite, separation (fitted
    probabilities 0 or 1), or a GLM's IRLS stopping short.  Also in
    ``fit.messages``.

    Examples
    --------
    >>> import warnings, glmmfast
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", glmmfast.ConvergenceWarning)  # as any UserWarning
    ...     fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
    >>> issubclass(glmmfast.ConvergenceWarning, UserWarning)
    True
    """


class SingularFitWarning(UserWarning):
    """A fit is on the boundary of the parameter space: lme4's "boundary
    (singular) fit" (a variance estimated as 0 or a correlation of +-1).
    Also in ``fit.messages``.

    Examples
    --------
    >>> import warnings, numpy as np, pandas as pd, glmmfast
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"y": rng.normal(size=50), "g": np.repeat(list("abcdefghij"), 5)})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fit = glmmfast.lmer("y ~ 1 + (1 | g)", df)
    >>> [w.category.__name__ for w in caught], fit.theta.tolist()
    (['SingularFitWarning'], [0.0])
    """
