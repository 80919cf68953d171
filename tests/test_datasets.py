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


def test_whole_number_columns_stay_integer():
    # As R's read.csv reads them: counts and heights are integers, centred heights are not.
    gt = glmmfast.datasets.load("grouseticks")
    assert str(gt["TICKS"].dtype) == "int64" and str(gt["HEIGHT"].dtype) == "int64"
    assert str(gt["cHEIGHT"].dtype) == "float64"
    cbpp = glmmfast.datasets.load("cbpp")
    assert str(cbpp["incidence"].dtype) == "int64" and str(cbpp["size"].dtype) == "int64"
    assert str(glmmfast.datasets.load("InstEval")["y"].dtype) == "int64"
