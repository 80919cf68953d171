"""The engine's exact gradient of the LMM profiled deviance and REML
criterion (lmm_gradient.cpp) against central finite differences of the
criterion itself: correlated slopes, weights and offsets, crossed and
nested terms, and the blocked factor whose Schur complement is inverted on
its panels' pattern (PanelCholesky::selected_inverse)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import _core
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import lmm_engine_model
from glmmfast.families import Gaussian


def _model(formula: str, data: pd.DataFrame, weights=None, offset=None):
    design = model_design_for(formula, data, Gaussian(), weights, offset, random=True)
    return lmm_engine_model(design)


def _check(model, theta: np.ndarray, reml: bool, h: float = 1e-5) -> None:
    model.evaluate(theta)
    exact = np.asarray(model.gradient(reml))
    fd = np.empty(theta.size)
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        fd[i] = (model.deviance(theta + e, reml) - model.deviance(theta - e, reml)) / (2 * h)
    # central differences: error O(h^2 f''') + rounding ~1e-13 |f| / h
    crit = abs(model.deviance(theta, reml))
    np.testing.assert_allclose(exact, fd, rtol=1e-5, atol=1e-6 * max(1.0, crit) / (h * 1e6) + 1e-6)


def _theta(model, seed: int = 1) -> np.ndarray:
    """A point away from lme4's start: diagonals in (0.2, 1.2), off-diagonals N(0, 0.2)."""
    rng = np.random.default_rng(seed)
    lower = np.asarray(model.lower_bounds())
    return np.where(np.isfinite(lower), 0.2 + rng.uniform(size=lower.size), rng.normal(0, 0.2, lower.size))


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("formula", [
    "Reaction ~ Days + (Days | Subject)",                       # 2 x 2 T: correlated slopes
    "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",   # two scalar terms, one factor
])
def test_sleepstudy_gradient_matches_finite_differences(sleepstudy, formula, reml):
    model = _model(formula, sleepstudy)
    _check(model, _theta(model), reml)
    _check(model, np.asarray(model.initial_theta(), dtype=float), reml)


@pytest.mark.parametrize("reml", [False, True])
def test_gradient_with_weights_and_offset(sleepstudy, reml):
    rng = np.random.default_rng(2)
    w = rng.uniform(0.3, 3.0, len(sleepstudy))
    off = rng.normal(0, 20, len(sleepstudy))
    model = _model("Reaction ~ Days + (Days | Subject)", sleepstudy, weights=w, offset=off)
    _check(model, _theta(model, 3), reml)


@pytest.mark.parametrize("reml", [False, True])
def test_nested_gradient(grouseticks, reml):
    df = grouseticks.assign(lt=np.log1p(grouseticks["TICKS"]))
    model = _model("lt ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", df)
    _check(model, _theta(model, 4), reml)


def _crossed(n_s: int, n_d: int, per_s: int, n_dept: int, seed: int = 5) -> pd.DataFrame:
    """InstEval-like ratings: students s rate per_s of n_d instructors d, each
    instructor in one of n_dept departments (d % n_dept), a student's
    instructors mostly from one department; a binary service indicator."""
    rng = np.random.default_rng(seed)
    s = np.repeat(np.arange(n_s), per_s)
    home = rng.integers(0, n_dept, n_s)
    d = np.concatenate([np.where(rng.uniform(size=per_s) < 0.9,
                                 rng.choice(np.arange(h, n_d, n_dept), per_s, replace=False),
                                 rng.choice(n_d, per_s, replace=False)) for h in home])
    dept = d % n_dept
    service = rng.integers(0, 2, s.size)
    y = (3 + 0.3 * service + rng.normal(0, 0.3, n_s)[s] + rng.normal(0, 0.5, n_d)[d]
         + rng.normal(0, 0.1, (n_dept, 2))[dept, service] + rng.normal(0, 1.2, s.size))
    return pd.DataFrame({"y": y, "service": pd.Categorical(service), "s": pd.Categorical(s),
                         "d": pd.Categorical(d), "dept": pd.Categorical(dept)})


@pytest.mark.parametrize("reml", [False, True])
def test_crossed_gradient_sparse_factor(reml):
    model = _model("y ~ service + (1 | s) + (1 | d)", _crossed(60, 25, 6, 4))
    assert model.factorization == "sparse"
    _check(model, _theta(model, 6), reml)


@pytest.mark.parametrize("reml", [False, True])
def test_blocked_factor_gradient_on_a_large_crossed_design(reml):
    # Many students (the block-diagonal first term) crossed with enough
    # instructors that the Schur complement is factorised in panels, so the
    # gradient uses its selected inversion rather than the dense S^-1.
    model = _model("y ~ service + (1 | s) + (1 | d) + (1 | dept:service)", _crossed(3000, 800, 6, 40))
    assert model.factorization == "blocked" and model.schur_panels > 1
    _check(model, np.array([0.3, 0.45, 0.08]), reml)
    _check(model, np.array([1.0, 1.0, 1.0]), reml)


def test_gradient_needs_an_evaluated_model(sleepstudy):
    model = _model("Reaction ~ Days + (Days | Subject)", sleepstudy)
    with pytest.raises(_core.PirlsError, match="not been evaluated"):
        model.gradient(True)


def test_lmm_objective_has_the_gradient(sleepstudy):
    model = _model("Reaction ~ Days + (Days | Subject)", sleepstudy)
    obj = _core.lmm_objective(model, True)
    assert obj.has_gradient
    x = np.array([0.9, 0.1, 0.3])
    g = np.empty(3)
    f = obj(x, g)
    assert f == pytest.approx(model.deviance(x, True), rel=1e-14)
    model.evaluate(x)
    np.testing.assert_allclose(g, model.gradient(True), rtol=1e-14)
    assert obj.evaluations == 1 and obj.gradient_evaluations == 1
