"""One fit state: what a finished mixed-model fit leaves behind, built by one function per model kind.

Holds :class:`FitState` (the design as fitted, theta, beta, the criterion,
the estimated :class:`~glmmfast.fit._family_parameter.FamilyParameter`, the
conditional modes, the optimiser's record with the gradient and Hessian at
the optimum once a result's checks have run, and the engine at the optimum,
rebuilt on demand after unpickling) and the
functions that make and use one:

- :func:`fit_glmm`: a GLMM fit from scratch (engine, GLM start, family
  parameter start, optimisation): ``glmer``, ``glmer_nb`` and r2's null model;
- :func:`optimize_glmm_state`: the optimisation of an existing engine from a
  given start, as a state: :func:`fit_glmm` and every refit
  (:class:`~glmmfast.results._refit.GlmerModel`, hence the bootstrap and
  fit_many);
- :func:`fit_lmm`: an LMM fit (``lmer``);
- :func:`glmm_engine_at` / :func:`lmm_engine_at`: an engine at a given
  optimum (a state's rebuilt engine, a refitting model's);
- :func:`laplace_hessian`: the Hessian of -2 log L in (theta, beta) from the
  exact gradient (central differences of it in one engine call), shared by the standard errors and the refits' warm start;
- :func:`joint_objective`: the joint objective at a state's optimum, in
  (theta, beta, family parameter) unscaled, for the derivative checks.

Dependency direction: design -> fit (this module) -> results -> inference.
Results are built from a state (``GlmerResult(state, data_name)``); refits,
the bootstrap and confint read a result's state and import downwards only.

The design of a state is the model *as fitted*: where the fit estimates a
parameter that lives in the family (the negative-binomial shape), the
state's design is a copy carrying the fitted family; the design handed to
the fit is never modified.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..design._design import ModelDesign
from ._engine import engine_model, glm_start, lmm_engine_model
from ._family_parameter import FamilyParameter, dispersion_parameter, with_dispersion
from ._objective import ObjectiveStage, glmm_objective
from ._optimize import optimize_glmer, optimize_lmer
from ._optimizer_info import OptimizerInfo, StageClock
from ._residuals import residuals_of
from ._dispersion_model import dispersion_start, modelled_parameter_start
from ._integrated_beta import fit_integrated_beta
from ._glmm_start import glmm_moment_theta_start, worth_a_glmm_moment_start
from ._lmm_start import moment_theta_start, worth_a_moment_start
from ._zero_inflation import (count_part_start_design, separable_zero_part_hessian, zero_inflation_start,
                              zero_part_information, zero_part_tail)

__all__ = ["FitState", "fit_glmm", "optimize_glmm_state", "pearson_dispersion", "fit_lmm", "glmm_engine_at", "lmm_engine_at",
           "laplace_hessian", "joint_objective"]


@dataclass(eq=False)
class FitState:
    """The state of a finished fit (GLMM or LMM).

    Attributes
    ----------
    design : ModelDesign
        The model as fitted (its family carries an estimated negative-binomial shape).
    theta, beta : ndarray
        The estimates.
    deviance : float
        The criterion at the optimum: the complete -2 log L of a GLMM (for
        nAGQ > 1 with the saturated part lme4 leaves out), the REML
        criterion or -2 log L of an LMM.
    info : OptimizerInfo
        The optimiser's record; its ``gradient`` and ``hessian`` are the
        derivatives at the optimum once the checks have run.
    nAGQ : int or None
        The GLMM's approximation (0, 1, k); None for an LMM.
    reml : bool or None
        The LMM's criterion; None for a GLMM.
    family_parameter : FamilyParameter or JointShapeParameters or None
        The family parameter(s) estimated with theta and beta, at the estimate
        (the Tweedie's dispersion and power together).
    u : ndarray or None
        Conditional modes at the optimum (a rebuilt engine starts PIRLS there).
    beta_zi : ndarray or None
        The zero-inflation coefficients (a design with a ziformula), else None.
    beta_disp : ndarray or None
        The dispersion model's coefficients (a design with a ``disp``
        component; empty for glmmTMB's fixed ``~0``), else None.
    integrated_beta : bool
        glmmTMB's REML for a gaussian dispersion model: beta integrated
        out, ``deviance`` the REML criterion (:mod:`glmmfast.fit._integrated_beta`).

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glmer_nb("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"))
    >>> state = fit._state
    >>> state.family_parameter.name, state.family.theta == state.family_parameter.value
    ('theta', True)
    """

    design: ModelDesign
    theta: np.ndarray
    beta: np.ndarray
    deviance: float
    info: OptimizerInfo
    nAGQ: int | None = None
    reml: bool | None = None
    family_parameter: FamilyParameter | None = None
    u: np.ndarray | None = field(default=None, repr=False)
    engine_at_optimum: object = field(default=None, repr=False)
    beta_zi: np.ndarray | None = None
    beta_disp: np.ndarray | None = None
    integrated_beta: bool = False

    @property
    def family(self):
        """The fitted family (with an estimated negative-binomial shape)."""
        return self.design.family

    @property
    def is_lmm(self) -> bool:
        return self.reml is not None

    @property
    def theta_scale(self) -> float:
        """Scale of the linear predictor theta was optimised on (see :class:`OptimizerInfo`)."""
        return self.info.theta_scale

    def engine(self):
        """The engine model at the optimum (rebuilt, once, where the state has none)."""
        if self.engine_at_optimum is None:
            if self.is_lmm:
                self.engine_at_optimum = lmm_engine_at(self.design, self.theta)
            else:
                self.engine_at_optimum = glmm_engine_at(self.design, self.theta, self.beta, self.family_parameter,
                                                        self.u, self.beta_zi, self.beta_disp)
        return self.engine_at_optimum

    def with_engine(self, engine) -> "FitState":
        """The same state holding ``engine`` (which must be at this optimum)."""
        return dataclasses.replace(self, engine_at_optimum=engine)

    def optimizer_point(self) -> np.ndarray:
        """(theta, beta, beta_zi, beta_disp, the estimated family parameter on its optimiser scale):
        :func:`joint_objective`'s x."""
        par = [] if self.family_parameter is None else self.family_parameter.optimizer_coordinates()
        zi = [] if self.beta_zi is None else self.beta_zi
        disp = [] if self.beta_disp is None else self.beta_disp
        return np.concatenate([self.theta, self.beta, zi, disp, par])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["engine_at_optimum"] = None  # engines do not pickle; rebuilt on demand
        return state


