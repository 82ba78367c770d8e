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
    if shared.exists():  # our copy adds the column 'alternative' (the value a check's CI must exclude)
        theirs = load_targets(shared)
        pd.testing.assert_frame_equal(ours[[c for c in theirs.columns if c != "alternative"]],
                                      theirs.drop(columns="alternative"))


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


def test_unmapped_targets_say_not_checked(targets_path):
    targets = load_targets(targets_path)
    table = reproduce(targets, {}, {}, {})
    assert list(table.columns) == list(REPRODUCTION_COLUMNS)
    assert len(table) == len(targets)
    assert (table["verdict"] == "not checked").all()
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
    assert table.loc["liao_grip_1back", "verdict"] == "recovered"  # 0.342 in [0.22, 0.40], half 0.171 outside
    assert table.loc["liao_grip_1back", "evidence"] == "synthetic_recovery"
    assert table.loc["liao_grip_1back", "synthetic_truth"] == 0.342
    assert table.loc["liao_grip_1back", "ci_width_rel"] == pytest.approx(0.18 / 0.342)
    assert "in our CI" in table.loc["liao_grip_1back", "note"]
    assert table.loc["liao_grip_2back", "verdict"] == "not recovered"  # 0.215 < 0.25
    assert table.loc["liao_sts_1back", "verdict"] == "not checked"


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
    assert table.loc["wang_dsst_low_alm_bmi_60_69", "verdict"] == "replicated"  # p 0.0005 < 0.001
    assert table.loc["wang_dsst_low_alm_bmi_80p", "verdict"] == "replicated"  # exact p 0.009 -> bound 0.05
    assert table.loc["mavros_smart_mediation", "verdict"] == "replicated"
    # OR 1.27 in [1.2, 1.3]; half the effect sqrt(1.27) = 1.127 outside
    assert table.loc["jiang_grip_prospective_memory", "verdict"] == "replicated"
    assert table.loc["jiang_grip_prospective_memory", "alternative"] == pytest.approx(math.sqrt(1.27))
    assert table.loc["jiang_grip_prospective_memory", "ci_width_rel"] == pytest.approx(
        (math.log(1.3) - math.log(1.2)) / math.log(1.27))
    # t = -18.5 +/- 1.96 covers -19.56, and not half of it (-9.78)
    assert table.loc["jiang_grip_reaction_time", "verdict"] == "replicated"
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
    # log(0.878) = -0.130 lies in [-0.147, -0.108], but half the forward effect, sqrt(0.93) = 0.964, lies in
    # [0.89, 0.976] too (as it does in the published CI 0.89-0.97)
    assert row["verdict"] == "uninformative"
    assert row["alternative"] == pytest.approx(math.sqrt(0.93))
    assert row["evidence"] == "synthetic_recovery"
    assert row["published_value"] == 0.93
    with pytest.raises(ConfigError, match="published_transform"):
        parse_mapping({"liao_grip_1back": {"analysis": "x", "published_transform": "sqrt"}}, targets)


def _one(targets, entry, table, truths=None, tid="liu_charls_grip_decline"):
    mapping = parse_mapping({tid: entry}, targets)
    return reproduce(targets, mapping, {("analysis", "a"): table}, truths or {}).set_index("target_id").loc[tid]


CHARLS_TRUTH = {"charls": pd.DataFrame({"parameter": ["w", "m"], "value": [1.061, 1.233]})}


def test_stratum_specific_target_is_uninformative_when_ci_covers_the_other_stratum(targets_path):
    """Issue 13: women 1.23 (0.86-1.61) and men 1.02 against published 1.061 / 1.233 cannot tell the sexes apart."""
    targets = load_targets(targets_path)
    est = pd.concat([
        _estimates(cohort="charls", term="q4", stratum="sex=female", estimate=1.23, conf_low=0.86, conf_high=1.61,
                   scale="beta"),
        _estimates(cohort="charls", term="q4", stratum="sex=male", estimate=1.02, conf_low=0.70, conf_high=1.34,
                   scale="beta"),
    ])
    entry = {"checks": [
        {"analysis": "a", "published": 1.061, "alternative": 1.233, "truth": "w",
         "where": {"term": "q4", "stratum": "sex=female"}},
        {"analysis": "a", "published": 1.233, "alternative": 1.061, "truth": "m",
         "where": {"term": "q4", "stratum": "sex=male"}},
    ]}
    row = _one(targets, entry, est, CHARLS_TRUTH)
    assert row["verdict"] == "uninformative"
    assert row["evidence"] == "synthetic_recovery"
    assert row["alternative"] == 1.233
    assert "uninformative" in row["note"] and "also in" in row["note"]
    # narrow CIs that each exclude the other sex's value: recovered
    narrow = pd.concat([
        _estimates(cohort="charls", term="q4", stratum="sex=female", estimate=1.07, conf_low=0.98, conf_high=1.15),
        _estimates(cohort="charls", term="q4", stratum="sex=male", estimate=1.22, conf_low=1.14, conf_high=1.31),
    ])
    assert _one(targets, entry, narrow, CHARLS_TRUTH)["verdict"] == "recovered"
    # one sex's CI misses its published value: not recovered (a failure outranks uninformative)
    off = pd.concat([narrow.iloc[[0]], _estimates(cohort="charls", term="q4", stratum="sex=male", estimate=1.6,
                                                  conf_low=1.5, conf_high=1.7)])
    assert _one(targets, entry, off, CHARLS_TRUTH)["verdict"] == "not recovered"


