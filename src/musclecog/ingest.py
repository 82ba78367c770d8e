"""Build a cohort's analysis-ready table: simulate it, or read, stack, join, map and clean real tables.

One function per pipeline job: :func:`build_cohort` (config entry -> :class:`Cohort`) and
:func:`write_cohort` (-> parquet + flow + table 1 [+ truth]). The steps, in order (each is described
with its config key in ``docs/ingest.md``):

1. **read** every table (``tables[i].path``, format from the extension), keep the mapped columns
   (``columns: {source: name}``; ``keep_all_columns: true`` keeps the others under their own names),
   apply the table's own ``keep_if`` (on source column names), add constant columns (``add``);
2. **wave**: name the wave column (``wave: visit``) or number visits within id (``wave: {order_by: age}``);
3. **stack** tables of several survey cycles (``stack: [[0, 1], ...]``), then **join** the groups on
   ``id`` (and ``wave`` where both sides have it); duplicate keys, a join matching nothing, and a column
   coming from two tables are errors;
4. **clean**: ``missing_codes`` (set to missing, counted), ``recode``, ``units`` (to the dictionary
   unit); then every dictionary column is checked: numbers where numbers are expected, known
   levels (sex), values inside the dictionary range;
5. **derive** row-wise variables (:mod:`musclecog.derive`), apply the cohort ``keep_if`` filters,
   derive sample-wise variables (z-scores, change scores), check the derived ranges;
6. **describe**: the flow table (every excluded row counted with its reason) and table 1.

Synthetic cohorts (``simulate:``) skip 1-3 and run 4-6 on the generator's output. Nothing is written
until the whole table has been built, so a bad input leaves no partial output.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog import derive as derive_mod
from musclecog import ukb
from musclecog.disclosure import DEFAULT_MIN_CELL
from musclecog.errors import ConfigError, DataError, show_values
from musclecog.filters import apply_keep_if, flow_frame, flow_row
from musclecog.imputation import IMPUTATION, ImputeSpec, chained_imputations
from musclecog.io import (
    XPT_ZERO_THRESHOLD,
    delimiter_hint,
    detect_format,
    read_input_table,
    table_header,
    write_parquet,
)
from musclecog.manuscript import table1_rendered
from musclecog.results import read_table, write_table
from musclecog.seeds import derive_seed
from musclecog.survey import SurveySpec
from musclecog.table1 import Table1Spec
from musclecog.table1 import table1 as make_table1
from musclecog.variables import VariableDictionary, conversion_factor, load_dictionary

log = logging.getLogger(__name__)

KEYS: tuple[str, ...] = ("id", "wave", "imputation")


@dataclass
class Cohort:
    """An analysis-ready cohort and its descriptions.

    Attributes
    ----------
    name : str
        The cohort's key in the config.
    data : DataFrame
        One row per person (per person x wave in long tables), canonical column names.
    flow : DataFrame
        ``step, n_in, n_out, n_excluded, reason``; every row that left is counted.
    table1 : DataFrame
        Descriptives (see :func:`musclecog.table1.table1`).
    truth : DataFrame or None
        The truth table of a synthetic cohort.
    survey : mapping or None
        Survey design columns (``weight``, ``strata``, ``psu``, ``weight_divisor``).
    derived : tuple of str
        Columns added by :mod:`musclecog.derive`.
    sources : dict
        Column -> where it came from (``file [source column]``), used in messages.
    """

    name: str
    data: pd.DataFrame
    flow: pd.DataFrame
    table1: pd.DataFrame
    truth: pd.DataFrame | None = None
    survey: Mapping[str, Any] | None = None
    derived: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# helpers


def _where_rows(df: pd.DataFrame, mask: np.ndarray | pd.Series, limit: int = 5) -> str:
    """Describe offending rows by id (and wave) if present, else by row number (1-based)."""
    mask = np.asarray(mask, bool)
    if "id" in df.columns:
        ids = df.loc[mask, "id"]
        if "wave" in df.columns:
            labels = [f"{i}/wave {w}" for i, w in zip(ids, df.loc[mask, "wave"], strict=True)]
            return "id/wave " + show_values(labels, limit)
        return "id " + show_values(list(ids), limit)
    return "row " + show_values(list(np.flatnonzero(mask) + 1), limit)


def _normalise_id(s: pd.Series) -> pd.Series:
    """Ids as int64 when they are all whole numbers (e.g. NHANES SEQN read as float), else strings."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        if np.all(np.isfinite(v)) and np.all(v == np.round(v)):
            return pd.Series(v.astype(np.int64), index=s.index, name=s.name)
    return s.astype(str).where(s.notna(), None)


def _is_sorted(df: pd.DataFrame, keys: Sequence[str]) -> bool:
    if len(keys) == 1:
        return bool(df[keys[0]].is_monotonic_increasing)
    return bool(pd.MultiIndex.from_frame(df[list(keys)]).is_monotonic_increasing)


def _source_label(sources: Mapping[str, str], column: str) -> str:
    return sources.get(column, "the cohort table")


@dataclass
class _Table:
    """One input table after reading and mapping."""

    label: str  # "path" or "path + path" after stacking
    frame: pd.DataFrame
    sources: dict[str, str]
    # value labels (Stata/SPSS) of the mapped columns that get them: column -> {code: label}
    labels: dict[str, dict[Any, str]] = field(default_factory=dict)


