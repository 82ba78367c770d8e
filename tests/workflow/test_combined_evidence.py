"""A run of the default (synthetic) config together with the NHANES 2011-2014 example (two --configfile files,
merged by Snakemake in order) writes one reproduction table with both kinds of evidence (issue 13 part 3):
the default config's ``reproduction:`` rows as ``synthetic_recovery`` and the example's ``replication:`` rows as
``real_replication``, a target both map (``wang_dsst_low_alm``) once of each kind. The synthetic rows equal the
default run's golden table (same config and seed: the merge adds cohorts and analyses without changing them).
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
        str(results / "reproduction.tsv"),  # the target first: --configfile takes the names after it
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
