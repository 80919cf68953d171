"""The count families' moment starts from a Poisson GLM's means: one formula for rows in memory and in partitions.

Interface:

- :func:`poisson_excess_sums` (y, mu, w, power) -> (sum_i w_i ((y_i - mu_i)^2 - mu_i) / mu_i^power,
  sum_i w_i): sums over rows, so partitions' sums add (fit/_partitioned.py's workers send them);
- :func:`excess_ratio` (sums) -> their ratio, the excess variance over the Poisson's
  (Var y = mu + mu^2 / theta: 1 / theta at power 2; Var y = mu (1 + phi): phi at power 1);
  NaN where the Poisson start failed (a mean of 0 with power > 0);
- :func:`nb_theta_from_excess` (excess) -> the negative-binomial shape's start.

fit/_glmer.py computes the sums from the in-memory design's rows, fit/_partitioned.py from each
partition's rows on its worker; both turn them into theta0 here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["poisson_excess_sums", "excess_ratio", "nb_theta_from_excess"]


def poisson_excess_sums(y: np.ndarray, mu: np.ndarray, w: np.ndarray, power: int) -> tuple[float, float]:
    """(sum w ((y - mu)^2 - mu) / mu^power, sum w) over the rows at the Poisson GLM's means ``mu``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(w * ((y - mu) ** 2 - mu) / mu**power)), float(np.sum(w))


def excess_ratio(sums: tuple[float, float]) -> float:
    """The excess variance's moment estimate from :func:`poisson_excess_sums` (added over partitions)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(sums[0]) / np.float64(sums[1]))


def nb_theta_from_excess(excess: float) -> float:
    """Starting negative-binomial shape from the excess variance (Var y = mu + mu^2 / theta), clipped to
    [0.01, 1000]; 1 where the Poisson start failed (NaN), 1000 where there is no excess.

    Examples
    --------
    >>> nb_theta_from_excess(0.5), nb_theta_from_excess(-0.1), nb_theta_from_excess(float("nan"))
    (2.0, 1000.0, 1.0)
    """
    if not np.isfinite(excess):  # the Poisson start failed (e.g. identity link at mu = 0)
        return 1.0
    return float(np.clip(1.0 / excess, 0.01, 1000.0)) if excess > 0 else 1000.0
