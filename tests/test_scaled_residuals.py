"""simulate_residuals (DHARMa's scaled residuals) by their defining properties: uniform when the model
is true, and each test's size and power measured over simulated datasets (DHARMa is not packaged for
Debian, so there are no R numbers to copy).  Rates are checked against binomial intervals (99.9%)."""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import glmmfast
from glmmfast.inference._scaled_residuals import pit_residuals
from glmmfast.results._simulate import ResponseSimulator

from conftest import cbpp_fit, grouseticks_fit

# A Poisson GLMM with 40 groups of 10: eta = 0.5 + 0.4 x + b_g, b_g ~ N(0, 0.5^2).
N_GROUPS, PER_GROUP, BETA, SD = 40, 10, np.array([0.5, 0.4]), 0.5
REPLICATES = 200


def _upper(p: float, n: int) -> float:
    """Largest rejection rate compatible with size p over n replicates (99.9% binomial quantile)."""
    return stats.binom.ppf(0.999, n, p) / n


def _lower(p: float, n: int) -> float:
    return stats.binom.ppf(0.001, n, p) / n


@lru_cache(maxsize=None)
def _design():
    rng = np.random.default_rng(20261203)
    g = np.repeat(np.arange(N_GROUPS), PER_GROUP)
    return pd.DataFrame({"x": rng.normal(size=g.size), "g": [f"g{i:02d}" for i in g]})


def _counts(rng, overdispersion=0.0, zero_inflation=0.0, outliers=0.0) -> np.ndarray:
    df = _design()
    codes = df["g"].str[1:].astype(int).to_numpy()
    eta = BETA[0] + BETA[1] * df["x"].to_numpy() + rng.normal(0, SD, N_GROUPS)[codes]
    eta = eta + rng.normal(0, overdispersion, eta.size)  # observation-level noise: overdispersion
    y = rng.poisson(np.exp(eta))
    y = np.where(rng.random(y.size) < zero_inflation, 0, y)
    return np.where(rng.random(y.size) < outliers, y + 15, y)


@lru_cache(maxsize=None)
def _base_fit():
    df = _design().assign(y=_counts(np.random.default_rng(0)))
    return glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")


def _p_values(kind: str, replicates: int, tests, **data) -> np.ndarray:
    """p-values (replicates x tests) of simulate_residuals' tests on Poisson-GLMM fits to simulated data."""
    rng = np.random.default_rng(abs(hash((kind, replicates))) % 2**32)
    base = _base_fit()
    out = []
    for i in range(replicates):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an occasional singular or boundary refit is part of the experiment
            fit = base.refit(_counts(rng, **data))
        res = glmmfast.simulate_residuals(fit, n=250, seed=i)
        out.append([t(res).p_value for t in tests])
    return np.array(out)


# -- the PIT itself ---------------------------------------------------------------------------------

def test_pit_continuous_is_the_fraction_below():
    sims = np.array([[0.1, 0.2, 0.3, 0.4], [1.0, 2.0, 3.0, 4.0]])
    r = pit_residuals(sims, np.array([0.25, 5.0]), np.random.default_rng(0))
    np.testing.assert_array_equal(r, [0.5, 1.0])


def test_pit_integer_ties_are_randomised_between_the_ecdf_steps():
    sims = np.tile([0.0, 1.0, 1.0, 2.0], (2000, 1))
    r = pit_residuals(sims, np.ones(2000), np.random.default_rng(1))
    assert r.min() >= 0.25 and r.max() <= 0.75  # U(F(y-), F(y)) = U(1/4, 3/4)
    assert stats.kstest((r - 0.25) / 0.5, "uniform").pvalue > 1e-3


def test_pit_is_uniform_under_the_true_model():
    """Simulations from the true parameters (conditional on the true b): KS p-values uniform."""
    fit = _base_fit()
    rng = np.random.default_rng(5)
    p = []
    for _ in range(REPLICATES):
        b = rng.normal(0, SD, (N_GROUPS, 1))
        sim = ResponseSimulator(fit._design, BETA, np.array([SD]), [b], re_form=None)
        y = sim.draw(rng, 1)[:, 0]
        p.append(stats.kstest(pit_residuals(sim.draw(rng, 250), y, rng), "uniform").pvalue)
    rate = np.mean(np.array(p) < 0.05)
    assert _lower(0.05, REPLICATES) <= rate <= _upper(0.05, REPLICATES)
    assert stats.kstest(p, "uniform").pvalue > 1e-3


# -- simulate_residuals on fitted models: size and power ----------------------------------------------

