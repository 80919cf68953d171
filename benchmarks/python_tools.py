"""Python fitters under benchmark: glmmfast, statsmodels (MixedLM) and the ``mixedlm`` package.

Interface
---------
TOOLS : dict name -> Tool
Tool.version() -> str              (raises Unavailable when not installed)
Tool.fit(meta, df) -> Fitted       one end-to-end fit: formula string + DataFrame -> result
Tool.refitter(meta, df) -> (fit, refit(y) -> Fitted)  for kind "refit" (raises Unavailable
                                   when the tool has no refit-to-a-new-response API)
Fitted : m2ll (-2 log L), q (number of random effects), info (tool-specific extras)

Every adapter raises problems.Unavailable with a reason when it cannot fit a
problem (not installed, no such function, model class not supported), so the
suite prints a note instead of failing.
"""

from __future__ import annotations

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

    def refitter(self, meta: dict, df: pd.DataFrame) -> Callable[[np.ndarray], Fitted]:
        raise Unavailable(f"{self.name}: no refit benchmark")


def _kwargs_accepted(fn, **kw) -> dict:
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return kw
    return {k: v for k, v in kw.items() if k in params}


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

    def fit(self, meta, df):
        fn = self._fitter(meta["kind"])
        if meta["kind"] == "lmer":
            m = fn(meta["formula"], df, **_kwargs_accepted(fn, REML=False))
        else:
            m = fn(meta["formula"], df, family=meta["family"])
        m.vcov  # the standard errors (their Hessian is computed on first use), as lme4's fit has them
        return self._fitted(m)

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

        if meta["kind"] == "lmer":
            return self._fitted(mixedlm.lmer(meta["formula"], df, REML=False))
        formula, data, weights = self._cbind_as_proportion(meta["formula"], df)
        return self._fitted(mixedlm.glmer(formula, data, family=self._family(meta["family"]), weights=weights))

    def refitter(self, meta, df):
        import mixedlm

        m = mixedlm.glmer(meta["formula"], df, family=self._family(meta["family"]))
        return lambda y: self._fitted(m.refit(y))


TOOLS: dict[str, Tool] = {t.name: t for t in (Glmmfast(), StatsmodelsMixedLM(), MixedlmPackage())}
