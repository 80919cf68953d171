"""Distribution families and link functions for :func:`glmmfast.glmer`,
:func:`glmmfast.glmer_nb` and :func:`glmmfast.glm`.

A family object is a small, picklable specification (distribution name,
link name and, for the negative binomial, the shape theta).  The
element-wise mathematics (inverse link, variance, unit deviances, log
density) lives in the C++ engine; the methods here forward to it so that
residuals and fitted values are computed by the same code the fit used.

Families and links (R's names; the first is the default):

============================  ==========================================
``Poisson``                   log, identity, sqrt
``Binomial``                  logit, probit, cloglog, cauchit, log
``Gaussian``                  identity, log, inverse
``Gamma``                     inverse, identity, log
``InverseGaussian``           1/mu^2, inverse, identity, log
``NegativeBinomial(theta)``   log, sqrt, identity (variance mu + mu^2/theta)
``NBinom1(phi)``              log, sqrt, identity (variance mu (1 + phi))
``TruncatedPoisson``          log, identity, sqrt (zero-truncated)
``TruncatedNBinom2(theta)``   log, sqrt, identity (zero-truncated NB2)
``Beta(phi)``                 logit, probit, cloglog (proportions in (0, 1))
``BetaBinomial(phi)``         logit, probit, cloglog (successes of trials)
``StudentT(df, sigma)``       identity, log, inverse (Student t)
``TruncatedNBinom1(phi)``     log, sqrt, identity (zero-truncated NB1)
``GenPois(phi)``              log, sqrt, identity (variance phi mu)
``COMPois(phi)``              log, sqrt, identity (Conway-Maxwell-Poisson, nu = 1/phi)
``Tweedie(power)``            log (compound Poisson-Gamma, variance phi mu^p)
============================  ==========================================

By glmmTMB's names, :func:`glmmfast.glmer` also takes ``"nbinom2"`` (the
negative binomial with theta estimated), ``"nbinom1"`` (phi estimated),
``"truncated_poisson"``, ``"truncated_nbinom2"`` (theta estimated), ``"truncated_nbinom1"``, ``"genpois"``,
``"compois"`` (phi estimated), ``"ziGamma"`` (Gamma with zeros from its ``ziformula``),
``"beta"`` and ``"betabinomial"`` (precision phi estimated) and ``"t"`` (Student t, sigma
estimated; df fixed with ``StudentT(df=...)``) and ``"tweedie"`` (phi and the power
estimated).  Zero inflation and hurdles (``ziformula``) are a property
of the fit, not of the family (:mod:`glmmfast.fit._zero_inflation`).

Any other link raises :class:`~glmmfast.FamilyError` listing the valid ones.

Dispersion and the likelihood (glmer)
-------------------------------------
For the families with a dispersion parameter phi (gaussian with a
non-identity link, Gamma, inverse Gaussian), :func:`glmmfast.glmer`
estimates phi by maximum likelihood, as an extra parameter (log phi) of the
outer optimisation, and reports the Laplace approximation of the marginal
log-likelihood with the exact (observed-information) Hessian of the
conditional log density in the random effects -- the quantity glmmTMB
maximises and reports.  This is what glmmfast matches (to 0.002 in
-2 log L, ``tests/test_glmer_families.py``), and lme4 is *not* matched for
these families, deliberately: lme4's glmer solves the penalised problem
sum d_i + ||u||^2 without dividing the deviance by phi, takes phi from the
conditional deviance and reports a "logLik" whose random-effects penalty is
not scaled by phi, so it is not the likelihood of any model (on sleepstudy
with a Gamma log link it is 26 units of -2 log L *below* glmmTMB's maximised
Laplace likelihood, which no valid likelihood at lme4's own estimates can
be).  A careful user wants estimates that maximise a stated likelihood and a
logLik/AIC comparable with other models, so glmmfast follows glmmTMB: phi is
counted as one parameter in AIC, BIC and df.resid, and ``sigma`` is
sqrt(phi) (the residual standard deviation for the gaussian, the
coefficient of variation for the Gamma).  The variance components are on
the absolute scale (not relative to sigma).

For every family, the Laplace term uses the exact Hessian at the
conditional mode.  With a canonical link (logit, poisson log, ...) this is
lme4's number too; with a non-canonical one (probit, cloglog, the negative
binomial's log, Gamma's log, ...) lme4 uses the expected information
instead and its -2 log L differs from glmmTMB's (cbpp with a probit link:
lme4 185.2425, glmmTMB and glmmfast 185.1667).  glmmfast follows glmmTMB:
the exact Hessian is the Laplace approximation proper.

The negative binomial (NB2, glmmTMB's ``nbinom2``) has no dispersion; its
shape theta is either fixed (``NegativeBinomial(theta=...)``) or estimated
by maximum likelihood jointly with the other parameters
(:func:`glmmfast.glmer_nb`).  Its log density includes the lgamma
normalising constants, as MASS's ``negative.binomial()$aic``.

Prior weights follow R: binomial weights are numbers of trials; for the
gaussian they divide the variance (phi / w); for the other families the
log density of an observation is multiplied by its weight (R's
``family$aic``; glmmTMB's weights).

Examples
--------
>>> from glmmfast import families
>>> families.Binomial(link="probit")
Binomial(link='probit')
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from . import _core
from ._errors import FamilyError

__all__ = ["Family", "Poisson", "Binomial", "Gaussian", "Gamma", "InverseGaussian", "NegativeBinomial",
           "NBinom1", "TruncatedPoisson", "TruncatedNBinom2", "TruncatedNBinom1", "GenPois", "COMPois", "Beta",
           "BetaBinomial", "StudentT", "Tweedie", "get_family"]


def _engine_links(family: str) -> tuple[str, ...]:
    """The links the engine's registry lists for ``family`` (R's name), its default first.

    The engine's registry (cpp/src/family/registry.cpp) is the one list of
    families and links; the classes below take theirs from it.
    """
    return tuple(_core.link_names(family))


def _observation_arrays(y, **others) -> list[np.ndarray]:
    """``y`` and the named per-observation arrays as 1-d floats, or a DataError naming the one whose length differs."""
    from ._errors import DataError

    arrays = [np.asarray(y, dtype=float).ravel()]
    for name, a in others.items():
        a = np.asarray(a, dtype=float).ravel()
        if a.size != arrays[0].size:
            raise DataError(f"{name} has {a.size} values but y has {arrays[0].size}")
        arrays.append(a)
    return arrays


def _dispersion(phi: float) -> float:
    """The dispersion as a float, or a DataError unless it is positive and finite."""
    from ._errors import DataError

    phi = float(phi)
    if not (np.isfinite(phi) and phi > 0):
        raise DataError(f"dispersion must be positive and finite, got {phi!r}")
    return phi


def _diverging_columns(X: np.ndarray, at_boundary: np.ndarray) -> list[int]:
    """Columns of ``X`` that a direction of divergence moves.

    A direction d in coefficient space with X_i d = 0 for every observation
    i off the boundary and X_B d != 0 on those at it changes only the fits
    that sit on the boundary: along it the likelihood can keep growing
    without bound (separation), so its coefficients are the diverging ones.
    Such d span the null space of X's off-boundary rows (from their SVD,
    numpy's rank tolerance) that X_B does not annihilate.
    """
    if not at_boundary.any():
        return []
    X_off, X_on = X[~at_boundary], X[at_boundary]
    p = X.shape[1]
    # zero rows keep the null space and give the SVD all p right singular vectors
    X_off = np.vstack([X_off, np.zeros((max(p - X_off.shape[0], 0), p))])
    _, sv, vt = np.linalg.svd(X_off, full_matrices=False)
    rank = int(np.sum(sv > sv.max() * max(X_off.shape) * np.finfo(float).eps))
    null = vt[rank:].T
    moves = np.linalg.norm(X_on @ null, axis=0) > 1e-8 * max(1.0, np.abs(X_on).max())
    null = null[:, moves]
    return [j for j in range(p) if null.size and np.abs(null[j]).max() > 1e-6]


_EPS = 1e-12  # mu this close to the edge of its range is "numerically" there
_LEVEL_EPS = 1e-8  # ... and every mean of a column's observations this close: a diverging coefficient


class Family:
    """Base class: a distribution with a link function.

    Parameters
    ----------
    link : str, optional
        Name of the link function; defaults to the family's canonical link.

    Examples
    --------
    >>> from glmmfast.families import Poisson
    >>> Poisson(), Poisson("sqrt").link
    (Poisson(link='log'), 'sqrt')
    """

    name: ClassVar[str] = ""
    links: ClassVar[tuple[str, ...]] = ()
    default_link: ClassVar[str] = ""
    #: whether the family has a free dispersion parameter (sigma)
    has_dispersion: ClassVar[bool] = False
    #: negative-binomial shape (1.0, unused, for the others)
    theta: float = 1.0
    #: whether y = 0 has probability 0 (a hurdle's count part, the Gamma):
    #: zeros then need a ziformula
    zero_truncated: ClassVar[bool] = False
    #: whether the prior weights are numbers of trials (binomial, betabinomial):
    #: the response may be ``cbind(successes, failures)`` or proportions
    trials_response: ClassVar[bool] = False
    #: whether only glmmTMB (not R's stats / lme4) has the family: fits print glmmTMB's summary
    glmmtmb_family: ClassVar[bool] = False
    #: whether glmmTMB's sigma() is the dispersion phi itself (tweedie), not sqrt(phi)
    sigma_is_dispersion: ClassVar[bool] = False

    def __init__(self, link: str | None = None) -> None:
        link = self.default_link if link is None else link
        if not isinstance(link, str) or link not in self.links:
            raise FamilyError(
                f"link {link!r} is not available for the {self.name} family; "
                f"choose one of {', '.join(repr(k) for k in self.links)}"
            )
        self.link = link
        self._engine = None

    # The C++ object is rebuilt on demand, so families pickle as plain specs.
    def __getstate__(self) -> dict:
        return {"link": self.link}

    def __setstate__(self, state: dict) -> None:
        self.link = state["link"]
        self._engine = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(link={self.link!r})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.link == other.link  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.link))

    @property
    def display_name(self) -> str:
        """The name lme4's summary prints on its ``Family:`` line."""
        return self.name

    @property
    def engine(self):
        """The engine's family object (private use)."""
        if self._engine is None:
            from . import _core

            self._engine = _core.Family(self.name, self.link, self.theta)
            for name, value in self.shapes().items():
                self._engine.set_shape(name, value)
        return self._engine

    def shapes(self) -> dict[str, float]:
        """Shape parameters the engine's distribution holds by name, besides theta (nbinom1's phi).

        Examples
        --------
        >>> from glmmfast.families import NBinom1, Poisson
        >>> Poisson().shapes(), NBinom1(phi=2.0).shapes()
        ({}, {'phi': 2.0})
        """
        return {}

    def conditional_mean(self, mu: np.ndarray) -> np.ndarray:
        """E(y) given the mean parameter mu: mu itself, except for the zero-truncated families.

        Examples
        --------
        >>> from glmmfast.families import Poisson
        >>> Poisson().conditional_mean([2.0]).tolist()
        [2.0]
        """
        return np.asarray(mu, dtype=float)

    def with_shape(self, value: float) -> "Family":
        """The family with its estimated shape parameter at ``value`` (families that have one).

        Examples
        --------
        >>> from glmmfast.families import NBinom1
        >>> NBinom1(phi=2.0).with_shape(3.0)
        NBinom1(phi=3.0, link='log')
        """
        raise FamilyError(f"the {self.name} family has no shape parameter")

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        """Link function g(mu), as R's ``family$linkfun``.

        Parameters
        ----------
        mu : array-like
            Means.

        Returns
        -------
        ndarray
            eta = g(mu).

        Examples
        --------
        >>> from glmmfast.families import Binomial
        >>> Binomial().linkfun([0.5, 0.75]).round(4)
        array([0.    , 1.0986])
        """
        return self.engine.linkfun(np.asarray(mu, dtype=float))

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        """Inverse link g^{-1}(eta), as R's ``family$linkinv``.

        Parameters
        ----------
        eta : array-like
            Linear predictor.

        Returns
        -------
        ndarray
            mu.

        Examples
        --------
        >>> from glmmfast.families import Poisson
        >>> Poisson().linkinv([0.0, 1.0]).round(4)
        array([1.    , 2.7183])
        """
        return self.engine.linkinv(np.asarray(eta, dtype=float))

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        """Derivative d mu / d eta, as R's ``family$mu.eta``.

        Parameters
        ----------
        eta : array-like

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from glmmfast.families import Binomial
        >>> Binomial().mu_eta([0.0]).tolist()
        [0.25]
        """
        return self.engine.mu_eta(np.asarray(eta, dtype=float))

    def variance(self, mu: np.ndarray) -> np.ndarray:
        """Variance function V(mu), as R's ``family$variance`` (Var y = phi V(mu)).

        Parameters
        ----------
        mu : array-like

        Returns
        -------
        ndarray

        Examples
        --------
        >>> from glmmfast.families import Gamma
        >>> Gamma().variance([2.0]).tolist()
        [4.0]
        """
        return self.engine.variance(np.asarray(mu, dtype=float))

    def dev_resid(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Prior-weighted unit deviances, as R's ``family$dev.resids``.

        Parameters
        ----------
        y, mu, wt : array-like
            Responses, means and prior weights.

        Returns
        -------
        ndarray
            Their sum is the deviance.

        Examples
        --------
        >>> from glmmfast.families import Poisson
        >>> Poisson().dev_resid([0.0, 2.0], [1.0, 2.0], [1.0, 1.0]).tolist()
        [2.0, 0.0]
        """
        return self.engine.dev_resid(*_observation_arrays(y, mu=mu, wt=wt))

    def log_density(self, y: np.ndarray, eta: np.ndarray, wt: np.ndarray, dispersion: float = 1.0) -> np.ndarray:
        """Prior-weighted log density of each observation at linear predictor ``eta``.

        Computed from ``eta`` itself, without the clamps ``linkinv`` applies
        (e.g. log mu = -log1p(exp(-eta)) for the logit), so it never exceeds
        the true log density, even at extreme ``eta``; ``-inf`` where
        ``eta`` gives a mean outside the family's range.  These are the
        terms the fit sums; weights as :meth:`loglik`.

        Examples
        --------
        >>> from glmmfast.families import Binomial
        >>> Binomial().log_density(np.array([0.0, 1.0]), np.array([-800.0, -800.0]), np.ones(2)).tolist()
        [0.0, -800.0]
        """
        return self.engine.log_density(*_observation_arrays(y, eta=eta, wt=wt), _dispersion(dispersion))

    def loglik(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray, dispersion: float = 1.0) -> float:
        """Log-likelihood with the family's normalising constants (-R's ``family$aic / 2``).

        Parameters
        ----------
        y, mu, wt : array-like
            Responses, means and prior weights.
        dispersion : float, default 1
            phi, for the families that have one.

        Returns
        -------
        float

        Examples
        --------
        >>> from glmmfast.families import Poisson
        >>> round(Poisson().loglik([0.0, 2.0], [1.0, 2.0], [1.0, 1.0]), 4)
        -2.3069
        """
        return self.engine.loglik(*_observation_arrays(y, mu=mu, wt=wt), float(dispersion))

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        """Raise :class:`~glmmfast.DataError` if ``y`` cannot come from this family.

        Called by the design stage, before the engine runs, with the
        response and prior weights of the complete rows; families override
        it (e.g. a Gamma family refuses non-positive values).

        Parameters
        ----------
        y, weights : ndarray

        Raises
        ------
        DataError

        Examples
        --------
        >>> from glmmfast.families import Gamma
        >>> Gamma().check_response(np.array([0.0, 1.0]), np.ones(2))
        Traceback (most recent call last):
        ...
        glmmfast._errors.DataError: non-positive values are not allowed for the Gamma family
        """

    #: R's glm.fit warning for fitted means on the boundary of the range (None: no boundary)
    boundary_warning: ClassVar[str | None] = None

    def at_boundary(self, mu: np.ndarray, eps: float = _EPS) -> np.ndarray:
        """Which fitted means lie within ``eps`` of the boundary of the family's range.

        Examples
        --------
        >>> from glmmfast.families import Binomial
        >>> Binomial().at_boundary(np.array([0.5, 1e-13])).tolist()
        [False, True]
        """
        return np.zeros(np.shape(mu), dtype=bool)

    def boundary_message(self, mu: np.ndarray, X: np.ndarray | None = None,
                         x_names: list[str] | None = None) -> str | None:
        """A warning if fitted means sit on the boundary of the family's range, else None.

        As R's ``glm.fit`` warning, with a tolerance of 1e-12 because the
        engine clamps inverse links as lme4 does (logit at eta = +/-30, i.e.
        mu = 9.4e-14); such fits usually mean separation (binomial) or a
        zero-rate group (poisson), with some fixed effects diverging to
        infinity.  Given the fixed-effects model matrix ``X`` and its column
        names, the message names the coefficients that can diverge
        (:func:`_diverging_columns`): those moving the linear predictor of
        the observations fitted within 1e-8 of the boundary while leaving
        every other observation's unchanged, e.g. the dummy of a factor
        level whose responses are all 0, or the intercept and the other
        levels' dummies when it is the reference level.  (The optimiser stops
        where the likelihood it would still gain is below its tolerance,
        which can leave such means near 1e-10 rather than 1e-12.)

        Parameters
        ----------
        mu : ndarray
            Fitted means.
        X : ndarray, optional
            The fixed-effects model matrix, to name the diverging coefficients.
        x_names : list of str, optional
            Its column names.

        Returns
        -------
        str or None

        Examples
        --------
        >>> from glmmfast.families import Binomial
        >>> Binomial().boundary_message(np.array([0.5, 1.0]))[:41]
        'fitted probabilities numerically 0 or 1 o'
        """
        if self.boundary_warning is None:
            return None
        mu = np.asarray(mu)
        near = self.at_boundary(mu, _LEVEL_EPS)
        if not near.any():  # none within 1e-8 of the boundary, so none within 1e-12 either (the usual fit)
            return None
        cols = []
        if X is not None and x_names is not None:
            cols = [x_names[j] for j in _diverging_columns(np.asarray(X, dtype=float), near)]
        if not cols:
            return self.boundary_warning if self.at_boundary(mu).any() else None
        return f"{self.boundary_warning}. Coefficients that can diverge: {', '.join(cols)}"


# Above 2^53 doubles are spaced more than 1 apart: not every count exists.
_EXACT_LIMIT = 2.0**53


def _check_exact(values: np.ndarray, what: str, family: str) -> None:
    """Refuse counts above 2^53, where double precision no longer holds every integer."""
    from ._errors import DataError

    if (values > _EXACT_LIMIT).any():  # the array's method: np.any's dispatch costs more on small data
        raise DataError(f"{what} above 2^53 = 9007199254740992 (largest: {np.max(values):.6g}) cannot be held "
                        f"exactly in double precision; the {family} family cannot use them (rescale, or model "
                        f"them as continuous)")


def _check_counts(y: np.ndarray, family: str) -> None:
    """A count response: non-negative whole numbers that doubles represent exactly."""
    from ._errors import DataError

    if (y < 0).any():
        raise DataError(f"negative values are not allowed for the {family} family")
    _check_exact(y, "counts", family)
    # R's dpois/dnbinom warn and return a zero density for non-integers,
    # which makes the likelihood meaningless; refuse them instead.
    if (y != np.round(y)).any():
        raise DataError(f"non-integer counts are not allowed for the {family} family")


class Poisson(Family):
    """Poisson counts (``link`` = ``"log"``, ``"identity"`` or ``"sqrt"``).

    Examples
    --------
    >>> from glmmfast.families import Poisson
    >>> Poisson("sqrt").variance([4.0]).tolist()
    [4.0]
    """

    name = "poisson"
    links = _engine_links(name)
    default_link = links[0]

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _check_counts(y, "poisson")

    boundary_warning = ("fitted rates numerically 0 occurred: some fixed effects may be diverging to -Inf "
                        "(a level or group with only zero counts?)")

    def at_boundary(self, mu: np.ndarray, eps: float = _EPS) -> np.ndarray:
        return np.asarray(mu) < eps


class Binomial(Family):
    """Binomial proportions (``link`` = ``"logit"``, ``"probit"``, ``"cloglog"``, ``"cauchit"`` or ``"log"``).

    The response may be 0/1, a boolean, a factor (first level = failure),
    a proportion with ``weights`` giving the number of trials, or
    ``cbind(successes, failures)`` in the formula.

    Examples
    --------
    >>> from glmmfast.families import Binomial
    >>> Binomial(link="probit").linkinv([0.0]).tolist()
    [0.5]
    """

    name = "binomial"
    links = _engine_links(name)
    default_link = links[0]
    trials_response = True

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _check_proportions(y, weights, self.name)

    boundary_warning = ("fitted probabilities numerically 0 or 1 occurred: complete or quasi-complete separation? "
                        "Some fixed effects may be diverging to +/-Inf")

    def at_boundary(self, mu: np.ndarray, eps: float = _EPS) -> np.ndarray:
        mu = np.asarray(mu)
        return (mu > 1 - eps) | (mu < eps)


def _check_proportions(y: np.ndarray, weights: np.ndarray, family: str) -> None:
    """Proportions of whole numbers of trials (the prior weights), as R's binomial family takes them."""
    from ._errors import DataError

    if np.any((y < 0) | (y > 1)):
        raise DataError(f"{family} response must be in [0, 1] (proportions), 0/1, or cbind(successes, failures)")
    _check_exact(weights, "numbers of trials (weights)", family)


