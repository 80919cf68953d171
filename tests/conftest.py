"""Shared fixtures: reference values copied from lme4/glmmTMB, bundled data,
and fits cached per session so each reference model is fitted once."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glmmfast

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=None)
def reference_cases() -> dict:
    """lme4 1.1-31 / glmmTMB 1.1.5 fits (tests/data/lme4_reference.json)."""
    return json.loads((DATA / "lme4_reference.json").read_text())["cases"]


@lru_cache(maxsize=None)
def lmer_reference_cases() -> dict:
    """lme4 1.1-31 lmer fits at tight tolerances, weights and offsets (tests/data/lmer_reference.json)."""
    return json.loads((DATA / "lmer_reference.json").read_text())


@lru_cache(maxsize=None)
def formula_reference() -> dict:
    """lme4 1.1-31 / glmmTMB 1.1.5 fits of formula features and help-page examples (tests/data/formula_reference.json)."""
    return json.loads((DATA / "formula_reference.json").read_text())


@lru_cache(maxsize=None)
def formula_dataset(name: str):
    """A dataset written by tests/data/formula_reference.R, factors with R's levels (and ordered flag)."""
    import pandas as pd
    columns = formula_reference()["datasets"][name]["columns"]
    factors = {c: s for c, s in columns.items() if s["type"] == "factor"}
    df = pd.read_csv(DATA / "formula_data" / f"{name}.csv", dtype={c: str for c in factors})
    for c, s in factors.items():
        df[c] = pd.Categorical(df[c], categories=s["levels"], ordered=s["ordered"])
    return df


def formula_newdata(case: dict, data):
    """A formula_reference case's new rows, factor columns coded as in ``data``."""
    import pandas as pd
    nd = pd.DataFrame(case["newdata"])
    for c in nd:
        if isinstance(data[c].dtype, pd.CategoricalDtype):
            nd[c] = pd.Categorical(nd[c].astype(str), categories=data[c].cat.categories, ordered=data[c].cat.ordered)
    return nd


def fit_formula_case(case: dict):
    """Fit a formula_reference case (feature or example) with glmmfast; returns (fit, criterion)."""
    import numpy as np
    data = formula_dataset(case["data"])
    contrasts = {k: (np.array(v) if isinstance(v, list) else v) for k, v in (case.get("contrasts") or {}).items()}
    if case["fun"] == "lmer":
        fit = glmmfast.lmer(case["formula"], data, REML=case["REML"], contrasts=contrasts or None)
        return fit, fit.reml_criterion if case["REML"] else -2 * fit.loglik
    fit = glmmfast.glmer(case["formula"], data, case["family"], contrasts=contrasts or None)
    return fit, -2 * fit.loglik


