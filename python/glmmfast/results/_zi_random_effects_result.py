"""The result of a fit with random effects in the ziformula (glmmTMB's ``ziformula = ~ x + (1 | g)``).

Holds :class:`ZiRandomEffectsResult`, built from a
:class:`~glmmfast.fit._zi_random_effects.ZiRandomEffectsState`: -2 log L,
AIC/BIC, the fixed effects of both components (and of a ``dispformula``'s
dispersion model: ``fixef_disp``, ``coef_table("disp")``) with their standard errors
(``coef_table``, ``vcov_full`` from the Hessian of -2 log L in every outer
parameter, as glmmTMB's ``sdreport``), both components' variance components
(``varcorr``, as glmmTMB's ``VarCorr(fit)$cond`` and ``$zi``), conditional
modes per component with their variances (``ranef(component=, condvar=)``, as
glmmTMB's ``ranef(fit, condVar = TRUE)``:
:mod:`~glmmfast.results._zi_conditional_variance`), the family parameters,
and predictions (glmmTMB's ``predict`` types, on the fitted rows or new
data, with all, none or some of each component's random-effects terms:
``re_form``), glmmTMB's printed summary (its "Conditional model:" and
"Zero-inflation model:" random-effects blocks), Wald and profile intervals,
``simulate`` (new random effects in both components, as glmmTMB's, or
some terms held at their modes: ``re_form``, as lme4's), ``refit``, the
parametric ``bootstrap`` (threads or any executor,
:mod:`~glmmfast.results._bootstrap`) and its percentile intervals
(``confint(method="boot")``); likelihood-ratio tests against any other fit of
the same rows through :func:`glmmfast.anova`.

``theta`` holds the conditional terms' parameters first, then the
zero-inflation terms' (each on this package's scale: relative Cholesky
factors, the standard deviations for the families without a dispersion).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .._errors import ArgumentError
from ..design._re_terms import theta_names, theta_split, varcorr_frame

__all__ = ["ZiRandomEffectsResult"]



def _groups(terms: list) -> dict[str, int]:
    """Grouping factor -> its number of levels, in the terms' order."""
    out: dict[str, int] = {}
    for t in terms:
        out.setdefault(t.group, t.nlevels)
    return out