class Gaussian(Family):
    """Normal errors (``link`` = ``"identity"``, ``"log"`` or ``"inverse"``).

    Examples
    --------
    >>> from glmmfast.families import Gaussian
    >>> Gaussian(link="log").has_dispersion, Gaussian().variance([3.0]).tolist()
    (True, [1.0])
    """

    name = "gaussian"
    links = _engine_links(name)
    default_link = links[0]
    has_dispersion = True

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        from ._errors import DataError

        # R's gaussian()$initialize: no starting values from y otherwise.
        if (self.link == "log" and np.any(y <= 0)) or (self.link == "inverse" and np.any(y == 0)):
            raise DataError(f"the gaussian family with the {self.link} link needs "
                            f"{'positive' if self.link == 'log' else 'non-zero'} responses (R: cannot find valid "
                            "starting values)")


def _check_positive(y: np.ndarray, family: str) -> None:
    from ._errors import DataError

    if np.any(y <= 0):
        raise DataError(f"non-positive values are not allowed for the {family} family")


class Gamma(Family):
    """Gamma responses (``link`` = ``"inverse"``, ``"identity"`` or ``"log"``), variance phi mu^2.

    phi (the squared coefficient of variation) is estimated by maximum
    likelihood in :func:`glmmfast.glmer` (see the module docstring).

    Examples
    --------
    >>> from glmmfast.families import Gamma
    >>> Gamma(link="log").linkinv([0.0]).tolist()
    [1.0]
    """

    name = "Gamma"
    links = _engine_links(name)
    default_link = links[0]
    has_dispersion = True
    zero_truncated = True

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _check_positive(y, "Gamma")


