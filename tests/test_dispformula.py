"""glmmTMB's dispformula in glmer: dispersion models against glmmTMB 1.1.5, simulation truth, and the refusals.

Reference fits: tests/data/glmmtmb_reference.json (``disp_*`` cases; its R
script beside it).  Targets (issue 14): -2 log L no more than 0.002 above
glmmTMB's, fixed effects of every component within 0.05 SE; the engine's
Laplace deviance at glmmTMB's estimates equals glmmTMB's -2 log L to 1e-6.
glmmTMB's gaussian with a dispformula is a maximum-likelihood model; with
prior weights its likelihood multiplies each row's log density by the
weight (the reference's ``meta$conventions$weights``), which glmer's
gaussian follows whenever it has a dispersion model (``dispformula="~1"``
with weights: the ``disp_gauss_w`` case, which glmmTMB fits with its
default dispformula).  A dispformula for a family without a dispersion
(Poisson) and dispersion models a family cannot take raise
:class:`~glmmfast.FormulaError` naming them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import ArgumentError, FormulaError
from test_zero_inflation import REFERENCE, _layout, assert_at_glmmtmb_optimum, load

#: the maximum-likelihood dispersion-model cases (REML: test_reml_integrates_the_fixed_effects_out_as_glmmtmb)
CASES = ["disp_gauss_x", "disp_nb2_x", "disp_gauss_zero_w", "disp_gauss_w"]
#: dispersion models of the other families (the family's own parameter log-linear in x; the t's df and the
#: tweedie power stay scalars, estimated with them)
FAMILY_CASES = ["disp_beta_x", "disp_betabinom_x", "disp_genpois_x", "disp_compois_x", "disp_t_x",
                "disp_tweedie_x", "disp_trnb1_x"]

_FITS: dict[str, glmmfast.GlmerResult] = {}


def fit_case(cid: str):
    if cid not in _FITS:
        c = REFERENCE[cid]
        df = load(c["dataset"])
        weights = None if c["weights"] is None else df[c["weights"]].to_numpy()
        _FITS[cid] = glmmfast.glmer(c["formula"], df, family=c["family"], dispformula=c["dispformula"] or "~1",
                                    weights=weights, data_name=c["dataset"], quiet=True)
    return _FITS[cid]


def _reference_beta_disp(c: dict, fit) -> np.ndarray:
    return np.array([c["fixef"]["disp"][n] for n in fit.fixef_disp.index])


@pytest.mark.parametrize("cid", CASES + FAMILY_CASES)
def test_engine_deviance_at_glmmtmb_estimates_is_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    eng = fit._state.engine()
    eng.set_beta_disp(_reference_beta_disp(c, fit))
    for name in ("df", "power"):  # the scalar family parameters beside the dispersion model
        if name in c["family_params"]:
            eng.set_shape(name, c["family_params"][name])
    theta = np.array([c["varcorr"]["cond"][g]["sd"][0] for g in fit.ngroups])
    beta = np.array([c["fixef"]["cond"][n] for n in fit.fixef.index])
    assert eng.deviance_at(theta, beta) == pytest.approx(c["m2loglik"], abs=1e-6)
    fit._state.engine_at_optimum = None  # the engine moved: rebuilt when next needed


@pytest.mark.parametrize("cid", CASES + FAMILY_CASES)
def test_fit_reaches_glmmtmbs_optimum(cid):
    assert_at_glmmtmb_optimum(fit_case(cid), REFERENCE[cid])


@pytest.mark.parametrize("cid", ["disp_t_x", "disp_tweedie_x"])
def test_scalar_family_parameters_beside_the_dispersion_model_are_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    (name,) = [n for n in ("df", "power") if n in c["family_params"]]
    assert fit.family_parameters[name] == pytest.approx(c["family_params"][name], rel=1e-3)
    assert fit.family.shapes()[name] == fit.family_parameters[name]
    assert "sigma" not in fit.family_parameters and "dispersion" not in fit.family_parameters


@pytest.mark.parametrize("cid", ["disp_gauss_x", "disp_nb2_x", "disp_gauss_w"] + FAMILY_CASES)
def test_standard_errors_match_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    for name, value in c["se"]["cond"].items():
        assert fit.se[name] == pytest.approx(value, rel=0.02), name
    se_disp = fit.coef_table("disp")["Std. Error"]
    for name, value in c["se"]["disp"].items():
        assert se_disp[name] == pytest.approx(value, rel=0.02), name
    full = fit.vcov_full
    for name in c["fixef"]["disp"]:
        assert np.sqrt(full.loc[f"d~{name}", f"d~{name}"]) == pytest.approx(c["sd_full"][f"d~{name}"], rel=0.02)


@pytest.mark.parametrize("cid", CASES + FAMILY_CASES)
def test_predict_disp_is_glmmtmbs_sigma(cid):
    c = REFERENCE[cid]
    got = fit_case(cid).predict(type="disp")[:10]
    np.testing.assert_allclose(got, c["predict"]["disp"], rtol=2e-3)


@pytest.mark.parametrize("cid", ["disp_gauss_x", "disp_nb2_x"] + FAMILY_CASES)
def test_summary_prints_as_glmmtmb(cid):
    text = fit_case(cid).summary_text().splitlines()
    ref = REFERENCE[cid]["summary_text"]
    assert [_layout(t) for t in text] == [_layout(r) for r in ref]
    assert text[:3] == ref[:3]  # family, formula, dispersion (or data) lines print exactly


def test_gaussian_with_dispformula_is_fitted_by_maximum_likelihood():
    df = glmmfast.datasets.load("sleepstudy")
    a = glmmfast.glmer("Reaction ~ Days + (Days | Subject)", df, family="gaussian", dispformula="~1")
    b = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", df, REML=False)
    assert a.reml is False
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)


def _simulated_heteroscedastic(seed: int, n_groups: int = 40, per_group: int = 25) -> pd.DataFrame:
    """Gaussian data: y = 1 + 0.5 x + b_g + e, b_g ~ N(0, 0.7^2), log Var e = -0.5 + 0.8 z."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x, z = rng.standard_normal(g.size), rng.standard_normal(g.size)
    b = 0.7 * rng.standard_normal(n_groups)
    y = 1 + 0.5 * x + b[g] + np.exp(0.5 * (-0.5 + 0.8 * z)) * rng.standard_normal(g.size)
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": pd.Categorical(g)})


