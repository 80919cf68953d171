"""confint and bootstrap of the models only glmmTMB fits: the zero-inflation coefficients and the family parameter.

Wald intervals against glmmTMB 1.1.5's ``confint(fit, method = "Wald",
full = TRUE)`` (tests/data/glmmtmb_confint_reference.{R,json}): rows
``zi.<name>`` and ``sigma`` (glmmTMB's sigma(): theta for nbinom2, phi for
nbinom1 and tweedie, sqrt(phi) for the Gamma, its interval exp(log sigma
+- z se)); the conditional rows keep lme4's names.  The estimates agree with
glmmTMB's to 0.05 SE and the SEs to 2% (tests/test_zero_inflation.py), so
the limits to 0.1 SE.  The parametric bootstrap simulates the zero part and
the dispersion and re-estimates them: on a well-identified model its
replicates' SDs are near the Wald SEs, and its percentile intervals hold
the estimates.  Dispersion models (``dispformula = ~ x``) have ``disp.<name>``
rows, Wald and profile, against glmmTMB's (tests/data/
glmmtmb_zire_inference_reference.{R,json}); glmmTMB's REML fit of one has
Wald rows only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from test_zero_inflation import fit_case

DATA = Path(__file__).parent / "data"
CONFINT = json.loads((DATA / "glmmtmb_confint_reference.json").read_text())["cases"]
#: glmmTMB's Wald and profile intervals of dispersion models (and the zi random-effects case)
ZIRE_INFERENCE = json.loads((DATA / "glmmtmb_zire_inference_reference.json").read_text())["cases"]


@pytest.mark.parametrize("cid", sorted(CONFINT))
def test_wald_intervals_match_glmmtmbs(cid):
    ref = CONFINT[cid]
    ci = fit_case(cid).confint(method="Wald")
    assert list(ci.columns) == ["2.5 %", "97.5 %"]
    z = 1.959963984540054
    for row, lo, hi in zip(ref["rows"], ref["lower"], ref["upper"]):
        if row.startswith("cond.Std.Dev"):
            continue  # lme4's Wald rows for the variance parameters are NaN
        name = row[len("cond."):] if row.startswith("cond.") else row
        got = ci.loc[name].to_numpy()
        if name == "sigma":  # a Wald interval on the log scale
            got, lo, hi = np.log(got), np.log(lo), np.log(hi)
        se = (hi - lo) / (2 * z)
        np.testing.assert_allclose(got, [lo, hi], atol=0.1 * se, rtol=0, err_msg=f"{cid} {row}")
    expected = [r[len("cond."):] if r.startswith("cond.") else r for r in ref["rows"]
                if not r.startswith("cond.Std.Dev")]
    extra = ["power"] if cid == "tweedie_ri" else []  # glmmTMB 1.1.5 does not list the power
    assert [n for n in ci.index if not n.startswith(".sig")] == expected + extra


def test_tweedie_power_interval_is_symmetric_on_its_logit_scale():
    fit = fit_case("tweedie_ri")
    lo, hi = fit.confint().loc["power"]
    p = fit.family_parameters["power"]
    logit = lambda v: np.log((v - 1) / (2 - v))  # noqa: E731
    assert logit(p) - logit(lo) == pytest.approx(logit(hi) - logit(p), rel=1e-10)
    se_psi = np.sqrt(fit.vcov_full.loc["Tweedie power", "Tweedie power"])
    assert logit(hi) - logit(p) == pytest.approx(1.959963984540054 * se_psi, rel=1e-10)


def test_bootstrap_simulates_and_reestimates_the_zero_part_and_sigma():
    # zigamma_ri is well identified (600 rows, 31% zeros): the replicates' SDs are near the Wald SEs
    # (100 replicates: an SD's own sampling error is ~7%, so within 30%), their means near the
    # estimates (within 4 SE / sqrt(100)); lme4's rows keep their names, glmmTMB's follow.
    fit = fit_case("zigamma_ri")
    boot = fit.bootstrap(100, seed=20261203, n_jobs=2, progress=False)
    assert boot.n_failed == 0
    assert list(boot.t0.index) == [".sig01", "(Intercept)", "x", "zi.(Intercept)", "sigma"]
    phi = fit.family_parameters["dispersion"]
    se = {"(Intercept)": fit.se["(Intercept)"], "x": fit.se["x"],
          "zi.(Intercept)": fit.coef_table("zi").loc["(Intercept)", "Std. Error"],
          "sigma": 0.5 * fit.family_parameter_se["dispersion"] / np.sqrt(phi)}  # sigma = sqrt(phi)
    assert boot.t0["sigma"] == pytest.approx(np.sqrt(phi), rel=1e-12)
    reps = boot.replicates
    for name, s in se.items():
        assert reps[name].std() == pytest.approx(s, rel=0.3), name
        assert abs(reps[name].mean() - boot.t0[name]) < 4 * s / np.sqrt(len(reps)), name
    ci = fit.confint(method="boot", boot=boot)
    assert list(ci.index) == list(boot.t0.index)
    assert np.all((ci.iloc[:, 0] < boot.t0) & (boot.t0 < ci.iloc[:, 1]))


def test_bootstrap_of_a_tweedie_fit_reestimates_the_power():
    fit = fit_case("tweedie_ri")
    boot = fit.bootstrap(8, seed=1, n_jobs=1, progress=False)
    assert boot.n_failed == 0 and list(boot.t0.index) == [".sig01", "(Intercept)", "x", "sigma", "power"]
    assert boot.t0["sigma"] == fit.sigma == fit.family_parameters["dispersion"]
    assert boot.t0["power"] == fit.family_parameters["power"]
    # every replicate's power its own estimate, in (1, 2), around the fit's (SE ~0.02)
    powers = boot.replicates["power"].to_numpy()
    assert np.all((powers > 1) & (powers < 2)) and np.unique(powers).size == powers.size
    assert abs(np.median(powers) - fit.family_parameters["power"]) < 0.1


def assert_profile_matches(ci, ref: dict, rows: dict, tolerance_se: float = 0.02) -> None:
    """``ci`` (this package's profile intervals) against glmmTMB's (``ref``: rows, lower, upper on glmmTMB's
    internal scales), ``rows`` mapping glmmTMB's row to (this package's row, the map of its values to glmmTMB's
    scale, monotone); within ``tolerance_se`` SE, SE the reference interval's half width / z.  Rows where
    glmmTMB's back-spline failed (NA) are skipped."""
    for row, lo, hi in zip(ref["rows"], ref["lower"], ref["upper"]):
        if lo in (None, "NA") or hi in (None, "NA"):
            continue
        name, to_glmmtmb = rows[row]
        got = np.sort(to_glmmtmb(ci.loc[name].to_numpy()))
        se = (hi - lo) / (2 * 1.959963984540054)
        np.testing.assert_allclose(got, [lo, hi], atol=tolerance_se * se, rtol=0, err_msg=row)


