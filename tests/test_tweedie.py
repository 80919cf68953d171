"""The Tweedie family (glmmTMB's tweedie, power 1 < p < 2): density, derivatives, simulation, fits.

The engine's log density (cpp/src/family/tweedie.cpp, the Dunn-Smyth series
of tweedie_series.cpp) against a brute-force sum of the compound
Poisson-Gamma mixture in mpmath at 50 digits, over a wide range of
(y, mu, phi, p) including p near 1 and 2 and tiny and huge y; the analytic
derivatives in phi and p against finite differences; simulated moments;
the fit of glmmTMB's reference case ``tweedie_ri`` (tests/data/
glmmtmb_reference.json), the power estimated jointly (its gradient against
differences of the deviance), and recovery of simulated parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath
import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import DataError, FamilyError, _core
from glmmfast.families import Tweedie

DATA = Path(__file__).parent / "data"
REFERENCE = {c["id"]: c for c in json.loads((DATA / "glmmtmb_reference.json").read_text())["cases"]}


def _engine(power: float):
    f = _core.Family("tweedie", "log", 1.0)
    f.set_shape("power", power)
    return f


def _mp_log_density(y, mu, phi, p) -> float:
    """log f by summing the mixture: N ~ Poisson(lambda), y | N ~ Gamma(N r, scale gamma), 50 digits."""
    with mpmath.workdps(50):
        return float(_mp_log_density_50(y, mu, phi, p))


def _mp_log_density_50(y, mu, phi, p):
    """_mp_log_density's value at 50 digits (an mpf; the arguments may be mpf), within mpmath.workdps(50)."""
    y, mu, phi, p = (mpmath.mpf(v) for v in (y, mu, phi, p))
    lam = mu ** (2 - p) / (phi * (2 - p))
    if y == 0:
        return -lam
    r, gam = (2 - p) / (p - 1), phi * (p - 1) * mu ** (p - 1)
    def term(j):
        return (-lam + j * mpmath.log(lam) - mpmath.loggamma(j + 1) + (j * r - 1) * mpmath.log(y) - y / gam
                - mpmath.loggamma(j * r) - j * r * mpmath.log(gam))
    # the terms are log-concave in j: sum outward from the largest until 1e-40 relative
    j0 = max(1, int(mpmath.nint(y ** (2 - p) / (phi * (2 - p)))))
    top = term(j0)
    total, j = mpmath.mpf(0), j0
    while True:
        t = term(j)
        total += mpmath.exp(t - top)
        if t < top - 92 and j > j0 + 5:
            break
        j += 1
    j = j0 - 1
    while j >= 1:
        t = term(j)
        total += mpmath.exp(t - top)
        if t < top - 92:
            break
        j -= 1
    return top + mpmath.log(total)


# (y, mu, phi, p): ordinary, p near 1 and 2, tiny and huge y, small and large phi
POINTS = [(1.5, 2.0, 1.0, 1.5), (0.0, 2.0, 1.0, 1.5), (0.2, 3.0, 0.7, 1.3), (7.0, 3.0, 0.7, 1.7),
          (1e-8, 1.0, 1.0, 1.5), (1e-3, 0.5, 2.0, 1.2), (250.0, 200.0, 1.5, 1.5), (3e4, 2.5e4, 0.5, 1.6),
          (2.0, 2.0, 1.0, 1.02), (2.0, 2.0, 1.0, 1.98), (0.5, 1.0, 0.05, 1.5), (40.0, 10.0, 20.0, 1.4),
          (1.0, 1.0, 1.0, 1.05), (3.0, 0.01, 1.0, 1.5), (0.01, 50.0, 1.0, 1.9), (12.0, 12.0, 0.01, 1.1)]


@pytest.mark.parametrize("y, mu, phi, p", POINTS)
def test_log_density_matches_a_brute_force_sum(y, mu, phi, p):
    got = _engine(p).log_density(np.array([y]), np.log([mu]), np.ones(1), phi)[0]
    expect = _mp_log_density(y, mu, phi, p)
    # log f = log a + (y theta - kappa) / phi: where the two cancel (small phi: both ~1e4, log f ~0.02)
    # double rounding of the terms bounds the absolute error, ~1e-15 of their size
    terms = abs(y * mu ** (1 - p) / (1 - p) - mu ** (2 - p) / (2 - p)) / phi
    assert got == pytest.approx(expect, rel=1e-12, abs=max(1e-12, 4e-15 * terms))