class InverseGaussian(Family):
    """Inverse Gaussian responses (``link`` = ``"1/mu^2"``, ``"inverse"``, ``"identity"`` or ``"log"``),
    variance phi mu^3.

    Examples
    --------
    >>> from glmmfast.families import InverseGaussian
    >>> InverseGaussian().link, InverseGaussian().variance([2.0]).tolist()
    ('1/mu^2', [8.0])
    """

    name = "inverse.gaussian"
    links = _engine_links(name)
    default_link = links[0]
    has_dispersion = True
    zero_truncated = True

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _check_positive(y, "inverse.gaussian")


def _positive_parameter(value, what: str) -> float:
    """``value`` as a float if it is a positive finite number (FamilyError naming ``what`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise FamilyError(f"{what} must be a positive finite number, got {value!r}")
    return float(value)


class _ShapeFamily(Family):
    """A family holding one positive shape parameter, the attribute named ``shape_name``: pickles,
    prints and compares with it."""

    shape_name: ClassVar[str] = ""

    def __getstate__(self) -> dict:
        return {"link": self.link, self.shape_name: getattr(self, self.shape_name)}

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        setattr(self, self.shape_name, state[self.shape_name])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.shape_name}={getattr(self, self.shape_name)!r}, link={self.link!r})"

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and getattr(self, self.shape_name) == getattr(other, self.shape_name)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.link, getattr(self, self.shape_name)))


class _PhiFamily(_ShapeFamily):
    """A family whose one shape parameter is ``phi`` (nbinom1, truncated_nbinom1, genpois, compois, beta,
    betabinomial; glmmTMB's ``sigma()``), held by the engine's distribution under that name and estimated
    by :func:`glmmfast.glmer` under the family's glmmTMB name."""

    shape_name = "phi"
    glmmtmb_family = True
    #: phi's moment start is offset + e, e = Var y / mu - 1 from a Poisson fit (0: NB1's phi is e; 1:
    #: genpois's and compois's phi approximate Var y / mu), clipped to [lower, 1000]
    phi_start_offset: ClassVar[float] = 0.0
    phi_start_lower: ClassVar[float] = 1e-3

    def __init__(self, phi: float = 1.0, link: str | None = None) -> None:
        self.phi = _positive_parameter(phi, f"{self.name} phi")
        super().__init__(link)

    def shapes(self) -> dict[str, float]:
        return {"phi": self.phi}

    def with_shape(self, value: float) -> "_PhiFamily":
        return type(self)(value, self.link)

    def shape_start(self, excess: float) -> float:
        """phi's moment start from a Poisson fit's excess dispersion ``excess`` = Var y / mu - 1 (finite).

        Examples
        --------
        >>> from glmmfast.families import GenPois, NBinom1
        >>> NBinom1().shape_start(1.5), GenPois().shape_start(1.5)
        (1.5, 2.5)
        """
        return float(np.clip(self.phi_start_offset + excess, self.phi_start_lower, 1e3))

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _check_counts(y, self.name)


class NegativeBinomial(_ShapeFamily):
    """Negative binomial counts with a fixed shape ``theta`` (NB2: variance mu + mu^2/theta).

    As MASS's ``negative.binomial(theta, link)``; ``link`` = ``"log"``
    (default), ``"sqrt"`` or ``"identity"``.  To estimate theta use
    :func:`glmmfast.glmer_nb`.

    Parameters
    ----------
    theta : float
        Shape, positive.
    link : str, optional

    Examples
    --------
    >>> from glmmfast.families import NegativeBinomial
    >>> NegativeBinomial(theta=2.0).variance([4.0]).tolist()
    [12.0]
    """

    name = "negative.binomial"
    links = _engine_links(name)
    default_link = links[0]

    shape_name = "theta"

    def __init__(self, theta: float, link: str | None = None) -> None:
        self.theta = _positive_parameter(theta, "negative binomial theta")
        super().__init__(link)

    @property
    def display_name(self) -> str:
        # MASS: paste0("Negative Binomial(", format(round(theta, 4)), ")")
        from .summary._r_format import r_format_num

        return f"Negative Binomial({r_format_num(round(self.theta, 4))})"

    def with_shape(self, value: float) -> "NegativeBinomial":
        return type(self)(value, self.link)

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _check_counts(y, "negative binomial")


class NBinom1(_PhiFamily):
    """Negative binomial counts NB1 (glmmTMB's ``nbinom1``): variance mu (1 + phi).

    ``phi`` (glmmTMB's ``sigma()`` for this family) is estimated by
    :func:`glmmfast.glmer` with ``family="nbinom1"``; this object holds a
    value (the start, or the estimate in a fit's ``family``).

    Parameters
    ----------
    phi : float, default 1
        Positive.
    link : str, optional
        ``"log"`` (default), ``"sqrt"`` or ``"identity"``.

    Examples
    --------
    >>> from glmmfast.families import NBinom1
    >>> NBinom1(phi=2.0).variance([4.0]).tolist()
    [12.0]
    """

    name = "nbinom1"
    links = _engine_links(name)
    default_link = links[0]


class GenPois(_PhiFamily):
    """Generalised Poisson counts (glmmTMB's ``genpois``): mean mu, variance phi mu.

    glmmTMB's parameterisation: the link models the mean mu, and ``phi`` is
    glmmTMB's ``sigma()`` (the index of dispersion Var y / mu; its
    dispersion model's ``exp(betad)``), estimated by :func:`glmmfast.glmer`
    with ``family="genpois"``.  Consul's parameters are theta = mu / sqrt(phi)
    and lambda = 1 - 1 / sqrt(phi): P(y) = theta (theta + lambda y)^(y - 1)
    e^(-theta - lambda y) / y!.  phi < 1 (under-dispersion) truncates the
    support where theta + lambda y <= 0.

    Parameters
    ----------
    phi : float, default 1
        Positive (1: Poisson).
    link : str, optional
        ``"log"`` (default), ``"sqrt"`` or ``"identity"``.

    Examples
    --------
    >>> from glmmfast.families import GenPois
    >>> GenPois(phi=2.0).variance([4.0]).tolist()
    [8.0]
    """

    name = "genpois"
    links = _engine_links(name)
    default_link = links[0]
    phi_start_offset = 1.0  # phi = Var y / mu
    phi_start_lower = 0.05


class COMPois(_PhiFamily):
    """Conway-Maxwell-Poisson counts (glmmTMB's ``compois``) in the mean parameterisation.

    P(y) = lambda^y / (y!)^nu / Z(lambda, nu), Z = sum_j lambda^j / (j!)^nu.
    As glmmTMB, the link models the MEAN mu = E y (lambda solves
    E y = mu, by Newton in the engine), and ``phi`` = 1 / nu is glmmTMB's
    ``sigma()`` (its dispersion model's ``exp(betad)``); phi < 1 is
    under-dispersed, phi = 1 Poisson, phi > 1 over-dispersed.  Estimated by
    :func:`glmmfast.glmer` with ``family="compois"``.

    Parameters
    ----------
    phi : float, default 1
        Positive.
    link : str, optional
        ``"log"`` (default), ``"sqrt"`` or ``"identity"``.

    Examples
    --------
    >>> from glmmfast.families import COMPois
    >>> COMPois(phi=1.0).variance([3.0]).round(10).tolist()
    [3.0]
    """

    name = "compois"
    links = _engine_links(name)
    default_link = links[0]
    phi_start_offset = 1.0  # phi = 1 / nu ~ Var y / mu
    phi_start_lower = 0.05


class TruncatedPoisson(Family):
    """Zero-truncated Poisson counts (glmmTMB's ``truncated_poisson``): the count part of a Poisson hurdle.

    ``mu`` is the untruncated mean: E y = mu / (1 - e^-mu).  Without a
    ``ziformula`` every count must be positive; with one, zeros come from
    the zero part (a hurdle model).

    Examples
    --------
    >>> from glmmfast.families import TruncatedPoisson
    >>> TruncatedPoisson().link
    'log'
    """

    name = "truncated_poisson"
    links = _engine_links(name)
    default_link = links[0]
    zero_truncated = True
    glmmtmb_family = True

    def conditional_mean(self, mu: np.ndarray) -> np.ndarray:
        """E(y | y > 0) = mu / (1 - e^-mu).

        Examples
        --------
        >>> from glmmfast.families import TruncatedPoisson
        >>> TruncatedPoisson().conditional_mean([1.0]).round(4).tolist()
        [1.582]
        """
        mu = np.asarray(mu, dtype=float)
        return mu / -np.expm1(-mu)

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _truncated_counts(y, weights, self.name)


def _truncated_counts(y: np.ndarray, weights: np.ndarray, family: str) -> None:
    """Counts with no zeros (a hurdle's zeros come from its ziformula)."""
    from ._errors import DataError

    _check_counts(y, family)
    if np.any((y == 0) & (weights > 0)):
        raise DataError(f"zero counts are not allowed for the {family} family (a hurdle model takes its zeros "
                        "from a ziformula)")


class TruncatedNBinom2(NegativeBinomial):
    """Zero-truncated NB2 counts (glmmTMB's ``truncated_nbinom2``): the count part of an NB hurdle.

    ``mu`` is the untruncated mean, ``theta`` the shape (estimated by
    :func:`glmmfast.glmer` with ``family="truncated_nbinom2"``).

    Examples
    --------
    >>> from glmmfast.families import TruncatedNBinom2
    >>> TruncatedNBinom2(theta=2.0).link
    'log'
    """

    name = "truncated_nbinom2"
    links = _engine_links(name)
    default_link = links[0]
    zero_truncated = True
    glmmtmb_family = True

    @property
    def display_name(self) -> str:
        return self.name

    def conditional_mean(self, mu: np.ndarray) -> np.ndarray:
        """E(y | y > 0) = mu / (1 - (theta / (theta + mu))^theta).

        Examples
        --------
        >>> from glmmfast.families import TruncatedNBinom2
        >>> TruncatedNBinom2(theta=1.0).conditional_mean([1.0]).tolist()
        [2.0]
        """
        mu = np.asarray(mu, dtype=float)
        return mu / -np.expm1(-self.theta * np.log1p(mu / self.theta))

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _truncated_counts(y, weights, self.name)


class TruncatedNBinom1(NBinom1):
    """Zero-truncated NB1 counts (glmmTMB's ``truncated_nbinom1``): the count part of an NB1 hurdle.

    ``mu`` is the untruncated mean and ``phi`` the NB1 shape (Var = mu (1 + phi)
    before truncation; glmmTMB's ``sigma()``), estimated by
    :func:`glmmfast.glmer` with ``family="truncated_nbinom1"``.

    Examples
    --------
    >>> from glmmfast.families import TruncatedNBinom1
    >>> TruncatedNBinom1(phi=1.5).link
    'log'
    """

    name = "truncated_nbinom1"
    links = _engine_links(name)
    default_link = links[0]
    zero_truncated = True

    def conditional_mean(self, mu: np.ndarray) -> np.ndarray:
        """E(y | y > 0) = mu / (1 - (1 + phi)^(-mu / phi)).

        Examples
        --------
        >>> from glmmfast.families import TruncatedNBinom1
        >>> TruncatedNBinom1(phi=1.0).conditional_mean([1.0]).tolist()
        [2.0]
        """
        mu = np.asarray(mu, dtype=float)
        return mu / -np.expm1(-mu * np.log1p(self.phi) / self.phi)

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _truncated_counts(y, weights, self.name)


class Beta(_PhiFamily):
    """Proportions strictly inside (0, 1) (glmmTMB's ``beta_family``): mean mu, precision phi.

    y ~ Beta(mu phi, (1 - mu) phi), so Var y = mu (1 - mu) / (1 + phi).
    ``phi`` is glmmTMB's ``sigma()`` for this family (and ``exp`` of its
    ``fixef(fit)$disp``); :func:`glmmfast.glmer` with ``family="beta"``
    estimates it, and this object holds a value (the start, or the estimate
    in a fit's ``family``).  Responses of exactly 0 or 1 are refused (a
    :class:`~glmmfast.DataError` counting them), as glmmTMB refuses them.

    Parameters
    ----------
    phi : float, default 1
        Precision, positive.
    link : str, optional
        ``"logit"`` (default), ``"probit"`` or ``"cloglog"``.

    Examples
    --------
    >>> from glmmfast.families import Beta
    >>> Beta(phi=9.0).variance([0.5]).tolist()
    [0.025]
    """

    name = "beta"
    links = _engine_links(name)
    default_link = links[0]

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        from ._errors import DataError

        outside = int(np.sum(~((y > 0) & (y < 1))))
        if outside:
            raise DataError(f"the beta family needs responses strictly between 0 and 1; {outside} of {y.size} "
                            f"rows are not (transform them, e.g. (y (n - 1) + 0.5) / n, or use a "
                            f"zero-inflated or betabinomial model)")


class BetaBinomial(_PhiFamily):
    """Successes out of trials with beta-distributed probabilities (glmmTMB's ``betabinomial``).

    k successes of n trials, p ~ Beta(mu phi, (1 - mu) phi): E k = n mu,
    Var k = n mu (1 - mu) (1 + (n - 1) / (1 + phi)).  The response is taken
    as the binomial's: ``cbind(successes, failures)``, or proportions with
    ``weights`` giving the trials.  ``phi`` is glmmTMB's ``sigma()`` for this
    family; :func:`glmmfast.glmer` with ``family="betabinomial"`` estimates it.

    Parameters
    ----------
    phi : float, default 1
        Positive.
    link : str, optional
        ``"logit"`` (default), ``"probit"`` or ``"cloglog"``.

    Examples
    --------
    >>> from glmmfast.families import BetaBinomial
    >>> BetaBinomial(phi=5.0).link
    'logit'
    """

    name = "betabinomial"
    links = _engine_links(name)
    default_link = links[0]
    trials_response = True

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        _check_proportions(y, weights, self.name)


class StudentT(Family):
    """Student t responses (glmmTMB's ``t_family``): location mu, scale sigma, degrees of freedom df.

    log f = lgamma((df + 1) / 2) - lgamma(df / 2) - log(df pi) / 2 - log sigma
    - (df + 1) / 2 log(1 + (y - mu)^2 / (df sigma^2)).  ``sigma`` is
    glmmTMB's ``sigma()`` (its summary prints sigma^2) and ``df`` its
    ``family_params(fit)``.  :func:`glmmfast.glmer` with ``family="t"`` (or
    ``StudentT()``) estimates both, as glmmTMB's ``family = t_family``, each
    on the log scale (the fit's ``family_parameters`` are ``{"sigma": ...,
    "df": ...}``; ``vcov_full`` names log df's coordinate ``"Student-t df"``);
    ``StudentT(df=5)`` holds df at 5 and estimates sigma only (glmmTMB's
    ``start = list(psi = log(5)), map = list(psi = factor(NA))``).

    Parameters
    ----------
    df : float or None, default None
        Degrees of freedom, positive, held fixed; None: estimated (started at 10).
    sigma : float, default 1
        Scale, positive (the start, or the estimate in a fit's ``family``).
    link : str, optional
        ``"identity"`` (default), ``"log"`` or ``"inverse"``.

    Examples
    --------
    >>> from glmmfast.families import StudentT
    >>> StudentT(df=5.0, sigma=2.0).variance([0.0]).round(6).tolist()
    [6.666667]
    """

    name = "t"
    glmmtmb_family = True
    links = _engine_links(name)
    default_link = links[0]

    def __init__(self, df: float | None = None, sigma: float = 1.0, link: str | None = None) -> None:
        self.df = None if df is None else _positive_parameter(df, "t family df")
        self.sigma = _positive_parameter(sigma, "t family sigma")
        super().__init__(link)

    def __getstate__(self) -> dict:
        return {"link": self.link, "df": self.df, "sigma": self.sigma}

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.df, self.sigma = state["df"], state["sigma"]

    def __repr__(self) -> str:
        return f"StudentT(df={self.df!r}, sigma={self.sigma!r}, link={self.link!r})"

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and (self.df, self.sigma) == (other.df, other.sigma)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.link, self.df, self.sigma))

    def shapes(self) -> dict[str, float]:
        return {"sigma": self.sigma} if self.df is None else {"sigma": self.sigma, "df": self.df}

    def with_shape(self, value: float) -> "StudentT":
        return StudentT(self.df, value, self.link)

    def with_shapes(self, values: dict[str, float]) -> "StudentT":
        """The family at the estimated ``{"sigma": ..., "df": ...}`` (either may be left out).

        Examples
        --------
        >>> from glmmfast.families import StudentT
        >>> StudentT().with_shapes({"sigma": 0.8, "df": 5.0})
        StudentT(df=5.0, sigma=0.8, link='identity')
        """
        return StudentT(values.get("df", self.df), values.get("sigma", self.sigma), self.link)

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        from ._errors import DataError

        if self.link == "log" and np.any(y <= 0):
            raise DataError("the t family with the log link needs positive responses (no starting values otherwise)")