UNIFORMITY = lambda r: r.test_uniformity()  # noqa: E731
DISPERSION = lambda r: r.test_dispersion()  # noqa: E731
ZEROS = lambda r: r.test_zero_inflation()  # noqa: E731
OUTLIERS = lambda r: r.test_outliers(type="binomial")  # noqa: E731


@lru_cache(maxsize=None)
def _true_model_p():
    return _p_values("true", REPLICATES, (UNIFORMITY, DISPERSION, ZEROS, OUTLIERS))


@pytest.mark.slow
@pytest.mark.parametrize("column, name", [(0, "uniformity"), (1, "dispersion"), (2, "zero inflation"),
                                          (3, "outliers")])
def test_size_on_data_from_the_model(column, name):
    """No test rejects more often than 5% when the model is right.  (Fitted parameters make the KS and
    simulation tests conservative, as in DHARMa: the residuals adapt to the data they were fitted to.)"""
    rate = np.mean(_true_model_p()[:, column] < 0.05)
    assert rate <= _upper(0.05, REPLICATES), name


@pytest.mark.slow
def test_unconditional_residuals_of_fitted_models_are_uniform_pooled_over_datasets():
    """With new random effects (re_form="~0") each residual is marginally U(0, 1): pooled over 100
    independent datasets, every decile holds 10% +- 1%.  (Conditional simulations, the default, are
    slightly concentrated towards 0.5: the fitted modes absorb part of each group's deviation.)"""
    rng = np.random.default_rng(8)
    base = _base_fit()
    pooled = []
    for i in range(100):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = base.refit(_counts(rng))
        pooled.append(glmmfast.simulate_residuals(fit, seed=i, re_form="~0").residuals)
    freq = np.histogram(np.concatenate(pooled), bins=10, range=(0, 1))[0] / (100 * N_GROUPS * PER_GROUP)
    np.testing.assert_allclose(freq, 0.1, atol=0.01)


@pytest.mark.slow
def test_overdispersion_is_detected():
    p = _p_values("overdispersed", 60, (DISPERSION, UNIFORMITY), overdispersion=0.6)
    assert np.mean(p[:, 0] < 0.05) >= 0.9
    assert np.mean(p[:, 1] < 0.05) >= 0.8


@pytest.mark.slow
def test_zero_inflation_is_detected():
    p = _p_values("zero-inflated", 60, (ZEROS,), zero_inflation=0.15)
    assert np.mean(p[:, 0] < 0.05) >= 0.85


@pytest.mark.slow
def test_outliers_are_detected():
    p = _p_values("outliers", 40, (OUTLIERS,), outliers=0.03)
    assert np.mean(p[:, 0] < 0.05) >= 0.85


def test_negative_binomial_fit_absorbs_what_the_poisson_fit_flags():
    """NB counts: the Poisson fit fails the dispersion test, the NB fit (simulating NB) passes it."""
    rng = np.random.default_rng(3)
    df = _design().copy()
    codes = df["g"].str[1:].astype(int).to_numpy()
    mu = np.exp(1.0 + 0.4 * df["x"].to_numpy() + rng.normal(0, SD, N_GROUPS)[codes])
    df["y"] = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    pois = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")
    nb = glmmfast.glmer_nb("y ~ x + (1 | g)", df)
    assert glmmfast.simulate_residuals(pois, seed=1).test_dispersion().p_value < 0.001
    res = glmmfast.simulate_residuals(nb, seed=1)
    assert res.test_dispersion().p_value > 0.05
    assert res.test_uniformity().p_value > 0.05


# -- the object -------------------------------------------------------------------------------------

def test_seed_reproduces_simulations_residuals_and_bootstrap():
    fit = grouseticks_fit()
    a, b = glmmfast.simulate_residuals(fit, n=50, seed=4), glmmfast.simulate_residuals(fit, n=50, seed=4)
    np.testing.assert_array_equal(a.residuals, b.residuals)
    np.testing.assert_array_equal(a.simulated, b.simulated)
    assert a.test_outliers(n_boot=20) == b.test_outliers(n_boot=20) == a.test_outliers(n_boot=20)
    assert not np.array_equal(a.residuals, glmmfast.simulate_residuals(fit, n=50, seed=5).residuals)


def test_shapes_range_and_fitted_are_population_level():
    fit = grouseticks_fit()
    res = glmmfast.simulate_residuals(fit, n=30, seed=1)
    assert res.residuals.shape == (fit.nobs,) and res.simulated.shape == (fit.nobs, 30) and len(res) == fit.nobs
    assert res.residuals.min() >= 0 and res.residuals.max() <= 1
    np.testing.assert_allclose(res.fitted, fit.predict(type="response", re_form="~0"))
    assert res.integer_response and res.re_form is None


