"""Tests for glmmfast.fit._agq and the engine's agq.cpp: nAGQ = 0 and adaptive
Gauss-Hermite quadrature (nAGQ > 1) against lme4 1.1-31.

Reference fits: cbpp25 in lme4_reference.json, the rest in lme4_agq.json
(with the R code that made them).  Targets as for Laplace fits: -2 log L no
more than 0.002 above lme4's, fixed effects within 0.05 standard errors.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

import numpy as np
import pytest

import glmmfast
from conftest import DATA, assert_same_printout, fit_spec, reference_cases
from glmmfast.fit import _fit_state
from glmmfast.fit._agq import gauss_hermite_rule, omitted_m2ll
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import engine_model

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@lru_cache(maxsize=None)
def _agq_file() -> dict:
    return json.loads((DATA / "lme4_agq.json").read_text())


def _cases() -> dict:
    cases = dict(_agq_file()["cases"])
    cases["cbpp25"] = reference_cases()["cbpp25"]
    return cases


AGQ_CASES = sorted(k for k, v in _cases().items() if v["case"]["nAGQ"] > 1)
FAST_CASES = sorted(k for k, v in _cases().items() if v["case"]["nAGQ"] == 0)


@lru_cache(maxsize=None)
def _fit(case_id: str):
    return fit_spec(_cases()[case_id]["case"])


def _values(d: dict) -> np.ndarray:
    return np.array(list(d.values()), dtype=float)


def _cbpp_engine(cbpp, family=None):
    design = model_design_for(CBPP, cbpp, family or glmmfast.families.Binomial(), random=True)
    return design, engine_model(design)


def _lme4_cbpp25_point():
    ref = reference_cases()["cbpp25"]
    return _values(ref["theta"]), _values(ref["fixef"])


# -- the Gauss-Hermite rule ------------------------------------------------------

def _normal_moment(m: int) -> float:
    """E Z^m for Z ~ N(0, 1): 0 for odd m, (m - 1)!! for even m."""
    return 0.0 if m % 2 else float(math.prod(range(m - 1, 0, -2)))


@pytest.mark.parametrize("k", [1, 2, 3, 6, 9, 25])
def test_rule_integrates_polynomials_up_to_degree_2k_minus_1(k):
    z, w = gauss_hermite_rule(k)
    assert z.shape == w.shape == (k,)
    for m in range(2 * k):
        # rounding error scale: the sum of the absolute terms
        scale = np.sum(w * np.abs(z) ** m)
        assert abs(np.sum(w * z**m) - _normal_moment(m)) <= 1e-12 * scale, m
    # ... and no further: degree 2k is not exact.
    assert abs(np.sum(w * z ** (2 * k)) - _normal_moment(2 * k)) > 0.5


@pytest.mark.parametrize("k", [2, 10, 25, 60, 100])
def test_rule_matches_numpy_hermegauss_with_full_relative_accuracy(k):
    z, w = gauss_hermite_rule(k)
    z_np, w_np = np.polynomial.hermite_e.hermegauss(k)
    np.testing.assert_allclose(z, z_np, rtol=0, atol=1e-12)
    # relative accuracy even for the tiny weights of the outer nodes
    np.testing.assert_allclose(w, w_np / np.sqrt(2 * np.pi), rtol=1e-12)
    assert np.all(np.diff(z) > 0)


@pytest.mark.parametrize("k", [0, -1, 101])
def test_rule_rejects_impossible_sizes(k):
    with pytest.raises(ValueError, match="between 1 and 100"):
        gauss_hermite_rule(k)


# -- the AGQ deviance --------------------------------------------------------------

def test_agq_deviance_at_lme4_estimates_equals_lme4(cbpp):
    # The deviance function itself, independent of the optimiser: at lme4's
    # cbpp25 estimates, lme4's -2 log L plus what lme4 leaves out.
    design, model = _cbpp_engine(cbpp)
    theta, beta = _lme4_cbpp25_point()
    full = model.agq_deviance_at(theta, beta, 25)
    assert full - omitted_m2ll(design, 25) == pytest.approx(reference_cases()["cbpp25"]["deviance_m2ll"], abs=1e-8)


def test_omitted_constant_is_the_saturated_m2ll_r_computes(cbpp):
    design, _ = _cbpp_engine(cbpp)
    assert omitted_m2ll(design, 25) == pytest.approx(_agq_file()["saturated_m2ll"]["cbpp"], rel=1e-12)
    assert omitted_m2ll(design, 1) == 0.0 and omitted_m2ll(design, 0) == 0.0


def test_one_node_is_the_laplace_deviance(cbpp):
    _, model = _cbpp_engine(cbpp)
    theta, beta = _lme4_cbpp25_point()
    laplace = model.deviance_at(theta, beta)
    # same state: identical; a fresh evaluation: PIRLS restarts warm, so to its tolerance
    assert model.agq_deviance(1) == laplace
    assert model.agq_deviance_at(theta, beta, 1) == pytest.approx(laplace, abs=1e-9)


def test_deviance_converges_as_nodes_increase(cbpp):
    _, model = _cbpp_engine(cbpp)
    theta, beta = _lme4_cbpp25_point()
    model.deviance_at(theta, beta)
    dev = {k: model.agq_deviance(k) for k in (1, 3, 9, 25, 50)}
    assert abs(dev[9] - dev[25]) < 1e-5
    assert abs(dev[25] - dev[50]) < 1e-9
    assert abs(dev[1] - dev[25]) > 0.05  # the Laplace approximation is not exact here
    assert abs(dev[3] - dev[25]) > abs(dev[9] - dev[25])


def test_agq_deviance_of_a_fit_with_vector_term_is_refused_by_the_engine(grouseticks):
    design = model_design_for("TICKS ~ YEAR + (YEAR | LOCATION)", grouseticks,
                              glmmfast.families.Poisson(), random=True)
    model = engine_model(design)
    model.deviance_at(np.asarray(model.initial_theta()), np.zeros(3))
    with pytest.raises(ValueError, match="single, scalar"):
        model.agq_deviance(5)


# -- fits against lme4 ---------------------------------------------------------------

@pytest.mark.parametrize("case_id", AGQ_CASES)
def test_agq_fit_reaches_lme4_optimum(case_id):
    ref = _cases()[case_id]
    fit = _fit(case_id)
    assert fit.nAGQ == ref["case"]["nAGQ"]
    assert fit.deviance <= ref["deviance_m2ll"] + 0.002
    se = _values(ref["se"])
    assert np.all(np.abs(fit.fixef.to_numpy() - _values(ref["fixef"])) <= 0.05 * se)
    np.testing.assert_allclose(fit.theta, _values(ref["theta"]), rtol=1e-3)
    assert fit.converged and not fit.messages


@pytest.mark.parametrize("case_id", AGQ_CASES)
def test_agq_standard_errors_from_the_agq_hessian(case_id):
    ref = _cases()[case_id]
    np.testing.assert_allclose(_fit(case_id).se.to_numpy(), _values(ref["se"]), rtol=2e-3)


def test_agq_fit_reports_lme4_scale_and_keeps_the_complete_m2ll():
    fit = _fit("cbpp25")
    npar = fit.theta.size + fit.fixef.size
    assert fit.loglik == pytest.approx(-fit.deviance / 2)
    assert fit.aic == pytest.approx(fit.deviance + 2 * npar)
    laplace = _fit_laplace_cbpp()
    # On the complete scale AGQ and Laplace are comparable (and close here).
    assert abs(fit.deviance + fit.m2ll_omitted - laplace.deviance) < 0.2
    assert laplace.m2ll_omitted == 0.0


@lru_cache(maxsize=None)
def _fit_laplace_cbpp():
    return glmmfast.glmer(CBPP, glmmfast.datasets.load("cbpp"), family="binomial")


def test_agq_summary_matches_lme4(cbpp):
    df = cbpp.copy()
    df.attrs["name"] = "df"
    fit = glmmfast.glmer(CBPP, df, family="binomial", nAGQ=25)
    assert_same_printout(fit.summary_text(), reference_cases()["cbpp25"]["summary_text"])


@pytest.mark.parametrize("case_id", FAST_CASES)
def test_fast_fit_matches_lme4_nagq0(case_id):
    ref = _cases()[case_id]
    fit = _fit(case_id)
    assert fit.nAGQ == 0
    assert fit.deviance <= ref["deviance_m2ll"] + 0.002
    se = _values(ref["se"])
    assert np.all(np.abs(fit.fixef.to_numpy() - _values(ref["fixef"])) <= 0.05 * se)
    # lme4 takes nAGQ = 0 standard errors from R_X, not a Hessian, and runs
    # no derivative checks (the estimates are not the Laplace optimum).
    np.testing.assert_allclose(fit.se.to_numpy(), se, rtol=1e-3)
    assert not fit.messages


# -- errors -----------------------------------------------------------------------------

@pytest.fixture
def no_engine(monkeypatch):
    """Fail if a fit reaches the C++ engine (errors must come first)."""
    def refuse(design):
        raise AssertionError("the engine was built")
    monkeypatch.setattr(_fit_state, "engine_model", refuse)


@pytest.mark.parametrize("formula", [
    "TICKS ~ YEAR + (YEAR | LOCATION)",
    "TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)",
    "TICKS ~ YEAR + (1 | LOCATION) + (0 + YEAR | LOCATION)",
])
def test_agq_needs_a_single_scalar_term(grouseticks, no_engine, formula):
    with pytest.raises(glmmfast.FormulaError, match="single, scalar random-effects term"):
        glmmfast.glmer(formula, grouseticks, family="poisson", nAGQ=5)


def test_agq_refuses_families_with_dispersion(grouseticks, no_engine):
    with pytest.raises(glmmfast.FamilyError, match="dispersion"):
        glmmfast.glmer("HEIGHT ~ YEAR + (1 | LOCATION)", grouseticks,  # positive: gaussian(log) needs it
                       family=glmmfast.families.Gaussian(link="log"), nAGQ=3)


@pytest.mark.parametrize("nagq", [-1, 101, 2.5, True, "25"])
def test_nagq_must_be_an_integer_from_0_to_100(grouseticks, no_engine, nagq):
    with pytest.raises(ValueError, match="nAGQ must be an integer from 0 to 100"):
        glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson", nAGQ=nagq)


def test_agq_fit_pickles_and_rebuilds_its_engine():
    import pickle

    fit = _fit("cbpp25")
    back = pickle.loads(pickle.dumps(fit))
    assert back.deviance == fit.deviance and back.m2ll_omitted == fit.m2ll_omitted
    np.testing.assert_allclose(back.fitted(), fit.fitted(), rtol=1e-9)
    np.testing.assert_allclose(back.ranef()["herd"].to_numpy(), fit.ranef()["herd"].to_numpy(), rtol=1e-8)
    # the joint stage (the standard errors' "hessian" stage may follow it)
    assert [s["name"] for s in fit.optinfo.stages if s["kind"] == "stage 2"] == ["theta and beta (AGQ, nAGQ = 25)"]


def test_agq_conditional_modes_match_lme4():
    ref = reference_cases()["cbpp25"]["ranef"]
    frame = _fit("cbpp25").ranef_frame()
    np.testing.assert_allclose(frame["condval"], ref["condval"], atol=1e-4)
    np.testing.assert_allclose(frame["condsd"], ref["condsd"], atol=1e-4)
