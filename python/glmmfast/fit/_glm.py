"""``glm``: generalized linear models without random effects, as R's ``glm``.

Holds :func:`glm` and :class:`GlmResult`.  Shares the formula front end and
the family code with :func:`glmmfast.glmer`; the fit is the engine's IRLS,
which follows R's ``glm.fit`` (same start and convergence test), so the
iteration count, deviances and AIC equal R's.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .. import _core
from ..design._design import ModelDesign, dataset_name, model_design_for
from ._engine import glm_start
from ._optimizer_info import OptimizerInfo, StageClock
from .._errors import ConvergenceError
from ._fit_warnings import warn_fit_messages
from ._residuals import residuals_of
from ..summary._summary import PrintsSummary, format_glm_summary
from ..families import Family, get_family

__all__ = ["glm", "GlmResult"]


class GlmResult(PrintsSummary):
    """A fitted generalized linear model.

    Attributes
    ----------
    coef : pandas.Series
        Coefficients (``fixef`` is the same Series, for symmetry with glmer).
    vcov : pandas.DataFrame
    deviance : float
        Residual deviance.
    null_deviance : float
    df_resid, df_null, nobs, iterations : int
    dispersion : float
        1 for poisson and binomial; the Pearson estimate for gaussian.
    loglik, aic, bic : float
    converged : bool
    messages : list of str
    data_messages : list of str
        Rows dropped for missing values, aliased columns dropped.
    rows : pandas.Index
        Index labels of the data rows used (fitted values line up with them).
    n_dropped : int
    optinfo : OptimizerInfo
        The fit's record: one ``"irls"`` stage (evaluations and IRLS
        iterations, seconds), as the mixed models' ``optinfo``.

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
    >>> fit.coef.round(3).to_dict()
    {'(Intercept)': 1.783, 'YEAR96': 0.623, 'YEAR97': -1.641}
    """

    def __init__(self, design: ModelDesign, fit: dict, data_name: str | None, optinfo: OptimizerInfo | None = None):
        self._design = design
        self.optinfo = optinfo
        self.formula = design.formula
        self.family = design.family
        self.data_name = data_name
        d = design
        n, p = d.X.shape
        self.nobs = n
        self.rows, self.n_dropped, self.data_messages = design.rows, design.n_dropped, list(design.messages)
        self.iterations = int(fit["iterations"])
        self.converged = bool(fit["converged"])
        self.messages = [] if self.converged else ["glm.fit: algorithm did not converge"]
        self._mu, self._eta = np.asarray(fit["mu"]), np.asarray(fit["eta"])
        boundary = self.family.boundary_message(self._mu, d.X, d.x_names)
        if boundary:
            self.messages.append(boundary)
        self.deviance = float(fit["deviance"])
        n_ok = int(np.sum(d.weights != 0))
        self.df_resid = n_ok - p
        intercept = "(Intercept)" in d.x_names
        self.df_null = n_ok - int(intercept)
        self.null_deviance = self._null_deviance(intercept)
        if self.family.has_dispersion:
            pearson = residuals_of(self.family, d.y, self._mu, self._eta, d.weights, "pearson")
            self.dispersion = float(np.sum(pearson**2) / self.df_resid)
            # R's family$aic: ML dispersion dev/n (gaussian), dev/sum(wt) (Gamma, inverse Gaussian).
            n_disp = n_ok if self.family.name == "gaussian" else float(np.sum(d.weights))
            ll = self.family.loglik(d.y, self._mu, d.weights, self.deviance / n_disp)
            npar = p + 1
        else:
            self.dispersion = 1.0
            ll = self.family.loglik(d.y, self._mu, d.weights, 1.0)
            npar = p
        self.loglik = float(ll)
        self.aic = -2 * self.loglik + 2 * npar
        self.bic = -2 * self.loglik + np.log(n_ok) * npar
        names = d.x_names
        self.coef = pd.Series(np.asarray(fit["beta"]), index=names, name="Estimate")
        V = self.dispersion * np.asarray(fit["unscaled_vcov"])
        self.vcov = pd.DataFrame(V, index=names, columns=names)

    def _null_deviance(self, intercept: bool) -> float:
        d = self._design
        if intercept:
            ones = np.ones((d.n, 1), order="F")
            fit = _core.glm_irls(ones, d.y, d.weights, d.offset, d.family.engine)
            mu = np.asarray(fit["mu"])
        else:
            mu = d.family.linkinv(d.offset)
        return float(np.sum(d.family.dev_resid(d.y, mu, d.weights)))

    @property
    def fixef(self) -> pd.Series:
        return self.coef

    @property
    def se(self) -> pd.Series:
        """Standard errors of the coefficients."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.coef.index, name="Std. Error")

    @property
    def family_name(self) -> str:
        return self.family.display_name

    @property
    def link_name(self) -> str:
        return self.family.link

    def fitted(self) -> np.ndarray:
        """Fitted means mu, as R's ``fitted(fit)``.

        Returns
        -------
        ndarray
            One value per row used in the fit.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
        >>> sorted(set(fit.fitted().round(3).tolist()))
        [1.153, 5.949, 11.097]
        """
        return self._mu.copy()

    def residuals(self, type: str = "deviance") -> np.ndarray:
        """Residuals, as R's ``residuals(fit, type)``.

        Parameters
        ----------
        type : {"deviance", "pearson", "response", "working"}, default "deviance"

        Returns
        -------
        ndarray

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
        >>> round(float((fit.residuals("pearson") ** 2).sum()), 1)
        7849.9
        """
        d = self._design
        return residuals_of(self.family, d.y, self._mu, self._eta, d.weights, type)

    @property
    def deviance_residuals(self) -> np.ndarray:
        return self.residuals("deviance")

    def predict(self, newdata: pd.DataFrame | None = None, type: str = "link", se_fit: bool = False,
                offset=None):
        """Predictions, as R's ``predict.glm(fit, newdata, type, se.fit)``.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict for, with the columns the formula uses (factor
            levels must be among the fit's).  Default: the fitted rows.
        type : {"link", "response"}, default "link"
            The linear predictor eta, or the mean mu = g^{-1}(eta).
        se_fit : bool, default False
            Also return standard errors: sqrt(x' V x) on the link scale, times
            |d mu / d eta| on the response scale (the delta method, as R).
        offset : array-like, optional
            For ``newdata``: one offset value per row (added to the formula's
            ``offset()`` terms; required when the fit had ``offset=``).

        Returns
        -------
        ndarray or GlmPrediction
            The predictions; with ``se_fit``, the named tuple
            ``(fit, se_fit, residual_scale)`` as R's list.

        Examples
        --------
        >>> import glmmfast, pandas as pd
        >>> df = glmmfast.datasets.load("grouseticks")
        >>> fit = glmmfast.glm("TICKS ~ YEAR", df, family="poisson")
        >>> new = pd.DataFrame({"YEAR": pd.Categorical(["95", "97"], categories=["95", "96", "97"])})
        >>> p = fit.predict(new, type="response", se_fit=True)
        >>> p.fit.round(3).tolist(), p.se_fit.round(3).tolist()
        ([5.949, 1.153], [0.225, 0.094])
        """
        from ..results._glm_postfit import predict_glm
        return predict_glm(self, newdata, type, se_fit, offset)

    def confint(self, method: str = "Wald", level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals for the coefficients: R's ``confint.default`` or the profile likelihood.

        Parameters
        ----------
        method : {"Wald", "profile"}, default "Wald"
            ``"Wald"``: estimate +- z SE (R's ``confint.default``);
            ``"profile"``: where the signed root of the deviance change over
            the dispersion, the other coefficients refitted, equals +-z (R's
            ``confint(fit)`` for a glm, MASS's ``profile.glm``; here solved
            exactly instead of by spline interpolation).
        level : float, default 0.95

        Returns
        -------
        pandas.DataFrame
            One row per coefficient; columns such as ``"2.5 %"`` and ``"97.5 %"``.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
        >>> fit.confint("profile").round(3)
                     2.5 %  97.5 %
        (Intercept)  1.708   1.857
        YEAR96       0.536   0.712
        YEAR97      -1.820  -1.468
        """
        from ..results._glm_postfit import confint_glm
        return confint_glm(self, method, level)

    def simulate(self, nsim: int = 1, seed=None, newdata: pd.DataFrame | None = None, offset=None) -> np.ndarray:
        """Responses drawn from the fitted model, as R's ``simulate(fit, nsim, seed)``.

        Parameters
        ----------
        nsim : int, default 1
        seed : int or numpy SeedSequence, optional
        newdata : pandas.DataFrame, optional
            Rows to simulate for (default: the fitted rows).
        offset : array-like, optional
            For ``newdata``, as in :meth:`predict`.

        Returns
        -------
        ndarray, shape (n, nsim)
            Counts for Poisson; for binomial, proportions of the trials (the
            prior weights; 0/1 for a binary response).  Other families raise
            :class:`~glmmfast.FamilyError`.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
        >>> fit.simulate(3, seed=1).shape
        (403, 3)
        """
        from ..results._glm_postfit import simulate_glm
        return simulate_glm(self, nsim, seed, newdata, offset)

    def summary_text(self) -> str:
        """R's ``summary.glm`` printout as a string (also ``str(fit)``).

        Returns
        -------
        str

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
        >>> print(fit.summary_text().splitlines()[-2])
        Number of Fisher Scoring iterations: 6
        """
        return format_glm_summary(self)

    def _repr_html_(self) -> str:
        """The summary's call and coefficient table as HTML (Jupyter)."""
        from ..summary._display import summary_html
        return summary_html(self)

    def __repr__(self) -> str:
        return (f"<GlmResult {self.family.name}({self.family.link}) {self.formula!r}: "
                f"nobs={self.nobs}, deviance={self.deviance:.4f}, AIC={self.aic:.2f}>")


def glm(formula: str, data: pd.DataFrame, family: str | Family = "gaussian", weights=None, offset=None,
        na_action: str = "omit", contrasts: dict | None = None, data_name: str | None = None,
        quiet: bool = False) -> GlmResult:
    """Fit a generalized linear model, as R's ``glm``.

    Parameters
    ----------
    formula : str
        R formula without random-effects terms, e.g. ``"TICKS ~ YEAR"``.
    data : pandas.DataFrame
    family : str or glmmfast.families.Family, default "gaussian"
    weights, offset : array-like, optional
    na_action : {"omit", "raise"}, default "omit"
        Drop rows with missing values in the columns used (noted in
        ``data_messages`` and ``n_dropped``) or raise :class:`DataError`.
        Aliased columns are dropped as lme4 does (R's glm would report NA).
    contrasts : dict, optional
        Contrasts of factors, as R's ``contrasts`` argument (see
        :func:`glmmfast.lmer`).
    data_name : str, optional
        The summary's ``Data:`` name, as :func:`glmmfast.glmer`.
    quiet : bool, default False
        Do not issue "algorithm did not converge" or "fitted probabilities
        numerically 0 or 1" as a :class:`~glmmfast.ConvergenceWarning`
        (R's glm warns; the messages stay in ``messages``).

    Returns
    -------
    GlmResult

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> fit = glmmfast.glm("TICKS ~ YEAR", df, family="poisson")
    >>> round(fit.aic, 1)
    5486.4
    """
    t0 = time.perf_counter()
    fam = get_family(family)
    data_name = dataset_name(data, data_name)  # checked before the fit
    design = model_design_for(formula, data, fam, weights, offset, random=False, na_action=na_action,
                              contrasts=contrasts)
    clock = StageClock()
    try:
        fit = glm_start(design)
    except RuntimeError as e:  # singular X'WX
        raise ConvergenceError(f"glm: {e}") from None
    info = OptimizerInfo(optimizer="irls")
    info.seconds.update({"design": clock.t0 - t0, "optimize": clock.seconds()})
    iterations = int(fit["iterations"])  # one deviance evaluation per IRLS iteration
    info.add_stage("IRLS (R's glm.fit)", "irls", clock, deviance=float(fit["deviance"]), evaluations=iterations,
                   pirls_iterations=iterations, seconds=info.seconds["optimize"], status=int(bool(fit["converged"])),
                   optimizer="irls")
    result = GlmResult(design, fit, data_name, info)
    warn_fit_messages(result.messages, quiet)
    return result
