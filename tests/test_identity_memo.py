"""What the front end remembers per pandas object (formula/_identity_memo.py) is never stale.

The column names of a DataFrame and the levels of a categorical dtype are
remembered per object, by identity.  A DataFrame changed between fits (a
column renamed or added, categories reordered or renamed) has new objects,
so the next design reads the new names and levels; equal-but-reordered
categorical dtypes (which pandas calls equal) keep their own levels.
"""

from __future__ import annotations

import gc
import sys

import pandas as pd

import glmmfast
from glmmfast.design._design import model_design_for
from glmmfast.families import Poisson
from glmmfast.formula import _identity_memo
from glmmfast.formula._identity_memo import remembered
from glmmfast.formula._r_eval import category_labels

FORMULA = "TICKS ~ YEAR + (1 | LOCATION)"


def _count_calls():
    calls = []

    def compute(obj):
        calls.append(len(obj))  # not obj itself: the memo must not be what keeps it alive
        return tuple(obj.tolist())
    return compute, calls


def test_remembered_computes_once_per_object_and_forgets_it_with_the_object():
    compute, calls = _count_calls()
    idx = pd.Index(["a", "b"])
    assert remembered(idx, compute) == ("a", "b") and remembered(idx, compute) == ("a", "b")
    assert len(calls) == 1
    other = pd.Index(["a", "b"])  # equal, another object: computed for itself
    assert remembered(other, compute) == ("a", "b") and len(calls) == 2
    key = (id(other), compute)
    del other
    gc.collect()
    assert key not in _identity_memo._MEMO


def test_unordered_dtypes_that_pandas_calls_equal_keep_their_own_levels():
    a, b = pd.CategoricalDtype(["x", "y"]), pd.CategoricalDtype(["y", "x"])
    assert a == b  # pandas ignores the order of unordered categories
    assert category_labels(a) == ["x", "y"] and category_labels(b) == ["y", "x"]
    labels = category_labels(a)
    labels.append("z")  # each caller gets its own list
    assert category_labels(a) == ["x", "y"]


def test_a_dataframe_changed_between_fits_gives_the_new_design():
    df = glmmfast.datasets.load("grouseticks").copy()
    first = model_design_for(FORMULA, df, Poisson(), random=True)
    assert first.x_names == ["(Intercept)", "YEAR96", "YEAR97"]
    df["YEAR"] = df["YEAR"].cat.reorder_categories(["97", "96", "95"])
    reordered = model_design_for(FORMULA, df, Poisson(), random=True)
    assert reordered.x_names == ["(Intercept)", "YEAR96", "YEAR95"]
    df["YEAR"] = df["YEAR"].cat.rename_categories({"95": "y95", "96": "y96", "97": "y97"})
    renamed = model_design_for(FORMULA, df, Poisson(), random=True)
    assert renamed.x_names == ["(Intercept)", "YEARy96", "YEARy95"]
    df["TICKS2"] = df["TICKS"] * 2  # a new column: a new columns Index
    doubled = model_design_for("TICKS2 ~ YEAR + (1 | LOCATION)", df, Poisson(), random=True)
    assert (doubled.y == 2 * first.y).all()
    df = df.rename(columns={"LOCATION": "SITE"})
    site = model_design_for("TICKS ~ YEAR + (1 | SITE)", df, Poisson(), random=True)
    assert site.terms[0].group == "SITE" and site.terms[0].nlevels == first.terms[0].nlevels



def test_an_object_dying_after_the_module_globals_are_cleared_raises_nothing(monkeypatch):
    # At interpreter exit a module's globals can be cleared (set to None) before the objects it remembers
    # die: parsed formula trees live in the parser's cache to the end.  Their callbacks must still work.
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    index = pd.Index(["a", "b"])
    remembered(index, len)
    memo = _identity_memo._MEMO
    monkeypatch.setattr(_identity_memo, "_MEMO", None)  # as at interpreter exit
    key = (id(index), len)
    del index
    gc.collect()
    assert unraisable == [] and key not in memo
