# Formula functions, contrasts and formula forms against lme4 1.1-31
# (tests/data/formula_reference.R -> formula_reference.json): criterion,
# estimates and predict(newdata) on rows outside the fitting data (the fit's
# poly/scale/spline parameters and contrasts reused: R's safe prediction).
# Also the stored-parameter mechanics of glmmfast.formula._formula_functions.

import numpy as np
import pandas as pd
import pytest

from conftest import fit_formula_case, formula_dataset, formula_newdata, formula_reference
from glmmfast import FormulaError
from glmmfast.formula._formula_functions import apply_function, fit_function, match_arguments
from glmmfast.formula._model_frame import apply_design, model_design

FEATURES = formula_reference()["features"]


def _reference(case: dict) -> tuple[float, dict, list | None]:
    """lme4's numbers, or glmmTMB's for a glmer where lme4 stopped short of the Laplace optimum."""
    crit, fixef, pred = case["criterion"], case["fixef"], case.get("predict")
    tmb = case.get("glmmTMB")
    if tmb and tmb["criterion"] < crit:
        crit, fixef, pred = tmb["criterion"], tmb["fixef"], tmb.get("predict", pred)
    return crit, fixef, pred


def _r_numbers(values: list) -> np.ndarray:
    return np.array([np.nan if v in (None, "NA", "NaN") else v for v in values], dtype=float)


@pytest.mark.parametrize("name", list(FEATURES))
def test_feature_matches_lme4(name):
    case = FEATURES[name]
    fit, crit = fit_formula_case(case)
    ref_crit, ref_fixef, ref_pred = _reference(case)
    assert crit == pytest.approx(ref_crit, abs=1e-6)
    fixef = fit.fixef
    assert list(fixef.index) == list(ref_fixef)  # R's column names and order
    np.testing.assert_allclose(fixef.to_numpy(), list(ref_fixef.values()), atol=1e-4, rtol=1e-6)
    if ref_pred is not None:
        pred = _r_numbers(ref_pred)
        ok = np.isfinite(pred)  # sqrt(-1) in an offset: R gives NaN, glmmfast refuses the row
        newdata = formula_newdata(case, formula_dataset(case["data"]))[ok].reset_index(drop=True)
        np.testing.assert_allclose(fit.predict(newdata), pred[ok], atol=1e-4, rtol=1e-6)
        if case["fun"] == "lmer":
            np.testing.assert_allclose(fit.predict(newdata, re_form="~0"), _r_numbers(case["predict_fixed"])[ok],
                                       atol=1e-4, rtol=1e-6)


def test_random_term_names_follow_r():
    case = FEATURES["ordered_re"]
    fit, _ = fit_formula_case(case)
    assert fit.varcorr["var1"].dropna().unique().tolist()[:3] == case["ranef_names"]["Subject"]


def test_new_data_reuse_fit_parameters():
    df = pd.DataFrame({"x": np.arange(10.0)})
    d = model_design("poly(x, 2) + scale(x) + ns(x, df = 3)", df)
    new = apply_design(d.spec, pd.DataFrame({"x": [0.0, 9.0]}))
    # Rows 0 and 9 of the fitting data, evaluated alone, give the fit's values.
    np.testing.assert_allclose(new.X, d.X[[0, 9]], atol=1e-12)
    assert d.names == ["(Intercept)", "poly(x, 2)1", "poly(x, 2)2", "scale(x)", "ns(x, df = 3)1",
                       "ns(x, df = 3)2", "ns(x, df = 3)3"]


def test_namespaced_calls_are_the_functions_with_r_names():
    df = pd.DataFrame({"x": np.linspace(0, 3, 12)})
    plain = model_design("ns(x, df = 3) + poly(x, 2)", df)
    qualified = model_design("splines::ns(x, df = 3) + stats::poly(x, 2)", df)
    np.testing.assert_array_equal(qualified.X, plain.X)
    assert qualified.names[1] == "splines::ns(x, df = 3)1" and qualified.names[-1] == "stats::poly(x, 2)2"
    with pytest.raises(FormulaError, match="unsupported call 'mgcv::s\\(x\\)'.*supported: "):
        model_design("mgcv::s(x)", df)


def test_poly_is_orthonormal_over_the_data():
    x = np.array([1.0, 2, 4, 7, 11, 16])
    values, suffixes, state = fit_function("poly", x, match_arguments("poly", [3.0], {}))
    np.testing.assert_allclose(values.T @ values, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(values.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(apply_function("poly", x, {}, state), values, atol=1e-12)
    assert suffixes == ["1", "2", "3"]


@pytest.mark.parametrize("rhs, fragment", [
    ("poly(x, 6)", "unique points"),
    ("ns(x, dof = 3)", "no argument 'dof'"),
    ("bs(x, df = 2.5)", "whole number"),
    ("poly(x, 2, raw = 1)", "TRUE or FALSE"),
    ("scale(z - z)", "cannot scale"),
    ("dummy(f, \"q\")", "not a level"),
    ("lowess(x)", "supported: "),
])
def test_bad_calls_name_the_problem(rhs, fragment):
    df = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6], "z": [2.0, 1, 3, 1, 2, 5], "f": list("ababab")})
    with pytest.raises(FormulaError, match=fragment):
        model_design(rhs, df)


def test_contrasts_argument_checked():
    df = formula_dataset("cake")
    import glmmfast
    with pytest.raises(FormulaError, match="not a factor"):
        glmmfast.lmer("angle ~ recipe + temp + (1 | replicate)", df, contrasts={"temp": "contr.sum"})
    with pytest.raises(FormulaError, match="unknown contrasts"):
        glmmfast.lmer("angle ~ recipe + temp + (1 | replicate)", df, contrasts={"recipe": "contr.foo"})
    with pytest.raises(FormulaError, match="3 rows"):
        glmmfast.lmer("angle ~ recipe + temp + (1 | replicate)", df, contrasts={"recipe": np.ones((2, 1))})
    assert df["recipe"].cat.categories.tolist() == ["A", "B", "C"]  # the caller's frame untouched
