"""Shared by the benchmarks that run each task in its own process: medians over repeated runs.

A task process prints one JSON object on its last stdout line with at least ``fit_s``, ``total_s``,
``peak_mb`` and ``coef``; :func:`median_of_runs` runs it ``repeats`` times and summarises.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def median_of_runs(cmd: list[str], repeats: int) -> dict[str, Any]:
    """``repeats`` runs of one task command; medians of the times, the largest peak memory, every fit time."""
    runs = []
    for _ in range(repeats):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    out = dict(runs[0])
    out["fit_s"] = statistics.median(r["fit_s"] for r in runs)
    out["total_s"] = statistics.median(r["total_s"] for r in runs)
    out["peak_mb"] = max(r["peak_mb"] for r in runs)
    out["fits"] = [round(r["fit_s"], 3) for r in runs]
    return out


def result_line(label: str, r: dict[str, Any], ref: dict[str, Any] | None, what: str, width: int) -> str:
    """One printed row: fit and total seconds, peak MB, each run's fit time, the largest difference from ``ref``."""
    diff = "" if ref is None else f"  max|{what} - musclecog| {np.max(np.abs(np.subtract(r['coef'], ref['coef']))):.1e}"
    return f"{label:<{width}} {r['fit_s']:>8.2f} {r['total_s']:>8.2f} {r['peak_mb']:>8.0f}  runs {r['fits']}{diff}"


def r_task(script: str, data: pd.DataFrame, stem: str) -> dict[str, Any]:
    """Run an R script on ``data`` (written as CSV, its path the script's first argument) in this process's child.

    The script prints a JSON line with ``fit_s`` (R's own ``system.time`` of the fit) and ``coef``; the
    total time includes R's start and reading the CSV; the peak memory is that of the Rscript child.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.csv"
        data.to_csv(path, index=False)
        script_path = Path(tmp) / f"{stem}.R"
        script_path.write_text(script)
        t1 = time.perf_counter()
        proc = subprocess.run(["Rscript", str(script_path), str(path)], capture_output=True, text=True, check=True)
        total = time.perf_counter() - t1
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"fit_s": out["fit_s"], "total_s": total, "coef": out["coef"], "peak_mb": peak}
