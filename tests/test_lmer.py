"""lmer against lme4 1.1-31 and against a dense computation of the same model.

References: tests/data/lme4_reference.json (lme4's default fits: sleepstudy
REML, ML and ``(Days || Subject)``, InstEval) and tests/data/lmer_reference.json
(made by tests/data/lmer_reference.R: the same models with lme4's optimiser
run to tight tolerances, whose printed summaries glmmfast must reproduce, and
fits with prior weights and an offset).  Targets (issue 3): the criterion to
1e-6 relative, estimates to 1e-4.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import glmmfast
from glmmfast import _core
from conftest import _same_at_printed_precision, fit_case, lmer_reference_cases, reference_cases

SLEEP_CASES = ["sleep_reml", "sleep_ml", "sleep_dbl"]
SLEEP_FORMULA = "Reaction ~ Days + (Days | Subject)"


def _values(d: dict) -> np.ndarray:
    return np.array(list(d.values()), dtype=float)


def _lme4_summary(text: str, data_name: str) -> str:
    # R's data argument was named `df`; the tight fits also print their control.
    lines = [ln for ln in text.split("\n") if not ln.startswith("Control:")]
    return "\n".join(lines).replace("   Data: df", f"   Data: {data_name}") + "\n"


def _check_against_lme4(fit, ref: dict, crit_key: str) -> None:
    assert fit.deviance == pytest.approx(ref[crit_key], rel=1e-6)
    assert list(fit.fixef.index) == list(ref["fixef"])
    assert fit.theta_names == list(ref["theta"])
    np.testing.assert_allclose(fit.fixef.to_numpy(), _values(ref["fixef"]), rtol=1e-4)
    # theta: relative, with an absolute floor for elements near zero
    # (off-diagonals such as 0.015).
    np.testing.assert_allclose(fit.theta, _values(ref["theta"]), rtol=1e-4, atol=1e-5)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-4)
    np.testing.assert_allclose(fit.se.to_numpy(), _values(ref["se"]), rtol=1e-4)


# ---------------------------------------------------------------------------
# The engine's criterion against the marginal likelihood, computed densely
# ---------------------------------------------------------------------------

def _simulated_lmm(seed: int = 1):
    """A small LMM with a vector term (1 + x | g), a scalar term (1 | h), weights and an offset."""
    rng = np.random.default_rng(seed)
    n, ng, nh = 60, 5, 4
    x = rng.normal(size=n)
    g = rng.integers(0, ng, n)
    h = rng.integers(0, nh, n)
    X = np.column_stack([np.ones(n), x, rng.normal(size=n)])
    # Z ordered by term, then level, then the term's columns (the engine's layout).
    Z = np.zeros((n, 2 * ng + nh))
    Z[np.arange(n), 2 * g] = 1.0
    Z[np.arange(n), 2 * g + 1] = x
    Z[np.arange(n), 2 * ng + h] = 1.0
    w = rng.uniform(0.5, 2.0, n)
    off = rng.normal(size=n)
    y = off + X @ [1.0, -0.5, 0.3] + Z @ rng.normal(size=Z.shape[1]) + rng.normal(size=n) / np.sqrt(w)
    terms = ([2, 1], [ng, nh])
    return X, Z, y, w, off, terms


def _engine_lmm(X, Z, y, w, off, terms):
    Zc = sp.csc_matrix(Z)
    Zcore = _core.CscMatrix(Zc.shape[0], Zc.shape[1], Zc.indptr.astype(np.int32), Zc.indices.astype(np.int32), Zc.data)
    return _core.LmmModel(np.asfortranarray(X), Zcore, y, w, off, [_core.Term(k, nl) for k, nl in zip(*terms)])


def _dense_lambda(theta, terms) -> np.ndarray:
    T = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    ng, nh = terms[1]
    return np.block([[np.kron(np.eye(ng), T), np.zeros((2 * ng, nh))],
                     [np.zeros((nh, 2 * ng)), theta[3] * np.eye(nh)]])


def _dense_criterion(X, Z, y, w, off, Lam, reml):
    """The profiled criterion from the marginal likelihood, densely; with beta-hat, sigma^2, V^{-1} and X'V^{-1}X."""
    n, p = X.shape
    V = Z @ Lam @ Lam.T @ Z.T + np.diag(1 / w)
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    beta = np.linalg.solve(XtViX, X.T @ Vi @ (y - off))
    r = y - off - X @ beta
    df = n - p if reml else n
    sigma2 = (r @ Vi @ r) / df
    dense = df * np.log(2 * np.pi * sigma2) + np.linalg.slogdet(V)[1] + df
    if reml:
        dense += np.linalg.slogdet(XtViX)[1]
    return dense, beta, sigma2, Vi, XtViX


