"""Bundled datasets load with R's factor levels."""

import numpy as np
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


def test_glmmtmb_datasets_have_r_levels_and_types():
    # glmmTMB's Salamanders and Owls as R has them: site is an ordered factor in R
    sal = glmmfast.datasets.load("Salamanders")
    assert sal.shape == (644, 9) and sal.attrs["name"] == "Salamanders"
    assert list(sal["spp"].cat.categories) == ["GP", "PR", "DM", "EC-A", "EC-L", "DES-L", "DF"]
    assert list(sal["mined"].cat.categories) == ["yes", "no"]
    assert sal["site"].cat.ordered and sal["site"].cat.categories.size == 23
    assert list(sal["site"].cat.categories[:3]) == ["R-1", "R-2", "R-3"]
    assert str(sal["count"].dtype) == "int64" and str(sal["sample"].dtype) == "int64"
    assert str(sal["cover"].dtype) == "float64"
    assert int(sal["count"].sum()) == 852 and int((sal["count"] == 0).sum()) == 387
    owls = glmmfast.datasets.load("Owls")
    assert owls.shape == (599, 8)
    assert owls["Nest"].cat.categories.size == 27 and list(owls["Nest"].cat.categories[:2]) == ["AutavauxTV", "Bochet"]
    assert list(owls["FoodTreatment"].cat.categories) == ["Deprived", "Satiated"]
    assert list(owls["SexParent"].cat.categories) == ["Female", "Male"]
    assert str(owls["SiblingNegotiation"].dtype) == "int64" and str(owls["BroodSize"].dtype) == "int64"
    assert str(owls["ArrivalTime"].dtype) == "float64"
    assert np.allclose(owls["logBroodSize"], np.log(owls["BroodSize"]), rtol=1e-14, atol=1e-14)
