"""Run the glmmfast benchmark suite: every problem, glmmfast and each installed competitor.

Usage
-----
    python benchmarks/run.py [--quick] [--problems NAME ...] [--reps N] [--timeout S]
                             [--budget S] [--tools T ...] [--out results.json] [--markdown FILE] [--render results.json]
                             [--label TEXT]

Each problem's data are written once to a temporary directory; every tool
(glmmfast, lme4 and glmmTMB through ``Rscript benchmarks/fit_r.R``, statsmodels,
the ``mixedlm`` package, GPBoost at its defaults and at a tight tolerance) then fits
the same model to that file in its own child process, which gives its peak RSS and
lets a timeout kill it.  Absent tools, tools a problem does not list and models an
adapter cannot fit are skipped with a note.  A problem whose glmmfast function
is missing (e.g. ``glmmfast.lmer``) is skipped entirely.

Interface: main(argv) -> dict (the results, also written to --out); run_problem(problem, tools, args) -> dict.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from .data_files import write_problem  # noqa: E402
from .machine import load_average, machine_info  # noqa: E402
from . import problems as problems_module  # noqa: E402
from .problems import GLMMTMB_PROBLEMS, PROBLEMS, Problem, Unavailable, select  # noqa: E402
from .report import render_markdown, render_text  # noqa: E402
from .subprocess_run import run_json  # noqa: E402

__all__ = ["main", "run_problem", "ALL_TOOLS"]

HERE = Path(__file__).resolve().parent
R_TOOLS = ("lme4", "glmmTMB")
PY_TOOLS = ("glmmfast", "statsmodels", "mixedlm", "gpboost", "gpboost_tight")
ALL_TOOLS = ("glmmfast",) + R_TOOLS + PY_TOOLS[1:]


def _command(tool: str, directory: Path) -> list[str]:
    if tool in R_TOOLS:
        return ["Rscript", "--vanilla", str(HERE / "fit_r.R"), tool, str(directory)]
    return [sys.executable, str(HERE / "python_worker.py"), tool, str(directory)]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_problem(problem: Problem, tools: list[str], args) -> dict:
    out: dict = {"formula": problem.formula, "family": problem.family, "link": problem.link,
                 "nAGQ": problem.nAGQ, "kind": problem.kind, "note": problem.note, "tools": {}}
    try:
        df = problem.data()
    except Unavailable as e:
        out["skipped"] = str(e)
        return out
    out["n"] = len(df)
    with tempfile.TemporaryDirectory(prefix=f"glmmfast-bench-{problem.name.replace('|', '_')}-") as d:
        write_problem(problem, df, Path(d), args.reps, args.budget)
        del df
        for tool in tools:
            if problem.tools is not None and tool not in problem.tools:
                why = f"cannot fit this model (the problem lists {', '.join(problem.tools)})"
                out["tools"][tool] = {"skipped": why}
                continue
            if tool in R_TOOLS and shutil.which("Rscript") is None:
                out["tools"][tool] = {"skipped": "Rscript not found"}
                continue
            r = run_json(_command(tool, Path(d)), args.timeout)
            if r.get("timeout"):
                r["timeout_after"] = args.timeout
            out["tools"][tool] = r
            _log(f"  {tool:12s} " + (
                f"{r['median']:.4g} s  -2logL {r.get('m2ll', float('nan')):.3f}  peak {r['peak_rss_mb']:.0f} MB"
                if "median" in r else
                ("timeout" if r.get("timeout") else r.get("skipped") or r.get("error", "?"))))
            if tool == "glmmfast" and "skipped" in r:
                out["skipped"] = f"glmmfast: {r['skipped']}"
                break
    return out


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="problems: " + ", ".join(PROBLEMS)
                                 + "; glmmTMB's models (issue 14, by name or the prefix tmb_, glmmTMB only for now): "
                                 + ", ".join(GLMMTMB_PROBLEMS))
    ap.add_argument("--quick", action="store_true",
                    help="small subset, about one problem per model class (a few minutes with every tool)")
    ap.add_argument("--problems", nargs="+", metavar="NAME", help="problem names or name prefixes")
    ap.add_argument("--tools", nargs="+", choices=ALL_TOOLS, default=list(ALL_TOOLS))
    ap.add_argument("--reps", type=int, default=5, help="timed runs after the warm-up (default 5)")
    ap.add_argument("--budget", type=float, default=60.0,
                    help="seconds of timed runs per tool and problem; fewer reps when exceeded (default 60)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="kill a tool's process after this many seconds, reported as timeout (default 600)")
    ap.add_argument("--data-dir", type=Path, action="append", default=[],
                    help="directory with NAME.csv[.gz] + NAME.schema.json for datasets glmmfast does not bundle "
                         "(e.g. InstEval); repeatable")
    ap.add_argument("--out", type=Path, help="write results as JSON")
    ap.add_argument("--render", type=Path, metavar="JSON", help="only print (and --markdown) the tables of saved results")
    ap.add_argument("--markdown", type=Path, help="write the tables and machine info as Markdown")
    ap.add_argument("--label", help="what this run is (machine state, purpose), shown above the tables; "
                                    "with --render it replaces the saved label")
    a = ap.parse_args(argv)
    if a.quick:
        a.reps = min(a.reps, 3)
        a.budget = min(a.budget, 5.0)
    return a


def _report(results: dict, args) -> None:
    competitors = [t for t in ALL_TOOLS if t != "glmmfast" and any(
        t in p["tools"] for p in results["problems"].values())]
    print(render_text(results, competitors))
    if args.markdown:
        args.markdown.write_text(render_markdown(results, competitors, results["machine"]))


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.render:
        results = json.loads(args.render.read_text())
        if args.label:
            results["label"] = args.label
        _report(results, args)
        return results
    problems_module.DATA_DIRS[:] = args.data_dir
    problems = select(args.problems, args.quick)
    tools = ["glmmfast"] + [t for t in args.tools if t != "glmmfast"]
    machine = machine_info()
    results = {"command": "python benchmarks/run.py " + " ".join(map(shlex.quote, argv or sys.argv[1:])),
               "label": args.label or "", "machine": machine, "problems": {}, "versions": {}}
    for p in problems:
        _log(f"{p.name}: {p.formula} ({p.family}, {p.kind})")
        res = run_problem(p, tools, args)
        results["problems"][p.name] = res
        for t, r in res["tools"].items():
            if r.get("version"):
                results["versions"][t] = r["version"]
        if args.out:
            args.out.write_text(json.dumps(results, indent=1, default=float))
    machine["load_at_end"] = load_average()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=float))
    _report(results, args)
    return results


if __name__ == "__main__":
    main()