def test_gaussian_dispersion_model_recovers_simulated_coefficients():
    df = _simulated_heteroscedastic(2026)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="gaussian", dispformula="~ z", quiet=True)
    se = fit.coef_table("disp")["Std. Error"]
    assert abs(fit.fixef_disp["(Intercept)"] + 0.5) < 4 * se["(Intercept)"]
    assert abs(fit.fixef_disp["z"] - 0.8) < 4 * se["z"]
    assert abs(fit.fixef["x"] - 0.5) < 4 * fit.se["x"]
    homoscedastic = glmmfast.glmer("y ~ x + (1 | g)", df, family="gaussian", dispformula="~1", quiet=True)
    assert fit.aic < homoscedastic.aic - 50


def test_negative_binomial_dispersion_model_recovers_simulated_coefficients():
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(40), 30)
    x, z = rng.standard_normal(g.size), rng.standard_normal(g.size)
    mu = np.exp(1.0 + 0.4 * x + 0.5 * rng.standard_normal(40)[g])
    theta = np.exp(0.7 + 0.9 * z)
    y = rng.poisson(rng.gamma(theta, mu / theta))
    df = pd.DataFrame({"y": y, "x": x, "z": z, "g": pd.Categorical(g)})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="nbinom2", dispformula="~ z", quiet=True)
    se = fit.coef_table("disp")["Std. Error"]
    assert abs(fit.fixef_disp["(Intercept)"] - 0.7) < 4 * se["(Intercept)"]
    assert abs(fit.fixef_disp["z"] - 0.9) < 4 * se["z"]


