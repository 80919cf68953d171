"""glmmTMB's outer parameters beyond lme4's, as its ``confint`` names them, for intervals and the bootstrap.

For the models only glmmTMB fits (:attr:`GlmerResult.glmmtmb_model`:
a ziformula, or a glmmTMB family such as nbinom1 or tweedie), glmmTMB's
``confint(fit, method = "Wald", full = TRUE)`` lists, after the conditional
fixed effects, the zero-inflation coefficients (``zi.<name>``) and the
family parameter as ``sigma`` (glmmTMB's ``sigma()``: theta for nbinom2,
phi for nbinom1 and tweedie, sqrt(phi) for the Gamma); this package adds
the Tweedie power (``power``, which glmmTMB 1.1.5's confint leaves out).

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
  tmb_parameter_names(state, profiled, dispersion_model)    the extra rows' names for a fit's state
                                (with the dispersion model's ``disp.<name>`` rows for intervals)
  tmb_parameter_values(state, profiled)   their estimates (natural scales) at a state
(profiled=False leaves out the Tweedie power, which refits hold fixed)
  sigma_exponent(family)        k above
  family_parameter_row(state)   the family parameter's row name and k (None without one)
"""

from __future__ import annotations

import numpy as np

__all__ = ["tmb_parameter_names", "tmb_parameter_values", "sigma_exponent", "family_parameter_row"]


def sigma_exponent(family) -> float:
    """k with sigma = value^k: 1/2 where glmmTMB's sigma() is sqrt(phi) (gaussian, Gamma), else 1.

    Examples
    --------
    >>> from glmmfast.families import Gamma, Tweedie
    >>> sigma_exponent(Gamma(link="log")), sigma_exponent(Tweedie())
    (0.5, 1.0)
    """
    return 0.5 if family.has_dispersion and not family.sigma_is_dispersion else 1.0


def family_parameter_row(state) -> tuple[str, float] | None:
    """The estimated family parameter's row: ``("sigma", k)`` (glmmTMB's sigma() = value^k), or, beside a
    dispersion model, the parameter's own name with k = 1 (the t's ``"df"``); None without one.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2")
    >>> family_parameter_row(m._state)
    ('sigma', 1.0)
    """
    if state.family_parameter is None:
        return None
    if state.beta_disp is not None:
        return state.family_parameter.name, 1.0
    return "sigma", sigma_exponent(state.family)


def tmb_parameter_names(state, profiled: bool = True, dispersion_model: bool = False) -> list[str]:
    """``zi.<name>`` per zero-inflation coefficient, ``disp.<name>`` per dispersion-model coefficient (with
    ``dispersion_model=True``: the intervals' rows, in the optimiser's order), ``sigma`` (an estimated family
    parameter), ``power`` (the Tweedie power on the profile likelihood; left out with ``profiled=False``), in
    that order.

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
    row = family_parameter_row(state)
    if row is not None:
        names.append(row[0])
    if profiled and state.profiled_parameter is not None:
        names.append(state.profiled_parameter.parameter.name)
    return names


def tmb_parameter_values(state, profiled: bool = True) -> np.ndarray:
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
    row = family_parameter_row(state)
    if row is not None:
        values.append(float(state.family_parameter.value) ** row[1])
    if profiled and state.profiled_parameter is not None:
        values.append(float(state.profiled_parameter.parameter.value))
    return np.asarray(values, dtype=float)
