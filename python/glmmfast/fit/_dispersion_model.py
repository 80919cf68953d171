"""glmmTMB's dispersion model (``dispformula``): the family parameter per observation, log-linear in covariates.

glmmTMB models its dispersion parameter on the log scale,
``betad = X_d beta_d + offset_d``, and the engine takes the family's own
parameter per observation as ``p_i = exp(power * eta_d,i)``
(``GlmmModel.set_dispersion_model``, ``cpp/src/family/varying_parameter.hpp``):

========================  ======================  =====  ==========================
family                    engine parameter        power  glmmTMB's betad
========================  ======================  =====  ==========================
gaussian                  dispersion (sigma^2)    +1     log sigma^2
Gamma                     dispersion (phi)        -1     log shape = -log phi
tweedie                   dispersion (phi)        +1     log phi (Var = phi mu^p)
nbinom2                   theta                   +1     log theta
truncated_nbinom2         theta                   +1     log theta
nbinom1                   phi                     +1     log phi
truncated_nbinom1         phi                     +1     log phi
genpois                   phi                     +1     log phi (Var = phi mu)
compois                   phi                     +1     log phi = -log nu
beta                      phi                     +1     log phi (precision)
betabinomial              phi                     +1     log phi (precision)
t                         sigma                   +1     log sigma
========================  ======================  =====  ==========================

(glmmTMB 1.1.5's ``sigma()``: exp(betad) for every family but the
gaussian, exp(betad / 2), and the Gamma, exp(-betad / 2).)  A family's
other parameters stay scalars the fit estimates with the dispersion
model's coefficients: the t's df (:func:`modelled_parameter_start` splits
them off), the Tweedie power.  A family with a
parameter that is not in this table (the inverse Gaussian) refuses a
dispersion model with covariates (:class:`~glmmfast.FormulaError` naming
it); one more row is all a new family needs, the engine evaluates any
family's parameter per observation.

Holds:

- :func:`check_dispformula`: the refusals, before anything is fitted;
- :func:`uses_dispersion_model`: whether a fit needs the engine's dispersion
  model (covariates, ``"~0"``, or a gaussian ``"~1"`` with prior weights,
  whose glmmTMB likelihood multiplies each row's log density by its weight);
- :func:`dispersion_design`: the design with its ``disp`` component
  (:mod:`glmmfast.design._component_design`; ``"~0"`` is glmmTMB's fixed
  ``betad = log(sqrt(.Machine$double.eps))``, as an offset);
- :func:`dispersion_model_parameter`: the engine's parameter name and power;
- :func:`modelled_parameter_start`: the scalar start of the parameter the
  dispersion model replaces, and the family parameters still estimated;
- :func:`dispersion_start`: beta_disp's start from a scalar start of the parameter.

The optimiser treats beta_disp as extra coordinates after the
zero-inflation ones (``cpp/src/optim/objective.hpp``), with the exact
gradient in them (``cpp/src/model/observation_gradient.cpp``); so does
glmmTMB's REML (beta integrated out, :mod:`~glmmfast.fit._integrated_beta`,
with the gradient of log det H_beta from ``cpp/src/model/reml_gradient.cpp``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .._errors import FormulaError
from ..design._component_design import ComponentDesign, component_design_for
from ..design._design import ModelDesign
from ..families import Family
from ._family_parameter import FamilyParameter, JointShapeParameters

__all__ = ["check_dispformula", "uses_dispersion_model", "dispersion_design", "dispersion_model_parameter",
           "modelled_parameter_start", "dispersion_start", "FIXED_LOG_DISPERSION"]

#: family name -> (the engine's parameter, power): parameter_i = exp(power * (offset_d + X_d beta_d))
_DISPERSION_PARAMETER = {
    "gaussian": ("dispersion", 1.0),
    "Gamma": ("dispersion", -1.0),
    "tweedie": ("dispersion", 1.0),
    "negative.binomial": ("theta", 1.0),
    "truncated_nbinom2": ("theta", 1.0),
    "nbinom1": ("phi", 1.0),
    "truncated_nbinom1": ("phi", 1.0),
    "genpois": ("phi", 1.0),
    "compois": ("phi", 1.0),
    "beta": ("phi", 1.0),
    "betabinomial": ("phi", 1.0),
    "t": ("sigma", 1.0),
}

#: glmmTMB's betad for a gaussian ``dispformula = ~0``: log(sqrt(.Machine$double.eps))
FIXED_LOG_DISPERSION = float(np.log(np.sqrt(np.finfo(float).eps)))


def _rhs(dispformula: str) -> str:
    return dispformula.strip()[1:].strip().replace(" ", "")


def _has_parameter(family: Family) -> bool:
    return bool(family.has_dispersion or family.name in _DISPERSION_PARAMETER or getattr(family, "shape_name", "")
                or family.shapes())


def check_dispformula(dispformula: str | None, family: Family) -> None:
    """FormulaError for a dispformula the family cannot take.

    None and ``"~1"`` (one dispersion) fit every family with a parameter;
    ``"~ x + ..."`` the families of the table above; ``"~0"`` (the residual
    variance fixed near 0, as glmmTMB) the gaussian only.  A family without
    a parameter (Poisson, binomial, the truncated Poisson) refuses any,
    naming it.
    """
    if dispformula is None:
        return
    if not isinstance(dispformula, str) or not dispformula.strip().startswith("~"):
        raise FormulaError(f"dispformula must be a one-sided formula string such as '~ x', got {dispformula!r}")
    if not _has_parameter(family):
        raise FormulaError(f"dispformula {dispformula!r} does not fit the {family.name} family, which has no "
                           "dispersion parameter")
    rhs = _rhs(dispformula)
    if rhs == "1":
        return
    if rhs in ("0", "-1"):
        if family.name != "gaussian":
            raise FormulaError(f"dispformula {dispformula!r} (a fixed dispersion) is available for the gaussian "
                               f"family only, not {family.name}")
        return
    if family.name not in _DISPERSION_PARAMETER:
        raise FormulaError(f"dispformula {dispformula!r}: a dispersion model with covariates is not supported for "
                           f"the {family.name} family yet")
    if "|" in rhs:
        raise FormulaError(f"random effects in the dispformula ({dispformula!r}) are not supported (nor by glmmTMB)")


def uses_dispersion_model(dispformula: str | None, family: Family, weights=None) -> bool:
    """Whether the fit needs the engine's dispersion model: covariates or ``"~0"`` in the dispformula, or a
    gaussian ``"~1"`` with prior weights (glmmTMB's likelihood, which multiplies each row's log density by its
    weight, is the general observation path's); False for None and the other ``"~1"`` fits (one scalar
    parameter, as before)."""
    if dispformula is None:
        return False
    if _rhs(dispformula) != "1":
        return True
    return family.name == "gaussian" and weights is not None


def dispersion_model_parameter(family: Family) -> tuple[str, float]:
    """The engine's parameter the dispersion model sets for ``family`` and its power (see the table above)."""
    return _DISPERSION_PARAMETER[family.name]


