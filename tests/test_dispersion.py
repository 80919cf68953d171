"""dispersion_check against R (tests/data/dispersion_reference.json, made by the R code in its note)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import glmmfast
from glmmfast import dispersion_check

from conftest import DATA, fit_case

REF = json.loads((DATA / "dispersion_reference.json").read_text())


def test_glm_matches_r():
    check = dispersion_check(fit_case("gt_glm"))
    ref = REF["glm"]
    assert check.df == ref["df"]
    assert check.chisq == pytest.approx(ref["chisq"], rel=1e-8)
    assert check.ratio == pytest.approx(ref["ratio"], rel=1e-8)
    assert check.p_value == ref["p"] == 0.0  # underflows in R too


def test_glmer_matches_overdisp_fun():
    """GLMM FAQ's overdisp_fun; glmmfast's optimum is slightly better than lme4's, hence rel 1e-3."""
    check = dispersion_check(fit_case("gt_m1"))
    ref = REF["glmer"]
    assert check.df == ref["df"]
    assert check.ratio == pytest.approx(ref["ratio"], rel=1e-3)
    assert np.log(check.p_value) == pytest.approx(np.log(ref["p"]), rel=1e-2)


def test_no_overdispersion_in_poisson_data():
    """Simulation truth: for Poisson data the ratio is near 1 and p is not small."""
    rng = np.random.default_rng(7)
    import pandas as pd
    x = rng.normal(size=4000)
    df = pd.DataFrame({"x": x, "y": rng.poisson(np.exp(0.5 + 0.3 * x))})
    check = dispersion_check(glmmfast.glm("y ~ x", df, family="poisson"))
    assert abs(check.ratio - 1) < 0.08 and check.p_value > 0.001
    assert "on 3998 df" in str(check)


def test_gaussian_is_refused():
    fit = glmmfast.glm("HEIGHT ~ YEAR", glmmfast.datasets.load("grouseticks"))
    with pytest.raises(glmmfast.FamilyError, match="gaussian"):
        dispersion_check(fit)
