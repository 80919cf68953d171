"""A GLMM fitted to the rows of a Dask DataFrame where they lie: the workers answer with sums.

The rows never leave their workers.  Each partition becomes, on the worker
that computed it, the engine's ``RowBlock`` (cpp/src/model/row_block.hpp):
X, Z (levels coded globally), y, weights and offset.  The driver holds the
engine's ``PartitionedGlmm`` (cpp/src/model/partitioned_glmm.hpp): the
factor of A = Lambda'Z'WZ Lambda + I (q x q), theta, beta, u and the
optimiser.  Every point PIRLS visits is one round trip: (theta, beta, u) to
each worker, whose partitions' ``RowSums`` (U'WU on the model's pattern,
U'Wr, U'WX, X'WX, X'Wr, log-likelihood, deviance) are summed on the worker;
the workers' sums are added pairwise by tasks on the workers (a tree of depth
ceil(log2 W)), so the driver receives one sum per round trip and takes the step.  PIRLS
and the Laplace deviance are the engine's code (pirls_loop.hpp), not a copy.

Passes over the data before the optimisation (:func:`fit_glmm_partitioned`):
 1. factor levels (:func:`~glmmfast.design._partitioned_design.plan_partitioned_design`);
 2. each partition's arrays, kept on its worker, answering with the R factor
    of its X (aliased columns are decided from them) and its pattern of U'WU;
 3. the RowBlocks (kept columns, the union pattern), the arrays released (the
    terms' codes kept until theta's moment start, :meth:`PartitionedRows.level_sums`,
    one round trip after the GLM start).

The exact gradient takes two more round trips at the mode (the selected
inverse of A on the pattern out, each worker's U'v, X'v back; the driver's
solve z out, each worker's share of the gradient back), so the optimiser
and the standard errors are the in-memory fit's: the engine's objectives
(``_core.partitioned_glmm_objective``, the same C++ objectives), L-BFGS and BFGS
from a measured Hessian, central differences of the gradient.
The workers' blocks are released at the end of the fit, once the
convergence checks and vcov are computed: the result keeps the driver's
factor at the optimum (ranef, conditional variances) and predicts with
Dask.

Public entry: ``glmmfast.glmer(formula, dask_dataframe, family)`` dispatches
here (:func:`glmer_partitioned`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid

import numpy as np

from .. import _core
from .._errors import GlmmfastError
from ..design._partitioned_design import (PartitionedDesign, aliased_from_r_factors, design_shell,
                                          partition_arrays, plan_partitioned_design)
from ..design._design import dataset_name
from ._engine import _engine_terms
from ._family_parameter import FamilyParameter, dispersion_parameter
from ._fit_state import FitState, optimize_glmm_state, pearson_dispersion
from ._glmm_start import glmm_theta_from_level_sums, worth_a_glmm_moment_start, working_level_sums
from ._lmm_start import has_moment_estimate
from ._moment_start import excess_ratio, nb_theta_from_excess, poisson_excess_sums

__all__ = ["is_dask_dataframe", "fit_glmm_partitioned", "glmer_partitioned", "PartitionedRows",
           "PartitionedNotSupported", "PartitionsReleased"]

# On each worker process: (token, worker address) -> {partition index: PartitionArrays, then RowBlock}
# (keyed by address too: a LocalCluster with processes=False runs its workers in one process).
_BLOCKS: dict[tuple[str, str], dict[int, object]] = {}
# On each worker process, from pass 3 to theta's moment start: (token, worker address) -> (family,
# {partition index: the plan's terms with the partition's codes and model matrices}).
_START_TERMS: dict[tuple[str, str], tuple[object, dict[int, list]]] = {}

#: A round trip whose arrays total at least this many bytes sends them to the workers as one object by
#: ``client.scatter(broadcast=True)``, the tasks carrying its future, not inside the tasks' messages.
#: Why so small: distributed's BatchedSend keeps every batch of messages under 1 MB in a log of the
#: stream's last 1000 (``distributed.admin.low-level-log-length``): the client's stream to the scheduler
#: and the scheduler's to each worker, all in the driver's process on a LocalCluster.  Carried in the
#: tasks, u (8 q bytes; 0.9 MB at q = 1.1e5) was kept alive once per stream and round trip, the driver's
#: RSS growing ~10 MB an evaluation (issue 19); now those logs hold at most ~1000 x 8 KB a stream.
#: Round trips below it (q < 1024) skip the scatter's extra messages.
_SCATTER_BYTES = 1 << 13


def _worker_address() -> str:
    from distributed import get_worker

    return get_worker().address


def _mine(token: str) -> dict[int, object]:
    """This worker's partitions of the model ``token``."""
    return _BLOCKS.setdefault((token, _worker_address()), {})


