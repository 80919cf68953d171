"""Kenward-Roger's adjusted covariance and degrees of freedom for a REML-fitted LMM (pbkrtest).

Holds :class:`KenwardRoger`, built from the fit's design and REML estimates:
``vcov_adjusted`` is pbkrtest's ``vcovAdj`` (Kenward & Roger 1997, eq. 5,
without the second-derivative term, which vanishes because V is linear in
the covariance parameters gamma = (the entries of each Sigma_t, sigma^2)),
``ddf(L, V0)`` pbkrtest's ``Lb_ddf`` and ``f_test(L, beta)`` its
``KRmodcomp`` F test (statistic, its scaling, numerator and denominator df).

With Sigma = sum_r gamma_r G_r, Phi = (X'Sigma^{-1}X)^{-1}:
  P_r = -X'Sigma^{-1}G_r Sigma^{-1}X,  Q_rs = X'Sigma^{-1}G_r Sigma^{-1}G_s Sigma^{-1}X,
  I_rs = tr(Sigma^{-1}G_r Sigma^{-1}G_s) - 2 tr(Phi Q_rs) + tr(Phi P_r Phi P_s),
  W = 2 I^{-1},  Phi_A = Phi + 2 Phi [sum_rs W_rs (Q_rs - P_r Phi P_s)] Phi.
All of them come from :class:`~glmmfast.inference._lmm_marginal.MarginalCovariance`
in q-space (pbkrtest forms the n x n Sigma^{-1}); with one term level by level.
With several terms tr(Sigma^{-1}G_r Sigma^{-1}G_s) needs every block of Z'V0^{-1}Z
between two terms, so that path stays dense in q (O(q^2) memory, a sparse
solve with q right-hand sides).
"""

from __future__ import annotations

import numpy as np

from .._errors import ArgumentError

from ._lmm_marginal import LevelwiseMarginal, MarginalCovariance, es, one_blas_thread, trace_product

__all__ = ["KenwardRoger"]


class KenwardRoger:
    """pbkrtest's Kenward-Roger quantities for a REML fit (see the module docstring).

    Parameters
    ----------
    design : ModelDesign
    theta : ndarray
        REML estimates of theta.
    sigma : float
        REML estimate of sigma.

    Attributes
    ----------
    vcov : ndarray (p, p)
        Phi, the REML covariance of beta-hat.
    vcov_adjusted : ndarray (p, p)
        Phi_A.
    P : list of ndarray
    W : ndarray
    """

    def __init__(self, design, theta: np.ndarray, sigma: float):
        structured = sorted({t.structure.name for t in design.terms} - {"us"})
        if structured:
            # pbkrtest's parameters are the entries of each unstructured Sigma_t
            raise ArgumentError(f"Kenward-Roger needs unstructured random-effects terms, not {', '.join(structured)}; "
                                "use ddf='Satterthwaite'")
        s = float(sigma) ** 2
        theta = np.asarray(theta, dtype=float)
        # One random-effects term: level by level; otherwise dense q-space.
        pieces = _one_term_pieces if len(design.terms) == 1 else _dense_pieces
        with one_blas_thread(pieces is _dense_pieces):
            M_inv, P, Q, K = pieces(design, theta)
        # Sigma^{-1} = V0^{-1}/s: P carries 1/s^2, Q 1/s^3, the traces 1/s^2.
        P = [Pr / s**2 for Pr in P]
        Q = {key: val / s**3 for key, val in Q.items()}
        K = K / s**2
        Phi = s * M_inv
        ng = len(P)
        p = Phi.shape[0]
        IE2 = np.zeros((ng, ng))
        for r in range(ng):
            PhiPr = Phi @ P[r]
            for t in range(r, ng):
                IE2[r, t] = IE2[t, r] = (K[r, t] - 2 * np.sum(Phi * Q[r, t])
                                         + np.sum(PhiPr * (P[t] @ Phi)))  # tr(Phi P_r Phi P_t)
        if np.min(np.abs(np.linalg.eigvalsh(IE2))) > 1e-10:
            W = 2 * np.linalg.inv(IE2)
        else:
            W = 2 * np.linalg.pinv(IE2)
        W = 0.5 * (W + W.T)
        U = np.zeros((p, p))
        for r in range(ng):
            for t in range(r, ng):
                term = W[r, t] * (Q[r, t] - P[r] @ Phi @ P[t])
                U += term if r == t else term + term.T
        self.vcov = Phi
        self.vcov_adjusted = Phi + 2 * Phi @ U @ Phi
        self.P, self.W = P, W

    def _a1_a2(self, L: np.ndarray, V0: np.ndarray) -> tuple[float, float]:
        Theta = L.T @ np.linalg.solve(L @ V0 @ L.T, L)
        TV = Theta @ V0
        u = [TV @ Pr @ V0 for Pr in self.P]
        A1 = A2 = 0.0
        ng = len(u)
        for i in range(ng):
            for j in range(i, ng):
                e = 1.0 if i == j else 2.0
                A1 += e * self.W[i, j] * np.trace(u[i]) * np.trace(u[j])
                A2 += e * self.W[i, j] * np.sum(u[i] * u[j].T)
        return A1, A2

    def _ddf_scaling(self, L: np.ndarray, V0: np.ndarray, q: int) -> tuple[float, float]:
        """pbkrtest's denominator df and F scaling for q restrictions (Kenward & Roger 1997, sec. 4)."""
        A1, A2 = self._a1_a2(L, V0)
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        c1 = g / (3 * q + 2 * (1 - g))
        c2 = (q - g) / (3 * q + 2 * (1 - g))
        c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
        v0, v1, v2 = 1 + c1 * B, 1 - c2 * B, 1 - c3 * B
        if abs(v0) < 1e-10:
            v0 = 0.0
        x = 1 - A2 / q
        ratio = 1.0 if (abs(x) < 1e-14 and abs(v1) < 1e-14) else x / v1
        rho = ratio**2 * v0 / (v2 * q)
        df2 = 4 + (q + 2) / (q * rho - 1)
        scaling = 1.0 if abs(df2 - 2) < 1e-2 else df2 * (1 - A2 / q) / (df2 - 2)
        return df2, scaling

    def ddf(self, L: np.ndarray, V0: np.ndarray | None = None) -> float:
        """pbkrtest's ``Lb_ddf``: the df for L beta (q = rows of L); V0 defaults to Phi."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        return self._ddf_scaling(L, self.vcov if V0 is None else V0, L.shape[0])[0]

    def f_test(self, L: np.ndarray, beta: np.ndarray) -> tuple[float, float, int, float]:
        """pbkrtest's ``KRmodcomp`` for H0: L beta = 0: (unscaled F, scaled F, ndf, ddf)."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        q = int(np.linalg.matrix_rank(L))
        df2, scaling = self._ddf_scaling(L, self.vcov, q)
        Lb = L @ beta
        F_u = float(Lb @ np.linalg.solve(L @ self.vcov_adjusted @ L.T, Lb)) / q
        return F_u, scaling * F_u, q, df2