@lru_cache(maxsize=None)
def lme4_checks() -> dict:
    """lme4 1.1-31's messages from its checks before fitting, and the fits they concern (tests/data/lme4_checks.json)."""
    return json.loads((DATA / "lme4_checks.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def fit_case(case_id: str):
    """Fit a reference case with glmmfast (cached)."""
    return fit_spec(reference_cases()[case_id]["case"])


def fit_spec(c: dict):
    """Fit a case specification (data, engine, formula, family, link, nAGQ) with glmmfast."""
    df = glmmfast.datasets.load(c["data"])
    fam = glmmfast.families.get_family(c["family"], c.get("link"))
    if c["engine"] == "glm":
        return glmmfast.glm(c["formula"], df, family=fam)
    if c["engine"] == "lmer":
        return glmmfast.lmer(c["formula"], df, REML=c["REML"])
    return glmmfast.glmer(c["formula"], df, family=fam, nAGQ=c.get("nAGQ", 1))


@lru_cache(maxsize=None)
def separation_reference() -> dict:
    """lme4 1.1-31 fits of cbpp with period 4's incidences set to 0 (tests/data/separation_reference.json)."""
    return json.loads((DATA / "separation_reference.json").read_text())


def quasi_separated_cbpp():
    """cbpp with every incidence of period 4 set to 0: period4's coefficient diverges (issue 12)."""
    df = glmmfast.datasets.load("cbpp")
    return df.assign(incidence=df["incidence"].where(df["period"].astype(str) != "4", 0))


@pytest.fixture(scope="session")
def reference() -> dict:
    return reference_cases()


@pytest.fixture(scope="session")
def grouseticks():
    return glmmfast.datasets.load("grouseticks")


@pytest.fixture(scope="session")
def sleepstudy():
    return glmmfast.datasets.load("sleepstudy")


@pytest.fixture(scope="session")
def cbpp():
    return glmmfast.datasets.load("cbpp")


@pytest.fixture(scope="session")
def gamma_small_groups():
    """Simulated Gamma, log link, for ``y ~ x + (1 | g)``: 300 groups of 4 rows, eta = 1 + 0.5 x + u_g with
    sd(u) = 0.5, shape 0.5 (phi = 2: a working-residual variance far from 1 over few rows per group)."""
    rng = np.random.default_rng(1)
    g = np.arange(1200) % 300
    x = rng.standard_normal(g.size)
    mu = np.exp(1 + 0.5 * x + rng.normal(0, 0.5, 300)[g])
    return pd.DataFrame({"y": rng.gamma(0.5, mu / 0.5), "x": x, "g": pd.Categorical(g)})


@pytest.fixture(scope="session")
def sleepstudy():
    return glmmfast.datasets.load("sleepstudy")


def _same_at_printed_precision(ours: str, theirs: str) -> bool:
    """Token by token equal, numbers printed with the same number of digits
    allowed to differ by one unit in the last printed digit (two optima
    equal to ~1e-5 can round either way)."""
    a, b = ours.split(), theirs.split()
    if len(a) != len(b):
        return False

    def digits(tok: str) -> tuple[int, int]:
        mant, _, exp = tok.partition("e")
        return (len(mant.split(".")[1]) if "." in mant else 0), (int(exp) if exp else 0)

    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
            (dx, ex), (dy, ey) = digits(x), digits(y)
        except ValueError:
            return False
        if (dx, ex) != (dy, ey) or abs(fx - fy) > 1.01 * 10.0 ** (ey - dy):
            return False
    return True


def assert_same_printout(ours: str, theirs: str) -> None:
    """Line by line: same layout, numbers equal at printed precision."""
    a, b = ours.rstrip("\n").split("\n"), theirs.rstrip("\n").split("\n")
    assert len(a) == len(b)
    for line_ours, line_theirs in zip(a, b):
        assert _same_at_printed_precision(line_ours, line_theirs), (line_ours, line_theirs)
        assert len(line_ours) == len(line_theirs), (line_ours, line_theirs)


@lru_cache(maxsize=None)
def postfit_reference() -> dict:
    """lme4 1.1-31 predictions, anova and confint (tests/data/postfit_reference.json,
    made by tests/data/r/postfit_reference.R)."""
    return json.loads((DATA / "postfit_reference.json").read_text())


@lru_cache(maxsize=None)
def grouseticks_fit(formula: str = "TICKS ~ YEAR + (1 | LOCATION)"):
    """A grouseticks Poisson GLMM (cached; tests must not change it)."""
    return glmmfast.glmer(formula, glmmfast.datasets.load("grouseticks"), family="poisson")


@lru_cache(maxsize=None)
def cbpp_fit():
    """cbind(incidence, size - incidence) ~ period + (1 | herd), binomial (cached)."""
    return glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                          glmmfast.datasets.load("cbpp"), family="binomial")


# -- inference after the fit (tests/data/inference_reference.R) -----------------
#: categorical columns of the CSVs the R script writes (read as strings, as R's factors)
INFERENCE_FACTORS = {
    "sleep_unbalanced": ["Subject", "grp", "phase"], "penicillin": ["plate", "sample"],
    "pastes": ["batch", "cask", "sample"], "cake": ["recipe", "temperature", "replicate"],
    "oxboys": ["Subject", "Occasion"], "exam": ["sex", "schgend", "vr", "school"],
    "scotssec": ["sex", "socialf", "primary", "second"], "scotssec_subset": ["sex", "socialf", "primary", "second"],
    "hsb82": ["sector", "school"], "contraception": ["use", "urban", "livch", "district"],
}


@lru_cache(maxsize=None)
def inference_reference() -> dict:
    """lmerTest / pbkrtest / emmeans / car numbers (tests/data/inference_reference.json, and
    inference_reference_multi.json: several random-effects terms with correlated slopes)."""
    cases = {}
    for name in ("inference_reference.json", "inference_reference_multi.json"):
        more = json.loads((DATA / name).read_text())
        more.pop("source")
        cases.update(more)
    return cases


@lru_cache(maxsize=None)
def inference_glmm_reference() -> dict:
    """car::Anova / emmeans numbers for GLMMs (tests/data/inference_glmm_reference.json)."""
    cases = json.loads((DATA / "inference_glmm_reference.json").read_text())
    cases.pop("source")
    return cases


@lru_cache(maxsize=None)
def inference_extras_reference() -> dict:
    """car::Anova(type = 2) for the GLMMs and emmeans' weights / cov.reduce
    (tests/data/inference_extras_reference.json)."""
    cases = json.loads((DATA / "inference_extras_reference.json").read_text())
    cases.pop("source")
    return cases


@lru_cache(maxsize=None)
def inference_data(name: str):
    if name in ("sleepstudy", "cbpp", "grouseticks"):
        return glmmfast.datasets.load(name)
    import pandas as pd
    return pd.read_csv(DATA / f"inference_{name}.csv", dtype={c: str for c in INFERENCE_FACTORS[name]})


@lru_cache(maxsize=None)
def inference_fit(name: str, glmm: bool = False):
    """The glmmfast fit of inference reference case ``name`` (an LMM, or with ``glmm`` a GLMM; cached)."""
    c = (inference_glmm_reference() if glmm else inference_reference())[name]
    df = inference_data(c["dataset"])
    if c["kind"] == "lmer":
        return glmmfast.lmer(c["formula"], df, REML=c["REML"])
    family = "binomial" if ("cbind" in c["formula"] or c["dataset"] == "contraception") else "poisson"
    return glmmfast.glmer(c["formula"], df, family=family)


def with_r_estimates(fit, case: dict):
    """A copy of GLMM ``fit`` carrying R's fixed effects and vcov (``case["fixef"]``,
    ``case["vcov"]``): post-fit computations are then compared with R's
    exactly, apart from the two fits' small optimum differences."""
    import copy

    import numpy as np
    import pandas as pd
    out = copy.copy(fit)
    names = list(case["fixef"])
    out.fixef = pd.Series(list(case["fixef"].values()), index=names, name="Estimate")
    V = np.asarray(case["vcov"], dtype=float).reshape(len(names), len(names))
    out._checks, out._vcov_frame = (V, []), None  # vcov (a DataFrame of V) built anew on first read
    return out


def reference_frame(tab: dict):
    """A table stored by the R script (rows, cols, values) as a DataFrame."""
    import pandas as pd

    def as_list(v):  # jsonlite unboxes length-1 vectors
        return v if isinstance(v, list) else [v]
    cols = as_list(tab["cols"])
    return pd.DataFrame({c: [float("nan") if x is None else x for x in as_list(tab["values"][c])] for c in cols},
                        index=as_list(tab["rows"]))


# A small frame of every column kind, for the model-frame tests (test_model_matrix, test_response).
@pytest.fixture
def df():
    """Numeric, integer, string, categorical (with an unused category), logical columns."""
    return pd.DataFrame({
        "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "n": [1, 2, 3, 4, 5, 6],
        # Strings: levels are sorted (R's factor()).
        "f": ["b", "a", "c", "a", "b", "c"],
        # Categorical: category order wins; "w" is unused and dropped.
        "g": pd.Categorical(["u", "v", "u", "v", "u", "v"], categories=["v", "u", "w"]),
        "YEAR": pd.Categorical([95, 96, 97, 95, 96, 97]),
        "b": [True, False, True, True, False, False],
        "s": [3, 1, 2, 3, 2, 1],
    })


def ind(values, level):
    """The 0/1 indicator of ``level`` in ``values`` (a dummy column)."""
    return (np.asarray(values, dtype=object) == level).astype(float)


@pytest.fixture
def dense_kernels():
    """``_core.set_dense_lapack`` for one test: the engine's dense kernels (LAPACK from ``min_size`` columns, or
    Eigen's), back to the defaults after it."""
    from glmmfast import _core

    yield _core.set_dense_lapack
    _core.set_dense_lapack(True)


@pytest.fixture(scope="module")
def client():
    """A 2-worker in-process Dask LocalCluster's client, one per test module (the partitioned-rows tests;
    test_fit_many_dask.py overrides it with a cluster of processes)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def departmental_design():
    """Students rate instructors of their own department only (InstEval's shape), binomial
    ``y ~ x + (1 | g1) + (1 | g2)``: 1,500 students x 400 instructors in 20 departments, so the Schur
    complement of the blocked factor is block-sparse and factorised by panels."""
    from glmmfast.design._design import model_design_for
    from glmmfast.families import Binomial

    rng = np.random.default_rng(11)
    ndept, per_dept, nstud, k = 20, 20, 1500, 8
    dept = rng.integers(0, ndept, nstud)
    g1 = np.repeat(np.arange(nstud), k)
    g2 = dept[g1] * per_dept + rng.integers(0, per_dept, g1.size)
    x = rng.normal(size=g1.size)
    eta = -0.2 + 0.4 * x + rng.normal(0, 0.6, nstud)[g1] + rng.normal(0, 0.4, ndept * per_dept)[g2]
    df = pd.DataFrame({"y": rng.binomial(1, 1 / (1 + np.exp(-eta))), "x": x, "g1": g1, "g2": g2})
    return model_design_for("y ~ x + (1 | g1) + (1 | g2)", df, Binomial(), random=True)


def row_blocks(design, nblocks: int = 3) -> tuple[list, tuple[np.ndarray, np.ndarray]]:
    """``design``'s rows as ``nblocks`` ``_core.RowBlock``s on their union pattern (what the workers of
    fit/_partitioned.py hold), in this process, and that pattern (rows, cols)."""
    from glmmfast import _core
    from glmmfast.fit._engine import _engine_terms

    blocks = []
    for idx in np.array_split(np.arange(design.n), nblocks):
        Z = design.Z[idx].tocsc()
        blocks.append(_core.RowBlock(np.asfortranarray(design.X[idx]), Z.shape[0], Z.shape[1],
                                     Z.indptr.astype(np.int32), Z.indices.astype(np.int32), Z.data, design.y[idx],
                                     design.weights[idx], design.offset[idx], design.family.engine,
                                     _engine_terms(design)))
    pairs = sorted(set().union(*[set(zip(*[a.tolist() for a in b.pattern()])) for b in blocks]))
    rows, cols = (np.array([p[k] for p in pairs], dtype=np.int32) for k in (0, 1))
    for b in blocks:
        b.set_pattern(rows, cols)
    return blocks, (rows, cols)


def partitioned_engine(design, nblocks: int = 3, factorization: str = "auto", blocks=None):
    """A ``_core.PartitionedGlmm`` over ``nblocks`` RowBlocks of ``design``'s rows summed in this process
    (no cluster: the engine pieces of fit/_partitioned.py; the driver's factor ``factorization``; ``blocks``:
    :func:`row_blocks`' answer, else made here), and the in-memory ``GlmmModel`` of the same rows."""
    from glmmfast import _core
    from glmmfast.fit._engine import _engine_terms, engine_model

    blocks, (rows, cols) = row_blocks(design, nblocks) if blocks is None else blocks

    def add(parts):
        return tuple(sum(p[k] for p in parts) for k in range(len(parts[0])))

    def gather(*args):
        parts = [b.sums(*args) for b in blocks]
        return (all(p[0] for p in parts),) + add([p[1:] for p in parts])

    model = _core.PartitionedGlmm(_engine_terms(design), rows, cols, design.X.shape[1], design.family.engine,
                                  gather, factorization, traces=lambda *a: add([b.trace_sums(*a) for b in blocks]),
                                  gradient=lambda *a: add([b.gradient_sums(*a) for b in blocks]))
    return model, engine_model(design)