# (y, mu, phi, p) at the extremes of the series' window (tweedie_series.hpp): power near 1 (a narrow peak of the
# terms at a large j, summed term by term), power near 2 and y large (a peak of width sigma > 16 in j, summed as
# the integral by the trapezoid rule of step sigma / 4; the first just past that width), large phi (the peak at
# j = 1).  A window too narrow, a step too coarse or a peak misplaced moves log a by more than the tolerance.
EXTREME_POINTS = [(5.0, 5.0, 0.01, 1.001), (2.0, 2.0, 0.002, 1.01), (300.0, 300.0, 0.05, 1.5), (3.0, 3.0, 1.0, 1.999),
                  (1e6, 1e6, 1.0, 1.5), (1e5, 9e4, 0.3, 1.2), (1.0, 1.0, 100.0, 1.5), (50.0, 40.0, 1e3, 1.9)]


@pytest.mark.parametrize("y, mu, phi, p", EXTREME_POINTS)
def test_log_density_at_the_windows_extremes_matches_a_brute_force_sum(y, mu, phi, p):
    test_log_density_matches_a_brute_force_sum(y, mu, phi, p)


@pytest.mark.parametrize("y, mu, phi, p", [(300.0, 300.0, 0.05, 1.5), (3.0, 3.0, 1.0, 1.999), (1e6, 1e6, 1.0, 1.5)])
def test_parameter_derivatives_of_a_wide_peak_match_the_brute_force_sums(y, mu, phi, p):
    # the moments of j over the trapezoid rule's nodes against central differences of the 50-digit sum
    # (step 1e-15 relative: truncation ~1e-30, rounding ~1e-35; the second difference's 1e-12: ~1e-24, ~1e-26)
    engine = _engine(p)
    args = (np.array([y]), np.log([mu]), np.ones(1), phi)
    (d_phi,), (d2_phi,) = engine.parameter_derivatives("dispersion", *args)
    d_power = engine.parameter_derivatives("power", *args)[0][0]
    with mpmath.workdps(50):
        h, h2 = mpmath.mpf("1e-15"), mpmath.mpf("1e-12")

        def at_phi(s):
            return _mp_log_density_50(y, mu, phi * (1 + s), p)

        want_phi = (at_phi(h) - at_phi(-h)) / (2 * h * phi)
        want2_phi = (at_phi(h2) - 2 * at_phi(0) + at_phi(-h2)) / (h2 * phi) ** 2
        want_power = (_mp_log_density_50(y, mu, phi, p + h) - _mp_log_density_50(y, mu, phi, p - h)) / (2 * h)
    assert d_phi == pytest.approx(float(want_phi), rel=1e-9)
    assert d2_phi == pytest.approx(float(want2_phi), rel=1e-7)
    assert d_power == pytest.approx(float(want_power), rel=1e-8)


def test_zero_probability_is_exp_minus_lambda():
    mu, phi, p = np.array([0.3, 2.0, 9.0]), 1.3, 1.4
    got = _engine(p).log_density(np.zeros(3), np.log(mu), np.ones(3), phi)
    np.testing.assert_allclose(got, -mu ** (2 - p) / (phi * (2 - p)), rtol=1e-15)


def test_density_integrates_to_one():
    from scipy.integrate import quad

    mu, phi, p = 2.0, 1.2, 1.45
    f = _engine(p)
    mass = quad(lambda y: np.exp(f.log_density(np.array([y]), np.log([mu]), np.ones(1), phi)[0]), 0, 200,
                limit=400, points=[0.5, 2, 5])[0]
    p0 = np.exp(-mu ** (2 - p) / (phi * (2 - p)))
    assert mass + p0 == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("p", [1.05, 1.5, 1.95])
