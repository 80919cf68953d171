"""lmerTest's hypothesis matrices: Doolittle factor, term structure, and what each type tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.inference._term_contrasts import TermStructure, doolittle_lower, term_contrasts


def test_doolittle_is_the_unpivoted_lu_factor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    XtX = X.T @ X
    L = doolittle_lower(XtX)
    assert np.allclose(np.diag(L), 1) and np.allclose(np.triu(L, 1), 0)
    U = np.linalg.solve(L, XtX)
    np.testing.assert_allclose(np.tril(U, -1), 0, atol=1e-8)


@pytest.fixture(scope="module")
def unbalanced():
    rng = np.random.default_rng(2)
    n = 200
    df = pd.DataFrame({"f": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]), "x": rng.normal(size=n),
                       "g": rng.integers(0, 10, n).astype(str)})
    df["y"] = df["x"] * (df["f"] == "b") + rng.normal(size=10)[df["g"].astype(int)] + rng.normal(size=n)
    return glmmfast.lmer("y ~ f * x + (1 | g)", df)


def test_term_structure(unbalanced):
    ts = TermStructure(unbalanced._design)
    assert ts.labels == ["f", "x", "f:x"]
    assert ts.contained_in == {"f": [], "x": ["f:x"], "f:x": []}  # f:x has a numeric x that f lacks
    names = unbalanced._design.x_names
    assert [names[j] for j in ts.columns["f:x"]] == ["fb:x", "fc:x"]


@pytest.mark.parametrize("kind", [1, 2, 3])
def test_each_term_tests_its_own_columns(unbalanced, kind):
    Ls = term_contrasts(unbalanced._design, kind)
    assert [L.shape[0] for L in Ls.values()] == [2, 1, 2]
    ts = TermStructure(unbalanced._design)
    for lab, L in Ls.items():
        # every hypothesis involves the term's own coefficients
        assert np.linalg.matrix_rank(L[:, ts.columns[lab]]) == L.shape[0]
    # the highest-order term is tested the same way by every type
    np.testing.assert_allclose(unbalanced.anova(type=kind).loc["f:x", "F value"],
                               unbalanced.contest(np.eye(6)[[4, 5]])["F value"].iloc[0], rtol=1e-10)


def test_type1_is_sequential(unbalanced):
    # type I tests f before x and f:x, type III after them: they differ when
    # unbalanced, and agree for the last term
    F1 = unbalanced.anova(type=1)
    F3 = unbalanced.anova(type=3)
    assert F1.loc["f:x", "F value"] == pytest.approx(F3.loc["f:x", "F value"])
    assert F1.loc["f", "F value"] != pytest.approx(F3.loc["f", "F value"])
