"""Finite-difference derivatives (_derivatives.py) on functions whose
derivatives are known."""

from __future__ import annotations

import numpy as np
import pytest

from glmmfast.fit._derivatives import central_gradient, gradient_hessian, hessian_from_gradient


def _f(x):
    return np.exp(x[0]) * np.sin(x[1]) + x[0] * x[2] ** 2


def _grad(x):
    return np.array([np.exp(x[0]) * np.sin(x[1]) + x[2] ** 2, np.exp(x[0]) * np.cos(x[1]), 2 * x[0] * x[2]])


def _hess(x):
    e, s, c = np.exp(x[0]), np.sin(x[1]), np.cos(x[1])
    return np.array([[e * s, e * c, 2 * x[2]], [e * c, -e * s, 0.0], [2 * x[2], 0.0, 2 * x[0]]])


X = np.array([0.3, 0.7, -1.2])


def test_gradient_hessian_from_values():
    g, H = gradient_hessian(_f, X, 1e-4)
    np.testing.assert_allclose(g, _grad(X), atol=1e-7)
    np.testing.assert_allclose(H, _hess(X), atol=1e-4)  # forward cross differences: O(h)


def test_central_gradient_is_second_order_with_2d_evaluations():
    calls = []

    def f(x):
        calls.append(1)
        return _f(x)

    g = central_gradient(f, X, 1e-4)
    assert len(calls) == 2 * X.size
    np.testing.assert_allclose(g, _grad(X), atol=1e-7)
    # the same differences as gradient_hessian's gradient, per-coordinate steps too
    h = np.array([1e-4, 1e-5, 1e-3])
    np.testing.assert_array_equal(central_gradient(_f, X, h), gradient_hessian(_f, X, h)[0])


def test_hessian_from_gradient_is_second_order_and_symmetric():
    g, H = hessian_from_gradient(_grad, X, 1e-4)
    np.testing.assert_array_equal(g, _grad(X))
    np.testing.assert_allclose(H, _hess(X), atol=1e-7)
    np.testing.assert_array_equal(H, H.T)
    # per-coordinate steps
    _, H2 = hessian_from_gradient(_grad, X, np.array([1e-4, 1e-5, 1e-3]))
    np.testing.assert_allclose(H2, _hess(X), atol=1e-6)


