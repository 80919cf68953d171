"""The benchmark problems: a model (formula, family, kind) and the data it is fitted to.

Interface
---------
Problem : dataclass -- name, formula, family, kind ("glmer" | "lmer" | "refit"),
    a ``data()`` callable returning a DataFrame (or raising ``Unavailable``),
    ``quick`` (part of ``--quick``) and ``nrefit`` (refits, for kind "refit").
PROBLEMS : dict name -> Problem, in table order.
crossed_data(n, n1, n2, family, seed) -> DataFrame : simulated two-factor crossed data.
refit_responses(df, nrefit, seed) -> ndarray (n, nrefit) : new responses for the refit loop.
Unavailable : raised by ``data()`` when a dataset is not installed.
DATA_DIRS : list of directories searched for datasets glmmfast does not bundle.

Simulated data are generated from a fixed seed at run time, never stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["Problem", "PROBLEMS", "Unavailable", "crossed_data", "refit_responses", "select", "DATA_DIRS"]

SEED = 20240601


class Unavailable(RuntimeError):
    """A problem's data (or the glmmfast function it needs) is not available here."""


@dataclass(frozen=True)
class Problem:
    name: str
    formula: str
    family: str  # "poisson" | "binomial" | "gaussian"
    data: Callable[[], pd.DataFrame] = field(repr=False)
    kind: str = "glmer"  # "glmer" | "lmer" | "refit"
    quick: bool = False
    nrefit: int = 0
    note: str = ""


# Extra directories holding NAME.csv[.gz] + NAME.schema.json for datasets this glmmfast does
# not bundle (run.py --data-dir); the schema gives each factor's levels in order.
DATA_DIRS: list[Path] = []


def _from_data_dir(name: str) -> pd.DataFrame | None:
    for d in DATA_DIRS:
        schema = d / f"{name}.schema.json"
        csv = next((f for f in (d / f"{name}.csv.gz", d / f"{name}.csv") if f.exists()), None)
        if csv is None or not schema.exists():
            continue
        cols = json.loads(schema.read_text())["columns"]
        factors = {c: spec["levels"] for c, spec in cols.items() if spec.get("type") == "factor"}
        df = pd.read_csv(csv, dtype={c: str for c in factors})
        for c, levels in factors.items():
            df[c] = pd.Categorical(df[c], categories=levels)
        return df
    return None


def _bundled(name: str, transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None):
    """Loader for a dataset bundled with glmmfast (``glmmfast.datasets.load``), else from DATA_DIRS."""

    def load() -> pd.DataFrame:
        import glmmfast

        if name in glmmfast.datasets.names():
            df = glmmfast.datasets.load(name)
        else:
            df = _from_data_dir(name)
            if df is None:
                raise Unavailable(f"dataset {name!r} is not bundled with this glmmfast (nor in --data-dir)")
        return transform(df) if transform else df

    return load


def _insteval_binary(df: pd.DataFrame) -> pd.DataFrame:
    # The response y >= 4 as a 0/1 column (same data for every tool; no formula-side transform).
    return df.assign(y4=(df["y"] >= 4).astype(np.int64))


def crossed_data(n: int, n1: int, n2: int, family: str, seed: int = SEED) -> pd.DataFrame:
    """Simulated data with two crossed random factors ``g1`` (n1 levels) and ``g2`` (n2 levels).

    eta = b0 + b1 * x + u1[g1] + u2[g2], u1 ~ N(0, s1^2), u2 ~ N(0, s2^2), x ~ N(0, 1);
    y ~ Poisson(exp(eta)) or Bernoulli(logit^-1(eta)).  Every level appears (the
    first n1 / n2 rows cycle through them) so the design is the same in every tool.
    """
    rng = np.random.default_rng(seed)
    g1 = rng.integers(0, n1, n)
    g2 = rng.integers(0, n2, n)
    g1[:n1] = np.arange(n1)
    g2[:n2] = np.arange(n2)
    x = rng.standard_normal(n)
    if family == "poisson":
        b0, b1, s1, s2 = 0.5, 0.3, 0.5, 0.3
    elif family == "binomial":
        b0, b1, s1, s2 = -0.5, 0.8, 1.0, 0.5
    else:
        raise ValueError(f"unknown family {family!r}")
    eta = b0 + b1 * x + rng.normal(0, s1, n1)[g1] + rng.normal(0, s2, n2)[g2]
    if family == "poisson":
        y = rng.poisson(np.exp(eta))
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    w1, w2 = len(str(n1 - 1)), len(str(n2 - 1))
    lev1 = np.array([f"a{i:0{w1}d}" for i in range(n1)])
    lev2 = np.array([f"b{i:0{w2}d}" for i in range(n2)])
    return pd.DataFrame({
        "y": y,
        "x": x,
        "g1": pd.Categorical.from_codes(g1, categories=lev1),
        "g2": pd.Categorical.from_codes(g2, categories=lev2),
    })


