"""R's ``printCoefmat``: the Estimate / Std. Error / statistic / p-value table with significance stars.

Interface
---------
print_coefmat(rownames, est, se, stat, pval, colnames, digits, zap_stat, df=None) -> str
    The table as printCoefmat prints it, and the "Signif. codes" legend when
    a star is shown.
coef_table(names, est, se, digits, stat_letter, pvalues, df, zap_stat) -> str
    The statistic and (normal or t) p-values computed, then printCoefmat.
significance_stars(p) -> str     R's symnum of a p-value (``***`` .. `` ``)
significance_legend() -> str     the "---" line and "Signif. codes:" legend
SIGNIF_LEGEND                    the legend's text
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from ._r_format import WIDTH, format_pval, r_format, r_round, zapsmall
from ._r_print import cat_fill, print_char_matrix

__all__ = ["SIGNIF_LEGEND", "print_coefmat", "coef_table", "significance_stars", "significance_legend"]

SIGNIF_LEGEND = "0 \u2018***\u2019 0.001 \u2018**\u2019 0.01 \u2018*\u2019 0.05 \u2018.\u2019 0.1 \u2018 \u2019 1"


def significance_stars(p: float) -> str:
    """R's significance symbol of a p-value: ``***`` (<= 0.001), ``**``, ``*``, ``.`` (<= 0.1), `` ``;
    ``""`` for NA."""
    if math.isnan(p):
        return ""
    return "***" if p <= 0.001 else "**" if p <= 0.01 else "*" if p <= 0.05 else "." if p <= 0.1 else " "


def significance_legend() -> str:
    """The ``---`` line and ``Signif. codes:`` legend printCoefmat prints under a table with stars."""
    return "---\n" + cat_fill(["Signif. codes:  ", SIGNIF_LEGEND], sep="", width=WIDTH + 4)


def print_coefmat(rownames: Sequence[str], est: Sequence[float], se: Sequence[float],
                  stat: Sequence[float], pval: Optional[Sequence[float]],
                  colnames: Sequence[str], digits: int, zap_stat: bool,
                  df: Optional[Sequence[float]] = None) -> str:
    """R's ``printCoefmat`` for the usual Estimate/SE/stat[/p] matrix.

    Parameters
    ----------
    rownames : sequence of str
        Coefficient names.
    est, se, stat : sequence of float
        Estimates, standard errors and test statistics.
    pval : sequence of float or None
        P-values (None: no p-value column).
    colnames : sequence of str
        Column headers (3 or 4).
    digits : int
        ``digits`` argument.
    zap_stat : bool
        Use ``zap.ind = 3`` (zapsmall the statistic column).
    df : sequence of float, optional
        A degrees-of-freedom column between the standard error and the
        statistic (lmerTest's summary), formatted with the estimates and
        standard errors as printCoefmat does.

    Returns
    -------
    str
        Printed table plus significance legend (ending in a newline).
    """
    n = len(rownames)
    dig_tst = max(1, min(5, digits - 1))
    est = [float(v) for v in est]
    se = [float(v) for v in se]
    stat = [float(v) for v in stat]
    if zap_stat:
        stat = zapsmall(stat, digits)
    # coefficient and SE columns (and df: printCoefmat's default cs.ind is every
    # column before the statistic) formatted together
    dfv = [float(v) for v in df] if df is not None else []
    cs_cols = (est, se, dfv) if dfv else (est, se)
    ts = len(cs_cols)  # the statistic's column
    cells = [[""] * (ts + 1) for _ in range(n)]
    cs = [v for col in cs_cols for v in col]
    acs = [abs(v) for v in cs if math.isfinite(v) and v != 0]
    if any(math.isfinite(v) for v in cs):
        if acs:
            digmin = [1 + math.floor(math.log10(min(acs))), 1 + math.floor(math.log10(max(acs)))]
        else:
            digmin = [1, 1]
        rd = max(1, digits - digmin[0], digits - digmin[1])
        f = r_format([r_round(v, rd) for v in cs], digits)
        for i in range(n):
            for j in range(ts):
                cells[i][j] = f[j * n + i]
    # statistic column
    f = r_format([r_round(v, dig_tst) for v in stat], digits)
    for i in range(n):
        cells[i][ts] = f[i]
    # values that are non-zero but display as zero
    for j, col in enumerate(cs_cols):
        for i in range(n):
            v = col[i]
            if math.isnan(v):
                continue
            try:
                shown0 = float(cells[i][j]) == 0
            except ValueError:
                shown0 = False
            if (v == 0) != shown0:
                cells[i][j] = r_format([v], max(1, digits - 1))[0]
    for i in range(n):
        for j, col in enumerate(cs_cols + (stat,)):
            if math.isnan(col[i]):
                cells[i][j] = "NA"
    cols = list(colnames)
    stars_shown = False
    if pval is not None:
        pv = [float(p) for p in pval]
        ok = [not math.isnan(p) for p in pv]
        pcol = ["NA"] * n
        okv = [p for p, o in zip(pv, ok) if o]
        if okv:
            f = format_pval(okv, dig_tst)
            it = iter(f)
            for i in range(n):
                if ok[i]:
                    pcol[i] = next(it)
            stars_shown = any(p < 0.1 for p in okv)
        for i in range(n):
            cells[i].append(pcol[i])
        if stars_shown:
            sym = [significance_stars(p) for p in pv]
            sw = max(len(s) for s in sym)
            for i in range(n):
                cells[i].append(sym[i].ljust(sw))
            cols.append("")
    out = print_char_matrix(cells, list(rownames), cols, right=True)
    if stars_shown:
        out += significance_legend()
    return out


def coef_table(names: Sequence[str], est: np.ndarray, se: np.ndarray, digits: int,
               stat_letter: str, pvalues: bool, df: Optional[float],
               zap_stat: bool) -> str:
    """Build statistic/p-values and print the coefficient matrix.

    Parameters
    ----------
    names : sequence of str
        Coefficient names.
    est, se : ndarray
        Estimates and standard errors.
    digits : int
        Digits for :func:`print_coefmat`.
    stat_letter : str
        "z" or "t".
    pvalues : bool
        Add the ``Pr(>|.|)`` column.
    df : float or None
        Degrees of freedom for t p-values (None: normal reference).
    zap_stat : bool
        Passed to :func:`print_coefmat`.

    Returns
    -------
    str
        Printed table.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    cols = ["Estimate", "Std. Error", f"{stat_letter} value"]
    pv = None
    if pvalues:
        if df is None:
            pv = [math.erfc(abs(z) / math.sqrt(2.0)) if not math.isnan(z) else float("nan")
                  for z in stat]
        else:
            from scipy import stats as _st
            pv = [float(2 * _st.t.sf(abs(z), df)) if not math.isnan(z) else float("nan")
                  for z in stat]
        # normal p-values are labelled z even beside t values (lme4's glmer
        # with a dispersion: "t value  Pr(>|z|)")
        cols.append("Pr(>|z|)" if df is None else f"Pr(>|{stat_letter}|)")
    return print_coefmat(list(names), list(est), list(se), list(stat), pv, cols,
                          digits, zap_stat)