def test_binomial_residuals_use_numbers_of_successes():
    fit = cbpp_fit()
    cbpp = glmmfast.datasets.load("cbpp")
    res = glmmfast.simulate_residuals(fit, n=100, seed=2)
    np.testing.assert_array_equal(res.observed, cbpp["incidence"].to_numpy())
    assert np.all(res.simulated <= cbpp["size"].to_numpy()[:, None])
    assert np.all(res.simulated == np.round(res.simulated))


def test_conditional_and_unconditional_simulations():
    """re_form=None: row means near the conditional fitted values; "~0": new random effects (more spread)."""
    fit = grouseticks_fit()
    cond = glmmfast.simulate_residuals(fit, n=400, seed=1)
    z = (cond.simulated.mean(axis=1) - fit.fitted()) / np.sqrt(fit.fitted() / 400)
    assert np.abs(z).max() < 5
    uncond = glmmfast.simulate_residuals(fit, n=400, seed=1, re_form="~0")
    assert uncond.re_form == "~0"
    assert uncond.simulated.var(axis=1).mean() > 1.5 * cond.simulated.var(axis=1).mean()


def test_linear_mixed_model_residuals_are_continuous_quantiles():
    fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
    res = glmmfast.simulate_residuals(fit, n=200, seed=3)
    assert not res.integer_response
    np.testing.assert_array_equal(res.residuals, np.mean(res.simulated < res.observed[:, None], axis=1))
    # simulated residual SD around the conditional means: sigma
    assert np.std(res.simulated - fit.fitted()[:, None]) == pytest.approx(fit.sigma, rel=0.02)
    assert res.test_uniformity().p_value > 0.001


def test_outlier_test_default_type_follows_dharma():
    small = glmmfast.simulate_residuals(grouseticks_fit(), n=60, seed=1)  # counts, 403 rows: bootstrap
    assert small.test_outliers(n_boot=10).method == "bootstrapped outlier test"
    lmm = glmmfast.simulate_residuals(glmmfast.lmer("Reaction ~ Days + (1 | Subject)",
                                                    glmmfast.datasets.load("sleepstudy")), n=60, seed=1)
    assert lmm.test_outliers().method.startswith("outlier test based on exact binomial")
    with pytest.raises(glmmfast.ArgumentError, match="margin"):
        small.test_outliers(margin="left")
    with pytest.raises(glmmfast.ArgumentError, match="type"):
        small.test_outliers(type="exact")
    with pytest.raises(glmmfast.ArgumentError, match="n_boot"):
        small.test_outliers(n_boot=0)
    with pytest.raises(glmmfast.ArgumentError, match="alternative"):
        small.test_dispersion(alternative="bigger")


# -- bad inputs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 0, 2.5, True, "250"])
def test_bad_number_of_simulations(n):
    with pytest.raises(glmmfast.ArgumentError, match="n must be an integer of at least 2"):
        glmmfast.simulate_residuals(grouseticks_fit(), n=n)


@pytest.mark.parametrize("seed", [-1, 1.5, "a", np.random.default_rng(1)])
def test_bad_seed(seed):
    with pytest.raises(glmmfast.ArgumentError, match="seed must be"):
        glmmfast.simulate_residuals(grouseticks_fit(), n=10, seed=seed)


def test_not_a_mixed_model():
    glm = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
    with pytest.raises(glmmfast.ArgumentError, match="fitted mixed model"):
        glmmfast.simulate_residuals(glm)


def test_family_without_simulator():
    # (the Gamma has a simulator now: the inverse Gaussian has none)
    fit = glmmfast.glmer("Reaction ~ Days + (1 | Subject)", glmmfast.datasets.load("sleepstudy"),
                         family=glmmfast.families.InverseGaussian(link="log"))
    with pytest.raises(glmmfast.FamilyError, match="not inverse.gaussian\\(log\\)"):
        glmmfast.simulate_residuals(fit)


def test_gamma_residuals_simulate_with_the_fitted_dispersion():
    # correct simulations make the scaled residuals uniform: their variance near 1/12
    fit = glmmfast.glmer("Reaction ~ Days + (1 | Subject)", glmmfast.datasets.load("sleepstudy"),
                         family=glmmfast.families.Gamma(link="log"))
    res = np.asarray(glmmfast.simulate_residuals(fit, n=250, seed=1).residuals)
    assert abs(res.var() - 1 / 12) < 0.02


def test_zero_trials_are_refused(cbpp):
    df = cbpp.copy()
    df.loc[0, ["incidence", "size"]] = 0
    fit = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", df, family="binomial")
    with pytest.raises(glmmfast.DataError, match="zero binomial trials"):
        glmmfast.simulate_residuals(fit)
