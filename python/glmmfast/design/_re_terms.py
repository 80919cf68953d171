"""Random-effects terms: one ``(lhs | group)`` bar evaluated on data.

Holds :class:`ReTerm` (the term's model matrix, grouping-factor codes and
levels) and the functions that turn a list of terms into what the engine
needs and back into what users read:

- :func:`build_re_terms` evaluates the parsed bars on a data frame and
  orders them as lme4 does (decreasing number of levels, ties in formula
  order);
- :func:`random_effects_matrix` assembles Z (sparse CSC, n x q), ordered by
  term, then level, then the term's columns -- the order of u and b;
- :func:`theta_names`, :func:`group_labels` and :func:`varcorr_frame` give
  lme4's names (``LOCATION.1`` for a second term on the same factor) and
  ``as.data.frame(VarCorr(fit))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._errors import DataError
from ..formula._formula import RandomTermSpec
from ..formula._model_frame import grouping_factor, model_design

__all__ = ["ReTerm", "build_re_terms", "random_effects_matrix", "theta_names", "group_labels", "varcorr_frame",
           "theta_blocks", "sdcor_names", "sdcor_from_theta", "theta_from_sdcor"]


@dataclass
class ReTerm:
    """One random-effects term ``(lhs | group)`` evaluated on data.

    Attributes
    ----------
    group : str
        The grouping factor as written (``"LOCATION"``, ``"b:a"``).
    names : list of str
        Column names of the term's model matrix (``"(Intercept)"``, ``"YEAR96"``).
    codes : ndarray of int
        Level index of each observation.
    levels : list of str
        Level labels, in order.
    X : ndarray, shape (n, k)
        The term's model matrix (the bar's left-hand side).
    spec : object
        Stored encoding of the left-hand side, for new data.
    """

    group: str
    names: list[str]
    codes: np.ndarray
    levels: list[str]
    X: np.ndarray
    spec: object = field(repr=False, default=None)
    lhs: str = ""

    @property
    def k(self) -> int:
        """Number of columns (coefficients per level)."""
        return len(self.names)

    @property
    def nlevels(self) -> int:
        """Number of levels of the grouping factor."""
        return len(self.levels)


def build_re_terms(specs: tuple[RandomTermSpec, ...] | list[RandomTermSpec], data: pd.DataFrame) -> list[ReTerm]:
    """Evaluate parsed bars on ``data`` and order them as lme4 does.

    Parameters
    ----------
    specs : sequence of RandomTermSpec
        The bars, in formula order.
    data : DataFrame
        Rows already restricted to complete cases.

    Returns
    -------
    list of ReTerm
        Sorted by decreasing number of levels, ties in formula order.
    """
    terms = []
    for s in specs:
        codes, levels = grouping_factor(s.group_expr, data)
        design = model_design(s.lhs_expr, data)
        if design.X.shape[1] == 0:
            raise DataError(f"random-effects term ({s.lhs} | {s.group}) has no columns")
        terms.append(
            ReTerm(group=s.group, names=list(design.names), codes=codes, levels=levels,
                   X=np.asarray(design.X, dtype=float), spec=design.spec, lhs=s.lhs)
        )
    order = sorted(range(len(terms)), key=lambda i: -terms[i].nlevels)  # sorted() is stable
    return [terms[i] for i in order]


def random_effects_matrix(terms: list[ReTerm], n: int) -> sp.csc_matrix:
    """Z (n x q, CSC): term t, level l, column j sits at offset_t + l*k_t + j.

    Built directly in CSC form (no COO round trip): entry (i, j) of a term's
    model matrix goes to column offset + code_i * k + j; a stable sort by
    column keeps the rows of each column in order.  Exact zeros are left out.
    """
    cols, rows, vals = [], [], []
    offset = 0
    for t in terms:
        c = offset + t.codes[:, None] * t.k + np.arange(t.k)[None, :]
        v = t.X
        keep = v != 0
        cols.append(c[keep])
        rows.append(np.broadcast_to(np.arange(n)[:, None], c.shape)[keep])
        vals.append(v[keep])
        offset += t.k * t.nlevels
    col = np.concatenate(cols)
    order = np.argsort(col, kind="stable")
    indptr = np.zeros(offset + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=offset), out=indptr[1:])
    return sp.csc_matrix((np.concatenate(vals)[order], np.concatenate(rows)[order].astype(np.int32),
                          indptr.astype(np.int32)), shape=(n, offset))


def group_labels(terms: list[ReTerm]) -> list[str]:
    """lme4's names for the terms: a repeated factor gets ``.1``, ``.2``, ..."""
    seen: dict[str, int] = {}
    out = []
    for t in terms:
        n = seen.get(t.group, 0)
        out.append(t.group if n == 0 else f"{t.group}.{n}")
        seen[t.group] = n + 1
    return out


