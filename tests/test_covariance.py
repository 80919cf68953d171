"""Covariance structures (glmmTMB's us, diag, cs, ar1, toep, ou, exp, gau, mat)
against glmmTMB 1.1.5's fits (tests/data/covstruct_reference.json, made by
covstruct_reference.R; parameterisation in covstruct_reference.md): the
optimum, fixed effects, standard deviations, correlations and the
structures' own parameters; the engine's exact gradients (LMM criterion and
Laplace deviance) against finite differences for every structure; the
structures' theta <-> printed-parameter round trips; formula syntax errors;
num_factor's labels and level order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import _core
from glmmfast.covariance import STRUCTURES, make_structure, num_factor, parse_num_levels
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import lmm_engine_model
from glmmfast.families import Gaussian, get_family
from test_laplace_gradient import _check as check_laplace_gradient
from test_lmm_gradient import _check as check_lmm_gradient

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "covstruct_reference.json").read_text())
# dispformula = ~0 fixes glmmTMB's residual variance at 1.5e-8: not lmer's model
CASES = [c for c in REFERENCE["cases"] if c["dispformula"] == "~1"]


def _dataset(key: str) -> pd.DataFrame:
    if key == "sleepstudy":
        df = glmmfast.datasets.load("sleepstudy")
        df["daysnf"] = num_factor(df["Days"])
        return df
    info = REFERENCE["datasets"][key]
    df = pd.read_csv(DATA / info["file"])
    for col, levels in info.get("factor_levels", {}).items():
        df[col] = pd.Categorical(df[col].astype(str), categories=levels)
    return df


_FITS: dict[str, object] = {}


def _fit(case: dict):
    if case["name"] not in _FITS:
        df = _dataset(case["dataset_key"])
        if case["family"] == "gaussian":
            _FITS[case["name"]] = glmmfast.lmer(case["formula"], df, REML=case["REML"])
        else:
            _FITS[case["name"]] = glmmfast.glmer(case["formula"], df, family=case["family"])
    return _FITS[case["name"]]


def _term_sd_corr(fit) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviations and correlation matrix of the (only) term, from the public varcorr frame."""
    vc = fit.varcorr
    term = vc[(vc["grp"] != "Residual")]
    names = list(term.loc[term["var2"].isna(), "var1"])
    sd = term.loc[term["var2"].isna(), "sdcor"].to_numpy(dtype=float)
    R = np.eye(len(names))
    for _, row in term[term["var2"].notna()].iterrows():
        i, j = names.index(row["var1"]), names.index(row["var2"])
        R[i, j] = R[j, i] = row["sdcor"]
    return sd, R


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fit_matches_glmmtmb(case):
    fit = _fit(case)
    # the optimum: at or below glmmTMB's
    assert -2 * fit.loglik <= case["minus2loglik"] + 0.002
    # fixed effects within 0.05 standard errors
    for name, b in case["fixef"].items():
        assert abs(fit.fixef[name] - b) <= 0.05 * case["fixef_se"][name], name
    vc = case["varcorr"][0]
    sd, R = _term_sd_corr(fit)
    np.testing.assert_allclose(sd, list(vc["sd"].values()), rtol=1e-3)
    np.testing.assert_allclose(R, np.asarray(vc["corr"], dtype=float), rtol=1e-3, atol=1e-3)
    if case["family"] == "gaussian":
        assert fit.sigma == pytest.approx(case["sigma"], rel=1e-3)


def _structure_parameters(fit) -> dict:
    """The structure's own parameters (rho, rate, range, shape) by glmmTMB's names."""
    t = fit._design.terms[0]
    s = t.structure
    values = s.sdcor(fit.theta, fit.sigma if fit.family.name == "gaussian" else 1.0)
    labels = s.sdcor_labels(t.names)
    out = {}
    for lab, v in zip(labels, values):
        kind = lab.split("__")[0]
        if kind in ("rho", "rate", "range"):
            out[kind] = v
        elif kind == "shape":
            out["kappa"] = v
        elif kind.startswith("rho"):
            out.setdefault("rho_by_lag", []).append(v)
    return out


@pytest.mark.parametrize("case", [c for c in CASES if c["structure"] in ("ar1", "cs", "toep", "ou", "exp", "gau",
                                                                          "mat")],
                         ids=lambda c: c["name"])
