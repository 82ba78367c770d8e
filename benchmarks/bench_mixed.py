"""Benchmark (issue 20): the profiled-REML mixed model against lme4's ``lmer`` and statsmodels' MixedLM.

Data: the simulated CHARLS-style cohort (``simulate_charls``, seed 1, no drop-out) with 9,333 people x 3 waves
and 50,000 people x 5 waves; model ``cognition ~ time * grip_group + age + age:time + sex + education`` with a
correlated random intercept and slope on time (the ``mixed_model`` analysis, ``random: slope``, REML). Every
task runs in its own process (peak memory, ``ru_maxrss``, is the task's own; for R that of the Rscript child)
and ``--repeats`` times (medians printed):

* ``musclecog``: :func:`musclecog.longitudinal.lmm.fit_lmm` on the analysis' design (fit time: the call;
  total: the whole ``run_analysis``), with the number of deviance and gradient evaluations;
* ``lmer``: ``lme4::lmer(y ~ 0 + x1 + ... + xp + (time | id), REML = TRUE)`` by Rscript on the same design
  matrix (fit time: ``system.time`` around ``lmer``; total includes reading the CSV), skipped when Rscript is
  not installed, and then the last committed figure is printed with its date;
* ``MixedLM``: statsmodels' MixedLM on the first ``--statsmodels-people`` people of the 9,333 x 3 design
  (default 2,000; it takes minutes on all of them), against musclecog on the same rows.

The fixed effects of every peer are compared with musclecog's (largest absolute difference printed). The
machine may be shared: the load average is printed with the figures; ratios in one run move less than times.

Usage: ``.venv/bin/python benchmarks/bench_mixed.py [--repeats 3] [--statsmodels-people 2000]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from _repeat import median_of_runs, r_task, result_line  # benchmarks/ is the script's folder

SIZES = {"9333x3": (9333, 3), "50000x5": (50000, 5)}

R_FALLBACK = {
    "9333x3": {"fit_s": 0.60, "total_s": 1.7},
    "50000x5": {"fit_s": 5.5, "total_s": 7.2},
    "date": "before 2026-12-02 on this machine (issue 20)",
}
"""lmer on these problems when R is not installed here (the last committed measurement)."""

R_SCRIPT = """
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
xs <- grep("^x[0-9]+$", names(d), value = TRUE)
f <- as.formula(paste("y ~ 0 +", paste(xs, collapse = " + "), "+ (time | id)"))
tm <- system.time(fit <- lmer(f, data = d, REML = TRUE))
cat(sprintf("{\\"fit_s\\": %.6f, \\"coef\\": [%s]}\\n", tm[["elapsed"]],
            paste(sprintf("%.12f", fixef(fit)[xs]), collapse = ", ")))
"""

ENTRY: dict[str, Any] = {
    "type": "mixed_model",
    "outcome": "cognition",
    "exposure": "grip_group",
    "exposure_reference": 1,
    "covariates": ["age", "sex", "education"],
    "covariates_x_time": ["age"],
    "random": "slope",
}


def cohort(size: str) -> pd.DataFrame:
    """The simulated cohort of one size."""
    from musclecog.simulate.charls import simulate_charls

    n, waves = SIZES[size]
    years = [2011, 2013, 2015] if waves == 3 else [2011, 2013, 2015, 2017, 2018]
    return simulate_charls(seed=1, n=n, years=years, dropout_per_wave=0.0).data


def design(data: pd.DataFrame) -> pd.DataFrame:
    """The analysis' design as one table: ``y``, ``x1..xp`` (the fixed-effects columns), ``time``, ``id``."""
    from musclecog.core.spec import RunContext, spec_from_config
    from musclecog.longitudinal.data import TIME, prepare_long
    from musclecog.longitudinal.design import long_design
    from musclecog.longitudinal.mixed import MixedModelSpec

    spec = spec_from_config(MixedModelSpec, ENTRY, RunContext("bench", "bench", 1))
    frame = prepare_long(data, spec).frame
    d = long_design(frame, spec, "bench")
    rows = frame.loc[d.x.index]
    x = d.x.to_numpy(float)
    out = pd.DataFrame(x, columns=[f"x{j + 1}" for j in range(x.shape[1])])
    return out.assign(y=np.asarray(d.y, float), time=rows[TIME].to_numpy(float), id=rows["id"].to_numpy())


