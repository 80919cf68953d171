"""Tests for glmmfast.formula._model_matrix: R-style model matrices on DataFrames."""

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

from conftest import ind
from glmmfast._errors import DataError, FormulaError
from glmmfast.formula._model_matrix import apply_design, model_design
from glmmfast.formula._response import evaluate_response


# --------------------------------------------------------------------------
# Names, order and values
# --------------------------------------------------------------------------


def test_factor_treatment_contrasts_r_names(df):
    d = model_design("YEAR", df)
    assert d.names == ["(Intercept)", "YEAR96", "YEAR97"]
    expected = np.column_stack([np.ones(6), ind(df.YEAR, 96), ind(df.YEAR, 97)])
    np.testing.assert_array_equal(d.X, expected)
    assert d.offset is None


def test_period_levels_like_cbpp():
    data = pd.DataFrame({"period": pd.Categorical(["1", "2", "3", "4", "1"],
                                                  categories=["1", "2", "3", "4"])})
    assert model_design("period", data).names == ["(Intercept)", "period2", "period3", "period4"]


def test_matrix_is_float64_fortran(df):
    d = model_design("x + f", df)
    assert d.X.dtype == np.float64
    assert d.X.flags.f_contiguous
    assert d.X.shape == (6, 4)


def test_no_intercept_full_dummy(df):
    for rhs in ("0 + YEAR", "YEAR - 1", "-1 + YEAR"):
        d = model_design(rhs, df)
        assert d.names == ["YEAR95", "YEAR96", "YEAR97"]
        np.testing.assert_array_equal(
            d.X, np.column_stack([ind(df.YEAR, 95), ind(df.YEAR, 96), ind(df.YEAR, 97)]))


def test_no_intercept_only_first_factor_full(df):
    # R: first factor spans the intercept, later ones keep contrasts.
    assert model_design("0 + x + f + g", df).names == ["x", "fa", "fb", "fc", "gu"]


def test_string_levels_sorted(df):
    d = model_design("f", df)
    assert d.names == ["(Intercept)", "fb", "fc"]
    np.testing.assert_array_equal(d.X[:, 1], ind(df.f, "b"))
    np.testing.assert_array_equal(d.X[:, 2], ind(df.f, "c"))


def test_object_dtype_strings(df):
    data = df.assign(f=df.f.astype(object))
    assert model_design("f", data).names == ["(Intercept)", "fb", "fc"]


def test_category_order_and_unused_dropped(df):
    # categories ["v", "u", "w"]: v is the reference, w is unused.
    d = model_design("g", df)
    assert d.names == ["(Intercept)", "gu"]
    np.testing.assert_array_equal(d.X[:, 1], ind(df.g, "u"))


def test_interaction_star_expansion_and_values(df):
    d = model_design("x*f", df)
    assert d.names == ["(Intercept)", "x", "fb", "fc", "x:fb", "x:fc"]
    x = df.x.to_numpy()
    expected = np.column_stack([np.ones(6), x, ind(df.f, "b"), ind(df.f, "c"),
                                x * ind(df.f, "b"), x * ind(df.f, "c")])
    np.testing.assert_array_equal(d.X, expected)


def test_factor_by_factor_interaction_first_varies_fastest(df):
    d = model_design("g*f", df)
    assert d.names == ["(Intercept)", "gu", "fb", "fc", "gu:fb", "gu:fc"]
    np.testing.assert_array_equal(d.X[:, 4], ind(df.g, "u") * ind(df.f, "b"))
    spp = pd.DataFrame({
        "spp": pd.Categorical(["GP", "PR", "DM", "PR"], categories=["GP", "PR", "DM"]),
        "mined": ["yes", "no", "yes", "no"],
    })
    # mined levels sorted: "no" < "yes"
    names = model_design("spp * mined", spp).names
    assert names == ["(Intercept)", "sppPR", "sppDM", "minedyes",
                     "sppPR:minedyes", "sppDM:minedyes"]
    # Interaction only: R codes both factors fully (no lower-order term).
    names = model_design("spp:mined", spp).names
    assert names[:3] == ["(Intercept)", "sppGP:minedno", "sppPR:minedno"]


