"""MarginalCovariance's q-space (Woodbury) algebra against dense n x n matrices."""

from __future__ import annotations

import numpy as np
import pytest

import glmmfast
from glmmfast.inference._lmm_marginal import MarginalCovariance, trace_product


@pytest.fixture(scope="module")
def weighted_crossed():
    rng = np.random.default_rng(3)
    import pandas as pd
    n = 120
    df = pd.DataFrame({"g": rng.integers(0, 8, n).astype(str), "h": rng.integers(0, 5, n).astype(str),
                       "x": rng.normal(size=n)})
    df["y"] = 1 + df["x"] + rng.normal(size=8)[df["g"].astype(int)] + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    return glmmfast.lmer("y ~ x + (x | g) + (1 | h)", df, weights=w)


def _dense(m):
    d = m._design
    X, Z, w = d.X, d.Z.toarray(), d.weights
    mc = MarginalCovariance(d, m.theta)
    Lam = mc.lambda_matrix(m.theta)
    V0 = np.diag(1 / w) + Z @ Lam @ Lam.T @ Z.T
    return mc, X, Z, np.linalg.inv(V0), np.diag(1 / w)


def test_quadratic_forms_match_dense(weighted_crossed):
    mc, X, Z, V0i, Winv = _dense(weighted_crossed)
    p = X.shape[1]
    np.testing.assert_allclose(mc.M, X.T @ V0i @ X, rtol=1e-10)
    np.testing.assert_allclose(mc.XVZ, X.T @ V0i @ Z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mc.ZVZ, Z.T @ V0i @ Z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mc.V2[:p, :p], X.T @ V0i @ Winv @ V0i @ X, rtol=1e-9)
    np.testing.assert_allclose(mc.x_v3_x(), X.T @ V0i @ Winv @ V0i @ Winv @ V0i @ X, rtol=1e-9)
    A = Winv @ V0i
    assert mc.trace_winv_v0inv_squared() == pytest.approx(np.trace(A @ A), rel=1e-10)
    np.testing.assert_allclose(mc.beta, weighted_crossed.fixef.to_numpy(), rtol=1e-6)


def test_kron_blocks_match_dense(weighted_crossed):
    mc, X, Z, V0i, _ = _dense(weighted_crossed)
    Q = mc.ZVZ
    blocks = mc.covariance_units() + mc.theta_derivatives(weighted_crossed.theta)
    dense = []
    for b in blocks:
        D = np.zeros((mc.q, mc.q))
        D[b.start:b.stop, b.start:b.stop] = np.kron(np.eye(b.nlevels), b.d)
        dense.append(D)
    for a, Da in zip(blocks, dense):
        assert a.trace_with(Q) == pytest.approx(np.trace(Q @ Da), rel=1e-10, abs=1e-14)
        for b, Db in zip(blocks, dense):
            assert trace_product(Q, a, Q, b) == pytest.approx(np.trace(Q @ Da @ Q @ Db), rel=1e-10, abs=1e-14)


def test_sparse_marginal_matches_dense(weighted_crossed):
    from glmmfast.inference._lmm_sparse_marginal import SparseMarginal
    mc, X, Z, V0i, _ = _dense(weighted_crossed)
    sm = SparseMarginal(weighted_crossed._design, weighted_crossed.theta)
    np.testing.assert_allclose(sm.M, mc.M, rtol=1e-10)
    np.testing.assert_allclose(sm.M_inv, mc.M_inv, rtol=1e-10)
    np.testing.assert_allclose(sm.beta, mc.beta, rtol=1e-10)
    np.testing.assert_allclose(sm.XVZ, mc.XVZ, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sm.u, mc.u, rtol=1e-9, atol=1e-12)
    assert sm.rss == pytest.approx(mc.rss, rel=1e-10)
    np.testing.assert_allclose(sm.sparse_lambda(weighted_crossed.theta).toarray(),
                               mc.lambda_matrix(weighted_crossed.theta), rtol=0, atol=0)


def test_v2_pieces_match_dense(weighted_crossed):
    mc, X, Z, V0i, Winv = _dense(weighted_crossed)
    T = np.column_stack([X, Z, np.zeros(X.shape[0])])
    V2 = T.T @ V0i @ Winv @ V0i @ T
    p, q = mc.p, mc.q
    np.testing.assert_allclose(mc.v2_x()[:p + q], V2[:p + q, :p], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mc.v2_x(), mc.V2[:, :p], rtol=1e-12, atol=1e-14)
    for b in mc.covariance_units():
        D = np.zeros((q, q))
        D[b.start:b.stop, b.start:b.stop] = np.kron(np.eye(b.nlevels), b.d)
        assert mc.trace_v2_zz(b) == pytest.approx(np.trace(V2[p:p + q, p:p + q] @ D), rel=1e-10)
