"""The cost of a small model end to end, stage by stage (issue 16, "small models at the floor").

Run:  python3 benchmarks/bench_front_end.py [reps] [--cpu] [--profile]   (after pip install ., or PYTHONPATH=python)
Models: ``glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, poisson)`` and
``lmer("Reaction ~ Days + (Days | Subject)", sleepstudy, REML=False)`` (targets:
under 1.5 ms and 0.5 ms end to end with standard errors), and cbpp's binomial
GLMM.  Each repetition times the stages a public fit runs, one after another
(``glmmfast.glmer`` is these calls plus argument checks):

- design:   formula text and DataFrame -> ``ModelDesign`` (``model_design_for``);
- optimise: design -> fitted state (engine built, GLM start, both stages: ``fit_glmm`` / ``fit_lmm``);
- result:   the result object (``GlmerResult`` / ``LmerResult``);
- SEs:      ``result.vcov``: the Hessian at the optimum, lme4's convergence checks, the covariance;

and, separately, the public call with ``.vcov`` read ("end to end").  Reports the
10th percentile and the median in ms (the machine may be shared: the 10th
percentile is the cost of the code, the median what a user sees).
``--cpu`` times by the process's CPU clock instead of the wall clock (on a
busy machine, time spent waiting for a core does not count); ``--profile`` adds
cProfile's top functions for each model's end-to-end fit.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

import numpy as np

import glmmfast
from glmmfast.design._design import model_design_for
from glmmfast.families import Binomial, Gaussian, Poisson
from glmmfast.fit._fit_state import fit_glmm, fit_lmm
from glmmfast.results._results import GlmerResult, LmerResult

STAGES = ("design", "optimise", "result", "SEs")
clock = time.perf_counter


def _models() -> dict:
    grouse = glmmfast.datasets.load("grouseticks")
    sleep = glmmfast.datasets.load("sleepstudy")
    cbpp = glmmfast.datasets.load("cbpp")
    return {
        "grouse_1|LOC": (lambda: model_design_for("TICKS ~ YEAR + (1 | LOCATION)", grouse, Poisson(), random=True),
                         lambda d: fit_glmm(d, 1), GlmerResult,
                         lambda: glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouse, "poisson").vcov),
        "sleepstudy_ML": (lambda: model_design_for("Reaction ~ Days + (Days | Subject)", sleep, Gaussian(),
                                                   random=True),
                          lambda d: fit_lmm(d, False), LmerResult,
                          lambda: glmmfast.lmer("Reaction ~ Days + (Days | Subject)", sleep, REML=False).vcov),
        "cbpp": (lambda: model_design_for("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, Binomial(),
                                          random=True),
                 lambda d: fit_glmm(d, 1), GlmerResult,
                 lambda: glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                                        "binomial").vcov),
    }


def _stages(design, fit, result) -> list[float]:
    t0 = clock()
    d = design()
    t1 = clock()
    state = fit(d)
    t2 = clock()
    r = result(state, None)
    t3 = clock()
    r.vcov
    t4 = clock()
    return [t1 - t0, t2 - t1, t3 - t2, t4 - t3]


def _end_to_end(call) -> float:
    t0 = clock()
    call()
    return clock() - t0


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    reps = int(args[0]) if args else 200
    global clock
    if "--cpu" in sys.argv:
        clock = time.process_time
    print(f"glmmfast {glmmfast.__version__} from {glmmfast.__file__}; {reps} repetitions; "
          f"ms ({'CPU' if clock is time.process_time else 'wall'} clock; p10 / median)")
    header = f"{'model':<15}" + "".join(f"{s:>16}" for s in STAGES + ("sum", "end to end"))
    print(header)
    for name, (design, fit, result, call) in _models().items():
        for _ in range(5):  # warm: imports, caches
            _stages(design, fit, result)
            call()
        stages = np.empty((reps, len(STAGES)))
        e2e = np.empty(reps)
        for i in range(reps):  # interleaved, so both see the same machine load
            stages[i] = _stages(design, fit, result)
            e2e[i] = _end_to_end(call)
        cols = np.column_stack([stages, stages.sum(axis=1), e2e]) * 1e3
        p10, med = np.percentile(cols, 10, axis=0), np.median(cols, axis=0)
        print(f"{name:<15}" + "".join(f"{a:>8.3f} /{b:>6.3f}" for a, b in zip(p10, med)))
        if "--profile" in sys.argv:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(50):
                call()
            prof.disable()
            stats = pstats.Stats(prof)
            print(f"  cProfile, {stats.total_calls / 50:.0f} Python calls per fit:")
            stats.sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
