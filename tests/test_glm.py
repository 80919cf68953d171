"""glm against R's glm (grouseticks TICKS ~ YEAR, poisson)."""

from __future__ import annotations

import numpy as np
import pytest

import glmmfast
from conftest import fit_case, reference_cases


def test_poisson_glm_matches_r():
    ref = reference_cases()["gt_glm"]
    fit = fit_case("gt_glm")
    np.testing.assert_allclose(fit.coef.to_numpy(), list(ref["coef"].values()), rtol=1e-7)
    np.testing.assert_allclose(fit.se.to_numpy(), list(ref["se"].values()), rtol=1e-6)
    assert list(fit.coef.index) == list(ref["coef"])
    assert fit.deviance == pytest.approx(ref["deviance"], rel=1e-9)
    assert fit.null_deviance == pytest.approx(ref["null_deviance"], rel=1e-9)
    assert fit.aic == pytest.approx(ref["aic"], rel=1e-9)
    assert fit.iterations == ref["iter"]
    assert (fit.df_null, fit.df_resid) == (402, 400)


def test_glm_summary_prints_what_r_prints():
    fit = fit_case("gt_glm")
    expected = reference_cases()["gt_glm"]["summary_text"].replace(
        "glm(formula = fo, family = fam(cs), data = df)",
        "glm(formula = TICKS ~ YEAR, family = poisson, data = grouseticks)")
    assert fit.summary_text() == expected + "\n"


def test_binomial_cbind_glm_equals_expanded_bernoulli(cbpp):
    # cbind(successes, failures) and one 0/1 row per trial are the same
    # likelihood up to the binomial coefficients: same estimates.
    agg = glmmfast.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    rows = []
    for _, r in cbpp.iterrows():
        rows += [(r["period"], 1.0)] * int(r["incidence"]) + [(r["period"], 0.0)] * int(r["size"] - r["incidence"])
    import pandas as pd
    long = pd.DataFrame(rows, columns=["period", "y"])
    long["period"] = pd.Categorical(long["period"], categories=cbpp["period"].cat.categories)
    bern = glmmfast.glm("y ~ period", long, family="binomial")
    # Both stop on R's criterion |dev - dev_old| / (|dev| + 0.1) < 1e-8.
    np.testing.assert_allclose(agg.coef.to_numpy(), bern.coef.to_numpy(), rtol=1e-6)
    # As in R, the covariance uses the weights of the last IRLS iteration,
    # which differ between the two paths at the 1e-4 level.
    np.testing.assert_allclose(agg.se.to_numpy(), bern.se.to_numpy(), rtol=1e-3)


def test_gaussian_glm_is_least_squares():
    rng = np.random.default_rng(1)
    import pandas as pd
    df = pd.DataFrame({"x": rng.normal(size=50)})
    df["y"] = 1 + 2 * df["x"] + rng.normal(size=50)
    fit = glmmfast.glm("y ~ x", df)
    X = np.column_stack([np.ones(50), df["x"]])
    beta, rss, *_ = np.linalg.lstsq(X, df["y"], rcond=None)
    np.testing.assert_allclose(fit.coef.to_numpy(), beta, rtol=1e-10)
    assert fit.dispersion == pytest.approx(rss[0] / 48)
    # R: AIC = n log(2 pi RSS/n) + n + 2 + 2p
    assert fit.aic == pytest.approx(50 * np.log(2 * np.pi * rss[0] / 50) + 50 + 2 + 4)
