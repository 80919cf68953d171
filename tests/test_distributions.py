"""The engine's distributions and links as objects (cpp/src/family/: distribution.hpp, link.hpp, registry.cpp).

For every family x link: the first and second derivatives of the log
density in eta and in each family parameter (the dispersion phi, the
negative binomial's theta) against central finite differences of the log
density itself; simulated responses against the mean and the variance
function (phi V(mu) / w); and the names: the registry is the one list of
families and links, which glmmfast.families takes its links from, and
unknown names give the existing error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

from glmmfast import _core
from glmmfast import families as F
from glmmfast._errors import FamilyError

NB_THETA = 2.5
DISPERSION = 0.7
CLASSES = {"poisson": F.Poisson, "binomial": F.Binomial, "gaussian": F.Gaussian, "Gamma": F.Gamma,
           "inverse.gaussian": F.InverseGaussian, "negative.binomial": F.NegativeBinomial, "nbinom1": F.NBinom1,
           "truncated_poisson": F.TruncatedPoisson, "truncated_nbinom2": F.TruncatedNBinom2, "beta": F.Beta,
           "betabinomial": F.BetaBinomial, "t": F.StudentT, "truncated_nbinom1": F.TruncatedNBinom1,
           "genpois": F.GenPois, "compois": F.COMPois, "tweedie": F.Tweedie}
CASES = [(fam, link) for fam in _core.family_names() for link in _core.link_names(fam)]
IDS = [f"{fam}-{link}" for fam, link in CASES]

# Means inside every link's domain, responses and prior weights per distribution
# (binomial: proportions of `weight` trials).
MEANS = {"binomial": [0.2, 0.5, 0.7], "beta": [0.2, 0.5, 0.7], "betabinomial": [0.2, 0.5, 0.7]}
RESPONSES = {
    "poisson": ([0.0, 1.0, 3.0], [1.0, 2.5, 1.0]),
    "negative.binomial": ([0.0, 1.0, 3.0], [1.0, 2.5, 1.0]),
    "binomial": ([0.0, 0.3, 1.0], [10.0, 10.0, 4.0]),
    "gaussian": ([-1.0, 0.5, 3.0], [1.0, 2.5, 1.0]),
    "Gamma": ([0.3, 1.5, 4.0], [1.0, 2.5, 1.0]),
    "inverse.gaussian": ([0.3, 1.5, 4.0], [1.0, 2.5, 1.0]),
    "nbinom1": ([0.0, 1.0, 3.0], [1.0, 2.5, 1.0]),
    "truncated_poisson": ([1.0, 2.0, 4.0], [1.0, 2.5, 1.0]),
    "truncated_nbinom2": ([1.0, 2.0, 4.0], [1.0, 2.5, 1.0]),
    "beta": ([0.05, 0.3, 0.9], [1.0, 2.5, 1.0]),
    "betabinomial": ([0.0, 0.3, 1.0], [10.0, 10.0, 4.0]),
    "t": ([-1.0, 0.5, 14.0], [1.0, 2.5, 1.0]),  # 14: where the t's log density is convex in mu
    "truncated_nbinom1": ([1.0, 2.0, 4.0], [1.0, 2.5, 1.0]),
    "genpois": ([0.0, 1.0, 3.0], [1.0, 2.5, 1.0]),
    "compois": ([0.0, 1.0, 3.0], [1.0, 2.5, 1.0]),
    "tweedie": ([0.0, 1.5, 4.0], [1.0, 2.5, 1.0]),
}


def _family(fam: str, link: str, theta: float = NB_THETA):
    return _core.Family(fam, link, theta)


def _point(fam: str, link: str):
    """(y, eta, wt) at means 0.5, 2 and 5 (probabilities 0.2, 0.5, 0.7)."""
    y, wt = (np.array(a) for a in RESPONSES[fam])
    eta = _family(fam, link).linkfun(np.array(MEANS.get(fam, [0.5, 2.0, 5.0])))
    return y, eta, wt


@pytest.mark.parametrize("fam, link", CASES, ids=IDS)
def test_eta_derivatives_match_finite_differences(fam, link):
    f = _family(fam, link)
    y, eta, wt = _point(fam, link)
    d1, d2 = f.log_density_derivatives(y, eta, wt, DISPERSION)
    h = 1e-5 * np.maximum(1.0, np.abs(eta))
    up, down = f.log_density(y, eta + h, wt, DISPERSION), f.log_density(y, eta - h, wt, DISPERSION)
    np.testing.assert_allclose(d1, (up - down) / (2 * h), rtol=1e-6, atol=1e-7)
    g_up = f.log_density_derivatives(y, eta + h, wt, DISPERSION)[0]
    g_down = f.log_density_derivatives(y, eta - h, wt, DISPERSION)[0]
    np.testing.assert_allclose(d2, (g_up - g_down) / (2 * h), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fam, link", CASES, ids=IDS)
def test_third_eta_derivative_matches_finite_differences(fam, link):
    """d^3 log f / d eta^3 (Distribution::eta_information_deriv, the exact Laplace gradient's)
    against central differences of the second derivative."""
    f = _family(fam, link)
    y, eta, wt = _point(fam, link)
    d3 = f.log_density_third_derivative(y, eta, wt, DISPERSION)
    h = 1e-5 * np.maximum(1.0, np.abs(eta))
    d2_up = f.log_density_derivatives(y, eta + h, wt, DISPERSION)[1]
    d2_down = f.log_density_derivatives(y, eta - h, wt, DISPERSION)[1]
    np.testing.assert_allclose(d3, (d2_up - d2_down) / (2 * h), rtol=1e-6, atol=1e-7)


DISPERSION_FAMILIES = ("gaussian", "Gamma", "inverse.gaussian", "tweedie")


@pytest.mark.parametrize("fam, link", [c for c in CASES if c[0] in DISPERSION_FAMILIES],
                         ids=[i for c, i in zip(CASES, IDS) if c[0] in DISPERSION_FAMILIES])
def test_dispersion_derivatives_match_finite_differences(fam, link):
    f = _family(fam, link)
    assert f.parameters[0] == "dispersion"
    y, eta, wt = _point(fam, link)
    d1, d2 = f.parameter_derivatives("dispersion", y, eta, wt, DISPERSION)
    h = 1e-5
    ld = [f.log_density(y, eta, wt, DISPERSION + s * h) for s in (1, -1)]
    np.testing.assert_allclose(d1, (ld[0] - ld[1]) / (2 * h), rtol=1e-6, atol=1e-8)
    g = [f.parameter_derivatives("dispersion", y, eta, wt, DISPERSION + s * h)[0] for s in (1, -1)]
    np.testing.assert_allclose(d2, (g[0] - g[1]) / (2 * h), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("link", _core.link_names("negative.binomial"))
@pytest.mark.parametrize("theta", [0.3, NB_THETA, 40.0])
def test_negative_binomial_theta_derivatives_match_finite_differences(link, theta):
    f = _family("negative.binomial", link, theta)
    assert f.parameters == ["theta"]
    y, eta, wt = _point("negative.binomial", link)
    y = np.append(y, 25.0)
    eta, wt = np.append(eta, eta[-1]), np.append(wt, 1.0)
    d1, d2 = f.parameter_derivatives("theta", y, eta, wt)
    h = 1e-5 * theta
    ld = [_family("negative.binomial", link, theta + s * h).log_density(y, eta, wt) for s in (1, -1)]
    np.testing.assert_allclose(d1, (ld[0] - ld[1]) / (2 * h), rtol=1e-6, atol=1e-9)
    g = [_family("negative.binomial", link, theta + s * h).parameter_derivatives("theta", y, eta, wt)[0]
         for s in (1, -1)]
    np.testing.assert_allclose(d2, (g[0] - g[1]) / (2 * h), rtol=1e-5, atol=1e-9)


def test_digamma_and_trigamma_in_the_theta_derivative_are_exact():
    # d log f / d theta at y = 0 is log(theta / (theta + mu)) + mu / (theta + mu) (no digamma left);
    # at y = 1 psi(theta + 1) - psi(theta) = 1/theta exactly.
    f = _family("negative.binomial", "log", 0.7)
    mu = np.array([0.5, 3.0])
    d1, d2 = f.parameter_derivatives("theta", np.array([0.0, 1.0]), np.log(mu), np.ones(2))
    th = 0.7
    expect0 = np.log(th / (th + mu[0])) + mu[0] / (th + mu[0])
    expect1 = 1 / th + np.log(th) + 1 - np.log(th + mu[1]) - (th + 1) / (th + mu[1])
    np.testing.assert_allclose(d1, [expect0, expect1], rtol=1e-13)
    expect2_0 = 1 / th - 2 / (th + mu[0]) + th / (th + mu[0]) ** 2
    expect2_1 = -1 / th**2 + 1 / th - 2 / (th + mu[1]) + (th + 1) / (th + mu[1]) ** 2
    np.testing.assert_allclose(d2, [expect2_0, expect2_1], rtol=1e-12)


def test_parameters_of_the_families_without_one():
    for fam in ("poisson", "binomial"):
        f = _family(fam, _core.link_names(fam)[0])
        assert f.parameters == []
        with pytest.raises(ValueError, match=f"the {fam} family has no parameter 'theta'"):
            f.parameter_derivatives("theta", np.ones(1), np.zeros(1), np.ones(1))


def test_zero_weights_contribute_no_derivative():
    f = _family("gaussian", "identity")
    d1, d2 = f.parameter_derivatives("dispersion", np.array([1.0, 2.0]), np.zeros(2), np.array([0.0, 1.0]), 0.5)
    assert d1[0] == 0 and d2[0] == 0 and d1[1] != 0


# (family, mean, prior weight): draws have mean mu and variance phi V(mu) / w.
SIMULATION = [("poisson", 3.0, 1.0), ("binomial", 0.3, 12.0), ("gaussian", -1.5, 2.0), ("Gamma", 2.0, 1.5),
              ("inverse.gaussian", 1.2, 2.0), ("negative.binomial", 4.0, 1.0)]


@pytest.mark.parametrize("fam, mu, w", SIMULATION, ids=[s[0] for s in SIMULATION])
def test_simulated_moments_match_the_variance_function(fam, mu, w):
    f = _family(fam, _core.link_names(fam)[0])
    phi = DISPERSION if fam in ("gaussian", "Gamma", "inverse.gaussian") else 1.0
    n = 400_000
    y = f.simulate(np.full(n, mu), np.full(n, w), phi, 20261203)
    var = phi * f.variance(np.array([mu]))[0] / (1.0 if fam in ("poisson", "negative.binomial") else w)
    assert abs(y.mean() - mu) < 5 * np.sqrt(var / n)
    # the sample variance's standard error from the sample's own fourth moment
    se_var = np.sqrt(np.mean((y - y.mean()) ** 4) / n)
    assert abs(y.var() - var) < 5 * se_var
    if fam in ("poisson", "negative.binomial"):
        assert np.all(y == np.round(y)) and y.min() >= 0
    if fam == "binomial":
        assert np.all(np.abs(y * w - np.round(y * w)) < 1e-12)
    if fam in ("Gamma", "inverse.gaussian"):
        assert y.min() > 0


def test_simulation_is_reproducible_from_its_seed():
    f = _family("negative.binomial", "log")
    mu, w = np.full(50, 2.0), np.ones(50)
    np.testing.assert_array_equal(f.simulate(mu, w, 1.0, 7), f.simulate(mu, w, 1.0, 7))
    assert not np.array_equal(f.simulate(mu, w, 1.0, 7), f.simulate(mu, w, 1.0, 8))


def test_the_registry_is_the_one_list_of_families_and_links():
    assert sorted(_core.family_names()) == sorted(CLASSES)
    for name, cls in CLASSES.items():
        assert cls.name == name
        assert cls.links == tuple(_core.link_names(name))
        assert cls.default_link == _core.link_names(name)[0]
    assert _core.link_names("binomial") == ["logit", "probit", "cloglog", "cauchit", "log"]
    assert _core.link_names("inverse.gaussian") == ["1/mu^2", "inverse", "identity", "log"]


ALL_LINKS = sorted({link for fam in _core.family_names() for link in _core.link_names(fam)})


@pytest.mark.parametrize("fam", sorted(CLASSES))
def test_every_listed_link_builds_and_no_other_does(fam):
    for link in ALL_LINKS:
        if link in _core.link_names(fam):
            _core.Family(fam, link)
        else:
            with pytest.raises(ValueError, match="link not supported for this family"):
                _core.Family(fam, link)


def test_unknown_names_give_the_existing_messages():
    with pytest.raises(ValueError, match="unknown family 'quasipoisson'"):
        _core.Family("quasipoisson", "log")
    with pytest.raises(ValueError, match="unknown link 'logg'"):
        _core.Family("poisson", "logg")
    with pytest.raises(ValueError, match="unknown family 'quasipoisson'"):
        _core.link_names("quasipoisson")
    with pytest.raises(FamilyError, match="unknown family 'quasipoisson'; choose one of binomial, gamma, gaussian"):
        F.get_family("quasipoisson")
    with pytest.raises(FamilyError, match="link 'logit' is not available for the poisson family; "
                                          "choose one of 'log', 'identity', 'sqrt'"):
        F.Poisson("logit")
    with pytest.raises(ValueError, match="negative binomial theta must be positive and finite"):
        _core.Family("negative.binomial", "log", 0.0)


def test_canonical_links_give_the_fisher_weights():
    # For a canonical link the observed information equals the expected one, pw mu_eta^2 / V.
    for fam in ("poisson", "binomial", "gaussian", "Gamma", "inverse.gaussian"):
        link = _core.link_names(fam)[0]
        f = _family(fam, link)
        y, eta, wt = _point(fam, link)
        d2 = f.log_density_derivatives(y, eta, wt, 1.0)[1]
        mu = f.linkinv(eta)
        np.testing.assert_allclose(-d2, wt * f.mu_eta(eta) ** 2 / f.variance(mu), rtol=1e-12)
