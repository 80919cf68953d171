"""One GLMM design fitted to many responses (e.g. thousands of genes or items), on threads or a Dask cluster.

Holds :func:`fit_many` and the task it runs, :func:`fit_block`.  The
formula is parsed and the design (X, Z, the grouping factors) built once,
here; it travels to the workers once, in a :class:`FitManyJob`: to a thread
pool by reference, to a Dask cluster by a worker plugin installing it on each
worker once (:mod:`~glmmfast.fit._executors`, :mod:`~glmmfast.fit._worker_share`),
so tasks carry a reference to it and never a pickled copy.  Each worker thread builds its engine, with the sparse
pattern's symbolic analysis, once per job
(:class:`~glmmfast.results._refit.GlmerModel`, kept by
:func:`~glmmfast.results._refit.per_thread`; the engine releases the GIL while
it evaluates).  The responses go in blocks of columns
(:mod:`~glmmfast.fit._response_columns`): a Dask array's blocks are computed
on the worker that fits them, one block per task, with at most two tasks
per worker thread in flight, so m may far exceed memory.  Each response is
fitted from the GLM start through both optimisation stages as
:func:`glmmfast.glmer` does, independently of which engine fits it and of
what it fitted before, so the table is identical whatever the executor and
the block width.  Each block's rows are collected as it finishes (a
progress bar counts them); the tidy DataFrame puts them in the responses'
order.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _core
from ._cancel import run_tasks
from ._executors import SharedRef, resolve_workers, task_value
from ._progress import progress_bar
from ._response_columns import response_columns
from .._errors import ArgumentError, ArgumentTypeError, FormulaError
from ..design._design import ModelDesign, model_design_for
from ..formula._formula import parse_formula_tree
from ..formula._nodes import BinOp, Name, formula_sides
from ._engine import glm_start
from ..design._re_terms import group_labels, sdcor_from_theta
from ..results._refit import GlmerModel, per_thread
from ..families import Family, get_family

__all__ = ["fit_many", "fit_block", "FitManyJob", "job_arrivals"]

_COLUMNS = ["response", "effect", "group", "term", "estimate", "std_error", "loglik", "deviance", "converged",
            "message"]

#: the response column the design is built with (a copy of the first response)
_PLACEHOLDER = ".fit_many.response"

#: FitManyJob objects unpickled in this process, by job token (what shows
#: that a Dask worker received the job once, not once per task)
job_arrivals: Counter = Counter()


@dataclass
class FitManyJob:
    """What every block of one fit_many run needs, sent to each worker once.

    Attributes
    ----------
    token : str
        Names the run (each thread keeps one engine per token).
    design : ModelDesign
        Built with the first response; each fit swaps in its own.
    theta, beta : ndarray
        Where the engines are first built (θ's start, the first response's GLM).
    nAGQ : int
    rows : ndarray or None
        Positions of the model's rows among the data's rows (None: all).
    """

    token: str
    design: ModelDesign
    theta: np.ndarray
    beta: np.ndarray
    nAGQ: int
    rows: np.ndarray | None

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        job_arrivals[self.token] += 1


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


def fit_block(job: FitManyJob | SharedRef, names: list[str], block) -> tuple[list[tuple], int, list[str]]:
    """Fit the responses ``block[:, j]`` (over all the data's rows), named ``names``.

    Returns the tidy rows, the number of responses and the names of those whose fit failed.
    """
    job = task_value(job)
    model = per_thread(job.token, lambda: GlmerModel(job.design, job.theta, job.beta, job.nAGQ))
    block = np.asarray(block)
    if job.rows is not None:
        block = block[job.rows]
    rows, failed = [], []
    for j, name in enumerate(names):
        fitted = _rows_for(name, model, block[:, j])
        if fitted[0][1] is None:
            failed.append(name)
        rows.extend(fitted)
    return rows, len(names), failed


def _block_width(chunk, m: int, n: int, threads: int) -> int:
    """Responses per task: ``chunk``, or enough blocks to balance the workers, at most 256 and 4M values."""
    if chunk is None:
        return int(max(1, min(256, -(-m // (4 * threads)), 2 ** 22 // max(n, 1))))
    if isinstance(chunk, (bool, np.bool_)) or not isinstance(chunk, (int, np.integer)):
        raise ArgumentTypeError(f"chunk must be a positive integer, got {chunk!r}")
    if chunk < 1:
        raise ArgumentError(f"chunk must be a positive integer, got {chunk!r}")
    return int(chunk)


def fit_many(formula: str, data: pd.DataFrame, responses: list[str] | np.ndarray | dask.array.Array,
             family: str | Family, n_jobs: int = -1, nAGQ: int = 1, *,
             executor: concurrent.futures.Executor | distributed.Client | None = None, progress: bool = True,
             chunk: int | None = None, names: list[str] | None = None) -> pd.DataFrame:
    """Fit the same GLMM to many responses, on threads, any executor or a Dask cluster.

    Parameters
    ----------
    formula : str
        lme4 formula; its left-hand side (if any) is ignored and replaced by
        each response in turn, e.g. ``"~ YEAR + (1 | LOCATION)"``.
    data : DataFrame
        The covariates (and response columns, if ``responses`` names them);
        never modified.
    responses : list of str, numpy array or Dask array
        Response column names of ``data`` (numeric: counts, 0/1 or
        proportions), or an array of shape (n, m) whose m columns are the
        responses over the n rows of ``data``.  A Dask array is read one
        block of columns at a time, by the worker that fits it, so m may be
        far larger than fits in memory.
    family : str or Family
    n_jobs : int
        Threads when no ``executor`` is given (-1: all cores; 1: the
        calling thread).
    nAGQ : int
        0 or 1, as :func:`glmmfast.glmer`.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Runs the blocks instead of a thread pool.  On a Dask client (or its
        ``get_executor()``) the design is sent to every worker once
        and each worker builds its engine once.
    progress : bool
        Show a tqdm progress bar (if tqdm is installed); nothing is printed
        when False.
    chunk : int, optional
        Responses per task (default: enough tasks to keep every worker busy,
        at most 256; a Dask array's own column chunks).  The table does
        not depend on it.
    names : list of str, optional
        Names of an array's columns (default ``y0``, ``y1``, ...).

    Returns
    -------
    pandas.DataFrame
        Columns response, effect (``"fixed"`` or ``"ran_pars"``), group,
        term, estimate, std_error, loglik, deviance, converged, message; one
        row per parameter per response, in the responses' order (standard
        deviations ``sd__x`` and correlations ``cor__x.z`` of the random
        effects as ``ran_pars``).  A fit that fails gives one row with
        ``converged=False`` and the error in ``message``; ``attrs`` holds
        ``n_responses``, ``n_failed`` and ``failed`` (their names).

    Raises
    ------
    DataError
        Unknown or non-numeric response columns or arrays, missing values
        in in-memory responses on the rows the model uses (a Dask array's are
        failed fits instead), an array whose rows are not the data's.
    ArgumentError
        Bad ``n_jobs`` or ``chunk``; ``executor`` of another type
        (:class:`~glmmfast.ArgumentTypeError`, a TypeError).
    KeyboardInterrupt
        Ctrl-C: the fits stop within a fraction of a second (worker
        threads' fits are cancelled; an executor's pending tasks too) and
        nothing partial is returned.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> df["TICKS2"] = df["TICKS"] // 2
    >>> out = glmmfast.fit_many("~ YEAR + (1 | LOCATION)", df, ["TICKS", "TICKS2"], family="poisson")
    >>> sorted(set(out["response"])), list(out["term"][:4])
    (['TICKS', 'TICKS2'], ['(Intercept)', 'YEAR96', 'YEAR97', 'sd__(Intercept)'])
    >>> y = df[["TICKS", "TICKS2"]].to_numpy()          # or a Dask array, on a Dask client
    >>> out = glmmfast.fit_many("~ YEAR + (1 | LOCATION)", df, y, "poisson", progress=False)
    >>> list(out["response"].unique()), out.attrs["n_failed"]
    (['y0', 'y1'], 0)
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(f"formula must be a string with '~', got {formula!r}")
    workers = resolve_workers(executor, n_jobs)
    columns = response_columns(responses, data, names)
    m = len(columns.names)
    width = _block_width(chunk, m, len(data), workers.threads)
    tree = parse_formula_tree(formula)  # a syntax error names the formula the user wrote
    _, rhs = formula_sides(tree)
    fam = get_family(family)
    # Rows are dropped for missing covariates only: the design's response is
    # the first one with its missing values filled; each response is checked itself.
    frame = data.reset_index(drop=True).assign(**{_PLACEHOLDER: columns.first()})
    design = model_design_for(BinOp("~", Name(_PLACEHOLDER), rhs, tree.pos), frame, fam, random=True)
    rows = np.asarray(design.rows, dtype=np.intp)
    rows = None if rows.size == len(data) else rows
    columns.check(rows, width)
    theta0 = np.concatenate([_core.covariance_parameters(t.structure.name, t.structure.k, t.structure.coords)["initial"]
                             for t in design.terms])  # each structure's start (any structure, not only us)
    job = FitManyJob(uuid.uuid4().hex, design, theta0, np.asarray(glm_start(design)["beta"]), int(nAGQ), rows)

    shared = workers.share(job)
    bar = progress_bar(m, progress, "fit_many", "fit")
    if columns.lazy:
        tasks = ((shared, block_names, workers.fetch(block))
                 for block_names, block in columns.blocks(None if chunk is None else width))
    else:
        tasks = ((shared, block_names, block) for block_names, block in columns.blocks(width))

    def advance(part):
        if bar is not None:
            bar.update(part[1])

    try:
        parts = run_tasks(fit_block, tasks, workers.threads, workers.executor, advance,
                          max_pending=2 * workers.threads)
    finally:
        workers.unshare(shared)
        if bar is not None:
            bar.close()
    table = pd.DataFrame([row for part, _, _ in parts for row in part], columns=_COLUMNS)
    failed = [name for _, _, names_failed in parts for name in names_failed]
    table.attrs.update(n_responses=m, n_failed=len(failed), failed=failed)
    return table
