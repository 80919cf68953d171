"""glmmTMB's printed summary (``print(summary(glmmTMB(...)))``) for the models only glmmTMB fits.

Holds :func:`format_tmb_summary`: the family line, the formula with its
``Zero inflation:`` line, the AIC table, the random effects of the
conditional model (and of the zero-inflation model when its formula has
random-effects terms: a :class:`~glmmfast.results._zi_random_effects_result.ZiRandomEffectsResult`), the family parameter line ("Dispersion parameter for
nbinom2 family (): 1.51") and one coefficient table per component
(conditional, zero-inflation, dispersion: glmmTMB's ``Dispersion:``
formula line and ``Dispersion model`` table for a ``dispformula``), as
glmmTMB 1.1.5 prints them.  Reads a
:class:`~glmmfast.results._results.GlmerResult` (duck-typed: family,
formula, data_name, aic/bic/loglik/df_resid, varcorr, nobs, ngroups,
``family_parameters``, ``coef_table(component)``, ``fixef_zi``, ``fixef_disp``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..formula._deparse import deparse_lines
from ..formula._formula import parse_formula_tree
from ..formula._nodes import formula_sides
from ._coef_table import coef_table
from ._fit_formula import formula_tree
from ._mermod_summary import format_aic_table, format_varcorr
from ._r_print import cat_fill

__all__ = ["format_tmb_summary", "tmb_family_name"]

#: glmmTMB's names of this package's families
_TMB_NAMES = {"negative.binomial": "nbinom2"}


def tmb_family_name(family) -> str:
    """The family's name as glmmTMB prints it (``nbinom2`` for the negative binomial)."""
    return _TMB_NAMES.get(family.name, family.name)


def _parameter_line(res: Any) -> str:
    """glmmTMB's family parameter line (empty for a family without one, and beside a dispersion model with
    covariates, where glmmTMB prints none: not the t's df nor the tweedie power either)."""
    if _dispersion_formula(res) not in (None, "~1"):
        return ""
    params = res.family_parameters
    name = tmb_family_name(res.family)
    if _dispersion_formula(res) == "~1" and res.family.name == "gaussian":  # a one-number dispersion model
        params = {"dispersion": res.sigma**2}
    if "dispersion" in params and not res.family.sigma_is_dispersion:
        return f"\nDispersion estimate for {name} family (sigma^2): {params['dispersion']:.3g} \n"
    if name == "t":  # the t's scale, printed squared as the gaussian's
        return f"\nDispersion estimate for t family (sigma^2): {params['sigma'] ** 2:.3g} \n"
    if params:
        return f"\nDispersion parameter for {name} family (): {next(iter(params.values())):.3g} \n"
    return ""


def _dispersion_formula(res: Any) -> str | None:
    """The dispersion model's formula as glmmTMB prints it (``~x``), None without one."""
    if getattr(res, "fixef_disp", None) is None:
        return None
    return "~" + res._design.disp.formula.lstrip("~").strip()


def _random_effects_section(res: Any, digits: int) -> str:
    """glmmTMB's "Random effects:" section: a "Conditional model:" block, and a "Zero-inflation
    model:" block when the ziformula has random effects (``res.varcorr`` then a dict with ``"cond"``
    and ``"zi"``, ``res.ngroups_zi`` the zero-inflation terms' groups), each block its variance
    table and its "Number of obs" line."""
    varcorr = res.varcorr
    blocks = [("Conditional model", varcorr["cond"] if isinstance(varcorr, dict) else varcorr, res.ngroups)]
    if isinstance(varcorr, dict) and "zi" in varcorr:
        blocks.append(("Zero-inflation model", varcorr["zi"], res.ngroups_zi))
    out = []
    for i, (title, vc, ngroups) in enumerate(blocks):
        if not isinstance(vc, pd.DataFrame):
            vc = pd.DataFrame(vc)
        if res.family.name != "gaussian":  # glmmTMB prints the dispersion on its own line instead
            vc = vc[vc["grp"].astype(str) != "Residual"]
        heading = ("Random effects:\n" if i == 0 else "") + f"\n{title}:\n"
        out.append(format_varcorr(vc, digits, heading=heading))
        out.append(cat_fill(["Number of obs: %d, groups: " % int(res.nobs),
                             "; ".join("%s, %d" % (k, int(v)) for k, v in ngroups.items())]))
    return "".join(out)


def format_tmb_summary(res: Any) -> str:
    """Format a fit like glmmTMB's ``print(summary(fit))``.

    Parameters
    ----------
    res : GlmerResult

    Returns
    -------
    str
        The text glmmTMB prints, ending with a newline.
    """
    digits = 4
    out = [cat_fill([" Family:", tmb_family_name(res.family), " ( " + str(res.family.link) + " )"])]
    out.append(cat_fill(["Formula:         "] + deparse_lines(formula_tree(res))))
    if res.fixef_zi is not None:
        # glmmTMB pads the zero-inflation formula by the response's width (its .prt.call)
        response = "".join(deparse_lines(formula_sides(formula_tree(res))[0]))
        # deparsed as R does, its lines pasted together (glmmTMB's paste(deparse(.), collapse = ""))
        zi_text = "".join(deparse_lines(parse_formula_tree(res._design.zi.formula)))
        out.append(cat_fill(["Zero inflation:" + " " * (len(response) + 3), zi_text]))
    disp_text = _dispersion_formula(res)
    if disp_text not in (None, "~1"):  # glmmTMB prints its default ~1 on no line
        response = "".join(deparse_lines(formula_sides(formula_tree(res))[0]))
        out.append(cat_fill(["Dispersion:" + " " * (len(response) + 7), disp_text]))
    if res.data_name is not None:
        out.append(cat_fill(["Data:", str(res.data_name)]))
    out.append("\n")
    out.append(format_aic_table(res))
    out.append("\n")
    out.append(_random_effects_section(res, digits))
    out.append(_parameter_line(res))
    components = [("cond", "Conditional model")] + ([("zi", "Zero-inflation model")] if res.fixef_zi is not None
                                                      else [])
    if disp_text not in (None, "~1") and res.fixef_disp.size:
        components.append(("disp", "Dispersion model"))
    for component, title in components:
        tab = res.coef_table(component)
        out.append(f"\n{title}:\n")
        out.append(coef_table(list(map(str, tab.index)), tab["Estimate"].to_numpy(), tab["Std. Error"].to_numpy(),
                              digits, "z", pvalues=True, df=None, zap_stat=False))
    return "".join(out)
