"""``mat``: Matérn spatial correlation with estimated shape (glmmTMB's mat).

rho(d) = x^kappa K_kappa(x) / (Gamma(kappa) 2^(kappa - 1)), x = d / range (TMB's
matern: no sqrt(2 kappa) scaling); theta_t = (sd, log range, log shape kappa).
"""

from __future__ import annotations

from ._log_scale import LogScaleCorrelation

__all__ = ["Matern"]


class Matern(LogScaleCorrelation):
    """See the module docstring."""

    name = "mat"

    def parameters(self) -> list[str]:
        return ["range", "shape"]
