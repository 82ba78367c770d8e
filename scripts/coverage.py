#!/usr/bin/env python
"""Recovery over many seeds: re-simulate every synthetic design of a config R times and refit in-process.

Usage (from the repository root; ``make coverage`` / ``make coverage R=20``)::

    .venv/bin/python scripts/coverage.py --R 200 --processes 2 --configfile config/config.yaml

Writes ``<results_dir>/coverage.tsv`` (one row per target: target_id, R, coverage, its exact 95% interval,
mean_bias, rel_rmse, pass_share, calibrated, note) and ``<results_dir>/coverage_seeds.tsv`` (one row per
seed and target), and prints the wall time. Same config, R and seed give the same tables for any number of
processes.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import pandas as pd
import yaml

from musclecog.config import refuse_code_in_files, schema_dir, validate_config
from musclecog.recovery import MR_VARIANTS, iter_seeds, plan_coverage, summarise
from musclecog.results import read_table, write_table

BATCH = 5
"""Seeds per task of a worker; the per-seed table is written after each, and --resume continues from it."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--R", type=int, default=200, help="number of seeds (default 200)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--out", help="output folder (default: the config's results_dir)")
    parser.add_argument("--mr-variants", type=int, default=MR_VARIANTS,
                        help=f"variants per synthetic GWAS trait in each seed (default {MR_VARIANTS}; 0: the "
                        "config's n_variants, as the default run)")
    parser.add_argument("--targets", nargs="+", metavar="TARGET_ID",
                        help="only these targets (e.g. one target at a larger R); only their cohorts are simulated")
    parser.add_argument("--resume", action="store_true",
                        help="keep the seeds already in coverage_seeds.tsv (same config) and run the rest")
    args = parser.parse_args()
    refuse_code_in_files([args.configfile])  # a config is data
    # validated and with its placeholders ({workflow_dir}) substituted, as the pipeline reads it
    config = validate_config(yaml.safe_load(Path(args.configfile).read_text()), schema_dir(), check_files=False)
    out = Path(args.out or config.get("results_dir", "results"))
    out.mkdir(parents=True, exist_ok=True)
    seeds_path = out / "coverage_seeds.tsv"
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    plan = plan_coverage(config, mr_variants=args.mr_variants or None, only=args.targets)
    done = read_table(seeds_path) if args.resume and seeds_path.exists() else None
    if done is not None:  # keep only seeds that judged every planned target (e.g. not those from before MR was)
        complete = done.groupby("seed_index")["target_id"].agg(lambda t: set(plan.mapping) <= set(t))
        done = done[done["seed_index"].isin(complete.index[complete]) & done["target_id"].isin(list(plan.mapping))]
    parts = [] if done is None else [done[done["seed_index"] < args.R]]
    todo = sorted(set(range(args.R)) - (set() if done is None else set(done["seed_index"])))
    for part in iter_seeds(plan, todo, args.processes, chunk=BATCH):
        parts.append(part)
        per_seed = pd.concat(parts, ignore_index=True).sort_values(["seed_index", "target_id"], ignore_index=True)
        write_table(per_seed, seeds_path)
        print(f"  {per_seed['seed_index'].nunique()} of {args.R} seeds, {time.perf_counter() - t0:.0f} s", flush=True)
    per_seed = read_table(seeds_path)
    table = summarise(per_seed, plan.skipped)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    write_table(table, out / "coverage.tsv")
    print(table.to_string(index=False))
    print(f"coverage: R = {args.R}, {args.processes} processes, wall time {wall:.1f} s "
          f"({wall / max(args.R, 1):.2f} s per seed), CPU {cpu:.1f} s ({cpu / max(len(todo), 1):.2f} s per seed run); "
          f"wrote {out / 'coverage.tsv'}")
    return 0


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    raise SystemExit(main())
