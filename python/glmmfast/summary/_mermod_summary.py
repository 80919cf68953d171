"""lme4's printed mixed-model fits: ``print(summary(fit))``, ``print(fit)`` and lmerTest's summary.

Interface
---------
format_glmer_summary(res) -> str    lme4 1.1-31 ``print.summary.merMod`` (glmer fits;
                                    also lmer fits, REML/ML)
format_mermod_print(res) -> str     lme4's ``print.merMod``, the short form
format_lmertest_summary(res, table, ddf) -> str
                                    lmerTest's summary: df and t p-values
format_varcorr(vc, digits, comp, heading) -> str
                                    lme4's ``formatVC`` table of variance components
method_title_lines(title, cls) -> str    lme4's ``.prt.methTit``

The returned string is what R writes to the console, including the final
newline (``capture.output`` joined with "\n" equals ``out[:-1]``).

``res`` is duck-typed.  Attributes read: method_title (approximation name,
e.g. "Laplace Approximation"; a full title starting with
"Generalized"/"Linear" is used verbatim), family_name, link_name, formula
(R text; a fit's own parsed formula, ``res._design.parsed.formula``, is
printed instead when the result carries its design), data_name (None -> no
"Data:" line), aic, bic, loglik, df_resid, scaled_residuals, varcorr
(DataFrame like R's as.data.frame(VarCorr(fit))), ngroups (dict), nobs,
fixef (Series), vcov (DataFrame), messages (list[str], printed verbatim at
the end), and, optionally, reml (True/False for lmer fits; missing/None for
glmer) and reml_criterion (defaults to -2 * loglik).  The "deviance" column
of the AIC table is lme4's devCrit, i.e. -2 * loglik, so ``res.deviance`` is
not read.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from ..formula._deparse import deparse_lines
from ..formula._formula import expand_double_verts
from ._fit_formula import formula_tree
from ._coef_table import coef_table, print_coefmat
from ._r_format import R_DIGITS, WIDTH, r_format, r_format_num, r_round
from ._r_print import abbreviate, cat_fill, named_quantiles, print_char_matrix, print_named_vector, strwrap

__all__ = ["format_glmer_summary", "format_mermod_print", "format_lmertest_summary", "format_varcorr",
           "method_title_lines"]


def method_title_lines(mtit: str, cls: str) -> str:
    """lme4's ``.prt.methTit``."""
    if len(mtit) + 5 + len(cls) > WIDTH:
        lines = strwrap(mtit, width=WIDTH - 2, exdent=2)
        return cat_fill(lines + [" [", cls, "]"], sep="")
    return "%s ['%s']\n" % (mtit, cls)


def _null_str(v: Any) -> str:
    """'' for None/NaN, else str(v)."""
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return ""
    return str(v)


