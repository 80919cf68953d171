"""Plots of fitted models (matplotlib, an optional extra: ``pip install "glmmfast[plot]"``).

Interface (each returns the matplotlib Figure and writes a file only when
``save=`` names one; the ``ax=`` variants draw into an existing Axes)
---------
caterpillar(fit, group=None, level=0.95, save=None)
    Conditional modes with intervals, one panel per grouping factor and
    term, levels sorted by the first term (lme4's
    ``dotplot(ranef(fit, condVar=TRUE))``).
diagnostics(fit, save=None)
    Residuals against fitted values, normal QQ of the random effects (mixed
    models only), observed against fitted values.
residuals_vs_fitted(fit, ax=None), ranef_qq(fit, ax=None), observed_vs_fitted(fit, ax=None)
    The three diagnostic panels one at a time.
overdispersion_picture(mean=None, sd=1, n=1000, seed=1, save=None)
    Simulated Poisson(1) counts beside Poisson counts with a normal random
    effect on the log scale, as histogram densities (the tutorial's figure);
    with ``mean=``, the mean-matched view.
observed_vs_poisson(fit, save=None)
    Observed count frequencies of a Poisson fit against those the fitted
    Poisson means predict, titled with :func:`glmmfast.dispersion_check`.
residual_check(res, quantiles=(0.25, 0.5, 0.75), bins=10, save=None)
    Simulation-based residuals (:func:`glmmfast.simulate_residuals`): QQ
    plot against U(0, 1) with the uniformity, dispersion and outlier tests,
    and residuals against rank-transformed predictions with binned quantile
    lines (DHARMa's ``plot(simulateResiduals(fit))``).

matplotlib is imported when a plot is drawn, not when glmmfast is imported.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
from scipy import stats

from ._arguments import check_level
from .fit._dispersion import dispersion_check
from ._errors import ArgumentError, ArgumentTypeError, FamilyError

__all__ = [
    "caterpillar",
    "diagnostics",
    "residuals_vs_fitted",
    "ranef_qq",
    "observed_vs_fitted",
    "overdispersion_picture",
    "observed_vs_poisson",
    "residual_check",
]

#: Above this many levels a caterpillar panel drops its level labels (they would overlap).
MAX_LABELLED_LEVELS = 80
_POINT = dict(color="#1f4e79", markersize=3.5)
_INTERVAL = dict(ecolor="#7aa6d6", elinewidth=1.2, capsize=0)
_SCATTER = dict(s=10, alpha=0.6, color=_POINT["color"], edgecolors="none")
_REFERENCE = dict(color="0.45", linewidth=0.9, linestyle="--", zorder=0)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("glmmfast's plots need matplotlib: pip install \"glmmfast[plot]\"") from None
    return plt


def _finish(fig, save: str | PathLike | None):
    if save is not None:
        fig.savefig(save, dpi=120, bbox_inches="tight")
    return fig


def _new_axes(ax, figsize=(5.0, 4.0)):
    if ax is not None:
        return ax.figure, ax
    fig = _pyplot().figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _has_random_effects(fit) -> bool:
    return callable(getattr(fit, "ranef", None))


def _observed(fit) -> np.ndarray:
    # y = mu + response residual; works for every result type through its public API.
    return np.asarray(fit.fitted()) + np.asarray(fit.residuals("response"))


def _ppoints(n: int) -> np.ndarray:
    """R's ``ppoints``: plotting positions for a normal QQ plot."""
    a = 3 / 8 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


