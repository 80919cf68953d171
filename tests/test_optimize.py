"""The outer optimisation under stress: PIRLS failures at trial points make
the optimiser back off (and are counted); hard problems -- separation, huge
counts, zero variances, perfectly correlated random effects -- finish with
finite estimates and a message saying what happened."""

from __future__ import annotations

import nlopt
import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import ConvergenceError
from glmmfast import _core
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import engine_model, glm_start
from glmmfast.fit._derivatives import hessian_from_gradient
from glmmfast.fit._optimize import check_convergence
from glmmfast.fit import _optimize
from glmmfast.fit._objective import ObjectiveStage, differenced_objective, function_objective, glmm_objective
from glmmfast.fit._optimize import _bobyqa, _joint_hessian_at_start, optimize_glmer
from glmmfast.families import Poisson


def _counts(seed=3, sd=0.8):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(15), 8)
    x = rng.normal(size=g.size)
    return pd.DataFrame({"y": rng.poisson(np.exp(0.5 + 0.3 * x + rng.normal(0, sd, 15)[g])), "x": x, "g": g})


def test_function_objective_backs_off_on_pirls_failure():
    resets = []

    def fun(x):
        if x[0] > 1:
            raise _core.PirlsError("boom")
        return float(x[0] ** 2)

    obj = function_objective(fun, 1, lambda: resets.append(1))
    assert obj(np.array([0.5])) == 0.25
    assert obj(np.array([2.0])) > 1e10 and obj(np.array([np.nan])) > 1e10
    assert obj.failures == 2 and len(resets) == 2 and obj.evaluations == 3
    assert obj.last_error == "boom"
    np.testing.assert_array_equal(obj.best_x, [0.5])


def test_differenced_objective_takes_central_differences_at_the_last_point():
    def fun(x):
        if x[0] > 1:
            raise _core.PirlsError("boom")
        return float(x[0] ** 3 + 2 * x[0] * x[1])

    obj = differenced_objective(fun, 2, 1e-4)
    assert obj.has_gradient
    g = np.empty(2)
    assert obj(np.array([0.5, 0.25]), g) == pytest.approx(0.375)
    np.testing.assert_allclose(g, [3 * 0.25 + 0.5, 1.0], atol=1e-7)
    # a difference that fails is the evaluation's failure: the optimiser backs off
    assert obj(np.array([1.0, 0.0]), g) > 1e10 and obj.failures == 1


def test_lbfgs_stores_a_bounded_number_of_correction_pairs(monkeypatch):
    """nlopt's default vector storage, min(maxeval, 1310720 / n), is 100000 pairs at the drivers' maxeval: work
    arrays allocated and zeroed on every run.  The drivers keep 1000 (and still reach the optimum)."""
    made = []
    real = nlopt.opt

    def opt(algorithm, n):
        made.append(real(algorithm, n))
        return made[-1]

    monkeypatch.setattr(nlopt, "opt", opt)
    obj = differenced_objective(lambda x: float((x[0] - 1.0) ** 2 + 0.1 * x[0] ** 4), 1, 1e-6)
    x, f, _ = _optimize._lbfgs(obj, np.array([3.0]), np.array([-np.inf]), np.array([0.25]), 1e-14, 1e-10, 100000)
    assert made and made[0].get_vector_storage() == 1000
    assert abs(2 * (x[0] - 1.0) + 0.4 * x[0] ** 3) < 1e-5  # the stationary point


