"""Simulation-based scaled (quantile) residuals and their tests, as the R package DHARMa 0.5.

Holds :func:`simulate_residuals` (DHARMa's ``simulateResiduals``), which
returns a :class:`ScaledResiduals`: the residuals and the simulations they
come from, with the tests ``test_uniformity`` (``testUniformity``),
``test_dispersion`` (``testDispersion``), ``test_zero_inflation``
(``testZeroInflation``) and ``test_outliers`` (``testOutliers``), each
returning a :class:`ResidualTest`.  The residual of observation i is the
randomised probability integral transform of y_i in the n simulated values
of row i (Dunn & Smyth 1996): uniform on [0, 1] when the model is right.
The draws are vectorised numpy (grouseticks, n = 250: ~10 ms), so they need
no engine threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._arguments import check_choice, check_nsim
from .._errors import ArgumentError, ArgumentTypeError, DataError
from ..results._simulate import ResponseSimulator, _trials_for

__all__ = ["ResidualTest", "ScaledResiduals", "simulate_residuals", "pit_residuals"]

_ALTERNATIVES = {"two-sided": "two-sided", "two.sided": "two-sided", "greater": "greater", "less": "less"}
_INTEGER_FAMILIES = ("poisson", "binomial", "negative.binomial")


def _alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise ArgumentError(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
    return _ALTERNATIVES[alternative]


def pit_residuals(simulated: np.ndarray, observed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised PIT of each observation in its row of simulations (DHARMa's ``getQuantile``, method "PIT").

    r_i ~ U(F_i(y_i-), F_i(y_i)) with F_i the empirical CDF of row i: the
    fraction of simulations below y_i and the fraction at or below it (equal
    for a continuous response, where no randomisation is needed).
    """
    lower = np.mean(simulated < observed[:, None], axis=1)
    upper = np.mean(simulated <= observed[:, None], axis=1)
    ties = lower != upper
    out = lower.copy()
    out[ties] = rng.uniform(lower[ties], upper[ties])
    return out


def _simulation_p(simulated: np.ndarray, observed: float, alternative: str) -> float:
    """DHARMa's ``getP``: where the observed statistic falls among the simulated ones."""
    greater = float(np.mean(simulated >= observed))
    less = float(np.mean(simulated <= observed))
    if alternative == "greater":
        return greater
    if alternative == "less":
        return less
    return min(2 * min(greater, less), 1.0)


@dataclass(frozen=True)
class ResidualTest:
    """The result of a residual test (as R's ``htest``).

    Attributes
    ----------
    method : str
    statistic : float
        KS D; the ratio of observed to mean simulated dispersion or zeros;
        the number (binomial test) or frequency (bootstrap) of outliers.
    p_value : float
    alternative : str

    Examples
    --------
    >>> import glmmfast
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
    >>> t = glmmfast.simulate_residuals(m, seed=1).test_zero_inflation(alternative="greater")
    >>> t.alternative, t.p_value
    ('greater', 0.0)
    """

    method: str
    statistic: float
    p_value: float
    alternative: str

    def __repr__(self) -> str:
        return (f"ResidualTest({self.method}: statistic = {self.statistic:.4g}, p-value = {self.p_value:.4g}, "
                f"alternative = {self.alternative})")


