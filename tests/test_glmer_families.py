"""glmer / glmer_nb with every family and link: recovery of known parameters on
simulated data, and agreement with glmmTMB (and lme4 where it is comparable)
on reference fits made in R (tests/data/families_reference.json, made by
tests/data/families_reference.R; tests/data/laplace_ri_reference.json, made by
tests/data/laplace_ri_ref.R for the inverse Gaussian, which glmmTMB lacks)."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import DataError, FamilyError, families as F

from conftest import DATA


# ---------------------------------------------------------------------------
# simulation: y ~ x + (1 | g), 30 groups of 10, x ~ U(0, 1)
# ---------------------------------------------------------------------------
NG, M, REPS = 40, 10, 5

# family, link, beta, sd of the random intercept, dispersion phi / NB theta
SIM = [
    ("poisson", "log", (1.0, 0.5), 0.4, None),
    ("poisson", "identity", (5.0, 2.0), 0.8, None),
    ("poisson", "sqrt", (2.0, 0.5), 0.3, None),
    ("binomial", "logit", (-0.5, 1.0), 0.5, None),
    ("binomial", "probit", (-0.3, 0.6), 0.3, None),
    ("binomial", "cloglog", (-1.0, 0.8), 0.4, None),
    ("binomial", "cauchit", (-0.3, 0.8), 0.3, None),
    ("binomial", "log", (-1.8, 0.5), 0.3, None),
    ("gaussian", "log", (1.0, 0.5), 0.3, 0.25),
    ("gaussian", "inverse", (0.3, 0.2), 0.03, 0.09),
    ("Gamma", "log", (1.0, 0.5), 0.3, 0.1),
    ("Gamma", "inverse", (0.5, 0.3), 0.05, 0.1),
    ("Gamma", "identity", (3.0, 1.0), 0.4, 0.1),
    ("inverse.gaussian", "log", (1.0, 0.3), 0.2, 0.05),
    ("inverse.gaussian", "inverse", (0.4, 0.2), 0.08, 0.05),
    ("inverse.gaussian", "identity", (2.0, 1.0), 0.3, 0.05),
    ("inverse.gaussian", "1/mu^2", (0.2, 0.1), 0.02, 0.05),
    ("nb_fixed", "log", (1.0, 0.5), 0.3, 3.0),
    ("nb_fixed", "sqrt", (1.5, 0.5), 0.2, 3.0),
    ("nb_fixed", "identity", (10.0, 2.0), 2.0, 10.0),
    ("nb_estimated", "log", (1.0, 0.5), 0.3, 2.0),
]
SIM_IDS = [f"{f}-{link}" for f, link, *_ in SIM]
TRIALS = 6


def _simulate(family: str, link: str, beta, sd, par, rng) -> pd.DataFrame:
    g = np.repeat(np.arange(NG), M)
    x = rng.uniform(size=NG * M)
    eta = beta[0] + beta[1] * x + rng.normal(0, sd, NG)[g]
    fam = F.NegativeBinomial(1.0, link) if family.startswith("nb") else F.get_family(family, link)
    mu = fam.linkinv(eta)
    if family == "poisson":
        y = rng.poisson(mu)
    elif family == "binomial":
        y = rng.binomial(TRIALS, mu) / TRIALS
    elif family == "gaussian":
        y = rng.normal(mu, np.sqrt(par))
    elif family == "Gamma":
        y = rng.gamma(1 / par, mu * par)
    elif family == "inverse.gaussian":
        y = rng.wald(mu, 1 / par)
    else:
        y = rng.negative_binomial(par, par / (par + mu))
    return pd.DataFrame({"y": y.astype(float), "x": x, "g": [f"g{i}" for i in g]})


def _fit_sim(family, link, par, df):
    if family == "nb_estimated":
        return glmmfast.glmer_nb("y ~ x + (1 | g)", df, link=link)
    fam = F.NegativeBinomial(par, link) if family == "nb_fixed" else F.get_family(family, link)
    w = np.full(len(df), float(TRIALS)) if family == "binomial" else None
    return glmmfast.glmer("y ~ x + (1 | g)", df, family=fam, weights=w)


@pytest.mark.parametrize("family,link,beta,sd,par", SIM, ids=SIM_IDS)
def test_recovers_simulation_truth(family, link, beta, sd, par):
    rng = np.random.default_rng(1000 + SIM_IDS.index(f"{family}-{link}"))
    z, sds, pars = [], [], []
    for _ in range(REPS):
        df = _simulate(family, link, beta, sd, par, rng)
        fit = _fit_sim(family, link, par, df)
        assert fit.converged, fit.messages
        z.extend((fit.fixef.to_numpy() - np.asarray(beta)) / fit.se.to_numpy())
        sds.append(fit.theta[0])
        if family in ("gaussian", "Gamma", "inverse.gaussian"):
            pars.append(fit.dispersion)
        elif family == "nb_estimated":
            pars.append(fit.nb_theta)
    z = np.asarray(z)
    # z-scores of the fixed effects: N(0, 1) if estimates and standard errors are right
    assert np.max(np.abs(z)) < 4.5, z
    assert abs(np.mean(z)) < 2.0, z
    # random-intercept SD (30 groups: SE ~ 15%) and the family parameter
    assert abs(np.mean(sds) / sd - 1) < 0.35, sds
    if pars:
        log_ratio = np.log(np.mean(pars) / par)
        assert abs(log_ratio) < (0.5 if family == "nb_estimated" else 0.2), pars


# ---------------------------------------------------------------------------
# glmmTMB / lme4 reference fits
# ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _reference() -> dict:
    return json.loads((DATA / "families_reference.json").read_text())["cases"]


def _case_data(name: str) -> pd.DataFrame:
    if name == "gamma_sim":
        df = pd.read_csv(DATA / "gamma_sim.csv")
        df["g"] = df["g"].astype(str)
        return df
    return glmmfast.datasets.load(name)


@lru_cache(maxsize=None)
def _fit_reference(case_id: str):
    c = _reference()[case_id]["case"]
    df = _case_data(c["data"])
    if c["family"] == "nbinom":
        return glmmfast.glmer_nb(c["formula"], df)
    kw = {}
    if "weights" in c:
        kw["weights"] = df[c["weights"]].to_numpy()
    if "offset" in c:
        kw["offset"] = df[c["offset"]].to_numpy()
    return glmmfast.glmer(c["formula"], df, family=F.get_family(c["family"], c["link"]), **kw)


REF_IDS = ["gamma_log", "gamma_identity_slope", "gamma_weights_offset", "gaussian_log", "cbpp_probit", "cbpp_cloglog",
           "nb_gt", "nb_gt2", "nb_gt3"]


@pytest.mark.parametrize("case_id", REF_IDS)
def test_matches_glmmtmb(case_id):
    ref, fit = _reference()[case_id], _fit_reference(case_id)
    # the same likelihood, maximised at least as well
    assert fit.deviance <= ref["tmb_m2ll"] + 0.002
    assert fit.deviance == pytest.approx(ref["tmb_m2ll"], abs=0.002)
    se = np.asarray(list(ref["tmb_se"].values()))
    assert np.all(np.abs(fit.fixef.to_numpy() - list(ref["tmb_fixef"].values())) <= 0.05 * se)
    # SEs from the Hessian in (theta, beta, log family parameter), as glmmTMB
    np.testing.assert_allclose(fit.se.to_numpy(), se, rtol=5e-3)
    # AIC and BIC count the dispersion / theta as glmmTMB does
    assert fit.aic == pytest.approx(ref["tmb_aic"], abs=0.002)
    assert fit.bic == pytest.approx(ref["tmb_bic"], abs=0.002)
    assert fit.df_resid == fit.nobs - ref["tmb_df"]
    sds = np.concatenate([np.atleast_1d(v) for v in ref["tmb_re_sd"].values()])
    ours = fit.varcorr[(fit.varcorr["grp"] != "Residual") & fit.varcorr["var2"].isna()]["sdcor"].to_numpy()
    np.testing.assert_allclose(np.sort(ours), np.sort(sds), rtol=2e-3)
    if c_family(case_id) == "nbinom":
        assert fit.nb_theta == pytest.approx(ref["tmb_theta"], rel=2e-3)
    elif fit.family.has_dispersion:
        assert fit.sigma == pytest.approx(ref["tmb_sigma"], rel=1e-3)


def c_family(case_id: str) -> str:
    return _reference()[case_id]["case"]["family"]


@pytest.mark.parametrize("case_id", ["cbpp_probit", "cbpp_cloglog", "nb_gt3"])
def test_non_canonical_links_use_the_exact_hessian_not_lme4s(case_id):
    # lme4's Laplace uses the expected information for a non-canonical link: a
    # different number, here 0.08 higher (binomial) or 0.14 lower (NB) than the
    # exact-Hessian one glmmTMB and glmmfast report at the common optimum.
    ref, fit = _reference()[case_id], _fit_reference(case_id)
    assert abs(fit.deviance - ref["lme4_m2ll"]) > 0.05
    assert fit.deviance == pytest.approx(ref["tmb_m2ll"], abs=0.002)


@pytest.mark.parametrize("case_id", ["nb_gt", "nb_gt2"])
def test_glmer_nb_beats_lme4(case_id):
    ref, fit = _reference()[case_id], _fit_reference(case_id)
    assert fit.deviance <= ref["lme4_m2ll"] + 0.002
    assert fit.converged and not fit.messages
    assert fit.family == F.NegativeBinomial(fit.nb_theta, "log")
    assert f"Family: Negative Binomial({round(fit.nb_theta, 4):g})  ( log )" in fit.summary_text()


def test_gamma_summary_has_residual_row_and_t_values():
    fit = _fit_reference("gamma_log")
    text = fit.summary_text()
    assert "Family: Gamma  ( log )" in text
    assert " Residual " in text and "t value Pr(>|z|)" in text
    res = fit.varcorr[fit.varcorr["grp"] == "Residual"]
    assert res["vcov"].item() == pytest.approx(fit.dispersion) and res["sdcor"].item() == pytest.approx(fit.sigma)
    # lme4's logLik for Gamma is not the maximised likelihood: it is below glmmTMB's (see families docstring)
    assert _reference()["gamma_log"]["lme4_m2ll"] < fit.deviance - 20


@lru_cache(maxsize=None)
def _laplace_reference() -> dict:
    return json.loads((DATA / "laplace_ri_reference.json").read_text())["cases"]


@pytest.mark.parametrize("case_id", ["gamma_log_check", "invgauss_log", "invgauss_mu2"])
def test_matches_independent_laplace_reference(case_id):
    ref = _laplace_reference()[case_id]
    if "tmb_m2ll" in ref:  # the R reference code itself agrees with glmmTMB
        assert ref["m2ll"] == pytest.approx(ref["tmb_m2ll"], abs=2e-3)
    fit = glmmfast.glmer(ref["formula"], glmmfast.datasets.load(ref["data"]),
                         family=F.get_family(ref["family"], ref["link"]))
    assert fit.deviance <= ref["m2ll"] + 0.002
    assert fit.deviance == pytest.approx(ref["m2ll"], abs=0.01)
    assert np.all(np.abs(fit.fixef.to_numpy() - ref["beta"]) <= 0.05 * fit.se.to_numpy())
    assert fit.dispersion == pytest.approx(ref["dispersion"], rel=2e-3)
    assert fit.theta[0] == pytest.approx(ref["re_sd"], rel=5e-3)


# ---------------------------------------------------------------------------
# weights, offsets and bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["poisson", "Gamma", "nb_fixed", "nb_estimated"])
def test_integer_weights_equal_replicated_rows(family):
    # R's semantics for these families: an observation's log density times its weight
    rng = np.random.default_rng(11)
    par = 0.2 if family == "Gamma" else 2.0
    df = _simulate(family, "log", (1.0, 0.5), 0.4, par, rng)
    w = rng.integers(1, 4, len(df))
    rep = df.loc[df.index.repeat(w)].reset_index(drop=True)
    fit_w = _fit_weighted(family, par, df, w.astype(float))
    fit_r = _fit_weighted(family, par, rep, None)
    assert fit_w.deviance == pytest.approx(fit_r.deviance, abs=1e-5)
    np.testing.assert_allclose(fit_w.fixef, fit_r.fixef, atol=1e-4)


def _fit_weighted(family, par, df, w):
    if family == "nb_estimated":
        return glmmfast.glmer_nb("y ~ x + (1 | g)", df, weights=w)
    fam = F.NegativeBinomial(par) if family == "nb_fixed" else F.get_family(family, "log")
    return glmmfast.glmer("y ~ x + (1 | g)", df, family=fam, weights=w)


def test_gaussian_weights_divide_the_variance():
    # R's gaussian semantics: Var(y_i | b) = phi / w_i.  Doubling every weight
    # doubles phi-hat and leaves the likelihood and the other estimates alone.
    df = _simulate("gaussian", "log", (1.0, 0.5), 0.3, 0.25, np.random.default_rng(3))
    one = glmmfast.glmer("y ~ x + (1 | g)", df, family=F.Gaussian("log"))
    two = glmmfast.glmer("y ~ x + (1 | g)", df, family=F.Gaussian("log"), weights=np.full(len(df), 2.0))
    assert two.deviance == pytest.approx(one.deviance, abs=1e-5)
    assert two.dispersion == pytest.approx(2 * one.dispersion, rel=1e-4)
    np.testing.assert_allclose(two.fixef, one.fixef, atol=1e-5)
    np.testing.assert_allclose(two.theta, one.theta, rtol=1e-3)


@pytest.mark.parametrize("family", [F.Gamma("log"), F.InverseGaussian("log"), F.NegativeBinomial(2.0)])
def test_offset_argument_equals_offset_term(family):
    rng = np.random.default_rng(5)
    df = _simulate("Gamma", "log", (1.0, 0.5), 0.3, 0.2, rng)
    df["y"] = np.round(df["y"] * 3) + 1
    df["t"] = rng.uniform(0.5, 2, len(df))
    a = glmmfast.glmer("y ~ x + offset(log(t)) + (1 | g)", df, family=family)
    b = glmmfast.glmer("y ~ x + (1 | g)", df, family=family, offset=np.log(df["t"].to_numpy()))
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)
    without = glmmfast.glmer("y ~ x + (1 | g)", df, family=family)
    assert without.deviance != pytest.approx(a.deviance, abs=1e-3)


def test_bad_responses_raise_before_the_engine():
    df = pd.DataFrame({"y": [1.0, 0.0, 2.0, 3.0] * 5, "g": list("abcde") * 4})
    with pytest.raises(DataError, match="non-positive"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family="Gamma")
    with pytest.raises(DataError, match="non-positive"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family=F.InverseGaussian("log"))
    with pytest.raises(DataError, match="negative"):
        glmmfast.glmer_nb("y ~ 1 + (1 | g)", df.assign(y=-df["y"]))
    with pytest.raises(DataError, match="positive"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family=F.Gaussian("log"))
    with pytest.raises(FamilyError):
        glmmfast.glmer_nb("y ~ 1 + (1 | g)", df, link="logit")
    with pytest.raises(FamilyError, match="theta"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family="negative.binomial")


def test_fixed_theta_negative_binomial_has_no_extra_parameter():
    df = glmmfast.datasets.load("grouseticks")
    est = _fit_reference("nb_gt")
    fixed = glmmfast.glmer("TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", df, family=F.NegativeBinomial(est.nb_theta))
    # at the ML theta the fixed-theta fit is the same optimum, with one parameter fewer
    assert fixed.deviance == pytest.approx(est.deviance, abs=1e-4)
    assert fixed.aic == pytest.approx(est.aic - 2, abs=1e-4)
    assert fixed.nb_theta == est.nb_theta


def test_result_with_family_parameter_pickles():
    import pickle

    fit = _fit_reference("gamma_weights_offset")
    back = pickle.loads(pickle.dumps(fit))
    np.testing.assert_allclose(back.fitted(), fit.fitted(), rtol=1e-10)
    np.testing.assert_allclose(back.ranef()["g"], fit.ranef()["g"], rtol=1e-8)


def test_link_that_cannot_reach_the_data_raises_convergence_error(grouseticks):
    # Locations with no ticks drive an identity-link Poisson mean to 0: PIRLS fails
    # everywhere, which must surface as a clear error rather than a crash.
    with pytest.raises(glmmfast.ConvergenceError, match="failed at every"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family=F.Poisson("identity"))


def test_glmer_nb_refuses_non_integer_counts_before_fitting(grouseticks):
    with pytest.raises(glmmfast.DataError, match="non-integer counts are not allowed for the negative binomial"):
        glmmfast.glmer_nb("T ~ YEAR + (1 | LOCATION)", grouseticks.assign(T=grouseticks["TICKS"] + 0.5))


def test_counts_near_2_to_the_62_are_a_data_error_not_a_convergence_error(grouseticks):
    df = grouseticks.assign(T=grouseticks["TICKS"] + 2.0**62)
    with pytest.raises(glmmfast.DataError, match=r"counts above 2\^53"):
        glmmfast.glmer("T ~ YEAR + (1 | LOCATION)", df, family="poisson")
    with pytest.raises(glmmfast.DataError, match=r"counts above 2\^53"):
        glmmfast.glmer_nb("T ~ YEAR + (1 | LOCATION)", df)
