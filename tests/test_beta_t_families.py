"""glmmTMB's beta, betabinomial and Student t families (cpp/src/family/beta.cpp, betabinomial.cpp, student_t.cpp).

Their log densities against scipy.stats (mpmath for the beta-binomial with
many trials), including extreme means and residuals; the derivatives in
their parameters (phi, sigma, df) against finite differences (the eta
derivatives of every registered family are in test_distributions.py); their
draws against their moments; recovery of simulated parameters by glmer for
every link each accepts; and the responses they refuse, before the engine
runs.  The fits against glmmTMB itself are in test_zero_inflation.py.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import glmmfast
from glmmfast import DataError, FamilyError, _core
from glmmfast.families import Beta, BetaBinomial, StudentT


def _engine(name: str, link: str, **shapes):
    f = _core.Family(name, link)
    for k, v in shapes.items():
        f.set_shape(k, v)
    return f


def test_beta_log_density_is_scipys_also_at_extreme_means():
    y = np.array([0.3, 0.01, 0.999, 1e-8, 0.5])
    eta = np.array([0.2, -4.0, 6.0, -25.0, 30.0])  # mu down to 1.4e-11, up to 1 - 9.4e-14
    mu = special.expit(eta)
    for phi in (0.5, 9.4, 300.0):
        got = Beta(phi).log_density(y, eta, np.ones(5))
        # 1 - mu from eta itself (expit(-eta)): the engine keeps that precision too
        want = stats.beta.logpdf(y, mu * phi, special.expit(-eta) * phi)
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_betabinomial_log_density_is_scipys():
    k = np.array([0.0, 3.0, 10.0, 7.0])
    n = np.array([10.0, 10.0, 10.0, 25.0])
    mu = np.array([0.2, 0.45, 0.9, 0.01])
    for phi in (0.3, 6.0, 500.0):
        got = BetaBinomial(phi).log_density(k / n, special.logit(mu), n)
        want = stats.betabinom.logpmf(k, n, mu * phi, (1 - mu) * phi)
        np.testing.assert_allclose(got, want, rtol=1e-11)


def test_betabinomial_log_density_with_many_trials_is_exact():
    # lgamma(n) ~ 1e8 at n = 1e7: differences of lgamma values would lose ~8 digits; mpmath's is exact
    n, k, mu, phi = 1e7, 2_500_123.0, 0.25, 3.7
    got = BetaBinomial(phi).log_density(np.array([k / n]), special.logit(np.array([mu])), np.array([n]))[0]
    mpmath.mp.dps = 40
    a, b = mpmath.mpf(mu) * phi, (1 - mpmath.mpf(mu)) * phi
    want = (mpmath.loggamma(n + 1) - mpmath.loggamma(k + 1) - mpmath.loggamma(n - k + 1)
            + mpmath.log(mpmath.beta(k + a, n - k + b)) - mpmath.log(mpmath.beta(a, b)))
    assert got == pytest.approx(float(want), rel=1e-13)


def test_t_log_density_is_scipys_also_for_huge_residuals():
    y = np.array([0.0, 1.5, -3.0, 1e6, -1e12])
    mu = np.array([0.1, 2.0, 0.0, 0.0, 1.0])
    for df, sigma in ((0.7, 1.3), (5.0, 0.8), (1e4, 2.0)):
        got = StudentT(df, sigma).log_density(y, mu, np.ones(5))
        np.testing.assert_allclose(got, stats.t.logpdf(y, df, loc=mu, scale=sigma), rtol=1e-11)


SHAPES = [("beta", "logit", "phi", {"phi": 4.0}, [0.05, 0.3, 0.9], [1.0, 2.5, 1.0], [0.2, 0.5, 0.7]),
          ("betabinomial", "logit", "phi", {"phi": 2.5}, [0.0, 0.3, 1.0], [10.0, 10.0, 4.0], [0.2, 0.5, 0.7]),
          ("t", "identity", "sigma", {"sigma": 0.8, "df": 4.0}, [-1.0, 0.5, 14.0], [1.0, 2.5, 1.0], [0.5, 2.0, 5.0]),
          ("t", "identity", "df", {"sigma": 0.8, "df": 4.0}, [-1.0, 0.5, 14.0], [1.0, 2.5, 1.0], [0.5, 2.0, 5.0])]


@pytest.mark.parametrize("name, link, parameter, shapes, y, wt, mu", SHAPES,
                         ids=[f"{s[0]}-{s[2]}" for s in SHAPES])
def test_parameter_derivatives_match_finite_differences(name, link, parameter, shapes, y, wt, mu):
    y, wt = np.array(y), np.array(wt)
    eta = _engine(name, link, **shapes).linkfun(np.array(mu))
    value = shapes[parameter]
    d1, d2 = _engine(name, link, **shapes).parameter_derivatives(parameter, y, eta, wt)
    h = 1e-5 * value
    up, down = (_engine(name, link, **{**shapes, parameter: value + s * h}) for s in (1, -1))
    np.testing.assert_allclose(d1, (up.log_density(y, eta, wt) - down.log_density(y, eta, wt)) / (2 * h),
                               rtol=1e-6, atol=1e-9)
    g = [f.parameter_derivatives(parameter, y, eta, wt)[0] for f in (up, down)]
    np.testing.assert_allclose(d2, (g[0] - g[1]) / (2 * h), rtol=1e-6, atol=1e-9)


_MP_MEAN = {"logit": lambda e: 1 / (1 + mpmath.exp(-e)), "probit": mpmath.ncdf,
            "cloglog": lambda e: -mpmath.expm1(-mpmath.exp(e))}


def _mp_log_density(name: str, y: float, wt: float, phi: float, link: str):
    """log f as a 40-digit function of eta: the beta's times wt, the beta-binomial's of k = n y of n = wt."""
    lg = mpmath.loggamma

    def log_f(eta):
        mu = _MP_MEAN[link](eta)
        a, b = mu * phi, (1 - mu) * phi
        if name == "beta":
            return wt * (lg(phi) - lg(a) - lg(b) + (a - 1) * mpmath.log(y) + (b - 1) * mpmath.log1p(-y))
        n, k = mpmath.mpf(wt), mpmath.mpf(round(wt * y))
        return (lg(n + 1) - lg(k + 1) - lg(n - k + 1) + lg(k + a) + lg(n - k + b) - lg(n + phi)
                - lg(a) - lg(b) + lg(phi))
    return log_f


# (family, link, y, wt, mu, phi): beta at small and large shapes a = mu phi, b = (1 - mu) phi;
# beta-binomial counts below and above the shift sums' limit of 40, k = 0 and k = n
ETA_POINTS = ([("beta", link, y, wt, mu, phi) for link in ("logit", "probit", "cloglog")
               for y, wt, mu, phi in ((0.3, 1.0, 0.45, 4.0), (0.02, 2.5, 0.1, 0.7), (0.97, 1.0, 0.8, 60.0),
                                      (0.5, 1.0, 0.003, 25.0))]
              + [("betabinomial", link, k / n, n, mu, phi) for link in ("logit", "cloglog")
                 for k, n, mu, phi in ((3, 10, 0.45, 5.0), (0, 12, 0.2, 0.3), (20, 20, 0.7, 2.0),
                                       (7, 39, 0.3, 200.0), (45, 60, 0.6, 3.0), (2, 70, 0.1, 0.9))])


@pytest.mark.parametrize("name, link, y, wt, mu, phi", ETA_POINTS,
                         ids=[f"{p[0]}-{p[1]}-{i}" for i, p in enumerate(ETA_POINTS)])
def test_eta_derivatives_are_mpmaths(name, link, y, wt, mu, phi):
    # score, second and third eta-derivatives (the analytic d^3 log f / d eta^3 of the exact Laplace
    # gradient, from psi'') against 40-digit differentiation of the log density itself
    f = _engine(name, link, phi=phi)
    eta = f.linkfun(np.array([mu]))
    args = (np.array([y]), eta, np.array([wt]))
    got = [*(d[0] for d in f.log_density_derivatives(*args)), f.log_density_third_derivative(*args)[0]]
    with mpmath.workdps(40):
        log_f = _mp_log_density(name, mpmath.mpf(y), wt, mpmath.mpf(phi), link)
        want = [float(mpmath.diff(log_f, mpmath.mpf(eta[0]), order)) for order in (1, 2, 3)]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13 * max(abs(w) for w in want))


# (family, shapes, mean, trials, variance of y)
MOMENTS = [("beta", {"phi": 9.0}, 0.3, 1.0, 0.3 * 0.7 / 10.0),
           ("betabinomial", {"phi": 5.0}, 0.3, 12.0, 0.3 * 0.7 / 12.0 * (1 + 11.0 / 6.0)),
           ("t", {"sigma": 1.5, "df": 6.0}, -2.0, 1.0, 1.5**2 * 6.0 / 4.0)]


@pytest.mark.parametrize("name, shapes, mu, n, var", MOMENTS, ids=[m[0] for m in MOMENTS])
def test_simulated_moments(name, shapes, mu, n, var):
    f = _engine(name, _core.link_names(name)[0], **shapes)
    size = 400_000
    y = np.asarray(f.simulate(np.full(size, mu), np.full(size, n), 1.0, 20261203))
    assert abs(y.mean() - mu) < 5 * np.sqrt(var / size)
    assert abs(y.var() - var) < 5 * np.sqrt(np.mean((y - y.mean()) ** 4) / size)
    if name == "beta":
        assert 0 < y.min() and y.max() < 1
    if name == "betabinomial":
        assert np.all(np.abs(y * n - np.round(y * n)) < 1e-12)


_INVERSE_LINK = {"logit": special.expit, "probit": special.ndtr, "cloglog": lambda e: -np.expm1(-np.exp(e)),
                 "identity": lambda e: e, "log": np.exp, "inverse": lambda e: 1 / e}


def _simulated(seed: int, name: str, link: str, b0: float, b1: float, shapes: dict, n_groups: int = 40,
               per_group: int = 25) -> pd.DataFrame:
    """y from the engine's sampler at g^-1(b0 + b1 x + b_g), b_g ~ N(0, 0.4^2); trials 5 to 20 (betabinomial)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.standard_normal(g.size)
    b = 0.4 * rng.standard_normal(n_groups)
    mu = _INVERSE_LINK[link](b0 + b1 * x + b[g])
    trials = rng.integers(5, 21, g.size).astype(float) if name == "betabinomial" else np.ones(g.size)
    y = np.asarray(_engine(name, link, **shapes).simulate(mu, trials, 1.0, seed))
    return pd.DataFrame({"y": y, "s": np.round(y * trials), "f": np.round((1 - y) * trials), "x": x,
                         "g": pd.Categorical(g)})


