"""UK Biobank layouts (issue 14, part 3): fields by id and instance, arrays, special negative codes.

References are the files' own values: every selected column is compared with the source column it must come
from, and the array rules with numpy's row-wise nanmean/nanmax over the same columns (exact).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog import ukb
from musclecog.config import validate_config
from musclecog.errors import ConfigError, DataError
from musclecog.ingest import build_cohort

SCHEMAS = Path(__file__).resolve().parents[2] / "workflow" / "schemas"


def _showcase(n: int = 40, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "eid": np.arange(1000001, 1000001 + n),
        "31-0.0": rng.integers(0, 2, n),                       # sex, data-coding 9: 0 female, 1 male
        "21003-0.0": rng.integers(40, 70, n),                  # age at assessment
        "21003-2.0": rng.integers(45, 80, n),                  # age at the imaging visit
        "46-0.0": rng.normal(28, 8, n).round(0),               # hand grip, left (kg)
        "47-0.0": rng.normal(30, 8, n).round(0),
        "46-2.0": rng.normal(27, 8, n).round(0),
        "47-2.0": rng.normal(29, 8, n).round(0),
        "20023-0.0": rng.normal(560, 90, n).round(0),          # reaction time (ms)
    })


def _write_gz(df: pd.DataFrame, path) -> str:
    with gzip.open(path, "wt") as fh:
        df.to_csv(fh, index=False)
    return str(path)


def _spec(path: str, **ukb_spec) -> dict:
    fields = {"sex": "31-0", "age": 21003, "grip_left": 46, "grip_right": 47}
    return {"tables": [{"path": path, "ukb": {"fields": fields, **ukb_spec}}],
            "recode": {"sex": {0: "female", 1: "male"}}}


def test_parse_every_layout():
    assert ukb.parse_column("46-0.0") == (46, 0, 0)
    assert ukb.parse_column("f.20003.1.12") == (20003, 1, 12)
    assert ukb.parse_column("p46_i0") == (46, 0, 0)
    assert ukb.parse_column("p20003_i2_a5") == (20003, 2, 5)
    assert ukb.parse_column("eid") is None and ukb.parse_column("46-0") is None


@pytest.mark.parametrize("instance", [0, 2])
def test_showcase_csv_gz_by_field_and_instance(tmp_path, instance):
    raw = _showcase()
    cohort = build_cohort("ukb", _spec(_write_gz(raw, tmp_path / "ukb.csv.gz"), instance=instance), seed=1)
    d = cohort.data.set_index("id").loc[raw["eid"]]
    assert (d["grip_left"].to_numpy() == raw[f"46-{instance}.0"].to_numpy()).all()
    assert (d["grip_right"].to_numpy() == raw[f"47-{instance}.0"].to_numpy()).all()
    assert (d["age"].to_numpy() == raw[f"21003-{instance}.0"].to_numpy()).all()
    assert cohort.sources["grip_left"].endswith(f"[46-{instance}.0] (UK Biobank field 46)")


def test_rap_layout_with_arrays(tmp_path):
    rng = np.random.default_rng(2)
    n = 30
    raw = pd.DataFrame({"eid": np.arange(1, n + 1), "p31": rng.integers(0, 2, n), "p21003_i0": rng.integers(40, 70, n),
                        "p46_i0_a0": rng.normal(28, 6, n).round(1), "p46_i0_a1": rng.normal(28, 6, n).round(1),
                        "p47_i0": rng.normal(30, 6, n).round(1)})
    raw.loc[3, "p46_i0_a1"] = np.nan
    path = str(tmp_path / "rap.csv")
    raw.to_csv(path, index=False)
    fields = {"age": 21003, "grip_left": 46, "grip_right": 47}
    spec = {"tables": [{"path": path, "ukb": {"fields": fields, "array": "mean"}}]}
    d = build_cohort("rap", spec, seed=1).data.set_index("id").loc[raw["eid"]]
    want = np.nanmean(raw[["p46_i0_a0", "p46_i0_a1"]].to_numpy(), axis=1)
    assert np.array_equal(d["grip_left"].to_numpy(), want)
    assert d["grip_left"].iloc[3] == raw.loc[3, "p46_i0_a0"]  # one array missing: the mean of those present
    spec["tables"][0]["ukb"]["array"] = "max"
    d = build_cohort("rap", spec, seed=1).data.set_index("id").loc[raw["eid"]]
    assert np.array_equal(d["grip_left"].to_numpy(), np.nanmax(raw[["p46_i0_a0", "p46_i0_a1"]].to_numpy(), axis=1))
    del spec["tables"][0]["ukb"]["array"]
    with pytest.raises(ConfigError, match=r"field 46 \(grip_left\) has 2 arrays .*ukb\.array: <index> \| mean"):
        build_cohort("rap", spec, seed=1)


def test_special_codes_counted_and_declared(tmp_path):
    raw = _showcase()
    raw.loc[:2, "46-0.0"] = -1          # do not know
    raw.loc[3:4, "47-0.0"] = -3         # prefer not to answer
    path = _write_gz(raw, tmp_path / "ukb.csv.gz")
    cohort = build_cohort("ukb", _spec(path), seed=1)
    assert int(cohort.data["grip_left"].isna().sum()) == 3 and int(cohort.data["grip_right"].isna().sum()) == 2
    flow = cohort.flow.set_index("step")
    assert "-1: 3 -> missing" in flow.loc["ukb special codes grip_left", "reason"]
    raw.loc[5, "46-0.0"] = -10
    path = _write_gz(raw, tmp_path / "ukb2.csv.gz")
    with pytest.raises(DataError, match=r"field 46 \(grip_left\) has negative values -10\.0 in 1 rows that are not "
                       r"declared special codes .*ukb\.special_codes"):
        build_cohort("ukb", _spec(path), seed=1)
    data = build_cohort("ukb", _spec(path, special_codes={-10: 0.5}), seed=1).data
    assert (data["grip_left"] == 0.5).sum() == 1


def test_missing_instance_names_the_instances_found(tmp_path):
    path = _write_gz(_showcase(), tmp_path / "ukb.csv.gz")
    with pytest.raises(DataError, match=r"field 21003 \(age\) has no column for instance 1 .*instance\(s\) 0, 2"):
        build_cohort("ukb", _spec(path, instance=1), seed=1)


def test_config_schema_accepts_ukb_tables(tmp_path):
    cfg = {"seed": 1, "cohorts": {"ukb": _spec("ukb.csv.gz", instance=0, array="mean", special_codes={-10: 0.5})},
           "analyses": {}}
    validate_config(cfg, SCHEMAS, base_dir=tmp_path, check_files=False)
    cfg["cohorts"]["ukb"]["tables"][0]["ukb"]["array"] = "median"
    with pytest.raises(ConfigError, match="array"):
        validate_config(cfg, SCHEMAS, base_dir=tmp_path, check_files=False)
