"""The fitted GLMM (lme4's mkMerMod and merMod methods).

Holds :class:`GlmerResult`, built from a model design, the engine's state at
the optimum and the optimiser's record.  At construction it computes what
every user reads: -2 log L, AIC/BIC, the covariance of the fixed effects
(from the Hessian of the deviance in (theta, beta), as lme4 and glmmTMB do),
convergence and singular-fit messages, and VarCorr.  Conditional modes,
fitted values and residuals are computed on request.  Pickles without the
engine object; the engine is rebuilt when a method needs it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._design import ModelDesign
from ._engine import engine_model
from ._optimize import OptimizerInfo, check_convergence
from ._re_terms import group_labels, theta_names, varcorr_frame
from ._summary import format_glmer_summary

__all__ = ["GlmerResult", "residuals_of"]

_RESIDUAL_TYPES = ("deviance", "pearson", "response", "working")


def residuals_of(family, y, mu, eta, weights, kind: str) -> np.ndarray:
    """Residuals of a GLM-type fit, as R's ``residuals(fit, type=kind)``."""
    if kind == "response":
        return y - mu
    if kind == "working":
        return (y - mu) / family.mu_eta(eta)
    if kind == "pearson":
        return (y - mu) * np.sqrt(weights) / np.sqrt(family.variance(mu))
    if kind == "deviance":
        d = np.maximum(family.dev_resid(y, mu, weights), 0.0)
        return np.sign(y - mu) * np.sqrt(d)
    raise ValueError(f"unknown residual type {kind!r}; choose one of {', '.join(_RESIDUAL_TYPES)}")


@dataclass(frozen=True)
class _Fit:
    theta: np.ndarray
    beta: np.ndarray
    deviance: float


