"""glmmTMB's families beyond the exponential family: nbinom1 and the zero-truncated Poisson.

Their log densities against scipy.stats, their draws against their moments,
recovery of simulated parameters by glmer (each link), glmmTMB's names
(``family="nbinom2"`` estimates theta as glmer_nb does) and the responses
they refuse.  The fits against glmmTMB itself are in test_zero_inflation.py.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import glmmfast
from glmmfast import DataError, _core
from glmmfast.families import NBinom1, TruncatedPoisson


def test_nbinom1_log_density_is_scipys():
    y = np.array([0.0, 1.0, 3.0, 17.0, 0.0])
    mu = np.array([0.3, 2.0, 5.0, 9.5, 40.0])
    wt = np.array([1.0, 2.5, 1.0, 1.0, 0.5])
    for phi in (0.2, 1.0, 7.5):
        fam = NBinom1(phi)
        got = fam.log_density(y, np.log(mu), wt)
        # size k = mu / phi, success probability 1 / (1 + phi): Var = mu (1 + phi)
        want = wt * stats.nbinom.logpmf(y, mu / phi, 1 / (1 + phi))
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("y, mu, rtol", [(y, mu, 1e-12) for y in (0.0, 1.0, 7.0, 39.0) for mu in (1e-9, 0.3, 40.0, 1e8)]
                         + [(y, mu, 1e-10) for y in (40.0, 41.0, 250.0, 2.5) for mu in (0.3, 40.0)])
def test_nbinom1_log_density_and_mu_derivatives_are_mpmaths(y, mu, rtol):
    # counts below 40 take the sums over the count's shifts (nbinom1_terms.hpp), others the polygamma
    # functions: both against 40-digit loggamma and psi, from tiny to huge size k = mu / phi
    phi = 0.7
    fam = _core.Family("nbinom1", "identity")  # eta = mu: the eta-derivatives are those in mu
    fam.set_shape("phi", phi)
    args = (np.array([y]), np.array([mu]), np.ones(1))
    got = [fam.log_density(*args)[0], *(d[0] for d in fam.log_density_derivatives(*args)),
           fam.log_density_third_derivative(*args)[0]]
    with mpmath.workdps(40):
        k, yy, ph = mpmath.mpf(mu) / phi, mpmath.mpf(y), mpmath.mpf(phi)
        want = [mpmath.loggamma(yy + k) - mpmath.loggamma(k) - mpmath.loggamma(yy + 1) - k * mpmath.log1p(ph)
                + yy * (mpmath.log(ph) - mpmath.log1p(ph)),
                (mpmath.psi(0, yy + k) - mpmath.psi(0, k) - mpmath.log1p(ph)) / ph,
                (mpmath.psi(1, yy + k) - mpmath.psi(1, k)) / ph ** 2,
                (mpmath.psi(2, yy + k) - mpmath.psi(2, k)) / ph ** 3]
    np.testing.assert_allclose(got, [float(w) for w in want], rtol=rtol, atol=1e-300)


def test_truncated_poisson_log_density_is_scipys():
    y = np.array([1.0, 2.0, 5.0, 30.0])
    mu = np.array([0.01, 1.5, 4.0, 25.0])
    got = TruncatedPoisson().log_density(y, np.log(mu), np.ones(4))
    want = stats.poisson.logpmf(y, mu) - np.log(stats.poisson.sf(0, mu))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_truncated_nbinom2_log_density_is_scipys():
    y = np.array([1.0, 2.0, 5.0, 30.0])
    mu = np.array([0.05, 1.5, 4.0, 25.0])
    for theta in (0.4, 2.0, 50.0):
        got = _core.Family("truncated_nbinom2", "log", theta).log_density(y, np.log(mu), np.ones(4))
        size, prob = theta, theta / (theta + mu)
        want = stats.nbinom.logpmf(y, size, prob) - np.log(stats.nbinom.sf(0, size, prob))
        np.testing.assert_allclose(got, want, rtol=1e-11)


@pytest.mark.parametrize("name, parameter, value", [("nbinom1", "phi", 1.7), ("truncated_nbinom2", "theta", 2.5)])
def test_shape_derivatives_match_finite_differences(name, parameter, value):
    y = np.array([1.0, 2.0, 7.0]) if name.startswith("truncated") else np.array([0.0, 2.0, 7.0])
    eta, wt = np.log(np.array([0.5, 2.0, 5.0])), np.array([1.0, 2.5, 1.0])

    def family(v):
        f = _core.Family(name, "log")
        f.set_shape(parameter, v)
        return f

    d1, d2 = family(value).parameter_derivatives(parameter, y, eta, wt)
    h = 1e-5 * value
    up, down = family(value + h), family(value - h)
    np.testing.assert_allclose(d1, (up.log_density(y, eta, wt) - down.log_density(y, eta, wt)) / (2 * h), rtol=1e-6)
    g = [f.parameter_derivatives(parameter, y, eta, wt)[0] for f in (up, down)]
    np.testing.assert_allclose(d2, (g[0] - g[1]) / (2 * h), rtol=1e-6)


def test_truncated_poisson_at_tiny_means_keeps_full_precision():
    # log f(1) = log mu - mu - log(1 - e^-mu) = -mu / 2 + O(mu^2): log(1 - e^-mu) by log(-expm1(-mu)),
    # so the result is right to the rounding of log mu (~27.6 * 1e-16), not lost to 1 - e^-mu
    ld = TruncatedPoisson().log_density(np.array([1.0]), np.log(np.array([1e-12])), np.ones(1))
    assert ld[0] == pytest.approx(-0.5e-12, abs=1e-14)


@pytest.mark.parametrize("name, mu, var", [("nbinom1", 4.0, 4.0 * (1 + 1.7)), ("truncated_poisson", 0.6, None)])
def test_simulated_moments(name, mu, var):
    f = _core.Family(name, "log")
    if name == "nbinom1":
        f.set_shape("phi", 1.7)
    n = 400_000
    y = np.asarray(f.simulate(np.full(n, mu), np.ones(n), 1.0, 12))
    if var is None:  # truncated: E y = mu / (1 - e^-mu), Var from the untruncated moments
        q = -np.expm1(-mu)
        mean = mu / q
        var = (mu + mu**2) / q - mean**2
        assert y.min() >= 1
    else:
        mean = mu
    assert abs(y.mean() - mean) < 5 * np.sqrt(var / n)
    assert abs(y.var() - var) < 5 * np.sqrt(np.mean((y - y.mean()) ** 4) / n)


def _simulated(seed: int, family: str, link: str = "log", n_groups: int = 50, per_group: int = 30):
    """Counts with log mu = 0.8 + 0.5 x + b_g (sd 0.5), from nbinom1 (phi 1.5) or truncated Poisson."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.standard_normal(g.size)
    b = 0.5 * rng.standard_normal(n_groups)
    eta = 0.8 + 0.5 * x + b[g]
    mu = {"log": np.exp, "sqrt": np.square, "identity": lambda e: e}[link](eta if link == "log" else 1.5 + 0.3 * x
                                                                           + 0.2 * b[g])
    f = _core.Family(family, "log")
    if family == "nbinom1":
        f.set_shape("phi", 1.5)
    y = np.asarray(f.simulate(mu, np.ones(g.size), 1.0, seed))
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)})