def test_r_squared_that_cannot_exclude_half_the_effect_is_uninformative(targets_path):
    """Issue 13: Li's R^2 0.040 (0.0002-0.141) 'passed' against 0.116; half of it, 0.058, is in the CI too."""
    targets = load_targets(targets_path)
    truth = {"li": pd.DataFrame({"parameter": ["r2"], "value": [0.116]})}
    est = _estimates(cohort="li", term="r_squared", estimate=0.040, conf_low=0.000184, conf_high=0.1407)
    row = _one(targets, {"analysis": "a", "where": {"term": "r_squared"}, "truth": "r2"}, est, truth,
               "li_1back_cognition_r2")
    assert row["verdict"] == "uninformative"
    assert row["alternative"] == pytest.approx(0.058)
    assert row["ci_width_rel"] == pytest.approx((0.1407 - 0.000184) / 0.116)
    # with the null as the alternative (config override) the same CI is informative: 0 lies outside it
    row = _one(targets, {"analysis": "a", "where": {"term": "r_squared"}, "truth": "r2", "alternative": "null"},
               est, truth, "li_1back_cognition_r2")
    assert row["verdict"] == "recovered"


def test_truth_outside_ci_is_not_recovered_even_if_published_inside(targets_path):
    targets = load_targets(targets_path)
    truth = {"liao": pd.DataFrame({"parameter": ["r"], "value": [0.45]})}
    row = _one(targets, {"analysis": "a", "where": {"term": "grip_kg"}, "truth": "r"}, _estimates(), truth,
               "liao_grip_1back")
    assert row["verdict"] == "not recovered"
    assert "OUTSIDE" in row["note"]


def test_includes_null_check_is_uninformative_when_it_also_covers_the_alternative(targets_path):
    """'VO2peak does not mediate' says little when its CI also covers the strength effect (-0.64)."""
    targets = load_targets(targets_path)
    entry = {"analysis": "a", "where": {"term": "vo2"}, "rule": "ci_includes_null", "alternative": -0.64}
    wide = _estimates(term="vo2", estimate=-0.2, conf_low=-0.9, conf_high=0.4)
    assert _one(targets, entry, wide, tid="mavros_smart_mediation")["verdict"] == "uninformative"
    narrow = _estimates(term="vo2", estimate=-0.05, conf_low=-0.3, conf_high=0.2)
    assert _one(targets, entry, narrow, tid="mavros_smart_mediation")["verdict"] == "replicated"
    assert _one(targets, entry | {"where": {"term": "vo2"}},
                _estimates(term="vo2", estimate=-0.6, conf_low=-1.0, conf_high=-0.2),
                tid="mavros_smart_mediation")["verdict"] == "not replicated"


def test_direction_rules_fail_on_the_wrong_sign_or_a_large_p(targets_path):
    targets = load_targets(targets_path)
    entry = {"analysis": "a", "where": {"term": "grip_kg"}, "rule": "direction_and_p", "expect": "negative"}
    tid = "wang_dsst_low_alm_bmi_60_69"
    assert _one(targets, entry, _estimates(estimate=2.0, p_value=1e-6), tid=tid)["verdict"] == "not replicated"
    # a direction rule compares no published number: none is reported, so the figure does not scale by one
    row = _one(targets, entry, _estimates(estimate=-2.0, p_value=1e-6), tid="jiang_grip_reaction_time")
    assert math.isnan(row["published_value"]) and math.isnan(row["ci_width_rel"])
    assert _one(targets, entry, _estimates(estimate=-2.0, p_value=0.004), tid=tid)["verdict"] == "not replicated"
    entry = {"analysis": "a", "where": {"term": "grip_kg"}, "rule": "ci_excludes_null", "expect": "positive"}
    assert _one(targets, entry, _estimates(conf_low=-0.01), tid=tid)["verdict"] == "not replicated"
    assert _one(targets, entry, _estimates(), tid=tid)["verdict"] == "replicated"


def test_both_sections_give_one_row_each(targets_path):
    """A run with synthetic and real configs shows both kinds of evidence for the same target."""
    targets = load_targets(targets_path)
    entry = {"analysis": "a", "where": {"term": "grip_kg"}, "truth": "r"}
    real = {"analysis": "b", "where": {"term": "grip_kg"}}
    truth = {"liao": pd.DataFrame({"parameter": ["r"], "value": [0.342]})}
    est = {("analysis", "a"): _estimates(), ("analysis", "b"): _estimates(cohort="nhanes_real")}
    table = reproduce(targets, parse_mapping({"liao_grip_1back": entry}, targets), est, truth,
                      parse_mapping({"liao_grip_1back": real}, targets, "replication"))
    rows = table[table["target_id"] == "liao_grip_1back"]
    assert list(rows["evidence"]) == ["synthetic_recovery", "real_replication"]
    assert list(rows["verdict"]) == ["recovered", "replicated"]
    assert (table.groupby("target_id").size() >= 1).all()


def test_no_verdict_ever_says_reproduced(targets_path):
    from musclecog import reproduce as module

    words = {v for pair in module.VERDICTS.values() for v in pair} | {module.UNINFORMATIVE, module.NOT_CHECKED,
                                                                      module.MISSING}
    assert not any("reproduced" in w for w in words)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"analysis": "x", "alternative": "double"}, "alternative"),
        ({"analysis": "x", "rule": "direction_and_p", "expect": "negative", "alternative": 0.1}, "already tests"),
    ],
)
def test_bad_alternative(targets_path, entry, match):
    with pytest.raises(ConfigError, match=match):
        parse_mapping({"liao_grip_1back": entry}, load_targets(targets_path))


def test_bad_alternative_column(tmp_path, targets_path):
    text = targets_path.read_text().replace("\thalf\n", "\ttwice\n", 1)
    bad = tmp_path / "bad.tsv"
    bad.write_text(text)
    with pytest.raises(DataError, match="alternative"):
        load_targets(bad)
