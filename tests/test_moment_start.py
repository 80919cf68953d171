"""The count families' moment starts (fit/_moment_start.py): one formula for rows in memory and in partitions."""

from __future__ import annotations

import numpy as np
import pytest

from glmmfast.fit._moment_start import excess_ratio, nb_theta_from_excess, poisson_excess_sums


def test_partitions_sums_add_to_the_whole_rows():
    rng = np.random.default_rng(3)
    mu = rng.uniform(0.5, 5.0, 90)
    y, w = rng.poisson(mu).astype(float), rng.uniform(0.5, 2.0, 90)
    whole = poisson_excess_sums(y, mu, w, 2)
    parts = [poisson_excess_sums(y[i], mu[i], w[i], 2) for i in np.array_split(np.arange(90), 4)]
    added = tuple(sum(p[k] for p in parts) for k in range(2))
    assert excess_ratio(added) == pytest.approx(excess_ratio(whole), rel=1e-12)
    assert excess_ratio(whole) == pytest.approx(np.sum(w * ((y - mu) ** 2 - mu) / mu**2) / np.sum(w), rel=1e-12)


@pytest.mark.parametrize("excess, theta", [(0.5, 2.0), (1e-5, 1000.0), (-0.2, 1000.0), (500.0, 0.01),
                                           (np.nan, 1.0), (np.inf, 1.0)])
def test_nb_theta_from_excess_clips_and_falls_back(excess, theta):
    assert nb_theta_from_excess(excess) == theta


def test_a_zero_mean_gives_the_fallback_start():
    sums = poisson_excess_sums(np.array([0.0, 2.0]), np.array([0.0, 1.0]), np.ones(2), 2)
    assert nb_theta_from_excess(excess_ratio(sums)) == 1.0
