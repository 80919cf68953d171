"""PIRLS and the Laplace deviance in the engine.

With all variances zero (theta = 0) the GLMM is the GLM: PIRLS with beta
updated must reproduce the GLM's estimates and -2 log L.  At theta > 0 the
u-only PIRLS must reach the minimum of the penalised deviance, and the
Laplace deviance must equal its definition computed densely in numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import glmmfast
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import engine_model, glm_start, lmm_engine_model


@pytest.fixture(scope="module")
def m1_design(grouseticks):
    return model_design_for("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, glmmfast.families.Poisson(), random=True)


def test_zero_variance_pirls_is_the_glm(m1_design):
    m = engine_model(m1_design)
    glm = glm_start(m1_design)
    dev = m.deviance_profiled_beta(np.zeros(1))
    np.testing.assert_allclose(m.beta, glm["beta"], rtol=1e-7)
    ll = stats.poisson.logpmf(m1_design.y, glm["mu"]).sum()
    assert dev == pytest.approx(-2 * ll, rel=1e-10)


def test_zero_variance_binomial_pirls_is_the_glm(cbpp):
    d = model_design_for("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                         glmmfast.families.Binomial(), random=True)
    m = engine_model(d)
    glm = glm_start(d)
    dev = m.deviance_profiled_beta(np.zeros(1))
    np.testing.assert_allclose(m.beta, glm["beta"], rtol=1e-7)
    k, n = cbpp["incidence"].to_numpy(), cbpp["size"].to_numpy()
    assert dev == pytest.approx(-2 * stats.binom.logpmf(k, n, glm["mu"]).sum(), rel=1e-10)


def _dense_laplace(d, theta, beta, u):
    """-2 log L by the Laplace formula, computed densely from its definition."""
    Z = d.Z.toarray()
    lam = theta[0] * np.eye(Z.shape[1])
    eta = d.X @ beta + Z @ lam @ u
    mu = np.exp(eta)
    W = np.diag(mu)
    A = lam.T @ Z.T @ W @ Z @ lam + np.eye(Z.shape[1])
    ll = np.sum(d.y * eta - mu - special.gammaln(d.y + 1))
    return -2 * ll + u @ u + np.linalg.slogdet(A)[1], A, Z @ lam, mu


def test_u_only_pirls_reaches_the_mode_and_laplace_matches_dense(m1_design):
    d = m1_design
    m = engine_model(d)
    theta, beta = np.array([1.1]), np.array([0.6, 0.9, -1.4])
    dev = m.deviance_at(theta, beta)
    u = np.array(m.u)
    dense, A, U, mu = _dense_laplace(d, theta, beta, u)
    # Stationarity of the penalised deviance: U'(y - mu) - u = 0.
    np.testing.assert_allclose(U.T @ (d.y - mu) - u, 0, atol=1e-6)
    assert dev == pytest.approx(dense, rel=1e-12)


def test_deviance_is_reproducible_from_any_warm_start(m1_design):
    m = engine_model(m1_design)
    theta, beta = np.array([0.8]), np.array([0.5, 1.0, -1.0])
    first = m.deviance_at(theta, beta)
    m.deviance_at(np.array([2.5]), np.array([1.0, 0.0, 0.0]))
    assert m.deviance_at(theta, beta) == pytest.approx(first, abs=1e-9)


def test_pirls_failure_is_a_catchable_error(m1_design):
    m = engine_model(m1_design)
    from glmmfast import _core

    with pytest.raises(_core.PirlsError):
        m.deviance_at(np.array([1.0]), np.array([800.0, 0.0, 0.0]))


@pytest.mark.parametrize("formula", [
    "TICKS ~ YEAR + (1 | LOCATION)",  # a diagonal A: the diagonal factor against the blocked one
    "TICKS ~ YEAR + (YEAR | LOCATION)",
    "TICKS ~ YEAR + cHEIGHT + (1 | INDEX) + (1 | BROOD) + (1 | LOCATION)",
    "TICKS ~ YEAR + (1 | LOCATION) + (0 + YEAR | LOCATION)",
])
def test_blocked_and_sparse_factorizations_agree(grouseticks, formula):
    d = model_design_for(formula, grouseticks, glmmfast.families.Poisson(), random=True)
    sparse, blocked = engine_model(d, "sparse"), engine_model(d, "blocked")
    rng = np.random.default_rng(3)
    for _ in range(3):
        theta = np.abs(rng.normal(0.8, 0.3, len(sparse.initial_theta())))
        beta = np.array([0.4, 1.1, -0.9, -0.02][: d.X.shape[1]])
        assert sparse.deviance_at(theta, beta) == pytest.approx(blocked.deviance_at(theta, beta), rel=1e-12)
        assert sparse.deviance_profiled_beta(theta) == pytest.approx(blocked.deviance_profiled_beta(theta), rel=1e-12)
        np.testing.assert_allclose(sparse.beta, blocked.beta, rtol=1e-9)
        np.testing.assert_allclose(sparse.beta_unscaled_vcov(), blocked.beta_unscaled_vcov(), rtol=1e-9)
        for t in range(len(d.terms)):
            np.testing.assert_allclose(sparse.cond_var(t), blocked.cond_var(t), rtol=1e-8, atol=1e-14)
    with pytest.raises(ValueError, match="factorization"):
        engine_model(d, "dense")


@pytest.mark.parametrize("re_terms", ["(1 | BROOD) + (1 | LOCATION)", "(1 | LOCATION)"])
def test_sparse_factor_cond_var_is_the_dense_inverse_level_blocks(grouseticks, re_terms):
    """Var(b | y) / sigma^2 = Lambda A^{-1} Lambda' per level, A = Lambda'Z'Z Lambda + I: read off the
    sparse factor's selected inverse (conditional_variance.cpp; the diagonal factor's for one scalar
    term), against a dense inverse."""
    df = grouseticks.assign(lt=np.log1p(grouseticks["TICKS"]))
    d = model_design_for(f"lt ~ YEAR + {re_terms}", df, glmmfast.families.Gaussian(), random=True)
    model = lmm_engine_model(d)
    assert model.factorization == ("sparse" if len(d.terms) == 2 else "diagonal")
    theta = np.array([0.7, 0.4])[:len(d.terms)]
    model.evaluate(theta)
    lam = np.concatenate([np.full(t.nlevels, th) for t, th in zip(d.terms, theta)])
    U = d.Z.toarray() * lam
    inverse = np.linalg.inv(U.T @ U + np.eye(lam.size)) * np.outer(lam, lam)
    offset = 0
    for i, t in enumerate(d.terms):
        expected = np.diag(inverse)[offset:offset + t.nlevels]
        np.testing.assert_allclose(np.asarray(model.cond_var(i)).reshape(-1), expected, rtol=1e-10)
        offset += t.nlevels


def test_blocked_factor_with_a_sparse_schur_complement_agrees_with_sparse():
    # g2 levels are met by neighbouring g1 levels only, so the Schur
    # complement of the blocked factor (g2, g3: 260 rows) is banded: it is
    # factorised in a fill-reducing order, by panels.
    rng = np.random.default_rng(11)
    n, n1, n2 = 6000, 900, 250
    g1 = rng.integers(0, n1, n)
    g2 = (g1 * n2 // n1 + rng.integers(0, 4, n)) % n2
    g3 = rng.integers(0, 10, n)
    x = rng.standard_normal(n)
    eta = 0.3 + 0.2 * x + rng.normal(0, 0.5, n1)[g1] + rng.normal(0, 0.4, n2)[g2] + rng.normal(0, 0.2, 10)[g3]
    df = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g1": pd.Categorical(g1),
                       "g2": pd.Categorical(g2), "g3": pd.Categorical(g3)})
    d = model_design_for("y ~ x + (1 | g1) + (1 | g2) + (1 | g3)", df, glmmfast.families.Poisson(), random=True)
    sparse, blocked = engine_model(d, "sparse"), engine_model(d, "blocked")
    for theta in ([0.5, 0.4, 0.2], [1.3, 0.05, 0.9]):
        theta, beta = np.array(theta), np.array([0.3, 0.2])
        assert sparse.deviance_at(theta, beta) == pytest.approx(blocked.deviance_at(theta, beta), rel=1e-12)
        assert sparse.deviance_profiled_beta(theta) == pytest.approx(blocked.deviance_profiled_beta(theta), rel=1e-12)
        np.testing.assert_allclose(sparse.beta_unscaled_vcov(), blocked.beta_unscaled_vcov(), rtol=1e-9)
        for t in range(3):
            np.testing.assert_allclose(sparse.cond_var(t), blocked.cond_var(t), rtol=1e-8, atol=1e-14)


@pytest.fixture(scope="module")
def cbpp_probit_design(cbpp):
    return model_design_for("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                            glmmfast.families.Binomial(link="probit"), random=True)


def test_non_canonical_pirls_from_its_own_mode_takes_one_newton_step(cbpp_probit_design):
    """A non-canonical link's PIRLS starts with Newton steps (pirls_loop.hpp): from the mode one step,
    below rounding, confirms it (Fisher steps first took a Fisher step and then the Newton step)."""
    m = engine_model(cbpp_probit_design)
    theta, beta = np.array([0.6]), np.array([-1.2, -0.5, -0.6, -0.9])
    first = m.deviance_at(theta, beta)
    before = m.pirls_iterations
    assert m.deviance_at(theta, beta) == pytest.approx(first, abs=1e-10)
    assert m.pirls_iterations - before == 1


def test_non_canonical_deviance_is_reproducible_from_any_warm_start(cbpp_probit_design):
    """Newton steps from a far start (where they may not finish, and Fisher steps take over) reach the
    same mode as from a near one, and it is stationary: U' score(u) = u."""
    m = engine_model(cbpp_probit_design)
    theta, beta = np.array([0.6]), np.array([-1.2, -0.5, -0.6, -0.9])
    first = m.deviance_at(theta, beta)
    u_first = np.array(m.u)
    for far_theta, far_beta in [(3.0, [1.5, 0.0, 0.0, 0.0]), (0.05, [-4.0, 1.0, 1.0, 1.0])]:
        m.deviance_at(np.array([far_theta]), np.array(far_beta))
        assert m.deviance_at(theta, beta) == pytest.approx(first, abs=1e-9)
        np.testing.assert_allclose(m.u, u_first, atol=1e-9)
    d = cbpp_probit_design
    eta = d.X @ beta + d.Z.toarray() @ (theta[0] * u_first)
    mu = stats.norm.cdf(eta)
    k, n = d.y * d.weights, d.weights
    score = (k - n * mu) * stats.norm.pdf(eta) / (mu * (1 - mu))
    np.testing.assert_allclose(theta[0] * d.Z.T @ score, u_first, atol=1e-8)


