"""``diag``: independent columns with their own standard deviations.

theta_t = the k relative standard deviations (T_t = diag(theta_t)); the
printed parameters are sigma times them.  ``diag(x | g)`` is lme4's
``(x || g)`` for numeric x, kept as one term.
"""

from __future__ import annotations

import numpy as np

from ._scaled_correlation import ScaledCorrelation

__all__ = ["Diagonal"]


class Diagonal(ScaledCorrelation):
    """Sigma = diag(sd^2) (see the module docstring)."""

    name = "diag"
    linear = True

    def parameters(self) -> list[str]:
        return []

    def natural(self, phi: np.ndarray) -> np.ndarray:
        return np.zeros(0)

    def from_natural(self, values: np.ndarray) -> np.ndarray:
        return np.zeros(0)

    def natural_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(0), np.zeros(0)
