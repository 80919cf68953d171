"""The optimiser's record of a fit (``result.optinfo``): what each stage cost.

Holds :class:`OptimizerInfo` (the record: stages, totals, the gradient and
Hessian at the optimum, messages, seconds), :class:`StageClock` (a
stage's start: the time and the engine's PIRLS counter) and
:class:`CountedCalls` (a criterion that counts its evaluations).  Every stage of
every model class is added by one method, :meth:`OptimizerInfo.add_stage`,
so each stage is the same dict:

- ``name``: what the stage did, in words (e.g. "theta (beta in PIRLS)");
- ``kind``: one of :data:`STAGE_KINDS`: ``"start"`` (the GLM fit that starts
  a GLMM: IRLS), ``"stage 1"`` (theta with beta inside PIRLS, or an LMM's
  theta with beta and sigma profiled), ``"stage 2"`` (theta and beta
  jointly: Laplace, AGQ, or glmmTMB's REML), ``"hessian"`` (derivatives at
  the optimum: the standard errors and lme4's convergence checks),
  ``"irls"`` (a glm's fit);
- ``optimizer``: the methods the stage ran, in order (e.g. ``"bfgs"``,
  ``"lbfgs, bobyqa"`` where BOBYQA finished from L-BFGS's best point,
  ``"bfgs on central differences"`` for AGQ's stage 2, ``"irls"`` for a GLM's
  fit); ``""`` for the derivatives at the optimum, which run none;
- ``evaluations``: criterion evaluations (those with a gradient included);
- ``gradient_evaluations``: evaluations that also computed a gradient: the
  exact one, or (``exact_gradient`` False) central differences of the
  criterion, whose evaluations are among ``evaluations``;
- ``pirls_iterations``: (P)IRLS iterations the stage ran (the engine's
  counter over the stage; IRLS iterations for ``"start"`` and ``"irls"``);
- ``seconds``: wall-clock time of the stage;
- ``exact_gradient``, ``deviance``, ``status``: whether the stage's
  objective had the exact gradient, the criterion at its end, and the
  optimiser's status (nlopt's code; 0 where no optimiser ran).

The totals ``evaluations``, ``gradient_evaluations`` and
``pirls_iterations`` are the sums over the stages (the Hessian stage joins
when the standard errors are first computed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["OptimizerInfo", "StageClock", "CountedCalls", "STAGE_KINDS"]

#: the values of a stage's ``kind``, in the order a fit runs them
STAGE_KINDS = ("start", "stage 1", "stage 2", "hessian", "irls")


def _pirls_counter(engine) -> int:
    """The engine's cumulative PIRLS iteration count (0 for an engine without PIRLS: an LMM's)."""
    return int(getattr(engine, "pirls_iterations", 0)) if engine is not None else 0


class StageClock:
    """The start of a stage: the wall clock and ``engine``'s PIRLS counter (None: no engine)."""

    __slots__ = ("engine", "t0", "pirls0")

    def __init__(self, engine=None):
        self.engine = engine
        self.pirls0 = _pirls_counter(engine)
        self.t0 = time.perf_counter()

    def pirls_iterations(self) -> int:
        """PIRLS iterations the engine ran since the clock started."""
        return _pirls_counter(self.engine) - self.pirls0

    def seconds(self) -> float:
        return time.perf_counter() - self.t0


