"""Results print as R prints them (glmmfast.summary._display, _summary.format_mermod_print):
anova's table, ranef/coef lists, VarCorr, print(merMod); HTML in notebooks.

R's text is in tests/data/printing_reference.json (made by tests/data/r/printing_reference.R,
lme4 1.1-31).  Layouts must be identical character for character; numbers must carry the
same number of digits and agree to 1e-3 (relative, or absolute below 1): lme4 stops short of
glmmfast's optimum on these models by up to 5e-4 in -2 log L, which moves the 4th digit of
cbpp's estimates.
"""

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glmmfast
from conftest import cbpp_fit, grouseticks_fit

REF = json.loads((Path(__file__).parent / "data" / "printing_reference.json").read_text())
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")


def assert_r_layout(ours: str, theirs: str) -> None:
    a, b = ours.rstrip("\n").split("\n"), theirs.rstrip("\n").split("\n")
    assert len(a) == len(b), f"\n{ours}\n--- R:\n{theirs}"
    for x, y in zip(a, b):
        assert len(x) == len(y) and NUMBER.sub("#", x) == NUMBER.sub("#", y), (x, y)
        for u, v in zip(NUMBER.findall(x), NUMBER.findall(y)):
            assert (u.split(".") + [""])[1].__len__() == (v.split(".") + [""])[1].__len__(), (x, y)
            assert abs(float(u) - float(v)) <= 1e-3 * max(1.0, abs(float(v))), (x, y)


@pytest.fixture(scope="module")
def sleep_fit():
    return glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))


def test_anova_prints_lme4s_table_and_is_a_dataframe():
    m1, m2 = grouseticks_fit("TICKS ~ YEAR + (1 | LOCATION)"), grouseticks_fit("TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)")
    tab = glmmfast.anova(m1, m2, names=["g1", "g2"])
    assert isinstance(tab, pd.DataFrame) and list(tab.index) == ["g1", "g2"]
    assert_r_layout(repr(tab), REF["anova_grouseticks"])
    assert "< 2.2e-16 ***" in str(tab)
    # without names: models numbered in the order given; the frame's index keeps the formulas
    default = glmmfast.anova(m2, m1)
    assert str(default).splitlines()[2] == "m2: TICKS ~ YEAR + (1 | LOCATION)"
    assert list(default.index) == [m1.formula, m2.formula]
    assert type(default["Chisq"].to_frame()) is pd.DataFrame  # derived frames are plain again


def parse_r_list(text: str) -> dict[str, pd.DataFrame]:
    """R's printed list of data frames ($name blocks) back into DataFrames (values as printed)."""
    frames = {}
    for block in text.split("$")[1:]:
        lines = [ln for ln in block.split("\n") if ln.strip()]
        name, header, rows = lines[0], lines[1].split(), [ln.split() for ln in lines[2:] if not ln.startswith("with ")]
        frames[name] = pd.DataFrame([[float(v) for v in r[1:]] for r in rows], index=pd.Index([r[0] for r in rows]),
                                    columns=header)
    return frames


@pytest.mark.parametrize("key, kind", [("ranef_cbpp", "ranef"), ("coef_cbpp", "coef"),
                                       ("ranef_sleepstudy", "ranef"), ("coef_sleepstudy", "coef")])
def test_ranef_and_coef_print_exactly_as_r_lists(key, kind):
    # lme4 1.1-31 also prints coef's class attribute (it has no print method for coef.mer); we do not.
    theirs = REF[key].split("\n\nattr(,")[0]
    frames = parse_r_list(theirs)
    if kind == "ranef":
        for df in frames.values():
            df.attrs["condsd"] = df.abs() * 0  # any conditional SDs: their presence is what prints
    assert repr(glmmfast.summary._display.RandomEffects(frames, kind)) == theirs.rstrip("\n")


@pytest.mark.parametrize("key, fit", [("ranef_cbpp", cbpp_fit), ("coef_sleepstudy", None)])
def test_ranef_and_coef_are_rs_numbers(key, fit, sleep_fit):
    fit = fit() if fit else sleep_fit
    ours = fit.ranef() if key.startswith("ranef") else fit.coef()
    assert isinstance(ours, dict) and str(ours).startswith(next(iter(ours)).join("$\n"))
    for g, df in parse_r_list(REF[key].split("\n\nattr(,")[0]).items():
        np.testing.assert_allclose(ours[g].to_numpy(), df.to_numpy(), atol=1e-3, rtol=1e-3)
    if key.startswith("ranef"):
        assert str(ours).endswith("with conditional variances for \u201cherd\u201d ")
    again = pickle.loads(pickle.dumps(ours))
    assert repr(again) == repr(ours) and type(again) is type(ours)


def test_varcorr_view(sleep_fit):
    assert_r_layout(repr(glmmfast.VarCorr(sleep_fit)), REF["varcorr_sleepstudy"])
    two = grouseticks_fit("TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)")
    assert_r_layout(str(glmmfast.VarCorr(two)), REF["varcorr_grouseticks"])
    assert glmmfast.VarCorr(sleep_fit).frame is sleep_fit.varcorr
    with pytest.raises(TypeError, match="mixed-model fit"):
        glmmfast.VarCorr(glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson"))


def test_missing_var_names_are_none(sleep_fit):
    vc = sleep_fit.varcorr
    assert vc["var2"].tolist() == [None, None, "Days", None] and vc["var1"].tolist()[-1] is None
    gamma = glmmfast.glmer("Reaction ~ Days + (1 | Subject)", glmmfast.datasets.load("sleepstudy"),
                           family=glmmfast.families.Gamma(link="log"))
    assert gamma.varcorr["var2"].tolist() == [None, None]


def test_repr_is_lme4s_print(sleep_fit):
    assert_r_layout(repr(cbpp_fit()), REF["print_cbpp"])
    assert_r_layout(repr(sleep_fit), REF["print_sleepstudy"])


def test_notebook_html(sleep_fit):
    page = cbpp_fit()._repr_html_()
    assert page.startswith("<pre>Generalized linear mixed model fit by maximum likelihood")
    assert page.count("<table") == 2 and "Pr(&gt;|z|)" in page and "period4" in page
    assert "t value" in sleep_fit._repr_html_()
    assert glmmfast.VarCorr(sleep_fit)._repr_html_().startswith("<table")
    glm_page = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")._repr_html_()
    assert glm_page.startswith("<pre>Call:\nglm(formula = TICKS ~ YEAR")
    assert glm_page.count("<table") == 1 and "Pr(&gt;|z|)" in glm_page
