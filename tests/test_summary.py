"""Tests for glmmfast.summary._summary: R/lme4-identical summary text.

Expected texts come from tests/data/summary_cases.json: the lme4 1.1-31 /
R 4.2 reference outputs (gt_*, cbpp*, sleep_*, inst_lmm) plus a few extra
fits printed by R 4.2.2 / lme4 1.1-31 (keys ``r_*``: long formulas, wide
correlation blocks, ML lmer, nAGQ = 9, gaussian glm).  Residual vectors are
the five printed quantiles (their type-7 quantiles are themselves); vcov
matrices of the reference cases are rebuilt from the printed correlations.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import types

import numpy as np
import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "glmmfast_summary_under_test", ROOT / "python" / "glmmfast" / "summary" / "_summary.py")
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)

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
        out = S.format_glm_summary(_glm_result(c))
    else:
        out = S.format_glmer_summary(_mer_result(c))
    # R's console output == capture.output(...) joined by "\n", plus final newline
    expected = c["expected"] + "\n"
    assert out.split("\n") == expected.split("\n")


def test_no_data_line_when_data_name_none() -> None:
    res = _mer_result(CASES["gt_m1"])
    res.data_name = None
    out = S.format_glmer_summary(res)
    assert "   Data:" not in out
    assert out.split("\n")[3] == "Formula: TICKS ~ YEAR + (1 | LOCATION)"
    assert out.split("\n")[4] == ""


def test_method_title_wrapping() -> None:
    assert S._method_title_lines(
        "Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)",
        "glmerMod") == ("Generalized linear mixed model fit by maximum likelihood (Laplace\n"
                        "  Approximation) [glmerMod]\n")
    assert S._method_title_lines("Linear mixed model fit by REML", "lmerMod") == \
        "Linear mixed model fit by REML ['lmerMod']\n"
    # a full title is accepted verbatim as method_title
    res = _mer_result(CASES["cbpp1"])
    res.method_title = ("Generalized linear mixed model fit by maximum likelihood "
                        "(Laplace Approximation)")
    assert S.format_glmer_summary(res) == CASES["cbpp1"]["expected"] + "\n"


@pytest.mark.parametrize("pv,digits,expected", [
    ([0.000388, 1e-20, 1e-30], 3, ["0.000388", "< 2e-16", "< 2e-16"]),
    ([1e-20, 1e-30], 3, ["<2e-16", "<2e-16"]),
    ([0.2208, 2.58e-07, 0.00918], 3, ["0.22080", "2.58e-07", "0.00918"]),
    ([1.47e-09, 0.001068, 0.000474, 0.000182], 3, ["1.47e-09", "0.001068", "0.000474", "0.000182"]),
    ([0.188, 4.97e-12, 6.68e-08], 3, ["0.188", "4.97e-12", "6.68e-08"]),
])
def test_format_pval(pv: list, digits: int, expected: list) -> None:
    assert S._format_pval(pv, digits) == expected


@pytest.mark.parametrize("names,minlength,expected", [
    (["(Intercept)", "YEAR96", "YEAR97"], 6, ["(Intr)", "YEAR96", "YEAR97"]),
    (["(Intercept)", "period2", "period3", "period4"], 6, ["(Intr)", "perid2", "perid3", "perid4"]),
    (["cHEIGHT", "service1"], 6, ["cHEIGH", "servc1"]),
    (["longvariablename_alpha", "longvariablename_beta"], 11, ["lngvrblnm_l", "lngvrblnm_b"]),
])
def test_abbreviate(names: list, minlength: int, expected: list) -> None:
    assert S._abbreviate(names, minlength) == expected


def test_r_format_common_width() -> None:
    assert S._r_format([612.100158, 35.0717, 654.94], 4) == ["612.10", " 35.07", "654.94"]
    assert S._r_format([24.7406, 5.92213, 25.5918], 4) == ["24.741", " 5.922", "25.592"]
    assert S._r_format([1e-10, 1.0], 4) == ["1e-10", "1e+00"]
    assert S._r_format([-0.0, -0.048212], 4, nsmall=3) == [" 0.00000", "-0.04821"]


def test_deparse_long_formula() -> None:
    f = ("y ~ x1 + x2 + f + longvariablename_alpha + longvariablename_beta + x1:x2 + "
         "(1 + x1 | g) + (1 | h)")
    assert S._deparse(f) == [
        "y ~ x1 + x2 + f + longvariablename_alpha + longvariablename_beta + ",
        "    x1:x2 + (1 + x1 | g) + (1 | h)"]
    # spacing is normalised like R's deparse
    assert S._deparse("y~x+(1|g)") == ["y ~ x + (1 | g)"]
    assert S._deparse("cbind(incidence, size-incidence) ~ period + (1|herd)") == [
        "cbind(incidence, size - incidence) ~ period + (1 | herd)"]


def test_messages_block() -> None:
    res = _mer_result(CASES["gt_m1"])
    res.messages = ["optimizer (bobyqa) convergence code: 0 (OK)",
                    "boundary (singular) fit: see help('isSingular')"]
    out = S.format_glmer_summary(res)
    assert out.endswith("YEAR97 -0.241  0.520\n"
                        "optimizer (bobyqa) convergence code: 0 (OK)\n"
                        "boundary (singular) fit: see help('isSingular')\n\n")