@pytest.mark.parametrize("parameter", ["dispersion", "power"])
def test_parameter_derivatives_match_finite_differences(p, parameter):
    y = np.array([0.0, 0.3, 1.5, 4.0, 30.0])
    eta, wt, phi = np.log([0.8, 2.0, 2.0, 5.0, 20.0]), np.array([1.0, 2.5, 1.0, 1.0, 1.0]), 0.9
    d1, d2 = _engine(p).parameter_derivatives(parameter, y, eta, wt, phi)
    h = 1e-5

    def at(s):
        if parameter == "dispersion":
            f, ph = _engine(p), phi + s * h
        else:
            f, ph = _engine(p + s * h), phi
        return f.log_density(y, eta, wt, ph), f.parameter_derivatives(parameter, y, eta, wt, ph)[0]

    (ld_up, g_up), (ld_down, g_down) = at(1), at(-1)
    np.testing.assert_allclose(d1, (ld_up - ld_down) / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d2, (g_up - g_down) / (2 * h), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mu, phi, p", [(2.0, 1.5, 1.5), (0.4, 0.8, 1.2), (6.0, 2.0, 1.8)])
def test_simulated_moments_and_zeros(mu, phi, p):
    n = 400_000
    y = _engine(p).simulate(np.full(n, mu), np.ones(n), phi, 20261203)
    var = phi * mu ** p
    assert abs(y.mean() - mu) < 5 * np.sqrt(var / n)
    assert abs(y.var() - var) < 5 * np.sqrt(np.mean((y - y.mean()) ** 4) / n)
    p0 = np.exp(-mu ** (2 - p) / (phi * (2 - p)))
    assert abs(np.mean(y == 0) - p0) < 5 * np.sqrt(p0 * (1 - p0) / n)
    assert y.min() >= 0


def test_power_outside_one_to_two_and_negative_responses_are_refused():
    with pytest.raises(FamilyError, match=r"\(1, 2\)"):
        Tweedie(power=2.0)
    df = pd.DataFrame({"y": [1.0, -0.5, 0.0, 2.0] * 5, "g": list("abcde") * 4})
    with pytest.raises(DataError, match="negative values are not allowed for the tweedie family"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family="tweedie")


def _reference_fit():
    c = REFERENCE["tweedie_ri"]
    df = pd.read_csv(DATA / "glmmtmb_tweedie.csv")
    return c, glmmfast.glmer(c["formula"], df, family="tweedie", quiet=True)


def test_standard_errors_match_glmmtmbs():
    # glmmTMB's SEs: fixef from vcov(); the power's on its logit(p - 1) scale ("Tweedie power" in
    # sd_full), the dispersion's on log phi ("d~(Intercept)"), here on the natural scales (delta method)
    c, fit = _reference_fit()
    for name, value in c["se"]["cond"].items():
        assert fit.se[name] == pytest.approx(value, rel=0.02), name
    p, phi = c["family_params"]["power"], c["sigma"]
    se = fit.family_parameter_se
    assert se["power"] == pytest.approx((p - 1) * (2 - p) * c["sd_full"]["Tweedie power"], rel=0.02)
    assert se["dispersion"] == pytest.approx(phi * c["sd_full"]["d~(Intercept)"], rel=0.02)
    assert fit.family.power == fit.family_parameters["power"]
    full = fit.vcov_full  # with the power's share: the joint model's covariance, as glmmTMB's
    for name in ("(Intercept)", "x", "d~(Intercept)", "Tweedie power"):
        assert np.sqrt(full.loc[name, name]) == pytest.approx(c["sd_full"][name], rel=0.02), name
    ref = c["vcov_full"]
    i, j = ref["names"].index("d~(Intercept)"), ref["names"].index("Tweedie power")
    assert full.loc["d~(Intercept)", "Tweedie power"] == pytest.approx(ref["matrix"][i][j], rel=0.05)
    assert fit.aic == pytest.approx(c["AIC"], abs=0.002)


def test_predict_and_simulate_use_the_fitted_power():
    c, fit = _reference_fit()
    np.testing.assert_allclose(fit.predict(type="response")[:10], c["predict"]["response"], rtol=2e-3)
    sims = fit.simulate(200, seed=5)
    assert sims.shape == (600, 200) and sims.min() >= 0
    # zeros at the rate the fitted model gives them: P(y = 0) = exp(-mu^(2-p) / (phi (2-p)))
    mu, phi, p = fit.fitted(), fit.family_parameters["dispersion"], fit.family_parameters["power"]
    p0 = np.exp(-mu ** (2 - p) / (phi * (2 - p)))
    assert abs((sims == 0).mean() - p0.mean()) < 5 * np.sqrt(0.25 / sims.size)


@pytest.mark.parametrize("seed, power, phi", [(1, 1.3, 0.8), (2, 1.6, 2.0)])
def test_recovers_simulated_parameters(seed, power, phi):
    # 40 groups x 40 rows, log mu = 0.5 + 0.4 x + u, sd(u) = 0.5: estimates within 4 SE of the truth
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(40), 40)
    x = rng.normal(size=g.size)
    mu = np.exp(0.5 + 0.4 * x + rng.normal(0, 0.5, 40)[g])
    y = _engine(power).simulate(mu, np.ones(g.size), phi, seed)
    df = pd.DataFrame({"y": y, "x": x, "g": g.astype(str)})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="tweedie", quiet=True)
    se = fit.family_parameter_se
    assert abs(fit.family_parameters["power"] - power) < 4 * se["power"]
    assert abs(fit.family_parameters["dispersion"] - phi) < 4 * se["dispersion"]
    assert abs(fit.fixef["x"] - 0.4) < 4 * fit.se["x"]
    assert 0.25 < fit.theta[0] < 0.9