def _read_table(i: int, entry: Mapping[str, Any], cohort: str, base_dir: Path, zero: float) -> tuple[_Table, list[dict]]:
    where = f"cohorts.{cohort}.tables[{i}]"
    path = Path(entry["path"])
    path = path if path.is_absolute() else base_dir / path
    mapping: dict[str, str] = dict(entry.get("columns") or {})
    fmt, enc, sep = entry.get("format", "auto"), entry.get("encoding"), entry.get("sep")
    ukb_fields = _ukb_columns(path, entry, mapping, where) if entry.get("ukb") else []
    keep_all = bool(entry.get("keep_all_columns", False)) or (not mapping and not ukb_fields)
    table_filters: Mapping[str, Any] = entry.get("keep_if") or {}
    ukb_sources = [c for f in ukb_fields for c in f.columns]
    wanted = None if keep_all else list(dict.fromkeys(list(mapping) + list(table_filters) + ukb_sources))
    df = read_input_table(path, fmt, wanted, zero_threshold=entry.get("zero_threshold", zero), encoding=enc, sep=sep)
    missing = [c for c in mapping if c not in df.columns]
    if missing:
        _missing_columns(path, entry, where, missing, df if not wanted else None, zero)
    targets = list(mapping.values())
    dup_targets = sorted({t for t in targets if targets.count(t) > 1})
    if dup_targets:
        raise ConfigError(
            f"config: '{where}.columns' maps several source columns to {dup_targets}; each name once per table."
        )
    flow: list[dict] = [flow_row(f"read {Path(entry['path']).name}", len(df), len(df), f"rows read from {entry['path']}")]
    if table_filters:
        df, rows = apply_keep_if(df, table_filters, f"{where}.keep_if")
        flow += rows
    if keep_all:
        new_names = [mapping.get(c, c) for c in df.columns]
        clash = sorted({c for c in new_names if new_names.count(c) > 1})
        if clash:
            raise ConfigError(
                f"config: '{where}.columns' renames a column to {clash}, which the file already has "
                "under that name. Map one of them to another name."
            )
        renamed = df.set_axis(new_names, axis=1, copy=False)
    else:
        # select and rename without copying the data (the reader already returned only these columns)
        renamed = pd.DataFrame({t: df[s] for s, t in mapping.items()}, copy=False)
    if table_filters:
        renamed = renamed.reset_index(drop=True)  # a new frame, not a view of the unfiltered rows
    for name, value in (entry.get("add") or {}).items():
        renamed[name] = value
    sources = {t: f"{entry['path']} [{s}]" for s, t in mapping.items()}
    if ukb_fields:
        flow += _ukb_values(df, renamed, ukb_fields, entry, where, sources)
    sources.update({c: f"{entry['path']} [{c}]" for c in renamed.columns if c not in sources})
    labels = _file_value_labels(path, entry, mapping if not keep_all else {c: mapping.get(c, c) for c in df.columns})
    if "id" in renamed.columns:
        if renamed["id"].isna().any():
            bad = renamed["id"].isna().to_numpy()
            raise DataError(
                f"{entry['path']}: {int(bad.sum())} rows have no id (column {sources['id']}; "
                f"row {show_values(list(np.flatnonzero(bad) + 1))}). Remove them or fix the id column."
            )
        renamed["id"] = _normalise_id(renamed["id"])
    return _Table(str(entry["path"]), renamed, sources, labels), flow


def _ukb_columns(path: Path, entry: Mapping[str, Any], mapping: dict[str, str], where: str) -> list[ukb.FieldColumns]:
    """Resolve ``ukb.fields`` against the file's header; map its ``eid`` to ``id`` unless mapped."""
    header = table_header(path, entry.get("format", "auto"), entry.get("encoding"), entry.get("sep"))
    fields = ukb.resolve_fields(header, entry["ukb"], f"{entry['path']} ({where}.ukb)")
    taken = set(mapping.values())
    clash = sorted(taken & {f.name for f in fields})
    if clash:
        raise ConfigError(f"config: '{where}': {clash} named both in columns and in ukb.fields; name each once.")
    eid = ukb.id_column(header)
    if "id" not in taken and eid is not None:
        mapping[eid] = "id"
    return fields


def _ukb_values(df: pd.DataFrame, renamed: pd.DataFrame, fields: Sequence[ukb.FieldColumns],
                entry: Mapping[str, Any], where: str, sources: dict[str, str]) -> list[dict]:
    """Add each UK Biobank field (arrays combined, special codes replaced) to the renamed table; flow rows."""
    spec: Mapping[str, Any] = entry["ukb"]
    flow = []
    for fc in fields:
        values = ukb.combine_arrays(df, fc, spec.get("array"), f"{where}.ukb")
        values, counts = ukb.apply_special_codes(values, fc.name, fc.field, spec, f"{entry['path']} ({where}.ukb)")
        renamed[fc.name] = values.to_numpy()
        sources[fc.name] = f"{entry['path']} [{' / '.join(fc.columns)}] (UK Biobank field {fc.field})"
        if counts:
            codes = ukb.special_codes(spec)
            said = ", ".join(f"{int(c)}: {n} -> " + ("missing" if codes[c] is None else f"{codes[c]:g}")
                             for c, n in sorted(counts.items()))
            flow.append(flow_row(f"ukb special codes {fc.name}", len(renamed), len(renamed),
                                 f"rows kept; field {fc.field} codes replaced ({said})"))
    return flow


def _file_value_labels(path: Path, entry: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, dict[Any, str]]:
    """The value labels a Stata or SPSS file stores for the mapped columns, under their new names.

    ``value_labels: true`` (default) takes every labelled column, ``false`` none, a list only those
    (source names). Other formats carry no labels.
    """
    want = entry.get("value_labels", True)
    fmt = entry.get("format", "auto")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if want is False or fmt not in ("dta", "sav"):
        return {}
    import pyreadstat

    read = pyreadstat.read_dta if fmt == "dta" else pyreadstat.read_sav
    _, meta = read(str(path), metadataonly=True, encoding=entry.get("encoding"))
    chosen = set(mapping) if want is True else set(want)
    unknown = sorted(chosen - set(mapping))
    if unknown:
        raise ConfigError(
            f"config: the value_labels list of table {entry['path']} names {unknown}, which are not mapped columns "
            f"of that table ({show_values(sorted(mapping), 20)}). Use the file's column names."
        )
    out: dict[str, dict[Any, str]] = {}
    for src, codes in (meta.variable_value_labels or {}).items():
        if src in chosen and codes:
            out[mapping[src]] = {code: str(text) for code, text in codes.items()}
    return out