def test_a_dispformula_for_poisson_names_it():
    df = glmmfast.datasets.load("grouseticks")
    with pytest.raises(FormulaError, match="dispformula '~1' does not fit the poisson family"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", dispformula="~1")
    with pytest.raises(FormulaError, match="does not fit the poisson family"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", dispformula="~ YEAR")


def test_dispersion_models_a_family_cannot_take_are_refused_naming_it():
    df = glmmfast.datasets.load("grouseticks")
    with pytest.raises(FormulaError, match="not supported for the inverse.gaussian family"):
        glmmfast.glmer("TICKS + 1 ~ YEAR + (1 | LOCATION)", df, family="inverse.gaussian", dispformula="~ YEAR")
    with pytest.raises(FormulaError, match="gaussian family only, not negative.binomial"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2", dispformula="~0")
    with pytest.raises(FormulaError, match="one-sided formula"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2", dispformula="YEAR")


def test_reml_with_a_dispersion_model_is_gaussian_only():
    c = REFERENCE["disp_nb2_x"]
    with pytest.raises(ArgumentError, match="REML with a dispersion model"):
        glmmfast.glmer(c["formula"], load(c["dataset"]), family="nbinom2", dispformula=c["dispformula"], REML=True)


def test_reml_integrates_the_fixed_effects_out_as_glmmtmb():
    c = REFERENCE["disp_gauss_x_reml"]
    fit = glmmfast.glmer(c["formula"], load(c["dataset"]), family="gaussian", dispformula=c["dispformula"],
                         REML=True, quiet=True)
    assert fit.reml is True
    assert fit.deviance <= c["m2loglik"] + 0.002
    assert fit.deviance == pytest.approx(c["m2loglik"], abs=0.002)
    for name, value in c["fixef"]["cond"].items():
        assert abs(fit.fixef[name] - value) <= 0.05 * c["se"]["cond"][name], name
        assert fit.se[name] == pytest.approx(c["se"]["cond"][name], rel=0.02), name
    se_disp = fit.coef_table("disp")["Std. Error"]
    for name, value in c["fixef"]["disp"].items():
        assert abs(fit.fixef_disp[name] - value) <= 0.05 * c["se"]["disp"][name], name
        assert se_disp[name] == pytest.approx(c["se"]["disp"][name], rel=0.02), name
    assert fit.varcorr["sdcor"].iloc[0] == pytest.approx(c["varcorr"]["cond"]["g"]["sd"][0], rel=1e-3)
    text = glmmfast.glmer(c["formula"], load(c["dataset"]), family="gaussian", dispformula=c["dispformula"],
                          REML=True, data_name=c["dataset"], quiet=True).summary_text().splitlines()
    assert [_layout(t) for t in text] == [_layout(r) for r in c["summary_text"]]


def test_reml_starts_at_the_maximum_likelihood_optimum():
    # the REML criterion's search starts where BFGS left the ML fit: the record holds the ML stages (exact
    # gradient; stage 1 alone, whose deviance with beta in PIRLS is the gaussian's exact -2 log L profiled
    # in beta, ending at the ML fit's) before the REML stage (exact gradient too: issue 16)
    c = REFERENCE["disp_gauss_x_reml"]
    df = load(c["dataset"])
    reml = glmmfast.glmer(c["formula"], df, family="gaussian", dispformula=c["dispformula"], REML=True, quiet=True)
    ml = glmmfast.glmer(c["formula"], df, family="gaussian", dispformula=c["dispformula"], quiet=True)
    stages = reml.optinfo.stages
    assert [s["kind"] for s in stages] == ["start", "stage 1", "stage 2"]
    assert all(s["exact_gradient"] for s in stages[1:])
    assert "bobyqa" not in stages[2]["optimizer"] and reml.optinfo.optimizer == "lbfgs"
    assert stages[1]["deviance"] == pytest.approx(ml.deviance, abs=1e-6)
    assert stages[2]["deviance"] == pytest.approx(reml.deviance, abs=1e-9)
    assert reml.optinfo.evaluations == sum(s["evaluations"] for s in stages)


def test_refit_of_a_reml_dispersion_fit_is_a_reml_fit_from_scratch():
    # glmmTMB's refit of a REML = TRUE fit maximises the REML criterion of the new response: the refit
    # (warm-started at the fit) reaches the REML optimum of glmer(..., REML=True) on that response
    c = REFERENCE["disp_gauss_x_reml"]
    df = load(c["dataset"])
    fit = glmmfast.glmer(c["formula"], df, family="gaussian", dispformula=c["dispformula"], REML=True, quiet=True)
    y = fit.simulate(1, seed=3)[:, 0]
    out = fit.refit(y)
    scratch = glmmfast.glmer(c["formula"], df.assign(y=y), family="gaussian", dispformula=c["dispformula"],
                             REML=True, quiet=True)
    assert out.reml is True
    assert out.deviance == pytest.approx(scratch.deviance, abs=1e-6)
    np.testing.assert_allclose(out.fixef, scratch.fixef, atol=1e-5)
    np.testing.assert_allclose(out.fixef_disp, scratch.fixef_disp, atol=1e-5)


def test_bootstrap_of_a_reml_dispersion_fit_recovers_its_coefficients():
    # simulation truth: 60 responses drawn from the REML fit and refitted by REML; the replicates of the
    # fixed effects and the dispersion coefficients average to the fit's (within 4 SE / sqrt(nsim)) and
    # spread as their SEs (an SD's sampling error at 60 replicates is ~9%: within 35%)
    c = REFERENCE["disp_gauss_x_reml"]
    fit = glmmfast.glmer(c["formula"], load(c["dataset"]), family="gaussian", dispformula=c["dispformula"],
                         REML=True, quiet=True)
    boot = fit.bootstrap(60, seed=20261205, n_jobs=2, progress=False)
    assert boot.n_failed == 0
    assert list(boot.t0.index) == [".sig01", "(Intercept)", "x", "disp.(Intercept)", "disp.x"]
    se = {**fit.se.to_dict(), **{f"disp.{k}": v for k, v in fit.coef_table("disp")["Std. Error"].items()}}
    for name, s in se.items():
        reps = boot.replicates[name]
        assert abs(reps.mean() - boot.t0[name]) < 4 * s / np.sqrt(len(reps)), name
        assert reps.std() == pytest.approx(s, rel=0.35), name


def _binned_log_variance_slope(x: np.ndarray, resid: np.ndarray, bins: int = 6) -> float:
    """The least-squares slope of log Var(resid) on x over quantile bins of x (each bin's mean x)."""
    edges = np.quantile(x, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    xs = np.array([x[which == k].mean() for k in range(bins)])
    lv = np.array([np.log(resid[which == k].var()) for k in range(bins)])
    return float(np.polyfit(xs, lv, 1)[0])


def test_simulate_draws_each_row_with_its_dispersion():
    # gaussian: Var(y | b) = exp(betad) = exp(b0 + b1 x); 400 draws at the conditional modes, residuals
    # about the conditional mean: log Var is linear in x with slope b1 (binned, ~1% sampling error)
    c = REFERENCE["disp_gauss_x"]
    fit = fit_case("disp_gauss_x")
    df = load(c["dataset"])
    sims = fit.simulate(400, seed=7, re_form=None)
    resid = sims - fit.predict(type="response")[:, None]
    slope = _binned_log_variance_slope(np.repeat(df["x"].to_numpy(), 400), resid.ravel())
    assert slope == pytest.approx(fit.fixef_disp["x"], abs=0.05)
    # the beta family: Var(y | b) = mu (1 - mu) / (1 + phi_i), log phi_i = betad_i
    fit = fit_case("disp_beta_x")
    mu = fit.predict(type="response")
    sims = fit.simulate(2000, seed=8, re_form=None)
    phi = fit.predict(type="disp")
    np.testing.assert_allclose(sims.mean(axis=1), mu, atol=5 * np.sqrt(mu * (1 - mu) / (1 + phi) / 2000).max())
    ratio = sims.var(axis=1) / (mu * (1 - mu) / (1 + phi))
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    x = load(REFERENCE["disp_beta_x"]["dataset"])["x"].to_numpy()
    assert abs(np.polyfit(x, ratio, 1)[0]) < 0.02  # no trend left in x: each row drawn at its own phi


@pytest.mark.parametrize("dist, link, shape", [("beta", "logit", "phi"), ("t", "identity", "sigma"),
                                               ("negative.binomial", "log", "theta")])
def test_a_parameter_by_row_at_one_value_draws_as_the_scalar_parameter(dist, link, shape):
    # the engine reads a dispersion model's values by row (varying_parameter.hpp): one value at every row
    # must give the scalar family's draws from the same seed
    rng = np.random.default_rng(3)
    mu = rng.uniform(0.2, 0.8, 600) if dist == "beta" else rng.uniform(1.0, 5.0, 600)
    wt = np.ones(600)
    family = glmmfast._core.Family(dist, link)
    family.set_shape(shape, 2.5)
    by_row = family.simulate_varying(mu, wt, shape, np.full(600, 2.5), 1.0, 11)
    np.testing.assert_array_equal(by_row, family.simulate(mu, wt, 1.0, 11))


def test_t_draws_scale_with_each_rows_sigma():
    # y_i = mu_i + sigma_i z_i / sqrt(x_i / df): the same seed gives the same (z_i, x_i), so the residuals at
    # sigma_i are sigma_i times those at sigma = 1, row by row (across the engine's 256-row blocks)
    rng = np.random.default_rng(4)
    mu, sigma, wt = rng.normal(size=600), np.exp(rng.normal(size=600)), np.ones(600)
    family = glmmfast._core.Family("t", "identity")
    unit = family.simulate_varying(mu, wt, "sigma", np.ones(600), 1.0, 5) - mu
    np.testing.assert_allclose(family.simulate_varying(mu, wt, "sigma", sigma, 1.0, 5) - mu, sigma * unit,
                               rtol=1e-12, atol=1e-12)


# The families whose dispersion-model parameter the engine reads by row (varying_parameter.hpp) with data
# in their support: (family, link, parameter, y, mu) of 600 rows (the engine's blocks are 256 rows).
def _family_rows(dist: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    mu = rng.uniform(0.5, 5.0, 600)
    if dist == "gaussian":
        return rng.normal(mu, 1.0), mu
    if dist in ("Gamma", "inverse.gaussian", "tweedie"):
        y = rng.gamma(2.0, mu / 2.0)
        return (np.where(rng.uniform(size=600) < 0.3, 0.0, y) if dist == "tweedie" else y), mu
    y = rng.poisson(mu).astype(float)
    return (np.maximum(y, 1.0) if dist.startswith("truncated") else y), mu


BY_ROW = [("nbinom1", "log", "phi"), ("truncated_nbinom1", "log", "phi"), ("truncated_nbinom2", "log", "theta"),
          ("compois", "log", "phi"), ("gaussian", "identity", "dispersion"), ("Gamma", "log", "dispersion"),
          ("inverse.gaussian", "log", "dispersion"), ("tweedie", "log", "dispersion")]


def _scalar_family(dist: str, link: str, parameter: str, value: float) -> tuple[glmmfast._core.Family, float]:
    """The family with `parameter` at one value, and the dispersion to pass it."""
    family = glmmfast._core.Family(dist, link)
    if parameter == "dispersion":
        return family, value
    family.set_shape(parameter, value)
    return family, 1.0


def _scalar_terms(family, parameter, y, eta, wt, dispersion) -> tuple[np.ndarray, ...]:
    """The terms of observation_terms_varying from the scalar family: a varying dispersion's log density is
    Family.log_density's (a fit's log-likelihood; observation_terms' reuses mu, exact to rounding)."""
    terms = family.observation_terms(y, eta, wt, dispersion)
    if parameter != "dispersion":
        return terms
    return family.log_density(y, eta, wt, dispersion), *terms[1:]


@pytest.mark.parametrize("dist, link, parameter", BY_ROW)
def test_a_parameter_by_row_at_one_value_is_the_scalar_parameter(dist, link, parameter):
    # one value at every row: the log density, its eta-derivatives and the draws of the scalar family
    rng = np.random.default_rng(5)
    y, mu = _family_rows(dist, rng)
    family, dispersion = _scalar_family(dist, link, parameter, 1.7)
    eta, wt, values = family.linkfun(mu), np.ones(600), np.full(600, 1.7)
    by_row = family.observation_terms_varying(y, eta, wt, parameter, values, 1.0)
    for a, b in zip(by_row, _scalar_terms(family, parameter, y, eta, wt, dispersion)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(family.simulate_varying(mu, wt, parameter, values, 1.0, 11),
                                  family.simulate(mu, wt, dispersion, 11))


@pytest.mark.parametrize("dist, link, parameter", BY_ROW)
def test_a_parameter_by_row_is_each_rows_value(dist, link, parameter):
    # values varying by row: each row's log density and eta-derivatives are the scalar family's at its value
    # (rows in every 256-row block; the scalar family on the same arrays, so the link's terms are the same)
    rng = np.random.default_rng(6)
    y, mu = _family_rows(dist, rng)
    values = np.exp(rng.normal(0.0, 0.5, 600))
    eta, wt = glmmfast._core.Family(dist, link).linkfun(mu), np.ones(600)
    by_row = glmmfast._core.Family(dist, link).observation_terms_varying(y, eta, wt, parameter, values, 1.0)
    for i in range(3, 600, 37):
        family, dispersion = _scalar_family(dist, link, parameter, values[i])
        scalar = _scalar_terms(family, parameter, y, eta, wt, dispersion)
        assert [a[i] for a in by_row] == [b[i] for b in scalar]


@pytest.mark.parametrize("dist, link, parameter", [("tweedie", "log", "power"), ("t", "identity", "df")])
def test_a_parameter_not_read_by_row_is_refused_naming_it(dist, link, parameter):
    family = glmmfast._core.Family(dist, link)
    with pytest.raises(ValueError, match=f"{dist} family's {parameter} does not vary by observation"):
        family.simulate_varying(np.ones(3), np.ones(3), parameter, np.full(3, 1.5), 1.0, 1)
    with pytest.raises(ValueError, match=f"{dist} family has no parameter 'theta'"):
        family.simulate_varying(np.ones(3), np.ones(3), "theta", np.full(3, 1.5), 1.0, 1)


def test_gaussian_draws_scale_with_each_rows_dispersion():
    # y_i = mu_i + sqrt(phi_i) z_i: the same seed gives the same z_i, so the residuals at phi_i are sqrt(phi_i)
    # times those at phi = 1, row by row
    rng = np.random.default_rng(7)
    mu, phi, wt = rng.normal(size=600), np.exp(rng.normal(size=600)), np.ones(600)
    family = glmmfast._core.Family("gaussian", "identity")
    unit = family.simulate_varying(mu, wt, "dispersion", np.ones(600), 1.0, 5) - mu
    np.testing.assert_allclose(family.simulate_varying(mu, wt, "dispersion", phi, 1.0, 5) - mu, np.sqrt(phi) * unit,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cid", ["disp_beta_x", "disp_t_x"])
def test_bootstrap_of_a_dispersion_model_recovers_its_coefficients(cid):
    # simulation truth: responses drawn from the fit (its dispersion model included) and refitted; the
    # replicates' dispersion coefficients average to the fit's (within 4 SE / sqrt(nsim)) and spread as
    # their SEs (within 35% at 40 replicates)
    fit = fit_case(cid)
    boot = fit.bootstrap(40, seed=20261204, n_jobs=2, progress=False)
    assert boot.n_failed == 0
    se = fit.coef_table("disp")["Std. Error"]
    for name in fit.fixef_disp.index:
        reps = boot.replicates[f"disp.{name}"]
        assert boot.t0[f"disp.{name}"] == fit.fixef_disp[name]
        assert abs(reps.mean() - fit.fixef_disp[name]) < 4 * se[name] / np.sqrt(len(reps)), name
        assert reps.std() == pytest.approx(se[name], rel=0.35), name
    if cid == "disp_t_x":
        assert "df" in boot.t0.index and boot.t0["df"] == fit.family_parameters["df"]


def test_refit_of_a_dispersion_model_matches_a_fit_from_scratch():
    c = REFERENCE["disp_nb2_x"]
    fit = fit_case("disp_nb2_x")
    df = load(c["dataset"])
    y = np.random.default_rng(5).permutation(df["y"].to_numpy())
    out = fit.refit(y)
    scratch = glmmfast.glmer(c["formula"], df.assign(y=y), family="nbinom2", dispformula=c["dispformula"],
                             quiet=True)
    assert out.deviance == pytest.approx(scratch.deviance, abs=2e-3)
    np.testing.assert_allclose(out.fixef_disp, scratch.fixef_disp, atol=0.02)


def test_gamma_dispersion_model_recovers_simulated_log_shape():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(40), 25)
    x, z = rng.standard_normal(g.size), rng.standard_normal(g.size)
    mu = np.exp(1 + 0.3 * x + 0.4 * rng.standard_normal(40)[g])
    shape = np.exp(1.0 + 0.6 * z)  # glmmTMB's betad for the Gamma: log shape
    df = pd.DataFrame({"y": rng.gamma(shape, mu / shape), "x": x, "z": z, "g": pd.Categorical(g)})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family=glmmfast.families.Gamma(link="log"), dispformula="~ z",
                         quiet=True)
    se = fit.coef_table("disp")["Std. Error"]
    assert abs(fit.fixef_disp["(Intercept)"] - 1.0) < 4 * se["(Intercept)"]
    assert abs(fit.fixef_disp["z"] - 0.6) < 4 * se["z"]
    np.testing.assert_allclose(fit.predict(type="disp"), np.exp(-0.5 * (fit.fixef_disp["(Intercept)"]
                                                                       + fit.fixef_disp["z"] * z)))


def test_a_fixed_shape_family_object_starts_its_dispersion_model_at_that_shape():
    c = REFERENCE["disp_nb2_x"]
    fit = glmmfast.glmer(c["formula"], load(c["dataset"]), family=glmmfast.families.NegativeBinomial(theta=2.0),
                         dispformula=c["dispformula"], quiet=True)
    assert_at_glmmtmb_optimum(fit, c)
