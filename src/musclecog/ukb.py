"""UK Biobank column layouts: fields selected by field id and instance, special negative codes.

UK Biobank names a data column by field, instance (assessment visit) and array index, in one of three
layouts, all recognised here:

- showcase / ``ukbconv`` csv: ``46-0.0`` (``<field>-<instance>.<array>``), id column ``eid``;
- R ``.tab`` files from ``ukbconv r``: ``f.46.0.0``, id column ``f.eid``;
- Research Analysis Platform (RAP) exports: ``p46_i0`` and, for fields with several arrays,
  ``p46_i0_a0``, ``p46_i0_a1``..., id column ``eid``.

A table entry ``ukb: {fields: {grip_left: 46, grip_right: 47}, instance: 0}`` maps each field of the given
instance to the name on the left; ``"31-0"`` pins one field to an instance (fields recorded only at
baseline, such as sex, with ``instance: 2`` for the imaging visit). A field stored in several arrays (several measurements at one visit)
is combined by ``array:`` (``0`` or another index, ``mean``, ``max``, ``min``); with several arrays and no
rule it is an error rather than a silent choice.

Special codes: UK Biobank's data-codings give negative codes special meanings in otherwise numeric fields,
most often ``-1`` "Do not know", ``-3`` "Prefer not to answer" and ``-7`` "None of the above" (set to
missing by default), and ``-10`` "Less than one" (e.g. less than an hour a day; there is no default for it,
since it means a small positive amount, not missing). ``special_codes: {-10: 0.5}`` sets a value for a
code, ``special_codes: {-10: null}`` makes it missing. Any other negative value of a mapped field stops
the run with the values found, unless ``negative_values: keep`` says the field's negative values are real
measurements (a few fields, e.g. T-scores). Every replaced code is counted in the cohort flow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, show_values

#: Codes set to missing unless ``special_codes`` says otherwise.
DEFAULT_SPECIAL_CODES: dict[int, float | None] = {-1: None, -3: None, -7: None}
ID_COLUMNS = ("eid", "f.eid", "p.eid")
ARRAY_RULES = ("mean", "max", "min")

_PATTERNS = (
    re.compile(r"^(?P<field>\d+)-(?P<instance>\d+)\.(?P<array>\d+)$"),
    re.compile(r"^f\.(?P<field>\d+)\.(?P<instance>\d+)\.(?P<array>\d+)$"),
    re.compile(r"^p(?P<field>\d+)_i(?P<instance>\d+)(?:_a(?P<array>\d+))?$"),
)


@dataclass(frozen=True)
class FieldColumns:
    """The file's columns of one mapped field at one instance, by array index."""

    name: str
    field: int
    columns: tuple[str, ...]
    arrays: tuple[int, ...]


def parse_column(column: str) -> tuple[int, int, int] | None:
    """``(field, instance, array)`` of a UK Biobank column name in any layout, or None."""
    for pattern in _PATTERNS:
        m = pattern.match(column)
        if m:
            return int(m["field"]), int(m["instance"]), int(m["array"] or 0)
    return None


def id_column(header: Sequence[str]) -> str | None:
    """The participant id column of a UK Biobank table (``eid``, ``f.eid``), if any."""
    return next((c for c in ID_COLUMNS if c in header), None)


def field_instance(given: int | str, instance: int) -> tuple[int, int]:
    """A ``fields`` value: a field id (at the table's instance) or ``"<field>-<instance>"`` (e.g. ``"31-0"``
    for sex, which UK Biobank records at the baseline visit only)."""
    if isinstance(given, str):
        field, _, inst = given.partition("-")
        return int(field), int(inst)
    return int(given), instance


