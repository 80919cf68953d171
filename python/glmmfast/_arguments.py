"""Checks of the plain arguments public functions take (not formula or data).

One helper per kind of argument, so every entry point refuses a bad value
with the same message before any work (or C++) starts:

- :func:`check_bool` (``REML``, ``warm_start``),
- :func:`check_nsim` (``nsim`` of bootstrap and simulate),
- :func:`check_level` (confidence ``level``),
- :func:`check_choice` (``method``, residual ``type``, ``na_action``...).

Each returns the value in canonical form and raises
:class:`~glmmfast.ArgumentError` (or :class:`~glmmfast.ArgumentTypeError`)
whose message names the argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._errors import ArgumentError, ArgumentTypeError

__all__ = ["check_bool", "check_nsim", "check_level", "check_choice"]


def check_bool(name: str, value: object) -> bool:
    """``value`` as a bool; only True/False (Python or numpy) are accepted.

    Raises
    ------
    ArgumentTypeError
        Anything else, e.g. ``"yes"``, ``1`` or ``None`` (R's ``REML = "yes"``
        is an error too).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_nsim(nsim: object, name: str = "nsim") -> int:
    """``nsim`` as a positive int (numpy integers accepted, bools and floats not).

    Raises
    ------
    ArgumentTypeError
        ``nsim`` is not an integer (``2.5``, ``"10"``, ``True``).
    ArgumentError
        ``nsim`` is 0 or negative.
    """
    if isinstance(nsim, (bool, np.bool_)) or not isinstance(nsim, (int, np.integer)):
        raise ArgumentTypeError(f"{name} must be a positive integer, got {nsim!r} ({type(nsim).__name__})")
    if nsim < 1:
        raise ArgumentError(f"{name} must be a positive integer, got {nsim!r}")
    return int(nsim)


def check_level(level: object, name: str = "level") -> float:
    """A confidence level strictly between 0 and 1, as a float.

    Raises
    ------
    ArgumentTypeError
        ``level`` is not a real number.
    ArgumentError
        ``level`` is NaN or outside (0, 1).
    """
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{name} must be a number in (0, 1), got {level!r} ({type(level).__name__})")
    if not (0 < level < 1):  # NaN fails both comparisons
        raise ArgumentError(f"{name} must be in (0, 1), got {level!r}")
    return float(level)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed`` (exact, case-sensitive, as R's ``match.arg`` without abbreviation).

    Raises
    ------
    ArgumentError
        ``value`` is not one of ``allowed``; the message lists them.
    """
    if not isinstance(value, str) or value not in allowed:
        raise ArgumentError(f"unknown {name} {value!r}: {name} must be one of {', '.join(map(repr, allowed))}")
    return value
