"""Triangulation table: conversions to the common scale on small hand-made tables (numbers worked by hand).

Hand-made cohort (baseline wave 0, women): grip 0, 0, 10, 20, 20 kg in quartiles 1, 1, 2, 4, 4 and cognition
0, 0, 5, 10, 10. SD(grip) = sqrt(400 / 4) = 10 kg; SD(cognition) = sqrt(100 / 4) = 5 points (n - 1 in the
denominator). Quartiles 4 and 1 differ by (20 - 0) / 10 = 2 SD of grip. A wave-1 row and a man with extreme values
must not enter the SDs (keep_if, stratum).

- Q4 vs Q1 contrast 1.0 (0.5, 1.5) points -> per SD of grip and SD of cognition: 1.0 / (2 x 5) = 0.1
  (0.05, 0.15).
- Slope 0.5 (0.2, 0.8) points per kg -> 0.5 x 10 / 5 = 1.0 (0.4, 1.6) SD per SD.
- Standardised beta per SD 0.2 (0.1, 0.3): as reported.
- Odds ratio per SD 2.0 (1.6, 2.5) -> log: 0.6931 (0.4700, 0.9163).
- MR IVW beta -0.07 (-0.12, -0.02), units SD -> log odds: as reported; n = min(461089, 500000).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.plots.triangulation import axis_label, panel_order, row_label, triangulation_figure
from musclecog.reproduce import REAL, SYNTHETIC
from musclecog.results import write_table
from musclecog.triangulation import (
    BIAS,
    COLUMNS,
    LONGITUDINAL_LEVEL,
    MR,
    Sources,
    check_sources,
    contrast_factor,
    parse_rows,
    per_unit_factor,
    scaled,
    triangulation_table,
)

COHORT = pd.DataFrame({
    "id": [1, 2, 3, 4, 5, 1, 6],
    "wave": [0, 0, 0, 0, 0, 1, 0],
    "sex": ["female"] * 6 + ["male"],
    "grip_kg": [0.0, 0.0, 10.0, 20.0, 20.0, 100.0, 90.0],
    "grip_group": [1, 1, 2, 4, 4, 1, 4],
    "cognition": [0.0, 0.0, 5.0, 10.0, 10.0, 50.0, -40.0],
})  # fmt: skip


def _est(**kw: object) -> dict[str, object]:
    base = {"analysis": "a", "cohort": "c", "method": "m", "outcome": "cognition", "exposure": "grip_kg",
            "term": "grip_kg", "stratum": "sex=female", "estimate": 0.0, "std_error": 0.1, "conf_low": 0.0,
            "conf_high": 0.0, "p_value": 0.5, "n": 5, "scale": "beta", "exposure_unit": "NA"}  # fmt: skip
    return {**base, **kw}


@pytest.fixture
def run(tmp_path: Path) -> Sources:
    est = tmp_path / "estimates"
    est.mkdir()
    obs = pd.DataFrame([
        _est(term="grip_group[4]", estimate=1.0, conf_low=0.5, conf_high=1.5),
        _est(term="grip_kg", method="slope", estimate=0.5, conf_low=0.2, conf_high=0.8),
        _est(term="grip_kg", method="std", scale="standardised_beta", exposure_unit="per SD (10)",
             estimate=0.2, conf_low=0.1, conf_high=0.3, stratum="overall"),
        _est(term="grip_kg", method="logit", scale="odds_ratio", exposure_unit="per SD (10)",
             estimate=2.0, conf_low=1.6, conf_high=2.5, stratum="overall", outcome="impaired"),
        _est(term="grip_kg", method="logit kg", scale="odds_ratio", exposure_unit="per kg",
             estimate=1.1, conf_low=1.0, conf_high=1.2, stratum="overall", outcome="impaired"),
    ])  # fmt: skip
    write_table(obs, est / "a.tsv")
    COHORT.to_parquet(tmp_path / "c.parquet")
    mr_dir = tmp_path / "mr"
    mr_dir.mkdir()
    mr = pd.DataFrame([{"analysis": "grip__ci", "cohort": "summary_statistics", "method": "Inverse variance weighted",
                        "outcome": "ci", "exposure": "grip", "term": "causal_effect", "stratum": "overall",
                        "estimate": -0.07, "std_error": 0.025, "conf_low": -0.12, "conf_high": -0.02,
                        "p_value": 0.005, "n": 3, "scale": "beta", "nsnp": 3}])  # fmt: skip
    write_table(mr, mr_dir / "estimates.tsv")
    harm = pd.DataFrame({"SNP": ["rs1", "rs2", "rs3", "rs4"], "mr_keep": [True, True, True, False],
                         "units.exposure": "SD", "units.outcome": "log odds",
                         "samplesize.exposure": 461089, "samplesize.outcome": 500000})  # fmt: skip
    write_table(harm, mr_dir / "harmonised.tsv")
    return Sources(
        estimates={"analysis:a": str(est / "a.tsv"), "mr_pair:grip__ci": str(mr_dir / "estimates.tsv")},
        cohorts={"c": str(tmp_path / "c.parquet")},
        harmonised={"grip__ci": str(mr_dir / "harmonised.tsv")},
        cohort_specs={"c": {"simulate": {"design": "charls"}}},
        gwas_specs={"grip": {"simulate": {}}, "ci": {"simulate": {}}},
    )


def _rows(*entries: dict[str, object]) -> list:  # type: ignore[type-arg]
    return parse_rows({"rows": list(entries)})


BASE = {"keep_if": {"wave": {"equals": 0}}}


def test_factors_by_hand() -> None:
    assert per_unit_factor(10.0, 5.0) == 2.0
    assert contrast_factor(20.0, 0.0, 10.0, 5.0) == pytest.approx(0.1)
    assert scaled(1.0, 0.5, 1.5, 0.1) == pytest.approx((0.1, 0.05, 0.15))
    with pytest.raises(DataError, match="high exposure group"):
        contrast_factor(0.0, 20.0, 10.0, 5.0)
    with pytest.raises(DataError, match="positive"):
        scaled(1.0, 0.0, 2.0, -1.0)


def test_contrast_and_per_unit_rows(run: Sources) -> None:
    rows = _rows(
        {"design": LONGITUDINAL_LEVEL, "analysis": "a", "where": {"term": "grip_group[4]"}, **BASE,
         "contrast": {"exposure": "grip_kg", "group": "grip_group", "high": 4, "low": 1}},
        {"design": "cross-sectional", "analysis": "a", "where": {"method": "slope"}, **BASE},
    )  # fmt: skip
    t = triangulation_table(rows, run)
    assert list(t.columns) == list(COLUMNS)
    assert t.loc[0, ["estimate", "conf_low", "conf_high"]].tolist() == pytest.approx([0.1, 0.05, 0.15])
    assert t.loc[0, "conversion"] == "contrast_to_sd"
    assert "2 SD" in t.loc[0, "scale_note"] and "assumes a linear" in t.loc[0, "scale_note"]
    assert t.loc[1, ["estimate", "conf_low", "conf_high"]].tolist() == pytest.approx([1.0, 0.4, 1.6])
    assert t.loc[1, "conversion"] == "per_unit_to_sd"
    assert t.loc[0, "evidence"] == SYNTHETIC and t.loc[0, "data_source"] == "synthetic: cohort c"
    assert t.loc[0, "bias"] == BIAS[LONGITUDINAL_LEVEL] and t.loc[1, "bias"] == "confounding; reverse causation"
    assert t.loc[0, "reported_estimate"] == 1.0 and int(t.loc[0, "n"]) == 5


def test_reported_per_sd_ratio_and_impossible(run: Sources) -> None:
    rows = _rows(
        {"design": "cross-sectional", "analysis": "a", "where": {"method": "std"}},
        {"design": "cross-sectional", "analysis": "a", "where": {"method": "logit"}},
        {"design": "cross-sectional", "analysis": "a", "where": {"method": "logit kg"}},
    )
    t = triangulation_table(rows, run)
    assert t.loc[0, ["estimate", "conf_low", "conf_high"]].tolist() == pytest.approx([0.2, 0.1, 0.3])
    assert t.loc[0, "conversion"] == "as_reported"
    assert t.loc[1, ["estimate", "conf_low", "conf_high"]].tolist() == pytest.approx(
        [math.log(2.0), math.log(1.6), math.log(2.5)])
    assert t.loc[1, "scale_kind"] == "log OR per SD of grip_kg"
    assert t.loc[2, "conversion"] == "none" and math.isnan(t.loc[2, "estimate"])
    assert t.loc[2, "scale_note"].startswith("not converted")


def test_mr_row_and_real_source(run: Sources) -> None:
    rows = _rows({"design": MR, "mr_pair": "grip__ci", "where": {"method": "Inverse variance weighted"}})
    t = triangulation_table(rows, run)
    assert t.loc[0, ["estimate", "conf_low", "conf_high"]].tolist() == pytest.approx([-0.07, -0.12, -0.02])
    assert t.loc[0, "scale_kind"] == "log odds of ci per SD of grip"
    assert int(t.loc[0, "n"]) == 461089 and int(t.loc[0, "n_instruments"]) == 3
    assert t.loc[0, "direction"] == "grip -> ci" and t.loc[0, "bias"] == BIAS[MR]
    harm = pd.read_csv(run.harmonised["grip__ci"], sep="\t").drop(columns=["samplesize.exposure"])
    harm.to_csv(run.harmonised["grip__ci"], sep="\t", index=False)
    no_n = triangulation_table(rows, run)
    assert pd.isna(no_n.loc[0, "n"]) and "n unknown" in no_n.loc[0, "scale_note"]
    real = Sources(run.estimates, run.cohorts, run.harmonised, {"c": {"tables": [], "description": "NHANES"}}, {})
    t2 = triangulation_table(_rows({"design": "cross-sectional", "analysis": "a", "where": {"method": "std"}}), real)
    assert t2.loc[0, "evidence"] == REAL and t2.loc[0, "data_source"] == "real: cohort c (NHANES)"
    assert "reproduced" not in " ".join(t["evidence"].tolist() + t2["evidence"].tolist())


def test_bad_rows(run: Sources) -> None:
    with pytest.raises(ConfigError, match="matches 5 rows"):
        triangulation_table(_rows({"design": "cross-sectional", "analysis": "a", "where": {"cohort": "c"}}), run)
    bad = {"design": LONGITUDINAL_LEVEL, "analysis": "a", "where": {"term": "grip_group[4]"}, **BASE,
           "contrast": {"exposure": "grip_kg", "group": "grip_group", "high": 5, "low": 1}}
    with pytest.raises(DataError, match=r"contrast groups \[5\] are not values of 'grip_group'.*\[1, 2, 4\]"):
        triangulation_table(_rows(bad), run)
    with pytest.raises(ConfigError, match="not configured"):
        triangulation_table(_rows({"design": "cross-sectional", "analysis": "zz", "where": {"term": "x"}}), run)
    rows = _rows({"design": MR, "mr_pair": "x__y", "where": {"term": "x"}})
    with pytest.raises(ConfigError, match="mr_pair 'x__y' is not configured in this run; configured: none"):
        check_sources(rows, ["a"], [])
    check_sources(_rows({"design": MR, "analysis": "a", "where": {"term": "x"}}), ["a"], [])
    with pytest.raises(ConfigError, match="not one of"):
        _rows({"design": "ecological", "analysis": "a", "where": {"term": "x"}})


def test_figure_panels(run: Sources) -> None:
    rows = _rows(
        {"design": "cross-sectional", "analysis": "a", "where": {"method": "std"}},
        {"design": "cross-sectional", "analysis": "a", "where": {"method": "logit kg"}},
        {"design": MR, "mr_pair": "grip__ci", "where": {"method": "Inverse variance weighted"}},
    )
    t = triangulation_table(rows, run)
    assert panel_order(t) == ["SD of outcome per SD of grip_kg", "log odds of ci per SD of grip"]
    assert row_label(t.loc[0]) == "cross-sectional: Grip strength \u2192 Cohort-defined cognitive composite"
    assert axis_label(panel_order(t)[0]) == "SD of outcome per SD of grip strength"
    fig = triangulation_figure(t)
    assert len(fig.axes) == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"design": "cross-sectional", "where": {"term": "x"}}, "takes exactly one of the keys analysis, mr_pair"),
        ({"design": "ecological", "analysis": "a", "where": {"term": "x"}}, "'ecological', which is not one of"),
        ({"design": MR, "mr_pair": "a__b", "where": {}}, "where"),
    ],
)
@pytest.mark.parametrize("form", ["list", "mapping"])
def test_schema_refuses_bad_rows(row: dict[str, object], message: str, form: str) -> None:
    from musclecog.config import validate_config

    schemas = Path(__file__).resolve().parents[2] / "workflow" / "schemas"
    rows = [row] if form == "list" else {"r1": row}
    with pytest.raises(ConfigError, match=message):
        validate_config({"seed": 1, "gwas": {}, "triangulation": {"rows": rows}}, schemas, base_dir=Path.cwd())


def test_rows_as_a_mapping_keep_their_order_and_name_their_messages(run: Sources) -> None:
    rows = parse_rows({"rows": {"second": {"design": MR, "mr_pair": "x__y", "where": {"term": "x"}},
                                "first": {"design": "cross-sectional", "analysis": "a", "where": {"method": "std"}}}})
    assert [r.source for r in rows] == ["x__y", "a"]
    assert [r.label for r in rows] == ["triangulation.rows.second", "triangulation.rows.first"]
    with pytest.raises(ConfigError, match=r"^triangulation.rows.second: mr_pair 'x__y' is not configured"):
        check_sources(rows, ["a"], [])
    with pytest.raises(ConfigError, match=r"^triangulation.rows.bad: design 'ecological'"):
        parse_rows({"rows": {"bad": {"design": "ecological", "analysis": "a", "where": {"term": "x"}}}})
    assert [r.label for r in _rows({"design": MR, "mr_pair": "x__y", "where": {"t": "x"}})] == ["triangulation.rows[0]"]


def test_default_and_nhanes_configs_join_their_rows() -> None:
    """Two --configfile files merge as Snakemake merges them (snakemake.utils.update_config, mappings key by key):
    the triangulation rows of both configs, the default's first and in its order (the end-to-end run is
    tests/workflow/test_combined_evidence.py)."""
    import yaml
    from snakemake.utils import update_config

    from musclecog.config import validate_config

    repo = Path(__file__).resolve().parents[2]
    default = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    example = yaml.safe_load((repo / "config" / "examples" / "nhanes_2011_2014.yaml").read_text())
    merged = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    update_config(merged, example)
    merged["nhanes_dir"] = "/nonexistent"  # a placeholder of the example; files are not read here
    config = validate_config(merged, repo / "workflow" / "schemas", check_files=False)
    rows = parse_rows(config["triangulation"])
    names = [r.label.removeprefix("triangulation.rows.") for r in rows]
    assert names == [*default["triangulation"]["rows"], *example["triangulation"]["rows"]]
    assert not set(default["triangulation"]["rows"]) & set(example["triangulation"]["rows"])
    check_sources(rows, list(config["analyses"]), ["grip__cognitive_impairment", "cognitive_impairment__grip"])