def glmm_engine_at(design: ModelDesign, theta: np.ndarray, beta: np.ndarray, parameter: FamilyParameter | None,
                   u: np.ndarray | None = None, beta_zi: np.ndarray | None = None,
                   beta_disp: np.ndarray | None = None):
    """A GLMM engine for ``design`` at (theta, beta, beta_zi, beta_disp) with the family parameter, PIRLS started
    from ``u``."""
    model = engine_model(design)
    if parameter is not None:
        parameter.set_on(model)
    if beta_zi is not None:
        model.set_beta_zi(np.asarray(beta_zi, dtype=float))
    if beta_disp is not None:
        model.set_beta_disp(np.asarray(beta_disp, dtype=float))
    if u is not None:
        model.set_u(u)
    model.deviance_at(theta, beta)
    return model


def lmm_engine_at(design: ModelDesign, theta: np.ndarray):
    """An LMM engine for ``design`` evaluated at ``theta``."""
    model = lmm_engine_model(design)
    model.evaluate(theta)
    return model


def joint_objective(model, parameter: FamilyParameter | None, nAGQ: int):
    """The joint objective of ``model`` in (theta, beta, parameter) unscaled (:meth:`FitState.optimizer_point`)."""
    return glmm_objective(model, ObjectiveStage.JOINT, parameter, 1.0, max(int(nAGQ), 1))


