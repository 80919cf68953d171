"""Tests for glmmfast.formula._model_frame: the columns a formula uses."""

import numpy as np
import pytest

from glmmfast.formula._model_frame import variables_in
from glmmfast.formula._r_eval import Factor, drop_unused


# --------------------------------------------------------------------------
# variables_in
# --------------------------------------------------------------------------


@pytest.mark.parametrize("expr, expected", [
    ("cbind(incidence, size - incidence)", {"incidence", "size"}),
    ("log(x) + I(z^2) + a*b", {"x", "z", "a", "b"}),
    ("offset(log(n)) + exp(w) + sqrt(v)", {"n", "w", "v"}),
    ("poly(x, degree = 2)", {"x"}),
    ("log(x, base = k)", {"x", "k"}),
    ("1", set()),
    ("0 + x", {"x"}),
    ("a:b", {"a", "b"}),
    ("f == 'lvl' & TRUE", {"f"}),
    ("`my col` + y", {"my col", "y"}),
])
def test_variables_in(expr, expected):
    assert variables_in(expr) == expected


def test_drop_unused_keeps_missing_codes_and_renumbers_the_levels_left():
    # R's droplevels(): a missing value (code -1) stays missing and uses no level
    f = drop_unused(Factor(np.array([2, -1, 0, 2]), ["a", "b", "c"]))
    assert f.codes.tolist() == [1, -1, 0, 1] and f.levels == ["a", "c"]
    every_level = Factor(np.array([1, -1, 0]), ["a", "b"])
    assert drop_unused(every_level) is every_level
    assert drop_unused(Factor(np.array([-1, -1]), ["a"])).levels == []