# -- caterpillar ---------------------------------------------------------------------
def caterpillar(fit, group: str | None = None, level: float = 0.95, save: str | PathLike | None = None):
    """Caterpillar plot of the conditional modes with prediction intervals.

    One panel per grouping factor and random-effects term; each level's
    conditional mode is a dot with a horizontal bar of +- z * conditional
    SD (z the normal quantile for ``level``).  Levels are sorted by the
    factor's first term and keep that order in its other panels, as lme4's
    ``dotplot(ranef(fit, condVar = TRUE))``.  Panels with more than
    ``MAX_LABELLED_LEVELS`` levels omit the level labels.

    Parameters
    ----------
    fit : GlmerResult
        A fitted mixed model (anything with ``ranef()`` giving modes with
        ``attrs["condsd"]``).
    group : str, optional
        Plot only this grouping factor (default: all).
    level : float, default 0.95
        Coverage of the intervals, in (0, 1).
    save : str or path, optional
        Write the figure to this file (format from the extension).

    Returns
    -------
    matplotlib.figure.Figure
        Axes in the order grouping factor, then term; each Axes' title is
        ``"<factor>: <term>"``.

    Examples
    --------
    >>> import glmmfast, glmmfast.plots
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson")
    >>> fig = glmmfast.plots.caterpillar(m)
    >>> [ax.get_title() for ax in fig.axes]
    ['LOCATION: (Intercept)']
    """
    if not _has_random_effects(fit):
        raise TypeError("caterpillar needs a mixed model (a fit with random effects)")
    level = check_level(level)
    re = fit.ranef(condvar=True)
    if group is not None:
        if group not in re:
            raise ValueError(f"no grouping factor {group!r}; the model has {', '.join(re)}")
        re = {group: re[group]}
    z = stats.norm.ppf(0.5 + level / 2)
    # One row of panels; a factor's panels share its sorted level axis (lme4 draws a page per factor).
    npanels = sum(df.shape[1] for df in re.values())
    nmax = max(len(df) for df in re.values())
    fig = _pyplot().figure(figsize=(3.4 * npanels + 0.6, float(np.clip(0.14 * nmax, 3.0, 10.0)) + 0.8),
                           layout="constrained")
    panel = 0
    for g, modes in re.items():
        sd = modes.attrs["condsd"]
        order = np.argsort(modes.iloc[:, 0].to_numpy(), kind="stable")
        ypos = np.arange(len(order))
        dense = len(order) > 100
        style = dict(_POINT, **_INTERVAL)
        if dense:
            style.update(markersize=1.5, elinewidth=0.5)
        first = None
        for col in range(modes.shape[1]):
            panel += 1
            ax = fig.add_subplot(1, npanels, panel, sharey=first)
            first = first or ax
            ax.errorbar(modes.iloc[order, col].to_numpy(), ypos, xerr=z * sd.iloc[order, col].to_numpy(),
                        fmt="o", **style)
            ax.axvline(0.0, **_REFERENCE)
            ax.set_title(f"{g}: {modes.columns[col]}", fontsize=10)
            ax.set_xlabel(f"conditional mode ({level:.0%} interval)", fontsize=8)
            ax.set_ylim(-0.8, len(order) - 0.2)
            if col > 0:
                ax.tick_params(labelleft=False)
            elif len(order) <= MAX_LABELLED_LEVELS:
                ax.set_yticks(ypos, [str(v) for v in modes.index[order]], fontsize=6 if len(order) > 30 else 8)
            else:
                ax.set_yticks([])
                ax.set_ylabel(f"{len(order)} levels of {g}, sorted", fontsize=8)
    return _finish(fig, save)


# -- diagnostics -----------------------------------------------------------------------
def residuals_vs_fitted(fit, ax=None):
    """Pearson residuals against fitted values (lme4's ``plot(fit)``).

    Parameters
    ----------
    fit : GlmerResult or GlmResult
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import glmmfast, glmmfast.plots
    >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
    >>> fig = glmmfast.plots.residuals_vs_fitted(fit)
    >>> fig.axes[0].get_xlabel(), len(fig.axes[0].collections[0].get_offsets())
    ('Fitted values', 403)
    """
    fig, ax = _new_axes(ax)
    ax.scatter(fit.fitted(), fit.residuals("pearson"), **_SCATTER)
    ax.axhline(0.0, **_REFERENCE)
    ax.set_xlabel("Fitted values")
    ax.set_ylabel("Pearson residuals")
    ax.set_title("Residuals vs fitted")
    return fig


def ranef_qq(fit, ax=None):
    """Normal QQ plot of the conditional modes, one series per grouping factor and term.

    Parameters
    ----------
    fit : GlmerResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One line per (factor, term), labelled ``"<factor>: <term>"``; x are
        normal quantiles at R's ``ppoints``, y the sorted modes; each with
        its reference line (R's ``qqline``: through the quartiles), labelled
        ``"_qqline <factor>: <term>"`` (hidden from the legend).

    Examples
    --------
    >>> import glmmfast, glmmfast.plots
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", df, family="poisson")
    >>> [t.get_text() for t in glmmfast.plots.ranef_qq(m).axes[0].get_legend().get_texts()]
    ['BROOD: (Intercept)', 'LOCATION: (Intercept)']
    """
    if not _has_random_effects(fit):
        raise TypeError("ranef_qq needs a mixed model (a fit with random effects)")
    fig, ax = _new_axes(ax)
    for g, modes in fit.ranef(condvar=False).items():
        for col in range(modes.shape[1]):
            v = np.sort(modes.iloc[:, col].to_numpy())
            (pts,) = ax.plot(stats.norm.ppf(_ppoints(v.size)), v, "o", markersize=3, alpha=0.75,
                             label=f"{g}: {modes.columns[col]}")
            # R's qqline: through the first and third quartiles of the modes and of N(0, 1).
            q = np.quantile(v, [0.25, 0.75])
            z = stats.norm.ppf([0.25, 0.75])
            slope = (q[1] - q[0]) / (z[1] - z[0])
            ends = stats.norm.ppf(_ppoints(v.size)[[0, -1]])
            ax.plot(ends, q[0] + slope * (ends - z[0]), "-", color=pts.get_color(), linewidth=1,
                    label=f"_qqline {g}: {modes.columns[col]}")
    ax.set_xlabel("Standard normal quantiles")
    ax.set_ylabel("Conditional modes")
    ax.set_title("Normal QQ of random effects")
    ax.legend(fontsize=7, frameon=False)
    return fig