def _missing_columns(path: Path, entry: Mapping[str, Any], where: str, missing: list[str],
                     df: pd.DataFrame | None, zero: float) -> None:
    """Raise the error for mapped columns a table lacks: a wrong delimiter first, else close names."""
    fmt, enc, sep = entry.get("format", "auto"), entry.get("encoding"), entry.get("sep")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if df is None:  # the reader was asked for the mapped columns only; list the file's real columns for the hint
        df = read_input_table(path, fmt, None, zero_threshold=entry.get("zero_threshold", zero), encoding=enc, sep=sep)
    all_cols = list(map(str, df.columns))
    if fmt in ("csv", "tsv"):
        delimiter = sep or ("\t" if fmt == "tsv" else ",")
        hint = delimiter_hint(path, delimiter, enc or "utf-8")
        if hint:
            raise DataError(
                f"{entry['path']}: {hint} (the mapped column(s) {', '.join(map(repr, missing))} of config "
                f"'{where}.columns' are not among the {len(all_cols)} column(s) read: {show_values(all_cols, 5)})"
            )
    hints = []
    for c in missing:
        close = difflib.get_close_matches(c, all_cols, n=1) or difflib.get_close_matches(c.upper(), all_cols, n=1)
        hints.append(f"'{c}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise DataError(
        f"{entry['path']}: the mapped column(s) {', '.join(hints)} (config '{where}.columns') are not in the "
        f"file. Its columns: {show_values(all_cols, 30)}. Fix the name in the config."
    )


def _number_waves(t: _Table, wave: Mapping[str, Any], cohort: str) -> _Table:
    """Number visits 0, 1, ... within id by ``order_by``; optionally time_years from ``time_from``."""
    df = t.frame
    order_by = wave.get("order_by")
    if order_by is None or order_by not in df.columns or "wave" in df.columns:
        return t
    if "id" not in df.columns:
        raise DataError(f"{t.label}: numbering visits by '{order_by}' needs an 'id' column; map it in the config.")
    if df[order_by].isna().any():
        bad = df[order_by].isna().to_numpy()
        raise DataError(
            f"{t.label}: cannot number visits within id by '{order_by}' ({_source_label(t.sources, order_by)}): "
            f"it is missing in {int(bad.sum())} rows ({_where_rows(df, bad)}). Drop those rows with the table's "
            f"keep_if: {{{order_by}: {{not_missing: true}}}} or give a wave column."
        )
    dup = df.duplicated(["id", order_by], keep=False).to_numpy()
    if dup.any():
        raise DataError(
            f"{t.label}: {int(dup.sum())} rows share id and '{order_by}' ({_where_rows(df, dup)}, values "
            f"{show_values(df.loc[dup, order_by].tolist())}), so visits cannot be ordered. Remove the duplicates "
            "or give a wave column (cohorts.<name>.wave: <column>)."
        )
    out = df.copy()
    out["wave"] = out.groupby("id", sort=False)[order_by].rank(method="first").astype(np.int64) - 1
    t.sources["wave"] = f"visit number within id ordered by {order_by} ({cohort})"
    time_from = wave.get("time_from")
    if time_from:
        base = out[time_from].where(out["wave"] == 0).groupby(out["id"], sort=False).transform("max")
        out["time_years"] = (out[time_from] - base).astype(float)
        t.sources["time_years"] = f"{time_from} minus {time_from} at the first visit"
    return _Table(t.label, out, t.sources, t.labels)


def _check_unique(t: _Table, keys: Sequence[str]) -> None:
    dup = t.frame.duplicated(list(keys), keep=False).to_numpy()
    if dup.any():
        n_keys = int(t.frame.loc[dup, list(keys)].drop_duplicates().shape[0])
        what = " x ".join(keys)
        raise DataError(
            f"{t.label}: {n_keys} duplicate {what} value(s) in {int(dup.sum())} rows "
            f"({_where_rows(t.frame, dup)}). Each {what} must appear once per table: remove the duplicates"
            + (", or give the visit column with the cohort key 'wave'" if "wave" not in keys else "")
            + "."
        )


def _stack(tables: list[_Table], groups: Sequence[Sequence[int]], cohort: str) -> tuple[list[_Table], list[dict]]:
    where = f"cohorts.{cohort}.stack"
    used: list[int] = [i for g in groups for i in g]
    for i in used:
        if not isinstance(i, int) or not 0 <= i < len(tables):
            raise ConfigError(f"config: '{where}' names the table index {i!r}; tables are numbered 0..{len(tables) - 1}.")
    if len(set(used)) != len(used):
        raise ConfigError(f"config: '{where}' lists a table in more than one group: {list(groups)}.")
    flow: list[dict] = []
    out: list[_Table] = []
    first_of = {min(g): g for g in groups if g}
    for i, t in enumerate(tables):
        if i in used and i not in first_of:
            continue
        if i not in first_of:
            out.append(t)
            continue
        members = [tables[j] for j in first_of[i]]
        cols = list(members[0].frame.columns)
        for m in members[1:]:
            if set(m.frame.columns) != set(cols):
                raise DataError(
                    f"{where}: cannot stack {members[0].label} and {m.label}: their columns differ "
                    f"(only in the first: {sorted(set(cols) - set(m.frame.columns))}; only in the second: "
                    f"{sorted(set(m.frame.columns) - set(cols))}). Map the same columns in each stacked table."
                )
        frame = pd.concat([m.frame[cols] for m in members], ignore_index=True)
        label = " + ".join(m.label for m in members)
        short = " + ".join(Path(m.label).name for m in members)
        sources = {c: " / ".join(dict.fromkeys(m.sources.get(c, m.label) for m in members)) for c in cols}
        flow.append(flow_row(f"stack {short}", len(frame), len(frame), f"{len(members)} tables stacked: {label}"))
        out.append(_Table(label, frame, sources, _stacked_labels(members, where)))
    return out, flow


