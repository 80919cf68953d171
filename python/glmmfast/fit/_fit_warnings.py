"""Fit-time warnings: lme4's messages of a finished fit as Python warnings.

Interface: ``warn_fit_messages(messages, quiet, stacklevel)``, called once
by each public fitting function (glmer, glmer_nb, lmer, glm) after the fit;
refits, bootstrap replicates and profiles build their results elsewhere and
stay silent.  A "boundary (singular) fit" message becomes a
:class:`~glmmfast.SingularFitWarning`, every other one (failed convergence,
a Hessian that is not positive definite, separation) a
:class:`~glmmfast.ConvergenceWarning`; both are UserWarnings, so Python's
``warnings`` filters silence them as they do statsmodels' warnings, and
``quiet=True`` skips them.  The messages themselves stay in ``fit.messages``
either way, as lme4 keeps them in ``fit@optinfo$conv$lme4$messages``.
"""

from __future__ import annotations

import warnings

from .._errors import ConvergenceWarning, SingularFitWarning

__all__ = ["warn_fit_messages", "warning_class"]


def warning_class(message: str) -> type[UserWarning]:
    """The warning category of one of lme4's fit messages."""
    return SingularFitWarning if message.startswith("boundary (singular) fit") else ConvergenceWarning


def warn_fit_messages(messages: list[str], quiet: bool, stacklevel: int = 3) -> None:
    """Issue each message as a warning unless ``quiet`` (``stacklevel`` counts from the caller of this function's caller)."""
    if quiet:
        return
    for message in messages:
        warnings.warn(message, warning_class(message), stacklevel=stacklevel)
