"""Benchmark: ingest and validate a 500,000-row, 30-column UK Biobank-style table.

Targets (issue 2): from parquet < 5 s and < 2 GB peak memory; from csv.gz < 20 s; the default
``snakemake --cores 2`` run < 90 s. Each ingestion runs in a fresh subprocess, which reports its wall
time (reading + mapping + recode + unit conversion + type/level/range checks + derivations + filters +
table 1) and its peak resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``). The baseline is a bare
``pandas`` read of the same file in a fresh subprocess, so the ratio is the cost of validation.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py [--n 500000] [--skip-snakemake] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def make_table(n: int, seed: int = 1) -> pd.DataFrame:
    """A UK Biobank-style table: field-like source names, coded sex, 30 columns."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)  # UKB field 31: 0 female, 1 male
    age = rng.uniform(40, 70, n).round(1)
    height = np.where(sex == 1, rng.normal(176, 7, n), rng.normal(163, 6, n)).clip(130, 210).round(1)
    weight = (rng.normal(26.5, 4.5, n).clip(15, 60) * (height / 100) ** 2).round(1)
    grip_l = np.where(sex == 1, rng.normal(38, 8, n), rng.normal(24, 6, n)).clip(1, 90).round(0)
    grip_r = (grip_l + rng.normal(1.5, 3, n)).clip(1, 90).round(0)
    cols = {
        "eid": np.arange(1_000_001, 1_000_001 + n),
        "f31_sex": sex,
        "f21003_age": age,
        "f54_centre": rng.choice([11010, 11012, 11013, 11021, 11023], n),
        "f50_height": height,
        "f21002_weight": weight,
        "f21001_bmi": (weight / (height / 100) ** 2).round(2),
        "f46_grip_left": grip_l,
        "f47_grip_right": grip_r,
        "f20023_rt": rng.lognormal(6.3, 0.2, n).clip(100, 2500).round(0),
        "f20016_fi": rng.integers(0, 14, n).astype(float),
        "f20018_pm": rng.integers(0, 2, n),
        "f6138_edu": rng.choice([1, 2, 3, 4, 5, 6, -7, -3], n),
        "f22040_met": rng.gamma(1.5, 1500, n).clip(0, 29000).round(0),
    }
    for k in range(10):
        cols[f"f22009_pc{k + 1}"] = rng.normal(0, 1, n).round(4)
    cols["f189_townsend"] = rng.normal(-1.3, 3, n).round(3)
    cols["f20116_smoking"] = rng.choice([0, 1, 2, -3], n)
    cols["f1558_alcohol"] = rng.integers(1, 7, n)
    cols["f2443_diabetes"] = rng.integers(0, 2, n)
    cols["f21000_ethnicity"] = rng.choice([1001, 1002, 3001, 4001, 5], n)
    cols["f4080_sbp"] = rng.normal(138, 19, n).round(0)
    df = pd.DataFrame(cols)
    # a few missing values, as in real data
    for c in ("f20023_rt", "f20016_fi", "f46_grip_left"):
        df.loc[rng.random(n) < 0.05, c] = np.nan
    assert df.shape[1] == 30, df.shape
    return df


def cohort_spec(path: Path) -> dict:
    return {
        "tables": [
            {
                "path": str(path),
                "columns": {
                    "eid": "id", "f31_sex": "sex", "f21003_age": "age", "f54_centre": "centre",
                    "f50_height": "height_cm", "f21002_weight": "weight_kg", "f21001_bmi": "bmi",
                    "f46_grip_left": "grip_trial_left", "f47_grip_right": "grip_trial_right",
                    "f20023_rt": "reaction_time_ms", "f20016_fi": "fluid_intelligence",
                    "f20018_pm": "prospective_memory", "f6138_edu": "education", "f22040_met": "pa_met_min_wk",
                },
                "keep_all_columns": True,
            }
        ],
        "recode": {"sex": {0: "female", 1: "male"}},
        "missing_codes": {"education": [-7, -3]},
        "units": {"height_cm": "cm"},
        "keep_if": {"age": {"min": 40}, "grip_best_kg": {"not_missing": True}},
        "derive": [{"zscore": ["grip_best_kg", "reaction_time_ms"]}],
    }


def worker(kind: str, path: str) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    t0 = time.perf_counter()
    if kind == "baseline":
        df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
        rows, cols = df.shape
    else:
        from musclecog.ingest import build_cohort

        cohort = build_cohort("bench", cohort_spec(Path(path)), seed=1)
        rows, cols = cohort.data.shape
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": wall, "peak_mb": peak_mb, "rows": rows, "cols": cols}))


def measure(kind: str, path: Path) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--worker", kind, str(path)], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500_000)
    parser.add_argument("--skip-snakemake", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return

    tmp = Path(args.keep or tempfile.mkdtemp(prefix="bench_ingest_"))
    tmp.mkdir(parents=True, exist_ok=True)
    df = make_table(args.n)
    pq_path, gz_path = tmp / "ukb_like.parquet", tmp / "ukb_like.csv.gz"
    df.to_parquet(pq_path, index=False)
    df.to_csv(gz_path, index=False, compression={"method": "gzip", "compresslevel": 6})
    print(f"table: {args.n:,} rows x {df.shape[1]} columns; parquet {pq_path.stat().st_size / 1e6:.1f} MB, "
          f"csv.gz {gz_path.stat().st_size / 1e6:.1f} MB; cores available {os.cpu_count()}")
    print(f"{'input':<10}{'step':<22}{'wall s':>8}{'process s':>11}{'peak MB':>9}{'ratio':>7}  target")
    for label, path, target in (("parquet", pq_path, "< 5 s, < 2048 MB"), ("csv.gz", gz_path, "< 20 s")):
        base = measure("baseline", path)
        ing = measure("ingest", path)
        print(f"{label:<10}{'pandas read (base)':<22}{base['wall_s']:>8.2f}{base['process_s']:>11.2f}"
              f"{base['peak_mb']:>9.0f}{1.0:>7.2f}")
        print(f"{label:<10}{'ingest + validate':<22}{ing['wall_s']:>8.2f}{ing['process_s']:>11.2f}"
              f"{ing['peak_mb']:>9.0f}{ing['wall_s'] / base['wall_s']:>7.2f}  {target}  "
              f"({ing['rows']:,} rows x {ing['cols']} columns out)")
    if not args.keep:
        shutil.rmtree(tmp)

    if not args.skip_snakemake:
        results = Path(tempfile.mkdtemp(prefix="bench_snakemake_"))
        snakemake = Path(sys.executable).with_name("snakemake")
        t0 = time.perf_counter()
        proc = subprocess.run([str(snakemake), "--nolock", "--cores", "2", "--config", f"results_dir={results}", "allow_outside=True"],
                              cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"default snakemake --cores 2 run: {wall:.1f} s wall, {status} (target < 90 s)")
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
        shutil.rmtree(results, ignore_errors=True)


if __name__ == "__main__":
    main()