@pytest.mark.parametrize("reml", [False, True])
def test_criterion_on_rows_in_runs_and_rows_without_a_level(reml):
    # Rows sorted by their levels (runs of rows share Z'WZ's positions) and rows with no level in the
    # scalar term (Z's row empty there: the pattern leaves their pairs out): still the dense criterion.
    X, Z, y, w, off, terms = _simulated_lmm()
    order = np.lexsort((Z[:, 2 * terms[1][0]:].argmax(axis=1), Z[:, 0:2 * terms[1][0]:2].argmax(axis=1)))
    X, Z, y, w, off = X[order], Z[order], y[order], w[order], off[order]
    Z[::7, 2 * terms[1][0]:] = 0.0
    m = _engine_lmm(X, Z, y, w, off, terms)
    theta = np.array([0.8, -0.3, 0.5, 1.2])
    dense = _dense_criterion(X, Z, y, w, off, _dense_lambda(theta, terms), reml)[0]
    assert m.deviance(theta, reml) == pytest.approx(dense, rel=1e-12)
    assert m.pattern_size == np.count_nonzero(np.tril(Z.T @ Z))


@pytest.mark.parametrize("reml", [False, True])
def test_profiled_criterion_equals_dense_marginal_likelihood(reml):
    # y ~ N(offset + X beta, sigma^2 (Z Lambda Lambda' Z' + W^{-1})): profile beta
    # (GLS) and sigma out of the marginal likelihood directly; the engine's
    # sparse, Cholesky-based criterion must equal it.
    X, Z, y, w, off, terms = _simulated_lmm()
    m = _engine_lmm(X, Z, y, w, off, terms)
    theta = np.array([0.8, -0.3, 0.5, 1.2])
    crit = m.deviance(theta, reml)

    n, p = X.shape
    Lam = _dense_lambda(theta, terms)
    dense, beta, sigma2, Vi, XtViX = _dense_criterion(X, Z, y, w, off, Lam, reml)
    r = y - off - X @ beta
    assert crit == pytest.approx(dense, rel=1e-12)
    np.testing.assert_allclose(m.beta, beta, rtol=1e-10)
    assert m.sigma(reml) == pytest.approx(np.sqrt(sigma2), rel=1e-12)
    np.testing.assert_allclose(m.beta_unscaled_vcov(), np.linalg.inv(XtViX), rtol=1e-10)
    # b-hat is the BLUP Sigma Z' V^{-1} r (Sigma = Lambda Lambda', relative scale).
    np.testing.assert_allclose(m.b, Lam @ Lam.T @ Z.T @ Vi @ r, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.mu, off + X @ beta + Z @ np.asarray(m.b), rtol=1e-12)
    # Var(b | y) / sigma^2 = Lambda A^{-1} Lambda', A = Lambda' Z'WZ Lambda + I.
    A = Lam.T @ Z.T @ (w[:, None] * Z) @ Lam + np.eye(Z.shape[1])
    C = Lam @ np.linalg.inv(A) @ Lam.T
    ng = terms[1][0]
    np.testing.assert_allclose(np.asarray(m.cond_var(0)).reshape(ng, 2, 2),
                               [C[2 * i:2 * i + 2, 2 * i:2 * i + 2] for i in range(ng)], rtol=1e-10)
    np.testing.assert_allclose(np.asarray(m.cond_var(1)).ravel(), np.diag(C)[2 * ng:], rtol=1e-10)


def test_engine_rejects_nonpositive_weights():
    X, Z, y, w, off, terms = _simulated_lmm()
    w[3] = 0.0
    with pytest.raises(ValueError, match="weights"):
        _engine_lmm(X, Z, y, w, off, terms)


# ---------------------------------------------------------------------------
# lme4's reference fits
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", SLEEP_CASES)
def test_matches_lme4(case_id):
    ref = reference_cases()[case_id]
    fit = fit_case(case_id)
    assert isinstance(fit, glmmfast.LmerResult)
    assert fit.reml is ref["case"]["REML"]
    _check_against_lme4(fit, ref, "deviance_m2ll")
    assert fit.converged and fit.messages == []


