"""Distribution families and link functions for :func:`glmmfast.glmer` and
:func:`glmmfast.glm`.

A family object is a small, picklable specification (distribution name and
link name).  The element-wise mathematics (inverse link, variance, unit
deviances, log density) lives in the C++ engine; the methods here forward
to it so that residuals and fitted values are computed by the same code the
fit used.

Examples
--------
>>> from glmmfast import families
>>> families.Binomial(link="probit")
Binomial(link='probit')
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ._errors import FamilyError

__all__ = ["Family", "Poisson", "Binomial", "Gaussian", "get_family"]


class Family:
    """Base class: a distribution with a link function.

    Parameters
    ----------
    link : str, optional
        Name of the link function; defaults to the family's canonical link.
    """

    name: ClassVar[str] = ""
    links: ClassVar[tuple[str, ...]] = ()
    default_link: ClassVar[str] = ""
    #: whether the family has a free dispersion parameter (sigma)
    has_dispersion: ClassVar[bool] = False

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
    def engine(self):
        """The engine's family object (private use)."""
        if self._engine is None:
            from . import _core

            self._engine = _core.Family(self.name, self.link)
        return self._engine

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        """Link function g(mu)."""
        return self.engine.linkfun(np.asarray(mu, dtype=float))

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        """Inverse link g^{-1}(eta)."""
        return self.engine.linkinv(np.asarray(eta, dtype=float))

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        """Derivative d mu / d eta."""
        return self.engine.mu_eta(np.asarray(eta, dtype=float))

    def variance(self, mu: np.ndarray) -> np.ndarray:
        """Variance function V(mu)."""
        return self.engine.variance(np.asarray(mu, dtype=float))

    def dev_resid(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Prior-weighted unit deviances."""
        return self.engine.dev_resid(np.asarray(y, float), np.asarray(mu, float), np.asarray(wt, float))

    def loglik(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray, dispersion: float = 1.0) -> float:
        """Log-likelihood with the family's normalising constants (as R's ``family$aic``)."""
        return self.engine.loglik(np.asarray(y, float), np.asarray(mu, float), np.asarray(wt, float), dispersion)

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        """Raise :class:`~glmmfast.DataError` if ``y`` cannot come from this family.

        Called by the design stage, before the engine runs, with the
        response and prior weights of the complete rows; families override
        it (e.g. a Gamma family refuses non-positive values).
        """

    def boundary_message(self, mu: np.ndarray) -> str | None:
        """A warning if fitted means sit on the boundary of the family's range, else None.

        As R's ``glm.fit`` warning, with a tolerance of 1e-12 because the
        engine clamps inverse links as lme4 does (logit at eta = +/-30, i.e.
        mu = 9.4e-14); such fits usually mean separation (binomial) or a
        zero-rate group (poisson), with some fixed effects diverging to infinity.
        """
        return None


_EPS = 1e-12  # mu this close to the edge of its range is "numerically" there


class Poisson(Family):
    """Poisson counts (``link`` = ``"log"`` or ``"identity"``)."""

    name = "poisson"
    links = ("log", "identity")
    default_link = "log"

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        from ._errors import DataError

        if np.any(y < 0):
            raise DataError("negative values are not allowed for the poisson family")
        # R's dpois warns and returns a zero density for non-integers, which
        # makes the likelihood meaningless; refuse them instead.
        if np.any(y != np.round(y)):
            raise DataError("non-integer counts are not allowed for the poisson family")

    def boundary_message(self, mu: np.ndarray) -> str | None:
        if np.any(np.asarray(mu) < _EPS):
            return ("fitted rates numerically 0 occurred: some fixed effects may be diverging to -Inf "
                    "(a level or group with only zero counts?)")
        return None


class Binomial(Family):
    """Binomial proportions (``link`` = ``"logit"``, ``"probit"``, ``"cloglog"`` or ``"log"``).

    The response may be 0/1, a boolean, a factor (first level = failure),
    a proportion with ``weights`` giving the number of trials, or
    ``cbind(successes, failures)`` in the formula.
    """

    name = "binomial"
    links = ("logit", "probit", "cloglog", "log")
    default_link = "logit"

    def check_response(self, y: np.ndarray, weights: np.ndarray) -> None:
        from ._errors import DataError

        if np.any((y < 0) | (y > 1)):
            raise DataError("binomial response must be in [0, 1] (proportions), 0/1, or cbind(successes, failures)")

    def boundary_message(self, mu: np.ndarray) -> str | None:
        mu = np.asarray(mu)
        if np.any(mu > 1 - _EPS) or np.any(mu < _EPS):
            return ("fitted probabilities numerically 0 or 1 occurred: complete or quasi-complete separation? "
                    "Some fixed effects may be diverging to +/-Inf")
        return None


class Gaussian(Family):
    """Normal errors (``link`` = ``"identity"`` or ``"log"``)."""

    name = "gaussian"
    links = ("identity", "log")
    default_link = "identity"
    has_dispersion = True


_BY_NAME = {cls.name: cls for cls in (Poisson, Binomial, Gaussian)}


def get_family(family: str | Family, link: str | None = None) -> Family:
    """Turn ``"poisson"``, ``"binomial"``, ``"gaussian"`` or a :class:`Family` into a Family.

    Parameters
    ----------
    family : str or Family
        Family name (case-insensitive) or instance.
    link : str, optional
        Link for a family given by name.

    Returns
    -------
    Family
    """
    if isinstance(family, Family):
        if link is not None and link != family.link:
            raise FamilyError(f"link {link!r} conflicts with the family's link {family.link!r}")
        return family
    if isinstance(family, type) and issubclass(family, Family):
        return family(link)
    if isinstance(family, str):
        cls = _BY_NAME.get(family.lower())
        if cls is None:
            raise FamilyError(f"unknown family {family!r}; choose one of {', '.join(sorted(_BY_NAME))}")
        return cls(link)
    raise FamilyError(f"family must be a name or a glmmfast.families.Family, not {type(family).__name__}")
