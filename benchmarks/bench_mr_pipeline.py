"""Benchmark: the MR data path on genome-wide files, against a plain pandas baseline.

1. ``full``: two synthetic GWAS of 10 million variants each (gzip TSV, GWAS-SSF columns, written once to --dir):
   read + standardise both (pyarrow), write the standardised parquet (then hand freed arrow memory back to the
   OS, as the separate Snakemake jobs of the pipeline do by ending), then for each direction select instruments,
   look them up in the outcome, harmonise (with Steiger filtering) and run the full estimator and sensitivity suite
   (default MRSettings: 1000 bootstraps, MR-PRESSO 1000). Target < 60 s, < 3 GB.
2. ``second``: another pair (p <= 1e-10) reusing the standardised parquet files. Target < 5 s, counted from the
   start of the Python process (start-up and imports included, as a Snakemake job pays them).
3. ``harmonise_5m`` vs ``pandas_5m``: two 5-million-variant files harmonised in full, ours (pyarrow read +
   standardise + :func:`musclecog.mr.harmonise.harmonise_arrow`) against a plain pandas ``read_csv`` + ``merge``
   on the variant id (no harmonisation at all) on the same files, in the same run.

Each step runs in its own Python process. Per stage: wall time, CPU time (all threads; less sensitive to other
users of a shared machine than wall time) and the peak resident memory during the stage (a thread samples
``/proc/self/statm`` every 2 ms); per step: the process wall time (start-up included) and its peak resident memory
(``ru_maxrss``). Usage: ``.venv/bin/python benchmarks/bench_mr_pipeline.py [--variants 10000000] [--dir DIR]``.
The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


class Stages:
    """Wall time, CPU time and peak RSS of named stages (a sampling thread tracks the current RSS)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * PAGE

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._peak = max(self._peak, self._rss())

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self._peak = self._rss()
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self._peak = max(self._peak, self._rss())
            self.rows.append({"stage": name, "wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c,
                              "peak_gb": self._peak / 1024**3})

    def prefixed(self, prefix: str):
        return lambda name: self(f"{prefix}{name}")


