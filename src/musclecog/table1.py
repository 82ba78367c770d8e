"""Table 1: descriptive statistics of a cohort, optionally by a grouping column, with small-cell suppression.

Numeric variables: n (non-missing), n missing, mean (SD). Binary and categorical variables: n (%) per
level, percentages of the non-missing. Every count goes through :mod:`musclecog.disclosure`: for each
variable, the people of each stratum split into its levels (the 0s of a binary variable included) and the
missing, and those counts, the strata's totals and the overall counts form one two-way table with its
margins (:func:`musclecog.disclosure.protect_table`). A count between 1 and ``min_cell - 1`` (default:
fewer than 5 people) is hidden (summary ``<5``), and more cells are hidden (``suppressed``) until no hidden
count can be recovered from a total or from the other strata by subtraction; ``n`` (non-missing) is shown
only where the stratum's N and its missing are, and a percentage only where its count and ``n`` are (a
percentage and its count give the denominator back). A numeric variable's mean and SD are withheld below
``min_cell`` observations. The table says so in its last row. Long tables (with ``id`` and ``wave``) are described at each person's first
wave. This follows the usual disclosure rule of cohort data-access agreements (e.g. UK Biobank,
NHANES restricted data: no cell below 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from musclecog import disclosure
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


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


@dataclass(frozen=True)
class _Block:
    """One stratum's rows of the table."""

    label: str
    frame: pd.DataFrame
    shown: bool = True  # False: people with a missing grouping value (in 'overall' only; known by subtraction)


def _cells(s: pd.Series, kind: str) -> tuple[list[str], list[int]]:
    """The partition of one stratum's people by one variable: levels (or observed) and the missing."""
    n_obs = int(s.notna().sum())
    n_miss = int(len(s) - n_obs)
    if kind in ("numeric", "integer"):
        return ["observed"], [n_obs, n_miss]
    if kind == "binary":
        ones = int((pd.to_numeric(s, errors="coerce") == 1).sum())
        return ["1"], [ones, n_obs - ones, n_miss]
    counts: dict[str, int] = {}
    # count the raw values once, then label them (no per-row Python work)
    for value, c in s.value_counts(dropna=True, sort=False).items():
        counts[_label(value)] = counts.get(_label(value), 0) + int(c)
    return list(counts), [*counts.values(), n_miss]


def _levels(s: pd.Series, kind: str, seen: Sequence[str]) -> list[str]:
    """The levels of a categorical variable in table order."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return [str(c) for c in s.cat.categories]
    if pd.api.types.is_numeric_dtype(s):
        return [_label(v) for v in sorted(pd.unique(s.dropna()))]
    return sorted(seen)


def _grid(blocks: list[_Block], col: str, kind: str, data: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Cell names and counts: overall (1-D) and by stratum (2-D), last cell the missing."""
    if kind in ("numeric", "integer", "binary"):
        names = ["observed"] if kind != "binary" else ["1", "0"]
    else:
        names = _levels(data[col], kind, _cells(data[col], kind)[0])

    def counts(frame: pd.DataFrame) -> list[int]:
        s = frame[col]
        if kind in ("numeric", "integer", "binary"):
            return _cells(s, kind)[1]
        found, c = _cells(s, kind)
        by_name = dict(zip(found, c[:-1], strict=True))
        return [by_name.get(n, 0) for n in names] + [c[-1]]

    overall = np.array(counts(data), np.int64)
    strata = np.array([counts(b.frame) for b in blocks], np.int64).reshape(len(blocks), len(overall))
    return [*names, "missing"], overall, strata


