"""Inference for fits with random effects in the ziformula: profile intervals, conditional variances, re_form.

References: tests/data/glmmtmb_zire_inference_reference.{R,json} (glmmTMB
1.1.5 on the ``sal_zip_zire`` case of glmmtmb_reference.json: ZIP on
Salamanders, ``zi = ~ mined + (1 | site)``):

- ``confint(method="profile")`` against glmmTMB's profile intervals, on
  glmmTMB's scales (log sd for the standard deviations).  glmmTMB
  interpolates 8 profile points a side by an interpolating spline and reads
  the crossing off its inverse; this package finds the crossing itself (Brent
  on the profile).  The profiles themselves agree: this package's profiled
  -2 log L at glmmTMB's focal values equals glmmTMB's to 2e-3.  So the limits
  differ by glmmTMB's interpolation error, largest in a skewed tail where its
  points are sparse: 0.023 SE at zi~minedno's lower limit (points 0.5 SE
  apart), under 0.02 SE elsewhere (and on test_confint_tmb.py's zigamma
  case).  Tolerance 0.03 SE (SE = the interval's half width / z), about
  1e-3 of the limits' own size here.
- ``ranef(condvar=True)`` of both components against glmmTMB's
  ``ranef(fit, condVar = TRUE)`` (TMB's sdreport, parameter uncertainty
  included): to 3%, the agreement of the standard errors the variances are
  built from (2% in test_zi_random_effects.py) plus the conditional part.
- ``predict(re_form=...)`` keeping some terms: glmmTMB 1.1.5 has no partial
  ``re.form``; checked against the linear predictors assembled from the fixed
  effects and ``ranef`` by hand, on a simulated fit with two conditional terms.
- ``simulate(re_form=...)`` keeping some terms (lme4's ``simulate(re.form=)``:
  the kept terms at their modes, the others drawn anew), by simulation
  moments: each row's mean over many draws against its expectation over the
  drawn terms (Gauss-Hermite quadrature for the zero part's).
- ``bootstrap`` on threads, a concurrent.futures executor and Dask: the same
  replicates whatever runs them, each the refit of its own draw;
  ``confint(method="boot")`` their percentiles.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import ArgumentError, FormulaError

from test_zero_inflation import fit_case, load

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "glmmtmb_zire_inference_reference.json").read_text())["cases"]
Z95 = 1.959963984540054


def _two_term_fit():
    """A ZIP with (1 | g) + (1 | h) in the conditional part and (1 | g) in the zero part (simulated)."""
    rng = np.random.default_rng(21)
    g, h = rng.integers(0, 25, 900), rng.integers(0, 12, 900)
    x, z = rng.standard_normal(900), rng.standard_normal(900)
    mu = np.exp(0.4 + 0.6 * x + 0.5 * rng.standard_normal(25)[g] + 0.4 * rng.standard_normal(12)[h])
    p = 1 / (1 + np.exp(-(-0.6 + 0.8 * z + 0.7 * rng.standard_normal(25)[g])))
    y = np.where(rng.random(900) < p, 0, rng.poisson(mu))
    df = pd.DataFrame({"y": y, "x": x, "z": z, "g": pd.Categorical(g), "h": pd.Categorical(h)})
    return df, glmmfast.glmer("y ~ x + (1 | g) + (1 | h)", df, family="poisson", ziformula="~ z + (1 | g)",
                              quiet=True)


def _modes_by_row(df: pd.DataFrame, fit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's conditional modes in :func:`_two_term_fit`: (1 | g) and (1 | h) conditional, (1 | g) zero part."""
    re_c, re_z = fit.ranef("cond", condvar=False), fit.ranef("zi", condvar=False)
    return (re_c["g"]["(Intercept)"].to_numpy()[df["g"].cat.codes],
            re_c["h"]["(Intercept)"].to_numpy()[df["h"].cat.codes],
            re_z["g"]["(Intercept)"].to_numpy()[df["g"].cat.codes])


def _fixed_parts(df: pd.DataFrame, fit) -> tuple[np.ndarray, np.ndarray]:
    """The conditional and zero-inflation predictors' fixed parts in :func:`_two_term_fit`."""
    return (fit.fixef["(Intercept)"] + fit.fixef["x"] * df["x"].to_numpy(),
            fit.fixef_zi["(Intercept)"] + fit.fixef_zi["z"] * df["z"].to_numpy())


