"""Satterthwaite's df: the level-by-level and sparse paths against the dense one, lmerTest's F-test df rule, and speed."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.inference._satterthwaite import (Satterthwaite, _dense_pieces, _engine_pieces, _one_term_pieces,
                                               _profiled_hessian, f_test_df)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_term_path_equals_dense_path(sleepstudy, reml, weighted):
    w = 1 + (sleepstudy["Days"].to_numpy() % 3) / 2 if weighted else None
    m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy, REML=reml, weights=w)
    a = _dense_pieces(m._design, m.theta, m.reml, m.sigma**2)
    b = _one_term_pieces(m._design, m.theta, m.reml, m.sigma**2)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=1e-9, atol=1e-12)


def _multi_term_data(seed: int, n: int = 600) -> pd.DataFrame:
    """Random data for crossed, nested and random-slope models with several terms."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 40, n), rng.integers(0, 12, n)
    x, z = rng.normal(size=n), rng.normal(size=n)
    f = rng.choice(["u", "v", "w"], size=n)
    t = rng.integers(0, 4, n)
    y = (1 + 0.5 * x - 0.3 * z + (f == "v") + rng.normal(0, 1.0, 40)[a] + rng.normal(0, 0.4, 40)[a] * x
         + rng.normal(0, 0.7, 12)[b] + rng.normal(0, 0.5, (12, 4))[b, t] + rng.normal(size=n))
    return pd.DataFrame({"y": y, "x": x, "z": z, "f": f, "a": a.astype(str), "b": b.astype(str),
                         "t": pd.Categorical(t), "w": rng.uniform(0.5, 2.0, n)})


MULTI_TERM = [
    "y ~ x + z + f + (1 | a) + (1 | b)",                 # crossed
    "y ~ x + f + (1 | b/a)",                             # nested
    "y ~ x + z + (x | a) + (1 | b)",                     # correlated slopes and a crossed term
    "y ~ x + (1 | a) + (0 + x | a) + (1 | b)",           # two terms on one factor
    "y ~ x + diag(x | a) + cs(0 + t | b)",               # structured covariances
    "y ~ x + (1 | a) + ar1(0 + t | b)",                  # T not linear in theta
]


@pytest.mark.parametrize("formula", MULTI_TERM)
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_sparse_path_equals_dense_path(formula, reml, seed):
    df = _multi_term_data(seed)
    weights = df["w"].to_numpy() if seed == 2 else None
    m = glmmfast.lmer(formula, df, REML=reml, weights=weights)
    fast, dense = Satterthwaite(m), Satterthwaite(m, algebra="dense")
    np.testing.assert_allclose(fast.vcov_beta, dense.vcov_beta, rtol=1e-10)
    np.testing.assert_allclose(fast.jacobian, dense.jacobian, rtol=1e-9, atol=1e-12 * np.abs(dense.jacobian).max())
    np.testing.assert_allclose(fast.hessian_eigenvalues, dense.hessian_eigenvalues, rtol=1e-8,
                               atol=1e-8 * np.abs(dense.hessian_eigenvalues).max())
    for l in np.eye(m.fixef.size):
        assert fast.t_df(l) == pytest.approx(dense.t_df(l), rel=1e-8)
    L = np.eye(m.fixef.size)[1:]
    assert fast.f_test(L, m.fixef.to_numpy())[2] == pytest.approx(dense.f_test(L, m.fixef.to_numpy())[2], rel=1e-8)


HESSIAN_MODELS = [
    "y ~ x + (x | a)",                                   # one term, correlated slopes
    "y ~ x + z + f + (1 | a) + (1 | b)",                 # crossed
    "y ~ x + f + (1 | b/a)",                             # nested
    "y ~ x + z + (x | a) + (1 | b)",                     # correlated slopes and a crossed term
    "y ~ x + (1 | b) + (x | a)",                         # the largest term last
]