def format_varcorr(vc: pd.DataFrame, digits: int, comp: Sequence[str] = ("Variance", "Std.Dev."),
                   heading: str = "Random effects:\n") -> str:
    """lme4's ``.prt.VC`` / ``formatVC``.

    Parameters
    ----------
    vc : DataFrame
        Columns grp, var1, var2, vcov, sdcor as ``as.data.frame(VarCorr())``.
    digits : int
        Digits for variances and standard deviations.
    comp : sequence of str
        The columns: "Variance" and/or "Std.Dev." (summary: both;
        ``print(VarCorr(fit))`` and ``print(fit)``: "Std.Dev." only).
    heading : str
        Text before the table.

    Returns
    -------
    str
        The table after ``heading``.
    """
    groups: list[str] = []
    terms: dict[str, list[str]] = {}
    sds: dict[str, list[float]] = {}
    cors: dict[str, dict[tuple[str, str], float]] = {}
    resid_sd: Optional[float] = None
    for row in vc.itertuples(index=False):
        grp = str(row.grp)
        v1, v2 = _null_str(row.var1), _null_str(row.var2)
        if grp == "Residual" and not v1:
            resid_sd = float(row.sdcor)
            continue
        if grp not in terms:
            groups.append(grp)
            terms[grp], sds[grp], cors[grp] = [], [], {}
        if not v2:
            terms[grp].append(v1)
            sds[grp].append(float(row.sdcor))
        else:
            cors[grp][(v1, v2)] = float(row.sdcor)
            cors[grp][(v2, v1)] = float(row.sdcor)
    gnames: list[str] = []
    names: list[str] = []
    sd_all: list[float] = []
    compact = vc.attrs.get("compact", {})
    for g in groups:
        if compact.get(g, (None, None, False))[2]:
            terms[g], sds[g] = terms[g][:1], sds[g][:1]  # glmmTMB: one sd row for ar1
        for k, t in enumerate(terms[g]):
            gnames.append(g if k == 0 else "")
            names.append(t)
            sd_all.append(sds[g][k])
    if resid_sd is not None:
        gnames.append("Residual")
        names.append("")
        sd_all.append(resid_sd)
    formatted = {"Variance": r_format([s * s for s in sd_all], digits), "Std.Dev.": r_format(sd_all, digits)}
    colnames = ["Groups", "Name", *comp]
    cells = [[gnames[i], names[i], *(formatted[c][i] for c in comp)] for i in range(len(names))]
    maxlen = max([2 if g in compact else len(terms[g]) for g in groups] + [1])
    if maxlen > 1:
        dig = max(2, digits - 2)
        corr_rows: list[list[str]] = []
        for g in groups:
            tt = terms[g]
            p = len(tt)
            if g in compact:  # glmmTMB: "0.73 (ar1)" on the term's first row
                name, rho = compact[g][:2]
                first = r_format([r_round(rho, dig)], R_DIGITS, nsmall=dig)[0] + f" ({name})"
                corr_rows.extend([[first] + [""] * (maxlen - 1)] + [[""] * maxlen for _ in range(p - 1)])
                continue
            mat = [[1.0 if i == j else cors[g].get((tt[i], tt[j]), float("nan"))
                    for j in range(p)] for i in range(p)]
            flat = r_format([r_round(v, dig) for r in mat for v in r], R_DIGITS, nsmall=dig)
            for i in range(p):
                row = [flat[i * p + j] if j < i else "" for j in range(p)]
                corr_rows.append(row + [""] * (maxlen - p))
        corr_rows = [r[:maxlen - 1] for r in corr_rows]
        while len(corr_rows) < len(cells):
            corr_rows.append([""] * (maxlen - 1))
        for i in range(len(cells)):
            cells[i].extend(corr_rows[i])
        colnames += ["Corr"] + [""] * (maxlen - 2)
    return heading + print_char_matrix(cells, [""] * len(cells), colnames)


def _cor_fixef_block(names: Sequence[str], vcov: np.ndarray) -> str:
    """"Correlation of Fixed Effects" block (empty string when p < 2)."""
    p = len(names)
    if p < 2 or p > 20:
        return ""
    sd = np.sqrt(np.diag(vcov))
    cor = vcov / np.outer(sd, sd)
    np.fill_diagonal(cor, 1.0)
    flat = r_format([r_round(float(v), 3) for v in cor.T.ravel()], R_DIGITS, nsmall=3)
    # flat is column-major; cell (i, j) = flat[j * p + i]
    rns = abbreviate(names, 11)
    cns = abbreviate(names, 6)
    cells = [[flat[j * p + i] if i > j else "" for j in range(p - 1)] for i in range(1, p)]
    return "\nCorrelation of Fixed Effects:\n" + print_char_matrix(
        cells, rns[1:], cns[:p - 1])