def test_main_effects_before_interactions(df):
    d = model_design("x:f + g + x", df)
    assert d.names == ["(Intercept)", "gu", "x", "x:fb", "x:fc"]


def test_interaction_without_main_effect_uses_dummies(df):
    # R: f + x:f -> the slope term gets one column per level, named "f<lev>:x".
    assert model_design("f + x:f", df).names == [
        "(Intercept)", "fb", "fc", "fa:x", "fb:x", "fc:x"]
    assert model_design("x:f", df).names == ["(Intercept)", "x:fa", "x:fb", "x:fc"]
    assert model_design("x + x:f", df).names == ["(Intercept)", "x", "x:fb", "x:fc"]


def test_power_of_sum(df):
    assert model_design("(x + f + b)^2", df).names == [
        "(Intercept)", "x", "fb", "fc", "bTRUE", "x:fb", "x:fc", "x:bTRUE",
        "fb:bTRUE", "fc:bTRUE"]


def test_function_terms_keep_r_text(df):
    d = model_design("x + I(x^2) + log(x) + sqrt(n) + exp(x/10) + abs(x - 3)", df)
    assert d.names == ["(Intercept)", "x", "I(x^2)", "log(x)", "sqrt(n)",
                       "exp(x/10)", "abs(x - 3)"]
    x, n = df.x.to_numpy(), df.n.to_numpy(float)
    np.testing.assert_allclose(d.X[:, 2:], np.column_stack(
        [x ** 2, np.log(x), np.sqrt(n), np.exp(x / 10), np.abs(x - 3)]))


def test_python_power_spelling_gives_r_name(df):
    assert model_design("I(x**2)", df).names == ["(Intercept)", "I(x^2)"]


def test_log_base_and_factor_call(df):
    d = model_design("log(x, base = 2) + factor(s)", df)
    assert d.names == ["(Intercept)", "log(x, base = 2)", "factor(s)2", "factor(s)3"]
    np.testing.assert_allclose(d.X[:, 1], np.log2(df.x))


def test_logical_and_comparison_are_factors(df):
    d = model_design("b + I(x > 2)", df)
    assert d.names == ["(Intercept)", "bTRUE", "I(x > 2)TRUE"]
    np.testing.assert_array_equal(d.X[:, 1], df.b.astype(float))
    np.testing.assert_array_equal(d.X[:, 2], (df.x > 2).astype(float))


def test_intercept_only_and_empty(df):
    d = model_design("1", df)
    assert d.names == ["(Intercept)"]
    np.testing.assert_array_equal(d.X, np.ones((6, 1)))
    d0 = model_design("0", df)
    assert d0.names == [] and d0.X.shape == (6, 0)


def test_integer_column_is_numeric(df):
    d = model_design("n", df)
    assert d.names == ["(Intercept)", "n"]
    np.testing.assert_array_equal(d.X[:, 1], df.n.astype(float))


# --------------------------------------------------------------------------
# Offsets
# --------------------------------------------------------------------------


def test_offsets_summed_and_not_columns(df):
    d = model_design("x + offset(log(n)) + offset(x/2)", df)
    assert d.names == ["(Intercept)", "x"]
    np.testing.assert_allclose(d.offset, np.log(df.n) + df.x / 2)


def test_offset_only(df):
    d = model_design("1 + offset(log(n))", df)
    assert d.names == ["(Intercept)"]
    np.testing.assert_allclose(d.offset, np.log(df.n))


# --------------------------------------------------------------------------
# New data
# --------------------------------------------------------------------------


def test_apply_design_same_encoding(df):
    d = model_design("x*f + YEAR + offset(log(n))", df)
    new = df.iloc[[4, 1]].reset_index(drop=True)
    d2 = apply_design(d.spec, new)
    assert d2.names == d.names
    np.testing.assert_array_equal(d2.X, d.X[[4, 1]])
    np.testing.assert_allclose(d2.offset, d.offset[[4, 1]])
    assert d2.X.flags.f_contiguous


def test_apply_design_subset_of_levels_keeps_columns(df):
    d = model_design("f + g", df)
    new = pd.DataFrame({"f": ["c"], "g": pd.Categorical(["u"])})
    d2 = apply_design(d.spec, new)
    assert d2.names == ["(Intercept)", "fb", "fc", "gu"]
    np.testing.assert_array_equal(d2.X, [[1.0, 0.0, 1.0, 1.0]])


