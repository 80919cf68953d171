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

import numpy as np
import pandas as pd

from ._design import model_design_for
from ._engine import engine_model, glm_start
from ._errors import DataError, FamilyError, FormulaError
from ._optimize import optimize_glmer
from ._results import GlmerResult, _Fit
from .families import Family, get_family

__all__ = ["glmer"]


def glmer(
    formula: str,
    data: pd.DataFrame,
    family: str | Family,
    weights=None,
    offset=None,
    nAGQ: int = 1,
    na_action: str = "omit",
) -> GlmerResult:
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
        ``families.Binomial(link="probit")``.
    weights : array-like, optional
        Prior weights (for binomial proportions: the numbers of trials).
    offset : array-like, optional
        Offset added to the linear predictor (besides any ``offset()`` term).
    nAGQ : int, default 1
        1: Laplace approximation; 0: the fast fit (fixed effects estimated
        inside PIRLS, as lme4's ``nAGQ = 0``).
    na_action : {"omit", "raise"}, default "omit"
        Drop rows with missing values in the columns the model uses (noted
        in ``result.data_messages`` and ``result.n_dropped``) or raise
        :class:`~glmmfast.DataError`.

    Returns
    -------
    GlmerResult

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson")
    >>> round(m.deviance, 2)
    2298.29
    """
    fam = get_family(family)
    if fam.name == "gaussian" and fam.link == "identity":
        raise FamilyError("glmer with the gaussian family and identity link is a linear mixed model; "
                          "it is not available yet (lmer)")
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or nAGQ < 0:
        raise DataError(f"nAGQ must be a non-negative integer, got {nAGQ!r}")
    seconds = {}
    t0 = time.perf_counter()
    design = model_design_for(formula, data, fam, weights, offset, random=True, na_action=na_action)
    if nAGQ > 1:
        if len(design.terms) != 1 or design.terms[0].k != 1:
            raise FormulaError("nAGQ > 1 is only available for models with a single, scalar random-effects term "
                               f"(this model has {len(design.terms)} term(s) with "
                               f"{', '.join(str(t.k) for t in design.terms)} column(s))")
        raise DataError(f"nAGQ = {nAGQ}: adaptive Gauss-Hermite quadrature (nAGQ > 1) is not available yet")
    model = engine_model(design)
    start = glm_start(design)
    t1 = time.perf_counter()
    theta, beta, dev, info = optimize_glmer(model, np.asarray(model.initial_theta()), np.asarray(start["beta"]), nAGQ)
    t2 = time.perf_counter()
    seconds["design"], seconds["optimize"] = t1 - t0, t2 - t1
    info.seconds.update(seconds)
    info.pirls_iterations = int(model.pirls_iterations)
    data_name = data.attrs.get("name") if isinstance(data.attrs.get("name"), str) else None
    return GlmerResult(design, model, _Fit(theta, beta, dev), info, int(nAGQ), data_name)
