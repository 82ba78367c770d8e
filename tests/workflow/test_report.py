"""`snakemake --report` on the default run: one self-contained HTML file with every final table and figure and
the provenance record; the provenance names the seed, package versions and input checksums."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from runner import run_snakemake


@pytest.mark.slow
def test_report_is_offline_and_complete(default_run: Path) -> None:
    report = default_run / "report.html"
    proc = run_snakemake(default_run, "--report", str(report), cores=1, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = report.read_text(errors="replace")
    assert not re.search(r"<script[^>]+src=\"https?://", html), "the report loads a script from the network"
    assert not re.search(r"<link[^>]+href=\"https?://", html), "the report loads a stylesheet from the network"
    for name in ("reproduction.tsv", "reproduction.png", "provenance.json", "wang_dsst_low_muscle_mass.tsv",
                 "chen_strength_mediation.png", "cohort7y_decline_mixed.tsv", "estimates.tsv", "nhanes_like.flow.tsv",
                 "triangulation.tsv", "triangulation.png"):
        assert name in html, f"{name} is not in the report"


@pytest.mark.slow
def test_provenance_record(default_run: Path) -> None:
    record = json.loads((default_run / "provenance.json").read_text())
    assert record["seed"] == 20261125
    assert record["started"] and record["ended"] and record["started"] <= record["ended"]
    assert record["packages"]["snakemake"] == "9.27.1"
    files = record["input_files"]
    assert any(f.endswith("config/config.yaml") for f in files), files.keys()
    assert all(len(v["sha256"]) == 64 for v in files.values())
    assert record["config"]["results_dir"] == str(default_run)
