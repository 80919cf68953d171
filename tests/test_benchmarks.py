"""Smoke test of the benchmark suite (benchmarks/): it imports, writes a problem's data,
runs glmmfast on it in a child process, reads back -2 log L and peak RSS, and renders
the tables.  No R, no timing assertions: this only keeps the suite from rotting."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import problems, report  # noqa: E402
from benchmarks.data_files import read_frame, read_meta, write_problem  # noqa: E402
from benchmarks.python_worker import run_tool  # noqa: E402
from benchmarks.run import ALL_TOOLS, main  # noqa: E402
from benchmarks.timing import time_calls  # noqa: E402


def test_problem_names_are_unique_and_cover_the_issue():
    names = list(problems.PROBLEMS)
    assert len(names) == len(set(names))
    formulas = {p.formula for p in problems.PROBLEMS.values()}
    assert "TICKS ~ YEAR + (0 + YEAR | LOCATION)" in formulas
    assert {"sim_pois_1e6", "sim_bern_1e6", "cbpp", "sleepstudy", "InstEval_lmm", "InstEval_y>=4"} <= set(names)
    assert [p.name for p in problems.select(["grouse_1|LOC"], quick=False)] == ["grouse_1|LOC"]


def test_crossed_data_is_reproducible_and_uses_every_level():
    a = problems.crossed_data(500, 20, 5, "poisson")
    b = problems.crossed_data(500, 20, 5, "poisson")
    pd.testing.assert_frame_equal(a, b)
    assert a["g1"].nunique() == 20 and a["g2"].nunique() == 5
    bern = problems.crossed_data(500, 20, 5, "binomial")
    assert set(np.unique(bern["y"])) <= {0, 1}


def test_data_files_round_trip_keeps_factor_level_order(tmp_path):
    p = problems.PROBLEMS["cbpp"]
    df = p.data()
    write_problem(p, df, tmp_path, reps=1, budget=1.0)
    meta = read_meta(tmp_path)
    assert meta["factors"]["herd"] == [str(v) for v in df["herd"].cat.categories]
    pd.testing.assert_frame_equal(read_frame(tmp_path), df)
    assert (tmp_path / "data.csv").exists()


def test_time_calls_protocol():
    calls = []
    r = time_calls(lambda: calls.append(1), reps=4, budget=10.0)
    assert len(calls) == 5 and len(r["times"]) == 4 and not r["warmup_only"]


def test_glmmfast_worker_matches_a_direct_fit(tmp_path):
    import glmmfast

    p = problems.PROBLEMS["grouse_1|LOC"]
    df = p.data()
    write_problem(p, df, tmp_path, reps=1, budget=5.0)
    r = run_tool("glmmfast", tmp_path)
    direct = glmmfast.glmer(p.formula, df, family=p.family)
    assert r["m2ll"] == pytest.approx(-2 * direct.loglik, rel=1e-10)
    assert r["q"] == 63 and r["n"] == 403  # 63 LOCATION intercepts


def test_run_one_tiny_problem_end_to_end(tmp_path, capsys):
    out = tmp_path / "r.json"
    md = tmp_path / "r.md"
    res = main(["--problems", "cbpp", "--tools", "glmmfast", "--reps", "1", "--budget", "5",
                "--out", str(out), "--markdown", str(md)])
    g = res["problems"]["cbpp"]["tools"]["glmmfast"]
    assert "error" not in g and g["peak_rss_mb"] > 0
    assert g["m2ll"] == pytest.approx(184.0531, abs=1e-3)  # lme4 1.1-31: -2 * logLik = 184.0531
    assert json.loads(out.read_text())["problems"]["cbpp"]["n"] == 56
    text = md.read_text()
    assert "| cbpp | 56 | 15 |" in text and "Machine:" in text
    assert "cbpp" in capsys.readouterr().out


def test_report_marks_skips_timeouts_and_ratios():
    results = {"problems": {"x": {"n": 10, "note": "", "tools": {
        "glmmfast": {"median": 0.01, "m2ll": 100.0, "q": 3, "peak_rss_mb": 50.0},
        "lme4": {"median": 0.2, "m2ll": 100.5, "q": 3, "peak_rss_mb": 80.0},
        "glmmTMB": {"timeout": True, "timeout_after": 600, "peak_rss_mb": 90.0},
        "mixedlm": {"skipped": "not installed"}}}}}
    header, rows = report.table_rows(results, ["lme4", "glmmTMB", "mixedlm"])
    assert rows[0][6] == "200.0 ms (20.0x, Δ+0.50)"
    assert rows[0][7] == "timeout (600 s)" and rows[0][8] == "skipped"
    assert any("not installed" in n for n in report.notes(results))


FAMILIES = {"poisson", "binomial", "gaussian", "Gamma", "inverse.gaussian", "negative.binomial"}
MODEL_CLASSES = ["Exam_slope", "Hsb82_slope", "ScotsSec_crossed", "Chem97_nested", "Chem97_slope_nested",
                 "sim_lmm_slope_1e5", "cbpp_probit", "cbpp_cloglog", "Contraception_cloglog",
                 "Contraception_probit", "sim_Gamma_log", "sim_invgauss_log", "grouse_nb_1|LOC", "cbpp_agq25"]


def test_every_problem_is_well_formed():
    import glmmfast

    for name, p in problems.PROBLEMS.items():
        assert p.kind in {"glmer", "lmer", "refit"} and p.family in FAMILIES, name
        assert "~" in p.formula and "|" in p.formula, name
        assert p.nAGQ >= 1 and (p.kind != "lmer" or (p.family == "gaussian" and not p.link)), name
        assert p.tools is None or ("glmmfast" in p.tools and set(p.tools) <= set(ALL_TOOLS)), name
        if p.family != "negative.binomial":  # the link exists for the family (FamilyError otherwise)
            glmmfast.families.get_family(p.family, p.link or None)


def test_the_1e7_row_problem_is_glmmfast_only_and_outside_the_quick_set():
    p = problems.PROBLEMS["sim_pois_1e7"]
    assert p.tools == ("glmmfast",) and not p.quick and p.family == "poisson"
    assert p.formula == problems.PROBLEMS["sim_pois_1e6"].formula


def test_the_issue_16_model_classes_are_in_the_suite_and_their_data_load():
    ps = problems.PROBLEMS
    assert set(MODEL_CLASSES) <= set(ps)
    links = {(ps[n].family, ps[n].link) for n in MODEL_CLASSES}
    assert {("binomial", "probit"), ("binomial", "cloglog"), ("Gamma", "log"), ("inverse.gaussian", "log"),
            ("negative.binomial", "")} <= links
    assert ps["cbpp_agq25"].nAGQ == 25 and ps["cbpp_agq25"].tools == ("glmmfast", "lme4")  # glmmTMB: no AGQ
    sizes = {}
    for n in MODEL_CLASSES:
        df = ps[n].data()
        response = ps[n].formula.split("~")[0].strip()
        if not response.startswith("cbind"):
            assert df[response].notna().all(), n
        sizes[n] = len(df)
    lmm_sizes = [sizes[n] for n in MODEL_CLASSES if ps[n].kind == "lmer"]
    assert min(lmm_sizes) < 5_000 and max(lmm_sizes) == 100_000  # LMMs from 1e3 to 1e5 rows
    assert sizes["Chem97_nested"] == 31022 and sizes["Exam_slope"] == 4059  # mlmRev's row counts


def test_simulated_slopes_and_dispersion_data_are_reproducible():
    a = problems.slopes_data(2000, 40, 7)
    pd.testing.assert_frame_equal(a, problems.slopes_data(2000, 40, 7))
    assert a["g1"].nunique() == 40 and a["g2"].nunique() == 7
    for fam in ("Gamma", "inverse.gaussian"):
        d = problems.dispersion_data(3000, 30, fam)
        pd.testing.assert_frame_equal(d, problems.dispersion_data(3000, 30, fam))
        assert (d["y"] > 0).all() and d["g"].nunique() == 30
    # the simulated means: E y = exp(1 + 0.5 x + u) has log-mean near 1 + 0.5^2 / 2 (log-normal u)
    g = problems.dispersion_data(20000, 200, "Gamma")
    assert np.log(g["y"].mean()) == pytest.approx(1 + 0.5 * 0.5 / 2 + 0.5 * 0.5 / 2, abs=0.15)


@pytest.mark.parametrize("name, family, link", [("grouse_1|LOC", "poisson", ""), ("cbpp_probit", "binomial", "probit"),
                                                ("grouse_nb_1|LOC", "negative.binomial", "")])
def test_gpboost_reports_minus_two_log_likelihood_on_glmmfasts_scale(tmp_path, name, family, link):
    # GPBoost reports the Laplace negative log-likelihood; the worker doubles it.  At a tight
    # tolerance both tools reach the same optimum of the same Laplace likelihood (exact Hessian).
    pytest.importorskip("gpboost")
    pytest.importorskip("patsy")
    p = problems.PROBLEMS[name]
    assert (p.family, p.link) == (family, link)
    write_problem(p, p.data(), tmp_path, reps=1, budget=5.0)
    g = run_tool("glmmfast", tmp_path)
    b = run_tool("gpboost_tight", tmp_path)
    assert "error" not in b and "skipped" not in b, b
    assert b["m2ll"] == pytest.approx(g["m2ll"], abs=0.01)
    assert b["m2ll_reported"] == pytest.approx(b["m2ll"], abs=1e-4)  # one factor: GPBoost's own figure is exact
    assert b["q"] == g["q"]


def test_gpboost_gaussian_is_the_maximum_likelihood_scale():
    pytest.importorskip("gpboost")
    pytest.importorskip("patsy")
    import glmmfast
    from benchmarks.python_tools import TOOLS

    df = glmmfast.datasets.load("sleepstudy")
    f = "Reaction ~ Days + (1 | Subject)"
    meta = {"kind": "lmer", "family": "gaussian", "link": "", "nAGQ": 1, "formula": f}
    ml = -2 * glmmfast.lmer(f, df, REML=False).loglik
    assert TOOLS["gpboost_tight"].fit(meta, df).m2ll == pytest.approx(ml, abs=1e-3)


def test_gpboost_skips_models_it_cannot_fit():
    pytest.importorskip("gpboost")
    pytest.importorskip("patsy")
    from benchmarks.python_tools import TOOLS

    df = problems.PROBLEMS["sleepstudy"].data()
    for formula, family, link, why in [("Reaction ~ Days + (Days | Subject)", "gaussian", "", "intercepts"),
                                       ("Reaction ~ Days + (1 | Subject)", "binomial", "cloglog", "cloglog")]:
        meta = {"kind": "glmer", "family": family, "link": link, "nAGQ": 1, "formula": formula}
        with pytest.raises(problems.Unavailable, match=why):
            TOOLS["gpboost"].fit(meta, df)


def test_problem_tools_list_skips_the_others(tmp_path):
    md = tmp_path / "r.md"
    res = main(["--problems", "cbpp_agq25", "--tools", "glmmfast", "gpboost", "--reps", "1", "--budget", "5",
                "--label", "smoke run", "--markdown", str(md)])
    tools = res["problems"]["cbpp_agq25"]["tools"]
    assert "cannot fit" in tools["gpboost"]["skipped"] and "m2ll" in tools["glmmfast"]
    assert md.read_text().startswith("Run: smoke run\n")


def test_report_notes_an_approximate_minus_two_log_likelihood():
    results = {"problems": {"x": {"n": 10, "note": "", "tools": {
        "glmmfast": {"median": 0.01, "m2ll": 100.0, "q": 3, "peak_rss_mb": 50.0},
        "gpboost": {"median": 0.02, "m2ll": 100.4, "m2ll_reported": 99.8, "q": 3, "peak_rss_mb": 60.0}}}}}
    assert report.table_rows(results, ["gpboost"])[1][0][6] == "20.0 ms (2.0x, Δ+0.40)"
    assert any("reports −2logL 99.800 (an approximation)" in n and "100.400" in n for n in report.notes(results))


def test_glmmtmb_problems_mirror_the_reference_cases(tmp_path):
    # issue 14: one problem per glmmTMB reference case (not the fixed-parameter one), run by prefix,
    # outside the default set; the problem carries glmmTMB's extra arguments to the data files
    ref = json.loads(problems.GLMMTMB_REFERENCE.read_text())
    cases = {"tmb_" + c["id"]: c for c in ref["cases"] if not (c.get("start") or c.get("map"))}
    assert set(problems.GLMMTMB_PROBLEMS) == set(cases) and not set(cases) & set(problems.PROBLEMS)
    assert [p.name for p in problems.select(["tmb_"], quick=False)] == list(problems.GLMMTMB_PROBLEMS)
    assert not set(problems.GLMMTMB_PROBLEMS) & {p.name for p in problems.select(None, quick=False)}
    for name, p in problems.GLMMTMB_PROBLEMS.items():
        c = cases[name]
        assert (p.formula, p.link, p.ziformula, p.dispformula, p.weights, p.REML) == (
            c["formula"], c["link"], c["ziformula"], c["dispformula"], c["weights"], c["REML"])
        assert p.family == c["family"] or (p.family, c["family"]) == ("ziGamma", "Gamma")
        assert p.tools == problems.GLMMTMB_TOOLS  # random effects in the ziformula included
    assert problems.GLMMTMB_TOOLS == ("glmmfast", "glmmTMB")
    assert problems.GLMMTMB_PROBLEMS["tmb_zigamma_ri"].family == "ziGamma"
    assert problems.GLMMTMB_PROBLEMS["tmb_t_ri"].family == "t"
    p = problems.GLMMTMB_PROBLEMS["tmb_disp_gauss_zero_w"]
    df = p.data()
    assert len(df) == 600 and list(df["g"].cat.categories)[:2] == ["g01", "g02"]
    write_problem(p, df, tmp_path, reps=1, budget=1.0)
    meta = read_meta(tmp_path)
    assert (meta["ziformula"], meta["dispformula"], meta["weights"], meta["REML"]) == (None, "~0", "w", False)
    assert problems.GLMMTMB_PROBLEMS["tmb_disp_gauss_x_reml"].REML
    owls = problems.GLMMTMB_PROBLEMS["tmb_owls_zinb1"].data()
    assert owls.shape == (599, 8)


def test_glmmfast_adapter_skips_what_glmer_cannot_fit_yet(tmp_path):
    # until glmmfast.glmer takes ziformula and glmmTMB's families, the adapter reports a skip, never an error
    p = problems.GLMMTMB_PROBLEMS["tmb_sal_zip"]
    write_problem(p, p.data(), tmp_path, reps=1, budget=5.0)
    r = run_tool("glmmfast", tmp_path)
    assert "error" not in r, r.get("traceback")
    ref = next(c for c in json.loads(problems.GLMMTMB_REFERENCE.read_text())["cases"] if c["id"] == "sal_zip")
    assert "skipped" in r or r["m2ll"] <= ref["m2loglik"] + 0.002
