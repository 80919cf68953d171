"""R's printed GLM fit: ``print(summary(glm_fit))`` as R 4.2 prints it.

Interface
---------
format_glm_summary(res) -> str
    The text R writes (starting with an empty line, ending with an empty
    line).  ``res`` is duck-typed; attributes read: formula (R text; a
    fit's own parsed formula, ``res._design.parsed.formula``, is printed
    instead when the result carries its design), family_name, link_name, data_name
    (optional), deviance_residuals, coef, vcov, dispersion, null_deviance,
    df_null, deviance, df_resid, aic, iterations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import FormulaError
from ..formula._deparse import deparse_lines
from ..formula._formula import parse_expression
from ..formula._nodes import Arg, Call, Name, Node
from ._fit_formula import formula_tree
from ._coef_table import coef_table
from ._r_format import r_format, r_format_int, r_format_num, zapsmall
from ._r_print import named_quantiles, print_named_vector

__all__ = ["format_glm_summary"]


def _call_argument(text: str) -> Node:
    """The expression of a call argument given as R text (a name that is not R, as a back-quoted name)."""
    try:
        return parse_expression(text)
    except FormulaError:
        return Name(text)


def format_glm_summary(res: Any) -> str:
    """Format a GLM fit like R 4.2's ``print(summary(glm_fit))``.

    Parameters
    ----------
    res : object
        Duck-typed fit result; see the module header for the attributes read.

    Returns
    -------
    str
        The text R prints (starting with an empty line, ending with an empty
        line).
    """
    digits = 4
    fam = str(res.family_name)
    data_name = getattr(res, "data_name", None) or "data"
    formula = formula_tree(res)
    call = Call(Name("glm"), (Arg("formula", formula), Arg("family", _call_argument(fam)),
                              Arg("data", _call_argument(data_name))))
    out = ["\nCall:\n", "\n".join(deparse_lines(call)), "\n\n"]
    out.append("Deviance Residuals: \n")
    dr = np.asarray(res.deviance_residuals, dtype=float)
    df_resid = int(res.df_resid)
    if df_resid > 5:
        out.append(named_quantiles(dr, digits, gap=2))
    else:
        xx = zapsmall(list(dr), digits + 1)
        f = r_format(xx, digits, na="")
        out.append(print_named_vector([str(i + 1) for i in range(len(xx))], f, gap=2))
    coef = res.coef
    names = [str(n) for n in coef.index]
    if not len(names):
        out.append("\nNo Coefficients\n")
    else:
        est = np.asarray(coef, dtype=float)
        vcov = np.asarray(pd.DataFrame(res.vcov).reindex(index=coef.index,
                                                          columns=coef.index), dtype=float)
        se = np.sqrt(np.diag(vcov))
        nsing = int(np.sum(np.isnan(est)))
        if nsing:
            out.append("\nCoefficients: (%d not defined because of singularities)\n" % nsing)
        else:
            out.append("\nCoefficients:\n")
        fixed_disp = fam in ("poisson", "binomial")
        out.append(coef_table(names, est, se, digits, "z" if fixed_disp else "t",
                               pvalues=True, df=None if fixed_disp else df_resid,
                               zap_stat=False))
    disp = r_format_num(float(res.dispersion))
    out.append("\n(Dispersion parameter for %s family taken to be %s)\n\n" % (fam, disp))
    devs = r_format([float(res.null_deviance), float(res.deviance)], max(5, digits + 1))
    dfs = r_format_int([int(res.df_null), df_resid])
    for lab, d, k in zip(["    Null", "Residual"], devs, dfs):
        out.append(" ".join([lab + " deviance:", d, " on", k, " degrees of freedom\n"]))
    aic = float(res.aic)
    out.append("AIC: %s\n\nNumber of Fisher Scoring iterations: %d\n" % (
        r_format_num(aic, max(4, digits + 1)), int(res.iterations)))
    out.append("\n")
    return "".join(out)