def test_profile_intervals_match_glmmtmbs():
    # glmmTMB profiles on its internal scales: zi~ coefficients, d~(Intercept) = log shape = -2 log
    # sigma (Gamma), theta_1|g.1 = log sd; mapped to this package's rows.  glmmTMB interpolates its
    # profile by splines: limits agree to 0.02 SE.
    ref = CONFINT["zigamma_ri"]["profile"]
    fit = fit_case("zigamma_ri")
    ci = fit.confint(method="profile")
    assert list(ci.index) == [".sig01", "(Intercept)", "x", "zi.(Intercept)", "sigma"]
    # this package's row and the map of its values to glmmTMB's scale (monotone)
    rows = {"(Intercept)": ("(Intercept)", lambda v: v), "x": ("x", lambda v: v),
            "zi~(Intercept)": ("zi.(Intercept)", lambda v: v),
            "d~(Intercept)": ("sigma", lambda v: -2 * np.log(v)), "theta_1|g.1": (".sig01", np.log)}
    assert_profile_matches(ci, ref, rows)
    # the engine is back at the optimum
    assert fit._engine().deviance_at(fit.theta, fit.fixef.to_numpy()) == pytest.approx(fit.deviance, abs=1e-6)


@pytest.mark.parametrize("cid", ["disp_gauss_x", "disp_nb2_x"])
def test_dispersion_model_rows_match_glmmtmbs(cid):
    # glmmTMB's confint(fit) lists the dispersion model's coefficients as disp.<name>: Wald (estimate +- z SE;
    # estimates within 0.05 SE and SEs within 2% of glmmTMB's, tests/test_dispformula.py, so 0.1 SE) and
    # profile (d~<name> on glmmTMB's scale, the log dispersion's coefficients: 0.02 SE as above), in the
    # optimiser's order (after the zero-inflation rows, before a scalar family parameter)
    from test_dispformula import fit_case as fit_dispersion_case

    ref = ZIRE_INFERENCE[cid]
    fit = fit_dispersion_case(cid)
    wald = fit.confint()
    for row, lo, hi in zip(ref["wald"]["rows"], ref["wald"]["lower"], ref["wald"]["upper"]):
        if row.startswith("cond.Std.Dev"):
            continue  # lme4's Wald rows for the variance parameters are NaN
        name = row[len("cond."):] if row.startswith("cond.") else row
        se = (hi - lo) / (2 * 1.959963984540054)
        np.testing.assert_allclose(wald.loc[name].to_numpy(), [lo, hi], atol=0.1 * se, rtol=0, err_msg=row)
    assert list(wald.index) == [".sig01", "(Intercept)", "x", "disp.(Intercept)", "disp.x"]
    profile = fit.confint(method="profile")
    assert list(profile.index) == list(wald.index)
    rows = {"(Intercept)": ("(Intercept)", lambda v: v), "x": ("x", lambda v: v),
            "d~(Intercept)": ("disp.(Intercept)", lambda v: v), "d~x": ("disp.x", lambda v: v),
            "theta_1|g.1": (".sig01", np.log)}
    assert_profile_matches(profile, ref["profile"], rows)