def _stacked_labels(members: Sequence[_Table], where: str) -> dict[str, dict[Any, str]]:
    """The union of stacked tables' value labels; one code with two different labels is an error."""
    out: dict[str, dict[Any, str]] = {}
    for m in members:
        for col, codes in m.labels.items():
            have = out.setdefault(col, {})
            for code, text in codes.items():
                if code in have and have[code] != text:
                    raise DataError(
                        f"{where}: column '{col}' has code {code!r} labelled {have[code]!r} in one stacked table and "
                        f"{text!r} in {m.label}. Recode one of the files, or set value_labels: false for these tables "
                        "and map the codes with recode."
                    )
                have[code] = text
    return out


def _row_number_ids(t: _Table, cohort: str) -> tuple[_Table, list[dict]]:
    """A one-row-per-person table without an id: the row numbers 1, 2, ... are the ids (said in the flow
    table and the log). A long table (with ``wave``) cannot be numbered so: its visits need their person."""
    if "wave" in t.frame.columns:
        raise DataError(
            f"{t.label}: the table has a wave column but no 'id' column, so the visits of one person cannot be "
            f"told apart (columns: {show_values(list(t.frame.columns), 20)}). Map the participant identifier "
            "to id, e.g. columns: {pid: id}."
        )
    n = len(t.frame)
    t.frame["id"] = np.arange(1, n + 1, dtype=np.int64)
    t.sources["id"] = f"{t.label} [row number]"
    reason = f"no id column: the row numbers 1-{n} of {t.label} are the ids (one row per person)"
    log.info("cohorts.%s: %s", cohort, reason)
    return t, [flow_row("id from row numbers", n, n, reason)]


def _join_row(step: str, left: pd.DataFrame, right: pd.DataFrame, merged: pd.DataFrame, keys: list[str],
              how: str, reason: str) -> dict:
    """The flow row of one join; a join that repeats rows (a table per person joined to every imputation or
    wave of the person) says so and excludes only the rows without a match."""
    row = flow_row(step, len(left), len(merged), reason)
    expands = [k for k in KEYS if k in right.columns and k not in left.columns]
    if expands and len(merged) > len(left):
        left_keys = [k for k in KEYS if k in left.columns]
        kept = len(merged[left_keys].drop_duplicates()) if how != "outer" else len(left)
        row["n_excluded"] = len(left) - kept
        row["reason"] += (f"; each row of the left repeated for every {' x '.join(expands)} of its "
                          f"{'+'.join(keys)} ({len(left)} -> {len(merged)} rows)")
    return row


def _join(tables: list[_Table], how: str, join_on: Sequence[str] | None, cohort: str) -> tuple[_Table, list[dict]]:
    flow: list[dict] = []
    if len(tables) == 1 and "id" not in tables[0].frame.columns and not join_on:
        return _row_number_ids(tables[0], cohort)
    for t in tables:
        if "id" not in t.frame.columns and not join_on:
            raise DataError(
                f"{t.label}: the table has no 'id' column (columns: {show_values(list(t.frame.columns), 20)}). "
                "Map the participant identifier to id, e.g. columns: {SEQN: id}."
            )
        keys = list(join_on) if join_on else [k for k in KEYS if k in t.frame.columns]
        missing = [k for k in keys if k not in t.frame.columns]
        if missing:
            raise DataError(f"{t.label}: the join column(s) {missing} (cohorts.{cohort}.join_on) are not in the table.")
        _check_unique(t, keys)
    acc = tables[0]
    for right in tables[1:]:
        keys = list(join_on) if join_on else [k for k in KEYS if k in acc.frame.columns and k in right.frame.columns]
        common = sorted((set(acc.frame.columns) & set(right.frame.columns)) - set(keys))
        if common:
            raise DataError(
                f"cohorts.{cohort}: the column(s) {common} come from both {acc.label} "
                f"({', '.join(acc.sources.get(c, '?') for c in common)}) and {right.label} "
                f"({', '.join(right.sources.get(c, '?') for c in common)}). Map each variable from one table only."
            )
        left_df, right_df = acc.frame, right.frame
        for k in keys:
            if left_df[k].dtype != right_df[k].dtype:
                left_df = left_df.assign(**{k: left_df[k].astype(str)})
                right_df = right_df.assign(**{k: right_df[k].astype(str)})
        merged = left_df.merge(right_df, on=keys, how=how, indicator=True, sort=False)
        n_match = int((merged["_merge"] == "both").sum())
        if n_match == 0:
            raise DataError(
                f"cohorts.{cohort}: joining {acc.label} with {right.label} on {keys} matches no rows. "
                f"Ids on the left look like {show_values(left_df[keys[0]].head(3).tolist())}, on the right like "
                f"{show_values(right_df[keys[0]].head(3).tolist())}. Check that the same identifier is mapped to id."
            )
        n_left_unmatched = int((merged["_merge"] == "left_only").sum())
        n_right_only = int((merged["_merge"] == "right_only").sum())
        if how == "inner":
            reason = f"excluded: not in {right.label} (inner join on {'+'.join(keys)})"
        elif how == "left":
            reason = f"left join on {'+'.join(keys)}: {n_match} rows matched, {n_left_unmatched} kept without a match"
        else:
            reason = f"outer join on {'+'.join(keys)}: {n_right_only} rows added from {right.label}"
        short = " + ".join(Path(p).name for p in right.label.split(" + "))
        flow.append(_join_row(f"join {short}", left_df, right_df, merged, keys, how, reason))
        merged = merged.drop(columns="_merge")
        acc = _Table(f"{acc.label} & {right.label}", merged, {**acc.sources, **right.sources},
                     {**acc.labels, **right.labels})
    return acc, flow


