"""Refitting a fitted GLMM to new responses (lme4's refit), without re-parsing.

Holds :class:`GlmerModel`, the low-level reusable model object: a
:class:`~glmmfast.design._design.ModelDesign` bound to its own engine model
(Z, the sparsity pattern and its symbolic analysis built once) and a warm
start (theta, beta, u).  :meth:`GlmerModel.refit` swaps the response in the
engine (``set_response``), optimises from the warm start and returns the
refit's :class:`~glmmfast.fit._fit_state.FitState` (made by
:func:`~glmmfast.fit._fit_state.optimize_glmm_state`, as every fit's);
:meth:`GlmerModel.result` turns it into a full :class:`~glmmfast.GlmerResult`
(its Hessian, vcov and convergence checks computed only when first read).

Imports go downwards only (fit, then results/_results); the result's
``model()``/``refit()`` methods reach this module with a lazy import.

One engine per thread: a GlmerModel is not thread-safe; :func:`per_thread`
keeps one per worker thread for the bootstrap and fit_many.
:func:`response_for` validates a new response.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np

from .. import _core
from ..design._design import ModelDesign
from .._errors import DataError
from ..fit._engine import glm_start
from ..fit._family_parameter import FamilyParameter
from ..fit._zero_inflation import zero_inflation_start
from ..fit._fit_state import FitState, glmm_engine_at, joint_objective, laplace_hessian, optimize_glmm_state
from ..fit._integrated_beta import fit_integrated_beta
from ._results import GlmerResult

__all__ = ["GlmerModel", "response_for", "per_thread"]

_local = threading.local()


def per_thread(token: str, build):
    """This thread's object for the job ``token``, built by ``build()`` on first use.

    Engines are not thread-safe, so parallel jobs keep one per worker thread
    (and per process, for pickled work); each thread holds the latest job only.
    """
    cached = getattr(_local, "job", None)
    if cached is None or cached[0] != token:
        _local.job = cached = (token, build())
    return cached[1]


def response_for(design: ModelDesign, newresp, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """A new response on the engine's scale, checked against the design.

    ``newresp`` is a vector of length n (counts for Poisson; 0/1 or
    proportions for binomial), or for binomial an (n, 2) array of
    successes and failures (the weights become the trials, as ``cbind``).
    """
    y = np.asarray(newresp, dtype=float)
    w = design.weights if weights is None else np.asarray(weights, dtype=float).reshape(-1)
    n = design.n
    if y.ndim == 2 and y.shape == (n, 2):
        if not design.family.trials_response:
            raise DataError("a two-column (successes, failures) response needs the binomial or betabinomial family")
        if np.any(y < 0):
            raise DataError("successes and failures must be non-negative")
        m = y.sum(axis=1)
        w = (np.ones(n) if weights is None else w) * m
        y = np.divide(y[:, 0], m, out=np.zeros(n), where=m > 0)
    elif y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"new response must have length {n} (the fitted rows), got shape {y.shape}")
    if w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise DataError(f"weights must be {n} finite non-negative numbers")
    if np.any(~np.isfinite(y)):
        raise DataError("new response has non-finite values")
    nonzero = y != 0 if design.zi is not None else slice(None)  # zeros of a zero-inflated model are its zero part's
    design.family.check_response(y[nonzero], w[nonzero])
    return np.ascontiguousarray(y), np.ascontiguousarray(w)


class GlmerModel:
    """A GLMM design bound to an engine, for repeated refits.

    Parameters
    ----------
    design : ModelDesign
    theta, beta : ndarray
        Warm start (usually a fit's estimates).
    nAGQ : int
    data_name : str, optional
    family_parameter : FamilyParameter, optional
        A family parameter (dispersion or negative-binomial shape)
        re-estimated by every refit, started at its value.
    theta_scale : float
    hessian : ndarray, optional
        The Hessian of -2 log L in (theta, beta) at (theta, beta) where it
        is known already (a fit's, computed with its standard errors);
        otherwise it is computed here where refits use one (Laplace, exact
        gradient).
    beta_zi, beta_disp : ndarray, optional
        The zero-inflation and dispersion-model coefficients' warm start.
    integrated_beta : bool, default False
        glmmTMB's REML of a gaussian dispersion model (beta integrated out,
        :mod:`~glmmfast.fit._integrated_beta`): every refit maximises the
        REML criterion of its own response, as glmmTMB's ``refit`` of a
        ``REML = TRUE`` fit.

    Examples
    --------
    >>> model = fit.model()                      # doctest: +SKIP
    >>> out = model.refit(fit.simulate(seed=1)[:, 0])   # doctest: +SKIP
    >>> out.beta, out.theta, out.deviance        # doctest: +SKIP
    """

    def __init__(self, design: ModelDesign, theta: np.ndarray, beta: np.ndarray, nAGQ: int = 1,
                 data_name: str | None = None, family_parameter: FamilyParameter | None = None,
                 theta_scale: float = 1.0, hessian: np.ndarray | None = None, beta_zi: np.ndarray | None = None,
                 beta_disp: np.ndarray | None = None, integrated_beta: bool = False):
        self.design = design
        self.integrated_beta = bool(integrated_beta)
        # zero-inflation and dispersion-model coefficients (a ziformula, a dispformula): re-estimated from the fit's
        self.beta_zi0 = None if beta_zi is None else np.asarray(beta_zi, dtype=float).copy()
        self.beta_disp0 = None if beta_disp is None else np.asarray(beta_disp, dtype=float).copy()
        self.nAGQ = int(nAGQ)
        self.data_name = data_name
        self.theta0 = np.asarray(theta, dtype=float).copy()
        self.beta0 = np.asarray(beta, dtype=float).copy()
        # A dispersion or negative-binomial shape is re-estimated with the
        # other parameters, from the original fit's value and scale.
        self.family_parameter = family_parameter
        self.theta_scale = float(theta_scale)
        self.engine = glmm_engine_at(design, self.theta0, self.beta0, family_parameter, beta_zi=self.beta_zi0,
                                     beta_disp=self.beta_disp0)
        self.u0 = np.array(self.engine.u)
        # The Hessian in (theta, beta) at the start, where the exact gradient
        # gives it cheaply: refits then take quasi-Newton steps from it (a model
        # with coordinates after beta measures its own at the start).
        self.hessian0 = None
        if (self.nAGQ == 1 and family_parameter is None and self.beta_zi0 is None and self.beta_disp0 is None
                and self.engine.has_laplace_gradient):
            if hessian is not None:
                self.hessian0 = np.asarray(hessian, dtype=float)
            else:  # as the fit's standard errors (GlmerResult.vcov) compute it
                x = np.concatenate([self.theta0, self.beta0])
                objective = joint_objective(self.engine, None, 1)
                self.hessian0 = laplace_hessian(self.engine, x, objective=objective)[1]
                if not objective.has_neighbour_gradient:  # (else the engine's Hessian returned there)
                    self.engine.deviance_at(self.theta0, self.beta0)  # back at the start

    @classmethod
    def from_result(cls, result) -> "GlmerModel":
        """The model of a fitted :class:`~glmmfast.GlmerResult`, warm-started at its optimum."""
        state = result._state
        return cls(state.design, state.theta, state.beta, state.nAGQ, result.data_name, state.family_parameter,
                   state.theta_scale, None if state.integrated_beta else result._refit_hessian(), state.beta_zi,
                   state.beta_disp, state.integrated_beta)

    def refit(self, newresp, weights=None, warm_start: bool = True) -> FitState:
        """Fit the model to a new response.

        Parameters
        ----------
        newresp : array-like
            See :func:`response_for`.
        weights : array-like, optional
            New prior weights (default: the design's).
        warm_start : bool
            Start at the stored estimates and skip stage 1 (see
            :func:`~glmmfast.fit._optimize.optimize_glmer`); False fits from the
            GLM start through both stages, as :func:`glmmfast.glmer`.

        Returns
        -------
        FitState
            The refit's state: ``theta``, ``beta``, ``deviance``, ``info``
            (the optimiser's record), ``family_parameter``, ``u``, and its
            ``design`` with the new response and weights.

        Raises
        ------
        glmmfast._core.PirlsError
            PIRLS failed at the final estimates (failures at trial points
            are counted in ``info.pirls_failures`` instead).

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> model = fit.model()
        >>> out = model.refit(fit.simulate(1, seed=1)[:, 0])
        >>> out.theta.shape, out.beta.shape, bool(out.deviance > 0)
        ((1,), (3,), True)
        """
        y, w = response_for(self.design, newresp, weights)
        t0 = time.perf_counter()
        eng = self.engine
        eng.set_response(y, w)
        design = dataclasses.replace(self.design, y=y, weights=w)
        if self.beta_disp0 is not None:  # from the fit's dispersion model, warm or cold
            eng.set_beta_disp(self.beta_disp0)
        if warm_start:
            eng.set_u(self.u0)
            theta0, beta0 = self.theta0, self.beta0
            if self.beta_zi0 is not None:
                eng.set_beta_zi(self.beta_zi0)
        else:
            eng.set_u(np.zeros(eng.q))
            theta0 = np.asarray(eng.initial_theta()) * self.theta_scale
            start = glm_start(design)
            beta0 = np.asarray(start["beta"])
            if self.beta_zi0 is not None:
                eng.set_beta_zi(zero_inflation_start(design, np.asarray(start["mu"])))
        if self.integrated_beta:  # the REML criterion in (theta, beta_disp), from the fit's beta_disp
            state = dataclasses.replace(fit_integrated_beta(eng, design, theta0, beta0, self.beta_disp0, t0),
                                        engine_at_optimum=None)
        else:
            state = optimize_glmm_state(eng, design, self.nAGQ, self.family_parameter, theta0, beta0,
                                        self.theta_scale, warm_start=warm_start,
                                        hessian=self.hessian0 if warm_start else None, keep_engine=False)
        if not np.isfinite(state.deviance):
            raise _core.PirlsError("refit ended at a non-finite deviance")
        state.info.seconds["optimize"] = time.perf_counter() - t0
        return state

    def result(self, outcome: FitState, share_engine: bool = False) -> GlmerResult:
        """A full :class:`~glmmfast.GlmerResult` for a refit.

        By default the result rebuilds an engine when it first needs one.
        ``share_engine=True`` lends it this model's engine (at the refit's
        optimum only until the next refit): for callers that read vcov or
        fitted values at once and then drop the result.

        Parameters
        ----------
        outcome : FitState
            What :meth:`refit` returned.
        share_engine : bool, default False

        Returns
        -------
        GlmerResult

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> model = fit.model()
        >>> res = model.result(model.refit(fit.simulate(1, seed=1)[:, 0]))
        >>> type(res).__name__, list(res.fixef.index)
        ('GlmerResult', ['(Intercept)', 'YEAR96', 'YEAR97'])
        """
        return GlmerResult(outcome.with_engine(self.engine) if share_engine else outcome, self.data_name)