def test_kernel_path_deviances_follow_the_point_and_the_response(m1_design):
    """A Poisson model sums its log-likelihood kernel once per point (GlmmModel::point_kernel): at the mode
    the Laplace deviance and the deviance residuals are those of the point PIRLS ended on, and after a new
    response they are a fresh model's at the same parameters (no kernel of the previous rows kept)."""
    d = m1_design
    theta, beta = np.array([1.28]), np.array([0.65, 0.94, -1.44])
    y2 = np.where(np.arange(d.y.size) % 5 == 0, d.y + 2, d.y).astype(float)

    def deviance_residuals(m, y):
        mu = np.exp(d.X @ beta + d.Z.toarray() @ (theta[0] * np.asarray(m.u)))
        return (2 * (np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0) - (y - mu))).sum()

    m = engine_model(d)
    for y in [np.asarray(d.y, dtype=float), y2]:
        m.set_response(y, np.ones(y.size))
        if y is y2:  # the previous mode's point, the new response's deviance
            assert m.sum_dev_resid() == pytest.approx(deviance_residuals(m, y), rel=1e-12)
        dev = m.deviance_at(theta, beta)
        assert dev == m.laplace_deviance()
        fresh = engine_model(d)
        fresh.set_response(y, np.ones(y.size))
        assert dev == pytest.approx(fresh.deviance_at(theta, beta), abs=1e-8)  # PIRLS from other starts
        assert m.sum_dev_resid() == pytest.approx(deviance_residuals(m, y), rel=1e-12)


