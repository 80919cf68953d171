"""Plots render headless; tests read the axes' contents (points, intervals, labels, order), not pixels."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import glmmfast  # noqa: E402
from glmmfast import plots  # noqa: E402

from conftest import fit_case  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _errorbar(ax):
    """(x, y, half-widths) of the single errorbar container in ax."""
    (container,) = ax.containers
    line, _, (bars,) = container
    x, y = line.get_data()
    segs = bars.get_segments()
    half = np.array([(s[1][0] - s[0][0]) / 2 for s in segs])
    return np.asarray(x), np.asarray(y), half


def test_caterpillar_matches_lme4_ranef_sorted(reference):
    """Points are lme4's conditional modes, bars 1.96 lme4 conditional SDs, sorted ascending, labelled."""
    m = fit_case("gt_m1")
    fig = plots.caterpillar(m)
    (ax,) = fig.axes
    assert ax.get_title() == "LOCATION: (Intercept)"
    x, y, half = _errorbar(ax)
    ref = reference["gt_m1"]["ranef"]
    order = np.argsort(ref["condval"])
    assert len(x) == 63 and np.all(np.diff(x) >= 0)
    assert np.array_equal(y, np.arange(63))
    assert x == pytest.approx(np.asarray(ref["condval"])[order], abs=2e-3)
    assert half == pytest.approx(1.959964 * np.asarray(ref["condsd"])[order], rel=5e-3)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [ref["grp"][i] for i in order]


def test_caterpillar_terms_share_the_first_terms_order():
    m = glmmfast.glmer(
        "TICKS ~ YEAR + (1 | LOCATION) + (0 + YEAR | LOCATION)", glmmfast.datasets.load("grouseticks"),
        family="poisson")
    re = m.ranef()["LOCATION"]
    fig = plots.caterpillar(m, level=0.5)
    assert [ax.get_title() for ax in fig.axes] == [f"LOCATION: {c}" for c in re.columns]
    order = np.argsort(re.iloc[:, 0].to_numpy(), kind="stable")
    for j, ax in enumerate(fig.axes):
        x, _, half = _errorbar(ax)
        assert x == pytest.approx(re.iloc[order, j].to_numpy())
        assert half == pytest.approx(0.6744898 * re.attrs["condsd"].iloc[order, j].to_numpy())
    assert np.all(np.diff(_errorbar(fig.axes[0])[0]) >= 0)


def test_caterpillar_many_levels_and_group_choice():
    m = glmmfast.glmer("TICKS ~ YEAR + (1 | INDEX) + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"),
                       family="poisson")
    fig = plots.caterpillar(m)
    assert [ax.get_title() for ax in fig.axes] == ["INDEX: (Intercept)", "LOCATION: (Intercept)"]
    assert len(_errorbar(fig.axes[0])[0]) == 403
    assert fig.axes[0].get_yticklabels() == [] and "403 levels" in fig.axes[0].get_ylabel()
    only = plots.caterpillar(m, group="LOCATION")
    assert [ax.get_title() for ax in only.axes] == ["LOCATION: (Intercept)"]
    with pytest.raises(ValueError, match="BROOD"):
        plots.caterpillar(m, group="BROOD")
    with pytest.raises(ValueError, match="level"):
        plots.caterpillar(m, level=1.5)
    with pytest.raises(TypeError, match="mixed model"):
        plots.caterpillar(fit_case("gt_glm"))


def test_diagnostics_panels():
    m = fit_case("gt_m1")
    fig = plots.diagnostics(m)
    resid_ax, qq_ax, obs_ax = fig.axes
    pts = resid_ax.collections[0].get_offsets()
    assert len(pts) == 403
    assert np.allclose(pts[:, 0], m.fitted()) and np.allclose(pts[:, 1], m.residuals("pearson"))
    assert (resid_ax.get_xlabel(), resid_ax.get_ylabel()) == ("Fitted values", "Pearson residuals")
    (qq,) = [ln for ln in qq_ax.get_lines() if ln.get_label() == "LOCATION: (Intercept)"]
    qx, qy = qq.get_data()
    assert len(qx) == 63 and np.all(np.diff(qy) >= 0) and np.all(np.diff(qx) > 0)
    assert np.sort(m.ranef()["LOCATION"].iloc[:, 0].to_numpy()) == pytest.approx(qy)
    assert qx[0] == pytest.approx(-2.411822, abs=1e-6)  # R: qnorm(ppoints(63))[1]
    obs = obs_ax.collections[0].get_offsets()
    y = glmmfast.datasets.load("grouseticks")["TICKS"].to_numpy()
    assert np.allclose(obs[:, 1], y) and obs_ax.get_ylabel() == "Observed"
    glm_fig = plots.diagnostics(fit_case("gt_glm"))
    assert [ax.get_title() for ax in glm_fig.axes] == ["Residuals vs fitted", "Observed vs fitted"]