def is_dask_dataframe(data) -> bool:
    """Whether ``data`` is a Dask DataFrame (without importing Dask)."""
    return type(data).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(data, "npartitions")


class PartitionsReleased(GlmmfastError, RuntimeError):
    """The workers' rows of a partitioned fit were released (the fit is finished)."""


class PartitionedNotSupported(GlmmfastError, NotImplementedError):
    """What the fit on a Dask DataFrame's partitions does not do (yet): lmer, methods that need the rows in memory."""


def _family_engine(plan: PartitionedDesign):
    return _core.Family(plan.family.name, plan.family.link, plan.family.theta)


# ---- on the workers ---------------------------------------------------------------------------

def _row_block(arrays, keep, plan: PartitionedDesign) -> "_core.RowBlock":
    Z = arrays.Z
    X = arrays.X if keep is None else np.asfortranarray(arrays.X[:, keep])
    return _core.RowBlock(X, Z.shape[0], Z.shape[1], Z.indptr.astype(np.int32), Z.indices.astype(np.int32),
                          Z.data.astype(float), arrays.y, arrays.weights, arrays.offset, _family_engine(plan),
                          _engine_terms(plan))


def _load_partition(data, plan: PartitionedDesign, token: str, index: int):
    """Pass 2: keep the partition's arrays here; answer with (worker, R of X, pattern, rows, rows dropped)."""
    arrays = partition_arrays(plan, data)
    _mine(token)[index] = arrays
    p = arrays.X.shape[1]
    R = np.linalg.qr(arrays.X, mode="r") if arrays.X.shape[0] else np.zeros((0, p))
    rows, cols = _row_block(arrays, None, plan).pattern() if arrays.X.shape[0] else (np.zeros(0, np.int32),) * 2
    return _worker_address(), R, np.asarray(rows), np.asarray(cols), arrays.X.shape[0], arrays.n_dropped


def _make_blocks(token: str, plan: PartitionedDesign, keep: list[int], pattern, keep_terms: bool) -> int:
    """Pass 3: the RowBlocks of this worker's partitions on the model's pattern (arrays released; with
    ``keep_terms`` the terms' codes and model matrices kept for theta's moment start)."""
    mine = _mine(token)
    all_columns = keep == list(range(len(plan.x_names_all)))
    for index, arrays in list(mine.items()):
        if arrays.X.shape[0] == 0:
            del mine[index]
            continue
        block = _row_block(arrays, None if all_columns else keep, plan)
        block.set_pattern(*pattern)
        mine[index] = block
        if keep_terms:
            _START_TERMS.setdefault((token, _worker_address()), (plan.family, {}))[1][index] = [
                dataclasses.replace(t, codes=t.codes.astype(np.int32)) for t in arrays.terms]
    return len(mine)


def _answer(task, token: str, args: tuple):
    """This worker's answer to a round trip: ``task(token, *args)`` (``args`` sent inline or scattered)."""
    return task(token, *args)


def _worker_sums(token: str, theta, beta, u, values, exact):
    """The sums of this worker's partitions at (theta, beta, u) and the family's parameter ``values``, with the
    Fisher weights or (``exact``) the exact Hessian's, added here (one answer per worker)."""
    return _sum_answers([block.sums(theta, beta, u, values, bool(exact)) for block in _mine(token).values()])


def _worker_traces(token: str, theta, beta, u, values, sel):
    """This worker's share of the gradient's first round trip: (U'v, X'v) summed over its partitions."""
    return _sum_answers([block.trace_sums(theta, beta, u, values, sel) for block in _mine(token).values()])