def _mermod_header(res: Any) -> list[str]:
    """Title, family, formula and ``Data:`` lines (lme4's .prt.methTit, .prt.family, .prt.call)."""
    reml = getattr(res, "reml", None)
    is_lmm = reml is not None
    out: list[str] = []
    # ---- title
    if is_lmm:
        mtit = "Linear mixed model fit by " + ("REML" if reml else "maximum likelihood ")
        cls = "lmerMod"
    else:
        mt = str(getattr(res, "method_title", "Laplace Approximation")).strip()
        mt = " ".join(mt.split())
        if mt.startswith("Generalized") or mt.startswith("Linear"):
            mtit = mt
        else:
            if mt.startswith("(") and mt.endswith(")"):
                mt = mt[1:-1]
            mtit = "Generalized linear mixed model fit by maximum likelihood (" + mt + ")"
        cls = "glmerMod"
    out.append(method_title_lines(mtit, cls))
    # ---- family
    if not is_lmm:
        fam = getattr(res, "family_name", None)
        if fam is not None:
            items = [" Family:", str(fam)]
            link = getattr(res, "link_name", None)
            if link is not None:
                items.append(" ( " + str(link) + " )")
            out.append(cat_fill(items))
    # ---- call
    # lme4 stores (and prints) the formula with || expanded.
    formula = formula_tree(res)
    out.append(cat_fill(["Formula:"] + deparse_lines(expand_double_verts(formula))))
    data_name = getattr(res, "data_name", None)
    if data_name is not None:
        out.append(cat_fill(["   Data:", str(data_name)]))
    return out


def format_aic_table(res: Any) -> str:
    """lme4's (and glmmTMB's) AIC, BIC, logLik, deviance, df.resid line pair."""
    loglik = float(res.loglik)
    vals = [r_round(float(res.aic), 1), r_round(float(res.bic), 1),
            r_round(loglik, 1), r_round(-2.0 * loglik, 1),
            float(res.df_resid)]
    f = [s for s in r_format(vals)]
    f[4] = r_format_num(vals[4])
    return print_named_vector(["AIC", "BIC", "logLik", "deviance", "df.resid"], f, gap=1)


def format_glmer_summary(res: Any) -> str:
    """Format a mixed-model fit like lme4's ``print(summary(fit))``.

    Parameters
    ----------
    res : object
        Duck-typed fit result; see the module header for the attributes read.
        ``res.reml`` (bool) marks an lmer fit; absent/None means glmer.

    Returns
    -------
    str
        The text R prints, ending with a newline.
    """
    digits = 4
    reml = getattr(res, "reml", None)
    is_lmm = reml is not None
    out = _mermod_header(res)
    out.append("\n")
    # ---- AIC table
    loglik = float(res.loglik)
    if is_lmm and reml:
        crit = getattr(res, "reml_criterion", None)
        crit = -2.0 * loglik if crit is None else float(crit)
        out.append(cat_fill(["REML criterion at convergence:",
                              r_format_num(r_round(crit, 1))]))
    else:
        out.append(format_aic_table(res))
    out.append("\n")
    # ---- residuals
    out.append("Scaled residuals: \n")
    # a fit on partitioned rows says what its quartiles are taken of (results/_partitioned_result.py)
    resid = res._summary_residuals() if hasattr(res, "_summary_residuals") else res.scaled_residuals
    out.append(named_quantiles(resid, digits, gap=1))
    out.append("\n")
    # ---- random effects
    vc = res.varcorr
    if not isinstance(vc, pd.DataFrame):
        vc = pd.DataFrame(vc)
    out.append(format_varcorr(vc, digits))
    ng = res.ngroups
    out.append(cat_fill(["Number of obs: %d, groups: " % int(res.nobs),
                          "; ".join("%s, %d" % (k, int(v)) for k, v in ng.items())]))
    # ---- fixed effects
    fixef = res.fixef
    names = [str(n) for n in fixef.index]
    est = np.asarray(fixef, dtype=float)
    if len(names):
        vcov = np.asarray(pd.DataFrame(res.vcov).loc[fixef.index, fixef.index], dtype=float)
        se = np.sqrt(np.diag(vcov))
        has_sc = bool(((vc["grp"].astype(str) == "Residual")).any()) if len(vc) else False
        letter = "t" if (is_lmm or has_sc) else "z"
        out.append("\nFixed effects:\n")
        out.append(coef_table(names, est, se, digits, letter, pvalues=not is_lmm,
                               df=None, zap_stat=False))
        out.append(_cor_fixef_block(names, vcov))
    # ---- messages
    msgs = [str(m) for m in (getattr(res, "messages", None) or [])]
    if msgs:
        # lme4 heads its messages with the optimiser's own status line.
        optimizer = getattr(getattr(res, "optinfo", None), "optimizer", None)
        if optimizer:
            msgs.insert(0, f"optimizer ({optimizer}) convergence code: 0 (OK)")
        out.append("\n".join(msgs) + "\n\n")
    return "".join(out)


