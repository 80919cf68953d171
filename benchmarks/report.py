"""Results -> tables (plain text for the terminal, Markdown for the README).

Interface
---------
table_rows(results, competitors) -> (header, rows) : one row per problem
render_text(results, competitors) -> str
render_markdown(results, competitors, machine) -> str  (the run's label, tables, notes, machine info)
notes(results) -> list[str] : skips, errors, timeouts, warnings, approximate -2 log L figures

Each competitor cell reads "time (ratio x, d)": ratio = competitor time / glmmfast
time, both medians from the same run; d = competitor -2 log L minus glmmfast's
(positive: glmmfast found the higher likelihood).
"""

from __future__ import annotations

import math

__all__ = ["table_rows", "render_text", "render_markdown", "notes"]


def fmt_time(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def _status(r: dict | None) -> str | None:
    if r is None:
        return "–"
    if r.get("timeout"):
        return f"timeout ({r.get('timeout_after', 0):.0f} s)"
    if "skipped" in r:
        return "skipped"
    if "error" in r:
        return "error"
    return None


def _cell_main(r: dict | None) -> str:
    st = _status(r)
    if st:
        return st
    t = fmt_time(r["median"])
    return t + ("*" if r.get("warmup_only") else "")


def _cell_competitor(r: dict | None, base: dict | None) -> str:
    st = _status(r)
    if st:
        return st
    cell = _cell_main(r)
    extras = []
    if base and _status(base) is None and base["median"] > 0:
        extras.append(f"{r['median'] / base['median']:.1f}x")
        if r.get("m2ll") is not None and base.get("m2ll") is not None:
            extras.append(f"Δ{r['m2ll'] - base['m2ll']:+.2f}")
    elif r.get("m2ll") is not None:
        extras.append(f"−2logL {r['m2ll']:.2f}")
    return cell + (f" ({', '.join(extras)})" if extras else "")


def _first(problem: dict, key: str):
    for r in problem["tools"].values():
        if r and r.get(key) is not None and _status(r) is None:
            return r[key]
    return None


def table_rows(results: dict, competitors: list[str]) -> tuple[list[str], list[list[str]]]:
    header = ["problem", "n", "q", "glmmfast", "−2logL", "peak RSS"] + competitors
    rows = []
    for name, p in results["problems"].items():
        g = p["tools"].get("glmmfast")
        m2ll = g.get("m2ll") if g and _status(g) is None else _first(p, "m2ll")
        rss = g.get("peak_rss_mb") if g and _status(g) is None else None
        rows.append([name, str(p.get("n", "")), str(_first(p, "q") or ""), _cell_main(g),
                     f"{m2ll:.2f}" if m2ll is not None else "–",
                     f"{rss:.0f} MB" if rss else "–"]
                    + [_cell_competitor(p["tools"].get(c), g) for c in competitors])
    return header, rows


def rss_rows(results: dict, tools: list[str]) -> tuple[list[str], list[list[str]]]:
    header = ["problem"] + [f"{t} peak RSS" for t in tools]
    rows = []
    for name, p in results["problems"].items():
        cells = []
        for t in tools:
            r = p["tools"].get(t)
            cells.append(f"{r['peak_rss_mb']:.0f} MB" if r and r.get("peak_rss_mb") and "skipped" not in r
                         else "–")
        rows.append([name] + cells)
    return header, rows


def notes(results: dict) -> list[str]:
    """Skips, errors, timeouts and warnings; a tool skipped for the same reason everywhere gets one line."""
    out, same = [], {}
    for name, p in results["problems"].items():
        if p.get("note"):
            out.append(f"{name}: {p['note']}")
        if p.get("skipped"):
            out.append(f"{name}: skipped: {p['skipped']}")
        for t, r in p["tools"].items():
            if not r or (p.get("skipped") and "skipped" in r):
                continue
            if "skipped" in r:
                same.setdefault((t, r["skipped"]), []).append(name)
            elif "error" in r:
                out.append(f"{name} / {t}: error: {_one_line(r['error'])}")
            elif r.get("timeout"):
                out.append(f"{name} / {t}: killed after {r.get('timeout_after', 0):.0f} s")
            if r.get("m2ll_reported") is not None and abs(r["m2ll_reported"] - r["m2ll"]) > 0.01:
                out.append(f"{name} / {t}: reports −2logL {r['m2ll_reported']:.3f} (an approximation); "
                           f"−2logL at its estimates is {r['m2ll']:.3f}")
            for w in r.get("warnings") or []:
                out.append(f"{name} / {t}: warning: {_one_line(w)}")
    for (t, why), names in same.items():
        out.append(f"{t}: skipped ({len(names)} problems: {', '.join(names)}): {why}")
    return out


def _one_line(s: str, limit: int = 300) -> str:
    return " ".join(str(s).split())[:limit]


def _text_table(header, rows) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _md_table(header, rows) -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


_LEGEND = ("times: median end-to-end fit (formula string + data frame -> fitted model) after one warm-up; "
           "competitor cells: time (competitor time / glmmfast time in the same run, "
           "Δ = competitor −2logL − glmmfast −2logL); * = single (warm-up) run, longer than the time budget.")


def render_text(results: dict, competitors: list[str]) -> str:
    parts = [_text_table(*table_rows(results, competitors)), "", _LEGEND]
    ns = notes(results)
    if ns:
        parts += ["", "notes:"] + [f"  - {n}" for n in ns]
    return "\n".join(parts)


def render_markdown(results: dict, competitors: list[str], machine: dict) -> str:
    m = machine
    versions = ", ".join(f"{t} {v}" for t, v in results.get("versions", {}).items())
    label = [f"Run: {results['label']}", ""] if results.get("label") else []
    parts = label + [
        _md_table(*table_rows(results, competitors)), "", _LEGEND, "",
        _md_table(*rss_rows(results, ["glmmfast"] + competitors)), "",
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('ram_gb')} GB RAM, {m.get('os')}; "
        f"load average {m.get('load_at_start')} at start, {m.get('load_at_end', 'n/a')} at end. "
        f"Python {m.get('python')}, numpy {m.get('numpy')}, pandas {m.get('pandas')}, {m.get('R') or 'R absent'}; "
        f"{versions}. glmmfast at {m.get('git')} (imported from {m.get('glmmfast_from', '?')}). Command: `{results.get('command', '')}`.",
    ]
    ns = notes(results)
    if ns:
        parts += ["", "Notes:", ""] + [f"- {n}" for n in ns]
    return "\n".join(parts) + "\n"
