"""model_design_for (_design.py): the responses for each binomial form,
offsets, weights and missing values; every bad input raising a glmmfast error
naming the problem before the engine runs; data hygiene (missing rows,
aliased columns, unused levels, grouping columns of any type, the caller's
data untouched)."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import DataError, FamilyError, FormulaError
from glmmfast.design._design import aliased_by_columns, aliased_columns, model_design_for
from glmmfast.families import Binomial, Poisson

from conftest import lme4_checks


CBIND = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@pytest.fixture(scope="module")
def cbind_fit(cbpp):
    return glmmfast.glmer(CBIND, cbpp, family="binomial")


def _bernoulli_rows(cbpp):
    rows = []
    for _, r in cbpp.iterrows():
        k, n = int(r["incidence"]), int(r["size"])
        rows += [(r["herd"], r["period"], 1)] * k + [(r["herd"], r["period"], 0)] * (n - k)
    long = pd.DataFrame(rows, columns=["herd", "period", "y"])
    for c in ("herd", "period"):
        long[c] = pd.Categorical(long[c], categories=cbpp[c].cat.categories)
    return long


def test_proportion_with_weights_equals_cbind(cbpp, cbind_fit):
    df = cbpp.assign(prop=cbpp["incidence"] / cbpp["size"])
    fit = glmmfast.glmer("prop ~ period + (1 | herd)", df, family="binomial", weights=cbpp["size"])
    assert fit.deviance == pytest.approx(cbind_fit.deviance, rel=1e-9)
    np.testing.assert_allclose(fit.fixef, cbind_fit.fixef, atol=1e-5)


def test_bernoulli_and_factor_responses_equal_cbind_estimates(cbpp, cbind_fit):
    long = _bernoulli_rows(cbpp)
    fit01 = glmmfast.glmer("y ~ period + (1 | herd)", long, family="binomial")
    # Same likelihood up to the binomial coefficients: same estimates.
    np.testing.assert_allclose(fit01.fixef, cbind_fit.fixef, atol=2e-4)
    np.testing.assert_allclose(fit01.theta, cbind_fit.theta, atol=2e-4)
    # A factor response: first level = failure, as R.
    long["outcome"] = pd.Categorical(np.where(long["y"] == 1, "sick", "healthy"), categories=["healthy", "sick"])
    fitf = glmmfast.glmer("outcome ~ period + (1 | herd)", long, family="binomial")
    assert fitf.deviance == pytest.approx(fit01.deviance, rel=1e-10)


def test_offset_argument_equals_offset_term(grouseticks):
    df = grouseticks.assign(expo=np.linspace(0.5, 2.0, len(grouseticks)))
    a = glmmfast.glmer("TICKS ~ YEAR + offset(log(expo)) + (1 | LOCATION)", df, family="poisson")
    b = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", offset=np.log(df["expo"]))
    assert a.deviance == pytest.approx(b.deviance, rel=1e-10)
    np.testing.assert_allclose(a.fixef, b.fixef, rtol=1e-6)


def test_poisson_prior_weights_equal_replicated_rows(grouseticks):
    df = grouseticks.iloc[:120].copy()
    w = np.tile([1.0, 2.0, 3.0], 40)
    fit_w = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", weights=w)
    rep = df.loc[df.index.repeat(w.astype(int))]
    fit_r = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", rep, family="poisson")
    np.testing.assert_allclose(fit_w.fixef, fit_r.fixef, atol=1e-4)
    np.testing.assert_allclose(fit_w.theta, fit_r.theta, atol=1e-4)


def test_rows_with_missing_values_are_dropped_and_counted(grouseticks):
    df = grouseticks.copy()
    df.loc[[3, 10], "cHEIGHT"] = np.nan
    d = model_design_for("TICKS ~ cHEIGHT + (1 | LOCATION)", df, glmmfast.families.Poisson(), random=True)
    assert d.n == len(df) - 2 and d.n_dropped == 2
    assert 3 not in d.rows and 10 not in d.rows


def test_unknown_column_and_formula_without_bars(grouseticks):
    with pytest.raises(glmmfast.DataError, match="HEIGHTX"):
        glmmfast.glmer("TICKS ~ HEIGHTX + (1 | LOCATION)", grouseticks, family="poisson")
    with pytest.raises(glmmfast.FormulaError, match="no random-effects terms"):
        glmmfast.glmer("TICKS ~ YEAR", grouseticks, family="poisson")
    with pytest.raises(glmmfast.FormulaError, match="random-effects terms"):
        glmmfast.glm("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")


def test_weights_of_wrong_length(grouseticks):
    with pytest.raises(glmmfast.DataError, match="weights has length 3"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson", weights=[1, 2, 3])


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(8), n // 8)
    x = rng.normal(size=n)
    return pd.DataFrame({"y": rng.poisson(np.exp(0.3 + 0.4 * x)), "x": x, "g": g.astype(str),
                         "b": rng.integers(0, 2, n), "f": pd.Categorical(np.tile(["a", "b"], n // 2)),
                         "n": np.full(n, 5)})


@pytest.mark.parametrize("formula, cls, fragment", [
    ("y ~ x + (1 | g", FormulaError, "position"),
    ("y ~ x +* z + (1 | g)", FormulaError, "position 7"),
    ("~ x + (1 | g)", FormulaError, "no response"),
    ("y ~ x", FormulaError, "no random-effects terms"),
    ("y ~ x + (1 | nosuch)", DataError, "unknown column 'nosuch'"),
    ("y ~ nosuch + (1 | g)", DataError, "unknown column 'nosuch'"),
])
def test_formula_problems(formula, cls, fragment):
    with pytest.raises(cls, match=fragment):
        glmmfast.glmer(formula, _data(), family="poisson")


def _with(**cols):
    df = _data()
    for k, v in cols.items():
        df[k] = v
    return df


@pytest.mark.parametrize("formula, family, df, fragment", [
    ("y ~ x + (1 | g)", "poisson", _with(y=-np.arange(40)), "negative values"),
    ("y ~ x + (1 | g)", "poisson", _with(y=np.full(40, 1.5)), "non-integer counts"),
    ("y ~ x + (1 | g)", "binomial", _with(y=np.linspace(0, 1.5, 40)), "in [0, 1]"),
    ("cbind(y, n - y) ~ x + (1 | g)", "binomial", _with(y=np.full(40, 6)), "successes above trials"),
    ("cbind(y, n) ~ x + (1 | g)", "binomial", _with(y=-np.ones(40)), "negative successes"),
    ("y ~ x + (1 | g)", "poisson", _data().iloc[:0], "no rows"),
    ("y ~ x + (1 | c)", "poisson", _with(c=np.ones(40)), "has 1 level"),
    ("b ~ x + (1 | obs)", "binomial", _with(obs=np.arange(40)), "not identifiable"),
    ("y ~ x + (1 | g)", "poisson", _with(x=np.full(40, np.nan)), "no complete rows"),
    ("y ~ x + (1 | g)", "poisson", _with(x=np.r_[np.inf, np.zeros(39)]), "term 'x' has a non-finite value (inf)"),
    ("y ~ 1 + (x | g)", "poisson", _with(x=np.r_[np.inf, np.zeros(39)]), "term 'x' has a non-finite value"),
    ("y ~ offset(log(x)) + (1 | g)", "poisson", _with(x=np.r_[0.0, np.ones(39)]), "offset"),
])
def test_data_problems(formula, family, df, fragment):
    with pytest.raises(DataError, match=re.escape(fragment)):
        glmmfast.glmer(formula, df, family=family)


def test_observation_level_effect_is_allowed_for_counts():
    # (1 | obs) models overdispersion (grouseticks' (1 | INDEX)); lme4 allows it for glmer.
    df = _with(obs=np.arange(40))
    d = model_design_for("y ~ x + (1 | obs) + (1 | g)", df, Poisson(), random=True)
    assert d.terms[0].nlevels == 40


@pytest.mark.parametrize("kwargs, fragment", [
    ({"weights": np.ones(39)}, "weights has length 39"),
    ({"offset": np.ones(41)}, "offset has length 41"),
    ({"weights": np.r_[np.inf, np.ones(39)]}, "weights must be finite"),
    ({"weights": -np.ones(40)}, "non-negative"),
    ({"offset": np.r_[np.inf, np.ones(39)]}, "offset must be finite"),
    ({"na_action": "exclude"}, "na_action must be"),
    ({"nAGQ": -1}, "nAGQ must be"),
])
def test_argument_problems(kwargs, fragment):
    with pytest.raises(DataError, match=fragment):
        glmmfast.glmer("y ~ x + (1 | g)", _data(), family="poisson", **kwargs)


def test_nagq_above_one_needs_a_single_scalar_term():
    with pytest.raises(FormulaError, match="single, scalar random-effects term"):
        glmmfast.glmer("y ~ x + (x | g)", _data(), family="poisson", nAGQ=5)
    with pytest.raises(FormulaError, match="single, scalar"):
        glmmfast.glmer("y ~ x + (1 | g) + (1 | f)", _data(), family="poisson", nAGQ=5)


@pytest.mark.parametrize("family, fragment", [
    ("quasipoisson", "unknown family 'quasipoisson'"),
    (3, "family must be a name"),
    (lambda: glmmfast.families.Poisson(link="logit"), "link 'logit' is not available for the poisson family"),
])
def test_family_problems(family, fragment):
    with pytest.raises(FamilyError, match=fragment):
        glmmfast.glmer("y ~ x + (1 | g)", _data(), family=family() if callable(family) else family)


def test_missing_rows_omitted_with_note_or_raised():
    df = _data()
    df.loc[[3, 7], "x"] = np.nan
    df.loc[11, "g"] = None
    d = model_design_for("y ~ x + (1 | g)", df, Poisson(), random=True)
    assert d.n == 37 and d.n_dropped == 3
    assert list(d.rows) == [i for i in range(40) if i not in (3, 7, 11)]
    assert "3 observations deleted due to missingness (in 'x', 'g')" in d.messages
    with pytest.raises(DataError, match="3 rows with missing values in 'x', 'g'"):
        model_design_for("y ~ x + (1 | g)", df, Poisson(), random=True, na_action="raise")
    # a missing value in an unused column changes nothing
    df2 = _data()
    df2["unused"] = np.nan
    assert model_design_for("y ~ x + (1 | g)", df2, Poisson(), random=True).n_dropped == 0


def test_fitted_values_line_up_with_original_rows():
    df = _data()
    df.index = df.index * 10 + 5  # a non-default index
    full = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")
    gaps = df.copy()
    gaps.loc[gaps.index[[2, 30]], "x"] = np.nan
    fit = glmmfast.glmer("y ~ x + (1 | g)", gaps, family="poisson")
    assert fit.n_dropped == 2 and "2 observations deleted" in fit.data_messages[0]
    fitted = pd.Series(fit.fitted(), index=fit.rows)
    assert list(fit.rows) == [i for i in df.index if i not in df.index[[2, 30]]]
    # each fitted value belongs to its row: eta - Xb - b[group] is the (zero) offset
    eta = np.log(fitted.to_numpy())
    b = fit.ranef()["g"].iloc[:, 0]
    xb = fit.fixef["(Intercept)"] + fit.fixef["x"] * gaps.loc[fit.rows, "x"].to_numpy()
    np.testing.assert_allclose(eta, xb + b.loc[gaps.loc[fit.rows, "g"]].to_numpy(), atol=1e-8)
    assert full.nobs == 40 and fit.nobs == 38


def test_aliased_columns_dropped_as_lme4():
    df = _data()
    df["x2"] = 2 * df["x"]
    df["x3"] = df["x"] - df["x2"] + 1.0  # = 1 - x: aliased with intercept and x
    d = model_design_for("y ~ x + x2 + x3 + (1 | g)", df, Poisson(), random=True)
    assert d.x_names == ["(Intercept)", "x"] and d.x_dropped == ["x2", "x3"]
    assert d.messages == ["fixed-effect model matrix is rank deficient so dropping 2 columns / coefficients (x2, x3)"]
    fit = glmmfast.glmer("y ~ x + x2 + (1 | g)", df, family="poisson")
    assert list(fit.fixef.index) == ["(Intercept)", "x"]
    assert "dropping 1 column / coefficient (x2)" in fit.data_messages[0]
    assert np.all(np.isfinite(fit.vcov.to_numpy()))
    assert aliased_columns(np.eye(3)) == []


def test_aliased_columns_fast_path_agrees_with_the_column_loop():
    # The Cholesky of X'X decides "nothing dropped" only where every column keeps over 1e-3 of its norm;
    # near-aliased columns on either side of that and of R's 1e-7, zero columns, a column of 1e100s and
    # p > n all give the column loop's answer.
    rng = np.random.default_rng(16)
    base = np.column_stack([np.ones(50), rng.normal(size=50), rng.normal(size=50)])
    cases = [base, base * [1.0, 1e6, 1e-6], np.column_stack([base, np.zeros(50)]),
             np.column_stack([base, base[:, 1] * 1e100]), rng.normal(size=(3, 5))]
    for eps in (1e-2, 2e-3, 5e-4, 1e-6, 2e-7, 5e-8, 0.0):
        noise = rng.normal(size=50)
        cases.append(np.column_stack([base, base[:, 1] + 2 * base[:, 2] + eps * noise / np.linalg.norm(noise)
                                      * np.linalg.norm(base[:, 1] + 2 * base[:, 2])]))
    for X in cases:
        assert aliased_columns(X) == aliased_by_columns(X)
    assert aliased_columns(cases[-1]) == [3] and aliased_columns(cases[5]) == []


def test_unused_levels_dropped_and_any_grouping_type():
    df = _data()
    df["f"] = pd.Categorical(df["f"].astype(str), categories=["a", "b", "zz"])
    df["gc"] = pd.Categorical(df["g"], categories=[*sorted(df["g"].unique()), "never"])
    ref = glmmfast.glmer("y ~ x + f + (1 | g)", df, family="poisson")
    assert list(ref.fixef.index) == ["(Intercept)", "x", "fb"]
    dev = []
    for col in ("g", "gc", "gi", "go"):
        df2 = df.assign(gi=df["g"].astype(int) * 7, go=df["g"].astype(object))
        fit = glmmfast.glmer(f"y ~ x + f + ({'1'} | {col})", df2, family="poisson")
        assert fit.ngroups[col] == 8
        dev.append(fit.deviance)
    np.testing.assert_allclose(dev, ref.deviance, rtol=1e-10)


def test_input_dataframe_never_modified():
    df = _data()
    df.loc[4, "x"] = np.nan
    before = copy.deepcopy(df)
    glmmfast.glmer("cbind(y, n) ~ x + f + (1 | g)", df, family="binomial")
    glmmfast.glm("y ~ x + f", df, family="poisson")
    pd.testing.assert_frame_equal(df, before)
    assert df.index.equals(before.index)


def test_glm_na_action_and_aliasing():
    df = _data()
    df["x2"] = -df["x"]
    df.loc[0, "x"] = np.nan
    fit = glmmfast.glm("y ~ x + x2", df, family="poisson")
    assert list(fit.coef.index) == ["(Intercept)", "x"] and fit.n_dropped == 1
    with pytest.raises(DataError, match="na_action='raise'"):
        glmmfast.glm("y ~ x", df, family="poisson", na_action="raise")


def test_check_response_hook_is_generic():
    class Positive(Poisson):
        def check_response(self, y, weights):
            if np.any(y <= 0):
                raise DataError("non-positive values are not allowed for this family")
    with pytest.raises(DataError, match="non-positive"):
        model_design_for("y ~ x + (1 | g)", _data(), Positive(), random=True)
    assert isinstance(Binomial(), glmmfast.families.Family)


def test_response_on_the_right_hand_side_is_dropped_as_r_does(grouseticks):
    ref = lme4_checks()["response_rhs"]
    fit = glmmfast.glmer("TICKS ~ TICKS + YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    plain = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    assert list(fit.fixef.index) == ref["fixef_names"]
    assert fit.data_messages == [ref["warnings"][0]]
    np.testing.assert_array_equal(fit.fixef.to_numpy(), plain.fixef.to_numpy())
    glm_fit = glmmfast.glm("TICKS ~ YEAR + TICKS", grouseticks, family="poisson")
    assert list(glm_fit.fixef.index) == ["(Intercept)", "YEAR96", "YEAR97"]


@pytest.mark.parametrize("formula, where", [
    ("TICKS ~ YEAR * TICKS + (1 | LOCATION)", "in the term YEAR:TICKS"),
    ("TICKS ~ log(TICKS + 1) + (1 | LOCATION)", "in the term log(TICKS + 1)"),
    ("TICKS ~ YEAR + (TICKS | LOCATION)", "in (TICKS | LOCATION)"),
])
def test_other_terms_using_the_response_are_refused(grouseticks, formula, where):
    with pytest.raises(FormulaError, match=re.escape(f"the response TICKS appears on the right-hand side {where}")):
        glmmfast.glmer(formula, grouseticks, family="poisson")


@pytest.mark.parametrize("weights, fragment", [
    (["a"] * 40, "weights must be real numbers, not str values such as 'a'"),
    (np.full(40, "2"), "weights must be real numbers, not str"),
    (np.ones(40) * (1 + 1j), "weights must be real numbers, not complex"),
    (np.zeros(40), "weights are all zero"),
    (pd.Series(np.zeros(40)), "weights are all zero"),
])
def test_weights_that_are_not_usable_numbers(weights, fragment):
    for fit in (lambda: glmmfast.glmer("y ~ x + (1 | g)", _data(), family="poisson", weights=weights),
                lambda: glmmfast.lmer("y ~ x + (1 | g)", _data(), weights=weights),
                lambda: glmmfast.glm("y ~ x", _data(), family="poisson", weights=weights)):
        with pytest.raises(DataError, match=re.escape(fragment)):
            fit()


def test_complex_response_or_predictor_is_refused():
    df = _data()
    for formula in ("yc ~ x + (1 | g)", "y ~ yc + (1 | g)"):
        with pytest.raises(DataError, match="column 'yc' holds complex numbers"):
            glmmfast.glmer(formula, df.assign(yc=df["y"] + 0j), family="poisson")


def test_duplicated_column_names_used_by_the_model_are_refused():
    df = _data()
    twice = pd.concat([df, df[["x"]]], axis=1)
    with pytest.raises(DataError, match="data has more than one column named 'x'"):
        glmmfast.glmer("y ~ x + (1 | g)", twice, family="poisson")
    # A repeated column the model does not use is harmless.
    fit = glmmfast.glmer("y ~ 1 + (1 | g)", twice, family="poisson")
    assert np.isfinite(fit.deviance)


def test_binomial_factor_response_with_three_levels(grouseticks):
    ref = lme4_checks()["binomial_three_levels"]
    df = grouseticks.assign(f3=pd.Categorical(np.array(["a", "b", "c"])[grouseticks["TICKS"].to_numpy().astype(int) % 3]))
    fit = glmmfast.glmer("f3 ~ YEAR + (1 | LOCATION)", df, family="binomial")
    assert fit.data_messages == ["binomial response f3 is a factor with 3 levels: 'a' counts as failure and "
                                 "'b', 'c' as success"]
    assert fit.deviance == pytest.approx(ref["m2loglik"], abs=1e-3)
    for name, value in ref["fixef"].items():
        assert fit.fixef[name] == pytest.approx(value, abs=1e-3)
    two = glmmfast.glmer("f2 ~ YEAR + (1 | LOCATION)", df.assign(f2=df["f3"].map({"a": "a", "b": "b", "c": "b"})),
                         family="binomial")
    assert two.data_messages == []
