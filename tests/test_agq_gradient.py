"""Tests for the engine's agq_gradient.cpp: the exact gradient in (theta, beta) of the adaptive
Gauss-Hermite deviance for one scalar term, a canonical link and no dispersion, against
Richardson-extrapolated central differences of the deviance (agq.cpp's)."""

from __future__ import annotations

import numpy as np
import pytest

import glmmfast
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import engine_model

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _engine(formula, data, family):
    return engine_model(model_design_for(formula, data, family, random=True))


def _differenced_gradient(model, theta: np.ndarray, beta: np.ndarray, k: int) -> np.ndarray:
    """Richardson-extrapolated central differences (error O(h^4)) of the k-point AGQ deviance."""
    x0 = np.concatenate([theta, beta])
    nt = theta.size

    def deviance(x):
        return model.agq_deviance_at(x[:nt], x[nt:], k)

    out = np.empty(x0.size)
    for i in range(x0.size):
        h = 1e-4 * max(1.0, abs(x0[i]))
        e = np.zeros(x0.size)
        e[i] = h
        out[i] = (8 * (deviance(x0 + e) - deviance(x0 - e)) - (deviance(x0 + 2 * e) - deviance(x0 - 2 * e))) / (12 * h)
    return out


# Points away from the optimum (a gradient of order 1 to 1e4) and near it; the random slope has Z values
# other than 1.
CASES = {
    "cbpp near the optimum, 25 nodes": ("cbpp", CBPP, "binomial", [0.64], [-1.4, -0.99, -1.13, -1.58], 25),
    "cbpp, 9 nodes": ("cbpp", CBPP, "binomial", [1.3], [-1.0, -0.5, -1.5, -1.0], 9),
    "poisson intercept, 10 nodes": ("grouseticks", "TICKS ~ YEAR + (1 | LOCATION)", "poisson", [1.1],
                                    [1.0, -0.5, 0.3], 10),
    "poisson slope, 7 nodes": ("grouseticks", "TICKS ~ YEAR + (0 + cHEIGHT | LOCATION)", "poisson", [0.02],
                               [1.0, -0.5, 0.3], 7),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_matches_central_differences_of_the_deviance(case):
    data, formula, family, theta, beta, k = CASES[case]
    fam = glmmfast.families.Binomial() if family == "binomial" else glmmfast.families.Poisson()
    model = _engine(formula, glmmfast.datasets.load(data), fam)
    theta, beta = np.array(theta), np.array(beta)
    assert model.has_agq_gradient
    expected = _differenced_gradient(model, theta, beta, k)
    model.agq_deviance_at(theta, beta, k)
    # the differences' error ~1e-9 absolute: a relative test where the component is not near 0
    np.testing.assert_allclose(model.agq_gradient(k), expected, rtol=1e-6, atol=1e-8)


def test_one_node_is_the_laplace_gradient(cbpp):
    model = _engine(CBPP, cbpp, glmmfast.families.Binomial())
    model.agq_deviance_at(np.array([0.8]), np.array([-1.2, -1.0, -1.1, -1.5]), 1)
    np.testing.assert_allclose(model.agq_gradient(1), model.laplace_gradient(), rtol=1e-12, atol=1e-12)


def test_gradient_differs_from_the_laplace_gradient(cbpp):
    # the quadrature's own terms are there: at lme4's AGQ optimum the Laplace gradient is not 0, AGQ's is
    model = _engine(CBPP, cbpp, glmmfast.families.Binomial())
    fit = glmmfast.glmer(CBPP, cbpp, "binomial", nAGQ=25)
    model.agq_deviance_at(fit.theta, fit.fixef, 25)
    assert np.max(np.abs(model.agq_gradient(25))) < 1e-3
    assert np.max(np.abs(model.laplace_gradient())) > 1e-2


def test_no_exact_gradient_for_a_non_canonical_link(cbpp):
    model = _engine(CBPP, cbpp, glmmfast.families.Binomial(link="probit"))
    assert not model.has_agq_gradient
    model.agq_deviance_at(np.array([0.6]), np.array([-0.8, -0.5, -0.6, -0.8]), 9)
    with pytest.raises(ValueError, match="canonical link"):
        model.agq_gradient(9)
