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
    cmd = [str(SNAKEMAKE), "--nolock", "--cores", str(cores), *extra, "--config", f"results_dir={results}", "allow_outside=True", *overrides]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=timeout)


def result_tables(results: Path) -> dict[str, bytes]:
    """Every .tsv and .parquet result except timings and logs, with the results folder's path masked.

    A table may name a file it read inside the results folder (e.g. a simulated GWAS file), so the folder's
    own path is replaced by ``<results_dir>``; parquet files are compared by data, schema and key-value
    metadata, not by their bytes.
    """
    import pyarrow.parquet as pq

    root = str(results).encode()
    tables = {}
    for path in sorted(results.rglob("*")):
        rel = path.relative_to(results)
        if rel.parts[0] in ("benchmarks", "logs") or path.suffix not in (".tsv", ".parquet"):
            continue
        if path.suffix == ".tsv":
            tables[str(rel)] = path.read_bytes().replace(root, b"<results_dir>")
        else:
            table = pq.read_table(path)
            meta = b"".join(k + b"=" + v for k, v in sorted((table.schema.metadata or {}).items()))
            body = table.replace_schema_metadata(None).to_pandas().to_csv(index=False).encode()
            tables[str(rel)] = meta.replace(root, b"<results_dir>") + b"\n" + body
    return tables