def test_predict_re_form_keeps_the_named_terms_in_each_component():
    df, fit = _two_term_fit()
    b_g, b_h, c_g = _modes_by_row(df, fit)
    eta0, zeta0 = _fixed_parts(df, fit)
    np.testing.assert_allclose(fit.predict(), eta0 + b_g + b_h, atol=1e-10)
    # one formula over both components: (1 | h) is only conditional; (1 | g) in both
    np.testing.assert_allclose(fit.predict(re_form="~ (1 | h)"), eta0 + b_h, atol=1e-10)
    np.testing.assert_allclose(fit.predict(type="zlink", re_form="~ (1 | h)"), zeta0, atol=1e-10)
    np.testing.assert_allclose(fit.predict(re_form="~ (1 | g)"), eta0 + b_g, atol=1e-10)
    np.testing.assert_allclose(fit.predict(type="zlink", re_form="~ (1 | g)"), zeta0 + c_g, atol=1e-10)
    # one re_form per component
    both = {"cond": "~ (1 | h)", "zi": "~0"}
    np.testing.assert_allclose(fit.predict(re_form=both), eta0 + b_h, atol=1e-10)
    np.testing.assert_allclose(fit.predict(type="zlink", re_form=both), zeta0, atol=1e-10)
    np.testing.assert_allclose(fit.predict(type="zlink", re_form={"cond": "~0"}), zeta0 + c_g, atol=1e-10)
    # the response combines both: (1 - p) mu
    p = 1 / (1 + np.exp(-zeta0))
    np.testing.assert_allclose(fit.predict(type="response", re_form=both), (1 - p) * np.exp(eta0 + b_h), rtol=1e-10)
    # new data: the same terms kept
    np.testing.assert_allclose(fit.predict(df.iloc[:7], re_form="~ (1 | h)"), (eta0 + b_h)[:7], atol=1e-10)
    with pytest.raises(FormulaError, match=r"\(1 \| k\) is not a random-effects term"):
        fit.predict(re_form="~ (1 | k)")
    with pytest.raises(ArgumentError, match="components are 'cond' and 'zi'"):
        fit.predict(re_form={"disp": "~0"})


#: glmmTMB's profile rows -> (this package's row, the map of its values to glmmTMB's scale, monotone)
_IDENTITY = lambda v: v  # noqa: E731
_SAL_ROWS = {**{n: (n, _IDENTITY) for n in ["(Intercept)", "sppPR", "sppDM", "sppEC-A", "sppEC-L", "sppDES-L",
                                            "sppDF", "minedno"]},
             "zi~(Intercept)": ("zi.(Intercept)", _IDENTITY), "zi~minedno": ("zi.minedno", _IDENTITY),
             "theta_1|site.1": (".sig01", np.log), "zi~theta_1|site.1": ("zi..sig01", np.log)}


@pytest.mark.slow
def test_profile_intervals_match_glmmtmbs():
    from test_confint_tmb import assert_profile_matches

    ref = REFERENCE["sal_zip_zire"]
    fit = fit_case("sal_zip_zire")
    ci = fit.confint(method="profile")
    assert list(ci.index) == list(fit.confint().index)
    assert sorted(_SAL_ROWS) == sorted(ref["profile"]["rows"])
    assert_profile_matches(ci, ref["profile"], _SAL_ROWS, tolerance_se=0.03)
    # every interval holds its estimate; the standard deviations' are positive
    estimates = np.concatenate([fit.varcorr["cond"]["sdcor"], fit.varcorr["zi"]["sdcor"], fit.fixef, fit.fixef_zi])
    assert np.all((ci.iloc[:, 0] < estimates) & (estimates < ci.iloc[:, 1]))
    assert ci.iloc[:2, 0].min() > 0