def format_mermod_print(res: Any) -> str:
    """Format a mixed-model fit like lme4's ``print(fit)`` (print.merMod: the short form).

    Parameters
    ----------
    res : object
        Duck-typed fit result, as :func:`format_glmer_summary`.

    Returns
    -------
    str
        The text R prints, ending with a newline.
    """
    digits = 4  # print.merMod: max(3, getOption("digits") - 3)
    out = _mermod_header(res)
    reml = getattr(res, "reml", None)
    if reml:
        out.append(cat_fill(["REML criterion at convergence:", r_format_num(r_round(float(res.reml_criterion), 4), 7)]))
    else:
        loglik = float(res.loglik)
        vals = [r_round(v, 4) for v in (float(res.aic), float(res.bic), loglik, -2.0 * loglik)] + [float(res.df_resid)]
        f = r_format(vals)
        f[4] = r_format_num(vals[4])
        out.append(print_named_vector(["AIC", "BIC", "logLik", "deviance", "df.resid"], f, gap=1))
    vc = res.varcorr
    out.append(format_varcorr(vc if isinstance(vc, pd.DataFrame) else pd.DataFrame(vc), digits, comp=("Std.Dev.",)))
    out.append(cat_fill(["Number of obs: %d, groups: " % int(res.nobs),
                          "; ".join("%s, %d" % (k, int(v)) for k, v in res.ngroups.items())]))
    fixef = res.fixef
    if len(fixef):
        out.append("Fixed Effects:\n")
        out.append(print_named_vector([str(n) for n in fixef.index],
                                       r_format([float(v) for v in fixef], digits), gap=2))
    else:
        out.append("No fixed effect coefficients\n")
    msgs = list(getattr(res, "messages", None) or [])
    if msgs:  # lme4's .prt.warnings(summary = FALSE)
        optimizer = getattr(getattr(res, "optinfo", None), "optimizer", None) or "nloptwrap"
        out.append(f"optimizer ({optimizer}) convergence code: 0 (OK) ; 0 optimizer warnings; "
                   f"{len(msgs)} lme4 warnings \n")
    return "".join(out)



def format_lmertest_summary(res: Any, table: pd.DataFrame, ddf: str) -> str:
    """lmerTest's ``summary(fit, ddf=...)``: lme4's text with its title and a
    fixed-effects table with df and p-values (``table``: the fit's coef_table).
    """
    text = format_glmer_summary(res)
    names = [str(n) for n in res.fixef.index]
    est = np.asarray(res.fixef, dtype=float)
    vcov = np.asarray(pd.DataFrame(res.vcov).loc[res.fixef.index, res.fixef.index], dtype=float)
    lme4_table = coef_table(names, est, np.sqrt(np.diag(vcov)), 4, "t", pvalues=False, df=None, zap_stat=False)
    t = table["t value"].to_numpy(dtype=float)
    new_table = print_coefmat(names, list(table["Estimate"]), list(table["Std. Error"]), list(t),
                               list(table["Pr(>|t|)"]), ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"],
                               4, False, df=list(table["df"]))
    old_title = method_title_lines("Linear mixed model fit by " + ("REML" if res.reml else "maximum likelihood "),
                                    "lmerMod")
    method = "Satterthwaite's" if ddf == "Satterthwaite" else "Kenward-Roger's"
    crit = "REML" if res.reml else "maximum likelihood "
    title = method_title_lines(f"Linear mixed model fit by {crit}. t-tests use {method} method", "lmerModLmerTest")
    return title + text[len(old_title):].replace(lme4_table, new_table, 1)
