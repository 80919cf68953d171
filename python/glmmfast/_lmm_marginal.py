"""The marginal covariance of a fitted linear mixed model, in the random effects' q-space.

Holds :class:`MarginalCovariance`: for y = X beta + Z b + e with
b ~ N(0, sigma^2 Lambda Lambda') and e ~ N(0, sigma^2 W^{-1}), the marginal
covariance is V = sigma^2 V0, V0 = W^{-1} + Z G Z', G = Lambda Lambda'.
Everything Satterthwaite's and Kenward-Roger's methods need (X'V0^{-1}X,
X'V0^{-1}Z, Z'V0^{-1}Z, the profiled residual, and the quadratic forms with
V0^{-1} W^{-1} V0^{-1}) is computed without forming an n x n matrix: with
T = [X Z y], S = T'WT and Woodbury's identity
V0^{-1} = W - W Z H Z'W,  H = Lambda (I + Lambda'Z'WZ Lambda)^{-1} Lambda',
T'V0^{-1}T = S - S_Z H S_Z' (S_Z: the Z columns of S).  The data are read
once (O(n nnz(Z))); the rest is dense algebra in p + q + 1 dimensions.

Derivatives of G with respect to a parameter of term t are block diagonal,
I_{L_t} (x) d (d: k_t x k_t): :class:`KronBlock` holds one, and applies it to
the columns of a matrix without forming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from ._re_terms import theta_blocks

__all__ = ["MarginalCovariance", "KronBlock"]


@dataclass(frozen=True)
class KronBlock:
    """I_L (x) d placed on the random effects of one term (columns ``start:start + L k``)."""

    start: int
    nlevels: int
    d: np.ndarray

    @property
    def stop(self) -> int:
        return self.start + self.nlevels * self.d.shape[0]

    def right(self, M: np.ndarray) -> np.ndarray:
        """M[:, block] (I (x) d): the only nonzero columns of M (I (x) d), shape (rows, L k)."""
        k = self.d.shape[0]
        sub = M[:, self.start:self.stop].reshape(M.shape[0], self.nlevels, k)
        return (sub @ self.d).reshape(M.shape[0], self.nlevels * k)

    def quad(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a' (I (x) d) b for matrices a, b with q rows: a[block]' (I (x) d) b[block]."""
        return self.right(np.atleast_2d(a.T)) @ b[self.start:self.stop]

    def trace_with(self, M: np.ndarray) -> float:
        """tr(M (I (x) d)) for a q x q matrix M."""
        k = self.d.shape[0]
        blocks = M[self.start:self.stop, self.start:self.stop].reshape(self.nlevels, k, self.nlevels, k)
        diag = np.einsum("lilj->ij", blocks)
        return float(np.sum(diag * self.d.T))


def trace_product(M1: np.ndarray, a: KronBlock, M2: np.ndarray, b: KronBlock) -> float:
    """tr(M1 D_a M2 D_b) for q x q matrices M1, M2 and block-diagonal D_a, D_b.

    M1 D_a has nonzero columns only in a's block and M2 D_b only in b's, so
    the trace is sum((M1 D_a)[b-rows, :] * (M2 D_b)[a-rows, :]').
    """
    A = a.right(M1)[b.start:b.stop]
    B = b.right(M2)[a.start:a.stop]
    return float(np.sum(A * B.T))


