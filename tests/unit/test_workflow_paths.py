"""Paths the workflow reads are found from the workflow's own folder, not from the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from musclecog.config import schema_dir, substitute_placeholders, workflow_dir
from musclecog.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_workflow_dir_is_the_clone_of_this_library():
    assert workflow_dir() == REPO
    assert (workflow_dir() / "Snakefile").is_file() and schema_dir() == REPO / "workflow" / "schemas"


def test_workflow_dir_placeholder_is_built_in_and_can_be_set():
    """{workflow_dir} needs no config key; a config that sets it wins; other placeholders still must be set."""
    assert substitute_placeholders("{workflow_dir}/resources/x.tsv", {}, "targets") == f"{REPO}/resources/x.tsv"
    assert substitute_placeholders("{workflow_dir}/r.tsv", {"workflow_dir": "/elsewhere"}, "targets") == "/elsewhere/r.tsv"
    with pytest.raises(ConfigError, match="nhanes_dir"):
        substitute_placeholders("{nhanes_dir}/DEMO_G.XPT", {}, "cohorts.n.tables[0].path")


def test_rules_resolve_nothing_from_the_working_directory():
    """No rule file names a workflow folder relative to the working directory, and no rule declares conda.

    (`include:` paths are Snakemake's, relative to the including file, and allowed.)"""
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("include:"))
        for relative in ('"workflow/', '"resources/', '"config/', "Path(\"resources\")", "workflow.basedir)"):
            assert relative not in text, f"{path.name}: {relative}"
        assert "conda:" not in text, path.name
