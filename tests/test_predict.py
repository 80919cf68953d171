"""predict on the fitted and on new data, against lme4 1.1-31 (tests/data/postfit_reference.json).

lme4 stops short on m1 (it warns max|grad| = 0.017; its -2 log L is 0.0024
above glmmfast's), so its estimates differ from glmmfast's by up to 1.3e-3
(0.015 standard errors) and its predictions on the link scale by as much;
they are compared at 2e-3 (link; relative on the response scale).  Where the
answer is fixed by glmmfast's own fit (fitted rows through the stored
encodings, new levels = population level) the checks are exact (1e-12).
"""

import numpy as np
import pandas as pd
import pytest

import glmmfast
from conftest import cbpp_fit, grouseticks_fit, postfit_reference

M1 = "TICKS ~ YEAR + (1 | LOCATION)"
M2 = "TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)"


def _newdata():
    return pd.DataFrame(postfit_reference()["newdata"])


@pytest.mark.parametrize("key, formula, rows, kwargs", [
    ("m1_link", M1, 4, {}),
    ("m1_response", M1, 4, {"type": "response"}),
    ("m1_link_newlevels", M1, 5, {"allow_new_levels": True}),
    ("m1_link_NA", M1, 5, {"re_form": float("nan")}),
    ("m1_response_0", M1, 5, {"re_form": "~0", "type": "response"}),
    ("m2_link_newlevels", M2, 5, {"allow_new_levels": True}),
    ("m2_link_loc", M2, 4, {"re_form": "~(1 | LOCATION)"}),
    ("m2_link_index", M2, 4, {"re_form": "~ (1 | INDEX)"}),
])
def test_predict_newdata_matches_lme4(key, formula, rows, kwargs):
    ref = np.array(postfit_reference()["predict"][key])
    got = grouseticks_fit(formula).predict(_newdata().iloc[:rows], **kwargs)
    scale = ref if kwargs.get("type") == "response" else 1.0
    np.testing.assert_allclose(got / scale, ref / scale, atol=2e-3)


def test_predict_cbpp_matches_lme4():
    ref = postfit_reference()
    nd = pd.DataFrame(ref["cbpp_newdata"])
    fit = cbpp_fit()
    np.testing.assert_allclose(fit.predict(nd, type="response"), ref["predict"]["cbpp_response"], rtol=2e-3)
    np.testing.assert_allclose(fit.predict(nd, re_form="~0"), ref["predict"]["cbpp_link_NA"], atol=1e-3)


def test_predict_on_fitted_rows_equals_linear_predictor(grouseticks):
    fit = grouseticks_fit(M2)
    np.testing.assert_allclose(fit.predict(), fit.linear_predictor(), atol=1e-12)
    np.testing.assert_allclose(fit.predict(type="response"), fit.fitted(), rtol=1e-12)
    # New data that are the fitted rows give the same answer through the stored encodings.
    np.testing.assert_allclose(fit.predict(grouseticks), fit.linear_predictor(), atol=1e-12)
    np.testing.assert_allclose(fit.predict(grouseticks, re_form="~0"), fit.model_matrix().to_numpy() @ fit.fixef,
                               atol=1e-12)


def test_new_levels_are_population_level():
    fit = grouseticks_fit(M1)
    nd = _newdata()
    allowed = fit.predict(nd, allow_new_levels=True)
    population = fit.predict(nd, re_form="~0")
    assert allowed[4] == pytest.approx(population[4], abs=1e-14)
    assert abs(allowed[0] - population[0]) > 0.1


def test_predict_errors():
    fit = grouseticks_fit(M1)
    nd = _newdata()
    with pytest.raises(glmmfast.DataError, match="new level '999'.*LOCATION"):
        fit.predict(nd)
    with pytest.raises(glmmfast.DataError, match="new level"):
        fit.predict(nd.assign(YEAR=["95", "96", "98", "96", "97"]), allow_new_levels=True)
    with pytest.raises(glmmfast.FormulaError, match="not a random-effects term"):
        fit.predict(nd.iloc[:4], re_form="~(1 | INDEX)")
    with pytest.raises(glmmfast.DataError, match="unknown column|LOCATION"):
        fit.predict(nd.drop(columns="LOCATION"))
    with pytest.raises(ValueError, match="type"):
        fit.predict(type="probability")
    with pytest.raises(glmmfast.DataError, match="missing"):
        fit.predict(nd.iloc[:4].assign(LOCATION=["1", None, "3", "4"]))


def test_predict_does_not_modify_newdata():
    nd = _newdata()
    before = nd.copy()
    grouseticks_fit(M1).predict(nd, allow_new_levels=True)
    pd.testing.assert_frame_equal(nd, before)


def test_residuals_and_condvar_on_every_term():
    fit = grouseticks_fit(M2)
    y = fit._design.y
    np.testing.assert_allclose(fit.residuals("response"), y - fit.fitted())
    re = fit.ranef(condvar=True)
    for g in ("LOCATION", "INDEX"):
        assert re[g].attrs["condsd"].shape == re[g].shape
        assert np.all(re[g].attrs["condsd"].to_numpy() > 0)


def test_offset_argument_needs_new_values_for_new_data(grouseticks):
    """An offset= argument belongs to the fitted rows: new data must bring their own."""
    rng = np.random.default_rng(4)
    expo = rng.uniform(0.5, 2.0, len(grouseticks))
    fit = glmmfast.glmer(M1, grouseticks, family="poisson", offset=np.log(expo))
    new = grouseticks.iloc[:6]
    with pytest.raises(glmmfast.DataError, match="pass offset= with one value per row of newdata"):
        fit.predict(new)
    with pytest.raises(glmmfast.DataError, match="pass offset="):
        fit.simulate(1, seed=1, newdata=new)
    with pytest.raises(glmmfast.DataError, match="6 finite numbers"):
        fit.predict(new, offset=np.ones(5))
    with pytest.raises(glmmfast.DataError, match="offset= is for new data"):
        fit.predict(offset=np.ones(len(grouseticks)))
    # the fitted rows, predicted as new data with their own offsets, give the fitted linear predictor
    np.testing.assert_allclose(fit.predict(new, offset=np.log(expo[:6])), fit.linear_predictor()[:6], rtol=1e-12)
    shifted = fit.predict(new, offset=np.log(expo[:6]) + 1.0)
    np.testing.assert_allclose(shifted - fit.linear_predictor()[:6], 1.0, rtol=1e-12)
    assert fit.simulate(2, seed=1, newdata=new, offset=np.log(expo[:6])).shape == (6, 2)
    # a model without an offset= argument predicts new data as before
    plain = grouseticks_fit()
    np.testing.assert_allclose(plain.predict(new), plain.linear_predictor()[:6], rtol=1e-12)


def test_predict_on_new_data_leaves_out_the_columns_the_fit_dropped_as_aliased(grouseticks):
    fit = glmmfast.glmer("TICKS ~ HEIGHT + cHEIGHT + (1 | LOCATION)", grouseticks, family="poisson")
    assert "cHEIGHT" not in fit.fixef.index
    np.testing.assert_allclose(fit.predict(grouseticks), fit.predict(), rtol=1e-12)
