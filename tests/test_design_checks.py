"""lme4's checks before fitting (_design_checks.py): the refusals with lme4's
thresholds and messages (tests/data/lme4_checks.json, from lme4_checks.R),
raised before the engine is built; the messages of fits that go ahead; and
predictors on scales no fit can use."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import ConvergenceError, DataError
from glmmfast import _core
from glmmfast.design import _design, _design_checks
from glmmfast.fit import _fit_state
from glmmfast.design._design_checks import (SCALE_MESSAGE, check_extreme_scales, failures_blamed_on_scales,
                                     scale_messages)

from conftest import lme4_checks


@pytest.fixture
def no_engine(monkeypatch):
    """Fail the test if Z or an engine model is built: the checks must refuse first."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the engine stage was reached")
    for module, name in ((_design, "random_effects_matrix"), (_fit_state, "engine_model"),
                         (_fit_state, "lmm_engine_model")):
        monkeypatch.setattr(module, name, forbidden)


@pytest.mark.parametrize("fit, key", [
    (lambda df: glmmfast.glmer("TICKS ~ YEAR + (0 + INDEX | LOCATION)", df, family="poisson"), "nre_glmer"),
    (lambda df: glmmfast.lmer("TICKS ~ YEAR + (0 + INDEX | LOCATION)", df), "nre_lmer"),
    (lambda df: glmmfast.glmer("TICKS ~ YEAR + (cHEIGHT | INDEX)", df, family="poisson"), "nre_glmer_slope"),
    (lambda df: glmmfast.lmer("TICKS ~ YEAR + (1 | INDEX)", df), "nlev_lmer"),
])
def test_unidentifiable_models_are_refused_at_once_with_lme4s_message(grouseticks, no_engine, fit, key):
    # Refused before Z or the engine is built (the no_engine fixture fails any such call):
    # before this check glmmfast ran for minutes on these models.
    with pytest.raises(DataError) as info:
        fit(grouseticks)
    assert str(info.value) == lme4_checks()[key]


def test_glmer_allows_as_many_random_effects_as_observations(grouseticks):
    # glmer's allow.n: an observation-level effect (403 levels, n = 403) models overdispersion.
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | INDEX)", grouseticks, family="poisson")
    assert len(fit.ranef()["INDEX"]) == 403 and np.isfinite(fit.deviance)


def test_few_levels_is_a_message_and_the_model_is_still_fitted(grouseticks):
    fit = glmmfast.glmer("TICKS ~ 1 + (1 | YEAR)", grouseticks, family="poisson")
    assert lme4_checks()["nlev5"] in fit.data_messages
    assert np.isfinite(fit.deviance)
    many = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    assert not any("5 sampled levels" in m for m in many.data_messages)


def test_scale_message_as_lme4_and_the_fit_goes_ahead(grouseticks):
    ref = lme4_checks()
    df = grouseticks.assign(H1e4=grouseticks["HEIGHT"] * 1e4)
    fit = glmmfast.lmer("TICKS ~ H1e4 + YEAR + (1 | LOCATION)", df)
    assert fit.data_messages == [ref["scale_lmer"]["warnings"]] == [SCALE_MESSAGE]
    for name, value in ref["scale_lmer"]["fixef"].items():
        assert fit.fixef[name] == pytest.approx(value, rel=1e-6)
    plain = glmmfast.lmer("TICKS ~ HEIGHT + YEAR + (1 | LOCATION)", grouseticks)
    assert plain.data_messages == ref["no_scale_lmer"] == []


def test_scale_rule_is_checkscalex():
    x = np.linspace(0, 1, 50)
    ones, dummy = np.ones(50), (x > 0.5).astype(float)
    assert scale_messages(np.column_stack([ones, dummy, x])) == []          # 0/1 columns are left out
    assert scale_messages(np.column_stack([ones, x * 900])) == []           # sd 260: within a factor 1000 of 1
    assert scale_messages(np.column_stack([ones, x * 5000])) == [SCALE_MESSAGE]   # |log sd| > log 1000
    assert scale_messages(np.column_stack([ones, x * 30, x / 40])) == [SCALE_MESSAGE]  # ratio 1200 between columns
    assert scale_messages(np.column_stack([ones, x * 30, x / 30])) == []     # ratio 900
    assert scale_messages(np.column_stack([ones, x / 1200])) == [SCALE_MESSAGE]   # |log sd| > log 1000, sd small
    assert scale_messages(np.column_stack([ones, np.full(50, 2.0)])) == [SCALE_MESSAGE]  # sd 0: log sd = -inf


