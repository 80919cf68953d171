"""``lmer``: fit a linear mixed model by REML or maximum likelihood (lme4's lmer).

The stages mirror :func:`~glmmfast.glmer`:
:func:`~glmmfast.design._design.model_design_for` (formula and data -> design, with
the gaussian family), :func:`~glmmfast.fit._fit_state.fit_lmm` (design ->
engine, whose criterion is a function of theta alone: beta and sigma are
profiled out, -> :func:`~glmmfast.fit._optimize.optimize_lmer`, BFGS on theta with
the criterion's exact gradient, -> a :class:`~glmmfast.fit._fit_state.FitState`)
and :class:`~glmmfast.results._results.LmerResult`.  Time spent in each stage is
recorded in ``result.optinfo.seconds``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .._arguments import check_bool
from ..design._design import dataset_name, model_design_for
from ..design._design_checks import failures_blamed_on_scales
from .._errors import DataError
from ._fit_state import fit_lmm
from ._fit_warnings import warn_fit_messages
from ._partitioned import is_dask_dataframe
from ._partitioned_lmm import lmer_partitioned
from ..results._results import LmerResult
from ..families import Gaussian

__all__ = ["lmer"]


def lmer(formula: str, data: pd.DataFrame, REML: bool = True, weights=None, offset=None,
         na_action: str = "omit", contrasts: dict | None = None, data_name: str | None = None,
         quiet: bool = False) -> LmerResult:
    """Fit a linear mixed model, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : pandas.DataFrame or dask.dataframe.DataFrame
        The data (never modified).  Rows with missing values in the columns
        the model uses are dropped.  A Dask DataFrame's rows stay in their
        partitions: the workers send the cross-products of their rows once
        (added in a tree), and the fit runs on them exactly as in memory
        (``weights=`` and ``offset=`` then name columns; README "Scaling out
        with Dask").
    REML : bool, default True
        Minimise the REML criterion (True, lme4's default) or -2 log L.
    weights : array-like, optional
        Positive prior weights: observation i has variance sigma^2 / w_i.
    offset : array-like, optional
        Known term added to the linear predictor (besides any ``offset()`` term).
    na_action : {"omit", "raise"}, default "omit"
        Missing values, as :func:`glmmfast.glmer`.
    contrasts : dict, optional
        Contrasts of fixed-effects factors, as R's ``contrasts`` argument:
        ``{"f": "contr.sum"}`` (or ``"contr.helmert"``, ``"contr.treatment"``,
        ``"contr.poly"``, ``"contr.SAS"``, or an ``(nlevels, k)`` matrix).
        Other factors get treatment contrasts, ordered factors ``contr.poly``.
    data_name : str, optional
        The summary's ``Data:`` name, as :func:`glmmfast.glmer`.
    quiet : bool, default False
        Do not issue the fit's messages as warnings, as :func:`glmmfast.glmer`.

    Returns
    -------
    LmerResult

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("sleepstudy")
    >>> m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", df)
    >>> round(m.reml_criterion, 4)
    1743.6283
    """
    REML = check_bool("REML", REML)
    if is_dask_dataframe(data):  # rows in partitions: one pass of cross-products (fit/_partitioned_lmm.py)
        return lmer_partitioned(formula, data, REML, weights, offset, contrasts, data_name, quiet)
    t0 = time.perf_counter()
    data_name = dataset_name(data, data_name)  # checked before the fit
    design = model_design_for(formula, data, Gaussian(), weights, offset, random=True, na_action=na_action,
                              contrasts=contrasts)
    if (design.weights <= 0).any():
        # lme4's criterion has -sum(log w): a zero weight makes it infinite.
        raise DataError("lmer needs positive weights (drop the rows with zero weight)")
    if design.X.shape[1] >= design.n:
        raise DataError(f"{design.X.shape[1]} fixed effects but only {design.n} observations")
    with failures_blamed_on_scales(design.messages):
        state = fit_lmm(design, REML, t0)
    result = LmerResult(state, data_name)
    warn_fit_messages(result.messages, quiet)
    return result