# --------------------------------------------------------------------------------------------------
# cleaning and checks


def _require_column(df: pd.DataFrame, column: str, key: str) -> None:
    if column not in df.columns:
        close = difflib.get_close_matches(column, list(map(str, df.columns)), n=1)
        raise ConfigError(
            f"config: '{key}' names the column {column!r}, which the cohort table does not have"
            + (f" (did you mean '{close[0]}'?)" if close else "")
            + f". Columns: {show_values(sorted(map(str, df.columns)), 40)}."
        )


def _to_numeric(df: pd.DataFrame, col: str, sources: Mapping[str, str], why: str) -> pd.Series:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Int8")
    if pd.api.types.is_numeric_dtype(s):
        return s
    stripped = s.astype(str).str.strip().where(s.notna(), None)
    num = pd.to_numeric(stripped, errors="coerce")
    bad = (num.isna() & s.notna()).to_numpy()
    if bad.any():
        raise DataError(
            f"{_source_label(sources, col)}: column '{col}' should hold numbers ({why}) but has "
            f"{int(bad.sum())} non-numeric values: {show_values(pd.unique(s[bad]).tolist())} "
            f"({_where_rows(df, bad)}). Fix the values, or list them under missing_codes: {{{col}: [...]}} "
            "to treat them as missing."
        )
    return num


def _apply_units(df: pd.DataFrame, units: Mapping[str, str], cohort: str, dic: VariableDictionary,
                 sources: Mapping[str, str]) -> pd.DataFrame:
    for col, unit in (units or {}).items():
        factor = conversion_factor(col, unit, dic, where=f"cohorts.{cohort}.units")
        _require_column(df, col, f"cohorts.{cohort}.units.{col}")
        df[col] = _to_numeric(df, col, sources, f"unit conversion from {unit}").astype(float) * factor
        log.info("units: %s converted from %s to %s (x %s)", col, unit, dic[col].unit, factor)
    return df


def _codes_match(s: pd.Series, codes: Sequence[Any]) -> np.ndarray:
    """Values equal to any code, comparing numbers as numbers and anything else as text."""
    hit = np.zeros(len(s), bool)
    num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s
    for code in codes:
        if isinstance(code, str) and pd.api.types.is_numeric_dtype(s):
            try:  # '1' written as text in the config, numbers in the file
                code = float(code)
            except ValueError:
                pass
        if isinstance(code, int | float) and not isinstance(code, bool):
            hit |= (num == code).fillna(False).to_numpy(bool)
        else:
            hit |= (s.astype(str) == str(code)).to_numpy(bool) & s.notna().to_numpy(bool)
    return hit


def _apply_missing_codes(df: pd.DataFrame, codes: Mapping[str, Sequence[Any]], cohort: str) -> tuple[pd.DataFrame, list[dict]]:
    flow = []
    for col, values in (codes or {}).items():
        key = f"cohorts.{cohort}.missing_codes.{col}"
        _require_column(df, col, key)
        values = values if isinstance(values, list | tuple) else [values]
        hit = _codes_match(df[col], values)
        df[col] = df[col].where(~hit)
        flow.append(flow_row(f"missing_codes.{col}", len(df), len(df),
                             f"rows kept; {int(hit.sum())} values coded {show_values(values, 10)} set to missing"))
    return df, flow


def _apply_value_labels(df: pd.DataFrame, labels: Mapping[str, Mapping[Any, str]], spec: Mapping[str, Any],
                        dic: VariableDictionary, sources: Mapping[str, str]) -> tuple[pd.DataFrame, list[dict]]:
    """Stata/SPSS value labels -> factor levels named by their labels, ordered by code.

    Applied to labelled columns that are categories: not in the dictionary, or of kind ``category``. A
    numeric, integer or binary dictionary column keeps its codes (a model needs the numbers), and so does a
    column with a ``recode:`` entry (the config's mapping is explicit and wins). The levels are a pandas
    categorical in code order, so the lowest code is the default reference level (as Stata's ``i.``
    prefix) and ``reference: {education: secondary}`` names a level by its label.

    Raises
    ------
    DataError
        If a non-missing code has no label (the codes are listed, with the fix).
    """
    flow: list[dict] = []
    recoded = set((spec.get("recode") or {}).keys())
    for col, codes in labels.items():
        if col not in df.columns or col in recoded or (col in dic and dic[col].kind != "category"):
            continue
        s = df[col]
        keys = list(codes)
        mapped = pd.Series(pd.NA, index=df.index, dtype=object)
        done = np.zeros(len(s), bool)
        for code in keys:
            hit = _codes_match(s, [code]) & ~done
            mapped[hit] = codes[code]
            done |= hit
        bad = ~done & s.notna().to_numpy(bool)
        if bad.any():
            raise DataError(
                f"{_source_label(sources, col)}: value(s) {show_values(sorted(map(str, pd.unique(s[bad]))))} of "
                f"'{col}' in {int(bad.sum())} rows ({_where_rows(df, bad)}) have no value label; the file labels only "
                f"{show_values(keys, 10)}. Add the labels to the file, set the codes to missing with "
                f"missing_codes: {{{col}: [...]}}, or keep the codes with value_labels: false for that table."
            )
        order = list(dict.fromkeys(codes[c] for c in sorted(keys, key=_code_order)))
        df[col] = pd.Categorical(mapped.where(mapped.notna(), None), categories=order)
        n = int(done.sum())
        flow.append(flow_row(f"value_labels.{col}", len(df), len(df),
                             f"rows kept; {n} codes replaced by their {len(order)} labels ({show_values(order, 6)})"))
    return df, flow


