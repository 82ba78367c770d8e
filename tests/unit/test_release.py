"""Release metadata: one version everywhere, a valid-looking citation file, the licence pyproject names."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import musclecog

REPO = Path(__file__).resolve().parents[2]


def test_version_is_single_sourced():
    """pyproject reads the version from musclecog.__version__; CITATION.cff and the changelog repeat it."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "musclecog.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", musclecog.__version__)
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert str(citation["version"]) == musclecog.__version__
    assert f"## {musclecog.__version__} " in (REPO / "CHANGELOG.md").read_text()


def test_citation_file_names_the_review_and_the_licence():
    """CFF 1.2.0 keys the format requires, the MIT licence of pyproject and LICENSE, the review as a reference."""
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(citation)
    assert citation["license"] == "MIT" == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"]["text"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    (review,) = citation["references"]
    assert review["year"] == 2026 and "muscle-brain axis" in review["title"]
    assert {"title", "authors", "type"} <= set(review)


def test_benchmark_table_help_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "benchmark_table.py"), "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout and "results_dir" in proc.stdout and "Traceback" not in proc.stderr