def test_structure_parameters_match_glmmtmb(case):
    fit = _fit(case)
    ours = _structure_parameters(fit)
    ref = case["varcorr"][0]["structure_params"]
    assert ours, "the structure reports its parameters"
    for key, v in ours.items():
        if key == "rho" and case["structure"] == "cs" and fit._design.terms[0].k == 2 and key not in ref:
            continue
        np.testing.assert_allclose(v, ref[key], rtol=1e-3, atol=1e-4, err_msg=key)


@pytest.mark.parametrize("case", [c for c in CASES if c["name"] in ("ar1vig_ar1", "pois_ar1", "binom_ou", "sleep_cs_days")],
                         ids=lambda c: c["name"])
def test_conditional_modes_match_glmmtmb(case):
    fit = _fit(case)
    re = fit.ranef()
    grp = case["ranef"]["group"]
    ours = re[grp]
    ref = pd.DataFrame(case["ranef"]["rows"]).set_index("group")[case["ranef"]["columns"]]
    scale = np.abs(ref.to_numpy()).max()
    np.testing.assert_allclose(ours.loc[ref.index.astype(str)].to_numpy(), ref.to_numpy(), atol=2e-3 * scale)


# ---------------------------------------------------------------------------
# Exact gradients through dT/dtheta
# ---------------------------------------------------------------------------

_COORDS_2D = parse_num_levels([f"({x},{y})" for y in (0, 1, 2) for x in (0, 0.5)])
_COORDS_1D = parse_num_levels(["(0)", "(0.5)", "(1.25)", "(2)", "(3.5)"])
STRUCTURE_DATA = {  # name -> (k, coords)
    "us": (3, None), "diag": (3, None), "cs": (4, None), "ar1": (5, None), "toep": (4, None),
    "ou": (5, _COORDS_1D), "exp": (6, _COORDS_2D), "gau": (6, _COORDS_2D), "mat": (6, _COORDS_2D),
}


def _random_theta(structure, seed: int = 3) -> np.ndarray:
    """Scale parameters in (0.2, 1.2), the others N(0, 0.15) (Toeplitz correlations stay positive definite)."""
    rng = np.random.default_rng(seed)
    lower = np.asarray(_core.covariance_parameters(structure.name, structure.k, structure.coords)["lower"])
    return np.where(np.isfinite(lower), 0.2 + rng.uniform(size=lower.size), rng.normal(0, 0.15, lower.size))


def test_every_structure_is_covered():
    assert set(STRUCTURE_DATA) == set(STRUCTURES)


@pytest.mark.parametrize("name", list(STRUCTURE_DATA))
def test_factor_derivatives_match_finite_differences(name):
    k, coords = STRUCTURE_DATA[name]
    s = make_structure(name, k, coords)
    theta = _random_theta(s)
    exact = _core.covariance_factor_derivatives(name, k, s.coords, theta)
    assert len(exact) == s.nparams
    h = 1e-6
    for j in range(s.nparams):
        e = np.zeros(s.nparams)
        e[j] = h
        fd = (s.factor(theta + e) - s.factor(theta - e)) / (2 * h)
        np.testing.assert_allclose(exact[j], fd, atol=1e-7, err_msg=f"{name}: parameter {j}")
        assert np.allclose(np.triu(exact[j], 1), 0.0)  # T stays lower triangular


