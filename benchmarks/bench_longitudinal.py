"""Benchmark of the longitudinal and survival analyses (issue 4): wall time, peak memory, fitting method.

Targets: a random-slope mixed model on a CHARLS-style cohort of 9,333 people x 3 waves in < 20 s and of
50,000 x 5 waves in < 120 s; a Cox model on 500,000 people with 5 covariates in < 30 s. Each task runs in
its own Python process (so peak memory, ``ru_maxrss``, is the task's own); the baseline is statsmodels
MixedLM on the 9,333 x 3 problem (``--no-baseline`` skips it: it takes about half a minute).

Wall and CPU (process) time are both printed: the machine is shared, and CPU time moves less with its load.

Usage: ``.venv/bin/python benchmarks/bench_longitudinal.py [--no-baseline]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import pandas as pd

TARGETS = {
    "mixed_9333x3": 20.0,
    "mixed_50000x5": 120.0,
    "cox_500000x5": 30.0,
    "mixed_9333x3_statsmodels": None,
}


def _charls(n: int, waves: int) -> pd.DataFrame:
    from musclecog.simulate.charls import simulate_charls

    years = [2011, 2013, 2015] if waves == 3 else [2011, 2013, 2015, 2017, 2018]
    return simulate_charls(seed=1, n=n, years=years, dropout_per_wave=0.0).data


def task(name: str) -> dict[str, Any]:
    """Run one task; return its wall time (fit only, data generation excluded) and method."""
    from musclecog.analyses import run_analysis
    from musclecog.core.spec import RunContext

    ctx = RunContext("bench", "bench", 1)
    if name.startswith("mixed"):
        n, w = (9333, 3) if "9333" in name else (50000, 5)
        data = _charls(n, w)
        spec: dict[str, Any] = {
            "type": "mixed_model",
            "outcome": "cognition",
            "exposure": "grip_group",
            "exposure_reference": 1,
            "covariates": ["age", "sex", "education"],
            "covariates_x_time": ["age"],
            "random": "slope",
        }
        if name.endswith("statsmodels"):
            spec["engine"] = "statsmodels"
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_analysis(data, spec, ctx)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        fit = result.fits["overall"]
        tidy = result.to_tidy()
        return {
            "rows": len(data),
            "people": n,
            "wall_s": wall,
            "cpu_s": cpu,
            "method": str(tidy["method"].iloc[0]),
            "converged": bool(fit.diagnostics.converged),
            "optimiser": "; ".join(fit.diagnostics.messages)[:120],
        }
    if name.startswith("cox"):
        import numpy as np

        rng = np.random.default_rng(1)
        n = 500_000
        X = rng.standard_normal((n, 5))
        t = rng.exponential(1.0, n) / (0.05 * np.exp(X @ np.array([0.3, -0.2, 0.1, 0.0, 0.25])))
        c = rng.uniform(5, 15, n)
        d = pd.DataFrame(X, columns=[f"x{i}" for i in range(1, 6)]).assign(
            followup_years=np.minimum(t, c), event=(t <= c).astype(int)
        )
        spec = {
            "type": "cox",
            "event": "event",
            "duration": "followup_years",
            "exposure": "x1",
            "covariates": ["x2", "x3", "x4", "x5"],
            "ph_test": False,
        }
        t0, c0 = time.perf_counter(), time.process_time()
        tidy = run_analysis(d, spec, ctx).to_tidy()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        return {
            "rows": n,
            "people": n,
            "wall_s": wall,
            "cpu_s": cpu,
            "method": str(tidy["method"].iloc[0]),
            "converged": True,
            "events": int(d["event"].sum()),
        }
    raise SystemExit(f"unknown task {name}")


def main() -> None:
    """Run every task in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--no-baseline", action="store_true", help="skip the statsmodels MixedLM baseline")
    args = parser.parse_args()
    if args.task:
        out = task(args.task)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return
    names = ["mixed_9333x3", "mixed_50000x5", "cox_500000x5"]
    if not args.no_baseline:
        names.append("mixed_9333x3_statsmodels")
    results = {}
    print(f"{'task':<28} {'rows':>9} {'wall s':>8} {'cpu s':>7} {'target':>7} {'peak MB':>8}  method")
    for name in names:
        proc = subprocess.run(
            [sys.executable, __file__, "--task", name], capture_output=True, text=True, check=True
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results[name] = r
        target = TARGETS[name]
        flag = "" if target is None else ("ok" if r["wall_s"] < target else "SLOW")
        print(
            f"{name:<28} {r['rows']:>9} {r['wall_s']:>8.2f} {r['cpu_s']:>7.2f} "
            f"{'' if target is None else f'<{target:.0f}':>7} "
            f"{r['peak_rss_mb']:>8.0f}  {r['method']} {flag}" + ("" if r["converged"] else " NOT CONVERGED")
        )
    if "mixed_9333x3_statsmodels" in results:
        ratio = results["mixed_9333x3_statsmodels"]["wall_s"] / results["mixed_9333x3"]["wall_s"]
        print(f"profiled engine vs statsmodels MixedLM on 9,333 x 3: {ratio:.1f}x faster")
    print("note: the machine is shared (2 cores, several users); times vary with its load")


if __name__ == "__main__":
    main()
