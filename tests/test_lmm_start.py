"""The LMM's moment start for theta (fit/_lmm_start.py) and the evaluations the LMM fit no longer repeats.

Fits from the moment start must reach lme4's optimum (tests/data/formula_reference.json,
lme4 at tight tolerances) in fewer evaluations than from lme4's start; terms the estimate
does not cover keep the engine's start; the engine is evaluated at the optimum once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from conftest import formula_dataset, formula_reference
from glmmfast import _core
from glmmfast.design._design import model_design_for
from glmmfast.families import Gaussian
from glmmfast.fit._engine import lmm_engine_model
from glmmfast.fit._lmm_start import FLOOR, MIN_PATTERN_PER_ROW, MIN_ROWS, moment_theta_start, worth_a_moment_start
from glmmfast.fit._optimize import lmm_criterion_at, optimize_lmer


def _design(formula, data):
    return model_design_for(formula, data, Gaussian(), random=True)


def _simulated(seed=11, n_groups=40, per=12, sd=(0.8, 0.3), rho=0.4, sigma=0.5):
    """Correlated random intercepts and slopes with known relative covariance (truth for the start)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per)
    x = rng.normal(size=g.size)
    S = np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]])
    b = rng.multivariate_normal(np.zeros(2), S, n_groups)
    y = 1.0 + 0.5 * x + b[g, 0] + b[g, 1] * x + rng.normal(0, sigma, g.size)
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)}), S / sigma**2


def test_moment_start_estimates_the_relative_covariance():
    # near the ML estimate (the optimum the start is for) and, within 40 groups' sampling error, the truth
    for seed in (11, 12, 13):
        df, truth = _simulated(seed)
        d = _design("y ~ x + (x | g)", df)
        theta0 = moment_theta_start(d, np.ones(3))
        fit = glmmfast.lmer("y ~ x + (x | g)", df, REML=False)
        T0 = np.array([[theta0[0], 0.0], [theta0[1], theta0[2]]])
        T = np.array([[fit.theta[0], 0.0], [fit.theta[1], fit.theta[2]]])
        np.testing.assert_allclose(T0 @ T0.T, T @ T.T, atol=0.1 * np.abs(T @ T.T).max())
        np.testing.assert_allclose(T0 @ T0.T, truth, atol=0.6 * np.abs(truth).max())


@pytest.mark.parametrize("case", ["sleep", "Exam_slope", "Hsb82_ses_ML", "ScotsSec", "Penicillin", "Orthodont",
                                  "sleep_dbl_ML"])
def test_fit_from_the_moment_start_reaches_lme4s_optimum_in_fewer_evaluations(case):
    ref = formula_reference()["examples"][case]
    data = formula_dataset(ref["data"])
    fit = glmmfast.lmer(ref["formula"], data, REML=ref["REML"])
    crit = fit.reml_criterion if ref["REML"] else fit.deviance
    assert crit == pytest.approx(ref["lme4_tight"], abs=1e-6)
    # the optimiser from the moment start and from lme4's (theta = 1): the same optimum, fewer evaluations
    design = _design(ref["formula"], data)
    model = lmm_engine_model(design)
    theta_m, crit_m, info_m = optimize_lmer(model, ref["REML"], moment_theta_start(design, model.initial_theta()))
    theta_1, crit_1, info_1 = optimize_lmer(model, ref["REML"])
    assert crit_m == pytest.approx(ref["lme4_tight"], abs=1e-6) and crit_1 == pytest.approx(crit_m, abs=1e-6)
    np.testing.assert_allclose(theta_m, theta_1, atol=1e-4)
    np.testing.assert_allclose(fit.theta, theta_m, atol=1e-4)
    stage_m = [s for s in info_m.stages if s["kind"] == "stage 1"][0]
    stage_1 = [s for s in info_1.stages if s["kind"] == "stage 1"][0]
    assert stage_m["evaluations"] <= stage_1["evaluations"], (stage_m, stage_1)


def _stage_1_evaluations(info):
    return [s for s in info.stages if s["kind"] == "stage 1"][0]["evaluations"]