def _worker_gradient(token: str, z_u, z_b, log_parameters: list[str]):
    """This worker's share of the gradient's second round trip: (dD/dtheta, X'r, dD/dlog p per family parameter
    named in ``log_parameters``, the optimiser's coordinates: a fixed one costs no row passes)."""
    return _sum_answers([block.gradient_sums(z_u, z_b, log_parameters) for block in _mine(token).values()])


def _worker_start(token: str, values):
    """This worker's share of the GLM's first IRLS step from R's mustart: (X'WX, X'Wz)."""
    return _sum_answers([block.start_sums(values) for block in _mine(token).values()])


def _worker_moment_sums(token: str, beta):
    """This worker's share of glmer_nb's moment start: :func:`~glmmfast.fit._moment_start.poisson_excess_sums`
    (power 2) at the GLM's means at ``beta``."""
    return _sum_answers([poisson_excess_sums(block.y, block.glm_means(beta), block.prior_weights, 2)
                         for block in _mine(token).values()])


def _worker_level_sums(token: str, beta):
    """This worker's share of theta's moment start (:func:`~glmmfast.fit._glmm_start.working_level_sums` at the
    GLM's ``beta``): (whether every partition's working weights are valid, the moment terms' sums flattened
    by :func:`_flat_level_sums`), added over its partitions; its terms' codes are released."""
    family, terms = _START_TERMS.pop((token, _worker_address()), (None, {}))  # none: no rows here
    answers = []
    for index, block in _mine(token).items():
        mu = np.asarray(block.glm_means(beta))
        sums = working_level_sums(family, terms[index], block.prior_weights, block.y, family.linkfun(mu), mu)
        answers.append((sums is not None, _flat_level_sums(terms[index], sums)))
    return _sum_answers(answers)


def _flat_level_sums(terms: list, sums: list | None) -> np.ndarray:
    """The moment terms' level sums (n_j, Z_j'Z_j, Z_j'r_j, r_j'r_j) in one vector (zeros for ``sums`` None)."""
    moment = [(t, s) for t, s in zip(terms, sums or [None] * len(terms)) if has_moment_estimate(t)]
    if sums is None:
        return np.zeros(sum(t.nlevels * (t.k * t.k + t.k + 2) for t, _ in moment))
    return np.concatenate([np.ravel(a) for _, s in moment for a in s])


def _split_level_sums(terms: list, flat: np.ndarray) -> list:
    """:func:`_flat_level_sums` undone: each term's level sums (None for a term without a moment estimate)."""
    out, at = [], 0
    for t in terms:
        if not has_moment_estimate(t):
            out.append(None)
            continue
        nlev, k = t.nlevels, t.k
        sizes = [nlev, nlev * k * k, nlev * k, nlev]
        parts = np.split(flat[at:at + sum(sizes)], np.cumsum(sizes)[:-1])
        out.append((parts[0], parts[1].reshape(nlev, k, k), parts[2].reshape(nlev, k), parts[3]))
        at += sum(sizes)
    return out


def add_answers(a, b):
    """Two answers of a round trip added field by field (a bool field, RowSums' ``valid``, by ``and``); None is 0."""
    if a is None or b is None:
        return b if a is None else a
    return tuple((x and y) if isinstance(x, bool) else x + y for x, y in zip(a, b))


def pairwise_reduce(items: list, add):
    """``items`` reduced by ``add(a, b)`` pairwise, level by level (a tree of depth ceil(log2 len(items))).

    With ``add`` making a Dask task (a future or a delayed call) the additions run on the workers and
    the driver receives one result: the GLMM's round trips (:meth:`PartitionedRows._ask`) and the
    LMM's products (:func:`~glmmfast.fit._partitioned_lmm.tree_sum`).
    """
    while len(items) > 1:
        items = [add(items[i], items[i + 1]) if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0]


def _sum_answers(answers: list):
    """The field-by-field sum of a list of answers (None for none)."""
    total = None
    for answer in answers:
        total = add_answers(total, tuple(answer))
    return total


def _release(token: str) -> None:
    for cache in (_BLOCKS, _START_TERMS):
        for key in [k for k in cache if k[0] == token]:
            del cache[key]


# ---- on the driver -----------------------------------------------------------------------------

