"""glmmTMB's outer parameters beyond lme4's, as its ``confint`` names them, for intervals and the bootstrap.

For the models only glmmTMB fits (:attr:`GlmerResult.glmmtmb_model`:
a ziformula, or a glmmTMB family such as nbinom1 or tweedie), glmmTMB's
``confint(fit, method = "Wald", full = TRUE)`` lists, after the conditional
fixed effects, the zero-inflation coefficients (``zi.<name>``) and the
family parameter as ``sigma`` (glmmTMB's ``sigma()``: theta for nbinom2,
phi for nbinom1 and tweedie, sqrt(phi) for the Gamma); this package adds
the other family parameters estimated with it by name (the Tweedie
``power``, which glmmTMB 1.1.5's confint leaves out, on its logit(p - 1)
scale; the t's ``df``).

The optimiser's coordinate of the family parameter is log(value)
(``FamilyParameter.to_optimizer``), and log sigma = k log(value) with
k = 1/2 where sigma is sqrt(phi) (:func:`sigma_exponent`), 1 otherwise:
glmmTMB's Wald interval for sigma is exp(log sigma-hat +- z se(log sigma)),
se(log sigma) = k se(log value).

With a dispersion model (dispformula) sigma varies by row: its
coefficients are the ``disp.<name>`` rows of the bootstrap's statistic
(:mod:`~glmmfast.results._bootstrap`), and a family parameter still
estimated as a scalar (the t's df) is a row of its own name, on its own
scale (k = 1).

Interface:
  tmb_parameter_names(state, dispersion_model)    the extra rows' names for a fit's state
                                (with the dispersion model's ``disp.<name>`` rows for intervals)
  tmb_parameter_values(state)   their estimates (natural scales) at a state
  sigma_exponent(family)        k above
  family_parameter_rows(state)  the family parameters' row names, parameters and k ([] without one)
"""

from __future__ import annotations

import numpy as np

__all__ = ["tmb_parameter_names", "tmb_parameter_values", "sigma_exponent", "family_parameter_rows"]


def sigma_exponent(family) -> float:
    """k with sigma = value^k: 1/2 where glmmTMB's sigma() is sqrt(phi) (gaussian, Gamma), else 1.

    Examples
    --------
    >>> from glmmfast.families import Gamma, Tweedie
    >>> sigma_exponent(Gamma(link="log")), sigma_exponent(Tweedie())
    (0.5, 1.0)
    """
    return 0.5 if family.has_dispersion and not family.sigma_is_dispersion else 1.0


def family_parameter_rows(state) -> list[tuple[str, object, float]]:
    """(row name, parameter, k) per estimated family parameter, in the optimiser's order: the first
    ``("sigma", parameter, k)`` (glmmTMB's sigma() = value^k) or, beside a dispersion model, its own name
    with k = 1 (the t's ``"df"``, the Tweedie ``"power"``); the others by their own names, k = 1 (the
    Tweedie ``"power"`` beside its dispersion); [] without one.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2")
    >>> [(name, k) for name, _, k in family_parameter_rows(m._state)]
    [('sigma', 1.0)]
    """
    if state.family_parameter is None:
        return []
    first, *others = state.family_parameter.parts
    row = (first.name, first, 1.0) if state.beta_disp is not None else ("sigma", first, sigma_exponent(state.family))
    return [row] + [(p.name, p, 1.0) for p in others]


def tmb_parameter_names(state, dispersion_model: bool = False) -> list[str]:
    """``zi.<name>`` per zero-inflation coefficient, ``disp.<name>`` per dispersion-model coefficient (with
    ``dispersion_model=True``: the intervals' rows, in the optimiser's order), then the family parameters'
    rows (:func:`family_parameter_rows`: ``sigma``, the Tweedie ``power``), in that order.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2", ziformula="~1")
    >>> tmb_parameter_names(m._state)
    ['zi.(Intercept)', 'sigma']
    """
    names = [] if state.beta_zi is None else [f"zi.{n}" for n in state.design.zi.x_names]
    if dispersion_model and state.beta_disp is not None:
        names += [f"disp.{n}" for n in state.design.disp.x_names]
    return names + [name for name, _, _ in family_parameter_rows(state)]


def tmb_parameter_values(state) -> np.ndarray:
    """The estimates of :func:`tmb_parameter_names` at ``state`` (sigma as glmmTMB's sigma()).

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2", ziformula="~1")
    >>> bool(tmb_parameter_values(m._state)[1] == m.family_parameters["theta"])
    True
    """
    values = [] if state.beta_zi is None else list(np.asarray(state.beta_zi, dtype=float))
    values += [float(p.value) ** k for _, p, k in family_parameter_rows(state)]
    return np.asarray(values, dtype=float)