@pytest.mark.parametrize("family", ["nbinom1", "truncated_poisson"])
def test_log_link_recovers_simulated_parameters(family):
    df = _simulated(5, family)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family=family, quiet=True)
    assert abs(fit.fixef["(Intercept)"] - 0.8) < 4 * fit.se["(Intercept)"]
    assert abs(fit.fixef["x"] - 0.5) < 4 * fit.se["x"]
    assert abs(fit.varcorr["sdcor"].iloc[0] - 0.5) < 0.2
    if family == "nbinom1":
        assert abs(fit.family_parameters["phi"] - 1.5) < 4 * fit.family_parameter_se["phi"]


@pytest.mark.parametrize("family", ["nbinom1", "truncated_poisson"])
@pytest.mark.parametrize("link", ["sqrt", "identity"])
def test_other_links_recover_simulated_parameters(family, link):
    # mu = g^-1(eta) on the link's scale: sqrt(mu) = 1.5 + 0.3 x + 0.2 b, or mu itself (positive here)
    df = _simulated(9, family, link)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family=NBinom1(link=link) if family == "nbinom1"
                         else TruncatedPoisson(link=link), quiet=True)
    assert abs(fit.fixef["(Intercept)"] - 1.5) < 4 * fit.se["(Intercept)"]
    assert abs(fit.fixef["x"] - 0.3) < 4 * fit.se["x"]


def test_nbinom2_by_name_is_glmer_nb():
    df = glmmfast.datasets.load("grouseticks")
    a = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="nbinom2")
    b = glmmfast.glmer_nb("TICKS ~ YEAR + (1 | LOCATION)", df)
    assert a.deviance == pytest.approx(b.deviance, abs=1e-6)
    assert a.family_parameters["theta"] == pytest.approx(b.nb_theta, rel=1e-5)


def test_count_families_refuse_what_they_cannot_take():
    df = pd.DataFrame({"y": [1.0, 2.5, 3.0, 1.0] * 5, "g": list("abcde") * 4})
    with pytest.raises(DataError, match="non-integer counts are not allowed for the nbinom1"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family="nbinom1")
    with pytest.raises(DataError, match="negative values are not allowed for the truncated_poisson"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df.assign(y=-df["y"].round()), family="truncated_poisson")


def test_zigamma_recovers_simulated_parameters():
    # log mu = 1 + 0.5 x + b_g (sd 0.4), Gamma shape 2 (phi = 0.5), a zero with probability 0.3
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(40), 25)
    x = rng.standard_normal(g.size)
    b = 0.4 * rng.standard_normal(40)
    mu = np.exp(1 + 0.5 * x + b[g])
    y = rng.gamma(2.0, mu / 2.0)
    y[rng.random(g.size) < 0.3] = 0
    df = pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)})
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family=glmmfast.families.Gamma(link="log"), ziformula="~1",
                         quiet=True)
    from glmmfast.fit._zero_inflation import tmb_family
    assert tmb_family("ziGamma", "log") == (glmmfast.families.Gamma(link="log"), False)
    se_zi = fit.coef_table("zi")["Std. Error"]
    assert abs(fit.fixef["x"] - 0.5) < 4 * fit.se["x"]
    assert abs(fit.fixef_zi["(Intercept)"] - np.log(0.3 / 0.7)) < 4 * se_zi["(Intercept)"]
    assert abs(fit.family_parameters["dispersion"] - 0.5) < 4 * fit.family_parameter_se["dispersion"]
    assert "Residual" not in fit.summary_text()
    with pytest.raises(DataError, match="non-positive values are not allowed for the Gamma"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family=glmmfast.families.Gamma(link="log"))
