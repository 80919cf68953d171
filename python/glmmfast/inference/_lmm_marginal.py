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
once (O(n nnz(Z))); H comes from a sparse LU of I + Lambda'Z'WZ Lambda
(:func:`positive_definite_solver`) with q right-hand sides, the products with
S_Z use Z'WZ sparse, and V2 (below) is formed only where Kenward-Roger reads it
(its X columns, the level-diagonal blocks of its Z block): O(q^2 (p + k) + the
solve), O(q^2) memory.  :class:`TermLayout` holds where each term's effects
sit in b and dG/dtheta.

With a single random-effects term, Z'WZ and I + Lambda'Z'WZ Lambda are block
diagonal by level, and :class:`LevelwiseMarginal` does the same algebra level
by level in O(n + L k^3) (L levels, k columns).

Derivatives of G with respect to a parameter of term t are block diagonal,
I_{L_t} (x) d (d: k_t x k_t): :class:`KronBlock` holds one, and applies it to
the columns of a matrix without forming it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..design._re_terms import theta_blocks, theta_split

__all__ = ["one_blas_thread", "positive_definite_solver", "TermLayout", "MarginalCovariance", "LevelwiseMarginal",
           "KronBlock", "es", "trace_product"]


def es(*args):
    """einsum contracting pairwise through BLAS (numpy's default loops over all indices at once)."""
    return np.einsum(*args, optimize=True)


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