def test_profiled_deviance_at_glmmtmbs_points_is_glmmtmbs():
    # glmmTMB's profile points of both standard deviations (log sd) and of zi~minedno (its skewed lower
    # tail): this package's -2 log L minimised over every other parameter with that one held at glmmTMB's
    # focal value rises as glmmTMB's (2 x its value, the rise in -log L), to 2e-3 (the optimum's target)
    from glmmfast.inference._confint import _Profiler, profile_target

    ref = REFERENCE["sal_zip_zire"]["profile_points"]
    fit = fit_case("sal_zip_zire")
    prof = _Profiler(profile_target(fit))
    coordinate = {"theta_1|site.1": (0, np.exp), "zi~theta_1|site.1": (1, np.exp), "zi~minedno": (11, _IDENTITY)}
    checked = 0
    for par, focal, value in zip(ref["par"], ref["focal"], ref["value"]):
        if par not in coordinate or value is None or value > 3.4:  # inside glmmTMB's 0.99 range
            continue
        if par == "zi~minedno" and focal > -1.0:
            continue  # its lower tail only
        j, to_ours = coordinate[par]
        rise = prof.deviance(j, to_ours(focal)) - fit.deviance
        assert rise == pytest.approx(2 * value, abs=2e-3), (par, focal)
        checked += 1
    assert checked >= 20


def test_conditional_variances_match_glmmtmbs():
    ref = REFERENCE["sal_zip_zire"]["ranef"]
    fit = fit_case("sal_zip_zire")
    for part in ("cond", "zi"):
        re = fit.ranef(part)["site"]
        assert list(re.index) == ref[part]["levels"]
        np.testing.assert_allclose(re["(Intercept)"], ref[part]["mode"], atol=5e-3)
        cv = re.attrs["condvar"][0]
        assert cv.shape == (23, 1, 1)
        np.testing.assert_allclose(cv[:, 0, 0], ref[part]["condVar"], rtol=0.03, err_msg=part)
        np.testing.assert_allclose(re.attrs["condsd"]["(Intercept)"], np.sqrt(cv[:, 0, 0]), rtol=1e-12)
    assert "condvar" not in fit.ranef("zi", condvar=False)["site"].attrs


def test_conditional_variances_include_the_parameters_uncertainty():
    # without the parameters' uncertainty (A^{-1} alone, lme4's condVar) every variance is smaller, and the
    # difference is J Cov J' >= 0 (TMB's sdreport): checked against the engine's own blocks
    from glmmfast.fit._zi_random_effects import zi_random_effects_engine

    fit = fit_case("sal_zip_zire")
    state = fit._state
    _, model = zi_random_effects_engine(state.design, state.family_parameter, state.beta_zi)
    model.deviance_at(state.theta, state.beta)
    for t, part in ((0, "cond"), (1, "zi")):
        given = np.array(model.cond_var(t))[:, 0]
        total = fit.ranef(part)["site"].attrs["condvar"][0][:, 0, 0]
        assert np.all(total > given) and np.all(given > 0), part


def _logistic_mean(zeta: np.ndarray, sd: float) -> np.ndarray:
    """E[logistic(zeta + c)], c ~ N(0, sd^2), by Gauss-Hermite quadrature (40 nodes)."""
    nodes, w = np.polynomial.hermite_e.hermegauss(40)
    return (1 / (1 + np.exp(-(zeta[:, None] + sd * nodes)))) @ (w / w.sum())


def test_simulate_re_form_draws_only_the_terms_it_drops():
    # each row's mean over 3000 draws against its expectation with the kept terms at their modes and the
    # dropped ones integrated out: a term held that should be drawn (or the reverse) moves a row's mean by
    # a factor exp(b -+ sd^2 / 2), tens of standard errors here
    df, fit = _two_term_fit()
    b_g, b_h, c_g = _modes_by_row(df, fit)
    sd_g, sd_h = (float(fit.varcorr["cond"].set_index("grp").loc[g, "sdcor"]) for g in ("g", "h"))
    sd_zi = float(fit.varcorr["zi"]["sdcor"].iloc[0])
    eta0, zeta0 = _fixed_parts(df, fit)
    expected = {
        # (1 | h) kept in the conditional part (the only part with it); (1 | g) drawn in both parts
        "~ (1 | h)": (1 - _logistic_mean(zeta0, sd_zi)) * np.exp(eta0 + b_h + sd_g**2 / 2),
        # (1 | g) kept in both parts; (1 | h) drawn
        "~ (1 | g)": (1 - 1 / (1 + np.exp(-(zeta0 + c_g)))) * np.exp(eta0 + b_g + sd_h**2 / 2),
        # per component: every conditional term kept, the zero part's drawn
        "cond kept": (1 - _logistic_mean(zeta0, sd_zi)) * np.exp(eta0 + b_g + b_h),
        # the conditional part drawn, the zero part's kept (a component left out keeps its terms)
        "zi kept": (1 - 1 / (1 + np.exp(-(zeta0 + c_g)))) * np.exp(eta0 + (sd_g**2 + sd_h**2) / 2),
    }
    forms = {"~ (1 | h)": "~ (1 | h)", "~ (1 | g)": "~ (1 | g)", "cond kept": {"cond": None, "zi": "~0"},
             "zi kept": {"cond": "~0"}}
    nsim = 3000
    for key, form in forms.items():
        y = fit.simulate(nsim, seed=8, re_form=form)
        z = (y.mean(axis=1) - expected[key]) / np.sqrt(y.var(axis=1) / nsim)
        assert np.abs(z).max() < 5.0, (key, np.abs(z).max())
        np.testing.assert_array_equal(y[:, :5], fit.simulate(nsim, seed=8, re_form=form)[:, :5])
    # None and "~0" are the previous behaviour: all held, all drawn
    y_all = fit.simulate(nsim, seed=8, re_form=None)
    p = 1 / (1 + np.exp(-(zeta0 + c_g)))
    z = (y_all.mean(axis=1) - (1 - p) * np.exp(eta0 + b_g + b_h)) / np.sqrt(y_all.var(axis=1) / nsim)
    assert np.abs(z).max() < 5.0
    with pytest.raises(FormulaError, match=r"\(1 \| k\) is not a random-effects term"):
        fit.simulate(1, re_form="~ (1 | k)")


