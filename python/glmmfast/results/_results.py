"""Fitted mixed models (lme4's mkMerMod and merMod methods).

Holds :class:`GlmerResult` (GLMMs) and :class:`LmerResult` (linear mixed
models) and their common base :class:`MixedResult`, built from a model
design, the engine's state at the optimum and the optimiser's record.  At
construction a result computes the criterion, logLik and AIC/BIC; VarCorr,
the covariance of the fixed effects and the convergence and singular-fit
messages are computed when first read (a refit in a bootstrap never pays for
them).  What differs between the two is small: a GLMM's fixed-effects
covariance comes from the Hessian of the deviance in (theta, beta), as lme4
and glmmTMB compute it; an LMM's is sigma^2 (R_X'R_X)^{-1}, with sigma
estimated and a "Residual" row in VarCorr.  Conditional modes, fitted values
and residuals are computed on request; predict, simulate, refit, bootstrap
and confint delegate to _predict, _simulate, _refit, _bootstrap and
_confint.

A result is built from a :class:`~glmmfast.fit._fit_state.FitState` (the
one state every fit, refit and bootstrap replicate makes) and reads theta,
beta, the family parameter, the engine at the optimum and the optimiser's
record (where the derivative checks leave the gradient and Hessian) from
it.  Results pickle without the engine object (the state drops it); the
engine is rebuilt when a method needs it.

Dependency direction: design -> fit -> results -> inference.  This module
imports design, fit and summary (the printing) only; the public methods
that run later stages (``model``, ``refit``, ``bootstrap``, ``confint``,
``anova``, ``r2``, ...) reach the modules above it with a lazy import, and
those modules take a result (its ``_state``) and import downwards.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .. import _core
from ..fit._agq import omitted_m2ll
from ..fit._dispersion_model import dispersion_model_parameter
from ..fit._integrated_beta import integrated_beta_vcov_full
from ..fit._fit_state import FitState, joint_objective, laplace_hessian
from ..fit._optimize import check_convergence, lmm_criterion_at
from ..fit._optimizer_info import CountedCalls, StageClock
from ..fit._residuals import residuals_of
from ..fit._zero_inflation import diverging_zero_part, diverging_zero_part_message, separable_zero_part_hessian
from ..design._re_terms import theta_names, varcorr_frame
from ..summary._display import RandomEffects, summary_html
from .._errors import ArgumentError
from ..summary._summary import PrintsSummary, format_glmer_summary, format_mermod_print

__all__ = ["MixedResult", "GlmerResult", "LmerResult"]

#: smallest eigenvalue ratio of the SE Hessian whose inverse is taken from its eigenpairs and whose fixed-effects
#: block is positive definite without a test of its own (_vcov_and_checks): rounding errors ~1e-16 / ratio
_DEFINITE_RATIO = 1e-8


def _inverse_on_determined_directions(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H^{-1} and the coordinates whose variance H does not determine (bool mask).

    Where H is positive semi-definite to rounding -- eigenvalues within :data:`_DEFINITE_RATIO` x the largest
    of 0, none below that -- the likelihood is flat to within the finite differences' noise along those
    eigenvectors (a zero part whose interactions walk out together, glmmTMB's "singular convergence"), and the
    sign of each such eigenvalue is noise: H^{-1} = sum over the other eigenpairs of q q' / lambda, with NaN
    rows and columns for the coordinates the flat directions move (a loading above sqrt(_DEFINITE_RATIO): the
    others' loadings are at the noise level, ~1e-8).  Otherwise (definite, or indefinite beyond rounding, which
    the caller's checks reject) the plain inverse, every coordinate determined."""
    everything = np.zeros(H.shape[0], dtype=bool)
    ev, Q = np.linalg.eigh(H)
    if not ev.size or ev[-1] <= 0:
        return np.linalg.inv(H), everything
    flat = np.abs(ev) <= _DEFINITE_RATIO * ev[-1]
    if not flat.any() or (ev < -_DEFINITE_RATIO * ev[-1]).any():
        return np.linalg.inv(H), everything
    inverse = (Q[:, ~flat] / ev[~flat]) @ Q[:, ~flat].T
    undetermined = (np.abs(Q[:, flat]) > np.sqrt(_DEFINITE_RATIO)).any(axis=1)
    inverse[undetermined, :] = np.nan
    inverse[:, undetermined] = np.nan
    return inverse, undetermined


@functools.lru_cache(maxsize=256)
def _shared_names_index(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names))


def names_index(names: list[str]) -> pd.Index:
    """A pandas Index of coefficient names: a view of one remembered per tuple of names (a view is ~7 us,
    a new Index from strings ~60 us).  Each call returns its own Index object, so setting one's ``name``
    does not reach other results."""
    return _shared_names_index(tuple(names)).view()


