"""glmmTMB's count families genpois, compois and truncated_nbinom1 (cpp/src/family/genpois.cpp,
compois.cpp with compois_series.cpp, truncated_nbinom1.cpp).

Their log densities against independent formulas (scipy.stats for the
truncated NB1; Consul's generalised Poisson pmf and brute-force mpmath sums
of the Conway-Maxwell-Poisson series, with lambda solved for the mean, at
many (mu, nu) including extreme ones), the mean parameterisations glmmTMB
uses (sums over the pmf give mean mu and variance phi mu for genpois, mean
mu for compois), the eta and phi derivatives against finite differences at
several phi, draws against their moments, recovery of simulated parameters
by glmer for every link, and the responses they refuse.  The fits against
glmmTMB itself are in test_zero_inflation.py.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import glmmfast
from glmmfast import DataError, _core
from glmmfast.families import COMPois, GenPois, TruncatedNBinom1


def _family(name: str, phi: float, link: str = "log"):
    f = _core.Family(name, link)
    f.set_shape("phi", phi)
    return f


def _log_pmf(name: str, phi: float, y: np.ndarray, mu: float) -> np.ndarray:
    return _family(name, phi).log_density(y, np.full(y.size, np.log(mu)), np.ones(y.size))


# --- genpois ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("phi", [0.6, 1.0, 2.0, 9.0])
@pytest.mark.parametrize("mu", [0.02, 1.3, 7.0, 60.0])
def test_genpois_is_consuls_pmf_with_glmmtmbs_mean_and_variance(phi, mu):
    y = np.arange(0.0, 600.0)
    got = _log_pmf("genpois", phi, y, mu)
    theta, lam = mu / np.sqrt(phi), 1 - 1 / np.sqrt(phi)
    base = theta + lam * y
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(base > 0, np.log(theta) + (y - 1) * np.log(np.where(base > 0, base, 1.0)) - base
                        - np.array([float(mpmath.loggamma(v + 1)) for v in y]),
                        -np.inf)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12, atol=1e-12)
    assert np.all(got[~finite] == -np.inf)
    if phi >= 1:  # under-dispersion truncates the support, and the pmf is then only approximately normalised
        p = np.exp(got)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert (p * y).sum() == pytest.approx(mu, rel=1e-10)
        assert (p * (y - mu) ** 2).sum() == pytest.approx(phi * mu, rel=1e-9)


# --- compois ---------------------------------------------------------------------------------------------

def _mp_compois(mu: float, nu: float, ys):
    """log P(y) by brute-force mpmath sums: lambda solved for E y = mu, log Z summed to convergence."""
    mpmath.mp.dps = 40

    def log_terms(x):
        # enough terms past the mode lambda^(1/nu) that the rest is below 1e-40 of the sum
        top = int(float(mpmath.exp(x / nu))) + 60 + int(40 * float(mpmath.sqrt(mpmath.exp(x / nu) / nu + 1)))
        return [j * x - nu * mpmath.loggamma(j + 1) for j in range(top)]

    def moments(x):
        lt = log_terms(x)
        m = max(lt)
        w = [mpmath.exp(t - m) for t in lt]
        z = mpmath.fsum(w)
        return m + mpmath.log(z), mpmath.fsum(j * wj for j, wj in enumerate(w)) / z

    x = mpmath.findroot(lambda x: mpmath.log(moments(x)[1]) - mpmath.log(mu), nu * mpmath.log(mu + 0.5))
    log_z = moments(x)[0]
    return [float(y * x - nu * mpmath.loggamma(y + 1) - log_z) for y in ys]


MU_NU = [(mu, nu) for mu in (0.003, 0.4, 3.0, 25.0, 400.0) for nu in (0.2, 0.7, 1.0, 2.5, 8.0)]


@pytest.mark.parametrize("mu, nu", MU_NU)
def test_compois_log_density_is_the_brute_force_series(mu, nu):
    ys = np.unique(np.round([0, 1, 2, mu / 2, mu, mu + 3 * np.sqrt(mu / nu) + 1, 3 * mu + 10]))
    got = _log_pmf("compois", 1 / nu, ys, mu)
    np.testing.assert_allclose(got, _mp_compois(mu, nu, ys), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("mu, nu", [(0.05, 0.5), (2.0, 3.0), (9.0, 0.4), (150.0, 1.7), (1500.0, 0.8)])
def test_compois_mean_is_mu_and_variance_is_its_cumulant(mu, nu):
    sd = np.sqrt(mu / nu) + 1
    y = np.arange(0.0, np.ceil(mu + 60 * sd + 60))
    p = np.exp(_log_pmf("compois", 1 / nu, y, mu))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert (p * y).sum() == pytest.approx(mu, rel=1e-11)
    var = (p * (y - mu) ** 2).sum()
    assert COMPois(1 / nu).variance([mu])[0] == pytest.approx(var, rel=1e-9)


def test_compois_with_nu_one_is_the_poisson():
    y = np.arange(0.0, 40.0)
    for mu in (0.01, 1.0, 12.5):
        np.testing.assert_allclose(_log_pmf("compois", 1.0, y, mu), stats.poisson.logpmf(y, mu), rtol=1e-12,
                                   atol=1e-12)


# --- truncated_nbinom1 -----------------------------------------------------------------------------------

def test_truncated_nbinom1_log_density_is_scipys():
    y = np.array([1.0, 2.0, 5.0, 30.0])
    mu = np.array([0.05, 1.5, 4.0, 25.0])
    for phi in (0.3, 1.5, 20.0):
        got = TruncatedNBinom1(phi).log_density(y, np.log(mu), np.ones(4))
        size, prob = mu / phi, 1 / (1 + phi)
        want = stats.nbinom.logpmf(y, size, prob) - np.log(stats.nbinom.sf(0, size, prob))
        np.testing.assert_allclose(got, want, rtol=1e-11)


def test_truncated_nbinom1_at_tiny_means_keeps_full_precision():
    # as mu -> 0 (size k = mu / phi -> 0) the zero-truncated NB1 tends to the logarithmic series
    # distribution, P(y) = p^y / (y (-log(1 - p))) with p = phi / (1 + phi): 1 - P0 = O(mu) must not be lost
    y = np.array([1.0, 2.0, 6.0])
    ld = TruncatedNBinom1(1.5).log_density(y, np.log(np.full(3, 1e-12)), np.ones(3))
    p = 1.5 / 2.5
    np.testing.assert_allclose(ld, y * np.log(p) - np.log(y) - np.log(-np.log1p(-p)), rtol=1e-9)


# --- derivatives, draws, fits ----------------------------------------------------------------------------

FAMILIES = ["genpois", "compois", "truncated_nbinom1"]
PHIS = {"genpois": [0.7, 2.5], "compois": [0.3, 1.8], "truncated_nbinom1": [0.4, 3.0]}


def _responses(name):
    return np.array([1.0, 2.0, 7.0, 15.0]) if name.startswith("truncated") else np.array([0.0, 2.0, 7.0, 15.0])


@pytest.mark.parametrize("name", FAMILIES)
def test_eta_and_phi_derivatives_match_finite_differences(name):
    y, wt = _responses(name), np.array([1.0, 2.5, 1.0, 0.5])
    for link in _core.link_names(name):
        for phi in PHIS[name]:
            f = _family(name, phi, link)
            eta = f.linkfun(np.array([0.8, 2.0, 5.0, 12.0]))
            d1, d2 = f.log_density_derivatives(y, eta, wt, 1.0)
            h = 1e-5 * np.maximum(1.0, np.abs(eta))
            np.testing.assert_allclose(d1, (f.log_density(y, eta + h, wt) - f.log_density(y, eta - h, wt)) / (2 * h),
                                       rtol=1e-6, atol=1e-8)
            g = [f.log_density_derivatives(y, eta + s * h, wt, 1.0)[0] for s in (1, -1)]
            np.testing.assert_allclose(d2, (g[0] - g[1]) / (2 * h), rtol=1e-6, atol=1e-8)
            p1, p2 = f.parameter_derivatives("phi", y, eta, wt)
            hp = 1e-5 * phi
            up, down = _family(name, phi + hp, link), _family(name, phi - hp, link)
            np.testing.assert_allclose(p1, (up.log_density(y, eta, wt) - down.log_density(y, eta, wt)) / (2 * hp),
                                       rtol=1e-6, atol=1e-8)
            gp = [fam.parameter_derivatives("phi", y, eta, wt)[0] for fam in (up, down)]
            np.testing.assert_allclose(p2, (gp[0] - gp[1]) / (2 * hp), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", FAMILIES + ["nbinom1"])
def test_third_eta_derivative_matches_finite_differences(name):
    """d^3 log f / d eta^3 (genpois's and nbinom1's analytic l3, the others' central difference of the
    information) against central differences of the second derivative, at every link and phi."""
    y, wt = _responses(name), np.array([1.0, 2.5, 1.0, 0.5])
    for link in _core.link_names(name):
        for phi in PHIS.get(name, [0.6, 2.0]):
            f = _family(name, phi, link)
            eta = f.linkfun(np.array([0.8, 2.0, 5.0, 12.0]))
            d3 = f.log_density_third_derivative(y, eta, wt, 1.0)
            h = 1e-4 * np.maximum(1.0, np.abs(eta))
            g = [f.log_density_derivatives(y, eta + s * h, wt, 1.0)[1] for s in (1, -1)]
            np.testing.assert_allclose(d3, (g[0] - g[1]) / (2 * h), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", FAMILIES + ["nbinom1"])
def test_observation_terms_equal_the_separate_eta_derivatives(name):
    """unit_density_family.hpp's eta_terms (one pass for the score and information, PIRLS's) against
    eta_score and eta_information taken one at a time (log_density_derivatives), at every link and phi."""
    y, wt = _responses(name), np.array([1.0, 2.5, 1.0, 0.5])
    for link in _core.link_names(name):
        for phi in PHIS.get(name, [0.6, 2.0]):
            f = _family(name, phi, link)
            eta = f.linkfun(np.array([0.8, 2.0, 5.0, 12.0]))
            ld, score, information, fisher, _ = f.observation_terms(y, eta, wt)
            d1, d2 = f.log_density_derivatives(y, eta, wt, 1.0)
            np.testing.assert_allclose(score, d1, rtol=1e-14, atol=0)
            np.testing.assert_allclose(information, -d2, rtol=1e-14, atol=0)
            np.testing.assert_allclose(ld, f.log_density(y, eta, wt), rtol=1e-14, atol=0)
            assert np.all(fisher > 0)


@pytest.mark.parametrize("phi", [0.6, 2.5])
def test_genpois_log_density_is_the_same_at_every_link(phi):
    """The block log density takes log mu from the link's terms (the log link's: eta itself) and y = 0's
    log f = -mu / s without logs: at the same mu every link gives the per-observation function's value
    (the unit deviance's, std::log(mu))."""
    y = np.array([0.0, 0.0, 1.0, 2.0, 7.0, 30.0])
    mu = np.array([0.03, 4.0, 1.3, 2.2, 6.0, 25.0])
    ones = np.ones(y.size)
    want = -0.5 * _family("genpois", phi).dev_resid(y, mu, ones) + np.array(
        [0.0 if v == 0 else _log_pmf("genpois", phi, np.array([v]), v)[0] for v in y])
    np.testing.assert_allclose(want[y == 0], -mu[y == 0] / np.sqrt(phi), rtol=1e-14)
    for link in _core.link_names("genpois"):
        f = _family("genpois", phi, link)
        np.testing.assert_allclose(f.log_density(y, f.linkfun(mu), ones), want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name, mu, phi", [("genpois", 3.0, 2.5), ("compois", 4.0, 0.4), ("compois", 2.0, 2.0),
                                           ("truncated_nbinom1", 2.0, 1.5)])
