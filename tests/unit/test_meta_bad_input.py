"""Bad study tables for ``meta_analysis``: one error naming the file, the column, the studies and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import DataError, ModelError
from musclecog.meta.effects import log_ratio_from_counts
from musclecog.meta.models import fit_rma

CTX = RunContext("pooled_grip", "pooled")
ENTRY = {"type": "meta_analysis", "studies": {"path": "studies.csv"}}


def table(**cols: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "study": ["A", "B", "C"],
        "estimate": [0.1, 0.3, 0.2],
        "std_error": [0.1, 0.2, 0.15],
    }
    return pd.DataFrame({**base, **cols})


def test_one_study_is_refused() -> None:
    with pytest.raises(DataError, match=r"studies.csv.*1 study.*2 or more"):
        run_analysis(table().iloc[:1], ENTRY, CTX)


def test_one_study_left_by_keep_if_is_refused() -> None:
    with pytest.raises(DataError, match="1 study"):
        run_analysis(table(), {**ENTRY, "keep_if": {"estimate": {"min": 0.25}}}, CTX)


@pytest.mark.parametrize("bad", [0.0, -0.2])
def test_non_positive_standard_error_names_the_study(bad: float) -> None:
    with pytest.raises(DataError, match=rf"'std_error' must be positive.*B \({bad:g}\)"):
        run_analysis(table(std_error=[0.1, bad, 0.2]), ENTRY, CTX)


def test_non_positive_variance_yi_vi() -> None:
    entry = {**ENTRY, "effect": "yi_vi"}
    data = pd.DataFrame({"study": ["A", "B", "C"], "yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.0]})
    with pytest.raises(DataError, match=r"'vi' must be positive.*C \(0\)"):
        run_analysis(data, entry, CTX)


def test_missing_columns_name_the_roles_and_the_fix() -> None:
    with pytest.raises(
        DataError, match=r"\['std_error'\] not in the study table.*name their columns under 'columns:'"
    ):
        run_analysis(table().drop(columns="std_error"), ENTRY, CTX)
    entry = {**ENTRY, "effect": "counts"}
    with pytest.raises(DataError, match=r"\['ai', 'bi', 'ci', 'di'\]"):
        run_analysis(table(), entry, CTX)


def test_missing_value_names_the_study() -> None:
    with pytest.raises(DataError, match=r"'estimate' has missing or non-numeric values for the studies 'B \(missing\)'"):
        run_analysis(table(estimate=[0.1, None, 0.2]), ENTRY, CTX)


def test_counts_without_events_in_both_groups_are_refused() -> None:
    with pytest.raises(DataError, match="no events"):
        log_ratio_from_counts(np.array([0, 3]), np.array([10, 7]), np.array([0, 4]), np.array([10, 6]), "RR")
    yi, vi, corrected = log_ratio_from_counts(
        np.array([0, 3]), np.array([10, 7]), np.array([2, 4]), np.array([8, 6]), "OR"
    )
    assert corrected.tolist() == [True, False]  # 1/2 added to a study with a zero cell, as escalc
    assert np.isclose(yi[0], np.log(0.5 * 8.5 / (10.5 * 2.5)))


def test_library_guards_the_model_too() -> None:
    with pytest.raises(ModelError, match="at least 2 studies"):
        fit_rma(np.array([0.1]), np.array([0.01]), np.ones((1, 1)), ["(Intercept)"])
    with pytest.raises(ModelError, match="variances positive"):
        fit_rma(np.array([0.1, 0.2]), np.array([0.01, -1.0]), np.ones((2, 1)), ["(Intercept)"])


def test_missing_moderator_is_an_error_not_a_dropped_study() -> None:
    with pytest.raises(DataError, match=r"moderators \['women'\] are missing for 1 of 3 studies"):
        run_analysis(table(women=[0.5, None, 0.8]), {**ENTRY, "moderators": ["women"]}, CTX)


def test_unknown_key_and_bad_method_are_config_errors() -> None:
    from musclecog.errors import ConfigError

    with pytest.raises(ConfigError, match="tau2_method"):
        run_analysis(table(), {**ENTRY, "tau2_method": "HS"}, CTX)
