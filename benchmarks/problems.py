"""The benchmark problems: a model (formula, family, kind) and the data it is fitted to.

Interface
---------
Problem : dataclass -- name, formula, family, kind ("glmer" | "lmer" | "refit"),
    a ``data()`` callable returning a DataFrame (or raising ``Unavailable``),
    ``link`` ("" = the family's canonical link), ``nAGQ`` (1 = Laplace),
    ``tools`` (the tools that can fit the model; None = every tool whose adapter
    accepts it), ``quick`` (part of ``--quick``) and ``nrefit`` (refits, for kind "refit").
    Families: "poisson", "binomial", "gaussian", "Gamma", "inverse.gaussian",
    "negative.binomial" (shape estimated: lme4's glmer.nb, glmmTMB's nbinom2).
    glmmTMB's models (issue 14) also carry ``ziformula``, ``dispformula`` (one-sided
    formula strings, None = none / the family's default), ``weights`` (a column
    name) and ``REML``, the arguments glmmfast.glmer and glmmTMB take, and use glmmTMB's family
    names ("nbinom1", "beta", "tweedie", "t", "ziGamma", "truncated_poisson", ...).
PROBLEMS : dict name -> Problem, in table order (the default set).
GLMMTMB_PROBLEMS : dict name -> Problem, one per case of tests/data/glmmtmb_reference.json
    ("tmb_<case id>": the reference fit's data, formulas, family and link), run by name
    (``--problems tmb_``).  Their ``tools`` is GLMMTMB_TOOLS (glmmfast and glmmTMB).
crossed_data(n, n1, n2, family, seed) -> DataFrame : simulated two-factor crossed data.
slopes_data(n, n1, n2, seed) -> DataFrame : simulated LMM data, correlated random slopes in g1, crossed g2.
dispersion_data(n, ngroups, family, seed) -> DataFrame : simulated Gamma / inverse-Gaussian GLMM data.
refit_responses(df, nrefit, seed) -> ndarray (n, nrefit) : new responses for the refit loop.
Unavailable : raised by ``data()`` when a dataset is not installed.
DATA_DIRS : list of directories searched for datasets glmmfast does not bundle
    (after ``BENCH_DATA``, the mlmRev datasets exported by benchmarks/data/export_mlmrev.R).

Simulated data are generated from a fixed seed at run time, never stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["Problem", "PROBLEMS", "GLMMTMB_PROBLEMS", "GLMMTMB_TOOLS", "Unavailable", "crossed_data",
           "slopes_data", "dispersion_data", "refit_responses", "select", "DATA_DIRS", "BENCH_DATA"]

SEED = 20240601


class Unavailable(RuntimeError):
    """A problem's data (or the glmmfast function it needs) is not available here."""


@dataclass(frozen=True)
class Problem:
    name: str
    formula: str
    family: str  # "poisson" | "binomial" | "gaussian" | "Gamma" | "inverse.gaussian" | "negative.binomial"
    data: Callable[[], pd.DataFrame] = field(repr=False)
    kind: str = "glmer"  # "glmer" | "lmer" | "refit"
    link: str = ""  # "" = canonical (R's default for the family)
    nAGQ: int = 1
    tools: tuple[str, ...] | None = None  # None: every tool whose adapter accepts the model
    quick: bool = False
    nrefit: int = 0
    note: str = ""
    ziformula: str | None = None  # zero-inflation / hurdle part, e.g. "~ spp * mined" (glmmTMB's ziformula)
    dispformula: str | None = None  # dispersion model, e.g. "~ x" or "~0" (None = the family's default ~1)
    weights: str | None = None  # column of prior weights
    REML: bool = False  # glmmTMB's REML (a gaussian glmmTMB model); lmer problems are ML throughout


# Extra directories holding NAME.csv[.gz] + NAME.schema.json for datasets this glmmfast does
# not bundle (run.py --data-dir); the schema gives each factor's levels in order.
DATA_DIRS: list[Path] = []
BENCH_DATA = Path(__file__).resolve().parent / "data"