@pytest.mark.parametrize("case_id", SLEEP_CASES)
def test_reaches_the_optimum_lme4_stops_short_of(case_id):
    # lme4's default tolerances stop ~1e-5 short in theta; run to tight
    # tolerances it agrees with glmmfast to 1e-7.
    tight = lmer_reference_cases()[case_id + "_tight"]
    fit = fit_case(case_id)
    crit = tight["REMLcrit"] if fit.reml else tight["deviance_ML"]
    assert fit.deviance <= crit + 1e-9
    np.testing.assert_allclose(fit.theta, _values(tight["theta"]), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case_id", SLEEP_CASES)
def test_likelihood_counts_and_information_criteria(case_id):
    ref = reference_cases()[case_id]
    fit = fit_case(case_id)
    # For a REML fit lme4's logLik is the REML log-likelihood; sigma counts as a parameter.
    assert fit.loglik == pytest.approx(ref["logLik"], rel=1e-6)
    assert fit.aic == pytest.approx(ref["AIC"], rel=1e-6)
    assert fit.bic == pytest.approx(ref["BIC"], rel=1e-6)
    assert fit.df_resid == ref["df_resid"]
    assert fit.nobs == ref["nobs"]
    assert fit.ngroups == ref["ngroups"]
    if fit.reml:
        assert fit.reml_criterion == pytest.approx(ref["REML_criterion"], rel=1e-6)


@pytest.mark.parametrize("case_id", SLEEP_CASES)
def test_varcorr_and_ranef(case_id):
    ref = reference_cases()[case_id]
    fit = fit_case(case_id)
    vc = fit.varcorr
    def name(v):
        return v if isinstance(v, str) else None

    assert [(r["grp"], r["var1"], r["var2"]) for r in ref["varcorr"]] == \
        [(g, name(a), name(b)) for g, a, b in zip(vc["grp"], vc["var1"], vc["var2"])]
    assert vc["grp"].iloc[-1] == "Residual"
    np.testing.assert_allclose(vc["vcov"], [r["vcov"] for r in ref["varcorr"]], rtol=1e-4)
    np.testing.assert_allclose(vc["sdcor"], [r["sdcor"] for r in ref["varcorr"]], rtol=1e-4, atol=1e-4)
    re = fit.ranef_frame()
    for col in ("grpvar", "term", "grp"):
        assert list(re[col]) == ref["ranef"][col]
    np.testing.assert_allclose(re["condval"], ref["ranef"]["condval"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(re["condsd"], ref["ranef"]["condsd"], rtol=1e-4)


@pytest.mark.parametrize("case_id", SLEEP_CASES)
def test_summary_prints_what_lme4_prints(case_id):
    # lme4 run to the optimum (tight tolerances) prints exactly this.
    fit = fit_case(case_id)
    expected = _lme4_summary(lmer_reference_cases()[case_id + "_tight"]["summary_text"], fit.data_name)
    assert fit.summary_text() == expected


# ---------------------------------------------------------------------------
# Prior weights and offsets
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def weighted_fits():
    df = glmmfast.datasets.load("sleepstudy")
    w = 1 + (df["Days"].to_numpy() % 3) / 2
    off = 2 * df["Days"].to_numpy()
    return {reml: glmmfast.lmer(SLEEP_FORMULA, df, REML=reml, weights=w, offset=off) for reml in (True, False)}


@pytest.mark.parametrize("reml", [True, False])
def test_weights_and_offset_match_lme4(weighted_fits, reml):
    ref = lmer_reference_cases()["sleep_weighted_reml" if reml else "sleep_weighted_ml"]
    fit = weighted_fits[reml]
    _check_against_lme4(fit, ref, "REMLcrit" if reml else "deviance_ML")
    # lme4's criterion includes -sum(log w): logLik, AIC and REMLcrit agree.
    assert fit.reml_criterion == pytest.approx(ref["REMLcrit"], rel=1e-9)
    assert fit.loglik == pytest.approx(ref["logLik"], rel=1e-9)
    assert fit.aic == pytest.approx(ref["AIC"], rel=1e-9)
    np.testing.assert_allclose(fit.fitted(), ref["fitted"], rtol=1e-6)
    np.testing.assert_allclose(fit.residuals(), ref["resid_response"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fit.residuals("pearson"), ref["resid_pearson"], rtol=1e-4, atol=1e-4)
    re = fit.ranef_frame()
    np.testing.assert_allclose(re["condval"], ref["ranef"]["condval"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(re["condsd"], ref["ranef"]["condsd"], rtol=1e-4)


def test_offset_term_in_formula_equals_offset_argument(weighted_fits):
    df = glmmfast.datasets.load("sleepstudy").assign(off=lambda d: 2 * d["Days"])
    w = 1 + (df["Days"].to_numpy() % 3) / 2
    fit = glmmfast.lmer("Reaction ~ Days + offset(off) + (Days | Subject)", df, weights=w)
    assert fit.deviance == pytest.approx(weighted_fits[True].deviance, rel=1e-12)
    np.testing.assert_allclose(fit.theta, weighted_fits[True].theta, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------
# Behaviour
# ---------------------------------------------------------------------------

def test_glmer_gaussian_identity_is_lmer_with_reml_as_in_lme4():
    df = glmmfast.datasets.load("sleepstudy")
    with pytest.warns(UserWarning, match="REML"):
        g = glmmfast.glmer(SLEEP_FORMULA, df, family="gaussian")
    assert isinstance(g, glmmfast.LmerResult) and g.reml
    assert g.deviance == pytest.approx(fit_case("sleep_reml").deviance, rel=1e-12)


def test_bad_input_raises_clear_errors():
    df = glmmfast.datasets.load("sleepstudy")
    w = np.ones(len(df))
    w[0] = 0.0
    with pytest.raises(glmmfast.DataError, match="positive weights"):
        glmmfast.lmer(SLEEP_FORMULA, df, weights=w)
    with pytest.raises(ValueError, match="REML"):
        glmmfast.lmer(SLEEP_FORMULA, df, REML="yes")
    with pytest.raises(glmmfast.FormulaError):
        glmmfast.lmer("Reaction ~ Days", df)


def test_does_not_modify_data_and_drops_incomplete_rows():
    df = glmmfast.datasets.load("sleepstudy")
    df.loc[3, "Reaction"] = np.nan
    before = df.copy()
    fit = glmmfast.lmer(SLEEP_FORMULA, df)
    pd.testing.assert_frame_equal(df, before)
    assert fit.nobs == len(df) - 1


def test_pickle_round_trip_rebuilds_engine():
    fit = fit_case("sleep_reml")
    back = pickle.loads(pickle.dumps(fit))
    assert back._model is None
    np.testing.assert_allclose(back.fitted(), fit.fitted(), rtol=1e-12)
    pd.testing.assert_frame_equal(back.ranef_frame(), fit.ranef_frame())
    assert back.summary_text() == fit.summary_text()


def test_residuals_default_to_response_as_lme4():
    fit = fit_case("sleep_reml")
    d = glmmfast.datasets.load("sleepstudy")
    np.testing.assert_allclose(fit.residuals(), d["Reaction"].to_numpy() - fit.fitted())
    np.testing.assert_allclose(fit.scaled_residuals, fit.residuals("pearson") / fit.sigma)


def test_singular_fit_is_reported():
    # A grouping factor with no between-group variation: theta -> 0.
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"y": rng.normal(size=120), "g": np.repeat(list("abcdefghij"), 12)})
    df["g"] = df["g"].astype("category")
    fit = glmmfast.lmer("y ~ 1 + (1 | g)", df)
    assert fit.theta[0] < 1e-4
    assert "boundary (singular) fit: see help('isSingular')" in fit.messages


# ---------------------------------------------------------------------------
# InstEval: 73,421 observations, three crossed factors
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_insteval_matches_lme4():
    ref = reference_cases()["inst_lmm"]
    fit = fit_case("inst_lmm")
    _check_against_lme4(fit, ref, "deviance_m2ll")
    assert fit.converged
    np.testing.assert_allclose(fit.varcorr["vcov"], [r["vcov"] for r in ref["varcorr"]], rtol=1e-4)
    re = fit.ranef_frame()
    assert list(re["grp"]) == ref["ranef"]["grp"]
    np.testing.assert_allclose(re["condval"], ref["ranef"]["condval"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(re["condsd"], ref["ranef"]["condsd"], rtol=1e-4)
    # The criterion (~2.4e5) is flat to its rounding noise (~5e-10) between
    # glmmfast's optimum and lme4's tight one, and the intercept's t value,
    # 111.8585 to 4 digits, sits on a rounding boundary of the printed
    # 111.858; so the summary must agree with lme4's up to the last printed digit.
    tight = lmer_reference_cases()["inst_lmm_tight"]
    assert abs(fit.deviance - tight["REMLcrit"]) < 1e-8
    expected = _lme4_summary(tight["summary_text"], fit.data_name)
    assert _same_at_printed_precision(fit.summary_text(), expected)
    assert fit.summary_text().count("\n") == expected.count("\n")


def test_same_at_printed_precision_is_strict_elsewhere():
    assert _same_at_printed_precision("t 111.859 x", "t 111.858 x")
    assert not _same_at_printed_precision("t 111.860 x", "t 111.858 x")
    assert not _same_at_printed_precision("t 111.86 x", "t 111.858 x")
    assert not _same_at_printed_precision("s 111.858 x", "t 111.858 x")


def test_na_action_applies_to_lmer():
    df = glmmfast.datasets.load("sleepstudy").copy()
    df.loc[[0, 5], "Reaction"] = np.nan
    fit = glmmfast.lmer("Reaction ~ Days + (1 | Subject)", df)
    assert fit.nobs == 178 and fit.n_dropped == 2
    with pytest.raises(glmmfast.DataError, match="na_action='raise'"):
        glmmfast.lmer("Reaction ~ Days + (1 | Subject)", df, na_action="raise")