def _code_order(code: Any) -> tuple[int, float, str]:
    """Numeric codes in numeric order, then text codes in text order."""
    try:
        return (0, float(code), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(code))


def _apply_recode(df: pd.DataFrame, recode: Mapping[str, Mapping[Any, Any]], cohort: str,
                  sources: Mapping[str, str]) -> pd.DataFrame:
    for col, mapping in (recode or {}).items():
        key = f"cohorts.{cohort}.recode.{col}"
        _require_column(df, col, key)
        s = df[col]
        out = pd.Series(None, index=df.index, dtype=object)
        done = np.zeros(len(s), bool)
        for code, value in mapping.items():
            hit = _codes_match(s, [code]) & ~done
            out[hit] = value
            done |= hit
        bad = (~done & s.notna().to_numpy(bool))
        if bad.any():
            what = "unknown sex code" if col == "sex" else f"value(s) of '{col}' not covered by the recode"
            raise DataError(
                f"{_source_label(sources, col)}: {what}: {show_values(sorted(map(str, pd.unique(s[bad]))))} in "
                f"{int(bad.sum())} rows ({_where_rows(df, bad)}). The config '{key}' maps only "
                f"{show_values(list(mapping), 10)}. Add the code to the recode, or to missing_codes: {{{col}: [...]}}."
            )
        values = [v for v in mapping.values() if v is not None]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            df[col] = pd.to_numeric(out, errors="coerce")
        else:
            df[col] = out
    return df


def check_columns(df: pd.DataFrame, dic: VariableDictionary, sources: Mapping[str, str],
                  columns: Sequence[str] | None = None, ranges: bool = True) -> pd.DataFrame:
    """Check dictionary columns: numbers where numbers are expected, known levels, values in range.

    Missing values are never an error (they are counted in table 1). Returns the table with numeric
    dictionary columns converted to numbers. With ``ranges=False`` only types and levels are checked
    (ingestion checks ranges on the rows that pass the cohort's filters: a public file may hold
    children whose height is below an older-adult range, and they are not part of the cohort).

    Raises
    ------
    DataError
        Naming the source file and column, the offending values and rows, and the fix.
    """
    cols = [c for c in (columns if columns is not None else df.columns) if c in dic]
    for col in cols:
        var = dic[col]
        src = _source_label(sources, col)
        if var.kind == "id":
            continue
        if var.is_numeric:
            df[col] = _to_numeric(df, col, sources, f"{var.label}, {var.kind}")
            v = df[col].to_numpy(dtype=float, na_value=np.nan)
            lo = var.min if np.isfinite(var.min) else -np.inf
            hi = var.max if np.isfinite(var.max) else np.inf
            bad = ~np.isnan(v) & ((v < lo) | (v > hi)) if ranges else np.zeros(len(v), bool)
            if var.kind in ("binary", "integer"):
                bad |= ~np.isnan(v) & (v != np.round(v))
            if bad.any():
                unit = f" {var.unit}" if var.unit else ""
                rng = f"{var.min:g} to {var.max:g}{unit}" + (", whole numbers" if var.kind != "numeric" else "")
                fix = (
                    f"Correct the data; set codes that mean 'missing' to missing with missing_codes: {{{col}: [...]}}"
                    + (f"; or, if the unit differs, convert it with units: {{{col}: <unit>}}" if var.unit else "")
                    + "."
                )
                raise DataError(
                    f"{src}: column '{col}' ({var.label}) has {int(bad.sum())} values outside the dictionary range "
                    f"{rng}: {show_values(sorted(pd.unique(v[bad]).tolist()))} ({_where_rows(df, bad)}). {fix}"
                )
        elif var.levels:
            s = df[col]
            bad = (s.notna() & ~s.astype(str).isin(var.levels)).to_numpy(bool)
            if bad.any():
                what = "unknown sex code(s)" if col == "sex" else f"value(s) not among the levels of '{col}'"
                hint = _recode_hint(col, s[bad], var.levels)
                raise DataError(
                    f"{src}: {what} {show_values(sorted(map(str, pd.unique(s[bad]))))} in {int(bad.sum())} rows "
                    f"({_where_rows(df, bad)}); allowed: {', '.join(var.levels)}. Map the codes in the config "
                    f"with recode,{hint} or set them to missing with missing_codes."
                )
    return df


def _recode_hint(col: str, found: pd.Series, levels: Sequence[str]) -> str:
    """A recode example built from the codes actually found (never another cohort's coding).

    The codes are paired with the allowed levels in order only as a template (codes beyond the number of
    levels with ``null``): which code means which level is the codebook's to say, and the hint says so.
    """
    codes = sorted(map(str, pd.unique(found)))
    if not codes or not levels:
        return ""
    targets = list(levels)[: len(codes)] + ["null"] * max(0, len(codes) - len(levels))
    pairs = ", ".join(f"{c}: {t}" for c, t in zip(codes, targets, strict=True))
    return (f" as a template, recode: {{{col}: {{{pairs}}}}} (check in the codebook which code is which level;"
            " null sets a code to missing)")


def _check_finite(df: pd.DataFrame, sources: Mapping[str, str], cohort: str) -> None:
    """No infinite numbers in any column (inf breaks every model); missing values are NaN, never inf."""
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]):
            bad = np.isinf(df[col].to_numpy(dtype=float, na_value=np.nan))
            if bad.any():
                raise DataError(
                    f"{_source_label(sources, col)}: column '{col}' has {int(bad.sum())} infinite values "
                    f"({show_values(pd.unique(df[col].to_numpy()[bad]).tolist())}; {_where_rows(df, bad)}). Fix "
                    f"them in the file, or set them missing with cohorts.{cohort}.missing_codes: "
                    f"{{{col}: [.inf, -.inf]}}."
                )