@dataclass
class OptimizerInfo:
    """Record of an optimisation (``result.optinfo``).

    Attributes
    ----------
    optimizer : str
        "lbfgs" where the exact gradient was used; "bfgs on central
        differences" where BFGS steps on central differences of the
        deviance finished the fit (AGQ's stage 2); else "bobyqa".  Each
        stage's methods are in its ``optimizer``.
    factorization : str
        The Cholesky factor the engine took: "sparse" (Eigen's sparse
        Cholesky in a fill-reducing order), "blocked" (the first term's
        diagonal blocks and a dense Schur complement), "diagonal" (one
        ``(1 | g)`` term) or "block-diagonal" (one ``(x | g)`` term).
    stages : list of dict
        One dict per stage, in the order they ran, each with the keys
        ``name``, ``kind``, ``optimizer``, ``evaluations``, ``gradient_evaluations``,
        ``pirls_iterations``, ``seconds``, ``exact_gradient``, ``deviance``
        and ``status`` (see :mod:`glmmfast.fit._optimizer_info`).
    evaluations : int
        Deviance evaluations over all stages (including the derivatives at
        the optimum once computed).
    gradient_evaluations : int
        Those of them that also computed the exact gradient.
    pirls_iterations : int
        (P)IRLS iterations over all stages.
    pirls_failures : int
        Trial points at which PIRLS failed and the optimiser backed off.
    gradient, hessian : ndarray
        Finite-difference derivatives of the deviance at the optimum w.r.t.
        (theta, beta).
    messages : list of str
        The optimiser's own messages (a joint stage that ended above its
        start, where the start is then reported); ``fit.messages`` begins
        with them.
    seconds : dict
        Wall-clock seconds by phase: ``design`` (formula to engine),
        ``optimize`` (the stages up to the optimum) and, once the standard
        errors are computed, ``derivatives``.
    family_parameter : float or None
        The estimated family parameter (phi or the negative-binomial theta).
    theta_scale : float
        Scale of the linear predictor the theta coordinates were optimised
        on (theta / theta_scale); 1 except for links such as inverse and
        1/mu^2 whose linear predictor is tiny.

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
    >>> _ = fit.vcov  # the standard errors add the Hessian stage
    >>> [s["kind"] for s in fit.optinfo.stages]
    ['start', 'stage 1', 'stage 2', 'hessian']
    >>> fit.optinfo.evaluations == sum(s["evaluations"] for s in fit.optinfo.stages)
    True
    """

    optimizer: str = "bobyqa"
    factorization: str = ""
    stages: list = field(default_factory=list)
    evaluations: int = 0
    gradient_evaluations: int = 0
    pirls_iterations: int = 0
    pirls_failures: int = 0
    gradient: np.ndarray | None = field(default=None, repr=False)
    hessian: np.ndarray | None = field(default=None, repr=False)
    messages: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    family_parameter: float | None = None
    theta_scale: float = 1.0

    def add_stage(self, name: str, kind: str, clock: StageClock, objectives=(), deviance: float = float("nan"),
                  status: int = 0, evaluations: int = 0, gradient_evaluations: int = 0,
                  pirls_iterations: int | None = None, seconds: float | None = None, first: bool = False,
                  optimizer: str | list[str] = "") -> dict:
        """Add a finished stage (started at ``clock``) and its counts to the totals.

        Parameters
        ----------
        name : str
        kind : str
            One of :data:`STAGE_KINDS`.
        clock : StageClock
            The stage's start (its seconds and PIRLS iterations run from it).
        objectives : sequence of engine objectives
            The objectives the stage evaluated: their ``evaluations``,
            ``gradient_evaluations`` and ``failures`` are added (each
            objective belongs to one stage).
        deviance, status : float, int
            The criterion at the stage's end and the optimiser's status.
        evaluations, gradient_evaluations : int
            Evaluations made other than through ``objectives``.
        pirls_iterations, seconds : optional
            Replace the clock's count and time (a stage whose work ran on
            other engines, or was timed elsewhere).
        first : bool
            Insert the stage before the others (a start timed before the
            record existed).
        optimizer : str or list of str
            The methods the stage ran, in order (a list is joined with ", ").

        Returns
        -------
        dict
            The stage.
        """
        if kind not in STAGE_KINDS:
            raise ValueError(f"unknown stage kind {kind!r}")
        evaluations, gradient_evaluations = int(evaluations), int(gradient_evaluations)
        exact_gradient = False
        for o in objectives:  # a plain loop: a small fit's stages are a measurable share of its time
            evaluations += int(o.evaluations)
            gradient_evaluations += int(getattr(o, "gradient_evaluations", 0))
            self.pirls_failures += int(o.failures)
            exact_gradient = exact_gradient or bool(getattr(o, "has_gradient", False))
        pirls = clock.pirls_iterations() if pirls_iterations is None else int(pirls_iterations)
        methods = optimizer if isinstance(optimizer, str) else ", ".join(optimizer)
        stage = {"name": name, "kind": kind, "optimizer": methods, "evaluations": evaluations,
                 "gradient_evaluations": gradient_evaluations, "pirls_iterations": pirls,
                 "seconds": clock.seconds() if seconds is None else float(seconds),
                 "exact_gradient": exact_gradient, "deviance": float(deviance), "status": int(status)}
        self.stages.insert(0, stage) if first else self.stages.append(stage)
        self.evaluations += stage["evaluations"]
        self.gradient_evaluations += stage["gradient_evaluations"]
        self.pirls_iterations += pirls
        return stage


class CountedCalls:
    """A criterion ``fun(x)`` that counts its calls: evaluations made outside an engine objective's counters
    (the finite differences at the optimum)."""

    __slots__ = ("fun", "calls")

    def __init__(self, fun):
        self.fun = fun
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.fun(x)
