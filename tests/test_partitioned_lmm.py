"""An LMM on the partitioned rows of a Dask DataFrame (fit/_partitioned_lmm.py), on a real 2-worker LocalCluster.

The engine's CrossProductLmm (criterion, exact gradient, estimates from the
rows' cross-products) is checked against LmmModel on the same rows at
arbitrary theta; whole fits against the in-memory fit: the criterion to
1e-8, fixed effects, theta, sigma and the conditional modes to 1e-6, vcov to
1e-6 relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import _core
from glmmfast._errors import GlmmfastError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


def assert_same_lmm(dask_fit, pandas_fit):
    assert abs(dask_fit.deviance - pandas_fit.deviance) < 1e-8
    assert abs(dask_fit.reml_criterion - pandas_fit.reml_criterion) < 1e-8
    assert list(dask_fit.fixef.index) == list(pandas_fit.fixef.index)
    np.testing.assert_allclose(dask_fit.fixef.to_numpy(), pandas_fit.fixef.to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(dask_fit.theta, pandas_fit.theta, rtol=0, atol=1e-6)
    assert abs(dask_fit.sigma - pandas_fit.sigma) < 1e-6
    np.testing.assert_allclose(dask_fit.vcov.to_numpy(), pandas_fit.vcov.to_numpy(), rtol=1e-6, atol=1e-12)
    assert dask_fit.nobs == pandas_fit.nobs and dask_fit.df_resid == pandas_fit.df_resid
    assert abs(dask_fit.bic - pandas_fit.bic) < 1e-8 and abs(dask_fit.aic - pandas_fit.aic) < 1e-8
    for group, modes in pandas_fit.ranef().items():
        mine = dask_fit.ranef()[group]
        assert list(mine.index) == list(modes.index)
        np.testing.assert_allclose(mine.to_numpy(), modes.to_numpy(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(mine.attrs["condsd"].to_numpy(), modes.attrs["condsd"].to_numpy(), atol=1e-6)


def _cross_product_model(design, y_shift=0.0):
    """CrossProductLmm from the design's rows in two 'partitions', their products added (y - y_shift)."""
    from glmmfast.design._partitioned_design import PartitionArrays
    from glmmfast.fit._engine import _engine_terms
    from glmmfast.fit._partitioned_lmm import pattern_of, products_of

    parts = [products_of(PartitionArrays(design.X[idx], design.Z[idx].tocsc(), design.y[idx], design.weights[idx],
                                         design.offset[idx], 0), y_shift)
             for idx in np.array_split(np.arange(design.n), 2)]
    total = parts[0] + parts[1]
    rows, cols, values = pattern_of(total.ZtWZ, design.terms)
    return _core.CrossProductLmm(_engine_terms(design), rows, cols, values, np.asfortranarray(total.ZtWX),
                                 total.ZtWy, total.XtWX, total.XtWy, total.ytWy, total.n, total.log_w_sum,
                                 y_shift, 0 if y_shift else -1)


