"""fit.r2() against performance::r2_nakagawa (tests/data/r2_reference.R -> r2_reference.json):
7 LMMs (lme4 fits) and 8 GLMMs (glmmTMB fits: the Laplace likelihood glmmfast maximises), R² to 1e-3
relative; the variance components behind them; and the cases performance treats specially."""

from __future__ import annotations

import json
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.inference._r2 import variance_components

from conftest import DATA

REFERENCE = json.loads((DATA / "r2_reference.json").read_text())["cases"]
#: grouping (and other categorical) columns of the CSVs the R script writes, read as labels
_CATEGORICAL = {"penicillin": ["plate", "sample"], "pastes": ["batch", "cask"], "cake": ["replicate", "recipe"],
                "exam": ["school", "sex"], "contraception": ["district", "urban", "livch"]}


def _data(name: str) -> pd.DataFrame:
    if name in _CATEGORICAL:
        return pd.read_csv(DATA / f"{name}.csv", dtype={c: str for c in _CATEGORICAL[name]})
    return glmmfast.datasets.load(name)


@lru_cache(maxsize=None)
def _fit(case_id: str):
    c = REFERENCE[case_id]["case"]
    df = _data(c["data"])
    if c["engine"] == "lmer":
        return glmmfast.lmer(c["formula"], df, REML=c["REML"])
    if c["engine"] == "glmer.nb":
        return glmmfast.glmer_nb(c["formula"], df, link=c["link"])
    return glmmfast.glmer(c["formula"], df, family=glmmfast.families.get_family(c["family"], c["link"]))


def _quiet(f, *args):
    """f(*args) with performance's 'mu too close to zero' warning recorded, not shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = f(*args)
    return out, [str(w.message) for w in caught]


@pytest.mark.parametrize("case_id", list(REFERENCE))
def test_r2_matches_performance(case_id):
    ref = REFERENCE[case_id]
    r2, _ = _quiet(_fit(case_id).r2)
    assert set(r2) == {"marginal", "conditional"}
    assert r2["marginal"] == pytest.approx(ref["marginal"], rel=1e-3, abs=1e-9)
    assert r2["conditional"] == pytest.approx(ref["conditional"], rel=1e-3)


@pytest.mark.parametrize("case_id", list(REFERENCE))
def test_variance_components_match_insight(case_id):
    ref = REFERENCE[case_id]
    v, _ = _quiet(variance_components, _fit(case_id))
    assert v.fixed == pytest.approx(ref["var_fixed"], rel=1e-3, abs=1e-9)
    assert v.random == pytest.approx(ref["var_random"], rel=1e-3)
    assert v.distribution == pytest.approx(ref["var_distribution"], rel=1e-3)
    assert v.dispersion == pytest.approx(ref["var_dispersion"], rel=1e-3, abs=1e-12)


def test_observation_level_effect_is_dispersion_not_random():
    """(1 | INDEX) has one level per row: it moves from the random to the residual variance."""
    v, _ = _quiet(variance_components, _fit("gt_poisson_olre"))
    assert v.dispersion > 0.1
    assert v.residual == pytest.approx(v.distribution + v.dispersion)


def test_count_models_warn_about_small_mean_as_performance():
    _, msgs = _quiet(_fit("gt_poisson").r2)
    assert any("too close to zero" in m for m in msgs)


def test_binomial_link_constants():
    assert variance_components(_fit("cbpp_logit")).distribution == pytest.approx(np.pi**2 / 3)
    assert variance_components(_fit("cbpp_probit")).distribution == 1.0


def test_singular_fit_has_no_conditional_r2():
    """Group means all equal: the group variance is estimated as 0; as performance, marginal from
    fixed and residual variance only, conditional NaN, with a warning."""
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(10), 6)
    x = rng.normal(size=g.size)
    e = rng.normal(size=g.size)
    e -= pd.Series(e).groupby(g).transform("mean").to_numpy()  # no between-group variation at all
    df = pd.DataFrame({"y": 1 + 0.5 * x + e, "x": x, "g": g.astype(str)})
    fit = glmmfast.lmer("y ~ x + (1 | g)", df)
    assert fit.theta[0] < 1e-5
    with pytest.warns(UserWarning, match="singular"):
        r2 = fit.r2()
    fixed = np.var(fit.model_matrix().to_numpy() @ fit.fixef.to_numpy(), ddof=1)
    assert r2["marginal"] == pytest.approx(fixed / (fixed + fit.sigma**2), rel=1e-6)
    assert np.isnan(r2["conditional"])


def test_random_slope_missing_from_fixed_part_warns():
    df = glmmfast.datasets.load("sleepstudy")
    fit = glmmfast.lmer("Reaction ~ 1 + (Days | Subject)", df)
    with pytest.warns(UserWarning, match="random slopes not present as fixed effects"):
        r2 = fit.r2()
    assert r2["marginal"] == pytest.approx(0.0, abs=1e-12)  # X beta is constant
    assert 0 < r2["conditional"] < 1


@pytest.mark.parametrize("family", [glmmfast.families.Binomial(link="log"), glmmfast.families.Gamma(link="log")])
def test_unsupported_family_or_link_is_named(family, cbpp):
    if family.name == "binomial":
        fit = glmmfast.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp, family=family)
    else:
        fit = glmmfast.glmer("Reaction ~ Days + (1 | Subject)", glmmfast.datasets.load("sleepstudy"), family=family)
    with pytest.raises(glmmfast.FamilyError, match=f"not {family.name}\\({family.link}\\)"):
        fit.r2()


def test_fixed_negative_binomial_shape_stays_fixed_in_the_null_model(grouseticks):
    """glmer with NegativeBinomial(theta) fixed: the null model keeps theta, so the distribution-specific
    variance is ln(1 + 1/mu0 + 1/theta) with mu0 from the null model fitted at that theta."""
    fam = glmmfast.families.NegativeBinomial(2.0)
    fit = glmmfast.glmer("TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", grouseticks, family=fam)
    null = glmmfast.glmer("TICKS ~ 1 + (1 | LOCATION)", grouseticks, family=glmmfast.families.NegativeBinomial(2.0))
    mu0 = np.exp(null.fixef.iloc[0])
    v, _ = _quiet(variance_components, fit)
    assert v.distribution == pytest.approx(np.log1p(1 / mu0 + 1 / 2.0), rel=1e-6)
