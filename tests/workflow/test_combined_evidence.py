"""A run of the default (synthetic) config together with the NHANES 2011-2014 example (two --configfile files,
merged by Snakemake in order) writes one reproduction table with both kinds of evidence (issue 13 part 3):
the default config's ``reproduction:`` rows as ``synthetic_recovery`` and the example's ``replication:`` rows as
``real_replication``, a target both map (``wang_dsst_low_alm``) once of each kind. The synthetic rows equal the
default run's golden table (same config and seed: the merge adds cohorts and analyses without changing them).

The same run writes one triangulation table with both kinds of evidence: ``triangulation: rows:`` is a mapping
name -> row, so the example's rows join the default's (a list would replace them). Its synthetic rows equal the
default run's golden triangulation table; the NHANES rows are grip per SD on DSST, CERAD word learning and animal
fluency (survey-weighted, adjusted), positive with the complete-case n of tests/workflow/test_replication.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from runner import REPO, run_snakemake


@pytest.mark.slow
@pytest.mark.shared_data
def test_default_and_nhanes_configs_give_both_kinds_of_evidence(shared_data_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    example = REPO / "config" / "examples" / "nhanes_2011_2014.yaml"
    proc = run_snakemake(
        results,
        str(results / "reproduction.tsv"),  # the targets first: --configfile takes the names after it
        str(results / "triangulation.tsv"),
        "--configfile", str(REPO / "config" / "config.yaml"), str(example),
        config={"nhanes_dir": shared_data_dir / "nhanes_2011_2014"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = pd.read_csv(results / "reproduction.tsv", sep="\t")
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    real = yaml.safe_load(example.read_text())
    synthetic = table[table["evidence"] == "synthetic_recovery"]
    replicated = table[table["evidence"] == "real_replication"]
    assert sorted(synthetic["target_id"]) == sorted(default["reproduction"])
    assert sorted(replicated["target_id"]) == sorted(real["replication"])
    assert set(replicated["cohort"]) == {"nhanes_2011_2014"}
    assert "nhanes_2011_2014" not in set(synthetic["cohort"])
    assert set(synthetic["verdict"]) <= {"recovered", "not recovered", "uninformative"}
    assert set(replicated["verdict"]) <= {"replicated", "not replicated", "uninformative"}
    both = table[table["target_id"] == "wang_dsst_low_alm"]
    assert sorted(both["evidence"]) == ["real_replication", "synthetic_recovery"]
    golden = pd.read_csv(REPO / "tests" / "golden" / "reproduction.tsv", sep="\t")
    golden = golden[golden["evidence"] == "synthetic_recovery"].reset_index(drop=True)
    pd.testing.assert_frame_equal(synthetic.reset_index(drop=True), golden, check_exact=False, rtol=1e-8)

    tri = pd.read_csv(results / "triangulation.tsv", sep="\t")
    assert len(tri) == len(default["triangulation"]["rows"]) + len(real["triangulation"]["rows"])
    synthetic_tri = tri[tri["evidence"] == "synthetic_recovery"].reset_index(drop=True)
    real_tri = tri[tri["evidence"] == "real_replication"].reset_index(drop=True)
    assert list(tri["evidence"]) == ["synthetic_recovery"] * len(synthetic_tri) + ["real_replication"] * len(real_tri)
    golden_tri = pd.read_csv(REPO / "tests" / "golden" / "triangulation.tsv", sep="\t")
    pd.testing.assert_frame_equal(synthetic_tri, golden_tri, check_exact=False, rtol=1e-8)
    assert list(real_tri["analysis"]) == ["nhanes_cognition_grip_sd"] * 3
    assert list(real_tri["outcome"]) == ["dsst", "cerad_learning", "animal_fluency"]
    assert list(real_tri["n"]) == [2686, 2652, 2631]  # complete cases (tests/workflow/test_replication.py)
    assert (real_tri["design"] == "cross-sectional").all()
    assert real_tri["data_source"].str.startswith("real: cohort nhanes_2011_2014").all()
    assert (real_tri["conf_low"] > 0).all()  # stronger grip, better cognition, per SD on SD units
    assert (real_tri["scale_kind"] == "SD of outcome per SD of grip_kg").all()
