"""Bundled datasets load with R's factor levels."""

import pytest

import glmmfast


def test_grouseticks_schema():
    df = glmmfast.datasets.load("grouseticks")
    assert df.shape == (403, 7)
    assert list(df["YEAR"].cat.categories) == ["95", "96", "97"]
    assert df["LOCATION"].cat.categories.size == 63
    assert df.attrs["name"] == "grouseticks"


def test_cbpp_and_sleepstudy():
    cbpp = glmmfast.datasets.load("cbpp")
    assert cbpp.shape == (56, 4) and list(cbpp["period"].cat.categories) == ["1", "2", "3", "4"]
    sleep = glmmfast.datasets.load("sleepstudy")
    assert sleep.shape == (180, 3)


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(glmmfast.DataError, match="unknown dataset 'nope'"):
        glmmfast.datasets.load("nope")
    assert "grouseticks" in glmmfast.datasets.names()
