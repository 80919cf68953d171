"""``toep``: heterogeneous standard deviations, one correlation per lag (glmmTMB's toep).

theta_t = (sd_1, ..., sd_k, t_1, ..., t_{k-1}), R_ij = rho_|i-j|,
rho_l = t_l / sqrt(1 + t_l^2) (positive definiteness is not implied: the
engine refuses such values).
"""

from __future__ import annotations

from ._lag_correlation import LagCorrelation

__all__ = ["Toeplitz"]


class Toeplitz(LagCorrelation):
    """R_ij = rho_|i-j| (see the module docstring)."""

    name = "toep"

    def parameters(self) -> list[str]:
        return [f"rho{lag}" for lag in range(1, self.k)]
