"""The glmmTMB reference file for issue 14 (tests/data/glmmtmb_reference.json,
made by glmmtmb_reference.R): its internal consistency and that every dataset
a case names loads with the columns its formulas use.  No fits: the engine's
tests of these models read the same file.

Checked per case: every field of the schema is present; m2loglik = -2 logLik
(1e-9); AIC = m2loglik + 2 logLik_df (1e-9); the coefficient and SE
components match by name, and the SEs are the square roots of the full
covariance matrix's diagonal; the dispersion intercept is sigma on glmmTMB's
log scale; variance components are well formed (a positive sd
per named column, a symmetric correlation matrix with unit diagonal); the
predictions have 10 rows; the printed summary names the family.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

import glmmfast

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "glmmtmb_reference.json").read_text())
CASES = REFERENCE["cases"]
IDS = [c["id"] for c in CASES]

CASE_KEYS = {
    "id", "dataset", "family", "link", "formula", "ziformula", "dispformula", "REML", "offset", "weights",
    "m2loglik", "logLik", "logLik_df", "AIC", "fixef", "se", "sigma", "family_params", "varcorr",
    "ranef_cond", "predict", "summary_text", "convergence", "pdHess", "warnings", "time_s",
    "family_call", "sd_full", "vcov_full", "ranef_zi",
}
COMPONENTS = ("cond", "zi", "disp")
# glmmTMB's family names for the models of issue 14 (and the ones glmmfast already fits)
FAMILIES = {"poisson", "gaussian", "binomial", "Gamma", "nbinom1", "nbinom2", "beta", "betabinomial", "tweedie",
            "genpois", "compois", "truncated_poisson", "truncated_nbinom1", "truncated_nbinom2", "t", "ziGamma"}
PREDICT_TYPES = {"response", "link", "zprob", "zlink", "conditional", "disp"}


def reference_dataset(name: str) -> pd.DataFrame:
    """The data frame a case's ``dataset`` names: a bundled dataset or a CSV beside the JSON
    (factor columns as Categoricals with the levels the R script recorded)."""
    info = REFERENCE["datasets"][name]
    if info["source"] == "glmmfast.datasets":
        return glmmfast.datasets.load(info["name"])
    df = pd.read_csv(DATA / info["file"])
    for col, levels in info.get("factor_levels", {}).items():
        df[col] = pd.Categorical(df[col].astype(str), categories=levels)
    return df


def _variables(formula: str | None) -> set[str]:
    """Column names a formula string mentions (identifiers that are not functions or keywords)."""
    if formula is None:
        return set()
    return {m.group() for m in re.finditer(r"[A-Za-z_.][A-Za-z0-9_.]*", formula)
            if not formula[m.end():].lstrip().startswith("(")}


def test_meta_names_the_versions():
    meta = REFERENCE["meta"]
    assert {"R", "glmmTMB", "TMB", "generated"} <= set(meta)
    assert meta["glmmTMB"] == "1.1.5"
    assert meta["R"].startswith("R version 4.")


def test_case_ids_are_unique_and_cover_issue_14():
    assert len(IDS) == len(set(IDS))
    families = {c["family"] for c in CASES}
    datasets = {c["dataset"] for c in CASES}
    assert {"Salamanders", "Owls"} <= datasets
    assert {"poisson", "nbinom1", "nbinom2", "truncated_nbinom2", "truncated_poisson", "gaussian", "beta",
            "betabinomial", "tweedie", "genpois", "compois", "truncated_nbinom1", "t"} <= families
    assert any(c["family"] == "Gamma" and c["ziformula"] for c in CASES), "ziGamma (hurdle Gamma)"
    assert any(c["family"] == "t" and c.get("map") for c in CASES), "Student t with df fixed"
    assert any(c["ziformula"] and "|" in c["ziformula"] for c in CASES), "random effects in the zi part"
    assert any(c["dispformula"] not in (None, "~1", "~0") for c in CASES), "a dispersion formula"
    assert any(c["dispformula"] == "~0" for c in CASES)
    assert any("offset(" in c["formula"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_has_every_field(case):
    missing = CASE_KEYS - set(case)
    assert not missing, f"{case['id']} lacks {sorted(missing)}"
    assert case["family"] in FAMILIES
    assert isinstance(case["link"], str) and case["link"]
    assert case["REML"] in (True, False)
    assert case["dataset"] in REFERENCE["datasets"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_likelihood_figures_agree(case):
    assert math.isfinite(case["m2loglik"])
    assert case["m2loglik"] == pytest.approx(-2 * case["logLik"], rel=0, abs=1e-9)
    assert case["AIC"] == pytest.approx(case["m2loglik"] + 2 * case["logLik_df"], rel=0, abs=1e-9)
    assert isinstance(case["logLik_df"], int) and case["logLik_df"] >= 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_coefficients_by_component(case):
    assert set(case["fixef"]) == set(COMPONENTS) and set(case["se"]) == set(COMPONENTS)
    assert case["fixef"]["cond"], "a conditional model always has coefficients"
    for comp in COMPONENTS:
        fe, se = case["fixef"][comp], case["se"][comp]
        assert all(math.isfinite(v) for v in fe.values())
        # an SE is reported for every coefficient that has one (a fixed dispersion has none)
        assert set(se) <= set(fe), (comp, set(se) - set(fe))
        assert all(v is None or v >= 0 for v in se.values())
    has_zi = case["ziformula"] is not None and case["ziformula"].replace(" ", "") != "~0"
    assert bool(case["fixef"]["zi"]) == has_zi
    # the number of estimated parameters: coefficients + variance parameters + family parameters
    free_disp = 0 if case["dispformula"] == "~0" else len(case["fixef"]["disp"])
    n_coef = len(case["fixef"]["cond"]) + len(case["fixef"]["zi"]) + free_disp
    assert case["logLik_df"] >= n_coef


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_standard_errors_are_the_full_covariance_diagonal(case):
    # se by component = sqrt(diag(vcov(full = TRUE))) under glmmTMB's prefixes (zi~, d~)
    # (a non-positive-definite Hessian leaves NaN, stored as null, where glmmTMB has no SE)
    full = case["vcov_full"]
    names, matrix = full["names"], full["matrix"]
    assert len(names) == len(set(names)) == len(case["sd_full"]) == len(full["blocks"])
    assert set(full["blocks"]) <= {"cond", "zi", "disp", "theta", "thetazi", "psi"}
    assert len(matrix) == len(names) and all(len(row) == len(names) for row in matrix)
    var = [matrix[i][i] for i in range(len(names))]
    for i, name in enumerate(names):
        if var[i] is None or var[i] < 0:
            assert case["sd_full"][name] is None
            continue
        assert math.sqrt(var[i]) == pytest.approx(case["sd_full"][name], rel=1e-12)
        for j in range(i):
            if var[j] is not None and var[j] >= 0:  # symmetric, relative to the scale sd_i sd_j
                assert abs(matrix[i][j] - matrix[j][i]) <= 1e-6 * math.sqrt(var[i] * var[j])
    for comp, prefix in (("cond", ""), ("zi", "zi~"), ("disp", "d~")):
        for coef, se in case["se"][comp].items():
            sd = case["sd_full"][prefix + coef]
            assert (se is None and sd is None) or se == pytest.approx(sd, rel=1e-8)
    free_disp = case["dispformula"] != "~0"
    assert set(case["se"]["disp"]) == (set(case["fixef"]["disp"]) if free_disp else set())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_variance_components_are_well_formed(case):
    assert "cond" in case["varcorr"]
    for comp, terms in case["varcorr"].items():
        assert comp in ("cond", "zi")
        for name, term in terms.items():
            sd, cor = term["sd"], term["cor"]
            assert len(sd) == len(term["names"]) >= 1 and all(s >= 0 for s in sd)
            k = len(sd)
            assert len(cor) == k and all(len(row) == k for row in cor)
            for i in range(k):
                assert cor[i][i] == pytest.approx(1.0)
                for j in range(k):
                    assert cor[i][j] == pytest.approx(cor[j][i])
    for key, comp in (("ranef_cond", "cond"), ("ranef_zi", "zi")):
        modes = case.get(key)
        if not modes:
            continue
        assert set(modes) == set(case["varcorr"][comp])
        for term, cols in modes.items():
            nlev = len(cols["_levels"])
            assert all(len(v) == nlev for v in cols.values())
            assert set(cols) - {"_levels"} == set(case["varcorr"][comp][term]["names"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_predictions_and_printout(case):
    pred = case["predict"]
    assert {"response", "link", "conditional"} <= set(pred) <= PREDICT_TYPES
    assert all(len(v) == 10 for v in pred.values())
    assert any(f"Family: {case['family']}" in line for line in case["summary_text"])
    assert case["time_s"] >= 0 and case["convergence"] in (0, 1)
    assert case["pdHess"] in (True, False)
    assert all(isinstance(w, str) for w in case["warnings"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dispersion_intercept_is_sigma_on_the_log_scale(case):
    # meta.conventions.disp: glmmTMB's betad against sigma(fit), by family (dispformula ~1 only)
    disp, sigma = case["fixef"]["disp"], case["sigma"]
    if case["dispformula"] not in (None, "~1") or not disp:
        return
    power = {"gaussian": 2.0, "Gamma": -2.0}.get(case["family"], 1.0)
    assert disp["(Intercept)"] == pytest.approx(power * math.log(sigma), abs=1e-8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_family_parameters(case):
    fp = case["family_params"]
    assert set(fp) <= {"theta", "power", "df"}
    if case["family"] in ("nbinom1", "nbinom2", "truncated_nbinom1", "truncated_nbinom2") \
            and case["dispformula"] in (None, "~1"):
        assert fp["theta"] == pytest.approx(case["sigma"])
    if case["family"] == "tweedie":
        assert 1 < fp["power"] < 2
    if case["family"] == "t":
        assert fp["df"] > 0


@pytest.mark.parametrize("name", sorted(REFERENCE["datasets"]))
def test_every_dataset_loads_with_the_columns_its_cases_use(name):
    df = reference_dataset(name)
    info = REFERENCE["datasets"][name]
    assert df.shape[0] == info["nrow"]
    for col, levels in info.get("factor_levels", {}).items():
        assert list(df[col].cat.categories) == levels
    for case in (c for c in CASES if c["dataset"] == name):
        used = set().union(*(_variables(case[k]) for k in ("formula", "ziformula", "dispformula")))
        if case["weights"]:
            used.add(case["weights"])
        assert used <= set(df.columns), (case["id"], used - set(df.columns))
        # the predictions are of the data's first rows: the response is there and finite
        response = case["formula"].split("~")[0]
        for col in _variables(response):
            assert df[col].iloc[:10].notna().all()
