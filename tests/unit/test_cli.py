"""The ``musclecog`` command: init's guesses on the shared NHANES, PAQUID and MR files, validate, run, --help.

The expected roles are what the example configs (config/examples/nhanes_2011_2014.yaml, paquid.yaml,
mr_*.yaml), written by hand from the files' documentation, map these columns to.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import musclecog
from musclecog.cli import main
from musclecog.guess import guess_column, guess_table
from musclecog.variables import load_dictionary

REPO = Path(__file__).resolve().parents[2]


def _stub(tmp_path: Path, *args: str) -> tuple[dict, str]:
    out = tmp_path / "stub.yaml"
    assert main(["init", *args, "-o", str(out)]) == 0
    text = out.read_text()
    return yaml.safe_load(text), text


def _columns(stub: dict, cohort: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for table in stub["cohorts"][cohort]["tables"]:
        out.update(table["columns"] or {})
    return out


@pytest.mark.shared_data
def test_init_nhanes_guesses_the_example_configs_roles(shared_data_dir: Path, tmp_path: Path, capsys) -> None:
    """NHANES 2013-2014 DEMO, MGX, CFQ, BMX: the roles config/examples/nhanes_2011_2014.yaml gives, a sex
    recode 1 = male / 2 = female, the survey design, a regression of DSST on grip; body weight and height
    flagged (children's values are below the dictionary's adult range); the stub validates and reads."""
    nhanes = shared_data_dir / "nhanes_2011_2014"
    files = [str(nhanes / f"{name}_H.XPT") for name in ("DEMO", "MGX", "CFQ", "BMX")]
    stub, text = _stub(tmp_path, *files, "--cohort", "nhanes")
    example = yaml.safe_load((REPO / "config/examples/nhanes_2011_2014.yaml").read_text())
    expected = {}
    for table in example["cohorts"]["nhanes_2011_2014"]["tables"]:
        expected.update(table.get("columns") or {})
    guessed = _columns(stub, "nhanes")
    shared = {k: v for k, v in guessed.items() if k in expected}
    assert shared == {k: expected[k] for k in shared}
    assert {"SEQN", "RIAGENDR", "RIDAGEYR", "MGDCGSZ", "CFDDS", "WTMEC2YR", "SDMVSTRA", "SDMVPSU"} <= set(shared)
    assert stub["cohorts"]["nhanes"]["recode"] == {"sex": {"1": "male", "2": "female"}}
    assert stub["cohorts"]["nhanes"]["survey"] == {"weight": "survey_weight", "strata": "survey_strata",
                                                   "psu": "survey_psu"}
    (analysis,) = stub["analyses"].values()
    assert (analysis["outcome"], analysis["exposure"]) == ("dsst", "grip_combined_kg")
    assert '"BMXWT": weight_kg' in text and "GUESS, CHECK: name 'BMXWT'" in text
    assert text.count("# GUESS") >= len(guessed)
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "stub.yaml")]) == 0
    printed = capsys.readouterr().out
    assert "cohort nhanes: 1,785 rows" in printed  # CFQ_H: 1,785 people with a DSST record (inner join)
    assert "would fit 1 analyses" in printed and "dsst_on_grip_combined_kg: regression" in printed


@pytest.mark.shared_data
def test_init_paquid_long_table(shared_data_dir: Path, tmp_path: Path, capsys) -> None:
    """PAQUID: ids repeat (2,250 visits of 500 people), so visits are numbered by age; the roles of
    config/examples/paquid.yaml (BVRT and IST by the dictionary's test scores); `male` is guessed as sex with 1 = male; validate reads all 2,250 rows."""
    stub, _ = _stub(tmp_path, str(shared_data_dir / "longitudinal" / "paquid.csv"), "--cohort", "paquid")
    cohort = stub["cohorts"]["paquid"]
    assert _columns(stub, "paquid") == {"ID": "id", "MMSE": "mmse", "age": "age", "agedem": "exit_age",
                                        "dem": "dementia", "age_init": "entry_age", "male": "sex",
                                        "BVRT": "bvrt", "IST": "ist"}
    assert cohort["wave"] == {"order_by": "age", "time_from": "age"}
    assert cohort["recode"] == {"sex": {"1": "male", "0": "female"}}
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "stub.yaml")]) == 0
    assert "cohort paquid: 2,250 rows" in capsys.readouterr().out