def resolve_fields(header: Sequence[str], spec: Mapping[str, Any], where: str) -> list[FieldColumns]:
    """The file's columns for every mapped field at the configured instance.

    Raises
    ------
    DataError
        If a field has no column at that instance (naming the instances the file does have).
    """
    parsed = {c: parse_column(c) for c in header}
    out = []
    for name, given in (spec.get("fields") or {}).items():
        field, instance = field_instance(given, int(spec.get("instance", 0)))
        hits = sorted(((p[2], c) for c, p in parsed.items() if p and p[0] == int(field) and p[1] == instance))
        if not hits:
            have = sorted({p[1] for p in parsed.values() if p and p[0] == int(field)})
            some = [c for c in header if parse_column(c)][:5]
            raise DataError(
                f"{where}: UK Biobank field {field} ({name}) has no column for instance {instance} in the file"
                + (f"; it has instance(s) {show_values(have)}: set ukb.instance" if have else
                   f"; no column of that field in any layout (46-0.0, f.46.0.0, p46_i0); columns look like "
                   f"{show_values(some or list(header)[:5])}. Check the field id")
                + "."
            )
        out.append(FieldColumns(name, int(field), tuple(c for _, c in hits), tuple(a for a, _ in hits)))
    return out


def combine_arrays(df: pd.DataFrame, fc: FieldColumns, rule: Any, where: str) -> pd.Series:
    """One column from a field's arrays: the given index, or the row-wise mean/max/min of those present."""
    if len(fc.columns) == 1 and rule in (None, 0, *ARRAY_RULES):
        return pd.to_numeric(df[fc.columns[0]], errors="coerce") if rule in ARRAY_RULES else df[fc.columns[0]]
    if rule is None:
        raise ConfigError(
            f"config: '{where}': UK Biobank field {fc.field} ({fc.name}) has {len(fc.columns)} arrays "
            f"({show_values(list(fc.columns))}); say which to use with ukb.array: <index> | mean | max | min."
        )
    if isinstance(rule, int) and not isinstance(rule, bool):
        if rule not in fc.arrays:
            raise ConfigError(f"config: '{where}.array': field {fc.field} has arrays {list(fc.arrays)}, not {rule}.")
        return df[fc.columns[fc.arrays.index(rule)]]
    block = df[list(fc.columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(block)
    with np.errstate(invalid="ignore"):
        if rule == "mean":
            value = np.where(present.any(1), np.nansum(block, 1) / np.maximum(present.sum(1), 1), np.nan)
        else:
            filled = np.where(present, block, -np.inf if rule == "max" else np.inf)
            value = filled.max(1) if rule == "max" else filled.min(1)
            value = np.where(present.any(1), value, np.nan)
    return pd.Series(value, index=df.index, name=fc.name)


def special_codes(spec: Mapping[str, Any]) -> dict[float, float | None]:
    """The code -> value map of a table: the defaults updated by ``special_codes``."""
    out: dict[float, float | None] = {float(k): v for k, v in DEFAULT_SPECIAL_CODES.items()}
    for k, v in (spec.get("special_codes") or {}).items():
        out[float(k)] = None if v is None else float(v)
    return out


def apply_special_codes(values: pd.Series, name: str, field: int, spec: Mapping[str, Any],
                        where: str) -> tuple[pd.Series, dict[float, int]]:
    """Replace the special negative codes of one field's values; count each code replaced.

    Raises
    ------
    DataError
        If negative values other than the declared codes remain and ``negative_values`` is not ``keep``.
    """
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    codes = special_codes(spec)
    counts: dict[float, int] = {}
    out = v.copy()
    for code, new in codes.items():
        hit = v == code
        if hit.any():
            counts[code] = int(hit.sum())
            out[hit] = np.nan if new is None else new
    left = (v < 0) & ~np.isin(v, list(codes))
    if left.any() and spec.get("negative_values", "error") != "keep":
        raise DataError(
            f"{where}: UK Biobank field {field} ({name}) has negative values {show_values(sorted(np.unique(v[left])))} "
            f"in {int(left.sum())} rows that are not declared special codes (declared: "
            f"{show_values([int(c) for c in codes])}). Look up the field's data-coding in the showcase and set "
            f"ukb.special_codes: {{<code>: null (missing) or a value}}, or ukb.negative_values: keep if they are "
            "real measurements."
        )
    return pd.Series(out, index=values.index, name=name), counts
