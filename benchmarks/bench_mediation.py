"""Benchmark: vectorised mediation bootstrap vs a naive loop of statsmodels OLS refits.

5,000 resamples of a simple mediation (PROCESS model 4) and of a serial mediation with two mediators
(PROCESS model 6) on n = 40,000 with 5 covariates (targets: < 10 s and < 20 s). The baseline is a naive Python
loop that refits every equation with ``statsmodels.OLS`` on each resample; it runs 200 resamples and is scaled
to 5,000. Each measurement runs in its own subprocess, which reports its wall time and peak RSS.

Usage: ``.venv/bin/python benchmarks/bench_mediation.py [--n 40000] [--resamples 5000] [--naive 200]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    """x -> m1 -> m2 -> y with 5 covariates (3 numeric, 2 binary)."""
    rng = np.random.default_rng(seed)
    cov = rng.normal(size=(n, 3))
    b1, b2 = rng.random(n) < 0.5, rng.random(n) < 0.3
    x = cov @ [0.2, -0.1, 0.1] + rng.normal(size=n)
    m1 = 0.4 * x + cov @ [0.1, 0.1, 0.0] + 0.2 * b1 + rng.normal(size=n)
    m2 = 0.3 * m1 + 0.1 * x + 0.1 * b2 + rng.normal(size=n)
    y = 0.2 * m1 + 0.25 * m2 + 0.1 * x + cov @ [0.1, 0.0, -0.1] + rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "m1": m1,
            "m2": m2,
            "y": y,
            "c1": cov[:, 0],
            "c2": cov[:, 1],
            "c3": cov[:, 2],
            "c4": b1.astype(float),
            "c5": b2.astype(float),
        }
    )


COVS = ["c1", "c2", "c3", "c4", "c5"]


def worker(kind: str, n: int, resamples: int) -> dict:
    data = make_data(n)
    t0, c0 = time.perf_counter(), time.process_time()
    if kind in ("simple", "serial"):
        from musclecog.analyses import run_analysis
        from musclecog.core.spec import RunContext

        spec = {"exposure": "x", "outcome": "y", "covariates": COVS, "bootstrap": resamples}
        if kind == "simple":
            spec.update(type="simple_mediation", mediator="m1")
        else:
            spec.update(type="serial_mediation", mediators=["m1", "m2"])
        tidy = run_analysis(data, spec, RunContext("bench", "bench", 1)).to_tidy()
        failed = int(tidy.loc[tidy["term"] == "bootstrap_resamples_failed", "estimate"].iloc[0])
    else:
        import statsmodels.api as sm

        serial = kind == "naive_serial"
        rng = np.random.default_rng(1)
        eqs = (
            [("m1", ["x"]), ("y", ["x", "m1"])]
            if not serial
            else [("m1", ["x"]), ("m2", ["x", "m1"]), ("y", ["x", "m1", "m2"])]
        )
        for _ in range(resamples):
            d = data.iloc[rng.integers(0, n, n)]
            for out, preds in eqs:
                sm.OLS(d[out].to_numpy(), sm.add_constant(d[preds + COVS].to_numpy())).fit()
        failed = 0
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "kind": kind,
        "n": n,
        "resamples": resamples,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": peak_mb,
        "failed": failed,
    }


def run(kind: str, n: int, resamples: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--n", str(n), "--resamples", str(resamples)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40_000)
    ap.add_argument("--resamples", type=int, default=5000)
    ap.add_argument("--naive", type=int, default=200)
    ap.add_argument("--worker", default=None)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.resamples)))
        return
    print(f"mediation bootstrap benchmark: n = {args.n:,}, 5 covariates, {args.resamples:,} resamples")
    print("(the machine is shared; wall times vary with the load)")
    for kind, target in (("simple", 10.0), ("serial", 20.0)):
        fast = run(kind, args.n, args.resamples)
        naive = run(f"naive_{kind}", args.n, args.naive)
        naive_scaled = naive["wall_s"] * args.resamples / args.naive
        print(
            f"{kind:>6} mediation: vectorised {fast['wall_s']:.2f} s wall, {fast['cpu_s']:.2f} s CPU "
            f"(target < {target:.0f} s, {'met' if fast['wall_s'] < target else 'NOT met'}), "
            f"peak RSS {fast['peak_rss_mb']:.0f} MB, "
            f"{fast['failed']} failed resamples"
        )
        cpu_scaled = naive["cpu_s"] * args.resamples / args.naive
        print(
            f"{'':>6}  naive statsmodels loop: {naive['wall_s']:.2f} s wall / {naive['cpu_s']:.2f} s CPU for "
            f"{args.naive} resamples -> {naive_scaled:.1f} s wall scaled to {args.resamples:,}; speed-up "
            f"x{naive_scaled / fast['wall_s']:.1f} (wall), x{cpu_scaled / fast['cpu_s']:.1f} (CPU)"
        )


if __name__ == "__main__":
    main()
