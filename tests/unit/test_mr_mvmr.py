"""Multivariable MR from a harmonised table: config parsing (columns, id_from_row, adjust_for) and the tidy table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.mr.analysis import MRSettings
from musclecog.mr.pipeline import adjust_columns, pair_jobs, read_harmonised, run_harmonised
from musclecog.mr.sensitivity import multivariable_ivw

ENTRY = {
    "harmonised": "table.csv",
    "exposure_name": "ldl",
    "outcome_name": "chd",
    "id_from_row": True,
    "columns": {"bx": "beta.exposure", "sx": "se.exposure", "by": "beta.outcome", "sy": "se.outcome"},
    "adjust_for": {"hdl": "bh"},
}


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    k = 30
    bx, bh = rng.normal(0, 0.05, k), rng.normal(0, 0.05, k)
    sy = rng.uniform(0.01, 0.03, k)
    by = 0.5 * bx - 0.3 * bh + rng.normal(0, sy)
    path = tmp_path / "table.csv"
    pd.DataFrame({"bx": bx, "sx": 0.004, "bh": bh, "by": by, "sy": sy}).to_csv(path, index=False)
    return path


def test_pair_jobs_accepts_harmonised_options() -> None:
    jobs = pair_jobs({"lipids": ENTRY})
    assert list(jobs) == ["ldl__chd"]
    assert adjust_columns(jobs["ldl__chd"]) == {"hdl": "bh"}
    assert adjust_columns(pair_jobs({"p": {"harmonised": "t.csv"}})["p"]) == {}


@pytest.mark.parametrize("bad", [
    {"adjust_for": ["hdl"]},
    {"adjust_for": {"ldl": "bx"}},
    {"columns": {"bx": "beta.exposure", "sx": "beta.exposure"}},
    {"id_from_row": "yes"},
])
def test_pair_jobs_rejects_bad_options(bad) -> None:
    with pytest.raises(ConfigError, match="mr.lipids"):
        pair_jobs({"lipids": {**ENTRY, **bad}})


def test_adjust_for_beta_columns_need_a_harmonised_table() -> None:
    """A GWAS pair's adjust_for names traits (tests/unit/test_mr_mvmr_gwas.py), not beta columns."""
    with pytest.raises(ConfigError, match="list of gwas traits"):
        pair_jobs({"p": {"exposure": "a", "outcome": "b", "adjust_for": {"c": "beta"}}})
    with pytest.raises(ConfigError, match="only to a 'harmonised:' table"):
        pair_jobs({"p": {"exposure": "a", "outcome": "b", "id_from_row": True}})


def test_read_harmonised_renames_numbers_and_adds_betas(table: Path) -> None:
    spec = pair_jobs({"lipids": ENTRY})["ldl__chd"]
    df = read_harmonised(table, spec)
    assert df["SNP"].tolist()[:3] == ["row1", "row2", "row3"]
    raw = pd.read_csv(table)
    assert df["beta.exposure"].tolist() == raw["bx"].tolist()
    assert df["beta.hdl"].tolist() == raw["bh"].tolist()
    assert read_harmonised(table, spec, nrows=0).empty  # header-only start-up check passes


@pytest.mark.parametrize(("change", "match"), [
    ({"adjust_for": {"hdl": "nope"}}, r"adjust_for' names \['nope'\]"),
    ({"columns": {"bx": "beta.exposure", "missing": "se.exposure"}}, r"columns' names \['missing'\]"),
    ({"id_from_row": False}, r"lacks the columns \['SNP'"),
])
def test_read_harmonised_errors(table: Path, change, match) -> None:
    spec = pair_jobs({"lipids": {**ENTRY, **change}})["ldl__chd"]
    with pytest.raises(DataError, match=match):
        read_harmonised(table, spec, nrows=0)


def test_run_harmonised_multivariable_matches_library(table: Path) -> None:
    spec = pair_jobs({"lipids": ENTRY})["ldl__chd"]
    pair = run_harmonised(table, spec, MRSettings(methods=("ivw",)), seed=1)
    mv = pair.multivariable
    assert mv["method"].unique().tolist() == ["Multivariable IVW"]
    assert mv["exposure"].tolist() == ["ldl", "hdl"]
    assert mv["nsnp"].tolist() == [30, 30]
    raw = pd.read_csv(table)
    ref = multivariable_ivw(raw[["bx", "bh"]].to_numpy(), raw["by"], raw["sy"]).estimates
    assert mv["estimate"].to_numpy() == pytest.approx(ref["b"].to_numpy(), rel=1e-12)
    assert mv["std_error"].to_numpy() == pytest.approx(ref["se"].to_numpy(), rel=1e-12)
    assert pair_jobs({"p": {"harmonised": str(table)}}) and run_harmonised(
        table, {**spec, "adjust_for": {}}, MRSettings(methods=("ivw",)), seed=1).multivariable is None


def test_multivariable_missing_adjusting_beta_fails(tmp_path: Path, table: Path) -> None:
    raw = pd.read_csv(table)
    raw.loc[3, "bh"] = np.nan
    path = tmp_path / "gap.csv"
    raw.to_csv(path, index=False)
    spec = pair_jobs({"lipids": ENTRY})["ldl__chd"]
    with pytest.raises(DataError, match=r"row4.*beta.hdl"):
        run_harmonised(path, spec, MRSettings(methods=("ivw",)), seed=1)
