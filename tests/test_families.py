"""Element-wise family and link functions (glmmfast.families, engine family.cpp)
against closed forms and scipy's densities."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from glmmfast import DataError, FamilyError, families as F

# family factory, link, eta values inside the link's domain for that family
CASES = [
    (F.Poisson, "log", np.linspace(-2, 3, 7)),
    (F.Poisson, "identity", np.linspace(0.2, 9, 7)),
    (F.Poisson, "sqrt", np.linspace(0.3, 3, 7)),
    (F.Binomial, "logit", np.linspace(-4, 4, 7)),
    (F.Binomial, "probit", np.linspace(-2.5, 2.5, 7)),
    (F.Binomial, "cloglog", np.linspace(-3, 1.2, 7)),
    (F.Binomial, "cauchit", np.linspace(-6, 6, 7)),
    (F.Binomial, "log", np.linspace(-4, -0.1, 7)),
    (F.Gaussian, "identity", np.linspace(-3, 3, 7)),
    (F.Gaussian, "log", np.linspace(-1, 2, 7)),
    (F.Gaussian, "inverse", np.linspace(0.2, 2, 7)),
    (F.Gamma, "inverse", np.linspace(0.2, 2, 7)),
    (F.Gamma, "identity", np.linspace(0.3, 5, 7)),
    (F.Gamma, "log", np.linspace(-1, 2, 7)),
    (F.InverseGaussian, "1/mu^2", np.linspace(0.1, 3, 7)),
    (F.InverseGaussian, "inverse", np.linspace(0.2, 2, 7)),
    (F.InverseGaussian, "identity", np.linspace(0.3, 5, 7)),
    (F.InverseGaussian, "log", np.linspace(-1, 2, 7)),
    (lambda link: F.NegativeBinomial(2.5, link), "log", np.linspace(-1, 3, 7)),
    (lambda link: F.NegativeBinomial(2.5, link), "sqrt", np.linspace(0.3, 3, 7)),
    (lambda link: F.NegativeBinomial(2.5, link), "identity", np.linspace(0.3, 9, 7)),
]
IDS = [f"{make(link).name}-{link}" for make, link, _ in CASES]

LINKINV = {
    "log": np.exp, "identity": lambda e: e, "sqrt": np.square, "logit": expit,
    "probit": stats.norm.cdf, "cloglog": lambda e: -np.expm1(-np.exp(e)), "cauchit": stats.cauchy.cdf,
    "inverse": lambda e: 1 / e, "1/mu^2": lambda e: 1 / np.sqrt(e),
}


def _variance(fam, mu):
    return {"poisson": mu, "binomial": mu * (1 - mu), "gaussian": np.ones_like(mu), "Gamma": mu**2,
            "inverse.gaussian": mu**3, "negative.binomial": mu + mu**2 / getattr(fam, "theta", 1.0)}[fam.name]


def _logpdf(fam, y, mu, wt, phi):
    """Log density per observation (scipy), with R's weight semantics."""
    if fam.name == "poisson":
        return wt * stats.poisson.logpmf(y, mu)
    if fam.name == "binomial":  # y proportion, wt trials
        return stats.binom.logpmf(np.round(y * wt), np.round(wt), mu)
    if fam.name == "gaussian":  # variance phi / wt
        return stats.norm.logpdf(y, mu, np.sqrt(phi / wt))
    if fam.name == "Gamma":
        return wt * stats.gamma.logpdf(y, a=1 / phi, scale=mu * phi)
    if fam.name == "inverse.gaussian":  # lambda = 1/phi; scipy: invgauss(mu/lambda, scale=lambda)
        return wt * stats.invgauss.logpdf(y, mu * phi, scale=1 / phi)
    th = fam.theta
    return wt * stats.nbinom.logpmf(y, th, th / (th + mu))


def _sample_y(fam, mu, rng):
    if fam.name == "poisson":
        return rng.poisson(mu).astype(float)
    if fam.name == "binomial":
        return rng.binomial(6, mu) / 6.0
    if fam.name == "negative.binomial":
        return rng.negative_binomial(fam.theta, fam.theta / (fam.theta + mu)).astype(float)
    if fam.name == "gaussian":
        return mu + rng.normal(0, 0.7, mu.size)
    return rng.gamma(3.0, mu / 3.0)  # positive responses for Gamma / inverse Gaussian