class ScaledResiduals:
    """Scaled residuals simulated from a fitted model (DHARMa's ``DHARMa`` object).

    Returned by :func:`glmmfast.simulate_residuals`; not constructed directly.

    Attributes
    ----------
    residuals : ndarray, shape (n,)
        The scaled residuals, in [0, 1].
    observed : ndarray, shape (n,)
        The response as DHARMa reads it (binomial: numbers of successes).
    simulated : ndarray, shape (n, nsim)
        The simulated responses, on the same scale.
    fitted : ndarray, shape (n,)
        Population-level predictions on the response scale (``re_form="~0"``:
        what DHARMa plots the residuals against and subtracts in the
        dispersion test).
    integer_response : bool
        Counts or successes (residuals randomised between ties).
    re_form : None or str
        The random effects the simulations conditioned on.

    Examples
    --------
    >>> import glmmfast
    >>> m = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
    ...                    glmmfast.datasets.load("cbpp"), "binomial")
    >>> res = glmmfast.simulate_residuals(m, n=100, seed=1)
    >>> res
    <ScaledResiduals: 56 observations, 100 simulations, re_form=None>
    >>> res.observed[:4]  # numbers of successes, as DHARMa reads a cbind response
    array([2., 3., 4., 0.])
    """

    def __init__(self, residuals, observed, simulated, fitted, integer_response: bool, re_form,
                 seed: np.random.SeedSequence):
        self.residuals = residuals
        self.observed = observed
        self.simulated = simulated
        self.fitted = fitted
        self.integer_response = integer_response
        self.re_form = re_form
        self._seed = seed  # for test_outliers' bootstrap: the same answer every call

    @property
    def nsim(self) -> int:
        return self.simulated.shape[1]

    def __len__(self) -> int:
        return self.residuals.size

    def __repr__(self) -> str:
        return f"<ScaledResiduals: {len(self)} observations, {self.nsim} simulations, re_form={self.re_form!r}>"

    def _generic(self, summary, alternative: str, method: str) -> ResidualTest:
        """DHARMa's ``testGeneric``: a summary of the observed response among those of the simulations."""
        alternative = _alternative(alternative)
        observed = summary(self.observed[:, None])[0]
        simulated = summary(self.simulated)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(observed / np.mean(simulated))
        return ResidualTest(method, ratio, _simulation_p(simulated, observed, alternative), alternative)

    def test_uniformity(self, alternative: str = "two-sided") -> ResidualTest:
        """Kolmogorov-Smirnov test of the residuals against U(0, 1) (DHARMa's ``testUniformity``).

        As R's ``ks.test``: the exact distribution below 100 residuals, the
        asymptotic one from 100 on.

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
        >>> res = glmmfast.simulate_residuals(m, seed=1)
        >>> res.test_uniformity().p_value < 0.05   # overdispersed counts: not uniform
        True
        """
        from scipy import stats  # lazily: scipy.stats costs ~0.5 s at import
        alternative = _alternative(alternative)
        method = "exact" if len(self) < 100 else "asymp"
        ks = stats.kstest(self.residuals, "uniform", alternative=alternative, method=method)
        return ResidualTest("Kolmogorov-Smirnov test against U(0, 1)", float(ks.statistic), float(ks.pvalue),
                            alternative)

    def test_dispersion(self, alternative: str = "two-sided") -> ResidualTest:
        """DHARMa's nonparametric dispersion test (``testDispersion``, type "DHARMa").

        The statistic of a response x is var(x - fitted) / var(all
        simulations); the observed one is compared with those of the n
        simulated responses.  ``statistic``: observed / mean simulated
        (> 1: overdispersion).

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
        >>> t = glmmfast.simulate_residuals(m, seed=1).test_dispersion()
        >>> t.statistic > 1, t.p_value < 0.05
        (True, True)
        """
        expected = np.var(self.simulated, ddof=1)

        def spread(x):
            return np.var(x - self.fitted[:, None], axis=0, ddof=1) / expected

        return self._generic(spread, alternative, "nonparametric dispersion test via sd of residuals fitted vs. "
                                                  "simulated")

    def test_zero_inflation(self, alternative: str = "two-sided") -> ResidualTest:
        """Observed number of zeros against the simulated ones (DHARMa's ``testZeroInflation``).

        ``statistic``: observed / mean simulated number of zeros (> 1: more
        zeros than the model expects).

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
        >>> t = glmmfast.simulate_residuals(m, seed=1).test_zero_inflation()
        >>> t.statistic > 1
        True
        """
        return self._generic(lambda x: np.sum(x == 0, axis=0), alternative,
                             "zero-inflation test via comparison to expected zeros with simulation under H0 = "
                             "fitted model")

    def test_outliers(self, alternative: str = "two-sided", margin: str = "both", type: str = "default",
                      n_boot: int = 100) -> ResidualTest:
        """Too many residuals outside the simulations' range? (DHARMa's ``testOutliers``).

        An outlier is an observation below or above all n simulations
        (residual 0 or 1).  ``type="binomial"``: the count of residuals below
        1/(n+1) or above 1 - 1/(n+1) against Binomial(N, 2/(n+1)) (one tail
        with ``margin`` "lower" or "upper"); ``type="bootstrap"``: the
        observed outlier frequency against that of ``n_boot`` simulated
        responses each treated as data (with resampled simulations as the
        reference).  ``"default"``: bootstrap for integer responses with at
        most 500 observations, else binomial (as DHARMa).

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)", glmmfast.datasets.load("grouseticks"),
        ...                    "poisson")
        >>> t = glmmfast.simulate_residuals(m, seed=1).test_outliers()
        >>> 0 <= t.p_value <= 1
        True
        """
        from scipy import stats  # lazily: scipy.stats costs ~0.5 s at import
        alternative = _alternative(alternative)
        check_choice("margin", margin, ("both", "upper", "lower"))
        check_choice("type", type, ("default", "bootstrap", "binomial"))
        n_boot = check_nsim(n_boot, "n_boot")
        if type == "default":
            type = "bootstrap" if self.integer_response and len(self) <= 500 else "binomial"
        if type == "binomial":
            cut = 1 / (self.nsim + 1)
            low, high = int(np.sum(self.residuals < cut)), int(np.sum(self.residuals > 1 - cut))
            k = {"both": low + high, "upper": high, "lower": low}[margin]
            p = cut * (2 if margin == "both" else 1)
            test = stats.binomtest(k, len(self), p, alternative=alternative)
            return ResidualTest("outlier test based on exact binomial test with approximate expectations", float(k),
                                float(test.pvalue), alternative)
        observed = self._outlier_frequency(self.residuals, margin)
        rng = np.random.default_rng(self._seed)  # a fresh stream from the stored seed: same answer every call
        n_boot = min(int(n_boot), self.nsim)  # DHARMa: nBoot > nSim "does not make much sense"
        boot = np.empty(n_boot)
        for i in range(n_boot):
            others = np.delete(np.arange(self.nsim), i)
            sel = rng.choice(others, size=self.nsim, replace=True)
            r = pit_residuals(self.simulated[:, sel], self.simulated[:, i], rng)
            boot[i] = self._outlier_frequency(r, margin)
        return ResidualTest("bootstrapped outlier test", observed, _simulation_p(boot, observed, alternative),
                            alternative)

    @staticmethod
    def _outlier_frequency(r: np.ndarray, margin: str) -> float:
        low, high = float(np.mean(r == 0)), float(np.mean(r == 1))
        return {"both": low + high, "upper": high, "lower": low}[margin]


