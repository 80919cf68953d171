"""The fixed-effects side of an LMM's marginal covariance, with a sparse solve in the random effects.

Holds :class:`SparseMarginal`: for y = X beta + Z b + e, b ~ N(0, sigma^2 G),
G = Lambda Lambda', e ~ N(0, sigma^2 W^{-1}), V0 = W^{-1} + Z G Z', the
quantities of :class:`~glmmfast.inference._lmm_marginal.MarginalCovariance`
that involve X and y only -- X'V0^{-1}X, the GLS beta, the profiled residual
(y - X beta)'V0^{-1}(y - X beta), X'V0^{-1}Z and Z'V0^{-1}(y - X beta) --
without any q x q dense matrix.  With T = [X y], A = Z'WZ (sparse) and the
sparse C = I + Lambda'A Lambda, Woodbury's identity
V0^{-1} = W - W Z Lambda C^{-1} Lambda' Z'W gives, with R = C^{-1} Lambda' Z'WT
(one sparse LU in Z's column order, without pivoting, and p + 1 right-hand sides),

    T'V0^{-1}T = T'WT - (Z'WT)' Lambda R,     Z'V0^{-1}T = Z'WT - A Lambda R.

Cost: one pass over the data (O(n nnz(Z) + n p^2)) and a sparse factorisation of
C, whose fill is that of the engine's own factor; memory O(nnz + q p).
"""

from __future__ import annotations

import numpy as np

from ._lmm_marginal import TermLayout, positive_definite_solver

__all__ = ["SparseMarginal"]


class SparseMarginal(TermLayout):
    """X'V0^{-1}X, beta, the profiled residual, X'V0^{-1}Z and Z'V0^{-1}(y - X beta), sparse in q.

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
    M, M_inv : ndarray (p, p)
        X'V0^{-1}X and its inverse.
    beta : ndarray (p,)
        The GLS estimate at theta.
    XVZ : ndarray (p, q)
        X'V0^{-1}Z.
    u : ndarray (q,)
        Z'V0^{-1}(y - X beta) (= Z'P0 y).
    rss : float
        (y - X beta)'V0^{-1}(y - X beta) = y'P0 y.
    """

    def __init__(self, design, theta: np.ndarray):
        super().__init__(design.terms)
        X, Z, w, y = self._read_design(design)
        p = self.p
        T = np.column_stack([X, y])
        ZtW = (Z.T.multiply(w[None, :])).tocsr()
        S_TT = T.T @ (T * w[:, None])
        S_ZT = ZtW @ T                                               # Z'WT, q x (p + 1)
        A = (ZtW @ Z).tocsc()
        Lam = self.sparse_lambda(theta)
        R = positive_definite_solver(Lam.T @ A @ Lam)(np.asarray(Lam.T @ S_ZT))   # C^{-1} Lambda'Z'WT
        LR = Lam @ R
        V1 = S_TT - S_ZT.T @ LR                                       # T'V0^{-1}T
        V1 = 0.5 * (V1 + V1.T)
        ZVT = S_ZT - A @ LR                                           # Z'V0^{-1}T
        self._gls(V1[:p, :p], V1[:p, p], V1[p, p])
        self.XVZ = np.ascontiguousarray(ZVT[:, :p].T)
        self.u = ZVT[:, p] - ZVT[:, :p] @ self.beta