def test_simulated_moments(name, mu, phi):
    f = _family(name, phi)
    n = 200_000
    y = np.asarray(f.simulate(np.full(n, mu), np.ones(n), 1.0, 12))
    grid = np.arange(1.0 if name.startswith("truncated") else 0.0, 400.0)
    p = np.exp(f.log_density(grid, np.full(grid.size, np.log(mu)), np.ones(grid.size)))
    mean, var = (p * grid).sum(), (p * grid**2).sum() - (p * grid).sum() ** 2
    if name == "genpois":
        assert (mean, var) == pytest.approx((mu, phi * mu), rel=1e-9)
    assert np.all(y == np.round(y)) and y.min() >= grid[0]
    assert abs(y.mean() - mean) < 5 * np.sqrt(var / n)
    assert abs(y.var() - var) < 5 * np.sqrt(np.mean((y - y.mean()) ** 4) / n)


TRUTH = {"genpois": 2.0, "compois": 0.5, "truncated_nbinom1": 1.5}


def _simulated(seed: int, name: str, link: str, n_groups: int = 40, per_group: int = 20):
    """Counts with g(mu) = b0 + b1 x + b_g (b_g sd 0.4 on the log scale's units), phi from TRUTH."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.standard_normal(g.size)
    b = 0.4 * rng.standard_normal(n_groups)
    coef = {"log": (1.0, 0.4, 1.0), "sqrt": (1.6, 0.3, 0.5), "identity": (3.0, 0.5, 1.0)}[link]
    eta = coef[0] + coef[1] * x + coef[2] * b[g]
    mu = {"log": np.exp, "sqrt": np.square, "identity": lambda e: np.maximum(e, 0.2)}[link](eta)
    y = np.asarray(_family(name, TRUTH[name]).simulate(mu, np.ones(g.size), 1.0, seed))
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)}), coef


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("link", ["log", "sqrt", "identity"])
def test_glmer_recovers_simulated_parameters(name, link):
    df, coef = _simulated(3, name, link)
    cls = {"genpois": GenPois, "compois": COMPois, "truncated_nbinom1": TruncatedNBinom1}[name]
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family=cls(link=link), quiet=True)
    assert abs(fit.fixef["(Intercept)"] - coef[0]) < 4 * fit.se["(Intercept)"]
    assert abs(fit.fixef["x"] - coef[1]) < 4 * fit.se["x"]
    assert abs(fit.family_parameters["phi"] - TRUTH[name]) < 4 * fit.family_parameter_se["phi"]
    if link == "log" and name != "compois":  # (compois by name: test_zero_inflation's compois_ri)
        by_name = glmmfast.glmer("y ~ x + (1 | g)", df, family=name, quiet=True)
        assert by_name.deviance == pytest.approx(fit.deviance, abs=1e-6)


@pytest.mark.parametrize("name", FAMILIES)
def test_count_families_refuse_what_they_cannot_take(name):
    df = pd.DataFrame({"y": [1.0, 2.5, 3.0, 1.0] * 5, "g": list("abcde") * 4})
    with pytest.raises(DataError, match=f"non-integer counts are not allowed for the {name}"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family=name)
    with pytest.raises(DataError, match=f"negative values are not allowed for the {name}"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df.assign(y=-df["y"].round()), family=name)


def test_truncated_nbinom1_needs_a_ziformula_for_zeros():
    df = pd.DataFrame({"y": [0.0, 2.0, 3.0, 1.0] * 5, "g": list("abcde") * 4})
    with pytest.raises(DataError, match="zero counts are not allowed for the truncated_nbinom1 family"):
        glmmfast.glmer("y ~ 1 + (1 | g)", df, family="truncated_nbinom1")


def test_simulate_and_refit_a_compois_fit():
    df, _ = _simulated(8, "compois", "log", n_groups=20, per_group=10)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="compois", quiet=True)
    sims = fit.simulate(3, seed=2)
    assert sims.shape == (len(df), 3) and np.all(sims == np.round(sims)) and sims.min() >= 0
    out = fit.refit(sims[:, 0])
    assert np.isfinite(out.deviance) and out.family_parameters["phi"] > 0