def _generate(workdir: Path, variants: int, stages: Stages) -> None:
    from musclecog.simulate.gwas import TRAITS, simulate_grip_cognition, write_gwas_table

    for n, tag in ((variants, ""), (variants // 2, "_5m")):
        if all((workdir / f"{t}{tag}.tsv.gz").exists() for t in TRAITS):
            continue
        pair = simulate_grip_cognition(2026, n_variants=n)
        for t in TRAITS:
            write_gwas_table(pair.tables[t], workdir / f"{t}{tag}.tsv.gz")
        del pair


def _full(workdir: Path, variants: int, stages: Stages) -> None:
    import pyarrow as pa

    from musclecog.mr.analysis import MRSettings
    from musclecog.mr.gwas import GwasSpec, standardise, write_standardised
    from musclecog.mr.pipeline import PairRun, run_pair

    specs = {"grip": {"units": "SD"}, "cognitive_impairment": {"type": "binary", "prevalence": 0.15}}
    for trait, extra in specs.items():
        spec = GwasSpec.from_config(trait, {"path": str(workdir / f"{trait}.tsv.gz"), **extra})
        with stages(f"{trait}: read+standardise"):
            res = standardise(spec)
        with stages(f"{trait}: write parquet"):
            write_standardised(res, workdir / f"{trait}.parquet")
            del res
            pa.default_memory_pool().release_unused()
    for e, o in (("grip", "cognitive_impairment"), ("cognitive_impairment", "grip")):
        run_pair(workdir / f"{e}.parquet", workdir / f"{o}.parquet", {"steiger_filter": True},
                 MRSettings(), seed=1, run=PairRun(stage=stages.prefixed(f"{e} -> {o}: ")))


def _second(workdir: Path, variants: int, stages: Stages) -> None:
    from musclecog.mr.analysis import MRSettings
    from musclecog.mr.pipeline import PairRun, run_pair

    run_pair(workdir / "grip.parquet", workdir / "cognitive_impairment.parquet",
             {"steiger_filter": True, "p_threshold": 1e-10}, MRSettings(), seed=2,
             run=PairRun(stage=stages.prefixed("grip -> cognitive_impairment: ")))


def _harmonise_5m(workdir: Path, variants: int, stages: Stages) -> None:
    from musclecog.mr.gwas import GwasSpec, standardise
    from musclecog.mr.harmonise import harmonise_arrow

    tables = []
    for t in ("grip", "cognitive_impairment"):
        with stages(f"{t}: read+standardise"):
            tables.append(standardise(GwasSpec(name=t, path=str(workdir / f"{t}_5m.tsv.gz"))).table)
    with stages("harmonise_arrow (join + alleles)"):
        out = harmonise_arrow(*tables)
    assert len(out) > 0.9 * variants // 2


def _pandas_5m(workdir: Path, variants: int, stages: Stages) -> None:
    import pandas as pd

    frames = []
    for t in ("grip", "cognitive_impairment"):
        with stages(f"{t}: pandas read_csv"):
            frames.append(pd.read_csv(workdir / f"{t}_5m.tsv.gz", sep="\t"))
    with stages("pandas merge on variant_id"):
        merged = frames[0].merge(frames[1], on="variant_id", suffixes=(".exposure", ".outcome"))
    assert len(merged) > 0.9 * variants // 2


STEPS = {"generate": _generate, "full": _full, "second": _second, "harmonise_5m": _harmonise_5m,
         "pandas_5m": _pandas_5m}


def _step(name: str, workdir: Path, variants: int) -> dict:
    stages = Stages()
    t0 = time.perf_counter()
    if name not in STEPS:
        raise SystemExit(f"unknown step {name}")
    STEPS[name](workdir, variants, stages)
    stages._stop.set()
    return {"step": name, "work_s": time.perf_counter() - t0, "cpu_s": time.process_time(),
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, "stages": stages.rows}


def _run(name: str, workdir: Path, variants: int) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--step", name, "--dir", str(workdir), "--variants", str(variants)],
        capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    return out


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
    print(f"test files in {args.dir} ({gen['wall_s']:.1f} s to generate, not part of the benchmark); "
          f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    steps = ("full", "second", "harmonise_5m", "pandas_5m")
    targets = {"full": "target < 60 s, < 3 GB", "second": "target < 5 s", "harmonise_5m": "ours",
               "pandas_5m": "baseline"}
    rows = {}
    for s in steps:
        rows[s] = r = _run(s, args.dir, args.variants)
        print(f"\n== {s}: {r['wall_s']:.2f} s wall (process, start-up included), {r['cpu_s']:.2f} s CPU, "
              f"peak {r['peak_gb']:.2f} GB  [{targets[s]}]")
        print(f"   {'stage':<52}{'wall (s)':>9}{'cpu (s)':>9}{'peak (GB)':>11}")
        for st in r["stages"]:
            print(f"   {st['stage']:<52}{st['wall_s']:>9.2f}{st['cpu_s']:>9.2f}{st['peak_gb']:>11.2f}")
        other = r["wall_s"] - sum(st["wall_s"] for st in r["stages"])
        print(f"   {'(start-up, imports, rest)':<52}{other:>9.2f}")
    ours, base = rows["harmonise_5m"], rows["pandas_5m"]
    print(f"\nfull harmonisation of {args.variants // 2:,} variants: ours {ours['wall_s']:.1f} s / {ours['peak_gb']:.2f} GB "
          f"vs pandas read_csv+merge {base['wall_s']:.1f} s / {base['peak_gb']:.2f} GB "
          f"-> {base['wall_s'] / ours['wall_s']:.1f}x faster, {base['peak_gb'] / ours['peak_gb']:.1f}x less memory "
          f"(CPU time {base['cpu_s'] / ours['cpu_s']:.1f}x less)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