@pytest.mark.parametrize("make,link,eta", CASES, ids=IDS)
def test_link_functions_match_closed_forms(make, link, eta):
    fam = make(link)
    mu = fam.linkinv(eta)
    np.testing.assert_allclose(mu, LINKINV[link](eta), rtol=1e-12)
    np.testing.assert_allclose(fam.linkfun(mu), eta, rtol=1e-9, atol=1e-9)
    h = 1e-6 * np.maximum(1, np.abs(eta))
    numeric = (LINKINV[link](eta + h) - LINKINV[link](eta - h)) / (2 * h)
    np.testing.assert_allclose(fam.mu_eta(eta), numeric, rtol=1e-6)
    np.testing.assert_allclose(fam.variance(mu), _variance(fam, mu), rtol=1e-12)


@pytest.mark.parametrize("make,link,eta", CASES, ids=IDS)
def test_observation_terms_match_the_separate_derivatives(make, link, eta):
    # observation_terms takes mu_eta, mu_eta2 and mu_eta3 in one pass (Link::mu_eta_derivatives, shared
    # transcendental functions for cloglog and probit); log_density_derivatives and
    # log_density_third_derivative take each from eta on its own
    fam = make(link)
    engine = fam.engine
    rng = np.random.default_rng(11)
    y = _sample_y(fam, fam.linkinv(eta), rng)
    wt = np.full(eta.size, 6.0) if fam.name == "binomial" else np.ones(eta.size)
    phi = 0.37 if fam.has_dispersion else 1.0
    _, score, information, _, information_deriv = engine.observation_terms(y, eta, wt, phi)
    d1, d2 = engine.log_density_derivatives(y, eta, wt, phi)
    d3 = engine.log_density_third_derivative(y, eta, wt, phi)
    scale = np.maximum(np.abs(d2), 1.0)
    np.testing.assert_allclose(score, d1, rtol=1e-12, atol=1e-13 * scale.max())
    np.testing.assert_allclose(information, -d2, rtol=1e-12, atol=1e-13 * scale.max())
    np.testing.assert_allclose(information_deriv, -d3, rtol=1e-12, atol=1e-13 * scale.max())


@pytest.mark.parametrize("make,link,eta", CASES, ids=IDS)
def test_loglik_and_deviance_match_scipy(make, link, eta):
    fam = make(link)
    rng = np.random.default_rng(7)
    mu = fam.linkinv(eta)
    y = _sample_y(fam, mu, rng)
    wt = np.full(mu.size, 6.0) if fam.name == "binomial" else rng.integers(1, 4, mu.size).astype(float)
    phi = 0.37
    ll = _logpdf(fam, y, mu, wt, phi)
    np.testing.assert_allclose(fam.loglik(y, mu, wt, phi), ll.sum(), rtol=1e-10)
    # prior-weighted unit deviance = 2 phi [l(y; mu = y) - l(y; mu)] (phi = 1 without a
    # dispersion); the mu-free constants cancel
    sat = {"binomial": np.clip(y, 1e-300, 1 - 1e-16), "gaussian": y}.get(fam.name, np.maximum(y, 1e-300))
    if not fam.has_dispersion:
        phi = 1.0
        ll = _logpdf(fam, y, mu, wt, phi)
    dev = 2 * phi * (_logpdf(fam, y, sat, wt, phi) - ll)
    np.testing.assert_allclose(fam.dev_resid(y, mu, wt), dev, rtol=1e-8, atol=1e-10)


def test_negative_binomial_loglik_is_mass_aic():
    # MASS negative.binomial(theta)$aic / -2, written out (y == 0 uses log(mu + 1) * 0).
    th, y, mu, w = 1.7, np.array([0.0, 1, 4, 9]), np.array([0.5, 1.2, 3.0, 7.5]), np.array([1.0, 2, 1, 3])
    from scipy.special import gammaln
    ll = np.sum(w * (gammaln(th + y) - gammaln(th) - gammaln(y + 1) + th * np.log(th)
                     + y * np.log(mu + (y == 0)) - (th + y) * np.log(th + mu)))
    assert F.NegativeBinomial(th).loglik(y, mu, w) == pytest.approx(ll, rel=1e-12)


