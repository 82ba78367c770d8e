"""Kill and resume (issue 18): a run killed part way (SIGKILL to Snakemake's whole process group, as a power
cut or an out-of-memory kill would) is resumed the way the README says, and every result table then equals
the uninterrupted run's: the committed golden tables (tests/golden, checked against a fresh uninterrupted run
by test_golden_tables.py), compared exactly for counts and labels and to 1e-8 relative for numbers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from runner import REPO, SNAKEMAKE

from musclecog.golden import compare_results, result_tables

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _cmd(results: Path, *extra: str) -> list[str]:
    # with locking (no --nolock): the lock a kill leaves behind is part of what is tested
    return [str(SNAKEMAKE), "--cores", "2", *extra, "--config", f"results_dir={results}", "allow_outside=True"]


def _run(results: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(_cmd(results, *extra), cwd=REPO, capture_output=True, text=True, env=env, timeout=1800)


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_tables(tmp_path):
    results = tmp_path / "results"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    log = (tmp_path / "killed.log").open("w")
    proc = subprocess.Popen(_cmd(results), cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        # kill once the cohorts are built and the first analyses are done: jobs are running, most are not
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((results / "estimates").glob("*.tsv"))) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the pipeline ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    done_before = len(list(results.rglob("*.tsv")))
    assert done_before < len(list(result_tables(GOLDEN))), "nothing was left to resume"

    # Snakemake 9 leaves its lock behind: a plain rerun stops and names --unlock (README "Resuming after a kill")
    blocked = _run(results)
    assert blocked.returncode != 0
    assert "--unlock" in blocked.stderr and "cannot be locked" in blocked.stderr

    unlocked = _run(results, "--unlock")
    assert unlocked.returncode == 0, unlocked.stderr[-3000:]
    resumed = _run(results)
    assert resumed.returncode == 0, resumed.stderr[-5000:]

    problems = compare_results(GOLDEN, results, rtol=1e-8)
    assert not problems, "after a kill and resume the tables differ from the uninterrupted run:\n" + "\n".join(
        problems[:40]
    )
