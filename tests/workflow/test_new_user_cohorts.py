"""Issue 14's new user, without workarounds: a CHARLS-like pair of Stata files (value labels, birth years,
interview years, two hands' grip with one missing, 0/1 gender) and a UK Biobank-like csv.gz (showcase columns,
negative special codes) go through ingest, regression, mixed model, Cox and mediation by config alone.

The files are generated here with known truths; the checks are what a user reads: term names from the labels,
derived ages and times, every derivation's missing rows and every special code counted in the flow, estimates
whose CIs cover the generating values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from runner import run_snakemake

N = 900
EDU = {1: "illiterate", 2: "primary", 3: "secondary", 4: "tertiary"}


def _charls(root: Path, seed: int = 5) -> None:
    """demo.dta (one row per person) and waves.dta (three interviews, 2011, 2013, 2015)."""
    rng = np.random.default_rng(seed)
    pid = np.arange(10001, 10001 + N)
    birth = rng.integers(1936, 1966, N)
    male = rng.random(N) < 0.5
    edu = rng.integers(1, 5, N)
    age = 2011 - birth
    grip = np.where(male, 38.0, 26.0) - 0.25 * (age - 60) + rng.normal(0, 6, N)
    cesd = (12 - 0.15 * grip + rng.normal(0, 3, N)).round(1)  # the mediator: fewer symptoms with more grip
    # incident impairment: hazard ratio 0.95 per kg of grip, follow-up up to 4 years
    t_event = rng.exponential(1.0 / (0.12 * np.exp(-0.05 * (grip - 30) + 0.04 * (age - 60))))
    follow = np.minimum(t_event, 4.0)
    demo = pd.DataFrame({"ID": pid, "ba004_1": birth.astype(np.int16), "rgender": male.astype(np.int8),
                         "raeduc_c": edu.astype(np.int8), "cesd10": cesd, "impaired": (t_event <= 4.0).astype(np.int8),
                         "fu_years": follow.round(3)})
    demo.to_stata(root / "demo.dta", write_index=False, version=118,
                  value_labels={"rgender": {0: "female", 1: "male"}, "raeduc_c": EDU})
    rows = []
    for wave, year in ((1, 2011), (2, 2013), (3, 2015)):
        t = year - 2011
        # cognition: 0.10 per kg at baseline, decline 0.30 a year, slower by 0.005 a year per kg (the truth)
        cog = (10 + 0.10 * grip - 0.2 * (age - 60) + 0.4 * edu - 1.2 * cesd / 10 - 0.30 * t + 0.005 * grip * t
               + rng.normal(0, 1.5, N) + rng.normal(0, 0.6, N) * t)
        left = grip + rng.normal(0, 1.5, N)
        right = grip + rng.normal(0, 1.5, N)
        one_hand = rng.random(N) < 0.12
        right[one_hand] = np.nan  # one hand not measured: the best of the other is used, and counted
        both = rng.random(N) < 0.03
        left[both], right[both] = np.nan, np.nan  # neither hand: grip missing, counted
        rows.append(pd.DataFrame({"ID": pid, "wave": wave, "iwy": year, "qc003": left.round(1),
                                  "qc005": right.round(1), "cog": cog.round(2)}))
    pd.concat(rows).to_stata(root / "waves.dta", write_index=False, version=118)


def _ukb(root: Path, seed: int = 6) -> None:
    """A showcase extract: eid, sex (31), age (21003), grip left/right (46/47), reaction time (20023), fluid
    intelligence (20016) with -1 / -3 codes where people did not know or preferred not to answer."""
    rng = np.random.default_rng(seed)
    n = 1500
    male = rng.random(n) < 0.46
    age = rng.integers(40, 71, n)
    grip = np.where(male, 40.0, 26.0) - 0.2 * (age - 55) + rng.normal(0, 6, n)
    # reaction time: 2 ms faster per kg (the truth)
    rt = (560 - 2.0 * grip + 3.0 * (age - 55) + 25 * male + rng.normal(0, 60, n)).round()
    fi = (6 + 0.05 * grip - 0.03 * (age - 55) + rng.normal(0, 2, n)).round().clip(0, 13)
    fi[rng.random(n) < 0.04] = -1
    fi[rng.random(n) < 0.03] = -3
    frame = pd.DataFrame({"eid": np.arange(1000001, 1000001 + n), "31-0.0": male.astype(int), "21003-0.0": age,
                          "46-0.0": (grip + rng.normal(0, 1, n)).round(), "47-0.0": (grip + rng.normal(0, 1, n)).round(),
                          "20023-0.0": rt, "20016-0.0": fi})
    frame.to_csv(root / "ukb_extract.csv.gz", index=False)


CONFIG = """
seed: 20261203
targets: "{workflow_dir}/resources/review_targets.tsv"
cohorts:
  charls_files:
    description: CHARLS-like Stata files, three interviews
    tables:
      - {path: "DIR/demo.dta", columns: {ID: id, ba004_1: birthyr, rgender: sex, raeduc_c: education, cesd10: cesd,
                                       impaired: impaired, fu_years: fu_years}}
      - {path: "DIR/waves.dta", columns: {ID: id, wave: wave, iwy: iwy, qc003: grip_left, qc005: grip_right,
                                        cog: cognition}}
    join: inner
    derive:
      - {name: age, expr: "2011 - birthyr"}
      - {name: time_years, expr: "time_since(iwy, 2011)"}
      - {name: grip_kg, expr: "max(grip_left, grip_right, min_present=1)"}
      - {name: grip_bl, expr: "baseline(grip_kg)"}
      - {name: grip_tertile, expr: "quantile_group(grip_bl, 3, by=sex)"}
      - {name: age_band, expr: "cut(age, [45, 55, 65, 75, 120], ['45-54', '55-64', '65-74', '75+'])"}
  ukb_files:
    description: UK Biobank-like showcase extract
    tables:
      - path: "DIR/ukb_extract.csv.gz"
        ukb: {fields: {sex: 31, age: 21003, grip_left: 46, grip_right: 47, reaction_time_ms: 20023,
                       fluid_intelligence: 20016}, instance: 0}
    recode: {sex: {0: female, 1: male}}
    derive: [{name: grip_kg, expr: "max(grip_left, grip_right, min_present=1)"}]
