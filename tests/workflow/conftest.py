"""One run of the default pipeline per test session, shared by the end-to-end tests that read its tables
(completeness, byte-identical repeat, golden tables, SLURM comparison): each run costs minutes on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner import run_snakemake


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results folder of one complete run of the default config (``snakemake --cores 2``)."""
    results = tmp_path_factory.mktemp("default_run") / "results"
    proc = run_snakemake(results)
    if proc.returncode != 0:
        pytest.fail(f"the default pipeline failed:\n{proc.stderr[-5000:]}")
    return results
