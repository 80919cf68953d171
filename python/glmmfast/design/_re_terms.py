"""Random-effects terms: one ``(lhs | group)`` bar evaluated on data.

Holds :class:`ReTerm` (the term's model matrix, grouping-factor codes and
levels) and the functions that turn a list of terms into what the engine
needs and back into what users read:

- :func:`build_re_terms` evaluates the parsed bars on a data frame and
  orders them as lme4 does (decreasing number of levels, ties in formula
  order);
- :func:`random_effects_matrix` assembles Z (n x q, as :class:`CscParts`,
  the engine's CSC arrays), ordered by term, then level, then the term's
  columns -- the order of u and b;
- :func:`theta_names`, :func:`group_labels` and :func:`varcorr_frame` give
  lme4's names (``LOCATION.1`` for a second term on the same factor) and
  ``as.data.frame(VarCorr(fit))``;
- :func:`theta_blocks`, :func:`sdcor_from_theta` and :func:`theta_from_sdcor`
  split theta by term and ask each term's covariance structure
  (:mod:`glmmfast.covariance`) for its factor and its printed parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _core
from .._errors import DataError, FormulaError
from ..covariance import STRUCTURES, CovarianceStructure, make_structure, parse_num_levels
from ..formula._formula import RandomTermSpec, expand_terms, parse_expression
from ..formula._model_frame import grouping_factor, model_design

__all__ = ["ReTerm", "build_re_terms", "CscParts", "random_effects_matrix", "theta_names", "group_labels", "varcorr_frame",
           "theta_blocks", "theta_split", "sdcor_names", "sdcor_labels", "sdcor_bounds", "sdcor_from_theta",
           "theta_from_sdcor"]


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
    lhs : str
        R text of the left-hand side.
    structure : CovarianceStructure
        The term's covariance structure (unstructured unless the formula
        says ``ar1(...)``, ``cs(...)``, ...).
    """

    group: str
    names: list[str]
    codes: np.ndarray
    levels: list[str]
    X: np.ndarray
    spec: object = field(repr=False, default=None)
    lhs: str = ""
    structure: CovarianceStructure | None = field(repr=False, default=None)

    def __post_init__(self):
        if self.structure is None:
            self.structure = make_structure("us", self.k)

    @property
    def nparams(self) -> int:
        """Number of covariance parameters (theta entries) of the term."""
        return self.structure.nparams

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
        names = list(design.names)
        terms.append(
            ReTerm(group=s.group, names=names, codes=codes, levels=levels,
                   X=np.asarray(design.X, dtype=float), spec=design.spec, lhs=s.lhs,
                   structure=_term_structure(s, names))
        )
    terms.sort(key=lambda t: -t.nlevels)  # list.sort is stable
    return terms


def _factor_levels(spec: RandomTermSpec, names: list[str]) -> list[str] | None:
    """Level labels of the one factor whose indicator columns make the term, or None."""
    terms = expand_terms(parse_expression(spec.lhs), spec.lhs)
    labels = terms.term_labels()
    if terms.intercept or len(labels) != 1:
        return None
    var = labels[0]
    if not all(n.startswith(var) and len(n) > len(var) for n in names):
        return None  # a numeric variable: one column named as the variable
    return [n[len(var):] for n in names]


def _term_structure(spec: RandomTermSpec, names: list[str]) -> CovarianceStructure:
    """The covariance structure the formula asks for, checked against the term's columns."""
    cls = STRUCTURES[spec.structure]
    where = f"{spec.structure}({spec.lhs} | {spec.group})"
    coords = None
    if cls.needs_factor:
        levels = _factor_levels(spec, names)
        if levels is None:
            raise FormulaError(f"{where} needs the indicator columns of one factor without intercept, e.g. "
                               f"{spec.structure}(0 + f | {spec.group}) with f a factor (columns here: "
                               f"{', '.join(names)})")
        if cls.needs_coordinates:
            coords = parse_num_levels(levels)
    return make_structure(spec.structure, len(names), coords)


class CscParts(NamedTuple):
    """A sparse matrix as its CSC parts, in the engine's types (``_core.CscMatrix(*parts)``)."""

    n_rows: int
    n_cols: int
    indptr: np.ndarray  # int32, n_cols + 1
    indices: np.ndarray  # int32: each entry's row
    data: np.ndarray  # float64

    def tocsc(self) -> sp.csc_matrix:
        """The scipy CSC matrix (sharing these arrays)."""
        return sp.csc_matrix((self.data, self.indices, self.indptr), shape=(self.n_rows, self.n_cols))

    def toarray(self) -> np.ndarray:
        """The dense matrix."""
        return self.tocsc().toarray()


