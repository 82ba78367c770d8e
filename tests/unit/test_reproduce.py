"""The reproduction table: target parsing, verdict rules, and bad input."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.reproduce import (
    REPRODUCTION_COLUMNS,
    build_reproduction,
    load_targets,
    p_bound,
    parse_mapping,
    parse_published,
    reproduce,
)
from musclecog.results import tidy_frame, write_table


@pytest.fixture()
def targets_path(repo_dir, tmp_path):
    path = tmp_path / "targets.tsv"
    shutil.copy(repo_dir / "resources" / "review_targets.tsv", path)
    return path


def _estimates(**kw):
    row = dict(analysis="liao_r", cohort="liao", method="pearson", outcome="nback1_acc", exposure="grip_kg",
               term="grip_kg", estimate=0.30, std_error=0.05, conf_low=0.22, conf_high=0.40, p_value=1e-6,
               n=245, scale="correlation")
    return tidy_frame([row | kw])


def test_targets_copy_matches_shared_reference(repo_dir):
    """resources/review_targets.tsv is our copy of ../shared/reference/review_targets.tsv (with DOIs)."""
    ours = load_targets(repo_dir / "resources" / "review_targets.tsv")
    assert ours["source_doi"].str.startswith("10.").sum() >= 18
    shared = repo_dir.parent / "shared" / "reference" / "review_targets.tsv"
    if shared.exists():
        pd.testing.assert_frame_equal(ours, load_targets(shared))


@pytest.mark.parametrize(
    ("text", "value"), [("43.56 (18.36)", 43.56), ("-19.56", -19.56), ("1.27", 1.27), ("NA", math.nan), ("direction", math.nan)]
)
def test_parse_published(text, value):
    got = parse_published(text)
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_p_bound():
    assert p_bound("<0.001") == 0.001
    assert p_bound("0.009") == 0.05
    assert p_bound("NA") == 0.05


def test_unmapped_targets_say_not_yet_reproduced(targets_path):
    targets = load_targets(targets_path)
    table = reproduce(targets, {}, {}, {})
    assert list(table.columns) == list(REPRODUCTION_COLUMNS)
    assert len(table) == len(targets)
    assert (table["verdict"] == "not yet reproduced").all()
    assert table["estimate"].isna().all()


def test_published_in_ci_verdicts_and_truth(targets_path):
    targets = load_targets(targets_path)
    mapping = parse_mapping(
        {
            "liao_grip_1back": {"analysis": "liao_r", "where": {"term": "grip_kg"}, "truth": "r_grip_nback1"},
            "liao_grip_2back": {"analysis": "liao_r2", "where": {"term": "grip_kg"}},
        },
        targets,
    )
    truths = {"liao": pd.DataFrame({"parameter": ["r_grip_nback1"], "value": [0.342]})}
    est = {("analysis", "liao_r"): _estimates(), ("analysis", "liao_r2"): _estimates(conf_low=0.25, conf_high=0.5)}
    table = reproduce(targets, mapping, est, truths).set_index("target_id")
    assert table.loc["liao_grip_1back", "verdict"] == "reproduced"
    assert table.loc["liao_grip_1back", "synthetic_truth"] == 0.342
    assert "in our CI" in table.loc["liao_grip_1back", "note"]
    assert table.loc["liao_grip_2back", "verdict"] == "not reproduced"  # 0.215 < 0.25
    assert table.loc["liao_sts_1back", "verdict"] == "not yet reproduced"


def test_direction_and_p_and_null_rules(targets_path):
    targets = load_targets(targets_path)
    mapping = parse_mapping(
        {
            "wang_dsst_low_alm_bmi_60_69": {"analysis": "w", "where": {"stratum": "60-69"}, "rule": "direction_and_p",
                                            "expect": "negative"},
            "wang_dsst_low_alm_bmi_80p": {"analysis": "w", "where": {"stratum": "80+"}, "rule": "direction_and_p",
                                          "expect": "negative"},
            "mavros_smart_mediation": {"checks": [
                {"analysis": "m", "where": {"term": "strength"}, "rule": "ci_excludes_null", "expect": "negative"},
                {"analysis": "m", "where": {"term": "vo2"}, "rule": "ci_includes_null"},
            ]},
            "jiang_grip_prospective_memory": {"analysis": "j", "where": {"term": "grip_kg"}},
            "jiang_grip_reaction_time": {"analysis": "t", "where": {"term": "grip_kg"}, "value": "statistic"},
        },
        targets,
    )
    w = pd.concat([_estimates(stratum="60-69", estimate=-3.0, p_value=0.0005),
                   _estimates(stratum="80+", estimate=-3.0, p_value=0.02)])
    m = pd.concat([_estimates(term="strength", estimate=-0.6, conf_low=-1.2, conf_high=-0.05),
                   _estimates(term="vo2", estimate=-0.1, conf_low=-0.5, conf_high=0.3)])
    j = _estimates(estimate=1.25, conf_low=1.2, conf_high=1.3, scale="odds_ratio")
    t = _estimates(statistic=-18.5)
    est = {("analysis", "w"): w, ("analysis", "m"): m, ("analysis", "j"): j, ("analysis", "t"): t}
    table = reproduce(targets, mapping, est, {}).set_index("target_id")
    assert table.loc["wang_dsst_low_alm_bmi_60_69", "verdict"] == "reproduced"  # p 0.0005 < 0.001
    assert table.loc["wang_dsst_low_alm_bmi_80p", "verdict"] == "reproduced"  # exact p 0.009 -> bound 0.05
    assert table.loc["mavros_smart_mediation", "verdict"] == "reproduced"
    assert table.loc["jiang_grip_prospective_memory", "verdict"] == "reproduced"
    # t = -18.5 +/- 1.96 covers -19.56
    assert table.loc["jiang_grip_reaction_time", "verdict"] == "reproduced"
    assert table.loc["jiang_grip_reaction_time", "conf_low"] == pytest.approx(-18.5 - 1.959964, abs=1e-5)


def test_missing_output_is_reported_not_pretended(targets_path, tmp_path):
    table = build_reproduction(
        targets_path, {"liao_grip_1back": {"analysis": "liao_r", "where": {"term": "grip_kg"}}},
        {"analysis:liao_r": str(tmp_path / "absent.tsv")}, {},
    ).set_index("target_id")
    assert table.loc["liao_grip_1back", "verdict"] == "missing output"
    assert "liao_r" in table.loc["liao_grip_1back", "note"]


def test_build_reproduction_reads_files(targets_path, tmp_path):
    write_table(_estimates(), tmp_path / "liao_r.tsv")
    table = build_reproduction(
        targets_path, {"liao_grip_1back": {"analysis": "liao_r", "where": {"term": "grip_kg"}}},
        {"analysis:liao_r": str(tmp_path / "liao_r.tsv")}, {},
    ).set_index("target_id")
    assert table.loc["liao_grip_1back", "estimate"] == pytest.approx(0.30)


def test_unknown_target_id_is_a_config_error(targets_path):
    with pytest.raises(ConfigError, match="not a target id"):
        parse_mapping({"liao_grip_3back": {"analysis": "x"}}, load_targets(targets_path))


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"analysis": "x", "rule": "vibes"}, "rule"),
        ({"analysis": "x", "mr_pair": "y"}, "exactly one"),
        ({"analysis": "x", "rule": "direction_and_p"}, "expect"),
        ({"analysis": "x", "whre": {}}, "unknown keys"),
    ],
)
def test_bad_check_config(targets_path, entry, match):
    with pytest.raises(ConfigError, match=match):
        parse_mapping({"liao_grip_1back": entry}, load_targets(targets_path))


def test_selection_must_match_one_row(targets_path):
    targets = load_targets(targets_path)
    mapping = parse_mapping({"liao_grip_1back": {"analysis": "a", "where": {"method": "pearson"}}}, targets)
    est = {("analysis", "a"): pd.concat([_estimates(), _estimates(term="sts30")])}
    with pytest.raises(ConfigError, match="matches 2 rows"):
        reproduce(targets, mapping, est, {})


def test_malformed_targets_rows(tmp_path, targets_path):
    lines = targets_path.read_text().splitlines()
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join([lines[0], lines[1], "only\ttwo fields"]) + "\n")
    with pytest.raises(DataError, match="line 3"):
        load_targets(bad)
    dup = tmp_path / "dup.tsv"
    dup.write_text("\n".join([lines[0], lines[1], lines[1]]) + "\n")
    with pytest.raises(DataError, match="duplicated target_id"):
        load_targets(dup)
    nocol = tmp_path / "nocol.tsv"
    nocol.write_text("target_id\tvalue\nx\t1\n")
    with pytest.raises(DataError, match="lacks the columns"):
        load_targets(nocol)


def test_published_override_and_log_transform(targets_path):
    """MR: the forward OR is compared as an OR; the reverse 'OR' 0.878 = exp(beta) is compared on the beta scale."""
    targets = load_targets(targets_path)
    mapping = parse_mapping(
        {"mr_grip_cognition_bidirectional": {"checks": [
            {"mr_pair": "f", "where": {"scale": "odds_ratio"}, "published": 0.93},
            {"mr_pair": "r", "where": {"scale": "beta"}, "published": 0.878, "published_transform": "log",
             "truth_table": "grip", "truth": "beta"},
        ]}},
        targets,
    )
    est = {
        ("mr_pair", "f"): _estimates(estimate=0.933, conf_low=0.89, conf_high=0.976, scale="odds_ratio"),
        ("mr_pair", "r"): _estimates(estimate=-0.128, conf_low=-0.147, conf_high=-0.108, scale="beta"),
    }
    truths = {"grip": pd.DataFrame({"parameter": ["beta"], "value": [math.log(0.878)]})}
    row = reproduce(targets, mapping, est, truths).set_index("target_id").loc["mr_grip_cognition_bidirectional"]
    assert row["verdict"] == "reproduced"  # log(0.878) = -0.130 lies in [-0.147, -0.108]
    with pytest.raises(ConfigError, match="published_transform"):
        parse_mapping({"liao_grip_1back": {"analysis": "x", "published_transform": "sqrt"}}, targets)
