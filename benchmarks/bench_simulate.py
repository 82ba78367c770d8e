"""CPU time of building each synthetic cohort and writing each synthetic GWAS file of the default config, against a
baseline commit, and a check that both produce the same data.

What is timed is what a job does: a cohort job (``workflow/scripts/fit_analysis.py``) calls
:func:`musclecog.ingest.build_cohort` (the design's simulation, then the same cleaning as a real table); a GWAS job
(``workflow/scripts/simulate_gwas.py``) calls :func:`musclecog.simulate.gwas.write_simulated_gwas`, which simulates
the pair and writes one trait's gzip file. Each measurement runs in a fresh process (as a job does; a cache such
as the NHANES Monte Carlo truth's starts empty), which imports the modules first and then reports
``time.process_time()`` (user + system CPU of the process) around the one call; the table shows the minimum over
``--repeats`` processes. The baseline (``--baseline-ref``, default ``d7bb6d4``) is ``git archive REF`` run with that
tree's own ``src/``, alternated with this tree's runs so that both see the same machine load.

The first process of each variant also writes its outputs (after the timed call): each cohort's table as parquet
and its truth table, each GWAS file. They are compared between the variants: the cohort tables read back and
compared with ``pandas.testing.assert_frame_equal(check_exact=True)``, the truth tables and the GWAS files'
decompressed text byte for byte. Usage::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_simulate.py [--repeats 3] [--baseline-ref d7bb6d4]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from bench_default_run import export_tree  # benchmarks/ is the script's folder

REPO = Path(__file__).resolve().parents[1]


def _config() -> dict[str, Any]:
    with open(REPO / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def worker(kind: str, name: str, out: str) -> None:
    """One timed call (this tree's or the baseline's ``musclecog``, whichever is on PYTHONPATH); prints JSON."""
    from musclecog.ingest import build_cohort, write_cohort
    from musclecog.results import write_table
    from musclecog.seeds import derive_seed
    from musclecog.simulate import designs
    from musclecog.simulate.gwas import DESIGN_TRAITS, GWAS_FAMILY, write_simulated_gwas

    designs()  # imports every design module before the clock starts
    cfg = _config()
    if kind == "cohort":
        spec = cfg["cohorts"][name]
        seed = derive_seed(cfg["seed"], "cohort", name)
        min_cell = cfg["disclosure"]["min_cell"]
        t0 = time.process_time()
        cohort = build_cohort(name, spec, seed=seed, min_cell=min_cell)
        cpu = time.process_time() - t0
        if out:
            write_cohort(cohort, {"data": f"{out}/{name}.parquet", "truth": f"{out}/{name}.truth.tsv"})
    else:
        sim = cfg["gwas"][name]["simulate"]
        seed = derive_seed(cfg["seed"], "gwas", GWAS_FAMILY)
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{out or tmp}/{name}.tsv.gz"
            t0 = time.process_time()
            pair = write_simulated_gwas(
                DESIGN_TRAITS[sim["design"]], path, seed=seed, n_variants=sim.get("n_variants"),
                params=sim.get("params"),
            )
            cpu = time.process_time() - t0
        if out:
            write_table(pair.truth, f"{out}/{name}.truth.tsv")
    print(json.dumps({"cpu_s": cpu}))


def run_worker(tree: Path, kind: str, name: str, out: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, name, out], cwd=tree, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {name} in {tree} failed:\n{proc.stderr[-4000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["cpu_s"])


def compare(kind: str, name: str, a: Path, b: Path) -> str:
    """'identical', or raises: the outputs of the two variants for one cohort or trait."""
    if kind == "cohort":
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / f"{name}.parquet"), pd.read_parquet(b / f"{name}.parquet"), check_exact=True
        )
    else:
        if gzip.decompress((a / f"{name}.tsv.gz").read_bytes()) != gzip.decompress((b / f"{name}.tsv.gz").read_bytes()):
            raise AssertionError(f"GWAS {name}: the decompressed files differ")
    if (a / f"{name}.truth.tsv").read_bytes() != (b / f"{name}.truth.tsv").read_bytes():
        raise AssertionError(f"{kind} {name}: the truth tables differ")
    return "identical"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="processes per variant and task (minimum CPU)")
    parser.add_argument("--baseline-ref", default="d7bb6d4", help="git commit or branch to compare with")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "NAME", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    cfg = _config()
    tasks = [("cohort", c) for c, s in cfg["cohorts"].items() if "simulate" in s]
    tasks += [("gwas", t) for t, s in (cfg.get("gwas") or {}).items() if "simulate" in s]
    with tempfile.TemporaryDirectory(prefix="bench_simulate_") as tmp:
        base_tree = export_tree(args.baseline_ref, Path(tmp) / "baseline")
        trees = {"baseline": base_tree, "this tree": REPO}
        outs = {v: Path(tmp) / f"out_{i}" for i, v in enumerate(trees)}
        for d in outs.values():
            d.mkdir()
        cpu: dict[tuple[str, str, str], list[float]] = {}
        for kind, name in tasks:
            for rep in range(args.repeats):
                for variant, tree in trees.items():
                    out = str(outs[variant]) if rep == 0 else ""
                    cpu.setdefault((variant, kind, name), []).append(run_worker(tree, kind, name, out))
        print(f"CPU seconds (time.process_time in the job's process, min of {args.repeats}); "
              f"baseline {args.baseline_ref}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        print(f"{'task':<44} {'baseline':>9} {'this tree':>9} {'saved':>7}  data")
        totals = [0.0, 0.0]
        for kind, name in tasks:
            before, after = min(cpu[("baseline", kind, name)]), min(cpu[("this tree", kind, name)])
            totals[0] += before
            totals[1] += after
            label = f"build_cohort {name}" if kind == "cohort" else f"write_simulated_gwas {name}"
            same = compare(kind, name, outs["baseline"], outs["this tree"])
            print(f"{label:<44} {before:>9.3f} {after:>9.3f} {before - after:>7.3f}  {same}")
        print(f"{'total':<44} {totals[0]:>9.3f} {totals[1]:>9.3f} {totals[0] - totals[1]:>7.3f}")


if __name__ == "__main__":
    main()