@pytest.fixture(scope="module")
def zigenpois_design():
    from glmmfast.fit._zero_inflation import tmb_family, zero_inflation_design
    from test_zero_inflation import load

    data = load("Salamanders")
    family, _ = tmb_family("genpois")
    d = model_design_for("count ~ spp + mined + (1 | site)", data, family, random=True, zero_inflated=True)
    return zero_inflation_design(d, "~ spp + mined", data, None)


def test_general_path_deviance_is_the_one_summed_afresh_after_every_change(zigenpois_design):
    """On the general observation path PIRLS takes a point's penalised deviance and its next weights from
    one pass over the rows (GlmmModel::point_terms_): the Laplace deviance deviance_at returns is
    laplace_deviance() summed afresh, and after a change of phi, of the zero-inflation coefficients or of
    the response it is a fresh model's at the same parameters (nothing of the previous rows' terms kept)."""
    d = zigenpois_design
    theta = np.array([0.47])
    beta = np.array([-0.73, -1.58, 0.07, -0.93, 0.28, 0.41, -0.13, 1.55])
    bzi = np.array([0.9, 1.0, 0.3, 0.2, -0.5, -0.8, 0.4, -2.5])
    y2 = np.where(np.arange(d.y.size) % 7 == 0, d.y + 1, d.y)
    changes = [lambda m: m.set_shape("phi", 3.2), lambda m: m.set_beta_zi(bzi),
               lambda m: m.set_shape("phi", 1.7), lambda m: m.set_beta_zi(0.5 * bzi),
               lambda m: m.set_response(y2, np.ones(y2.size))]
    m = engine_model(d)
    for k, change in enumerate(changes):
        change(m)
        dev = m.deviance_at(theta, beta)
        assert dev == pytest.approx(m.laplace_deviance(), rel=1e-14)
        fresh = engine_model(d)
        for earlier in changes[: k + 1]:
            earlier(fresh)
        assert dev == pytest.approx(fresh.deviance_at(theta, beta), abs=1e-8)