def _variable_rows(
    stratum: str, var: tuple[str, str, str], frame: pd.DataFrame,
    cells: tuple[list[str], np.ndarray, np.ndarray], total_hidden: bool, style: tuple[int, int],
) -> list[dict]:
    """The rows of one variable (column, label, kind) in one stratum: its cells (names, counts, hidden
    flags) with the hidden ones blanked; ``style`` is (min_cell, digits)."""
    col, label, kind = var
    names, counts, hidden = cells
    min_cell, digits = style
    n_miss, miss_hidden = int(counts[-1]), bool(hidden[-1])
    n_obs = int(counts[:-1].sum())
    n_shown = not (total_hidden or miss_hidden) and not (kind in ("numeric", "integer") and hidden[0])
    base = {"stratum": stratum, "variable": col, "label": label,
            "n": n_obs if n_shown else np.nan, "n_missing": np.nan if miss_hidden else n_miss}
    if kind in ("numeric", "integer"):
        v = pd.to_numeric(frame[col], errors="coerce").astype(float)
        small = disclosure.is_small(n_obs, min_cell)
        mean = float(v.mean()) if n_obs and not small else np.nan
        sd = float(v.std(ddof=1)) if n_obs > 1 and not small else np.nan
        summary = disclosure.marker(min_cell) if small else (
            f"{_fmt(mean, digits)} ({_fmt(sd, digits)})" if n_obs > 1 else "NA")
        return [{**base, "level": "", "mean": mean, "sd": sd, "summary": summary}]
    rows = []
    printed = names[:1] if kind == "binary" else names[:-1]
    for j, level in enumerate(printed):
        c, cell_hidden = int(counts[j]), bool(hidden[j])
        pct = 100.0 * c / n_obs if n_obs else np.nan
        pct_shown = n_shown and not cell_hidden
        if cell_hidden:
            summary = disclosure.shown(c, True, min_cell)
        else:
            summary = f"{c} ({_fmt(pct, 1) if n_obs else 'NA'}%)" if pct_shown else str(c)
        rows.append({**base, "level": str(level), "count": np.nan if cell_hidden else c,
                     "percent": pct if pct_shown else np.nan, "summary": summary})
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
    m = disclosure.marker(min_cell)
    note = (
        f"cells with fewer than {min_cell} people are suppressed (shown as {m}), and so are more cells where a "
        "hidden one could be recovered from a total or from the other strata (shown as 'suppressed'; "
        "docs/disclosure.md)"
    )
    if "id" in df.columns and "wave" in df.columns and df["id"].duplicated().any():
        first = df.groupby("id", sort=False)["wave"].transform("min")
        df = df.loc[df["wave"] == first]
        note += "; long table described at each person's first wave"
    cols = _variables(df, dictionary, by)
    if columns is not None:
        cols = [c for c in cols if c[0] in set(columns)]
    blocks = _blocks(df, by)
    grids = {col: _grid(blocks, col, kind, df) for col, _, kind in cols}
    rows_hidden, protections = _protect(grids, blocks, min_cell)
    grand_hidden = disclosure.is_small(len(df), min_cell)
    rows = [_n_row("overall", len(df), grand_hidden, min_cell)]
    for col, label, kind in cols:
        names, overall, _ = grids[col]
        rows += _variable_rows("overall", (col, label, kind), df, (names, overall, protections[col].overall),
                               grand_hidden, (min_cell, digits))
    for r, block in enumerate(blocks):
        if not block.shown:
            continue
        rows.append(_n_row(block.label, len(block.frame), r in rows_hidden, min_cell))
        for col, label, kind in cols:
            names, _, strata = grids[col]
            rows += _variable_rows(block.label, (col, label, kind), block.frame,
                                   (names, strata[r], protections[col].cells[r]), r in rows_hidden,
                                   (min_cell, digits))
    if blocks and not blocks[-1].shown:
        n_na = len(blocks[-1].frame)
        text = disclosure.shown(n_na, len(blocks) - 1 in rows_hidden, min_cell)
        note += f"; {text} rows with missing {by} are in 'overall' only"
    rows.append({"stratum": "", "variable": "note", "label": "", "level": "", "summary": note})
    out = pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))
    for c in ("n", "n_missing", "count"):
        out[c] = pd.array(out[c], dtype="Int64")
    for c in ("mean", "sd", "percent"):
        out[c] = out[c].astype(float)
    return out


def _blocks(df: pd.DataFrame, by: str | None) -> list[_Block]:
    """One block per level of ``by`` (and one, not shown, for a missing ``by``)."""
    if by is None:
        return []
    keys = df[by]
    levels = list(keys.cat.categories) if isinstance(keys.dtype, pd.CategoricalDtype) else sorted(pd.unique(keys.dropna()))
    blocks = [_Block(f"{by}={level}", df.loc[keys == level]) for level in levels]
    if keys.isna().any():
        blocks.append(_Block(f"{by} missing", df.loc[keys.isna()], shown=False))
    return blocks


def _protect(
    grids: dict[str, tuple[list[str], np.ndarray, np.ndarray]], blocks: list[_Block], min_cell: int
) -> tuple[set[int], dict[str, disclosure.Protection]]:
    """Hidden strata totals and each variable's protection.

    The strata's totals are one partition shared by every variable: they are protected until no
    variable's table hides a further total.
    """
    sizes = [float(len(b.frame)) for b in blocks]
    rows_hidden = disclosure.complement(sizes, (), min_cell) if blocks else set()
    while True:
        protections = {
            col: disclosure.protect_table(overall, strata, min_cell, rows_hidden)
            for col, (_, overall, strata) in grids.items()
        }
        more = {int(r) for p in protections.values() for r in np.flatnonzero(p.rows)} - rows_hidden
        if not more:
            return rows_hidden, protections
        rows_hidden |= more


def _n_row(stratum: str, n: int, hidden: bool, min_cell: int) -> dict:
    """The row ``N`` (participants) of a stratum."""
    return {"stratum": stratum, "variable": "N", "label": "participants", "level": "",
            "n": np.nan if hidden else n, "n_missing": 0, "summary": disclosure.shown(n, hidden, min_cell)}
