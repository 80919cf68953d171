"""``gau``: Gaussian spatial correlation, rho(d) = exp(-(d / range)^2).

d is the distance between the columns' coordinates (the numFactor level
labels, ``"(0.5)"``, ``"(1.5,2)"``); theta_t = (sd, log range) as glmmTMB's gau.
"""

from __future__ import annotations

from ._log_scale import LogScaleCorrelation

__all__ = ["GaussianCorrelation"]


class GaussianCorrelation(LogScaleCorrelation):
    """See the module docstring."""

    name = "gau"

    def parameters(self) -> list[str]:
        return ["range"]