def _arrays(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    xs = [c for c in d.columns if c.startswith("x")]
    Z = np.column_stack([np.ones(len(d)), d["time"].to_numpy()])
    return d["y"].to_numpy(), d[xs].to_numpy(), Z, d["id"].to_numpy()


def task(name: str, size: str, people: int) -> dict[str, Any]:
    """One measurement: wall times and fixed effects."""
    data = cohort(size)
    if name == "musclecog":
        from musclecog.analyses import run_analysis
        from musclecog.core.spec import RunContext
        from musclecog.longitudinal import lmm

        t0 = time.perf_counter()
        run_analysis(data, ENTRY, RunContext("bench", "bench", 1))
        total = time.perf_counter() - t0
        d = design(data)
        if people:
            d = d[d["id"].isin(pd.unique(d["id"])[:people])]
        calls = {"deviance": 0, "gradient": 0}
        deviance, value_and_gradient = lmm._deviance, lmm._value_and_gradient

        def counted_deviance(*a: Any) -> float:
            calls["deviance"] += 1
            return deviance(*a)

        def counted_gradient(*a: Any) -> tuple[float, np.ndarray]:
            calls["gradient"] += 1
            return value_and_gradient(*a)

        lmm._deviance, lmm._value_and_gradient = counted_deviance, counted_gradient  # type: ignore[assignment]
        t1 = time.perf_counter()
        fit = lmm.fit_lmm(*_arrays(d))
        fit_s = time.perf_counter() - t1
        extra = {"calls": calls, "method": fit.method, "converged": fit.converged}
        coef = fit.params
    elif name == "mixedlm":
        from musclecog.longitudinal.lmm import fit_lmm_statsmodels

        d = design(data)
        d = d[d["id"].isin(pd.unique(d["id"])[:people])]
        t1 = time.perf_counter()
        fit = fit_lmm_statsmodels(*_arrays(d))
        fit_s = total = time.perf_counter() - t1
        coef, extra = fit.params, {"converged": fit.converged}
    elif name == "lmer":
        return r_task(R_SCRIPT, design(data), "lmm")
    else:
        raise SystemExit(f"unknown task {name}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"fit_s": fit_s, "total_s": total, "coef": [float(v) for v in coef], "peak_mb": peak, **extra}


def run(name: str, size: str, repeats: int, people: int = 0) -> dict[str, Any]:
    """``repeats`` subprocess runs of one task; medians of the times, the largest peak memory."""
    cmd = [sys.executable, __file__, "--task", name, "--size", size, "--people", str(people)]
    return median_of_runs(cmd, repeats)


def _line(label: str, r: dict[str, Any], ref: dict[str, Any] | None) -> str:
    conv = "" if r.get("converged", True) else "  NOT CONVERGED"
    return result_line(label, r, ref, "beta", 28) + conv


def main() -> None:
    """Run the tasks and print the table with the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--size", default="50000x5", help=argparse.SUPPRESS)
    parser.add_argument("--people", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--statsmodels-people", type=int, default=2000, help="people for MixedLM (0: skip)")
    parser.add_argument("--no-r", action="store_true", help="skip lmer (print the committed figures)")
    args = parser.parse_args()
    if args.task:
        print(json.dumps(task(args.task, args.size, args.people)))
        return
    la = os.getloadavg()
    print(f"load average before: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}; medians of {args.repeats}")
    print(f"{'task':<28} {'fit s':>8} {'total s':>8} {'peak MB':>8}")
    for size in SIZES:
        mc = run("musclecog", size, args.repeats)
        print(_line(f"musclecog {size}", mc, None) + f"  ({mc['calls']['deviance']} deviance and "
              f"{mc['calls']['gradient']} deviance+gradient evaluations, {mc['method']})")
        if shutil.which("Rscript") and not args.no_r:
            r = run("lmer", size, args.repeats)
            print(_line(f"lme4 lmer {size}", r, mc))
        else:
            r = dict(R_FALLBACK[size])  # type: ignore[arg-type]
            print(f"{f'lme4 lmer {size} (committed)':<28} {r['fit_s']:>8.2f} {r['total_s']:>8.2f}"
                  f"  measured {R_FALLBACK['date']}")
        print(f"  lmer fit / musclecog fit at {size}: {r['fit_s'] / mc['fit_s']:.1f}x; "
              f"totals {r['total_s'] / mc['total_s']:.1f}x")
    if args.statsmodels_people:
        k = args.statsmodels_people
        small = run("musclecog", "9333x3", args.repeats, k)
        sm = run("mixedlm", "9333x3", args.repeats, k)
        print(_line(f"musclecog {k:,} x 3", small, None))
        print(_line(f"MixedLM {k:,} x 3", sm, small))
        print(f"  MixedLM fit / musclecog fit at {k:,} x 3: {sm['fit_s'] / small['fit_s']:.0f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores, shared machine)")


if __name__ == "__main__":
    main()
