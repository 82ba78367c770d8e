"""Benchmark: the MR data path on genome-wide files, against a plain pandas baseline.

1. ``full``: two synthetic GWAS of 10 million variants each (gzip TSV, GWAS-SSF columns, written once to /tmp):
   read + standardise both (pyarrow), select instruments, harmonise and run the full estimator and sensitivity
   suite (default MRSettings: 1000 bootstraps, MR-PRESSO 1000) in both directions. Target < 60 s, < 3 GB.
2. ``second``: another pair reusing the standardised parquet files. Target < 5 s.
3. ``harmonise_5m`` vs ``pandas_5m``: two 5-million-variant files harmonised in full, ours (pyarrow read +
   standardise + :func:`musclecog.mr.harmonise.harmonise_arrow`) against a plain pandas ``read_csv`` + ``merge``
   on SNP (no harmonisation at all) on the same files.

Each step runs in its own Python process; wall time and peak resident memory (``ru_maxrss`` of that process) are
printed. Usage: ``.venv/bin/python benchmarks/bench_mr_pipeline.py [--variants 10000000] [--dir /tmp/mr_bench]``.
The machine is shared: figures vary with its load.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _step(name: str, workdir: Path, variants: int) -> dict:
    t0 = time.perf_counter()
    if name == "generate":
        from musclecog.simulate.gwas import TRAITS, simulate_grip_cognition, write_gwas_table

        for n, tag in ((variants, ""), (variants // 2, "_5m")):
            if all((workdir / f"{t}{tag}.tsv.gz").exists() for t in TRAITS):
                continue
            pair = simulate_grip_cognition(2026, n_variants=n)
            for t in TRAITS:
                write_gwas_table(pair.tables[t], workdir / f"{t}{tag}.tsv.gz")
            del pair
    elif name == "full":
        from musclecog.mr.analysis import MRSettings
        from musclecog.mr.gwas import GwasSpec, standardise, write_standardised
        from musclecog.mr.pipeline import run_pair

        specs = {"grip": {"units": "SD"}, "cognitive_impairment": {"type": "binary", "prevalence": 0.15}}
        for trait, extra in specs.items():
            spec = GwasSpec.from_config(trait, {"path": str(workdir / f"{trait}.tsv.gz"), **extra})
            res = standardise(spec)
            write_standardised(res, workdir / f"{trait}.parquet")
            del res
        for e, o in (("grip", "cognitive_impairment"), ("cognitive_impairment", "grip")):
            run_pair(workdir / f"{e}.parquet", workdir / f"{o}.parquet", {"steiger_filter": True},
                     MRSettings(), seed=1)
    elif name == "second":
        from musclecog.mr.analysis import MRSettings
        from musclecog.mr.pipeline import run_pair

        run_pair(workdir / "grip.parquet", workdir / "cognitive_impairment.parquet",
                 {"steiger_filter": True, "p_threshold": 1e-10}, MRSettings(), seed=2)
    elif name == "harmonise_5m":
        from musclecog.mr.gwas import GwasSpec, standardise
        from musclecog.mr.harmonise import harmonise_arrow

        tables = [standardise(GwasSpec(name=t, path=str(workdir / f"{t}_5m.tsv.gz"))).table
                  for t in ("grip", "cognitive_impairment")]
        out = harmonise_arrow(*tables)
        assert len(out) > 0.9 * variants // 2
    elif name == "pandas_5m":
        import pandas as pd

        a = pd.read_csv(workdir / "grip_5m.tsv.gz", sep="\t")
        b = pd.read_csv(workdir / "cognitive_impairment_5m.tsv.gz", sep="\t")
        merged = a.merge(b, on="variant_id", suffixes=(".exposure", ".outcome"))
        assert len(merged) > 0.9 * variants // 2
    else:
        raise SystemExit(f"unknown step {name}")
    wall = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {"step": name, "wall_s": round(wall, 2), "peak_gb": round(peak_gb, 2)}


def _run(name: str, workdir: Path, variants: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--step", name, "--dir", str(workdir), "--variants", str(variants)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mr_bench"))
    parser.add_argument("--step")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.step:
        print(json.dumps(_step(args.step, args.dir, args.variants)))
        return
    gen = _run("generate", args.dir, args.variants)
    print(f"generated test files in {args.dir} ({gen['wall_s']} s, not part of the benchmark)")
    rows = [_run(s, args.dir, args.variants) for s in ("full", "second", "harmonise_5m", "pandas_5m")]
    targets = {"full": "< 60 s, < 3 GB", "second": "< 5 s", "harmonise_5m": "", "pandas_5m": "baseline"}
    print(f"{'step':<14}{'wall (s)':>10}{'peak (GB)':>11}  target")
    for r in rows:
        print(f"{r['step']:<14}{r['wall_s']:>10.2f}{r['peak_gb']:>11.2f}  {targets[r['step']]}")
    ours, base = rows[2], rows[3]
    print(f"full harmonisation of {args.variants // 2:,} variants: ours {ours['wall_s']:.1f} s / {ours['peak_gb']:.2f} GB "
          f"vs pandas read_csv+merge {base['wall_s']:.1f} s / {base['peak_gb']:.2f} GB "
          f"-> {base['wall_s'] / ours['wall_s']:.1f}x faster, {base['peak_gb'] / ours['peak_gb']:.1f}x less memory")


if __name__ == "__main__":
    main()