def test_apply_design_plain_ints_match_categorical_levels(df):
    d = model_design("YEAR", df)
    d2 = apply_design(d.spec, pd.DataFrame({"YEAR": [97, 95]}))
    np.testing.assert_array_equal(d2.X, [[1, 0, 1], [1, 0, 0]])


def test_apply_design_new_level_error(df):
    d = model_design("x + f", df)
    bad = df.assign(f=["a", "b", "zz", "a", "b", "c"])
    with pytest.raises(DataError, match=r"new level 'zz' of 'f'"):
        apply_design(d.spec, bad)


def test_spec_is_picklable(df):
    d = model_design("x*f + I(x^2) + offset(log(n))", df)
    spec = pickle.loads(pickle.dumps(d.spec))
    np.testing.assert_array_equal(apply_design(spec, df).X, d.X)


# --------------------------------------------------------------------------
# Errors and hygiene
# --------------------------------------------------------------------------


def test_unknown_column(df):
    with pytest.raises(DataError, match=r"unknown column 'HEIGHTX' in formula term 'HEIGHTX'"):
        model_design("x + HEIGHTX", df)
    with pytest.raises(DataError, match=r"unknown column 'zz' in formula term 'log\(zz\)'"):
        model_design("log(zz)", df)


def test_nonfinite_values_raise(df):
    with pytest.raises(DataError, match="non-finite"):
        model_design("log(x - 1)", df)
    with pytest.raises(DataError, match="non-finite"):
        model_design("x", df.assign(x=[1.0, np.nan, 3, 4, 5, 6]))


def test_unsupported_function_and_bars(df):
    with pytest.raises(FormulaError, match="unsupported function 'lowess'.*supported: .*poly"):
        model_design("lowess(x)", df)
    with pytest.raises(FormulaError):
        model_design("x + (1 | f)", df)


def test_single_level_factor_needs_two_levels(df):
    with pytest.raises(DataError, match="only one level"):
        model_design("f", df.assign(f="a"))


def test_row_count_preserved(df):
    d = model_design("x + f + offset(n)", df)
    assert d.X.shape[0] == len(df) and d.offset.shape == (len(df),)


def test_caller_dataframe_unchanged(df):
    before = df.copy(deep=True)
    dtypes = df.dtypes.copy()
    d = model_design("x*f + g + YEAR + I(x^2) + factor(s) + b + offset(log(n))", df)
    apply_design(d.spec, df)
    evaluate_response("cbind(n, 10 - n)", df)
    evaluate_response("f", df)
    pd.testing.assert_frame_equal(df, before)
    assert (df.dtypes == dtypes).all()
    assert list(df.g.cat.categories) == ["v", "u", "w"]


def test_complex_columns_are_refused(df):
    with pytest.raises(DataError, match="column 'z' holds complex numbers; model variables must be real"):
        model_design("x + z", df.assign(z=df["x"] * 1j))


def test_unicode_names_are_not_backquoted(df):
    d = model_design("höhe + Größe", df.assign(höhe=df["x"], Größe=df["x"] ** 2))
    assert d.names == ["(Intercept)", "höhe", "Größe"]
    assert model_design("`a b`", df.assign(**{"a b": df["x"]})).names == ["(Intercept)", "`a b`"]


def test_spec_of_a_formula_tree_is_shared_only_between_data_of_the_same_kinds(df):
    from glmmfast.formula._formula import parse_expression
    rhs = parse_expression("x + f")
    first, again = model_design(rhs, df), model_design(rhs, df)
    assert again.spec is first.spec  # remembered: frozen, so no caller can alter it
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.spec.names = ()
    fewer = df[df["f"] != df["f"].iloc[0]]  # one level fewer: other columns, another spec
    other = model_design(rhs, fewer)
    assert other.spec is not first.spec and len(other.names) == len(first.names) - 1
    assert other.spec.levels != first.spec.levels
    assert model_design(rhs, df).spec is first.spec
    with_contrasts = model_design(rhs, df, {"f": "contr.sum"})  # given contrasts: never remembered
    assert with_contrasts.spec.contrasts != first.spec.contrasts
    assert model_design(rhs, df).spec is first.spec
