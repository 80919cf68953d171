"""Python fitters under benchmark: glmmfast, statsmodels (MixedLM), the ``mixedlm`` package and
GPBoost (``gpboost`` at its defaults, ``gpboost_tight`` at delta_rel_conv = 1e-10).

Interface
---------
TOOLS : dict name -> Tool
Tool.version() -> str              (raises Unavailable when not installed)
Tool.fit(meta, df) -> Fitted       one end-to-end fit: formula string + DataFrame -> result
Tool.fit_model(meta, df) -> model  the timed part of ``fit`` (the result with its standard errors);
Tool.describe(model) -> Fitted     the rest, read after the clock stops (as fit_r.R reads logLik
                                   and q after its timed calls)
Tool.refitter(meta, df) -> (fit, refit(y) -> Fitted)  for kind "refit" (raises Unavailable
                                   when the tool has no refit-to-a-new-response API)
Fitted : m2ll (-2 log L), q (number of random effects), info (tool-specific extras),
    exact_m2ll (None, or a callable giving -2 log L exactly at the tool's estimates when
    the tool reports an approximation)

Every adapter raises problems.Unavailable with a reason when it cannot fit a
problem (not installed, no such function, model class not supported), so the
suite prints a note instead of failing.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from .problems import Unavailable

__all__ = ["TOOLS", "Fitted", "Tool"]


@dataclass
class Fitted:
    m2ll: float
    q: int | None = None
    info: dict = field(default_factory=dict)
    # When the tool's own -2 log L is approximate: recomputes it exactly at the tool's
    # estimates (called by the worker after the timed fits, so not timed).
    exact_m2ll: Callable[[], float] | None = field(default=None, repr=False)


class Tool:
    name = ""

    def version(self) -> str:
        """The installed version of the tool's module (named like the tool)."""
        try:
            module = importlib.import_module(self.name)
        except ImportError:
            raise Unavailable(f"{self.name} not installed (pip install '.[bench]')") from None
        return module.__version__

    def fit(self, meta: dict, df: pd.DataFrame) -> Fitted:
        raise NotImplementedError

    def fit_model(self, meta: dict, df: pd.DataFrame) -> object:
        """The timed fit; by default all of :meth:`fit`."""
        return self.fit(meta, df)

    def describe(self, model: object) -> Fitted:
        """-2 log L, q and extras of :meth:`fit_model`'s result, outside the timed region."""
        return model

    def refitter(self, meta: dict, df: pd.DataFrame) -> Callable[[np.ndarray], Fitted]:
        raise Unavailable(f"{self.name}: no refit benchmark")


@functools.lru_cache(maxsize=None)
def _parameters(fn) -> tuple[frozenset, bool]:
    """``fn``'s parameter names and whether it takes ``**kwargs``, inspected once per function: the
    adapters ask on every timed call, and ``inspect.signature`` (~18 us) is the harness's cost, not the fit's."""
    params = inspect.signature(fn).parameters
    return frozenset(params), any(p.kind is p.VAR_KEYWORD for p in params.values())


def _kwargs_accepted(fn, **kw) -> dict:
    names, var_keyword = _parameters(fn)
    if var_keyword:
        return kw
    return {k: v for k, v in kw.items() if k in names}


