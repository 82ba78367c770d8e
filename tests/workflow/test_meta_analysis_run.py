"""The meta-analysis example config runs end to end (rule fit_analysis on a study table, no cohort) and a
bad study table stops the job with a clear error and no output table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from runner import REPO, run_snakemake

from musclecog.results import read_table

EXAMPLE = REPO / "config" / "examples" / "meta_analysis_bcg.yaml"


@pytest.mark.slow
def test_meta_analysis_example_runs(tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(EXAMPLE), cores=1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    est = read_table(results / "estimates" / "bcg_vaccine.tsv").set_index(["method", "term", "stratum"])
    pooled = est.loc[("random effects (REML)", "pooled", "overall")]
    assert pooled["cohort"] == "pooled" and pooled["scale"] == "risk_ratio"
    assert (
        abs(math.log(pooled["estimate"]) - -0.71453234215814) < 1e-6
    )  # metafor, tests/reference/test_meta_metafor.py
    assert (results / "figures" / "bcg_vaccine.png").is_file()
    assert not (results / "cohorts").exists(), "a meta-analysis of a study table builds no cohort"


@pytest.mark.slow
def test_non_positive_variance_stops_with_no_table(tmp_path: Path) -> None:
    studies = tmp_path / "studies.csv"
    pd.DataFrame(
        {"study": ["A", "B", "C"], "estimate": [0.1, 0.2, 0.3], "std_error": [0.1, 0.0, -0.2]}
    ).to_csv(studies, index=False)
    config = {
        "seed": 1,
        "analyses": {"pooled_grip": {"type": "meta_analysis", "studies": {"path": str(studies)}}},
    }
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(cfg), cores=1)
    assert proc.returncode != 0
    log = (results / "logs" / "estimates" / "pooled_grip.log").read_text()
    assert "'std_error' must be positive" in log and "B (0)" in log and "C (-0.2)" in log
    assert not (results / "estimates" / "pooled_grip.tsv").exists()


@pytest.mark.slow
def test_pooling_one_analysis_across_synthetic_cohorts(tmp_path: Path) -> None:
    """Three synthetic cohorts of one design (different seeds), the same regression in each, pooled by a
    meta_analysis with pool:. The pooled slope equals the inverse-variance average of the three (FE) and
    the random-effects estimate lies between the cohorts' estimates."""
    cohorts = {
        f"li_{c}": {"simulate": {"design": "li", "n": n}} for c, n in zip("abc", (150, 200, 250), strict=True)
    }
    analyses: dict[str, object] = {
        f"moca_grip_{c}": {
            "type": "regression",
            "cohort": f"li_{c}",
            "outcome": "moca",
            "exposure": "grip_kg",
        }
        for c in "abc"
    }
    analyses["moca_grip_pooled"] = {
        "type": "meta_analysis",
        "pool": {"analyses": [f"moca_grip_{c}" for c in "abc"], "where": {"term": "grip_kg"}},
        "outcome": "moca",
        "exposure": "grip_kg",
    }
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"seed": 7, "cohorts": cohorts, "analyses": analyses}))
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(cfg), cores=2)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [
        read_table(results / "estimates" / f"moca_grip_{c}.tsv").query("term == 'grip_kg'").iloc[0]
        for c in "abc"
    ]
    b = np.array([r["estimate"] for r in rows])
    w = 1 / np.array([r["std_error"] for r in rows]) ** 2
    pooled = read_table(results / "estimates" / "moca_grip_pooled.tsv").set_index(["method", "term"])
    fe = pooled.loc[("fixed effect (inverse variance)", "pooled")]
    assert abs(fe["estimate"] - float(w @ b / w.sum())) < 1e-9
    assert abs(fe["std_error"] - float(1 / np.sqrt(w.sum()))) < 1e-9
    assert int(fe["n"]) == 600 and int(fe["k"]) == 3
    re = pooled.loc[("random effects (REML)", "pooled")]
    assert b.min() <= re["estimate"] <= b.max()
    studies = pooled.loc["study estimate"].index.tolist()
    assert studies == ["study: li_a", "study: li_b", "study: li_c"]