RECOVERY = ([("beta", link, -0.8, 0.4, {"phi": 8.0}) for link in ("logit", "probit", "cloglog")]
            + [("betabinomial", link, -0.3, 0.5, {"phi": 4.0}) for link in ("logit", "probit", "cloglog")]
            + [("t", "identity", 2.0, 0.5, {"sigma": 0.7, "df": 5.0}), ("t", "log", 1.0, 0.3, {"sigma": 0.2, "df": 5.0}),
               ("t", "inverse", 3.0, 0.3, {"sigma": 0.02, "df": 5.0})])


@pytest.mark.parametrize("name, link, b0, b1, shapes", RECOVERY, ids=[f"{r[0]}-{r[1]}" for r in RECOVERY])
def test_glmer_recovers_simulated_parameters(name, link, b0, b1, shapes):
    df = _simulated(17, name, link, b0, b1, shapes)
    if name == "beta":
        family, formula = Beta(link=link), "y ~ x + (1 | g)"
    elif name == "betabinomial":
        family, formula = BetaBinomial(link=link), "cbind(s, f) ~ x + (1 | g)"
    else:
        family, formula = StudentT(df=shapes["df"], link=link), "y ~ x + (1 | g)"
    fit = glmmfast.glmer(formula, df, family=family, quiet=True)
    assert fit.converged
    assert abs(fit.fixef["(Intercept)"] - b0) < 4 * fit.se["(Intercept)"]
    assert abs(fit.fixef["x"] - b1) < 4 * fit.se["x"]
    (parameter, value), = [(k, v) for k, v in shapes.items() if k != "df"]
    assert abs(fit.family_parameters[parameter] - value) < 4 * fit.family_parameter_se[parameter]
    assert fit.family.shapes()[parameter] == fit.family_parameters[parameter]
    if link in ("logit", "identity"):
        assert abs(fit.varcorr["sdcor"].iloc[0] - 0.4) < 0.15


