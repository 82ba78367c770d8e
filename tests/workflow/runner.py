"""Running the workflow from tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def run_snakemake(
    results: Path, *extra: str, cores: int = 2, timeout: int = 1800, config: dict[str, object] | None = None
) -> subprocess.CompletedProcess:
    """Run the workflow in the repository into ``results`` (no lock: runs may share the tree).

    ``config`` adds ``--config key=value`` overrides (one ``--config`` flag: a second one would replace the first).
    """
    overrides = [f"{key}={value}" for key, value in (config or {}).items()]
    cmd = [str(SNAKEMAKE), "--nolock", "--cores", str(cores), *extra, "--config", f"results_dir={results}", *overrides]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=timeout)