class MarginalCovariance:
    """q-space algebra of V0 = W^{-1} + Z Lambda Lambda' Z' for one fitted LMM.

    Parameters
    ----------
    design : ModelDesign
        The fit's design (X, Z, y, prior weights, offset, terms).
    theta : ndarray
        Relative covariance parameters at which V0 is taken.

    Attributes
    ----------
    p, q, n : int
        Fixed effects, random effects, observations.
    V1 : ndarray, shape (p + q + 1, p + q + 1)
        T'V0^{-1}T for T = [X Z y - offset].
    M, M_inv : ndarray (p, p)
        X'V0^{-1}X and its inverse (Cov(beta-hat) = sigma^2 M^{-1}).
    beta : ndarray (p,)
        The GLS estimate at theta.
    XVZ : ndarray (p, q)
        X'V0^{-1}Z.
    u : ndarray (q,)
        Z'V0^{-1}(y - X beta) (= Z'P0 y).
    rss : float
        (y - X beta)'V0^{-1}(y - X beta) = y'P0 y, the penalised weighted RSS.
    """

    def __init__(self, design, theta: np.ndarray):
        X = np.asarray(design.X, dtype=float)
        Z = design.Z.tocsc()
        w = np.asarray(design.weights, dtype=float)
        y = np.asarray(design.y, dtype=float) - np.asarray(design.offset, dtype=float)
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        p, q = self.p, self.q
        self.terms = design.terms
        # S = T'WT, T = [X Z y]: the only pass over the data.
        WX, Wy = X * w[:, None], w * y
        ZtW = (Z.T.multiply(w[None, :])).tocsr()
        S = np.empty((p + q + 1, p + q + 1))
        S[:p, :p] = X.T @ WX
        S[p:p + q, p:p + q] = (ZtW @ Z).toarray()
        S[p:p + q, :p] = ZtW @ X
        S[:p, p:p + q] = S[p:p + q, :p].T
        S[:p, -1] = S[-1, :p] = X.T @ Wy
        S[p:p + q, -1] = S[-1, p:p + q] = ZtW @ y
        S[-1, -1] = y @ Wy
        self.S = S
        self.winv_trace = float(np.sum(1.0 / w))
        Lam = self.lambda_matrix(theta)
        A = S[p:p + q, p:p + q]
        C = np.eye(q) + Lam.T @ A @ Lam
        cf = sla.cho_factor(C, lower=True)
        self.H = Lam @ sla.cho_solve(cf, Lam.T)          # Lambda C^{-1} Lambda'
        SZ = S[:, p:p + q]
        self._SZH = SZ @ self.H
        V1 = S - self._SZH @ SZ.T                          # T'V0^{-1}T (Woodbury)
        self.V1 = 0.5 * (V1 + V1.T)
        self.M = self.V1[:p, :p]
        self.M_inv = np.linalg.inv(self.M)
        self.M_inv = 0.5 * (self.M_inv + self.M_inv.T)
        self.beta = self.M_inv @ self.V1[:p, -1]
        self.XVZ = self.V1[:p, p:p + q]
        self.ZVZ = self.V1[p:p + q, p:p + q]
        self.u = self.V1[p:p + q, -1] - self.XVZ.T @ self.beta
        self.rss = float(self.V1[-1, -1] - self.V1[-1, :p] @ self.beta)
        self._V2 = None

    # -- structure ------------------------------------------------------------
    def lambda_matrix(self, theta: np.ndarray) -> np.ndarray:
        """Dense Lambda(theta) = blockdiag_t(I_{L_t} (x) T_t) in Z's column order."""
        blocks = [np.kron(np.eye(t.nlevels), T) for t, T in zip(self.terms, theta_blocks(self.terms, theta))]
        return sla.block_diag(*blocks) if blocks else np.zeros((0, 0))

    def term_starts(self) -> list[int]:
        starts, pos = [], 0
        for t in self.terms:
            starts.append(pos)
            pos += t.k * t.nlevels
        return starts

    def theta_derivatives(self, theta: np.ndarray) -> list[KronBlock]:
        """dG/dtheta_i = I (x) (E_i T' + T E_i') for each theta_i (E_i: its unit matrix in T_t)."""
        out = []
        for start, t, T in zip(self.term_starts(), self.terms, theta_blocks(self.terms, theta)):
            for j in range(t.k):
                for i in range(j, t.k):
                    E = np.zeros((t.k, t.k))
                    E[i, j] = 1.0
                    out.append(KronBlock(start, t.nlevels, E @ T.T + T @ E.T))
        return out

    def theta_units(self) -> list[KronBlock]:
        """I (x) E_i per theta_i (E_i: the unit matrix of theta_i's position in T_t)."""
        out = []
        for start, t in zip(self.term_starts(), self.terms):
            for j in range(t.k):
                for i in range(j, t.k):
                    E = np.zeros((t.k, t.k))
                    E[i, j] = 1.0
                    out.append(KronBlock(start, t.nlevels, E))
        return out

    def covariance_units(self) -> list[KronBlock]:
        """dG/dgamma for the covariance entries gamma of each Sigma_t (lower triangle,
        column-major, as pbkrtest's ggamma): I (x) (E_ij + E_ji) off the diagonal."""
        out = []
        for start, t in zip(self.term_starts(), self.terms):
            for j in range(t.k):
                for i in range(j, t.k):
                    E = np.zeros((t.k, t.k))
                    E[i, j] = E[j, i] = 1.0
                    out.append(KronBlock(start, t.nlevels, E))
        return out

    # -- the quadratic forms with V0^{-1} W^{-1} V0^{-1} ----------------------------
    @property
    def V2(self) -> np.ndarray:
        """T'V0^{-1}W^{-1}V0^{-1}T.

        With B = I - Z H Z'W, V0^{-1} = W B, so V0^{-1}W^{-1}V0^{-1} = B'WB and
        T'B'WBT = V1 - S_Z H V1_Z (V1_Z: the Z rows of V1).
        """
        if self._V2 is None:
            p, q = self.p, self.q
            V2 = self.V1 - self._SZH @ self.V1[p:p + q, :]
            self._V2 = 0.5 * (V2 + V2.T)
        return self._V2

    def x_v3_x(self) -> np.ndarray:
        """X'V0^{-1}W^{-1}V0^{-1}W^{-1}V0^{-1}X = [T'B'WB B T]_XX = [V2 - V2_Z H S_Z']_XX."""
        p, q = self.p, self.q
        V3 = self.V2[:p, :p] - self.V2[:p, p:p + q] @ self._SZH[:p].T
        return 0.5 * (V3 + V3.T)

    def trace_winv_v0inv_squared(self) -> float:
        """tr((W^{-1}V0^{-1})^2) = n - 2 tr(HA) + tr(HAHA), A = Z'WZ (W^{-1}V0^{-1} = I - ZHZ'W)."""
        p, q = self.p, self.q
        HA = self.H @ self.S[p:p + q, p:p + q]
        return float(self.n - 2 * np.trace(HA) + np.sum(HA * HA.T))
