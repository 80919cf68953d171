"""``exp``: exponential spatial correlation, rho(d) = exp(-d / range).

d is the distance between the columns' coordinates (the numFactor level
labels, ``"(0.5)"``, ``"(1.5,2)"``); theta_t = (sd, log range) as glmmTMB's exp.
"""

from __future__ import annotations

from ._log_scale import LogScaleCorrelation

__all__ = ["Exponential"]


class Exponential(LogScaleCorrelation):
    """See the module docstring."""

    name = "exp"

    def parameters(self) -> list[str]:
        return ["range"]