def test_agq_stage_2_steps_from_the_laplace_optimum_to_the_bobyqa_optimum(cbpp, monkeypatch):
    """nAGQ > 1: stage 1 ends at the Laplace optimum and stage 2 takes BFGS steps on the exact gradient of
    the AGQ deviance from there (a canonical link; test_optimizer_info.py has the central differences of a
    probit link's); it lands where BOBYQA lands without the Laplace optimum and without exact gradients,
    in fewer evaluations."""
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    family = glmmfast.families.Binomial()
    fit = glmmfast.glmer(formula, cbpp, family, nAGQ=25)
    stages = {s["kind"]: s for s in fit.optinfo.stages}
    assert stages["stage 1"]["name"].endswith("then theta and beta (Laplace)")
    assert stages["stage 2"]["exact_gradient"] and stages["stage 2"]["optimizer"] == "bfgs"
    monkeypatch.setattr(_optimize, "_laplace_optimum", lambda *args: None)
    monkeypatch.setattr(_core.Objective, "has_gradient", property(lambda self: False))
    bobyqa = glmmfast.glmer(formula, cbpp, family, nAGQ=25)
    assert "Laplace" not in bobyqa.optinfo.stages[1]["name"]
    assert fit.deviance <= bobyqa.deviance + 1e-9
    np.testing.assert_allclose(fit.theta, bobyqa.theta, atol=1e-4)
    np.testing.assert_allclose(fit.fixef, bobyqa.fixef, atol=1e-4)
    assert fit.optinfo.evaluations < bobyqa.optinfo.evaluations
    # the AGQ deviance is stationary there (lme4's convergence check passes)
    assert fit.converged and np.max(np.abs(fit.optinfo.gradient)) < 1e-3


def test_engine_objective_backs_off_on_pirls_failure():
    # identity-link Poisson: a negative mean is a PIRLS failure in the engine
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(10), 8)
    x = rng.uniform(size=g.size)
    df = pd.DataFrame({"y": rng.poisson(20 + 5 * x + rng.normal(0, 2, 10)[g]), "x": x, "g": g})
    design = model_design_for("y ~ x + (1 | g)", df, Poisson("identity"), random=True)
    model = engine_model(design)
    start = glm_start(design)["beta"]
    obj = _core.glmm_objective(model, "joint", 1.0, "none", 1, start, np.ones(2))
    good = obj(np.array([0.5, 0.0, 0.0]))
    model.set_u(np.full(model.q, 3.0))
    assert obj(np.array([0.5, -100.0, 0.0])) == 1e15  # mean < 0 everywhere
    assert np.all(np.asarray(model.u) == 0)  # reset to a safe start
    assert obj.evaluations == 2 and obj.failures == 1 and "PIRLS" in obj.last_error
    np.testing.assert_array_equal(obj.best_x, [0.5, 0.0, 0.0])
    assert obj.best_f == good == obj.evaluate(np.array([0.5, 0.0, 0.0]))
    with pytest.raises(_core.PirlsError):
        obj.evaluate(np.array([0.5, -100.0, 0.0]))
    with pytest.raises(ValueError, match="3 coordinates"):
        obj(np.zeros(2))


