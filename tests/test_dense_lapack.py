"""scipy's LAPACK for the large dense blocks (cpp/src/linalg/dense_lapack.hpp, bind_lapack.cpp).

The blocked factor's Schur complement factorised (dpotrf, and dtrsm/dsyrk
between blocks of columns) and inverted (dpotri) by LAPACK gives the Eigen
kernels' deviance, gradient (selected inverse) and conditional variances
(inverse blocks) to roundoff, dense and by panels, on one OpenBLAS thread or
its own count; a Schur complement that is not positive definite fails the
same way on both.  ``dense_kernels``
(conftest.py) sends every block to LAPACK (min_size 0) or none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmmfast import _core
from glmmfast.design._design import model_design_for
from glmmfast.families import Poisson
from glmmfast.fit._engine import _engine_terms, engine_model
from conftest import departmental_design, row_blocks


def crossed_design(n1: int, n2: int, per: int, seed: int):
    """Poisson y ~ x + (1 | g1) + (1 | g2), ``per`` rows for each of n1 g1 levels at random g2 levels: a
    Schur complement (the n2 g2 levels) that fills."""
    rng = np.random.default_rng(seed)
    g1, g2 = np.repeat(np.arange(n1), per), rng.integers(0, n2, n1 * per)
    x = rng.normal(size=g1.size)
    eta = 0.2 + 0.3 * x + rng.normal(0, 0.5, n1)[g1] + rng.normal(0, 0.4, n2)[g2]
    df = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g1": g1, "g2": g2})
    return model_design_for("y ~ x + (1 | g1) + (1 | g2)", df, Poisson(), random=True)


def blocked_results(design, theta, beta) -> tuple:
    model = engine_model(design, "blocked")
    assert model.factorization == "blocked"
    return (model.deviance_at(theta, beta), np.asarray(model.laplace_gradient()), model.schur_panels,
            [np.asarray(model.cond_var(t)) for t in range(2)])


def assert_same_results(lapack, eigen):
    assert lapack[2] == eigen[2]
    assert lapack[0] == pytest.approx(eigen[0], rel=1e-12)
    np.testing.assert_allclose(lapack[1], eigen[1], rtol=1e-9, atol=1e-9)
    for t in range(2):
        np.testing.assert_allclose(lapack[3][t], eigen[3][t], rtol=1e-9)


def test_scipy_lapack_is_found():
    assert _core.dense_lapack_available()


def test_dense_schur_complement_on_lapack_equals_eigen(dense_kernels):
    # 1,100 Schur columns, one panel: LAPACK's LLT takes two blocks of columns (the second after a
    # triangular solve and a rank update), and S^-1 is dpotri on the transposed factor (upper triangle).
    design = crossed_design(2700, 1100, 40, seed=21)
    theta, beta = np.array([0.45, 0.35]), np.array([0.25, 0.3])
    dense_kernels(True, 0)
    lapack = blocked_results(design, theta, beta)
    dense_kernels(False)
    eigen = blocked_results(design, theta, beta)
    assert lapack[2] == 1
    assert_same_results(lapack, eigen)


def test_dense_kernels_on_openblas_own_threads_equal_one_thread(dense_kernels):
    # threads 0 (the partitioned driver's setting, fit/_partitioned.py's driver_blas_threads): OpenBLAS's own
    # thread count for the LLT and S^-1, the same results to roundoff; the setting returns the previous one.
    design = crossed_design(2700, 1100, 40, seed=21)
    theta, beta = np.array([0.45, 0.35]), np.array([0.25, 0.3])
    dense_kernels(True, 0)
    one = blocked_results(design, theta, beta)
    assert _core.set_dense_lapack_threads(0) == 1
    try:
        own = blocked_results(design, theta, beta)
    finally:
        assert _core.set_dense_lapack_threads(1) == 0
    assert_same_results(own, one)
    with pytest.raises(ValueError, match="non-negative"):
        _core.set_dense_lapack_threads(-1)


def test_panel_factor_on_lapack_equals_eigen(dense_kernels):
    # Students rate instructors of their own department only: a block-sparse Schur complement
    # factorised by panels, each panel's diagonal block by dpotrf and inverted by dpotri (lower triangle).
    design = departmental_design()
    theta, beta = np.array([0.55, 0.4]), np.array([-0.15, 0.35])
    dense_kernels(True, 0)
    lapack = blocked_results(design, theta, beta)
    dense_kernels(False)
    eigen = blocked_results(design, theta, beta)
    assert lapack[2] > 1
    assert_same_results(lapack, eigen)


def test_schur_complement_not_positive_definite_fails_the_same_way(dense_kernels):
    # The partitioned driver's sums with U'WU negated on the g2 x g2 block: the first-term levels'
    # blocks factorise, the Schur complement does not, and PIRLS reports the failed factorisation.
    design = crossed_design(1500, 330, 16, seed=13)
    blocks, (rows, cols) = row_blocks(design, 2)
    q1 = 1500
    negate = np.where((rows >= q1) & (cols >= q1), -1.0, 1.0)

    def gather(*args):
        parts = [b.sums(*args) for b in blocks]
        total = tuple(sum(p[k] for p in parts) for k in range(1, 10))
        return (all(p[0] for p in parts),) + total[:4] + (negate * total[4],) + total[5:]

    messages = {}
    for lapack in (True, False):
        dense_kernels(lapack, 0)
        model = _core.PartitionedGlmm(_engine_terms(design), rows, cols, design.X.shape[1], design.family.engine,
                                      gather, "blocked")
        assert model.factorization == "blocked"
        with pytest.raises(_core.PirlsError) as failure:
            model.deviance_at(np.array([0.45, 0.35]), np.array([0.25, 0.3]))
        messages[lapack] = str(failure.value)
    assert messages[True] == messages[False]
    assert "Cholesky factorisation" in messages[True]
