"""The blocked factor's dense Schur kernels, Eigen's against scipy's LAPACK (cpp/src/linalg/dense_lapack.hpp).

Run:  python3 benchmarks/bench_dense_kernels.py q2 [rows per first-term level] [reps]
      (e.g. 2000 30 3; issue 19's table in docs/dask.md: q2 = 500 ... 4,000)
Model: Poisson y ~ x + (1 | g1) + (1 | g2) with 2 q2 levels of g1, each on `per` rows at random g2
levels, so the Schur complement of the q2 g2 levels fills (one dense panel).  Per kernel setting
(``_core.set_dense_lapack``), alternated: one deviance evaluation (PIRLS from u = 0: each step a
Schur update and an LLT) and its gradient (S^-1 in place, then the selected inverse); CPU seconds
(time.process_time) and wall seconds, median and 10th percentile over the reps, and -2 log L.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd


def main() -> None:
    from glmmfast import _core
    from glmmfast.design._design import model_design_for
    from glmmfast.families import Poisson
    from glmmfast.fit._engine import engine_model

    args = [int(float(a)) for a in sys.argv[1:]]
    q2, per, reps = (args + [2000, 30, 3][len(args):])[:3]
    n1 = 2 * q2
    rng = np.random.default_rng(3)
    g1, g2 = np.repeat(np.arange(n1), per), rng.integers(0, q2, n1 * per)
    x = rng.normal(size=g1.size)
    eta = 0.2 + 0.3 * x + rng.normal(0, 0.5, n1)[g1] + rng.normal(0, 0.4, q2)[g2]
    df = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g1": g1, "g2": g2})
    model = engine_model(model_design_for("y ~ x + (1 | g1) + (1 | g2)", df, Poisson(), random=True), "blocked")
    theta, beta = np.array([0.45, 0.35]), np.array([0.25, 0.3])
    runs: dict[str, list] = {"eigen": [], "lapack": []}
    for _ in range(reps):
        for kernels in runs:
            _core.set_dense_lapack(kernels == "lapack")
            model.set_u(np.zeros(model.q))
            steps = model.pirls_iterations
            c0, w0 = time.process_time(), time.perf_counter()
            deviance = model.deviance_at(theta, beta)
            c1, w1 = time.process_time(), time.perf_counter()
            model.laplace_gradient()
            c2, w2 = time.process_time(), time.perf_counter()
            runs[kernels].append((c1 - c0, c2 - c1, w1 - w0, w2 - w1, deviance, model.pirls_iterations - steps))
    _core.set_dense_lapack(True)
    print(f"q2 = {q2}, {n1 * per:,} rows, {model.schur_panels} Schur panel(s)")
    for kernels, v in runs.items():
        t = np.array([r[:4] for r in v])
        med, p10 = np.median(t, axis=0), np.percentile(t, 10, axis=0)
        print(f"{kernels:6s} {v[0][5]} PIRLS steps, -2 log L {v[0][4]:.12f}: evaluation CPU {med[0]:.2f} s "
              f"(p10 {p10[0]:.2f}), gradient CPU {med[1]:.2f} s (p10 {p10[1]:.2f}); wall {med[2]:.2f} s, {med[3]:.2f} s")


if __name__ == "__main__":
    main()