@pytest.mark.parametrize("family,link", [("poisson", "logit"), ("binomial", "inverse"), ("Gamma", "logit"),
                                         ("inverse.gaussian", "sqrt"), ("gaussian", "sqrt"), ("poisson", "1/mu^2")])
def test_invalid_link_raises_family_error_listing_valid_links(family, link):
    with pytest.raises(FamilyError) as err:
        F.get_family(family, link)
    valid = F.get_family(family).links
    for v in valid:
        assert repr(v) in str(err.value)


def test_family_names_and_defaults():
    assert F.get_family("Gamma").link == "inverse"
    assert F.get_family("gamma", "log") == F.Gamma("log")
    assert F.get_family("inverse.gaussian").link == "1/mu^2"
    assert F.get_family("inverse_gaussian", "log").name == "inverse.gaussian"
    assert F.Binomial("cauchit").link == "cauchit"
    with pytest.raises(FamilyError, match="NegativeBinomial"):
        F.get_family("negative.binomial")
    with pytest.raises(FamilyError, match="theta"):
        F.NegativeBinomial(theta=0)
    with pytest.raises(FamilyError, match="theta"):
        F.NegativeBinomial(theta=float("nan"))
    with pytest.raises(FamilyError):
        F.NegativeBinomial(2.0, link="logit")


def test_negative_binomial_spec_pickles_and_prints_like_mass():
    fam = F.NegativeBinomial(theta=1.23456789, link="sqrt")
    back = pickle.loads(pickle.dumps(fam))
    assert back == fam and back.theta == fam.theta and back.link == "sqrt"
    np.testing.assert_allclose(back.variance(np.array([2.0])), 2 + 4 / 1.23456789)
    assert fam.display_name == "Negative Binomial(1.2346)"
    assert F.NegativeBinomial(10).display_name == "Negative Binomial(10)"
    assert fam != F.NegativeBinomial(theta=2.0, link="sqrt")


@pytest.mark.parametrize("family", [F.Poisson(), F.NegativeBinomial(2.0)])
def test_counts_above_2_to_the_53_are_refused(family):
    exact = np.array([0.0, 3.0, 2.0**53])
    family.check_response(exact, np.ones(3))  # 2^53 itself is exact
    with pytest.raises(DataError, match=r"counts above 2\^53 = 9007199254740992 \(largest: 4.61169e\+18\)"):
        family.check_response(np.array([1.0, 2.0**62]), np.ones(2))


def test_binomial_trials_above_2_to_the_53_are_refused():
    with pytest.raises(DataError, match=r"numbers of trials \(weights\) above 2\^53"):
        F.Binomial().check_response(np.array([0.5, 0.25]), np.array([4.0, 2.0**60]))


def test_negative_binomial_needs_whole_counts():
    with pytest.raises(DataError, match="non-integer counts are not allowed for the negative binomial family"):
        F.NegativeBinomial(1.0).check_response(np.array([0.0, 1.5]), np.ones(2))


def test_boundary_message_names_the_coefficients_that_can_diverge():
    X = np.column_stack([np.ones(6), [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]])
    names = ["(Intercept)", "b", "c"]
    mu = np.array([0.3, 0.6, 1e-14, 1e-15, 0.2, 0.5])  # every row of "b" at 0
    msg = F.Binomial().boundary_message(mu, X, names)
    assert msg.startswith("fitted probabilities numerically 0 or 1 occurred: complete or quasi-complete separation?")
    assert msg.endswith("Coefficients that can diverge: b")
    assert F.Binomial().boundary_message(mu) == F.Binomial.boundary_warning
    assert F.Binomial().boundary_message(np.full(6, 0.5), X, names) is None
    zero_b = np.array([1.0, 2, 1e-13, 0, 3, 4])
    assert F.Poisson().boundary_message(zero_b, X, names).endswith("Coefficients that can diverge: b")
    assert F.Gaussian().boundary_message(np.zeros(6), X, names) is None
    # a whole column's observations within 1e-8 (the optimiser stopped short of 1e-12): still separation
    near = np.array([0.3, 0.6, 1e-10, 1 - 1e-10, 0.2, 0.5])
    assert F.Binomial().boundary_message(near, X, names).endswith("Coefficients that can diverge: b")
    assert F.Binomial().boundary_message(near) is None
    assert F.Binomial().boundary_message(np.array([0.3, 0.6, 1e-10, 0.5, 0.2, 0.5]), X, names) is None
    # the reference level (rows 0-1, where b = c = 0) at the boundary: the
    # intercept diverges one way and both dummies the other
    ref = np.array([1e-10, 1e-11, 0.4, 0.5, 0.2, 0.6])
    every = "Coefficients that can diverge: (Intercept), b, c"
    assert F.Poisson().boundary_message(ref, X, names).endswith(every)
    # every observation at the boundary: every coefficient can move
    assert F.Binomial().boundary_message(np.full(6, 1e-13), X, names).endswith(every)