class Glmmfast(Tool):
    name = "glmmfast"

    def _fitter(self, kind: str):
        import glmmfast

        fname = "lmer" if kind == "lmer" else "glmer"
        fn = getattr(glmmfast, fname, None)
        if fn is None:
            raise Unavailable(f"glmmfast.{fname} does not exist in this build")
        return fn

    @staticmethod
    def _fitted(m) -> Fitted:
        q = int(sum(v.shape[0] * v.shape[1] for v in m.ranef(condvar=False).values()))
        oi = getattr(m, "optinfo", None)
        info = {}
        if oi is not None:
            info = {"evaluations": getattr(oi, "evaluations", None),
                    "pirls_iterations": getattr(oi, "pirls_iterations", None),
                    "seconds": dict(getattr(oi, "seconds", {}) or {})}
        return Fitted(-2.0 * float(m.loglik), q, info)

    @staticmethod
    def _glmmtmb_arguments(fn, meta, df) -> dict:
        """glmmTMB's extra arguments of a problem (ziformula, dispformula, REML, weights) for glmmfast.glmer;
        Unavailable when this glmmfast's glmer does not take one.  A gaussian identity model with weights
        or REML is glmmTMB's (maximum likelihood, prior weights on the log density): its default
        dispersion model ``"~1"`` says so to glmer, which would otherwise fit lme4's REML LMM."""
        extra = {k: meta[k] for k in ("ziformula", "dispformula", "REML") if meta.get(k)}
        if (meta["family"], meta.get("link") or "identity") == ("gaussian", "identity") and extra.keys() <= {"REML"} \
                and (meta.get("weights") or meta.get("REML")):
            extra["dispformula"] = "~1"
        missing = set(extra) - set(_kwargs_accepted(fn, **extra))
        if missing:
            raise Unavailable(f"glmmfast.glmer has no {', '.join(sorted(missing))} in this build")
        if meta.get("weights"):
            extra["weights"] = df[meta["weights"]].to_numpy(float)
        return extra

    @staticmethod
    def _glmer_family(glmmfast, name: str, link: str):
        """glmer's ``family`` for a problem's family name and link.  At the name's default link the name
        itself: glmmTMB's names (nbinom2, tweedie, t, genpois, ...) make glmer estimate the family
        parameter, as glmmTMB.  At another link a family object; ziGamma is the Gamma (its zeros come
        from the ziformula)."""
        if name == "ziGamma":
            return glmmfast.families.Gamma(link=link)
        try:
            default_link = glmmfast.families.get_family(name, None).link
        except glmmfast.FamilyError:
            default_link = "log"  # glmmTMB's names glmer knows but get_family does not (nbinom2, truncated_nbinom2)
        if not link or link == default_link:
            return name
        try:
            return glmmfast.families.get_family(name, link)
        except glmmfast.FamilyError as e:
            raise Unavailable(f"glmmfast: {e}") from None

    def fit(self, meta, df):
        return self.describe(self.fit_model(meta, df))

    def describe(self, model) -> Fitted:
        return self._fitted(model)

    def fit_model(self, meta, df):
        import glmmfast

        fn = self._fitter(meta["kind"])
        link = meta.get("link") or None
        nagq = int(meta.get("nAGQ", 1))
        if meta["kind"] == "lmer":
            m = fn(meta["formula"], df, **_kwargs_accepted(fn, REML=False))
        elif meta["family"] == "negative.binomial":
            m = glmmfast.glmer_nb(meta["formula"], df, link=link or "log", nAGQ=nagq)
        else:
            extra = self._glmmtmb_arguments(fn, meta, df)
            family = self._glmer_family(glmmfast, meta["family"], link)
            try:
                m = fn(meta["formula"], df, family=family, nAGQ=nagq, **extra)
            except glmmfast.GlmmfastError as e:  # a model this build refuses (e.g. random effects in the zi part)
                raise Unavailable(f"glmmfast: {e}") from None
        m.vcov  # the standard errors (their Hessian is computed on first use), as lme4's fit has them
        return m

    def refitter(self, meta, df):
        # The simulation inner loop: the reusable model (GlmerModel.refit),
        # which returns estimates and -2 log L without building a result.
        m = self._fitter("glmer")(meta["formula"], df, family=meta["family"])
        model = m.model()
        q = int(model.engine.q)

        def refit(y):
            out = model.refit(y)
            return Fitted(float(out.deviance), q, {"evaluations": out.info.evaluations})

        return refit


_CBIND = re.compile(r"^\s*cbind\(([^,]+),([^)]+)\)\s*~(.*)$")
_BAR = re.compile(r"\(([^()|]+)\|([^()|]+)\)")


