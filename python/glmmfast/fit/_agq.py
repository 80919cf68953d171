"""nAGQ: which approximation to the likelihood a glmer fit maximises.

- ``nAGQ = 0``: the fast fit (beta inside PIRLS, only theta optimised);
- ``nAGQ = 1``: the Laplace approximation;
- ``nAGQ = k > 1``: adaptive Gauss-Hermite quadrature with k nodes per level
  (C++ ``agq.cpp``), for models whose only random-effects term is scalar.

Holds :func:`check_nagq` (validation before the engine runs),
:func:`joint_deviance` (-2 log L as a function of (theta, beta) for the
chosen approximation), :func:`omitted_m2ll` (the constant lme4 leaves out of
-2 log L at nAGQ > 1) and :func:`gauss_hermite_rule`.

lme4's scale at nAGQ > 1
------------------------
lme4's glmerAGQ sums unit deviances where the Laplace approximation sums log
densities, so at nAGQ > 1 lme4's -2 log L (and logLik, AIC, BIC) lacks
``-2 sum_i log f(y_i | mu_i = y_i)``, the saturated model's -2 log L (83.957
for cbpp).  The engine computes the complete -2 log L; results report lme4's
number and keep the difference in ``GlmerResult.m2ll_omitted``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import _core
from ..design._design import ModelDesign
from .._errors import DataError, FamilyError, FormulaError

__all__ = ["MAX_NAGQ", "check_nagq", "joint_deviance", "omitted_m2ll", "gauss_hermite_rule"]

#: lme4's limit; beyond about 25 nodes the deviance no longer changes.
MAX_NAGQ = 100


def check_nagq(nAGQ, design: ModelDesign | None = None) -> int:
    """Validate ``nAGQ`` (and, for nAGQ > 1, the model it is used with).

    Parameters
    ----------
    nAGQ : int
        0, 1 or 2..100.
    design : ModelDesign, optional
        The model; required to check a value above 1.

    Returns
    -------
    int
        ``nAGQ`` as a Python int.

    Raises
    ------
    DataError
        ``nAGQ`` is not an integer in 0..100.
    FormulaError
        nAGQ > 1 with anything but a single scalar random-effects term.
    FamilyError
        nAGQ > 1 with a family that has a dispersion parameter.
    """
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or not 0 <= nAGQ <= MAX_NAGQ:
        raise DataError(f"nAGQ must be an integer from 0 to {MAX_NAGQ}, got {nAGQ!r}")
    nAGQ = int(nAGQ)
    if nAGQ > 1 and design is not None:
        terms = design.terms
        if len(terms) != 1 or terms[0].k != 1:
            found = " + ".join(f"({' + '.join(t.names)} | {t.group})" for t in terms)
            raise FormulaError("nAGQ > 1 is only available for models with a single, scalar random-effects term; "
                               f"this model has {found}")
        if design.family.has_dispersion:
            raise FamilyError(f"nAGQ > 1 is not available for the {design.family.name} family "
                              "(it has a dispersion parameter); use nAGQ = 1")
    return nAGQ


def joint_deviance(model, nAGQ: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """The complete -2 log L of ``model`` as a function of (theta, beta).

    Laplace for ``nAGQ <= 1``, ``nAGQ``-point adaptive Gauss-Hermite
    quadrature otherwise.  Each call runs PIRLS for the conditional modes.
    """
    if nAGQ <= 1:
        return model.deviance_at
    return lambda theta, beta: model.agq_deviance_at(theta, beta, nAGQ)


def omitted_m2ll(design: ModelDesign, nAGQ: int) -> float:
    """What lme4's -2 log L leaves out at ``nAGQ > 1`` (0 otherwise).

    ``-2 sum_i log f(y_i | mu_i = y_i)``: lme4's glmerAGQ works with unit
    deviances, ``d_i = -2 log f(y_i | mu_i) + 2 log f(y_i | y_i)``.
    """
    if nAGQ <= 1:
        return 0.0
    return -2.0 * design.family.loglik(design.y, design.y, design.weights)


def gauss_hermite_rule(k: int) -> tuple[np.ndarray, np.ndarray]:
    """k-point Gauss-Hermite rule for the standard normal density (lme4's ``GHrule``).

    Returns nodes ``z`` and weights ``w`` (summing to 1) with
    ``sum(w * f(z))`` equal to ``E f(Z)``, Z ~ N(0, 1), for every polynomial
    ``f`` of degree at most ``2k - 1``.
    """
    z, w = _core.gauss_hermite_rule(int(k))
    return np.asarray(z), np.asarray(w)
