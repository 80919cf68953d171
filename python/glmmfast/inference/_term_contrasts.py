"""Hypothesis matrices for the terms of a fixed-effects design (lmerTest's type I, II and III contrasts).

Holds :func:`term_contrasts` (term label -> L, one row per tested
direction, columns the fitted coefficients) and the pieces it is built
from, following lmerTest's ``anova_contrasts.R`` and ``contrast_utils.R``:

- type 1 (sequential): rows of the transposed unit lower-triangular
  Doolittle factor of X'X for the term's columns (Goodnight 1979);
- type 2: terms contained in no other term are tested marginally (their
  coefficients = 0); the others by Doolittle after moving the term and the
  terms containing it to the end;
- type 3 (SAS-like, independent of coding): the full cell coding of each
  term (``model.matrix(~ 0 + term)``) regressed on X, then orthogonalised
  against the terms containing it, higher-order terms first.

Containment (lmerTest's ``term_contain``): F1 is contained in F2 when F2's
variables include all of F1's and more, with the same numeric variables.
"""

from __future__ import annotations

import numpy as np

from ..formula._model_frame import term_cell_matrix, term_columns, term_labels

__all__ = ["TermStructure", "term_contrasts", "doolittle_lower"]


class TermStructure:
    """Terms of a fitted design: labels, their kept columns of X, variables and containment."""

    def __init__(self, design):
        spec = design.x_spec
        self.spec = spec
        self.design = design
        self.x_names = list(design.x_names)
        self.labels = term_labels(spec)
        index = {name: j for j, name in enumerate(self.x_names)}
        self.columns = {lab: [index[c] for c in cols if c in index]
                        for lab, cols in zip(self.labels, term_columns(spec))}
        self.variables = {lab: {v for v, _ in term} for lab, term in zip(self.labels, spec.terms)}
        self.order = {lab: len(term) for lab, term in zip(self.labels, spec.terms)}
        numeric = {v for v, lv in enumerate(spec.levels) if lv is None}
        self.contained_in = {}
        for a in self.labels:
            va = self.variables[a]
            self.contained_in[a] = [b for b in self.labels
                                    if va <= self.variables[b] and len(self.variables[b] - va) > 0
                                    and (va & numeric) == (self.variables[b] & numeric)]
        self.intercept = bool(spec.intercept) and "(Intercept)" in index

    def col_terms(self) -> list[str]:
        """The term of each column of X ("(Intercept)" for the intercept)."""
        out = ["(Intercept)"] * len(self.x_names)
        for lab, cols in self.columns.items():
            for j in cols:
                out[j] = lab
        return out


def doolittle_lower(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Unit lower-triangular L of the Doolittle LU factorisation x = L U, as lmerTest's ``doolittle``.

    A pivot below ``eps`` zeroes its column of L (a column aliased with the
    ones before it); entries below ``eps`` are set to 0.
    """
    n = x.shape[0]
    L, U = np.eye(n), np.zeros((n, n))
    for i in range(n):
        U[i, :] = x[i, :] - L[i, :i] @ U[:i, :]
        if i + 1 < n:
            col = x[i + 1:, i] - L[i + 1:, :i] @ U[:i, i]
            L[i + 1:, i] = 0.0 if abs(U[i, i]) < eps else col / U[i, i]
    L[np.abs(L) < eps] = 0.0
    return L


def _zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest entry."""
    mx = np.max(np.abs(x)) if x.size else 0.0
    if mx > 0:
        return np.round(x, max(0, digits - int(np.ceil(np.log10(mx)))))
    return np.round(x, digits)


def _type1(ts: TermStructure, X: np.ndarray) -> dict[str, np.ndarray]:
    p = X.shape[1]
    Lt = np.ones((1, 1)) if p == 1 else doolittle_lower(X.T @ X).T
    return {lab: Lt[ts.columns[lab]] for lab in ts.labels}


def _marginal(ts: TermStructure, which: list[str]) -> dict[str, np.ndarray]:
    eye = np.eye(len(ts.x_names))
    return {lab: eye[ts.columns[lab]] for lab in which}


def _type2(ts: TermStructure, X: np.ndarray) -> dict[str, np.ndarray]:
    marginal = [lab for lab in ts.labels if not ts.contained_in[lab]]
    out = _marginal(ts, marginal)
    col_terms = np.array(ts.col_terms(), dtype=object)
    for lab in ts.labels:
        if lab in out:
            continue
        last = sorted(j for t in [lab] + ts.contained_in[lab] for j in ts.columns[t])
        first = [j for j in range(X.shape[1]) if j not in set(last)]
        perm = first + last
        Xn = X[:, perm]
        Lc = doolittle_lower(Xn.T @ Xn).T
        rows = Lc[col_terms[perm] == lab]
        L = np.zeros_like(rows)
        L[:, perm] = rows  # back to X's column order
        out[lab] = L
    return {lab: out[lab] for lab in ts.labels}


def _type3(ts: TermStructure, X: np.ndarray) -> dict[str, np.ndarray]:
    design = ts.design
    cells, names = [], []
    if ts.intercept:
        cells.append(np.ones((X.shape[0], 1)))
        names.append("(Intercept)")
    for j, lab in enumerate(ts.labels):
        cm = term_cell_matrix(ts.spec, j, design.x_frame)
        cells.append(cm.X)
        names.extend(cm.names)
    rdX = np.hstack(cells)
    # L[cell, x column]: the least-squares coefficients of each cell indicator on X.
    coef, *_ = np.linalg.lstsq(X, rdX, rcond=None)
    L = _zapsmall(coef.T)
    order = sorted(ts.labels, key=lambda lab: -ts.order[lab])  # R's order(decreasing = TRUE) is stable
    for lab in order:
        contains = ts.contained_in[lab]
        if contains:
            cx = [j for t in contains for j in ts.columns[t]]
            cy = ts.columns[lab]
            if cx and cy:
                A, B = L[:, cx], L[:, cy]
                b, *_ = np.linalg.lstsq(A, B, rcond=None)
                L[:, cy] = _zapsmall(B - A @ b)
    row_of = {nm: i for i, nm in enumerate(names)}
    Lx = L[[row_of[nm] for nm in ts.x_names]]  # rows matching X's columns by name
    out = {}
    for lab in ts.labels:
        M = Lx[:, ts.columns[lab]].T
        out[lab] = M[np.sum(np.abs(M), axis=1) > 1e-8]
    return out


def term_contrasts(design, type: int) -> dict[str, np.ndarray]:
    """lmerTest's hypothesis matrices of each term for an ANOVA of ``type`` (1, 2 or 3).

    Parameters
    ----------
    design : ModelDesign
    type : {1, 2, 3}

    Returns
    -------
    dict
        Term label -> L (rows: directions tested, columns: coefficients).
        A single-term or single-column design always gets type 1 (as lmerTest).
    """
    ts = TermStructure(design)
    X = np.asarray(design.X, dtype=float)
    if type == 1 or X.shape[1] <= 1 or len(ts.labels) <= 1:
        return _type1(ts, X)
    if type == 2:
        return _type2(ts, X)
    return _type3(ts, X)