class StatsmodelsMixedLM(Tool):
    """statsmodels' MixedLM (ML) for LMMs with one grouping factor.

    Its GLMMs (BinomialBayesMixedGLM, PoissonBayesMixedGLM) are variational
    Bayes, not maximum likelihood, so their -2 log L is not comparable: skipped.
    Crossed factors would need one dense variance-component block over all
    rows (``groups`` constant): skipped as not supported.
    """

    name = "statsmodels"


    def fit(self, meta, df):
        if meta["kind"] != "lmer":
            raise Unavailable("statsmodels GLMMs are variational Bayes (not ML): skipped")
        bars = _BAR.findall(meta["formula"])
        if len(bars) != 1:
            raise Unavailable("statsmodels MixedLM: crossed/multiple random-effect terms not supported")
        import statsmodels.formula.api as smf

        expr, group = bars[0][0].strip(), bars[0][1].strip()
        fixed = _BAR.sub("", meta["formula"]).strip().rstrip("+").strip()
        model = smf.mixedlm(fixed, df, groups=df[group], re_formula="~" + expr)
        r = model.fit(reml=False)
        k = len(r.random_effects[next(iter(r.random_effects))])
        return Fitted(-2.0 * float(r.llf), k * len(r.random_effects), {"converged": bool(r.converged)})


class MixedlmPackage(Tool):
    """The ``mixedlm`` package (lme4 port with a Rust backend)."""

    name = "mixedlm"


    @staticmethod
    def _family(name):
        from mixedlm import families

        return {"poisson": families.Poisson, "binomial": families.Binomial}[name]()

    @staticmethod
    def _fitted(m) -> Fitted:
        ll = m.logLik()
        return Fitted(-2.0 * float(getattr(ll, "value", ll)), int(m.getME("q")))

    @staticmethod
    def _cbind_as_proportion(formula: str, df: pd.DataFrame):
        """``cbind(s, f) ~ rhs`` (which mixedlm does not parse) as proportion ~ rhs with weights s + f."""
        m = _CBIND.match(formula)
        if not m:
            return formula, df, None
        s, f = df.eval(m.group(1)).to_numpy(float), df.eval(m.group(2)).to_numpy(float)
        return "prop_ ~ " + m.group(3), df.assign(prop_=s / (s + f)), s + f

    def fit(self, meta, df):
        import mixedlm

        if meta["kind"] != "lmer" and (meta["family"] not in ("poisson", "binomial") or meta.get("link")
                                       or int(meta.get("nAGQ", 1)) != 1):
            raise Unavailable("mixedlm adapter: canonical-link Poisson and binomial Laplace fits only")
        if meta["kind"] == "lmer":
            return self._fitted(mixedlm.lmer(meta["formula"], df, REML=False))
        formula, data, weights = self._cbind_as_proportion(meta["formula"], df)
        return self._fitted(mixedlm.glmer(formula, data, family=self._family(meta["family"]), weights=weights))

    def refitter(self, meta, df):
        import mixedlm

        m = mixedlm.glmer(meta["formula"], df, family=self._family(meta["family"]))
        return lambda y: self._fitted(m.refit(y))


