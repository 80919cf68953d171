"""Responses simulated from a fitted GLMM (lme4's simulate.merMod).

Holds :class:`PredictorDraws` (a linear predictor with some random-effects
terms drawn anew: the conditional one, and the zero-inflation one where the
ziformula has random effects), :class:`ResponseSimulator`, set up once for a fit and a set of rows
(the fitted rows or new data) and then drawing any number of responses,
and :func:`simulate`, the function behind :meth:`GlmerResult.simulate`.

Random-effects terms in ``re_form`` are held at their conditional modes
(b = 0 for levels the fit did not see); the others get new draws
b = sigma T_t u, u ~ N(0, I), per level (T_t: the term's relative
covariance factor, so Var(b) = sigma^2 T_t T_t').  Responses are on the
engine's scale: counts for Poisson and the negative binomial (a gamma-Poisson
mixture with shape theta: Var y = mu + mu^2/theta); for binomial, proportions
of the trials (the prior weights), 0/1 for a binary response; for a linear
mixed model (gaussian, identity link, ``sigma`` given), mu + sigma e / sqrt(w).
nbinom1, genpois, compois, the truncated Poisson, NB1 and NB2, beta, betabinomial (proportions
of the trials, as binomial) and Student t draw through the engine's samplers
(``cpp/src/family/``); with zero inflation (glmmTMB's ziformula) each draw
is then replaced by 0 with probability p.  With a dispersion model
(glmmTMB's dispformula) every family draws through the engine with its
parameter per row, exp(power betad) (``Family.simulate_varying``,
``cpp/src/family/varying_parameter.hpp``), at unit weights (the trials of
binomial and betabinomial), as glmmTMB's simulate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._arguments import check_nsim
from ..design._design import ModelDesign
from .._errors import DataError, FamilyError
from ..formula._model_frame import evaluate_response
from ._predict import dispersion_predictor, fixed_part, select_terms, term_rows, zero_inflation_probability
from ..design._re_terms import theta_blocks
from ..fit._dispersion_model import dispersion_model_parameter

__all__ = ["PredictorDraws", "ResponseSimulator", "simulate", "varying_parameter_of"]

#: families drawn by the engine's samplers
_ENGINE_DRAWS = ("nbinom1", "truncated_poisson", "truncated_nbinom2", "truncated_nbinom1", "genpois", "compois",
                 "beta", "betabinomial", "t", "Gamma", "tweedie")


def _trials_for(design: ModelDesign, newdata: pd.DataFrame | None) -> np.ndarray:
    """Binomial trials per row: the prior weights, or cbind totals / 1 on new data."""
    if newdata is None:
        m = design.weights
    else:
        m = np.ones(len(newdata))
        if design.response_kind == "cbind":
            try:
                vals = evaluate_response(design.parsed.response_expr, newdata).values
                m = vals[:, 0] + vals[:, 1]
            except DataError:
                pass  # response columns absent: one trial per row
    if np.any(np.abs(m - np.round(m)) > 1e-8):
        raise DataError("simulating a binomial response needs whole numbers of trials (prior weights)")
    return np.round(m).astype(np.int64)


class PredictorDraws:
    """A linear predictor with some random-effects terms drawn anew: eta = eta_fixed + sum over the
    drawn terms of X_t b_t, b_t = sigma T_t u, u ~ N(0, I) per level.

    Parameters
    ----------
    eta_fixed : ndarray
        The fixed part (X beta + offset) per row.
    terms : list of ReTerm
    theta : ndarray
        The terms' covariance parameters.
    b_blocks : list of ndarray
        Conditional modes per term, ``(nlevels, k)`` (used for the kept terms).
    keep : list of bool
        Per term: held at its modes (b = 0 for levels the fit did not see) or drawn anew.
    newdata : DataFrame, optional
    allow_new_levels : bool
    sigma : float, default 1
        The residual SD of a linear mixed model (1 for GLMMs).
    """

    def __init__(self, eta_fixed: np.ndarray, terms: list, theta: np.ndarray, b_blocks: list, keep: list,
                 newdata: pd.DataFrame | None = None, allow_new_levels: bool = False, sigma: float = 1.0):
        eta = eta_fixed
        self.sigma = sigma
        self._draws = []  # (X, codes into levels + new levels, nlevels, T)
        for t, T, b, k in zip(terms, theta_blocks(terms, theta), b_blocks, keep):
            rows = term_rows(t, newdata, allow_new_levels or not k)
            if k:
                seen = rows.codes >= 0
                eta = eta.copy()
                eta[seen] += np.einsum("ij,ij->i", rows.X[seen], b[rows.codes[seen]])
            else:
                codes = np.where(rows.codes >= 0, rows.codes, t.nlevels + rows.new_codes)
                self._draws.append((rows.X, codes, t.nlevels + len(rows.new_levels), T))
        self.eta_fixed = eta

    def draw(self, rng: np.random.Generator, nsim: int) -> np.ndarray:
        """eta with new random effects drawn, shape (n, nsim)."""
        eta = np.repeat(self.eta_fixed[:, None], nsim, axis=1)
        for X, codes, nlev, T in self._draws:
            u = rng.standard_normal((nlev, T.shape[0], nsim))
            b = self.sigma * np.einsum("ij,ljs->lis", T, u)  # b_l = sigma T u_l  (sigma = 1 for GLMMs)
            eta += np.einsum("ik,iks->is", X, b[codes])
        return eta


class ResponseSimulator:
    """Draws responses from a fitted model on fixed rows.

    Parameters
    ----------
    design : ModelDesign
    beta, theta : ndarray
        The fit's estimates.
    b_blocks : list of ndarray
        Conditional modes per term, ``(nlevels, k)``.
    re_form : None, str or float
        Terms to condition on (see :func:`~glmmfast.results._predict.select_terms`).
    newdata : DataFrame, optional
        Rows to simulate for (default: the fitted rows).
    allow_new_levels : bool
    offset : array-like, optional
        For ``newdata``: the offset of its rows (see
        :func:`~glmmfast.results._predict.fixed_part`).
    sigma : float, optional
        The residual SD of a linear mixed model (its random effects are
        sigma T u); required for, and only for, the gaussian family.
    zi_probability : ndarray, optional
        Per row, the probability of a structural zero (a ziformula).
    dispersion : float, optional
        The dispersion phi of the families with one that the engine draws
        (Gamma, tweedie).
    varying_parameter : (str, ndarray), optional
        A dispersion model's engine parameter (``"dispersion"`` or a shape's
        name) and its value per row: every family then draws through the
        engine, at unit weights (or trials).
    zi_predictor : PredictorDraws, optional
        The zero-inflation linear predictor with its random effects drawn
        anew (random effects in the ziformula), instead of ``zi_probability``.
    predictor : PredictorDraws, optional
        The conditional linear predictor with its kept and drawn terms already
        chosen (a model with random effects in the ziformula, whose ``re_form``
        covers both components), instead of the one built from ``beta``,
        ``theta``, ``b_blocks``, ``re_form``, ``newdata`` and ``offset``.
    """

    def __init__(self, design: ModelDesign, beta: np.ndarray, theta: np.ndarray, b_blocks: list[np.ndarray],
                 re_form="~0", newdata: pd.DataFrame | None = None, allow_new_levels: bool = False, offset=None,
                 sigma: float | None = None, zi_probability: np.ndarray | None = None,
                 dispersion: float | None = None, varying_parameter: tuple[str, np.ndarray] | None = None,
                 zi_predictor: "PredictorDraws | None" = None, predictor: "PredictorDraws | None" = None):
        fam = design.family
        lmm = fam.name == "gaussian" and fam.link == "identity" and sigma is not None
        if (fam.name not in ("poisson", "binomial", "negative.binomial") + _ENGINE_DRAWS and not lmm
                and varying_parameter is None):
            raise FamilyError(f"simulate is available for the poisson, binomial, negative binomial, "
                              f"{', '.join(_ENGINE_DRAWS)} families and linear mixed models, not "
                              f"{fam.name}({fam.link})")
        self.family = fam
        self.zi_probability = zi_probability
        self.varying_parameter = varying_parameter
        self.sigma = float(sigma) if lmm else 1.0
        if fam.has_dispersion and fam.name in _ENGINE_DRAWS and dispersion is None and varying_parameter is None:
            raise FamilyError(f"simulating the {fam.name} family needs its dispersion")
        self.dispersion = 1.0 if dispersion is None else float(dispersion)
        self.weights = design.weights if newdata is None else np.ones(len(newdata))
        if predictor is None:
            predictor = PredictorDraws(fixed_part(design, np.asarray(beta, dtype=float), newdata, offset),
                                       design.terms, theta, b_blocks, select_terms(design.terms, re_form),
                                       newdata, allow_new_levels, self.sigma)
        self.predictor = predictor
        self.zi_predictor = zi_predictor
        self.trials = _trials_for(design, newdata) if fam.trials_response else None

    @property
    def eta_fixed(self) -> np.ndarray:
        """eta without the random effects that are drawn anew."""
        return self.predictor.eta_fixed

    @property
    def n(self) -> int:
        return self.eta_fixed.size

    def linear_predictor(self, rng: np.random.Generator, nsim: int) -> np.ndarray:
        """eta with new random effects drawn, shape (n, nsim)."""
        return self.predictor.draw(rng, nsim)

    def draw(self, rng: np.random.Generator, nsim: int = 1) -> np.ndarray:
        """Simulated responses, shape (n, nsim); with zero inflation, each is 0 with probability p
        (p drawn anew with the zero-inflation random effects where ``zi_predictor`` is given)."""
        mu = np.asarray(self.family.linkinv(self.linear_predictor(rng, nsim).ravel()), dtype=float)
        y = self._conditional_draw(rng, mu.reshape(self.n, nsim))
        if self.zi_predictor is not None:
            p = 1.0 / (1.0 + np.exp(-self.zi_predictor.draw(rng, nsim)))
            y[rng.random(y.shape) < p] = 0.0
        elif self.zi_probability is not None:
            y[rng.random(y.shape) < self.zi_probability[:, None]] = 0.0
        return y

    def _conditional_draw(self, rng: np.random.Generator, mu: np.ndarray) -> np.ndarray:
        """Draws of the conditional distribution at means ``mu`` (n, nsim)."""
        if self.family.name in _ENGINE_DRAWS or self.varying_parameter is not None:  # the engine's samplers
            seed = int(rng.integers(2**63))
            # the trials of a family whose weights are trials, else the prior weights (ones with a
            # dispersion model, whose likelihood takes the weights as multipliers of the log density)
            weights = self.weights if self.varying_parameter is None else np.ones(self.n)
            weights = weights if self.trials is None else self.trials
            weights = np.broadcast_to(np.asarray(weights, dtype=float)[:, None], mu.shape)
            if self.varying_parameter is None:
                flat = self.family.engine.simulate(mu.ravel(order="F"), weights.ravel(order="F"), self.dispersion,
                                                   seed)
            else:
                name, values = self.varying_parameter
                flat = self.family.engine.simulate_varying(mu.ravel(order="F"), weights.ravel(order="F"), name,
                                                           np.tile(values, mu.shape[1]), self.dispersion, seed)
            return np.asarray(flat, dtype=float).reshape(mu.shape, order="F")
        if self.family.name == "poisson":
            return rng.poisson(mu).astype(float)
        if self.family.name == "negative.binomial":
            theta = self.family.theta  # numpy's (n, p) parametrisation: mean n (1 - p) / p = mu
            return rng.negative_binomial(theta, theta / (theta + mu)).astype(float)
        if self.family.name == "gaussian":
            return mu + self.sigma / np.sqrt(self.weights)[:, None] * rng.standard_normal(mu.shape)
        m = np.broadcast_to(self.trials[:, None], mu.shape)
        y = rng.binomial(m, np.clip(mu, 0.0, 1.0)).astype(float)
        return np.divide(y, m, out=np.zeros_like(y), where=m > 0)


def varying_parameter_of(result, newdata: pd.DataFrame | None = None) -> tuple[str, np.ndarray] | None:
    """A fit's dispersion model as :class:`ResponseSimulator` takes it: the engine's parameter and its value
    exp(power betad) per row of the fitted data or ``newdata`` (None without a dispersion model)."""
    if getattr(result, "fixef_disp", None) is None:
        return None
    name, power = dispersion_model_parameter(result.family)
    return name, np.exp(power * dispersion_predictor(result, newdata))


def simulate(result, nsim: int = 1, seed=None, re_form="~0", newdata: pd.DataFrame | None = None,
             allow_new_levels: bool = False, offset=None) -> np.ndarray:
    """Responses drawn from a fitted GLMM (see :meth:`GlmerResult.simulate`)."""
    nsim = check_nsim(nsim)
    varying = varying_parameter_of(result, newdata)
    blocks = [modes for _, modes, _ in result._ranef_parts()]
    zi = None if result.fixef_zi is None else zero_inflation_probability(result, newdata)
    sim = ResponseSimulator(result._design, result.fixef.to_numpy(), result.theta, blocks, re_form,
                            newdata, allow_new_levels, offset, zi_probability=zi,
                            dispersion=result.family_parameters.get("dispersion"), varying_parameter=varying)
    return sim.draw(np.random.default_rng(seed), int(nsim))
