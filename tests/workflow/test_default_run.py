"""End-to-end: the default config runs with `snakemake --cores 2`, writes every expected output, and a
second run into another folder gives byte-identical tables; a bad input stops the run with a clear
message and leaves no partial output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from runner import result_tables, run_snakemake

REPO = Path(__file__).resolve().parents[2]


def expected_outputs(config: dict, results: Path) -> list[Path]:
    out = []
    for name, spec in config["cohorts"].items():
        out += [results / "cohorts" / f"{name}.{ext}" for ext in ("parquet", "flow.tsv", "table1.tsv")]
        if "simulate" in spec:
            out.append(results / "cohorts" / f"{name}.truth.tsv")
    for name in config.get("analyses") or {}:
        out += [results / "estimates" / f"{name}.tsv", results / "figures" / f"{name}.png"]
    for pair in (config.get("mr") or {}).values():
        dirs = [f"{pair['exposure']}__{pair['outcome']}"]
        if pair.get("bidirectional"):
            dirs.append(f"{pair['outcome']}__{pair['exposure']}")
        out += [results / "mr" / d / "estimates.tsv" for d in dirs]
    if config.get("targets"):
        out.append(results / "reproduction.tsv")
    return out


@pytest.mark.slow
def test_default_run_is_complete_and_reproducible(default_run, tmp_path):
    with open(REPO / "config" / "config.yaml") as fh:
        config = yaml.safe_load(fh)
    first, second = default_run, tmp_path / "run2"
    proc = run_snakemake(second)
    assert proc.returncode == 0, proc.stderr[-4000:]
    missing = [str(p) for p in expected_outputs(config, first) if not p.is_file()]
    assert not missing, f"expected outputs not written: {missing}"
    a, b = result_tables(first), result_tables(second)
    assert a.keys() == b.keys()
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"tables differ between two runs of the same config: {differ}"
    for name in config["cohorts"]:
        flow = pd.read_csv(first / "cohorts" / f"{name}.flow.tsv", sep="\t")
        assert list(flow.columns) == ["step", "n_in", "n_out", "n_excluded", "reason"]
        assert (flow["n_excluded"] == flow["n_in"] - flow["n_out"]).all()


def test_bad_input_stops_the_run_without_partial_output(tmp_path):
    data = tmp_path / "cohort.csv"
    pd.DataFrame({"pid": [1, 2, 3, 4, 5], "sex": [1, 2, 1, 2, 1], "grip": [30.0, -4.0, 25.0, 18.0, 35.0],
                  "dsst": [40, 50, 45, 60, 30]}).to_csv(data, index=False)
    config = {
        "seed": 1,
        "cohorts": {"mine": {"tables": [{"path": str(data), "columns": {"pid": "id", "sex": "sex", "grip": "grip_kg",
                                                                         "dsst": "dsst"}}],
                             "recode": {"sex": {1: "male", 2: "female"}}}},
    }
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(cfg_path), "--replace-workflow-config", cores=1)
    assert proc.returncode != 0
    assert "cohort.csv [grip]: column 'grip_kg'" in proc.stderr
    assert "-4.0 (id 2)" in proc.stderr and "Correct the data" in proc.stderr
    cohort_files = list((results / "cohorts").glob("*")) if (results / "cohorts").exists() else []
    assert cohort_files == [], f"partial output left behind: {cohort_files}"


def test_config_error_stops_before_any_job(tmp_path):
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(yaml.safe_dump({"seed": 1, "cohorts": {"x": {"simulate": {"design": "liao"}, "keepif": {}}}}))
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(cfg_path), "--replace-workflow-config", cores=1)
    assert proc.returncode != 0
    assert "unknown key 'keepif' (did you mean 'keep_if'?) under 'cohorts.x'" in proc.stderr + proc.stdout
    assert not (results / "cohorts").exists()


@pytest.mark.slow
def test_default_run_writes_the_triangulation_table(default_run):
    """One row per configured design/direction, all on the common scale, both MR directions, synthetic evidence."""
    from musclecog.triangulation import BIAS

    with open(REPO / "config" / "config.yaml") as fh:
        rows = list(yaml.safe_load(fh)["triangulation"]["rows"].values())
    table = pd.read_csv(default_run / "triangulation.tsv", sep="\t")
    assert (default_run / "figures" / "triangulation.png").is_file()
    assert table["design"].tolist() == [r["design"] for r in rows]
    assert set(table["design"]) == set(BIAS)
    assert (table["bias"] == table["design"].map(BIAS)).all()
    assert (table["evidence"] == "synthetic_recovery").all()
    assert table[["estimate", "conf_low", "conf_high"]].notna().all().all()
    assert ((table["conf_low"] <= table["estimate"]) & (table["estimate"] <= table["conf_high"])).all()
    mr = table.loc[table["design"] == "Mendelian randomization"]
    assert sorted(mr["direction"]) == ["cognitive_impairment -> grip", "grip -> cognitive_impairment"]
    assert (table["n"] >= 5).all()
    assert table.loc[table["design"] != "Mendelian randomization", "scale_kind"].str.contains("per SD of grip_kg").all()