def theta_names(terms: list[ReTerm]) -> list[str]:
    """lme4's theta names: ``grp.col`` on the diagonal, ``grp.row.col`` below it."""
    names = []
    for t in terms:
        for j in range(t.k):
            for i in range(j, t.k):
                names.append(f"{t.group}.{t.names[i]}" if i == j else f"{t.group}.{t.names[i]}.{t.names[j]}")
    return names


def theta_blocks(terms: list[ReTerm], theta: np.ndarray) -> list[np.ndarray]:
    """The lower-triangular relative covariance factor T_t of each term."""
    out, pos = [], 0
    for t in terms:
        T = np.zeros((t.k, t.k))
        for j in range(t.k):
            for i in range(j, t.k):
                T[i, j] = theta[pos]
                pos += 1
        out.append(T)
    return out


def varcorr_frame(terms: list[ReTerm], theta: np.ndarray, sigma: float, residual: bool,
                  residual_sd: float | None = None) -> pd.DataFrame:
    """``as.data.frame(VarCorr(fit))``: variances, then covariances, per term.

    Sigma_t = sigma^2 T_t T_t'; ``sdcor`` is the standard deviation on
    variance rows and the correlation on covariance rows.  ``residual``
    adds the "Residual" row with SD ``residual_sd`` (default ``sigma``).
    A missing ``var1``/``var2`` is None (R's NA), never NaN.
    """
    rows = []
    for label, t, T in zip(group_labels(terms), terms, theta_blocks(terms, theta)):
        S = sigma**2 * T @ T.T
        sd = np.sqrt(np.diag(S))
        for i in range(t.k):
            rows.append((label, t.names[i], None, S[i, i], sd[i]))
        for i in range(t.k):
            for j in range(i + 1, t.k):
                denom = sd[i] * sd[j]
                rows.append((label, t.names[i], t.names[j], S[i, j], S[i, j] / denom if denom > 0 else np.nan))
    if residual:
        sd = sigma if residual_sd is None else residual_sd
        rows.append(("Residual", None, None, sd**2, sd))
    cols = list(zip(*rows)) if rows else [()] * 5
    # object Series keep None (a DataFrame built from the tuples turns some into NaN)
    return pd.DataFrame({name: pd.Series(list(v), dtype=object if name in ("grp", "var1", "var2") else float)
                         for name, v in zip(["grp", "var1", "var2", "vcov", "sdcor"], cols)})


def sdcor_names(terms: list[ReTerm]) -> list[str]:
    """lme4's names for the variance parameters in ``confint``/``bootMer``: ``.sig01``, ``.sig02``, ..."""
    n = sum(t.k * (t.k + 1) // 2 for t in terms)
    return [f".sig{i + 1:02d}" for i in range(n)]


def sdcor_from_theta(terms: list[ReTerm], theta: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Standard deviations and correlations in theta's positions (lme4's ``Cv_to_Sv``).

    Diagonal positions of each T_t give the standard deviation of that
    column, positions below the diagonal the correlation.
    """
    out = []
    for t, T in zip(terms, theta_blocks(terms, theta)):
        S = sigma**2 * T @ T.T
        sd = np.sqrt(np.diag(S))
        for j in range(t.k):
            for i in range(j, t.k):
                if i == j:
                    out.append(sd[i])
                else:
                    d = sd[i] * sd[j]
                    out.append(S[i, j] / d if d > 0 else np.nan)
    return np.asarray(out, dtype=float)


def theta_from_sdcor(terms: list[ReTerm], sdcor: np.ndarray) -> np.ndarray | None:
    """Inverse of :func:`sdcor_from_theta` (sigma = 1): T_t = chol(D R D), lower triangular.

    A standard deviation of 0 gives a zero column (the Cholesky factor of a
    semi-definite matrix); returns None when the correlations do not form a
    positive semi-definite matrix.
    """
    out, pos = [], 0
    for t in terms:
        k = t.k
        S = np.zeros((k, k))
        for j in range(k):
            for i in range(j, k):
                S[i, j] = S[j, i] = sdcor[pos]
                pos += 1
        sd = np.diag(S).copy()
        if np.any(sd < 0) or np.any(np.abs(S[~np.eye(k, dtype=bool)]) > 1):
            return None
        C = S * np.outer(sd, sd)
        C[np.diag_indices(k)] = sd**2
        L = np.zeros((k, k))
        for j in range(k):
            d = C[j, j] - L[j, :j] @ L[j, :j]
            if d < -1e-10 * max(1.0, C[j, j]):
                return None
            if d <= 1e-14 * max(1.0, C[j, j]):
                continue  # semi-definite: a zero pivot leaves a zero column
            L[j, j] = np.sqrt(d)
            L[j + 1:, j] = (C[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
        for j in range(k):
            out.extend(L[j:, j])
    return np.asarray(out, dtype=float)