class PartitionedRows:
    """The driver's handle on a model's rows held by the workers (:mod:`glmmfast.fit._partitioned`).

    Attributes
    ----------
    client : distributed.Client
    token : str
        The key of the model's blocks in each worker's cache.
    workers : list of str
        The workers holding at least one partition.
    gathers : int
        Round trips so far; ``seconds``: their total wall time.
    """

    def __init__(self, client, token: str, workers: list[str]):
        self.client, self.token, self.workers = client, token, workers
        self.gathers, self.seconds, self.released = 0, 0.0, False

    def _ask(self, task, *args) -> tuple:
        """``task(token, *args)`` on every worker holding partitions, the answers added on the workers.

        The workers' answers are added pairwise by tasks on the workers (a tree of depth
        ceil(log2 W) for W workers), so the driver receives one sum per round trip, whatever W.
        """
        if self.released:
            raise PartitionsReleased("the partitions of this fit were released at its end; refit to evaluate again")
        t0 = time.perf_counter()
        args = tuple(a if isinstance(a, list) else np.asarray(a, dtype=float) for a in args)  # a list: names
        if sum(a.nbytes for a in args if isinstance(a, np.ndarray)) >= _SCATTER_BYTES:
            # One object (scatter splits a list), under a key of its own (hash=False): equal arrays of
            # consecutive round trips under one content key were lost when the last round trip's future was
            # released.
            args = self.client.scatter([args], broadcast=True, workers=self.workers, hash=False)[0]
        answers = [self.client.submit(_answer, task, self.token, args, key=f"{task.__name__}-{uuid.uuid4().hex}",
                                      workers=[w], allow_other_workers=False)
                   for w in self.workers]
        total = pairwise_reduce(answers, lambda a, b: self.client.submit(add_answers, a, b, pure=False)).result()
        self.gathers += 1
        self.seconds += time.perf_counter() - t0
        return total

    def sums(self, theta, beta, u, values, exact) -> tuple:
        """The partitions' sums at (theta, beta, u) and the family's parameters, added on the workers."""
        return self._ask(_worker_sums, theta, beta, u, values, exact)

    def traces(self, theta, beta, u, values, sel) -> tuple:
        """The gradient's first round trip: (U'v, X'v) added on the workers."""
        return self._ask(_worker_traces, theta, beta, u, values, sel)

    def gradient(self, z_u, z_b, log_parameters: list[str]) -> tuple:
        """The gradient's second round trip: (dD/dtheta, X'r, dD/dlog p for ``log_parameters``) added on the
        workers."""
        return self._ask(_worker_gradient, z_u, z_b, list(log_parameters))

    def start(self, values) -> tuple:
        """The GLM's first IRLS step from R's mustart: (X'WX, X'Wz) added on the workers."""
        return self._ask(_worker_start, values)

    def moment_sums(self, beta) -> tuple:
        """glmer_nb's moment start's sums at the GLM's means at ``beta`` added on the workers (one round trip)."""
        return self._ask(_worker_moment_sums, beta)

    def level_sums(self, beta, terms: list) -> list | None:
        """Theta's moment start's level sums of ``terms`` at the GLM's ``beta`` added on the workers (one round
        trip; None where some working weight is not valid); the workers' copies of the terms' codes released."""
        valid, flat = self._ask(_worker_level_sums, beta)
        return _split_level_sums(terms, flat) if valid else None

    def release(self) -> None:
        """Drop the blocks on every worker."""
        if not self.released:
            self.client.run(_release, self.token, workers=self.workers)
            self.released = True


def _client(client):
    if client is not None:
        return client
    from distributed import get_client
    try:
        return get_client()
    except ValueError:
        raise GlmmfastError("a Dask DataFrame needs a running dask.distributed Client (or pass client=)") from None


