"""Shared fixtures: reference values copied from lme4/glmmTMB, bundled data,
and fits cached per session so each reference model is fitted once."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

import glmmfast

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=None)
def reference_cases() -> dict:
    """lme4 1.1-31 / glmmTMB 1.1.5 fits (tests/data/lme4_reference.json)."""
    return json.loads((DATA / "lme4_reference.json").read_text())["cases"]


@lru_cache(maxsize=None)
def fit_case(case_id: str):
    """Fit a reference case with glmmfast (cached)."""
    c = reference_cases()[case_id]["case"]
    df = glmmfast.datasets.load(c["data"])
    fam = glmmfast.families.get_family(c["family"], c.get("link"))
    if c["engine"] == "glm":
        return glmmfast.glm(c["formula"], df, family=fam)
    return glmmfast.glmer(c["formula"], df, family=fam, nAGQ=c.get("nAGQ", 1))


@pytest.fixture(scope="session")
def reference() -> dict:
    return reference_cases()


@pytest.fixture(scope="session")
def grouseticks():
    return glmmfast.datasets.load("grouseticks")


@pytest.fixture(scope="session")
def cbpp():
    return glmmfast.datasets.load("cbpp")


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
