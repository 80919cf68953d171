"""The result of a fit with random effects in the ziformula (glmmTMB's ``ziformula = ~ x + (1 | g)``).

Holds :class:`ZiRandomEffectsResult`, built from a
:class:`~glmmfast.fit._zi_random_effects.ZiRandomEffectsState`: -2 log L,
AIC/BIC, the fixed effects of both components with their standard errors
(``coef_table``, ``vcov_full`` from the Hessian of -2 log L in every outer
parameter, as glmmTMB's ``sdreport``), both components' variance components
(``varcorr``, as glmmTMB's ``VarCorr(fit)$cond`` and ``$zi``), conditional
modes per component (``ranef(component=)``), the family parameters, and
predictions on the fitted rows (glmmTMB's ``predict`` types at its default
``re.form = NULL``: both components' random effects included).

Not supported yet for this model class (each raises
:class:`~glmmfast.ArgumentError` naming it): predictions on new data or
without random effects, ``simulate`` (and so ``refit``, ``bootstrap`` and
parametric-bootstrap intervals), profile intervals, ``anova`` and the printed
summary.

``theta`` holds the conditional terms' parameters first, then the
zero-inflation terms' (each on this package's scale: relative Cholesky
factors, the standard deviations for the families without a dispersion).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import ArgumentError
from ..design._re_terms import theta_names, theta_split, varcorr_frame

__all__ = ["ZiRandomEffectsResult"]

_NOT_YET = "not supported yet for a model with random effects in the ziformula"


class ZiRandomEffectsResult:
    """A zero-inflated (or hurdle) GLMM with random effects in its ziformula.

    Returned by :func:`glmmfast.glmer` for a ``ziformula`` with random-effects terms.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("Salamanders")
    >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
    ...                    ziformula="~ mined + (1 | site)")
    >>> round(m.deviance, 1), list(m.varcorr)
    (1755.1, ['cond', 'zi'])
    """

    def __init__(self, state, data_name: str | None = None):
        self._state = state
        self._design = state.design
        self.data_name = data_name
        self.family = state.design.family
        self.deviance = float(state.deviance)
        self.optinfo = state.info
        self._vcov_full_cache = None

    # -- sizes and likelihood ----------------------------------------------------------------------
    @property
    def nobs(self) -> int:
        """Number of observations."""
        return int(self._design.n)

    @property
    def npar(self) -> int:
        """Estimated parameters: theta, beta, beta_zi and the family parameters."""
        fp = self._state.family_parameter
        return self._state.theta.size + self._state.beta.size + self._state.beta_zi.size + (0 if fp is None else fp.size)

    @property
    def loglik(self) -> float:
        """log L (Laplace)."""
        return -0.5 * self.deviance

    @property
    def aic(self) -> float:
        """-2 log L + 2 npar."""
        return self.deviance + 2 * self.npar

    @property
    def bic(self) -> float:
        """-2 log L + log(n) npar."""
        return self.deviance + np.log(self.nobs) * self.npar

    # -- parameters -------------------------------------------------------------------------------
    @property
    def theta(self) -> np.ndarray:
        """The conditional terms' covariance parameters, then the zero-inflation terms'."""
        return self._state.theta

    def _theta_parts(self) -> tuple[np.ndarray, np.ndarray]:
        nt = self._state.ntheta_cond
        return self._state.theta[:nt], self._state.theta[nt:]

    @property
    def theta_names(self) -> list[str]:
        """Names of theta's entries (the zero-inflation terms' prefixed ``zi~``)."""
        return theta_names(self._design.terms) + ["zi~" + n for n in theta_names(self._design.zi.terms)]

    @property
    def fixef(self) -> pd.Series:
        """The conditional model's fixed effects."""
        return pd.Series(self._state.beta, index=self._design.x_names)

    @property
    def fixef_zi(self) -> pd.Series:
        """The zero-inflation model's fixed effects (logit scale)."""
        return pd.Series(self._state.beta_zi, index=self._design.zi.x_names)

    #: no dispersion model with this model class
    fixef_disp = None

    @property
    def family_parameters(self) -> dict[str, float]:
        """The estimated family parameters (``{"phi": ...}`` for nbinom1, ...; empty if none)."""
        fp = self._state.family_parameter
        return {} if fp is None else dict(fp.values)

    @property
    def varcorr(self) -> dict[str, pd.DataFrame]:
        """Variance components per component, as glmmTMB's ``VarCorr(fit)``: ``{"cond": ..., "zi": ...}``,
        each as ``as.data.frame(VarCorr(fit)$cond)`` (grp, var1, var2, vcov, sdcor)."""
        cond, zi = self._theta_parts()
        return {"cond": varcorr_frame(self._design.terms, cond, 1.0, residual=False),
                "zi": varcorr_frame(self._design.zi.terms, zi, 1.0, residual=False)}

    def ranef(self, component: str = "cond") -> dict[str, pd.DataFrame]:
        """Conditional modes of one component's random effects, by grouping factor.

        Parameters
        ----------
        component : {"cond", "zi"}

        Returns
        -------
        dict
            Grouping factor -> DataFrame (rows: levels; columns: the terms' columns).
        """
        if component not in ("cond", "zi"):
            raise ArgumentError(f"component must be 'cond' or 'zi', not {component!r}")
        q_cond = sum(t.k * t.nlevels for t in self._design.terms)
        b = self._state.b[:q_cond] if component == "cond" else self._state.b[q_cond:]
        terms = self._design.terms if component == "cond" else self._design.zi.terms
        out: dict[str, pd.DataFrame] = {}
        off = 0
        for t in terms:
            size = t.k * t.nlevels
            df = pd.DataFrame(b[off:off + size].reshape(t.nlevels, t.k), index=pd.Index(t.levels, name=t.group),
                              columns=t.names)
            out[t.group] = pd.concat([out[t.group], df], axis=1) if t.group in out else df
            off += size
        return out

    # -- covariance of the estimates -----------------------------------------------------------------
    def _names_x(self) -> list[str]:
        fp = self._state.family_parameter
        return ([f"theta|{n}" for n in self.theta_names] + list(self.fixef.index)
                + [f"zi~{n}" for n in self.fixef_zi.index] + ([] if fp is None else fp.coordinate_names))

    @property
    def vcov_full(self) -> pd.DataFrame:
        """Covariance of every outer parameter (2 H^{-1}, H the Hessian of -2 log L), as glmmTMB's
        ``vcov(fit, full = TRUE)``: the conditional fixed effects, the zero-inflation ones (``zi~name``),
        the log family parameter (``d~(Intercept)``), then theta (conditional, then ``zi~`` terms)."""
        if self._vcov_full_cache is None:
            names = self._names_x()
            H = self._state.hessian
            full = np.full((len(names), len(names)), np.nan)
            if H is not None:
                try:
                    Hinv = np.linalg.inv(H)
                    full = Hinv + Hinv.T
                except np.linalg.LinAlgError:
                    pass
            nt = self._state.theta.size
            order = list(range(nt, len(names))) + list(range(nt))
            self._vcov_full_cache = pd.DataFrame(full[np.ix_(order, order)], index=[names[i] for i in order],
                                                 columns=[names[i] for i in order])
        return self._vcov_full_cache

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the conditional fixed effects."""
        names = list(self.fixef.index)
        return self.vcov_full.loc[names, names]

    @property
    def se(self) -> pd.Series:
        """Standard errors of the conditional fixed effects."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.fixef.index)

    def coef_table(self, component: str = "cond") -> pd.DataFrame:
        """Estimates, standard errors, z values and p-values of one component (``"cond"`` or ``"zi"``)."""
        from scipy import stats

        if component == "cond":
            est, names = self.fixef, list(self.fixef.index)
        elif component == "zi":
            est, names = self.fixef_zi, ["zi~" + n for n in self.fixef_zi.index]
        elif component == "disp":
            raise ArgumentError("this fit has no dispersion model (dispformula with covariates)")
        else:
            raise ArgumentError(f"component must be 'cond', 'zi' or 'disp', not {component!r}")
        se = np.sqrt(np.diag(self.vcov_full.loc[names, names].to_numpy()))
        z = est.to_numpy() / se
        return pd.DataFrame({"Estimate": est.to_numpy(), "Std. Error": se, "z value": z,
                             "Pr(>|z|)": 2 * stats.norm.sf(np.abs(z))}, index=est.index)

    # -- predictions ---------------------------------------------------------------------------------
    def predict(self, newdata=None, type: str = "link", re_form=None) -> np.ndarray:
        """Predictions on the fitted rows with both components' random effects (glmmTMB's
        ``re.form = NULL``): ``"link"`` (eta), ``"conditional"`` (the family's mean given
        the random effects: a truncated family's for hurdles), ``"zlink"`` (eta_zi), ``"zprob"`` (the
        zero-inflation probability p) or ``"response"`` ((1 - p) times the conditional mean)."""
        if newdata is not None or re_form is not None:
            raise ArgumentError(f"predictions on new data or with re_form are {_NOT_YET}")
        eta, eta_zi = self._state.eta, self._state.eta_zi
        if type == "link":
            return eta.copy()
        if type == "zlink":
            return eta_zi.copy()
        p = 1.0 / (1.0 + np.exp(-eta_zi))
        if type == "zprob":
            return p
        conditional = np.asarray(self.family.conditional_mean(np.asarray(self.family.linkinv(eta), dtype=float)))
        if type == "conditional":
            return conditional
        if type == "response":
            return (1.0 - p) * conditional
        raise ArgumentError(f"type must be 'link', 'conditional', 'zlink', 'zprob' or 'response', not {type!r}")

    def simulate(self, *args, **kwargs):
        """Not supported yet for this model class (raises :class:`~glmmfast.ArgumentError`)."""
        raise ArgumentError(f"simulate is {_NOT_YET}")

    def refit(self, *args, **kwargs):
        """Not supported yet for this model class (raises :class:`~glmmfast.ArgumentError`)."""
        raise ArgumentError(f"refit is {_NOT_YET}")

    def bootstrap(self, *args, **kwargs):
        """Not supported yet for this model class (raises :class:`~glmmfast.ArgumentError`)."""
        raise ArgumentError(f"bootstrap is {_NOT_YET}")

    def summary_text(self) -> str:
        """Not supported yet for this model class (raises :class:`~glmmfast.ArgumentError`)."""
        raise ArgumentError(f"the printed summary is {_NOT_YET}")

    def __repr__(self) -> str:
        return (f"<ZiRandomEffectsResult {self._design.formula!r}, ziformula {self._design.zi.formula!r}: "
                f"-2 log L {self.deviance:.4f}>")
