"""R's model.matrix: a fixed-effects (or random-effects term's) design from a right-hand side and data.

Interface
---------
model_design(rhs, data, contrasts=None) -> Design
    The model matrix of a right-hand side without bars (a syntax tree, or R
    text which is parsed), R's column names and order, and the summed
    ``offset()`` terms.
apply_design(spec, data) -> Design
    The same encoding on new data (factor levels, contrasts and the stored
    parameters of scale/poly/ns/bs).
Design, DesignSpec
    The matrix with its names and offset; the picklable recipe to rebuild it.
term_labels(spec), term_columns(spec)   R's term.labels and each term's columns
term_cell_matrix(spec, term, data)      model.matrix(~ 0 + term) (type III tests)

The terms come from :func:`glmmfast.formula._formula.expand_terms` (R's
terms.formula); each variable is evaluated by the interpreter of _r_eval.
Coding follows R's model.matrix exactly: contrasts (treatment, or contr.poly
for ordered factors, unless given), a factor gets full dummy coding when the
term without it is not "contained" in an earlier term, and without an
intercept the first factor is fully dummy coded.  Rows are never dropped:
callers remove NA rows first and any NaN/inf left is a DataError.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from glmmfast._errors import DataError, FormulaError

from ._contrasts import contrast_matrix, default_contrast
from ._deparse import deparse
from ._formula import expand_terms, parse_expression, refuses_deep_nesting
from ._identity_memo import remembered
from ._nodes import Node
from ._r_eval import (Factor, MatrixValue, as_factor, complete_factor, drop_unused, evaluate, finite_numeric)

__all__ = ["Design", "DesignSpec", "model_design", "apply_design", "term_labels", "term_columns", "term_cell_matrix"]


@dataclass
class Design:
    """A fixed-effects model matrix.

    Attributes
    ----------
    X : numpy.ndarray
        float64, shape ``(n, p)``, Fortran order.
    names : list of str
        Column names as R's ``model.matrix`` gives them, e.g.
        ``"(Intercept)"``, ``"YEAR96"``, ``"sppPR:minedno"``, ``"I(age^2)"``.
    offset : numpy.ndarray or None
        Sum of all ``offset(...)`` terms, shape ``(n,)``; None if there are none.
    spec : DesignSpec
        Picklable recipe for :func:`apply_design`.
    """

    X: np.ndarray
    names: list[str]
    offset: np.ndarray | None
    spec: "DesignSpec"


@dataclass(frozen=True)
class DesignSpec:
    """Everything needed to rebuild a design on new data.

    Attributes
    ----------
    rhs : Node
        The right-hand side the design was built from.
    intercept : bool
        Whether column 0 is ``(Intercept)``.
    labels : tuple of str
        R text of each variable (its column-name stem).
    variables : tuple of Node
        Each variable's expression, evaluated again by :func:`apply_design`.
    levels : tuple of (tuple of str or None)
        Levels kept for each factor variable; None for numeric variables.
    terms : tuple of tuple of (int, int)
        Per term, ``(variable index, code)`` with code 1 = treatment
        contrasts, 2 = full dummy coding (ignored for numeric variables).
    offsets : tuple of Node
        The argument of each ``offset()`` term.
    names : tuple of str
        Column names.
    columns : tuple of (tuple of str or None)
        Column-name suffixes of each matrix-valued variable (``poly(x, 2)``:
        ``("1", "2")``); None for a vector.
    contrasts : tuple of (tuple or None)
        Per factor variable ``(C, suffixes)``: its contrast matrix as nested
        tuples (levels x columns) and R's column-name suffixes.
    transforms : tuple of (str, tuple)
        R text of each scale/poly/ns/bs call and the parameters computed on
        the fitting data (R's makepredictcall), reused on new data.
    """

    rhs: Node
    intercept: bool
    labels: tuple[str, ...]
    variables: tuple[Node, ...]
    levels: tuple[tuple[str, ...] | None, ...]
    terms: tuple[tuple[tuple[int, int], ...], ...]
    offsets: tuple[Node, ...]
    names: tuple[str, ...]
    columns: tuple[tuple[str, ...] | None, ...] = ()
    contrasts: tuple[tuple | None, ...] = ()
    transforms: tuple[tuple[str, tuple], ...] = ()



def _term_codes(terms: tuple[tuple[int, ...], ...], is_factor: list[bool],
                intercept: bool) -> list[list[tuple[int, int]]]:
    """R's TermCode: 1 = contrasts, 2 = full dummy coding, per term variable."""
    coded: list[list[tuple[int, int]]] = []
    for j, term in enumerate(terms):
        row = []
        for v in term:
            rest = set(term) - {v}
            # Contrasts when the term without v is empty (the intercept's
            # place) or contained in some earlier term.
            contained = not rest or any(rest <= set(terms[k]) for k in range(j))
            row.append((v, 1 if contained else 2))
        coded.append(row)
    if not intercept:
        # No intercept: the first factor in the first term holding a factor
        # spans the intercept's space, so it gets all its levels.
        for row in coded:
            for i, (v, _) in enumerate(row):
                if is_factor[v]:
                    row[i] = (v, 2)
                    break
            else:
                continue
            break
    return coded


def _build(spec: DesignSpec, values: list[np.ndarray | Factor],
           offset: np.ndarray | None, n: int) -> Design:
    columns: list[np.ndarray | float] = []  # a column's values (the intercept's: 1.0, broadcast into X)
    names: list[str] = []
    if spec.intercept:
        columns.append(1.0)
        names.append("(Intercept)")
    for term in spec.terms:
        # A term's columns: products of its variables' columns (None: no variable multiplied in yet).
        cols: list[tuple[list[str], np.ndarray | None]] = [([], None)]
        for v, code in term:
            value = values[v]
            label = spec.labels[v]
            if isinstance(value, Factor):
                levels = spec.levels[v]
                assert levels is not None
                if code == 2:  # all levels' indicators (R's contrasts = FALSE)
                    coding, suffixes = np.eye(len(levels)), list(levels)
                else:
                    C, suffixes = spec.contrasts[v]
                    coding = np.asarray(C, dtype=float)
                mat = coding[value.codes]
            elif isinstance(value, MatrixValue):
                mat, suffixes = value.values, value.suffixes
            else:
                mat, suffixes = value[:, None], [""]
            # The earlier variable varies fastest, as in R.
            cols = [(parts + [label + suffixes[k]], mat[:, k] if col is None else col * mat[:, k])
                    for k in range(len(suffixes)) for parts, col in cols]
        for parts, col in cols:
            names.append(":".join(parts))
            columns.append(col)
    X = np.empty((n, len(columns)), dtype=np.float64, order="F")
    for i, col in enumerate(columns):
        X[:, i] = col
    return Design(X=X, names=names, offset=offset, spec=spec)


def _offset_sum(offsets: tuple[Node, ...], data: pd.DataFrame, transforms: dict) -> np.ndarray | None:
    if not offsets:
        return None
    n = len(data)
    total = np.zeros(n)
    for node in offsets:
        term = f"offset({deparse(node)})"
        total += finite_numeric(evaluate(node, data, term, transforms), n, term)
    return total


def _check_contrasts(contrasts, labels: tuple[str, ...], levels: list) -> dict:
    """The ``contrasts=`` argument: a dict from factor variables of the formula to a contrast name or matrix."""
    if contrasts is None:
        return {}
    if not isinstance(contrasts, dict):
        raise FormulaError(f"contrasts must be a dict such as {{'f': 'contr.sum'}}, not {type(contrasts).__name__}")
    factors = [lab for lab, lv in zip(labels, levels) if lv is not None]
    for key in contrasts:
        if key not in factors:
            raise FormulaError(f"contrasts given for {key!r}, which is not a factor of the fixed-effects formula "
                               f"(factors: {factors})")
    return contrasts


@refuses_deep_nesting
def model_design(rhs: Node | str, data: pd.DataFrame, contrasts: dict | None = None) -> Design:
    """Build the fixed-effects model matrix for an R right-hand side.

    Parameters
    ----------
    rhs : Node or str
        A right-hand side without bars (``ParsedFormula.fixed_expr``), or its
        R text, e.g. ``"YEAR + cHEIGHT + offset(log(n))"``, ``"0 + YEAR"``,
        ``"1"``, ``"x*f + I(x^2)"``.
    data : pandas.DataFrame
        Rows already free of missing values in the variables used; it is
        not modified.
    contrasts : dict, optional
        R's ``contrasts.arg``: factor variable -> ``"contr.treatment"``,
        ``"contr.sum"``, ``"contr.helmert"``, ``"contr.poly"``,
        ``"contr.SAS"`` or an ``(nlevels, k)`` matrix.  Other factors get
        treatment contrasts, ordered ones ``contr.poly``.

    Returns
    -------
    Design
        One row per row of ``data``, in order, with R's column names and
        order (intercept, then terms by degree).

    Raises
    ------
    FormulaError
        Bad syntax, a bar, an unsupported function, bad contrasts.
    DataError
        Unknown column, non-finite value, single-level factor that needs
        contrasts.
    """
    text = rhs if isinstance(rhs, str) else None
    if text is not None:
        rhs = parse_expression(text)
    # A tree (a parsed formula's part, the same object every fit of that formula): its terms remembered.
    terms = expand_terms(rhs, text) if text is not None else remembered(rhs, expand_terms)
    n = len(data)
    values: list[np.ndarray | Factor | MatrixValue] = []
    levels: list[tuple[str, ...] | None] = []
    transforms: dict = {}
    for node, label in zip(terms.variables, terms.labels):
        value = evaluate(node, data, label, transforms)
        if isinstance(value, MatrixValue):
            if not np.all(np.isfinite(value.values)):
                raise DataError(f"formula term {label!r} has non-finite values")
            values.append(value)
            levels.append(None)
        elif isinstance(value, (Factor, str)) or (
                isinstance(value, np.ndarray) and value.dtype == bool) or isinstance(value, bool):
            # Logical and character variables are factors in model.matrix;
            # unused levels are dropped as lme4's model frame does.
            f = drop_unused(complete_factor(as_factor(value, n), label))
            values.append(f)
            levels.append(tuple(f.levels))
        else:
            values.append(finite_numeric(value, n, label))
            levels.append(None)
    columns = tuple(tuple(v.suffixes) if isinstance(v, MatrixValue) else None for v in values)
    # The coding depends on the terms and on what each variable is (levels, ordered, matrix columns) only:
    # a formula fitted again on data of the same kinds reuses its spec (frozen: no caller can alter it).
    key = None
    spec = None
    if contrasts is None and text is None:
        key = (id(terms), tuple(levels), tuple(v.ordered if isinstance(v, Factor) else None for v in values), columns)
        hit = _SPECS.get(key)
        if hit is not None and hit[0] is terms:  # the entry holds its Terms alive: their id is not reused
            spec = hit[1]
    known = spec is not None
    if not known:
        given = _check_contrasts(contrasts, terms.labels, levels)
        spec = _coded_spec(rhs, terms, values, levels, columns, given)
    offset = _offset_sum(spec.offsets, data, transforms)
    design = _build(spec, values, offset, n)
    if not known:
        spec = dataclasses.replace(spec, names=tuple(design.names))
        if key is not None:
            if len(_SPECS) >= _SPECS_MAX:
                _SPECS.clear()
            _SPECS[key] = (terms, spec)
    design.spec = dataclasses.replace(spec, transforms=tuple(transforms.items())) if transforms else spec
    return design


#: (id of a Terms, levels, ordered flags, matrix columns) -> (that Terms, its DesignSpec without transforms)
_SPECS: dict[tuple, tuple] = {}
_SPECS_MAX = 256  # emptied when full: the formulas in use come back at once


def _coded_spec(rhs: Node, terms, values: list, levels: list, columns: tuple, given: dict) -> DesignSpec:
    """The DesignSpec (no names, no transforms) of ``terms`` for variables of these kinds: R's term codes and
    each factor's contrasts (``given`` for those named); a factor needing contrasts with one level is refused."""
    codes = _term_codes(terms.terms, [lv is not None for lv in levels], terms.intercept)
    coding: list[tuple | None] = [None] * len(levels)
    for row in codes:
        for v, code in row:
            lv = levels[v]
            if lv is not None and code == 1 and len(lv) < 2:
                raise DataError(f"factor {terms.labels[v]!r} has only one level "
                                f"({lv[0] if lv else 'none'}); contrasts need at least two")
            if lv is not None and code == 1 and coding[v] is None:
                value = values[v]
                assert isinstance(value, Factor)
                kind = given.get(terms.labels[v], default_contrast(value.ordered))
                C, suffixes = contrast_matrix(kind, list(lv))
                coding[v] = (tuple(map(tuple, C.tolist())), tuple(suffixes))
    return DesignSpec(
        rhs=rhs,
        intercept=terms.intercept,
        labels=terms.labels,
        variables=terms.variables,
        levels=tuple(levels),
        terms=tuple(tuple(row) for row in codes),
        offsets=terms.offsets,
        names=(),
        columns=columns,
        contrasts=tuple(coding),
    )


def _spec_values(spec: DesignSpec, data: pd.DataFrame) -> list[np.ndarray | Factor | MatrixValue]:
    """Each variable of ``spec`` evaluated on ``data`` with the stored encoding (factor
    levels, and the fit's parameters of scale/poly/ns/bs)."""
    n = len(data)
    values: list[np.ndarray | Factor | MatrixValue] = []
    transforms = dict(spec.transforms)
    columns = spec.columns or (None,) * len(spec.labels)
    for label, node, levels, suffixes in zip(spec.labels, spec.variables, spec.levels, columns):
        value = evaluate(node, data, label, transforms)
        if suffixes is not None:
            if not isinstance(value, MatrixValue) or len(value.suffixes) != len(suffixes):
                raise DataError(f"variable {label!r} does not give the columns it gave when the model was fitted")
            if not np.all(np.isfinite(value.values)):
                raise DataError(f"formula term {label!r} has non-finite values in the new data")
            values.append(value)
            continue
        if levels is None:
            if isinstance(value, Factor) or isinstance(value, str):
                raise DataError(f"variable {label!r} was numeric when the model "
                                "was fitted but is categorical in the new data")
            values.append(finite_numeric(value, n, label))
            continue
        labels = as_factor(value, n).labels()
        index = {lev: i for i, lev in enumerate(levels)}
        codes = np.empty(n, dtype=np.int64)
        for row, lab in enumerate(labels):
            if lab is None:
                raise DataError(f"variable {label!r} has a missing value at row {row}")
            if lab not in index:
                raise DataError(f"new level {lab!r} of {label!r} was not seen when "
                                f"the model was fitted (known levels: {list(levels)})")
            codes[row] = index[lab]
        values.append(Factor(codes, list(levels)))
    return values


def term_labels(spec: DesignSpec) -> list[str]:
    """R's ``term.labels``: each term's variables joined by ``:``."""
    return [":".join(spec.labels[v] for v, _ in term) for term in spec.terms]


def term_columns(spec: DesignSpec) -> list[list[str]]:
    """The model-matrix column names of each term (R's ``assign``, by name)."""
    columns = spec.columns or (None,) * len(spec.labels)
    empty = [MatrixValue(np.zeros((0, len(sx))), list(sx)) if sx is not None
             else np.zeros(0) if lv is None else Factor(np.zeros(0, dtype=np.int64), list(lv))
             for lv, sx in zip(spec.levels, columns)]
    return [_build(dataclasses.replace(spec, intercept=False, terms=(term,), offsets=()), empty, None, 0).names
            for term in spec.terms]


def term_cell_matrix(spec: DesignSpec, term: int, data: pd.DataFrame) -> Design:
    """``model.matrix(~ 0 + term)``: every factor of term ``term`` fully dummy coded
    (one column per cell, numeric variables multiplied in), on ``data``."""
    full = tuple((v, 2) for v, _ in spec.terms[term])
    cell_spec = dataclasses.replace(spec, intercept=False, terms=(full,), offsets=())
    return _build(cell_spec, _spec_values(spec, data), None, len(data))


@refuses_deep_nesting
def apply_design(spec: DesignSpec, data: pd.DataFrame) -> Design:
    """Rebuild a design on new data with the encoding of ``spec``.

    Parameters
    ----------
    spec : DesignSpec
        ``Design.spec`` from :func:`model_design`.
    data : pandas.DataFrame
        New rows (not modified).

    Returns
    -------
    Design
        Same columns, names and factor levels as the original design.

    Raises
    ------
    DataError
        A factor value not seen when the design was built (the message names
        the variable and the level), an unknown column, or a non-finite value.
    """
    if not isinstance(spec, DesignSpec):
        raise TypeError("spec must be the Design.spec of model_design()")
    n = len(data)
    values = _spec_values(spec, data)
    design = _build(spec, values, _offset_sum(spec.offsets, data, dict(spec.transforms)), n)
    if tuple(design.names) != spec.names:  # defensive: encoding must not drift
        raise DataError("internal error: rebuilt design has different columns")
    return design

