"""Ingestion: join, stack, mapping, units, recodes, missing codes, filters, long tables, and every bad
input of issue 2 (each error names the file or key, the column, the offending values and the fix)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import musclecog.simulate as simulate_mod
from musclecog.errors import ConfigError, DataError
from musclecog.ingest import build_cohort, write_cohort
from musclecog.io import write_input_table
from musclecog.results import read_table


@pytest.fixture
def demo(tmp_path):
    df = pd.DataFrame(
        {
            "SEQN": [101.0, 102.0, 103.0, 104.0, 105.0, 106.0],
            "RIAGENDR": [1.0, 2.0, 2.0, 1.0, 2.0, 1.0],
            "RIDAGEYR": [65.0, 72.0, 58.0, 81.0, 66.0, 70.0],
            "DMDEDUC2": [3.0, 7.0, 5.0, 9.0, 1.0, 4.0],
            "OTHER": ["a", "b", "c", "d", "e", "f"],
        }
    )
    path = tmp_path / "DEMO.xpt"
    write_input_table(df.drop(columns="OTHER"), path)
    csv = tmp_path / "demo.csv"
    write_input_table(df, csv)
    return path, csv, df


@pytest.fixture
def grip(tmp_path):
    df = pd.DataFrame({"id": [101, 102, 103, 104, 105, 107], "grip_lb": [66.0, 33.0, 55.0, 44.0, 30.0, 70.0],
                       "dsst": [50, 40, 60, 30, 45, 52]})
    path = tmp_path / "grip.parquet"
    write_input_table(df, path)
    return path, df


def spec_two_tables(demo, grip, **extra):
    return {
        "tables": [
            {"path": str(demo[0]), "columns": {"SEQN": "id", "RIAGENDR": "sex", "RIDAGEYR": "age", "DMDEDUC2": "education"}},
            {"path": str(grip[0]), "columns": {"id": "id", "grip_lb": "grip_kg", "dsst": "dsst"}},
        ],
        "recode": {"sex": {1: "male", 2: "female"}},
        "units": {"grip_kg": "lb"},
        **extra,
    }


def test_join_map_units_recode_missing_codes(demo, grip):
    c = build_cohort("t", spec_two_tables(demo, grip, missing_codes={"education": [7, 9]}), seed=1)
    d = c.data
    assert d["id"].tolist() == [101, 102, 103, 104, 105]  # inner join: 106 has no grip, 107 no demo
    assert d["sex"].tolist() == ["male", "female", "female", "male", "female"]
    np.testing.assert_allclose(d["grip_kg"], np.array([66.0, 33.0, 55.0, 44.0, 30.0]) * 0.45359237)
    assert d["education"].isna().tolist() == [False, True, False, True, False]
    flow = c.flow.set_index("step")
    assert flow.loc["join grip.parquet", "n_excluded"] == 1
    assert "not in" in flow.loc["join grip.parquet", "reason"]
    assert "2 values coded 7, 9 set to missing" in flow.loc["missing_codes.education", "reason"]
    assert flow.loc["missing_codes.education", "n_excluded"] == 0
    assert {"low_grip_ewgsop2", "age_group"} <= set(c.derived)


def test_left_and_outer_joins(demo, grip):
    left = build_cohort("t", spec_two_tables(demo, grip, join="left"), seed=1).data
    assert left["id"].tolist() == [101, 102, 103, 104, 105, 106]
    assert np.isnan(left.loc[left["id"] == 106, "grip_kg"]).all()
    outer = build_cohort("t", spec_two_tables(demo, grip, join="outer"), seed=1)
    assert outer.data["id"].tolist() == [101, 102, 103, 104, 105, 106, 107]
    assert "1 rows added" in outer.flow["reason"].iloc[-2]


def test_keep_if_counts_every_exclusion(demo, grip):
    c = build_cohort("t", spec_two_tables(demo, grip, keep_if={"age": {"min": 60}, "sex": {"equals": "female"}}), seed=1)
    assert c.data["id"].tolist() == [102, 105]
    flow = c.flow.set_index("step")
    assert flow.loc["cohorts.t.keep_if.age.min", ["n_in", "n_out", "n_excluded"]].tolist() == [5, 4, 1]
    assert flow.loc["cohorts.t.keep_if.sex.equals", "n_excluded"] == 2
    total = c.flow["n_excluded"].sum()
    assert total == 6 - 2  # every row that left is counted: 1 join + 1 age + 2 sex


def test_unmapped_and_non_dictionary_columns(demo, grip):
    spec = spec_two_tables(demo, grip)
    spec["tables"][0] = {"path": str(demo[1]), "columns": {"SEQN": "id", "RIAGENDR": "sex", "OTHER": "my_label"},
                         "add": {"cycle": 2011}}
    c = build_cohort("t", spec, seed=1)
    assert c.data["my_label"].tolist() == ["a", "b", "c", "d", "e"]
    assert (c.data["cycle"] == 2011).all()
    spec["tables"][0] = {"path": str(demo[1]), "columns": {"SEQN": "id", "RIAGENDR": "sex"}, "keep_all_columns": True}
    d = build_cohort("t", spec, seed=1).data
    assert {"OTHER", "RIDAGEYR", "DMDEDUC2"} <= set(d.columns)


def test_stack_two_cycles_then_join(tmp_path, grip):
    for name, ids in (("A_G.csv", [101, 102, 103]), ("A_H.csv", [104, 105])):
        write_input_table(pd.DataFrame({"SEQN": ids, "RIAGENDR": [1] * len(ids)}), tmp_path / name)
    spec = {
        "tables": [
            {"path": str(tmp_path / "A_G.csv"), "columns": {"SEQN": "id", "RIAGENDR": "sex"}},
            {"path": str(tmp_path / "A_H.csv"), "columns": {"SEQN": "id", "RIAGENDR": "sex"}},
            {"path": str(grip[0]), "columns": {"id": "id", "dsst": "dsst"}},
        ],
        "stack": [[0, 1]],
        "recode": {"sex": {1: "male"}},
    }
    c = build_cohort("t", spec, seed=1)
    assert c.data["id"].tolist() == [101, 102, 103, 104, 105]
    assert c.flow["step"].tolist()[3] == "stack A_G.csv + A_H.csv"
    spec["tables"][1]["columns"] = {"SEQN": "id"}
    with pytest.raises(DataError, match=r"cannot stack .*A_G\.csv and .*A_H\.csv: their columns differ .*\['sex'\]"):
        build_cohort("t", spec, seed=1)


def test_copy_column(demo, grip):
    c = build_cohort("t", spec_two_tables(demo, grip, copy={"grip_combined_kg": "grip_kg"}), seed=1)
    assert c.data["grip_combined_kg"].equals(c.data["grip_kg"])


def test_long_table_wave_column_and_visit_numbering(tmp_path):
    long = pd.DataFrame({"ID": [1, 1, 1, 2, 2], "visit": [0, 1, 2, 0, 1], "age": [70.0, 72.0, 75.5, 80.0, 81.0],
                         "MMSE": [28, 27, 25, 24, 20]})
    base = pd.DataFrame({"ID": [1, 2], "male": [1, 0]})
    write_input_table(long, tmp_path / "long.csv")
    write_input_table(base, tmp_path / "base.csv")
    spec = {
        "tables": [
            {"path": str(tmp_path / "long.csv"), "columns": {"ID": "id", "visit": "visit", "age": "age", "MMSE": "mmse"}},
            {"path": str(tmp_path / "base.csv"), "columns": {"ID": "id", "male": "sex"}},
        ],
        "wave": "visit",
        "recode": {"sex": {1: "male", 0: "female"}},
        "derive": [{"change": ["mmse"]}],
    }
    c = build_cohort("t", spec, seed=1)
    assert c.data["wave"].tolist() == [0, 1, 2, 0, 1]
    assert c.data["sex"].tolist() == ["male"] * 3 + ["female"] * 2  # baseline table joined many-to-one
    assert c.data["mmse_change"].tolist() == [0, -1, -3, 0, -4]
    assert "(2 people)" in c.flow["reason"].iloc[-1]
    # PAQUID style: no wave column, visits numbered within id by age, time since the first visit
    spec["tables"][0]["columns"] = {"ID": "id", "age": "age", "MMSE": "mmse"}
    spec["wave"] = {"order_by": "age", "time_from": "age"}
    c = build_cohort("t", spec, seed=1)
    assert c.data["wave"].tolist() == [0, 1, 2, 0, 1]
    np.testing.assert_allclose(c.data["time_years"], [0, 2, 5.5, 0, 1])


def test_table1_suppresses_small_cells(demo, grip):
    c = build_cohort("t", spec_two_tables(demo, grip, table1={"by": "sex"}), seed=1)
    t1 = c.table1
    edu = t1[(t1["stratum"] == "overall") & (t1["variable"] == "education")]
    assert edu["level"].tolist() == ["1", "3", "5", "7", "9"] and (edu["summary"] == "<5").all()  # one person each
    assert edu["count"].isna().all() and edu["percent"].isna().all()
    overall_age = t1[(t1["stratum"] == "overall") & (t1["variable"] == "age")]
    ages = np.array([65.0, 72.0, 58.0, 81.0, 66.0])
    assert overall_age["n"].tolist() == [5]
    assert overall_age["summary"].tolist() == [f"{ages.mean():.2f} ({ages.std(ddof=1):.2f})"]
    men = t1[t1["stratum"] == "sex=male"]  # 2 men: every cell suppressed, the mean too
    assert men.loc[men["variable"] == "N", "summary"].tolist() == ["<5"]
    assert men.loc[men["variable"] == "age", "summary"].tolist() == ["<5"]
    assert men["mean"].isna().all()
    assert "fewer than 5 people are suppressed" in t1["summary"].iloc[-1]
    assert set(t1["stratum"]) == {"overall", "sex=female", "sex=male", ""}


def test_table1_threshold_is_the_runs_disclosure_rule_at_least(demo, grip):
    """disclosure.min_cell (passed as min_cell) reaches table 1 and is a floor for the cohort's own key:
    with min_cell 6 the 5-person overall age summary is hidden; a cohort key of 2 does not lower it."""
    for table1_key in ({"by": "sex"}, {"by": "sex", "min_cell": 2}):
        t1 = build_cohort("t", spec_two_tables(demo, grip, table1=table1_key), seed=1, min_cell=6).table1
        overall_age = t1[(t1["stratum"] == "overall") & (t1["variable"] == "age")]
        assert overall_age["summary"].tolist() == ["<6"]
        assert "fewer than 6 people are suppressed" in t1["summary"].iloc[-1]
    strict = build_cohort("t", spec_two_tables(demo, grip, table1={"by": "sex", "min_cell": 7}), seed=1, min_cell=6)
    assert "fewer than 7 people are suppressed" in strict.table1["summary"].iloc[-1]


# ------------------------------------------------------------------ synthetic cohorts and writing


def _tiny(seed: int, n: int = 50, **params):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"id": np.arange(n), "age": rng.uniform(60, 90, n), "sex": rng.choice(["male", "female"], n),
                         "grip_kg": rng.normal(30, 6, n).clip(5), "dsst": rng.normal(45, 12, n).clip(0, 133)})
    data["grip_kg"] += params.get("shift", 0.0)
    return simulate_mod.SimulatedCohort(data, simulate_mod.truth_table([("dsst_mean", 45.0, "score", "literature")]))


@pytest.fixture
def tiny_design(monkeypatch):
    monkeypatch.setattr(simulate_mod, "designs", lambda: {"tiny": _tiny})


def test_synthetic_cohort_written_deterministically(tiny_design, tmp_path):
    spec = {"simulate": {"design": "tiny", "n": 80}, "keep_if": {"age": {"max": 85}}, "derive": [{"zscore": "grip_kg"}]}
    for run in ("a", "b"):
        c = build_cohort("tiny", spec, seed=7)
        out = {k: tmp_path / run / f"tiny.{k}" for k in ("data", "flow", "table1", "truth")}
        write_cohort(c, SimpleNamespace(**out))
    for k in ("data", "flow", "table1", "truth"):
        assert (tmp_path / "a" / f"tiny.{k}").read_bytes() == (tmp_path / "b" / f"tiny.{k}").read_bytes()
    flow = read_table(tmp_path / "a" / "tiny.flow")
    assert flow["step"].tolist()[0] == "simulate" and flow["n_in"].iloc[0] == 80
    assert flow["n_out"].iloc[-1] == len(c.data) == 80 - flow["n_excluded"].sum()
    assert read_table(tmp_path / "a" / "tiny.truth")["parameter"].tolist() == ["dsst_mean"]
    assert abs(c.data["grip_kg_z"].mean()) < 1e-12


def test_synthetic_out_of_range_is_an_error(tiny_design):
    with pytest.raises(DataError, match=r"synthetic design tiny .*column 'grip_kg' .* outside the dictionary range 0 to 150"):
        build_cohort("tiny", {"simulate": {"design": "tiny", "params": {"shift": 200.0}}}, seed=1)


def test_write_cohort_truth_only_for_synthetic(demo, grip, tmp_path):
    c = build_cohort("t", spec_two_tables(demo, grip), seed=1)
    with pytest.raises(DataError, match="no truth table"):
        write_cohort(c, {"data": tmp_path / "t.parquet", "truth": tmp_path / "t.truth.tsv"})


# ------------------------------------------------------------------ bad inputs (issue 2)


def _csv(tmp_path, name, **cols):
    path = tmp_path / name
    write_input_table(pd.DataFrame(cols), path)
    return str(path)


def one_table(path, columns=None, **extra):
    return {"tables": [{"path": path, "columns": columns or {"id": "id", "sex": "sex", "age": "age", "grip": "grip_kg", "dsst": "dsst"}}],
            "recode": {"sex": {1: "male", 2: "female"}}, **extra}


def good(**over):
    cols = {"id": [1, 2, 3, 4], "sex": [1, 2, 1, 2], "age": [61.0, 70, 80, 90], "grip": [30.0, 20, 25, 15],
            "dsst": [50, 40, 30, 20]}
    cols.update(over)
    return cols


def test_bad_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"absent\.csv: file not found .*Correct the path in the config"):
        build_cohort("t", one_table(str(tmp_path / "absent.csv")), seed=1)


def test_bad_empty_table(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("id,sex,age,grip,dsst\n")
    with pytest.raises(DataError, match=r"empty\.csv: the table has no rows"):
        build_cohort("t", one_table(str(path)), seed=1)


def test_bad_missing_mapped_column(tmp_path):
    path = _csv(tmp_path, "t.csv", **good())
    spec = one_table(path, {"id": "id", "sex": "sex", "grp": "grip_kg"})
    with pytest.raises(DataError, match=r"t\.csv: the mapped column\(s\) 'grp' \(did you mean 'grip'\?\) .*tables\[0\]\.columns.*Fix the name"):
        build_cohort("t", spec, seed=1)


def test_bad_duplicate_ids(tmp_path):
    path = _csv(tmp_path, "dup.csv", **good(id=[1, 2, 2, 3]))
    with pytest.raises(DataError, match=r"dup\.csv: 1 duplicate id value\(s\) in 2 rows \(id 2, 2\).*remove the duplicates"):
        build_cohort("t", one_table(path), seed=1)


def test_bad_duplicate_id_wave(tmp_path):
    path = _csv(tmp_path, "long.csv", id=[1, 1, 2, 2], wave=[0, 0, 0, 1], age=[70.0, 71, 72, 73])
    spec = {"tables": [{"path": path, "columns": {"id": "id", "wave": "wave", "age": "age"}}]}
    with pytest.raises(DataError, match=r"long\.csv: 1 duplicate id x wave value\(s\) in 2 rows \(id/wave '1/wave 0', '1/wave 0'\)"):
        build_cohort("t", spec, seed=1)


def test_bad_non_numeric_value(tmp_path):
    path = _csv(tmp_path, "nn.csv", **good(grip=["30", "20", "strong", "15"]))
    with pytest.raises(DataError, match=r"nn\.csv \[grip\]: column 'grip_kg' should hold numbers .*'strong' \(id 3\).*missing_codes"):
        build_cohort("t", one_table(path), seed=1)


@pytest.mark.parametrize(
    ("over", "column", "value"),
    [({"grip": [30.0, -2.0, 25, 15]}, "grip_kg", "-2.0"), ({"dsst": [50, 150, 30, 20]}, "dsst", "150.0"),
     ({"age": [61.0, 300.0, 80, 90]}, "age", "300.0")],
)
def test_bad_value_outside_range(tmp_path, over, column, value):
    path = _csv(tmp_path, "r.csv", **good(**over))
    with pytest.raises(DataError, match=rf"r\.csv \[\w+\]: column '{column}' .* outside the dictionary range .*: {value} \(id 2\)\. Correct the data"):
        build_cohort("t", one_table(path), seed=1)


def test_out_of_range_rows_removed_by_filters_are_not_errors(tmp_path):
    path = _csv(tmp_path, "kids.csv", **good(age=[61.0, 70, 80, 5], grip=[30.0, 20, 25, 300]))
    c = build_cohort("t", one_table(path, keep_if={"age": {"min": 60}}), seed=1)
    assert c.data["id"].tolist() == [1, 2, 3]


def test_missing_values_are_counted_not_errors(tmp_path):
    path = _csv(tmp_path, "m.csv", **good(grip=[30.0, np.nan, 25, np.nan]))
    c = build_cohort("t", one_table(path), seed=1)
    assert c.data["grip_kg"].isna().sum() == 2  # kept as missing, not an error
    row = c.table1[(c.table1["variable"] == "grip_kg") & (c.table1["stratum"] == "overall")]
    # 2 missing of 4: a count below 5, released neither as n_missing nor through n = N - n_missing
    assert row["n_missing"].isna().all() and row["n"].isna().all()


def test_bad_unknown_sex_code(tmp_path):
    path = _csv(tmp_path, "s.csv", **good(sex=[1, 2, 3, 2]))
    with pytest.raises(DataError, match=r"s\.csv \[sex\]: unknown sex code: '3' in 1 rows \(id 3\).*maps only 1, 2.*Add the code"):
        build_cohort("t", one_table(path), seed=1)
    spec = one_table(path)
    del spec["recode"]
    with pytest.raises(DataError, match=r"unknown sex code\(s\) '1', '2', '3' .*allowed: female, male.*"
                       r"recode: \{sex: \{1: female, 2: male, 3: null\}\} \(check in the codebook"):
        build_cohort("t", spec, seed=1)


def test_bad_sex_codes_hint_names_the_codes_found(tmp_path):
    """A 0/1-coded sex column gets a template with 0 and 1, not another cohort's (NHANES's 1/2) coding."""
    path = _csv(tmp_path, "s01.csv", **good(sex=[0, 1, 1, 0]))
    spec = one_table(path)
    del spec["recode"]
    with pytest.raises(DataError, match=r"unknown sex code\(s\) '0', '1' .*recode: \{sex: \{0: female, 1: male\}\} "
                       r"\(check in the codebook which code is which level") as err:
        build_cohort("t", spec, seed=1)
    assert "2:" not in str(err.value)


def test_bad_join_matches_nothing(tmp_path):
    a = _csv(tmp_path, "a.csv", **good())
    b = _csv(tmp_path, "b.csv", pid=["x1", "x2"], mmse=[20, 25])
    spec = one_table(a)
    spec["tables"].append({"path": b, "columns": {"pid": "id", "mmse": "mmse"}})
    with pytest.raises(DataError, match=r"joining .*a\.csv with .*b\.csv on \['id'\] matches no rows.*'x1'.*same identifier"):
        build_cohort("t", spec, seed=1)


def test_bad_unit_not_known(tmp_path):
    path = _csv(tmp_path, "u.csv", **good())
    with pytest.raises(ConfigError, match=r"'cohorts\.t\.units\.grip_kg' is 'stone', a unit not known for grip_kg \(unit kg\)\. Known units for it: g, kg, lb"):
        build_cohort("t", one_table(path, units={"grip_kg": "stone"}), seed=1)
    with pytest.raises(ConfigError, match=r"'cohorts\.t\.units\.my_score': 'my_score' is not in the variable dictionary"):
        build_cohort("t", one_table(path, units={"my_score": "lb"}), seed=1)


def test_bad_filter_on_missing_column(tmp_path):
    path = _csv(tmp_path, "f.csv", **good())
    with pytest.raises(ConfigError, match=r"cohorts\.t\.keep_if: the filter on 'agee' names a column that does not exist.*'age'"):
        build_cohort("t", one_table(path, keep_if={"agee": {"min": 60}}), seed=1)


def test_bad_recode_or_missing_codes_column(tmp_path):
    path = _csv(tmp_path, "c.csv", **good())
    with pytest.raises(ConfigError, match=r"'cohorts\.t\.missing_codes\.educaton' names the column 'educaton'"):
        build_cohort("t", one_table(path, missing_codes={"educaton": [7]}), seed=1)


def test_bad_column_from_two_tables(tmp_path):
    a = _csv(tmp_path, "a.csv", **good())
    b = _csv(tmp_path, "b.csv", id=[1, 2], age=[60.0, 70.0])
    spec = one_table(a)
    spec["tables"].append({"path": b, "columns": {"id": "id", "age": "age"}})
    with pytest.raises(DataError, match=r"the column\(s\) \['age'\] come from both .*a\.csv.*b\.csv.*one table only"):
        build_cohort("t", spec, seed=1)


def test_bad_no_rows_left(tmp_path):
    path = _csv(tmp_path, "n.csv", **good())
    with pytest.raises(DataError, match=r"no rows are left after the filters .*keep_if\.age\.min: 4 excluded"):
        build_cohort("t", one_table(path, keep_if={"age": {"min": 100}}), seed=1)


def test_bad_table_without_id(tmp_path):
    path = _csv(tmp_path, "noid.csv", **good())
    spec = one_table(path, {"sex": "sex", "age": "age"})
    spec["tables"].append({"path": path, "columns": {"id": "id", "dsst": "dsst"}})
    with pytest.raises(DataError, match=r"noid\.csv: the table has no 'id' column .*columns: \{SEQN: id\}"):
        build_cohort("t", spec, seed=1)


def test_one_table_without_id_gets_row_numbers(tmp_path, caplog):
    """A one-row-per-person table with no id column: ids 1..n, said in the flow table and the log."""
    path = _csv(tmp_path, "people.csv", **good())
    with caplog.at_level("INFO", logger="musclecog.ingest"):
        cohort = build_cohort("t", one_table(path, {"sex": "sex", "age": "age", "dsst": "dsst"}), seed=1)
    assert cohort.data["id"].tolist() == [1, 2, 3, 4]
    row = cohort.flow.loc[cohort.flow["step"] == "id from row numbers"].iloc[0]
    assert (row["n_in"], row["n_out"], row["n_excluded"]) == (4, 4, 0)
    assert "the row numbers 1-4 of" in row["reason"] and "people.csv" in row["reason"]
    assert "no id column: the row numbers 1-4" in caplog.text


def test_bad_long_table_without_id(tmp_path):
    """A table with a wave column still needs its id: visits cannot be given to people by row number."""
    path = _csv(tmp_path, "long.csv", **good(wave=[0, 1, 0, 1]))
    spec = one_table(path, {"wave": "wave", "age": "age", "dsst": "dsst"})
    with pytest.raises(DataError, match=r"long\.csv: the table has a wave column but no 'id' column, so .*to id"):
        build_cohort("t", spec, seed=1)


def test_table_level_filter_on_source_columns(tmp_path):
    path = _csv(tmp_path, "cyc.csv", **good(), CYCLE=[7, 8, 7, 8])
    spec = one_table(path)
    spec["tables"][0]["keep_if"] = {"CYCLE": {"equals": 7}}
    spec["tables"][0]["add"] = {"cycle": 2011}
    c = build_cohort("t", spec, seed=1)
    assert c.data["id"].tolist() == [1, 3] and "CYCLE" not in c.data.columns
    assert (c.data["cycle"] == 2011).all()
    assert c.flow.set_index("step").loc["cohorts.t.tables[0].keep_if.CYCLE.equals", "n_excluded"] == 2
    spec["tables"][0]["keep_all_columns"] = True
    assert build_cohort("t", spec, seed=1).data["CYCLE"].tolist() == [7, 7]


@pytest.mark.shared_data
def test_paquid_long_table_as_documented(shared_data_dir):
    """docs/ingest.md's PAQUID example: 500 people, 2,250 visits, numbered within id by age."""
    spec = {
        "tables": [{"path": str(shared_data_dir / "longitudinal" / "paquid.csv"),
                    "columns": {"ID": "id", "age": "age", "MMSE": "mmse", "male": "sex", "CEP": "education",
                                "dem": "dementia", "agedem": "age_dementia"}}],
        "wave": {"order_by": "age", "time_from": "age"},
        "recode": {"sex": {1: "male", 0: "female"}},
        "derive": [{"change": ["mmse"]}],
    }
    c = build_cohort("paquid", spec, seed=1)
    d = c.data
    assert len(d) == 2250 and d["id"].nunique() == 500
    assert (d.groupby("id")["wave"].min() == 0).all()
    assert (d.loc[d["wave"] == 0, "time_years"] == 0).all() and (d["time_years"] >= 0).all()
    assert (d.groupby("id")["age"].diff().dropna() > 0).all()
    assert "(500 people)" in c.flow["reason"].iloc[-1]
    assert c.table1.loc[c.table1["variable"] == "N", "n"].iloc[0] == 500  # described at the first visit