def _component_keeps(cond_terms: list, zi_terms: list, re_form) -> tuple[np.ndarray, np.ndarray]:
    """Per component, which random-effects terms ``re_form`` keeps (:func:`~glmmfast.results._predict.select_terms`):
    one formula over both components (a term it names is kept in each component that has it), or a dict
    ``{"cond": ..., "zi": ...}`` with one ``re_form`` per component (a component left out keeps every term)."""
    from ._predict import select_terms

    if isinstance(re_form, dict):
        unknown = set(re_form) - {"cond", "zi"}
        if unknown:
            raise ArgumentError(f"re_form's components are 'cond' and 'zi', not {sorted(unknown)}")
        return select_terms(cond_terms, re_form.get("cond")), select_terms(zi_terms, re_form.get("zi"))
    keep = select_terms(cond_terms + zi_terms, re_form)
    return keep[:len(cond_terms)], keep[len(cond_terms):]


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

    #: summaries print as glmmTMB's; intervals and the bootstrap carry glmmTMB's extra rows
    glmmtmb_model = True
    #: the bootstrap simulates and refits through this result (results/_bootstrap.py's ZiRandomEffectsJob)
    zi_random_effects = True

    def __init__(self, state, data_name: str | None = None):
        self._state = state
        self._design = state.design
        self.data_name = data_name
        self.family = state.design.family
        self.deviance = float(state.deviance)
        self.optinfo = state.info
        self._vcov_full_cache = None
        self._condvar_cache = None

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_condvar_cache", None)  # pickles made before condvar

    @property
    def formula(self) -> str:
        """The conditional model's formula."""
        return self._design.formula

    @property
    def ngroups(self) -> dict[str, int]:
        """Levels per grouping factor of the conditional model's random effects."""
        return _groups(self._design.terms)

    @property
    def ngroups_zi(self) -> dict[str, int]:
        """Levels per grouping factor of the zero-inflation model's random effects."""
        return _groups(self._design.zi.terms)

    @property
    def df_resid(self) -> int:
        """nobs - npar, as glmmTMB's df.residual."""
        return self.nobs - self.npar

    # -- sizes and likelihood ----------------------------------------------------------------------
    @property
    def nobs(self) -> int:
        """Number of observations."""
        return int(self._design.n)

    @property
    def npar(self) -> int:
        """Estimated parameters: theta, beta, beta_zi, beta_disp and the family parameters."""
        fp, disp = self._state.family_parameter, self._state.beta_disp
        return (self._state.theta.size + self._state.beta.size + self._state.beta_zi.size
                + (0 if disp is None else disp.size) + (0 if fp is None else fp.size))

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

    @property
    def fixef_disp(self) -> pd.Series | None:
        """The dispersion model's coefficients (glmmTMB's ``fixef(fit)$disp``, log scale; a ``dispformula``
        with covariates), else None."""
        from ._results import _component_coefficients
        return _component_coefficients(self._state.beta_disp, self._design.disp)

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

    def ranef(self, component: str = "cond", condvar: bool = True) -> dict[str, pd.DataFrame]:
        """Conditional modes of one component's random effects, by grouping factor, as glmmTMB's
        ``ranef(fit, condVar = TRUE)$cond`` (or ``$zi``).

        Parameters
        ----------
        component : {"cond", "zi"}
        condvar : bool, default True
            Attach the random effects' variances as glmmTMB's ``condVar`` attribute does (TMB's
            ``sdreport``: the uncertainty of the estimated parameters included, see
            :mod:`~glmmfast.results._zi_conditional_variance`): ``df.attrs["condvar"]``, a list with one
            ``(nlevels, k, k)`` array per term (each level's block), and ``df.attrs["condsd"]``, the
            square roots of their diagonals shaped like the modes.

        Returns
        -------
        dict
            Grouping factor -> DataFrame (rows: levels; columns: the terms' columns).

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> re = m.ranef("zi")
        >>> re["site"].shape, re["site"].attrs["condsd"].shape
        ((23, 1), (23, 1))
        """
        if component not in ("cond", "zi"):
            raise ArgumentError(f"component must be 'cond' or 'zi', not {component!r}")
        terms = self._design.terms if component == "cond" else self._design.zi.terms
        first = 0 if component == "cond" else len(self._design.terms)
        variances = self._conditional_variances()[first:first + len(terms)] if condvar else [None] * len(terms)
        out: dict[str, pd.DataFrame] = {}
        sds: dict[str, list[pd.DataFrame]] = {}
        cvs: dict[str, list[np.ndarray]] = {}
        for t, modes, cv in zip(terms, self._mode_blocks(component), variances):
            df = pd.DataFrame(modes, index=pd.Index(t.levels, name=t.group), columns=t.names)
            out[t.group] = pd.concat([out[t.group], df], axis=1) if t.group in out else df
            if condvar:
                sds.setdefault(t.group, []).append(pd.DataFrame(np.sqrt(np.einsum("lkk->lk", cv)), index=df.index,
                                                                columns=t.names))
                cvs.setdefault(t.group, []).append(cv)
        for g, df in out.items() if condvar else ():
            df.attrs["condsd"] = pd.concat(sds[g], axis=1)
            df.attrs["condvar"] = cvs[g]
        return out

    def _conditional_variances(self) -> list[np.ndarray]:
        """Var(b) per term of both components (computed once)."""
        if self._condvar_cache is None:
            from ._zi_conditional_variance import zi_conditional_variances
            self._condvar_cache = zi_conditional_variances(self._state)
        return self._condvar_cache

    def _mode_blocks(self, component: str) -> list[np.ndarray]:
        """One component's conditional modes per term, each ``(nlevels, k)``."""
        q_cond = sum(t.k * t.nlevels for t in self._design.terms)
        b = self._state.b[:q_cond] if component == "cond" else self._state.b[q_cond:]
        terms = self._design.terms if component == "cond" else self._design.zi.terms
        blocks, off = [], 0
        for t in terms:
            size = t.k * t.nlevels
            blocks.append(b[off:off + size].reshape(t.nlevels, t.k))
            off += size
        return blocks

    # -- covariance of the estimates -----------------------------------------------------------------
    def _names_x(self) -> list[str]:
        fp = self._state.family_parameter
        disp = [] if self.fixef_disp is None else [f"d~{n}" for n in self.fixef_disp.index]
        return ([f"theta|{n}" for n in self.theta_names] + list(self.fixef.index)
                + [f"zi~{n}" for n in self.fixef_zi.index] + disp + ([] if fp is None else fp.coordinate_names))

    @property
    def vcov_full(self) -> pd.DataFrame:
        """Covariance of every outer parameter (2 H^{-1}, H the Hessian of -2 log L), as glmmTMB's
        ``vcov(fit, full = TRUE)``: the conditional fixed effects, the zero-inflation ones (``zi~name``),
        the dispersion model's (``d~name``) or the log family parameter (``d~(Intercept)``), then theta
        (conditional, then ``zi~`` terms)."""
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
        p = self._state.beta.size  # vcov_full's first rows and columns (by position: .loc by names took 2 ms)
        return self.vcov_full.iloc[:p, :p].copy()  # a copy, as .loc gave: the cache stays intact

    @property
    def se(self) -> pd.Series:
        """Standard errors of the conditional fixed effects."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.fixef.index)

    def coef_table(self, component: str = "cond") -> pd.DataFrame:
        """Estimates, standard errors, z values and p-values of one component (``"cond"``, ``"zi"`` or
        ``"disp"``, the dispersion model's)."""
        from scipy import stats

        if component == "cond":
            est, names = self.fixef, list(self.fixef.index)
        elif component == "zi":
            est, names = self.fixef_zi, ["zi~" + n for n in self.fixef_zi.index]
        elif component == "disp":
            est = self.fixef_disp
            if est is None:
                raise ArgumentError("this fit has no dispersion model (dispformula with covariates)")
            names = ["d~" + n for n in est.index]
        else:
            raise ArgumentError(f"component must be 'cond', 'zi' or 'disp', not {component!r}")
        se = np.sqrt(np.diag(self.vcov_full.loc[names, names].to_numpy()))
        z = est.to_numpy() / se
        return pd.DataFrame({"Estimate": est.to_numpy(), "Std. Error": se, "z value": z,
                             "Pr(>|z|)": 2 * stats.norm.sf(np.abs(z))}, index=est.index)

    # -- predictions and simulation ------------------------------------------------------------------
    def _predictors(self, keep, newdata: pd.DataFrame | None = None, allow_new_levels: bool = False,
                    offset=None, keep_zi=None):
        """The conditional and zero-inflation linear predictors (:class:`~glmmfast.results._simulate.PredictorDraws`)
        on the fitted rows or ``newdata``: each term's random effects at their modes (``keep``, one bool for
        every conditional term or one per term; ``keep_zi`` the same for the zero-inflation terms, default
        ``keep``; 0 for a level the fit did not see) or left to be drawn anew."""
        from ._predict import fixed_part
        from ._simulate import PredictorDraws

        d, (theta_cond, theta_zi) = self._design, self._theta_parts()
        keep_zi = keep if keep_zi is None else keep_zi
        per_term = lambda k, terms: [bool(v) for v in np.broadcast_to(k, (len(terms),))]  # noqa: E731
        cond = PredictorDraws(fixed_part(d, self._state.beta, newdata, offset), d.terms, theta_cond,
                              self._mode_blocks("cond"), per_term(keep, d.terms), newdata, allow_new_levels)
        zi = PredictorDraws(fixed_part(d.zi, self._state.beta_zi, newdata), d.zi.terms, theta_zi,
                            self._mode_blocks("zi"), per_term(keep_zi, d.zi.terms), newdata, allow_new_levels)
        return cond, zi

    def predict(self, newdata: pd.DataFrame | None = None, type: str = "link", re_form=None,
                allow_new_levels: bool = False, offset=None) -> np.ndarray:
        """Predictions, as glmmTMB's ``predict(fit, newdata, type, re.form, allow.new.levels)``.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict for (default: the fitted rows).
        type : {"link", "conditional", "zlink", "zprob", "response"}, default "link"
            eta; the family's mean given the random effects (a truncated family's for hurdles);
            eta_zi; the zero-inflation probability p; (1 - p) times the conditional mean.
        re_form : None, str, float or dict, default None
            None: both components' random effects at their conditional modes (0 for levels
            the fit did not see); ``"~0"`` (or ``"NA"``, NaN): none (population level), as
            glmmTMB's ``re.form``; a formula naming some of the terms, ``"~ (1 | site)"``: those
            terms kept, in each component that has them, the others left out (lme4's
            ``re.form``); a dict ``{"cond": ..., "zi": ...}``: one such ``re_form`` per component
            (a component left out keeps all its terms).
        allow_new_levels : bool, default False
            Whether ``newdata`` may hold grouping levels the fit did not see (their random
            effects are then 0).
        offset : array-like, optional
            For ``newdata``: one value per row, added to the conditional predictor (a fit with
            an ``offset=`` argument needs it).

        Returns
        -------
        ndarray

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> bool(abs(m.predict(df.iloc[:3], type="zprob")[0] - m.predict(type="zprob")[0]) < 1e-12)
        True
        >>> zi_only = m.predict(type="zprob", re_form={"cond": "~0"})  # the zi part's site effects kept
        >>> bool(abs(zi_only[0] - m.predict(type="zprob")[0]) < 1e-12)
        True
        """
        keep, keep_zi = _component_keeps(self._design.terms, self._design.zi.terms, re_form)
        if newdata is None and keep.all() and keep_zi.all() and offset is None:
            eta, eta_zi = self._state.eta, self._state.eta_zi
        else:
            cond, zi = self._predictors(keep, newdata, allow_new_levels, offset, keep_zi)
            eta, eta_zi = cond.eta_fixed, zi.eta_fixed
        if type == "link":
            return np.array(eta, dtype=float)
        if type == "zlink":
            return np.array(eta_zi, dtype=float)
        p = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(eta_zi, dtype=float)))  # the logistic function without overflow
        if type == "zprob":
            return p
        conditional = np.asarray(self.family.conditional_mean(np.asarray(self.family.linkinv(eta), dtype=float)))
        if type == "conditional":
            return conditional
        if type == "response":
            return (1.0 - p) * conditional
        raise ArgumentError(f"type must be 'link', 'conditional', 'zlink', 'zprob' or 'response', not {type!r}")

    def simulate(self, nsim: int = 1, seed=None, re_form="~0") -> np.ndarray:
        """Responses drawn from the fitted model on the fitted rows, as glmmTMB's ``simulate(fit, nsim, seed)``
        (and lme4's ``simulate(fit, re.form = ...)`` for the terms to hold).

        Parameters
        ----------
        nsim : int, default 1
        seed : int or numpy SeedSequence, optional
        re_form : "~0", None, str or dict, default "~0"
            ``"~0"`` (or ``"NA"``, NaN): new random effects in both components for every draw
            (glmmTMB's default); None: both components' random effects held at their conditional
            modes; a formula naming some of the terms, ``"~ (1 | site)"``: those terms held at their
            modes in each component that has them, the others drawn anew (lme4's ``re.form``); a dict
            ``{"cond": ..., "zi": ...}``: one such ``re_form`` per component (a component left out keeps
            every term), as :meth:`predict`'s.

        Returns
        -------
        ndarray, shape (n, nsim)

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> m.simulate(3, seed=1).shape
        (644, 3)
        >>> m.simulate(3, seed=1, re_form={"cond": "~0"}).shape  # the zi part's site effects held at their modes
        (644, 3)
        """
        from .._arguments import check_nsim
        from ._simulate import ResponseSimulator, varying_parameter_of

        nsim = int(check_nsim(nsim))
        keep, keep_zi = _component_keeps(self._design.terms, self._design.zi.terms, re_form)
        cond, zi = self._predictors(keep, keep_zi=keep_zi)
        theta_cond, _ = self._theta_parts()
        sim = ResponseSimulator(self._design, self._state.beta, theta_cond, self._mode_blocks("cond"),
                                zi_predictor=zi, predictor=cond, dispersion=self.family_parameters.get("dispersion"),
                                varying_parameter=varying_parameter_of(self))
        return sim.draw(np.random.default_rng(seed), nsim)

    def refit(self, newresp, weights=None) -> "ZiRandomEffectsResult":
        """The same model fitted to a new response (started at this fit's family parameter).

        Parameters
        ----------
        newresp : array-like
            One response per fitted row.
        weights : array-like, optional
            New prior weights, else the fit's.

        Returns
        -------
        ZiRandomEffectsResult

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> m.refit(m.simulate(1, seed=2)[:, 0]).nobs
        644
        """
        from ..fit._zi_random_effects import fit_zi_random_effects
        from ._refit import response_for

        y, w = response_for(self._design, newresp, weights)
        design = dataclasses.replace(self._design, y=y, weights=w)
        return ZiRandomEffectsResult(fit_zi_random_effects(design, self._state.family_parameter), self.data_name)

    def bootstrap(self, nsim: int, statistic=None, seed=None, n_jobs: int = -1, executor=None,
                  progress: bool = True):
        """Parametric bootstrap: ``nsim`` responses simulated with new random effects in both components,
        each refitted (in threads or on any executor, as :meth:`glmmfast.GlmerResult.bootstrap`).

        Parameters
        ----------
        nsim : int
        statistic : callable, optional
            ``statistic(fit) -> 1-d array`` on each refitted ZiRandomEffectsResult; default: the standard
            deviations of both components' random effects (``.sig01``, ..., ``zi..sig01``, ...), the
            fixed effects, ``zi.<name>``, ``sigma`` (where the family has a parameter) and
            ``disp.<name>`` (a dispformula with covariates).
        seed : int, optional
            Replicate i draws from ``SeedSequence(seed).spawn(nsim)[i]``: the replicates do not depend on
            ``n_jobs`` or the executor.
        n_jobs : int, default -1
            Threads (-1: all cores; 1: in the calling thread).  Ignored when ``executor`` is given.
        executor : concurrent.futures.Executor or dask.distributed.Client, optional
            Runs the chunks of replicates instead of a thread pool (a process pool, a Dask client or its
            ``get_executor()``; the fit is sent to every worker once).
        progress : bool, default True
            A tqdm progress bar when tqdm is installed.

        Returns
        -------
        BootstrapResult

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> m.bootstrap(2, seed=1, n_jobs=1, progress=False).replicates.shape
        (2, 12)
        """
        from ._bootstrap import bootstrap
        return bootstrap(self, nsim, statistic, seed, n_jobs, executor, progress)

    # -- inference and printing ----------------------------------------------------------------------
    def confint(self, method: str = "Wald", level: float = 0.95, **kwargs) -> pd.DataFrame:
        """Confidence intervals, as glmmTMB's ``confint(fit, method = "wald" | "profile")`` and lme4's
        ``confint(fit, method = "boot")``.

        Parameters
        ----------
        method : {"Wald", "profile", "boot"}
            ``"Wald"``: estimate +- z SE (NaN for the standard deviations, as lme4's Wald rows);
            ``"profile"``: where the signed root of the profiled -2 log L (the joint Laplace
            approximation over both components' random effects, every other outer parameter
            re-optimised) crosses +-z, for every row, the standard deviations of both components
            included (:func:`glmmfast.confint`'s profile); ``"boot"``: percentile intervals of
            :meth:`bootstrap`'s replicates (new random effects in both components), every row.
        level : float, default 0.95
        **kwargs
            For ``"boot"``: ``nsim`` (default 500), ``seed``, ``n_jobs``, ``executor``, ``progress``
            (as :meth:`bootstrap`), or ``boot``, a finished :meth:`bootstrap` to reuse.

        Returns
        -------
        pandas.DataFrame
            Rows ``.sig01``, ... (conditional terms), ``zi..sig01``, ... (zero-inflation terms); the
            conditional fixed effects; ``zi.<name>``; ``disp.<name>`` (a dispformula with covariates);
            ``sigma`` (glmmTMB's sigma(), Wald on the log scale, profiled on it) where the family has a
            parameter.

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> list(m.confint().index[-2:])
        ['zi.(Intercept)', 'zi.minedno']
        >>> ci = m.confint(method="profile")  # doctest: +SKIP
        >>> boot = m.confint(method="boot", nsim=200, seed=1, progress=False)  # doctest: +SKIP
        """
        from ..inference._confint import confint

        return confint(self, {"wald": "Wald", "profile": "profile", "boot": "boot"}.get(str(method).lower(), method),
                       level, **kwargs)

    def summary_text(self) -> str:
        """The summary as glmmTMB prints ``summary(fit)`` (random effects of both components), as a string.

        Returns
        -------
        str

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> print(m.summary_text().splitlines()[15])
        Zero-inflation model:
        """
        from ..summary._tmb_summary import format_tmb_summary
        return format_tmb_summary(self)

    def summary(self) -> None:
        """Print :meth:`summary_text`.

        Examples
        --------
        >>> import glmmfast
        >>> df = glmmfast.datasets.load("Salamanders")
        >>> m = glmmfast.glmer("count ~ spp + mined + (1 | site)", df, family="poisson",
        ...                    ziformula="~ mined + (1 | site)")
        >>> m.summary()  # doctest: +ELLIPSIS
         Family: poisson  ( log )
        ...
        """
        print(self.summary_text(), end="")

    def __str__(self) -> str:
        return self.summary_text()

    def __repr__(self) -> str:
        return (f"<ZiRandomEffectsResult {self._design.formula!r}, ziformula {self._design.zi.formula!r}: "
                f"-2 log L {self.deviance:.4f}>")
