"""Long-format tables for longitudinal models: checks and exclusions (each counted by reason).

A long table has one row per person x visit: an ``id`` column, a ``wave`` column (visit number) and/or a time
column. :func:`prepare_long` checks it (duplicated visits, time going backwards, columns that do not exist),
computes the analysis time, takes the exposure at baseline or as time-varying, removes incomplete rows (each
reason counted, never silently) and counts people with a single visit (kept: they inform the random intercepts
and the fixed effects). Design matrices are built by :mod:`musclecog.longitudinal.design` on
:mod:`musclecog.core.design`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from musclecog.core.results import Exclusion
from musclecog.errors import ConfigError, DataError, show_values
from musclecog.longitudinal.spec import TIME, LongitudinalSpec

log = logging.getLogger(__name__)

__all__ = ["TIME", "Exclusion", "Prepared", "prepare_long"]


@dataclass(frozen=True)
class Prepared:
    """A checked long table (columns ``id``, ``time``, ``wave`` when present, and the spec's columns) and
    what happened to its rows."""

    frame: pd.DataFrame
    exclusions: tuple[Exclusion, ...] = ()
    n_single_visit: int = 0

    @property
    def n_people(self) -> int:
        """People in the analysis rows."""
        return int(self.frame["id"].nunique())

    @property
    def counts(self) -> dict[str, int]:
        """Rows excluded by reason (for :class:`~musclecog.core.results.Diagnostics`)."""
        return {x.reason: x.n_excluded for x in self.exclusions}

    def note(self) -> str:
        """A one-line account of exclusions and single-visit people, for the ``note`` column."""
        parts = [f"{x.reason} ({x.n_excluded} rows)" for x in self.exclusions]
        if self.n_single_visit:
            parts.append(f"{self.n_single_visit} people with a single visit kept")
        return "; ".join(parts)


def _needed_columns(data: pd.DataFrame, spec: LongitudinalSpec, extra: Sequence[str]) -> list[str]:
    """The columns the analysis reads; a :class:`ConfigError` naming any the table lacks."""
    needed = [
        spec.id,
        spec.time,
        spec.outcome,
        *([spec.exposure] if spec.exposure else []),
        *spec.covariates,
        *spec.covariates_x_time,
        *extra,
    ]
    needed += [c for c in (spec.time_origin, spec.stratify_by) if c]
    needed = list(dict.fromkeys(needed))
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise ConfigError(
            f"{spec.where}: column(s) {missing} not in the cohort table. Columns available: "
            f"{show_values(sorted(map(str, data.columns)), limit=60)}. Fix the name in the config."
        )
    return needed


def _analysis_time(df: pd.DataFrame, spec: LongitudinalSpec) -> pd.DataFrame:
    """Add the analysis time (``time`` minus ``time_origin``)."""
    t = pd.to_numeric(df[spec.time], errors="coerce").astype(float)
    if spec.time_origin:
        t = t - pd.to_numeric(df[spec.time_origin], errors="coerce").astype(float)
    df[TIME] = t.to_numpy()
    return df


def _order_visits(df: pd.DataFrame, spec: LongitudinalSpec, has_wave: bool) -> pd.DataFrame:
    """Sort by person and visit; refuse duplicated visits and time that goes backwards between waves."""
    source = spec.where
    order = [spec.id, spec.wave] if has_wave else [spec.id, TIME]
    keys = df[order]
    if not keys.equals(keys.sort_values(order, kind="stable")):
        log.info("%s: rows were not sorted by %s; sorted", source, " and ".join(order))
    df = df.sort_values(order, kind="stable")
    dup = df.duplicated(order, keep=False).to_numpy()
    if dup.any():
        ids = df.loc[dup, spec.id].drop_duplicates().tolist()
        raise DataError(
            f"{source}: {int(dup.sum())} rows share id and {'wave' if has_wave else 'time'} "
            f"(ids {show_values(ids)}); each person may have one row per visit. Remove the duplicated visits."
        )
    if has_wave:
        back = (df.groupby(spec.id, sort=False)[TIME].diff() <= 0).to_numpy()
        if back.any():
            rows = df.loc[back, [spec.id, spec.wave, TIME]]
            labels = [f"id {i} wave {w} (time {v:g})" for i, w, v in rows.itertuples(index=False)]
            raise DataError(
                f"{source}: time goes backwards or stands still between consecutive waves for "
                f"{int(back.sum())} visits: {show_values(labels)}. Check '{spec.time}' and '{spec.wave}' for "
                f"these people."
            )
    return df


def _baseline_values(df: pd.DataFrame, spec: LongitudinalSpec) -> pd.DataFrame:
    """Replace baseline-timed columns by each person's first-visit value (even if missing: never a later
    visit's)."""
    first_row = ~df[spec.id].duplicated()
    at_baseline = [spec.exposure] if spec.exposure and spec.exposure_timing == "baseline" else []
    if spec.covariate_timing == "baseline":
        at_baseline += [c for c in spec.covariates if c != spec.exposure]
    for col in at_baseline:
        base = df.loc[first_row, [spec.id, col]].set_index(spec.id)[col]
        values = df[spec.id].map(base)
        df[col] = (
            pd.Categorical(values, categories=df[col].cat.categories)
            if isinstance(df[col].dtype, pd.CategoricalDtype)
            else values.to_numpy()
        )
    return df


def _drop_missing(
    df: pd.DataFrame, steps: Sequence[tuple[str, str, str]]
) -> tuple[pd.DataFrame, list[Exclusion]]:
    """Remove rows missing each ``(step, column, reason)`` in turn, counting them."""
    out = []
    for step, col, reason in steps:
        keep = df[col].notna().to_numpy()
        if not keep.all():
            out.append(Exclusion(step, len(df), int((~keep).sum()), reason))
            df = df.loc[keep]
    return df, out


def prepare_long(data: pd.DataFrame, spec: LongitudinalSpec, extra: Sequence[str] = ()) -> Prepared:
    """Check a long table and build the analysis frame (columns copied to id, wave, time).

    Parameters
    ----------
    data : DataFrame
        The cohort table (one row per person x visit).
    spec : LongitudinalSpec
        Columns and options (its ``where`` names the config entry in messages).
    extra : sequence of str
        Further columns that must be present and complete.

    Returns
    -------
    Prepared
        Sorted by id and visit; a column ``time`` (analysis time) and, for baseline exposure, the
        exposure replaced by its first-visit value. ``exclusions`` counts every excluded row with its reason.

    Raises
    ------
    ConfigError
        A named column does not exist.
    DataError
        Duplicated visits, time going backwards within a person, a missing id, or no rows left.
    """
    has_wave = spec.wave in data.columns
    needed = _needed_columns(data, spec, extra)
    df = data.loc[:, needed + ([spec.wave] if has_wave and spec.wave not in needed else [])].copy()
    if df[spec.id].isna().any():
        bad = np.flatnonzero(df[spec.id].isna().to_numpy()) + 1
        raise DataError(
            f"{spec.where}: the id column '{spec.id}' is missing in rows {show_values(bad.tolist())}; "
            "every row needs an id."
        )
    df, excluded = _drop_missing(
        _analysis_time(df, spec), [("time", TIME, f"excluded: '{spec.time}' missing")]
    )
    df = _baseline_values(_order_visits(df, spec, has_wave), spec)
    baseline = "baseline " if spec.exposure_timing == "baseline" else ""
    steps = [("exposure", spec.exposure, f"excluded: {baseline}'{spec.exposure}' missing")] if spec.exposure else []
    columns = (
        [spec.outcome, *spec.covariates] + ([spec.stratify_by] if spec.stratify_by else []) + list(extra)
    )
    steps += [(c, c, f"excluded: '{c}' missing") for c in columns]
    df, more = _drop_missing(df, steps)
    excluded += more
    if df.empty:
        counts = "; ".join(f"{x.reason}: {x.n_excluded}" for x in excluded) or "none"
        raise DataError(
            f"{spec.where}: no rows left after removing incomplete rows (see the counts: {counts})."
        )
    # copies, not renames: the id or wave column may also be the exposure or time (e.g. wave = time = Days)
    df = df.assign(id=df[spec.id].to_numpy())
    if has_wave:
        df = df.assign(wave=df[spec.wave].to_numpy())
    visits = df.groupby("id", sort=False)["id"].transform("size")
    n_single = int(df.loc[visits == 1, "id"].nunique())
    if n_single:
        log.info("%s: %d people have a single visit (kept: they inform the intercepts)", spec.where, n_single)
    return Prepared(frame=df.reset_index(drop=True), exclusions=tuple(excluded), n_single_visit=n_single)
