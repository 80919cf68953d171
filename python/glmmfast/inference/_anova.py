"""Likelihood-ratio tests between nested models (lme4's anova.merMod).

Holds :func:`anova`: models sorted by their number of parameters, lme4's
table (npar, AIC, BIC, logLik, deviance = -2 log L, Chisq, Df,
Pr(>Chisq)), after checking that every model was fitted to the same
response on the same rows.  Works for any mix of ``glmer`` and ``glm``
fits (the number of parameters is read off AIC = -2 log L + 2 npar).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..summary._display import AnovaTable
from .._errors import DataError

__all__ = ["anova"]


def _npar(m) -> int:
    return int(round((m.aic + 2 * m.loglik) / 2))


def _same_data(a, b) -> bool:
    da, db = a._design, b._design
    return (da.n == db.n and np.array_equal(da.y, db.y) and np.array_equal(da.weights, db.weights)
            and da.rows.equals(db.rows))


def anova(*models, names: list[str] | None = None) -> pd.DataFrame:
    """Likelihood-ratio tests between nested models, as lme4's ``anova(m0, m1, ...)``.

    Parameters
    ----------
    *models : GlmerResult or GlmResult
        Two or more fits to the same data, nested (not checked: as in lme4,
        the caller asserts nesting).
    names : list of str, optional
        Row labels (default: the formulas).

    Returns
    -------
    pandas.DataFrame
        Rows ordered by npar; columns npar, AIC, BIC, logLik, deviance,
        Chisq, Df, Pr(>Chisq) (NaN in the first row).  Chisq is
        2 max(0, logLik_i - logLik_{i-1}), as lme4.  It prints as lme4
        prints the table (``Data:`` and ``Models:`` lines, ``< 2.2e-16``,
        significance stars), with the models labelled by ``names`` or
        ``m1``, ``m2``, ... in the order given.

    Raises
    ------
    DataError
        Fewer than two models, or models fitted to different responses or rows.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m0 = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson")
    >>> m1 = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)", df, family="poisson")
    >>> tab = glmmfast.anova(m0, m1, names=["m0", "m1"])
    >>> float(tab["Df"].iloc[1]), bool(tab["Pr(>Chisq)"].iloc[1] < 1e-16)
    (1.0, True)
    >>> print(str(tab).splitlines()[1])
    Models:
    """
    if len(models) < 2:
        raise DataError("anova needs at least two fitted models")
    for m in models:
        if not all(hasattr(m, a) for a in ("loglik", "aic", "bic", "_design")):
            raise TypeError(f"anova takes fitted glmmfast models, not {type(m).__name__}")
    for m in models[1:]:
        if not _same_data(models[0], m):
            raise DataError("models were not all fitted to the same data (response, weights and rows must agree)")
    given_names = names
    if names is None:
        names = [m.formula for m in models]
    if len(names) != len(models):
        raise ValueError("names must have one label per model")
    order = sorted(range(len(models)), key=lambda i: _npar(models[i]))  # stable, as R's order()
    ms = [models[i] for i in order]
    npar = np.array([_npar(m) for m in ms], dtype=float)
    ll = np.array([m.loglik for m in ms])
    chisq = np.concatenate([[np.nan], 2 * np.maximum(0.0, np.diff(ll))])
    df = np.concatenate([[np.nan], np.diff(npar)])
    with np.errstate(invalid="ignore"):
        from scipy import stats  # here, not at import: scipy.stats costs ~0.5 s to import
        p = np.where(df > 0, stats.chi2.sf(chisq, np.where(df > 0, df, 1)), np.nan)
    p[0] = np.nan
    table = AnovaTable({"npar": npar.astype(int), "AIC": [m.aic for m in ms], "BIC": [m.bic for m in ms],
                        "logLik": ll, "deviance": -2 * ll, "Chisq": chisq, "Df": df, "Pr(>Chisq)": p},
                       index=pd.Index([names[i] for i in order]))
    # lme4 labels the models by the names they were passed as (m0, m1); without names= we
    # number them in the order given, as "m1", "m2", ...
    labels = given_names if given_names is not None else [f"m{i + 1}" for i in range(len(models))]
    table.labels = [labels[i] for i in order]
    table.formulas = [ms_i.formula for ms_i in ms]
    table.data_name = models[0].data_name
    return table