def _top_level_terms(rhs: str) -> list[str]:
    """The ``+``-separated terms of a formula's right-hand side, outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(rhs):
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth == 0:
            terms.append(rhs[start:i].strip())
            start = i + 1
    terms.append(rhs[start:].strip())
    return [t for t in terms if t]


class GPBoost(Tool):
    """GPBoost's ``GPModel`` (grouped random effects; Laplace approximation for non-Gaussian
    likelihoods; Gaussian by ML), at its default convergence tolerance.

    Only models whose random effects are intercepts ``(1 | g)`` (one or several, crossed or
    nested with unique ids): GPBoost's random slopes are uncorrelated with the intercept, a
    different model from ``(x | g)``.  The fixed-effects design comes from patsy (treatment
    contrasts, the Categorical's first level as reference, as in R).  Run on one thread
    (``num_parallel_threads=1``), as every other tool here.  End to end includes the standard
    errors (``get_coef(std_err=True)``).  GPBoost reports the negative log-likelihood of the
    Laplace approximation (the marginal likelihood for the Gaussian, with every constant):
    -2 log L = 2 * nll.  With crossed effects its default inversion method is iterative and
    that figure a stochastic approximation, so the table's -2 log L is recomputed exactly
    (Cholesky) at GPBoost's estimates after timing; its own figure is kept as ``m2ll_reported``.
    """

    name = "gpboost"
    delta_rel_conv: float | None = None  # None: GPBoost's default (1e-6)
    _LIKELIHOODS = {("gaussian", ""): "gaussian", ("poisson", ""): "poisson",
                    ("binomial", ""): "logit", ("binomial", "probit"): "probit",
                    ("Gamma", "log"): "gamma", ("negative.binomial", ""): "negative_binomial",
                    ("negative.binomial", "log"): "negative_binomial"}

    def version(self) -> str:
        try:
            import gpboost
            import patsy  # noqa: F401 - the fixed-effects design
        except ImportError as e:
            raise Unavailable(f"{e.name} not installed (pip install '.[bench]')") from None
        return gpboost.__version__

    def fit(self, meta, df):
        import gpboost
        import patsy

        if int(meta.get("nAGQ", 1)) != 1:
            raise Unavailable("GPBoost: Laplace approximation only (no adaptive Gauss-Hermite quadrature)")
        kind = "gaussian" if meta["kind"] == "lmer" else meta["family"]
        lik = self._LIKELIHOODS.get((kind, meta.get("link", "")))
        if lik is None:
            raise Unavailable(f"GPBoost: no {kind} likelihood with the {meta.get('link') or 'canonical'} link")
        lhs, rhs = meta["formula"].split("~", 1)
        terms = _top_level_terms(rhs)
        groups = []
        for t in terms:
            bar = _BAR.fullmatch(t)
            if bar is None:
                continue
            if bar.group(1).strip() != "1" or not re.fullmatch(r"\w+", bar.group(2).strip()):
                raise Unavailable("GPBoost: random intercepts (1 | g) only (its random slopes are uncorrelated)")
            groups.append(bar.group(2).strip())
        fixed = [t for t in terms if _BAR.fullmatch(t) is None]
        # R's I(x^2) is patsy's I(x**2)
        X = patsy.dmatrix(" + ".join(fixed).replace("^", "**") or "1", df, return_type="dataframe")
        cbind = _CBIND.match(meta["formula"])
        weights = None
        if cbind:  # successes / trials with the trials as weights (GPBoost's binomial_*)
            s, f = df.eval(cbind.group(1)).to_numpy(float), df.eval(cbind.group(2)).to_numpy(float)
            weights = s + f
            y = s / weights
            lik = "binomial_" + lik
        else:
            y = df[lhs.strip()].to_numpy(float)
            if lik in ("logit", "probit"):
                lik = "bernoulli_" + lik
        G = np.column_stack([df[g].cat.codes.to_numpy() for g in groups])

        def model(method: str):
            return gpboost.GPModel(group_data=G, likelihood=lik, weights=weights, num_parallel_threads=1,
                                   matrix_inversion_method=method)

        m = model("default")
        params = {} if self.delta_rel_conv is None else {"delta_rel_conv": self.delta_rel_conv}
        m.fit(y=y, X=X, params=params)
        m.get_coef(std_err=True)  # the standard errors, as lme4's fit has them

        def exact() -> float:
            # GPBoost's default ("iterative where possible") reports a stochastic approximation of
            # the log-likelihood for crossed effects; evaluate it by Cholesky at its estimates.
            fixed_effects = X.to_numpy() @ m.get_coef(format_pandas=False).ravel()
            aux = m.get_aux_pars(format_pandas=False) if lik in ("gamma", "negative_binomial") else None
            return 2.0 * float(model("cholesky").neg_log_likelihood(
                cov_pars=m.get_cov_pars(format_pandas=False).ravel(), y=y, fixed_effects=fixed_effects,
                aux_pars=aux))

        q = int(sum(df[g].cat.categories.size for g in groups))
        return Fitted(2.0 * float(m.get_current_neg_log_likelihood()), q, {}, exact)


class GPBoostTight(GPBoost):
    """GPBoost at a tight convergence tolerance (``delta_rel_conv=1e-10``): at its default
    it can stop early on crossed Poisson data without a warning."""

    name = "gpboost_tight"
    delta_rel_conv = 1e-10


TOOLS: dict[str, Tool] = {t.name: t for t in (Glmmfast(), StatsmodelsMixedLM(), MixedlmPackage(), GPBoost(),
                                              GPBoostTight())}