def laplace_hessian(model, x: np.ndarray, h: float | np.ndarray = 1e-4,
                    parameter: FamilyParameter | None = None, objective=None,
                    zero_part_hessian: Callable[[np.ndarray], np.ndarray] | None = None,
                    held: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact gradient and Hessian (central differences of it) of the Laplace -2 log L at ``x``:
    (theta, beta), then the zero-inflation coefficients of a zero-inflated engine and the
    estimated ``parameter`` on its optimiser scale (:meth:`FitState.optimizer_point`).

    None where the engine has no exact gradient.  Leaves the engine in the
    state its evaluation at ``x`` left where ``objective.has_neighbour_gradient``
    (an in-memory engine: cpp/src/optim/gradient_differences.hpp), else where
    the last difference left it: callers then re-evaluate at ``x``.  ``objective``: that joint objective of ``model``
    (:func:`joint_objective` with nAGQ = 1), whose gradient evaluations the
    caller counts; default a new one.  ``zero_part_hessian``: a separable zero
    part's exact Hessian in beta_zi
    (:func:`~glmmfast.fit._zero_inflation.separable_zero_part_hessian`), which
    replaces the differences in those coordinates (and 0 their cross terms).  ``held``: coordinates
    not differenced, their rows and columns 0 (zero-part coefficients held at their limit, -inf:
    :func:`~glmmfast.fit._zero_inflation.diverging_zero_part`).
    """
    objective = joint_objective(model, parameter, 1) if objective is None else objective
    if not objective.has_gradient:
        return None
    x = np.asarray(x, dtype=float)
    h = np.asarray(h, dtype=float)
    if h.shape != x.shape:  # a scalar step: one per coordinate
        h = np.full(x.shape, float(h))
    n_zi = int(model.n_zi)
    known = np.arange(0)
    if zero_part_hessian is not None and n_zi:
        start = x.size - n_zi - int(model.n_disp) - (0 if parameter is None else parameter.size)
        known = np.arange(start, start + n_zi)
    # One engine call: the 1 + 2d gradient evaluations without a Python frame each, each perturbed
    # point's modes by Newton steps from the optimum's (cpp/src/optim/gradient_differences.hpp)
    held = np.arange(0) if held is None else np.asarray(held, dtype=int)
    skip = np.union1d(known, held).tolist() if known.size or held.size else []
    grad, hess = (np.asarray(v) for v in objective.gradient_hessian(x, h, skip))
    if held.size:
        hess[held, :] = 0.0
        hess[:, held] = 0.0
    if known.size:  # the separable zero part's exact block, no cross terms
        hess[known, :] = 0.0
        hess[:, known] = 0.0
        hess[np.ix_(known, known)] = zero_part_hessian(x[known])
    return grad, hess


def _pearson_dispersion(design: ModelDesign, start: dict) -> FamilyParameter:
    """The dispersion's Pearson chi-squared over its residual df at ``start``'s means (``"mu"``, ``"eta"``):
    the GLM start's, or a GLMM's conditional means (stage 1's restart of phi)."""
    pearson = residuals_of(design.family, design.y, np.asarray(start["mu"]), np.asarray(start["eta"]),
                           design.weights, "pearson")
    return dispersion_parameter(pearson_dispersion(float(np.sum(pearson**2)), design.n, design.X.shape[1]))


def pearson_dispersion(chi2: float, n: int, p: int) -> float:
    """phi's moment estimate: the Pearson chi-squared ``chi2`` of ``n`` rows over its residual df
    n - p (at least 1), floored at 1e-8 (in memory and on partitioned rows, whose sums give chi2)."""
    return float(max(chi2 / max(n - p, 1), 1e-8))


def fit_glmm(design: ModelDesign, nAGQ: int, parameter: FamilyParameter | None = None,
             t0: float | None = None, integrated_beta: bool = False) -> FitState:
    """Fit a GLMM from scratch: engine, GLM start, optimisation (lme4's glmer stages).

    Parameters
    ----------
    design : ModelDesign
    nAGQ : int
    parameter : FamilyParameter, optional
        A family parameter to estimate, started at its value (the
        negative-binomial shape of glmer_nb, the Tweedie power).  A family with
        a dispersion estimates it too (started at the GLM's Pearson estimate;
        with another parameter, as :func:`~glmmfast.fit._family_parameter.with_dispersion`).
    t0 : float, optional
        ``time.perf_counter()`` when the caller started (the ``"design"``
        seconds run from it to the optimisation).
    integrated_beta : bool, default False
        With a dispersion model: glmmTMB's REML, beta integrated out
        (:func:`~glmmfast.fit._integrated_beta.fit_integrated_beta`).

    Returns
    -------
    FitState
        Holding its engine at the optimum.
    """
    t0 = time.perf_counter() if t0 is None else t0
    moment_start = worth_a_glmm_moment_start(design, parameter)  # the caller's parameter (glmer_nb's shape)
    model = engine_model(design)
    start_design = count_part_start_design(design)  # a hurdle's positive part only
    start_clock = StageClock()
    start = glm_start(start_design)
    start_seconds = start_clock.seconds()
    if design.zi is not None:
        model.set_beta_zi(zero_inflation_start(design, np.asarray(start["mu"])))
    dispersion_estimate = None
    if design.family.has_dispersion and (parameter is None or "dispersion" not in parameter.values):
        # a family with a dispersion estimates it, beside the caller's other parameters (the Tweedie power)
        dispersion = _pearson_dispersion(start_design, start)
        parameter = dispersion if parameter is None else with_dispersion(dispersion, parameter)
        if parameter is dispersion and design.disp is None and design.zi is None:
            # stage 1 restarts phi at the conditional means of its start (optimize_glmer)
            def dispersion_estimate(engine) -> float:
                return _pearson_dispersion(start_design, {"mu": np.asarray(engine.mu), "eta": np.asarray(engine.eta)}).value
    if design.disp is not None:
        # The dispersion model replaces the scalar parameter: its intercept starts at the scalar's start
        # (a shape given with the family object, e.g. NegativeBinomial(theta=2), where none is estimated).
        value, parameter = modelled_parameter_start(design.family, parameter)
        model.set_beta_disp(dispersion_start(design, value))
    # Families with a parameter come with links (inverse, 1/mu^2, identity)
    # whose linear predictor can be far from unit scale: theta starts and
    # moves on the scale of |eta| (capped at 1, the usual scale).
    theta_scale = 1.0
    if parameter is not None:
        theta_scale = float(min(1.0, max(np.mean(np.abs(np.asarray(start["eta"]) - design.offset)), 1e-300)))
    theta0 = np.asarray(model.initial_theta()) * theta_scale
    if moment_start:
        theta0 = glmm_moment_theta_start(design, start, theta0)
    t1 = time.perf_counter()
    # glmmTMB's REML (gaussian identity) starts at the ML optimum: there the nAGQ = 0 deviance (beta in PIRLS)
    # is the exact -2 log L profiled in beta, so stage 1 alone reaches it, without the joint stage
    state = optimize_glmm_state(model, design, 0 if integrated_beta else nAGQ, parameter, theta0,
                                np.asarray(start["beta"]), theta_scale, dispersion_estimate=dispersion_estimate,
                                measured_start=moment_start)
    if integrated_beta:
        state = fit_integrated_beta(model, design, state.theta, state.beta, state.beta_disp, t0, ml=state.info)
    state.info.seconds.update({"design": t1 - t0, "optimize": time.perf_counter() - t1})
    _add_start_stage(state.info, start_clock, start, start_seconds)
    state.info.factorization = model.factorization
    return state


def _add_start_stage(info: OptimizerInfo, clock: StageClock, start: dict, seconds: float) -> None:
    """The GLM start (R's glm.fit by IRLS, :func:`~glmmfast.fit._engine.glm_start`) as the fit's first stage."""
    info.add_stage("GLM start (IRLS)", "start", clock, deviance=float(start["deviance"]), optimizer="irls",
                   pirls_iterations=int(start["iterations"]), seconds=seconds, first=True)


def optimize_glmm_state(model, design: ModelDesign, nAGQ: int, parameter: FamilyParameter | None,
                        theta0: np.ndarray, beta0: np.ndarray, theta_scale: float, warm_start: bool = False,
                        hessian: np.ndarray | None = None, keep_engine: bool = True,
                        dispersion_estimate=None, measured_start: bool = False) -> FitState:
    """Optimise ``model`` (the engine of ``design``) from (theta0, beta0) and return the state at the optimum.

    ``parameter`` (estimated, started at its value) is set on the engine
    first; ``warm_start``, ``hessian``, ``dispersion_estimate`` and ``measured_start`` are
    :func:`~glmmfast.fit._optimize.optimize_glmer`'s (``measured_start`` set here too where every
    term is scalar).  ``keep_engine=False`` for an engine that moves on (a refitting model's): the
    state rebuilds its own when asked.
    """
    if parameter is not None:
        parameter.set_on(model)
    # Every term scalar: stage 1 from the curvature measured at theta0 too (optimize_glmer's measured_start;
    # not before AGQ, where it gained nothing: cbpp at nAGQ = 25, 78 evaluations instead of 77)
    measured_start = measured_start or (nAGQ <= 1 and all(t.k == 1 and t.nparams == 1 for t in design.terms))
    theta, beta, dev, info = optimize_glmer(model, theta0, beta0, nAGQ, parameter, theta_scale,
                                            warm_start=warm_start, hessian=hessian,
                                            dispersion_estimate=dispersion_estimate,
                                            zero_part_hessian=separable_zero_part_hessian(design),
                                            zero_part_information=zero_part_information(design),
                                            measured_start=measured_start, zero_part_tail=zero_part_tail(design))
    fitted = None if parameter is None else parameter.with_value(info.family_parameter)
    if fitted is not None:
        family = fitted.fitted_family(design.family)
        if family is not design.family:
            design = dataclasses.replace(design, family=family)
    beta_zi = np.array(model.beta_zi) if model.n_zi else None
    beta_disp = np.array(model.beta_disp) if design.disp is not None else None
    return FitState(design, np.asarray(theta), np.asarray(beta), float(dev), info, nAGQ=int(nAGQ),
                    family_parameter=fitted, u=np.array(model.u), engine_at_optimum=model if keep_engine else None,
                    beta_zi=beta_zi, beta_disp=beta_disp)


def fit_lmm(design: ModelDesign, reml: bool, t0: float | None = None) -> FitState:
    """Fit an LMM (lme4's lmer stages): engine, the profiled criterion minimised over theta from its
    moment start (:func:`~glmmfast.fit._lmm_start.moment_theta_start`) where that pays (many rows and an
    evaluation that is costly for its rows: :func:`~glmmfast.fit._lmm_start.worth_a_moment_start`), else
    lme4's."""
    t0 = time.perf_counter() if t0 is None else t0
    model = lmm_engine_model(design)
    t1 = time.perf_counter()
    theta0 = None
    if worth_a_moment_start(design, pattern_size=model.pattern_size):
        theta0 = moment_theta_start(design, np.asarray(model.initial_theta(), dtype=float))
    theta, crit, info = optimize_lmer(model, reml, theta0)
    info.seconds.update({"design": t1 - t0, "optimize": time.perf_counter() - t1})
    return FitState(design, np.asarray(theta), np.array(model.beta), float(crit), info, reml=bool(reml),
                    engine_at_optimum=model)
