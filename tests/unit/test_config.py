"""Config validation at start-up (musclecog.config): every problem stops the run with the key's path
and the fix. Also the cohort part of the schema ($defs/cohort), owned by ingestion."""

from __future__ import annotations

import copy

import pytest
import yaml

from musclecog.config import analysis_types, substitute_placeholders, validate_config
from musclecog.errors import ConfigError


@pytest.fixture(scope="module")
def schema_dir(repo_dir):
    return repo_dir / "workflow" / "schemas"


@pytest.fixture
def config(repo_dir):
    with open(repo_dir / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def check(cfg, schema_dir, repo_dir, **kw):
    return validate_config(cfg, schema_dir, base_dir=repo_dir, **kw)


def test_default_config_is_valid(config, schema_dir, repo_dir):
    out = check(config, schema_dir, repo_dir)
    assert out["cohorts"].keys() == config["cohorts"].keys()


def test_unknown_top_level_key(config, schema_dir, repo_dir):
    config["cohort"] = {}
    with pytest.raises(ConfigError, match=r"unknown key 'cohort' \(did you mean 'cohorts'\?\) under '<top level>'.*Fix the spelling"):
        check(config, schema_dir, repo_dir)


def test_unknown_cohort_key(config, schema_dir, repo_dir):
    config["cohorts"]["liao"]["keep_iff"] = {"age": {"min": 60}}
    with pytest.raises(ConfigError, match=r"unknown key 'keep_iff' \(did you mean 'keep_if'\?\) under 'cohorts\.liao'"):
        check(config, schema_dir, repo_dir)


def test_unknown_filter_operator(config, schema_dir, repo_dir):
    config["cohorts"]["liao"]["keep_if"] = {"age": {"minimum": 60}}
    with pytest.raises(ConfigError, match=r"unknown key 'minimum' .*under 'cohorts\.liao\.keep_if\.age'.*Allowed keys there: equals, in, max, min"):
        check(config, schema_dir, repo_dir)


def test_wrong_type(config, schema_dir, repo_dir):
    config["seed"] = "twelve"
    with pytest.raises(ConfigError, match=r"'seed' should be of type integer but is 'twelve' \(str\)\. Change the value"):
        check(config, schema_dir, repo_dir)
    config["seed"] = 1
    config["cohorts"]["liao"]["simulate"]["n"] = "many"
    with pytest.raises(ConfigError, match=r"'cohorts\.liao\.simulate\.n' should be of type integer"):
        check(config, schema_dir, repo_dir)


def test_missing_input_file(schema_dir, repo_dir, tmp_path):
    cfg = {"seed": 1, "cohorts": {"mine": {"tables": [{"path": str(tmp_path / "nope.csv")}]}}}
    with pytest.raises(ConfigError, match=r"'cohorts\.mine\.tables\[0\]\.path' points to '.*nope\.csv', which does not exist.*Correct the path"):
        check(cfg, schema_dir, repo_dir)
    assert check(cfg, schema_dir, repo_dir, check_files=False)["cohorts"]["mine"]["tables"][0]["path"].endswith("nope.csv")


def test_placeholder_must_be_set(schema_dir, repo_dir, tmp_path):
    (tmp_path / "DEMO_G.XPT").write_text("x")
    cfg = {"seed": 1, "nhanes_dir": None, "cohorts": {"n": {"tables": [{"path": "{nhanes_dir}/DEMO_G.XPT"}]}}}
    with pytest.raises(ConfigError, match=r"uses the placeholder \{nhanes_dir\} but 'nhanes_dir' is not set.*--config nhanes_dir=/path"):
        check(cfg, schema_dir, repo_dir)
    cfg["nhanes_dir"] = str(tmp_path)
    assert check(cfg, schema_dir, repo_dir)["cohorts"]["n"]["tables"][0]["path"] == f"{tmp_path}/DEMO_G.XPT"
    assert substitute_placeholders("{a_dir}/x", {"a_dir": "/d"}, "k") == "/d/x"


def test_unknown_cohort_reference(config, schema_dir, repo_dir, tmp_path):
    # a schema folder with one minimal analysis type, so the test does not depend on the families' schemas
    (tmp_path / "analyses").mkdir()
    (tmp_path / "config.schema.yaml").write_text((schema_dir / "config.schema.yaml").read_text())
    (tmp_path / "analyses" / "describe.schema.yaml").write_text(
        "type: object\nadditionalProperties: false\nrequired: [type, cohort]\n"
        "properties: {type: {const: describe}, cohort: {type: string}}\n"
    )
    assert analysis_types(tmp_path) == ["describe"]
    config["analyses"] = {"a1": {"type": "describe", "cohort": "liaoo"}}
    with pytest.raises(ConfigError, match=r"'analyses\.a1\.cohort' names the cohort 'liaoo', which is not defined under 'cohorts'.*Did you mean 'liao'\?"):
        check(config, tmp_path, repo_dir)
    config["analyses"]["a1"]["cohort"] = "liao"
    check(config, tmp_path, repo_dir)
    config["analyses"]["a1"]["exposure"] = "grip_kg"
    with pytest.raises(ConfigError, match=r"unknown key 'exposure' under 'analyses\.a1'"):
        check(config, tmp_path, repo_dir)


def test_unknown_analysis_type(config, schema_dir, repo_dir):
    config["analyses"] = {"a1": {"type": "regresion", "cohort": "liao"}}
    with pytest.raises(ConfigError, match=r"'analyses\.a1\.type' is 'regresion', which is not an analysis type\. Known types:"):
        check(config, schema_dir, repo_dir)


def test_cohort_needs_exactly_one_source(config, schema_dir, repo_dir):
    config["cohorts"]["liao"]["tables"] = [{"path": "resources/variables.tsv"}]
    with pytest.raises(ConfigError, match=r"cohorts\.liao"):
        check(config, schema_dir, repo_dir)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("wave", {"order_by": "age", "sort": "x"}, r"unknown key 'sort'"),
        ("derive", [{"zscores": ["grip_kg"]}], r"cohorts\.c\.derive\[0\]"),
        ("stack", [[0]], r"cohorts\.c\.stack\[0\]"),
        ("join", "inner_join", r"'cohorts\.c\.join' is 'inner_join', which is not one of inner, left, outer\. Did you mean 'inner'\?"),
        ("missing_codes", {"education": 7}, r"'cohorts\.c\.missing_codes\.education' should be of type array"),
        ("table1", {"by": "sex", "min_cells": 5}, r"unknown key 'min_cells' \(did you mean 'min_cell'\?\)"),
    ],
)
def test_cohort_schema_rejects(schema_dir, repo_dir, key, value, message):
    cfg = {"seed": 1, "cohorts": {"c": {"tables": [{"path": "resources/variables.tsv", "columns": {"name": "id"}}], key: value}}}
    with pytest.raises(ConfigError, match=message):
        check(cfg, schema_dir, repo_dir)