class MixedResult(PrintsSummary):
    """What fitted GLMMs and LMMs share: estimates, VarCorr, random effects,
    fitted values, residuals, predictions, summaries and pickling.

    Subclasses set ``deviance`` (and ``sigma`` where estimated), call
    ``_init_common`` with their parameter count, and provide
    ``_varcorr_frame`` and ``_vcov_and_checks``.  The fit's state (theta,
    beta, the engine at the optimum, ...) is ``_state``.
    """

    sigma = 1.0
    dispersion = 1.0
    reml = None
    #: glmmTMB's zero-inflation coefficients (GlmerResult with a ziformula), else None
    fixef_zi = None
    #: glmmTMB's dispersion-model coefficients (GlmerResult with a dispformula model), else None
    fixef_disp = None
    # Var(b | y) from a GLMM engine is on the absolute scale (the dispersion
    # is inside its weights); an LMM's is relative to sigma^2.
    _cond_var_scale = 1.0
    _default_residuals = "deviance"
    #: vcov as a DataFrame, built when first read (``se`` needs only the array)
    _vcov_frame = None

    def _init_common(self, state: FitState, data_name: str | None, npar: int) -> None:
        design = state.design
        self._state = state
        self._design = design
        self.optinfo = state.info
        self.data_name = data_name
        self.formula = design.formula
        self.family = state.family
        self.theta = np.asarray(state.theta, dtype=float)
        self.nobs = design.n
        self.rows, self.n_dropped, self.data_messages = design.rows, design.n_dropped, list(design.messages)
        self.df_resid = self.nobs - npar
        self.loglik = -0.5 * self.deviance
        self.aic = self.deviance + 2 * npar
        self.bic = self.deviance + np.log(self.nobs) * npar
        self._varcorr = None
        self.ngroups = {}
        for t in design.terms:
            self.ngroups.setdefault(t.group, t.nlevels)
        self._checks = None  # (vcov as an array, messages): finite differences, computed on first use
        self._ranef_cache = None  # _ranef_parts, _ranef_modes: computed on first use
        self._modes_cache = None

    @functools.cached_property
    def fixef(self) -> pd.Series:
        """The fixed-effects estimates, built when first read (a Series costs more than the rest of a small
        fit's result; ``se`` and ``vcov`` label theirs with :meth:`_coefficient_names` without it)."""
        return pd.Series(np.asarray(self._state.beta, dtype=float), index=self._coefficient_names(), name="Estimate")

    @functools.cached_property
    def theta_names(self) -> list[str]:
        """lme4's names of theta's entries (``LOCATION.(Intercept)``), built when first read."""
        return theta_names(self._design.terms)

    def _coefficient_names(self) -> pd.Index:
        """The fixed effects' names as an Index (a view of one remembered per tuple of names:
        pandas builds one from a list in ~25-60 us)."""
        return names_index(self._design.x_names)

    @property
    def varcorr(self) -> pd.DataFrame:
        """``as.data.frame(VarCorr(fit))``: grp, var1, var2, vcov, sdcor."""
        if self._varcorr is None:  # built on first use: a DataFrame costs more than a refit's bookkeeping
            self._varcorr = self._varcorr_frame()
        return self._varcorr

    @property
    def vcov(self) -> pd.DataFrame:
        if self._vcov_frame is None:
            names = self._coefficient_names()
            self._vcov_frame = pd.DataFrame(self._vcov_messages()[0], index=names, columns=names)
        return self._vcov_frame

    @property
    def messages(self) -> list[str]:
        # the optimiser's own (fit/_optimize.py: a joint stage that ended above its start), then the checks'
        return self.optinfo.messages + self._vcov_messages()[1]

    @property
    def converged(self) -> bool:
        return not any(m.startswith("Model failed") for m in self.messages)

    def _vcov_messages(self) -> tuple[np.ndarray, list[str]]:
        """(vcov as an array, messages): finite differences, computed on first use (the Hessian goes to the
        state's info, their evaluations to its "hessian" stage)."""
        if self._checks is None:
            clock = StageClock(self._engine())
            self._derivative_calls = ([], [])  # (counted criteria, engine objectives) the derivatives evaluate
            try:
                self._checks = self._vcov_and_checks()
                counted, objectives = self._derivative_calls
            finally:
                del self._derivative_calls  # engine objectives do not pickle
            self.optinfo.seconds["derivatives"] = clock.seconds()
            # the engine objectives' evaluations (their gradients among them) are add_stage's to count
            evaluations = sum(c.calls for c in counted)
            if evaluations or any(o.evaluations for o in objectives):
                self.optinfo.add_stage("derivatives at the optimum (standard errors)", "hessian", clock, objectives,
                                       deviance=self.deviance, evaluations=evaluations,
                                       seconds=self.optinfo.seconds["derivatives"])
        return self._checks

    def _counted(self, f):
        """``f`` counting its calls into the standard errors' "hessian" stage (:meth:`_vcov_messages`)."""
        counted = CountedCalls(f)
        self._derivative_calls[0].append(counted)
        return counted

    def _convergence_checks(self, f, x: np.ndarray, fx: float, lower: np.ndarray, h=None,
                            derivs: tuple | None = None, eigen: tuple | None = None) -> tuple[list[str], list[str]]:
        """lme4's checkConv at the optimum ``x`` of ``f``: singular-fit and convergence messages.

        Records the finite-difference gradient and Hessian in ``optinfo``
        (``derivs``: already known at ``x``, ``eigen`` the Hessian's eigenpairs;
        ``h``: finite-difference steps).
        """
        grad, hess, conv_msgs = check_convergence(f, x, fx, lower, h=h, derivs=derivs, eigen=eigen)
        self.optinfo.gradient, self.optinfo.hessian = grad, hess
        return self._singular_messages(x, lower), conv_msgs

    def _singular_messages(self, x: np.ndarray, lower: np.ndarray) -> list[str]:
        """lme4's isSingular: a diagonal of some T_t (bounded at 0) below 1e-4 (on theta's scale)."""
        # (the arrays' own methods: np.any's dispatch costs more than the test on a small fit)
        singular = bool(((lower == 0) & (abs(x) < 1e-4 * self.optinfo.theta_scale)).any())
        return ["boundary (singular) fit: see help('isSingular')"] if singular else []

    def _engine(self):
        """The engine model at the optimum (rebuilt after unpickling)."""
        return self._state.engine()

    @property
    def _model(self):
        """The engine at the optimum if the state holds one (None after unpickling, until needed)."""
        return self._state.engine_at_optimum

    # -- pickling ---------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()  # the fit state pickles without its engine
        state["_refitter"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # -- lme4-style accessors ---------------------------------------------------
    @property
    def family_name(self) -> str:
        return self.family.display_name

    @property
    def link_name(self) -> str:
        return self.family.link

    @property
    def se(self) -> pd.Series:
        """Standard errors of the fixed effects."""
        return pd.Series(np.sqrt(np.diag(self._vcov_messages()[0])), index=self._coefficient_names(),
                         name="Std. Error")

    def fitted(self) -> np.ndarray:
        """Fitted values mu on the response scale (proportions for binomial), as lme4's ``fitted``.

        Returns
        -------
        ndarray
            One value per row used in the fit (``fit.rows``), conditional on
            the estimated random effects.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> fit.fitted()[:3].round(3)
        array([0.444, 0.444, 3.558])
        """
        return np.array(self._engine().mu)

    def linear_predictor(self) -> np.ndarray:
        """The linear predictor eta = offset + X beta + Z b at the estimates.

        Returns
        -------
        ndarray
            One value per row used in the fit.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> bool(abs(fit.linear_predictor()[0] - float(np.log(fit.fitted()[0]))) < 1e-12)
        True
        """
        return np.array(self._engine().eta)

    def residuals(self, type: str | None = None) -> np.ndarray:
        """Residuals, as lme4's ``residuals(fit, type)``.

        Parameters
        ----------
        type : {"deviance", "pearson", "response", "working"}, optional
            The default is lme4's: ``"deviance"`` for a GLMM, ``"response"``
            for an LMM.

        Returns
        -------
        ndarray
            One value per row used in the fit.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> fit.residuals("pearson")[:3].round(3)
        array([-0.666, -0.666, -1.886])
        """
        type = self._default_residuals if type is None else type
        m = self._engine()
        d = self._design
        return residuals_of(self.family, d.y, np.array(m.mu), np.array(m.eta), d.weights, type)

    @property
    def scaled_residuals(self) -> np.ndarray:
        """Pearson residuals divided by sigma (what lme4's summary shows)."""
        return self.residuals("pearson") / self.sigma

    def _ranef_modes(self) -> list:
        """[(term, modes (nlevels, k))]: the conditional modes alone, without the conditional variances
        (on a large model those are a selected inverse, many times the cost of the modes)."""
        if self._modes_cache is None:
            b = np.array(self._engine().b)
            out, off = [], 0
            for t in self._design.terms:
                size = t.k * t.nlevels
                out.append((t, b[off:off + size].reshape(t.nlevels, t.k)))
                off += size
            self._modes_cache = out
        return self._modes_cache

    def _ranef_parts(self) -> list:
        """[(term, modes (nlevels, k), Var(b | y) (nlevels, k, k))]."""
        if self._ranef_cache is None:
            m = self._engine()
            self._ranef_cache = [(t, modes, np.array(m.cond_var(i)).reshape(t.nlevels, t.k, t.k)
                                  * self._cond_var_scale)
                                 for i, (t, modes) in enumerate(self._ranef_modes())]
        return self._ranef_cache

    def ranef(self, condvar: bool = True) -> RandomEffects:
        """Conditional modes of the random effects, by grouping factor.

        Parameters
        ----------
        condvar : bool
            Attach conditional standard deviations (``df.attrs["condsd"]``,
            a DataFrame shaped like the modes) and per-level conditional
            covariance matrices (``df.attrs["condvar"]``, an array
            ``(nlevels, k, k)`` per term).

        Returns
        -------
        RandomEffects
            A dict: grouping factor -> DataFrame (rows: levels; columns: the
            terms' columns; terms on the same factor side by side, as lme4).
            It prints as R prints ``ranef(fit)``.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> re = fit.ranef()
        >>> re["LOCATION"].shape, list(re["LOCATION"].attrs["condsd"].columns)
        ((63, 1), ['(Intercept)'])
        >>> print(str(re).splitlines()[0])
        $LOCATION
        """
        result: dict[str, pd.DataFrame] = {}
        sds: dict[str, list[pd.DataFrame]] = {}
        cvs: dict[str, list[np.ndarray]] = {}
        # Var(b | y) only when asked for: it is most of ranef's cost on a large model
        parts = self._ranef_parts() if condvar else [(t, modes, None) for t, modes in self._ranef_modes()]
        for t, modes, cv in parts:
            df = pd.DataFrame(modes, index=pd.Index(t.levels, name=t.group), columns=t.names)
            if t.group in result:
                result[t.group] = pd.concat([result[t.group], df], axis=1)
            else:
                result[t.group] = df
            if condvar:
                sds.setdefault(t.group, []).append(
                    pd.DataFrame(np.sqrt(np.einsum("lkk->lk", cv)), index=df.index, columns=t.names))
                cvs.setdefault(t.group, []).append(cv)
        if condvar:
            for g, df in result.items():
                df.attrs["condsd"] = pd.concat(sds[g], axis=1)
                df.attrs["condvar"] = cvs[g]
        return RandomEffects(result, "ranef")

    def ranef_frame(self) -> pd.DataFrame:
        """The conditional modes in long format, as R's ``as.data.frame(ranef(fit, condVar=TRUE))``.

        Returns
        -------
        pandas.DataFrame
            Columns grpvar, term, grp, condval, condsd; one row per level and term.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> list(fit.ranef_frame().columns), len(fit.ranef_frame())
        (['grpvar', 'term', 'grp', 'condval', 'condsd'], 63)
        """
        rows = []
        for t, modes, cv in self._ranef_parts():
            for j, name in enumerate(t.names):
                rows.append(pd.DataFrame({"grpvar": t.group, "term": name, "grp": t.levels,
                                          "condval": modes[:, j], "condsd": np.sqrt(cv[:, j, j])}))
        return pd.concat(rows, ignore_index=True)

    def coef(self) -> RandomEffects:
        """Fixed plus random effects per level of each grouping factor, as lme4's ``coef``.

        Returns
        -------
        RandomEffects
            A dict: grouping factor -> DataFrame with a column per fixed
            effect (plus random-only columns); prints as R prints ``coef(fit)``.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> c = fit.coef()["LOCATION"]
        >>> list(c.columns), bool((c["YEAR96"] == fit.fixef["YEAR96"]).all())
        (['(Intercept)', 'YEAR96', 'YEAR97'], True)
        """
        out = {}
        for g, re in self.ranef(condvar=False).items():
            df = pd.DataFrame(np.tile(self.fixef.to_numpy(), (len(re), 1)), index=re.index, columns=self.fixef.index)
            for col in re.columns:
                if col in df.columns:
                    df[col] = df[col] + re[col].to_numpy()
                else:
                    df[col] = re[col].to_numpy()
            out[g] = df
        return RandomEffects(out, "coef")

    def model_matrix(self) -> pd.DataFrame:
        """The fixed-effects model matrix X, as R's ``model.matrix(fit)``.

        Returns
        -------
        pandas.DataFrame
            One row per row used in the fit, columns named as R names them.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> list(fit.model_matrix().columns)
        ['(Intercept)', 'YEAR96', 'YEAR97']
        """
        return pd.DataFrame(self._design.X, columns=self._design.x_names)

    # -- after the fit (each delegates to its own module) -----------------------
    def predict(self, newdata=None, type: str = "link", re_form=None, allow_new_levels: bool = False,
                offset=None) -> np.ndarray:
        """Predictions, as lme4's ``predict(fit, newdata, type, re.form, allow.new.levels)``.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict for (default: the fitted rows), encoded with the
            fit's factor levels.
        type : {"link", "response", "conditional", "zprob", "zlink", "disp"}, default "link"
            The linear predictor eta or the mean of y, as lme4; glmmTMB's
            types for a zero-inflated or hurdle model: the mean of y is then
            (1 - p) times the conditional part's mean (``"conditional"``:
            mu, or E(y | y > 0) for a truncated family), ``"zprob"`` and
            ``"zlink"`` the zero-inflation probability p and its logit,
            ``"disp"`` the family parameter (glmmTMB's ``sigma()``; per row
            with a dispersion model: sigma for the gaussian, 1 / sqrt(shape)
            for the Gamma, theta or phi for the negative binomials).
        re_form : None or str, default None
            Random effects to include: None (all), ``"~0"`` (none: the
            population level) or a formula with some of the fit's bars, such
            as ``"~(1 | LOCATION)"``.
        allow_new_levels : bool, default False
            Grouping levels the fit did not see are an error, unless True
            (then their random effects are 0).
        offset : array-like, optional
            For ``newdata``: one value per row, added to the formula's
            ``offset()`` terms (required when the fit had an ``offset=``
            argument).

        Returns
        -------
        ndarray
            One prediction per row.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> import pandas as pd
        >>> new = pd.DataFrame({"YEAR": ["96", "96"], "LOCATION": ["1", "99"]})
        >>> fit.predict(new, type="response", allow_new_levels=True).round(3)
        array([17.099,  4.916])
        """
        from ._predict import predict
        return predict(self, newdata, type, re_form, allow_new_levels, offset)

    # -- R² and simulation-based residuals (_r2, _scaled_residuals) ------------
    def r2(self) -> dict[str, float]:
        """Marginal and conditional R² of Nakagawa, Johnson & Schielzeth (2017), as ``performance::r2_nakagawa``.

        Marginal R² = s_f / (s_f + s_r + s_e), conditional R² =
        (s_f + s_r) / (s_f + s_r + s_e), with s_f the variance of X beta,
        s_r the random effects' variance (mean of z' Sigma z over the rows,
        observation-level terms excluded) and s_e the residual variance:
        sigma^2 for an LMM; for a GLMM the distribution-specific variance on
        the link scale plus the variance of any observation-level random
        effect.  Distribution-specific variances (performance 0.10.2):
        binomial pi^2/3 (logit), 1 (probit), pi^2/6 (cloglog); Poisson and
        negative binomial with the log link, the lognormal approximation
        ln(1 + Var(y)/mu^2) (Var(y) = mu, or mu + mu^2/theta), with mu =
        exp(intercept) of the model refitted with an intercept-only fixed
        part and the same random effects (one extra fit; a negative-binomial
        shape is estimated again, as performance does for glmmTMB's nbinom2,
        whose likelihood glmer_nb shares); with the sqrt link, 0.25.  A singular fit (a variance component below 1e-5) has no
        conditional R² (NaN, with a warning).  For several terms on one
        grouping factor (``(x || g)``) all terms count; insight 0.19 counts
        only the first.

        Returns
        -------
        dict
            ``{"marginal": float, "conditional": float}``.

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
        >>> {k: round(v, 3) for k, v in m.r2().items()}
        {'marginal': 0.279, 'conditional': 0.799}
        """
        from ..inference._r2 import r2_nakagawa
        return r2_nakagawa(self)

    # -- printing ---------------------------------------------------------------
    def summary_text(self) -> str:
        """The summary as lme4 prints ``summary(fit)``, as a string (also ``str(fit)``).

        Returns
        -------
        str

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> print(fit.summary_text().splitlines()[3])
        Formula: TICKS ~ YEAR + (1 | LOCATION)
        """
        return format_glmer_summary(self)

    def __repr__(self) -> str:
        """lme4's ``print(fit)``: the short form of the summary."""
        return format_mermod_print(self).rstrip("\n")

    def _repr_html_(self) -> str:
        """The summary's header and tables as HTML (Jupyter)."""
        return summary_html(self)




def _component_coefficients(beta: np.ndarray | None, component) -> pd.Series | None:
    """A glmmTMB component's coefficients (``zi``, ``disp``) named by its design's columns; None without it."""
    if beta is None:
        return None
    return pd.Series(np.asarray(beta, dtype=float), index=component.x_names, name="Estimate")


def _dispersion_model_sigma(design, fixef_disp: pd.Series) -> float:
    """sqrt(phi) of a dispersion model of a family with a dispersion phi, where phi is one number (``~1``,
    or glmmTMB's fixed gaussian ``~0``); NaN where it varies by observation (glmmTMB prints NA)."""
    _, power = dispersion_model_parameter(design.family)
    betad = np.asarray(design.disp.offset, dtype=float) + design.disp.X @ fixef_disp.to_numpy()
    return float(np.exp(0.5 * power * betad[0])) if np.ptp(betad) == 0 else float("nan")


class GlmerResult(MixedResult):
    """A fitted generalized linear mixed model.

    Returned by :func:`glmmfast.glmer`; not constructed directly.

    Attributes
    ----------
    formula : str
    family : glmmfast.families.Family
    deviance : float
        -2 log L at the optimum (lme4's ``deviance`` column of the summary).
        With nAGQ > 1 on lme4's scale, which leaves out ``m2ll_omitted``.
    loglik, aic, bic : float
        The dispersion or the negative-binomial theta, when estimated, counts
        as a parameter (as glmmTMB and lme4 count it).
    m2ll_omitted : float
        With nAGQ > 1, the part of -2 log L lme4 leaves out (the saturated
        model's -2 log L, see :mod:`glmmfast.fit._agq`); 0 otherwise.
        ``deviance + m2ll_omitted`` is comparable across values of nAGQ.
    df_resid, nobs : int
    sigma : float
        sqrt(phi) for families with a dispersion phi (residual SD for the
        gaussian, coefficient of variation for the Gamma); 1 otherwise.
    dispersion : float
        phi (1 for binomial, poisson and negative binomial).
    nb_theta : float or None
        The negative-binomial shape (fixed or estimated), else None.
    fixef : pandas.Series
        Fixed-effects estimates.
    fixef_zi, fixef_disp : pandas.Series or None
        glmmTMB's zero-inflation coefficients (a ``ziformula``) and
        dispersion-model coefficients (a ``dispformula`` with covariates, on
        glmmTMB's log scale: log sigma^2 for the gaussian, log shape for the
        Gamma, log theta / log phi for the negative binomials), else None;
        ``coef_table("zi")`` / ``coef_table("disp")`` give their tests.
    vcov : pandas.DataFrame
        Their covariance matrix.
    theta : ndarray
        Relative covariance factors, lower triangles column by column.
    varcorr : pandas.DataFrame
        ``as.data.frame(VarCorr(fit))``: grp, var1, var2, vcov, sdcor.
    ngroups : dict
        Grouping factor -> number of levels.
    converged : bool
        False if a convergence check failed (see ``messages``).
    messages : list of str
        Convergence and singular-fit messages, as lme4 prints them.
    optinfo : OptimizerInfo
        The optimiser's record: ``optinfo.stages`` holds one dict per stage
        (the GLM start, stage 1, stage 2, the Hessian for the standard
        errors once computed),
        each with ``kind``, ``optimizer``, ``evaluations``, ``gradient_evaluations``,
        ``pirls_iterations`` and ``seconds``; the totals, timings by phase,
        and the gradient and Hessian at the optimum.

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
    ...                      family="poisson")
    >>> round(fit.deviance, 2), fit.ngroups, fit.converged
    (2298.29, {'LOCATION': 63}, True)
    >>> print(repr(fit).splitlines()[0])
    Generalized linear mixed model fit by maximum likelihood (Laplace
    """


    def __init__(self, state: FitState, data_name: str | None):
        design, parameter = state.design, state.family_parameter
        self.nAGQ = state.nAGQ
        self.m2ll_omitted = omitted_m2ll(design, self.nAGQ)
        self.deviance = float(state.deviance) - self.m2ll_omitted
        if parameter is not None and "dispersion" in parameter.values:  # (beside the Tweedie power)
            self.dispersion = float(parameter.values["dispersion"])
            # glmmTMB's sigma(): sqrt(phi), except where phi is the scale itself (tweedie)
            self.sigma = self.dispersion if state.family.sigma_is_dispersion else float(np.sqrt(self.dispersion))
        family = state.family
        self.nb_theta = family.theta if family.name == "negative.binomial" else None
        # glmmTMB's zero-inflation part (ziformula) and dispersion model (dispformula, on glmmTMB's log
        # scale): their coefficients, separate from fixef
        self.fixef_zi = _component_coefficients(state.beta_zi, design.zi)
        self.fixef_disp = _component_coefficients(state.beta_disp, design.disp)
        n_zi = 0 if self.fixef_zi is None else self.fixef_zi.size
        n_disp = 0 if self.fixef_disp is None else self.fixef_disp.size
        if self.fixef_disp is not None and family.has_dispersion:
            self.sigma = _dispersion_model_sigma(design, self.fixef_disp)
        if state.integrated_beta:
            self.reml = True  # glmmTMB's REML: beta integrated out
        self._vcov_full = None
        self._init_common(state, data_name,
                          npar=len(state.theta) + len(design.x_names) + n_zi + n_disp
                          + (0 if parameter is None else parameter.size))
        if state.integrated_beta:  # glmmTMB's residual df under REML leaves the integrated-out beta out
            self.df_resid += len(design.x_names)

    def _varcorr_frame(self) -> pd.DataFrame:
        # Absolute-scale components; lme4's Residual row for the families with a dispersion.
        return varcorr_frame(self._design.terms, self.theta, 1.0, residual=self.family.has_dispersion,
                             residual_sd=self.sigma)

    # -- construction helpers -------------------------------------------------
    def _vcov_and_checks(self) -> tuple[np.ndarray, list[str]]:
        state = self._state
        model = state.engine()
        nt, p = self.theta.size, len(self._design.x_names)
        fp = state.family_parameter
        x = state.optimizer_point()
        n_zi = 0 if state.beta_zi is None else len(state.beta_zi)
        n_zi += 0 if state.beta_disp is None else len(state.beta_disp)  # both unbounded extra coordinates
        lower = np.concatenate([np.asarray(model.lower_bounds()), np.full(p + n_zi, -np.inf),
                                [] if fp is None else fp.optimizer_lowers()])
        # Zero-part coefficients diverging to -inf, held at that limit (fit/_zero_part_tail.py): no standard
        # errors (the likelihood is flat in them), and left out of the convergence checks as coordinates
        # on a bound are (their lower bound set where they are)
        held = nt + p + diverging_zero_part(self._design, state.beta_zi)
        if held.size:
            lower[held] = x[held]

        if state.integrated_beta:  # glmmTMB's REML: beta integrated out, no convergence checks in beta
            self._vcov_full = integrated_beta_vcov_full(model, state.theta, state.beta_disp)
            return self._vcov_full[nt:nt + p, nt:nt + p], []
        # -2 log L at v = (theta, beta, log family parameter): the Hessian
        # includes the (log) family parameter, as glmmTMB's.
        objective = joint_objective(model, fp, self.nAGQ)
        f = self._counted(objective.evaluate)
        if self.nAGQ == 0:
            # The fast fit optimises theta only (beta comes from PIRLS), so
            # derivative checks of the Laplace deviance in (theta, beta) do
            # not apply; lme4 likewise uses the PIRLS covariance here.
            return np.asarray(model.beta_unscaled_vcov()), self._singular_messages(x, lower) + \
                self._boundary_messages(model)
        # Finite-difference steps: lme4's 1e-4, except for the families with a
        # parameter, whose links put theta and beta on any scale (1e-5 with
        # 1/mu^2, 250 with an identity link): 1e-4 relative, at least 1e-4 x
        # the scale of the linear predictor.
        h = np.full(x.size, 1e-4)
        if fp is not None:
            h[:nt + p] = 1e-4 * np.maximum(np.abs(x[:nt + p]), self.optinfo.theta_scale)
        derivs = eigen = None
        try:
            if objective.has_gradient:
                # Central differences of the exact gradient: 2d evaluations
                # instead of 2d + d(d-1)/2, and O(h^2) accurate (as refits' warm start).
                derivs = laplace_hessian(model, x, h, fp, objective, separable_zero_part_hessian(state.design),
                                         held if held.size else None)
                self._derivative_calls[1].append(objective)
                # one eigendecomposition for the convergence checks, the inverse and its definiteness
                eigen = np.linalg.eigh(derivs[1])
            msgs, conv_msgs = self._convergence_checks(f, x, float(state.deviance), lower, h=h, derivs=derivs,
                                                       eigen=eigen)
        except _core.PirlsError as err:
            # A step of h in beta_j moves eta by h * x_ij: with a predictor on
            # a scale of 1e10 PIRLS cannot start there (lme4's deriv12 fails alike).
            f(x)  # restore the optimum
            return np.asarray(model.beta_unscaled_vcov()), self._singular_messages(x, lower) + [
                f"convergence checks not done: PIRLS failed a finite-difference step from the optimum ({err}); "
                "variance-covariance matrix estimated from RX"]
        hess = self.optinfo.hessian
        if derivs is None or not objective.has_neighbour_gradient:  # (else the engine's Hessian returned there)
            f(x)  # restore the optimum
        # Cov(beta-hat) = 2 [H^{-1}]_{beta,beta} (H: Hessian of -2 log L in (theta, beta)).
        V = None
        try:
            # H positive definite, well conditioned: H^{-1} = Q diag(1 / lambda) Q' from its eigenpairs, and
            # every principal block of it (V's) positive definite too
            lam = eigen[0] if eigen is not None else None
            definite = (lam is not None and not held.size and hess is derivs[1]
                        and float(lam[0]) > _DEFINITE_RATIO * float(lam[-1]))
            estimable = None  # every coordinate, unless some are held or undetermined (below)
            if definite:
                Hinv = (eigen[1] / lam) @ eigen[1].T
            else:
                estimable = np.ones(x.size, dtype=bool)
                estimable[held] = False
                Hinv = np.full(hess.shape, np.nan)  # the held and undetermined coefficients' rows and columns NaN
                inverse, undetermined = _inverse_on_determined_directions(hess[np.ix_(estimable, estimable)])
                Hinv[np.ix_(estimable, estimable)] = inverse
                estimable[np.flatnonzero(estimable)[undetermined]] = False
            full = Hinv + Hinv.T  # 2 H^{-1}, symmetric: every outer parameter (vcov_full)
            k = full.shape[0]
            if fp is not None and fp.limit_message:  # a parameter at its limit: no variance (and a message)
                j = k - fp.size + next(i for i, part in enumerate(fp.parts) if part.limit_message)
                full[j, :] = full[:, j] = np.nan
                k = j
            block = (full[:k, :k] if estimable is None or estimable.all()
                     else full[:k, :k][np.ix_(estimable[:k], estimable[:k])])
            self._vcov_full = full if np.isfinite(block).all() and (block.diagonal() > 0).all() else None
            V = full[nt:nt + p, nt:nt + p]
            if not np.isfinite(V).all() or (V.size and not definite and np.linalg.eigvalsh(V).min() <= 0):
                V = None  # (no fixed effects: 0 x 0)
        except np.linalg.LinAlgError:
            V = None
        if V is None:
            V = np.asarray(model.beta_unscaled_vcov())
            conv_msgs.append("variance-covariance matrix computed from finite-difference Hessian is\n"
                             "not positive definite or contains NA values: falling back to var-cov estimated from RX")
        msgs.extend(conv_msgs)
        msgs.extend(self._boundary_messages(model))
        return V, msgs

    @property
    def vcov_full(self) -> pd.DataFrame:
        """Covariance of every outer parameter, as glmmTMB's ``vcov(fit, full = TRUE)``.

        Rows and columns in glmmTMB's order and names: the conditional fixed
        effects, the zero-inflation ones (``zi~name``), the log family
        parameter (``d~(Intercept)``: log theta for nbinom2, log phi for
        nbinom1 and the dispersion families) or the dispersion model's
        coefficients (``d~name``, a ``dispformula``), the Tweedie power
        (``Tweedie power``, on glmmTMB's logit(p - 1) scale) or the t's df, and
        theta (on this package's scale: relative Cholesky factors, not
        glmmTMB's log standard deviations).  From the finite-difference
        Hessian of -2 log L in all of them but the zero-inflation coefficients
        diverging to -inf (named in :attr:`messages`; held at that limit by the
        optimiser): their rows and columns are NaN, as their standard errors
        in :meth:`coef_table` (the likelihood is flat in them).  So are those
        of coefficients moved by a direction along which the Hessian is flat to
        rounding (the data do not determine it; the messages say the model is
        nearly unidentifiable); the others' come from the remaining eigenpairs.

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("grouseticks")
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", ziformula="~1")
        >>> list(m.vcov_full.index)
        ['(Intercept)', 'YEAR96', 'YEAR97', 'zi~(Intercept)', 'theta|LOCATION.(Intercept)']
        """
        self._vcov_messages()
        nt, p = self.theta.size, self.fixef.size
        n_zi = 0 if self.fixef_zi is None else self.fixef_zi.size
        n_disp = 0 if self.fixef_disp is None else self.fixef_disp.size
        fp = self._state.family_parameter
        # the optimiser's order: theta, beta, beta_zi, beta_disp, the family parameter(s)
        names_x = ([f"theta|{n}" for n in self.theta_names] + list(self.fixef.index)
                   + [f"zi~{n}" for n in ([] if self.fixef_zi is None else self.fixef_zi.index)]
                   + [f"d~{n}" for n in ([] if self.fixef_disp is None else self.fixef_disp.index)]
                   + (fp.coordinate_names if fp is not None else []))
        order = list(range(nt, nt + p + n_zi + n_disp + (0 if fp is None else fp.size))) + list(range(nt))
        if self._vcov_full is None:
            full = np.full((len(names_x), len(names_x)), np.nan)
        else:
            full = self._vcov_full
        names = [names_x[i] for i in order]
        return pd.DataFrame(full[np.ix_(order, order)], index=names, columns=names)

    @property
    def family_parameters(self) -> dict[str, float]:
        """The estimated family parameters by glmmTMB's meaning: ``{"theta": ...}`` (nbinom2),
        ``{"phi": ...}`` (nbinom1), ``{"dispersion": ...}`` (phi of gaussian, Gamma, ...),
        ``{"dispersion": ..., "power": ...}`` (tweedie); empty if none.

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                    family="nbinom2")
        >>> list(m.family_parameters)
        ['theta']
        """
        fp = self._state.family_parameter
        return {} if fp is None else dict(fp.values)

    @property
    def family_parameter_se(self) -> dict[str, float]:
        """Standard errors of :attr:`family_parameters` (delta method from the optimiser's scale: log, or
        the Tweedie power's logit(p - 1); NaN for a power at its limit).

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                    family="nbinom2")
        >>> m.family_parameter_se["theta"] > 0
        True
        """
        fp = self._state.family_parameter
        if fp is None:
            return {}
        full = self.vcov_full
        return {part.name: float(part.optimizer_derivative() * np.sqrt(full.loc[c, c]))
                for part, c in zip(fp.parts, fp.coordinate_names)}

    def coef_table(self, component: str = "cond") -> pd.DataFrame:
        """Estimates, standard errors, z values and p-values of one component, as glmmTMB's summary tables.

        Parameters
        ----------
        component : {"cond", "zi", "disp"}
            The conditional model (``fixef``), the zero-inflation model
            (``fixef_zi``) or the dispersion model (``fixef_disp``, a ``dispformula``).

        Returns
        -------
        pandas.DataFrame
            Columns Estimate, Std. Error, z value, Pr(>|z|).

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("grouseticks")
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", ziformula="~1")
        >>> list(m.coef_table("zi").index)
        ['(Intercept)']
        """
        from scipy import stats

        if component == "cond":
            est, se = self.fixef, self.se
        elif component in ("zi", "disp"):
            est, prefix, missing = ((self.fixef_zi, "zi~", "zero-inflation model (ziformula)") if component == "zi"
                                    else (self.fixef_disp, "d~", "dispersion model (dispformula with covariates)"))
            if est is None:
                raise ArgumentError(f"this fit has no {missing}")
            names = [prefix + n for n in est.index]
            se = pd.Series(np.sqrt(np.diag(self.vcov_full.loc[names, names].to_numpy())), index=est.index)
        else:
            raise ArgumentError(f"component must be 'cond', 'zi' or 'disp', not {component!r}")
        z = est.to_numpy() / se.to_numpy()
        return pd.DataFrame({"Estimate": est.to_numpy(), "Std. Error": se.to_numpy(), "z value": z,
                             "Pr(>|z|)": 2 * stats.norm.sf(np.abs(z))}, index=est.index)

    @property
    def glmmtmb_model(self) -> bool:
        """Whether the fit is one only glmmTMB fits (a ziformula, or a family
        only glmmTMB has: nbinom1, truncated, genpois, compois, beta, betabinomial, t):
        summaries then print as glmmTMB's."""
        return self.fixef_zi is not None or self.fixef_disp is not None or self.family.glmmtmb_family

    def summary_text(self) -> str:
        """The summary as lme4 prints ``summary(fit)`` (glmmTMB's, for the models only glmmTMB fits:
        :attr:`glmmtmb_model`), as a string (also ``str(fit)``).

        Returns
        -------
        str

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("grouseticks")
        >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson", ziformula="~1")
        >>> print(m.summary_text().splitlines()[2])
        Zero inflation:         ~1
        """
        if self.glmmtmb_model:
            from ..summary._tmb_summary import format_tmb_summary
            return format_tmb_summary(self)
        return super().summary_text()

    def _boundary_messages(self, model) -> list[str]:
        """The family's warning if fitted means at the optimum sit on the boundary (separation), a
        bounded family parameter's at its limit (the Tweedie power), and zero-part coefficients diverging to -Inf."""
        boundary = self.family.boundary_message(np.asarray(model.mu), self._design.X, self._design.x_names)
        fp = self._state.family_parameter
        limit = fp.limit_message if fp is not None else None
        zero_part = diverging_zero_part_message(self._design, self._state.beta_zi)
        return [m for m in (boundary, limit, zero_part) if m]

    @property
    def method_title(self) -> str:
        if self.nAGQ == 1:
            return "Laplace Approximation"
        return f"Adaptive Gauss-Hermite Quadrature, nAGQ = {self.nAGQ}"

    def anova(self, type=3) -> pd.DataFrame:
        """Wald chi-square tests of each term, as ``car::Anova(fit, type = 3)`` or ``type = 2``.

        Type 3: each term (the intercept included) is tested by b' V^{-1} b on
        its coefficients b and their block V of :attr:`vcov`; with treatment
        contrasts these are tests of the coefficients, as car's.  Type 2
        (car's default): each term is tested after the terms that do not
        contain it, respecting marginality (a main effect is tested in the
        presence of the other main effects, not of its interactions), by the
        Wald statistic of car's hypothesis matrix; no intercept row.  These
        are not likelihood-ratio tests: for those, :func:`glmmfast.anova`.

        Parameters
        ----------
        type : {3, 2}
            Type III or type II hypotheses ("III" and "II" are accepted too).

        Returns
        -------
        pandas.DataFrame
            Indexed by term: Chisq, Df, Pr(>Chisq).

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("cbpp")
        >>> m = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", df, family="binomial")
        >>> int(m.anova().loc["period", "Df"])
        3
        >>> print(m.anova(type=2)[["Chisq", "Df"]].round(4).to_string())
                  Chisq  Df
        period  24.9486   3
        """
        from ..inference._lmer_anova import wald_anova
        return wald_anova(self, type)

    def simulate(self, nsim: int = 1, seed=None, re_form="~0", newdata=None,
                 allow_new_levels: bool = False, offset=None) -> np.ndarray:
        """Responses drawn from the fitted model, as lme4's ``simulate(fit, nsim, seed)``.

        Parameters
        ----------
        nsim : int, default 1
        seed : int or numpy SeedSequence, optional
        re_form : None or str, default "~0"
            ``"~0"``: new random effects for every draw (lme4's default
            ``re.form = NA``); None: conditional on the estimated ones; or
            a formula with some of the bars.
        newdata : pandas.DataFrame, optional
            Rows to simulate for (default: the fitted rows).
        allow_new_levels : bool, default False
            As in :meth:`predict`.
        offset : array-like, optional
            For ``newdata``, as in :meth:`predict`.

        Returns
        -------
        ndarray, shape (n, nsim)
            Counts for Poisson; proportions of the trials for binomial.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> fit.simulate(5, seed=1).shape
        (403, 5)
        """
        from ._simulate import simulate
        return simulate(self, nsim, seed, re_form, newdata, allow_new_levels, offset)

    def _refit_hessian(self) -> np.ndarray | None:
        """The Hessian of -2 log L in (theta, beta) at the optimum, for
        refits' quasi-Newton start: the one the standard errors come from
        (computed once, here, rather than by every refitting model or
        bootstrap thread).  None where refits use none (nAGQ != 1, a
        re-estimated family parameter, zero inflation, no exact gradient)."""
        if (self.nAGQ != 1 or self._state.family_parameter is not None or self._state.beta_zi is not None
                or not self._engine().has_laplace_gradient):
            return None
        self._vcov_messages()
        return self.optinfo.hessian

    def model(self):
        """The low-level reusable model for fast refits, warm-started at this fit.

        Returns
        -------
        GlmerModel

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> out = fit.model().refit(fit.simulate(1, seed=2)[:, 0])
        >>> out.beta.shape
        (3,)
        """
        from ._refit import GlmerModel
        return GlmerModel.from_result(self)

    def refit(self, newresp, weights=None) -> "GlmerResult":
        """The same model fitted to a new response, as lme4's ``refit(fit, newresp)``.

        Parameters
        ----------
        newresp : array-like
            One response per row used in the fit (for binomial: proportions).
        weights : array-like, optional
            New prior weights (binomial trials), else the fit's.

        Returns
        -------
        GlmerResult
            Warm-started at this fit's optimum (stage 1 skipped).

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> again = fit.refit(fit.simulate(1, seed=2)[:, 0])
        >>> again.nobs == fit.nobs
        True
        """
        if getattr(self, "_refitter", None) is None:
            self._refitter = self.model()
        return self._refitter.result(self._refitter.refit(newresp, weights))

    def bootstrap(self, nsim: int, statistic=None, seed=None, n_jobs: int = -1, executor=None,
                  progress: bool = True):
        """Parametric bootstrap, as lme4's ``bootMer(fit, FUN, nsim, seed)``.

        Parameters
        ----------
        nsim : int
            Number of simulated responses, each refitted.
        statistic : callable, optional
            ``statistic(result) -> 1-d array``; default: theta and the fixed
            effects.
        seed : int, optional
            Replicate i uses ``SeedSequence(seed).spawn(nsim)[i]``: results do
            not depend on ``n_jobs`` or the executor.
        n_jobs : int, default -1
            Threads (-1: all cores).
        executor : concurrent.futures.Executor or dask.distributed.Client, optional
            E.g. a Dask client (or its executor), instead of threads.
        progress : bool, default True
            A tqdm progress bar when tqdm is installed.

        Returns
        -------
        BootstrapResult

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> boot = fit.bootstrap(20, seed=1, n_jobs=1, progress=False)
        >>> boot.replicates.shape, boot.n_failed
        ((20, 4), 0)
        """
        from ._bootstrap import bootstrap
        return bootstrap(self, nsim, statistic, seed, n_jobs, executor, progress)

    def confint(self, method: str = "Wald", level: float = 0.95, **kwargs) -> pd.DataFrame:
        """Confidence intervals, as lme4's ``confint(fit, method)``.

        Parameters
        ----------
        method : {"Wald", "profile", "boot"}, default "Wald"
            Wald (fixed effects only, NaN for the variance parameters, as
            lme4), profile likelihood (on lme4's sd/correlation scale), or
            parametric bootstrap percentiles.  For the models only glmmTMB
            fits (:attr:`glmmtmb_model`) every method also gives glmmTMB's
            rows for the zero-inflation coefficients (``zi.<name>``) and
            the family parameter (``sigma``, glmmTMB's sigma()), and the
            Tweedie ``power``.
        level : float, default 0.95
        **kwargs
            For ``"boot"``: passed to :meth:`bootstrap` (``nsim``, ``seed``, ...).

        Returns
        -------
        pandas.DataFrame
            Rows ``.sig01``, ... then the fixed effects (then ``zi.<name>``,
            ``sigma``, ``power`` where they apply); columns such as
            ``"2.5 %"``, ``"97.5 %"``.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
        ...                      family="poisson")
        >>> list(fit.confint().index)
        ['.sig01', '(Intercept)', 'YEAR96', 'YEAR97']
        """
        from ..inference._confint import confint
        return confint(self, method, level, **kwargs)



class LmerResult(MixedResult):
    """A fitted linear mixed model.

    Returned by :func:`glmmfast.lmer`; not constructed directly.  Has every
    attribute and method of :class:`GlmerResult` (``family`` is gaussian
    with the identity link), with lme4's conventions for ``lmerMod``:

    Attributes
    ----------
    reml : bool
        True for a REML fit.
    sigma : float
        Residual standard deviation (REML or ML estimate, as the fit).
    deviance : float
        The criterion minimised: the REML criterion of a REML fit, -2 log L
        of an ML fit (lme4's ``deviance()``).
    reml_criterion : float
        The REML criterion at the estimates (lme4's ``REMLcrit``).
    loglik, aic, bic : float
        ``-deviance / 2`` (the REML log-likelihood of a REML fit, as lme4's
        ``logLik``) and the criteria from it, counting sigma as a parameter.
    vcov : pandas.DataFrame
        sigma^2 (R_X'R_X)^{-1}.
    varcorr : pandas.DataFrame
        With the "Residual" row last.

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
    >>> round(fit.sigma, 3), fit.reml
    (25.592, True)
    """

    _default_residuals = "response"

    def __init__(self, state: FitState, data_name: str | None):
        model = state.engine()
        self.reml = bool(state.reml)
        self.sigma = float(model.sigma(self.reml))
        self._cond_var_scale = self.sigma**2
        self.reml_criterion = float(model.criterion(True))
        self.deviance = float(state.deviance)
        self._init_common(state, data_name, npar=state.theta.size + len(state.design.x_names) + 1)

    def _varcorr_frame(self) -> pd.DataFrame:
        return varcorr_frame(self._design.terms, self.theta, self.sigma, residual=True)

    def _vcov_and_checks(self) -> tuple[np.ndarray, list[str]]:
        # lme4's checkConv for lmer: derivatives in theta alone (beta and
        # sigma are profiled out).
        model = self._engine()
        derivs = None
        if self.optinfo.gradient is not None and self.optinfo.gradient.size == self.theta.size:
            derivs = (self.optinfo.gradient, self.optinfo.hessian)  # from optimize_lmer, at theta
        msgs, conv_msgs = self._convergence_checks(self._counted(lambda th: model.deviance(th, self.reml)),
                                                   self.theta, self.deviance,
                                                   np.asarray(model.lower_bounds(), dtype=float), derivs=derivs)
        lmm_criterion_at(model, self.theta, self.reml)  # at the optimum (evaluated only if the engine moved)
        return self.sigma**2 * np.asarray(model.beta_unscaled_vcov()), msgs + conv_msgs

    # -- inference after the fit (lmerTest / pbkrtest; see _lmer_anova) ---------
    def coef_table(self, ddf: str = "Satterthwaite") -> pd.DataFrame:
        """lmerTest's coefficient table: t tests with Satterthwaite or Kenward-Roger df.

        Parameters
        ----------
        ddf : {"Satterthwaite", "Kenward-Roger"}
            Satterthwaite's df (analytic derivatives of Cov(beta) in
            (theta, sigma)), or Kenward-Roger's adjusted covariance and df
            (pbkrtest; REML fits only).

        Returns
        -------
        pandas.DataFrame
            Indexed by coefficient: Estimate, Std. Error, df, t value, Pr(>|t|).

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
        >>> m.coef_table()["df"].round(3).tolist()
        [17.0, 17.0]
        """
        from ..inference._lmer_anova import coef_table
        return coef_table(self, ddf)

    def anova(self, type=3, ddf: str = "Satterthwaite") -> pd.DataFrame:
        """lmerTest's ANOVA table: an F test per fixed-effects term.

        Parameters
        ----------
        type : {3, 2, 1}
            Type III (SAS-like, coding independent), II or I (sequential) hypotheses.
        ddf : {"Satterthwaite", "Kenward-Roger"}

        Returns
        -------
        pandas.DataFrame
            Indexed by term: Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F).
            (Likelihood-ratio tests between fits: :func:`glmmfast.anova`.)

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
        >>> round(float(m.anova().loc["Days", "F value"]), 3)
        45.853
        """
        from ..inference._lmer_anova import lmer_anova
        return lmer_anova(self, type, ddf)

    def contest(self, L, ddf: str = "Satterthwaite", joint: bool = True) -> pd.DataFrame:
        """lmerTest's ``contest``: test L beta = 0 for a contrast matrix L.

        Parameters
        ----------
        L : array-like or DataFrame, shape (k, p) or (p,)
            One row per linear function of the coefficients (DataFrame columns
            are matched to the coefficient names).
        ddf : {"Satterthwaite", "Kenward-Roger"}
        joint : bool, default True
            One F test of all rows (columns as :meth:`anova`), or a t test per
            row (columns as :meth:`coef_table`).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import glmmfast
        >>> m = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
        >>> round(float(m.contest([0, 1], joint=False)["t value"].iloc[0]), 3)
        6.771
        """
        from ..inference._lmer_anova import contest
        return contest(self, L, ddf, joint)

    def summary_text(self, ddf: str | None = None) -> str:
        """The lme4 summary; with ``ddf``, lmerTest's (df and p-values for the fixed effects).

        Parameters
        ----------
        ddf : {None, "Satterthwaite", "Kenward-Roger"}
            None: lme4's ``summary(fit)``; otherwise lmerTest's, with that
            method's denominator degrees of freedom.

        Returns
        -------
        str

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
        >>> print(fit.summary_text(ddf="Satterthwaite").splitlines()[-7])
        Days          10.467      1.546  17.000   6.771 3.26e-06 ***
        """
        if ddf is None:
            return format_glmer_summary(self)
        from ..summary._summary import format_lmertest_summary
        return format_lmertest_summary(self, self.coef_table(ddf), ddf)

    def summary(self, ddf: str | None = None) -> None:
        """Print lme4's summary, or lmerTest's with ``ddf="Satterthwaite"`` or ``"Kenward-Roger"``.

        Parameters
        ----------
        ddf : {None, "Satterthwaite", "Kenward-Roger"}
            As :meth:`summary_text`.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", glmmfast.datasets.load("sleepstudy"))
        >>> fit.summary(ddf="Kenward-Roger")  # doctest: +ELLIPSIS
        Linear mixed model fit by REML. t-tests use Kenward-Roger's method [
        lmerModLmerTest]
        ...
        """
        print(self.summary_text(ddf), end="")

