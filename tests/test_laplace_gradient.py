"""The engine's exact gradient of the Laplace deviance (laplace_gradient.cpp)
against central finite differences of the deviance itself, and the joint
objective's gradient (chain rule to the optimiser's scaled coordinates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import _core
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import engine_model
from glmmfast.families import Binomial, Poisson, get_family

from conftest import departmental_design


def _fd_gradient(model, theta, beta, h=2e-4):
    x = np.concatenate([theta, beta])
    nt = theta.size
    g = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        fp = model.deviance_at((x + e)[:nt], (x + e)[nt:])
        fm = model.deviance_at((x - e)[:nt], (x - e)[nt:])
        g[i] = (fp - fm) / (2 * h)
    return g


def _check(design, theta, beta):
    model = engine_model(design, "sparse")
    assert model.has_laplace_gradient
    model.deviance_at(theta, beta)
    exact = np.asarray(model.laplace_gradient())
    fd = _fd_gradient(model, theta, beta)
    # central differences: error O(h^2 f''') + rounding 1e-12 |f| / h
    np.testing.assert_allclose(exact, fd, rtol=1e-5, atol=1e-5 * (1 + np.abs(fd).max()))


GROUSE = [
    "TICKS ~ YEAR + (1 | LOCATION)",
    "TICKS ~ YEAR + (YEAR | LOCATION)",  # 3 x 3 T: correlations
    "TICKS ~ YEAR + cHEIGHT + (1 | INDEX) + (1 | BROOD) + (1 | LOCATION)",
    "TICKS ~ YEAR + (1 | LOCATION) + (0 + YEAR | LOCATION)",
]


@pytest.mark.parametrize("formula", GROUSE)
def test_poisson_gradient_matches_finite_differences(grouseticks, formula):
    design = model_design_for(formula, grouseticks, Poisson(), random=True)
    model = engine_model(design)
    rng = np.random.default_rng(1)
    lower = np.asarray(model.lower_bounds())
    theta = np.where(np.isfinite(lower), 0.3 + rng.uniform(size=lower.size), rng.normal(0, 0.2, lower.size))
    beta = rng.normal(0, 0.3, design.X.shape[1])
    beta[0] += 1.0
    _check(design, theta, beta)


def test_binomial_gradient_with_trials_weights_offset(cbpp):
    rng = np.random.default_rng(2)
    df = cbpp.assign(z=rng.normal(size=len(cbpp)), off=rng.normal(0, 0.2, len(cbpp)))
    design = model_design_for("cbind(incidence, size - incidence) ~ period + z + (1 + z | herd)", df, Binomial(),
                              offset=df["off"].to_numpy(), random=True)
    _check(design, np.array([0.8, 0.2, 0.4]), np.array([-1.2, -0.9, -1.1, -1.6, 0.1]))


def test_binomial_gradient_beyond_the_links_clamp():
    # quasi-separation (issue 12): period 4's linear predictor far beyond
    # the logit's clamp at -30, where the deviance is summed from eta exactly
    from conftest import quasi_separated_cbpp

    design = model_design_for("cbind(incidence, size - incidence) ~ period + (1 | herd)", quasi_separated_cbpp(),
                              Binomial(), random=True)
    for beta4 in (-25.0, -45.0):
        _check(design, np.array([0.7]), np.array([-1.4, -0.98, -1.1, beta4]))


def test_poisson_gradient_with_prior_weights_including_zero():
    rng = np.random.default_rng(3)
    g1, g2 = rng.integers(0, 12, 150), rng.integers(0, 7, 150)
    x = rng.normal(size=150)
    df = pd.DataFrame({"y": rng.poisson(np.exp(0.5 + 0.4 * x)), "x": x, "g1": g1, "g2": g2})
    w = rng.uniform(0.2, 3.0, 150)
    w[:5] = 0.0
    design = model_design_for("y ~ x + (1 | g1) + (1 | g2)", df, Poisson(), weights=w, random=True)
    _check(design, np.array([0.6, 0.9]), np.array([0.4, 0.3]))


def test_gradient_availability():
    """Every family and link has the exact gradient (observation_gradient.cpp; issue 16), also
    with a family parameter as a coordinate; only the AGQ objective has none."""
    df = pd.DataFrame({"y": [1, 0, 3, 2, 5, 1, 0, 2], "g": list("aabbccdd")})
    for fam in (Poisson(), Binomial("probit"), Poisson("sqrt")):
        y = (df["y"] > 1).astype(int) if fam.name == "binomial" else df["y"]
        design = model_design_for("y ~ 1 + (1 | g)", df.assign(y=y), fam, random=True)
        model = engine_model(design)
        assert model.has_laplace_gradient
        model.deviance_at(np.array([0.5]), np.array([0.2]))
        assert np.asarray(model.laplace_gradient()).shape == (2,)
    # the Gamma family's dispersion is a coordinate of the objective, with its derivative
    design = model_design_for("y ~ 1 + (1 | g)", df.assign(y=df["y"] + 1.0), get_family("Gamma"), random=True)
    model = engine_model(design)
    obj = _core.glmm_objective(model, "joint", 1.0, "dispersion", 1, np.zeros(1), np.ones(1))
    assert obj.has_gradient
    grad = np.zeros(3)
    obj(np.array([0.5, 0.0, 0.0]), grad)
    assert np.all(np.isfinite(grad))
    agq = _core.glmm_objective(model, "joint", 1.0, "dispersion", 5, np.zeros(1), np.ones(1))
    assert not agq.has_gradient
    with pytest.raises(RuntimeError, match="no gradient"):
        agq(np.array([0.5, 0.0, 0.0]), np.zeros(3))


def test_objective_gradient_is_in_the_optimiser_coordinates(grouseticks):
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    model = fit._engine()
    base, scale, s = fit.fixef.to_numpy(), np.array([0.2, 0.1, 0.3]), 0.5
    obj = _core.glmm_objective(model, "joint", s, "none", 1, base, scale)
    assert obj.has_gradient
    x = np.array([2.4, 0.3, -0.2, 0.1])
    grad = np.zeros(4)
    f = obj(x, grad)
    theta, beta = x[:1] * s, base + scale * x[1:]
    assert f == pytest.approx(model.deviance_at(theta, beta), rel=1e-12)
    raw = np.asarray(model.laplace_gradient())
    np.testing.assert_allclose(grad, np.concatenate([raw[:1] * s, raw[1:] * scale]), rtol=1e-12)
    with pytest.raises(ValueError, match="writable float64 vector of length 4"):
        obj(x, np.zeros(3))


def _objective(model, stage: str, parameter, p: int):
    name = parameter or "none"
    if stage == "profiled_beta":
        return _core.glmm_objective(model, stage, 1.0, name)
    return _core.glmm_objective(model, stage, 1.0, name, 1, np.zeros(p), np.ones(p))


def check_objective_gradient(model, stage: str, parameter, x: np.ndarray, beta_start: np.ndarray, h=1e-4,
                              rtol=1e-6):
    """The engine objective's exact gradient (``stage``: "joint" or "profiled_beta", with the
    engine's ``parameter`` name or None) at ``x`` against central differences of its value,
    from the same PIRLS start (u = 0, ``beta_start``) at every point."""
    obj = _objective(model, stage, parameter, model.p)
    assert obj.has_gradient

    def f(xx):
        model.set_u(np.zeros(model.q))
        model.set_beta(beta_start)
        return obj.evaluate(xx)

    f(x)
    exact = np.asarray(obj.gradient(x))
    fd = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])
    # central differences: error O(h^2 f''') + rounding ~1e-13 |f| / h
    np.testing.assert_allclose(exact, fd, rtol=rtol, atol=rtol * (1 + np.abs(fd).max()))
    return exact



def test_beta_profiled_gradient_matches_finite_differences(grouseticks, cbpp):
    """The nAGQ = 0 objective (beta from PIRLS, moving with theta): its theta-derivative."""
    for formula, data, fam in [("TICKS ~ YEAR + (YEAR | LOCATION)", grouseticks, Poisson()),
                               ("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, Binomial())]:
        design = model_design_for(formula, data, fam, random=True)
        model = engine_model(design)
        lower = np.asarray(model.lower_bounds())
        theta = np.where(np.isfinite(lower), 0.9, -0.1)
        check_objective_gradient(model, "profiled_beta", None, theta, np.zeros(design.X.shape[1]), h=2e-4, rtol=1e-5)


def test_gradient_fits_leave_a_zero_diagonal_of_t(cbpp):
    """The deviance is even in a diagonal entry of T, so its derivative at 0 is 0:
    a gradient method that lands there stays unless the optimiser looks off the
    bound.  lme4's optimum of this model is inside (T_22 = 0.28)."""
    data = cbpp.assign(pnum=cbpp["period"].cat.codes.astype(float) + 1 - 2.5)
    fit = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (pnum | herd)", data, family="binomial")
    assert fit.theta[2] > 0.2
    assert fit.deviance < 182.43  # 182.877 at the boundary point