@pytest.mark.parametrize("psi_offset", [0.0, 0.15])
def test_joint_gradient_in_the_power_matches_differences_of_the_deviance(psi_offset):
    # The joint objective's exact gradient in psi = logit(p - 1) (the engine's derivative in log p, chained
    # by d log p / d psi = (p - 1)(2 - p) / p) against Richardson-extrapolated central differences of the
    # Laplace deviance itself (the modes re-solved at each point), at the optimum and off it
    from glmmfast.fit._fit_state import joint_objective

    _, fit = _reference_fit()
    state = fit._state
    x = state.optimizer_point()
    x[-1] += psi_offset
    objective = joint_objective(state.engine(), state.family_parameter, 1)
    gradient = np.asarray(objective.gradient(x))

    def central(h):
        up, down = x.copy(), x.copy()
        up[-1] += h
        down[-1] -= h
        return (objective.evaluate(up) - objective.evaluate(down)) / (2 * h)

    h = 1e-3
    richardson = (4 * central(h / 2) - central(h)) / 3
    assert gradient[-1] == pytest.approx(richardson, rel=1e-5, abs=1e-6)
    if psi_offset:
        assert abs(gradient[-1]) > 1.0  # off the optimum the slope is far from 0


def test_joint_estimate_is_the_maximum_over_fixed_powers():
    # The joint fit reaches the likelihood's maximum in the power: fits with the power held (the user's
    # Tweedie(power=...), phi estimated) at the estimate give its deviance, and a step either side a larger one
    c, fit = _reference_fit()
    df = pd.read_csv(DATA / "glmmtmb_tweedie.csv")
    power = fit.family_parameters["power"]
    psi = np.log((power - 1) / (2 - power))
    held = {d: glmmfast.glmer(c["formula"], df, family=Tweedie(power=1 + 1 / (1 + np.exp(-(psi + d)))), quiet=True)
            for d in (-0.05, 0.0, 0.05)}
    assert held[0.0].deviance == pytest.approx(fit.deviance, rel=1e-9)
    assert "power" not in held[0.0].family_parameters  # held, not estimated
    assert min(held[-0.05].deviance, held[0.05].deviance) > fit.deviance + 1e-4


def test_a_power_at_its_limit_is_reported():
    # Poisson counts: the Tweedie likelihood keeps increasing as p -> 1 (point masses at the
    # integers), so the power stops at its search limit with a warning and no standard error
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(20), 30)
    y = rng.poisson(np.exp(1 + rng.normal(0, 0.3, 20)[g])).astype(float)
    with pytest.warns(UserWarning, match="power went to its limit"):
        fit = glmmfast.glmer("y ~ 1 + (1 | g)", pd.DataFrame({"y": y, "g": g.astype(str)}), family="tweedie")
    assert fit.family_parameters["power"] < 1 + 1e-4
    assert np.isnan(fit.family_parameter_se["power"])
