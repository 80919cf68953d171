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
(the name the engine's Objective knows an estimated parameter by) and
:func:`gradient_parameter_names` (the names the engine's exact gradients
take the log parameters by).

The interface every caller uses, so that a new parameter (a Tweedie power,
a Student-t df, a zero-inflation probability) is one more constructor here
and not a new string in five files:

- ``parameter.to_optimizer()`` / ``parameter.from_optimizer(x)``: the value
  on the optimiser's scale (log for the positive parameters, the logit
  between the bounds for the Tweedie power) and back, and
  ``parameter.optimizer_derivative()`` (the delta method's factor);
  ``parameter.optimizer_lower``: the optimiser's bound on that scale;
  ``parameter.optimizer_bounds()``: the natural-scale bounds the engine's
  objective maps each coordinate with (``cpp/src/optim/objective.hpp``);
  ``parameter.limit_message``: a message where a bounded parameter stopped
  at its optimiser bound (no interior maximum);
- ``parameter.set_on(engine)``: hand the value to an engine GlmmModel;
- ``parameter.engine_name``: the engine's name of the parameter (its
  Objective's coordinates, ``cpp/src/optim/objective.hpp``);
- ``parameter.fitted_family(family)``: ``family`` with the value applied
  (the negative-binomial shape lives in the family; phi does not);
- ``parameter.with_value(v)``: the same parameter at another value.

Where a family estimates several parameters at once (the t's sigma and
df, the Tweedie's dispersion and power), :class:`JointShapeParameters` offers the same interface over one
coordinate per part (values as tuples); callers that handle either use
``size``, ``optimizer_coordinates()``, ``optimizer_lowers()``,
``estimate_from(x)`` (the value at the last ``size`` coordinates of x),
``values``, ``parts`` and ``coordinate_names``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..families import Family

#: a parameter bounded on both sides stays within +-this on its logit scale (the optimiser's lower bound;
#: a Tweedie power within 5e-5 of 1), where the likelihood keeps increasing towards a bound
_BOUNDED_LIMIT = 10.0

__all__ = ["FamilyParameter", "JointShapeParameters", "dispersion_parameter", "nb_shape_parameter",
           "shape_parameter", "joint_shape_parameters", "power_parameter", "with_dispersion", "engine_parameter_name",
           "gradient_parameter_names"]


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
        """The optimiser's lower bound (-inf: the log scale keeps the value above 0; -_BOUNDED_LIMIT on the
        logit scale between finite bounds, where the value is within e^-10 of its lower bound)."""
        if math.isfinite(self.upper):
            return -_BOUNDED_LIMIT
        return -math.inf if self.lower <= 0 else math.log(self.lower)

    def optimizer_bounds(self) -> list[tuple[float, float]]:
        """(lower, upper) on the natural scale per coordinate: the engine's objective maps a coordinate on
        the logit scale between finite bounds, on the log scale otherwise."""
        return [(self.lower, self.upper)]

    @property
    def parts(self) -> tuple["FamilyParameter", ...]:
        """The parameters, one per coordinate (itself)."""
        return (self,)

    @property
    def limit_message(self) -> str | None:
        """A convergence message where the estimate stopped at the optimiser's bound of a parameter bounded
        on both sides (its likelihood increasing all the way towards the bound), else None."""
        if not math.isfinite(self.upper) or self.to_optimizer() > -_BOUNDED_LIMIT + 1e-6:
            return None
        return (f"the {self.name} went to its limit ({self.value:.6g}): the likelihood increases all the way "
                "towards its bound, so it has no interior maximum and no standard error")

    def with_value(self, value: float) -> "FamilyParameter":
        """The same parameter at ``value``."""
        return replace(self, value=float(value))

    #: optimiser coordinates it takes
    size = 1

    def optimizer_coordinates(self) -> np.ndarray:
        """Its coordinates on the optimiser's scale (one)."""
        return np.array([self.to_optimizer()])

    def optimizer_lowers(self) -> np.ndarray:
        """The optimiser's lower bounds of its coordinates."""
        return np.array([self.optimizer_lower])

    def estimate_from(self, x: np.ndarray) -> float:
        """The value at the last coordinate of optimiser vector ``x``."""
        return self.from_optimizer(x[-1])

    @property
    def values(self) -> dict[str, float]:
        """``{name: value}``."""
        return {self.name: float(self.value)}

    @property
    def coordinate_names(self) -> list[str]:
        """glmmTMB's name of its coordinate in ``vcov(full = TRUE)``: its dispersion model's intercept, or the
        family parameter's own name (the t's ``"Student-t df"``, estimated beside a dispersion model)."""
        return [_TMB_COORDINATE_NAMES.get(self.name, "d~(Intercept)")]

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
        """``family`` with this value (a new negative-binomial family for its shape; phi is not in the family;
        a family holding several shapes, the t, takes it by name: its df beside a dispersion model)."""
        if self.name == "theta" or self.engine_name.startswith("shape:"):
            with_shapes = getattr(family, "with_shapes", None)
            if with_shapes is not None:
                return with_shapes({self.name: self.value})
            return family.with_shape(self.value)  # the NB2 shapes' and nbinom1's phi live in the family
        return family


@dataclass(frozen=True)
class JointShapeParameters:
    """Several shape parameters of one distribution estimated together (the t's sigma and df), one
    log-scale optimiser coordinate each, with :class:`FamilyParameter`'s interface (values as tuples).

    Attributes
    ----------
    parts : tuple of FamilyParameter
        The shape parameters (:func:`shape_parameter`), in coordinate order.

    Examples
    --------
    >>> p = joint_shape_parameters({"sigma": 0.8, "df": 5.0})
    >>> p.engine_name, p.size, p.with_value((1.0, 4.0)).values
    ('shape:sigma,df', 2, {'sigma': 1.0, 'df': 4.0})
    """

    parts: tuple[FamilyParameter, ...]
    estimated: bool = True

    @property
    def name(self) -> str:
        return ",".join(p.name for p in self.parts)

    @property
    def value(self) -> tuple[float, ...]:
        return tuple(p.value for p in self.parts)

    @property
    def engine_name(self) -> str:
        return "shape:" + self.name

    @property
    def size(self) -> int:
        return len(self.parts)

    @property
    def values(self) -> dict[str, float]:
        return {p.name: float(p.value) for p in self.parts}

    @property
    def coordinate_names(self) -> list[str]:
        """glmmTMB's names: the dispersion intercept (the first part), then the family parameters'."""
        return ["d~(Intercept)"] + [_TMB_COORDINATE_NAMES.get(p.name, p.name) for p in self.parts[1:]]

    def optimizer_coordinates(self) -> np.ndarray:
        return np.array([p.to_optimizer() for p in self.parts])

    def optimizer_lowers(self) -> np.ndarray:
        return np.array([p.optimizer_lower for p in self.parts])

    def optimizer_bounds(self) -> list[tuple[float, float]]:
        return [b for p in self.parts for b in p.optimizer_bounds()]

    @property
    def limit_message(self) -> str | None:
        """The first part's :attr:`FamilyParameter.limit_message` that is not None, else None."""
        return next((m for m in (p.limit_message for p in self.parts) if m), None)

    def estimate_from(self, x: np.ndarray) -> tuple[float, ...]:
        """The values at the last ``size`` coordinates of optimiser vector ``x``."""
        tail = np.asarray(x, dtype=float)[len(x) - self.size:]
        return tuple(p.from_optimizer(t) for p, t in zip(self.parts, tail))

    def with_value(self, value) -> "JointShapeParameters":
        """The same parameters at the values ``value`` (one per part)."""
        return replace(self, parts=tuple(p.with_value(v) for p, v in zip(self.parts, value)))

    def set_on(self, engine) -> None:
        for p in self.parts:
            p.set_on(engine)

    def fitted_family(self, family: Family) -> Family:
        """``family`` with these values (each part's :meth:`FamilyParameter.fitted_family`)."""
        for p in self.parts:
            family = p.fitted_family(family)
        return family


#: glmmTMB's names of the family parameters' coordinates in vcov(full = TRUE)
_TMB_COORDINATE_NAMES = {"df": "Student-t df", "power": "Tweedie power"}


def joint_shape_parameters(values: dict[str, float]) -> JointShapeParameters:
    """Shape parameters estimated together, by engine name and start (the t's ``{"sigma": s, "df": v}``)."""
    return JointShapeParameters(tuple(shape_parameter(k, v) for k, v in values.items()))


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
    """The Tweedie power p in (1, 2), optimised as logit(p - 1) (glmmTMB's transform), beside the dispersion
    (:func:`with_dispersion`)."""
    return FamilyParameter("power", float(value), "shape:power", lower=1.0, upper=2.0)


def with_dispersion(dispersion: FamilyParameter, parameter: FamilyParameter | JointShapeParameters
                    ) -> JointShapeParameters:
    """The dispersion estimated together with ``parameter`` (the Tweedie's phi and power), dispersion first:
    ``engine_name`` ``"shape:dispersion,power"``, glmmTMB's ``d~(Intercept)`` its first coordinate.

    Examples
    --------
    >>> with_dispersion(dispersion_parameter(2.0), power_parameter(1.5)).values
    {'dispersion': 2.0, 'power': 1.5}
    """
    return JointShapeParameters((dispersion,) + tuple(parameter.parts))


def gradient_parameter_names(parameter: FamilyParameter | JointShapeParameters | None) -> list[str]:
    """The names the engine's exact gradients take the log family parameters by (``"dispersion"``, ``"theta"``
    for the negative-binomial shape, a shape's own name), one per optimiser coordinate; [] for none.

    Examples
    --------
    >>> gradient_parameter_names(nb_shape_parameter(2.0)), gradient_parameter_names(None)
    (['theta'], [])
    """
    name = engine_parameter_name(parameter)
    if name == "none":
        return []
    if name == "nb_theta":
        return ["theta"]
    return name.removeprefix("shape:").split(",")


def engine_parameter_name(parameter: FamilyParameter | JointShapeParameters | None) -> str:
    """The engine Objective's name for an estimated parameter (``"none"`` for None or a fixed one)."""
    return parameter.engine_name if parameter is not None and parameter.estimated else "none"

