"""Declarative row filters (``keep_if``) and the flow table that counts every row they remove.

A filter is data, never code: ``{column: {min, max, in, not_in, equals, not_missing}}``. Rows with a
missing value in a filtered column fail ``min``/``max``/``in``/``equals`` (they are counted, with the
reason, like any other exclusion).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, show_values

FLOW_COLUMNS: tuple[str, ...] = ("step", "n_in", "n_out", "n_excluded", "reason")

_OPERATORS = ("min", "max", "in", "not_in", "equals", "not_missing")


def flow_row(step: str, n_in: int, n_out: int, reason: str) -> dict[str, Any]:
    """One row of a flow table."""
    return {"step": step, "n_in": int(n_in), "n_out": int(n_out), "n_excluded": int(n_in - n_out), "reason": reason}


def flow_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A flow table (columns :data:`FLOW_COLUMNS`) from rows made by :func:`flow_row`."""
    return pd.DataFrame(rows, columns=list(FLOW_COLUMNS))


def _condition(series: pd.Series, op: str, value: Any, column: str, source: str) -> tuple[np.ndarray, str]:
    if op in ("min", "max"):
        if not pd.api.types.is_numeric_dtype(series):
            raise ConfigError(
                f"{source}: keep_if.{column}.{op} needs a numeric column, but '{column}' holds "
                f"{series.dtype} values such as {show_values(series.dropna().unique()[:3])}"
            )
        keep = (series >= value) if op == "min" else (series <= value)
        return keep.fillna(False).to_numpy(bool), f"{column} {'<' if op == 'min' else '>'} {value} or missing"
    if op == "in":
        return series.isin(list(value)).to_numpy(bool), f"{column} not in {list(value)}"
    if op == "not_in":
        return (~series.isin(list(value))).to_numpy(bool), f"{column} in {list(value)}"
    if op == "equals":
        return (series == value).fillna(False).to_numpy(bool), f"{column} != {value!r}"
    if op == "not_missing":
        keep = series.notna().to_numpy(bool) if value else np.ones(len(series), bool)
        return keep, f"{column} missing"
    raise ConfigError(f"{source}: keep_if.{column} has the unknown operator {op!r}; use one of {', '.join(_OPERATORS)}")


def apply_keep_if(
    data: pd.DataFrame, rules: Mapping[str, Mapping[str, Any]] | None, source: str = "keep_if"
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Apply declarative row filters in order, one flow row per condition.

    Parameters
    ----------
    data : DataFrame
        The table to filter.
    rules : mapping
        ``{column: {operator: value, ...}}`` as written in the config.
    source : str
        Where the rules come from (e.g. ``"cohorts.nhanes.keep_if"``), for messages.

    Returns
    -------
    (DataFrame, list of dict)
        The kept rows and the flow rows (see :func:`flow_row`).

    Raises
    ------
    ConfigError
        If a rule names a column that does not exist or an unknown operator.
    """
    rows: list[dict[str, Any]] = []
    if not rules:
        return data, rows
    for column, conditions in rules.items():
        if column not in data.columns:
            raise ConfigError(
                f"{source}: the filter on '{column}' names a column that does not exist. "
                f"Columns available: {show_values(sorted(data.columns), limit=40)}. Fix the name in the config."
            )
        for op, value in conditions.items():
            keep, reason = _condition(data[column], op, value, column, source)
            n_in = len(data)
            data = data.loc[keep]
            rows.append(flow_row(f"{source}.{column}.{op}", n_in, len(data), f"excluded: {reason}"))
    return data, rows