def test_cohort_schema_accepts_every_documented_key(schema_dir, repo_dir):
    cohort = {
        "description": "all keys",
        "tables": [
            {"path": "resources/variables.tsv", "format": "tsv", "columns": {"name": "id"}, "keep_all_columns": True,
             "keep_if": {"kind": {"not_missing": True}}, "add": {"cycle": 1}, "zero_threshold": 0},
            {"path": "resources/units.tsv", "columns": {"from": "id"}},
        ],
        "stack": [[0, 1]], "join": "left", "join_on": ["id"], "wave": {"order_by": "age", "time_from": "age"},
        "copy": {"grip_kg": "grip_combined_kg"}, "recode": {"sex": {1: "male", 2: "female"}},
        "missing_codes": {"education": [7, 9, "."]}, "units": {"grip_kg": "lb"}, "zero_threshold": 1e-70,
        "keep_if": {"age": {"min": 60}}, "derive": ["low_grip_ewgsop2", {"zscore": ["grip_kg"]}, {"change": "dsst"}],
        "table1": {"by": "sex", "min_cell": 10},
        "survey": {"weight": "w", "strata": "s", "psu": "p", "weight_divisor": 2},
    }
    out = check({"seed": 1, "cohorts": {"c": copy.deepcopy(cohort)}}, schema_dir, repo_dir)
    assert out["cohorts"]["c"]["table1"] == {"by": "sex", "min_cell": 10}


def test_nhanes_example_is_valid(repo_dir, schema_dir, tmp_path):
    with open(repo_dir / "config" / "examples" / "nhanes_2011_2014.yaml") as fh:
        cfg = yaml.safe_load(fh)
    assert cfg["results_dir"] == "results/nhanes_2011_2014"
    for name in ("DEMO_G.XPT", "DEMO_H.XPT", "MGX_G.XPT", "MGX_H.XPT", "BMX_G.XPT", "BMX_H.XPT", "CFQ_H.XPT",
                 "merged_age60plus_cfq_paq_2011_2014.csv"):
        (tmp_path / name).write_text("")
    cfg["nhanes_dir"] = str(tmp_path)
    out = check(cfg, schema_dir, repo_dir)
    assert out["cohorts"]["nhanes_2011_2014"]["tables"][0]["path"] == f"{tmp_path}/DEMO_G.XPT"


def test_config_with_nothing_to_run(schema_dir):
    """Cohorts are optional (an MR-only config has none), but a config needs cohorts, gwas or mr."""
    with pytest.raises(ConfigError, match="needs at least one of the keys cohorts, mr, gwas"):
        validate_config({"seed": 1}, schema_dir)
    out = validate_config({"seed": 1, "mr": {}, "gwas": {}}, schema_dir)
    assert "cohorts" not in out
