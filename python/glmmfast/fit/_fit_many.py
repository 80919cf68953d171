"""One GLMM design fitted to many responses (e.g. thousands of genes or items).

Holds :func:`fit_many`: the formula is parsed and the design (X, Z, the
engine's sparsity pattern and its symbolic analysis) built once; each
response column is then fitted through :class:`~glmmfast.results._refit.GlmerModel`
(one engine, with its symbolic analysis, per worker thread, kept by
:func:`~glmmfast.results._refit.per_thread`; the engine releases the GIL while it
evaluates), from the GLM start through both optimisation stages as
:func:`glmmfast.glmer` does.  The answer is a tidy DataFrame.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pandas as pd

from ._cancel import run_tasks
from ..design._design import model_design_for
from .._errors import DataError, FormulaError
from ..formula._formula import parse_formula_tree
from ..formula._nodes import BinOp, Name, formula_sides
from ._engine import glm_start
from ..design._re_terms import group_labels, sdcor_from_theta
from ..results._refit import GlmerModel, per_thread
from ..families import Family, get_family

__all__ = ["fit_many"]

_COLUMNS = ["response", "effect", "group", "term", "estimate", "std_error", "loglik", "deviance", "converged",
            "message"]


def _rows_for(name: str, model: GlmerModel, y: np.ndarray) -> list[tuple]:
    """Fit one response and return its tidy rows (a failed fit gives one row with the message)."""
    d = model.design
    try:
        res = model.result(model.refit(y, warm_start=False), share_engine=True)
        se = res.se.to_numpy()
        conv, msg = res.converged, "; ".join(res.messages)
    except Exception as e:  # noqa: BLE001 -- reported in the table, never dropped
        return [(name, None, None, None, np.nan, np.nan, np.nan, np.nan, False, f"{type(e).__name__}: {e}")]
    ll, dev = res.loglik, res.deviance
    rows = [(name, "fixed", None, t, b, s, ll, dev, conv, msg) for t, b, s in zip(d.x_names, res.fixef, se)]
    values = iter(sdcor_from_theta(d.terms, res.theta))
    for t, lab in zip(d.terms, group_labels(d.terms)):  # theta's order (for us: column by column, lower triangle)
        for term in t.structure.sdcor_labels(t.names):
            rows.append((name, "ran_pars", lab, term, next(values), np.nan, ll, dev, conv, msg))
    return rows


def _run(token, design, theta, beta, nAGQ, items) -> list[tuple]:
    model = per_thread(token, lambda: GlmerModel(design, theta, beta, nAGQ))
    out = []
    for name, y in items:
        out.extend(_rows_for(name, model, y))
    return out


def fit_many(formula: str, data: pd.DataFrame, responses: list[str], family: str | Family,
             n_jobs: int = -1, nAGQ: int = 1) -> pd.DataFrame:
    """Fit the same GLMM to many response columns.

    Parameters
    ----------
    formula : str
        lme4 formula; its left-hand side (if any) is ignored and replaced by
        each response in turn, e.g. ``"~ YEAR + (1 | LOCATION)"``.
    data : DataFrame
        Holds the covariates and every response column (never modified).
    responses : list of str
        Response column names (numeric: counts, 0/1 or proportions).
    family : str or Family
    n_jobs : int
        Threads (-1: all cores).
    nAGQ : int
        0 or 1, as :func:`glmmfast.glmer`.

    Returns
    -------
    pandas.DataFrame
        Columns response, effect (``"fixed"`` or ``"ran_pars"``), group,
        term, estimate, std_error, loglik, deviance, converged, message; one
        row per parameter per response (standard deviations ``sd__x`` and
        correlations ``cor__x.z`` of the random effects as ``ran_pars``).  A fit that fails gives one
        row with ``converged=False`` and the error in ``message``.

    Raises
    ------
    DataError
        Unknown or non-numeric response columns, or missing values in them
        on the rows the model uses.
    KeyboardInterrupt
        Ctrl-C: the fits stop within a fraction of a second, worker
        threads included, and nothing partial is returned.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> df["TICKS2"] = df["TICKS"] // 2
    >>> out = glmmfast.fit_many("~ YEAR + (1 | LOCATION)", df, ["TICKS", "TICKS2"], family="poisson")
    >>> sorted(set(out["response"])), list(out["term"][:4])
    (['TICKS', 'TICKS2'], ['(Intercept)', 'YEAR96', 'YEAR97', 'sd__(Intercept)'])
    """
    if isinstance(responses, str) or not len(responses):
        raise DataError("responses must be a non-empty list of column names")
    missing = [r for r in responses if r not in data.columns]
    if missing:
        raise DataError(f"unknown response column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(f"formula must be a string with '~', got {formula!r}")
    tree = parse_formula_tree(formula)  # a syntax error names the formula the user wrote
    _, rhs = formula_sides(tree)
    fam = get_family(family)
    design = model_design_for(BinOp("~", Name(responses[0]), rhs, tree.pos), data, fam, random=True)
    ys = []
    for r in responses:
        col = data.loc[design.rows, r]
        if not pd.api.types.is_numeric_dtype(col) or col.isna().any():
            raise DataError(f"response {r!r} must be numeric without missing values on the model's rows")
        ys.append((r, col.to_numpy(dtype=float)))
    start = glm_start(design)
    theta0 = np.array([float(i == j) for t in design.terms for j in range(t.k) for i in range(j, t.k)])
    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
    chunks = [c for c in np.array_split(np.arange(len(ys)), min(len(ys), workers * 4)) if c.size]
    token = uuid.uuid4().hex
    args = [(token, design, theta0, np.asarray(start["beta"]), int(nAGQ), [ys[i] for i in c]) for c in chunks]
    parts = run_tasks(_run, args, workers)
    return pd.DataFrame([row for part in parts for row in part], columns=_COLUMNS)
