"""The data files every tool reads: one problem's data written once to a directory.

Interface
---------
write_problem(problem, df, directory, reps, budget) -> Path : writes
    data.csv (for R), data.pkl (for Python tools: the same DataFrame, Categoricals kept),
    responses.csv (kind "refit": one column per refit) and meta.json
    (formula, family, link ("" = canonical), nAGQ, kind, factor levels in order, reps, time budget,
    ziformula / dispformula / weights: null when the problem has none; REML).
read_meta(directory) -> dict
read_frame(directory) -> DataFrame
read_responses(directory) -> ndarray (n, nrefit)

Factor level order travels in meta.json so R's ``factor(x, levels = ...)``
reproduces pandas' Categorical order (reference levels, hence the same model).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .problems import Problem, refit_responses

__all__ = ["write_problem", "read_meta", "read_frame", "read_responses"]


def write_problem(problem: Problem, df: pd.DataFrame, directory: Path, reps: int, budget: float) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    factors = {c: [str(v) for v in df[c].cat.categories] for c in df.columns
               if isinstance(df[c].dtype, pd.CategoricalDtype)}
    df.to_csv(directory / "data.csv", index=False)
    df.to_pickle(directory / "data.pkl")
    meta = {"name": problem.name, "formula": problem.formula, "family": problem.family,
            "link": problem.link, "nAGQ": int(problem.nAGQ), "kind": problem.kind, "factors": factors, "reps": int(reps), "budget": float(budget),
            "nrefit": int(problem.nrefit), "n": int(len(df)),
            "ziformula": problem.ziformula, "dispformula": problem.dispformula, "weights": problem.weights,
            "REML": bool(problem.REML)}
    if problem.kind == "refit":
        response = problem.formula.split("~")[0].strip()
        ys = refit_responses(df, response, problem.nrefit)
        np.savetxt(directory / "responses.csv", ys, fmt="%d", delimiter=",")
        meta["response"] = response
    (directory / "meta.json").write_text(json.dumps(meta))
    return directory


def read_meta(directory: Path) -> dict:
    return json.loads((Path(directory) / "meta.json").read_text())


def read_frame(directory: Path) -> pd.DataFrame:
    return pd.read_pickle(Path(directory) / "data.pkl")


def read_responses(directory: Path) -> np.ndarray:
    return np.loadtxt(Path(directory) / "responses.csv", delimiter=",", dtype=np.int64, ndmin=2)
