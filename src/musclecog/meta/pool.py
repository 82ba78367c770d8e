"""Pooling one estimate of several analyses of the same run (``meta_analysis`` with ``pool:``).

Each source analysis contributes the one row of its tidy table (``results/estimates/<analysis>.tsv``)
that matches ``pool.where`` exactly; the study is labelled by its cohort. Ratios (reported exponentiated,
``std_error`` on the log scale) are pooled as logs. The rows must share one scale. Whether the cohorts are
synthetic or real is checked when the config is validated (``musclecog.config``): the two kinds of
evidence are never pooled together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.results import RATIO_SCALES
from musclecog.errors import DataError
from musclecog.results import read_table

LOG_SCALE = {
    "odds_ratio": "log_odds_ratio",
    "risk_ratio": "log_risk_ratio",
    "hazard_ratio": "log_hazard_ratio",
}
"""A ratio scale -> the scale its logs are pooled on."""

POOLABLE = frozenset({"beta", "mean_difference", "standardised_beta", *LOG_SCALE})


def select_row(table: pd.DataFrame, where: Mapping[str, Any], source: str) -> pd.Series:
    """The one row of a tidy table matching every ``column: value`` of ``where``."""
    missing = [c for c in where if c not in table.columns]
    if missing:
        raise DataError(
            f"{source}: pool.where names column(s) {missing} the table does not have ({list(table.columns)})"
        )
    mask = np.ones(len(table), bool)
    for column, value in where.items():
        mask &= (table[column].astype(str) == str(value)).to_numpy()
    if mask.sum() != 1:
        raise DataError(
            f"{source}: pool.where {dict(where)} matches {int(mask.sum())} rows; it must select exactly one "
            "(add method, outcome, term or stratum to 'where')"
        )
    return table.loc[mask].iloc[0]


def pooled_studies(entry: Mapping[str, Any], paths: Sequence[str]) -> pd.DataFrame:
    """The study table of a ``pool:`` entry from the source analyses' tidy tables.

    Parameters
    ----------
    entry : mapping
        The ``meta_analysis`` entry.
    paths : sequence of path
        The source tables, ``<dir>/<analysis>.tsv`` (the file stem names the analysis).

    Returns
    -------
    DataFrame
        Columns ``study`` (the cohort), ``analysis``, ``estimate`` and ``std_error`` (log scale for ratios),
        ``n`` and ``scale`` (the pooled scale: ``log_odds_ratio`` for odds ratios, ...).
    """
    pool = entry["pool"]
    by_name = {Path(p).stem: str(p) for p in paths}
    rows = []
    for name in pool["analyses"]:
        if name not in by_name:
            raise DataError(
                f"meta_analysis pool: no estimates table for the analysis {name!r} among {sorted(by_name)}"
            )
        row = select_row(read_table(by_name[name]), pool["where"], f"{by_name[name]} (analysis {name!r})")
        rows.append({**row.to_dict(), "analysis": name})
    table = pd.DataFrame(rows)
    scales = sorted(set(table["scale"]))
    if len(scales) != 1 or scales[0] not in POOLABLE:
        raise DataError(
            f"meta_analysis pool: the selected rows have the scale(s) {scales}; pool rows of one scale among "
            f"{sorted(POOLABLE)}"
        )
    ratio = scales[0] in RATIO_SCALES
    estimate = table["estimate"].to_numpy(float)
    labels = table["cohort"].astype(str)
    if labels.duplicated().any():
        labels = labels + " (" + table["analysis"].astype(str) + ")"
    return pd.DataFrame(
        {
            "study": labels.to_numpy(),
            "analysis": table["analysis"].to_numpy(),
            "estimate": np.log(estimate) if ratio else estimate,
            "std_error": table["std_error"].to_numpy(float),
            "n": table["n"].to_numpy(),
            "scale": LOG_SCALE.get(scales[0], scales[0]),
        }
    )
