"""``cs``: heterogeneous standard deviations, one common correlation (glmmTMB's cs).

theta_t = (sd_1, ..., sd_k, t) with glmmTMB's transform
rho = plogis(t) (1 + a) - a, a = 1/(k - 1): rho in (-1/(k-1), 1), the range
in which the matrix is positive definite; t = qlogis((rho + a) / (1 + a)).
"""

from __future__ import annotations

import numpy as np

from ._scaled_correlation import ScaledCorrelation

__all__ = ["CompoundSymmetry"]


class CompoundSymmetry(ScaledCorrelation):
    """R_ij = rho, i != j (see the module docstring)."""

    name = "cs"

    @property
    def _a(self) -> float:
        return 1.0 / (self.k - 1)

    def parameters(self) -> list[str]:
        return ["rho"] if self.k > 1 else []

    def natural(self, phi: np.ndarray) -> np.ndarray:
        if self.k == 1:
            return np.zeros(0)
        return 1.0 / (1.0 + np.exp(-phi)) * (1.0 + self._a) - self._a

    def from_natural(self, values: np.ndarray) -> np.ndarray:
        if self.k == 1:
            return np.zeros(0)
        p = (values + self._a) / (1.0 + self._a)
        return np.log(p / (1.0 - p))

    def printed_correlation(self, theta: np.ndarray) -> float | None:
        return float(self.natural(np.asarray(theta, dtype=float)[self.k:])[0]) if self.k > 1 else None

    def natural_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if self.k == 1:
            return np.zeros(0), np.zeros(0)
        return np.array([-self._a]), np.array([1.0])