@pytest.mark.parametrize("formula, y_shift", [("Reaction ~ Days + (Days | Subject)", 0.0),
                                              ("Reaction ~ Days + (Days | Subject)", 250.0),
                                              ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", 0.0)])
def test_engine_cross_products_give_lmm_models_criterion_and_gradient(formula, y_shift):
    # y_shift: the products of y - 250 (X's first column the intercept) give the response's fit
    from glmmfast.design._design import model_design_for
    from glmmfast.fit._engine import lmm_engine_model

    df = glmmfast.datasets.load("sleepstudy")
    rng = np.random.default_rng(3)
    w = rng.uniform(0.5, 2.0, len(df))
    d = model_design_for(formula, df, glmmfast.families.Gaussian(), weights=w, offset=rng.normal(size=len(df)),
                         random=True)
    whole, model = lmm_engine_model(d), _cross_product_model(d, y_shift)
    for theta in (np.asarray(whole.initial_theta()) * 0.7 + 0.05, np.full(len(whole.initial_theta()), 0.3)):
        for reml in (True, False):
            assert model.deviance(theta, reml) == pytest.approx(whole.deviance(theta, reml), rel=1e-12)
            np.testing.assert_allclose(model.gradient(reml), whole.gradient(reml), rtol=1e-8, atol=1e-8)
            np.testing.assert_allclose(model.beta, whole.beta, rtol=1e-9)
            np.testing.assert_allclose(model.b, whole.b, rtol=1e-8, atol=1e-9)
            assert model.sigma(reml) == pytest.approx(whole.sigma(reml), rel=1e-10)
            np.testing.assert_allclose(model.beta_unscaled_vcov(), whole.beta_unscaled_vcov(), rtol=1e-9)
            np.testing.assert_allclose(model.cond_var(0), whole.cond_var(0), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reml", [True, False])
def test_random_slopes_equal_in_memory(client, reml):
    df = glmmfast.datasets.load("sleepstudy")
    df["Subject"] = df["Subject"].astype(str)
    formula = "Reaction ~ Days + (Days | Subject)"
    ddf = dd.from_pandas(df, npartitions=4)
    fit = glmmfast.lmer(formula, ddf, REML=reml)
    ref = glmmfast.lmer(formula, df, REML=reml)
    assert_same_lmm(fit, ref)
    assert fit.partitions is None
    pred = fit.predict(ddf)
    assert isinstance(pred, dd.Series)
    np.testing.assert_allclose(pred.compute().to_numpy(), ref.predict(df), rtol=1e-8)
    lines, ref_lines = fit.summary_text().splitlines(), ref.summary_text().splitlines()
    tail = "Scaled residuals: "
    assert lines[lines.index(tail):] == ref_lines[ref_lines.index(tail):]
    with pytest.raises(GlmmfastError, match="rows in memory"):
        fit.coef_table()


def test_crossed_weights_offset_missing_and_aliased_equal_in_memory(client):
    rng = np.random.default_rng(11)
    n = 500
    df = pd.DataFrame({"g": rng.integers(0, 25, n).astype(str), "h": rng.choice(list("abcdefg"), n),
                       "x": rng.normal(size=n), "f": rng.choice(["lo", "mid", "hi"], n),
                       "w": rng.uniform(0.5, 2.0, n), "off": rng.normal(size=n)})
    df["x2"] = 2.0 * df["x"]  # aliased: dropped as in memory
    h_effect = dict(zip("abcdefg", rng.normal(0, 1.0, 7)))
    df["y"] = (100.0 + 2.0 * df["x"] + df["off"] + rng.normal(0, 1.5, 25)[df["g"].astype(int)]
               + df["h"].map(h_effect) + rng.normal(0, 1.0, n) / np.sqrt(df["w"]))
    df.loc[[5, 50, 300], "x"] = np.nan
    df = df.sort_values("h").reset_index(drop=True)  # most h levels in one partition only
    formula = "y ~ x + x2 + f + (1 | g) + (1 | h)"
    ddf = dd.from_pandas(df, npartitions=5, sort=False)
    fit = glmmfast.lmer(formula, ddf, weights="w", offset="off", quiet=True)
    ref = glmmfast.lmer(formula, df, weights=df["w"].to_numpy(), offset=df["off"].to_numpy(), quiet=True)
    assert_same_lmm(fit, ref)
    assert fit.n_dropped == ref.n_dropped == 3
    assert fit._design.x_dropped == ref._design.x_dropped == ["x2"]


def test_glmer_gaussian_identity_is_the_partitioned_lmm(client):
    # As in memory (and lme4): glmer hands gaussian(identity) to lmer, REML, with a warning.
    df = glmmfast.datasets.load("sleepstudy")
    ddf = dd.from_pandas(df, npartitions=2)
    with pytest.warns(UserWarning, match="linear mixed model by REML"):
        fit = glmmfast.glmer("Reaction ~ Days + (1 | Subject)", ddf, family="gaussian")
    assert_same_lmm(fit, glmmfast.lmer("Reaction ~ Days + (1 | Subject)", df))
