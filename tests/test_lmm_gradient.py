"""The engine's exact gradient of the LMM profiled deviance and REML
criterion (cross_product_lmm.cpp, from the rows' cross-products that
lmm_model.cpp forms once) against central finite differences of the
criterion itself: correlated slopes, weights and offsets, crossed and
nested terms, and the blocked factor whose Schur complement is inverted on
its panels' pattern (PanelCholesky::selected_inverse); the criterion itself
against a dense computation from the rows, and its invariance to adding a
fixed-effects fit to the response (the products' cancellation)."""

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


def test_auto_takes_the_blocked_factor_for_a_small_schur_complement_that_fills():
    """A second term of 60 levels (below the old 200-column floor) crossed with the first, so every
    first-term level meets most of them (schur_density ~50), takes the blocked factor (10^5 rows,
    1000 x 100 levels: 24 -> 13 ms per evaluation with its gradient); the same levels nested in the
    first term's keep the sparse factor.  Criterion and gradient do not depend on the factor."""
    rng = np.random.default_rng(17)
    n, n1, n2 = 6000, 300, 60
    g1 = rng.integers(0, n1, n)
    x = rng.normal(size=n)
    chosen = {}
    for layout, g2 in (("crossed", rng.integers(0, n2, n)), ("nested", g1 // (n1 // n2))):
        y = 1 + 0.5 * x + rng.normal(0, 1, n1)[g1] * (1 + 0.3 * x) + rng.normal(0, 0.7, n2)[g2] + rng.normal(size=n)
        df = pd.DataFrame({"y": y, "x": x, "g1": pd.Categorical(g1), "g2": pd.Categorical(g2)})
        design = model_design_for("y ~ x + (x | g1) + (1 | g2)", df, Gaussian(), random=True)
        chosen[layout] = lmm_engine_model(design).factorization
        theta = np.array([0.8, 0.1, 0.3, 0.6])
        criteria, gradients = [], []
        for factorization in ("sparse", "blocked"):
            model = lmm_engine_model(design, factorization)
            criteria.append(model.deviance(theta, False))
            gradients.append(np.asarray(model.gradient(False)))
        assert criteria[1] == pytest.approx(criteria[0], rel=1e-12)
        np.testing.assert_allclose(gradients[1], gradients[0], rtol=1e-8, atol=1e-8)
    assert chosen == {"crossed": "blocked", "nested": "sparse"}


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



def _dense_criterion(design, theta: np.ndarray, reml: bool) -> float:
    """The profiled criterion of ``(Days | Subject)`` from the rows with dense numpy (Bates et al. 2015, eqs. 34-42)."""
    T = np.array([[theta[0], 0.0], [theta[1], theta[2]]])  # lme4's theta: T's lower triangle, column by column
    U = design.Z.toarray() @ np.kron(np.eye(design.terms[0].nlevels), T)
    X, w = design.X, design.weights
    y = design.y - design.offset
    n, p, q = X.shape[0], X.shape[1], U.shape[1]
    A = U.T @ (w[:, None] * U) + np.eye(q)
    M = np.block([[A, U.T @ (w[:, None] * X)], [X.T @ (w[:, None] * U), X.T @ (w[:, None] * X)]])
    sol = np.linalg.solve(M, np.r_[U.T @ (w * y), X.T @ (w * y)])
    res = y - U @ sol[:q] - X @ sol[q:]
    pwrss = w @ res ** 2 + sol[:q] @ sol[:q]
    df = n - p if reml else n
    crit = np.linalg.slogdet(A)[1] - np.log(w).sum() + df * (1 + np.log(2 * np.pi * pwrss / df))
    return float(crit + (np.linalg.slogdet(M)[1] - np.linalg.slogdet(A)[1] if reml else 0.0))


@pytest.mark.parametrize("reml", [False, True])
def test_criterion_from_cross_products_matches_dense_rows(sleepstudy, reml):
    # the engine never revisits the rows after forming their products once: the criterion it
    # returns at arbitrary theta is the one computed from the rows directly
    rng = np.random.default_rng(5)
    w, off = rng.uniform(0.3, 3.0, len(sleepstudy)), rng.normal(0, 20, len(sleepstudy))
    design = model_design_for("Reaction ~ Days + (Days | Subject)", sleepstudy, Gaussian(), w, off, random=True)
    model = lmm_engine_model(design)
    for theta in (np.array([1.0, 0.0, 1.0]), np.array([0.9, -0.1, 0.3]), np.array([0.05, 0.2, 0.01])):
        assert model.deviance(theta, reml) == pytest.approx(_dense_criterion(design, theta, reml), rel=1e-11)


@pytest.mark.parametrize("reml", [False, True])
def test_criterion_unchanged_by_a_fixed_effects_fit_added_to_the_response(sleepstudy, reml):
    # y + X gamma has the same criterion (beta absorbs gamma): the products are of y less its
    # least-squares fit, so r^2 = y'Wy - ... does not cancel y's large mean and slope away
    shifted = sleepstudy.assign(Reaction=sleepstudy["Reaction"] + 1e7 + 3e5 * sleepstudy["Days"])
    formula = "Reaction ~ Days + (Days | Subject)"
    model = _model(formula, sleepstudy)
    moved = _model(formula, shifted)
    for theta in (np.array([1.0, 0.0, 1.0]), np.array([0.9, -0.1, 0.3])):
        assert moved.deviance(theta, reml) == pytest.approx(model.deviance(theta, reml), rel=1e-11)
        np.testing.assert_allclose(moved.gradient(reml), model.gradient(reml), rtol=1e-7, atol=1e-6)
        np.testing.assert_allclose(np.asarray(moved.beta) - [1e7, 3e5], model.beta, rtol=0, atol=1e-6)
