"""Refitting a fitted GLMM to new responses (lme4's refit), without re-parsing.

Holds :class:`GlmerModel`, the low-level reusable model object: a
:class:`~glmmfast.design._design.ModelDesign` bound to its own engine model
(Z, the sparsity pattern and its symbolic analysis built once) and a warm
start (theta, beta, u).  :meth:`GlmerModel.refit` swaps the response in the
engine (``set_response``), optimises from the warm start and returns a
light :class:`RefitOutcome`; :meth:`GlmerModel.result` turns an outcome into a
full :class:`~glmmfast.GlmerResult` (its Hessian, vcov and convergence checks
computed only when first read).

One engine per thread: a GlmerModel is not thread-safe; :func:`per_thread`
keeps one per worker thread for the bootstrap and fit_many.
:func:`response_for` validates a new response.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import numpy as np

from .. import _core
from ..fit._derivatives import hessian_from_gradient
from ..design._design import ModelDesign
from ..fit._engine import engine_model, glm_start, set_family_parameter
from .._errors import DataError
from ..fit._optimize import OptimizerInfo, optimize_glmer

__all__ = ["GlmerModel", "RefitOutcome", "response_for", "per_thread"]

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


@dataclass
class RefitOutcome:
    """One refit: estimates, -2 log L and the optimiser's record."""

    theta: np.ndarray
    beta: np.ndarray
    deviance: float
    info: OptimizerInfo
    y: np.ndarray
    weights: np.ndarray
    #: re-estimated family parameter: ("dispersion", phi), ("nb_theta", theta) or None
    family_parameter: tuple[str, float] | None = None
    #: conditional modes at the optimum
    u: np.ndarray | None = None


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
        if design.family.name != "binomial":
            raise DataError("a two-column (successes, failures) response needs the binomial family")
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
    design.family.check_response(y, w)
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
    family_parameter : tuple, optional
        ``(kind, value)`` of a re-estimated dispersion or negative-binomial shape.
    theta_scale : float
    hessian : ndarray, optional
        The Hessian of -2 log L in (theta, beta) at (theta, beta) where it
        is known already (a fit's, computed with its standard errors);
        otherwise it is computed here where refits use one (Laplace, exact
        gradient).

    Examples
    --------
    >>> model = fit.model()                      # doctest: +SKIP
    >>> out = model.refit(fit.simulate(seed=1)[:, 0])   # doctest: +SKIP
    >>> out.beta, out.theta, out.deviance        # doctest: +SKIP
    """

    def __init__(self, design: ModelDesign, theta: np.ndarray, beta: np.ndarray, nAGQ: int = 1,
                 data_name: str | None = None, family_parameter: tuple[str, float] | None = None,
                 theta_scale: float = 1.0, hessian: np.ndarray | None = None):
        self.design = design
        self.nAGQ = int(nAGQ)
        self.data_name = data_name
        self.theta0 = np.asarray(theta, dtype=float).copy()
        self.beta0 = np.asarray(beta, dtype=float).copy()
        # A dispersion or negative-binomial shape is re-estimated with the
        # other parameters, from the original fit's value and scale.
        self.family_parameter = family_parameter
        self.theta_scale = float(theta_scale)
        self.engine = engine_model(design)
        if family_parameter is not None:
            set_family_parameter(self.engine, *family_parameter)
        self.engine.deviance_at(self.theta0, self.beta0)
        self.u0 = np.array(self.engine.u)
        # The Hessian in (theta, beta) at the start, where the exact gradient
        # gives it cheaply: refits then take quasi-Newton steps from it.
        self.hessian0 = None
        if self.nAGQ == 1 and family_parameter is None:
            obj = _core.glmm_objective(self.engine, "joint", 1.0, "none", 1, np.zeros(self.beta0.size),
                                       np.ones(self.beta0.size))
            if obj.has_gradient and hessian is not None:
                self.hessian0 = np.asarray(hessian, dtype=float)
            elif obj.has_gradient:  # as the fit's standard errors (GlmerResult.vcov) compute it
                x = np.concatenate([self.theta0, self.beta0])
                self.hessian0 = hessian_from_gradient(obj.gradient, x, 1e-4)[1]
                obj.evaluate(x)  # back at the start

    @classmethod
    def from_result(cls, result) -> "GlmerModel":
        """The model of a fitted :class:`~glmmfast.GlmerResult`, warm-started at its optimum."""
        return cls(result._design, result.theta, result.fixef.to_numpy(), result.nAGQ, result.data_name,
                   result._family_parameter, result.optinfo.theta_scale, result._refit_hessian())

    def refit(self, newresp, weights=None, warm_start: bool = True) -> RefitOutcome:
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
        RefitOutcome

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
        fp = self.family_parameter
        if fp is not None:
            set_family_parameter(eng, *fp)
        if warm_start:
            eng.set_u(self.u0)
            theta, beta, dev, info = optimize_glmer(eng, self.theta0, self.beta0, self.nAGQ, fp, self.theta_scale,
                                                    warm_start=True, hessian=self.hessian0)
        else:
            eng.set_u(np.zeros(eng.q))
            start = glm_start(dataclasses.replace(self.design, y=y, weights=w))
            theta, beta, dev, info = optimize_glmer(eng, np.asarray(eng.initial_theta()) * self.theta_scale,
                                                    np.asarray(start["beta"]), self.nAGQ, fp, self.theta_scale)
        if not np.isfinite(dev):
            raise _core.PirlsError("refit ended at a non-finite deviance")
        info.seconds["optimize"] = time.perf_counter() - t0
        est = None if fp is None else (fp[0], info.family_parameter)
        return RefitOutcome(np.asarray(theta), np.asarray(beta), float(dev), info, y, w, est, np.array(eng.u))

    def result(self, outcome: RefitOutcome, share_engine: bool = False):
        """A full :class:`~glmmfast.GlmerResult` for a refit.

        By default the result rebuilds an engine when it first needs one.
        ``share_engine=True`` lends it this model's engine (at the refit's
        optimum only until the next refit): for callers that read vcov or
        fitted values at once and then drop the result.

        Parameters
        ----------
        outcome : RefitOutcome
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
        from ._results import GlmerResult, _Fit

        design = dataclasses.replace(self.design, y=outcome.y, weights=outcome.weights)
        return GlmerResult(design, self.engine if share_engine else None,
                           _Fit(outcome.theta, outcome.beta, outcome.deviance, outcome.family_parameter, outcome.u),
                           outcome.info,
                           self.nAGQ, self.data_name)
