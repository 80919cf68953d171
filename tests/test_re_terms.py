"""sdcor_from_theta / theta_from_sdcor: lme4's standard-deviation/correlation scale and back."""

import numpy as np
import pytest

from glmmfast._re_terms import ReTerm, sdcor_from_theta, sdcor_names, theta_from_sdcor


def _term(group, k):
    return ReTerm(group, [f"c{i}" for i in range(k)], np.zeros(1, dtype=int), ["a"], np.zeros((1, k)))


TERMS = [_term("g", 3), _term("h", 1)]


def test_round_trip_and_covariance():
    theta = np.array([1.2, 0.3, -0.4, 0.8, 0.1, 0.5, 0.7])
    sdcor = sdcor_from_theta(TERMS, theta)
    T = np.array([[1.2, 0, 0], [0.3, 0.8, 0], [-0.4, 0.1, 0.5]])
    S = T @ T.T
    sd = np.sqrt(np.diag(S))
    # theta's positions: column by column, lower triangle; diagonal -> sd, below -> correlation.
    expected = [sd[0], S[1, 0] / (sd[0] * sd[1]), S[2, 0] / (sd[0] * sd[2]), sd[1], S[2, 1] / (sd[1] * sd[2]),
                sd[2], 0.7]
    np.testing.assert_allclose(sdcor, expected, rtol=1e-14)
    np.testing.assert_allclose(theta_from_sdcor(TERMS, sdcor), theta, atol=1e-14)
    assert sdcor_names(TERMS) == [f".sig0{i}" for i in range(1, 8)]


def test_boundaries():
    # A zero standard deviation gives a zero column; impossible correlations give None.
    th = theta_from_sdcor(TERMS, np.array([1.0, 0.5, 0.2, 0.0, 0.3, 1.0, 1.0]))
    assert th is not None and th[3] == 0 and th[4] == 0
    assert theta_from_sdcor(TERMS, np.array([1.0, 0.99, 0.99, 1.0, -0.99, 1.0, 1.0])) is None
    assert theta_from_sdcor(TERMS, np.array([1.0, 1.5, 0.0, 1.0, 0.0, 1.0, 1.0])) is None
    assert theta_from_sdcor(TERMS, np.array([-1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0])) is None
    assert theta_from_sdcor(TERMS, np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 2.0]))[-1] == pytest.approx(2.0)
