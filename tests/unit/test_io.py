"""Readers of musclecog.io: every supported format, the NHANES XPT zero quirk, and clear errors."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import DataError
from musclecog.io import XPT_ZERO_THRESHOLD, detect_format, read_input_table, write_input_table, write_parquet


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SEQN": [1.0, 2.0, 3.0, 4.0],
            "grip": [30.5, np.nan, 22.0, 41.25],
            "sex": [1.0, 2.0, 2.0, 1.0],
        }
    )


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.csv.gz", "t.tsv.gz", "t.parquet", "t.dta", "t.sav", "t.xpt"])
def test_every_format_round_trips(tmp_path, frame, name):
    path = tmp_path / name
    write_input_table(frame, path)
    got = read_input_table(path)
    assert list(got.columns) == list(frame.columns)
    np.testing.assert_allclose(got.to_numpy(float), frame.to_numpy(float), equal_nan=True)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.CSV", "csv"), ("a.tsv", "tsv"), ("a.txt", "tsv"), ("a.csv.gz", "csv"), ("a.pq", "parquet"),
     ("DEMO_G.XPT", "xpt"), ("a.dta", "dta"), ("a.sav", "sav")],
)
def test_format_from_extension(name, fmt):
    assert detect_format(name) == fmt


def test_gz_without_inner_extension_is_sniffed(tmp_path, frame):
    path = tmp_path / "table.gz"
    with gzip.open(path, "wt") as fh:
        frame.to_csv(fh, sep="\t", index=False)
    assert detect_format(path) == "tsv"
    assert read_input_table(path).shape == frame.shape


def test_column_selection_reads_only_requested(tmp_path, frame):
    for name in ("t.csv", "t.parquet", "t.sav"):
        write_input_table(frame, tmp_path / name)
        got = read_input_table(tmp_path / name, columns=["SEQN", "grip", "absent"])
        assert list(got.columns) == ["SEQN", "grip"]


def test_text_missing_value_spellings(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("id,x\n1,NA\n2,.\n3,\n4,5\n")
    got = read_input_table(path)
    assert got["x"].isna().sum() == 3
    assert got["x"].iloc[3] == 5


def test_xpt_zero_quirk(tmp_path):
    # SAS transport stores numbers as IBM floats; NHANES zeros come back as ~5.4e-79
    df = pd.DataFrame({"SEQN": [1.0, 2.0, 3.0], "x": [1e-75, 5.397605e-79, 2.5]})
    path = tmp_path / "q.xpt"
    write_input_table(df, path)
    got = read_input_table(path)
    assert got["x"].tolist() == [0.0, 0.0, 2.5]
    raw = read_input_table(path, zero_threshold=0)
    assert 0 < raw["x"].iloc[1] < XPT_ZERO_THRESHOLD


def test_missing_file_names_path(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found .*Correct the path"):
        read_input_table(tmp_path / "nope.csv")


def test_empty_table_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("id,grip\n")
    with pytest.raises(DataError, match=r"empty\.csv: the table has no rows \(columns: 'id', 'grip'\)"):
        read_input_table(path)
    write_parquet(pd.DataFrame({"id": pd.Series([], dtype=int)}), tmp_path / "empty.parquet")
    with pytest.raises(DataError, match="no rows"):
        read_input_table(tmp_path / "empty.parquet")


def test_unreadable_file_names_format_and_fix(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet: cannot be read as parquet .*truncated, corrupt or not parquet"):
        read_input_table(path)
    xpt = tmp_path / "broken.xpt"
    xpt.write_text("id,grip\n1,2\n")
    with pytest.raises(DataError, match=r"broken\.xpt: cannot be read as xpt"):
        read_input_table(xpt)


def test_ragged_csv_is_an_error(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,grip\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"ragged\.csv: cannot be read as a csv table"):
        read_input_table(path)


def test_unknown_extension(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match=r"cannot tell the table format from the extension '\.xlsx'.*format:"):
        read_input_table(path)


def test_parquet_is_deterministic(tmp_path, frame):
    write_parquet(frame, tmp_path / "a.parquet")
    write_parquet(frame, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_xpt_text_columns_are_decoded(tmp_path):
    df = pd.DataFrame({"SEQN": [1.0, 2.0], "LABEL": ["a", "b"]})
    write_input_table(df, tmp_path / "t.xpt")
    assert read_input_table(tmp_path / "t.xpt")["LABEL"].tolist() == ["a", "b"]