def test_the_moment_start_is_used_where_it_pays():
    # sleepstudy (180 rows) and Exam (4059 rows, but 0.05 pattern entries a row: evaluations cheap for the
    # rows): lme4's start; crossed terms (1200 rows on 300 x 40 levels, ~1 entry a row): the moment estimate.
    # The fit's stage 1 is optimize_lmer's from the start chosen, evaluation for evaluation.
    assert not worth_a_moment_start(_design("Reaction ~ Days + (Days | Subject)",
                                            glmmfast.datasets.load("sleepstudy")))
    exam = formula_reference()["examples"]["Exam_slope"]
    rng = np.random.default_rng(5)
    g1, g2 = rng.integers(0, 300, 1200), rng.integers(0, 40, 1200)
    crossed = pd.DataFrame({"y": rng.normal(size=1200) + 0.5 * rng.normal(size=300)[g1] + rng.normal(size=40)[g2],
                            "x": rng.normal(size=1200), "g1": pd.Categorical(g1), "g2": pd.Categorical(g2)})
    for formula, data, reml, moment in ((exam["formula"], formula_dataset("Exam"), exam["REML"], False),
                                        ("y ~ x + (1 | g1) + (1 | g2)", crossed, False, True)):
        d = _design(formula, data)
        model = lmm_engine_model(d)
        assert d.n >= MIN_ROWS and (model.pattern_size >= MIN_PATTERN_PER_ROW * d.n) == moment
        assert worth_a_moment_start(d, pattern_size=model.pattern_size) == moment
        theta0 = moment_theta_start(d, model.initial_theta()) if moment else None
        _, _, info = optimize_lmer(model, reml, theta0)
        fit = glmmfast.lmer(formula, data, REML=reml)
        assert _stage_1_evaluations(fit.optinfo) == _stage_1_evaluations(info)


def test_terms_without_a_moment_estimate_keep_the_engines_start():
    df, _ = _simulated()
    df["f"] = pd.Categorical(np.tile(["a", "b", "c"], len(df) // 3 + 1)[:len(df)])
    # an ar1 term (no moment estimate) after an unstructured one; singleton levels give none either
    d = _design("y ~ x + (1 | g) + ar1(0 + f | g)", df)
    default = np.arange(1, 1 + sum(t.nparams for t in d.terms), dtype=float)
    theta0 = moment_theta_start(d, default)
    assert theta0[0] != default[0] and theta0[0] >= FLOOR
    np.testing.assert_array_equal(theta0[1:], default[1:])
    # 100 rows on 99 levels: one level with two rows, too few for a variance
    single = pd.DataFrame({"y": df["y"][:100], "x": df["x"][:100], "h": pd.Categorical(np.minimum(np.arange(100), 98))})
    d1 = _design("y ~ x + (1 | h)", single)
    np.testing.assert_array_equal(moment_theta_start(d1, np.array([1.0])), [1.0])


def test_moment_start_stays_off_the_bounds():
    # no between-group variance: the start is FLOOR, inside theta's bounds, and the fit still reaches 0
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"g": np.repeat(np.arange(12), 6), "x": rng.normal(size=72)})
    df["y"] = 1 + 0.5 * df["x"] + rng.normal(size=72)
    d = _design("y ~ x + (1 | g)", df)
    assert moment_theta_start(d, np.ones(1))[0] == pytest.approx(FLOOR)
    assert glmmfast.lmer("y ~ x + (1 | g)", df, REML=False).theta[0] == 0.0


def test_the_optimum_is_evaluated_once():
    sleep = glmmfast.datasets.load("sleepstudy")
    model = lmm_engine_model(_design("Reaction ~ Days + (Days | Subject)", sleep))
    theta = np.array([0.9, 0.02, 0.2])
    crit = model.deviance(theta, False)
    before = model.evaluations
    assert lmm_criterion_at(model, theta, False) == crit and model.evaluations == before  # read off
    assert lmm_criterion_at(model, theta + 0.01, False) != crit and model.evaluations == before + 1
    fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    engine = fit._state.engine()
    before = engine.evaluations
    fit.vcov  # the derivatives are optimize_lmer's: the engine stays at the optimum unevaluated
    assert engine.evaluations == before
    assert isinstance(engine, _core.LmmModel)