def _dense_pieces(design, theta: np.ndarray):
    """M^{-1}, and P_r, Q_rs, tr(G_r V0^{-1} G_s V0^{-1}) with V0 for Sigma (unscaled), in dense q-space.

    G_r = Z (I (x) E_r) Z' for the random-effect covariances, G_last = W^{-1} for sigma^2.
    """
    mc = MarginalCovariance(design, theta)
    p, q = mc.p, mc.q
    E = mc.covariance_units()
    ng = len(E) + 1
    XVZ, ZVZ, v2x = mc.XVZ, mc.ZVZ, mc.v2_x()
    V2_ZX = v2x[p:p + q]
    P = [-(e.right(XVZ) @ XVZ[:, e.start:e.stop].T) for e in E] + [-v2x[:p]]
    Q, K = {}, np.zeros((ng, ng))
    for r, er in enumerate(E):
        left = er.right(XVZ)  # X'V0^{-1}Z (I (x) E_r), its block's columns
        mid = left @ ZVZ[er.start:er.stop, :]
        for t in range(r, len(E)):
            et = E[t]
            Q[r, t] = et.right(mid) @ XVZ.T[et.start:et.stop]
            K[r, t] = K[t, r] = trace_product(ZVZ, er, ZVZ, et)
        Q[r, ng - 1] = left @ V2_ZX[er.start:er.stop]
        K[r, ng - 1] = K[ng - 1, r] = mc.trace_v2_zz(er)
    Q[ng - 1, ng - 1] = mc.x_v3_x()
    K[ng - 1, ng - 1] = mc.trace_winv_v0inv_squared()
    return mc.M_inv, P, Q, K


def _one_term_pieces(design, theta: np.ndarray):
    """As :func:`_dense_pieces` for one term, level by level (:class:`LevelwiseMarginal`):
    U_l = X'V0^{-1}Z_l, B_l = Z_l'V0^{-1}Z_l, so P_r = -sum_l U_l E_r U_l',
    Q_rs = sum_l U_l E_r B_l E_s U_l', tr(G_r V0^{-1} G_s V0^{-1}) = sum_l tr(E_r B_l E_s B_l)."""
    lw = LevelwiseMarginal(design, theta)
    k = lw.k
    units = []
    for j in range(k):
        for i in range(j, k):
            E = np.zeros((k, k))
            E[i, j] = E[j, i] = 1.0
            units.append(E)
    E = np.array(units)
    nr = len(units)
    ng = nr + 1
    U, B = lw.U, lw.B
    UE = es("lpa,rab->rlpb", U, E)                                            # U_l E_r
    P = list(-es("rlpb,lqb->rpq", UE, U)) + [-lw.x_v2_x()]
    UEB = es("rlpa,lab->rlpb", UE, B)
    QRE = es("rlpa,tlqa->rtpq", UEB, UE)                                      # U_l E_r B_l E_t U_l'
    EB = es("rab,lbc->rlac", E, B)
    KRE = es("rlab,tlba->rt", EB, EB)
    Q_last = es("rlpa,laq->rpq", UE, lw.z_v2_x())                            # U_l E_r Z_l'V0^-1 W^-1 V0^-1 X
    Q = {(r, t): QRE[r, t] for r in range(nr) for t in range(r, nr)}
    for r in range(nr):
        Q[r, ng - 1] = Q_last[r]
    Q[ng - 1, ng - 1] = lw.x_v3_x()
    K = np.zeros((ng, ng))
    K[:nr, :nr] = KRE
    K[:nr, nr] = K[nr, :nr] = es("rab,lba->r", E, lw.z_v2_z())
    K[nr, nr] = lw.trace_winv_v0inv_squared()
    return lw.G, P, Q, K
