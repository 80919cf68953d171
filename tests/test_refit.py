"""refit / GlmerModel: the same optimum as a fit from scratch; pickling across processes."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import glmmfast
from conftest import cbpp_fit, grouseticks_fit


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_refit_matches_fit_from_scratch(grouseticks, seed):
    fit = grouseticks_fit()
    y = fit.simulate(1, seed=seed)[:, 0]
    r = fit.refit(y)
    full = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks.assign(TICKS=y), family="poisson")
    assert r.deviance == pytest.approx(full.deviance, abs=1e-6)
    np.testing.assert_allclose(r.fixef, full.fixef, atol=2e-5)
    np.testing.assert_allclose(r.theta, full.theta, atol=2e-5)
    np.testing.assert_allclose(r.vcov, full.vcov, rtol=1e-3)
    np.testing.assert_allclose(r.fitted(), full.fitted(), rtol=1e-4)


def test_refit_takes_quasi_newton_steps_from_the_original_hessian(grouseticks):
    fit = grouseticks_fit()
    model = fit.model()
    assert model.hessian0 is not None
    # the stored Hessian is the fit's, in (theta, beta)
    fit.vcov
    np.testing.assert_allclose(model.hessian0, fit.optinfo.hessian, rtol=1e-4, atol=1e-3)
    for seed in (4, 5, 6):
        y = fit.simulate(1, seed=seed)[:, 0]
        out = model.refit(y)
        full = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks.assign(TICKS=y), family="poisson")
        assert out.info.evaluations < 15  # L-BFGS from the same start takes about 20
        assert out.deviance == pytest.approx(full.deviance, abs=1e-8)
        np.testing.assert_allclose(out.beta, full.fixef, atol=1e-5)
        np.testing.assert_allclose(out.theta, full.theta, atol=1e-5)


def test_refitting_models_reuse_the_fits_hessian(grouseticks):
    # The Hessian the standard errors come from serves every refitting model
    # (fit.model(), each bootstrap worker) instead of being recomputed; it
    # equals the one a model computes for itself.
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | INDEX) + (1 | LOCATION)", grouseticks, family="poisson")
    model = fit.model()
    assert model.hessian0 is fit.optinfo.hessian
    own = glmmfast.GlmerModel(fit._design, fit.theta, fit.fixef.to_numpy()).hessian0
    np.testing.assert_allclose(model.hessian0, own, rtol=1e-9, atol=1e-9 * np.abs(own).max())
    agq = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson", nAGQ=5)
    assert agq._refit_hessian() is None and agq.model().hessian0 is None  # no gradient: BOBYQA refits


def test_refit_falls_back_where_quasi_newton_cannot_finish(grouseticks):
    # a response with no between-location variation: theta goes to its bound 0,
    # where the quasi-Newton steps stop and L-BFGS finishes
    fit = grouseticks_fit()
    rng = np.random.default_rng(0)
    mu = np.exp(fit.fixef["(Intercept)"] + 0.2 * (grouseticks["YEAR"].astype(str) == "96"))
    y = rng.poisson(mu.to_numpy())
    out = fit.model().refit(y)
    full = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks.assign(TICKS=y), family="poisson")
    assert out.theta[0] < 1e-3 and full.theta[0] < 1e-3
    assert out.deviance == pytest.approx(full.deviance, abs=1e-6)
    np.testing.assert_allclose(out.beta, full.fixef, atol=1e-4)


def test_refit_leaves_the_original_alone():
    fit = grouseticks_fit()
    before = fit.fitted().copy()
    fit.refit(fit.simulate(1, seed=5)[:, 0])
    np.testing.assert_array_equal(fit.fitted(), before)


def test_refit_to_own_response_and_cold_start():
    fit = cbpp_fit()
    model = fit.model()
    d = fit._design
    counts = np.column_stack([d.y * d.weights, (1 - d.y) * d.weights])
    warm = model.refit(counts, weights=np.ones(d.n))
    cold = model.refit(d.y, warm_start=False)
    for out in (warm, cold):
        assert out.deviance == pytest.approx(fit.deviance, abs=1e-6)
        np.testing.assert_allclose(out.beta, fit.fixef, atol=1e-4)


def test_refit_bad_response():
    fit = grouseticks_fit()
    with pytest.raises(glmmfast.DataError, match="length"):
        fit.refit(np.ones(3))
    with pytest.raises(glmmfast.DataError):
        fit.refit(-np.ones(fit.nobs))


def test_pickle_in_a_new_process(tmp_path):
    fit = grouseticks_fit("TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)")
    nd = pd.DataFrame({"YEAR": ["95", "97"], "LOCATION": ["1", "999"], "INDEX": ["3", "999"]})
    expected = fit.predict(nd, type="response", allow_new_levels=True)
    fit.vcov  # computed once and pickled with the fit
    path = tmp_path / "fit.pkl"
    path.write_bytes(pickle.dumps((fit, nd)))
    code = ("import pickle, sys, json; fit, nd = pickle.load(open(sys.argv[1], 'rb'));"
            "print(json.dumps([list(fit.predict(nd, type='response', allow_new_levels=True)),"
            " list(fit.fitted()[:5]), float(fit.vcov.iloc[0, 0])]))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    pred, fitted, v00 = json.loads(out.stdout)
    np.testing.assert_allclose(pred, expected, rtol=1e-12)
    np.testing.assert_allclose(fitted, fit.fitted()[:5], rtol=1e-9)
    assert v00 == fit.vcov.iloc[0, 0]


def test_refit_agq_fit(cbpp):
    # nAGQ > 1: the warm start goes straight to the AGQ stage; same optimum as a fit from scratch.
    f = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    fit = glmmfast.glmer(f, cbpp, family="binomial", nAGQ=9)
    y = fit.simulate(1, seed=4)[:, 0]
    r = fit.refit(y)
    s = cbpp["incidence"] + (cbpp["size"] - cbpp["incidence"])
    new = cbpp.assign(incidence=np.round(y * s).astype(int))
    full = glmmfast.glmer(f, new, family="binomial", nAGQ=9)
    assert r.deviance == pytest.approx(full.deviance, abs=1e-6)
    np.testing.assert_allclose(r.fixef, full.fixef, atol=1e-4)


def test_refit_reestimates_the_dispersion_of_a_gamma_fit():
    # A refit to the fit's own response must return to the same optimum,
    # dispersion included.
    df = glmmfast.datasets.load("sleepstudy")
    fit = glmmfast.glmer("Reaction ~ Days + (1 | Subject)", df, family=glmmfast.families.Gamma(link="log"))
    model = fit.model()
    out = model.refit(fit._design.y)
    again = model.result(out)
    assert again.deviance == pytest.approx(fit.deviance, abs=1e-5)
    assert again.dispersion == pytest.approx(fit.dispersion, rel=1e-3)
    np.testing.assert_allclose(again.fixef, fit.fixef, atol=1e-4)


def _engine_deviances(eng, theta, beta, phi):
    """The engine's -2 log L at (theta, beta) and dispersion phi (PIRLS from u = 0), and its sum of unit
    deviances there (where the truncated counts read log y)."""
    eng.set_dispersion(phi)
    eng.set_u(np.zeros(eng.q))
    return eng.deviance_at(theta, beta), eng.sum_dev_resid()


@pytest.mark.parametrize("family", ["Gamma", "truncated_poisson"])
def test_a_new_response_gives_a_fresh_models_deviance_exactly(gamma_small_groups, family):
    # The families keep terms of y alone (log y: family/response_terms.hpp) per response: after
    # set_response the engine's -2 log L at fixed parameters is a fresh model's for the new y to the bit.
    df = gamma_small_groups
    if family == "truncated_poisson":
        df = df.assign(y=np.floor(df["y"]) + 1.0)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family=family)
    # not a permutation alone: the sum of log y over the rows would not see a stale cache
    y_new = np.random.default_rng(7).permutation(df["y"].to_numpy()) + 1.0
    fresh = glmmfast.glmer("y ~ x + (1 | g)", df.assign(y=y_new), family=family)
    theta, beta = np.asarray(fit.theta), fit.fixef.to_numpy()
    phi = fit.sigma**2 if family == "Gamma" else 1.0
    eng = fit.model().engine
    before = _engine_deviances(eng, theta, beta, phi)
    eng.set_response(y_new, np.ones(len(df)))
    after = _engine_deviances(eng, theta, beta, phi)
    assert after == _engine_deviances(fresh.model().engine, theta, beta, phi)
    assert after[0] != before[0] and after[1] != before[1]
