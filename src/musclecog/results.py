"""The tidy result schema shared by every analysis, and multiple-testing correction.

Every analysis writes one row per term x stratum with the columns of :data:`TIDY_COLUMNS`
(see DESIGN.md, "Result contracts"). Ratios (odds, hazard) are reported exponentiated with
exponentiated confidence limits; ``std_error`` stays on the model (log) scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from musclecog.errors import DataError

TIDY_COLUMNS: tuple[str, ...] = (
    "analysis",
    "cohort",
    "method",
    "outcome",
    "exposure",
    "term",
    "stratum",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "p_value",
    "n",
    "scale",
)
"""Columns every result table has, in this order."""

OPTIONAL_COLUMNS: tuple[str, ...] = ("p_fdr", "n_events", "nsnp", "statistic", "df", "note")
"""Columns a result table may add after :data:`TIDY_COLUMNS`, in this order."""

NUMERIC_COLUMNS = ("estimate", "std_error", "conf_low", "conf_high", "p_value", "p_fdr", "statistic", "df")
COUNT_COLUMNS = ("n", "n_events", "nsnp")

SCALES = frozenset(
    {
        "beta",
        "standardised_beta",
        "mean",
        "sd",
        "mean_difference",
        "odds_ratio",
        "hazard_ratio",
        "risk_ratio",
        "correlation",
        "r_squared",
        "t_statistic",
        "indirect_effect",
        "direct_effect",
        "total_effect",
        "path_coefficient",
        "proportion_mediated",
        "variance",
        "log_likelihood",
        "median_survival",
        "chi_squared",
        "concordance",
        "fit_index",
        "count",
        "proportion",
        "f_statistic",
        "test",
        "percent",
        "h_squared",
        "e_value",
        "withheld",
    }
)
"""Allowed values of ``scale``. Extend here (one place) when a new kind of estimate appears."""


def tidy_frame(rows: Iterable[Mapping[str, object]] | pd.DataFrame) -> pd.DataFrame:
    """Build a result table in the shared schema and check it.

    Parameters
    ----------
    rows : iterable of mappings or DataFrame
        One mapping per row with at least the keys of :data:`TIDY_COLUMNS` (missing numeric keys
        become NaN; ``stratum`` defaults to ``"overall"``).

    Returns
    -------
    DataFrame
        Columns :data:`TIDY_COLUMNS` followed by whichever of :data:`OPTIONAL_COLUMNS` are present,
        and any further columns after those.

    Raises
    ------
    DataError
        If a required label column is missing or ``scale`` holds an unknown value.
    """
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if "stratum" not in df.columns:
        df["stratum"] = "overall"
    df["stratum"] = df["stratum"].fillna("overall")
    for col in NUMERIC_COLUMNS[:5]:
        if col not in df.columns:
            df[col] = np.nan
    missing = [c for c in TIDY_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"result table lacks the columns {missing}; every analysis must fill {list(TIDY_COLUMNS)}")
    bad_scale = sorted(set(df["scale"].dropna()) - SCALES)
    if bad_scale or df["scale"].isna().any():
        raise DataError(
            f"result table has unknown scale values {bad_scale or ['<missing>']}; "
            f"use one of {sorted(SCALES)} or add the new scale to musclecog.results.SCALES"
        )
    for col in NUMERIC_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="raise").astype(float)
    for col in COUNT_COLUMNS:
        if col in df.columns:
            df[col] = pd.array(df[col], dtype="Int64")
    optional = [c for c in OPTIONAL_COLUMNS if c in df.columns]
    extra = [c for c in df.columns if c not in TIDY_COLUMNS and c not in optional]
    return df[list(TIDY_COLUMNS) + optional + extra].reset_index(drop=True)


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a tab-separated table deterministically (same frame, same bytes).

    Floats are written with 12 significant digits, missing values as ``NA``.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, na_rep="NA", float_format="%.12g", lineterminator="\n")


def read_table(path: str | Path, text: Iterable[str] = ()) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (``NA`` is missing); the columns named in ``text`` (those
    present) are read as strings, so that an id such as ``12345`` stays ``"12345"``."""
    dtype = dict.fromkeys(text, str) or None
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False, dtype=dtype)
