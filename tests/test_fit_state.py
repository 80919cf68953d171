"""The fit state (glmmfast.fit._fit_state) and family parameters as objects (glmmfast.fit._family_parameter).

What a FitState holds, that every path (glmer, glmer_nb, lmer, a refit, r2's
null model) builds it through the same functions and gets the same numbers,
that the design handed to a fit is never modified, that states and the
results built on them pickle without the engine, and that the modules
import in one direction (design -> fit -> results -> inference).
"""

from __future__ import annotations

import ast
import dataclasses
import pickle
from pathlib import Path

import numpy as np
import pytest

import glmmfast
from glmmfast import _core
from glmmfast.design._design import model_design_for
from glmmfast.families import Gamma, NegativeBinomial, Poisson
from glmmfast.fit._family_parameter import FamilyParameter, dispersion_parameter, nb_shape_parameter
from glmmfast.fit._fit_state import FitState, fit_glmm, glmm_engine_at, joint_objective, laplace_hessian
from glmmfast.fit._objective import ObjectiveStage, glmm_objective
from glmmfast.results._refit import GlmerModel

PACKAGE = Path(glmmfast.__file__).parent
GROUSE = "TICKS ~ YEAR + (1 | LOCATION)"


@pytest.fixture(scope="module")
def poisson_fit(grouseticks):
    return glmmfast.glmer(GROUSE, grouseticks, family="poisson")


@pytest.fixture(scope="module")
def nb_fit(grouseticks):
    return glmmfast.glmer_nb(GROUSE, grouseticks)


@pytest.fixture(scope="module")
def gamma_fit(sleepstudy):
    return glmmfast.glmer("Reaction ~ Days + (1 | Subject)", sleepstudy, family=Gamma(link="log"), quiet=True)


# -- family parameters ---------------------------------------------------------------
def test_family_parameter_transform_bounds_and_values():
    p = nb_shape_parameter(2.5)
    assert (p.name, p.engine_name, p.estimated, p.lower) == ("theta", "nb_theta", True, 0.0)
    assert p.to_optimizer() == pytest.approx(np.log(2.5), rel=1e-15)
    assert p.from_optimizer(p.to_optimizer()) == pytest.approx(2.5, rel=1e-15)
    assert p.optimizer_lower == -np.inf
    q = p.with_value(4.0)
    assert q.value == 4.0 and p.value == 2.5 and q.name == p.name  # a new object; the old one is unchanged
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.value = 1.0  # type: ignore[misc]
    d = dispersion_parameter(0.3)
    assert (d.name, d.engine_name) == ("dispersion", "dispersion")


def test_family_parameter_applies_to_its_family_only():
    nb = NegativeBinomial(1.0, "sqrt")
    fitted = nb_shape_parameter(3.0).fitted_family(nb)
    assert fitted == NegativeBinomial(3.0, "sqrt") and nb.theta == 1.0
    gamma = Gamma("log")
    assert dispersion_parameter(0.2).fitted_family(gamma) is gamma  # phi is not in the family


def test_family_parameter_sets_the_engine(grouseticks):
    design = model_design_for(GROUSE, grouseticks, NegativeBinomial(1.0), random=True)
    theta, beta = np.ones(1), np.array([0.5, 1.0, -1.0])
    at_one = glmm_engine_at(design, theta, beta, None).deviance_at(theta, beta)
    at_three = glmm_engine_at(design, theta, beta, nb_shape_parameter(3.0)).deviance_at(theta, beta)
    same_as_family = glmm_engine_at(dataclasses.replace(design, family=NegativeBinomial(3.0)), theta, beta, None)
    assert at_three != at_one
    assert at_three == same_as_family.deviance_at(theta, beta)


