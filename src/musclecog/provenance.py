"""Provenance of a run: resolved config, package versions, input checksums, seed, start and end time."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES: tuple[str, ...] = (
    "musclecog",
    "snakemake",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "statsmodels",
    "lifelines",
    "linearmodels",
    "matplotlib",
    "pyreadstat",
    "jsonschema",
)


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages a run depends on ('not installed' when absent)."""
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_provenance(
    config: Mapping[str, Any],
    input_files: Iterable[str | Path],
    started: str | None,
    ended: datetime | None = None,
) -> dict[str, Any]:
    """Everything needed to say how a run's results were made.

    Parameters
    ----------
    config : mapping
        The resolved configuration (after validation and placeholder substitution).
    input_files : iterable of paths
        Input data and resource files; each is checksummed (missing files are listed as such).
    started : str or None
        ISO time the run started (written by the workflow's ``onstart`` handler).
    ended : datetime, optional
        Defaults to now (UTC).

    Returns
    -------
    dict
    """
    files = {}
    for f in sorted({str(p) for p in input_files}):
        p = Path(f)
        files[f] = {"sha256": sha256(p), "bytes": p.stat().st_size} if p.is_file() else {"sha256": None, "missing": True}
    return {
        "seed": config.get("seed"),
        "started": started,
        "ended": (ended or datetime.now(UTC)).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "input_files": files,
        "config": config,
    }


def write_provenance(record: Mapping[str, Any], path: str | Path) -> None:
    """Write a provenance record as indented JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