@pytest.mark.parametrize("stage", ["profiled_beta", "joint"])
def test_return_to_best_starts_pirls_from_the_best_evaluations_state(grouseticks, stage):
    # stage 1 (beta in PIRLS) remembers u and beta, stage 2 u (beta is a coordinate)
    design = model_design_for("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, Poisson(), random=True)
    model = engine_model(design)
    start = glm_start(design)["beta"]
    model.set_beta(start)
    obj = glmm_objective(model, ObjectiveStage(stage), beta_base=start, beta_scale=np.ones(start.size))
    with pytest.raises(RuntimeError, match="nothing evaluated"):
        obj.return_to_best()
    best = np.r_[1.0, np.zeros(obj.dim - 1)]
    f_best = obj(best)
    u_best, beta_best = np.array(model.u), np.array(model.beta)
    assert obj(best + np.r_[4.0, np.full(obj.dim - 1, 0.1)]) > f_best  # not the best: its state is not kept
    model.set_u(np.full(model.q, 2.0))
    model.set_beta(start + 1.0)
    evaluations = obj.evaluations
    assert obj.return_to_best() == pytest.approx(f_best, rel=1e-12)
    assert obj.evaluations == evaluations  # not counted
    np.testing.assert_allclose(model.u, u_best, atol=1e-7)
    np.testing.assert_allclose(model.beta, beta_best, rtol=1e-9)


def test_reevaluate_returns_to_the_best_state_only_where_pirls_took_another_mode():
    class Recorded:  # an objective whose plain re-evaluation at its best point gives `again`
        def __init__(self, again):
            self.again, self.best_x, self.best_f, self.returned = again, np.array([0.5]), -10.0, False

        def evaluate(self, x):
            return self.again

        def return_to_best(self):
            self.returned = True
            return self.best_f

    noise = Recorded(-10.0 + 1e-10)
    assert _optimize._reevaluate(noise, np.array([0.5]), lambda: None) == -10.0 + 1e-10 and not noise.returned
    other = Recorded(5.0)
    assert _optimize._reevaluate(other, np.array([0.5]), lambda: None) == -10.0 and other.returned
    elsewhere = Recorded(5.0)  # not the best point: nothing to return to
    assert _optimize._reevaluate(elsewhere, np.array([0.7]), lambda: None) == 5.0 and not elsewhere.returned


def test_joint_stage_that_ends_above_its_start_keeps_the_start_and_says_so(grouseticks):
    design = model_design_for("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, Poisson(), random=True)
    model = engine_model(design)
    start = glm_start(design)["beta"]
    obj = glmm_objective(model, ObjectiveStage.JOINT, beta_base=start, beta_scale=np.ones(start.size))
    x0 = np.r_[1.0, np.zeros(start.size)]
    f0 = obj.evaluate(x0)
    modes = np.array(model.u)
    x = x0 + 0.3
    f = obj.evaluate(x)
    assert f > f0
    info = _optimize.OptimizerInfo()
    kept, dev = _optimize._kept_start(model, obj, x, f, x0, f0, modes, info, lambda: None)
    assert kept is x0 and dev == pytest.approx(f0, rel=1e-12)
    assert model.laplace_deviance() == pytest.approx(f0, rel=1e-12)  # the engine is left at the start
    assert len(info.messages) == 1 and info.messages[0].startswith("Model failed to converge: the joint stage")
    # below the start (by any amount): the stage's own point, no message
    info = _optimize.OptimizerInfo()
    assert _optimize._kept_start(model, obj, x0, f0 - 1.0, x0, f0, modes, info, lambda: None)[0] is x0 \
        and not info.messages
    # above the start's deviance but below the start's value now: the stage's point, the engine back there
    kept, dev = _optimize._kept_start(model, obj, x, f0 - 0.5, x0, f0 - 1.0, modes, info, lambda: None)
    assert kept is x and dev == f0 - 0.5 and not info.messages
    assert model.laplace_deviance() == pytest.approx(f, rel=1e-12)


def test_optimizer_survives_pirls_failures_and_counts_them():
    df = _counts()
    design = model_design_for("y ~ x + (1 | g)", df, Poisson(), random=True)
    free = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")
    model = engine_model(design)
    x_hat = np.concatenate([free.theta, free.fixef.to_numpy()])
    limit = free.theta[0] + 0.05

    def failing_above(x):  # PIRLS 'fails' wherever theta > limit (as at divergent trial points)
        if x[0] > limit:
            raise _core.PirlsError("PIRLS did not converge (test)")
        return model.deviance_at(x[:1], x[1:])

    obj = function_objective(failing_above, 3, lambda: model.set_u(np.zeros(model.q)))
    lower = np.array([0.0, -np.inf, -np.inf])
    x, dev, _ = _bobyqa(obj, x_hat + [0.04, 0.05, -0.05], lower, np.full(3, 0.1), 1e-10, 1e-8, 10000)
    assert obj.failures > 0
    # the optimum lies inside the region where PIRLS works, so it is still found
    np.testing.assert_allclose(dev, free.deviance, atol=1e-6)
    np.testing.assert_allclose(x, x_hat, atol=1e-3)
    # failing everywhere is a ConvergenceError, not a crash
    limit = -1.0
    with pytest.raises(ConvergenceError, match="PIRLS failed at every one of"):
        _bobyqa(function_objective(failing_above, 3), x_hat, lower, np.full(3, 0.1), 1e-10, 1e-8, 10000)


def test_separation_finishes_with_a_warning():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(12), 10)
    x = rng.normal(size=g.size)
    df = pd.DataFrame({"y": (x > 0).astype(int), "x": x, "g": g})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="binomial")
    assert np.all(np.isfinite(fit.fixef)) and np.all(np.isfinite(fit.theta))
    assert any("separation" in m for m in fit.messages)
    glm_fit = glmmfast.glm("y ~ x", df, family="binomial")
    assert any("numerically 0 or 1" in m for m in glm_fit.messages)