def _from_data_dir(name: str) -> pd.DataFrame | None:
    for d in [BENCH_DATA, *DATA_DIRS]:
        schema = d / f"{name}.schema.json"
        csv = next((f for f in (d / f"{name}.csv.gz", d / f"{name}.csv") if f.exists()), None)
        if csv is None or not schema.exists():
            continue
        cols = json.loads(schema.read_text())["columns"]
        return _read_csv(csv, {c: spec["levels"] for c, spec in cols.items() if spec.get("type") == "factor"})
    return None


def _read_csv(path: Path, factors: dict[str, list[str]]) -> pd.DataFrame:
    """A CSV with the named columns as Categoricals of the given levels (in order)."""
    df = pd.read_csv(path, dtype={c: str for c in factors})
    for c, levels in factors.items():
        df[c] = pd.Categorical(df[c], categories=levels)
    return df


def _bundled(name: str, transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None):
    """Loader for a dataset bundled with glmmfast (``glmmfast.datasets.load``), else from DATA_DIRS."""

    def load() -> pd.DataFrame:
        import glmmfast

        if name in glmmfast.datasets.names():
            df = glmmfast.datasets.load(name)
        else:
            df = _from_data_dir(name)
            if df is None:
                raise Unavailable(f"dataset {name!r} is not bundled with this glmmfast (nor in benchmarks/data "
                                  "or --data-dir)")
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
    g1, g2 = _levels(rng, n, n1), _levels(rng, n, n2)
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
    return pd.DataFrame({"y": y, "x": x, "g1": _factor(g1, n1, "a"), "g2": _factor(g2, n2, "b")})


