"""``us``: the unstructured covariance, lme4's default ``(x | g)``.

theta_t fills the relative factor T_t's lower triangle column by column
(lme4's theta, Bates et al. 2015, sec. 2.2); the printed parameters are the
standard deviations (in the diagonal's positions) and the correlations (below
it), lme4's ``Cv_to_Sv``, and T_t = chol(D R D) maps them back.
"""

from __future__ import annotations

import numpy as np

from ._base import CovarianceStructure

__all__ = ["Unstructured"]


def _lower_positions(k: int) -> list[tuple[int, int]]:
    """(i, j) of T's lower triangle, column by column."""
    return [(i, j) for j in range(k) for i in range(j, k)]


class Unstructured(CovarianceStructure):
    """Any positive semi-definite covariance (see the module docstring)."""

    name = "us"
    linear = True

    def theta_names(self, group: str, names: list[str]) -> list[str]:
        return [f"{group}.{names[i]}" if i == j else f"{group}.{names[i]}.{names[j]}"
                for i, j in _lower_positions(self.k)]

    def sdcor(self, theta: np.ndarray, sigma: float = 1.0) -> np.ndarray:
        S = self.covariance(theta, sigma)
        sd = np.sqrt(np.diag(S))
        out = []
        for i, j in _lower_positions(self.k):
            if i == j:
                out.append(sd[i])
            else:
                d = sd[i] * sd[j]
                out.append(S[i, j] / d if d > 0 else np.nan)
        return np.asarray(out, dtype=float)

    def sdcor_labels(self, names: list[str]) -> list[str]:
        return [f"sd__{names[i]}" if i == j else f"cor__{names[i]}.{names[j]}" for i, j in _lower_positions(self.k)]

    def sdcor_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        is_cor = np.array([i != j for i, j in _lower_positions(self.k)], dtype=bool)
        return np.where(is_cor, -1.0, 0.0), np.where(is_cor, 1.0, np.inf)

    def theta_from_sdcor(self, values: np.ndarray) -> np.ndarray | None:
        """T_t = chol(D R D), lower triangular.

        A standard deviation of 0 gives a zero column (the Cholesky factor of
        a semi-definite matrix); None when the correlations do not form a
        positive semi-definite matrix.
        """
        k = self.k
        S = np.zeros((k, k))
        for (i, j), v in zip(_lower_positions(k), values):
            S[i, j] = S[j, i] = v
        sd = np.diag(S).copy()
        if np.any(sd < 0) or np.any(np.abs(S[~np.eye(k, dtype=bool)]) > 1):
            return None
        C = S * np.outer(sd, sd)
        C[np.diag_indices(k)] = sd**2
        L = np.zeros((k, k))
        for j in range(k):
            d = C[j, j] - L[j, :j] @ L[j, :j]
            if d < -1e-10 * max(1.0, C[j, j]):
                return None
            if d <= 1e-14 * max(1.0, C[j, j]):
                continue  # semi-definite: a zero pivot leaves a zero column
            L[j, j] = np.sqrt(d)
            L[j + 1:, j] = (C[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
        return np.asarray([L[i, j] for i, j in _lower_positions(k)], dtype=float)
