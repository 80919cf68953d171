"""glmmTMB's REML for a gaussian model with a dispersion model (fit/_integrated_beta.py): the criterion's
exact gradient in (theta, beta_disp) against central differences of the criterion, and where the engine
has it.  The fit against glmmTMB's reference: test_dispformula.py (test_reml_*)."""

from __future__ import annotations

import numpy as np
import pytest

import glmmfast
from glmmfast.fit._derivatives import central_gradient
from glmmfast.fit._integrated_beta import criterion_gradient, reml_objective
from test_zero_inflation import REFERENCE, load


@pytest.mark.parametrize("formula", ["y ~ x + (1 | g)", "y ~ x + (x | g)"])
def test_criterion_gradient_is_central_differences_of_the_criterion(formula):
    # at the ML optimum (REML's start) and at a point off it; (x | g): theta of a 2 x 2 factor
    c = REFERENCE["disp_gauss_x_reml"]
    fit = glmmfast.glmer(formula, load(c["dataset"]), family="gaussian", dispformula=c["dispformula"], quiet=True)
    model = fit._state.engine()
    objective = reml_objective(model)
    x0 = np.concatenate([fit._state.theta, fit._state.beta_disp])
    for x in (x0, x0 + 0.05 * np.arange(1, x0.size + 1)):
        objective.evaluate(x)
        exact = criterion_gradient(model)
        differenced = central_gradient(objective.evaluate, x, 1e-5)
        np.testing.assert_allclose(exact, differenced, rtol=1e-6, atol=2e-6)


def test_log_det_gradient_is_the_gaussian_identity_models():
    # W must not move with the mode: the nbinom2's weights do, so the engine refuses
    gauss = REFERENCE["disp_gauss_x_reml"]
    fit = glmmfast.glmer(gauss["formula"], load(gauss["dataset"]), family="gaussian",
                         dispformula=gauss["dispformula"], quiet=True)
    assert fit._state.engine().has_fixed_effects_log_det_gradient
    nb = REFERENCE["disp_nb2_x"]
    model = glmmfast.glmer(nb["formula"], load(nb["dataset"]), family="nbinom2", dispformula=nb["dispformula"],
                           quiet=True)._state.engine()
    assert not model.has_fixed_effects_log_det_gradient
    with pytest.raises(RuntimeError, match="log det H_beta"):
        model.fixed_effects_log_det_gradient()
