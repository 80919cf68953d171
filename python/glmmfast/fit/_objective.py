"""The optimiser's objectives: the protocol every optimiser path calls, and how to make one.

Holds:

- :class:`OptimizerObjective`, the protocol nlopt and the drivers in
  :mod:`~glmmfast.fit._optimize` call: ``obj(x)`` / ``obj(x, grad)`` (counted,
  failure-tolerant: a PIRLS failure gives :data:`PENALTY`), ``evaluate(x)``
  (raw, raises), ``evaluations``, ``failures``, ``best_x``, ``best_f``,
  ``last_error``.  The engine's ``_core.Objective`` satisfies it natively
  (an evaluation costs no Python frame); so does :class:`FunctionObjective`.
- :class:`ObjectiveStage` and :func:`glmm_objective`: the engine's GLMM
  objectives of lme4's two stages (beta inside PIRLS; theta and beta
  jointly), with the estimated :class:`~glmmfast.fit._family_parameter.FamilyParameter`
  as one more coordinate.  The only place the engine's stage and
  parameter names (strings in the binding) are spelt.
- :class:`FunctionObjective`: a Python function as an objective, for the one
  criterion the engine cannot express (the profile deviance of
  :mod:`~glmmfast.inference._confint`, on the standard-deviation/correlation
  scale).

Why FunctionObjective is still here: ``_core.Objective`` can only be made
by the engine's factories (``glmm_objective``, ``lmm_objective``); its
constructor ``Objective(dim, eval, reset)`` is private
(``cpp/src/optim/objective.hpp``).  The binding change that removes this
class: make that constructor public (or add
``static Objective Objective::function(int dim, std::function<double(const
Eigen::VectorXd&)> eval, std::function<void()> reset)``) and expose it in
``cpp/src/python/bindings.cpp`` as ``m.def("function_objective", [](py::function
f, int dim, py::function reset) { ... })`` wrapping ``f`` in a lambda that
takes the GIL and converts ``py::error_already_set`` from ``PirlsError`` into
the Objective's failure path (a ``PirlsError`` thrown from ``eval_``).
Then ``FunctionObjective(fun, reset)`` becomes ``_core.function_objective(fun,
dim, reset)`` with the same counting, penalty and best-point logic (and
``quasi_newton`` would work on it too).
"""

from __future__ import annotations

import enum
from typing import Protocol

import numpy as np

from .. import _core
from ._family_parameter import FamilyParameter, engine_parameter_name

__all__ = ["PENALTY", "OptimizerObjective", "ObjectiveStage", "glmm_objective", "FunctionObjective"]

#: objective value for a point where PIRLS failed (the engine's Objective::penalty)
PENALTY = 1e15


class OptimizerObjective(Protocol):
    """What an optimiser path needs of an objective (``_core.Objective`` and :class:`FunctionObjective`)."""

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


def glmm_objective(model: "_core.GlmmModel", stage: ObjectiveStage, parameter: FamilyParameter | None = None,
                   theta_scale: float = 1.0, nAGQ: int = 1, beta_base: np.ndarray | None = None,
                   beta_scale: np.ndarray | None = None) -> "_core.Objective":
    """The engine's objective of ``stage`` on ``model``.

    Coordinates: theta / ``theta_scale``; in the joint stage then gamma, with
    beta = ``beta_base`` + ``beta_scale`` * gamma (default: beta itself);
    then the estimated ``parameter`` on its optimiser scale.  ``nAGQ`` picks
    the joint stage's approximation (1 Laplace, k > 1 adaptive
    Gauss-Hermite).
    """
    name = engine_parameter_name(parameter)
    if stage is ObjectiveStage.PROFILED_BETA:
        return _core.glmm_objective(model, stage.value, float(theta_scale), name)
    p = model.p if beta_base is None else len(beta_base)
    base = np.zeros(p) if beta_base is None else np.asarray(beta_base, dtype=float)
    scale = np.ones(p) if beta_scale is None else np.asarray(beta_scale, dtype=float)
    return _core.glmm_objective(model, stage.value, float(theta_scale), name, int(nAGQ), base, scale)


class FunctionObjective:
    """A Python function as an optimiser objective (:class:`OptimizerObjective`).

    Called as ``obj(x)`` or ``obj(x, grad)`` (nlopt), it counts evaluations,
    turns a PIRLS failure or a non-finite value into :data:`PENALTY` after
    calling ``reset()`` (the optimiser backs off instead of stopping) and
    keeps the best point; ``evaluate(x)`` is the raw function.  See the
    module docstring for the binding change that would make it an engine
    Objective.
    """

    def __init__(self, fun, reset=lambda: None):
        self.fun, self.reset = fun, reset
        self.evaluations = self.failures = 0
        self.best_x, self.best_f = None, np.inf
        self.last_error = ""

    def evaluate(self, x) -> float:
        return float(self.fun(np.asarray(x, dtype=float)))

    def __call__(self, x, grad=None) -> float:
        self.evaluations += 1
        try:
            f = self.evaluate(x)
        except _core.PirlsError as err:
            self.last_error, f = str(err), np.nan
        if not np.isfinite(f):
            self.failures += 1
            self.reset()
            return PENALTY
        if f < self.best_f:
            self.best_f, self.best_x = f, np.array(x, dtype=float)
        return f