def _check_survey(df: pd.DataFrame, survey: Mapping[str, Any] | None, cohort: str) -> None:
    for role in ("weight", "strata", "psu"):
        if survey and survey.get(role):
            _require_column(df, survey[role], f"cohorts.{cohort}.survey.{role}")
    if survey and survey.get("weight"):
        w = pd.to_numeric(df[survey["weight"]], errors="coerce")
        bad = (w.isna() | (w < 0)).to_numpy(bool)
        if bad.any():
            raise DataError(
                f"cohorts.{cohort}: the survey weight column '{survey['weight']}' is missing or negative in "
                f"{int(bad.sum())} rows ({_where_rows(df, bad)}). Keep only rows with a weight, e.g. "
                f"keep_if: {{{survey['weight']}: {{min: 0}}}} (counted in the flow table)."
            )


# --------------------------------------------------------------------------------------------------
# public API


def _finish(name: str, table: _Table, spec: Mapping[str, Any], flow: list[dict], dic: VariableDictionary,
            truth: pd.DataFrame | None, survey: Mapping[str, Any] | None, seed: int) -> Cohort:
    """Steps shared by synthetic and real cohorts: clean, check, derive, filter, describe."""
    df, sources = table.frame, table.sources
    # codes first (they are in the file's units and may be text), then value labels, recodes, units
    df, rows = _apply_missing_codes(df, spec.get("missing_codes") or {}, name)
    flow += rows
    df, rows = _apply_value_labels(df, table.labels, spec, dic, sources)
    flow += rows
    df = _apply_recode(df, spec.get("recode") or {}, name, sources)
    df = _apply_units(df, spec.get("units") or {}, name, dic, sources)
    df = check_columns(df, dic, sources, ranges=False)
    for new, existing in (spec.get("copy") or {}).items():
        _require_column(df, existing, f"cohorts.{name}.copy.{new}")
        if new in df.columns:
            raise ConfigError(f"config: 'cohorts.{name}.copy.{new}': the table already has a column {new!r}.")
        df[new] = df[existing]
        sources[new] = f"{_source_label(sources, existing)} (copied from {existing})"
        df = check_columns(df, dic, sources, columns=[new], ranges=False)
    if "id" in df.columns:
        _check_unique(_Table(f"cohorts.{name}", df, sources), [k for k in KEYS if k in df.columns])
    requests = spec.get("derive") or []
    before = derive_mod.derive_before_keep_if(df, requests, where=f"cohorts.{name}.derive", copy=False)
    df, added = before.data, before.added
    flow += before.flow
    df, rows = apply_keep_if(df, spec.get("keep_if"), f"cohorts.{name}.keep_if")
    flow += rows
    if rows:
        df = df.reset_index(drop=True)  # a new frame, not a view of the unfiltered one
    if len(df) == 0:
        summary = "; ".join(f"{r['step']}: {r['n_excluded']} excluded" for r in flow)
        raise DataError(
            f"cohorts.{name}: no rows are left after the filters (see the flow: "
            f"{summary}). Loosen keep_if."
        )
    after = derive_mod.derive_after_keep_if(df, requests, where=f"cohorts.{name}.derive", copy=False)
    df = after.data
    added += after.added
    flow += after.flow
    for col in added:
        sources.setdefault(col, f"derived ({col})")
    df = check_columns(df, dic, sources)  # ranges, on the rows that passed the filters
    _check_finite(df, sources, name)
    _check_survey(df, survey, name)
    sort_keys = [k for k in KEYS if k in df.columns]
    if sort_keys and not _is_sorted(df, sort_keys):
        df = df.sort_values(sort_keys, kind="stable").reset_index(drop=True)
    elif not isinstance(df.index, pd.RangeIndex) or df.index.start != 0:
        df = df.reset_index(drop=True)
    if spec.get("impute"):
        where = f"cohorts.{name}.impute"
        df, notes = chained_imputations(df, ImputeSpec.from_config(dict(spec["impute"]), where),
                                        derive_seed(seed, "impute", name), where)
        if "wave" in df.columns:
            notes.append("visits imputed as independent rows (no multilevel imputation)")
        n_one = len(df) // int(df[IMPUTATION].nunique())
        flow.append(flow_row("impute (chained equations)", n_one, n_one, "rows kept; " + "; ".join(notes)))
    stacked = "wave" in df.columns or IMPUTATION in df.columns
    people = f" ({df['id'].nunique()} people)" if stacked and "id" in df.columns else ""
    flow.append(flow_row("analysis table", len(df), len(df), f"rows in the analysis-ready table{people}"))
    t1_spec = Table1Spec.from_config({"min_cell": DEFAULT_MIN_CELL, **(spec.get("table1") or {})}, f"cohorts.{name}.table1")
    design = SurveySpec.from_config(survey, f"cohorts.{name}.survey") if survey else None
    try:
        t1 = make_table1(df, dictionary=dic, min_cell=t1_spec.min_cell, spec=t1_spec, survey=design)
    except (ConfigError, DataError) as err:
        raise type(err)(f"cohorts.{name}.{err}") from err
    log.info("cohort %s: %d rows, %d columns; derived %s", name, len(df), df.shape[1], added)
    return Cohort(name, df, flow_frame(flow), t1, truth, survey, tuple(added), sources)


