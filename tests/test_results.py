"""The glmer result object: accessors, residuals, ranef/coef, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import glmmfast
from conftest import fit_case


def test_ranef_and_coef_shapes_and_values():
    fit = fit_case("gt_m4")  # two terms on LOCATION: merged side by side as lme4
    re = fit.ranef()
    assert list(re) == ["LOCATION"]
    assert list(re["LOCATION"].columns) == ["(Intercept)", "YEAR95", "YEAR96", "YEAR97"]
    assert re["LOCATION"].shape == (63, 4)
    sd = re["LOCATION"].attrs["condsd"]
    assert sd.shape == (63, 4) and np.all(sd.to_numpy() > 0)
    coef = fit.coef()["LOCATION"]
    np.testing.assert_allclose(coef["YEAR96"], fit.fixef["YEAR96"] + re["LOCATION"]["YEAR96"])
    np.testing.assert_allclose(coef["(Intercept)"], fit.fixef["(Intercept)"] + re["LOCATION"]["(Intercept)"])


def test_ranef_without_condvar_leaves_the_conditional_variances_uncomputed(grouseticks):
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION) + (0 + YEAR | LOCATION)", grouseticks, family="poisson")
    plain = fit.ranef(condvar=False)["LOCATION"]
    assert "condsd" not in plain.attrs and "condvar" not in plain.attrs
    assert fit._ranef_cache is None  # Var(b | y), a selected inverse on a large model, is not computed
    full = fit.ranef()["LOCATION"]
    pd.testing.assert_frame_equal(plain, full)  # same modes (attrs are not compared)
    assert full.attrs["condsd"].shape == (63, 4)


def test_fitted_and_residual_types_are_consistent():
    fit = fit_case("cbpp1")
    mu = fit.fitted()
    d = fit._design
    np.testing.assert_allclose(fit.residuals("response"), d.y - mu)
    pearson = fit.residuals("pearson")
    np.testing.assert_allclose(pearson, (d.y - mu) * np.sqrt(d.weights / (mu * (1 - mu))))
    dev = fit.residuals()
    assert np.all(np.sign(dev) == np.sign(d.y - mu))
    # The Laplace deviance = sum of squared deviance residuals + ||u||^2 + log|L|^2 + constants,
    # so the conditional deviance cannot exceed it here.
    assert np.sum(dev**2) < fit.deviance
    with pytest.raises(ValueError, match="unknown residual type"):
        fit.residuals("raw")


def test_linear_predictor_is_x_beta_plus_z_b():
    fit = fit_case("gt_m1")
    d = fit._design
    b = np.concatenate([df.to_numpy().reshape(-1) for df in fit.ranef(condvar=False).values()])
    np.testing.assert_allclose(fit.linear_predictor(), d.X @ fit.fixef.to_numpy() + d.Z @ b, atol=1e-12)


def test_pickle_round_trip_rebuilds_the_engine():
    fit = fit_case("gt_m2")
    again = pickle.loads(pickle.dumps(fit))
    assert again.deviance == fit.deviance
    pd.testing.assert_series_equal(again.fixef, fit.fixef)
    np.testing.assert_allclose(again.fitted(), fit.fitted(), rtol=1e-10)
    assert again.summary_text() == fit.summary_text()


def test_repr_and_caller_data_untouched(grouseticks):
    before = grouseticks.copy(deep=True)
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    pd.testing.assert_frame_equal(grouseticks, before)
    # repr is lme4's print(fit) (issue 18; it was "<GlmerResult poisson(log) '...'>")
    assert repr(fit).startswith("Generalized linear mixed model fit by maximum likelihood")
    assert "Formula: TICKS ~ YEAR + (1 | LOCATION)" in repr(fit)
    assert fit.optinfo.evaluations > 0 and fit.optinfo.pirls_iterations > 0
    assert set(fit.optinfo.seconds) >= {"design", "optimize", "derivatives"}


def test_probit_and_cloglog_links_fit(cbpp):
    # Same data, different links: same number of parameters, deviance close to logit's.
    f = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    dev = {link: glmmfast.glmer(f, cbpp, family=glmmfast.families.Binomial(link=link)).deviance
           for link in ("logit", "probit", "cloglog")}
    assert all(np.isfinite(v) for v in dev.values())
    assert max(dev.values()) - min(dev.values()) < 2.0


def test_nagq0_fast_fit_is_close_to_laplace(grouseticks):
    fast = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson", nAGQ=0)
    full = fit_case("gt_m1")
    # nAGQ = 0 optimises a restricted problem (beta from PIRLS), so its
    # Laplace deviance cannot be below the full optimum.
    assert fast.deviance >= full.deviance - 1e-6
    assert fast.nAGQ == 0 and fast.converged


def test_a_glmm_without_fixed_effects_has_empty_standard_errors(grouseticks):
    """No fixed effects (``0 +``): vcov is 0 x 0 and se empty, as lme4's vcov; the checks still run (the
    positive-definiteness test of an empty block used to raise on numpy's empty minimum)."""
    fit = glmmfast.glmer("TICKS ~ 0 + (1 | LOCATION)", grouseticks, family="poisson")
    assert fit.vcov.shape == (0, 0)
    assert fit.se.size == 0
    assert fit.converged and fit.messages == []
    assert fit.optinfo.stages[-1]["kind"] == "hessian"


def test_inverse_on_determined_directions():
    # A Hessian flat to rounding along (0, 0, 1, 1) / sqrt(2): coordinates 2 and 3 undetermined (NaN), the
    # others' block of the inverse from the remaining eigenpairs; definite or clearly indefinite: the inverse.
    from glmmfast.results._results import _inverse_on_determined_directions

    rng = np.random.default_rng(3)
    flat = np.array([0.0, 0.0, 1.0, 1.0]) / np.sqrt(2.0)
    rest = np.linalg.qr(np.column_stack([flat, rng.normal(size=(4, 3))]))[0][:, 1:]
    lam = np.array([1.0, 2.0, 3.0])
    for tiny in (1e-13, -1e-13):
        H = (rest * lam) @ rest.T + tiny * np.outer(flat, flat)
        inverse, undetermined = _inverse_on_determined_directions(H)
        assert undetermined.tolist() == [False, False, True, True]
        assert np.isnan(inverse[2:]).all() and np.isnan(inverse[:, 2:]).all()
        np.testing.assert_allclose(inverse[:2, :2], ((rest / lam) @ rest.T)[:2, :2], rtol=1e-12)
    for eigenvalue in (0.5, -0.5):
        H = (rest * lam) @ rest.T + eigenvalue * np.outer(flat, flat)
        inverse, undetermined = _inverse_on_determined_directions(H)
        assert not undetermined.any()
        np.testing.assert_allclose(inverse, np.linalg.inv(H), rtol=1e-12)
