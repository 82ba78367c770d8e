"""Wall time, CPU time, peak memory and job count of the default run (issue 20), against a baseline in the same process.

Each run is ``snakemake --cores N --profile profiles/default`` on ``config/config.yaml`` into a fresh results
folder, started from a small wrapper process that reports the CPU time (user + sys) and the largest peak RSS of
everything it waited for (Snakemake and every job's script). On a loaded machine the wall time says little and
the CPU time is the figure to compare; on an idle 2-core machine, the wall time is issue 20's target (< 20 s).

The baseline (``--baseline-ref REF``) is the same run of another commit's files (``git archive REF``, run with
that tree's own ``src/``), alternated with this tree's run so that both see the same machine load::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_default_run.py --repeats 3 --baseline-ref main
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

# Runs the command it is given and prints, as its last line, the wall time and the rusage of its children.
WRAPPER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(proc.stdout + proc.stderr)
print(json.dumps({"rc": proc.returncode, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
                  "peak_mb": ru.ru_maxrss / 1024}))
"""


def one_run(tree: Path, cores: int, extra: list[str]) -> dict[str, Any]:
    """One default run of the workflow in ``tree`` into a fresh results folder."""
    with tempfile.TemporaryDirectory(prefix="bench_default_run_") as tmp:
        results = Path(tmp) / "results"
        cmd = [str(SNAKEMAKE), "--nolock", "--cores", str(cores), "--profile", "profiles/default", *extra,
               "--config", f"results_dir={results}", "allow_outside=True"]
        env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONHASHSEED": "0",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], cwd=tree, env=env, capture_output=True,
                              text=True)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        if out["rc"] != 0:
            raise SystemExit(f"the default run in {tree} failed:\n{proc.stderr[-4000:]}")
        # Snakemake's "Job stats" table ends in "total  N" (the `all` target included; it runs no process)
        totals = re.findall(r"^total\s+(\d+)\s*$", proc.stderr, flags=re.M)
        out["jobs"] = int(totals[0]) - 1 if totals else -1
        return out


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of wall and CPU time, the largest single-process peak memory, the job count."""
    return {"wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "peak_mb": max(r["peak_mb"] for r in runs), "jobs": runs[0]["jobs"],
            "walls": [round(r["wall_s"], 1) for r in runs]}


def export_tree(ref: str, dest: Path) -> Path:
    """The files of commit ``ref`` of this repository, written to ``dest`` (no git metadata touched)."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each variant (median wall/CPU time)")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (issue 20: 2)")
    parser.add_argument("--baseline-ref", help="a git commit or branch to run as the baseline (e.g. main)")
    parser.add_argument("--snakemake-args", default="", help="extra arguments for this tree's runs")
    args = parser.parse_args()
    variants: dict[str, tuple[Path, list[str]]] = {"this tree": (REPO, args.snakemake_args.split())}
    with tempfile.TemporaryDirectory(prefix="bench_default_ref_") as tmp:
        if args.baseline_ref:
            variants[f"baseline {args.baseline_ref}"] = (export_tree(args.baseline_ref, Path(tmp)), [])
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, (tree, extra) in variants.items():
                runs[name].append(one_run(tree, args.cores, extra))
    print(f"default run, snakemake --cores {args.cores}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'variant':<22} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'jobs':>5}  walls")
    for name, rs in runs.items():
        s = summary(rs)
        print(f"{name:<22} {s['wall_s']:>8.1f} {s['cpu_s']:>8.1f} {s['peak_mb']:>8.0f} {s['jobs']:>5}  {s['walls']}")


if __name__ == "__main__":
    main()
