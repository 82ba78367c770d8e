"""Table 1: descriptive statistics of a cohort, optionally by a grouping column, with small-cell suppression.

Numeric variables: n (non-missing), n missing, mean (SD). Binary and categorical variables: n (%) per
level, percentages of the non-missing. A count between 1 and ``min_cell - 1`` (default: fewer than
5 people) is suppressed — count and percentage are blank and the summary reads ``<5`` — and so is one
more cell where the hidden one could otherwise be recovered from the total (complementary suppression:
a binary variable whose complement is small; a categorical variable with a single small cell). The
table says so in its last row. Long tables (with ``id`` and ``wave``) are described at each person's first
wave. This follows the usual disclosure rule of cohort data-access agreements (e.g. UK Biobank,
NHANES restricted data: no cell below 5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from musclecog.variables import VariableDictionary, load_dictionary

TABLE1_COLUMNS: tuple[str, ...] = (
    "stratum",
    "variable",
    "label",
    "level",
    "n",
    "n_missing",
    "mean",
    "sd",
    "count",
    "percent",
    "summary",
)

_SKIP_KINDS = frozenset({"id"})
_SKIP_PREFIXES = ("survey_", "grip_trial_")
MAX_LEVELS = 20
MAX_CODES = 5


def _variables(df: pd.DataFrame, dictionary: VariableDictionary, group: str | None) -> list[tuple[str, str, str]]:
    """(column, label, kind) in dictionary order, then other columns in table order."""
    out = []
    in_dict = [c for c in dictionary if c in df.columns]
    others = [c for c in df.columns if c not in dictionary]
    for col in in_dict + others:
        if col in ("id", "wave", "time_years", group) or col.startswith(_SKIP_PREFIXES):
            continue
        if col in dictionary:
            var = dictionary[col]
            if var.kind in _SKIP_KINDS:
                continue
            kind = var.kind
            label = var.label + (f" ({var.unit})" if var.unit and var.kind == "numeric" else "")
        else:
            s = df[col]
            if pd.api.types.is_bool_dtype(s):
                kind = "binary"
            elif pd.api.types.is_numeric_dtype(s):
                values = pd.unique(s.dropna())
                if set(values) <= {0, 1}:
                    kind = "binary"
                elif len(values) <= MAX_CODES and np.all(np.mod(values, 1) == 0):
                    kind = "category"  # a few whole-number codes (e.g. a survey cycle) are counted, not averaged
                else:
                    kind = "numeric"
            elif s.nunique(dropna=True) <= MAX_LEVELS:
                kind = "category"
            else:
                continue  # free text / identifiers are not described
            label = col
        out.append((col, label, kind))
    return out


def _label(x: object) -> str:
    """A level as text; whole-number floats (codes read as float) without the '.0'."""
    if isinstance(x, float | np.floating) and float(x).is_integer():
        return str(int(x))
    return str(x)


def _suppressed(levels: list[str], counts: dict[str, int], n_obs: int, min_cell: int, binary: bool) -> set[str]:
    """Levels whose count is hidden: 1 to ``min_cell - 1`` people (primary suppression), plus enough other
    cells that a hidden one cannot be recovered from the total (complementary suppression).

    A binary variable shows only level 1, so it is hidden when either it or its complement (the people
    with 0) is small. For a categorical variable, if exactly one cell is hidden, the smallest other
    non-zero cell is hidden too.
    """
    def small(c: int) -> bool:
        return 0 < c < min_cell

    if binary:
        c = int(counts.get("1", 0))
        return {"1"} if small(c) or small(n_obs - c) else set()
    hidden = {lv for lv in levels if small(int(counts.get(lv, 0)))}
    if len(hidden) == 1:
        others = sorted((int(counts.get(lv, 0)), lv) for lv in levels if lv not in hidden and counts.get(lv, 0) > 0)
        if others:
            hidden.add(others[0][1])
    return hidden


def _hidden_text(count: int, min_cell: int) -> str:
    return f"<{min_cell}" if count < min_cell else "suppressed"


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def _describe(df: pd.DataFrame, stratum: str, cols: list[tuple[str, str, str]], min_cell: int, digits: int) -> list[dict]:
    rows: list[dict] = [
        {"stratum": stratum, "variable": "N", "label": "participants", "level": "", "n": len(df), "n_missing": 0,
         "summary": str(len(df)) if len(df) >= min_cell or len(df) == 0 else f"<{min_cell}"}
    ]
    if 0 < len(df) < min_cell:
        rows[0]["n"] = np.nan
    for col, label, kind in cols:
        s = df[col]
        n_obs = int(s.notna().sum())
        n_miss = int(len(s) - n_obs)
        if kind in ("numeric", "integer"):
            v = pd.to_numeric(s, errors="coerce").astype(float)
            small = 0 < n_obs < min_cell
            mean = float(v.mean()) if n_obs and not small else np.nan
            sd = float(v.std(ddof=1)) if n_obs > 1 and not small else np.nan
            summary = (
                f"<{min_cell}" if small else (f"{_fmt(mean, digits)} ({_fmt(sd, digits)})" if n_obs > 1 else "NA")
            )
            rows.append({"stratum": stratum, "variable": col, "label": label, "level": "",
                         "n": np.nan if small else n_obs, "n_missing": n_miss, "mean": mean, "sd": sd,
                         "summary": summary})
            continue
        counts: dict[str, int] = {}
        if kind == "binary":
            levels = ["1"]
            counts["1"] = int((pd.to_numeric(s, errors="coerce") == 1).sum())
        else:
            # count the raw values once, then label them (no per-row Python work)
            for value, c in s.value_counts(dropna=True, sort=False).items():
                counts[_label(value)] = counts.get(_label(value), 0) + int(c)
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [str(c) for c in s.cat.categories]
            elif pd.api.types.is_numeric_dtype(s):
                levels = [_label(v) for v in sorted(pd.unique(s.dropna()))]
            else:
                levels = sorted(counts)
        hidden = _suppressed(levels, counts, n_obs, min_cell, binary=kind == "binary")
        for level in levels:
            c = int(counts.get(level, 0))
            small = level in hidden
            pct = 100.0 * c / n_obs if n_obs else np.nan
            rows.append({"stratum": stratum, "variable": col, "label": label, "level": str(level),
                         "n": n_obs, "n_missing": n_miss, "count": np.nan if small else c,
                         "percent": np.nan if small else pct,
                         "summary": _hidden_text(c, min_cell) if small else f"{c} ({_fmt(pct, 1) if n_obs else 'NA'}%)"})
    return rows


def table1(
    data: pd.DataFrame,
    by: str | None = None,
    dictionary: VariableDictionary | None = None,
    min_cell: int = 5,
    digits: int = 2,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Describe a cohort (overall, and by ``by`` if given).

    Parameters
    ----------
    data : DataFrame
        The analysis-ready table (canonical names).
    by : str, optional
        A grouping column; one block per level after the overall block.
    dictionary : VariableDictionary, optional
        Labels and kinds (default: ``resources/variables.tsv``).
    min_cell : int
        Counts from 1 to ``min_cell - 1`` are suppressed.
    digits : int
        Decimals of means and SDs in ``summary``.
    columns : sequence of str, optional
        Describe only these columns.

    Returns
    -------
    DataFrame
        Columns :data:`TABLE1_COLUMNS`; one row per numeric variable, one per level of a categorical
        variable, one (level 1) per binary variable, a row ``N`` per stratum and a final ``note`` row.
    """
    dictionary = dictionary or load_dictionary()
    df = data
    note = (
        f"cells with fewer than {min_cell} people are suppressed (shown as <{min_cell}), and so is one more cell "
        "where the hidden one could be recovered from the total (shown as 'suppressed')"
    )
    if "id" in df.columns and "wave" in df.columns and df["id"].duplicated().any():
        first = df.groupby("id", sort=False)["wave"].transform("min")
        df = df.loc[df["wave"] == first]
        note += "; long table described at each person's first wave"
    cols = _variables(df, dictionary, by)
    if columns is not None:
        cols = [c for c in cols if c[0] in set(columns)]
    rows = _describe(df, "overall", cols, min_cell, digits)
    if by is not None:
        keys = df[by]
        levels = list(keys.cat.categories) if isinstance(keys.dtype, pd.CategoricalDtype) else sorted(pd.unique(keys.dropna()))
        for level in levels:
            rows += _describe(df.loc[keys == level], f"{by}={level}", cols, min_cell, digits)
        n_na = int(keys.isna().sum())
        if n_na:
            note += f"; {n_na} rows with missing {by} are in 'overall' only"
    rows.append({"stratum": "", "variable": "note", "label": "", "level": "", "summary": note})
    out = pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))
    for c in ("n", "n_missing", "count"):
        out[c] = pd.array(out[c], dtype="Int64")
    for c in ("mean", "sd", "percent"):
        out[c] = out[c].astype(float)
    return out
