"""Tests for glmmfast.formula._response: the model response (cbind, factor, logical, numeric)."""

import numpy as np
import pandas as pd
import pytest

from glmmfast._errors import DataError, FormulaError
from glmmfast.formula._response import evaluate_response


# --------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------


def test_cbind_response():
    data = pd.DataFrame({"incidence": [2, 3, 0], "size": [14, 12, 9]})
    r = evaluate_response("cbind(incidence, size - incidence)", data)
    assert r.kind == "cbind" and r.levels is None
    np.testing.assert_array_equal(r.values, [[2, 12], [3, 9], [0, 9]])
    assert r.values.dtype == np.float64 and r.values.shape == (3, 2)


def test_numeric_response_with_arithmetic(df):
    r = evaluate_response("x/n", df)
    assert r.kind == "numeric"
    np.testing.assert_allclose(r.values, df.x / df.n)
    np.testing.assert_allclose(evaluate_response("log(x)", df).values, np.log(df.x))


def test_factor_response_first_level_is_failure(df):
    r = evaluate_response("f", df)
    assert r.kind == "factor" and r.levels == ["a", "b", "c"]
    np.testing.assert_array_equal(r.values, (df.f != "a").astype(float))
    # Categorical order decides the reference; unused levels dropped.
    r = evaluate_response("g", df)
    assert r.levels == ["v", "u"]
    np.testing.assert_array_equal(r.values, (df.g == "u").astype(float))


def test_bool_response(df):
    r = evaluate_response("b", df)
    assert r.kind == "bool" and r.levels is None
    np.testing.assert_array_equal(r.values, df.b.astype(float))


def test_response_errors(df):
    with pytest.raises(FormulaError, match="exactly two"):
        evaluate_response("cbind(x, n, x)", df)
    with pytest.raises(DataError, match="unknown column 'yy'"):
        evaluate_response("yy", df)
    with pytest.raises(DataError, match="non-finite"):
        evaluate_response("log(x - 1)", df)