def test_t_fit_returns_to_the_best_conditional_mode_after_a_failed_trial_point(monkeypatch):
    # The t's conditional density is not log-concave: at stage 1's optimum PIRLS from u = 0 and a beta that a
    # failed trial point left (here the other mode's) ends in another conditional mode, -2 log L 17011
    # against -4212.  Re-evaluating there (to leave the engine at stage 1's optimum) must return to the best
    # evaluation's modes, not start stage 2 in the other mode (where it ended at 926 and called it converged).
    from glmmfast.fit import _optimize

    df = _simulated(17, "t", "inverse", 3.0, 0.3, {"sigma": 0.02, "df": 5.0})
    formula, family = "y ~ x + (1 | g)", StudentT(df=5.0, link="inverse")
    reference = glmmfast.glmer(formula, df, family=family, quiet=True)
    reevaluate, seen = _optimize._reevaluate, []

    def after_a_failed_trial_point(obj, x, restart):
        if not seen:  # stage 1's
            model = obj_model[0]
            model.set_u(np.zeros(model.q))
            model.set_beta(np.array([1134.4, 6179.3]))
            seen.append(float(obj.evaluate(x)) - obj.best_f)
            model.set_u(np.zeros(model.q))
            model.set_beta(np.array([1134.4, 6179.3]))
        return reevaluate(obj, x, restart)

    obj_model = []
    stage_1 = _optimize._stage_profiled_beta
    monkeypatch.setattr(_optimize, "_stage_profiled_beta",
                        lambda problem, *a: obj_model.append(problem.model) or stage_1(problem, *a))
    monkeypatch.setattr(_optimize, "_reevaluate", after_a_failed_trial_point)
    fit = glmmfast.glmer(formula, df, family=family, quiet=True)
    assert seen[0] > 1e4  # the other mode
    assert fit.converged
    assert fit.deviance == pytest.approx(reference.deviance, abs=1e-6)
    np.testing.assert_allclose(fit.fixef, reference.fixef, rtol=1e-6)


