"""Provenance of a run: resolved config, package versions, input checksums, seed, start and end time, and the
git commit (with its dirty state) of the workflow source that ran."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from musclecog import __version__

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


def _git(source_dir: Path, *args: str) -> str:
    """Output of one git command in ``source_dir`` (raises CalledProcessError / OSError on failure)."""
    return subprocess.run(
        ["git", "-C", str(source_dir), *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout.rstrip("\n")


def _git_blob_id(path: Path) -> str:
    """git's object id of a file's content (``git hash-object``): SHA-1 of ``blob <size>\\0<content>``."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _exported_source(source: Path) -> dict[str, Any] | None:
    """The record of a remote module source exported by the Snakefile (``MUSCLECOG_SOURCE.json``), if any:
    its commit, the ref asked for, and whether a file differs from the commit's (``blobs``: git's id of each
    file at export), as ``git status --porcelain`` would list it (`` M`` changed, `` D`` deleted)."""
    marker = source / "MUSCLECOG_SOURCE.json"
    if not marker.is_file():
        return None
    record = json.loads(marker.read_text())
    modified = []
    for name, blob in sorted(record.get("blobs", {}).items()):
        path = source / name
        if not path.is_file():
            modified.append(f" D {name}")
        elif _git_blob_id(path) != blob:
            modified.append(f" M {name}")
    dirty = bool(modified)
    return {"commit": record["commit"], "describe": record["ref"] + ("-dirty" if dirty else ""), "dirty": dirty,
            "modified": modified[:50], "exported_from": record["uri"]}


def git_state(source_dir: str | Path) -> dict[str, Any]:
    """The git commit of the workflow source and whether its tracked files differ from it.

    Parameters
    ----------
    source_dir : path
        The folder the workflow ran from (its ``Snakefile`` directory, ``workflow.basedir``).

    Returns
    -------
    dict
        ``commit`` (40 hex digits), ``describe`` (``git describe --tags --always --dirty``), ``dirty``
        (True when a tracked file is modified or staged; untracked files do not count) and
        ``modified`` (the porcelain status lines of those files, at most 50). When the source is not a git
        checkout (e.g. an unpacked release archive) or git is not installed, ``commit`` and ``dirty`` are None
        and ``reason`` says why. A folder exported from a remote module source (the workflow's
        ``.snakemake/musclecog-source/<commit>/``, with its ``MUSCLECOG_SOURCE.json``) gives that commit, the
        ref it was asked for as ``describe``, ``dirty`` (a file edited or deleted since the export, by git's
        blob ids) and ``exported_from``.
    """
    source = Path(source_dir)
    exported = _exported_source(source)
    if exported is not None:
        return exported
    if shutil.which("git") is None:
        return {"commit": None, "dirty": None, "reason": "git is not installed"}
    try:
        commit = _git(source, "rev-parse", "HEAD")
        status = _git(source, "status", "--porcelain", "--untracked-files=no").splitlines()
        describe = _git(source, "describe", "--tags", "--always", "--dirty")
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        return {"commit": None, "dirty": None, "reason": f"{source} is not a git checkout ({detail.strip()})"}
    return {"commit": commit, "describe": describe, "dirty": bool(status), "modified": status[:50]}


def build_provenance(
    config: Mapping[str, Any],
    input_files: Iterable[str | Path],
    started: str | None,
    ended: datetime | None = None,
    source_dir: str | Path | None = None,
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
    source_dir : path, optional
        The workflow source (``workflow.basedir``): its git commit and dirty state are recorded under
        ``source`` (see :func:`git_state`); omitted when None.

    Returns
    -------
    dict
    """
    files = {}
    for f in sorted({str(p) for p in input_files}):
        p = Path(f)
        files[f] = {"sha256": sha256(p), "bytes": p.stat().st_size} if p.is_file() else {"sha256": None, "missing": True}
    record: dict[str, Any] = {
        "musclecog_version": __version__,
        "musclecog_library": str(Path(__file__).resolve().parent),
        "seed": config.get("seed"),
        "started": started,
        "ended": (ended or datetime.now(UTC)).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "input_files": files,
        "config": config,
    }
    if source_dir is not None:
        record["source"] = {"path": str(source_dir), **git_state(source_dir)}
    return record


def write_provenance(record: Mapping[str, Any], path: str | Path) -> None:
    """Write a provenance record as indented JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
