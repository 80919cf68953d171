# B-spline bases against R 4.2's splines::ns and bs (values printed by R for
# x = seq(-1, 1, length = 9), predicted at points inside and beyond the
# boundary knots).

import numpy as np

from glmmfast.formula._splines import bs_basis, bs_knots, ns_basis, ns_knots, spline_design

X = np.linspace(-1, 1, 9)
NEW = np.array([-1.2, 0.33, 1.25, 1.0])


def test_ns_matches_r():
    interior, boundary = ns_knots(X, 3, None, False, None)
    np.testing.assert_allclose(interior, [-1 / 3, 1 / 3])
    assert boundary == (-1.0, 1.0)
    expected = [[0.07606388, -0.2281916, 0.15212777], [0.55267557, 0.3418985, -0.06375318],
                [-0.54464286, 0.5089286, 1.03571429], [-0.14285714, 0.4285714, 0.71428571]]
    np.testing.assert_allclose(ns_basis(NEW, interior, boundary, False), expected, atol=1e-7)


def test_bs_matches_r_with_taylor_extrapolation():
    interior, boundary = bs_knots(X, 5, None, 3, False, None)
    expected = [[-1.35225, 0.15975, -0.0045, 0, 0], [3.125e-08, 0.169179094, 0.5845522, 0.2462687, 0],
                [0, -0.008789063, 0.2592773, -1.8500977, 2.599609], [0, 0, 0, 0, 1]]
    np.testing.assert_allclose(bs_basis(NEW, interior, boundary, 3, False), expected, atol=1e-6)


def test_spline_design_partitions_unity():
    knots = np.r_[[0.0] * 4, 0.3, 0.5, [1.0] * 4]
    B = spline_design(knots, np.linspace(0, 1, 11), 4)
    np.testing.assert_allclose(B.sum(axis=1), 1.0, atol=1e-12)
