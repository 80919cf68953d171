"""anova: lme4's likelihood-ratio table for nested grouseticks models (m1 vs m2)."""

import numpy as np
import pytest

import glmmfast
from conftest import grouseticks_fit, postfit_reference

M1 = "TICKS ~ YEAR + (1 | LOCATION)"
M2 = "TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)"


def test_table_matches_lme4():
    ref = postfit_reference()["anova"]
    # Given in the "wrong" order: rows are sorted by npar, as lme4 does.
    tab = glmmfast.anova(grouseticks_fit(M2), grouseticks_fit(M1))
    assert list(tab.index) == [M1, M2]
    assert list(tab.columns) == ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    assert list(tab["npar"]) == ref["npar"]
    # lme4's m1 stops 0.0024 above glmmfast's -2 log L (it warns it failed to converge).
    for col, key in [("AIC", "AIC"), ("BIC", "BIC"), ("logLik", "logLik"), ("deviance", "deviance")]:
        np.testing.assert_allclose(tab[col], ref[key], atol=5e-3)
    assert tab["Chisq"].iloc[1] == pytest.approx(ref["Chisq"][1], abs=5e-3)
    assert tab["Df"].iloc[1] == ref["Df"][1]
    assert tab["Pr(>Chisq)"].iloc[1] == pytest.approx(ref["p"][1], rel=1e-2)
    assert np.isnan(tab["Chisq"].iloc[0]) and np.isnan(tab["Pr(>Chisq)"].iloc[0])
    # Internal identity: Chisq is the drop in -2 log L.
    assert tab["Chisq"].iloc[1] == pytest.approx(grouseticks_fit(M1).deviance - grouseticks_fit(M2).deviance)


def test_glm_against_glmer(grouseticks):
    g = glmmfast.glm("TICKS ~ YEAR", grouseticks, family="poisson")
    tab = glmmfast.anova(grouseticks_fit(M1), g, names=["glmm", "glm"])
    assert list(tab.index) == ["glm", "glmm"]
    assert list(tab["npar"]) == [3, 4]
    assert tab["Chisq"].iloc[1] == pytest.approx(-2 * g.loglik - grouseticks_fit(M1).deviance)


def test_different_data_rejected(grouseticks):
    other = glmmfast.glmer(M1, grouseticks.iloc[:300], family="poisson")
    with pytest.raises(glmmfast.DataError, match="same data"):
        glmmfast.anova(grouseticks_fit(M2), other)
    with pytest.raises(glmmfast.DataError, match="two"):
        glmmfast.anova(grouseticks_fit(M1))
