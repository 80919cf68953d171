"""Parametric bootstrap of a fitted GLMM (lme4's bootMer), in threads or on any executor.

Holds :class:`BootstrapResult` and :func:`bootstrap`.  Replicate i draws a
response from the fitted model (new random effects, lme4's
``use.u = FALSE``) with its own generator, ``SeedSequence(seed).spawn(nsim)[i]``,
and refits it warm-started at the fit (:class:`~glmmfast.results._refit.GlmerModel`),
so the results depend on the seed only, never on n_jobs, the chunking or
the executor.

A fit with random effects in the ziformula
(:class:`~glmmfast.results._zi_random_effects_result.ZiRandomEffectsResult`)
bootstraps the same way through :class:`ZiRandomEffectsJob`: replicate i is
that result's ``simulate(1, seed=rng)`` (new random effects in both
components) refitted from scratch by its ``refit``, the same numbers as its
serial loop gave.

Work is cut into chunks of replicates; :func:`run_chunk` (module level, so
it pickles for process pools and Dask) runs one chunk through the job's
``replicate(rng)``.  In a thread pool the engine releases the GIL inside
every deviance evaluation; each worker thread keeps one engine per bootstrap
job (thread-local), built from the design by
:func:`~glmmfast.fit._engine.engine_model`.  A replicate whose refit raises is
recorded as failed (NaN row, message kept) and counted, never dropped.
Ctrl-C stops the run (:func:`~glmmfast.fit._cancel.run_tasks`) and returns
nothing.  :func:`run_bootstrap` is the driver both jobs share.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._arguments import check_nsim
from ..fit._cancel import run_tasks
from ..fit._executors import resolve_workers, task_value
from ..fit._progress import progress_bar
from ..design._design import ModelDesign
from ..design._re_terms import sdcor_from_theta, sdcor_names
from ..fit._family_parameter import FamilyParameter
from ._predict import zero_inflation_probability
from ._refit import GlmerModel, per_thread
from ._simulate import ResponseSimulator, varying_parameter_of
from ._tmb_parameters import tmb_parameter_names, tmb_parameter_values

__all__ = ["BootstrapResult", "bootstrap", "run_bootstrap", "run_chunk", "ZiRandomEffectsJob", "default_statistic",
           "default_statistic_names"]


@dataclass
class BootstrapResult:
    """Replicates of a parametric bootstrap.

    Attributes
    ----------
    replicates : pandas.DataFrame
        One row per replicate (``nsim`` rows, in replicate order), one column
        per statistic; rows of failed refits are NaN.
    t0 : pandas.Series
        The statistic on the original fit.
    n_failed : int
        Replicates whose refit failed.
    failures : list of (int, str)
        Replicate index and error message of each failure.
    seed : int or None
        The seed (entropy of the SeedSequence) that reproduces the run.

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
    ...                      family="poisson")
    >>> boot = fit.bootstrap(10, seed=1, n_jobs=1, progress=False)
    >>> boot.nsim, list(boot.t0.index)
    (10, ['.sig01', '(Intercept)', 'YEAR96', 'YEAR97'])
    """

    replicates: pd.DataFrame
    t0: pd.Series
    n_failed: int
    failures: list = field(default_factory=list)
    seed: object = None

    @property
    def nsim(self) -> int:
        return len(self.replicates)

    def __repr__(self) -> str:
        return (f"<BootstrapResult nsim={self.nsim}, statistics={list(self.replicates.columns)}, "
                f"failed={self.n_failed}>")


def default_statistic_names(design: ModelDesign) -> list[str]:
    """lme4's names for the default statistic: ``.sig01``, ... then (for random effects in the
    ziformula) the zero-inflation terms' ``zi..sig01``, ..., then the fixed effects."""
    zi_terms = [] if design.zi is None else design.zi.terms
    return sdcor_names(design.terms) + [f"zi.{n}" for n in sdcor_names(zi_terms)] + list(design.x_names)


def default_statistic(state, glmmtmb_model: bool) -> np.ndarray:
    """At a fit's or refit's state: lme4's statistic (with random effects in the ziformula, their
    standard deviations after the conditional terms', theta holding both), then for the models only
    glmmTMB fits the zero-inflation coefficients and sigma (:mod:`~glmmfast.results._tmb_parameters`) and
    the dispersion model's coefficients."""
    terms = state.design.terms
    zi_terms = [] if state.design.zi is None else state.design.zi.terms
    nt = sum(t.nparams for t in terms)
    sd = [sdcor_from_theta(terms, state.theta[:nt])] + ([sdcor_from_theta(zi_terms, state.theta[nt:])]
                                                        if zi_terms else [])
    lme4 = np.concatenate(sd + [state.beta])
    if not glmmtmb_model:
        return lme4
    disp = [] if state.beta_disp is None else state.beta_disp
    return np.concatenate([lme4, tmb_parameter_values(state), disp])