@pytest.mark.shared_data
def test_init_mr_files(shared_data_dir: Path, tmp_path: Path, capsys) -> None:
    """MR files: TwoSampleMR tables become gwas entries, effect/SE tables without variant ids are named as
    summary statistics, 0/1/2 columns as genotypes; the stub validates (a table without ids is numbered)."""
    mr = shared_data_dir / "mr"
    stub, text = _stub(tmp_path, *sorted(str(p) for p in mr.glob("*.csv")))
    gwas_paths = {Path(entry["path"]).name for entry in stub["gwas"].values()}
    assert {"twosamplemr_bmi_exposure.csv", "twosamplemr_chd_outcome.csv"} <= gwas_paths
    assert all(entry["format"] == "twosamplemr" for entry in stub["gwas"].values())
    assert "lipids_chd_waterworth2010.csv (28 rows): effects with standard errors" in text
    assert '# "g1": ???     # values 0/1/2 only: a genotype' in text
    capsys.readouterr()
    # coursedata_individual.csv has no id column: one table, one row per person, so its row numbers are the ids
    assert main(["validate", str(tmp_path / "stub.yaml")]) == 0
    assert "the config is valid" in capsys.readouterr().out


def test_values_decide_between_names() -> None:
    """'weight' is body weight when the values are kilograms and a survey weight when they are thousands."""
    dic = load_dictionary()
    assert guess_column("weight", pd.Series([55.0, 80.2, 101.0]), dic).variable == "weight_kg"
    assert guess_column("weight", pd.Series([3697.7, 16788.5, 90000.0]), dic).variable == "survey_weight"
    out_of_range = guess_column("grip", pd.Series([200.0, 310.0]), dic)
    assert out_of_range.variable == "grip_kg" and not out_of_range.confident
    assert "outside the dictionary's 0 to 150 kg" in out_of_range.reason
    table = guess_table("t.csv", pd.DataFrame({"id": [1, 1, 2], "visit": [0, 1, 0]}), dic)
    assert table.wave == "wave"


def test_validate_reports_a_bad_config(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\ncohorts:\n  c: {simulate: {design: chen, n: 100}}\nanalyses:\n  a: {type: regresion, cohort: c, exposure: x}\n")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("musclecog ConfigError") and "regresion" in err


def test_validate_the_default_config(capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["validate", "config/config.yaml"]) == 0
    printed = capsys.readouterr().out
    n = len(yaml.safe_load((REPO / "config/config.yaml").read_text())["analyses"])
    assert f"would fit {n} analyses" in printed and "synthetic" in printed


@pytest.mark.parametrize("command", [[], ["init"], ["validate"], ["run"]])
def test_help_everywhere(command: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "musclecog.cli", *command, "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: musclecog"), proc.stderr


def test_run_passes_arguments_to_snakemake(tmp_path: Path) -> None:
    """`musclecog run -n --config results_dir=...` is a Snakemake dry run of this workflow."""
    proc = subprocess.run(
        [sys.executable, "-m", "musclecog.cli", "run", "-n", "--nolock", "--config", f"results_dir={tmp_path}", "allow_outside=True"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "fit_cohort_" in proc.stdout + proc.stderr and not any(tmp_path.iterdir())


def test_version_option_of_the_console_command():
    proc = subprocess.run([sys.executable, "-m", "musclecog.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"musclecog {musclecog.__version__}"


def test_init_design_without_a_weight_is_left_commented(tmp_path: Path, capsys) -> None:
    """Strata and PSU recognised but no weight: the stub must still validate (a design needs its weight), so the
    survey line is a commented GUESS, CHECK naming what was found."""
    table = tmp_path / "t.csv"
    pd.DataFrame({"SEQN": range(1, 41), "RIDAGEYR": [60 + i % 20 for i in range(40)], "SDMVSTRA": [1, 2] * 20,
                  "SDMVPSU": [1, 1, 2, 2] * 10, "CFDDS": [40 + i % 30 for i in range(40)]}).to_csv(table, index=False)
    stub, text = _stub(tmp_path, str(table))
    assert "survey" not in stub["cohorts"]["my_cohort"]
    assert ("# survey: {weight: ???, strata: survey_strata, psu: survey_psu}  # GUESS, CHECK: design columns "
            "found but no weight") in text
    assert main(["validate", str(tmp_path / "stub.yaml"), "--no-data"]) == 0, capsys.readouterr().err
