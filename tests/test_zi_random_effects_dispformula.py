"""A dispformula together with random effects in the ziformula (glmmTMB's ``dispformula = ~ x`` beside
``ziformula = ~ z + (1 | g)``).

Reference: tests/data/glmmtmb_zire_inference_reference.{R,json}, case ``zinb2_disp_zire``: glmmTMB 1.1.5's
NB2 fit of ``y ~ x + (1 | g)``, ``zi = ~ z + (1 | g)``, ``disp = ~ x`` on data the R script simulates
(tests/data/glmmtmb_zirenbdisp.csv; on Salamanders glmmTMB stops with false convergence for every such NB
model, see the script).  Targets as issue 14's: the engine's joint Laplace deviance at glmmTMB's estimates
equals glmmTMB's -2 log L; the fit's -2 log L no more than 0.002 above it; every component's coefficients
(conditional, zero-inflation, dispersion) and both components' standard deviations within 0.05 SE of
glmmTMB's; standard errors to 2%; Wald intervals; the estimates near the simulation's truth; the dispersion
rows in the summary, simulate (the NB shape per row), the bootstrap's statistic and the profile.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.design._design import model_design_for
from glmmfast.fit._dispersion_model import dispersion_design
from glmmfast.fit._zero_inflation import tmb_family, zero_inflation_design
from glmmfast.fit._zi_random_effects import zi_random_effects_engine
from glmmfast.results._zi_random_effects_result import ZiRandomEffectsResult

DATA = Path(__file__).parent / "data"
CASE = json.loads((DATA / "glmmtmb_zire_inference_reference.json").read_text())["cases"]["zinb2_disp_zire"]
#: the simulation's truth (glmmtmb_zire_inference_reference.R's zire_nb_disp_data)
TRUTH = {"cond": [1.0, 0.5], "zi": [-0.8, 0.8], "disp": [0.5, 0.6]}


def _data() -> pd.DataFrame:
    df = pd.read_csv(DATA / "glmmtmb_zirenbdisp.csv")
    df["g"] = pd.Categorical(df["g"])
    return df


_FIT = {}


def _fit():
    if "fit" not in _FIT:
        _FIT["fit"] = glmmfast.glmer(CASE["formula"], _data(), family="nbinom2", ziformula=CASE["ziformula"],
                                     dispformula=CASE["dispformula"], quiet=True)
    return _FIT["fit"]


def _engine_at_reference():
    """The engine (conditional GlmmModel, ZiRandomEffectsModel) at glmmTMB's beta_zi and beta_disp, and glmmTMB's
    x = (theta, beta, beta_zi, beta_disp)."""
    data = _data()
    family, _ = tmb_family("nbinom2")
    design = model_design_for(CASE["formula"], data, family, random=True, zero_inflated=True, dispersion_model=True)
    design = dispersion_design(zero_inflation_design(design, CASE["ziformula"], data, None), CASE["dispformula"],
                               data, None)
    fixef = {k: np.array(v["estimate"]) for k, v in CASE["fixef"].items()}
    conditional, model = zi_random_effects_engine(design, None, fixef["zi"], fixef["disp"])
    theta = np.array([CASE["sd"]["cond"], CASE["sd"]["zi"]])  # NB2 has no dispersion: theta = the sd
    return conditional, model, np.concatenate([theta, fixef["cond"], fixef["zi"], fixef["disp"]])


def test_engine_deviance_at_glmmtmb_estimates_is_glmmtmbs():
    # the likelihood itself: the joint Laplace deviance with the NB shape exp(X_d beta_d) per row
    _, model, x = _engine_at_reference()
    assert model.deviance_at(x[:2], x[2:4]) == pytest.approx(CASE["m2loglik"], abs=1e-6)


def test_engine_gradient_in_the_dispersion_model_matches_central_differences():
    """The exact gradient (cpp/src/model/zi_random_effects_gradient.cpp) in every coordinate, beta_disp's
    included, against central differences of the deviance, off the optimum."""
    from glmmfast.fit._zi_random_effects import _deviance_function

    conditional, model, x = _engine_at_reference()
    deviance = _deviance_function(conditional, model, None, 2, 2)
    x = x + 0.05 * np.random.default_rng(3).standard_normal(x.size)
    deviance(x)
    exact = np.asarray(model.laplace_gradient([]))
    assert exact.size == x.size
    h = 1e-5
    numeric = np.array([(deviance(x + h * e) - deviance(x - h * e)) / (2 * h) for e in np.eye(x.size)])
    assert np.abs(exact[-2:]).max() > 1.0  # off the optimum in beta_disp too
    np.testing.assert_allclose(exact, numeric, rtol=1e-5, atol=1e-4 * np.abs(numeric).max())


def test_optimum_is_glmmtmbs_or_better():
    fit = _fit()
    assert isinstance(fit, ZiRandomEffectsResult)
    assert fit.deviance <= CASE["m2loglik"] + 0.002
    assert fit.npar == CASE["logLik_df"]


@pytest.mark.parametrize("component", ["cond", "zi", "disp"])
def test_every_components_coefficients_and_standard_errors_match_glmmtmbs(component):
    ref = CASE["fixef"][component]
    table = _fit().coef_table(component)
    assert list(table.index) == ref["names"]
    for name, est, se in zip(ref["names"], ref["estimate"], ref["se"]):
        assert abs(table.loc[name, "Estimate"] - est) <= 0.05 * se, name
        assert table.loc[name, "Std. Error"] == pytest.approx(se, rel=0.02), name


def test_both_components_standard_deviations_match_glmmtmbs():
    fit = _fit()
    for part, prefix in (("cond", ""), ("zi", "zi~")):
        sd = float(fit.varcorr[part]["sdcor"].iloc[0])
        # glmmTMB's SE of log sd: within 0.05 SE on its scale
        assert abs(np.log(sd) - np.log(CASE["sd"][part])) <= 0.05 * CASE["sd_full"][f"{prefix}theta_1|g.1"], part
        modes = fit.ranef(part, condvar=False)["g"]["(Intercept)"].to_numpy()
        np.testing.assert_allclose(modes, CASE["ranef"][part]["mode"], atol=5e-3)
    full = fit.vcov_full
    for name in ("d~(Intercept)", "d~x"):
        assert np.sqrt(full.loc[name, name]) == pytest.approx(CASE["sd_full"][name], rel=0.02)


def test_estimates_are_near_the_simulations_truth():
    fit = _fit()
    for component, truth in TRUTH.items():
        table = fit.coef_table(component)
        assert np.all(np.abs(table["Estimate"].to_numpy() - truth) < 4 * table["Std. Error"].to_numpy()), component


def test_wald_intervals_have_the_dispersion_rows_as_glmmtmb():
    ci = _fit().confint()
    ref = dict(zip(CASE["wald"]["rows"], zip(CASE["wald"]["lower"], CASE["wald"]["upper"])))
    z = 1.959963984540054
    for name, est, se in zip(CASE["fixef"]["disp"]["names"], CASE["fixef"]["disp"]["estimate"],
                             CASE["fixef"]["disp"]["se"]):
        lo, hi = ci.loc[f"disp.{name}"]
        # our estimate within 0.05 SE and our SE within 2% of glmmTMB's
        assert abs(lo - ref[f"disp.{name}"][0]) <= (0.05 + 0.02 * z) * se
        assert abs(hi - ref[f"disp.{name}"][1]) <= (0.05 + 0.02 * z) * se
    assert "sigma" not in ci.index  # the shape varies by row: its coefficients are the disp rows


def test_summary_prints_the_dispersion_model():
    text = _fit().summary_text()
    assert "Dispersion:" in text and "~x" in text
    assert "Dispersion model:" in text and "Zero-inflation model:" in text


def test_simulate_draws_the_shape_per_row():
    # Var(y | b, c = modes, no zero) = mu + mu^2 / theta_i with theta_i = exp(X_d beta_d): the rows with the
    # smallest and largest shapes differ in their variance as the dispersion model says
    fit = _fit()
    y = fit.simulate(4000, seed=5, re_form=None)
    p = fit.predict(type="zprob")
    mu = fit.predict(type="conditional")
    theta = np.exp(fit.fixef_disp["(Intercept)"] + fit.fixef_disp["x"] * _data()["x"].to_numpy())
    mean = (1 - p) * mu
    var = (1 - p) * (mu + mu**2 / theta + mu**2) - mean**2  # the zero-inflated NB's variance
    for i in (int(np.argmin(theta)), int(np.argmax(theta))):
        draws = y[i]
        assert abs(draws.mean() - mean[i]) < 4 * np.sqrt(var[i] / draws.size), i
        assert draws.var() == pytest.approx(var[i], rel=0.15), i


def test_bootstrap_and_refit_carry_the_dispersion_model():
    fit = _fit()
    boot = fit.bootstrap(2, seed=3, n_jobs=1, progress=False)
    assert list(boot.t0.index)[-2:] == ["disp.(Intercept)", "disp.x"]
    assert boot.t0["disp.x"] == pytest.approx(fit.fixef_disp["x"])
    assert boot.n_failed == 0 and np.isfinite(boot.replicates.to_numpy()).all()
    again = fit.refit(fit._design.y)
    assert again.deviance == pytest.approx(fit.deviance, abs=1e-4)