def test_objective_stages_are_the_engines(grouseticks):
    design = model_design_for(GROUSE, grouseticks, Poisson(), random=True)
    model = glmm_engine_at(design, np.ones(1), np.zeros(3), None)
    x = np.array([0.8, 0.1, 0.2, 0.3])
    ours = glmm_objective(model, ObjectiveStage.JOINT).evaluate(x)
    theirs = _core.glmm_objective(model, "joint", 1.0, "none", 1, np.zeros(3), np.ones(3)).evaluate(x)
    assert ours == pytest.approx(theirs, rel=1e-12)  # PIRLS restarts from where the last left u
    assert glmm_objective(model, ObjectiveStage.PROFILED_BETA).dim == 1


# -- what a state holds --------------------------------------------------------------
def test_glmer_state_holds_the_fit(poisson_fit):
    state = poisson_fit._state
    assert isinstance(state, FitState) and not state.is_lmm
    assert state.nAGQ == 1 and state.family_parameter is None and state.reml is None
    np.testing.assert_array_equal(state.theta, poisson_fit.theta)
    np.testing.assert_array_equal(state.beta, poisson_fit.fixef.to_numpy())
    assert state.deviance == poisson_fit.deviance
    assert state.info is poisson_fit.optinfo and state.family is poisson_fit.family
    assert state.engine() is poisson_fit._engine()
    poisson_fit.vcov  # the derivative checks leave the Hessian in the state's record
    assert state.info.hessian.shape == (1 + 3, 1 + 3)  # (theta, beta)


def test_glmer_nb_state_carries_the_fitted_family_without_modifying_the_design(nb_fit, grouseticks):
    state = nb_fit._state
    assert isinstance(state.family_parameter, FamilyParameter) and state.family_parameter.name == "theta"
    assert state.family_parameter.value == nb_fit.nb_theta == state.family.theta == nb_fit.family.theta
    # the design handed to fit_glmm keeps its starting shape; the state's is a copy with the estimate
    design = model_design_for(GROUSE, grouseticks, NegativeBinomial(1.5), random=True)
    refitted = fit_glmm(design, 1, nb_shape_parameter(1.5))
    assert design.family == NegativeBinomial(1.5)
    assert refitted.design is not design and refitted.family.theta == refitted.family_parameter.value
    assert refitted.family.theta == pytest.approx(nb_fit.nb_theta, rel=1e-4)


def test_dispersion_state_sets_sigma(gamma_fit):
    p = gamma_fit._state.family_parameter
    assert p.name == "dispersion" and gamma_fit.dispersion == p.value
    assert gamma_fit.sigma == pytest.approx(np.sqrt(p.value), rel=1e-15)
    assert gamma_fit._state.optimizer_point().size == gamma_fit.theta.size + gamma_fit.fixef.size + 1


def test_lmer_state(sleepstudy):
    fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    state = fit._state
    assert state.is_lmm and state.reml is True and state.nAGQ is None
    assert state.deviance == fit.deviance
    np.testing.assert_array_equal(state.beta, fit.fixef.to_numpy())


# -- every path builds it the same way -----------------------------------------------
def test_glmer_is_fit_glmm(poisson_fit, grouseticks):
    design = model_design_for(GROUSE, grouseticks, Poisson(), random=True)
    state = fit_glmm(design, 1)
    np.testing.assert_array_equal(state.theta, poisson_fit._state.theta)
    np.testing.assert_array_equal(state.beta, poisson_fit._state.beta)
    assert state.deviance == poisson_fit._state.deviance


def test_refit_from_scratch_gives_the_fits_state(poisson_fit):
    state = GlmerModel.from_result(poisson_fit).refit(poisson_fit._design.y, warm_start=False)
    assert isinstance(state, FitState) and state.engine_at_optimum is None  # the model's engine moves on
    np.testing.assert_allclose(state.theta, poisson_fit.theta, rtol=1e-6)
    np.testing.assert_allclose(state.beta, poisson_fit.fixef, rtol=1e-6)
    assert state.deviance == pytest.approx(poisson_fit._state.deviance, abs=1e-8)


