"""The covariance structure of one random-effects term, as the Python layer sees it.

Holds :class:`CovarianceStructure`, the base of every structure (one module
each in this package, named in :mod:`._registry`).  A structure of a term
with ``k`` columns has ``nparams`` parameters theta_t (the optimiser's
coordinates: lower bounds only, from the engine) and gives

- ``covariance(theta_t, sigma)``: Sigma_t = sigma^2 T_t T_t', T_t the engine's
  relative factor (``cpp/src/covariance/``; sigma is the residual SD of a
  linear mixed model, 1 otherwise);
- ``factor_derivatives`` (the engine's exact dT_t/dtheta_j) and
  ``factor_second_derivatives`` (None where T_t is linear in theta_t, as for
  us and diag; else central differences of the exact first derivatives),
  for the Hessians of lmerTest's Satterthwaite df;
- ``theta_names``: names of theta_t's entries (lme4's ``grp.col`` style);
- ``sdcor``/``theta_from_sdcor``: the parameters users read and profiles
  step through (standard deviations, correlations and the structure's own
  parameters: rho, rate, range, shape) and back, with ``sdcor_bounds`` and
  ``sdcor_labels`` (``sd__x``, ``cor__x.y``, ``rho__ar1``, ...);
- ``printed_correlation`` and ``print_one_sd``: glmmTMB's compact layout of
  ar1 and cs terms (one correlation printed as ``"0.73 (ar1)"``; ar1 prints
  one standard-deviation row), None where the full matrix is printed.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from .. import _core

__all__ = ["CovarianceStructure"]


@functools.lru_cache(maxsize=256)
def _parameter_count(name: str, k: int) -> int:
    """The engine's parameter count of structure ``name`` on ``k`` columns without coordinates: a function of
    the two alone, remembered (every fit makes one structure per term)."""
    return int(_core.covariance_parameters(name, k, np.zeros((0, 0)))["nparams"])


class CovarianceStructure:
    """Base of the covariance structures (see the module docstring).

    Parameters
    ----------
    k : int
        Columns of the term.
    coords : ndarray of shape (k, d), optional
        Coordinates (times, positions) of the columns, for the structures
        that use them.
    """

    #: the structure's name in formulas (``ar1(0 + f | g)``)
    name: ClassVar[str] = ""
    #: the term must be the indicator columns of one factor, without intercept
    needs_factor: ClassVar[bool] = False
    #: the factor's level labels must be coordinates (glmmTMB's numFactor)
    needs_coordinates: ClassVar[bool] = False

    def __init__(self, k: int, coords: np.ndarray | None = None):
        self.k = int(k)
        self.coords = np.zeros((0, 0)) if coords is None else np.asarray(coords, dtype=float)
        self.nparams = (_parameter_count(self.name, self.k) if coords is None
                        else int(_core.covariance_parameters(self.name, self.k, self.coords)["nparams"]))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k})"

    # -- the engine's factor --------------------------------------------------
    def factor(self, theta: np.ndarray) -> np.ndarray:
        """T_t at ``theta`` (k x k, lower triangular)."""
        return np.asarray(_core.covariance_factor(self.name, self.k, self.coords, np.asarray(theta, dtype=float)))

    #: T_t is linear in theta_t (no second derivatives)
    linear: ClassVar[bool] = False

    def factor_derivatives(self, theta: np.ndarray) -> np.ndarray:
        """dT_t/dtheta_j, shape (nparams, k, k)."""
        d = _core.covariance_factor_derivatives(self.name, self.k, self.coords, np.asarray(theta, dtype=float))
        return np.asarray(d, dtype=float).reshape(self.nparams, self.k, self.k)

    def factor_second_derivatives(self, theta: np.ndarray, h: float = 1e-5) -> np.ndarray | None:
        """d^2 T_t/dtheta_i dtheta_j, shape (nparams, nparams, k, k); None where T_t is linear.

        Central differences of the exact first derivatives: error O(h^2).
        """
        if self.linear:
            return None
        theta = np.asarray(theta, dtype=float)
        out = np.empty((self.nparams, self.nparams, self.k, self.k))
        for i in range(self.nparams):
            e = np.zeros(self.nparams)
            e[i] = h
            out[i] = (self.factor_derivatives(theta + e) - self.factor_derivatives(theta - e)) / (2 * h)
        return 0.5 * (out + out.transpose(1, 0, 2, 3))

    def covariance(self, theta: np.ndarray, sigma: float = 1.0) -> np.ndarray:
        """Sigma_t = sigma^2 T_t T_t'."""
        T = self.factor(theta)
        return sigma**2 * T @ T.T

    # -- names and user-facing parameters (per structure) ----------------------
    def theta_names(self, group: str, names: list[str]) -> list[str]:
        """Names of theta_t's entries for a term on ``group`` with columns ``names``."""
        raise NotImplementedError

    def sdcor(self, theta: np.ndarray, sigma: float = 1.0) -> np.ndarray:
        """The parameters users read, in :meth:`sdcor_labels`' order."""
        raise NotImplementedError

    def sdcor_labels(self, names: list[str]) -> list[str]:
        """Labels of :meth:`sdcor`'s entries (``sd__x``, ``cor__x.y``, ``rho__ar1``)."""
        raise NotImplementedError

    def sdcor_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of :meth:`sdcor`'s entries."""
        raise NotImplementedError

    def theta_from_sdcor(self, values: np.ndarray) -> np.ndarray | None:
        """Inverse of :meth:`sdcor` at sigma = 1; None where the values have no covariance."""
        raise NotImplementedError

    #: glmmTMB prints one standard-deviation row for the term (all columns share it)
    print_one_sd: ClassVar[bool] = False

    def printed_correlation(self, theta: np.ndarray) -> float | None:
        """The one correlation glmmTMB prints for the term (``0.73 (ar1)``); None: print the matrix."""
        return None

    def scalar(self) -> bool:
        """theta_t is one standard deviation (the profile's scale comes from the Hessian)."""
        return self.k == 1 and self.nparams == 1