def test_missing_codes_apply_before_unit_conversion(tmp_path):
    path = _csv(tmp_path, "lb.csv", **good(grip=["66", "999", "refused", "44"]))
    c = build_cohort("t", one_table(path, missing_codes={"grip_kg": [999, "refused"]}, units={"grip_kg": "lb"}), seed=1)
    np.testing.assert_allclose(c.data["grip_kg"], [66 * 0.45359237, np.nan, np.nan, 44 * 0.45359237])
    assert "2 values coded 999, 'refused' set to missing" in c.flow.set_index("step").loc["missing_codes.grip_kg", "reason"]


def test_recode_keys_written_as_text_match_numeric_codes(tmp_path):
    path = _csv(tmp_path, "k.csv", **good())
    c = build_cohort("t", one_table(path, recode={"sex": {"1": "male", "2": "female"}}), seed=1)
    assert c.data["sex"].tolist() == ["male", "female", "male", "female"]


def test_table1_complementary_suppression():
    from musclecog.table1 import table1

    df = pd.DataFrame({"id": range(40), "sex": ["male"] * 37 + ["female"] * 3,
                       "dementia": [1] * 38 + [0] * 2, "race": ["a"] * 20 + ["b"] * 17 + ["c"] * 3})
    t1 = table1(df).set_index(["variable", "level"])
    assert t1.loc[("sex", "female"), "summary"] == "<5"
    assert t1.loc[("sex", "male"), "summary"] == "suppressed"  # else 40 - 37 reveals the 3 women
    assert pd.isna(t1.loc[("sex", "male"), "count"])
    assert t1.loc[("dementia", "1"), "summary"] == "suppressed"  # 38 of 40 reveals the 2 without
    assert t1.loc[("race", "c"), "summary"] == "<5" and t1.loc[("race", "b"), "summary"] == "suppressed"
    assert t1.loc[("race", "a"), "summary"] == "20 (50.0%)"
    assert "suppressed" in t1["summary"].iloc[-1]
