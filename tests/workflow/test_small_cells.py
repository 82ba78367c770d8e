"""No released count below 5 people, no estimate from fewer than min_n, and every exclusion counted
(issue 18, output side; docs/disclosure.md).

- the default run: every analysis writes ``estimates/{analysis}.flow.tsv``; its counts are the fits'
  diagnostics (refitted in-process for a few analyses); no table (estimates, flow, table 1) shows a count
  of 1 to 4 and no note holds one;
- a run on a 3-person cohort and on a 60-person cohort with a 3-person stratum: every analysis type in it
  releases no estimate, table 1 shows no count below 5 and the hidden stratum cannot be recovered from the
  total.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from runner import REPO, run_snakemake

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.disclosure import FLOW_COLUMNS, flow_table, scrub_note
from musclecog.results import read_table, write_table
from musclecog.seeds import derive_seed

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
NO_FIT_TYPES = ("group_comparison", "correlation", "change_correlation", "kaplan_meier")


def _small(values: pd.Series) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce")
    return v[(v > 0) & (v < 5)]


@pytest.mark.slow
def test_every_analysis_writes_a_flow_table(default_run: Path) -> None:
    for analysis, entry in CONFIG["analyses"].items():
        path = default_run / "estimates" / f"{analysis}.flow.tsv"
        assert path.is_file(), f"{analysis}: no flow table"
        flow = read_table(path).astype({"shown": str})
        assert tuple(flow.columns) == FLOW_COLUMNS
        assert _small(flow["n"]).empty, f"{analysis}: a count below 5 in the flow table"
        numeric = pd.to_numeric(flow["shown"], errors="coerce")
        assert (numeric.isna() == flow["n"].isna()).all() and (numeric.dropna() == flow["n"].dropna()).all()
        assert set(flow.loc[numeric.isna(), "shown"]) <= {"<5", "suppressed", "NA"}
        top = flow[flow["model"] == "(all)"].set_index("step")
        cohort = pd.read_parquet(default_run / "cohorts" / f"{entry['cohort']}.parquet")
        assert top.loc["cohort", "n"] == len(cohort), analysis
        # types whose estimates come from fitted models count each fit's rows (types without one - means,
        # correlations, Kaplan-Meier - give their n in the estimates table)
        assert (flow["step"] == "analysed").any() or (flow["step"].str.startswith("withheld")).any() or (
            entry["type"] in NO_FIT_TYPES
        ), f"{analysis}: no fit counted"


@pytest.mark.slow
@pytest.mark.parametrize(
    "analysis", ["wang_dsst_knee_force", "charls_grip_panel", "nhanes_mortality_cox", "charls_impairment_km"]
)
def test_flow_counts_are_the_fits_diagnostics(default_run: Path, analysis: str, tmp_path: Path) -> None:
    entry = CONFIG["analyses"][analysis]
    cohort = entry["cohort"]
    context = RunContext(
        analysis, cohort, derive_seed(CONFIG["seed"], "analysis", analysis), CONFIG["cohorts"][cohort].get("survey")
    )
    result = run_analysis(pd.read_parquet(default_run / "cohorts" / f"{cohort}.parquet"), entry, context)
    write_table(flow_table(result), tmp_path / "flow.tsv")
    written = default_run / "estimates" / f"{analysis}.flow.tsv"
    assert (tmp_path / "flow.tsv").read_bytes() == written.read_bytes()
    flow = read_table(written).astype({"shown": str})
    for key, fit in result.fits.items():
        rows = flow[flow["model"] == key].set_index("reason")
        d = fit.diagnostics
        assert rows.loc["rows used by the fit", "shown"] in (str(d.n), "suppressed"), key
        for why, k in d.exclusions.items():
            assert rows.loc[f"excluded: {why}", "shown"] in (str(k) if k >= 5 else "<5", "suppressed"), (key, why)


@pytest.mark.slow
def test_no_small_count_in_released_tables(default_run: Path) -> None:
    for path in sorted((default_run / "estimates").glob("*.tsv")):
        table = read_table(path)
        for col in ("n", "n_events"):
            if col in table.columns:
                assert _small(table[col]).empty, f"{path.name}: {col} below 5"
        if "note" in table.columns:
            for note in table["note"].dropna().astype(str):
                assert scrub_note(note) == note, f"{path.name}: a small count in the note {note!r}"
    for path in sorted((default_run / "cohorts").glob("*.table1.tsv")):
        table = read_table(path)
        for col in ("n", "n_missing", "count"):
            assert _small(table[col]).empty, f"{path.name}: {col} below 5"


# ------------------------------------------------------------------------- a tiny cohort end to end
TINY_ANALYSES = {
    "tiny_regression": {"type": "regression", "outcome": "dsst", "exposure": "grip_kg", "covariates": ["age"]},
    "tiny_groups": {"type": "group_comparison", "outcome": "dsst", "group": "sex"},
    "tiny_correlation": {"type": "correlation", "pairs": [["grip_kg", "dsst"]]},
    "tiny_km": {"type": "kaplan_meier", "event": "death", "duration": "followup_years", "exposure": "sex"},
    "tiny_cox": {"type": "cox", "event": "death", "duration": "followup_years", "exposure": "grip_kg"},
}


def _people(n: int, n_men: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": rng.integers(60, 90, n),
            "sex": ["male"] * n_men + ["female"] * (n - n_men),
            "grip_kg": rng.normal(28, 6, n).round(1),
            "dsst": rng.integers(20, 90, n),
            "followup_years": rng.uniform(1, 10, n).round(2),
            "death": rng.integers(0, 2, n),
        }
    )


@pytest.mark.slow
def test_tiny_cohorts_release_nothing_small(tmp_path: Path) -> None:
    columns = {c: c for c in _people(1, 0, 0).columns}
    cohorts = {}
    for name, n, men in (("three", 3, 1), ("sixty", 60, 3)):
        path = tmp_path / f"{name}.csv"
        _people(n, men, seed=n).to_csv(path, index=False)
        cohorts[name] = {"tables": [{"path": str(path), "columns": columns}], "table1": {"by": "sex"}}
    analyses = {name: {**spec, "cohort": "three"} for name, spec in TINY_ANALYSES.items()}
    analyses["sixty_groups_by_sex"] = {"type": "group_comparison", "cohort": "sixty", "outcome": "dsst",
                                       "group": "age_group", "by": "sex"}
    config = {"seed": 1, "results_dir": str(tmp_path / "results"), "cohorts": cohorts, "analyses": analyses}
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    targets = [str(results / "estimates" / f"{a}.flow.tsv") for a in analyses]
    targets += [str(results / "estimates" / f"{a}.tsv") for a in analyses]
    targets += [str(results / "cohorts" / f"{c}.table1.tsv") for c in cohorts]
    proc = run_snakemake(results, *targets, "--configfile", str(config_path))
    assert proc.returncode == 0, proc.stderr[-4000:]

    for analysis in TINY_ANALYSES:
        est = read_table(results / "estimates" / f"{analysis}.tsv")
        assert not np.isfinite(est["estimate"]).any(), f"{analysis}: an estimate from 3 people"
        assert est["n"].isna().all() and est["note"].str.startswith("withheld: fewer than").all()
        flow = read_table(results / "estimates" / f"{analysis}.flow.tsv").astype({"shown": str})
        assert _small(flow["n"]).empty and "<5" in set(flow["shown"])

    groups = read_table(results / "estimates" / "sixty_groups_by_sex.tsv")
    men = groups[groups["stratum"] == "sex=male"]
    assert not np.isfinite(men["estimate"]).any() and men["n"].isna().all()
    assert _small(groups["n"]).empty

    for cohort in cohorts:
        t1 = read_table(results / "cohorts" / f"{cohort}.table1.tsv")
        for col in ("n", "n_missing", "count"):
            assert _small(t1[col]).empty, f"{cohort}: {col} below 5 in table 1"
    t1 = read_table(results / "cohorts" / "sixty.table1.tsv")
    n_rows = t1[t1["variable"] == "N"].set_index("stratum")
    assert n_rows.loc["overall", "n"] == 60
    # the 3 men are hidden, and so are the women: 60 minus the women's N would give the men back
    assert n_rows.loc["sex=male", "summary"] == "<5" and pd.isna(n_rows.loc["sex=female", "n"])


@pytest.mark.slow
@pytest.mark.shared_data
def test_nhanes_education_codes_are_counted(shared_data_dir: Path) -> None:
    """The NHANES 2011-2014 example: the people with education coded 7/9 (recoded to missing) are counted
    in the flow table of the adjusted regression, as <5."""
    from musclecog.config import validate_config
    from musclecog.ingest import build_cohort

    raw = yaml.safe_load((REPO / "config" / "examples" / "nhanes_2011_2014.yaml").read_text())
    raw["nhanes_dir"] = str(shared_data_dir / "nhanes_2011_2014")
    config = validate_config(raw, REPO / "workflow" / "schemas", base_dir=REPO)
    data = build_cohort("nhanes_2011_2014", config["cohorts"]["nhanes_2011_2014"], seed=1, base_dir=REPO).data
    name, entry = next((k, e) for k, e in config["analyses"].items() if "education" in e.get("covariates", []))
    context = RunContext(name, entry["cohort"], 1, config["cohorts"][entry["cohort"]].get("survey"))
    result = run_analysis(data, entry, context)
    fits_with_education = [(k, f) for k, f in result.fits.items() if "missing education" in f.diagnostics.exclusions]
    assert fits_with_education, "no fit excluded the people with education 7/9"
    flow = flow_table(result).set_index(["model", "reason"])
    for key, fit in fits_with_education:
        k = fit.diagnostics.exclusions["missing education"]
        assert flow.loc[(key, "excluded: missing education"), "shown"] == (str(k) if k >= 5 else "<5")
