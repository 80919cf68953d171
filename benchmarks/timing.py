"""How every tool is timed (the R script, fit_r.R, follows the same protocol).

Interface
---------
time_calls(fn, reps, budget) -> dict(times=[...], warmup=s, median=s)
    One warm-up call, then up to ``reps`` timed calls, fewer when the warm-up
    shows they would exceed ``budget`` seconds; if even the warm-up took longer
    than the budget it is the single measurement (flagged ``warmup_only``).
median(xs) -> float
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

__all__ = ["time_calls", "median"]


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def time_calls(fn: Callable[[], object], reps: int, budget: float) -> dict:
    t0 = time.perf_counter()
    fn()
    warm = time.perf_counter() - t0
    if warm >= budget:
        return {"times": [warm], "warmup": warm, "median": warm, "warmup_only": True}
    n = max(1, min(reps, int((budget - warm) / max(warm, 1e-9))))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"times": times, "warmup": warm, "median": median(times), "warmup_only": False}
