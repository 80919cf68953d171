"""simulate: reproducibility, shapes, and moments against simulation truth."""

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.results._simulate import ResponseSimulator
from conftest import cbpp_fit, grouseticks_fit


def test_shape_and_seed():
    fit = grouseticks_fit()
    a, b = fit.simulate(3, seed=7), fit.simulate(3, seed=7)
    assert a.shape == (fit.nobs, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fit.simulate(3, seed=8))
    assert np.all(a >= 0) and np.all(a == np.round(a))


def test_conditional_mean_is_fitted():
    # re_form=None: y_i ~ Poisson(mu_i) with mu the fitted values; z-scores of the row means.
    fit = grouseticks_fit()
    nsim = 2000
    y = fit.simulate(nsim, seed=1, re_form=None)
    mu = fit.fitted()
    z = (y.mean(axis=1) - mu) / np.sqrt(mu / nsim)
    assert np.abs(z).max() < 5
    assert abs(z.mean()) < 5 / np.sqrt(z.size)


def test_unconditional_random_effects_have_the_fitted_variance():
    fit = grouseticks_fit()
    d = fit._design
    sim = ResponseSimulator(d, fit.fixef.to_numpy(), fit.theta, [None], "~0")
    eta = sim.linear_predictor(np.random.default_rng(3), 400)
    t = d.terms[0]
    first = np.array([np.flatnonzero(t.codes == lev)[0] for lev in range(t.nlevels)])
    b = eta[first] - sim.eta_fixed[first, None]  # one draw per level per simulation
    sd = b.std()
    # theta is the SD of the location effects (sigma = 1); 400 x 60 draws: SE of sd ~ 0.3%.
    assert sd == pytest.approx(fit.theta[0], rel=0.02)


def test_unconditional_poisson_mean():
    # E[y] = exp(x'beta + s^2/2) for a Poisson log-link GLMM with random intercept sd s.
    fit = grouseticks_fit()
    nd = pd.DataFrame({"YEAR": ["95", "96", "97"], "LOCATION": ["1", "1", "1"]})
    nsim = 20000
    y = fit.simulate(nsim, seed=11, newdata=nd)
    expected = np.exp(fit.predict(nd, re_form="~0") + fit.theta[0] ** 2 / 2)
    # Var y = E mu + Var mu (lognormal); compare in standard errors.
    s2 = fit.theta[0] ** 2
    var = expected + expected**2 * (np.exp(s2) - 1)
    z = (y.mean(axis=1) - expected) / np.sqrt(var / nsim)
    assert np.abs(z).max() < 4.5


def test_binomial_proportions_of_trials():
    fit = cbpp_fit()
    y = fit.simulate(1000, seed=2, re_form=None)
    m = fit._design.weights
    counts = y * m[:, None]
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert np.all((y >= 0) & (y <= 1))
    mu = fit.fitted()
    z = (y.mean(axis=1) - mu) / np.sqrt(mu * (1 - mu) / m / 1000)
    assert np.abs(z).max() < 5


def test_bad_arguments():
    fit = grouseticks_fit()
    with pytest.raises(ValueError, match="nsim"):
        fit.simulate(0)
    with pytest.raises(glmmfast.DataError, match="new level"):
        fit.simulate(1, re_form=None, newdata=pd.DataFrame({"YEAR": ["95"], "LOCATION": ["999"]}))


def test_negative_binomial_moments(grouseticks):
    """Conditional draws from a glmer_nb fit: mean mu and variance mu + mu^2/theta per row."""
    fit = glmmfast.glmer_nb("TICKS ~ YEAR + (1 | LOCATION)", grouseticks)
    nsim = 4000
    y = fit.simulate(nsim, seed=5, re_form=None)
    assert np.all(y == np.round(y)) and np.all(y >= 0)
    mu, theta = fit.fitted(), fit.nb_theta
    var = mu + mu**2 / theta
    z = (y.mean(axis=1) - mu) / np.sqrt(var / nsim)
    assert np.abs(z).max() < 5
    # the sample variance of a negative binomial: SE ~ var * sqrt((2 + 6/theta + ...)/nsim); 15% is > 5 SE
    ratio = y.var(axis=1, ddof=1) / var
    assert np.abs(np.median(ratio) - 1) < 0.03
    assert np.all(np.abs(ratio - 1) < 0.35)


def test_linear_mixed_model_draws_need_sigma():
    """gaussian(identity) simulates only with sigma (an LMM): noise SD sigma / sqrt(w), random effects sigma T u."""
    fit = glmmfast.lmer("Reaction ~ Days + (1 | Subject)", glmmfast.datasets.load("sleepstudy"))
    d = fit._design
    with pytest.raises(glmmfast.FamilyError, match="not gaussian\\(identity\\)"):
        ResponseSimulator(d, fit.fixef.to_numpy(), fit.theta, [None], "~0")
    sim = ResponseSimulator(d, fit.fixef.to_numpy(), fit.theta, [None], "~0", sigma=fit.sigma)
    y = sim.draw(np.random.default_rng(9), 3000)
    # Var(y_i) = sigma^2 (theta^2 + 1); rows of one subject share b: Cov = sigma^2 theta^2
    total = fit.sigma**2 * (fit.theta[0] ** 2 + 1)
    assert y.var(axis=1).mean() == pytest.approx(total, rel=0.03)
    same_subject = np.cov(y[0], y[1])[0, 1]
    assert same_subject == pytest.approx(fit.sigma**2 * fit.theta[0] ** 2, rel=0.1)
