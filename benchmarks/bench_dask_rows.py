"""One crossed Poisson GLMM (or LMM) on the partitioned rows of a Dask DataFrame, beside the in-memory engine.

Run:  python3 benchmarks/bench_dask_rows.py [rows] [levels1] [levels2] [--partitions=k] [--no-memory] [--lmm]
      [--one-evaluation] [--trace]
      (defaults: 10^6 rows, 10^4 x 10^3 levels, max(8, rows / 1.25 10^6) partitions; after
      pip install ".[dask]"; issue 19's run: 1e7 1e5 1e4)
      Without OPENBLAS_NUM_THREADS=1: the driver's dense Schur LLT and inverse run on OpenBLAS's threads
      (fit/_partitioned.py's driver_blas_threads), while each worker's BLAS starts at 1 thread
      (Dask's nanny sets OPENBLAS_NUM_THREADS=1 in the processes it spawns).
Model: y ~ x + (1 | g1) + (1 | g2), poisson, simulated with a fixed seed (--lmm: the LMM
yg ~ x + (1 | g1) + (1 | g2) by REML, fitted from one pass of cross-products).  The rows are
generated inside the workers (dd.from_map: each partition from its own seed), never on
the driver; the fit runs on a 2-worker LocalCluster (processes, one thread each).
Reports the fit's wall time, its evaluations and round trips, the time per deviance
evaluation (the optimiser's seconds over its evaluations) and per round trip, the
driver's peak RSS; then (unless --no-memory) the in-memory fit of the same rows in a
child process (built there, so the driver's RSS above is the partitioned fit's alone),
its time per evaluation and -2 log L.  With --one-evaluation (for sizes whose whole fit takes
hours on a small machine): the passes over the rows, then one Laplace deviance evaluation (PIRLS
from u = 0) and its exact gradient at theta's start and the GLM's beta, timed on both engines,
and the driver's peak RSS.  --trace prints each phase (--one-evaluation) and each round trip as it ends (its wall
time and the driver's RSS now and at its peak so far), so a run stopped by a timeout still shows what it measured.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

FORMULA = "y ~ x + (1 | g1) + (1 | g2)"
FORMULA_LMM = "yg ~ x + (1 | g1) + (1 | g2)"
SEED = 20261203


def partition(i: int, rows: int, levels1: int, levels2: int) -> pd.DataFrame:
    """Partition i's rows: its own seed; the random effects from the shared seed (same in every partition)."""
    effects = np.random.default_rng(SEED)
    b1, b2 = effects.normal(0, 0.5, levels1), effects.normal(0, 0.3, levels2)
    rng = np.random.default_rng([SEED, i])
    g1, g2 = rng.integers(0, levels1, rows), rng.integers(0, levels2, rows)
    x = rng.normal(size=rows)
    eta = 0.2 + 0.4 * x + b1[g1] + b2[g2]
    y = rng.poisson(np.exp(eta))
    return pd.DataFrame({"y": y.astype(float), "yg": eta + rng.normal(0, 1.0, rows), "x": x, "g1": g1, "g2": g2})


def fit_model(data, lmm: bool):
    import glmmfast

    return glmmfast.lmer(FORMULA_LMM, data) if lmm else glmmfast.glmer(FORMULA, data, family="poisson")


