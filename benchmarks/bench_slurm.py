"""The default pipeline through SLURM next to a local ``--cores 2`` run; scheduling overhead per job.

Usage: ``.venv/bin/python benchmarks/bench_slurm.py [--keep] [--default-polling]``

Starts the single-node cluster of ``scripts/slurm_local_cluster.sh`` (or reuses it when already running in
``MUSCLECOG_SLURM_DIR``), runs the default pipeline locally with ``--cores 2`` and then with the SLURM profile
(``profiles/slurm`` with the partition filled in, squeue for status, no account), each into its own results
directory under ``benchmarks/out/slurm`` (requests capped to the node: half its memory, its CPUs), and prints:

- wall time of each run and their ratio;
- the number of cluster jobs, their summed work (the rules' ``benchmark:`` seconds) and, from squeue, the
  mean queue wait (submit -> start) and the mean job overhead inside SLURM (job run time minus the rule's own
  seconds: the Snakemake interpreter started in the batch job and in its step);
- the end-to-end scheduling overhead per job: (SLURM wall - local wall) / number of cluster jobs;
- peak memory (max RSS) of the Snakemake process of each run (cluster jobs run under slurmd, not counted).

By default status is polled every second, as in the test (``--default-polling`` keeps the plugin's defaults,
40 s before the first check, which suit a busy production cluster). The machine may be shared: the figures
are what was measured, under whatever load there was.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm_local_cluster.sh"
PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
OUT = REPO / "benchmarks" / "out" / "slurm"
# a cluster already running in MUSCLECOG_SLURM_DIR is reused; otherwise a fresh state dir (the script's rule)
STATE = Path(os.environ.get("MUSCLECOG_SLURM_DIR") or tempfile.mkdtemp(prefix="musclecog-slurm."))


def run(cmd: list[str], env: dict[str, str], log_path: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the command's process tree, and its output; exits when it fails."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = log_path.read_text()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{output[-8000:]}")
    return wall, usage.ru_maxrss / 1024, output


def benchmark_seconds(results: Path) -> float:
    total = 0.0
    for path in (results / "benchmarks").rglob("*.tsv"):
        with path.open() as handle:
            total += sum(float(row["s"]) for row in csv.DictReader(handle, delimiter="\t"))
    return total


def squeue_times(run_id: str, env: dict[str, str]) -> list[tuple[datetime, datetime, datetime]]:
    """(submit, start, end) of every job of the run, from squeue (finished jobs stay for MinJobAge)."""
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%V|%S|%e"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = []
    for line in out.split():
        submit, start, end = (datetime.fromisoformat(value) for value in line.split("|"))
        rows.append((submit, start, end))
    return rows


def capped_profile(env: dict[str, str]) -> str:
    """The shipped profile, partition `debug`, requests capped to this node (half its memory, its CPUs)."""
    cpus, mem = map(int, subprocess.run(
        ["sinfo", "-h", "-N", "-p", "debug", "-o", "%c %m"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()[:2])  # fmt: skip
    settings = yaml.safe_load(PROFILE.read_text().replace("FILL_IN_PARTITION", "debug"))
    for resources in [settings["default-resources"], *settings["set-resources"].values()]:
        if "mem_mb" in resources:
            resources["mem_mb"] = min(int(resources["mem_mb"]), mem // 2)
        if "cpus_per_task" in resources:
            resources["cpus_per_task"] = min(int(resources["cpus_per_task"]), cpus)
    return yaml.safe_dump(settings, sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the cluster running afterwards")
    parser.add_argument(
        "--default-polling", action="store_true", help="keep the plugin's status-check timing"
    )
    args = parser.parse_args()

    env = dict(os.environ, MUSCLECOG_SLURM_DIR=str(STATE))
    already = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True).returncode == 0
    if not already:
        subprocess.run([str(SCRIPT), "start"], env=env, check=True)
    env["SLURM_CONF"] = str(STATE / "slurm.conf")
    env["PATH"] = f"{STATE / 'bin'}{os.pathsep}{env['PATH']}"  # job steps reach this cluster (script header)
    try:
        shutil.rmtree(OUT, ignore_errors=True)
        profile = OUT / "profile"
        profile.mkdir(parents=True)
        (profile / "config.yaml").write_text(capped_profile(env))

        local_cmd = [str(SNAKEMAKE), "--nolock", "--cores", "2", "--config", f"results_dir={OUT / 'local'}"]
        local_wall, local_rss, _ = run(local_cmd, env, OUT / "local.log")

        slurm_cmd = [
            str(SNAKEMAKE), "--nolock", "--workflow-profile", str(profile),
            "--slurm-status-command", "squeue", "--slurm-no-account",
            "--slurm-logdir", str(OUT / "slurm_logs"),
            "--config", f"results_dir={OUT / 'slurm'}",
        ]  # fmt: skip
        if not args.default_polling:
            slurm_cmd += [
                "--slurm-init-seconds-before-status-checks",
                "1",
                "--seconds-between-status-checks",
                "1",
            ]
        slurm_wall, slurm_rss, log = run(slurm_cmd, env, OUT / "slurm.log")

        run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
        jobs = squeue_times(run_id, env)
        n = len(jobs)
        work = benchmark_seconds(OUT / "slurm")
        queue_wait = sum((start - submit).total_seconds() for submit, start, _ in jobs) / n
        in_slurm = sum((end - start).total_seconds() for _, start, end in jobs)
        print(
            f"default pipeline, {n} cluster jobs; machine: {os.cpu_count()} CPUs (shared, loaded by others)"
        )
        print(f"local --cores 2     wall {local_wall:7.1f} s   peak RSS {local_rss:6.0f} MB")
        print(
            f"SLURM (1 node)      wall {slurm_wall:7.1f} s   peak RSS {slurm_rss:6.0f} MB (submitting process)"
        )
        print(f"ratio SLURM/local   {slurm_wall / local_wall:.2f}")
        print(f"rules' own work     {work:7.1f} s in total ({work / n:.2f} s per job, benchmark files)")
        print(f"queue wait          {queue_wait:7.2f} s per job (submit -> start, squeue, 1 s resolution)")
        print(
            f"overhead in job     {(in_slurm - work) / n:7.2f} s per job (SLURM run time - rule's own time)"
        )
        print(
            f"end-to-end overhead {(slurm_wall - local_wall) / n:7.2f} s per job ((SLURM wall - local wall) / jobs)"
        )
        polling = "plugin defaults" if args.default_polling else "every 1 s"
        print(f"status polling: {polling}")
    finally:
        if not already and not args.keep:
            subprocess.run([str(SCRIPT), "stop"], env=env, check=False)


if __name__ == "__main__":
    main()