def _levels(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n level codes in 0..k-1, the first k rows cycling through every level (same design in every tool)."""
    g = rng.integers(0, k, n)
    g[:k] = np.arange(k)
    return g


def _factor(codes: np.ndarray, k: int, prefix: str) -> pd.Categorical:
    # zero-padded labels, so R's and pandas' sorted level orders agree
    w = len(str(k - 1))
    return pd.Categorical.from_codes(codes, categories=[f"{prefix}{i:0{w}d}" for i in range(k)])


def slopes_data(n: int, n1: int, n2: int, seed: int = SEED) -> pd.DataFrame:
    """Simulated LMM data for ``y ~ x + (x | g1) + (1 | g2)``.

    y = 10 + 2 x + b0[g1] + b1[g1] x + c[g2] + e, (b0, b1) ~ N(0, [[4, 0.6], [0.6, 0.25]])
    (correlation 0.6), c ~ N(0, 1), e ~ N(0, 1), x ~ N(0, 1).
    """
    rng = np.random.default_rng(seed)
    g1, g2 = _levels(rng, n, n1), _levels(rng, n, n2)
    x = rng.standard_normal(n)
    b = rng.multivariate_normal([0.0, 0.0], [[4.0, 0.6], [0.6, 0.25]], n1)
    y = 10 + 2 * x + b[g1, 0] + b[g1, 1] * x + rng.normal(0, 1, n2)[g2] + rng.standard_normal(n)
    return pd.DataFrame({"y": y, "x": x, "g1": _factor(g1, n1, "a"), "g2": _factor(g2, n2, "b")})


def dispersion_data(n: int, ngroups: int, family: str, seed: int = SEED) -> pd.DataFrame:
    """Simulated data for ``y ~ x + (1 | g)`` with the log link, a family with a dispersion.

    eta = 1 + 0.5 x + u[g], u ~ N(0, 0.5^2), mu = exp(eta);
    Gamma: shape 2 (Var y = mu^2 / 2); inverse Gaussian: lambda = 4 (Var y = mu^3 / 4).
    """
    rng = np.random.default_rng(seed)
    g = _levels(rng, n, ngroups)
    x = rng.standard_normal(n)
    mu = np.exp(1 + 0.5 * x + rng.normal(0, 0.5, ngroups)[g])
    if family == "Gamma":
        y = rng.gamma(2.0, mu / 2.0)
    elif family == "inverse.gaussian":
        y = rng.wald(mu, 4.0)
    else:
        raise ValueError(f"unknown family {family!r}")
    return pd.DataFrame({"y": y, "x": x, "g": _factor(g, ngroups, "g")})


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
    # Issue 16's scale target, glmmfast only (lme4 and glmmTMB would take hours): 10^7 rows, 10^5 x 10^4
    # crossed levels.  Its 10^4-level Schur complement is dense (each g1 level meets ~100 g2 levels, 10^5
    # cliques of 100 cover its 5 x 10^7 pairs ~10 times), so every factorisation is a dense 10^4 Cholesky.
    ps.append(Problem("sim_pois_1e7", "y ~ x + (1 | g1) + (1 | g2)", "poisson", _crossed(10 ** 7, "poisson"),
                      tools=("glmmfast",), note="glmmfast only: lme4 and glmmTMB would take hours"))
    ps.append(Problem("refit_grouse_1|LOC", "TICKS ~ YEAR + (1 | LOCATION)", "poisson", gt, kind="refit",
                      nrefit=1000, note="time per refit (median)"))
    ps += _model_classes(gt)
    return {p.name: p for p in ps}


def _model_classes(gt: Callable[[], pd.DataFrame]) -> list[Problem]:
    """Issue 16's model classes: LMMs with correlated slopes, nested and crossed terms (1e3 to 1e5
    rows), probit and cloglog binomial, Gamma and inverse Gaussian, negative binomial, AGQ."""
    ml = "ML (REML = FALSE)"
    lmm = dict(kind="lmer", note=ml)
    # Why lme4's -2 log L differs here (glmmfast.families explains both): with a non-canonical
    # link lme4's Laplace term uses the expected, not the observed, information; for dispersion
    # families its logLik does not scale the penalty by phi.  glmmTMB's is the comparable figure.
    expected = "lme4's Laplace uses the expected information (non-canonical link): compare with glmmTMB"
    dispersion = "lme4's logLik for dispersion families is not the maximised likelihood: compare with glmmTMB"
    return [
        Problem("Exam_slope", "normexam ~ standLRT + sex + (standLRT | school)", "gaussian",
                _bundled("Exam"), quick=True, **lmm),
        Problem("Hsb82_slope", "mAch ~ meanses * cses + (cses | school)", "gaussian", _bundled("Hsb82"), **lmm),
        Problem("ScotsSec_crossed", "attain ~ verbal + sex + (1 | primary) + (1 | second)", "gaussian",
                _bundled("ScotsSec"), **lmm),
        Problem("Chem97_nested", "score ~ gcsecnt + (1 | school) + (1 | lea)", "gaussian",
                _bundled("Chem97"), kind="lmer", note=ml + "; school nested in lea (school ids unique)"),
        Problem("Chem97_slope_nested", "score ~ gcsecnt + (gcsecnt | school) + (1 | lea)", "gaussian",
                _bundled("Chem97"), **lmm),
        Problem("sim_lmm_slope_1e5", "y ~ x + (x | g1) + (1 | g2)", "gaussian",
                lambda: slopes_data(10 ** 5, 1000, 100), kind="lmer", note=ml + "; simulated, fixed seed"),
        Problem("cbpp_probit", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial",
                _bundled("cbpp"), link="probit", quick=True, note=expected),
        Problem("cbpp_cloglog", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial",
                _bundled("cbpp"), link="cloglog", note=expected),
        Problem("Contraception_cloglog", "use ~ age + I(age^2) + urban + livch + (1 | district)", "binomial",
                _bundled("Contraception"), link="cloglog", note=expected),
        Problem("Contraception_probit", "use ~ age + I(age^2) + urban + livch + (1 | district)", "binomial",
                _bundled("Contraception"), link="probit", note=expected),
        Problem("sim_Gamma_log", "y ~ x + (1 | g)", "Gamma", lambda: dispersion_data(5000, 100, "Gamma"),
                link="log", quick=True, note="simulated, fixed seed; " + dispersion),
        Problem("sim_invgauss_log", "y ~ x + (1 | g)", "inverse.gaussian",
                lambda: dispersion_data(5000, 100, "inverse.gaussian"), link="log",
                tools=("glmmfast", "lme4"),
                note="simulated, fixed seed; glmmTMB (\"Family not implemented\") and GPBoost have no inverse "
                     "Gaussian; lme4's logLik for dispersion families is not the maximised likelihood"),
        Problem("grouse_nb_1|LOC", "TICKS ~ YEAR + (1 | LOCATION)", "negative.binomial", gt, quick=True,
                note="shape estimated (lme4 glmer.nb, glmmTMB nbinom2); " + expected),
        Problem("cbpp_agq25", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial",
                _bundled("cbpp"), nAGQ=25, tools=("glmmfast", "lme4"),
                note="nAGQ = 25 (-2 log L without the saturated model's, as lme4)"),
    ]


PROBLEMS: dict[str, Problem] = _build()

GLMMTMB_REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "data" / "glmmtmb_reference.json"
GLMMTMB_TOOLS: tuple[str, ...] = ("glmmfast", "glmmTMB")


def _reference_dataset(info: dict) -> Callable[[], pd.DataFrame]:
    """Loader for a dataset of the glmmTMB reference file: bundled, or a CSV beside the JSON
    (factor levels as the R script recorded them)."""
    if info["source"] == "glmmfast.datasets":
        return _bundled(info["name"])

    return lambda: _read_csv(GLMMTMB_REFERENCE.parent / info["file"], info.get("factor_levels", {}))


def _glmmtmb_problems() -> dict[str, Problem]:
    """One problem per glmmTMB reference case (issue 14), the same data, formulas, family and link.

    Cases that fix a parameter by glmmTMB's ``start``/``map`` (Student t with df fixed) have no
    benchmark argument for it and are left out."""
    if not GLMMTMB_REFERENCE.exists():
        return {}
    ref = json.loads(GLMMTMB_REFERENCE.read_text())
    out = {}
    for c in ref["cases"]:
        if c.get("start") or c.get("map"):
            continue
        parts = [f"zi {c['ziformula']}" if c["ziformula"] else "",
                 f"disp {c['dispformula']}" if c["dispformula"] else "",
                 f"weights {c['weights']}" if c["weights"] else ""]
        note = "; ".join(["glmmTMB reference case " + c["id"], *filter(None, parts)])
        name = "tmb_" + c["id"]
        # glmmTMB's family function (ziGamma's family prints as Gamma), beta_family and t_family as beta and t
        family = c["family_call"].split("(")[0].strip().removesuffix("_family")
        out[name] = Problem(name, c["formula"], family, _reference_dataset(ref["datasets"][c["dataset"]]),
                            link=c["link"], tools=GLMMTMB_TOOLS, note=note, ziformula=c["ziformula"],
                            dispformula=c["dispformula"], weights=c["weights"], REML=c["REML"])
    return out


GLMMTMB_PROBLEMS: dict[str, Problem] = _glmmtmb_problems()


def select(names: list[str] | None, quick: bool) -> list[Problem]:
    """Problems by name (exact, or a prefix such as ``grouse`` or ``tmb_``; GLMMTMB_PROBLEMS
    too), or the quick subset, or all of PROBLEMS."""
    if names:
        known = {**PROBLEMS, **GLMMTMB_PROBLEMS}
        out = []
        for n in names:
            hits = [p for k, p in known.items() if k == n] or [p for k, p in known.items() if k.startswith(n)]
            if not hits:
                raise SystemExit(f"unknown problem {n!r}; known: {', '.join(known)}")
            out.extend(h for h in hits if h not in out)
        return out
    return [p for p in PROBLEMS.values() if p.quick or not quick]
