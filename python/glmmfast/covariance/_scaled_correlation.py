"""Structures written as standard deviations times a correlation matrix.

Holds :class:`ScaledCorrelation`: theta_t = (sd..., phi...), one relative
standard deviation per column or one common to all (``common_sd``), then the
correlation's parameters phi on an unconstrained scale (the engine's
``cpp/src/covariance/scaled_correlation.hpp``).  A structure names its
parameters (``parameters``) and maps phi to the values users read and back
(``natural``, ``from_natural``, with their bounds); the printed parameters
are sigma * sd, then those values.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ._base import CovarianceStructure

__all__ = ["ScaledCorrelation"]


class ScaledCorrelation(CovarianceStructure):
    """Sigma = D R(phi) D (see the module docstring)."""

    #: one standard deviation for all columns
    common_sd: ClassVar[bool] = False

    @property
    def nsd(self) -> int:
        return 1 if self.common_sd else self.k

    # per structure ---------------------------------------------------------
    def parameters(self) -> list[str]:
        """Names of phi's entries as users read them (``rho``, ``range``)."""
        raise NotImplementedError

    def natural(self, phi: np.ndarray) -> np.ndarray:
        """phi -> the values users read."""
        raise NotImplementedError

    def from_natural(self, values: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`natural` (values inside :meth:`natural_bounds`)."""
        raise NotImplementedError

    def natural_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Open bounds of :meth:`natural`'s values."""
        raise NotImplementedError

    # shared ------------------------------------------------------------------
    def theta_names(self, group: str, names: list[str]) -> list[str]:
        sds = [f"{group}.{self.name}.sd"] if self.common_sd else [f"{group}.{n}" for n in names]
        return sds + [f"{group}.{self.name}.{p}" for p in self.theta_parameters()]

    def theta_parameters(self) -> list[str]:
        """Names of phi's entries on the optimiser's scale (``t_rho``: the unconstrained transform of rho)."""
        return [f"t_{p}" for p in self.parameters()]

    def sdcor(self, theta: np.ndarray, sigma: float = 1.0) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        return np.concatenate([sigma * theta[:self.nsd], self.natural(theta[self.nsd:])])

    def sdcor_labels(self, names: list[str]) -> list[str]:
        sds = [f"sd__{self.name}"] if self.common_sd else [f"sd__{n}" for n in names]
        return sds + [f"{p}__{self.name}" for p in self.parameters()]

    def sdcor_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.natural_bounds()
        return (np.concatenate([np.zeros(self.nsd), lo]), np.concatenate([np.full(self.nsd, np.inf), hi]))

    def theta_from_sdcor(self, values: np.ndarray) -> np.ndarray | None:
        values = np.asarray(values, dtype=float)
        lo, hi = self.natural_bounds()
        nat = values[self.nsd:]
        if np.any(values[:self.nsd] < 0) or np.any(nat <= lo) or np.any(nat >= hi):
            return None
        return np.concatenate([values[:self.nsd], self.from_natural(nat)])
