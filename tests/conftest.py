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
def lmer_reference_cases() -> dict:
    """lme4 1.1-31 lmer fits at tight tolerances, weights and offsets (tests/data/lmer_reference.json)."""
    return json.loads((DATA / "lmer_reference.json").read_text())


@lru_cache(maxsize=None)
def fit_case(case_id: str):
    """Fit a reference case with glmmfast (cached)."""
    c = reference_cases()[case_id]["case"]
    df = glmmfast.datasets.load(c["data"])
    fam = glmmfast.families.get_family(c["family"], c.get("link"))
    if c["engine"] == "glm":
        return glmmfast.glm(c["formula"], df, family=fam)
    if c["engine"] == "lmer":
        return glmmfast.lmer(c["formula"], df, REML=c["REML"])
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