def _simulated_cohort(name: str, spec: dict[str, Any], seed: int, dic: VariableDictionary) -> Cohort:
    """A synthetic cohort: the design's data and truth table, then the same cleaning as real tables."""
    from musclecog.simulate import simulate  # the generators are only imported by synthetic cohorts

    sim_spec = spec["simulate"]
    sim = simulate(sim_spec["design"], sim_spec.get("n"), seed, sim_spec.get("params"))
    df = sim.data.copy()
    if len(df) == 0:
        raise DataError(f"cohorts.{name}: the design {sim_spec['design']!r} returned no rows; check simulate.n.")
    label = f"synthetic design {sim_spec['design']} (seed {seed})"
    sources = {c: f"{label} [{c}]" for c in df.columns}
    flow = [flow_row("simulate", len(df), len(df), f"{label}: rows generated")]
    survey = spec.get("survey") or sim.survey
    return _finish(name, _Table(label, df, sources), spec, flow, dic, sim.truth, survey, seed)


def _apply_wave(tables: list[_Table], wave: Any, name: str) -> list[_Table]:
    """Name the wave column ``wave`` (``wave: column``), or number waves by ``wave.order_by``."""
    if isinstance(wave, str):
        wave = {"column": wave}
    if not wave:
        return tables
    col = wave.get("column")
    if col:
        if not any(col in t.frame.columns for t in tables):
            raise ConfigError(
                f"config: 'cohorts.{name}.wave' names the column {col!r}, which no table has after mapping."
            )
        if col != "wave":
            for t in tables:
                if col in t.frame.columns:
                    t.frame = t.frame.rename(columns={col: "wave"})
                    t.sources["wave"] = t.sources.pop(col, t.label)
    elif wave.get("order_by"):
        if not any(wave["order_by"] in t.frame.columns for t in tables):
            raise ConfigError(
                f"config: 'cohorts.{name}.wave.order_by' names {wave['order_by']!r}, which no table has."
            )
        tables = [_number_waves(t, wave, name) for t in tables]
    return tables


def build_cohort(
    name: str,
    spec: Mapping[str, Any],
    seed: int,
    base_dir: str | Path = ".",
    dictionary: VariableDictionary | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
) -> Cohort:
    """Build one cohort from its config entry.

    Parameters
    ----------
    name : str
        The cohort's key under ``cohorts:``.
    spec : mapping
        Its config entry (validated against ``$defs/cohort`` of the config schema): either
        ``simulate: {design, n, params}`` or ``tables: [...]`` with the keys in ``docs/ingest.md``.
    seed : int
        The cohort's seed (:func:`musclecog.seeds.derive_seed`); used by synthetic designs.
    base_dir : path
        Relative table paths are read from here.
    dictionary : VariableDictionary, optional
        Default: ``resources/variables.tsv``.
    min_cell : int
        The run's small-cell threshold (``disclosure.min_cell``): table 1 suppresses counts below it, or
        below the cohort's own ``table1.min_cell`` where that is stricter.

    Returns
    -------
    Cohort

    Raises
    ------
    ConfigError, DataError
        On any bad input, naming the file or key, the column, the offending values and the fix.
    """
    dic = dictionary or load_dictionary()
    spec = dict(spec)
    # the run's small-cell rule is a floor for the cohort's own table1.min_cell (which may only be stricter)
    t1_spec = dict(spec.get("table1") or {})
    t1_spec["min_cell"] = max(int(t1_spec.get("min_cell", min_cell)), min_cell)
    spec["table1"] = t1_spec
    if "simulate" in spec:
        return _simulated_cohort(name, spec, seed, dic)
    if "tables" not in spec:
        raise ConfigError(f"config: 'cohorts.{name}' needs either 'simulate' or 'tables'.")

    base = Path(base_dir)
    zero = float(spec.get("zero_threshold", XPT_ZERO_THRESHOLD))
    flow: list[dict[str, Any]] = []
    tables: list[_Table] = []
    for i, entry in enumerate(spec["tables"]):
        t, rows = _read_table(i, entry, name, base, zero)
        tables.append(t)
        flow += rows
    tables = _apply_wave(tables, spec.get("wave"), name)
    tables, rows = _stack(tables, spec.get("stack") or [], name)
    flow += rows
    joined, rows = _join(tables, spec.get("join", "inner"), spec.get("join_on"), name)
    flow += rows
    # the joined frame is ours (read, stacked or merged here), so it is cleaned in place
    return _finish(name, joined, spec, flow, dic, None, spec.get("survey"), seed)


def _output(outputs: Any, key: str) -> str | None:
    if isinstance(outputs, Mapping):
        value = outputs.get(key)
    else:
        value = getattr(outputs, key, None)
    return None if value is None else str(value)


def write_cohort(cohort: Cohort, outputs: Any) -> None:
    """Write the cohort's files.

    Parameters
    ----------
    cohort : Cohort
    outputs : Snakemake output namespace or mapping
        With ``data`` (parquet), ``flow``, ``table1`` and, for synthetic cohorts, ``truth`` (TSV); with
        ``table1_paper`` (a ``.tsv`` path), Table 1 laid out for a paper is written there and beside it as
        ``.html`` and ``.docx`` (:func:`musclecog.manuscript.table1_rendered`, a view of the ``table1`` file
        just written, which it needs).
    """
    data_path = _output(outputs, "data")
    if data_path is None:
        raise ConfigError("write_cohort: the outputs need at least 'data' (the parquet path)")
    write_parquet(cohort.data, data_path)
    for key, frame in (("flow", cohort.flow), ("table1", cohort.table1), ("truth", cohort.truth)):
        path = _output(outputs, key)
        if path is None:
            continue
        if frame is None:
            raise DataError(f"cohort {cohort.name}: no {key} table to write to {path} (only synthetic cohorts have one)")
        write_table(frame, path)
    paper = _output(outputs, "table1_paper")
    if paper is not None:
        table1_path = _output(outputs, "table1")
        if table1_path is None:
            raise ConfigError("write_cohort: 'table1_paper' is a view of 'table1'; give both outputs")
        table1_rendered(read_table(table1_path), cohort.name).write(paper.removesuffix(".tsv"))
