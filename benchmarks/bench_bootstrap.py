"""Parametric bootstrap throughput: glmmfast beside lme4's bootMer, same model, same nsim.

Run:  python3 benchmarks/bench_bootstrap.py [nsim] [--no-r]   (after pip install .)
Model: TICKS ~ YEAR + (1 | LOCATION), poisson, grouseticks (the issue's target:
1,000 refits under 1 s on two cores and >= 50x faster than bootMer).
Also reports one refit's cost split into the optimiser (engine + nlopt) and the
Python around it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import numpy as np

import glmmfast

R_CODE = """suppressMessages(library(lme4))
m <- glmer(TICKS ~ YEAR + (1 | LOCATION), grouseticks, family = poisson)
t <- system.time(b <- bootMer(m, fixef, nsim = {nsim}, seed = 1))[["elapsed"]]
cat(t, "\\n")"""


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    nsim = int(args[0]) if args else 1000
    df = glmmfast.datasets.load("grouseticks")
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson")

    model = fit.model()
    ys = fit.simulate(50, seed=1)
    t0 = time.perf_counter()
    outs = [model.refit(ys[:, i]) for i in range(50)]
    per = (time.perf_counter() - t0) / 50
    opt = np.mean([o.info.seconds["optimize"] for o in outs])
    evals = np.mean([o.info.evaluations for o in outs])
    print(f"one refit (GlmerModel.refit): {1e3 * per:.2f} ms; optimiser {1e3 * opt:.2f} ms "
          f"({evals:.0f} deviance evaluations), Python around it {1e3 * (per - opt):.3f} ms")
    t0 = time.perf_counter()
    for i in range(20):
        fit.refit(ys[:, i])
    print(f"one refit returning a GlmerResult (fit.refit): {1e3 * (time.perf_counter() - t0) / 20:.2f} ms")

    for n_jobs in (1, 2):
        t0 = time.perf_counter()
        b = fit.bootstrap(nsim, seed=1, n_jobs=n_jobs, progress=False)
        sec = time.perf_counter() - t0
        print(f"glmmfast bootstrap nsim={nsim} n_jobs={n_jobs}: {sec:.2f} s ({nsim / sec:.0f} refits/s, "
              f"{b.n_failed} failed)")
    if "--no-r" not in sys.argv and shutil.which("Rscript"):
        out = subprocess.run(["Rscript", "-e", R_CODE.format(nsim=nsim)], capture_output=True, text=True)
        r_sec = float(out.stdout.split()[-1])
        print(f"lme4 bootMer nsim={nsim}: {r_sec:.2f} s ({nsim / r_sec:.0f} refits/s); "
              f"glmmfast (n_jobs=2) is {r_sec / sec:.0f}x faster")


if __name__ == "__main__":
    main()
