"""glmmfast.emmeans and .pairs against R's emmeans (LMMs: KR / Satterthwaite / asymptotic df; GLMMs: link and response scale)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from conftest import (inference_data, inference_extras_reference, inference_fit, inference_glmm_reference,
                      inference_reference, reference_frame, with_r_estimates)

P_ABS, EST_REL = 1e-4, 1e-4


def _emm_cases(reference, modes):
    out = []
    for name, c in reference.items():
        for i, e in enumerate(c.get("emmeans", [])):
            for mode in modes:
                out.append((name, i, mode))
    return out


LMM_EMM = _emm_cases(inference_reference(), ["default", "satterthwaite", "asymptotic"])
GLMM_EMM = _emm_cases(inference_glmm_reference(), ["link", "response"])
_LMER_DF = {"default": "kenward-roger", "satterthwaite": "satterthwaite", "asymptotic": "asymptotic"}


def _as_list(v):
    return [] if v is None else (v if isinstance(v, list) else [v])


def _compare(ours: pd.DataFrame, ref: pd.DataFrame, keys: list[str], df_rtol: float, what: str):
    """Rows matched on ``keys``; value columns compared by position (R names the CI
    columns asymp.LCL / asymp.UCL with infinite df, and the response column prob / rate)."""
    assert len(ours) == len(ref), what
    ref = ref.reset_index(drop=True)
    merged = ours.reset_index(drop=True).merge(ref, on=keys, suffixes=("", "_R"), how="left", indicator=True)
    assert (merged["_merge"] == "both").all(), f"{what}: rows {merged.loc[merged['_merge'] != 'both', keys]}"
    ours_vals = [c for c in ours.columns if c not in keys]
    ref_vals = [c for c in ref.columns if c not in keys and c != "null"]
    assert len(ours_vals) == len(ref_vals), (what, ours_vals, ref_vals)
    for a, b in zip(ours_vals, ref_vals):
        b = b if b not in ours_vals else b + "_R"
        x, y = merged[a].to_numpy(dtype=float), merged[b].to_numpy(dtype=float)
        if a == "df":
            y = np.where(np.isnan(y), np.inf, y)  # jsonlite writes R's Inf as null
            np.testing.assert_allclose(x, y, rtol=df_rtol, err_msg=f"{what} {a}")
        elif a == "p.value":
            np.testing.assert_allclose(x, y, atol=P_ABS, err_msg=f"{what} {a}")
        else:
            np.testing.assert_allclose(x, y, rtol=EST_REL, atol=1e-10, err_msg=f"{what} {a}")


@pytest.mark.parametrize("name, i, mode", LMM_EMM)
def test_lmm_emmeans_match_r(name, i, mode):
    c = inference_reference()[name]
    e = c["emmeans"][i]
    specs, by = _as_list(e["specs"]), _as_list(e.get("by"))
    em = glmmfast.emmeans(inference_fit(name), specs, by=by or None, lmer_df=_LMER_DF[mode])
    ref = e[mode]
    df_rtol = 1e-2 if em.df_method == "kenward-roger" else 1e-3
    _compare(em.table, reference_frame(ref["table"]), specs + by, df_rtol, f"{name} {mode} table")
    for adjust, key in [("tukey", "pairs"), ("bonferroni", "pairs_bonferroni"), ("holm", "pairs_holm"),
                        ("none", "pairs_none")]:
        _compare(em.pairs(adjust), reference_frame(ref[key]), ["contrast"] + by, df_rtol,
                 f"{name} {mode} pairs {adjust}")


@pytest.mark.parametrize("name, i, mode", GLMM_EMM)
def test_glmm_emmeans_match_r(name, i, mode):
    c = inference_glmm_reference()[name]
    e = c["emmeans"][i]
    specs, by = _as_list(e["specs"]), _as_list(e.get("by"))
    # R's estimates (glmer's optimum differs from glmmfast's by ~1e-4; see test_glmer_optimum_not_worse)
    em = glmmfast.emmeans(with_r_estimates(inference_fit(name, glmm=True), c), specs, by=by or None, type=mode)
    ref = e[mode]
    _compare(em.table, reference_frame(ref["table"]), specs + by, 0, f"{name} {mode} table")
    for adjust, key in [("tukey", "pairs"), ("bonferroni", "pairs_bonferroni"), ("holm", "pairs_holm"),
                        ("none", "pairs_none")]:
        _compare(em.pairs(adjust), reference_frame(ref[key]), ["contrast"] + by, 0, f"{name} {mode} pairs {adjust}")


def test_response_scale_is_the_back_transformed_link_scale(cbpp):
    m = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    link = glmmfast.emmeans(m, "period").table
    resp = glmmfast.emmeans(m, "period", type="response").table
    p = 1 / (1 + np.exp(-link["emmean"]))
    np.testing.assert_allclose(resp["response"], p)
    np.testing.assert_allclose(resp["SE"], p * (1 - p) * link["SE"])  # delta method
    np.testing.assert_allclose(resp["lower.CL"], 1 / (1 + np.exp(-link["lower.CL"])))
    pairs = glmmfast.emmeans(m, "period", type="response").pairs("none")
    np.testing.assert_allclose(pairs["odds.ratio"], np.exp(glmmfast.emmeans(m, "period").pairs("none")["estimate"]))


def test_non_estimable_cell_is_nan_with_message():
    rng = np.random.default_rng(1)
    rows = [(a, b) for a in "xyz" for b in "uv" if (a, b) != ("z", "v")]  # an empty cell
    df = pd.DataFrame([(a, b, g) for a, b in rows for g in range(8) for _ in range(2)], columns=["a", "b", "g"])
    df["g"] = df["g"].astype(str)
    df["y"] = rng.normal(size=len(df)) + (df["a"] == "y") + rng.normal(size=8)[df["g"].astype(int)]
    m = glmmfast.lmer("y ~ a * b + (1 | g)", df)
    em = glmmfast.emmeans(m, ["a", "b"])
    t = em.table.set_index(["a", "b"])
    assert np.isnan(t.loc[("z", "v"), "emmean"]) and np.isfinite(t.loc[("x", "v"), "emmean"])
    assert any("not estimable" in msg for msg in em.messages)
    pairs = em.pairs()
    assert pairs.loc[pairs["contrast"].str.contains("z v"), "estimate"].isna().all()
    assert pairs.loc[~pairs["contrast"].str.contains("z v"), "estimate"].notna().all()
    # averaging over b: 'z' averages the empty cell, so it is not estimable either
    assert np.isnan(glmmfast.emmeans(m, "a").table.set_index("a").loc["z", "emmean"])


def test_asymptotic_above_the_kenward_roger_limit(sleepstudy):
    df = sleepstudy.assign(half=np.where(sleepstudy["Days"] < 5, "early", "late"))
    m = glmmfast.lmer("Reaction ~ half + (1 | Subject)", df)
    em = glmmfast.emmeans(m, "half", pbkrtest_limit=100, lmertest_limit=100)
    assert em.df_method == "asymptotic" and np.isinf(em.table["df"]).all()
    assert glmmfast.emmeans(m, "half", pbkrtest_limit=100).df_method == "satterthwaite"  # as emmeans
    assert glmmfast.emmeans(m, "half").df_method == "kenward-roger"
    assert glmmfast.emmeans(m, "half", lmer_df="satterthwaite").df_method == "satterthwaite"


def test_at_sets_covariates(sleepstudy):
    df = sleepstudy.assign(half=np.where(sleepstudy["Days"] < 5, "early", "late"))
    m = glmmfast.lmer("Reaction ~ half + Days + (1 | Subject)", df)
    a = glmmfast.emmeans(m, "half", at={"Days": 0}).table["emmean"]
    b = glmmfast.emmeans(m, "half").table["emmean"]
    np.testing.assert_allclose(b - a, m.fixef["Days"] * df["Days"].mean())


@pytest.mark.parametrize("kwargs, match", [
    (dict(specs="nope"), "not a factor"),
    (dict(specs=None), "specs must be a factor name"),
    (dict(specs=[]), "specs must be a factor name"),
    (dict(specs="half", by=3), "by must be a factor name"),
    (dict(specs="half", type="probability"), "type must be"),
    (dict(specs="half", level=1.5), "level must be"),
    (dict(specs="half", lmer_df="exact"), "lmer_df must be"),
    (dict(specs="half", at={"half": "middle"}), "not levels"),
    (dict(specs="half", at={"Reaction": 1}), "not a variable"),
])
def test_bad_emmeans_arguments(sleepstudy, kwargs, match):
    df = sleepstudy.assign(half=np.where(sleepstudy["Days"] < 5, "early", "late"))
    m = glmmfast.lmer("Reaction ~ half + (1 | Subject)", df)
    with pytest.raises(glmmfast.ArgumentError, match=match):
        glmmfast.emmeans(m, **kwargs)


def test_bad_pairs_adjust(sleepstudy):
    df = sleepstudy.assign(half=np.where(sleepstudy["Days"] < 5, "early", "late"))
    m = glmmfast.lmer("Reaction ~ half + (1 | Subject)", df)
    with pytest.raises(glmmfast.ArgumentError, match="adjust must be"):
        glmmfast.emmeans(m, "half").pairs("scheffe")


def test_emmeans_needs_a_mixed_fit(cbpp):
    with pytest.raises(glmmfast.ArgumentError, match="needs a fit"):
        glmmfast.emmeans(cbpp, "period")


def test_factor_of_a_numeric_column(sleepstudy):
    # emmeans(lmer(Reaction ~ factor(Days) + (1 | Subject), sleepstudy), "Days",
    # lmer.df = "satterthwaite") with emmeans 1.8.4 / lmerTest 3.1-3
    m = glmmfast.lmer("Reaction ~ factor(Days) + (1 | Subject)", sleepstudy)
    em = glmmfast.emmeans(m, "Days", lmer_df="satterthwaite")
    np.testing.assert_allclose(em.table["emmean"].iloc[:2], [256.6518056, 264.4957556], rtol=1e-7)
    np.testing.assert_allclose(em.table[["SE", "df"]].iloc[0], [11.45778197, 41.98297002], rtol=1e-6)
    pairs = em.pairs()
    assert list(pairs["contrast"].iloc[:3]) == ["Days0 - Days1", "Days0 - Days2", "Days0 - Days3"]
    np.testing.assert_allclose(pairs[["estimate", "SE", "df"]].iloc[2], [-26.34020556, 10.47530687, 153.0], rtol=1e-6)
    np.testing.assert_allclose(pairs["p.value"].iloc[:3], [0.9991103693, 0.9979714249, 0.2692481853], atol=1e-6)
    assert glmmfast.emmeans(m, "Days", at={"Days": [0, 9]}).table["Days"].tolist() == [0, 9]


# -- weights= and cov_reduce= against emmeans 1.8.4 (tests/data/inference_extras_reference.R) -----
_REDUCERS = {"default": None, "none": False, "median": np.median, "range": lambda x: [np.min(x), np.max(x)]}
EXTRAS_EMM = list(range(len(inference_extras_reference()["emmeans"])))


def _sleep_weights_fit():
    """inference_sleep_unbalanced.csv with the R script's parity (day), dose (subject mod 5), bin01 (subject mod 2)."""
    df = inference_data("sleep_unbalanced").copy()
    subject = df["Subject"].astype(int)
    df["parity"] = np.where(df["Days"] % 2 == 1, "odd", "even")
    df["dose"] = (subject % 5).astype(float)
    df["bin01"] = (subject % 2).astype(float)
    return glmmfast.lmer(inference_extras_reference()["sleep_weights"]["formula"], df)