class Tweedie(_ShapeFamily):
    """Tweedie responses with power 1 < p < 2 (glmmTMB's ``tweedie``): compound Poisson-Gamma, variance phi mu^p.

    Non-negative continuous responses with exact zeros: y is the sum of
    N ~ Poisson(mu^(2-p) / (phi (2-p))) Gamma draws, so P(y = 0) =
    exp(-mu^(2-p) / (phi (2-p))).  The density of y > 0 has no closed form;
    the engine sums the series of Dunn & Smyth (2005).  :func:`glmmfast.glmer`
    with ``family="tweedie"`` estimates the dispersion phi and the power p
    (this object holds a power: the start, or the estimate in a fit's
    ``family``; ``Tweedie(power=...)`` as the family fixes it).  glmmTMB's
    conventions: ``sigma()`` is phi (``fit.sigma``; ``fit.dispersion`` is
    phi too, not its square root) and ``family_params`` is ``power``
    (``fit.family_parameters["power"]``).

    Parameters
    ----------
    power : float, default 1.5
        In (1, 2).
    link : str, optional
        ``"log"`` (the only one).

    Examples
    --------
    >>> from glmmfast.families import Tweedie
    >>> Tweedie(power=1.5).variance([4.0]).tolist()
    [8.0]
    """

    name = "tweedie"
    glmmtmb_family = True
    links = _engine_links(name)
    default_link = links[0]
    has_dispersion = True
    sigma_is_dispersion = True
    shape_name = "power"

    def __init__(self, power: float = 1.5, link: str | None = None) -> None:
        power = _positive_parameter(power, "tweedie power")
        if not 1.0 < power < 2.0:
            raise FamilyError(f"tweedie power must lie in (1, 2), got {power!r}")
        self.power = power
        super().__init__(link)

    def shapes(self) -> dict[str, float]:
        return {"power": self.power}

    def with_shape(self, value: float) -> "Tweedie":
        return Tweedie(value, self.link)

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        from ._errors import DataError

        if np.any(y < 0):
            raise DataError("negative values are not allowed for the tweedie family")


