"""Random-effects terms: Z, Lambda(theta), theta names and VarCorr against
matrices built by hand; lme4's standard-deviation/correlation scale and back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import glmmfast
from glmmfast.design._design import model_design_for
from glmmfast.fit._engine import engine_model
from glmmfast.formula._formula import parse_formula
from glmmfast.design._re_terms import build_re_terms, group_labels, random_effects_matrix, theta_names, varcorr_frame
from glmmfast.design._re_terms import ReTerm, sdcor_from_theta, sdcor_names, theta_from_sdcor


@pytest.fixture
def small():
    return pd.DataFrame({
        "y": [1.0, 0, 2, 3, 1, 0],
        "x": [0.5, -1.0, 2.0, 0.0, 1.5, -0.5],
        "g": pd.Categorical(["b", "a", "b", "c", "a", "c"], categories=["a", "b", "c"]),
        "h": ["u", "u", "v", "v", "u", "v"],
    })


def _terms(formula, data):
    return build_re_terms(parse_formula(formula).random, data)


def test_z_parts_are_the_engines_csc_arrays_and_the_design_reads_z_once(small):
    design = model_design_for("y ~ x + (x | g) + (1 | h)", small, glmmfast.families.Poisson(), random=True)
    parts = design.z_csc
    assert parts.indptr.dtype == parts.indices.dtype == np.int32 and parts.data.dtype == np.float64
    Z = design.Z
    assert isinstance(Z, sp.csc_matrix) and design.Z is Z  # built when first read, then kept
    assert Z.has_sorted_indices and Z.shape == (parts.n_rows, parts.n_cols) == (6, 8)
    np.testing.assert_array_equal(Z.toarray(), parts.toarray())
    assert (Z.data != 0).all()  # x's exact zero is left out
    assert engine_model(design).q == 8


def test_z_for_intercept_and_slope_is_level_major(small):
    terms = _terms("y ~ x + (x | g)", small)
    Z = random_effects_matrix(terms, len(small)).toarray()
    # columns: (a:1, a:x, b:1, b:x, c:1, c:x)
    expected = np.zeros((6, 6))
    codes = {"a": 0, "b": 1, "c": 2}
    for i, (g, x) in enumerate(zip(small["g"], small["x"])):
        expected[i, 2 * codes[g]] = 1.0
        expected[i, 2 * codes[g] + 1] = x
    np.testing.assert_array_equal(Z, expected)
    assert terms[0].names == ["(Intercept)", "x"]


@pytest.mark.parametrize("n", [7, 1500])
def test_z_csc_is_each_terms_rows_level_by_level_without_zeros(n):
    # Terms with unsorted codes, unused levels, exact zeros and 1-3 columns: every column of Z (term t, level l,
    # coefficient j at offset_t + l k_t + j) holds the rows of level l with a nonzero X[:, j], increasing.
    rng = np.random.default_rng(n)
    terms = []
    for k, nlevels in ((2, 9), (1, 4), (3, 5)):
        X = rng.normal(size=(n, k)) * (rng.random((n, k)) > 0.25)
        terms.append(ReTerm(group="g", names=[f"c{j}" for j in range(k)], codes=rng.integers(0, nlevels - 1, n),
                            levels=[str(i) for i in range(nlevels)], X=np.asfortranarray(X) if k > 1 else X))
    parts = random_effects_matrix(terms, n)
    assert parts.indices.dtype == parts.indptr.dtype == np.int32 and (parts.data != 0).all()
    expected, offset = [], 0
    for t in terms:
        for level in range(t.nlevels):
            for j in range(t.k):
                rows = np.flatnonzero((t.codes == level) & (t.X[:, j] != 0))
                expected.append((offset + level * t.k + j, rows, t.X[rows, j]))
        offset += t.k * t.nlevels
    assert parts.n_cols == offset == len(expected) and parts.n_rows == n
    for c, rows, values in expected:
        np.testing.assert_array_equal(parts.indices[parts.indptr[c]:parts.indptr[c + 1]], rows)
        np.testing.assert_array_equal(parts.data[parts.indptr[c]:parts.indptr[c + 1]], values)


def test_z_csc_refuses_codes_out_of_range_and_mismatched_terms():
    X = np.ones((3, 1))
    with pytest.raises(ValueError, match="level code 2 out of range"):
        glmmfast._core.random_effects_csc(3, [np.array([0, 2, 1])], [X], [2])
    with pytest.raises(ValueError, match="level code -1 out of range"):
        glmmfast._core.random_effects_csc(3, [np.array([0, -1, 1])], [X], [2])
    with pytest.raises(ValueError, match="one entry per term"):
        glmmfast._core.random_effects_csc(3, [np.array([0, 1, 1])], [X], [2, 3])
    with pytest.raises(ValueError, match="vector of length n"):
        glmmfast._core.random_effects_csc(3, [np.array([0, 1])], [X], [2])


def test_terms_sorted_by_decreasing_levels_ties_in_formula_order(small):
    terms = _terms("y ~ 1 + (1 | h) + (1 | g) + (0 + x | g)", small)
    assert [(t.group, t.names) for t in terms] == [("g", ["(Intercept)"]), ("g", ["x"]), ("h", ["(Intercept)"])]
    assert group_labels(terms) == ["g", "g.1", "h"]
    assert theta_names(terms) == ["g.(Intercept)", "g.x", "h.(Intercept)"]


def test_interaction_grouping_factor_levels(small):
    (t,) = _terms("y ~ 1 + (1 | g:h)", small)
    assert t.group == "g:h"
    assert t.levels == ["a:u", "b:u", "b:v", "c:v"]
    assert [t.levels[c] for c in t.codes] == [f"{g}:{h}" for g, h in zip(small["g"], small["h"])]


def test_unused_category_is_dropped(small):
    df = small.copy()
    df["g"] = df["g"].cat.add_categories(["zz"])
    (t,) = _terms("y ~ 1 + (1 | g)", df)
    assert t.levels == ["a", "b", "c"]


def test_lambda_is_block_diagonal_with_theta_column_major(small):
    d = model_design_for("y ~ x + (x | g) + (1 | h)", small, glmmfast.families.Poisson(), random=True)
    m = engine_model(d)
    theta = np.array([1.5, -0.3, 0.7, 2.0])  # T_g = [[1.5, 0], [-0.3, 0.7]]; T_h = [[2.0]]
    m.set_theta(theta)
    indptr, indices, data = m.lambda_csc()
    lam = sp.csc_matrix((data, indices, indptr), shape=(m.q, m.q)).toarray()
    Tg = np.array([[1.5, 0.0], [-0.3, 0.7]])
    expected = sp.block_diag([Tg] * 3 + [np.array([[2.0]])] * 2).toarray()
    np.testing.assert_array_equal(lam, expected)
    assert list(m.lower_bounds()) == [0.0, -np.inf, 0.0, 0.0]
    assert list(m.initial_theta()) == [1.0, 0.0, 1.0, 1.0]


def test_varcorr_from_theta(small):
    terms = _terms("y ~ x + (x | g)", small)
    theta = np.array([2.0, 0.5, 1.0])
    vc = varcorr_frame(terms, theta, sigma=1.0, residual=False)
    T = np.array([[2.0, 0.0], [0.5, 1.0]])
    S = T @ T.T
    np.testing.assert_allclose(vc["vcov"], [S[0, 0], S[1, 1], S[0, 1]])
    np.testing.assert_allclose(vc["sdcor"], [2.0, np.sqrt(1.25), S[0, 1] / (2.0 * np.sqrt(1.25))])
    assert list(vc["var2"].isna()) == [True, True, False]


# -- sdcor_from_theta / theta_from_sdcor ---------------------------------------
def _term(group, k):
    return ReTerm(group, [f"c{i}" for i in range(k)], np.zeros(1, dtype=int), ["a"], np.zeros((1, k)))


TERMS = [_term("g", 3), _term("h", 1)]


def test_round_trip_and_covariance():
    theta = np.array([1.2, 0.3, -0.4, 0.8, 0.1, 0.5, 0.7])
    sdcor = sdcor_from_theta(TERMS, theta)
    T = np.array([[1.2, 0, 0], [0.3, 0.8, 0], [-0.4, 0.1, 0.5]])
    S = T @ T.T
    sd = np.sqrt(np.diag(S))
    # theta's positions: column by column, lower triangle; diagonal -> sd, below -> correlation.
    expected = [sd[0], S[1, 0] / (sd[0] * sd[1]), S[2, 0] / (sd[0] * sd[2]), sd[1], S[2, 1] / (sd[1] * sd[2]),
                sd[2], 0.7]
    np.testing.assert_allclose(sdcor, expected, rtol=1e-14)
    np.testing.assert_allclose(theta_from_sdcor(TERMS, sdcor), theta, atol=1e-14)
    assert sdcor_names(TERMS) == [f".sig0{i}" for i in range(1, 8)]


def test_boundaries():
    # A zero standard deviation gives a zero column; impossible correlations give None.
    th = theta_from_sdcor(TERMS, np.array([1.0, 0.5, 0.2, 0.0, 0.3, 1.0, 1.0]))
    assert th is not None and th[3] == 0 and th[4] == 0
    assert theta_from_sdcor(TERMS, np.array([1.0, 0.99, 0.99, 1.0, -0.99, 1.0, 1.0])) is None
    assert theta_from_sdcor(TERMS, np.array([1.0, 1.5, 0.0, 1.0, 0.0, 1.0, 1.0])) is None
    assert theta_from_sdcor(TERMS, np.array([-1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0])) is None
    assert theta_from_sdcor(TERMS, np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 2.0]))[-1] == pytest.approx(2.0)


def test_back_quoted_grouping_factor_names_its_column():
    # the grouping factor is evaluated from the parsed tree: `my g` is the column "my g"
    # (its text was once taken for a column name, back-quotes and all)
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 2.5, 3.5, 1.5, 2.0], "my g": list("aabbccdd"),
                       "h": list("xxyyxxyy")})
    d = model_design_for("y ~ 1 + (1 | `my g`) + (1 | h:`my g`)", df, glmmfast.families.Gaussian(), random=True)
    assert [(t.group, t.nlevels) for t in d.terms] == [("`my g`", 4), ("h:`my g`", 4)]
