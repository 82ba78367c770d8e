"""The tidy result schema and Benjamini-Hochberg adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.core.inference import fdr_bh as benjamini_hochberg
from musclecog.errors import DataError
from musclecog.results import TIDY_COLUMNS, read_table, tidy_frame, write_table


def _row(**kw):
    base = dict(analysis="a", cohort="c", method="ols", outcome="y", exposure="x", term="x",
                estimate=0.5, std_error=0.1, conf_low=0.3, conf_high=0.7, p_value=0.01, n=100, scale="beta")
    return base | kw


def test_benjamini_hochberg_matches_r():
    """R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2, NA, 0.04), "BH") -> 0.030 0.048 0.048 0.030 0.200 NA 0.048"""
    got = benjamini_hochberg([0.01, 0.04, 0.03, 0.005, 0.2, np.nan, 0.04])
    np.testing.assert_allclose(got, [0.030, 0.048, 0.048, 0.030, 0.200, np.nan, 0.048], rtol=1e-12)


def test_benjamini_hochberg_all_missing_and_empty():
    assert np.isnan(benjamini_hochberg([np.nan, np.nan])).all()
    assert benjamini_hochberg([]).shape == (0,)


def test_tidy_frame_orders_columns_and_defaults_stratum():
    df = tidy_frame([_row(p_fdr=0.02, note="x"), _row(term="z")])
    assert list(df.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert list(df.columns[len(TIDY_COLUMNS):]) == ["p_fdr", "note"]
    assert (df["stratum"] == "overall").all()
    assert str(df["n"].dtype) == "Int64"


@pytest.mark.parametrize("bad", [{"scale": "banana"}, {"scale": None}])
def test_tidy_frame_rejects_unknown_scale(bad):
    with pytest.raises(DataError, match="scale"):
        tidy_frame([_row(**bad)])


def test_tidy_frame_requires_labels():
    row = _row()
    del row["outcome"]
    with pytest.raises(DataError, match="outcome"):
        tidy_frame([row])


def test_write_table_is_deterministic_and_round_trips(tmp_path):
    df = tidy_frame([_row(estimate=1 / 3, p_value=np.nan), _row(term="z", n=None)])
    write_table(df, tmp_path / "a.tsv")
    write_table(df.copy(), tmp_path / "b.tsv")
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    back = read_table(tmp_path / "a.tsv")
    assert back.loc[0, "estimate"] == pytest.approx(1 / 3, rel=1e-11)
    assert pd.isna(back.loc[0, "p_value"]) and pd.isna(back.loc[1, "n"])
