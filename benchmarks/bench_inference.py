"""Satterthwaite and Kenward-Roger df beside the fit they follow (issue 17): time per fit, per df.

Run:  python3 benchmarks/bench_inference.py [reps] [--dense] [--sparse] [--blas1]   (after pip install .)

For each model (10^4 simulated rows, fixed seed): one term with random slopes;
two crossed intercept terms (500 and 100 levels); nested intercepts (500 in 50);
correlated slopes plus a crossed term.  Reported (medians of ``reps``): the REML
fit, ``coef_table()`` (Satterthwaite df of every coefficient) and
``coef_table("Kenward-Roger")`` on a fresh fit each time (both are cached on the
fit), and their ratios to the fit (Satterthwaite's pieces come from the engine,
``LmmModel.variance_derivatives``); ``--dense`` also times the dense (p + q)-space
Satterthwaite algebra the fast paths are tested against, ``--sparse`` the earlier
sparse-solve path (Hessian from differenced gradients); ``--blas1`` runs BLAS
on one thread (threadpoolctl): OpenBLAS's threaded dense Cholesky, which
Kenward-Roger with several terms uses, can take a second on a loaded 2-core
machine.  Numbers are for the machine at hand, never assertions.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import glmmfast  # noqa: E402
from benchmarks.problems import SEED  # noqa: E402
from glmmfast.inference._satterthwaite import Satterthwaite  # noqa: E402


def data(n: int = 10**4, n1: int = 500, n2: int = 100, seed: int = SEED) -> pd.DataFrame:
    """y = 1 + 0.5 x + a[g1] + s[g1] x + c[g2] + d[nest] + e with g1, g2 crossed and g1 nested in ``nest``
    (g1 // 10: 50 groups); every random effect N(0, 1) but s (sd 0.3) and d (sd 0.5)."""
    rng = np.random.default_rng(seed)
    g1, g2 = rng.integers(0, n1, n), rng.integers(0, n2, n)
    g1[:n1], g2[:n2] = np.arange(n1), np.arange(n2)
    x = rng.standard_normal(n)
    nest = g1 // 10
    y = (1 + 0.5 * x + rng.normal(0, 1, n1)[g1] + rng.normal(0, 0.3, n1)[g1] * x + rng.normal(0, 1, n2)[g2]
         + rng.normal(0, 0.5, n1 // 10 + 1)[nest] + rng.standard_normal(n))
    return pd.DataFrame({"y": y, "x": x, "g1": pd.Categorical(g1), "g2": pd.Categorical(g2),
                         "nest": pd.Categorical(nest)})


MODELS = {
    "one term, slopes": "y ~ x + (x | g1)",
    "crossed 500 x 100": "y ~ x + (1 | g1) + (1 | g2)",
    "nested 500 in 50": "y ~ x + (1 | nest/g1)",
    "slopes + crossed": "y ~ x + (x | g1) + (1 | g2)",
}


def _median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    reps = int(args[0]) if args else 5
    dense = "--dense" in sys.argv
    sparse = "--sparse" in sys.argv
    df = data()
    warnings.simplefilter("ignore")  # singular fits do not matter here
    limits = None
    if "--blas1" in sys.argv:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    print(f"{'model':20s} {'q':>5s} {'fit':>9s} {'Satterthwaite':>14s} {'ratio':>6s} {'Kenward-Roger':>14s} "
          f"{'ratio':>6s}" + (f" {'dense Satt.':>12s}" if dense else "") + (f" {'sparse Satt.':>13s}" if sparse else ""))
    for name, formula in MODELS.items():
        fit_t = _median_time(lambda: glmmfast.lmer(formula, df), reps)
        fits = [glmmfast.lmer(formula, df) for _ in range(2 * reps)]
        q = fits[0]._design.Z.shape[1]
        sat_t = _median_time(lambda: fits.pop().coef_table(), reps)
        kr_t = _median_time(lambda: fits.pop().coef_table("Kenward-Roger"), reps)
        line = (f"{name:20s} {q:>5d} {1e3 * fit_t:7.1f}ms "
                f"{1e3 * sat_t:12.1f}ms {sat_t / fit_t:6.2f} {1e3 * kr_t:12.1f}ms {kr_t / fit_t:6.2f}")
        if dense:
            m = glmmfast.lmer(formula, df)
            line += f" {1e3 * _median_time(lambda: Satterthwaite(m, algebra='dense'), reps):10.1f}ms"
        if sparse and len(glmmfast.lmer(formula, df)._design.terms) > 1:
            m = glmmfast.lmer(formula, df)
            line += f" {1e3 * _median_time(lambda: Satterthwaite(m, algebra='sparse'), reps):11.1f}ms"
        print(line)
    grouse = glmmfast.glmer("TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
                            glmmfast.datasets.load("grouseticks"), family="poisson")
    glmmfast.simulate_residuals(grouse, seed=0)  # warm
    res_t = _median_time(lambda: glmmfast.simulate_residuals(grouse, n=250, seed=1), reps)
    print(f"simulate_residuals(n=250), grouseticks 3 terms: {1e3 * res_t:.1f} ms (issue 17's target: < 300 ms)")
    if limits is not None:
        limits.restore_original_limits()


if __name__ == "__main__":
    main()
