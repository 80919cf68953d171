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
    return fit_spec(reference_cases()[case_id]["case"])


def fit_spec(c: dict):
    """Fit a case specification (data, engine, formula, family, link, nAGQ) with glmmfast."""
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
