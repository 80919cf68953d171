"""Subprocess entry point: time one Python tool on one problem's data directory.

Usage: ``python benchmarks/python_worker.py TOOL DIR`` -> prints one JSON line:
{tool, version, n, q, m2ll, times, warmup, median, warmup_only, rss_before_fit_mb, info}
(plus m2ll_reported, the tool's own figure, when it is approximate and m2ll was recomputed exactly)
or {tool, skipped: reason} / {tool, error: message}.  Run in its own process so
the parent reads this tool's peak RSS (os.wait4) and can enforce a timeout.

Interface: run_tool(tool_name, directory) -> dict (also used in-process by the smoke test).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from .data_files import read_frame, read_meta, read_responses  # noqa: E402
from .problems import Unavailable  # noqa: E402
from .python_tools import TOOLS  # noqa: E402
from .timing import time_calls  # noqa: E402

__all__ = ["run_tool", "vm_hwm_mb"]


def vm_hwm_mb() -> float | None:
    """This process's peak resident set so far (Linux /proc), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def run_tool(tool_name: str, directory: Path) -> dict:
    tool = TOOLS[tool_name]
    out: dict = {"tool": tool_name}
    try:
        out["version"] = tool.version()
        meta = read_meta(directory)
        df = read_frame(directory)
        out["n"] = len(df)
        out["rss_before_fit_mb"] = vm_hwm_mb()
        if meta["kind"] == "refit":
            refit = tool.refitter(meta, df)
            ys = read_responses(directory)
            fits, col = [], iter(range(10 ** 9))

            def one():
                fits.append(refit(ys[:, next(col) % ys.shape[1]]))

            # unit = one refit: the warm-up refits response 1 (its -2 log L is
            # reported, comparable across tools), then up to nrefit timed refits
            out.update(time_calls(one, meta["nrefit"], meta["budget"]))
            out.update(m2ll=fits[0].m2ll, q=fits[0].q, nrefit_timed=len(out["times"]))
        else:
            fitted = {}

            def one():
                fitted.clear()  # the previous model freed first: the peak RSS is one fit's
                fitted["f"] = tool.fit_model(meta, df)

            out.update(time_calls(one, meta["reps"], meta["budget"]))
            f = tool.describe(fitted["f"])  # read after the clock stops, as fit_r.R reads logLik and q
            out.update(m2ll=f.m2ll, q=f.q, info=f.info)
            if f.exact_m2ll is not None:
                out.update(m2ll_reported=f.m2ll, m2ll=f.exact_m2ll())
    except Unavailable as e:
        out["skipped"] = str(e)
    except Exception as e:  # noqa: BLE001 - reported in the table, never fatal
        out["error"] = f"{type(e).__name__}: {e}"
        out["traceback"] = traceback.format_exc(limit=5)
    return out


if __name__ == "__main__":
    print(json.dumps(run_tool(sys.argv[1], Path(sys.argv[2])), default=float))
