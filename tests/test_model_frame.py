"""Tests for glmmfast.formula._model_frame: the columns a formula uses."""

import pytest

from glmmfast.formula._model_frame import variables_in


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