def observed_vs_fitted(fit, ax=None):
    """Observed responses against fitted values, with the identity line.

    Parameters
    ----------
    fit : GlmerResult or GlmResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import glmmfast, glmmfast.plots
    >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
    >>> glmmfast.plots.observed_vs_fitted(fit).axes[0].get_ylabel()
    'Observed'
    """
    fig, ax = _new_axes(ax)
    mu, y = np.asarray(fit.fitted()), _observed(fit)
    ax.scatter(mu, y, **_SCATTER)
    lo, hi = float(min(mu.min(), y.min())), float(max(mu.max(), y.max()))
    ax.plot([lo, hi], [lo, hi], **_REFERENCE)
    ax.set_xlabel("Fitted values")
    ax.set_ylabel("Observed")
    ax.set_title("Observed vs fitted")
    return fig


def diagnostics(fit, save: str | PathLike | None = None):
    """The diagnostic panels side by side.

    Parameters
    ----------
    fit : GlmerResult or GlmResult
        For a model without random effects the QQ panel is left out.
    save : str or path, optional
        Write the figure to this file.

    Returns
    -------
    matplotlib.figure.Figure
        Axes: residuals vs fitted, normal QQ of the random effects (mixed
        models), observed vs fitted.

    Examples
    --------
    >>> import glmmfast, glmmfast.plots
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson")
    >>> [ax.get_title() for ax in glmmfast.plots.diagnostics(m).axes]
    ['Residuals vs fitted', 'Normal QQ of random effects', 'Observed vs fitted']
    """
    panels = [residuals_vs_fitted] + ([ranef_qq] if _has_random_effects(fit) else []) + [observed_vs_fitted]
    fig = _pyplot().figure(figsize=(4.2 * len(panels), 4.0), layout="constrained")
    for i, panel in enumerate(panels):
        panel(fit, ax=fig.add_subplot(1, len(panels), i + 1))
    fig.suptitle(f"{fit.formula}  [{fit.family.name}({fit.family.link})]", fontsize=10)
    return _finish(fig, save)


