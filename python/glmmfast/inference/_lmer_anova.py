"""t and F tests of fixed effects after the fit: lmerTest's summary, anova and contest; car's Wald chi-square.

Holds the functions behind the result methods:

- :func:`coef_table` (LMM): Estimate, Std. Error, df, t value, Pr(>|t|) with
  Satterthwaite's df (:class:`~glmmfast.inference._satterthwaite.Satterthwaite`) or
  Kenward-Roger's adjusted standard errors and df
  (:class:`~glmmfast.inference._kenward_roger.KenwardRoger`), as lmerTest's summary;
- :func:`contest` (LMM): the same for a user's contrast matrix, one t test
  per row or one joint F test;
- :func:`lmer_anova` (LMM): lmerTest's type I/II/III F tests per term
  (hypotheses from :func:`~glmmfast.inference._term_contrasts.term_contrasts`);
- :func:`wald_anova` (GLMM): car::Anova's Wald chi-square tests, type 3 (each
  term's coefficients, the intercept included) or type 2, on the fit's vcov.

The Satterthwaite and Kenward-Roger objects are cached on the fit (one
Hessian, one adjusted covariance per fit).  Kenward-Roger needs a REML fit
(lmerTest refuses ML fits; so do we).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from .._arguments import check_choice
from .._errors import ArgumentError, ArgumentTypeError
from ._term_contrasts import term_contrasts

__all__ = ["coef_table", "contest", "lmer_anova", "wald_anova", "satterthwaite_of", "kenward_roger_of",
           "DDF_METHODS"]

DDF_METHODS = ("Satterthwaite", "Kenward-Roger")
_F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
_T_COLUMNS = pd.Index(["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"])  # built once: tables are made often


def _check_ddf(ddf: str) -> str:
    return check_choice("ddf", ddf, DDF_METHODS)


def _check_lmer(fit, what: str) -> None:
    from ..results._results import LmerResult
    if not isinstance(fit, LmerResult):
        raise ArgumentTypeError(f"{what} needs a linear mixed model fitted by glmmfast.lmer, not {type(fit).__name__}")


def satterthwaite_of(fit):
    """The fit's :class:`~glmmfast.inference._satterthwaite.Satterthwaite` (computed once, cached)."""
    from ._satterthwaite import Satterthwaite
    if getattr(fit, "_satterthwaite", None) is None:
        fit._satterthwaite = Satterthwaite(fit)
    return fit._satterthwaite


def kenward_roger_of(fit):
    """The fit's :class:`~glmmfast.inference._kenward_roger.KenwardRoger` (REML fits only; cached)."""
    from ._kenward_roger import KenwardRoger
    if not fit.reml:
        raise ArgumentError("Kenward-Roger's method is only available for REML model fits (refit with REML=True)")
    if getattr(fit, "_kenward_roger", None) is None:
        fit._kenward_roger = KenwardRoger(fit._design, fit.theta, fit.sigma)
    return fit._kenward_roger


def _as_contrast_matrix(L, names: list[str]) -> np.ndarray:
    p = len(names)
    if isinstance(L, pd.DataFrame):
        missing = [c for c in names if c not in L.columns]
        if missing or L.shape[1] != p:
            raise ArgumentError(f"contrast matrix columns must be the coefficients {names}")
        L = L[names].to_numpy(dtype=float)
    try:
        L = np.asarray(L, dtype=float)
    except (TypeError, ValueError) as e:
        raise ArgumentError(f"contrast matrix L must be numeric: {e}") from None
    if L.ndim == 1:
        L = L[None, :]
    if L.ndim != 2 or L.shape[1] != p:
        raise ArgumentError(f"contrast matrix L must have {p} columns (one per coefficient: {names}), "
                        f"got shape {L.shape}")
    if not np.all(np.isfinite(L)):
        raise ArgumentError("contrast matrix L has non-finite entries")
    return L


def _t_rows(fit, L: np.ndarray, ddf: str) -> pd.DataFrame:
    beta = fit.fixef.to_numpy()
    est = L @ beta
    if ddf == "Kenward-Roger":
        kr = kenward_roger_of(fit)
        se = np.sqrt(np.einsum("ij,jk,ik->i", L, kr.vcov_adjusted, L))
        df = np.array([kr.ddf(row) for row in L])
    else:
        sat = satterthwaite_of(fit)
        se = np.sqrt(np.einsum("ij,jk,ik->i", L, sat.vcov_beta, L))
        df = np.array([sat.t_df(row) for row in L])
    t = est / se
    p = 2 * special.stdtr(df, -np.abs(t))  # stats.t.sf without its argument checks
    return pd.DataFrame(np.column_stack([est, se, df, t, p]), columns=_T_COLUMNS)


def _with_messages(fit, table: pd.DataFrame, ddf: str) -> pd.DataFrame:
    """Attach lmerTest's warnings about the variance parameters' Hessian (``table.attrs["messages"]``)."""
    table.attrs["messages"] = list(satterthwaite_of(fit).messages) if ddf == "Satterthwaite" else []
    return table


