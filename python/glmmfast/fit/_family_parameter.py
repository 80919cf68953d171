"""Family parameters as objects: what the outer optimisation estimates besides theta and beta.

Holds :class:`FamilyParameter` (one parameter of a distribution: its name,
value, the optimiser's transform and bounds, and whether it is estimated),
:func:`dispersion_parameter` and :func:`nb_shape_parameter` (the two the
engine estimates today: the dispersion phi of the Gamma, inverse Gaussian
and non-identity gaussian families, and the negative-binomial shape theta of
:func:`glmmfast.glmer_nb`), :func:`shape_parameter` (a shape parameter the
distribution holds by name: nbinom1's phi), :func:`power_parameter` (the
Tweedie power in (1, 2), on the logit scale between its bounds) and
:func:`engine_parameter_name`
(the name the engine's Objective knows an estimated parameter by).

The interface every caller uses, so that a new parameter (a Tweedie power,
a Student-t df, a zero-inflation probability) is one more constructor here
and not a new string in five files:

- ``parameter.to_optimizer()`` / ``parameter.from_optimizer(x)``: the value
  on the optimiser's scale (log for the positive parameters, the logit
  between the bounds for the Tweedie power) and back, and
  ``parameter.optimizer_derivative()`` (the delta method's factor);
  ``parameter.optimizer_lower``: the optimiser's bound on that scale;
- ``parameter.set_on(engine)``: hand the value to an engine GlmmModel;
- ``parameter.engine_name``: the engine's name of the parameter (its
  Objective's coordinates, ``cpp/src/optim/objective.hpp``);
- ``parameter.fitted_family(family)``: ``family`` with the value applied
  (the negative-binomial shape lives in the family; phi does not);
- ``parameter.with_value(v)``: the same parameter at another value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..families import Family

__all__ = ["FamilyParameter", "dispersion_parameter", "nb_shape_parameter", "shape_parameter",
           "power_parameter", "engine_parameter_name"]


@dataclass(frozen=True)
class FamilyParameter:
    """One parameter of a family, as the fit handles it.

    Attributes
    ----------
    name : str
        ``"dispersion"`` (phi) or ``"theta"`` (the negative-binomial shape).
    value : float
        Its value: the start before a fit, the estimate after it.
    engine_name : str
        The engine's name for it (``"dispersion"``, ``"nb_theta"``).
    lower : float
        Lower bound on the natural scale (0: both are positive, optimised
        on the log scale, which keeps them above it).
    estimated : bool
        Estimated with theta and beta (True), or held at ``value``.
    upper : float
        Upper bound on the natural scale.  Finite (the Tweedie power in
        (1, 2)): the optimiser's scale is the logit of (value - lower) /
        (upper - lower), glmmTMB's transform; infinite: the log scale.

    Examples
    --------
    >>> p = nb_shape_parameter(2.0)
    >>> p.name, round(p.from_optimizer(p.to_optimizer()), 12), p.with_value(3.0).value
    ('theta', 2.0, 3.0)
    """

    name: str
    value: float
    engine_name: str
    lower: float = 0.0
    estimated: bool = True
    upper: float = math.inf

    def to_optimizer(self) -> float:
        """The value on the optimiser's scale (log, or the logit between the bounds)."""
        if math.isfinite(self.upper):
            return math.log((self.value - self.lower) / (self.upper - self.value))
        return float(np.log([self.value])[0])

    def from_optimizer(self, x: float) -> float:
        """The value at optimiser coordinate ``x`` (exp, or the inverse logit between the bounds)."""
        if math.isfinite(self.upper):
            return self.lower + (self.upper - self.lower) / (1.0 + math.exp(-x))
        return float(np.exp(x))

    def optimizer_derivative(self) -> float:
        """d value / d x at the value: the delta method's factor from the optimiser's scale."""
        if math.isfinite(self.upper):
            return (self.value - self.lower) * (self.upper - self.value) / (self.upper - self.lower)
        return self.value

    @property
    def optimizer_lower(self) -> float:
        """The optimiser's lower bound (-inf: the log or logit scale keeps the value inside its bounds)."""
        return -math.inf if self.lower <= 0 or math.isfinite(self.upper) else math.log(self.lower)

    def with_value(self, value: float) -> "FamilyParameter":
        """The same parameter at ``value``."""
        return replace(self, value=float(value))

    def set_on(self, engine) -> None:
        """Give ``engine`` (a ``_core.GlmmModel``) this value."""
        if self.engine_name == "dispersion":
            engine.set_dispersion(self.value)
        elif self.engine_name == "nb_theta":
            engine.set_nb_theta(self.value)
        elif self.engine_name.startswith("shape:"):
            engine.set_shape(self.name, self.value)
        else:  # pragma: no cover -- only the constructors below make parameters
            raise ValueError(f"the engine has no family parameter {self.engine_name!r}")

    def fitted_family(self, family: Family) -> Family:
        """``family`` with this value (a new negative-binomial family for its shape; phi is not in the family)."""
        if self.name == "theta" or self.engine_name.startswith("shape:"):
            return family.with_shape(self.value)  # the NB2 shapes' and nbinom1's phi live in the family
        return family


def dispersion_parameter(value: float) -> FamilyParameter:
    """The dispersion phi (Gamma, inverse Gaussian, gaussian with a non-identity link)."""
    return FamilyParameter("dispersion", float(value), "dispersion")


def nb_shape_parameter(value: float) -> FamilyParameter:
    """The negative-binomial shape theta (Var y = mu + mu^2 / theta)."""
    return FamilyParameter("theta", float(value), "nb_theta")


def shape_parameter(name: str, value: float) -> FamilyParameter:
    """A shape parameter the distribution holds, by its engine name (nbinom1's ``"phi"``: Var y = mu (1 + phi))."""
    return FamilyParameter(name, float(value), f"shape:{name}")


def power_parameter(value: float) -> FamilyParameter:
    """The Tweedie power p in (1, 2), optimised as logit(p - 1) (glmmTMB's transform)."""
    return FamilyParameter("power", float(value), "shape:power", lower=1.0, upper=2.0)


def engine_parameter_name(parameter: FamilyParameter | None) -> str:
    """The engine Objective's name for an estimated parameter (``"none"`` for None or a fixed one)."""
    return parameter.engine_name if parameter is not None and parameter.estimated else "none"

