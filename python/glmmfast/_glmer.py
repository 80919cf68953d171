"""``glmer``: fit a GLMM by maximum likelihood (lme4's staged pipeline).

The stages are separate functions, each callable and testable on its own:
:func:`~glmmfast._design.model_design_for` (formula and data -> design),
:func:`~glmmfast._engine.engine_model` (design -> engine),
:func:`~glmmfast._optimize.optimize_glmer` (engine -> optimum) and
:class:`~glmmfast._results.GlmerResult` (optimum -> result).  Time spent in
each stage is recorded in ``result.optinfo.seconds``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from ._design import dataset_name, model_design_for
from ._engine import engine_model, glm_start
from ._lmer import lmer
from ._optimize import optimize_glmer
from ._results import GlmerResult, LmerResult, _Fit
from .families import Family, get_family

__all__ = ["glmer"]


def glmer(
    formula: str,
    data: pd.DataFrame,
    family: str | Family,
    weights=None,
    offset=None,
    nAGQ: int = 1,
) -> GlmerResult | LmerResult:
    """Fit a generalized linear mixed model, as lme4's ``glmer``.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"TICKS ~ YEAR + (1 | LOCATION)"`` or
        ``"cbind(incidence, size - incidence) ~ period + (1 | herd)"``.
    data : pandas.DataFrame
        The data (never modified).  Rows with missing values in the columns
        the model uses are dropped.
    family : str or glmmfast.families.Family
        ``"poisson"``, ``"binomial"``, or a family object such as
        ``families.Binomial(link="probit")``.  ``"gaussian"`` with the
        identity link is a linear mixed model: as lme4's ``glmer``, it is
        fitted by :func:`glmmfast.lmer` with REML (with a warning).
    weights : array-like, optional
        Prior weights (for binomial proportions: the numbers of trials).
    offset : array-like, optional
        Offset added to the linear predictor (besides any ``offset()`` term).
    nAGQ : int, default 1
        1: Laplace approximation; 0: the fast fit (fixed effects estimated
        inside PIRLS, as lme4's ``nAGQ = 0``).

    Returns
    -------
    GlmerResult
        (:class:`LmerResult` for the gaussian family with the identity link.)

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson")
    >>> round(m.deviance, 2)
    2298.29
    """
    fam = get_family(family)
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or nAGQ not in (0, 1):
        raise ValueError(f"nAGQ must be 0 or 1, got {nAGQ!r} (adaptive quadrature with nAGQ > 1 is not available yet)")
    if fam.name == "gaussian" and fam.link == "identity":
        # lme4's glmer hands gaussian(identity) to lmer with lmer's default REML = TRUE.
        warnings.warn("glmer with family gaussian (identity link) fits a linear mixed model by REML, as lme4 "
                      "does; call glmmfast.lmer directly (REML=False for maximum likelihood)", UserWarning,
                      stacklevel=2)
        return lmer(formula, data, REML=True, weights=weights, offset=offset)
    seconds = {}
    t0 = time.perf_counter()
    design = model_design_for(formula, data, fam, weights, offset, random=True)
    model = engine_model(design)
    start = glm_start(design)
    t1 = time.perf_counter()
    theta, beta, dev, info = optimize_glmer(model, np.asarray(model.initial_theta()), np.asarray(start["beta"]), nAGQ)
    t2 = time.perf_counter()
    seconds["design"], seconds["optimize"] = t1 - t0, t2 - t1
    info.seconds.update(seconds)
    info.pirls_iterations = int(model.pirls_iterations)
    data_name = dataset_name(data)
    return GlmerResult(design, model, _Fit(theta, beta, dev), info, int(nAGQ), data_name)
