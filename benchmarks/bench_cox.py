"""Benchmark (issue 20): the Efron Cox fit with delayed entry against R's ``coxph`` and lifelines.

Data: ``n`` people (default 500,000) with 5 normal covariates, entry times on a 0.01-year grid in [0, 5),
follow-up exponential (hazard ``0.05 exp(x'beta)``) censored uniformly in [5, 15) years and rounded up to
the 0.01 grid, so that exit times tie heavily (about 1,500 distinct event times) and Efron's correction
matters. Every task runs in its own process (peak memory, ``ru_maxrss``, is the task's own; for R that of
the Rscript child; for musclecog also the most memory numpy held during the fit, by ``tracemalloc``) and
``--repeats`` times (medians printed):

* ``musclecog``: :func:`musclecog.survival.efron.fit_cox_efron` (fit time: the call itself);
* ``coxph``: ``survival::coxph(Surv(entry, exit, event) ~ x1 + ... + x5, ties = "efron")`` by Rscript on
  the same data (fit time: ``system.time`` around ``coxph``; total time includes reading the CSV), skipped
  when Rscript is not installed, and then the last committed figure is printed with its date;
* ``lifelines``: ``CoxPHFitter`` with ``entry_col`` on the first ``--lifelines-n`` rows (default 50,000;
  it takes minutes at 500,000), against musclecog on the same rows.

The coefficients of every peer are compared with musclecog's (largest absolute difference printed). The
machine may be shared: the load average is printed with the figures; ratios in one run move less than times.

Usage: ``.venv/bin/python benchmarks/bench_cox.py [--n 500000] [--repeats 3] [--lifelines-n 50000]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _repeat import median_of_runs, r_task, result_line  # benchmarks/ is the script's folder

BETA = np.array([0.3, -0.2, 0.1, 0.0, 0.25])
COVS = [f"x{i}" for i in range(1, 6)]

R_FALLBACK_N = 500_000
R_FALLBACK = {"fit_s": 3.5, "total_s": 8.7, "date": "before 2026-12-02 on this machine (issue 20)"}
"""coxph on this problem when R is not installed here (the last committed measurement)."""

R_SCRIPT = """
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
tm <- system.time(fit <- coxph(Surv(entry, exit, event) ~ x1 + x2 + x3 + x4 + x5, data = d, ties = "efron"))
cat(sprintf("{\\"fit_s\\": %.6f, \\"coef\\": [%s]}\\n", tm[["elapsed"]],
            paste(sprintf("%.12f", coef(fit)), collapse = ", ")))
"""


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """Delayed entry, heavily tied exit times (module docstring)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    entry = np.floor(rng.uniform(0, 5, n) * 100) / 100
    t = rng.exponential(1.0, n) / (0.05 * np.exp(X @ BETA))
    c = rng.uniform(5, 15, n)
    follow = np.maximum(np.ceil(np.minimum(t, c) * 100) / 100, 0.01)
    return pd.DataFrame(X, columns=COVS).assign(
        entry=entry, exit=np.round(entry + follow, 2), event=(t <= c).astype(int)
    )


def task(name: str, n: int, csv: str | None) -> dict[str, Any]:
    """One measurement: wall times and coefficients."""
    t0 = time.perf_counter()
    data = pd.read_csv(csv) if csv else make_data(n)
    if name == "musclecog":
        from musclecog.survival.efron import fit_cox_efron

        arrays = data["exit"].to_numpy(), data["event"].to_numpy(), data[COVS].to_numpy(), data["entry"].to_numpy()
        tracemalloc.start()
        t1 = time.perf_counter()
        fit = fit_cox_efron(*arrays[:3], T0=arrays[3], residuals=False)
        fit_s = time.perf_counter() - t1
        fit_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        coef, extra = fit.params, {"iterations": fit.n_iter, "converged": fit.converged, "fit_mb": fit_mb}
    elif name == "lifelines":
        from lifelines import CoxPHFitter

        t1 = time.perf_counter()
        cph = CoxPHFitter().fit(data[[*COVS, "entry", "exit", "event"]], duration_col="exit",
                                event_col="event", entry_col="entry")
        fit_s = time.perf_counter() - t1
        coef, extra = cph.params_.to_numpy(), {}
    elif name == "coxph":
        return r_task(R_SCRIPT, data, "cox")
    else:
        raise SystemExit(f"unknown task {name}")
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"fit_s": fit_s, "total_s": total, "coef": [float(v) for v in coef], "peak_mb": peak, **extra}


def run(name: str, n: int, repeats: int, csv: str | None = None) -> dict[str, Any]:
    """``repeats`` subprocess runs of one task; medians of the times, the largest peak memory."""
    cmd = [sys.executable, __file__, "--task", name, "--n", str(n)] + (["--csv", csv] if csv else [])
    return median_of_runs(cmd, repeats)


def _line(label: str, r: dict[str, Any], ref: dict[str, Any] | None) -> str:
    return result_line(label, r, ref, "coef", 26)


def main() -> None:
    """Run the tasks and print the table with the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lifelines-n", type=int, default=50_000, help="rows for lifelines (0: skip)")
    parser.add_argument("--no-r", action="store_true", help="skip coxph (print the committed figure)")
    args = parser.parse_args()
    if args.task:
        print(json.dumps(task(args.task, args.n, args.csv)))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    d = make_data(args.n)
    print(f"n = {args.n:,} rows, {int(d['event'].sum()):,} events, "
          f"{d.loc[d['event'] == 1, 'exit'].nunique():,} distinct event times, delayed entry, Efron ties; "
          f"medians of {args.repeats}")
    print(f"{'task':<26} {'fit s':>8} {'total s':>8} {'peak MB':>8}")
    mc = run("musclecog", args.n, args.repeats)
    print(_line("musclecog", mc, None) + f"  ({mc['iterations']} Newton iterations; "
          f"{mc['fit_mb']:.0f} MB allocated at most during the fit)")
    if shutil.which("Rscript") and not args.no_r:
        r = run("coxph", args.n, args.repeats)
        print(_line("R coxph", r, mc))
    elif args.n == R_FALLBACK_N:
        r = dict(R_FALLBACK)
        print(f"{'R coxph (committed)':<26} {r['fit_s']:>8.2f} {r['total_s']:>8.2f}  measured {r['date']}")
    else:  # the committed figure is for another size: no ratio
        r = {}
        print(f"R coxph: not run, and the committed figure is for n = {R_FALLBACK_N:,} (no ratio at n = {args.n:,})")
    if r:
        print(f"coxph fit / musclecog fit: {r['fit_s'] / mc['fit_s']:.1f}x; "
              f"totals {r['total_s'] / mc['total_s']:.1f}x")
    if args.lifelines_n:
        with tempfile.TemporaryDirectory() as tmp:
            csv = str(Path(tmp) / "small.csv")
            make_data(args.lifelines_n).to_csv(csv, index=False)
            small = run("musclecog", args.lifelines_n, args.repeats, csv)
            ll = run("lifelines", args.lifelines_n, args.repeats, csv)
        print(_line(f"musclecog n={args.lifelines_n:,}", small, None))
        print(_line(f"lifelines n={args.lifelines_n:,}", ll, small))
        print(f"lifelines fit / musclecog fit at n = {args.lifelines_n:,}: {ll['fit_s'] / small['fit_s']:.0f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores, shared machine)")


if __name__ == "__main__":
    main()
