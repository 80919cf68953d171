"""Satterthwaite's degrees of freedom for linear functions of an LMM's fixed effects (lmerTest).

Holds :class:`Satterthwaite`, built from a fitted :class:`~glmmfast.LmerResult`:
the covariance of the variance parameters phi = (theta, sigma) (lmerTest's
``vcov_varpar``: 2 H^{-1}, H the Hessian of the fit's criterion -- REML or
-2 log L, with beta profiled out -- in phi, inverted on its eigenvalues
above 1e-8 as lmerTest does) and the Jacobian of Cov(beta-hat) in phi
(lmerTest's ``Jac_list``), both analytic where lmerTest differentiates
numerically.  ``t_df(l)`` gives the df of l'beta (Satterthwaite 1946;
Kuznetsova, Brockhoff & Christensen 2017, eq. 7):

    nu = 2 (l'C l)^2 / (g' A g),  g_k = l' (dC/dphi_k) l,  A = vcov_varpar,

and ``f_test(L)`` lmerTest's multi-df F test (``contestMD``).

The derivatives (Searle, Casella & McCulloch 1992, ch. 6), with V = s V0,
s = sigma^2, dV0/dtheta_i = Z D_i Z', D_i = dG/dtheta_i (G = I (x) T T', T's
derivatives from the term's covariance structure), P0 the REML
projection, Q = Z'P0 Z (REML) or Z'V0^{-1}Z (ML), u = Z'P0 y, R = y'P0 y:
  d C / d theta_i = s M^{-1} X'V0^{-1} Z D_i Z'V0^{-1} X M^{-1},  d C / d sigma = 2 sigma M^{-1},
  H_ij = -tr(Q D_i Q D_j) + tr(Q D_ij) + (2 u'D_i Q_P D_j u - u'D_ij u) / s,
  H_i,sigma = 2 u'D_i u / sigma^3,  H_sigma,sigma = 6 R / sigma^4 - 2 m / sigma^2
(m = n - p for REML, n for ML; D_ij = d^2 G / dtheta_i dtheta_j).

Four ways to the same numbers: "engine" (the default): every piece from the
fit's engine (``LmmModel.variance_derivatives``, cpp/src/model/
lmm_variance_derivatives.cpp: exact, with the largest term level by level and
the others by Woodbury in their q2 dimensions, Z'V0^{-1}Z kept only on the sparse
pattern of Z'WZ: O(nnz(Z'WZ) k^2 + q2^3) per theta_i, no q x q2 dense matrix); "levelwise"
(one term only, O(n + L k^3) in numpy); "sparse": M^{-1}, the Jacobian and
u'D_i u from X'V0^{-1}Z by one sparse solve (:class:`SparseMarginal`), and the
theta-theta block of H from differences of the engine's exact gradient of the
profiled criterion (4 ntheta gradient evaluations, error ~1e-10 relative);
"dense": every trace above in (p + q)-space, O(q^3).  The last three are kept
as checks of the engine's.
"""

from __future__ import annotations

import functools

import numpy as np

from ..design._re_terms import theta_split
from ..fit._engine import lmm_engine_model
from ._lmm_marginal import KronBlock, LevelwiseMarginal, MarginalCovariance, es, one_blas_thread, trace_product
from ._lmm_sparse_marginal import SparseMarginal

__all__ = ["Satterthwaite", "f_test_df"]

_EIGEN_TOL = 1e-8  # lmerTest's tol for the Hessian's eigenvalues
_STEP = 1e-3       # relative step of the differences of the exact gradient (Richardson: h and h/2)


def _hessian_messages(evals: np.ndarray) -> list[str]:
    """lmerTest's warnings (as_lmerModLT) about the Hessian's eigenvalues."""
    out = []
    for sel, text in ((evals < -_EIGEN_TOL, "Model failed to converge with {n} negative {what}: {vals}"),
                      (np.abs(evals) <= _EIGEN_TOL, "Model may not have converged with {n} {what} close to zero: {vals}")):
        if sel.any():
            n = int(sel.sum())
            out.append(text.format(n=n, what="eigenvalues" if n > 1 else "eigenvalue",
                                   vals=" ".join(f"{v:.1e}" for v in evals[sel])))
    return out