# -- overdispersion ---------------------------------------------------------------------
def overdispersion_picture(mean: float | None = None, sd: float = 1.0, n: int = 1000, seed: int = 1,
                           save: str | PathLike | None = None):
    """Why GLMMs: Poisson counts beside Poisson counts with a log-normal random effect.

    By default the tutorial's figure: ``n`` = 1,000 draws ``y ~ Poisson(1)``
    (red) against 1,000 draws ``y ~ Poisson(exp(e))``, ``e ~ N(0, sd^2)``
    (blue, "overdispersed Poisson"; not mean-matched: its mean is
    exp(sd^2/2) = 1.65), as overlaid density histograms over every count
    drawn.  Given ``mean``, the mean-matched view instead: ``Poisson(mean)``
    against ``Poisson(exp(log(mean) - sd^2/2 + sd u))`` (the -sd^2/2 keeps
    both means equal), labelled with each sample's mean and variance; its
    x axis is cut at the overdispersed sample's 99th percentile, as the
    plot states.

    Parameters
    ----------
    mean : float, optional
        None (default): the tutorial's Poisson(1) picture.  A number: the
        mean-matched Poisson-lognormal view with this mean.
    sd : float, default 1
        Standard deviation of the random effect on the log scale.
    n : int, default 1000
        Number of draws from each.
    seed : int, default 1
        Seed of the random generator (the picture is reproducible).
    save : str or path, optional

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with two histograms.

    Examples
    --------
    >>> from glmmfast.plots import overdispersion_picture
    >>> fig = overdispersion_picture()
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['Poisson', 'overdispersed Poisson']
    >>> fig = overdispersion_picture(mean=5)
    >>> [t.get_text().split(":")[0] for t in fig.axes[0].get_legend().get_texts()]
    ['Poisson', 'Poisson-lognormal']
    """
    if not ((mean is None or mean > 0) and sd >= 0 and int(n) > 0):
        raise ValueError("overdispersion_picture needs mean > 0 (or None), sd >= 0 and n > 0")
    rng = np.random.default_rng(seed)
    fig, ax = _new_axes(None, figsize=(6.0, 4.0))
    if mean is None:
        pois = rng.poisson(1.0, int(n))
        over = rng.poisson(np.exp(sd * rng.standard_normal(int(n))))
        bins = np.arange(-0.5, max(pois.max(), over.max()) + 1.5)
        for y, name, color in ((pois, "Poisson", "red"), (over, "overdispersed Poisson", "blue")):
            ax.hist(y, bins=bins, density=True, alpha=0.5, color=color, label=name)
        ax.set_title(f"{int(n)} draws: Poisson(1) and Poisson(exp(N(0, {sd:g}^2)))", fontsize=9)
    else:
        pois = rng.poisson(mean, int(n))
        lam = np.exp(np.log(mean) - sd**2 / 2 + sd * rng.standard_normal(int(n)))
        plnorm = rng.poisson(lam)
        top = max(int(np.quantile(plnorm, 0.99)) + 1, int(pois.max()))
        bins = np.arange(-0.5, top + 1.5)
        for y, name, color in ((pois, "Poisson", "red"), (plnorm, "Poisson-lognormal", "blue")):
            ax.hist(y, bins=bins, density=True, alpha=0.5, color=color,
                    label=f"{name}: mean {y.mean():.2f}, variance {y.var():.2f}")
        beyond = int(np.sum(plnorm > top))
        ax.set_title(f"Same mean, more variance: Poisson({mean:g}) vs log-normal random effect (sd {sd:g})",
                     fontsize=9)
        ax.text(0.98, 0.6, f"axis cut at {top}:\n{beyond} Poisson-lognormal\ndraws above not shown",
                transform=ax.transAxes, ha="right", va="top", fontsize=7)
    ax.set_xlabel("count")
    ax.set_ylabel("density")
    ax.legend(fontsize=8, frameon=False)
    return _finish(fig, save)


def observed_vs_poisson(fit, save: str | PathLike | None = None):
    """Observed count frequencies against those a fitted Poisson model predicts.

    The expected number of observations equal to ``k`` is
    ``sum_i dpois(k, mu_i)`` over the fitted means; an overdispersed fit
    predicts too few zeros and too few large counts.  The title reports
    :func:`glmmfast.dispersion_check`.

    Parameters
    ----------
    fit : GlmResult or GlmerResult
        A Poisson fit.  For a GLMM the expected frequencies use the
        conditional means (given the estimated random effects), and the
        legend says so.
    save : str or path, optional

    Returns
    -------
    matplotlib.figure.Figure
        One Axes: bars of observed frequencies at 0..max(y), a line of the
        expected ones; the axes span exactly the data.

    Examples
    --------
    >>> import glmmfast, glmmfast.plots
    >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
    >>> fig = glmmfast.plots.observed_vs_poisson(fit)
    >>> fig.axes[0].get_title()
    'Pearson chi2/df = 19.62 (p < 1e-300)'
    """
    if fit.family.name != "poisson":
        raise FamilyError(f"observed_vs_poisson needs a poisson fit, not {fit.family.name}")
    y = np.rint(_observed(fit)).astype(int)
    mu = np.asarray(fit.fitted())
    k = np.arange(y.max() + 1)
    observed = np.bincount(y, minlength=k.size)
    expected = stats.poisson.pmf(k[:, None], mu[None, :]).sum(axis=1)
    check = dispersion_check(fit)
    fig, ax = _new_axes(None, figsize=(6.0, 4.0))
    ax.bar(k, observed, width=0.9, color="0.7", label="observed")
    # A mixed model's fitted means are conditional on the estimated random effects (b at its modes).
    label = "expected under the fitted Poisson"
    if _has_random_effects(fit):
        label += ",\nconditional on the random effects"
    ax.plot(k, expected, "o-", color="#d62728", markersize=3, linewidth=1, label=label)
    ax.set_xlim(-0.5, k[-1] + 0.5)
    ax.set_ylim(0, 1.05 * max(observed.max(), expected.max()))
    ax.set_xlabel("count")
    ax.set_ylabel("number of observations")
    ax.set_title(f"Pearson chi2/df = {check.ratio:.2f} ({check.p_text})")
    ax.legend(fontsize=8, frameon=False)
    return _finish(fig, save)