_CLASSES = (Poisson, Binomial, Gaussian, Gamma, InverseGaussian, NegativeBinomial, NBinom1, TruncatedPoisson,
            TruncatedNBinom2, TruncatedNBinom1, GenPois, COMPois, Beta, BetaBinomial, StudentT, Tweedie)
if sorted(cls.name for cls in _CLASSES) != sorted(_core.family_names()):  # pragma: no cover - a build mismatch
    raise ImportError(f"glmmfast.families and the engine disagree on the families: "
                      f"{sorted(cls.name for cls in _CLASSES)} vs {sorted(_core.family_names())}")
_BY_NAME = {cls.name.lower(): cls for cls in _CLASSES if not issubclass(cls, NegativeBinomial)}
_BY_NAME["inverse_gaussian"] = InverseGaussian


def get_family(family: str | Family, link: str | None = None) -> Family:
    """Turn ``"poisson"``, ``"binomial"``, ``"gaussian"``, ``"Gamma"``, ``"inverse.gaussian"`` or a
    :class:`Family` into a Family.

    Parameters
    ----------
    family : str or Family
        Family name (case-insensitive) or instance.
    link : str, optional
        Link for a family given by name.

    Returns
    -------
    Family

    Raises
    ------
    FamilyError
        An unknown family or a link it cannot take.

    Examples
    --------
    >>> from glmmfast.families import get_family
    >>> get_family("binomial", "probit")
    Binomial(link='probit')
    """
    if isinstance(family, Family):
        if link is not None and link != family.link:
            raise FamilyError(f"link {link!r} conflicts with the family's link {family.link!r}")
        return family
    if isinstance(family, type) and issubclass(family, NegativeBinomial):
        raise FamilyError("NegativeBinomial needs its shape: families.NegativeBinomial(theta=...)")
    if isinstance(family, type) and issubclass(family, Family):
        return family(link=link)
    if isinstance(family, str):
        cls = _BY_NAME.get(family.lower())
        if family.lower() in ("negative.binomial", "negative_binomial", "nbinom2", "negbin"):
            raise FamilyError("the negative binomial needs its shape: families.NegativeBinomial(theta=...), "
                              "or glmmfast.glmer_nb to estimate it")
        if cls is None:
            # R's families first, then glmmTMB's
            names = sorted(_BY_NAME, key=lambda n: (_BY_NAME[n].glmmtmb_family, n))
            raise FamilyError(f"unknown family {family!r}; choose one of {', '.join(names)}")
        return cls(link=link)
    raise FamilyError(f"family must be a name or a glmmfast.families.Family, not {type(family).__name__}")
