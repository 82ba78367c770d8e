"""Table 1: descriptive statistics of a cohort, optionally by a grouping column, with small-cell suppression.

Numeric variables: n (non-missing), n missing, and mean (SD) or median (IQR) as configured
(:class:`Table1Spec`: ``summary`` for all, ``median_iqr`` / ``mean_sd`` lists per variable); the median
and quartiles are R's ``quantile(type = 7)`` (numpy's default linear interpolation). Binary and
categorical variables: n (%) per level, percentages of the non-missing. Where the cohort declares a
survey design (and ``weighted`` is not false), means, SDs and percentages are design-based
(:func:`musclecog.survey.survey_mean`: R's ``svymean`` and ``sqrt(svyvar)`` in each stratum as a
domain) while every n stays the unweighted count of people, suppressed as below. The column
``statistic`` says what each row shows. Every count goes through :mod:`musclecog.disclosure`: for each
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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from musclecog import disclosure
from musclecog.errors import ConfigError, DataError, show_values
from musclecog.survey import SurveyDesign, SurveySpec, survey_mean
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
    "median",
    "q1",
    "q3",
    "count",
    "percent",
    "statistic",
    "summary",
)

_SKIP_KINDS = frozenset({"id"})
_SKIP_PREFIXES = ("survey_", "grip_trial_")
MAX_LEVELS = 20
MAX_CODES = 5
SUMMARIES = ("mean_sd", "median_iqr")
STATISTIC_WORDS = {"mean_sd": "mean (SD)", "median_iqr": "median (IQR)"}


@dataclass(frozen=True)
class Table1Spec:
    """How a cohort's Table 1 is made (``cohorts.<name>.table1``).

    Attributes
    ----------
    by : str or None
        A grouping column, raw or derived (e.g. ``low_grip_ewgsop2`` with ``derive: [low_grip_ewgsop2]``).
    min_cell : int
        Counts from 1 to ``min_cell - 1`` are suppressed.
    summary : str
        ``mean_sd`` (default) or ``median_iqr`` for numeric variables.
    median_iqr, mean_sd : frozenset of str
        Variables that use the other summary than ``summary``.
    weighted : bool
        Survey-weighted where the cohort declares a design (default true).
    """

    by: str | None = None
    min_cell: int = 5
    summary: str = "mean_sd"
    median_iqr: frozenset[str] = field(default_factory=frozenset)
    mean_sd: frozenset[str] = field(default_factory=frozenset)
    weighted: bool = True

    @classmethod
    def from_config(cls, spec: Mapping[str, Any] | None, where: str = "table1") -> Table1Spec:
        """Build from the (schema-validated) config mapping, checking what the schema cannot."""
        spec = dict(spec or {})
        summary = str(spec.get("summary", "mean_sd"))
        if summary not in SUMMARIES:
            raise ConfigError(f"{where}.summary is {summary!r}; use one of {', '.join(SUMMARIES)}")
        median, mean = frozenset(spec.get("median_iqr") or ()), frozenset(spec.get("mean_sd") or ())
        both = sorted(median & mean)
        if both:
            raise ConfigError(f"{where}: {both} are listed under both median_iqr and mean_sd; keep one")
        return cls(spec.get("by"), int(spec.get("min_cell", 5)), summary, median, mean, bool(spec.get("weighted", True)))

    def of(self, column: str) -> str:
        """The summary (``mean_sd`` or ``median_iqr``) of one numeric column."""
        if column in self.median_iqr:
            return "median_iqr"
        if column in self.mean_sd:
            return "mean_sd"
        return self.summary


@dataclass(frozen=True)
class _Weights:
    """The survey design over the described rows, its weight column, and the rows with a positive weight."""

    design: SurveyDesign
    column: str
    positive: np.ndarray

    def mean_sd(self, y: np.ndarray, domain: np.ndarray) -> tuple[float, float]:
        """Design-based mean and SD (R: ``svymean``, ``sqrt(svyvar)``) of ``y`` in ``domain``."""
        d = domain & self.positive & np.isfinite(y)
        if not d.any():
            return np.nan, np.nan
        m = survey_mean(np.where(d, y, 0.0), self.design, d)
        return m.estimate, m.sd


def _weights(df: pd.DataFrame, survey: SurveySpec) -> _Weights:
    """The design of the described rows. Rows of weight 0 keep their PSU but are outside every domain (as
    R's zero-weight rows); missing or negative weights are an error (:class:`~musclecog.survey.SurveyDesign`)."""
    w = pd.to_numeric(df[survey.weight], errors="coerce") if survey.weight in df.columns else None
    positive = (w > 0).to_numpy(bool) if w is not None else np.ones(len(df), bool)
    frame = df
    if w is not None and ((w == 0) & w.notna()).any():
        frame = df.assign(**{survey.weight: w.where(w != 0, 1.0)})
    design = SurveyDesign.from_data(frame.reset_index(drop=True), survey, source="table1 survey design")
    return _Weights(design, survey.weight, positive)


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
    mask: np.ndarray  # the block's rows among the described ones (positions)
    shown: bool = True  # False: people with a missing grouping value (in 'overall' only; known by subtraction)


@dataclass(frozen=True)
class _Style:
    """How the cells are written: the small-cell rule, decimals, the summaries, the survey weights."""

    min_cell: int
    digits: int
    spec: Table1Spec
    weights: _Weights | None
    data: pd.DataFrame  # the described rows (the blocks' masks index them)


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


def _quartiles(v: np.ndarray) -> tuple[float, float, float]:
    """Median and quartiles as R's ``quantile(x, c(.5, .25, .75), type = 7)`` (numpy's ``linear``)."""
    q1, med, q3 = np.percentile(v, [25.0, 50.0, 75.0], method="linear")
    return float(med), float(q1), float(q3)


def _numeric_cells(col: str, block: _Block, n_obs: int, style: _Style) -> dict:
    """mean, sd, median, q1, q3, statistic and summary of one numeric variable in one stratum."""
    v = pd.to_numeric(style.data[col], errors="coerce").to_numpy(float)
    which = style.spec.of(col)
    statistic = ("weighted " if style.weights is not None else "") + STATISTIC_WORDS[which]
    out: dict[str, Any] = {"statistic": statistic}
    if disclosure.is_small(n_obs, style.min_cell):
        return {**out, "summary": disclosure.marker(style.min_cell)}
    if n_obs < 2:
        return {**out, "summary": "NA"}
    d = style.digits
    if which == "median_iqr":
        med, q1, q3 = _quartiles(v[block.mask & np.isfinite(v)])
        return {**out, "median": med, "q1": q1, "q3": q3,
                "summary": f"{_fmt(med, d)} ({_fmt(q1, d)}, {_fmt(q3, d)})"}
    if style.weights is not None:
        mean, sd = style.weights.mean_sd(v, block.mask)
    else:
        obs = v[block.mask & np.isfinite(v)]
        mean, sd = float(obs.mean()), float(obs.std(ddof=1))
    return {**out, "mean": mean, "sd": sd, "summary": f"{_fmt(mean, d)} ({_fmt(sd, d)})"}


def _level_percents(col: str, printed: Sequence[str], block: _Block, weights: _Weights, data: pd.DataFrame) -> list[float]:
    """Design-based percentages of the printed levels among the non-missing of a stratum (R:
    ``svymean(~factor(x), subset(design, <stratum>), na.rm = TRUE)``)."""
    codes, uniques = pd.factorize(data[col], sort=False)
    labels = np.array([_label(u) for u in uniques] + [""], dtype=object)  # one label per distinct value
    text = labels[codes]  # codes of missing values (-1) point at the last, empty label
    present = codes >= 0
    return [100.0 * weights.mean_sd((text == lev).astype(float), block.mask & present)[0] for lev in printed]


def _variable_rows(
    block: _Block, var: tuple[str, str, str], cells: tuple[list[str], np.ndarray, np.ndarray],
    total_hidden: bool, style: _Style,
) -> list[dict]:
    """The rows of one variable (column, label, kind) in one stratum: its cells (names, counts, hidden
    flags) with the hidden ones blanked."""
    col, label, kind = var
    names, counts, hidden = cells
    n_miss, miss_hidden = int(counts[-1]), bool(hidden[-1])
    n_obs = int(counts[:-1].sum())
    n_shown = not (total_hidden or miss_hidden) and not (kind in ("numeric", "integer") and hidden[0])
    base = {"stratum": block.label, "variable": col, "label": label,
            "n": n_obs if n_shown else np.nan, "n_missing": np.nan if miss_hidden else n_miss}
    if kind in ("numeric", "integer"):
        return [{**base, "level": "", **_numeric_cells(col, block, n_obs, style)}]
    rows = []
    printed = names[:1] if kind == "binary" else names[:-1]
    if style.weights is not None and n_obs:
        percents, statistic = _level_percents(col, printed, block, style.weights, style.data), "n (weighted %)"
    else:
        percents = [100.0 * int(c) / n_obs if n_obs else np.nan for c in counts[: len(printed)]]
        statistic = "n (%)"
    for j, level in enumerate(printed):
        c, cell_hidden = int(counts[j]), bool(hidden[j])
        pct_shown = n_shown and not cell_hidden
        if cell_hidden:
            summary = disclosure.shown(c, True, style.min_cell)
        else:
            summary = f"{c} ({_fmt(percents[j], 1) if n_obs else 'NA'}%)" if pct_shown else str(c)
        rows.append({**base, "level": str(level), "count": np.nan if cell_hidden else c,
                     "percent": percents[j] if pct_shown else np.nan, "statistic": statistic, "summary": summary})
    return rows


def _statistics_note(cols: Sequence[tuple[str, str, str]], spec: Table1Spec, weights: _Weights | None) -> str:
    """Which statistic the rows show, for the table's last row (and so the caption)."""
    numeric = [c for c, _, k in cols if k in ("numeric", "integer")]
    groups: dict[str, list[str]] = {}
    for c in numeric:
        groups.setdefault(spec.of(c), []).append(c)
    main = max(groups, key=lambda k: len(groups[k])) if groups else spec.summary
    words = STATISTIC_WORDS[main] + " for continuous variables"
    others = [f"{STATISTIC_WORDS[k]} for {', '.join(v)}" for k, v in groups.items() if k != main]
    if others:
        words += " except " + "; ".join(others)
    if weights is None:
        return words + "; n (%) for categories"
    return (f"survey-weighted (weights: {weights.column}): weighted {words}; n (weighted %) for categories; "
            "design-based means, SDs and percentages, unweighted n")


def _check_by(df: pd.DataFrame, by: str | None) -> None:
    """The grouping column exists and has few levels."""
    if by is None:
        return
    if by not in df.columns:
        raise DataError(
            f"table1.by: the column {by!r} is not in the cohort table; columns: {show_values(list(df.columns), 20)}. "
            f"A derived grouping (e.g. low_grip_ewgsop2) must be requested under the cohort's derive:"
        )
    n_levels = int(df[by].nunique(dropna=True))
    if n_levels > MAX_LEVELS:
        raise DataError(
            f"table1.by: the column {by!r} has {n_levels} distinct values (at most {MAX_LEVELS} strata); group a "
            f"continuous exposure first (e.g. derive: [low_grip_ewgsop2], or a categorical column of your table)"
        )


def table1(
    data: pd.DataFrame,
    by: str | None = None,
    dictionary: VariableDictionary | None = None,
    min_cell: int = 5,
    digits: int = 2,
    columns: Sequence[str] | None = None,
    spec: Table1Spec | None = None,
    survey: SurveySpec | None = None,
) -> pd.DataFrame:
    """Describe a cohort (overall, and by ``by`` if given).

    Parameters
    ----------
    data : DataFrame
        The analysis-ready table (canonical names).
    by : str, optional
        A grouping column; one block per level after the overall block (default: ``spec.by``).
    dictionary : VariableDictionary, optional
        Labels and kinds (default: ``resources/variables.tsv``).
    min_cell : int
        Counts from 1 to ``min_cell - 1`` are suppressed.
    digits : int
        Decimals of means, SDs, medians and quartiles in ``summary``.
    columns : sequence of str, optional
        Describe only these columns.
    spec : Table1Spec, optional
        Summaries per variable and whether to weight (default: mean (SD), weighted if ``survey``).
    survey : SurveySpec, optional
        The cohort's survey design; used unless ``spec.weighted`` is false.

    Returns
    -------
    DataFrame
        Columns :data:`TABLE1_COLUMNS`; one row per numeric variable, one per level of a categorical
        variable, one (level 1) per binary variable, a row ``N`` per stratum and a final ``note`` row.

    Raises
    ------
    ConfigError
        If medians are asked of a survey-weighted table (weighted quantiles are not implemented).
    DataError
        If ``by`` is not a column or has more than :data:`MAX_LEVELS` levels, or a survey column is bad.
    """
    dictionary = dictionary or load_dictionary()
    spec = spec or Table1Spec(by=by, min_cell=min_cell)
    by = by if by is not None else spec.by
    df = data
    m = disclosure.marker(min_cell)
    note = (
        f"cells with fewer than {min_cell} people are suppressed (shown as {m}), and so are more cells where a "
        "hidden one could be recovered from a total or from the other strata (shown as 'suppressed'; "
        "docs/disclosure.md)"
    )
    _check_by(df, by)
    if "imputation" in df.columns:
        first_imp = df["imputation"].min()
        m_imp = int(df["imputation"].nunique())
        df = df.loc[df["imputation"] == first_imp].drop(columns="imputation")
        note += (f"; multiply imputed data described in imputation {first_imp:g} of {m_imp} (imputed values "
                 "differ between imputations; the analyses pool all of them)")
    if "id" in df.columns and "wave" in df.columns and df["id"].duplicated().any():
        first = df.groupby("id", sort=False)["wave"].transform("min")
        df = df.loc[df["wave"] == first]
        note += "; long table described at each person's first wave"
    cols = _variables(df, dictionary, by)
    if columns is not None:
        cols = [c for c in cols if c[0] in set(columns)]
    weights = _weights(df, survey) if survey is not None and spec.weighted else None
    medians = [c for c, _, k in cols if k in ("numeric", "integer") and spec.of(c) == "median_iqr"]
    if weights is not None and medians:
        raise ConfigError(
            f"table1: median (IQR) is asked for {medians} but the table is survey-weighted (weights: "
            f"{weights.column}) and weighted quantiles are not implemented; set table1.weighted: false or "
            f"use mean_sd for these variables"
        )
    note = f"{_statistics_note(cols, spec, weights)}; {note}"
    style = _Style(min_cell, digits, spec, weights, df)
    everyone = _Block("overall", df, np.ones(len(df), bool))
    blocks = _blocks(df, by)
    grids = {col: _grid(blocks, col, kind, df) for col, _, kind in cols}
    rows_hidden, protections = _protect(grids, blocks, min_cell)
    grand_hidden = disclosure.is_small(len(df), min_cell)
    rows = [_n_row("overall", len(df), grand_hidden, min_cell)]
    for col, label, kind in cols:
        names, overall, _ = grids[col]
        rows += _variable_rows(everyone, (col, label, kind), (names, overall, protections[col].overall),
                               grand_hidden, style)
    for r, block in enumerate(blocks):
        if not block.shown:
            continue
        rows.append(_n_row(block.label, len(block.frame), r in rows_hidden, min_cell))
        for col, label, kind in cols:
            names, _, strata = grids[col]
            rows += _variable_rows(block, (col, label, kind), (names, strata[r], protections[col].cells[r]),
                                   r in rows_hidden, style)
    if blocks and not blocks[-1].shown:
        n_na = len(blocks[-1].frame)
        text = disclosure.shown(n_na, len(blocks) - 1 in rows_hidden, min_cell)
        note += f"; {text} rows with missing {by} are in 'overall' only"
    rows.append({"stratum": "", "variable": "note", "label": "", "level": "", "summary": note})
    out = pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))
    for c in ("n", "n_missing", "count"):
        out[c] = pd.array(out[c], dtype="Int64")
    for c in ("mean", "sd", "median", "q1", "q3", "percent"):
        out[c] = out[c].astype(float)
    out["statistic"] = out["statistic"].fillna("")
    return out


def _blocks(df: pd.DataFrame, by: str | None) -> list[_Block]:
    """One block per level of ``by`` (and one, not shown, for a missing ``by``)."""
    if by is None:
        return []
    keys = df[by]
    levels = list(keys.cat.categories) if isinstance(keys.dtype, pd.CategoricalDtype) else sorted(pd.unique(keys.dropna()))
    blocks = []
    for level in levels:
        mask = (keys == level).to_numpy(bool)
        blocks.append(_Block(f"{by}={level}", df.loc[mask], mask))
    missing = keys.isna().to_numpy(bool)
    if missing.any():
        blocks.append(_Block(f"{by} missing", df.loc[missing], missing, shown=False))
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
            "n": np.nan if hidden else n, "n_missing": 0, "statistic": "n",
            "summary": disclosure.shown(n, hidden, min_cell)}