# -- simulation-based residuals ----------------------------------------------------------
def residual_check(res, quantiles=(0.25, 0.5, 0.75), bins: int = 10, save: str | PathLike | None = None):
    """DHARMa's residual plot of :func:`glmmfast.simulate_residuals` output.

    Left: QQ plot of the scaled residuals against U(0, 1) (expected
    quantiles R's ``ppoints``), with the p-values of
    ``res.test_uniformity()``, ``res.test_dispersion()`` and
    ``res.test_outliers()`` in the panel.  Right: residuals against the
    rank-transformed population-level predictions (rank / max rank, as
    DHARMa's ``plotResiduals``), outliers (residual 0 or 1) in red, dashed
    reference lines at ``quantiles`` and, for each quantile, the empirical
    quantile of the residuals in ``bins`` equal-count bins of the
    predictions.  DHARMa fits quantile regressions (qgam) instead of binned
    quantiles; both should run flat along the reference lines when the
    model is right.

    Parameters
    ----------
    res : ScaledResiduals
    quantiles : sequence of float, default (0.25, 0.5, 0.75)
        Quantiles drawn, each in (0, 1).
    bins : int, default 10
        Number of equal-count bins of the rank-transformed predictions (at
        least 2); tied predictions share a bin, so with few distinct
        predictions there are fewer (non-empty) bins.
    save : str or path, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes, "QQ plot residuals" and "Residual vs. predicted"; the
        right one holds one Line2D per quantile, labelled ``"q=0.25"`` etc.

    Examples
    --------
    >>> import glmmfast, glmmfast.plots
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"), "poisson")
    >>> fig = glmmfast.plots.residual_check(glmmfast.simulate_residuals(m, seed=1))
    >>> [ax.get_title() for ax in fig.axes]
    ['QQ plot residuals', 'Residual vs. predicted']
    """
    from .inference._scaled_residuals import ScaledResiduals

    if not isinstance(res, ScaledResiduals):
        raise ArgumentTypeError(f"residual_check needs glmmfast.simulate_residuals output, not {type(res).__name__}")
    q = np.asarray(quantiles, dtype=float).reshape(-1)
    if q.size == 0 or np.any(~(q > 0) | ~(q < 1)):
        raise ArgumentError(f"quantiles must be numbers in (0, 1), got {quantiles!r}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ArgumentError(f"bins must be an integer of at least 2, got {bins!r}")
    r = res.residuals
    plt = _pyplot()
    fig, (qq, rv) = plt.subplots(1, 2, figsize=(10.0, 4.2), layout="constrained")

    qq.plot(_ppoints(r.size), np.sort(r), "^", markersize=3, markerfacecolor="none", color=_POINT["color"])
    qq.plot([0, 1], [0, 1], color="#d62728", linewidth=1)
    tests = [("KS test", res.test_uniformity()), ("Dispersion test", res.test_dispersion()),
             ("Outlier test", res.test_outliers())]
    text = "\n".join(f"{name}: p = {t.p_value:.3g}" + ("  (significant)" if t.p_value <= 0.05 else "")
                     for name, t in tests)
    qq.text(0.03, 0.97, text, transform=qq.transAxes, va="top", fontsize=8)
    qq.set(xlim=(0, 1), ylim=(0, 1), xlabel="Expected", ylabel="Observed", title="QQ plot residuals")

    x = stats.rankdata(res.fitted) / r.size  # ranks / max rank (n): DHARMa's rank transformation
    outlier = (r == 0) | (r == 1)
    rv.scatter(x[~outlier], r[~outlier], **_SCATTER)
    rv.scatter(x[outlier], r[outlier], s=22, marker="*", color="#d62728", label="outliers")
    # Bin b holds the ranks in ((b-1)/bins, b/bins]: equal counts, and tied predictions share a bin.
    which = np.minimum(np.ceil(x * bins).astype(int), int(bins))
    groups = [np.flatnonzero(which == b) for b in np.unique(which)]
    centre = np.array([x[g].mean() for g in groups])
    for qi in q:
        rv.axhline(qi, **_REFERENCE)
        rv.plot(centre, [np.quantile(r[g], qi) for g in groups], "o-", color="#d62728", linewidth=1.2, markersize=3,
                label=f"q={qi:g}")
    rv.set(xlim=(0, 1.02), ylim=(-0.03, 1.03), xlabel="Model predictions (rank transformed)", ylabel="DHARMa residual",
           title="Residual vs. predicted")
    return _finish(fig, save)
