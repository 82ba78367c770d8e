"""``meta_analysis`` with ``pool:`` (one estimate of several analyses of the run) and a study table without a
cohort: config checks (synthetic and real never pooled together, known analyses, a study file that exists) and
the selection of one row per analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musclecog.analyses import analysis_input
from musclecog.config import schema_dir, validate_config
from musclecog.errors import ConfigError, DataError
from musclecog.meta.pool import pooled_studies
from musclecog.results import tidy_frame, write_table


def _config(tmp_path: Path, pooled: list[str]) -> dict[str, object]:
    table = tmp_path / "t.csv"
    table.write_text("id,grip_kg,dsst\n1,30,40\n")
    return {
        "seed": 1,
        "cohorts": {"syn": {"simulate": {"design": "li"}}, "real": {"tables": [{"path": str(table)}]}},
        "analyses": {
            "a_syn": {"type": "regression", "cohort": "syn", "outcome": "dsst", "exposure": "grip_kg"},
            "a_real": {"type": "regression", "cohort": "real", "outcome": "dsst", "exposure": "grip_kg"},
            "pooled": {"type": "meta_analysis", "pool": {"analyses": pooled, "where": {"term": "grip_kg"}}},
        },
    }


def test_synthetic_and_real_cohorts_are_never_pooled_together(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"mixes synthetic cohorts \(\['a_syn'\]\) with real ones \(\['a_real'\]\)"
    ):
        validate_config(_config(tmp_path, ["a_syn", "a_real"]), schema_dir())


def test_pool_names_known_analyses(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"names \['a_typo'\], which are not analyses"):
        validate_config(_config(tmp_path, ["a_syn", "a_typo"]), schema_dir())


def test_study_table_needs_no_cohort_but_must_exist(tmp_path: Path) -> None:
    entry = {"type": "meta_analysis", "studies": {"path": str(tmp_path / "missing.csv")}}
    with pytest.raises(ConfigError, match=r"analyses.m.studies.path.*does not exist"):
        validate_config({"seed": 1, "analyses": {"m": entry}}, schema_dir())
    (tmp_path / "missing.csv").write_text("study,estimate,std_error\nA,1,1\n")
    validate_config({"seed": 1, "analyses": {"m": entry}}, schema_dir())
    with pytest.raises(ConfigError):  # other types still need a cohort
        validate_config(
            {"seed": 1, "analyses": {"r": {"type": "regression", "outcome": "y", "exposure": "x"}}},
            schema_dir(),
        )


def test_studies_and_pool_are_exclusive(tmp_path: Path) -> None:
    cfg = _config(tmp_path, ["a_syn"])
    cfg["analyses"]["pooled"]["studies"] = {"path": "x.csv"}  # type: ignore[index]
    with pytest.raises(ConfigError):
        validate_config(cfg, schema_dir(), check_files=False)


def _estimates(tmp_path: Path, name: str, cohort: str, est: float, scale: str = "beta") -> str:
    rows = [
        {
            "analysis": name,
            "cohort": cohort,
            "method": "m",
            "outcome": "y",
            "exposure": "x",
            "term": term,
            "estimate": e,
            "std_error": 0.1,
            "conf_low": np.nan,
            "conf_high": np.nan,
            "p_value": 0.5,
            "n": 100,
            "scale": scale,
        }
        for term, e in (("x", est), ("age", 0.3))
    ]
    path = tmp_path / f"{name}.tsv"
    write_table(tidy_frame(rows), path)
    return str(path)


def test_one_row_per_analysis_and_ratios_as_logs(tmp_path: Path) -> None:
    paths = [
        _estimates(tmp_path, "a", "k1", 1.5, "odds_ratio"),
        _estimates(tmp_path, "b", "k2", 2.0, "odds_ratio"),
    ]
    entry = {"type": "meta_analysis", "pool": {"analyses": ["a", "b"], "where": {"term": "x"}}}
    table = pooled_studies(entry, paths)
    assert table["study"].tolist() == ["k1", "k2"] and set(table["scale"]) == {"log_odds_ratio"}
    np.testing.assert_allclose(table["estimate"], np.log([1.5, 2.0]))
    assert analysis_input(entry, "unused", "out/estimates") == ["out/estimates/a.tsv", "out/estimates/b.tsv"]


def test_where_must_select_exactly_one_row(tmp_path: Path) -> None:
    paths = [_estimates(tmp_path, "a", "k1", 0.5), _estimates(tmp_path, "b", "k2", 0.4)]
    with pytest.raises(DataError, match="matches 2 rows; it must select exactly one"):
        pooled_studies({"pool": {"analyses": ["a", "b"], "where": {"method": "m"}}}, paths)
    with pytest.raises(DataError, match="matches 0 rows"):
        pooled_studies({"pool": {"analyses": ["a", "b"], "where": {"term": "grip"}}}, paths)


def test_rows_of_different_scales_are_refused(tmp_path: Path) -> None:
    paths = [_estimates(tmp_path, "a", "k1", 0.5), _estimates(tmp_path, "b", "k2", 1.4, "odds_ratio")]
    with pytest.raises(DataError, match=r"scale\(s\) \['beta', 'odds_ratio'\]"):
        pooled_studies({"pool": {"analyses": ["a", "b"], "where": {"term": "x"}}}, paths)