def f_test_df(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: df of an F built from q t-statistics with df ``nu``.

    E = sum nu_m / (nu_m - 2); ddf = 2E / (E - q) (Fai & Cornelius 1996);
    2 when some nu_m <= 2; the mean when all nu_m agree.
    """
    nu = np.asarray(nu, dtype=float)
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - nu.size)


class Satterthwaite:
    """Satterthwaite df for an LMM fit (see the module docstring).

    Parameters
    ----------
    fit : LmerResult
    algebra : {"auto", "engine", "levelwise", "sparse", "dense"}
        How the pieces are computed: "engine" (exact, by the fit's engine from
        its factor), "levelwise" (one term only: level by level in numpy,
        O(n + L k^3)), "sparse" (the Jacobian from a sparse solve in q,
        the theta-theta Hessian from differences of the engine's exact
        gradient), "dense" (every piece analytic in dense (p + q)-space,
        O(q^3)).  "auto" is "engine".

    Attributes
    ----------
    vcov_beta : ndarray (p, p)
    vcov_varpar : ndarray (ntheta + 1, ntheta + 1)
        Asymptotic covariance of (theta, sigma).
    jacobian : ndarray (ntheta + 1, p, p)
        d Cov(beta-hat) / d phi_k.
    hessian_eigenvalues : ndarray
        Eigenvalues of the Hessian.
    messages : list of str
        lmerTest's warnings about negative eigenvalues and eigenvalues within
        1e-8 of zero (a singular fit: the df then rest on the other parameters).
    """

    def __init__(self, fit, algebra: str = "auto"):
        theta = np.asarray(fit.theta, dtype=float)
        sigma = float(fit.sigma)
        s = sigma**2
        design = fit._design
        if algebra == "auto":
            algebra = "engine"
        if algebra == "engine":
            M_inv, beta, rss, H_tt, uDu, inner = _engine_pieces(fit._engine(), design, theta, fit.reml, s)
        else:
            pieces = {"levelwise": _one_term_pieces, "dense": _dense_pieces,
                      "sparse": functools.partial(_sparse_pieces, engine=fit._model)}[algebra]
            with one_blas_thread(algebra != "levelwise"):
                M_inv, beta, rss, H_tt, uDu, inner = pieces(design, theta, fit.reml, s)
        nt = theta.size
        p, n = M_inv.shape[0], design.n
        H = np.zeros((nt + 1, nt + 1))
        H[:nt, :nt] = H_tt
        H[:nt, nt] = H[nt, :nt] = 2 * uDu / sigma**3
        m = n - p if fit.reml else n
        H[nt, nt] = 6 * rss / sigma**4 - 2 * m / s
        evals, evecs = np.linalg.eigh(H)
        self.hessian_eigenvalues = evals
        self.messages = _hessian_messages(evals)
        pos = evals > _EIGEN_TOL
        # Moore-Penrose inverse on the positive eigenvalues, as lmerTest.
        self.vcov_varpar = 2 * (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
        self.vcov_beta = s * M_inv
        jac = np.empty((nt + 1, p, p))
        for i in range(nt):
            jac[i] = s * M_inv @ inner[i] @ M_inv
        jac[nt] = 2 * sigma * M_inv
        self.jacobian = jac
        self.beta = beta

    def t_df(self, l: np.ndarray) -> float:
        """Satterthwaite df of l'beta-hat (lmerTest's ``contest1D``)."""
        l = np.asarray(l, dtype=float)
        var = float(l @ self.vcov_beta @ l)
        g = np.einsum("i,kij,j->k", l, self.jacobian, l)
        return 2 * var**2 / float(g @ self.vcov_varpar @ g)

    def f_test(self, L: np.ndarray, beta: np.ndarray, eps: float = np.sqrt(np.finfo(float).eps)) -> tuple:
        """lmerTest's ``contestMD``: (F, numerator df, denominator df) for H0: L beta = 0.

        Var(L beta) = P diag(d) P' is diagonalised; the F statistic is the mean
        of the q independent squared t statistics (P'L beta)_m^2 / d_m, each
        with its own Satterthwaite df, combined by :func:`f_test_df`.
        """
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if L.shape[0] == 1:
            t = float(L[0] @ beta) / np.sqrt(float(L[0] @ self.vcov_beta @ L[0]))
            return t * t, 1, self.t_df(L[0])
        d, P = np.linalg.eigh(L @ self.vcov_beta @ L.T)
        d, P = d[::-1], P[:, ::-1]  # decreasing, as R's eigen()
        pos = d > max(eps * d[0], 0.0)
        q = int(pos.sum())
        if q == 0:
            return np.nan, 0, np.nan
        PtL = (P.T @ L)[:q]
        if q == 1:
            t = float(PtL[0] @ beta) / np.sqrt(float(PtL[0] @ self.vcov_beta @ PtL[0]))
            return t * t, 1, self.t_df(PtL[0])
        t2 = (PtL @ beta) ** 2 / d[:q]
        nu = np.array([self.t_df(row) for row in PtL])
        return float(t2.sum() / q), q, f_test_df(nu)


def _apply(d: KronBlock, v: np.ndarray) -> np.ndarray:
    """(I (x) d) v as a q-vector (zero outside d's block)."""
    out = np.zeros_like(v)
    k = d.d.shape[0]
    out[d.start:d.stop] = (v[d.start:d.stop].reshape(d.nlevels, k) @ d.d.T).ravel()
    return out


def _dense_pieces(design, theta: np.ndarray, reml: bool, s: float):
    """M^{-1}, beta, R, the theta-theta Hessian block, u'D_i u and X'V0^{-1}Z D_i Z'V0^{-1}X, in dense q-space."""
    mc = MarginalCovariance(design, theta)
    D = mc.theta_derivatives(theta)
    # (term, parameter within the term) of each theta_i
    owner = [(term, i) for term, units in enumerate(mc.theta_units(theta)) for i in range(len(units))]
    nt = len(D)
    Q_P = mc.ZVZ - mc.XVZ.T @ mc.M_inv @ mc.XVZ
    Q = Q_P if reml else mc.ZVZ
    u = mc.u
    Du = [_apply(d, u) for d in D]  # D_i u
    H = np.zeros((nt, nt))
    for i in range(nt):
        for j in range(i, nt):
            h = -trace_product(Q, D[i], Q, D[j]) + 2 * (Du[i] @ Q_P @ Du[j]) / s
            if owner[i][0] == owner[j][0]:  # same term: D_ij = I (x) d^2 (T T')/dtheta_i dtheta_j
                dij = mc.theta_second_derivative(theta, owner[i][0], owner[i][1], owner[j][1])
                h += dij.trace_with(Q) - (u @ _apply(dij, u)) / s
            H[i, j] = H[j, i] = h
    uDu = np.array([u @ du for du in Du])
    inner = [d.right(mc.XVZ) @ mc.XVZ[:, d.start:d.stop].T for d in D]
    return mc.M_inv, mc.beta, mc.rss, H, uDu, inner


def _factor_second_derivatives(design, theta: np.ndarray) -> list[np.ndarray]:
    """d^2 T_t / dtheta_i dtheta_j of each term's structure as the engine takes them:
    ntheta^2 matrices, row-major over theta's indices (used within a term only), or
    none when every T_t is linear in theta."""
    parts = theta_split(design.terms, theta)
    blocks = [t.structure.factor_second_derivatives(th) for t, th in zip(design.terms, parts)]
    if all(b is None for b in blocks):
        return []
    nt = theta.size
    out = [np.zeros((1, 1))] * (nt * nt)
    start = 0
    for t, th, b in zip(design.terms, parts, blocks):
        for i in range(th.size):
            for j in range(th.size):
                out[(start + i) * nt + start + j] = np.zeros((t.k, t.k)) if b is None else np.asarray(b[i, j], dtype=float)
        start += th.size
    return out


def _engine_pieces(engine, design, theta: np.ndarray, reml: bool, s: float):
    """As :func:`_dense_pieces`, from the fit's engine at theta (``LmmModel.variance_derivatives``)."""
    if not np.array_equal(np.asarray(engine.theta, dtype=float), theta):
        engine.evaluate(theta)
    out = engine.variance_derivatives(reml, s, _factor_second_derivatives(design, theta))
    return (np.asarray(out["beta_unscaled_vcov"]), np.asarray(engine.beta, dtype=float), float(engine.pwrss),
            np.asarray(out["hessian"]), np.asarray(out["u_D_u"]), [np.asarray(m) for m in out["inner"]])


def _sparse_pieces(design, theta: np.ndarray, reml: bool, s: float, engine=None):
    """As :func:`_dense_pieces`, without q x q matrices (:class:`SparseMarginal`).

    The Jacobian needs X'V0^{-1}Z only: X'V0^{-1}Z D_i Z'V0^{-1}X costs O(q p^2)
    per theta_i.  The theta-theta Hessian of the unprofiled criterion
    d(theta, s) = l(theta) + m log s + R(theta)/s comes from the profiled one,
    d_p(theta) = l(theta) + m log(R(theta)/m) + m, whose exact gradient the
    engine gives: at s = R/m,

        d''(theta) = d_p''(theta) + m R' R'^T / R^2,   R'_i = -u'D_i u,

    and d_p'' is the central difference of the exact gradient, Richardson
    extrapolated over steps h and h/2 (4 gradient evaluations per theta_i,
    error O(h^4)).
    """
    sm = SparseMarginal(design, theta)
    D = sm.theta_derivatives(theta)
    u = sm.u
    uDu = np.array([u @ _apply(d, u) for d in D])
    m = sm.n - sm.p if reml else sm.n
    H = _profiled_hessian(design, theta, reml, engine) + m * np.outer(uDu, uDu) / sm.rss**2
    inner = [d.right(sm.XVZ) @ sm.XVZ[:, d.start:d.stop].T for d in D]
    return sm.M_inv, sm.beta, sm.rss, H, uDu, inner


def _profiled_hessian(design, theta: np.ndarray, reml: bool, engine=None) -> np.ndarray:
    """Hessian of the profiled criterion (REML or -2 log L) in theta, by Richardson-extrapolated
    central differences of the engine's exact gradient.

    ``engine`` is the fit's engine (left at theta again afterwards); None builds one.
    """
    model = lmm_engine_model(design) if engine is None else engine

    def grad(th: np.ndarray) -> np.ndarray:
        model.evaluate(th)
        return np.asarray(model.gradient(reml), dtype=float)

    nt = theta.size
    H = np.empty((nt, nt))
    for i in range(nt):
        h = _STEP * max(abs(theta[i]), 0.1)
        e = np.zeros(nt)
        e[i] = h
        wide = (grad(theta + e) - grad(theta - e)) / (2 * h)
        narrow = (grad(theta + e / 2) - grad(theta - e / 2)) / h
        H[i] = (4 * narrow - wide) / 3
    if engine is not None:
        engine.evaluate(theta)  # the fit's engine back at its optimum
    return 0.5 * (H + H.T)


def _one_term_pieces(design, theta: np.ndarray, reml: bool, s: float):
    """As :func:`_dense_pieces` for one term (L levels, k columns), level by level.

    With U = X'V0^{-1}Z and B_l = Z_l'V0^{-1}Z_l from
    :class:`~glmmfast.inference._lmm_marginal.LevelwiseMarginal` and G = M^{-1}, the
    REML Q = Z'P0 Z is blockdiag(B_l) - U'GU, so
    tr(Q D_i Q D_j) = sum_l tr(B_l d_i B_l d_j) - tr(G U D_j B D_i U') - tr(G U D_i B D_j U')
                      + tr(G U D_i U' G U D_j U').
    """
    lw = LevelwiseMarginal(design, theta)
    T = lw.T
    G, beta, rss, U, u, B = lw.G, lw.beta, lw.rss, lw.U, lw.u, lw.B
    structure = design.terms[0].structure
    E = structure.factor_derivatives(theta)                                   # (nt, k, k): dT/dtheta_i
    ds = E @ T.T + T @ E.transpose(0, 2, 1)                                   # d_i = E_i T' + T E_i'
    dd = es("iab,jcb->ijac", E, E)
    dd = dd + dd.transpose(1, 0, 2, 3)                                        # d_ij = E_i E_j' + E_j E_i'
    T2 = structure.factor_second_derivatives(theta)                           # None: T linear in theta
    if T2 is not None:
        curv = es("ijab,cb->ijac", T2, T)
        dd = dd + curv + curv.transpose(0, 1, 3, 2)                          # + T_ij T' + T T_ij'
    inner = es("lpa,iab,lqb->ipq", U, ds, U)                                 # U D_i U'
    Du = es("iab,lb->ila", ds, u)                                            # d_i u_l
    UDu = es("lpa,ila->ip", U, Du)
    Bd = es("lab,ibc->ilac", B, ds)                                          # B_l d_i
    t1 = es("ilab,jlba->ij", Bd, Bd)                                         # sum_l tr(B_l d_i B_l d_j)
    t3 = es("ila,lab,jlb->ij", Du, B, Du) - UDu @ G @ UDu.T                  # u'D_i Q_P D_j u
    Qd = B
    if reml:
        UdB = es("lpa,iab,lbc->ilpc", U, ds, B)                              # U_l d_i B_l
        cross = es("pq,jlqa,iab,lpb->ji", G, UdB, ds, U)                     # tr(G U D_j B D_i U')
        GW = G @ inner
        t1 += -cross - cross.T + es("ipq,jqp->ij", GW, GW)
        Qd = B - es("lpa,pq,lqb->lab", U, G, U)                              # diagonal blocks of Q_P
    t2 = es("lab,ijba->ij", Qd, dd)
    t4 = es("la,ijab,lb->ij", u, dd, u)
    H = -t1 + t2 + (2 * t3 - t4) / s
    uDu = es("la,ila->i", u, Du)
    return G, beta, rss, H, uDu, inner
