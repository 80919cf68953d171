"""The sparse factor (linalg/symmetric_factor.cpp): the natural order where it eliminates without fill
(nested terms, inner first), the fill-reducing ordering otherwise; both against the blocked factor."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmmfast.design._design import model_design_for
from glmmfast.families import Poisson
from glmmfast.fit._engine import engine_model


def _nested_data(moved: int) -> pd.DataFrame:
    """300 schools in 30 leas (school s in lea s // 10); `moved` schools also have rows in the next lea
    (then the leas' columns fill in when the schools' are eliminated: no longer a perfect elimination order)."""
    rng = np.random.default_rng(3)
    school = np.repeat(np.arange(300), 6)
    lea = school // 10
    lea[::6][:moved] = (lea[::6][:moved] + 1) % 30
    x = rng.normal(size=school.size)
    eta = 0.3 + 0.2 * x + rng.normal(0, 0.4, 300)[school] + rng.normal(0, 0.3, 30)[lea]
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "school": school, "lea": lea})


@pytest.mark.parametrize("moved", [0, 5])
@pytest.mark.parametrize("formula", ["y ~ x + (1 | school) + (1 | lea)", "y ~ x + (x | school) + (1 | lea)"])
def test_sparse_factor_on_nested_terms_equals_the_blocked_one(formula, moved):
    design = model_design_for(formula, _nested_data(moved), Poisson(), random=True)
    beta, out = np.array([0.25, 0.2]), {}
    for fac in ("sparse", "blocked"):
        model = engine_model(design, fac)
        assert model.factorization == fac
        theta = np.array([0.45, 0.3] if len(model.initial_theta()) == 2 else [0.45, 0.1, 0.2, 0.3])
        out[fac] = (model.deviance_at(theta, beta), np.asarray(model.laplace_gradient()),
                    [np.asarray(model.cond_var(t)) for t in range(2)])
    assert out["sparse"][0] == pytest.approx(out["blocked"][0], rel=1e-12)
    np.testing.assert_allclose(out["sparse"][1], out["blocked"][1], rtol=1e-8, atol=1e-8)
    for t in range(2):
        np.testing.assert_allclose(out["sparse"][2][t], out["blocked"][2][t], rtol=1e-10, atol=1e-12)
