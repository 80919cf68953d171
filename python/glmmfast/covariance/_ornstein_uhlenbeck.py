"""``ou``: the Ornstein-Uhlenbeck process at unequally spaced times, rho(d) = exp(-rate d).

d is the distance between the columns' coordinates (the numFactor level
labels, ``"(0.5)"``, ``"(1.5,2)"``); theta_t = (sd, log rate) as glmmTMB's ou.
"""

from __future__ import annotations

from ._log_scale import LogScaleCorrelation

__all__ = ["OrnsteinUhlenbeck"]


class OrnsteinUhlenbeck(LogScaleCorrelation):
    """See the module docstring."""

    name = "ou"

    def parameters(self) -> list[str]:
        return ["rate"]
