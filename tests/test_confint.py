"""confint: Wald and profile against lme4 1.1-31; boot within Monte Carlo error of lme4's."""

import numpy as np
import pytest
from scipy import stats

from conftest import cbpp_fit, grouseticks_fit, postfit_reference


def _ref(key):
    r = postfit_reference()["confint"][key]
    return r["parm"], np.array(r["lower"], dtype=float), np.array(r["upper"], dtype=float)


@pytest.mark.parametrize("key, fit", [("m1_profile", grouseticks_fit), ("cbpp_profile", cbpp_fit)])
def test_profile_matches_lme4(key, fit):
    parm, lo, hi = _ref(key)
    ci = fit().confint("profile")
    assert list(ci.index) == parm
    assert list(ci.columns) == ["2.5 %", "97.5 %"]
    np.testing.assert_allclose(ci.iloc[:, 0], lo, atol=1e-3)
    np.testing.assert_allclose(ci.iloc[:, 1], hi, atol=1e-3)


def test_profile_vector_term_matches_lme4(cbpp):
    """Standard deviations and the correlation of (pnum | herd) profiled on lme4's scale.

    lme4's profile of the correlation (.sig02) never reaches the 95% cut-off:
    both limits are the bounds -1 and 1, as here.
    """
    import glmmfast

    parm, lo, hi = _ref("cbpp_slope_profile")
    data = cbpp.assign(pnum=cbpp["period"].cat.codes.astype(float) + 1 - 2.5)
    fit = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (pnum | herd)", data, family="binomial")
    ci = fit.confint("profile")
    assert list(ci.index) == parm
    np.testing.assert_allclose(ci.iloc[:, 0], lo, atol=1e-3)
    np.testing.assert_allclose(ci.iloc[:, 1], hi, atol=1e-3)


def test_wald_matches_lme4():
    parm, lo, hi = _ref("m1_wald")
    ci = grouseticks_fit().confint("Wald")
    assert list(ci.index) == parm
    assert np.isnan(ci.iloc[0]).all()
    # lme4 stops short on m1: its estimates differ by up to 1.3e-3 and its
    # finite-difference standard errors, taken at that point, by up to 1%.
    got_lo, got_hi = ci.iloc[1:, 0].to_numpy(), ci.iloc[1:, 1].to_numpy()
    np.testing.assert_allclose((got_lo + got_hi) / 2, (lo[1:] + hi[1:]) / 2, atol=2e-3)
    np.testing.assert_allclose(got_hi - got_lo, hi[1:] - lo[1:], rtol=2e-2)
    fit = grouseticks_fit()
    np.testing.assert_allclose(got_hi - got_lo, 2 * stats.norm.ppf(0.975) * fit.se, rtol=1e-12)


@pytest.mark.slow
def test_boot_within_monte_carlo_error():
    """Percentile limits vs lme4's (nsim = 2000): |difference| < 4 combined MC standard errors.

    MC SE of a p-quantile from n replicates: sqrt(p (1 - p) / n) / f(q_p), with
    the density f from a normal approximation of the replicates.
    """
    parm, lo, hi = _ref("m1_boot")
    n_lme4 = postfit_reference()["confint"]["m1_boot_nsim"]
    nsim = 200
    ci = grouseticks_fit().confint("boot", nsim=nsim, seed=2024, progress=False)
    boot = ci.attrs["bootstrap"]
    assert ci.attrs["n_failed"] == 0
    assert list(ci.index) == parm
    sd = boot.replicates.std().to_numpy()
    dens = stats.norm.pdf(stats.norm.ppf(0.025)) / sd
    se = np.sqrt(0.025 * 0.975 * (1 / nsim + 1 / n_lme4)) / dens
    assert np.all(np.abs(ci.iloc[:, 0].to_numpy() - lo) < 4 * se)
    assert np.all(np.abs(ci.iloc[:, 1].to_numpy() - hi) < 4 * se)


def test_bad_method():
    with pytest.raises(ValueError, match="method"):
        grouseticks_fit().confint("bca")
    with pytest.raises(ValueError, match="level"):
        grouseticks_fit().confint(level=95)
