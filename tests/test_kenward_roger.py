"""Kenward-Roger's adjusted covariance in q-space against pbkrtest's dense n x n formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.inference._kenward_roger import KenwardRoger
from glmmfast.design._re_terms import theta_blocks


def _pbkrtest_dense(m):
    """pbkrtest's vcovAdj_internal with Sigma = sum_r gamma_r G_r formed explicitly (the oracle)."""
    d = m._design
    X, Z, w = d.X, d.Z.toarray(), d.weights
    s = m.sigma**2
    G, gamma, start = [], [], 0
    for t, T in zip(d.terms, theta_blocks(d.terms, m.theta)):
        Sig = s * T @ T.T
        for j in range(t.k):
            for i in range(j, t.k):
                E = np.zeros((t.k, t.k))
                E[i, j] = E[j, i] = 1.0
                D = np.zeros((Z.shape[1], Z.shape[1]))
                D[start:start + t.k * t.nlevels, start:start + t.k * t.nlevels] = np.kron(np.eye(t.nlevels), E)
                G.append(Z @ D @ Z.T)
                gamma.append(Sig[i, j])
        start += t.k * t.nlevels
    G.append(np.diag(1 / w))
    gamma.append(s)
    Si = np.linalg.inv(sum(g * Gr for g, Gr in zip(gamma, G)))
    Phi = np.linalg.inv(X.T @ Si @ X)
    P = [-X.T @ Si @ Gr @ Si @ X for Gr in G]
    Q = [[X.T @ Si @ Gr @ Si @ Gs @ Si @ X for Gs in G] for Gr in G]
    ng = len(G)
    IE2 = np.array([[np.trace(G[r] @ Si @ G[t] @ Si) - 2 * np.sum(Phi * Q[r][t]) + np.trace(Phi @ P[r] @ Phi @ P[t])
                     for t in range(ng)] for r in range(ng)])
    W = 2 * np.linalg.inv(IE2)
    U = sum(W[r, t] * (Q[r][t] - P[r] @ Phi @ P[t]) for r in range(ng) for t in range(ng))
    return Phi, Phi + 2 * Phi @ U @ Phi, W


@pytest.mark.parametrize("weighted", [False, True])
def test_adjusted_covariance_matches_dense_formulas(weighted):
    rng = np.random.default_rng(5)
    n = 150
    df = pd.DataFrame({"g": rng.integers(0, 10, n).astype(str), "h": rng.integers(0, 6, n).astype(str),
                       "x": rng.normal(size=n), "f": rng.choice(["a", "b"], n)})
    df["y"] = (1 + df["x"] + rng.normal(size=10)[df["g"].astype(int)] * (1 + df["x"])
               + rng.normal(size=6)[df["h"].astype(int)] + rng.normal(size=n))
    w = rng.uniform(0.5, 2, n) if weighted else None
    m = glmmfast.lmer("y ~ x + f + (x | g) + (1 | h)", df, weights=w)
    Phi, PhiA, W = _pbkrtest_dense(m)
    kr = KenwardRoger(m._design, m.theta, m.sigma)
    np.testing.assert_allclose(kr.vcov, Phi, rtol=1e-8)
    np.testing.assert_allclose(kr.vcov_adjusted, PhiA, rtol=1e-7)
    np.testing.assert_allclose(kr.W, W, rtol=1e-7)


def test_adjustment_inflates_the_covariance(sleepstudy):
    m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    kr = KenwardRoger(m._design, m.theta, m.sigma)
    assert np.all(np.linalg.eigvalsh(kr.vcov_adjusted - kr.vcov) >= -1e-10)
    # a balanced design: pbkrtest's df are the between-subject 17
    assert kr.ddf([0, 1]) == pytest.approx(17, rel=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_one_term_path_equals_dense_path(sleepstudy, weighted):
    from glmmfast.inference._kenward_roger import _dense_pieces, _one_term_pieces
    w = 1 + (sleepstudy["Days"].to_numpy() % 3) / 2 if weighted else None
    m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy, weights=w)
    a = _dense_pieces(m._design, m.theta)
    b = _one_term_pieces(m._design, m.theta)
    np.testing.assert_allclose(b[0], a[0], rtol=1e-10)
    for x, y in zip(a[1], b[1]):
        np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-14)
    assert a[2].keys() == b[2].keys()
    for key in a[2]:
        np.testing.assert_allclose(b[2][key], a[2][key], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(b[3], a[3], rtol=1e-9)