class GlmerResult:
    """A fitted generalized linear mixed model.

    Returned by :func:`glmmfast.glmer`; not constructed directly.

    Attributes
    ----------
    formula : str
    family : glmmfast.families.Family
    deviance : float
        -2 log L at the optimum (lme4's ``deviance`` column of the summary).
    loglik, aic, bic : float
    df_resid, nobs : int
    fixef : pandas.Series
        Fixed-effects estimates.
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
    data_messages : list of str
        What was done to the data: rows dropped for missing values,
        aliased fixed-effects columns dropped.
    rows : pandas.Index
        Index labels of the data rows used, in order (fitted values and
        residuals line up with ``data.loc[rows]``).
    n_dropped : int
        Rows dropped for missing values.
    optinfo : OptimizerInfo
        Evaluation counts, stages, timings, gradient and Hessian.
    """

    sigma = 1.0
    reml = None

    def __init__(self, design: ModelDesign, model, fit: _Fit, optinfo: OptimizerInfo, nAGQ: int,
                 data_name: str | None):
        self._design = design
        self._model = model
        self._fit = fit
        self.optinfo = optinfo
        self.nAGQ = nAGQ
        self.data_name = data_name
        self.formula = design.formula
        self.family = design.family
        self.theta = np.asarray(fit.theta, dtype=float)
        self.deviance = float(fit.deviance)
        self.nobs = design.n
        self.rows, self.n_dropped, self.data_messages = design.rows, design.n_dropped, list(design.messages)
        npar = self.theta.size + len(design.x_names)
        self.df_resid = self.nobs - npar
        self.loglik = -0.5 * self.deviance
        self.aic = self.deviance + 2 * npar
        self.bic = self.deviance + np.log(self.nobs) * npar
        names = design.x_names
        self.fixef = pd.Series(np.asarray(fit.beta, dtype=float), index=names, name="Estimate")
        self.theta_names = theta_names(design.terms)
        self.varcorr = varcorr_frame(design.terms, self.theta, 1.0, residual=False)
        self.ngroups = {}
        for t in design.terms:
            self.ngroups.setdefault(t.group, t.nlevels)
        t0 = time.perf_counter()
        self.vcov, self.messages = self._vcov_and_checks()
        optinfo.seconds["derivatives"] = time.perf_counter() - t0
        self.converged = not any(m.startswith("Model failed") for m in self.messages)
        self._ranef_cache = None

    # -- construction helpers -------------------------------------------------
    def _vcov_and_checks(self) -> tuple[pd.DataFrame, list[str]]:
        model = self._engine()
        nt = self.theta.size
        lower = np.concatenate([np.asarray(model.lower_bounds()), np.full(self.fixef.size, -np.inf)])
        x = np.concatenate([self.theta, self.fixef.to_numpy()])

        def f(v):
            return model.deviance_at(v[:nt], v[nt:])

        msgs = []
        singular = bool(np.any((lower == 0) & (np.abs(x) < 1e-4)))
        grad, hess, conv_msgs = check_convergence(f, x, self.deviance, lower)
        self.optinfo.gradient, self.optinfo.hessian = grad, hess
        model.deviance_at(self.theta, self.fixef.to_numpy())  # restore the optimum
        # Cov(beta-hat) = 2 [H^{-1}]_{beta,beta} (H: Hessian of -2 log L in (theta, beta)).
        V = None
        try:
            Hinv = np.linalg.inv(hess)
            V = 2 * Hinv[nt:, nt:]
            V = 0.5 * (V + V.T)
            if np.any(~np.isfinite(V)) or np.linalg.eigvalsh(V).min() <= 0:
                V = None
        except np.linalg.LinAlgError:
            V = None
        if V is None:
            V = np.asarray(model.beta_unscaled_vcov())
            conv_msgs.append("variance-covariance matrix computed from finite-difference Hessian is\n"
                             "not positive definite or contains NA values: falling back to var-cov estimated from RX")
        if singular:
            msgs.append("boundary (singular) fit: see help('isSingular')")
        msgs.extend(conv_msgs)
        boundary = self.family.boundary_message(np.asarray(model.mu))
        if boundary:
            msgs.append(boundary)
        names = list(self.fixef.index)
        return pd.DataFrame(V, index=names, columns=names), msgs

    def _engine(self):
        """The engine model at the optimum (rebuilt after unpickling)."""
        if self._model is None:
            self._model = engine_model(self._design)
            self._model.deviance_at(self._fit.theta, self._fit.beta)
        return self._model

    # -- pickling ---------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # -- lme4-style accessors ---------------------------------------------------
    @property
    def family_name(self) -> str:
        return self.family.name

    @property
    def link_name(self) -> str:
        return self.family.link

    @property
    def method_title(self) -> str:
        if self.nAGQ == 1:
            return "Laplace Approximation"
        return f"Adaptive Gauss-Hermite Quadrature, nAGQ = {self.nAGQ}"

    @property
    def se(self) -> pd.Series:
        """Standard errors of the fixed effects."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.fixef.index, name="Std. Error")

    def fitted(self) -> np.ndarray:
        """Fitted values mu on the response scale (proportions for binomial)."""
        return np.array(self._engine().mu)

    def linear_predictor(self) -> np.ndarray:
        """eta = offset + X beta + Z b."""
        return np.array(self._engine().eta)

    def residuals(self, type: str = "deviance") -> np.ndarray:
        """Residuals: ``"deviance"`` (default, as lme4), ``"pearson"``, ``"response"`` or ``"working"``."""
        m = self._engine()
        d = self._design
        return residuals_of(self.family, d.y, np.array(m.mu), np.array(m.eta), d.weights, type)

    @property
    def scaled_residuals(self) -> np.ndarray:
        """Pearson residuals divided by sigma (what lme4's summary shows)."""
        return self.residuals("pearson") / self.sigma

    def _ranef_parts(self):
        if self._ranef_cache is None:
            m = self._engine()
            b = np.array(m.b)
            out, off = [], 0
            for i, t in enumerate(self._design.terms):
                size = t.k * t.nlevels
                modes = b[off:off + size].reshape(t.nlevels, t.k)
                cv = np.array(m.cond_var(i)).reshape(t.nlevels, t.k, t.k) * self.sigma**2
                out.append((t, modes, cv))
                off += size
            self._ranef_cache = out
        return self._ranef_cache

    def ranef(self, condvar: bool = True) -> dict[str, pd.DataFrame]:
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
        dict
            Grouping factor -> DataFrame (rows: levels; columns: the terms'
            columns; terms on the same factor side by side, as lme4).
        """
        result: dict[str, pd.DataFrame] = {}
        sds: dict[str, list[pd.DataFrame]] = {}
        cvs: dict[str, list[np.ndarray]] = {}
        for t, modes, cv in self._ranef_parts():
            df = pd.DataFrame(modes, index=pd.Index(t.levels, name=t.group), columns=t.names)
            sd = pd.DataFrame(np.sqrt(np.einsum("lkk->lk", cv)), index=df.index, columns=t.names)
            if t.group in result:
                result[t.group] = pd.concat([result[t.group], df], axis=1)
            else:
                result[t.group] = df
            sds.setdefault(t.group, []).append(sd)
            cvs.setdefault(t.group, []).append(cv)
        if condvar:
            for g, df in result.items():
                df.attrs["condsd"] = pd.concat(sds[g], axis=1)
                df.attrs["condvar"] = cvs[g]
        return result

    def ranef_frame(self) -> pd.DataFrame:
        """Long format like R's ``as.data.frame(ranef(fit, condVar=TRUE))``."""
        rows = []
        for t, modes, cv in self._ranef_parts():
            for j, name in enumerate(t.names):
                rows.append(pd.DataFrame({"grpvar": t.group, "term": name, "grp": t.levels,
                                          "condval": modes[:, j], "condsd": np.sqrt(cv[:, j, j])}))
        return pd.concat(rows, ignore_index=True)

    def coef(self) -> dict[str, pd.DataFrame]:
        """Fixed plus random effects per level of each grouping factor (lme4's ``coef``)."""
        out = {}
        for g, re in self.ranef(condvar=False).items():
            df = pd.DataFrame(np.tile(self.fixef.to_numpy(), (len(re), 1)), index=re.index, columns=self.fixef.index)
            for col in re.columns:
                if col in df.columns:
                    df[col] = df[col] + re[col].to_numpy()
                else:
                    df[col] = re[col].to_numpy()
            out[g] = df
        return out

    def model_matrix(self) -> pd.DataFrame:
        """The fixed-effects model matrix X."""
        return pd.DataFrame(self._design.X, columns=self._design.x_names)

    # -- printing ---------------------------------------------------------------
    def summary_text(self) -> str:
        """The lme4-style summary as a string."""
        return format_glmer_summary(self)

    def summary(self) -> None:
        """Print the summary as lme4's ``summary(fit)`` does."""
        print(self.summary_text(), end="")

    def __str__(self) -> str:
        return self.summary_text()

    def __repr__(self) -> str:
        return (f"<GlmerResult {self.family.name}({self.family.link}) {self.formula!r}: "
                f"nobs={self.nobs}, -2logL={self.deviance:.4f}, converged={self.converged}>")