def test_convergence_check_ignores_curvature_noise_of_a_flat_direction():
    # A coefficient diverging under separation leaves the Hessian a direction
    # with curvature at rounding level; dividing by it must not spread its
    # tiny gradient over the other coordinates (a converged separated cbpp
    # fit was reported as failing on theta).
    rng = np.random.default_rng(4)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    H = Q @ np.diag([50.0, 20.0, 3e-23]) @ Q.T
    x_opt = np.array([0.7, -1.4, -50.0])

    def f(x):  # flat along Q[:, 2], quadratic across it, minimum on the line through x_opt
        d = x - x_opt
        return 160.0 + 0.5 * d @ H @ d

    x = x_opt + 1e-6 * Q[:, 0]  # Newton step 1e-6 in theta, gradient 5e-5
    _, _, msgs = check_convergence(f, x, f(x), np.full(3, -np.inf), tol=1e-5)
    assert not any(m.startswith("Model failed") for m in msgs)
    assert "Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?" in msgs
    # ...while a real gradient across the flat direction is still caught
    x = x_opt + 1e-3 * Q[:, 0]
    _, _, msgs = check_convergence(f, x, f(x), np.full(3, -np.inf), tol=1e-5)
    assert any(m.startswith("Model failed to converge") for m in msgs)


def test_huge_counts_recover_the_truth():
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(12), 10)
    x = rng.normal(size=g.size)
    df = pd.DataFrame({"y": rng.poisson(np.exp(14 + 0.2 * x + rng.normal(0, 0.3, 12)[g])), "x": x, "g": g})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")
    assert np.all(np.isfinite(fit.vcov.to_numpy()))
    assert abs(fit.fixef["x"] - 0.2) < 1e-3 and 0.15 < fit.theta[0] < 0.6


def test_zero_variance_reports_singular_fit():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=10), rng.poisson(3, 10)
    # every group has identical data, so the between-group variance is exactly 0
    df = pd.DataFrame({"y": np.tile(y, 8), "x": np.tile(x, 8), "g": np.repeat(np.arange(8), 10)})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")
    assert fit.theta[0] < 1e-4 and np.all(np.isfinite(fit.fixef))
    assert "boundary (singular) fit: see help('isSingular')" in fit.messages


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correlated_random_slopes(seed):
    # intercepts and slopes perfectly correlated in truth (slope = 0.5 * intercept)
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(30), 15)
    x = rng.normal(size=g.size)
    u = rng.normal(0, 0.6, 30)
    df = pd.DataFrame({"y": rng.poisson(np.exp(1 + 0.2 * x + u[g] + 0.5 * u[g] * x)), "x": x, "g": g})
    fit = glmmfast.glmer("y ~ x + (x | g)", df, family="poisson")
    assert np.all(np.isfinite(fit.fixef)) and np.all(np.isfinite(fit.theta))
    corr = fit.varcorr["sdcor"].iloc[-1]
    assert corr > 0.9
    # on the boundary (|corr| = 1) the fit says so
    assert (abs(corr) > 1 - 1e-6) == ("boundary (singular) fit: see help('isSingular')" in fit.messages)


def test_joint_stage_starts_from_a_measured_hessian(grouseticks):
    # theta columns by differences of the exact gradient, the beta block
    # from R_X: close to the Hessian by central differences at the start,
    # so the joint stage's Newton steps finish in a few evaluations.
    design = model_design_for("TICKS ~ YEAR + (1 | INDEX) + (1 | LOCATION)", grouseticks, Poisson(), random=True)
    model = engine_model(design)
    theta, beta, _, info = optimize_glmer(model, np.ones(2), glm_start(design)["beta"], nAGQ=0)
    scale = np.sqrt(np.diag(model.beta_unscaled_vcov()))
    obj = _core.glmm_objective(model, "joint", 1.0, "none", 1, beta, scale)
    x0 = np.concatenate([theta, np.zeros(beta.size)])
    f0, g0, H = _joint_hessian_at_start(obj, x0, 2, np.asarray(model.beta_unscaled_vcov()), scale)
    assert obj.evaluations == 3  # the start and one step per theta
    assert f0 == pytest.approx(obj.evaluate(x0), rel=1e-12)
    g_ref, H_ref = hessian_from_gradient(obj.gradient, x0, 1e-4)
    np.testing.assert_allclose(g0, g_ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H[:, :2], H_ref[:, :2], rtol=0.01, atol=1e-3 * np.abs(H_ref).max())
    np.testing.assert_allclose(H[2:, 2:], H_ref[2:, 2:], rtol=0.02, atol=0.01 * np.abs(H_ref[2:, 2:]).max())
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | INDEX) + (1 | LOCATION)", grouseticks, family="poisson")
    joint, = [s for s in fit.optinfo.stages if s["kind"] == "stage 2"]  # the standard errors' stage follows it
    assert joint["evaluations"] <= 8, fit.optinfo.stages


