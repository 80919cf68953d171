"""glmmfast.emmeans and .pairs against R's emmeans (LMMs: KR / Satterthwaite / asymptotic df; GLMMs: link and response scale)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from conftest import inference_fit, inference_glmm_reference, inference_reference, reference_frame, with_r_estimates

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
