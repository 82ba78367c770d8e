"""Each real-data example config runs end to end on the public data in ../shared/data, into its own results
folder, and leaves the default run's results alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from runner import REPO, run_snakemake

EXAMPLES = {
    # config file: (placeholder, folder under ../shared/data, tables that must exist)
    "nhanes_2011_2014.yaml": ("nhanes_dir", "nhanes_2011_2014", ["cohorts/nhanes_2011_2014.flow.tsv"]),
    "paquid.yaml": ("paquid_dir", "longitudinal", ["cohorts/paquid.flow.tsv"]),
    "mr_bmi_chd.yaml": ("mr_data_dir", "mr", ["mr/bmi__chd/estimates.tsv", "mr/bmi__chd/harmonised.tsv"]),
    "mr_mvpa_alzheimers.yaml": ("mr_data_dir", "mr", ["mr/mvpa__alzheimers/estimates.tsv"]),
    "mr_lipids_chd.yaml": ("mr_data_dir", "mr", ["mr/ldl__chd/estimates.tsv", "mr/ldl__chd/multivariable.tsv"]),
}


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_config_runs(name: str, shared_data_dir: Path, tmp_path: Path) -> None:
    placeholder, folder, tables = EXAMPLES[name]
    config_path = REPO / "config" / "examples" / name
    config = yaml.safe_load(config_path.read_text())
    assert str(config["results_dir"]).startswith("results/"), "an example writes into its own results/<name>"
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(config_path), config={placeholder: shared_data_dir / folder})
    assert proc.returncode == 0, proc.stderr[-4000:]
    for table in tables:
        assert (results / table).is_file(), table
    for analysis in config.get("analyses") or {}:
        est = pd.read_csv(results / "estimates" / f"{analysis}.tsv", sep="\t")
        assert len(est) and est["estimate"].notna().any(), analysis
    assert not (results / "cohorts" / "ukb.parquet").exists(), "the default config's cohorts leaked into the run"
