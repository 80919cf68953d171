# Contrast matrices for factors, as R's contr.* functions make them.
#
# Interface
#   contrast_matrix(kind, levels) -> (C, suffixes)
#       kind: "contr.treatment" | "contr.sum" | "contr.helmert" | "contr.poly"
#       | "contr.SAS" | a matrix (nlevels x k, nested sequences or ndarray);
#       C is (nlevels, k); suffixes are R's column-name endings
#       (levels, "1".."k", ".L"/".Q"/".C"/"^4", ...).
#   default_contrast(ordered) -> str     R's options("contrasts"):
#       contr.treatment for factors, contr.poly for ordered factors.

from __future__ import annotations

import numpy as np

from .._errors import FormulaError

__all__ = ["CONTRAST_KINDS", "contrast_matrix", "default_contrast"]

CONTRAST_KINDS = ("contr.treatment", "contr.sum", "contr.helmert", "contr.poly", "contr.SAS")


def default_contrast(ordered: bool) -> str:
    """R's default ``options(contrasts = c("contr.treatment", "contr.poly"))``."""
    return "contr.poly" if ordered else "contr.treatment"


def _poly_names(k: int) -> list[str]:
    # R's contr.poly: .L .Q .C, then ^4, ^5, ...
    return [(".L", ".Q", ".C")[j] if j < 3 else f"^{j + 1}" for j in range(k)]


def _contr_poly(n: int) -> np.ndarray:
    """R's contr.poly(n) (make.poly): orthonormal polynomials in the scores
    1..n, from the QR of the centred powers, signed so that each column's
    leading power has a positive coefficient (Q * sign(diag R))."""
    scores = np.arange(1, n + 1, dtype=float)
    powers = np.vander(scores - scores.mean(), n, increasing=True)
    q, r = np.linalg.qr(powers)
    q = q * np.sign(np.diag(r))
    return q[:, 1:]


def contrast_matrix(kind, levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """The contrast matrix of a factor and R's column-name suffixes.

    Parameters
    ----------
    kind : str or array-like
        One of :data:`CONTRAST_KINDS`, or an ``(nlevels, k)`` matrix with
        ``1 <= k < nlevels`` (columns named ``1..k``, as R names a matrix
        without column names).
    levels : list of str
        The factor's levels (at least two).

    Returns
    -------
    C : ndarray, shape (nlevels, k)
    suffixes : list of str

    Raises
    ------
    FormulaError
        Unknown contrast name, or a matrix of the wrong shape or not finite.
    """
    n = len(levels)
    if isinstance(kind, str):
        if kind == "contr.treatment":
            return np.eye(n)[:, 1:], list(levels[1:])
        if kind == "contr.SAS":  # treatment contrasts with the last level as baseline
            return np.eye(n)[:, :-1], list(levels[:-1])
        if kind == "contr.sum":
            C = np.vstack([np.eye(n - 1), -np.ones(n - 1)])
            return C, [str(j + 1) for j in range(n - 1)]
        if kind == "contr.helmert":
            # column j (0-based) contrasts level j+1 with the mean of those before it
            C = np.zeros((n, n - 1))
            for j in range(n - 1):
                C[:j + 1, j] = -1.0
                C[j + 1, j] = j + 1.0
            return C, [str(j + 1) for j in range(n - 1)]
        if kind == "contr.poly":
            return _contr_poly(n), _poly_names(n - 1)
        raise FormulaError(f"unknown contrasts {kind!r}; supported: {', '.join(CONTRAST_KINDS)} or a matrix")
    try:
        C = np.asarray(kind, dtype=float)
    except (TypeError, ValueError):
        raise FormulaError(f"contrasts must be one of {', '.join(CONTRAST_KINDS)} or a numeric matrix, "
                           f"not {type(kind).__name__}") from None
    if C.ndim == 1:
        C = C[:, None]
    if C.ndim != 2 or C.shape[0] != n or not 1 <= C.shape[1] < n:
        raise FormulaError(f"a contrast matrix for a factor with {n} levels must have {n} rows and 1 to {n - 1} "
                           f"columns, not shape {C.shape}")
    if not np.all(np.isfinite(C)):
        raise FormulaError("contrast matrix has non-finite entries")
    return C, [str(j + 1) for j in range(C.shape[1])]