def test_stage_1_of_scalar_terms_steps_from_the_curvature_measured_at_the_start(cbpp):
    # cbpp's probit GLMM: lme4's theta = 1 lies beyond the stage-1 deviance's inflection.  L-BFGS's secant
    # step from there went to the bound theta = 0, where the derivative is 0 (the deviance is even in
    # theta), and stopped, stage 1 ending at theta 0.75, 8 above its optimum; stage 2 then took 14
    # evaluations.  BFGS from the measured curvature halves such a step back inside the bound.
    fit = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                         glmmfast.families.Binomial(link="probit"))
    stage_1, stage_2 = [s for s in fit.optinfo.stages if s["kind"] in ("stage 1", "stage 2")]
    assert stage_1["optimizer"] == "bfgs"
    assert stage_1["deviance"] - fit.deviance < 0.1  # its optimum: 0.018 above the joint one
    assert stage_2["evaluations"] <= 6, fit.optinfo.stages
    # a vector term keeps L-BFGS (its measured start Hessian is concave in several directions)
    slopes = glmmfast.glmer("TICKS ~ YEAR + (YEAR | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
    assert [s["optimizer"] for s in slopes.optinfo.stages if s["kind"] == "stage 1"] == ["lbfgs"]


def test_engine_quasi_newton_reaches_the_optimum_and_checks_its_inputs(grouseticks):
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    model = engine_model(fit._design)
    p = fit.fixef.size
    obj = _core.glmm_objective(model, "joint", 1.0, "none", 1, np.zeros(p), np.ones(p))
    x_hat = np.concatenate([fit.theta, fit.fixef.to_numpy()])
    _, H = hessian_from_gradient(obj.gradient, x_hat, 1e-4)
    lower = np.r_[0.0, np.full(p, -np.inf)]
    x0 = x_hat + np.r_[0.05, 0.1, -0.05, 0.05]  # off the optimum by a fraction of an SE
    g0 = np.empty(x0.size)
    f0 = obj(x0, g0)
    before = obj.evaluations
    x, f = obj.quasi_newton(x0, H, lower, 1e-10, 50, (f0, g0))
    assert 0 < obj.evaluations - before <= 6  # Newton steps, no re-evaluation of the start
    np.testing.assert_allclose(x, x_hat, atol=2e-4)
    assert f == pytest.approx(fit.deviance, abs=1e-6)
    assert obj.quasi_newton(x0, -H, lower, 1e-10) is None  # not positive definite: the caller falls back
    with pytest.raises(ValueError, match="matching sizes"):
        obj.quasi_newton(x0, H[:2, :2], lower, 1e-10)
    # AGQ at a non-canonical link: no gradient
    sqrt_link = engine_model(model_design_for("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, Poisson("sqrt"),
                                              random=True))
    no_grad = _core.glmm_objective(sqrt_link, "joint", 1.0, "none", 2, np.zeros(p), np.ones(p))
    assert not no_grad.has_gradient
    with pytest.raises(RuntimeError, match="gradient"):
        no_grad.quasi_newton(x0, H, lower, 1e-10)


# -- linear mixed models: the exact gradient of the profiled criterion ---------

def _lmm(formula, data):
    from glmmfast.fit._engine import lmm_engine_model
    from glmmfast.families import Gaussian
    return lmm_engine_model(model_design_for(formula, data, Gaussian(), random=True))


@pytest.mark.parametrize("reml", [False, True])
def test_lmer_optimises_with_the_exact_gradient(sleepstudy, reml):
    fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy, REML=reml)
    info = fit.optinfo
    assert info.optimizer == "lbfgs"
    assert info.gradient_evaluations > 0
    assert info.evaluations == sum(s["evaluations"] for s in info.stages)
    assert info.gradient_evaluations == sum(s["gradient_evaluations"] for s in info.stages)
    assert all(s["seconds"] >= 0 for s in info.stages)
    # BFGS from a measured start Hessian: BOBYQA and Newton on finite
    # differences took 55-60 evaluations here.
    assert info.evaluations <= 30, info.stages
    # optinfo's gradient is the engine's exact gradient at the optimum
    model = _lmm("Reaction ~ Days + (Days | Subject)", sleepstudy)
    model.evaluate(fit.theta)
    np.testing.assert_allclose(info.gradient, model.gradient(reml), rtol=1e-12, atol=1e-12)
    assert np.abs(np.linalg.solve(info.hessian, info.gradient)).max() < 1e-7


