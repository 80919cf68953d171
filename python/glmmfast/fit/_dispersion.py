"""Overdispersion check for Poisson and binomial fits (Pearson chi-squared / df).

Interface
---------
dispersion_check(fit) -> DispersionCheck
    Pearson chi-squared statistic, residual degrees of freedom, their ratio
    and the upper-tail chi-squared p-value, for a fitted ``glm`` or ``glmer``
    model of a family whose dispersion is fixed at 1 (poisson, binomial).
    For a GLMM it is the GLMM FAQ's ``overdisp_fun``.
DispersionCheck
    The frozen record it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import DataError, FamilyError

__all__ = ["dispersion_check", "DispersionCheck"]


@dataclass(frozen=True)
class DispersionCheck:
    """Result of :func:`dispersion_check`.

    Attributes
    ----------
    chisq : float
        Sum of squared Pearson residuals.
    df : int
        Residual degrees of freedom (``fit.df_resid``).
    ratio : float
        ``chisq / df``; about 1 when the variance is as the family says,
        well above 1 under overdispersion.
    p_value : float
        ``P(X > chisq)`` for ``X ~ chi-squared(df)``: small values reject
        "no overdispersion".

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
    >>> check = glmmfast.dispersion_check(fit)
    >>> check.df, round(check.ratio, 2), check.p_text
    (400, 19.62, 'p < 1e-300')
    """

    chisq: float
    df: int
    ratio: float
    p_value: float

    @property
    def p_text(self) -> str:
        """The p-value for printing: ``"p = 0.0123"``, or ``"p < 1e-300"`` where it underflows."""
        return "p < 1e-300" if self.p_value < 1e-300 else f"p = {self.p_value:.4g}"

    def __str__(self) -> str:
        return f"Pearson chi2 = {self.chisq:.5g} on {self.df} df, ratio = {self.ratio:.4g}, {self.p_text}"


def dispersion_check(fit) -> DispersionCheck:
    """Test a Poisson or binomial fit for overdispersion.

    Compares the Pearson chi-squared statistic with its residual degrees of
    freedom: under the model, ``sum(r_pearson^2)`` is approximately
    chi-squared on ``df_resid`` degrees of freedom, so the ratio should be
    near 1 (McCullagh & Nelder 1989, sec. 4.5; for GLMMs the GLMM FAQ's
    ``overdisp_fun``, which counts theta among the parameters).

    Parameters
    ----------
    fit : GlmResult or GlmerResult
        A fitted model of a family without a free dispersion parameter.

    Returns
    -------
    DispersionCheck
        ``chisq``, ``df``, ``ratio`` and ``p_value``.

    Raises
    ------
    FamilyError
        For families that estimate their dispersion (gaussian), where the
        ratio is the dispersion estimate, not a test.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> check = glmmfast.dispersion_check(glmmfast.glm("TICKS ~ YEAR", df, family="poisson"))
    >>> round(check.ratio, 2), check.df
    (19.62, 400)
    >>> check.p_value < 1e-300
    True
    """
    if fit.family.has_dispersion:
        raise FamilyError(f"dispersion_check needs a family with dispersion fixed at 1 (poisson, binomial), "
                          f"not {fit.family.name}")
    r = np.asarray(fit.residuals("pearson"), dtype=float)
    chisq = float(np.sum(r**2))
    df = int(fit.df_resid)
    if df <= 0:
        raise DataError(f"dispersion_check needs positive residual degrees of freedom, got {df}")
    from scipy import stats  # here, not at import: scipy.stats costs ~0.5 s to import
    return DispersionCheck(chisq=chisq, df=df, ratio=chisq / df, p_value=float(stats.chi2.sf(chisq, df)))
