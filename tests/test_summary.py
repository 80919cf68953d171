"""Tests for glmmfast.summary._mermod_summary and _glm_summary: R/lme4-identical summary text.

Expected texts come from tests/data/summary_cases.json: the lme4 1.1-31 /
R 4.2 reference outputs (gt_*, cbpp*, sleep_*, inst_lmm) plus a few extra
fits printed by R 4.2.2 / lme4 1.1-31 (keys ``r_*``: long formulas, wide
correlation blocks, ML lmer, nAGQ = 9, gaussian glm).  Residual vectors are
the five printed quantiles (their type-7 quantiles are themselves); vcov
matrices of the reference cases are rebuilt from the printed correlations.
"""

from __future__ import annotations

import json
import pathlib
import types

import numpy as np
import pandas as pd
import pytest

from glmmfast.summary._glm_summary import format_glm_summary
from glmmfast.summary._mermod_summary import format_glmer_summary, method_title_lines

ROOT = pathlib.Path(__file__).resolve().parents[1]

CASES = json.loads((ROOT / "tests" / "data" / "summary_cases.json").read_text(encoding="utf-8"))


def _mer_result(c: dict) -> types.SimpleNamespace:
    names = list(c["fixef"])
    res = types.SimpleNamespace(
        method_title=c["method_title"], family_name=c["family_name"], link_name=c["link_name"],
        formula=c["formula"], data_name=c["data_name"], aic=c["aic"], bic=c["bic"],
        loglik=c["loglik"], deviance=c["deviance"], df_resid=c["df_resid"],
        scaled_residuals=np.array(c["scaled_residuals"]),
        varcorr=pd.DataFrame(c["varcorr"], columns=["grp", "var1", "var2", "vcov", "sdcor"]),
        ngroups=c["ngroups"], nobs=c["nobs"], fixef=pd.Series(c["fixef"]),
        vcov=pd.DataFrame(np.array(c["vcov"]), index=names, columns=names),
        messages=list(c["messages"]), sigma=c["sigma"], reml=c["reml"])
    if "reml_criterion" in c:
        res.reml_criterion = c["reml_criterion"]
    return res


def _glm_result(c: dict) -> types.SimpleNamespace:
    names = list(c["coef"])
    return types.SimpleNamespace(
        formula=c["formula"], family_name=c["family_name"], link_name=c["link_name"],
        data_name=c["data_name"], deviance_residuals=np.array(c["deviance_residuals"]),
        coef=pd.Series(c["coef"]), vcov=pd.DataFrame(np.array(c["vcov"]), index=names, columns=names),
        dispersion=c["dispersion"], null_deviance=c["null_deviance"], df_null=c["df_null"],
        deviance=c["deviance"], df_resid=c["df_resid"], aic=c["aic"], iterations=c["iterations"])


@pytest.mark.parametrize("key", sorted(CASES))
def test_full_summary_matches_r(key: str) -> None:
    c = CASES[key]
    if c["kind"] == "glm":
        out = format_glm_summary(_glm_result(c))
    else:
        out = format_glmer_summary(_mer_result(c))
    # R's console output == capture.output(...) joined by "\n", plus final newline
    expected = c["expected"] + "\n"
    assert out.split("\n") == expected.split("\n")


def test_no_data_line_when_data_name_none() -> None:
    res = _mer_result(CASES["gt_m1"])
    res.data_name = None
    out = format_glmer_summary(res)
    assert "   Data:" not in out
    assert out.split("\n")[3] == "Formula: TICKS ~ YEAR + (1 | LOCATION)"
    assert out.split("\n")[4] == ""


def test_method_title_wrapping() -> None:
    assert method_title_lines(
        "Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)",
        "glmerMod") == ("Generalized linear mixed model fit by maximum likelihood (Laplace\n"
                        "  Approximation) [glmerMod]\n")
    assert method_title_lines("Linear mixed model fit by REML", "lmerMod") == \
        "Linear mixed model fit by REML ['lmerMod']\n"
    # a full title is accepted verbatim as method_title
    res = _mer_result(CASES["cbpp1"])
    res.method_title = ("Generalized linear mixed model fit by maximum likelihood "
                        "(Laplace Approximation)")
    assert format_glmer_summary(res) == CASES["cbpp1"]["expected"] + "\n"


def test_messages_block() -> None:
    res = _mer_result(CASES["gt_m1"])
    res.messages = ["optimizer (bobyqa) convergence code: 0 (OK)",
                    "boundary (singular) fit: see help('isSingular')"]
    out = format_glmer_summary(res)
    assert out.endswith("YEAR97 -0.241  0.520\n"
                        "optimizer (bobyqa) convergence code: 0 (OK)\n"
                        "boundary (singular) fit: see help('isSingular')\n\n")
