"""GlmResult.predict / confint / simulate (glmmfast.results._glm_postfit) against R 4.2's predict.glm,
confint.default and confint (profile) -- tests/data/glm_postfit_reference.json, made by
tests/data/r/glm_postfit_reference.R -- and against simulation truth."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glmmfast

REF = json.loads((Path(__file__).parent / "data" / "glm_postfit_reference.json").read_text())


@pytest.fixture(scope="module")
def new_rows():
    return pd.DataFrame({"YEAR": pd.Categorical(["95", "96", "97"], categories=["95", "96", "97"]),
                         "cHEIGHT": [-10.0, 0.0, 25.0]})


def gaussian_log_fit():
    return glmmfast.glm("Reaction ~ Days", glmmfast.datasets.load("sleepstudy"),
                        family=glmmfast.families.Gaussian(link="log"))


@pytest.fixture(scope="module")
def poisson_fit(grouseticks):
    return glmmfast.glm("TICKS ~ YEAR + cHEIGHT", grouseticks, family="poisson")


def test_predict_with_standard_errors_matches_r(poisson_fit, new_rows):
    ref = REF["poisson"]
    link = poisson_fit.predict(new_rows, se_fit=True)
    np.testing.assert_allclose(link.fit, ref["link_fit"], rtol=1e-7)
    np.testing.assert_allclose(link.se_fit, ref["link_se"], rtol=1e-5)
    resp = poisson_fit.predict(new_rows, type="response", se_fit=True)
    np.testing.assert_allclose(resp.fit, ref["resp_fit"], rtol=1e-7)
    np.testing.assert_allclose(resp.se_fit, ref["resp_se"], rtol=1e-5)
    assert resp.residual_scale == ref["residual_scale"][0] == 1
    # without se_fit: just the values; on the fitted rows: R's fitted values
    np.testing.assert_allclose(poisson_fit.predict(type="response"), poisson_fit.fitted(), rtol=1e-12)


def test_predict_binomial_and_dispersion_family(cbpp):
    b = glmmfast.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    p = b.predict(type="response", se_fit=True)
    np.testing.assert_allclose(p.fit, REF["binomial"]["resp_fit"], rtol=1e-6)
    np.testing.assert_allclose(p.se_fit, REF["binomial"]["resp_se"], rtol=1e-5)
    g = gaussian_log_fit()
    p = g.predict(pd.DataFrame({"Days": [0.0, 5.0, 12.0]}), type="response", se_fit=True)
    ref = REF["gaussian_log"]
    np.testing.assert_allclose(p.fit, ref["resp_fit"], rtol=1e-5)
    np.testing.assert_allclose(p.se_fit, ref["resp_se"], rtol=1e-4)
    assert p.residual_scale == pytest.approx(ref["residual_scale"][0], rel=1e-5)


def test_bad_prediction_inputs(poisson_fit, new_rows):
    with pytest.raises(ValueError, match="type must be"):
        poisson_fit.predict(new_rows, type="probability")
    bad = new_rows.assign(YEAR=pd.Categorical(["95", "98", "97"]))
    with pytest.raises(glmmfast.DataError):
        poisson_fit.predict(bad)


def test_wald_intervals_match_confint_default(poisson_fit):
    ci = poisson_fit.confint()
    assert list(ci.columns) == ["2.5 %", "97.5 %"] and list(ci.index) == list(poisson_fit.coef.index)
    np.testing.assert_allclose(ci.to_numpy(), REF["poisson"]["wald"], rtol=1e-6)
    ci90 = poisson_fit.confint(level=0.9)
    assert list(ci90.columns) == ["5 %", "95 %"]
    np.testing.assert_allclose(ci90.to_numpy(), REF["poisson"]["wald90"], rtol=1e-6)


def test_profile_intervals_match_r(poisson_fit, cbpp):
    # R interpolates its profile by splines; the exact root differs from it by ~1e-4 SE.
    se = poisson_fit.se.to_numpy()[:, None]
    got = poisson_fit.confint("profile").to_numpy()
    assert np.all(np.abs(got - np.array(REF["poisson"]["profile"])) < 2e-3 * se)
    b = glmmfast.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    got = b.confint("profile").to_numpy()
    assert np.all(np.abs(got - np.array(REF["binomial"]["profile"])) < 2e-3 * b.se.to_numpy()[:, None])
    g = gaussian_log_fit()
    got = g.confint("profile").to_numpy()
    assert np.all(np.abs(got - np.array(REF["gaussian_log"]["profile"])) < 5e-3 * g.se.to_numpy()[:, None])
    with pytest.raises(ValueError, match="method must be"):
        poisson_fit.confint("boot")


def test_simulate_recovers_the_fitted_means(poisson_fit, cbpp):
    sims = poisson_fit.simulate(400, seed=3)
    assert sims.shape == (403, 400)
    # mean of 400 Poisson draws: within 5 standard errors of mu, row by row
    mu = poisson_fit.fitted()
    assert np.all(np.abs(sims.mean(axis=1) - mu) < 5 * np.sqrt(mu / 400) + 1e-9)
    np.testing.assert_array_equal(poisson_fit.simulate(2, seed=3), poisson_fit.simulate(2, seed=3))
    b = glmmfast.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    props = b.simulate(1, seed=1)[:, 0]
    assert np.all((props >= 0) & (props <= 1))
    assert np.allclose(props * cbpp["size"], np.round(props * cbpp["size"]))
    with pytest.raises(ValueError, match="nsim"):
        poisson_fit.simulate(0)