def test_overdispersion_picture():
    fig = plots.overdispersion_picture(mean=4, sd=1.2, n=20000, seed=3)
    (ax,) = fig.axes
    pois, plnorm = ax.containers
    # histogram densities: bar areas sum to (almost) 1 within the plotted range
    assert sum(p.get_height() * p.get_width() for p in pois) == pytest.approx(1, abs=1e-9)
    assert sum(p.get_height() * p.get_width() for p in plnorm) > 0.98
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [lab.split(":")[0] for lab in labels] == ["Poisson", "Poisson-lognormal"]
    means = [float(lab.split("mean ")[1].split(",")[0]) for lab in labels]
    assert means == pytest.approx([4, 4], rel=0.05)
    var_pois, var_plnorm = (float(lab.rsplit(" ", 1)[1]) for lab in labels)
    # truth: Var = mu + mu^2 (exp(sd^2) - 1) = 4 + 16 * 3.2207 = 55.5
    assert var_pois == pytest.approx(4, rel=0.05) and var_plnorm == pytest.approx(55.5, rel=0.2)
    assert ax.get_xlabel() == "count" and ax.get_ylabel() == "density"


def test_observed_vs_poisson():
    fit = fit_case("gt_glm")
    fig = plots.observed_vs_poisson(fit)
    (ax,) = fig.axes
    bars = ax.containers[0]
    y = glmmfast.datasets.load("grouseticks")["TICKS"].to_numpy().astype(int)
    assert [b.get_height() for b in bars] == list(np.bincount(y))
    (expected,) = ax.get_lines()
    assert expected.get_ydata().sum() == pytest.approx(len(y), rel=1e-6)
    assert expected.get_ydata()[0] < 0.5 * np.sum(y == 0)  # the Poisson glm predicts too few zeros
    assert "19.62" in ax.get_title()
    with pytest.raises(glmmfast.FamilyError):
        plots.observed_vs_poisson(glmmfast.glm("cbind(incidence, size - incidence) ~ period",
                                               glmmfast.datasets.load("cbpp"), family="binomial"))


def test_save_writes_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plots.overdispersion_picture(n=100)
    assert list(tmp_path.iterdir()) == []
    plots.overdispersion_picture(n=100, save=tmp_path / "od.png")
    assert (tmp_path / "od.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_matplotlib_gives_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"glmmfast\[plot\]"):
        plots.overdispersion_picture(n=10)


def test_residual_check_panels():
    """QQ points are the sorted residuals at R's ppoints; the right panel plots residuals against
    rank/n of the population-level predictions, with one binned-quantile line per quantile."""
    fit = glmmfast.glmer("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)",
                         glmmfast.datasets.load("grouseticks"), family="poisson")
    res = glmmfast.simulate_residuals(fit, n=100, seed=1)
    fig = plots.residual_check(res, bins=8)
    qq, rv = fig.axes
    points, diagonal = qq.get_lines()
    x, y = points.get_data()
    np.testing.assert_allclose(y, np.sort(res.residuals))
    n = res.residuals.size
    np.testing.assert_allclose(x, (np.arange(1, n + 1) - 0.5) / n)
    assert "KS test: p =" in qq.texts[0].get_text() and "Outlier test" in qq.texts[0].get_text()
    pts = np.vstack([c.get_offsets() for c in rv.collections])
    f = res.fitted  # ties (chicks of a brood share predictors) get their average rank, as R's rank()
    ranks = np.sum(f[None, :] < f[:, None], axis=1) + (np.sum(f[None, :] == f[:, None], axis=1) + 1) / 2
    expected = np.column_stack([ranks / n, res.residuals])
    np.testing.assert_allclose(pts[np.lexsort(pts.T[::-1])], expected[np.lexsort(expected.T[::-1])])
    lines = [ln for ln in rv.get_lines() if ln.get_label().startswith("q=")]
    assert [ln.get_label() for ln in lines] == ["q=0.25", "q=0.5", "q=0.75"]
    bins = np.unique(np.ceil(ranks / n * 8))  # non-empty bins: ties (equal ranks) share one
    assert 2 <= bins.size <= 8
    assert all(len(ln.get_xdata()) == bins.size for ln in lines)
    lower, median, upper = (np.asarray(ln.get_ydata()) for ln in lines)
    assert np.all(lower <= median) and np.all(median <= upper)
    # the model is close to right: binned medians stay near 0.5
    assert np.abs(median - 0.5).max() < 0.2


def test_residual_check_bad_input():
    res = glmmfast.simulate_residuals(fit_case("gt_m1"), n=20, seed=1)
    with pytest.raises(glmmfast.ArgumentError, match="simulate_residuals"):
        plots.residual_check(fit_case("gt_m1"))
    with pytest.raises(glmmfast.ArgumentError, match="quantiles"):
        plots.residual_check(res, quantiles=(0.5, 1.0))
    with pytest.raises(glmmfast.ArgumentError, match="bins"):
        plots.residual_check(res, bins=1)