def test_t_dispersion_model_profiles_df_in_its_own_row():
    # with a dispersion model the t's df is still one number: its row after the disp.<name> rows, its
    # profile interval holding the estimate, on the df scale (the optimiser's log df mapped back)
    from test_dispformula import fit_case as fit_dispersion_case

    fit = fit_dispersion_case("disp_t_x")
    ci = fit.confint(method="profile")
    assert list(ci.index)[-3:] == ["disp.(Intercept)", "disp.x", "df"]
    lo, hi = ci.loc["df"]
    assert lo < fit.family_parameters["df"] < hi
    wald = fit.confint()
    assert list(wald.index) == list(ci.index)
    assert wald.loc["disp.x", "2.5 %"] < fit.fixef_disp["x"] < wald.loc["disp.x", "97.5 %"]


def test_profile_of_a_reml_dispersion_fit_is_refused_clearly():
    import glmmfast
    from glmmfast import ArgumentError
    from test_zero_inflation import REFERENCE, load

    c = REFERENCE["disp_gauss_x_reml"]
    fit = glmmfast.glmer(c["formula"], load(c["dataset"]), family="gaussian", dispformula=c["dispformula"],
                         REML=True, quiet=True)
    assert list(fit.confint().index) == [".sig01", "(Intercept)", "x", "disp.(Intercept)", "disp.x"]
    with pytest.raises(ArgumentError, match="REML fit of a dispersion model"):
        fit.confint(method="profile")


def test_bootstrap_of_a_gamma_glmm_reestimates_its_dispersion():
    # an lme4-family Gamma fit (no ziformula): lme4's statistic, the responses drawn with the fitted
    # phi and refitted with phi estimated (held at the engine's default it would bias every refit)
    import glmmfast
    from test_zero_inflation import load

    df = load("zigamma")
    fit = glmmfast.glmer("y ~ x + (1 | g)", df[df.y > 0].reset_index(drop=True),
                         family=glmmfast.families.Gamma(link="log"), quiet=True)
    boot = fit.bootstrap(40, seed=3, n_jobs=1, progress=False)
    assert boot.n_failed == 0 and list(boot.t0.index) == [".sig01", "(Intercept)", "x"]
    for name in ("(Intercept)", "x"):
        assert abs(boot.replicates[name].mean() - boot.t0[name]) < 4 * fit.se[name] / np.sqrt(40), name
        assert boot.replicates[name].std() == pytest.approx(fit.se[name], rel=0.45), name
