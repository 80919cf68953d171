"""Random effects in the zero-inflation formula (glmmTMB's ``ziformula = ~ x + (1 | g)``).

Reference fits: tests/data/glmmtmb_reference.json cases ``sal_zip_zire``
(ZIP on Salamanders, ``zi = ~ mined + (1 | site)``) and ``owls_hnb1`` (the
glmmTMB vignette's hurdle NB1 on Owls, ``zi`` with ``(1 | Nest)``).  Targets
as the other glmmTMB cases (tests/test_zero_inflation.py, where the optimum
test iterates over these cases too): the engine's joint Laplace deviance at
glmmTMB's estimates equals glmmTMB's -2 log L; the fit's -2 log L no more
than 0.002 above it; fixed effects of both components and the standard
deviations of both components' random effects within 0.05 SE; standard
errors to 2%; conditional modes and predictions; a simulated ZIP with zero
random intercepts recovers its parameters; refusals of what is not supported.
The results: glmmTMB's printed summary (both components' random-effects
blocks), AIC and parameter count, Wald intervals against glmmTMB's estimates
and SEs, likelihood-ratio anova against an ordinary zero-inflated fit,
pickling, predictions on new data (known levels at their modes, new levels
0, population level), simulate (its marginal mean by quadrature over both
components' random effects), refit and the bootstrap around the truth.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import ArgumentError, FormulaError
from glmmfast.design._design import model_design_for
from glmmfast.fit._family_parameter import shape_parameter
from glmmfast.fit._zero_inflation import tmb_family, zero_inflation_design
from glmmfast.fit._zi_random_effects import zi_random_effects_engine

from test_zero_inflation import REFERENCE, ZI_RANDOM_EFFECTS, _family_parameter_reference, _layout, fit_case, load


def _reference_theta(c: dict) -> np.ndarray:
    """glmmTMB's standard deviations as theta (scalar terms; families without a dispersion)."""
    return np.array([c["varcorr"][part][g]["sd"][0] for part in ("cond", "zi") for g in c["varcorr"][part]])


def _engines_at_reference(cid: str):
    """The engine's conditional GlmmModel and ZiRandomEffectsModel with glmmTMB's family parameter (also
    returned) and beta_zi set, and glmmTMB's theta, beta and beta_zi."""
    c = REFERENCE[cid]
    family, estimated = tmb_family(c["family"])
    data = load(c["dataset"])
    design = model_design_for(c["formula"], data, family, random=True, zero_inflated=True)
    design = zero_inflation_design(design, c["ziformula"], data, None)
    parameter = shape_parameter("phi", _family_parameter_reference(c)) if estimated else None
    beta_zi = np.array([c["fixef"]["zi"][n] for n in design.zi.x_names])
    conditional, model = zi_random_effects_engine(design, parameter, beta_zi)
    beta = np.array([c["fixef"]["cond"][n] for n in design.x_names])
    return conditional, model, parameter, _reference_theta(c), beta, beta_zi


def _engine_at_reference(cid: str):
    """The engine's ZiRandomEffectsModel with glmmTMB's family parameter and beta_zi set, and
    glmmTMB's theta, beta and beta_zi."""
    _, model, _, theta, beta, beta_zi = _engines_at_reference(cid)
    return model, theta, beta, beta_zi


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_engine_deviance_at_glmmtmb_estimates_is_glmmtmbs(cid):
    model, theta, beta, _ = _engine_at_reference(cid)
    assert model.deviance_at(theta, beta) == pytest.approx(REFERENCE[cid]["m2loglik"], abs=1e-6)


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_engine_gradient_matches_central_differences(cid):
    """The exact gradient of the joint Laplace deviance in (theta, beta, beta_zi)
    (cpp/src/model/zi_random_effects_gradient.cpp) against central differences of the
    deviance, at glmmTMB's estimates moved off the optimum (so the gradient is not ~0)."""
    model, theta, beta, beta_zi = _engine_at_reference(cid)
    rng = np.random.default_rng(7)
    theta = theta * 1.2
    x = np.concatenate([theta, beta + 0.05 * rng.standard_normal(beta.size),
                        beta_zi + 0.05 * rng.standard_normal(beta_zi.size)])
    nt, p = theta.size, beta.size

    def deviance(v):
        model.set_beta_zi(v[nt + p:])
        return model.deviance_at(v[:nt], v[nt:nt + p])

    deviance(x)
    exact = np.asarray(model.laplace_gradient())
    h = 1e-5
    numeric = np.array([(deviance(x + h * e) - deviance(x - h * e)) / (2 * h) for e in np.eye(x.size)])
    assert np.abs(exact).max() > 1.0  # off the optimum
    np.testing.assert_allclose(exact, numeric, rtol=1e-5, atol=1e-4 * np.abs(numeric).max())