@pytest.mark.parametrize("offset", [2e-4, 2e-2])
def test_polished_lmm_optimum_meets_the_tolerance_bfgs_stopped_short_of(sleepstudy, offset):
    # BFGS stops at _LMM_BFGS_FTOL; from there (2e-4 off) the Newton step on the measured Hessian
    # meets ftol in 1 + 3 + 1 evaluations (the point, the differences, the step); from further off (2e-2: beyond _NEWTON_REACH) BFGS goes on.
    formula = "Reaction ~ Days + (Days | Subject)"
    optimum = glmmfast.lmer(formula, sleepstudy, REML=False)
    model = _lmm(formula, sleepstudy)
    obj = _core.lmm_objective(model, False)
    lower = np.asarray(model.lower_bounds(), dtype=float)
    theta0 = optimum.theta + offset
    f0 = model.deviance(theta0, False)
    ftol = 1e-11 * abs(f0)
    theta, crit, gradient, hessian = _optimize._polished_lmm_optimum(obj, theta0, f0, lower, ftol, None)
    assert np.asarray(gradient) @ np.linalg.solve(hessian, gradient) / 2 < ftol
    np.testing.assert_allclose(theta, optimum.theta, rtol=0, atol=1e-6)
    assert crit <= optimum.deviance + 1e-9 * abs(crit)
    if offset < _optimize._NEWTON_REACH:
        assert obj.evaluations == 5


def test_measured_newton_is_the_newton_step_on_the_symmetrised_gradient_differences(sleepstudy):
    # Objective.measured_hessian / measured_newton (cpp/src/optim/measured_newton.cpp) against their
    # definitions in numpy: the forward differences symmetrised, then the Newton step on the free coordinates.
    formula = "Reaction ~ Days + (Days | Subject)"
    optimum = glmmfast.lmer(formula, sleepstudy, REML=False)
    model = _lmm(formula, sleepstudy)
    obj = _core.lmm_objective(model, False)
    lower = np.asarray(model.lower_bounds(), dtype=float)  # [0, -inf, 0]
    x = optimum.theta + 2e-4
    g = np.empty(3)
    f = obj(x, g)
    cols = obj.forward_differences(x, g, [0, 1, 2], 1e-4)
    H = 0.5 * (cols + cols.T)
    f_m, g_m, H_m = obj.measured_hessian(x, 1e-4)
    assert f_m == f and np.array_equal(g_m, g) and np.array_equal(H_m, H)
    xn, fn, gn, Hn, decrease = obj.measured_newton(x, f, lower, 1e-4, 1e-4, 1e-3, (f, g))
    assert np.array_equal(Hn, H)
    np.testing.assert_allclose(xn, x - np.linalg.solve(H, g), rtol=1e-13)
    assert fn < f
    g_end = np.empty(3)
    assert obj(xn, g_end) == fn and np.array_equal(g_end, gn)
    assert decrease == pytest.approx(0.5 * gn @ np.linalg.solve(H, gn), rel=1e-9)
    # a step longer than reach is not taken
    kept = obj.measured_newton(x, f, lower, 1e-4, 1e-4, 1e-6, (f, g))
    assert np.array_equal(kept[0], x) and kept[1] == f and np.array_equal(kept[2], g)
    # a coordinate within free_tol of its bound keeps its value; the others step on their block of H
    near = x.copy()
    near[2] = 5e-5
    f_near = obj(near, g)
    x_near, *_ = obj.measured_newton(near, f_near, lower, 1e-4, 1e-4, 1.0)
    H_near = obj.measured_hessian(near, 1e-4)[2]
    assert x_near[2] == near[2]
    if not np.array_equal(x_near, near):  # (kept only where it lowers the criterion)
        np.testing.assert_allclose(x_near[:2], near[:2] - np.linalg.solve(H_near[:2, :2], g[:2]), rtol=1e-13)


