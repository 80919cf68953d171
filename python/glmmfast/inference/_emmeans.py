"""Estimated marginal means and their pairwise comparisons (R's emmeans) for glmmfast fits.

Holds :func:`emmeans` and :class:`Emmeans` (``.table``, ``.pairs()``).
As emmeans: the reference grid crosses every level of the factors the
fixed effects use, with numeric covariates at their means (``cov_reduce``,
``at=``; 0/1 covariates at both values); each mean averages the grid's
linear predictors over the other factors and multi-valued covariates, with
equal weights by default (``weights``: proportional, outer, cells, flat, from
the number of observations at each grid combination); L beta-hat and
sqrt(L V L') give the mean and its SE.  Degrees of freedom: for an LMM, Kenward-Roger with pbkrtest's
adjusted V when nobs <= 3000 (``pbkrtest_limit``), else asymptotic
(emmeans' ``lmer.df``; Satterthwaite, also limited to 3000 observations by
``lmertest_limit``, on request); infinite for a GLMM.  On the response scale
the mean is g^{-1}(eta), its SE |d mu / d eta| SE (delta method) and the CI
the back-transformed link-scale CI.  Pairs are every difference within a
``by`` group, labelled "A - B"; on the response scale of a log or logit link
they are ratios "A / B" (exp of the difference).  A linear function that is
not estimable (an empty cell of an unbalanced design with aliased
coefficients) gives NaN, with a message in ``.messages``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from .._arguments import check_choice, check_level
from .._errors import ArgumentError, ArgumentTypeError, DataError
from ..formula._model_frame import apply_design, level_label, variables_in

__all__ = ["emmeans", "Emmeans"]

_LMER_DF = ("kenward-roger", "satterthwaite", "asymptotic")
_WEIGHTS = ("equal", "proportional", "outer", "cells", "flat")
_COV_KEEP = 2                 # emmeans' cov.keep = "2": 0/1 covariates stay at both values
_COV_KEEP_REDUCE_FALSE = 99   # cov.reduce = FALSE keeps covariates with up to 99 distinct values
_ADJUST = ("tukey", "bonferroni", "holm", "none")


def _covariate_reducer(cov_reduce, col: str):
    """The function reducing covariate ``col`` (emmeans' ``cov.reduce``: a function, a dict of them, True = mean)."""
    if isinstance(cov_reduce, dict):
        return cov_reduce.get(col, np.mean)
    return np.mean if cov_reduce is True or cov_reduce is None else cov_reduce


def _grid_variables(fit, at: dict | None, cov_reduce=None) -> tuple[dict, dict, list]:
    """Factor levels and covariate values of the reference grid, by data column, and the
    covariates kept at their distinct values (emmeans' ``cov.keep``: those with at most
    2 distinct values, or 99 with ``cov_reduce=False``; the grid's weights count them)."""
    design = fit._design
    spec, frame = design.x_spec, design.x_frame
    factor_levels = {lab: list(lv) for lab, lv in zip(spec.labels, spec.levels) if lv is not None}
    # numeric columns the formula makes factors of (factor(x)): a factor over their values, as emmeans
    inside_factors = {c for lab, node, lv in zip(spec.labels, spec.variables, spec.levels)
                      if lv is not None and lab not in frame.columns for c in variables_in(node)}
    keep_up_to = _COV_KEEP_REDUCE_FALSE if cov_reduce is False else _COV_KEEP
    factors, covariates, kept = {}, {}, []
    for col in frame.columns:
        if col in factor_levels:
            factors[col] = factor_levels[col]
        elif col in inside_factors:
            factors[col] = sorted(pd.unique(frame[col]))
        elif pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            values = frame[col].to_numpy(dtype=float)
            distinct = np.unique(values)
            if distinct.size <= keep_up_to:
                covariates[col] = [float(v) for v in distinct]
                kept.append(col)
            else:
                reduced = np.atleast_1d(np.asarray(_covariate_reducer(cov_reduce, col)(values), dtype=float))
                covariates[col] = [float(v) for v in reduced]
        else:
            raise DataError(f"column {col!r} enters the model only through an expression; emmeans needs "
                            f"categorical columns used as factors directly")
    for col, val in (at or {}).items():
        vals = list(np.atleast_1d(val))
        if col in factors:
            known = {level_label(v): v for v in factors[col]}
            bad = [v for v in vals if level_label(v) not in known]
            if bad:
                raise ArgumentError(f"at: {bad} not levels of {col!r} (levels: {list(known)})")
            factors[col] = [known[level_label(v)] for v in vals]
        elif col in covariates:
            covariates[col] = [float(v) for v in vals]
            if col in kept:  # emmeans: a covariate set by at= does not enter the weights
                kept.remove(col)
        else:
            raise ArgumentError(f"at: {col!r} is not a variable of the fixed effects")
    return factors, covariates, kept


def _grid_frequencies(frame: pd.DataFrame, grid: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """emmeans' ``.wgt.``: the number of observations at each grid row's values of ``columns``
    (the factors and the kept covariates); 1 for every row when there are none."""
    if not columns:
        return np.ones(len(grid))

    def labels(values: pd.Series) -> pd.Series:
        uniq = pd.unique(values)
        return values.map(dict(zip(uniq, (level_label(v) for v in uniq)))).astype(str)

    counts = pd.DataFrame({c: labels(frame[c]) for c in columns}).value_counts()
    keys = pd.MultiIndex.from_frame(pd.DataFrame({c: labels(grid[c]) for c in columns}))
    return counts.reindex(keys, fill_value=0).to_numpy(dtype=float)


def _cell_weights(grid: pd.DataFrame, freq: np.ndarray, averaged: list[str], weights: str) -> np.ndarray:
    """Weight of each grid row when a mean averages over the ``averaged`` variables (emmeans' ``weights``).

    "equal": 1; "proportional": the frequency of the row's combination of the averaged
    variables, summed over the others; "outer": N prod_d (n_d / N), n_d the marginal
    frequency of the row's level of averaged variable d; "cells": the row's own
    frequency; "flat": 1 for rows with observations, else 0.
    """
    if weights == "equal" or not averaged:
        return np.ones(len(grid))
    if weights == "cells":
        return freq
    if weights == "flat":
        return (freq > 0).astype(float)
    f = pd.Series(freq, index=grid.index)
    if weights == "proportional":
        return f.groupby([grid[c] for c in averaged], sort=False).transform("sum").to_numpy(dtype=float)
    total = freq.sum()
    out = np.full(len(grid), total)
    for c in averaged:
        out *= f.groupby(grid[c], sort=False).transform("sum").to_numpy(dtype=float) / total
    return out


def _nonestimable_basis(fit) -> np.ndarray | None:
    """Null space of the full (unreduced) model matrix, when columns were dropped as aliased."""
    design = fit._design
    if not design.x_dropped:
        return None
    Xfull = apply_design(design.x_spec, design.x_frame).X
    _, sv, vt = np.linalg.svd(Xfull, full_matrices=True)
    rank = int(np.sum(sv > sv[0] * 1e-8 * max(Xfull.shape)))
    return vt[rank:].T


class Emmeans:
    """Estimated marginal means of a fit; see :func:`glmmfast.emmeans`.

    Attributes
    ----------
    table : pandas.DataFrame
        The spec (and ``by``) factors, ``emmean`` (link scale) or ``response``,
        ``SE``, ``df``, ``lower.CL``, ``upper.CL``.
    messages : list of str
        Notes (degrees-of-freedom method, non-estimable cells).

    Examples
    --------
    >>> import glmmfast
    >>> fit = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
    ...                      glmmfast.datasets.load("cbpp"), family="binomial")
    >>> em = glmmfast.emmeans(fit, "period", type="response")
    >>> print(em.table[["period", "response", "SE"]].round(4).to_string(index=False))
    period  response     SE
         1    0.1980 0.0369
         2    0.0839 0.0238
         3    0.0740 0.0226
         4    0.0484 0.0198
    """

    def __init__(self, fit, specs, by, type, level, at, lmer_df, pbkrtest_limit, lmertest_limit,
                 weights="equal", cov_reduce=None):
        from ..results._results import LmerResult
        specs = _factor_names("specs", specs, allow_empty=False)
        by = [] if by is None else _factor_names("by", by, allow_empty=True)
        type = check_choice("type", type, ("link", "response"))
        level = check_level(level)
        weights = check_choice("weights", weights, _WEIGHTS)
        _check_cov_reduce(cov_reduce)
        self.fit, self.type, self.level, self.messages = fit, type, level, []
        factors, covariates, kept_covariates = _grid_variables(fit, at, cov_reduce)
        for f in specs + by:
            if f not in factors:
                raise ArgumentError(f"{f!r} is not a factor of the fixed effects (factors: {list(factors)})")
        if len(set(specs + by)) != len(specs + by):
            raise ArgumentError("specs and by must name different factors")
        self.specs, self.by = specs, by
        # Reference grid: expand.grid order (first factor fastest), covariates crossed last.
        names = list(factors) + list(covariates)
        values = [factors[c] for c in factors] + [covariates[c] for c in covariates]
        combos = [tuple(reversed(c)) for c in itertools.product(*reversed(values))]
        grid = pd.DataFrame(combos, columns=names)
        design = fit._design
        Xg = apply_design(design.x_spec, grid).X
        kept = [design.x_spec.names.index(n) for n in design.x_names]
        nbasis = _nonestimable_basis(fit)
        # Each mean averages the grid rows sharing its spec and by levels, weighted.
        keys = by + specs
        averaged = [c for c, v in zip(names, values) if c not in keys and len(v) > 1]
        w = _cell_weights(grid, _grid_frequencies(design.x_frame, grid, list(factors) + kept_covariates), averaged, weights)
        cells = [tuple(reversed(c)) for c in itertools.product(*[factors[f] for f in reversed(specs + by)])]
        table = pd.DataFrame(cells, columns=specs + by)
        L = np.empty((len(table), Xg.shape[1]))
        for i, row in table.iterrows():
            mask = np.ones(len(grid), dtype=bool)
            for f in keys:
                mask &= (grid[f] == row[f]).to_numpy()
            total = w[mask].sum()
            L[i] = w[mask] @ Xg[mask] / total if total > 0 else np.nan  # no observations: emmeans' NaN
        estimable = np.isfinite(L).all(axis=1)
        if not estimable.all():
            self.messages.append(f"{int((~estimable).sum())} of the means have no observations to weight "
                                 f"(weights={weights!r}): NaN")
        if nbasis is not None and estimable.any():
            # estimability::is.estble: L N small relative to L
            finite = estimable.copy()
            Lf = np.where(finite[:, None], L, 0.0)
            norms = np.maximum(np.abs(Lf).max(axis=1), 1.0)
            estimable &= np.all(np.abs(Lf @ nbasis) <= 1e-8 * norms[:, None] * 1e2, axis=1)
            if not estimable[finite].all():
                self.messages.append(f"{int((~estimable[finite]).sum())} of the means are not estimable "
                                     "(empty cells with aliased coefficients): NaN")
        self._L = L[:, kept]
        self._estimable = estimable
        self._table_keys = table
        # Covariance and df.
        self._is_lmm = isinstance(fit, LmerResult)
        if self._is_lmm:
            self._setup_lmm_df(lmer_df, pbkrtest_limit, lmertest_limit)
        else:
            self.df_method = "asymptotic"
            self._V = fit.vcov.to_numpy()
        est, se, df = self._estimate(self._L)
        est[~estimable] = se[~estimable] = df[~estimable] = np.nan
        self.table = self._summary_frame(_as_printed_levels(table, design.x_frame), est, se, df)

    # -- degrees of freedom --------------------------------------------------------
    def _setup_lmm_df(self, lmer_df, pbkrtest_limit, lmertest_limit):
        fit = self.fit
        mode = check_choice("lmer_df", lmer_df.lower() if isinstance(lmer_df, str) else lmer_df, _LMER_DF)
        too_big_kr, too_big_s = fit.nobs > pbkrtest_limit, fit.nobs > lmertest_limit
        # emmeans' emm_basis.merMod: KR falls back to Satterthwaite, and
        # Satterthwaite to KR (if allowed) or asymptotic, above their limits.
        if mode == "kenward-roger" and too_big_kr:
            mode = "satterthwaite"
        if mode == "satterthwaite" and too_big_s:
            mode = "kenward-roger" if not too_big_kr else "asymptotic"
        if mode != lmer_df.lower():
            self.messages.append(f"degrees of freedom: {mode} (nobs = {fit.nobs} is above the limit for "
                                 f"{lmer_df}: pbkrtest_limit / lmertest_limit)")
        self.df_method = mode
        if mode == "kenward-roger":
            from ._kenward_roger import KenwardRoger
            from ._lmer_anova import kenward_roger_of
            if fit.reml:
                self._kr = kenward_roger_of(fit)
            else:  # pbkrtest's vcovAdj refits by REML; the df use the ML covariance (as emmeans)
                theta, sigma = _reml_estimates(fit)
                self._kr = KenwardRoger(fit._design, theta, sigma)
            self._V = self._kr.vcov_adjusted
            self._V0 = fit.vcov.to_numpy()
        elif mode == "satterthwaite":
            from ._lmer_anova import satterthwaite_of
            self._sat = satterthwaite_of(fit)
            self._V = self._sat.vcov_beta
        else:
            self._V = fit.vcov.to_numpy()

    def _df(self, row: np.ndarray) -> float:
        if not self._is_lmm or self.df_method == "asymptotic":
            return np.inf
        if self.df_method == "kenward-roger":
            return self._kr.ddf(row, self._V0)
        return self._sat.t_df(row)

    def _estimate(self, L: np.ndarray):
        beta = self.fit.fixef.to_numpy()
        est = L @ beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", L, self._V, L))
        df = np.array([self._df(row) if np.all(np.isfinite(row)) else np.nan for row in L])
        return est, se, df

    # -- tables ------------------------------------------------------------------
    def _summary_frame(self, keys: pd.DataFrame, est, se, df) -> pd.DataFrame:
        from scipy import stats  # lazily: scipy.stats costs ~0.5 s at import
        q = np.where(np.isinf(df), stats.norm.ppf(0.5 + self.level / 2),
                     stats.t.ppf(0.5 + self.level / 2, np.where(np.isfinite(df), df, 1.0)))
        lo, hi = est - q * se, est + q * se
        out = keys.copy()
        if self.type == "response" and self.fit.family.link != "identity":
            fam = self.fit.family
            mu = np.asarray(fam.linkinv(est), dtype=float)
            out["response"] = mu
            out["SE"] = np.abs(np.asarray(fam.mu_eta(est), dtype=float)) * se  # delta method
            out["df"] = df
            lo_r, hi_r = np.asarray(fam.linkinv(lo), dtype=float), np.asarray(fam.linkinv(hi), dtype=float)
            out["lower.CL"], out["upper.CL"] = np.minimum(lo_r, hi_r), np.maximum(lo_r, hi_r)
        else:
            out["response" if self.type == "response" else "emmean"] = est
            out["SE"], out["df"], out["lower.CL"], out["upper.CL"] = se, df, lo, hi
        return out

    def _label(self, i: int) -> str:
        """emmeans' level label: the spec levels joined by spaces; a factor whose
        levels are all numbers is prefixed by its name ("period1"); a label with
        -, +, / or * is parenthesised."""
        keys = self._table_keys
        parts = []
        for f in self.specs:
            v = level_label(keys.loc[i, f])
            parts.append(f + v if all(_is_number(level_label(x)) for x in keys[f]) else v)
        label = " ".join(parts)
        return f"({label})" if any(ch in label for ch in "-+/*") else label

    def pairs(self, adjust: str = "tukey") -> pd.DataFrame:
        """All pairwise comparisons of the means (within each ``by`` group), as emmeans' ``pairs``.

        Parameters
        ----------
        adjust : {"tukey", "bonferroni", "holm", "none"}
            Multiplicity adjustment within each ``by`` group (Tukey: the
            studentized range distribution for the family of means).

        Returns
        -------
        pandas.DataFrame
            ``contrast`` ("A - B", or "A / B" for ratios), the ``by``
            factors, ``estimate`` (``ratio`` / ``odds.ratio`` on the response
            scale of a log / logit link), ``SE``, ``df``, ``t.ratio`` (or
            ``z.ratio`` with infinite df) and ``p.value``.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
        ...                      glmmfast.datasets.load("cbpp"), family="binomial")
        >>> pairs = glmmfast.emmeans(fit, "period", type="response").pairs()
        >>> print(pairs[["contrast", "odds.ratio", "p.value"]].round(4).head(2).to_string(index=False))
                 contrast  odds.ratio  p.value
        period1 / period2      2.6975   0.0066
        period1 / period3      3.0915   0.0031
        """
        from scipy import stats  # lazily: scipy.stats costs ~0.5 s at import
        check_choice("adjust", adjust, _ADJUST)
        keys = self._table_keys
        groups = keys.groupby(self.by, sort=False).indices if self.by else {(): np.arange(len(keys))}
        link = self.fit.family.link
        ratio = self.type == "response" and link in ("log", "logit")
        pieces = []
        for gkey, idx in groups.items():
            idx = list(idx)
            rows, labels = [], []
            for a, b in itertools.combinations(idx, 2):
                rows.append(self._L[a] - self._L[b])
                sep = " / " if ratio else " - "
                labels.append(self._label(a) + sep + self._label(b))
                if not (self._estimable[a] and self._estimable[b]):
                    rows[-1] = np.full_like(rows[-1], np.nan)
            if not rows:
                continue
            L = np.array(rows)
            est, se, df = self._estimate(L)
            stat = est / se
            p = 2 * stats.t.sf(np.abs(stat), np.where(np.isnan(df), 1.0, df))
            p = _adjust(p, stat, df, adjust, len(idx))
            frame = pd.DataFrame({"contrast": labels})
            for f, v in zip(self.by, gkey if isinstance(gkey, tuple) else (gkey,)):
                frame[f] = v
            if ratio:
                frame["odds.ratio" if link == "logit" else "ratio"] = np.exp(est)
                frame["SE"] = np.exp(est) * se  # delta method
            else:
                frame["estimate"], frame["SE"] = est, se
            frame["df"] = df
            frame["z.ratio" if np.all(np.isinf(df[np.isfinite(est)])) else "t.ratio"] = stat
            frame["p.value"] = p
            pieces.append(frame)
        return pd.concat(pieces, ignore_index=True)


def _factor_names(name: str, value, allow_empty: bool) -> list[str]:
    """A factor name or a list of them, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value) and (value or allow_empty):
        return list(value)
    raise ArgumentTypeError(f"{name} must be a factor name or a non-empty list of them, got {value!r}")


def _as_printed_levels(keys: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The grid's factor columns as R prints them: ``factor(x)`` of a float column shows
    R's ``as.character`` of its values ("0", "2.5"), not Python's "0.0" (integer and
    categorical columns already print as R)."""
    out = keys.copy()
    for col in out.columns:
        if col in frame.columns and pd.api.types.is_float_dtype(frame[col]):
            out[col] = [level_label(v) for v in out[col]]
    return out


def _check_cov_reduce(cov_reduce) -> None:
    ok = (cov_reduce is None or isinstance(cov_reduce, bool) or callable(cov_reduce)
          or (isinstance(cov_reduce, dict) and all(callable(f) for f in cov_reduce.values())))
    if not ok:
        raise ArgumentTypeError("cov_reduce must be a function, True (the mean), False (the distinct values) "
                                f"or a dict of functions by covariate, not {cov_reduce!r}")


def _is_number(text: str) -> bool:
    """R's ``!is.na(as.numeric(text))`` (emmeans' ``.is.num``), near enough."""
    try:
        return not np.isnan(float(text.strip()))
    except ValueError:
        return False


def _adjust(p: np.ndarray, stat: np.ndarray, df: np.ndarray, method: str, n_means: int) -> np.ndarray:
    """emmeans' multiplicity adjustments of two-sided p-values within one family."""
    from scipy import stats  # lazily: scipy.stats costs ~0.5 s at import
    ok = np.isfinite(p)
    out = np.full_like(p, np.nan)
    m = int(ok.sum())
    if m == 0:
        return out
    if method == "none":
        out[ok] = p[ok]
    elif method == "bonferroni":
        out[ok] = np.minimum(1.0, p[ok] * m)
    elif method == "holm":
        order = np.argsort(p[ok])
        adj = np.minimum(1.0, np.maximum.accumulate(p[ok][order] * (m - np.arange(m))))
        res = np.empty(m)
        res[order] = adj
        out[ok] = res
    else:  # Tukey: P(studentized range of n_means means > |t| sqrt 2)
        if n_means < 2:
            out[ok] = p[ok]
        else:
            out[ok] = stats.studentized_range.sf(np.abs(stat[ok]) * np.sqrt(2), n_means, df[ok])
    return out


def _reml_estimates(fit) -> tuple[np.ndarray, float]:
    """theta and sigma of the REML fit of an ML-fitted LMM's model (pbkrtest refits so)."""
    from ..fit._engine import lmm_engine_model
    from ..fit._optimize import optimize_lmer
    model = lmm_engine_model(fit._design)
    theta, _, _ = optimize_lmer(model, True)
    model.evaluate(theta)
    return np.asarray(theta, dtype=float), float(model.sigma(True))


def emmeans(fit, specs, by=None, type: str = "link", level: float = 0.95, at: dict | None = None,
            lmer_df: str = "kenward-roger", pbkrtest_limit: int = 3000, lmertest_limit: int = 3000,
            weights: str = "equal", cov_reduce=None) -> Emmeans:
    """Estimated marginal means, as R's ``emmeans(fit, specs, by = by, type = type)``.

    Parameters
    ----------
    fit : LmerResult or GlmerResult
    specs : str or list of str
        The factor(s) whose level combinations get a mean.
    by : str or list of str, optional
        Factor(s) to condition on: a mean per level, and ``pairs`` within each.
    type : {"link", "response"}
        Scale of the means (the response scale back-transforms through the link).
    level : float, default 0.95
        Confidence level.
    at : dict, optional
        Covariate values (default: their means) or factor levels for the grid.
    lmer_df : {"kenward-roger", "satterthwaite", "asymptotic"}
        LMM degrees of freedom (emmeans' ``lmer.df``); GLMMs use infinite df.
    pbkrtest_limit, lmertest_limit : int, default 3000
        Above these numbers of observations Kenward-Roger, resp.
        Satterthwaite, are replaced as emmeans does (asymptotic df).
    weights : {"equal", "proportional", "outer", "cells", "flat"}
        How a mean averages the grid over the other factors (emmeans'
        ``weights``), with n the number of observations at each grid
        combination: "equal" weights; "proportional" to the frequency of each
        combination of the averaged factors; "outer", to the product of their
        marginal frequencies; "cells", to each cell's own frequency (the mean
        of the fitted values of the data, for a model with all interactions);
        "flat", equal weights on the cells with observations.  A mean with
        no observations to weight is NaN.
    cov_reduce : callable, bool or dict, optional
        How numeric covariates are reduced to grid values (emmeans'
        ``cov.reduce``): a function of the covariate's values returning one
        value or several (``np.median``, ``lambda x: [x.min(), x.max()]``),
        a dict of such functions by covariate, True or None (the mean), or
        False (the distinct values of each covariate with at most 99 of
        them).  As emmeans, a covariate with at most 2 distinct values
        (a 0/1 indicator) is kept at both values; ``at`` overrides all of it.

    Returns
    -------
    Emmeans
        ``.table`` and ``.pairs(adjust="tukey")``.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("cbpp")
    >>> m = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", df, family="binomial")
    >>> em = glmmfast.emmeans(m, "period", type="response")
    >>> list(em.table.columns)
    ['period', 'response', 'SE', 'df', 'lower.CL', 'upper.CL']
    >>> em.pairs()["contrast"].iloc[0]
    'period1 / period2'

    Weights proportional to the data's frequencies, a covariate at its median:

    >>> gt = glmmfast.datasets.load("grouseticks")
    >>> g = glmmfast.glmer("TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", gt, family="poisson")
    >>> em = glmmfast.emmeans(g, "YEAR", weights="proportional", cov_reduce=np.median)
    >>> em.table["emmean"].round(3).tolist()
    [0.825, 1.764, -0.594]
    """
    from ..results._results import MixedResult
    if not isinstance(fit, MixedResult):
        raise ArgumentTypeError(f"emmeans needs a fit from glmmfast.lmer or glmmfast.glmer, not {fit.__class__.__name__}")
    if fit._design.x_frame is None:
        raise DataError("this fit was made by an older glmmfast without its data columns; refit it")
    return Emmeans(fit, specs, by, type, level, at, lmer_df, pbkrtest_limit, lmertest_limit, weights, cov_reduce)