def test_the_engines_hessian_is_the_same_differences_of_its_gradient():
    """Objective.gradient_hessian (cpp/src/optim/gradient_differences.cpp: the standard errors' Hessian in one
    engine call) takes the same central differences, in the same order, as hessian_from_gradient on the
    engine's gradient, and its Hessian is symmetric."""
    import glmmfast
    from glmmfast.fit._fit_state import joint_objective

    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
    state = fit._state
    obj = joint_objective(state.engine(), None, 1)
    x = state.optimizer_point()
    h = np.array([1e-4, 2e-4, 1e-4, 3e-4])
    before = obj.gradient_evaluations
    g, H = obj.gradient_hessian(x, h)
    assert obj.gradient_evaluations - before == 1 + 2 * x.size
    g_ref, H_ref = hessian_from_gradient(obj.gradient, x, h)
    np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(H, H_ref, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(H, H.T)


def test_the_engines_hessian_takes_each_neighbours_modes_by_newton_steps():
    """On the general observation path (a zero-inflated negative binomial, non-canonical in every sense
    PIRLS knows), each perturbed point's modes come from Newton steps (cpp/src/optim/gradient_differences.hpp):
    two from the optimum's modes for theta, beta_zi and the shape, one from the modes predicted to first
    order in beta (d u / d beta = -A^{-1} U'WX; these beta move the modes by less than 1e-3 at h = 1e-4); no
    deviance, and the Hessian of full evaluations (a PIRLS from scratch at every point) to rounding.
    ``skip`` leaves coordinates undifferenced: their columns are 0 before symmetrising, the rest unchanged."""
    import glmmfast
    from glmmfast.fit._fit_state import joint_objective

    fit = glmmfast.glmer("count ~ mined + spp + (1 | site)", glmmfast.datasets.load("Salamanders"), "nbinom2",
                         ziformula="~mined")
    state = fit._state
    model = state.engine()
    obj = joint_objective(model, state.family_parameter, 1)
    x = state.optimizer_point()
    h = np.full(x.size, 1e-4)
    obj.evaluate(x)
    before, pirls = obj.gradient_evaluations, model.pirls_iterations
    obj.evaluate(x)
    centre = model.pirls_iterations - pirls  # the centre's own PIRLS (warm at its modes)
    pirls = model.pirls_iterations
    g, H = obj.gradient_hessian(x, h)
    assert obj.gradient_evaluations - before == 1 + 2 * x.size
    p = len(state.beta)
    assert model.pirls_iterations - pirls == centre + 2 * 2 * (x.size - p) + 2 * 1 * p

    def full_gradient(point):  # a PIRLS from zero modes: no warm start at all
        model.set_u(np.zeros(model.q))
        return obj.gradient(point)

    g_ref, H_ref = hessian_from_gradient(full_gradient, x, h)
    np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(H, H_ref, rtol=1e-6, atol=1e-7 * np.abs(H_ref).max())
    skip = [x.size - 1, 2]
    _, H_skip = obj.gradient_hessian(x, h, skip)
    kept = np.setdiff1d(np.arange(x.size), skip)
    np.testing.assert_allclose(H_skip[np.ix_(kept, kept)], H[np.ix_(kept, kept)], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(H_skip[np.ix_(skip, skip)], 0.0)
    with pytest.raises(ValueError, match="skip"):
        obj.gradient_hessian(x, h, [x.size])


@pytest.mark.parametrize("case", ["poisson", "zinb2"])
def test_the_engines_hessian_leaves_the_engine_as_its_centre_evaluation_did(case):
    """With neighbour gradients (an in-memory engine's joint Laplace objective), the Hessian puts the engine
    back in the state its evaluation at x left, bit for bit (the modes, the means, the factor behind the
    Laplace deviance and beta's covariance), by one factorisation (GlmmModel::return_to_mode): no PIRLS
    from the last neighbour's modes to restore the optimum afterwards."""
    import glmmfast
    from glmmfast.fit._fit_state import joint_objective

    if case == "poisson":
        fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
    else:
        fit = glmmfast.glmer("count ~ mined + spp + (1 | site)", glmmfast.datasets.load("Salamanders"), "nbinom2",
                             ziformula="~mined")
    state = fit._state
    model = state.engine()
    obj = joint_objective(model, state.family_parameter, 1)
    assert obj.has_neighbour_gradient
    x = state.optimizer_point()
    obj.evaluate(x)
    start = np.array(model.u)
    obj.evaluate(x)  # the centre's evaluation, as the Hessian's from these modes
    centre = (np.array(model.u), np.array(model.mu), model.laplace_deviance(), np.array(model.beta_unscaled_vcov()))
    model.set_u(start)
    obj.gradient_hessian(x, np.full(x.size, 1e-4))
    after = (np.array(model.u), np.array(model.mu), model.laplace_deviance(), np.array(model.beta_unscaled_vcov()))
    for a, b in zip(after, centre):
        np.testing.assert_array_equal(a, b)


def test_the_engines_forward_differences_are_the_python_loops():
    """Objective.forward_differences (cpp/src/optim/gradient_differences.cpp: the BFGS stages' start
    Hessians in one engine call) gives the columns (g(x + h e_i) - g) / h of the named coordinates, in
    their order, as a Python loop over the same evaluations; each is one counted gradient evaluation;
    None where an evaluation fails; a coordinate outside x is refused."""
    import glmmfast
    from glmmfast import _core
    from glmmfast.fit._objective import function_objective

    fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
    obj = _core.lmm_objective(fit._state.engine(), True)
    x = np.array([0.9, 0.1, 0.3])
    g = np.empty(x.size)
    obj(x, g)
    h = 1e-3

    def python_columns(columns):
        out = np.empty((x.size, len(columns)))
        gi = np.empty(x.size)
        for k, i in enumerate(columns):
            xi = x.copy()
            xi[i] += h
            obj(xi, gi)
            out[:, k] = (gi - g) / h
        return out

    before = (obj.evaluations, obj.gradient_evaluations)
    cols = obj.forward_differences(x, g, [2, 0], h)
    assert (obj.evaluations - before[0], obj.gradient_evaluations - before[1]) == (2, 2)
    np.testing.assert_array_equal(cols, python_columns([2, 0]))
    full = obj.forward_differences(x, g, range(x.size), h)
    np.testing.assert_array_equal(full, python_columns(range(x.size)))
    # forward differences: the central-difference Hessian to O(h)
    _, H = obj.gradient_hessian(x, np.full(x.size, 1e-4))
    np.testing.assert_allclose(0.5 * (full + full.T), H, rtol=0.05, atol=1e-2 * np.abs(H).max())
    assert obj.forward_differences(x, g, [], h).shape == (x.size, 0)
    with pytest.raises(ValueError, match="columns"):
        obj.forward_differences(x, g, [x.size], h)

    def fun(z):  # fails beyond z[0] = 1 (a PIRLS failure: the objective's penalty)
        if z[0] > 1.0:
            raise _core.PirlsError("beyond 1")
        return float(z @ z)

    last = []
    failing = function_objective(lambda z: last.append(z.copy()) or fun(z), 2, gradient=lambda: 2 * last[-1])
    z = np.array([0.99995, 0.5])
    gz = np.empty(2)
    failing(z, gz)
    assert failing.forward_differences(z, gz, [1], 1e-4) is not None
    assert failing.forward_differences(z, gz, [1, 0], 1e-4) is None