def test_descent_off_bounds_reads_first_then_second_directional_derivatives():
    from glmmfast.fit._optimize import _descent_off_bounds
    lower = np.array([0.0, -np.inf, 0.0, 0.0])
    x = np.array([0.0, 0.0, 0.0, 0.5])
    hess = np.diag([1.0, 1.0, -2.0, -2.0])
    # slope into the interior: negative first derivative
    assert _descent_off_bounds(x, lower, np.array([-0.5, 0.0, 0.0, 0.0]), np.eye(4), 100.0).tolist() == [
        True, False, False, False]
    # zero slope (the criterion is even in a diagonal of T): the curvature decides;
    # coordinates off their bound or without one never count
    assert _descent_off_bounds(x, lower, np.zeros(4), hess, 100.0).tolist() == [False, False, True, False]
    # rising into the interior: a true boundary optimum
    assert not _descent_off_bounds(x, lower, np.array([0.5, 0.0, 0.3, 0.0]), hess, 100.0).any()


@pytest.mark.parametrize("formula, bound_point", [
    ("Reaction ~ Days + (Days | Subject)", [0.0, 0.02, 0.22]),             # slope into the interior
    ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", [0.0, 0.22]),  # even: zero slope at 0
])
def test_lmer_leaves_a_bound_the_criterion_falls_from(monkeypatch, sleepstudy, formula, bound_point):
    # A gradient method that stops with a diagonal of T at 0 is tested by the
    # directional derivatives there before the fit is called singular.
    from glmmfast.fit import _optimize
    expected = glmmfast.lmer(formula, sleepstudy, REML=False)
    stuck = np.array(bound_point)

    def stuck_at_the_bound(obj, *a, with_gradient=False, **k):  # BFGS's end, with its gradient where asked
        g = np.empty(stuck.size)
        f = obj(stuck, g)
        return (stuck, f, 1, g) if with_gradient else (stuck, f, 1)

    monkeypatch.setattr(_optimize, "_quasi_newton", stuck_at_the_bound)
    fit = glmmfast.lmer(formula, sleepstudy, REML=False)
    assert any(s["name"] == "theta off a bound (BOBYQA)" for s in fit.optinfo.stages)
    assert fit.deviance == pytest.approx(expected.deviance, abs=1e-6)
    np.testing.assert_allclose(fit.theta, expected.theta, atol=1e-4)
    assert not any("singular" in m for m in fit.messages)


def test_lmer_keeps_a_bound_the_criterion_rises_from():
    # no between-group variance: theta = 0 is the optimum, kept after the test
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"g": np.repeat(np.arange(12), 6), "x": rng.normal(size=72)})
    df["y"] = 1 + 0.5 * df["x"] + rng.normal(size=72)
    fit = glmmfast.lmer("y ~ x + (1 | g)", df, REML=False)
    assert fit.theta[0] == 0.0  # on the bound, as lme4, not 1e-8 short of it
    assert fit.optinfo.gradient[0] == 0.0 and fit.optinfo.hessian[0, 0] > 0  # rises into the interior
    assert any("singular" in m for m in fit.messages)
    model = _lmm("y ~ x + (1 | g)", df)
    assert all(model.deviance(np.array([t]), False) > fit.deviance for t in (1e-3, 0.05, 0.3))


def test_theta_on_its_bound_is_probed_before_the_fit_is_called_singular():
    # Hsb82 (mlmRev), REML: BOBYQA stopped with the slope's theta at 0, where the
    # criterion is even in it (zero gradient), 0.175 above lme4's optimum.
    from conftest import formula_dataset, formula_reference
    case = formula_reference()["examples"]["Hsb82_slope"]
    m = glmmfast.lmer(case["formula"], formula_dataset("Hsb82"))
    assert m.reml_criterion == pytest.approx(case["lme4_tight"], abs=1e-6)
    assert m.theta[2] > 0.04


