"""``ar1``: first-order autoregressive correlation, one standard deviation.

``ar1(0 + f | g)``, f a factor of equally spaced times: R_ij = rho^|i-j| over
the positions of f's levels (glmmTMB's ar1); theta_t = (sd, t),
rho = t / sqrt(1 + t^2).
"""

from __future__ import annotations

import numpy as np

from ._lag_correlation import LagCorrelation

__all__ = ["Ar1"]


class Ar1(LagCorrelation):
    """R_ij = rho^|i-j| (see the module docstring)."""

    name = "ar1"
    common_sd = True
    needs_factor = True
    print_one_sd = True

    def parameters(self) -> list[str]:
        return ["rho"]

    def printed_correlation(self, theta: np.ndarray) -> float | None:
        return float(self.natural(np.asarray(theta, dtype=float)[1:])[0])
