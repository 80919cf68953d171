"""How results show themselves: as R prints them at a prompt, as HTML in a notebook.

Interface
---------
RandomEffects
    A ``dict`` (grouping factor -> DataFrame) that prints as lme4 prints
    ``ranef(fit)`` and ``coef(fit)``: ``$LOCATION`` blocks, each data frame
    as ``print.data.frame`` shows it, and for ranef "with conditional
    variances for ...".
VarCorr(fit) -> VarCorrView
    lme4's ``VarCorr(fit)``: prints the ``Groups Name Std.Dev. Corr`` table;
    ``.frame`` is ``fit.varcorr`` (``as.data.frame(VarCorr(fit))``).
AnovaTable
    The DataFrame :func:`glmmfast.anova` returns; prints as lme4's
    ``anova(m0, m1)`` (``Data:``/``Models:`` header, significance stars).
summary_html(fit)
    The summary's header and tables as HTML (``_repr_html_`` of fits).

Each class stays what it was (a dict, a DataFrame): only ``__repr__``,
``__str__`` and ``_repr_html_`` change, and derived objects (a column, a
copy) are plain pandas objects again.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from ..formula._deparse import deparse_lines
from ..formula._formula import parse_formula_tree
from ._coef_table import significance_legend, significance_stars
from ._mermod_summary import format_glmer_summary, format_varcorr
from ._r_format import WIDTH, format_pval, r_format, r_format_int, r_round, zapsmall
from ._r_print import cat_fill, print_char_matrix

__all__ = ["RandomEffects", "VarCorr", "VarCorrView", "AnovaTable", "summary_html", "frame_text"]


def frame_text(df: pd.DataFrame, digits: int = 7) -> str:
    """``print.data.frame`` of a numeric frame: each column formatted on its own with ``digits``
    significant digits (R's ``format``), row names left-aligned, columns right-aligned."""
    cols = [r_format([float(v) for v in df[c]], digits) for c in df.columns]
    cells = [[col[i] for col in cols] for i in range(len(df))]
    return print_char_matrix(cells, [str(i) for i in df.index], [str(c) for c in df.columns], right=True)


class RandomEffects(dict):
    """Grouping factor -> DataFrame; prints as R prints ``ranef(fit)`` (``kind="ranef"``) or
    ``coef(fit)`` (``kind="coef"``).  Otherwise an ordinary dict."""

    def __init__(self, frames: dict, kind: str = "ranef") -> None:
        super().__init__(frames)
        self.kind = kind

    def __repr__(self) -> str:
        # print(unclass(x)) of a named list: "$name", the element, a blank line.
        text = "".join(f"${g}\n{frame_text(df)}\n" for g, df in self.items())
        with_cv = [g for g, df in self.items() if "condsd" in df.attrs]
        if self.kind == "ranef" and with_cv:  # lme4's print.ranef.mer
            text += "with conditional variances for " + " ".join(f"\u201c{g}\u201d" for g in with_cv) + " \n"
        return text.rstrip("\n") if not with_cv else text.rstrip("\n")

    __str__ = __repr__

    def __reduce__(self):  # pickle as this class with its kind
        return (RandomEffects, (dict(self), self.kind))


class VarCorrView:
    """lme4's ``VarCorr(fit)``: prints the standard deviations and correlations of the random
    effects (and the residual SD where there is one); ``frame`` is ``fit.varcorr``."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def __repr__(self) -> str:
        # print.VarCorr.merMod: digits = max(3, getOption("digits") - 2), comp = "Std.Dev."
        return format_varcorr(self.frame, 5, comp=("Std.Dev.",), heading="").rstrip("\n")

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, na_rep="")


def VarCorr(fit) -> VarCorrView:  # noqa: N802 - lme4's name
    """The variance components of a mixed-model fit, as lme4's ``VarCorr(fit)``.

    Parameters
    ----------
    fit : GlmerResult or LmerResult

    Returns
    -------
    VarCorrView
        Prints lme4's ``Groups Name Std.Dev. Corr`` table; ``.frame`` is
        ``fit.varcorr`` (``as.data.frame(VarCorr(fit))``: grp, var1, var2,
        vcov, sdcor; a missing var1/var2 is None).

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
    >>> print(glmmfast.VarCorr(fit))  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
     Groups   Name        Std.Dev. Corr
     Subject  (Intercept) 24.740...
              Days         5.9221  0.066
     Residual             25.5918
    """
    if not hasattr(fit, "varcorr"):
        raise TypeError(f"VarCorr needs a mixed-model fit (glmer, glmer_nb or lmer), not {type(fit).__name__}")
    return VarCorrView(fit.varcorr)


class AnovaTable(pd.DataFrame):
    """The likelihood-ratio table of :func:`glmmfast.anova`: a DataFrame that prints as lme4's
    ``anova(m0, m1)``.  ``data_name``, ``labels`` and ``formulas`` hold the header."""

    _metadata = ["data_name", "labels", "formulas"]

    @property
    def _constructor(self):
        return pd.DataFrame  # a column, a slice or a copy is a plain DataFrame

    def __repr__(self) -> str:
        return self.r_text().rstrip("\n")

    __str__ = __repr__

    def r_text(self) -> str:
        """The table as lme4's print(anova(...)) shows it."""
        out = []
        if getattr(self, "data_name", None):
            out.append(f"Data: {self.data_name}\n")
        out.append("Models:\n")
        for label, formula in zip(self.labels, self.formulas):
            out.append(cat_fill([f"{label}:"] + deparse_lines(parse_formula_tree(formula)), width=WIDTH))
        out.append(_anova_matrix(self, list(self.labels)))
        return "".join(out)


def _anova_matrix(tab: pd.DataFrame, labels: list[str]) -> str:
    """R's print.anova -> printCoefmat of the table: digits 5; npar and Df as integers; the
    criteria zapsmall-ed and formatted column by column; Chisq rounded to 4 digits; p-values
    by format.pval (``< 2.2e-16``) with significance stars; NA printed blank."""
    n = len(tab)
    digits = 5  # print.anova: max(getOption("digits") - 2, 3)
    dig_tst = max(1, min(5, digits - 1))
    columns: list[list[str]] = []

    def column(values, fmt) -> list[str]:
        v = [float(x) for x in values]
        ok = [i for i, x in enumerate(v) if not math.isnan(x)]
        out = [""] * n
        for i, t in zip(ok, fmt([v[i] for i in ok]) if ok else []):
            out[i] = t
        return out

    columns.append(column(tab["npar"], r_format_int))
    for col in ("AIC", "BIC", "logLik", "deviance"):
        columns.append(column(tab[col], lambda v: r_format(zapsmall(v, digits), digits)))
    columns.append(column(tab["Chisq"], lambda v: r_format([r_round(x, dig_tst) for x in v], digits)))
    columns.append(column(tab["Df"], r_format_int))
    pv = [float(x) for x in tab["Pr(>Chisq)"]]
    columns.append(column(pv, lambda v: format_pval(v, dig_tst)))
    cols = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    stars = any(p < 0.1 for p in pv if not math.isnan(p))
    if stars:
        sym = [significance_stars(p) for p in pv]
        width = max(len(t) for t in sym)
        columns.append([t.ljust(width) for t in sym])
        cols.append("")
    cells = [[c[i] for c in columns] for i in range(n)]
    text = print_char_matrix(cells, labels, cols, right=True)
    if stars:
        text += significance_legend()
    return text


def summary_html(fit) -> str:
    """The summary for a notebook: header lines, then the random-effects and fixed-effects tables as HTML."""
    text = format_glmer_summary(fit) if hasattr(fit, "varcorr") else fit.summary_text()
    head = text.split("Scaled residuals:")[0] if hasattr(fit, "varcorr") else text.split("Coefficients")[0]
    parts = [f"<pre>{html.escape(head.strip())}</pre>"]
    if hasattr(fit, "varcorr"):
        parts.append("<p><b>Random effects</b></p>" + fit.varcorr.to_html(index=False, na_rep=""))
    se = fit.se
    z = fit.fixef / se
    table = pd.DataFrame({"Estimate": fit.fixef, "Std. Error": se, "z value": z})
    if getattr(fit, "reml", None) is not None or (not hasattr(fit, "varcorr") and fit.family.has_dispersion):
        # lmer prints t values without p-values; a glm with a dispersion, t values with t p-values
        table = table.rename(columns={"z value": "t value"})
        if not hasattr(fit, "varcorr"):
            from scipy import stats
            table["Pr(>|t|)"] = 2 * stats.t.sf(np.abs(z), fit.df_resid)
    else:
        table["Pr(>|z|)"] = [math.erfc(abs(v) / math.sqrt(2.0)) for v in z]
    parts.append("<p><b>Fixed effects</b></p>" + table.to_html(float_format=lambda v: f"{v:.4g}"))
    if getattr(fit, "messages", None):
        parts.append("<pre>" + html.escape("\n".join(fit.messages)) + "</pre>")
    return "\n".join(parts)

