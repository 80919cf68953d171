"""Fuzzing the C++ entry points: whatever arrays Python passes, the engine
either works or raises a Python exception -- it never reads out of bounds.
The sanitizer job (.ci/sanitize.sh) runs this file against an
AddressSanitizer/UBSan build, where any bad access aborts the run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glmmfast import _core

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
ENGINE_ERRORS = (ValueError, RuntimeError, IndexError, TypeError, MemoryError, OverflowError)

small = st.integers(-3, 8)
floats = st.one_of(st.floats(-5, 5), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0]))


def _vec(draw, n):
    return np.array(draw(st.lists(floats, min_size=max(n, 0), max_size=max(n, 0))), dtype=float)


@st.composite
def glmm_args(draw):
    """Arguments for GlmmModel, mostly consistent, sometimes subtly wrong."""
    n, p = draw(st.integers(0, 7)), draw(st.integers(0, 3))
    nterms = draw(st.integers(0, 2))
    term_k = [draw(small) for _ in range(nterms)]
    term_nlevels = [draw(small) for _ in range(draw(st.sampled_from([nterms, nterms, nterms + 1])))]
    q = sum(max(k, 0) * max(lv, 0) for k, lv in zip(term_k, term_nlevels))
    z_cols = draw(st.sampled_from([q, q, q + 1, max(q - 1, 0)]))
    z_rows = draw(st.sampled_from([n, n, n + 1, -1]))
    # a valid random CSC pattern most of the time, random junk otherwise
    if draw(st.booleans()):
        counts = [draw(st.integers(0, max(z_rows, 0))) for _ in range(z_cols)]
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        indices = np.concatenate([np.sort(np.random.default_rng(c).choice(max(z_rows, 1), c, replace=False))
                                  for c in counts] or [np.zeros(0)]).astype(np.int32)
    else:
        indptr = np.array(draw(st.lists(st.integers(-2, 12), min_size=0, max_size=z_cols + 2)), dtype=np.int32)
        indices = np.array(draw(st.lists(st.integers(-2, 10), min_size=0, max_size=12)), dtype=np.int32)
    data = np.abs(_vec(draw, len(indices))) if draw(st.booleans()) else np.ones(len(indices))
    X = np.asfortranarray(np.array(draw(st.lists(st.floats(-3, 3), min_size=n * p, max_size=n * p)),
                                   dtype=float).reshape(n, p))
    yn = draw(st.sampled_from([n, n, n + 1]))
    y = np.abs(np.round(_vec(draw, yn))) if draw(st.booleans()) else np.zeros(yn)
    w = np.ones(draw(st.sampled_from([n, n, max(n - 1, 0)])))
    off = np.zeros(n)
    family = draw(st.sampled_from([("poisson", "log"), ("binomial", "logit"), ("binomial", "probit")]))
    return (X, z_rows, z_cols, indptr, indices, data, np.minimum(y, 1) if family[0] == "binomial" else y,
            w, off, *family, term_k, term_nlevels)


def _glmm_model(X, z_rows, z_cols, z_indptr, z_indices, z_data, y, weights, offset, dist, link, term_k,
                term_nlevels):
    """GlmmModel from the arrays, names and term shapes (its CscMatrix, Family and Terms built here)."""
    if len(term_k) != len(term_nlevels):
        raise ValueError("term_k and term_nlevels differ in length")
    return _core.GlmmModel(X, _core.CscMatrix(z_rows, z_cols, z_indptr, z_indices, z_data), y, weights, offset,
                           _core.Family(dist, link), [_core.Term(k, nl) for k, nl in zip(term_k, term_nlevels)])


@FUZZ
@given(glmm_args(), st.integers(0, 3))
def test_glmm_model_never_crashes(args, calls):
    try:
        m = _glmm_model(*args)
    except ENGINE_ERRORS:
        return
    theta = np.asarray(m.initial_theta())
    beta = np.zeros(m.p)
    for fn in (lambda: m.laplace_deviance(), lambda: m.cond_var(0), lambda: m.beta_unscaled_vcov(),
               lambda: m.deviance_at(theta, beta), lambda: m.deviance_at(theta[:-1], beta),
               lambda: m.deviance_profiled_beta(theta), lambda: m.cond_var(calls - 1),
               lambda: m.set_response(np.zeros(m.n + calls % 2), np.ones(m.n)),
               lambda: m.set_u(np.zeros(m.q + calls)), lambda: m.set_beta(np.zeros(m.p + calls)),
               lambda: m.beta_unscaled_vcov(), lambda: m.sum_dev_resid()):
        try:
            fn()
        except ENGINE_ERRORS:
            pass


@FUZZ
@given(st.integers(0, 6), st.integers(0, 3), st.data())
def test_glm_irls_never_crashes(n, p, data):
    X = np.asfortranarray(np.array(data.draw(st.lists(floats, min_size=n * p, max_size=n * p))).reshape(n, p))
    y = np.abs(_vec(data.draw, data.draw(st.sampled_from([n, n + 1]))))
    fam = _core.Family(*data.draw(st.sampled_from([("poisson", "log"), ("binomial", "cloglog"), ("gaussian", "identity")])))
    try:
        _core.glm_irls(X, np.minimum(y, 1), np.ones(n), np.zeros(n), fam)
    except ENGINE_ERRORS:
        pass


@FUZZ
@given(st.data())
def test_family_functions_check_lengths(data):
    fam = _core.Family(*data.draw(st.sampled_from([("poisson", "log"), ("binomial", "logit")])))
    a, b, c = (np.abs(_vec(data.draw, data.draw(st.integers(0, 5)))) for _ in range(3))
    for fn in (lambda: fam.dev_resid(a, b, c), lambda: fam.loglik(a, b, c), lambda: fam.linkinv(a)):
        try:
            fn()
        except ENGINE_ERRORS:
            pass


def _tiny_model(**over):
    args = dict(X=np.ones((4, 1), order="F"), z_rows=4, z_cols=2, z_indptr=np.array([0, 2, 4], np.int32),
                z_indices=np.array([0, 1, 2, 3], np.int32), z_data=np.ones(4), y=np.array([0.0, 1, 2, 3]),
                weights=np.ones(4), offset=np.zeros(4), dist="poisson", link="log", term_k=[1], term_nlevels=[2])
    args.update(over)
    return _glmm_model(**args)


@pytest.mark.parametrize("over, fragment", [
    ({"z_indptr": np.array([0, 100, 4], np.int32)}, "non-decreasing"),
    ({"z_indices": np.array([0, 1, 2, 9], np.int32)}, "row index 9 out of range"),
    ({"z_rows": -1}, "negative matrix dimension"),
    ({"term_nlevels": [3]}, "Z's columns do not match"),
    ({"term_k": [-1]}, "no columns or no levels"),
    ({"term_k": [100000], "term_nlevels": [100000]}, "too large"),
    ({"y": np.array([0.0, np.nan, 2, 3])}, "y has non-finite values"),
    ({"weights": np.array([1.0, -1, 1, 1])}, "non-negative"),
    ({"offset": np.array([np.inf, 0, 0, 0])}, "offset has non-finite"),
    ({"y": np.zeros(3)}, "length 4"),
    ({"dist": "gamma"}, "unknown family"),
])
def test_glmm_model_validates_its_arguments(over, fragment):
    with pytest.raises(ValueError, match=fragment):
        _tiny_model(**over)


def test_results_need_a_pirls_run_first():
    m = _tiny_model()
    with pytest.raises(RuntimeError, match="run pirls"):
        m.laplace_deviance()
    with pytest.raises(IndexError):
        m.cond_var(1)
    with pytest.raises(ValueError, match="non-finite"):
        m.set_theta(np.array([np.nan]))
    assert np.isfinite(m.deviance_at(np.array([1.0]), np.zeros(1)))
    assert m.cond_var(0).shape == (2, 1)