@pytest.mark.slow
def test_blocked_factor_gradient_equals_the_sparse_one_on_a_large_crossed_design():
    """The blocked factor's selected inverse (dense Schur complement), at a size
    where its Schur update and inverse run on several threads, against the
    sparse factor's Takahashi recurrences."""
    rng = np.random.default_rng(5)
    n1, n2, n = 2000, 300, 120_000
    g1, g2 = np.repeat(np.arange(n1), n // n1), rng.integers(0, n2, n)
    x = rng.normal(size=n)
    eta = 0.2 + 0.3 * x + rng.normal(0, 0.5, n1)[g1] + rng.normal(0, 0.4, n2)[g2]
    df = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g1": g1, "g2": g2})
    design = model_design_for("y ~ x + (1 | g1) + (1 | g2)", df, Poisson(), random=True)
    theta, beta = np.array([0.45, 0.35]), np.array([0.25, 0.3])
    out = {}
    for fac in ("blocked", "sparse"):
        model = engine_model(design, fac)
        assert model.factorization == fac and model.has_laplace_gradient
        out[fac] = (model.deviance_at(theta, beta), np.asarray(model.laplace_gradient()))
    assert out["blocked"][0] == pytest.approx(out["sparse"][0], rel=1e-12)
    np.testing.assert_allclose(out["blocked"][1], out["sparse"][1], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("formula", ["y ~ x + (1 | g1) + (1 | g2)", "y ~ x + (x | g1) + (1 | g2)"])
def test_blocked_factor_on_a_schur_complement_dense_by_count(formula):
    """Crossed levels that fill the Schur complement (330 columns, sum of squared rows per g1
    level ~5x 330^2: under the 16x where the pattern was never built, so its marks are
    counted and stop once the dense LLT is certain, PanelCholesky::dense_by_count): one
    panel, and the deviance, gradient (selected inverse, S^-1 kept in the factor's free
    triangle) and conditional variances (inverse_block) are the sparse factor's."""
    rng = np.random.default_rng(13)
    n1, n2, per = 1500, 330, 16
    g1, g2 = np.repeat(np.arange(n1), per), rng.integers(0, n2, n1 * per)
    x = rng.normal(size=g1.size)
    eta = 0.2 + 0.3 * x + rng.normal(0, 0.5, n1)[g1] + rng.normal(0, 0.4, n2)[g2]
    df = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g1": g1, "g2": g2})
    design = model_design_for(formula, df, Poisson(), random=True)
    beta, out = np.array([0.25, 0.3]), {}
    for fac in ("blocked", "sparse"):
        model = engine_model(design, fac)
        theta = np.array([0.45, 0.35] if len(model.initial_theta()) == 2 else [0.45, 0.1, 0.2, 0.35])
        out[fac] = (model.deviance_at(theta, beta), np.asarray(model.laplace_gradient()), model.schur_panels,
                    [np.asarray(model.cond_var(t)) for t in range(2)])
    assert out["blocked"][2] == 1
    assert out["blocked"][0] == pytest.approx(out["sparse"][0], rel=1e-12)
    np.testing.assert_allclose(out["blocked"][1], out["sparse"][1], rtol=1e-8, atol=1e-8)
    for t in range(2):
        np.testing.assert_allclose(out["blocked"][3][t], out["sparse"][3][t], rtol=1e-9)


def test_auto_takes_the_blocked_factor_beyond_its_size_limit_when_the_schur_complement_fills():
    """Crossed terms whose Schur complement (2,600 levels, above the blocked layout's 2,500)
    fills in take the blocked factor (the sparse factor of that fill ran ~14x slower,
    penalized_system.cpp); the same levels with few rows per first-term level keep the
    sparse one.  The auto factor's deviance is the sparse factor's."""
    rng = np.random.default_rng(7)
    n1 = n2 = 2600
    chosen = {}
    for n in (80_000, 8_000):  # schur_density ~0.36 and ~0.004
        g1, g2 = rng.integers(0, n1, n), rng.integers(0, n2, n)
        x = rng.normal(size=n)
        eta = 0.2 + 0.3 * x + rng.normal(0, 0.5, n1)[g1] + rng.normal(0, 0.4, n2)[g2]
        df = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g1": g1, "g2": g2})
        design = model_design_for("y ~ x + (1 | g1) + (1 | g2)", df, Poisson(), random=True)
        chosen[n] = engine_model(design).factorization
        if n == 8_000:
            theta, beta = np.array([0.45, 0.35]), np.array([0.25, 0.3])
            assert engine_model(design, "blocked").deviance_at(theta, beta) == pytest.approx(
                engine_model(design, "sparse").deviance_at(theta, beta), rel=1e-12)
    assert chosen == {80_000: "blocked", 8_000: "sparse"}


def test_blocked_factor_gradient_with_a_sparse_schur_complement():
    """Students rate instructors of their own department only (InstEval's
    shape): the Schur complement is block-sparse, factorised by panels in a
    fill-reducing order, and its dense inverse (permuted) feeds the
    selected inverse; against the sparse factor's Takahashi recurrences."""
    design = departmental_design()
    theta, beta = np.array([0.55, 0.4]), np.array([-0.15, 0.35])
    out = {}
    for fac in ("blocked", "sparse"):
        model = engine_model(design, fac)
        assert model.factorization == fac and model.has_laplace_gradient
        out[fac] = (model.deviance_at(theta, beta), np.asarray(model.laplace_gradient()), model.schur_panels,
                    [np.asarray(model.cond_var(t)) for t in range(2)])
    assert out["blocked"][2] > 1 and out["sparse"][2] == 0
    assert out["blocked"][0] == pytest.approx(out["sparse"][0], rel=1e-12)
    np.testing.assert_allclose(out["blocked"][1], out["sparse"][1], rtol=1e-8, atol=1e-8)
    for t in range(2):  # conditional variances: the same dense inverse through inverse_block
        np.testing.assert_allclose(out["blocked"][3][t], out["sparse"][3][t], rtol=1e-9)
