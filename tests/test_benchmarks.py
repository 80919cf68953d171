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
from benchmarks.run import main  # noqa: E402
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