def test_refit_re_estimates_the_shape_and_reports_it(nb_fit):
    y = nb_fit.simulate(1, seed=3)[:, 0]
    model = nb_fit.model()
    state = model.refit(y)
    res = model.result(state)
    assert state.family_parameter.value != nb_fit.nb_theta
    assert res.nb_theta == state.family_parameter.value == res.family.theta
    assert nb_fit.nb_theta == nb_fit._state.family_parameter.value  # the original fit is untouched


def test_refit_hessian_is_the_fits(poisson_fit):
    x = np.concatenate([poisson_fit.theta, poisson_fit.fixef.to_numpy()])
    model = GlmerModel.from_result(poisson_fit)
    fresh = GlmerModel(poisson_fit._design, poisson_fit.theta, poisson_fit.fixef.to_numpy())
    np.testing.assert_allclose(fresh.hessian0, model.hessian0, rtol=1e-6, atol=1e-8)
    g, H = laplace_hessian(fresh.engine, x)
    np.testing.assert_allclose(H, model.hessian0, rtol=1e-6, atol=1e-8)


# -- pickling ------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["poisson_fit", "nb_fit", "gamma_fit"])
def test_state_and_result_pickle_without_the_engine(which, request):
    fit = request.getfixturevalue(which)
    fit.vcov
    back = pickle.loads(pickle.dumps(fit))
    assert back._state.engine_at_optimum is None and back._model is None
    assert fit._state.engine_at_optimum is not None  # pickling does not drop the original's engine
    assert back._state.family_parameter == fit._state.family_parameter
    np.testing.assert_allclose(back.fitted(), fit.fitted(), rtol=1e-10)
    assert back._checks is not None and back._state.info.hessian is not None
    state = pickle.loads(pickle.dumps(fit._state))
    np.testing.assert_allclose(np.asarray(state.engine().mu), fit.fitted(), rtol=1e-10)


# -- import direction ----------------------------------------------------------------
def _imports(path: Path, lazy: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    return {n.module or "" for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.level and ((id(n) not in top) == lazy)}


@pytest.mark.parametrize("module", ["fit/_fit_state.py", "fit/_optimize.py", "fit/_objective.py",
                                    "fit/_family_parameter.py", "fit/_engine.py", "fit/_residuals.py"])
def test_the_fitting_machinery_imports_no_results(module):
    found = _imports(PACKAGE / module, lazy=False) | _imports(PACKAGE / module, lazy=True)
    assert not [m for m in found if m.startswith(("results", "inference", ".results", ".inference"))]


@pytest.mark.parametrize("module", ["results/_refit.py", "results/_bootstrap.py", "inference/_r2.py",
                                    "inference/_confint.py"])
def test_refit_bootstrap_and_inference_import_downwards_at_module_level(module):
    assert not _imports(PACKAGE / module, lazy=True)


def test_laplace_hessian_matches_converged_modes(grouseticks):
    """The SE Hessian's neighbours take their modes by Newton steps from the optimum's, started at the
    modes predicted to first order in beta (d u / d beta = -A^{-1} U'WX): with HEIGHT on a scale of 500 a
    step of 1e-4 in its coefficient moves the linear predictor by 0.05, and the Hessian still equals
    central differences of gradients at fully converged PIRLS modes (two Newton steps from the optimum's
    own modes left its column 3e-5 off)."""
    fit = glmmfast.glmer("TICKS ~ YEAR + HEIGHT + (1 | LOCATION)", grouseticks, family="poisson")
    state = fit._state
    x, model = state.optimizer_point(), state.engine()
    _, H = laplace_hessian(model, x)
    u0 = np.array(model.u)
    objective = joint_objective(model, None, 1)

    def converged_gradient(at):
        model.set_u(u0)
        g = np.empty(at.size)
        objective(at, g)
        return g

    h = 1e-4
    converged = np.empty_like(H)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        converged[:, i] = (converged_gradient(x + e) - converged_gradient(x - e)) / (2 * h)
    np.testing.assert_allclose(H, 0.5 * (converged + converged.T), rtol=1e-8, atol=1e-6)