@pytest.mark.parametrize("i", EXTRAS_EMM)
def test_emmeans_weights_and_cov_reduce_match_r(i):
    ref = inference_extras_reference()
    e = ref["emmeans"][i]
    if e["model"] == "sleep_weights":
        fit = _cached_sleep_weights_fit()
    else:  # R's estimates of the GLMM (the optima differ by ~1e-4)
        fit = with_r_estimates(inference_fit(e["model"], glmm=True), ref[e["model"]])
    specs = _as_list(e["specs"])
    em = glmmfast.emmeans(fit, specs, type=e["type"], weights=e["weights"], cov_reduce=_REDUCERS[e["cov_reduce"]])
    what = f"{e['model']} {specs} weights={e['weights']} cov_reduce={e['cov_reduce']}"
    df_rtol = 1e-2 if em.df_method == "kenward-roger" else 1e-3
    _compare(em.table, reference_frame(e["table"]), specs, df_rtol, what + " table")
    _compare(em.pairs("none"), reference_frame(e["pairs"]), ["contrast"], df_rtol, what + " pairs")


_SLEEP_WEIGHTS = []


def _cached_sleep_weights_fit():
    if not _SLEEP_WEIGHTS:
        _SLEEP_WEIGHTS.append(_sleep_weights_fit())
    return _SLEEP_WEIGHTS[0]


