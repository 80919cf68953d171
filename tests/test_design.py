"""From formula and data to the fitted numbers: responses for each binomial
form, offsets, weights, missing values and column checks (_design.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast._design import model_design_for

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