def test_restart_never_starts_outside_the_bounds():
    # The finite-difference points of newton_polish step to theta_jj = -h; a
    # restart from such a best point made nlopt raise a bare invalid_argument.
    from conftest import formula_dataset
    m = glmmfast.lmer("score ~ Machine + (1 | Worker) + (0 + Machine | Worker)", formula_dataset("Machines"))
    assert np.all(m.theta[[0, 1, 4, 6]] >= 0)


def test_joint_stage_steps_beta_by_its_standard_error_at_any_predictor_scale(grouseticks):
    # A predictor times 1e100 has an SE ~1e-102: stage 2's coordinates for beta are its SEs
    # (_beta_scale), so BFGS reaches the unscaled fit's optimum, where an absolute floor on the
    # variance made each unit step ~1e96 SEs (BFGS stopped 0.2 above it, or BOBYQA took ~190 evaluations).
    df = grouseticks.assign(x=grouseticks["cHEIGHT"] * 1e100)
    fit = glmmfast.glmer("TICKS ~ x + YEAR + (1 | LOCATION)", df, family="poisson")
    unscaled = glmmfast.glmer("TICKS ~ cHEIGHT + YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    assert fit.deviance == pytest.approx(unscaled.deviance, abs=1e-6)
    assert fit.fixef["x"] * 1e100 == pytest.approx(unscaled.fixef["cHEIGHT"], rel=1e-4)
    stage2 = next(s for s in fit.optinfo.stages if s["kind"] == "stage 2")
    assert stage2["evaluations"] < 20


def test_joint_stage_falls_back_from_the_best_point_bfgs_reached(grouseticks, monkeypatch):
    # BFGS that cannot finish (its iteration limit, a failed line search) has usually come most of the
    # way: the fallback L-BFGS starts from the best point evaluated, not from the stage's start (the
    # zero-inflated generalised Poisson from a looser stage 1: BFGS 54 evaluations to 1e-6 of the
    # optimum, then L-BFGS from the start 71 more).
    formula = "TICKS ~ YEAR + (1 | LOCATION)"
    reference = glmmfast.glmer(formula, grouseticks, family="poisson")
    joint = _optimize._joint_measured_quasi_newton

    def bfgs_without_its_answer(*args, **kwargs):
        _, hess0 = joint(*args, **kwargs)
        return None, hess0

    monkeypatch.setattr(_optimize, "_joint_measured_quasi_newton", bfgs_without_its_answer)
    fit = glmmfast.glmer(formula, grouseticks, family="poisson")
    stage_2, = [s for s in fit.optinfo.stages if s["kind"] == "stage 2"]
    reference_2, = [s for s in reference.optinfo.stages if s["kind"] == "stage 2"]
    assert stage_2["optimizer"].endswith(("lbfgs", "bobyqa")), stage_2
    assert fit.deviance == pytest.approx(reference.deviance, abs=1e-6)
    # L-BFGS restarted from the stage's start took 18 evaluations more than BFGS here; from the best point it
    # only confirms the optimum (nlopt's identity start: 5-7 evaluations): at most half the restart's cost
    assert stage_2["evaluations"] - reference_2["evaluations"] <= 9, (stage_2, reference_2)


def test_step_caps_only_where_a_family_parameter_is_estimated(grouseticks):
    # No family parameter: no caps (None, the engine's default, as every cap infinite); with one, only its
    # coordinate (log scale) is capped, after the `before` coordinates and the zero part's.
    from glmmfast.fit._family_parameter import nb_shape_parameter

    model = engine_model(model_design_for("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, Poisson(), random=True))
    lower = np.asarray(model.lower_bounds(), dtype=float)
    plain = _optimize._GlmerProblem(model, lower, 3, 1, None, 1.0)
    assert plain.max_steps(4) is None
    shaped = _optimize._GlmerProblem(model, lower, 3, 1, nb_shape_parameter(2.0), 1.0)
    caps = shaped.max_steps(4)
    assert caps.tolist() == [np.inf] * 4 + [_optimize._LOG_PARAMETER_MAX_STEP]