def refit_responses(df: pd.DataFrame, column: str, nrefit: int, seed: int = SEED) -> np.ndarray:
    """``nrefit`` new Poisson responses for the refit loop, shape (n, nrefit).

    Parametric-bootstrap-like: the response's mean by row, scaled by a fresh
    log-normal factor per replicate, so each refit has a different optimum.
    """
    rng = np.random.default_rng(seed)
    mu = np.maximum(df[column].to_numpy(float), 0.5)
    scale = np.exp(rng.normal(0, 0.2, nrefit))
    return rng.poisson(mu[:, None] * scale[None, :]).astype(np.int64)


def _crossed(n: int, family: str):
    return lambda: crossed_data(n, max(n // 100, 2), max(n // 1000, 2), family)


def _build() -> dict[str, Problem]:
    gt = _bundled("grouseticks")
    ps = [
        Problem("grouse_1|LOC", "TICKS ~ YEAR + (1 | LOCATION)", "poisson", gt, quick=True),
        Problem("grouse_1|INDEX", "TICKS ~ YEAR + (1 | INDEX)", "poisson", gt),
        Problem("grouse_YEAR|LOC", "TICKS ~ YEAR + (YEAR | LOCATION)", "poisson", gt),
        Problem("grouse_1|LOC+0+YEAR|LOC", "TICKS ~ YEAR + (1 | LOCATION) + (0 + YEAR | LOCATION)",
                "poisson", gt),
        Problem("grouse_0+YEAR|LOC", "TICKS ~ YEAR + (0 + YEAR | LOCATION)", "poisson", gt),
        Problem("grouse_3terms", "TICKS ~ YEAR + cHEIGHT + (1 | INDEX) + (1 | BROOD) + (1 | LOCATION)",
                "poisson", gt),
        Problem("cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial",
                _bundled("cbpp"), quick=True),
        Problem("sleepstudy", "Reaction ~ Days + (Days | Subject)", "gaussian", _bundled("sleepstudy"),
                kind="lmer", quick=True, note="ML (REML = FALSE)"),
        Problem("InstEval_lmm", "y ~ service + (1 | s) + (1 | d) + (1 | dept)", "gaussian",
                _bundled("InstEval"), kind="lmer", note="ML (REML = FALSE)"),
        Problem("InstEval_y>=4", "y4 ~ service + (1 | s) + (1 | d) + (1 | dept)", "binomial",
                _bundled("InstEval", _insteval_binary)),
    ]
    for fam, tag in (("poisson", "pois"), ("binomial", "bern")):
        for k in (4, 5, 6):
            ps.append(Problem(f"sim_{tag}_1e{k}", "y ~ x + (1 | g1) + (1 | g2)", fam,
                              _crossed(10 ** k, fam), quick=(k == 4 and fam == "poisson")))
    ps.append(Problem("refit_grouse_1|LOC", "TICKS ~ YEAR + (1 | LOCATION)", "poisson", gt, kind="refit",
                      nrefit=1000, note="time per refit (median)"))
    return {p.name: p for p in ps}


PROBLEMS: dict[str, Problem] = _build()


def select(names: list[str] | None, quick: bool) -> list[Problem]:
    """Problems by name (exact, or a prefix such as ``grouse``), or the quick subset, or all."""
    if names:
        out = []
        for n in names:
            hits = [p for k, p in PROBLEMS.items() if k == n] or [p for k, p in PROBLEMS.items() if k.startswith(n)]
            if not hits:
                raise SystemExit(f"unknown problem {n!r}; known: {', '.join(PROBLEMS)}")
            out.extend(h for h in hits if h not in out)
        return out
    return [p for p in PROBLEMS.values() if p.quick or not quick]
