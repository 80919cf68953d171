"""glmmTMB's dispformula in glmer: what is supported in this first landing and what is refused.

Only the default, one dispersion (``"~1"``), is supported; glmmTMB's
gaussian with a dispformula is a maximum-likelihood LMM.  A dispformula for
a family without a dispersion (Poisson) and dispersion models with
covariates raise :class:`~glmmfast.FormulaError` naming them.
"""

from __future__ import annotations

import pytest

import glmmfast
from glmmfast import FormulaError


def test_gaussian_with_dispformula_is_fitted_by_maximum_likelihood():
    df = glmmfast.datasets.load("sleepstudy")
    a = glmmfast.glmer("Reaction ~ Days + (Days | Subject)", df, family="gaussian", dispformula="~1")
    b = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", df, REML=False)
    assert a.reml is False
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)


def test_a_dispformula_for_poisson_names_it():
    df = glmmfast.datasets.load("grouseticks")
    with pytest.raises(FormulaError, match="dispformula '~1' does not fit the poisson family"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", dispformula="~1")


def test_dispersion_models_with_covariates_are_not_supported_yet():
    df = glmmfast.datasets.load("grouseticks")
    with pytest.raises(FormulaError, match="only '~1' .* is supported yet"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2", dispformula="~ YEAR")
    with pytest.raises(FormulaError, match="one-sided formula"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2", dispformula="YEAR")
