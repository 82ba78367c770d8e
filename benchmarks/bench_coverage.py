"""Benchmark of ``make coverage``: R re-simulations of every synthetic design of the default config, each target's
analysis refitted in-process (musclecog.recovery.run_coverage).

1. ``baseline``: one seed in one process after a warm-up seed (imports and cached Monte Carlo truths paid once),
   the cost of one re-simulation of all 10 synthetic cohorts and their 11 analyses;
2. ``full``: seeds 0 .. R-1 over ``--processes`` worker processes (default R = 200, 2 processes).

Each part runs in its own subprocess, which reports its wall time and peak resident memory
(``resource.getrusage``, the worker processes included for ``full``). The ratio printed is the full run's wall time
over R x the baseline seed: below 1 the processes overlap, 1 / processes is perfect scaling.
Run: ``.venv/bin/python benchmarks/bench_coverage.py [--R 200] [--processes 2]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _plan() -> Any:
    import yaml

    from musclecog.recovery import plan_coverage

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["targets"] = str(REPO / config["targets"])
    return config, plan_coverage(config)


def _peak_mb(children: bool = False) -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if children:
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return peak / 1024


def part_baseline() -> dict[str, Any]:
    from musclecog.recovery import run_seed

    _, plan = _plan()
    run_seed(plan, 10_000)  # warm-up: imports, cached Monte Carlo truths
    t0 = time.perf_counter()
    run_seed(plan, 10_001)
    return {"wall": time.perf_counter() - t0, "peak_mb": _peak_mb()}


def part_full(R: int, processes: int) -> dict[str, Any]:
    from musclecog.recovery import run_coverage

    config, _ = _plan()
    t0 = time.perf_counter()
    table, _ = run_coverage(config, R, processes)
    wall = time.perf_counter() - t0
    return {"wall": wall, "peak_mb": _peak_mb(children=True), "targets": int((table["R"] > 0).sum())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", nargs="?")
    parser.add_argument("--R", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    if args.part:
        warnings.simplefilter("ignore")
        result = part_baseline() if args.part == "baseline" else part_full(args.R, args.processes)
        print(json.dumps(result))
        return
    results = {}
    for part in ("baseline", "full"):
        cmd = [sys.executable, __file__, part, "--R", str(args.R), "--processes", str(args.processes)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[part] = json.loads(out.stdout.strip().splitlines()[-1])
    base, full = results["baseline"], results["full"]
    print(f"baseline: one seed (10 cohorts, 11 analyses) in one process: {base['wall']:.2f} s, "
          f"peak {base['peak_mb']:.0f} MB")
    print(f"full: R = {args.R} seeds, {args.processes} processes, {full['targets']} targets: wall time "
          f"{full['wall']:.1f} s ({full['wall'] / args.R:.2f} s per seed), peak {full['peak_mb']:.0f} MB per process")
    print(f"ratio full / (R x baseline seed) = {full['wall'] / (args.R * base['wall']):.2f} "
          f"(1 / processes = {1 / args.processes:.2f} is perfect scaling)")


if __name__ == "__main__":
    main()