def test_per_observation_methods_refuse_mismatched_lengths_and_bad_dispersion():
    from glmmfast import DataError

    fam = F.Binomial()
    with pytest.raises(DataError, match="eta has 2 values but y has 3"):
        fam.log_density(np.zeros(3), np.zeros(2), np.ones(3))
    with pytest.raises(DataError, match="wt has 4 values but y has 3"):
        fam.dev_resid(np.zeros(3), np.full(3, 0.5), np.ones(4))
    with pytest.raises(DataError, match="dispersion must be positive"):
        F.Gamma().log_density(np.ones(3), np.ones(3), np.ones(3), dispersion=0.0)


@pytest.mark.parametrize("name,shape", [("poisson", None), ("truncated_poisson", None),
                                        ("negative.binomial", ("theta", 1.7)), ("nbinom1", ("phi", 2.3))])
def test_count_log_densities_at_counts_in_and_beyond_the_log_factorial_table(name, shape):
    # log y! comes from a table for integer y < 1024 (cpp/src/family/special_functions.hpp) and from
    # lgamma elsewhere: both sides of the table's end, and a non-integer y, against scipy's pmf.
    from glmmfast import _core
    from scipy.special import gammaln

    y = np.array([0.0, 1, 2, 7, 1022, 1023, 1024, 1025, 4000.0])
    mu = np.array([3.0, 3.0, 3.0, 3.0, 1000.0, 1000.0, 1000.0, 1000.0, 3900.0])
    fam = _core.Family(name, "log")
    if shape is not None:
        fam.set_shape(*shape)
    got = np.asarray(fam.log_density(y, np.log(mu), np.ones(y.size)))
    if name == "negative.binomial":
        want = stats.nbinom.logpmf(y, shape[1], shape[1] / (shape[1] + mu))
    elif name == "nbinom1":
        want = stats.nbinom.logpmf(y, mu / shape[1], 1 / (1 + shape[1]))
    else:
        want = stats.poisson.logpmf(y, mu)
    if name == "truncated_poisson":  # its support is y > 0
        got, want = got[1:], (want - np.log(-np.expm1(-mu)))[1:]
    # (NB1's lgamma(y + k) - lgamma(k) at y = 4000 cancels to ~3e-12 relative, on either side)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    if name == "poisson":  # a non-integer y (the Poisson kernel takes it, as R's dpois(log = TRUE) does not)
        half = float(np.asarray(fam.log_density(np.array([2.5]), np.log([3.0]), np.ones(1)))[0])
        assert half == pytest.approx(2.5 * np.log(3.0) - 3.0 - gammaln(3.5), rel=1e-14)


def test_valid_eta_refuses_any_non_finite_entry():
    # Family::valid_eta checks finiteness in one vectorised sum of eta - eta (linalg/all_finite.hpp): every
    # position (the packets' lanes and the odd tail) and every kind of non-finite value must fail it.
    from glmmfast import _core

    fam = _core.Family("poisson", "log")
    eta = np.linspace(-3.0, 3.0, 403)
    assert fam.valid_eta(eta)
    assert fam.valid_eta(np.full(7, 1.7e308))  # the largest finite values: x - x is still 0
    assert fam.valid_eta(np.zeros(0))
    for bad in (np.inf, -np.inf, np.nan):
        for i in (0, 1, 2, 201, 401, 402):
            e = eta.copy()
            e[i] = bad
            assert not fam.valid_eta(e)