analyses:
  charls_files_grip_cognition:
    type: regression
    cohort: charls_files
    keep_if: {wave: {equals: 1}}
    outcome: cognition
    exposure: grip_kg
    covariates: [age, sex, education, cesd]
  charls_files_mixed:
    type: mixed_model
    cohort: charls_files
    outcome: cognition
    exposure: grip_bl
    covariates: [age, sex, education, cesd]
  charls_files_cox:
    type: cox
    cohort: charls_files
    event: impaired
    duration: fu_years
    exposure: grip_kg
    covariates: [age]
    baseline_only: true
  charls_files_mediation:
    type: simple_mediation
    cohort: charls_files
    keep_if: {wave: {equals: 1}}
    exposure: grip_kg
    mediator: cesd
    outcome: cognition
    covariates: [age, sex, education]
    bootstrap: 500
  ukb_files_reaction:
    type: regression
    cohort: ukb_files
    outcomes: [reaction_time_ms, fluid_intelligence]
    exposure: grip_kg
    covariates: [age, sex]
"""


def _row(est: pd.DataFrame, **match: object) -> pd.Series:
    sel = est
    for key, value in match.items():
        sel = sel[sel[key] == value]
    assert len(sel) >= 1, f"no row {match}; terms: {sorted(est['term'].unique())}"
    return sel.iloc[0]


@pytest.mark.slow
def test_charls_and_ukb_like_files_run_by_config_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _charls(data)
    _ukb(data)
    config = tmp_path / "cohorts.yaml"
    config.write_text(CONFIG.replace("DIR", str(data)))
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(config))
    assert proc.returncode == 0, proc.stderr[-4000:]

    cohort = pd.read_parquet(results / "cohorts" / "charls_files.parquet")
    first = cohort[cohort["wave"] == 1]
    assert list(cohort["education"].cat.categories) == list(EDU.values())  # labels, in code order
    assert set(cohort["sex"].astype(str)) == {"female", "male"}  # 0/1 labelled: no recode needed
    assert first["age"].between(45, 75).all() and sorted(cohort["time_years"].unique()) == [0, 2, 4]
    assert set(cohort["age_band"].dropna().astype(str)) <= {"45-54", "55-64", "65-74", "75+"}
    assert cohort["grip_tertile"].dropna().nunique() == 3

    flow = pd.read_csv(results / "cohorts" / "charls_files.flow.tsv", sep="\t").set_index("step")
    grip_row = flow.loc["derive grip_kg", "reason"]
    raw = pd.read_stata(data / "waves.dta")
    neither = int((raw["qc003"].isna() & raw["qc005"].isna()).sum())
    one = int((raw["qc003"].isna() ^ raw["qc005"].isna()).sum())
    assert f"missing in {neither} rows" in grip_row, grip_row  # neither hand
    assert f"{one} rows from fewer than all 2 values (min_present=1)" in grip_row, grip_row  # one hand: said
    assert "value_labels.education" in flow.index and "value_labels.sex" in flow.index

    reg = pd.read_csv(results / "estimates" / "charls_files_grip_cognition.tsv", sep="\t")
    g = _row(reg, term="grip_kg")
    assert g["conf_low"] < 0.10 < g["conf_high"]

    mixed = pd.read_csv(results / "estimates" / "charls_files_mixed.tsv", sep="\t")
    terms = set(mixed["term"])  # every fixed effect is reported: the levels by their labels
    assert {"education[primary]", "education[secondary]", "education[tertiary]", "sex[male]"} <= terms, terms
    slope = mixed[mixed["term"].str.contains("grip_bl") & mixed["term"].str.contains("time")].iloc[0]
    assert slope["conf_low"] < 0.005 < slope["conf_high"]

    cox = pd.read_csv(results / "estimates" / "charls_files_cox.tsv", sep="\t")
    hr = _row(cox, term="grip_kg")
    assert hr["conf_low"] < np.exp(-0.05) < hr["conf_high"]

    med = pd.read_csv(results / "estimates" / "charls_files_mediation.tsv", sep="\t")
    indirect = med[med["term"].str.contains("indirect")].iloc[0]
    truth = -0.15 * (-1.2 / 10)  # a x b: 0.018 per kg
    assert indirect["conf_low"] < truth < indirect["conf_high"]

    ukb = pd.read_csv(results / "estimates" / "ukb_files_reaction.tsv", sep="\t")
    rt = _row(ukb, outcome="reaction_time_ms", term="grip_kg")
    assert rt["conf_low"] < -2.0 < rt["conf_high"]
    uflow = pd.read_csv(results / "cohorts" / "ukb_files.flow.tsv", sep="\t")
    special = uflow[uflow["step"].str.startswith("ukb special codes")]
    raw_u = pd.read_csv(data / "ukb_extract.csv.gz")
    for code in (-1, -3):
        assert f"{code}: {int((raw_u['20016-0.0'] == code).sum())}" in " ".join(special["reason"]), special
    fi = _row(ukb, outcome="fluid_intelligence", term="grip_kg")
    assert fi["n"] == int((raw_u["20016-0.0"] >= 0).sum())