def load_partitions(ddf, plan: PartitionedDesign, client, keep_terms: bool = False
                    ) -> tuple[PartitionedRows, "_core.PartitionedGlmm", int, int]:
    """Passes 2 and 3: the RowBlocks on the workers and the driver's engine model; also (n, rows dropped).
    ``keep_terms``: the workers keep the terms' codes for theta's moment start (:meth:`PartitionedRows.level_sums`)."""
    import dask

    token = uuid.uuid4().hex
    parts = ddf.to_delayed()
    loaded = client.compute([dask.delayed(_load_partition)(part, plan, token, i) for i, part in enumerate(parts)],
                            sync=True)
    n = sum(r[4] for r in loaded)
    n_dropped = sum(r[5] for r in loaded)
    workers = sorted({r[0] for r in loaded})
    rows = PartitionedRows(client, token, workers)
    try:
        plan.keep = [j for j in range(len(plan.x_names_all))
                     if j not in set(aliased_from_r_factors([r[1] for r in loaded], len(plan.x_names_all)))]
        pairs = np.unique(np.concatenate([(r[2].astype(np.int64) << 32) | r[3].astype(np.int64) for r in loaded]))
        pattern = ((pairs >> 32).astype(np.int32), (pairs & 0xFFFFFFFF).astype(np.int32))
        shared = client.scatter(pattern, broadcast=True, workers=workers)
        client.gather([client.submit(_make_blocks, token, plan, plan.keep, shared, keep_terms, workers=[w],
                                     allow_other_workers=False, pure=False) for w in workers])
        model = _core.PartitionedGlmm(_engine_terms(plan), pattern[0], pattern[1], len(plan.keep),
                                      _family_engine(plan), rows.sums, traces=rows.traces, gradient=rows.gradient)
    except BaseException:
        rows.release()
        raise
    return rows, model, n, n_dropped


def _glm_start(model: "_core.PartitionedGlmm", rows: PartitionedRows, beta: np.ndarray | None = None) -> np.ndarray:
    """The GLM's beta: R's first IRLS step from mustart (one round trip; or from ``beta``), then the engine's
    PIRLS at theta = 0 (beta by Fisher scoring, the random effects switched off) on the same sums."""
    if beta is None:
        XtWX, XtWz = rows.start(model.family_values)
        beta = np.linalg.lstsq(np.asarray(XtWX), np.asarray(XtWz), rcond=None)[0]
    theta_glm = np.zeros(len(model.initial_theta()))
    model.set_beta(beta if np.all(np.isfinite(beta)) else np.zeros(model.p))
    try:
        model.deviance_profiled_beta(theta_glm)  # u stays 0: the GLM's IRLS
    except _core.PirlsError:  # the first step's linear predictor is invalid somewhere: from beta = 0
        model.set_beta(np.zeros(model.p))
        model.deviance_profiled_beta(theta_glm)
    return np.array(model.beta)


#: The negative-binomial shape of the GLM whose means start glmer_nb's theta on partitioned rows (the
#: partitions' blocks, built for the negative binomial, fit no Poisson GLM): Var y = mu + mu^2 / 1e4, the
#: in-memory start's Poisson GLM to mu / 1e4 relative.  Not larger: the unit deviance's rounding grows as
#: theta eps per row, and at 1e6 the GLM's Newton polish halved its steps for 60 round trips on 20,000 rows.
POISSON_LIKE_NB_THETA = 1e4


def _nb_moment_start(model: "_core.PartitionedGlmm", rows: PartitionedRows,
                     parameter: FamilyParameter) -> tuple[FamilyParameter, np.ndarray | None]:
    """glmer_nb's theta start as in memory (:func:`~glmmfast.fit._glmer._moment_theta`): the moments of a
    Poisson GLM's residuals, from the partitions' sums at the near-Poisson GLM's means (one round trip
    after that GLM); also that GLM's beta (None where it failed: theta starts at 1, as in memory)."""
    parameter.with_value(POISSON_LIKE_NB_THETA).set_on(model)
    try:
        beta = _glm_start(model, rows)
    except _core.PirlsError:
        return parameter.with_value(nb_theta_from_excess(float("nan"))), None
    return parameter.with_value(nb_theta_from_excess(excess_ratio(rows.moment_sums(beta)))), beta