def one_blas_thread(enabled: bool = True):
    """A context running BLAS/LAPACK on one thread (threadpoolctl, where installed and ``enabled``).

    The q-space algebra of several terms is milliseconds to a few hundred of them of
    level-3 BLAS; OpenBLAS's threads, busy-waiting on a loaded machine, can make it seconds.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        enabled = False
    if not enabled:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def positive_definite_solver(B: sp.spmatrix):
    """B -> the solve with C = I + B (B sparse, symmetric positive semi-definite): a sparse LU in
    the given order without pivoting (C's eigenvalues are >= 1), single-threaded SuperLU.

    Z's column order (terms by decreasing number of levels, as lme4) keeps the fill small.
    """
    C = (sp.identity(B.shape[0], format="csc") + B).tocsc()
    return spla.splu(C, permc_spec="NATURAL", diag_pivot_thresh=0.0).solve


def trace_product(M1: np.ndarray, a: KronBlock, M2: np.ndarray, b: KronBlock) -> float:
    """tr(M1 D_a M2 D_b) for q x q matrices M1, M2 and block-diagonal D_a, D_b.

    M1 D_a has nonzero columns only in a's block and M2 D_b only in b's, so
    the trace is sum((M1 D_a)[b-rows, :] * (M2 D_b)[a-rows, :]').
    """
    A = a.right(M1)[b.start:b.stop]
    B = b.right(M2)[a.start:a.stop]
    return float(np.sum(A * B.T))


class TermLayout:
    """Where each random-effects term sits in b (Z's columns) and dG/dtheta, d^2 G/dtheta^2 as KronBlocks.

    Parameters
    ----------
    terms : list of ReTerm
        The design's random-effects terms, in Z's column order.
    """

    def __init__(self, terms):
        self.terms = terms

    def _read_design(self, design) -> tuple[np.ndarray, sp.csc_matrix, np.ndarray, np.ndarray]:
        """X, Z (CSC), prior weights w and y - offset of ``design``; sets n, p, q."""
        X = np.asarray(design.X, dtype=float)
        Z = design.Z.tocsc()
        w = np.asarray(design.weights, dtype=float)
        y = np.asarray(design.y, dtype=float) - np.asarray(design.offset, dtype=float)
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        return X, Z, w, y

    def _gls(self, M: np.ndarray, Xy: np.ndarray, yy: float) -> None:
        """From X'V0^{-1}X, X'V0^{-1}y and y'V0^{-1}y: M, its inverse, the GLS beta and the profiled rss."""
        self.M = M
        M_inv = np.linalg.inv(M)
        self.M_inv = 0.5 * (M_inv + M_inv.T)
        self.beta = self.M_inv @ Xy
        self.rss = float(yy - Xy @ self.beta)

    def lambda_matrix(self, theta: np.ndarray) -> np.ndarray:
        """Dense Lambda(theta) = blockdiag_t(I_{L_t} (x) T_t) in Z's column order."""
        blocks = [np.kron(np.eye(t.nlevels), T) for t, T in zip(self.terms, theta_blocks(self.terms, theta))]
        return sla.block_diag(*blocks) if blocks else np.zeros((0, 0))

    def sparse_lambda(self, theta: np.ndarray) -> sp.csc_matrix:
        """Lambda(theta) = blockdiag_t(I_{L_t} (x) T_t) as a sparse matrix in Z's column order."""
        blocks = [sp.kron(sp.identity(t.nlevels, format="csr"), sp.csr_matrix(T), format="csr")
                  for t, T in zip(self.terms, theta_blocks(self.terms, theta))]
        return sp.block_diag(blocks, format="csc")

    def term_starts(self) -> list[int]:
        starts, pos = [], 0
        for t in self.terms:
            starts.append(pos)
            pos += t.k * t.nlevels
        return starts

    def theta_derivatives(self, theta: np.ndarray) -> list[KronBlock]:
        """dG/dtheta_i = I (x) (dT_i T' + T dT_i') for each theta_i (dT_i: the structure's dT_t/dtheta_i)."""
        out = []
        for start, t, T, dT in zip(self.term_starts(), self.terms, theta_blocks(self.terms, theta),
                                   self.theta_units(theta)):
            out.extend(KronBlock(start, t.nlevels, d.d @ T.T + T @ d.d.T) for d in dT)
        return out

    def theta_units(self, theta: np.ndarray) -> list[list[KronBlock]]:
        """Per term, I (x) dT_i for each of its theta_i (for us: the unit matrix of theta_i's position in T_t)."""
        return [[KronBlock(start, t.nlevels, d) for d in t.structure.factor_derivatives(th)]
                for start, t, th in zip(self.term_starts(), self.terms, theta_split(self.terms, theta))]

    def theta_second_derivative(self, theta: np.ndarray, term: int, i: int, j: int) -> KronBlock:
        """d^2 G/dtheta_i dtheta_j for parameters i, j of one term:
        I (x) (dT_i dT_j' + dT_j dT_i' + T_ij T' + T T_ij'), T_ij = d^2 T/dtheta_i dtheta_j (0 for us)."""
        t = self.terms[term]
        th = theta_split(self.terms, theta)[term]
        dT = t.structure.factor_derivatives(th)
        d = dT[i] @ dT[j].T + dT[j] @ dT[i].T
        T2 = t.structure.factor_second_derivatives(th)
        if T2 is not None:
            T = t.structure.factor(th)
            d = d + T2[i, j] @ T.T + T @ T2[i, j].T
        return KronBlock(self.term_starts()[term], t.nlevels, d)

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



class MarginalCovariance(TermLayout):
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
        super().__init__(design.terms)
        X, Z, w, y = self._read_design(design)
        p, q = self.p, self.q
        # S = T'WT, T = [X Z y]: the only pass over the data.
        WX, Wy = X * w[:, None], w * y
        ZtW = (Z.T.multiply(w[None, :])).tocsr()
        S = np.empty((p + q + 1, p + q + 1))
        S[:p, :p] = X.T @ WX
        A = (ZtW @ Z).tocsc()
        S[p:p + q, p:p + q] = A.toarray()
        S[p:p + q, :p] = ZtW @ X
        S[:p, p:p + q] = S[p:p + q, :p].T
        S[:p, -1] = S[-1, :p] = X.T @ Wy
        S[p:p + q, -1] = S[-1, p:p + q] = ZtW @ y
        S[-1, -1] = y @ Wy
        self.S = S
        self.winv_trace = float(np.sum(1.0 / w))
        self._A = A
        Lam = self.sparse_lambda(theta)
        self.H = np.asarray(Lam @ positive_definite_solver(Lam.T @ A @ Lam)(Lam.T.toarray()))  # Lambda C^{-1} Lambda'
        self._SZH = self._z_columns_times(self.H)                        # S_Z H
        V1 = S - self._z_columns_times(self._SZH.T).T                   # T'V0^{-1}T (Woodbury)
        self.V1 = 0.5 * (V1 + V1.T)
        self._gls(self.V1[:p, :p], self.V1[:p, -1], self.V1[-1, -1])
        self.XVZ = self.V1[:p, p:p + q]
        self.ZVZ = self.V1[p:p + q, p:p + q]
        self.u = self.V1[p:p + q, -1] - self.XVZ.T @ self.beta
        self._V2 = None

    def _z_columns_times(self, B: np.ndarray) -> np.ndarray:
        """S_Z B for a matrix B with q rows (S_Z: the Z columns of S), the Z'WZ rows by the sparse A."""
        p, q = self.p, self.q
        out = np.empty((p + q + 1, B.shape[1]))
        out[:p] = self.S[:p, p:p + q] @ B
        out[p:p + q] = self._A @ B
        out[-1] = self.S[-1, p:p + q] @ B
        return out

    # -- the quadratic forms with V0^{-1} W^{-1} V0^{-1} ----------------------------
    @property
    def V2(self) -> np.ndarray:
        """T'V0^{-1}W^{-1}V0^{-1}T (O(q^3): Kenward-Roger reads :meth:`v2_x` and :meth:`trace_v2_zz`).

        With B = I - Z H Z'W, V0^{-1} = W B, so V0^{-1}W^{-1}V0^{-1} = B'WB and
        T'B'WBT = V1 - S_Z H V1_Z (V1_Z: the Z rows of V1).
        """
        if self._V2 is None:
            p, q = self.p, self.q
            V2 = self.V1 - self._SZH @ self.V1[p:p + q, :]
            self._V2 = 0.5 * (V2 + V2.T)
        return self._V2

    def v2_x(self) -> np.ndarray:
        """The X columns of :attr:`V2`, (p + q + 1) x p, in O(q^2 p)."""
        p, q = self.p, self.q
        left = self.V1[:, :p] - self._SZH @ self.V1[p:p + q, :p]           # V2 before symmetrising, X columns
        top = self.V1[:p, :] - self._SZH[:p] @ self.V1[p:p + q, :]         # and X rows
        return 0.5 * (left + top.T)

    def trace_v2_zz(self, d: KronBlock) -> float:
        """tr(V2_ZZ (I (x) d)) for symmetric d: only the level-diagonal blocks of V2_ZZ, O(q L k^2)."""
        p, q = self.p, self.q
        k, L = d.d.shape[0], d.nlevels
        rows = slice(p + d.start, p + d.stop)
        V1 = self.V1[rows, rows].reshape(L, k, L, k)
        diag = np.einsum("lalb->lab", V1) - es("lam,mlb->lab", self._SZH[rows].reshape(L, k, q),
                                                 self.V1[p:p + q, rows].reshape(q, L, k))
        return float(np.sum(diag.sum(axis=0) * d.d))

    def x_v3_x(self) -> np.ndarray:
        """X'V0^{-1}W^{-1}V0^{-1}W^{-1}V0^{-1}X = [T'B'WB B T]_XX = [V2 - V2_Z H S_Z']_XX."""
        p, q = self.p, self.q
        v2x = self.v2_x()
        V3 = v2x[:p] - v2x[p:p + q].T @ self._SZH[:p].T
        return 0.5 * (V3 + V3.T)

    def trace_winv_v0inv_squared(self) -> float:
        """tr((W^{-1}V0^{-1})^2) = n - 2 tr(HA) + tr(HAHA), A = Z'WZ (W^{-1}V0^{-1} = I - ZHZ'W)."""
        p, q = self.p, self.q
        HA = self._SZH[p:p + q].T                                      # H A = (A H)'
        return float(self.n - 2 * np.trace(HA) + np.sum(HA * HA.T))


class LevelwiseMarginal:
    """The q-space algebra of :class:`MarginalCovariance` for one random-effects term, level by level.

    With A_l = Z_l'W Z_l and H_l = T (I + T'A_l T)^{-1} T' (T: the term's
    relative covariance factor), H = blockdiag(H_l) and V0^{-1} = W - WZHZ'W.

    Attributes
    ----------
    k, L : int
        Columns and levels of the term.
    T : ndarray (k, k)
    A, H : ndarray (L, k, k)
    M, G : ndarray (p, p)
        X'V0^{-1}X and its inverse.
    beta : ndarray (p,)
    rss : float
        (y - X beta)'V0^{-1}(y - X beta).
    U : ndarray (L, p, k)
        X'V0^{-1}Z, level l's columns in U[l].
    u : ndarray (L, k)
        Z'V0^{-1}(y - X beta).
    B : ndarray (L, k, k)
        Z'V0^{-1}Z (block diagonal).
    """

    def __init__(self, design, theta: np.ndarray):
        t = design.terms[0]
        k, L = t.k, t.nlevels
        self.k, self.L, self.n = k, L, design.n
        X = np.asarray(design.X, dtype=float)
        w = np.asarray(design.weights, dtype=float)
        y = np.asarray(design.y, dtype=float) - np.asarray(design.offset, dtype=float)
        Zt, codes = np.asarray(t.X, dtype=float), t.codes
        p = X.shape[1]

        def by_level(v):  # per-level sums of a row quantity
            return np.bincount(codes, weights=v, minlength=L)

        wZ = Zt * w[:, None]
        A = np.stack([np.stack([by_level(wZ[:, a] * Zt[:, b]) for b in range(k)], -1) for a in range(k)], 1)
        SXZ = np.stack([np.stack([by_level(wZ[:, a] * X[:, j]) for a in range(k)], -1) for j in range(p)], 1)
        SyZ = np.stack([by_level(wZ[:, a] * y) for a in range(k)], -1)
        T = theta_blocks(design.terms, theta)[0]
        C = np.eye(k) + es("ba,lbc,cd->lad", T, A, T)
        H = es("ab,lbc,dc->lad", T, np.linalg.inv(C), T)                  # T C_l^{-1} T'
        SXZH = es("lpa,lab->lpb", SXZ, H)
        self.SXX = X.T @ (X * w[:, None])
        M = self.SXX - es("lpa,lqa->pq", SXZH, SXZ)
        XVy = X.T @ (w * y) - es("lpa,la->p", SXZH, SyZ)
        yVy = float(y @ (w * y) - es("la,lab,lb->", SyZ, H, SyZ))
        G = np.linalg.inv(M)
        self.G = 0.5 * (G + G.T)
        self.M = M
        self.beta = self.G @ XVy
        self.rss = yVy - XVy @ self.beta
        HA = es("lab,lbc->lac", H, A)
        self.U = SXZ - es("lpa,lab->lpb", SXZ, HA)
        self.u = SyZ - es("lab,lb->la", A, es("lab,lb->la", H, SyZ)) - es("lpa,p->la", self.U, self.beta)
        self.B = A - es("lab,lbc->lac", A, HA)
        self.T, self.A, self.H, self.HA, self.SXZ = T, A, H, HA, SXZ

    # -- the quadratic forms with V0^{-1} W^{-1} V0^{-1} (B = I - ZHZ'W, V0^{-1} = WB) -----
    def x_v2_x(self) -> np.ndarray:
        """X'V0^{-1}W^{-1}V0^{-1}X = (BX)'W(BX) = S_XX - 2 S_XZ H S_ZX + S_XZ H A H S_ZX."""
        h = es("lab,lpb->lap", self.H, self.SXZ)                            # H_l S_ZX,l
        V = self.SXX - 2 * es("lpa,laq->pq", self.SXZ, h) + es("lap,lab,lbq->pq", h, self.A, h)
        return 0.5 * (V + V.T)

    def z_v2_x(self) -> np.ndarray:
        """Z_l'V0^{-1}W^{-1}V0^{-1}X = (I - H_l A_l)'(S_ZX,l - A_l H_l S_ZX,l), shape (L, k, p)."""
        SZX = self.SXZ.transpose(0, 2, 1)
        inner = SZX - es("lab,lbp->lap", self.A, es("lab,lbp->lap", self.H, SZX))
        return es("lba,lbp->lap", np.eye(self.k) - self.HA, inner)

    def z_v2_z(self) -> np.ndarray:
        """Z_l'V0^{-1}W^{-1}V0^{-1}Z_l = (I - H_l A_l)' A_l (I - H_l A_l) (block diagonal), (L, k, k)."""
        IHA = np.eye(self.k) - self.HA
        return es("lba,lbc,lcd->lad", IHA, self.A, IHA)

    def x_v3_x(self) -> np.ndarray:
        """X'V0^{-1}W^{-1}V0^{-1}W^{-1}V0^{-1}X = (BX)'W(BBX), BX = X - Zh, BBX = X - Zg,
        h_l = H_l S_ZX,l, g_l = h_l + H_l (S_ZX,l - A_l h_l)."""
        SZX = self.SXZ.transpose(0, 2, 1)
        h = es("lab,lbp->lap", self.H, SZX)
        g = h + es("lab,lbp->lap", self.H, SZX - es("lab,lbp->lap", self.A, h))
        V = self.SXX - es("lpa,laq->pq", self.SXZ, g) - es("lap,laq->pq", h, SZX) + es("lap,lab,lbq->pq", h, self.A, g)
        return 0.5 * (V + V.T)

    def trace_winv_v0inv_squared(self) -> float:
        """tr((W^{-1}V0^{-1})^2) = n - 2 tr(HA) + tr(HAHA)."""
        return float(self.n - 2 * es("laa->", self.HA) + es("lab,lba->", self.HA, self.HA))
