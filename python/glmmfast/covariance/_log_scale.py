"""Correlation parameters that are positive and estimated on the log scale.

:class:`LogScaleCorrelation` is a :class:`ScaledCorrelation` with one common
standard deviation whose parameters (a rate, a range, a shape) are
exp(theta) (ou, exp, gau, mat), over the distances between the columns'
coordinates (glmmTMB's numFactor levels).
"""

from __future__ import annotations

import numpy as np

from ._scaled_correlation import ScaledCorrelation

__all__ = ["LogScaleCorrelation"]


class LogScaleCorrelation(ScaledCorrelation):
    """Parameters exp(phi) > 0 (see the module docstring)."""

    common_sd = True
    needs_factor = True
    needs_coordinates = True

    def theta_parameters(self) -> list[str]:
        return [f"log_{p}" for p in self.parameters()]

    def natural(self, phi: np.ndarray) -> np.ndarray:
        return np.exp(phi)

    def from_natural(self, values: np.ndarray) -> np.ndarray:
        return np.log(values)

    def natural_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.parameters())
        return np.zeros(n), np.full(n, np.inf)