@pytest.mark.parametrize("formula", HESSIAN_MODELS)
@pytest.mark.parametrize("reml", [True, False])
def test_engine_hessian_matches_central_differences_of_the_exact_gradient(formula, reml):
    # The engine's theta-theta block of the Hessian of the criterion in (theta, sigma) at the
    # estimates, against Richardson-extrapolated central differences of the engine's exact
    # gradient of the profiled criterion d_p (steps h, h/2): at s = R/m the two are related by
    # d'' = d_p'' + m R' R'^T / R^2 with R'_i = -u'D_i u (see _sparse_pieces).
    df = _multi_term_data(4)
    m = glmmfast.lmer(formula, df, REML=reml)
    s = m.sigma**2
    _, _, rss, H, uDu, _ = _engine_pieces(m._engine(), m._design, m.theta, m.reml, s)
    mm = m.nobs - m.fixef.size if reml else m.nobs
    differenced = _profiled_hessian(m._design, m.theta, m.reml) + mm * np.outer(uDu, uDu) / rss**2
    np.testing.assert_allclose(H, differenced, rtol=1e-6, atol=1e-6 * np.abs(differenced).max())


def test_sparse_path_leaves_the_fits_engine_at_its_optimum():
    m = glmmfast.lmer("y ~ x + (1 | a) + (1 | b)", _multi_term_data(3))
    engine = m._engine()
    before = (np.array(engine.theta), engine.pwrss, np.array(engine.gradient(True)))
    Satterthwaite(m)
    np.testing.assert_array_equal(np.array(engine.theta), before[0])
    assert engine.pwrss == before[1]
    np.testing.assert_array_equal(np.array(engine.gradient(True)), before[2])


def test_hessian_matches_finite_differences_of_the_criterion(sleepstudy):
    # lmerTest's devfun_vp: the criterion in (theta, sigma) with beta profiled out.
    m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    model = m._engine()
    n, p = m.nobs, m.fixef.size

    def crit(v):
        model.evaluate(v[:-1])
        s2 = v[-1] ** 2
        return (model.log_det_L2 + model.pwrss / s2 + n * np.log(2 * np.pi * s2)
                + model.log_det_RX2 - p * np.log(2 * np.pi * s2))
    x = np.concatenate([m.theta, [m.sigma]])
    h = 1e-4 * np.maximum(np.abs(x), 0.1)
    H = np.empty((x.size, x.size))
    for i in range(x.size):
        for j in range(x.size):
            ei, ej = np.eye(x.size)[i] * h[i], np.eye(x.size)[j] * h[j]
            H[i, j] = (crit(x + ei + ej) - crit(x + ei - ej) - crit(x - ei + ej) + crit(x - ei - ej)) / (4 * h[i] * h[j])
    model.evaluate(m.theta)
    sat = Satterthwaite(m)
    np.testing.assert_allclose(2 * np.linalg.inv(H), sat.vcov_varpar, rtol=1e-4)


def test_f_test_df_rules():
    assert f_test_df([7.5]) == 7.5
    assert f_test_df([10.0, 10.0, 10.0]) == 10.0  # equal: the mean
    assert f_test_df([1.5, 10.0]) == 2.0  # some nu <= 2
    E = 10 / 8 + 20 / 18
    assert f_test_df([10.0, 20.0]) == pytest.approx(2 * E / (E - 2))


def _simulated(n_groups: int, n_per: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(n_groups), n_per)
    x = np.tile(np.arange(n_per), n_groups).astype(float)
    f = rng.choice(["a", "b", "c"], size=g.size)
    y = 10 + 2 * x + (f == "b") + rng.normal(0, 5, n_groups)[g] + rng.normal(0, 1, n_groups)[g] * x \
        + rng.normal(0, 3, g.size)
    return pd.DataFrame({"y": y, "x": x, "f": f, "g": g.astype(str)})


def test_satterthwaite_neither_refits_nor_differences(monkeypatch):
    # Issue 17: Satterthwaite's df from analytic derivatives of Var(beta-hat) in the
    # variance parameters, never from refits or differenced gradients.  Its cost
    # against the fit's is measured by benchmarks/bench_inference.py, not here.
    from glmmfast.inference import _satterthwaite
    df = _simulated(500, 20)
    m = glmmfast.lmer("y ~ x + f + (x | g)", df)
    expected = Satterthwaite(m, algebra="dense")

    def forbidden(*args, **kwargs):
        raise AssertionError("Satterthwaite differenced the criterion's gradient")
    monkeypatch.setattr(_satterthwaite, "_profiled_hessian", forbidden)
    engine = m._engine()
    evaluations = engine.evaluations
    table = m.coef_table()
    assert m._engine() is engine and engine.evaluations == evaluations  # no criterion evaluated
    for k, name in enumerate(m.fixef.index):
        l = np.zeros(len(m.fixef))
        l[k] = 1.0
        np.testing.assert_allclose(table.loc[name, "df"], expected.t_df(l), rtol=1e-8)