def test_weights_differ_and_cells_give_the_data_mean_of_a_saturated_model():
    # With y ~ a * b (every cell estimated), "cells" weights average the fitted cell means by their
    # frequencies, i.e. the data's mean of the fitted values at each level of a.
    rng = np.random.default_rng(3)
    a = rng.choice(["x", "y"], 200, p=[0.3, 0.7])
    b = np.where(rng.random(200) < np.where(a == "x", 0.2, 0.8), "u", "v")
    g = rng.integers(0, 10, 200).astype(str)
    df = pd.DataFrame({"a": a, "b": b, "g": g, "y": rng.normal(size=200) + (b == "u") + rng.normal(size=10)[g.astype(int)]})
    m = glmmfast.lmer("y ~ a * b + (1 | g)", df)
    cells = glmmfast.emmeans(m, "a", weights="cells", lmer_df="asymptotic").table.set_index("a")["emmean"]
    X = pd.get_dummies(df[["a", "b"]], drop_first=True).astype(float)
    beta = m.fixef.to_numpy()
    eta = beta[0] + beta[1] * X["a_y"] + beta[2] * X["b_v"] + beta[3] * X["a_y"] * X["b_v"]
    np.testing.assert_allclose(cells.to_numpy(), eta.groupby(df["a"]).mean().to_numpy(), rtol=1e-10)
    equal = glmmfast.emmeans(m, "a", lmer_df="asymptotic").table["emmean"].to_numpy()
    assert np.all(np.abs(equal - cells.to_numpy()) > 1e-3)