def _tmb_statistic_names(state) -> list[str]:
    """The names of :func:`default_statistic`'s values after lme4's: glmmTMB's rows
    (:func:`~glmmfast.results._tmb_parameters.tmb_parameter_names`), then ``disp.<name>`` per dispersion-model
    coefficient."""
    disp = [] if state.beta_disp is None else [f"disp.{n}" for n in state.design.disp.x_names]
    return tmb_parameter_names(state) + disp


@dataclass
class _Job:
    """What every chunk of one bootstrap needs (pickled once per chunk; on Dask, once per worker)."""

    token: str
    design: ModelDesign
    theta: np.ndarray
    beta: np.ndarray
    nAGQ: int
    data_name: str | None
    statistic: object
    hessian: np.ndarray | None  # the fit's, for every worker's refits (GlmerModel)
    # the models only glmmTMB fits: the zero part and the family parameter are simulated from the
    # fit and re-estimated by every refit, and the default statistic includes them
    glmmtmb_model: bool = False
    family_parameter: FamilyParameter | None = None
    theta_scale: float = 1.0
    beta_zi: np.ndarray | None = None
    zi_probability: np.ndarray | None = None
    dispersion: float | None = None
    beta_disp: np.ndarray | None = None
    varying_parameter: tuple | None = None  # a dispersion model's parameter per row (varying_parameter_of)


    def replicate(self, rng: np.random.Generator) -> np.ndarray:
        """One replicate: a response drawn with ``rng``, refitted on this thread's engine, its statistic."""
        model, sim = per_thread(self.token, lambda: (
            GlmerModel(self.design, self.theta, self.beta, self.nAGQ, self.data_name, self.family_parameter,
                       self.theta_scale, hessian=self.hessian, beta_zi=self.beta_zi, beta_disp=self.beta_disp),
            ResponseSimulator(self.design, self.beta, self.theta, [None] * len(self.design.terms), "~0",
                              zi_probability=self.zi_probability, dispersion=self.dispersion,
                              varying_parameter=self.varying_parameter)))
        fit = model.refit(sim.draw(rng, 1)[:, 0])
        if self.statistic is None:
            return default_statistic(fit, self.glmmtmb_model)
        return np.asarray(self.statistic(model.result(fit)), dtype=float).reshape(-1)


@dataclass
class ZiRandomEffectsJob:
    """What every chunk of a bootstrap of a fit with random effects in the ziformula needs: the result
    itself (it simulates and refits; no engine is kept between replicates) and the statistic."""

    result: object  # ZiRandomEffectsResult
    statistic: object = None

    def replicate(self, rng: np.random.Generator) -> np.ndarray:
        """One replicate: the result's ``simulate(1, seed=rng)`` refitted from scratch, its statistic."""
        fit = self.result.refit(self.result.simulate(1, seed=rng)[:, 0])
        if self.statistic is None:
            return default_statistic(fit._state, True)
        return np.asarray(self.statistic(fit), dtype=float).reshape(-1)


def run_chunk(job, indices: list[int], seeds: list[np.random.SeedSequence]) -> list[tuple]:
    """Run replicates ``indices`` of ``job`` (a :class:`_Job` or :class:`ZiRandomEffectsJob`, or a shared
    reference to one) with generators from ``seeds``.

    Returns a list of ``(index, values or None, error message or None)``.
    """
    job = task_value(job)
    out = []
    for i, ss in zip(indices, seeds):
        try:
            out.append((i, job.replicate(np.random.default_rng(ss)), None))
        except Exception as e:  # noqa: BLE001 -- every failure is recorded and counted
            out.append((i, None, f"{type(e).__name__}: {e}"))
    return out


def _statistic_t0(result, statistic, state) -> pd.Series:
    """The statistic on the fit itself, named: the default's lme4 (and glmmTMB) names, else the user
    statistic's Series index or ``t1``, ``t2``, ..."""
    if statistic is None:
        names = default_statistic_names(state.design) + (_tmb_statistic_names(state) if result.glmmtmb_model
                                                          else [])
        return pd.Series(default_statistic(state, bool(result.glmmtmb_model)), index=names)
    s0 = statistic(result)
    t0 = s0 if isinstance(s0, pd.Series) else pd.Series(np.asarray(s0, dtype=float).reshape(-1))
    return t0.rename(index=lambda k: f"t{k + 1}" if isinstance(k, (int, np.integer)) else k)