def _seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return np.random.SeedSequence(seed)
    raise ArgumentError(f"seed must be None, a non-negative integer or a numpy SeedSequence, got {seed!r}")


def simulate_residuals(fit, n: int = 250, seed=None, re_form=None) -> ScaledResiduals:
    """Scaled (quantile) residuals from simulations of a fitted model, as DHARMa's ``simulateResiduals``.

    ``n`` responses are simulated from the fitted model; each observation's
    residual is its randomised probability integral transform among the n
    simulated values of its row (uniform between the fraction of simulations
    below and at or below it), so residuals are uniform on [0, 1] when the
    model is right, whatever the family.  As DHARMa 0.5, the simulations
    condition on the fitted random effects (``re_form=None``, DHARMa's
    ``simulateREs = "conditional"``, its default since 0.5.0); ``re_form="~0"``
    draws new random effects (``"unconditional"``, the default of DHARMa
    0.4 and of lme4's ``simulate``).  Conditional residuals are slightly
    concentrated towards 0.5 (the modes absorb part of each group's
    deviation), which makes the tests conservative; with an
    observation-level random effect they absorb nearly all of it, so check
    such models with ``re_form="~0"``.  Unconditional residuals are
    marginally uniform but correlated within groups.

    Parameters
    ----------
    fit : GlmerResult or LmerResult
        A poisson, binomial or negative-binomial GLMM, or a linear mixed model.
    n : int, default 250
        Number of simulations (at least 2).
    seed : int, numpy.random.SeedSequence or None
        Makes the simulations, the randomisation and the outlier bootstrap
        reproducible.
    re_form : None or str, default None
        Random-effects terms to condition on, as in :meth:`GlmerResult.simulate`.

    Returns
    -------
    ScaledResiduals
        With ``test_uniformity()``, ``test_dispersion()``,
        ``test_zero_inflation()`` and ``test_outliers()``; plot with
        :func:`glmmfast.plots.residual_check`.

    Raises
    ------
    FamilyError
        For families without a simulator (Gamma, inverse Gaussian, gaussian
        GLMMs with a non-identity link).
    DataError
        Binomial rows with zero trials (their residual is undefined) or
        non-integer trials.

    Examples
    --------
    >>> import glmmfast
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)", glmmfast.datasets.load("grouseticks"),
    ...                    "poisson")
    >>> res = glmmfast.simulate_residuals(m, n=250, seed=1)
    >>> res.residuals.shape, bool(((res.residuals >= 0) & (res.residuals <= 1)).all())
    ((403,), True)
    """
    from ..results._results import LmerResult, MixedResult

    if not isinstance(fit, MixedResult):
        raise ArgumentTypeError(f"simulate_residuals needs a fitted mixed model (glmer or lmer), got {type(fit).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ArgumentError(f"n must be an integer of at least 2 (the residuals are quantiles among n simulations), "
                         f"got {n!r}")
    design = fit._design
    sigma = fit.sigma if isinstance(fit, LmerResult) else None
    blocks = [modes for _, modes, _ in fit._ranef_parts()]
    dispersion = None if isinstance(fit, LmerResult) else fit.family_parameters.get("dispersion")
    simulator = ResponseSimulator(design, fit.fixef.to_numpy(), fit.theta, blocks, re_form, sigma=sigma,
                                  dispersion=dispersion)
    ss = _seed_sequence(seed)
    sim_seed, pit_seed, test_seed = ss.spawn(3)
    simulated = simulator.draw(np.random.default_rng(sim_seed), int(n))
    observed = np.asarray(design.y, dtype=float)
    if design.family.name == "binomial":  # DHARMa works with numbers of successes
        trials = _trials_for(design, None)
        if np.any(trials == 0):
            raise DataError(f"{int(np.sum(trials == 0))} observations have zero binomial trials (prior weight 0): "
                            "their scaled residual is undefined; drop them and refit")
        observed = np.round(observed * trials)
        simulated = np.round(simulated * trials[:, None])
    residuals = pit_residuals(simulated, observed, np.random.default_rng(pit_seed))
    fitted = np.asarray(fit.predict(type="response", re_form="~0"), dtype=float)
    return ScaledResiduals(residuals, observed, simulated, fitted, design.family.name in _INTEGER_FAMILIES,
                           re_form, test_seed)