def dispersion_design(design: ModelDesign, dispformula: str, data: pd.DataFrame,
                      contrasts: dict | None) -> ModelDesign:
    """``design`` with its ``disp`` component, glmmTMB's dispersion model (``"~0"``: no columns, the offset
    :data:`FIXED_LOG_DISPERSION`)."""
    rhs = _rhs(dispformula)
    if rhs in ("0", "-1"):
        disp = ComponentDesign(formula=dispformula.strip(), X=np.zeros((design.n, 0), order="F"), x_names=[],
                               offset=np.full(design.n, FIXED_LOG_DISPERSION), x_spec=None)
    else:
        disp = component_design_for(dispformula, "dispformula", data, design.rows, contrasts)
    return dataclasses.replace(design, disp=disp)


def modelled_parameter_start(family: Family, parameter: FamilyParameter | JointShapeParameters | None
                             ) -> tuple[float, FamilyParameter | JointShapeParameters | None]:
    """The start of the parameter the dispersion model replaces, and what is left to estimate as a scalar.

    ``parameter`` is what the fit would estimate without a dispersion model
    (None: nothing; the family object's value is the start).  Its part
    named by :func:`dispersion_model_parameter` becomes the dispersion
    model (its value the start of :func:`dispersion_start`); the other parts
    (the t's df) are returned to be estimated with beta_disp.

    Examples
    --------
    >>> from glmmfast.families import StudentT
    >>> from glmmfast.fit._family_parameter import joint_shape_parameters
    >>> value, rest = modelled_parameter_start(StudentT(), joint_shape_parameters({"sigma": 0.8, "df": 10.0}))
    >>> value, rest.values
    (0.8, {'df': 10.0})
    """
    name = dispersion_model_parameter(family)[0]
    if parameter is None:
        return float(getattr(family, getattr(family, "shape_name", "") or name)), None
    values = parameter.values if isinstance(parameter, JointShapeParameters) else {name: parameter.value}
    # the other parts as they are (the Tweedie power keeps its bounds)
    rest = tuple(p for p in getattr(parameter, "parts", ()) if p.name != name)
    if not rest:
        return float(values[name]), None
    return float(values[name]), rest[0] if len(rest) == 1 else JointShapeParameters(rest)


def dispersion_start(design: ModelDesign, value: float) -> np.ndarray:
    """beta_disp's start: the least-squares coefficients of the constant log-scale value of a scalar start
    ``value`` of the family parameter (the intercept, where there is one)."""
    _, power = dispersion_model_parameter(design.family)
    X = design.disp.X
    if X.shape[1] == 0:
        return np.zeros(0)
    target = np.full(design.n, power * np.log(value)) - design.disp.offset
    return np.linalg.lstsq(X, target, rcond=None)[0]