def test_engine_gradient_in_the_family_parameter_matches_central_differences():
    """The exact gradient in log phi (owls_hnb1's truncated NB1; the observation terms' central differences,
    the mode held: zi_random_effects_gradient.cpp) against central differences of the deviance, off the
    optimum."""
    from glmmfast.fit._zi_random_effects import _deviance_function

    conditional, model, parameter, theta, beta, beta_zi = _engines_at_reference("owls_hnb1")
    deviance = _deviance_function(conditional, model, parameter, theta.size, beta.size)
    x = np.concatenate([theta * 1.2, beta, beta_zi, parameter.optimizer_coordinates() + 0.3])
    deviance(x)
    exact = np.asarray(model.laplace_gradient(["phi"]))
    h = 1e-5
    e = np.zeros(x.size)
    e[-1] = h
    numeric = (deviance(x + e) - deviance(x - e)) / (2 * h)
    assert abs(numeric) > 1.0
    assert exact[-1] == pytest.approx(numeric, rel=1e-5)


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_random_effects_of_both_components_match_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    vc = fit.varcorr
    for part, prefix in (("cond", ""), ("zi", "zi~")):
        for group, ref in c["varcorr"][part].items():
            sd = float(vc[part].loc[vc[part]["grp"] == group, "sdcor"].iloc[0])
            # glmmTMB's SE of log sd (sd_full's theta): within 0.05 SE on its scale
            assert abs(np.log(sd) - np.log(ref["sd"][0])) <= 0.05 * c["sd_full"][f"{prefix}theta_1|{group}.1"], part
            modes = c[f"ranef_{part}"][group]
            ours = fit.ranef(part)[group]
            assert list(ours.index) == modes["_levels"]
            np.testing.assert_allclose(ours["(Intercept)"], modes["(Intercept)"], atol=5e-3)


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_standard_errors_match_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    for part in ("cond", "zi"):
        se = fit.coef_table(part)["Std. Error"]
        for name, value in c["se"][part].items():
            assert se[name] == pytest.approx(value, rel=0.02), (part, name)
    full = fit.vcov_full
    assert np.sqrt(full.loc["zi~(Intercept)", "zi~(Intercept)"]) == pytest.approx(c["sd_full"]["zi~(Intercept)"],
                                                                                  rel=0.02)


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_vcov_is_the_conditional_block_of_vcov_full_and_a_copy(cid):
    fit = fit_case(cid)
    names = list(fit.fixef.index)
    vcov = fit.vcov
    pd.testing.assert_frame_equal(vcov, fit.vcov_full.loc[names, names])
    vcov.iloc[0, 0] = np.nan  # the caller's copy: the fit's covariance is unchanged
    assert np.isfinite(fit.vcov.iloc[0, 0]) and np.isfinite(fit.vcov_full.iloc[0, 0])


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
@pytest.mark.parametrize("kind", ["response", "link", "zprob", "zlink", "conditional"])
def test_predict_types_match_glmmtmbs(cid, kind):
    c = REFERENCE[cid]
    got = fit_case(cid).predict(type=kind)[:10]
    np.testing.assert_allclose(got, c["predict"][kind], rtol=2e-3, atol=2e-3)