def random_effects_matrix(terms: list[ReTerm], n: int) -> CscParts:
    """Z (n x q) as CSC parts: term t, level l, column j sits at column offset_t + l*k_t + j.

    The engine's counting sort (``_core.random_effects_csc``) puts every
    entry (i, j) of each term's model matrix in column offset + code_i * k + j,
    rows ascending within a column, exact zeros left out: linear in the
    entries, where numpy's sort of their column numbers and the row numbers'
    recovery (e mod n) cost ten times as much on 10^4 rows.  No scipy matrix
    (:meth:`CscParts.tocsc` makes one): its construction and format checks
    cost more than this whole function on a small model.
    """
    indptr, indices, data = _core.random_effects_csc(n, [t.codes for t in terms], [t.X for t in terms],
                                                     [t.nlevels for t in terms])
    return CscParts(n, len(indptr) - 1, indptr, indices, data)


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
    """lme4's theta names: ``grp.col`` on the diagonal, ``grp.row.col`` below it (for ``us``)."""
    return [n for t in terms for n in t.structure.theta_names(t.group, t.names)]


def theta_split(terms: list[ReTerm], theta: np.ndarray) -> list[np.ndarray]:
    """theta cut into each term's parameters."""
    theta = np.asarray(theta, dtype=float)
    bounds = np.cumsum([0] + [t.nparams for t in terms])
    return [theta[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def theta_blocks(terms: list[ReTerm], theta: np.ndarray) -> list[np.ndarray]:
    """The lower-triangular relative covariance factor T_t of each term."""
    return [t.structure.factor(th) for t, th in zip(terms, theta_split(terms, theta))]


def varcorr_frame(terms: list[ReTerm], theta: np.ndarray, sigma: float, residual: bool,
                  residual_sd: float | None = None) -> pd.DataFrame:
    """``as.data.frame(VarCorr(fit))``: variances, then covariances, per term.

    Sigma_t = sigma^2 T_t T_t'; ``sdcor`` is the standard deviation on
    variance rows and the correlation on covariance rows.  ``residual``
    adds the "Residual" row with SD ``residual_sd`` (default ``sigma``).
    A missing ``var1``/``var2`` is None (R's NA), never NaN.  ``attrs["compact"]``
    names the terms glmmTMB prints compactly (ar1, cs: one correlation).
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
    frame = pd.DataFrame({name: pd.Series(list(v), dtype=object if name in ("grp", "var1", "var2") else float)
                          for name, v in zip(["grp", "var1", "var2", "vcov", "sdcor"], cols)})
    # glmmTMB's compact print of ar1/cs terms: group -> (structure, correlation, one sd row)
    frame.attrs["compact"] = {label: (t.structure.name, rho, t.structure.print_one_sd)
                              for label, t, th in zip(group_labels(terms), terms, theta_split(terms, theta))
                              if (rho := t.structure.printed_correlation(th)) is not None}
    return frame


def sdcor_names(terms: list[ReTerm]) -> list[str]:
    """lme4's names for the variance parameters in ``confint``/``bootMer``: ``.sig01``, ``.sig02``, ..."""
    n = sum(t.nparams for t in terms)
    return [f".sig{i + 1:02d}" for i in range(n)]


def sdcor_from_theta(terms: list[ReTerm], theta: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """The parameters users read, in theta's positions (lme4's ``Cv_to_Sv`` for ``us``).

    For ``us``, diagonal positions of each T_t give the standard deviation of
    that column, positions below the diagonal the correlation; other
    structures give their standard deviations and their own parameters
    (rho, rate, range, shape).
    """
    return np.concatenate([np.zeros(0)] + [t.structure.sdcor(th, sigma)
                                           for t, th in zip(terms, theta_split(terms, theta))])


def sdcor_labels(terms: list[ReTerm]) -> list[str]:
    """Labels of :func:`sdcor_from_theta`'s entries: ``sd__x``, ``cor__x.y``, ``rho__ar1``, ..."""
    return [lab for t in terms for lab in t.structure.sdcor_labels(t.names)]


def sdcor_bounds(terms: list[ReTerm]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of :func:`sdcor_from_theta`'s entries."""
    bounds = [t.structure.sdcor_bounds() for t in terms]
    return (np.concatenate([np.zeros(0)] + [b[0] for b in bounds]),
            np.concatenate([np.zeros(0)] + [b[1] for b in bounds]))


def theta_from_sdcor(terms: list[ReTerm], sdcor: np.ndarray) -> np.ndarray | None:
    """Inverse of :func:`sdcor_from_theta` (sigma = 1); None where the values have no covariance."""
    out = []
    for t, values in zip(terms, theta_split(terms, sdcor)):
        th = t.structure.theta_from_sdcor(values)
        if th is None:
            return None
        out.append(th)
    return np.concatenate([np.zeros(0)] + out)
