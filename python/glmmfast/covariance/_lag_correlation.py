"""glmmTMB's unconstrained transform of a correlation (ar1, toep).

rho = t / sqrt(1 + t^2), t = rho / sqrt(1 - rho^2); :class:`LagCorrelation`
is a :class:`ScaledCorrelation` whose parameters are such correlations.
"""

from __future__ import annotations

import numpy as np

from ._scaled_correlation import ScaledCorrelation

__all__ = ["LagCorrelation"]


class LagCorrelation(ScaledCorrelation):
    """Correlation parameters rho = t / sqrt(1 + t^2), each in (-1, 1)."""

    def natural(self, phi: np.ndarray) -> np.ndarray:
        return phi / np.sqrt(1.0 + phi**2)

    def from_natural(self, values: np.ndarray) -> np.ndarray:
        return values / np.sqrt(1.0 - values**2)

    def natural_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.parameters())
        return np.full(n, -1.0), np.full(n, 1.0)