NBOOT = 4


@pytest.fixture(scope="module")
def serial_boot():
    return fit_case("sal_zip_zire").bootstrap(NBOOT, seed=9, n_jobs=1, progress=False)


def test_bootstrap_replicate_is_the_refit_of_its_own_draw(serial_boot):
    from glmmfast.results._bootstrap import default_statistic

    fit = fit_case("sal_zip_zire")
    assert list(serial_boot.replicates.columns) == list(fit.confint().index)
    ss = np.random.SeedSequence(9).spawn(NBOOT)[2]
    again = fit.refit(fit.simulate(1, seed=np.random.default_rng(ss))[:, 0])
    np.testing.assert_allclose(serial_boot.replicates.iloc[2], default_statistic(again._state, True), rtol=1e-12)


def test_bootstrap_is_the_same_in_threads_and_on_executors(serial_boot):
    fit = fit_case("sal_zip_zire")
    threads = fit.bootstrap(NBOOT, seed=9, n_jobs=2, progress=False)
    np.testing.assert_array_equal(threads.replicates.to_numpy(), serial_boot.replicates.to_numpy())
    with cf.ThreadPoolExecutor(2) as ex:
        pooled = fit.bootstrap(NBOOT, seed=9, executor=ex, progress=False)
    np.testing.assert_array_equal(pooled.replicates.to_numpy(), serial_boot.replicates.to_numpy())
    # what a process pool or a Dask worker receives: the pickled job
    from glmmfast.results._bootstrap import ZiRandomEffectsJob, run_chunk

    job = pickle.loads(pickle.dumps(ZiRandomEffectsJob(fit)))
    seeds = np.random.SeedSequence(9).spawn(NBOOT)
    (i, values, err), = run_chunk(job, [1], [seeds[1]])
    assert i == 1 and err is None
    np.testing.assert_array_equal(values, serial_boot.replicates.iloc[1].to_numpy())


def test_bootstrap_on_dask(serial_boot):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        res = fit_case("sal_zip_zire").bootstrap(NBOOT, seed=9, executor=client, progress=False)
    np.testing.assert_array_equal(res.replicates.to_numpy(), serial_boot.replicates.to_numpy())


def test_confint_boot_is_the_bootstraps_percentiles(serial_boot):
    fit = fit_case("sal_zip_zire")
    ci = fit.confint(method="boot", boot=serial_boot)
    assert list(ci.index) == list(fit.confint().index)
    q = np.nanquantile(serial_boot.replicates.to_numpy(), [0.025, 0.975], axis=0)
    np.testing.assert_allclose(ci.to_numpy(), q.T, rtol=1e-12)
    assert ci.attrs["n_failed"] == 0
    again = fit.confint(method="boot", nsim=NBOOT, seed=9, n_jobs=2, progress=False, level=0.9)
    q90 = np.nanquantile(serial_boot.replicates.to_numpy(), [0.05, 0.95], axis=0)
    np.testing.assert_allclose(again.to_numpy(), q90.T, rtol=1e-12)
    assert list(again.columns) == ["5 %", "95 %"]