def _simulated_zip_zire(seed: int, n_groups: int = 80, per_group: int = 30) -> pd.DataFrame:
    """ZIP data with random intercepts in both parts: log mu = 0.5 + 0.8 x + b_g (sd 0.5);
    logit p = -0.5 + 1.0 z + c_g (sd 0.8)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x, z = rng.standard_normal(g.size), rng.standard_normal(g.size)
    b, c = 0.5 * rng.standard_normal(n_groups), 0.8 * rng.standard_normal(n_groups)
    mu = np.exp(0.5 + 0.8 * x + b[g])
    p = 1 / (1 + np.exp(-(-0.5 + 1.0 * z + c[g])))
    y = np.where(rng.random(g.size) < p, 0, rng.poisson(mu))
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": pd.Categorical(g)})


def test_zero_inflation_random_intercepts_recover_simulated_parameters():
    fit = glmmfast.glmer("y ~ x + (1 | g)", _simulated_zip_zire(14), family="poisson", ziformula="~ z + (1 | g)",
                         quiet=True)
    cond, zi = fit.coef_table("cond"), fit.coef_table("zi")
    assert abs(cond.loc["x", "Estimate"] - 0.8) < 4 * cond.loc["x", "Std. Error"]
    assert abs(zi.loc["(Intercept)", "Estimate"] + 0.5) < 4 * zi.loc["(Intercept)", "Std. Error"]
    assert abs(zi.loc["z", "Estimate"] - 1.0) < 4 * zi.loc["z", "Std. Error"]
    sd = {part: float(fit.varcorr[part]["sdcor"].iloc[0]) for part in ("cond", "zi")}
    se = np.sqrt(np.diag(fit.vcov_full.loc[["theta|g.(Intercept)", "theta|zi~g.(Intercept)"],
                                           ["theta|g.(Intercept)", "theta|zi~g.(Intercept)"]]))
    assert abs(sd["cond"] - 0.5) < 4 * se[0]
    assert abs(sd["zi"] - 0.8) < 4 * se[1]
    # the zi random effects are real: the fit without them is worse by far more than chance
    without = glmmfast.glmer("y ~ x + (1 | g)", _simulated_zip_zire(14), family="poisson", ziformula="~ z",
                             quiet=True)
    assert without.deviance - fit.deviance > 10


def test_refusals_name_what_is_not_supported_yet():
    df = _simulated_zip_zire(1, n_groups=20, per_group=10)
    with pytest.raises(FormulaError, match="random effects in the dispformula"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="nbinom2", dispformula="~ x + (1 | g)")
    with pytest.raises(ArgumentError, match="nAGQ = 1"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson", ziformula="~ (1 | g)", nAGQ=0)
    with pytest.raises(ArgumentError, match="nAGQ > 1 is not available with a ziformula"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson", ziformula="~ (1 | g)", nAGQ=5)
    with pytest.raises(ArgumentError, match="the tweedie family with random effects in the ziformula is not "
                                            "supported yet"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="tweedie", ziformula="~ (1 | g)")
    # a dispformula with random effects in the ziformula (tests/test_zi_random_effects_dispformula.py), profile
    # and bootstrap intervals, and predict's and simulate's re_form keeping some terms are supported now
    # (tests/test_zi_random_effects_inference.py)


# -- the results (summary, intervals, anova, pickling, simulate/refit/bootstrap, predict on new data) --------

@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_summary_prints_as_glmmtmb(cid):
    # both components' "Random effects:" blocks; numbers as test_zero_inflation's summary test compares them
    text = fit_case(cid).summary_text().splitlines()
    ref = REFERENCE[cid]["summary_text"]
    assert [_layout(t) for t in text] == [_layout(r) for r in ref]
    assert str(fit_case(cid)) == fit_case(cid).summary_text()


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_summary_header_is_glmmtmbs(cid):
    # family, formula, zero-inflation formula (a long one deparsed over lines and pasted, as glmmTMB) and data
    header = 5 if cid == "sal_zip_zire" else 7
    text = fit_case(cid).summary_text().splitlines()
    assert text[:header] == REFERENCE[cid]["summary_text"][:header]


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_loglik_and_aic_count_glmmtmbs_parameters(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    assert fit.npar == c["logLik_df"]
    assert fit.aic == pytest.approx(fit.deviance + 2 * fit.npar) and fit.loglik == pytest.approx(-fit.deviance / 2)
    assert fit.aic <= c["AIC"] + 0.002
    assert fit.df_resid == c["nobs"] - c["logLik_df"]


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_wald_intervals_match_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    ci = fit.confint()
    z = 1.959963984540054
    for part, prefix in (("cond", ""), ("zi", "zi.")):
        for name, est in c["fixef"][part].items():
            se = c["se"][part][name]
            lo, hi = ci.loc[prefix + name]
            # glmmTMB's est -+ z se: our estimate within 0.05 SE and our SE within 2% of glmmTMB's
            assert abs(lo - (est - z * se)) <= (0.05 + 0.02 * z) * se, (part, name)
            assert abs(hi - (est + z * se)) <= (0.05 + 0.02 * z) * se, (part, name)
    sd_rows = [r for r in ci.index if ".sig" in r]
    assert sd_rows == [".sig01", "zi..sig01"] and ci.loc[sd_rows].isna().all().all()
    if c["family"] == "truncated_nbinom1":
        lo, hi = ci.loc["sigma"]
        assert lo < fit.family_parameters["phi"] < hi


def test_anova_between_zi_random_effects_and_ordinary_fits():
    full = fit_case("sal_zip_zire")
    df = load("Salamanders")
    reduced = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson", ziformula="~ mined", quiet=True)
    tab = glmmfast.anova(full, reduced, names=["full", "reduced"])
    assert list(tab.index) == ["reduced", "full"]
    assert tab["Df"].iloc[1] == 1
    assert tab["Chisq"].iloc[1] == pytest.approx(reduced.deviance - full.deviance)
    assert tab["Chisq"].iloc[1] > 0


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_pickle_round_trip(cid):
    fit = fit_case(cid)
    again = pickle.loads(pickle.dumps(fit))
    assert again.deviance == fit.deviance
    assert again.summary_text() == fit.summary_text()
    np.testing.assert_array_equal(again.predict(type="response"), fit.predict(type="response"))
    pd.testing.assert_frame_equal(again.vcov_full, fit.vcov_full)
    assert repr(again) == repr(fit) and repr(fit).startswith("<ZiRandomEffectsResult")


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_predict_on_new_data(cid):
    fit = fit_case(cid)
    df = load(REFERENCE[cid]["dataset"])
    for kind in ("response", "link", "zprob", "zlink", "conditional"):
        # the fitted rows as new data: the modes of their levels, the fit's own predictions
        np.testing.assert_allclose(fit.predict(df, type=kind), fit.predict(type=kind), rtol=1e-10, atol=1e-12)
    design = fit._design
    population = fit.predict(type="link", re_form="~0")
    np.testing.assert_allclose(population, design.X @ fit.fixef.to_numpy() + design.offset, rtol=1e-12)
    np.testing.assert_allclose(fit.predict(df, type="zlink", re_form=np.nan),
                               design.zi.X @ fit.fixef_zi.to_numpy() + design.zi.offset, rtol=1e-12)
    # a level the fit did not see: both random effects 0 (the population-level prediction)
    group = design.terms[0].group
    new = df.iloc[:5].copy()
    new[group] = new[group].astype(str)
    new.loc[new.index[0], group] = "a new level"
    with pytest.raises(glmmfast.DataError):
        fit.predict(new)
    got = fit.predict(new, type="response", allow_new_levels=True)
    assert got[0] == pytest.approx(fit.predict(df.iloc[:1], type="response", re_form="~0")[0], rel=1e-12)
    assert got[1:] == pytest.approx(fit.predict(type="response")[1:5], rel=1e-12)


def test_simulate_draws_new_random_effects_in_both_components():
    fit = fit_case("sal_zip_zire")
    y = fit.simulate(400, seed=3)
    assert y.shape == (fit.nobs, 400) and np.all(y >= 0) and np.all(y == np.round(y))
    np.testing.assert_array_equal(y, fit.simulate(400, seed=3))
    # marginal zero share and mean over new random effects: p = E[logistic(eta_zi + c)], c ~ N(0, s_zi^2),
    # mean = E[(1 - p)] E[exp(eta + b)] (independent components), by Gauss-Hermite quadrature
    nodes, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    sd = {part: float(fit.varcorr[part]["sdcor"].iloc[0]) for part in ("cond", "zi")}
    eta0, zeta0 = fit.predict(type="link", re_form="~0"), fit.predict(type="zlink", re_form="~0")
    p = (1 / (1 + np.exp(-(zeta0[:, None] + sd["zi"] * nodes)))) @ w
    mu = np.exp(eta0) * np.exp(sd["cond"] ** 2 / 2)
    expected_mean = ((1 - p) * mu).sum()
    per_draw_total = y.sum(axis=0)
    assert abs(per_draw_total.mean() - expected_mean) < 4 * per_draw_total.std() / np.sqrt(y.shape[1])
    # conditional on the modes (re_form=None): the fitted response is the mean
    yc = fit.simulate(400, seed=4, re_form=None)
    total = yc.sum(axis=0)
    assert abs(total.mean() - fit.predict(type="response").sum()) < 4 * total.std() / np.sqrt(400)


def test_simulate_refit_bootstrap_scatter_around_the_truth():
    # simulation truth: the fit's estimates as the truth, responses simulated with new random effects
    # in both components, refitted; the replicates' means within 4 standard errors of their mean
    df = _simulated_zip_zire(7, n_groups=40, per_group=20)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson", ziformula="~ z + (1 | g)", quiet=True)
    boot = fit.bootstrap(12, seed=11)
    assert boot.n_failed == 0
    reps = boot.replicates
    assert list(reps.columns) == [".sig01", "zi..sig01", "(Intercept)", "x", "zi.(Intercept)", "zi.z"]
    for name in ("(Intercept)", "x", "zi.(Intercept)", "zi.z"):
        assert abs(reps[name].mean() - boot.t0[name]) < 4 * reps[name].std() / np.sqrt(len(reps)) + 1e-9, name
    assert boot.t0["x"] == pytest.approx(fit.fixef["x"]) and boot.t0["zi..sig01"] > 0
    again = fit.refit(fit._design.y)
    assert again.deviance == pytest.approx(fit.deviance, abs=1e-4)