def bootstrap(result, nsim: int, statistic=None, seed=None, n_jobs: int = -1, executor=None,
              progress: bool = True) -> BootstrapResult:
    """Parametric bootstrap of a fitted GLMM, as lme4's ``bootMer``.

    Parameters
    ----------
    result : GlmerResult
    nsim : int
        Number of replicates.
    statistic : callable, optional
        ``statistic(fit) -> array-like or Series`` on each refitted
        :class:`~glmmfast.GlmerResult`.  Default: standard deviations and
        correlations of the random effects (``.sig01``, ...) and the fixed
        effects, computed without building a result per replicate; for the
        models only glmmTMB fits (``fit.glmmtmb_model``) also the
        zero-inflation coefficients (``zi.<name>``) and the family parameter
        (``sigma``, glmmTMB's sigma()), which every replicate simulates from
        the fit and re-estimates (with the Tweedie power, ``power``).
    seed : int, optional
        Replicates are identical for the same seed whatever n_jobs/executor.
    n_jobs : int
        Threads (-1: all cores; 1: in the calling thread).  Ignored when
        ``executor`` is given.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Runs the chunks instead of a thread pool, e.g. a process pool or a
        Dask client (or its ``get_executor()``; the fit is then sent to
        every worker once).
    progress : bool
        Show a tqdm progress bar (if tqdm is installed); nothing is printed
        when False.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C: the run stops within a fraction of a second (worker threads'
        refits are cancelled; an ``executor``'s pending chunks too) and
        nothing partial is returned.
    """
    nsim = check_nsim(nsim)
    if statistic is not None and not callable(statistic):
        raise TypeError("statistic must be callable (fit -> array of numbers)")
    state = result._state  # the fit's state: design, estimates
    if getattr(result, "zi_random_effects", False):
        job = ZiRandomEffectsJob(result, statistic)
    else:
        design = state.design
        tmb = bool(result.glmmtmb_model)
        # re-estimated by the refits: glmmTMB models' family parameter, and a dispersion (which, unlike a
        # negative-binomial shape held as lme4's refits hold it, the family object does not carry)
        reestimated = state.family_parameter if tmb or design.family.has_dispersion else None
        job = _Job(uuid.uuid4().hex, design, state.theta, state.beta, result.nAGQ, result.data_name, statistic,
                   result._refit_hessian(), tmb, reestimated, state.theta_scale,
                   state.beta_zi, zero_inflation_probability(result) if state.beta_zi is not None else None,
                   result.family_parameters.get("dispersion"), state.beta_disp, varying_parameter_of(result))
    return run_bootstrap(job, _statistic_t0(result, statistic, state), int(nsim), seed,
                         resolve_workers(executor, n_jobs), progress)


def run_bootstrap(job, t0: pd.Series, nsim: int, seed, workers, progress: bool) -> BootstrapResult:
    """Run ``nsim`` replicates of ``job`` (its ``replicate(rng)``) in chunks on ``workers``
    (:func:`~glmmfast.fit._executors.resolve_workers`), replicate i from ``SeedSequence(seed).spawn(nsim)[i]``;
    ``t0`` the statistic on the fit (its names label the replicates' columns)."""
    ss = np.random.SeedSequence(seed)
    seeds = ss.spawn(nsim)
    nchunks = min(nsim, max(1, workers.threads * 8))
    chunks = [c.tolist() for c in np.array_split(np.arange(nsim), nchunks) if c.size]
    values = np.full((nsim, t0.size), np.nan)
    failures: list[tuple[int, str]] = []
    bar = progress_bar(nsim, progress, "bootstrap", "refit")

    def collect(rows):
        for i, v, err in rows:
            if err is None and v.size != t0.size:
                err = f"statistic returned {v.size} values, expected {t0.size}"
            if err is None:
                values[i] = v
            else:
                failures.append((i, err))
        if bar is not None:
            bar.update(len(rows))

    try:
        shared = workers.share(job)  # on a Dask cluster: one copy per worker, not one per chunk
        try:
            run_tasks(run_chunk, [(shared, c, [seeds[i] for i in c]) for c in chunks], workers.threads,
                      workers.executor, collect)
        finally:
            workers.unshare(shared)
    finally:
        if bar is not None:
            bar.close()
    failures.sort()
    reps = pd.DataFrame(values, columns=list(t0.index))
    return BootstrapResult(reps, t0, len(failures), failures, ss.entropy)