def test_t_with_df_estimated_recovers_sigma_and_df():
    df = _simulated(23, "t", "identity", 2.0, 0.5, {"sigma": 0.7, "df": 4.0}, n_groups=50, per_group=30)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="t", quiet=True)
    assert fit.converged
    assert abs(fit.fixef["x"] - 0.5) < 4 * fit.se["x"]
    for name, value in (("sigma", 0.7), ("df", 4.0)):
        assert abs(fit.family_parameters[name] - value) < 4 * fit.family_parameter_se[name], name
    assert fit.family == StudentT(df=fit.family_parameters["df"], sigma=fit.family_parameters["sigma"])
    # df counts in AIC, as glmmTMB's logLik df
    fixed = glmmfast.glmer("y ~ x + (1 | g)", df, family=StudentT(df=fit.family_parameters["df"]), quiet=True)
    assert fit.aic == pytest.approx(fixed.aic + 2, abs=1e-5)


def test_betabinomial_proportions_with_weights_are_cbind():
    df = _simulated(3, "betabinomial", "logit", -0.3, 0.5, {"phi": 4.0})
    a = glmmfast.glmer("cbind(s, f) ~ x + (1 | g)", df, family="betabinomial", quiet=True)
    b = glmmfast.glmer("y ~ x + (1 | g)", df, family="betabinomial", weights=df["s"] + df["f"], quiet=True)
    assert a.deviance == pytest.approx(b.deviance, abs=1e-8)
    np.testing.assert_allclose(a.fixef, b.fixef, atol=1e-6)


def test_simulate_and_refit_work_for_each_family():
    for name, link, shapes in (("beta", "logit", {"phi": 8.0}), ("betabinomial", "logit", {"phi": 4.0}),
                               ("t", "identity", {"sigma": 0.7, "df": 5.0})):
        df = _simulated(5, name, link, 0.2, 0.5, shapes)
        family = {"beta": "beta", "betabinomial": "betabinomial", "t": StudentT(df=5.0)}[name]
        formula = "cbind(s, f) ~ x + (1 | g)" if name == "betabinomial" else "y ~ x + (1 | g)"
        fit = glmmfast.glmer(formula, df, family=family, quiet=True)
        sims = fit.simulate(3, seed=1)
        assert sims.shape == (len(df), 3) and np.all(np.isfinite(sims))
        if name == "beta":
            assert 0 < sims.min() and sims.max() < 1
        refit = fit.refit(sims[:, 0])
        assert refit.converged and np.isfinite(refit.deviance)
        np.testing.assert_allclose(fit.predict(type="response"), fit.family.linkinv(fit.predict(type="link")))


def test_responses_the_families_cannot_take_are_refused_before_the_engine():
    df = pd.DataFrame({"y": [0.2, 0.5, 1.0, 0.0, 0.7] * 4, "x": np.arange(20.0), "g": list("abcd") * 5})
    with pytest.raises(DataError, match="strictly between 0 and 1; 8 of 20 rows are not"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="beta")
    with pytest.raises(DataError, match="betabinomial response must be in \\[0, 1\\]"):
        glmmfast.glmer("y ~ x + (1 | g)", df.assign(y=df["y"] * 3), family="betabinomial")
    with pytest.raises(DataError, match="cbind\\(successes, failures\\) responses need the binomial or betabinomial"):
        glmmfast.glmer("cbind(y, 1 - y) ~ x + (1 | g)", df, family="beta")
    with pytest.raises(FamilyError, match="t family df must be a positive finite number"):
        StudentT(df=0.0)
    with pytest.raises(FamilyError, match="link 'log' is not available for the beta family"):
        Beta(link="log")