def coef_table(fit, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """lmerTest's coefficient table (see :meth:`glmmfast.LmerResult.coef_table`)."""
    _check_lmer(fit, "coef_table")
    ddf = _check_ddf(ddf)
    out = _t_rows(fit, np.eye(fit.fixef.size), ddf)
    out.index = fit.fixef.index
    return _with_messages(fit, out, ddf)


def _f_row(fit, L: np.ndarray, ddf: str) -> list[float]:
    """lmerTest's contestMD row: Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F)."""
    beta = fit.fixef.to_numpy()
    if L.shape[0] == 0:
        return [np.nan] * 6
    if ddf == "Kenward-Roger":
        F_u, F, q, df2 = kenward_roger_of(fit).f_test(L, beta)
        ms = F_u * fit.sigma**2  # lmerTest's Mean Sq uses the unscaled F
    else:
        F, q, df2 = satterthwaite_of(fit).f_test(L, beta)
        ms = F * fit.sigma**2
    return [ms * q, ms, q, df2, F, stats.f.sf(F, q, df2)]


def contest(fit, L, ddf: str = "Satterthwaite", joint: bool = True) -> pd.DataFrame:
    """lmerTest's ``contest`` (see :meth:`glmmfast.LmerResult.contest`)."""
    _check_lmer(fit, "contest")
    ddf = _check_ddf(ddf)
    L = _as_contrast_matrix(L, list(fit.fixef.index))
    if not joint:
        return _with_messages(fit, _t_rows(fit, L, ddf), ddf)
    return _with_messages(fit, pd.DataFrame([_f_row(fit, L, ddf)], columns=_F_COLUMNS), ddf)


def _check_type(type) -> int:
    if hasattr(type, "loglik"):
        raise ArgumentError("fit.anova(type=...) tests the terms of one fit; to compare fits by "
                        "likelihood ratio use glmmfast.anova(fit1, fit2)")
    aliases = {1: 1, 2: 2, 3: 3, "1": 1, "2": 2, "3": 3, "I": 1, "II": 2, "III": 3}
    if isinstance(type, bool) or type not in aliases:
        raise ArgumentError(f"type must be 1, 2 or 3 (or 'I', 'II', 'III'), not {type!r}")
    return aliases[type]


def lmer_anova(fit, type=3, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """lmerTest's ``anova`` table (see :meth:`glmmfast.LmerResult.anova`)."""
    _check_lmer(fit, "anova")
    ddf = _check_ddf(ddf)
    kind = _check_type(type)
    Ls = term_contrasts(fit._design, kind)
    rows = [_f_row(fit, L, ddf) for L in Ls.values()]
    out = pd.DataFrame(rows, columns=_F_COLUMNS, index=pd.Index(list(Ls), dtype=object))
    out["NumDF"] = out["NumDF"].astype(float)
    roman = {1: "I", 2: "II", 3: "III"}[kind]
    out.attrs["heading"] = (f"Type {roman} Analysis of Variance Table with "
                            f"{'Satterthwaite' if ddf == 'Satterthwaite' else 'Kenward-Roger'}'s method")
    return _with_messages(fit, out, ddf)


def _car_relatives(ts, term: str) -> list[str]:
    """car's ``relatives``: the other terms whose variables include all of ``term``'s."""
    return [b for b in ts.labels if b != term and ts.variables[term] <= ts.variables[b]]


def _type2_hypothesis(ts, term: str, V: np.ndarray) -> np.ndarray:
    """car's ``Anova.II.default`` hypothesis matrix for ``term``: the span of the
    term's and its relatives' coefficients, conjugate (in the inner product V) to
    the relatives' coefficients alone (Georges Monette's ``ConjComp``)."""
    p = V.shape[0]
    rel = [j for b in _car_relatives(ts, term) for j in ts.columns[b]]
    both = rel + list(ts.columns[term])
    Z = np.eye(p)[:, both]
    if not rel:
        return Z.T
    M = Z.T @ V @ np.eye(p)[:, rel]                       # t(Z) ip X
    U, sv, _ = np.linalg.svd(M, full_matrices=True)
    rank = int(np.sum(sv > 1e-7 * max(sv[0], np.finfo(float).tiny))) if sv.size else 0
    return (Z @ U[:, rank:]).T                            # rows: Z times the complement of span(M)


def wald_anova(fit, type=3) -> pd.DataFrame:
    """car::Anova(type = 3 or 2) Wald chi-square tests for a GLMM (see :meth:`glmmfast.GlmerResult.anova`).

    Type III tests each term's coefficients (the intercept included) = 0.
    Type II (car's ``Anova.II.default``) tests each term after the terms not
    containing it and before those containing it (its "relatives"): the
    hypothesis is the part of the span of the term's and its relatives'
    coefficients conjugate, in the inner product vcov, to the relatives'
    coefficients; no intercept row.  Chisq = (L b)'(L V L')^{-1}(L b).
    """
    kind = _check_type(type)
    if kind == 1:
        raise ArgumentError("for glmer fits only types 2 and 3 Wald chi-square tests are available (as car::Anova)")
    from ._term_contrasts import TermStructure
    ts = TermStructure(fit._design)
    beta = fit.fixef.to_numpy()
    V = fit.vcov.to_numpy()
    if kind == 3:
        groups = ([("(Intercept)", np.eye(beta.size)[[0]])] if ts.intercept else []) + \
            [(lab, np.eye(beta.size)[ts.columns[lab]]) for lab in ts.labels if ts.columns[lab]]
    else:
        groups = [(lab, _type2_hypothesis(ts, lab, V)) for lab in ts.labels if ts.columns[lab]]
    rows, index = [], []
    for lab, L in groups:
        Lb = L @ beta
        chisq = float(Lb @ np.linalg.solve(L @ V @ L.T, Lb))
        rows.append([chisq, L.shape[0], stats.chi2.sf(chisq, L.shape[0])])
        index.append(lab)
    out = pd.DataFrame(rows, columns=["Chisq", "Df", "Pr(>Chisq)"], index=pd.Index(index, dtype=object))
    out.attrs["heading"] = f"Analysis of Deviance Table (Type {'III' if kind == 3 else 'II'} Wald chisquare tests)"
    return out
