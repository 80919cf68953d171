"""Log densities and deviances at extreme linear predictors (engine family.cpp, issue 12).

For every family x link, at eta from moderate to +/-1e8 and responses on
the boundary and inside the range, the engine's per-observation log density
(``Family.log_density``, the terms every fit sums) is compared with an
mpmath evaluation at 60 digits: it must never exceed the truth (a clamped
mean once made log(1 - mu) positive and rewarded separated fits for
diverging), must be -inf exactly where the truth is, and must equal the
truth to 1e-12 relative.  The inner loop's kernel and the unit deviances
are held to the same references.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from glmmfast import families as F

mp.mp.dps = 60

ETAS = [-1e8, -1e3, -40.0, -30.5, -7.0, -2.5, -0.3, 0.3, 2.5, 5.0, 7.0, 30.5, 40.0, 1e3, 1e8]
NB_THETA = 2.5
DISPERSION = 0.7

FAMILIES = [F.Poisson, F.Binomial, F.Gaussian, F.Gamma, F.InverseGaussian,
            lambda link=None: F.NegativeBinomial(NB_THETA, link)]
CASES = [(make, link) for make in FAMILIES for link in make().links]
IDS = [f"{make(link).name}-{link}" for make, link in CASES]

# (y, prior weight) per distribution: boundary values and interior ones;
# binomial y is a proportion of `weight` trials.
RESPONSES = {
    "poisson": [(0.0, 1.0), (1.0, 1.0), (7.0, 2.5), (1e4, 1.0)],
    "negative.binomial": [(0.0, 1.0), (1.0, 1.0), (7.0, 2.5), (1e4, 1.0)],
    "binomial": [(0.0, 1.0), (1.0, 1.0), (0.3, 10.0), (0.0, 5.0), (1.0, 5.0)],
    "gaussian": [(-2.0, 1.0), (0.5, 2.5), (3.0, 1.0)],
    "Gamma": [(0.01, 1.0), (1.5, 2.5), (40.0, 1.0)],
    "inverse.gaussian": [(0.01, 1.0), (1.5, 2.5), (40.0, 1.0)],
}


def _mean(link: str, eta: mp.mpf):
    """mu(eta) at high precision, or None where the link gives no real mean."""
    if link == "identity":
        return eta
    if link == "log":
        return mp.exp(eta)
    if link == "inverse":
        return 1 / eta
    if link == "sqrt":
        return eta**2
    if link == "1/mu^2":
        return 1 / mp.sqrt(eta) if eta > 0 else None
    raise ValueError(link)


def _log1mexp(a: mp.mpf) -> mp.mpf:
    """log(1 - e^-a), a > 0: log1p once e^-a is small (1 - e^-a would round to 1 even at 60 digits)."""
    return mp.log(-mp.expm1(-a)) if a < 1 else mp.log1p(-mp.exp(-a))


def _binomial_log_probs(link: str, eta: mp.mpf):
    """(log mu, log(1 - mu)) at high precision, or None for a probability > 1."""
    if link == "logit":
        return -mp.log1p(mp.exp(-eta)), -mp.log1p(mp.exp(eta))
    if link == "probit":
        # the smaller of Phi(eta) and Phi(-eta) is computed, the other by log1p
        lo = mp.log(mp.ncdf(-abs(eta)))
        hi = mp.log1p(-mp.ncdf(-abs(eta)))
        return (lo, hi) if eta < 0 else (hi, lo)
    if link == "cloglog":
        # 1 - mu = exp(-e^eta); beyond e^eta = 1e5, log mu = log1p(-exp(-e^eta))
        # is below 1e-40000 in magnitude: zero in double (and mpmath would
        # need e^eta's digits to evaluate it).
        ee = mp.exp(eta)
        return (_log1mexp(ee) if ee < 1e5 else mp.mpf(0)), -ee
    if link == "cauchit":
        return mp.log(mp.mpf(1) / 2 + mp.atan(eta) / mp.pi), mp.log(mp.mpf(1) / 2 - mp.atan(eta) / mp.pi)
    if link == "log":
        return (eta, _log1mexp(-eta)) if eta <= 0 else None
    raise ValueError(link)


def _xlogy(x, logy):
    return mp.mpf(0) if x == 0 else x * logy


def _terms(*terms):
    """(sum, sum of magnitudes): the scale rounding errors of the sum are relative to."""
    return mp.fsum(terms), mp.fsum(abs(t) for t in terms)


def reference_log_density(fam, y: float, eta: float | None, wt: float, phi: float, mu=None):
    """The log density at high precision (R's family$aic conventions) and its scale (see _terms).

    At ``eta``, or at the mean ``mu`` if given (not for the binomial); -inf
    where the mean is impossible for the family.
    """
    y, wt, phi = mp.mpf(y), mp.mpf(wt), mp.mpf(phi)
    ninf = (mp.mpf("-inf"), mp.mpf("inf"))
    if fam.name == "binomial":
        probs = _binomial_log_probs(fam.link, mp.mpf(eta))
        if probs is None:
            return ninf
        n = mp.nint(wt)
        k = mp.nint(n * y)
        return _terms(mp.loggamma(n + 1), -mp.loggamma(k + 1), -mp.loggamma(n - k + 1), _xlogy(k, probs[0]),
                      _xlogy(n - k, probs[1]))
    mu = _mean(fam.link, mp.mpf(eta)) if mu is None else mp.mpf(mu)
    if fam.name == "gaussian":
        return _terms(mp.log(wt) / 2, -mp.log(2 * mp.pi * phi) / 2, -wt * (y - mu) ** 2 / (2 * phi))
    if mu is None or mu < 0 or (mu == 0 and (y > 0 or fam.name in ("Gamma", "inverse.gaussian"))):
        return ninf
    if fam.name == "poisson":
        return _terms(*(wt * t for t in (_xlogy(y, mp.log(mu) if mu > 0 else 0), -mu, -mp.loggamma(y + 1))))
    if fam.name == "negative.binomial":
        th = mp.mpf(NB_THETA)
        return _terms(*(wt * t for t in (mp.loggamma(th + y), -mp.loggamma(th), -mp.loggamma(y + 1),
                                         th * mp.log(th), _xlogy(y, mp.log(mu) if mu > 0 else 0),
                                         -(th + y) * mp.log(th + mu))))
    if fam.name == "Gamma":
        shape = 1 / phi
        return _terms(*(wt * t for t in (-mp.loggamma(shape), -shape * mp.log(mu * phi), (shape - 1) * mp.log(y),
                                         -y / (mu * phi))))
    if fam.name == "inverse.gaussian":
        return _terms(*(wt * t for t in (-mp.log(2 * mp.pi * phi * y**3) / 2,
                                         -(y - mu) ** 2 / (2 * phi * mu**2 * y))))
    raise ValueError(fam.name)


def _grid(fam):
    """Every (y, wt, eta) combination for the family, as arrays."""
    rows = [(y, wt, eta) for y, wt in RESPONSES[fam.name] for eta in ETAS]
    y, wt, eta = (np.array(c, dtype=float) for c in zip(*rows))
    return y, wt, eta


def _assert_matches(got: np.ndarray, truth: list, what: str, y, eta) -> None:
    """Engine values against (truth, scale) pairs: -inf exactly where the truth
    is (in double), otherwise never above it beyond a few ulps and within
    1e-12 of it, both relative to the scale of its terms."""
    for g, (t, scale), yi, ei in zip(got, truth, y, eta):
        ref, tol = float(t), float(scale)  # ref: -inf where the truth is below -1.8e308
        where = f"{what} at y={yi}, eta={ei}: engine {g!r}, truth {mp.nstr(t, 17)}"
        if math.isinf(ref):
            assert g == ref, where
            continue
        assert math.isfinite(g), where
        assert g <= ref + 4 * np.finfo(float).eps * tol + 1e-300, where
        assert abs(g - ref) <= 1e-12 * tol + 1e-300, where


@pytest.mark.parametrize("make, link", CASES, ids=IDS)
def test_log_density_never_exceeds_the_truth(make, link):
    fam = make(link)
    y, wt, eta = _grid(fam)
    got = fam.log_density(y, eta, wt, DISPERSION)
    truth = [reference_log_density(fam, *a, DISPERSION) for a in zip(y, eta, wt)]
    _assert_matches(got, truth, f"{fam!r} log density", y, eta)


@pytest.mark.parametrize("make, link", CASES, ids=IDS)
def test_unit_deviance_is_twice_the_log_density_gap_to_the_saturated_model(make, link):
    # d = 2 [l(y; mu = y) - l(y; mu)] at phi = 1 (for the Gamma and inverse
    # Gaussian the deviance is phi times that at any phi), never negative.
    fam = make(link)
    y, wt, eta = _grid(fam)
    got = fam.engine.dev_resid_eta(y, eta, wt)
    truth = []
    for yi, ei, wi in zip(y, eta, wt):
        sat, sat_scale = _saturated_log_density(fam, yi, wi)
        ll, ll_scale = reference_log_density(fam, yi, ei, wi, 1.0)
        truth.append((2 * (sat - ll), 2 * (sat_scale + ll_scale)))
    assert np.all(np.nan_to_num(got, posinf=0.0) >= 0), f"{fam!r}: negative deviance {got.min()}"
    # -inf log density: +inf deviance; the comparison runs on -d/2 = l(y; mu) - l(y; y)
    _assert_matches(-0.5 * got, [(-t / 2, s / 2) for t, s in truth], f"{fam!r} deviance", y, eta)


def _saturated_log_density(fam, y: float, wt: float):
    """l(y; mu = y) at phi = 1, with 0 log 0 = 0."""
    y_, wt_ = mp.mpf(y), mp.mpf(wt)
    if fam.name == "binomial":
        n = mp.nint(wt_)
        k = mp.nint(n * y_)
        return _terms(mp.loggamma(n + 1), -mp.loggamma(k + 1), -mp.loggamma(n - k + 1),
                      _xlogy(k, mp.log(y_) if y > 0 else 0), _xlogy(n - k, mp.log1p(-y_) if y < 1 else 0))
    if fam.name in ("poisson", "negative.binomial") and y == 0:
        return mp.mpf(0), mp.mpf(0)  # mu = 0: every term vanishes
    return reference_log_density(fam, y, None, wt, 1.0, mu=y)


def _total(fam, y, eta, wt):
    """The reference log-likelihood of all rows, with its scale."""
    parts = [reference_log_density(fam, *a, 1.0) for a in zip(y, eta, wt)]
    return mp.fsum(p[0] for p in parts), mp.fsum(p[1] for p in parts)


@pytest.mark.parametrize("link", F.Binomial.links)
def test_binomial_kernel_is_the_log_density(link):
    fam = F.Binomial(link)
    y, wt, eta = _grid(fam)
    ok = ~((link == "log") & (eta > 0))
    for mask in (ok, np.ones_like(ok)):
        total = fam.engine.kernel_loglik(y[mask], eta[mask], wt[mask])
        _assert_matches([total], [_total(fam, y[mask], eta[mask], wt[mask])], f"{fam!r} kernel", [None], [None])


@pytest.mark.parametrize("link", F.Poisson.links)
def test_poisson_kernel_is_the_log_density(link):
    fam = F.Poisson(link)
    y, wt, eta = _grid(fam)
    for mask in (np.abs(eta) < 500, eta > -500, np.ones(eta.size, bool)):
        total = fam.engine.kernel_loglik(y[mask], eta[mask], wt[mask])
        _assert_matches([total], [_total(fam, y[mask], eta[mask], wt[mask])], f"{fam!r} kernel", [None], [None])


def test_separated_bernoulli_log_likelihood_stays_below_zero():
    # issue 12: y = 0 at eta far below -30 added -30 - eta > 0 per row
    fam = F.Binomial()
    eta = np.array([-1e8, -1e3, -40.0, 40.0, 1e3, 1e8])
    y = (eta > 0).astype(float)
    assert fam.engine.kernel_loglik(y, eta, np.ones(6)) <= 0.0
    assert np.all(fam.log_density(y, eta, np.ones(6)) <= 0.0)
