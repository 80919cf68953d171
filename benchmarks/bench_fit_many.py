"""fit_many throughput: many responses of one design on local threads and on a Dask LocalCluster.

Run:  python3 benchmarks/bench_fit_many.py [--responses 20000] [--rows 2000] [--groups 100] [--chunk 250]
      [--rounds 1] [--in-process]   (after pip install ".[dask]")
Problem (issue 19): m simulated Poisson responses of one n-row ``~ x + (1 | g)`` design (fixed
seed), each fitted from scratch through both optimisation stages with standard errors.  Timed:
``fit_many`` with 2 local threads (the responses an in-memory array) and the same on a
``LocalCluster`` of 2 single-threaded worker processes (the responses a Dask array whose blocks
of columns are generated inside the workers, so they never pass through the driver); with
``--in-process`` also on 2 in-process workers (threads of this process, one GIL, as the thread
pool: what is left is Dask's own overhead).  Dask's statistical profiler is turned off, and the
cluster is timed twice: with Dask's default worker event-loop intervals and with the quieter ones of
``QUIET_WORKERS`` (see below).
Target: the cluster's throughput within 25% of the threads'.  Both tables are checked to be identical.
CPU time per fit (all processes) is printed too: on a shared machine it varies less than the
wall-clock throughput.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import glmmfast

FORMULA = "~ x + (1 | g)"
SEED = 19

#: A worker process runs its event loop beside the task thread: a tick every 20 ms, a memory
#: check every 100 ms, a system monitor every 500 ms.  Each wake-up takes the GIL from the
#: thread fitting between the engine's (GIL-free) calls; on a loaded machine the handover waits
#: for the OS to schedule the loop's thread, and the fit waits with it.  Measured on 200 fits in
#: one worker (load 16): 44 ms per fit of wall time against 33 ms in a plain process, 35 ms with
#: these intervals (process CPU 9.4 -> 8.7 ms per fit, the task thread's own 8.6 both times).
#: None of them matters to a throughput workload of long tasks.
QUIET_WORKERS = {"distributed.admin.tick.interval": "1s", "distributed.worker.memory.monitor-interval": "1s",
                 "distributed.admin.system-monitor.interval": "5s"}


def design_frame(n: int, groups: int) -> pd.DataFrame:
    rng = np.random.default_rng([SEED, 0])
    return pd.DataFrame({"x": rng.normal(size=n), "g": pd.Categorical(np.arange(n) % groups)})


def response_block(j: int, width: int, n: int, groups: int) -> np.ndarray:
    """Responses j*width ... of the study: block j of columns, from its own generator (any process)."""
    df = design_frame(n, groups)
    rng = np.random.default_rng([SEED, 1, j])
    b = rng.normal(scale=0.5, size=(groups, width))
    eta = 0.5 + 0.3 * df["x"].to_numpy()[:, None] + b[df["g"].cat.codes.to_numpy()]
    return rng.poisson(np.exp(eta)).astype(np.int32)


def _widths(m: int, chunk: int) -> list[int]:
    return [min(chunk, m - s) for s in range(0, m, chunk)]


def idle_cpu_rate(client, processes: bool, seconds: float = 5.0) -> float:
    """CPU milliseconds per wall second the idle cluster spends (scheduler, nannies, workers' event loops).

    On a shared machine this CPU is taken from the same share of the cores as the fits': at load 16 a
    2-worker cluster with Dask's default intervals spent ~80 ms/s, with QUIET_WORKERS ~14 ms/s.
    """
    t0, cpu0 = time.perf_counter(), time.process_time()
    workers0 = client.run(time.process_time) if processes else {}
    time.sleep(seconds)
    cpu = time.process_time() - cpu0
    if processes:
        cpu += sum(t - workers0[w] for w, t in client.run(time.process_time).items())
    return 1e3 * cpu / (time.perf_counter() - t0)


def time_threads(df, y, chunk: int):
    """fit_many on 2 local threads: (wall seconds, CPU seconds, table)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    table = glmmfast.fit_many(FORMULA, df, y, "poisson", n_jobs=2, chunk=chunk, progress=False)
    return time.perf_counter() - t0, time.process_time() - cpu0, table


def time_cluster(df, lazy, processes: bool, settings: dict):
    """fit_many on a fresh 2-worker LocalCluster: (wall seconds, CPU seconds of all processes, table, idle ms/s)."""
    import dask
    import distributed

    with dask.config.set(settings), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                     dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        client.run(lambda: __import__("glmmfast"))  # workers import glmmfast before the clock starts
        idle = idle_cpu_rate(client, processes)
        t0, cpu0, workers0 = time.perf_counter(), time.process_time(), client.run(time.process_time)
        table = glmmfast.fit_many(FORMULA, df, lazy, "poisson", executor=client, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if processes:  # the workers' CPU time; the driver's (the scheduler and nannies run here) is cpu
            cpu += sum(t - workers0[w] for w, t in client.run(time.process_time).items())
    return wall, cpu, table, idle


def run(m: int, n: int, groups: int, chunk: int, in_process: bool = False, rounds: int = 1) -> None:
    import dask
    import dask.array as da

    from machine import load_average, machine_info

    info = machine_info()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB; load at start {info['load_at_start']}")
    print(f"problem: {m} Poisson responses, {n} rows, {FORMULA} with {groups} groups, {chunk} responses per task; "
          f"{rounds} round(s), each timing the threads and then every cluster (alternated, so a drifting load "
          "does not favour one side)")
    df = design_frame(n, groups)
    widths = _widths(m, chunk)
    y = np.concatenate([response_block(j, w, n, groups) for j, w in enumerate(widths)], axis=1)
    # Dask's statistical profiler samples every worker thread's stack every 10 ms (holding the GIL);
    # on tasks of many short fits it cost ~25% of the workers' CPU here.  Off, as for any such workload.
    dask.config.set({"distributed.worker.profile.enabled": False})
    lazy = da.concatenate([da.from_delayed(dask.delayed(response_block)(j, w, n, groups), shape=(n, w),
                                           dtype=np.int32) for j, w in enumerate(widths)], axis=1)
    clusters = [(True, {}), (True, QUIET_WORKERS)] + ([(False, QUIET_WORKERS)] if in_process else [])
    ratios: dict[int, list[float]] = {i: [] for i in range(len(clusters))}
    for r in range(rounds):
        t_threads, cpu, threads = time_threads(df, y, chunk)
        print(f"round {r + 1}: threads (n_jobs=2, in-memory array): {t_threads:.1f} s, {m / t_threads:.0f} fits/s, "
              f"CPU {1e3 * cpu / m:.2f} ms/fit, {threads.attrs['n_failed']} failed; load {load_average()}")
        for i, (processes, settings) in enumerate(clusters):
            t_dask, cpu, table, idle = time_cluster(df, lazy, processes, settings)
            where = "worker processes" if processes else "in-process workers"
            intervals = "quiet event loops" if settings else "Dask's default intervals"
            print(f"  Dask LocalCluster (2 {where} x 1 thread, {intervals}, Dask array made in the workers): "
                  f"{t_dask:.1f} s, {m / t_dask:.0f} fits/s, CPU {1e3 * cpu / m:.2f} ms/fit (all processes), "
                  f"{table.attrs['n_failed']} failed; load {load_average()}; the idle cluster's own CPU "
                  f"{idle:.0f} ms per second")
            pd.testing.assert_frame_equal(table, threads)
            ratios[i].append(t_threads / t_dask)
            print(f"    throughput / threads' = {ratios[i][-1]:.2f}; table identical to the threads'")
    for i, (processes, settings) in enumerate(clusters):
        med = float(np.median(ratios[i]))
        print(f"{'processes' if processes else 'in-process'}, {'quiet' if settings else 'default'} intervals: "
              f"throughput / threads' per round {[round(v, 2) for v in ratios[i]]}, median {med:.2f} "
              f"(target >= 0.75: {'met' if med >= 0.75 else 'NOT met'})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--responses", type=int, default=20000, help="number of responses m (default 20000)")
    p.add_argument("--rows", type=int, default=2000, help="rows n of the design (default 2000)")
    p.add_argument("--groups", type=int, default=100, help="levels of g (default 100)")
    p.add_argument("--chunk", type=int, default=250, help="responses per task (default 250)")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat threads / clusters alternately this many times; medians of the ratios (default 1)")
    p.add_argument("--in-process", action="store_true",
                   help="also time a LocalCluster of 2 in-process workers (threads sharing one GIL, as n_jobs=2)")
    a = p.parse_args()
    run(a.responses, a.rows, a.groups, a.chunk, a.in_process, a.rounds)


if __name__ == "__main__":
    main()
