"""An LMM fitted to the rows of a Dask DataFrame from one reduction pass of cross-products.

A linear mixed model's profiled criterion (ML or REML, at any theta) depends
on the rows only through sums over them: with prior weights W and the
response minus the offset y,

    Z'WZ (on the pattern of U'WU), Z'WX, Z'Wy, X'WX, X'Wy, y'Wy, n, sum log w,

whose size, O(nnz(Z'WZ) + q p + p^2), does not grow with n.  So the rows are
read once: each partition's products (:func:`partition_products`, on the
worker holding the partition) are added pairwise on the workers in a tree
(:func:`tree_sum`: log2(partitions) levels, the driver receives one sum),
together with the R factor of X (R of the stacked R's, for lme4's aliasing
rule), and the whole fit then runs on the driver in the engine's
``CrossProductLmm`` (cpp/src/model/cross_product_lmm.hpp): the same
optimiser (:func:`~glmmfast.fit._optimize.optimize_lmer`, BFGS with the exact
gradient), criterion, vcov and conditional variances as in memory.

Public entry: ``glmmfast.lmer(formula, dask_dataframe, ...)`` dispatches here
(:func:`lmer_partitioned`).
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._errors import DataError
from ..design._design import dataset_name
from ..design._design_checks import failures_blamed_on_scales
from ..design._partitioned_design import (PartitionArrays, PartitionedDesign, aliased_from_r_factors,
                                          design_shell, partition_arrays, plan_partitioned_design)
from ..families import Gaussian
from ._engine import _engine_terms
from ._fit_state import FitState
from ._optimize import optimize_lmer
from ._partitioned import _client, pairwise_reduce

#: the name of X's all-ones column (R's model.matrix)
_INTERCEPT = "(Intercept)"
#: rows of the first partition the response's rough mean is read from
_HEAD_ROWS = 1000

__all__ = ["LmmProducts", "partition_products", "products_of", "tree_sum", "pattern_of", "fit_lmm_partitioned",
           "lmer_partitioned"]


@dataclass
class LmmProducts:
    """The sums over rows an LMM's criterion needs (X with every column of the coding); products add.

    Attributes
    ----------
    n, n_dropped : int
        Complete rows, and rows dropped for a missing value.
    log_w_sum, ytWy : float
        sum log w_i and y'Wy (y: the response minus the offset).
    R : ndarray
        The R factor of X (unweighted; lme4's rank rule).
    ZtWZ : scipy.sparse.csr_matrix
        The lower triangle of Z'WZ (q x q).
    ZtWX, ZtWy, XtWX, XtWy : ndarray
    """

    n: int
    n_dropped: int
    log_w_sum: float
    ytWy: float
    R: np.ndarray
    ZtWZ: sp.csr_matrix
    ZtWX: np.ndarray
    ZtWy: np.ndarray
    XtWX: np.ndarray
    XtWy: np.ndarray

    def __add__(self, other: "LmmProducts") -> "LmmProducts":
        stacked = np.vstack([self.R, other.R])
        R = np.linalg.qr(stacked, mode="r") if stacked.shape[0] > stacked.shape[1] else stacked
        return LmmProducts(self.n + other.n, self.n_dropped + other.n_dropped, self.log_w_sum + other.log_w_sum,
                           self.ytWy + other.ytWy, R, (self.ZtWZ + other.ZtWZ).tocsr(), self.ZtWX + other.ZtWX,
                           self.ZtWy + other.ZtWy, self.XtWX + other.XtWX, self.XtWy + other.XtWy)


def partition_products(data, plan: PartitionedDesign, y_shift: float) -> LmmProducts:
    """One partition's :class:`LmmProducts` (on the worker holding it)."""
    return products_of(partition_arrays(plan, data), y_shift)


def products_of(a: PartitionArrays, y_shift: float = 0.0) -> LmmProducts:
    """The :class:`LmmProducts` of rows in the engine's layout, y the response minus offset and ``y_shift``."""
    w = a.weights
    if np.any(w <= 0):
        # lme4's criterion has -sum(log w): a zero weight makes it infinite.
        raise DataError("lmer needs positive weights (drop the rows with zero weight)")
    y = a.y - a.offset - y_shift
    WZ = sp.diags(w) @ a.Z
    WX = w[:, None] * a.X
    R = np.linalg.qr(a.X, mode="r") if a.X.shape[0] else np.zeros((0, a.X.shape[1]))
    return LmmProducts(len(y), a.n_dropped, float(np.log(w).sum()), float(w @ (y * y)), R,
                       sp.tril(a.Z.T @ WZ).tocsr(), np.asarray(WZ.T @ a.X), np.asarray(WZ.T @ y),
                       a.X.T @ WX, WX.T @ y)


def tree_sum(items: list):
    """The sum of Dask delayed ``items``, added pairwise (a tree of depth log2(len(items)) on the workers)."""
    import dask

    return pairwise_reduce(items, dask.delayed(operator.add))


def _rough_mean(ddf, plan: PartitionedDesign) -> float:
    """The response's mean (minus the offset) on the first partition's first rows: the centre of the products.

    Products of y - c with c near y's mean keep r^2 = y'Wy - ... from
    cancelling (cross_product_lmm.hpp); the fit of the response is then
    exact for a model with an intercept (0 without one).
    """
    if _INTERCEPT not in plan.x_names_all:
        return 0.0
    import warnings

    with warnings.catch_warnings():  # a first partition shorter than the head asked for is fine
        warnings.simplefilter("ignore", UserWarning)
        head = ddf.get_partition(0).head(_HEAD_ROWS, npartitions=1)
    a = partition_arrays(plan, head)
    return float(np.mean(a.y - a.offset)) if a.y.size else 0.0


def _block_starts(terms: list) -> tuple[np.ndarray, np.ndarray]:
    """Per u-index: the first u-index of its level's block and the block's size (the term's k)."""
    starts, sizes, offset = [], [], 0
    for t in terms:
        j = np.arange(t.k * t.nlevels)
        starts.append(offset + (j // t.k) * t.k)
        sizes.append(np.full(j.size, t.k))
        offset += j.size
    return np.concatenate(starts), np.concatenate(sizes)


def pattern_of(ZtWZ: sp.csr_matrix, terms: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """U'WU's lower-triangle pattern (rows, cols; sorted) and Z'WZ's values on it.

    U = Z Lambda mixes the k columns of a level, so the pattern is Z'WZ's
    closed under level blocks (every diagonal block included).
    """
    start, size = _block_starts(terms)
    coo = ZtWZ.tocoo()
    q = start.size
    blocks = np.unique(np.concatenate([start[coo.row] * q + start[coo.col], start * q + start]))
    br, bc = blocks // q, blocks % q
    rows, cols = [], []
    for kr in np.unique(size[br]):
        for kc in np.unique(size[bc]):
            pick = (size[br] == kr) & (size[bc] == kc)
            a, b = np.meshgrid(np.arange(kr), np.arange(kc), indexing="ij")
            rows.append((br[pick][:, None] + a.ravel()[None, :]).ravel())
            cols.append((bc[pick][:, None] + b.ravel()[None, :]).ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    keep = rows >= cols
    pairs = np.unique(rows[keep].astype(np.int64) * q + cols[keep])
    rows, cols = (pairs // q).astype(np.int32), (pairs % q).astype(np.int32)
    values = np.asarray(ZtWZ[rows, cols], dtype=float).ravel()
    return rows, cols, values


def fit_lmm_partitioned(formula: str, ddf, reml: bool, weights=None, offset=None, contrasts: dict | None = None,
                        client=None) -> tuple[FitState, PartitionedDesign, int]:
    """Fit an LMM to the rows of ``ddf`` from their cross-products; returns the state, the design and n."""
    import dask

    t0 = time.perf_counter()
    client = _client(client)
    plan = plan_partitioned_design(formula, ddf, Gaussian(), weights, offset, contrasts, 1, linear=True)
    y_shift = _rough_mean(ddf, plan)
    parts = [dask.delayed(partition_products)(part, plan, y_shift) for part in ddf.to_delayed()]
    total = client.compute(tree_sum(parts), sync=True)
    p_all = len(plan.x_names_all)
    plan.keep = [j for j in range(p_all) if j not in set(aliased_from_r_factors([total.R], p_all))]
    shift_column = plan.x_names.index(_INTERCEPT) if _INTERCEPT in plan.x_names else -1
    design = design_shell(plan, total.n, total.n_dropped)
    keep = np.asarray(plan.keep, dtype=int)
    if keep.size >= total.n:
        raise DataError(f"{keep.size} fixed effects but only {total.n} observations")
    rows, cols, values = pattern_of(total.ZtWZ, plan.terms)
    t1 = time.perf_counter()
    with failures_blamed_on_scales(design.messages):
        model = _core.CrossProductLmm(_engine_terms(plan), rows, cols, values,
                                      np.asfortranarray(total.ZtWX[:, keep]), total.ZtWy,
                                      total.XtWX[np.ix_(keep, keep)], total.XtWy[keep], total.ytWy, total.n,
                                      total.log_w_sum, y_shift, shift_column)
        theta, crit, info = optimize_lmer(model, reml)
    info.seconds.update({"design": t1 - t0, "optimize": time.perf_counter() - t1})
    state = FitState(design, np.asarray(theta), np.array(model.beta), float(crit), info, reml=bool(reml),
                     engine_at_optimum=model)
    return state, plan, total.n


def lmer_partitioned(formula: str, data, REML: bool = True, weights=None, offset=None,
                     contrasts: dict | None = None, data_name: str | None = None, quiet: bool = False,
                     client=None):
    """``glmmfast.lmer`` on a Dask DataFrame (see :func:`glmmfast.lmer`)."""
    from ..results._partitioned_result import PartitionedLmerResult
    from ._fit_warnings import warn_fit_messages

    if data_name is not None:
        data_name = dataset_name(data, data_name)
    state, plan, n = fit_lmm_partitioned(formula, data, REML, weights, offset, contrasts, client)
    fit = PartitionedLmerResult(state, data_name, n, None, plan, data)
    warn_fit_messages(fit.messages, quiet)
    return fit