def sizes(rows: int, parts: int) -> list[int]:
    return [rows // parts + (1 if i < rows % parts else 0) for i in range(parts)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def in_memory(rows: int, levels1: int, levels2: int, parts: int, lmm: bool) -> dict:
    df = pd.concat([partition(i, n, levels1, levels2) for i, n in enumerate(sizes(rows, parts))], ignore_index=True)
    t0 = time.perf_counter()
    fit = fit_model(df, lmm)
    wall = time.perf_counter() - t0
    info = fit.optinfo
    return {"wall": wall, "evaluations": info.evaluations, "optimize": info.seconds["optimize"],
            "deviance": fit.deviance, "fixef": fit.fixef.tolist(), "theta": fit.theta.tolist(), "rss_mb": peak_rss_mb()}


def one_evaluation(model) -> dict:
    """One deviance evaluation (PIRLS from u = 0) and its exact gradient at theta's start and the GLM's beta."""
    theta = np.asarray(model.initial_theta())
    model.set_beta(np.zeros(model.p))
    model.deviance_profiled_beta(np.zeros(theta.size))  # u stays 0: the GLM's IRLS
    beta = np.array(model.beta)
    model.set_u(np.zeros(model.q))
    t0 = time.perf_counter()
    deviance = model.deviance_at(theta, beta)
    t1 = time.perf_counter()
    model.laplace_gradient()
    return {"deviance": deviance, "evaluation": t1 - t0, "gradient": time.perf_counter() - t1,
            "factorization": model.factorization}


def one_evaluation_in_memory(rows: int, levels1: int, levels2: int, parts: int) -> dict:
    import glmmfast
    from glmmfast.design._design import model_design_for
    from glmmfast.fit._engine import engine_model

    df = pd.concat([partition(i, n, levels1, levels2) for i, n in enumerate(sizes(rows, parts))], ignore_index=True)
    t0 = time.perf_counter()
    model = engine_model(model_design_for(FORMULA, df, glmmfast.families.get_family("poisson"), random=True))
    out = one_evaluation(model)
    out.update(build=time.perf_counter() - t0 - out["evaluation"] - out["gradient"], rss_mb=peak_rss_mb())
    return out


def rss_mb() -> float:
    """The driver's resident set now (VmRSS; Linux), 0 where /proc is not there."""
    try:
        with open("/proc/self/status") as status:
            return next(float(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024.0
    except (OSError, StopIteration):
        return 0.0


def trace_round_trips(start: float) -> None:
    """Print every round trip of a partitioned fit as it ends: its wall time and the driver's RSS now and at
    its peak (an evaluation with its gradient ends with a ``_worker_gradient`` round trip: the RSS there,
    evaluation after evaluation, shows whether the driver's memory grows with the fit)."""
    from glmmfast.fit._partitioned import PartitionedRows

    ask = PartitionedRows._ask

    def traced(self, task, *args):
        t0 = time.perf_counter()
        out = ask(self, task, *args)
        print(f"  [{time.perf_counter() - start:7.1f} s] round trip {self.gathers} ({task.__name__}): "
              f"{time.perf_counter() - t0:.2f} s; driver RSS {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB", flush=True)
        return out

    PartitionedRows._ask = traced


def one_evaluation_partitioned(ddf, client, trace: bool = False) -> dict:
    import glmmfast
    from glmmfast.design._partitioned_design import plan_partitioned_design
    from glmmfast.fit._partitioned import driver_blas_threads, load_partitions

    t0 = time.perf_counter()
    if trace:
        trace_round_trips(t0)
    plan = plan_partitioned_design(FORMULA, ddf, glmmfast.families.get_family("poisson"))
    if trace:
        print(f"  [{time.perf_counter() - t0:7.1f} s] levels pass done; driver peak RSS {peak_rss_mb():.0f} MB", flush=True)
    rows, model, _, _ = load_partitions(ddf, plan, client)
    if trace:
        print(f"  [{time.perf_counter() - t0:7.1f} s] row blocks built ({model.factorization} factor, q = {model.q}); "
              f"driver peak RSS {peak_rss_mb():.0f} MB", flush=True)
    try:
        with driver_blas_threads():  # as glmmfast.glmer's partitioned fit
            out = one_evaluation(model)
    finally:
        rows.release()
    out.update(build=time.perf_counter() - t0 - out["evaluation"] - out["gradient"], round_trips=rows.gathers,
               rss_mb=peak_rss_mb())
    return out


def main() -> None:
    if "--help" in sys.argv[1:]:
        print("usage: " + __doc__.split("Run:", 1)[1].strip())
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "1") for a in sys.argv[1:] if a.startswith("--"))
    rows = int(float(args[0])) if args else 10**6
    levels1 = int(float(args[1])) if len(args) > 1 else 10**4
    levels2 = int(float(args[2])) if len(args) > 2 else 10**3
    parts = int(flags.get("partitions", max(8, -(-rows // 1_250_000))))
    lmm = "lmm" in flags
    if "in-memory-only" in flags:
        print(json.dumps(one_evaluation_in_memory(rows, levels1, levels2, parts) if "one-evaluation" in flags
                         else in_memory(rows, levels1, levels2, parts, lmm)))
        return

    import dask.dataframe as dd
    import distributed

    print(f"{rows:,} rows, {levels1:,} x {levels2:,} crossed levels, {parts} partitions, 2 workers"
          f"{', LMM (REML)' if lmm else ''}")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  memory_limit=None) as cluster, distributed.Client(cluster) as client:
        ddf = dd.from_map(partition, list(range(parts)), sizes(rows, parts), levels1=levels1, levels2=levels2)
        if "one-evaluation" in flags:
            return report_one_evaluation(one_evaluation_partitioned(ddf, client, "trace" in flags), rows, levels1, levels2, parts,
                                         "no-memory" in flags)
        t0 = time.perf_counter()
        if "trace" in flags:
            trace_round_trips(t0)
        fit = fit_model(ddf, lmm)
        wall = time.perf_counter() - t0
    info, trips = fit.optinfo, fit.partitions
    per_eval = info.seconds["optimize"] / info.evaluations
    trips_text = ("one pass of cross-products" if trips is None else
                  f"{trips.gathers} round trips of {1e3 * trips.seconds / trips.gathers:.0f} ms")
    print(f"partitioned: fit {wall:.1f} s (design passes {info.seconds['design']:.1f} s, optimise "
          f"{info.seconds['optimize']:.1f} s, vcov {info.seconds.get('derivatives', 0.0):.1f} s); "
          f"{info.evaluations} evaluations, {trips_text}; "
          f"{1e3 * per_eval:.0f} ms per evaluation; driver peak RSS {peak_rss_mb():.0f} MB")
    print(f"  -2 log L {fit.deviance:.6f}, fixef {np.round(fit.fixef.to_numpy(), 6).tolist()}, "
          f"theta {np.round(fit.theta, 6).tolist()}")
    if "no-memory" in flags:
        return
    out = subprocess.run([sys.executable, __file__, str(rows), str(levels1), str(levels2), f"--partitions={parts}",
                          "--in-memory-only"] + (["--lmm"] if lmm else []), capture_output=True, text=True, check=True)
    ref = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"in memory:   fit {ref['wall']:.1f} s; {ref['evaluations']} evaluations, "
          f"{1e3 * ref['optimize'] / ref['evaluations']:.0f} ms per evaluation; peak RSS {ref['rss_mb']:.0f} MB")
    print(f"  -2 log L {ref['deviance']:.6f} (difference {fit.deviance - ref['deviance']:.2e}), "
          f"max |fixef difference| {np.max(np.abs(fit.fixef.to_numpy() - ref['fixef'])):.2e}")


def report_one_evaluation(mine: dict, rows: int, levels1: int, levels2: int, parts: int, no_memory: bool) -> None:
    print(f"partitioned: passes over the rows {mine['build']:.1f} s; one evaluation {mine['evaluation']:.3f} s, "
          f"its gradient {mine['gradient']:.3f} s ({mine['round_trips']} round trips, {mine['factorization']} factor); "
          f"driver peak RSS {mine['rss_mb']:.0f} MB; -2 log L {mine['deviance']:.6f}")
    if no_memory:
        return
    out = subprocess.run([sys.executable, __file__, str(rows), str(levels1), str(levels2), f"--partitions={parts}",
                          "--in-memory-only", "--one-evaluation"], capture_output=True, text=True, check=True)
    ref = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"in memory:   design and engine {ref['build']:.1f} s; one evaluation {ref['evaluation']:.3f} s, "
          f"its gradient {ref['gradient']:.3f} s ({ref['factorization']} factor); peak RSS {ref['rss_mb']:.0f} MB; "
          f"-2 log L {ref['deviance']:.6f} (difference {mine['deviance'] - ref['deviance']:.2e})")


if __name__ == "__main__":
    main()
