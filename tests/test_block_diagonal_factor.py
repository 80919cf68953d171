"""linalg/block_diagonal_factor: the factor of A = U'WU + I for one (x | g) term.

The factor alone (through ``_core.block_diagonal_factor``) against dense numpy
on random SPD block-diagonal matrices, k = 1, 2, 3; a block that is not
positive definite fails the factorisation; and fits whose system takes it
(one term with k = 2 or 3 columns) reach the reference optimum.
"""

from __future__ import annotations

import numpy as np
import pytest

from glmmfast import _core
from conftest import fit_case, reference_cases


def _random_blocks(k: int, nlevels: int, rng: np.random.Generator) -> np.ndarray:
    """nlevels random SPD k x k blocks, stacked ((nlevels k) x k)."""
    out = []
    for _ in range(nlevels):
        M = rng.standard_normal((k, k))
        out.append(M @ M.T + 0.5 * np.eye(k))
    return np.vstack(out)


def _dense(blocks: np.ndarray, k: int) -> np.ndarray:
    nlevels = blocks.shape[0] // k
    A = np.zeros((nlevels * k, nlevels * k))
    for lev in range(nlevels):
        A[lev * k:(lev + 1) * k, lev * k:(lev + 1) * k] = blocks[lev * k:(lev + 1) * k]
    return A


@pytest.mark.parametrize("k", [1, 2, 3])
def test_factor_matches_dense_reference(k):
    rng = np.random.default_rng(10 + k)
    nlevels = 7
    blocks = _random_blocks(k, nlevels, rng)
    A = _dense(blocks, k)
    q = nlevels * k
    B = rng.standard_normal((q, 4))
    start, size = 1, q - 2  # not aligned with the levels: zero between them
    # The factor reads lower triangles only: garbage above the diagonal must not matter.
    upper_garbage = blocks.copy()
    for lev in range(nlevels):
        upper_garbage[lev * k:(lev + 1) * k] += np.triu(rng.standard_normal((k, k)), 1)
    out = _core.block_diagonal_factor(upper_garbage, B, start, size)
    assert out is not None
    L = np.linalg.cholesky(A)  # the block-diagonal A's Cholesky factor is block diagonal
    Ainv = np.linalg.inv(A)
    assert out["log_det"] == pytest.approx(np.linalg.slogdet(A)[1], rel=1e-13)
    np.testing.assert_allclose(out["solve_L"], np.linalg.solve(L, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["solve_Lt"], np.linalg.solve(L.T, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["solve"], np.linalg.solve(A, B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["inverse_block"], Ainv[start:start + size, start:start + size],
                               rtol=1e-12, atol=1e-13)
    level_inverses = [np.tril(Ainv[lev * k:(lev + 1) * k, lev * k:(lev + 1) * k]) for lev in range(nlevels)]
    np.testing.assert_allclose(out["selected_inverse"], np.vstack(level_inverses), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_block_not_positive_definite_fails(k):
    rng = np.random.default_rng(k)
    blocks = _random_blocks(k, 4, rng)
    bad = np.eye(k)
    bad[k - 1, k - 1] = -1e-3 if k == 1 else 0.0
    if k > 1:
        bad[k - 1, 0] = 1.0  # [[1, 1], [1, 0]]: indefinite
    blocks[2 * k:3 * k] = bad
    assert _core.block_diagonal_factor(blocks, np.zeros((4 * k, 1)), 0, k) is None


def test_bad_shapes_are_errors_not_crashes():
    blocks = _random_blocks(2, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="one row per row"):
        _core.block_diagonal_factor(blocks, np.zeros((5, 1)), 0, 2)
    with pytest.raises(ValueError, match="within A"):
        _core.block_diagonal_factor(blocks, np.zeros((6, 1)), 5, 2)


@pytest.mark.parametrize("case_id", ["sleep_ml", "sleep_reml", "gt_m3", "gt_m5"])
def test_single_slope_term_fits_reach_reference_optimum(case_id):
    # One (x | g) term with k = 2 (sleepstudy) or k = 3 (grouseticks' YEAR | LOCATION):
    # the system's factor is the block-diagonal one.  -2 log L at the better of
    # lme4 and glmmTMB to 1e-8 relative (or below it).
    ref = reference_cases()[case_id]
    best = min(ref["deviance_m2ll"], ref["glmmTMB"]["m2ll"])
    assert fit_case(case_id).deviance <= best * (1 + 1e-8)


@pytest.mark.parametrize("formula, data, kind", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "block-diagonal"),
    ("Reaction ~ Days + (1 | Subject)", "sleepstudy", "diagonal"),
    ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy", "sparse"),
])
def test_the_engine_reports_the_factor_it_took(formula, data, kind):
    """``factorization`` (engine and ``optinfo``) names the factor the pattern took, not only
    the sparse/blocked choice: one (1 | g) term is diagonal, one (x | g) term block-diagonal."""
    import glmmfast
    from glmmfast.design._design import model_design_for
    from glmmfast.families import Gaussian, Poisson
    from glmmfast.fit._engine import engine_model, lmm_engine_model

    df = glmmfast.datasets.load(data)
    assert lmm_engine_model(model_design_for(formula, df, Gaussian(), random=True)).factorization == kind
    assert glmmfast.lmer(formula, df).optinfo.factorization == kind
    grouse = glmmfast.datasets.load("grouseticks")
    design = model_design_for("TICKS ~ YEAR + (1 | LOCATION)", grouse, Poisson(), random=True)
    assert engine_model(design).factorization == "diagonal"
    assert engine_model(design, "blocked").factorization == "blocked"  # asked for: taken even for one term