@pytest.mark.parametrize("name", list(STRUCTURE_DATA))
def test_theta_and_printed_parameters_round_trip(name):
    k, coords = STRUCTURE_DATA[name]
    s = make_structure(name, k, coords)
    theta = _random_theta(s, seed=5)
    values = s.sdcor(theta)
    assert len(values) == len(s.sdcor_labels([f"c{i}" for i in range(k)])) == s.nparams
    lower, upper = s.sdcor_bounds()
    assert np.all(values >= lower) and np.all(values <= upper)
    back = s.theta_from_sdcor(values)
    if name == "us":  # T = chol(Sigma) has a non-negative diagonal: compare the covariances
        np.testing.assert_allclose(s.covariance(back), s.covariance(theta), rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(back, theta, rtol=1e-10, atol=1e-12)
    # sigma scales the standard deviations only
    scaled = s.sdcor(theta, sigma=2.0)
    is_sd = np.array([lab.startswith("sd__") for lab in s.sdcor_labels([f"c{i}" for i in range(k)])])
    np.testing.assert_allclose(scaled[is_sd], 2.0 * values[is_sd])
    np.testing.assert_allclose(scaled[~is_sd], values[~is_sd])


GRADIENT_LMM = [
    ("us", "Reaction ~ Days + us(Days | Subject)", "sleepstudy"),
    ("diag", "Reaction ~ Days + diag(Days | Subject)", "sleepstudy"),
    ("cs", "Reaction ~ Days + cs(0 + factor(Days) | Subject)", "sleepstudy"),
    ("ar1", "Reaction ~ Days + ar1(0 + factor(Days) | Subject)", "sleepstudy"),
    ("toep", "y ~ x + toep(0 + tnf | group)", "ou_gauss"),
    ("ou", "y ~ x + ou(0 + tnf | group)", "ou_gauss"),
    ("exp", "resp ~ z + exp(0 + pos | rep)", "spatial_gauss"),
    ("gau", "resp ~ z + gau(0 + pos | rep)", "spatial_gauss"),
    ("mat", "resp ~ z + mat(0 + pos | rep)", "spatial_gauss"),
]


def test_gradient_cases_cover_every_structure():
    assert {c[0] for c in GRADIENT_LMM} == set(STRUCTURES) == {c[0] for c in GRADIENT_LAPLACE}


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("name,formula,key", GRADIENT_LMM, ids=[c[0] for c in GRADIENT_LMM])
def test_lmm_gradient_matches_finite_differences(name, formula, key, reml):
    design = model_design_for(formula, _dataset(key), Gaussian(), None, None, random=True)
    assert design.terms[0].structure.name == name
    model = lmm_engine_model(design)
    check_lmm_gradient(model, _random_theta(design.terms[0].structure, seed=7), reml)


GRADIENT_LAPLACE = [
    ("us", "y ~ x + us(0 + time | group)", "pois_ts", "poisson"),
    ("diag", "y ~ x + diag(0 + time | group)", "pois_ts", "poisson"),
    ("cs", "y ~ cond + cs(0 + cond | subject)", "binary_cs", "binomial"),
    ("ar1", "y ~ x + ar1(0 + time | group)", "pois_ts", "poisson"),
    ("toep", "y ~ x + toep(0 + time | group)", "pois_ts", "poisson"),
    ("ou", "cbind(succ, fail) ~ x + ou(0 + tnf | group)", "binom_ts", "binomial"),
    ("exp", "count ~ z + exp(0 + pos | rep)", "spatial_pois", "poisson"),
    ("gau", "count ~ z + gau(0 + pos | rep)", "spatial_pois", "poisson"),
    ("mat", "count ~ z + mat(0 + pos | rep)", "spatial_pois", "poisson"),
]


@pytest.mark.parametrize("name,formula,key,family", GRADIENT_LAPLACE, ids=[c[0] for c in GRADIENT_LAPLACE])
def test_laplace_gradient_matches_finite_differences(name, formula, key, family):
    design = model_design_for(formula, _dataset(key), get_family(family), None, None, random=True)
    assert design.terms[0].structure.name == name
    theta = 0.5 * _random_theta(design.terms[0].structure, seed=11)
    beta = np.asarray(glmmfast.fit._engine.glm_start(design)["beta"])
    check_laplace_gradient(design, theta, beta)


# ---------------------------------------------------------------------------
# Formula syntax and num_factor
# ---------------------------------------------------------------------------

def test_structure_syntax_parses_into_one_term_per_bar():
    from glmmfast.formula._formula import parse_formula

    p = parse_formula("y ~ x + ar1(0 + f | g) + diag(x | h) + (1 | k)")
    assert [(b.lhs, b.group, b.structure) for b in p.random] == [
        ("0 + f", "g", "ar1"), ("x", "h", "diag"), ("1", "k", "us")]
    assert p.fixed == "x"
    assert [b.structure for b in parse_formula("y ~ cs(x | a/b)").random] == ["cs", "cs"]


def test_us_and_diag_reproduce_lme4_terms(sleepstudy):
    us = glmmfast.lmer("Reaction ~ Days + us(Days | Subject)", sleepstudy)
    plain = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    np.testing.assert_array_equal(us.theta, plain.theta)
    assert us.theta_names == plain.theta_names
    diag = glmmfast.lmer("Reaction ~ Days + diag(Days | Subject)", sleepstudy)
    split = glmmfast.lmer("Reaction ~ Days + (Days || Subject)", sleepstudy)
    assert diag.loglik == pytest.approx(split.loglik, abs=1e-6)
    np.testing.assert_allclose(diag.theta, split.theta, rtol=1e-4)
    assert diag.theta_names == ["Subject.(Intercept)", "Subject.Days"]


@pytest.mark.parametrize("formula,message", [
    ("Reaction ~ Days + foo(Days | Subject)", "'foo' in foo(Days | Subject) is an unknown covariance structure"),
    ("Reaction ~ Days + ar1(Days | Subject)", "ar1(Days | Subject) needs the indicator columns of one factor"),
    ("Reaction ~ Days + ar1(0 + Days | Subject)", "ar1(0 + Days | Subject) needs the indicator columns"),
    ("Reaction ~ Days + ou(factor(Days) | Subject)", "ou(factor(Days) | Subject) needs the indicator columns"),
    ("Reaction ~ Days + ar1(0 + Days || Subject)", "takes a single bar"),
])
def test_structure_syntax_errors(sleepstudy, formula, message):
    with pytest.raises(glmmfast.FormulaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        glmmfast.lmer(formula, sleepstudy)


def test_distance_structures_need_coordinates(sleepstudy):
    with pytest.raises(glmmfast.DataError, match="cannot read coordinates from the level '0'.*num_factor"):
        glmmfast.lmer("Reaction ~ Days + ou(0 + factor(Days) | Subject)", sleepstudy)


def test_num_factor_labels_and_order_are_glmmtmbs():
    f = num_factor([2, 1, 2, 1], [1, 1, 0, 0])  # covstruct_reference.md: last coordinate most significant
    assert list(f.categories) == ["(1,0)", "(2,0)", "(1,1)", "(2,1)"]
    assert list(f) == ["(2,1)", "(1,1)", "(2,0)", "(1,0)"]
    assert list(num_factor([0.1 + 0.2, 6.5, 1.0]).categories) == ["(0.3)", "(1)", "(6.5)"]
    for key, raw, nf in [("ar1vig", ["t"], "timesnf"), ("ou_gauss", ["t"], "tnf"), ("spatial_gauss", ["x", "y"], "pos")]:
        info = REFERENCE["datasets"][key]
        df = pd.read_csv(DATA / info["file"])
        ours = num_factor(*[df[c] for c in raw])
        assert list(ours.astype(str)) == list(df[nf].astype(str))
        if nf in info.get("factor_levels", {}):
            assert list(ours.categories) == info["factor_levels"][nf]
    np.testing.assert_array_equal(parse_num_levels(["pos(1.5,2)", "(0,-1)"]), [[1.5, 2.0], [0.0, -1.0]])
    with pytest.raises(glmmfast.ArgumentError):
        num_factor([1, 2], [1])


# ---------------------------------------------------------------------------
# Everything a fit offers works with a structured term
# ---------------------------------------------------------------------------

def _case(name: str) -> dict:
    return next(c for c in CASES if c["name"] == name)


@pytest.mark.parametrize("name", ["pois_ar1", "binom_ou", "binary_cs"])
def test_predict_simulate_refit_bootstrap_confint_on_structured_glmer_fits(name):
    case = _case(name)
    fit = _fit(case)
    data = _dataset(case["dataset_key"])
    np.testing.assert_allclose(fit.predict(data, type="response"), fit.fitted(), rtol=1e-10)
    sims = fit.simulate(nsim=2, seed=1)
    assert np.asarray(sims).shape[0] == len(fit.fitted())
    refit = fit.refit(fit._design.y)
    np.testing.assert_allclose(refit.theta, fit.theta, rtol=1e-4, atol=1e-6)
    boot = fit.bootstrap(2, seed=1, n_jobs=1)
    assert boot.replicates.shape[0] == 2 and boot.replicates.shape[1] == fit.theta.size + fit.fixef.size


def test_profile_confint_steps_through_the_structures_parameters():
    fit = _fit(_case("pois_ar1"))
    ci = fit.confint("profile")
    sd, rho = fit._design.terms[0].structure.sdcor(fit.theta)
    assert ci.iloc[0, 0] < sd < ci.iloc[0, 1]
    assert -1 < ci.iloc[1, 0] < rho < ci.iloc[1, 1] < 1
    # profile deviance at each limit is the chi-squared quantile above the optimum (lme4's definition)
    assert list(ci.index[:2]) == [".sig01", ".sig02"]


@pytest.mark.parametrize("name", ["sleep_ar1_reml", "ougauss_ou_ml", "spgauss_mat"])
def test_lmer_inference_on_structured_fits(name):
    case = _case(name)
    fit = _fit(case)
    data = _dataset(case["dataset_key"])
    np.testing.assert_allclose(fit.predict(data), fit.fitted(), rtol=1e-10)
    table = fit.coef_table()
    assert np.all(np.isfinite(table.to_numpy(dtype=float)))
    assert "Random effects" in fit.summary_text()
    if fit.reml:
        with pytest.raises(glmmfast.ArgumentError, match="Kenward-Roger needs unstructured"):
            fit.coef_table(ddf="Kenward-Roger")


def _glmmtmb_table(text: str) -> list[str]:
    """The VarCorr table glmmTMB prints, without its "Conditional model:" heading and trailing blanks."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    return lines[1:] if lines[0].startswith("Conditional model") else lines


@pytest.mark.parametrize("name", ["sleep_ar1_ml", "sleep_cs_slope", "ar1vig_ar1", "pois_ar1", "binom_ar1"])
def test_varcorr_prints_ar1_and_cs_as_glmmtmb(name):
    case = _case(name)
    ours = [ln.rstrip() for ln in str(glmmfast.VarCorr(_fit(case))).splitlines()]
    assert ours == _glmmtmb_table(case["printed_varcorr"])


def test_structures_fit_with_any_family():
    """A family without the exact Laplace gradient (negative binomial, Gamma) optimises a structured term too."""
    df = _dataset("pois_ts")
    pois = _fit(_case("pois_ar1"))
    nb = glmmfast.glmer_nb("y ~ x + ar1(0 + time | group)", df)
    assert nb.loglik >= pois.loglik - 1e-3  # Poisson is the NB limit (theta -> inf: glmer_nb stops at a large theta)
    assert nb._design.terms[0].structure.name == "ar1"
    df = df.assign(pos=df["y"] + 0.5)
    gam = glmmfast.glmer("pos ~ x + cs(0 + time | group)", df, family=glmmfast.families.Gamma(link="log"))
    assert np.isfinite(gam.loglik) and gam.theta.size == 7


@pytest.mark.parametrize("name", ["sleep_ar1_reml", "sleep_ou_ml", "sleep_cs_days"])
def test_satterthwaite_hessian_is_the_criterions_for_structured_terms(name):
    """lmerTest's Hessian in (theta, sigma), here through dT/dtheta and d^2T/dtheta^2 of the
    structure, against central differences of -2 log L(theta, sigma) with beta profiled
    (log|L|^2 [+ log|R_X|^2] + m log(2 pi sigma^2) + r^2(theta) / sigma^2, m = n - p or n)."""
    from glmmfast.inference._satterthwaite import Satterthwaite

    fit = _fit(_case(name))
    model = lmm_engine_model(fit._design)
    n, p = fit._design.n, fit.fixef.size
    m = n - p if fit.reml else n

    def crit(x):
        model.evaluate(x[:-1])
        d = model.log_det_L2 + (model.log_det_RX2 if fit.reml else 0.0)
        return d + m * np.log(2 * np.pi * x[-1]**2) + model.pwrss / x[-1]**2

    x0 = np.concatenate([fit.theta, [fit.sigma]])
    h = 1e-4 * np.maximum(1.0, np.abs(x0))
    H = np.empty((x0.size, x0.size))
    for i in range(x0.size):
        for j in range(x0.size):
            ei, ej = np.eye(x0.size)[i] * h[i], np.eye(x0.size)[j] * h[j]
            H[i, j] = (crit(x0 + ei + ej) - crit(x0 + ei - ej) - crit(x0 - ei + ej) + crit(x0 - ei - ej)) / (4 * h[i] * h[j])
    ours = np.sort(Satterthwaite(fit).hessian_eigenvalues)
    np.testing.assert_allclose(ours, np.sort(np.linalg.eigvalsh(0.5 * (H + H.T))), rtol=2e-3, atol=1e-4 * np.abs(ours).max())