def test_bad_weights_and_cov_reduce(sleepstudy):
    m = glmmfast.lmer("Reaction ~ h + (1 | Subject)", sleepstudy.assign(h=np.where(sleepstudy["Days"] < 5, "a", "b")))
    with pytest.raises(glmmfast.ArgumentError, match="weights"):
        glmmfast.emmeans(m, "h", weights="counts")
    with pytest.raises(glmmfast.ArgumentError, match="cov_reduce"):
        glmmfast.emmeans(m, "h", cov_reduce="mean")


def test_factor_of_a_float_column_prints_as_r():
    # R's as.character of doubles: factor(x) on 0.0, 0.5, 2.0 shows levels "0", "0.5", "2"
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.choice([0.0, 0.5, 2.0], 120), "g": rng.integers(0, 8, 120).astype(str)})
    df["y"] = rng.normal(size=120) + df["x"]
    m = glmmfast.lmer("y ~ factor(x) + (1 | g)", df)
    em = glmmfast.emmeans(m, "x", lmer_df="asymptotic")
    assert em.table["x"].tolist() == ["0", "0.5", "2"]
    assert em.pairs()["contrast"].tolist() == ["x0 - x0.5", "x0 - x2", "x0.5 - x2"]
    # at= still takes the values
    assert glmmfast.emmeans(m, "x", at={"x": [0.0, 2.0]}, lmer_df="asymptotic").table["x"].tolist() == ["0", "2"]