def test_scale_rule_first_test_agrees_with_the_exact_rule():
    """scale_messages decides on all non-constant columns first; the exact rule (0/1 columns left out)
    must give the same answer on columns of every kind, near the thresholds too."""
    rng = np.random.default_rng(16)
    seen = set()
    for _ in range(3000):
        n, p = int(rng.integers(2, 30)), int(rng.integers(1, 5))
        cols = []
        for kind in rng.integers(0, 6, size=p):
            cols.append([np.ones(n), (rng.random(n) < 0.3).astype(float),
                         np.full(n, float(rng.choice([0.0, 1.0, 2.0, 1e-3]))),
                         rng.normal(size=n) * 10.0 ** rng.uniform(-4, 4),
                         rng.normal(size=n) * 1000.0 * (1 + 1e-3 * rng.normal()),  # sd near 1000
                         rng.normal(size=n) + 10.0 ** rng.uniform(-3, 8)][kind])
        X = np.asfortranarray(np.column_stack(cols))
        expected = _design_checks._scale_message_due(X, n)
        assert scale_messages(X) == expected
        seen.add(bool(expected))
    assert seen == {True, False}


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-160, 1e-300])
def test_predictors_on_extreme_scales_are_data_errors(grouseticks, no_engine, scale):
    df = grouseticks.assign(x=grouseticks["cHEIGHT"] * scale)
    for fit in (lambda: glmmfast.glmer("TICKS ~ x + (1 | LOCATION)", df, family="poisson"),
                lambda: glmmfast.lmer("TICKS ~ x + (1 | LOCATION)", df),
                lambda: glmmfast.glm("TICKS ~ x", df, family="poisson")):
        with pytest.raises(DataError, match=r"predictor 'x' is on an extreme scale .*rescale it"):
            fit()


def test_extreme_scale_limits():
    check_extreme_scales(np.array([[1.0, 0.0, 1e149], [1.0, 0.0, -1e-149]]), ["a", "b", "c"])  # zeros are fine
    with pytest.raises(DataError, match="'c'"):
        check_extreme_scales(np.array([[1.0, 2e150]]), ["a", "c"])


@pytest.mark.parametrize("scale", [1e10, 1e100])
def test_large_but_representable_scales_fit_with_the_message(grouseticks, scale):
    # Never a ConvergenceError blaming the link: the fit goes ahead, with lme4's message.
    df = grouseticks.assign(x=grouseticks["cHEIGHT"] * scale)
    fit = glmmfast.glmer("TICKS ~ x + YEAR + (1 | LOCATION)", df, family="poisson")
    unscaled = glmmfast.glmer("TICKS ~ cHEIGHT + YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    assert SCALE_MESSAGE in fit.data_messages
    assert fit.fixef["x"] * scale == pytest.approx(unscaled.fixef["cHEIGHT"], rel=0.05)
    assert fit.deviance == pytest.approx(unscaled.deviance, abs=0.1)
    assert np.all(np.isfinite(fit.se)) and isinstance(fit.messages, list)


def test_engine_failures_on_badly_scaled_designs_name_the_scales():
    with pytest.raises(DataError, match=r"very different scales: consider rescaling \(the fit failed: boom\)"):
        with failures_blamed_on_scales([SCALE_MESSAGE]):
            raise _core.PirlsError("boom")
    with pytest.raises(ConvergenceError, match="boom"):  # other designs keep the engine's error
        with failures_blamed_on_scales([]):
            raise ConvergenceError("boom")


def test_engine_failures_on_huge_counts_name_the_response_scale():
    """Poisson counts near 2^52 are exact doubles, but PIRLS's cross-products lose positive
    definiteness to rounding: the failure is a DataError about the response's scale, not a
    ConvergenceError that blames the link."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": np.round(2.0**52 * rng.uniform(0.9, 1.1, 200)), "x": rng.normal(size=200),
                       "g": np.repeat(np.arange(20), 10)})
    with pytest.raises(DataError, match=r"Response values are on an extreme scale \(largest \|value\| 4\.9"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson", quiet=True)


def test_large_counts_that_fit_carry_the_response_scale_message():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": np.round(2.0**45 * rng.uniform(0.9, 1.1, 200)), "x": rng.normal(size=200),
                       "g": np.repeat(np.arange(20), 10)})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson", quiet=True)
    assert any(m.startswith("Response values are on an extreme scale") for m in fit.data_messages)
    assert np.isfinite(fit.deviance)
