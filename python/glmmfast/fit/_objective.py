"""The optimiser's objectives: the protocol every optimiser path calls, and how to make one.

Holds:

- :class:`OptimizerObjective`, the protocol nlopt and the drivers in
  :mod:`~glmmfast.fit._optimize` call: ``obj(x)`` / ``obj(x, grad)`` (counted,
  failure-tolerant: a PIRLS failure gives :data:`PENALTY`), ``evaluate(x)``
  (raw, raises), ``evaluations``, ``failures``, ``best_x``, ``best_f``,
  ``last_error``.  The engine's ``_core.Objective`` satisfies it natively
  (an evaluation costs no Python frame).
- :class:`ObjectiveStage` and :func:`glmm_objective`: the engine's GLMM
  objectives of lme4's two stages (beta inside PIRLS; theta and beta
  jointly), with the estimated :class:`~glmmfast.fit._family_parameter.FamilyParameter`
  as one more coordinate.  The only place the engine's stage and
  parameter names (strings in the binding) are spelt.
- :func:`function_objective`: a Python function as an engine objective, for
  the criteria the engine's objectives do not spell (the profile deviance of
  :mod:`~glmmfast.inference._confint`, on the standard-deviation/correlation
  scale; the zi-random-effects deviance with its gradient);
  :func:`differenced_objective`, one whose gradient is central differences of
  the function (the AGQ deviance, which has no exact gradient).

"""

from __future__ import annotations

import enum
from typing import Callable, Protocol

import numpy as np

from .. import _core
from ._derivatives import central_gradient
from ._family_parameter import FamilyParameter, engine_parameter_name

__all__ = ["PENALTY", "OptimizerObjective", "ObjectiveStage", "glmm_objective", "function_objective",
           "differenced_objective"]

#: objective value for a point where PIRLS failed (the engine's Objective::penalty)
PENALTY = 1e15


class OptimizerObjective(Protocol):
    """What an optimiser path needs of an objective (every ``_core.Objective``)."""

    evaluations: int
    failures: int
    best_x: np.ndarray | None
    best_f: float
    last_error: str

    def __call__(self, x, grad=None) -> float: ...

    def evaluate(self, x) -> float: ...


class ObjectiveStage(enum.Enum):
    """The engine's GLMM objectives (``cpp/src/optim/objective.hpp``)."""

    #: stage 1: theta (and the family parameter); beta moves inside PIRLS
    PROFILED_BETA = "profiled_beta"
    #: stage 2, and the derivatives at the optimum: theta, scaled beta (and the family parameter)
    JOINT = "joint"


def glmm_objective(model: "_core.GlmmModel | _core.PartitionedGlmm", stage: ObjectiveStage, parameter: FamilyParameter | None = None,
                   theta_scale: float = 1.0, nAGQ: int = 1, beta_base: np.ndarray | None = None,
                   beta_scale: np.ndarray | None = None) -> "_core.Objective":
    """The engine's objective of ``stage`` on ``model``.

    Coordinates: theta / ``theta_scale``; in the joint stage then gamma, with
    beta = ``beta_base`` + ``beta_scale`` * gamma (default: beta itself);
    then the estimated ``parameter`` on its optimiser scale (log, or the logit between finite bounds:
    ``parameter.optimizer_bounds()``, which the engine applies).  ``nAGQ`` picks
    the joint stage's approximation (1 Laplace, k > 1 adaptive
    Gauss-Hermite).
    """
    name = engine_parameter_name(parameter)
    bounds = parameter.optimizer_bounds() if name != "none" else []
    # A model on partitioned rows (fit/_partitioned.py) has the same objectives under its own name.
    make = _core.partitioned_glmm_objective if isinstance(model, _core.PartitionedGlmm) else _core.glmm_objective
    if stage is ObjectiveStage.PROFILED_BETA:
        return make(model, stage.value, float(theta_scale), name, bounds=bounds)
    p = model.p if beta_base is None else len(beta_base)
    base = np.zeros(p) if beta_base is None else np.asarray(beta_base, dtype=float)
    scale = np.ones(p) if beta_scale is None else np.asarray(beta_scale, dtype=float)
    return make(model, stage.value, float(theta_scale), name, int(nAGQ), base, scale, bounds)


def function_objective(fun: Callable[[np.ndarray], float], dim: int,
                       reset: Callable[[], None] | None = None,
                       gradient: Callable[[], np.ndarray] | None = None) -> "_core.Objective":
    """A Python function as an engine objective (:class:`OptimizerObjective`).

    Called as ``obj(x)`` or ``obj(x, grad)`` (nlopt), it counts evaluations,
    turns a PIRLS failure (``fun`` raising ``_core.PirlsError``) or a
    non-finite value into :data:`PENALTY` after calling ``reset()`` (the
    optimiser backs off instead of stopping) and keeps the best point, as the
    engine's own objectives do; ``evaluate(x)`` is the raw function.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for x a float vector of length ``dim``.
    dim : int
        Number of coordinates.
    reset : callable, optional
        Called after a failed evaluation.
    gradient : callable, optional
        ``gradient() -> ndarray``: the gradient at the point ``fun`` last evaluated (then the
        objective ``has_gradient``, for the gradient-based paths of
        :mod:`~glmmfast.fit._optimize`).

    Returns
    -------
    _core.Objective
    """
    return _core.function_objective(fun, int(dim), reset, gradient)


def differenced_objective(fun: Callable[[np.ndarray], float], dim: int, h: float,
                          reset: Callable[[], None] | None = None) -> "_core.Objective":
    """``fun`` as an engine objective (:func:`function_objective`) whose gradient is central differences of
    ``fun`` with step ``h`` at the point last evaluated (:func:`~glmmfast.fit._derivatives.central_gradient`:
    2 ``dim`` more calls of ``fun``, error O(h^2)), for the gradient-based paths of
    :mod:`~glmmfast.fit._optimize` on a criterion without an exact gradient.  A PIRLS failure in a
    difference is the objective's failure (the optimiser backs off)."""
    last: list[np.ndarray] = []

    def value(x: np.ndarray) -> float:
        last[:] = [np.array(x, dtype=float)]
        return fun(x)

    return function_objective(value, dim, reset, lambda: central_gradient(fun, last[0], h))
