#!/usr/bin/env python
"""Summarise a run's Snakemake ``benchmark:`` files: one line per job (wall s, max RSS MB), sorted by time.

Usage::

    .venv/bin/python scripts/benchmark_table.py [results_dir]     # default: results
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def benchmark_table(results_dir: Path) -> pd.DataFrame:
    """All benchmark files under ``results_dir/benchmarks`` as one table."""
    rows = []
    for path in sorted((results_dir / "benchmarks").rglob("*.tsv")):
        bench = pd.read_csv(path, sep="\t")
        rel = path.relative_to(results_dir / "benchmarks")
        rows.append({"stage": rel.parts[0] if len(rel.parts) > 1 else "final", "job": rel.with_suffix("").as_posix(),
                     "wall_s": float(bench["s"].iloc[0]), "max_rss_mb": float(bench["max_rss"].iloc[0]),
                     "cpu_s": float(bench["cpu_time"].iloc[0])})
    if not rows:
        return pd.DataFrame(columns=["stage", "job", "wall_s", "max_rss_mb", "cpu_s"])
    return pd.DataFrame(rows).sort_values("wall_s", ascending=False, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Summarise a run's Snakemake benchmark files (results_dir/benchmarks/**/*.tsv): one line "
        "per job with wall time, CPU time and max RSS, slowest first."
    )
    parser.add_argument("results_dir", nargs="?", default="results", type=Path,
                        help="the run's results folder (default: results)")
    results = parser.parse_args(argv).results_dir
    if not (results / "benchmarks").is_dir():
        parser.error(f"no benchmark files: {results / 'benchmarks'} is not a folder. Run the pipeline first "
                     "(`make run`), or name the results folder of a finished run.")
    table = benchmark_table(results)
    if table.empty:
        parser.error(f"{results / 'benchmarks'} holds no *.tsv benchmark file")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    print(f"\n{len(table)} jobs; sum of wall times {table['wall_s'].sum():.0f} s, "
          f"largest max RSS {table['max_rss_mb'].max():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