def fit_glmm_partitioned(formula: str, ddf, family, weights=None, offset=None, nAGQ: int = 1,
                         contrasts: dict | None = None, client=None, parameter: FamilyParameter | None = None
                         ) -> tuple[FitState, PartitionedRows, PartitionedDesign, int]:
    """Fit a GLMM to the rows of ``ddf`` where they lie; returns the state, the rows' handle, the design and n.

    As :func:`~glmmfast.fit._fit_state.fit_glmm` in memory: the GLM start
    (:func:`_glm_start`), the family parameter (``parameter``, estimated from
    its value; glmer_nb's theta from the in-memory fit's moment start instead,
    :func:`_nb_moment_start`; else the dispersion of a family that has one,
    started at the GLM's Pearson estimate and restarted by stage 1 at the
    conditional means', both from the partitions' Pearson sums), theta on
    the scale of the GLM's linear predictor where a parameter is estimated,
    and theta's moment start where the in-memory fit takes it
    (:mod:`~glmmfast.fit._glmm_start`, from the level sums of the workers'
    rows: one round trip).
    """
    t0 = time.perf_counter()
    client = _client(client)
    plan = plan_partitioned_design(formula, ddf, family, weights, offset, contrasts, nAGQ)
    rows, model, n, n_dropped = load_partitions(ddf, plan, client, keep_terms=parameter is None)
    try:
        design = design_shell(plan, n, n_dropped)
        moment_start = worth_a_glmm_moment_start(design, parameter, n)
        poisson_beta = None
        if parameter is not None and parameter.engine_name == "nb_theta" and parameter.estimated:
            parameter, poisson_beta = _nb_moment_start(model, rows, parameter)
        if parameter is not None:
            parameter.set_on(model)  # the GLM start at the parameter's starting value
        beta0 = _glm_start(model, rows, poisson_beta)
        dispersion_estimate = None
        if parameter is None and plan.family.has_dispersion:
            def dispersion_estimate(engine) -> float:  # the Pearson chi-squared over its residual df
                return pearson_dispersion(engine.pearson_chi2, n, model.p)

            parameter = dispersion_parameter(dispersion_estimate(model))
        theta_scale = 1.0
        if parameter is not None:
            theta_scale = float(min(1.0, max(model.eta_abs_sum / max(n, 1), 1e-300)))
        theta0 = np.asarray(model.initial_theta()) * theta_scale
        if moment_start:  # as in memory (fit_glmm), from the sums of the workers' rows
            theta0 = glmm_theta_from_level_sums(plan.family, plan.terms, rows.level_sums(beta0, plan.terms), theta0)
        model.set_u(np.zeros(model.q))
        t1 = time.perf_counter()
        state = optimize_glmm_state(model, design, nAGQ, parameter, theta0, beta0, theta_scale,
                                    dispersion_estimate=dispersion_estimate, measured_start=moment_start)
        state.info.seconds.update({"design": t1 - t0, "optimize": time.perf_counter() - t1})
        state.info.pirls_iterations = int(model.pirls_iterations)
        state.info.factorization = model.factorization
    except BaseException:
        rows.release()
        raise
    return state, rows, plan, n


@contextlib.contextmanager
def driver_blas_threads():
    """The driver's dense kernels (the Schur complement's LLT, its inverse: dense_lapack.hpp) on OpenBLAS's own
    thread count while the block runs, not the engine's 1: the workers wait while the driver factorises, so on a
    LocalCluster their cores are free (OPENBLAS_NUM_THREADS or threadpoolctl still set the count; Dask's nanny
    starts its workers' BLAS at 1 thread, ``distributed.nanny.pre-spawn-environ``)."""
    previous = _core.set_dense_lapack_threads(0)
    try:
        yield
    finally:
        _core.set_dense_lapack_threads(previous)


def glmer_partitioned(formula: str, data, family, weights=None, offset=None, nAGQ: int = 1,
                      contrasts: dict | None = None, data_name: str | None = None, quiet: bool = False,
                      client=None, parameter: FamilyParameter | None = None):
    """``glmmfast.glmer`` (and ``glmer_nb``: ``parameter`` its theta) on a Dask DataFrame (see :func:`glmmfast.glmer`)."""
    from ..results._partitioned_result import PartitionedGlmerResult
    from ._fit_warnings import warn_fit_messages

    if data_name is not None:
        data_name = dataset_name(data, data_name)
    with driver_blas_threads():
        state, rows, plan, n = fit_glmm_partitioned(formula, data, family, weights, offset, nAGQ, contrasts, client,
                                                    parameter)
        try:
            fit = PartitionedGlmerResult(state, data_name, n, rows, plan, data)
            fit.messages  # the convergence checks and vcov need the rows: computed before they go
        finally:
            rows.release()
    warn_fit_messages(fit.messages, quiet)
    return fit
