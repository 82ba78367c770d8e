"""One row per person with time, event and entry: the data step of every survival analysis.

A long table (several rows per person) is reduced to one row per person with ``baseline_only: true`` (the
first visit by wave, else by row order), counted. Rows missing a model column are excluded and counted per
column. Intervals whose exit is not after entry (or a zero follow-up) are excluded and counted with the
reason (``invalid_intervals: exclude``, the default) or stop the run (``error``); a negative follow-up time
is always an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd

from musclecog.core.design import check_columns, complete_rows, count_exclusions, numeric_values
from musclecog.core.results import Estimate, Exclusion
from musclecog.core.spec import AnalysisSpec
from musclecog.errors import ConfigError, DataError, ModelError, show_values

log = logging.getLogger(__name__)


class Labels(TypedDict):
    """The label columns of a survival analysis's rows."""

    method: str
    outcome: str
    exposure: str
    stratum: str


@dataclass(frozen=True, kw_only=True)
class SurvivalSpec(AnalysisSpec):
    """The keys shared by the survival analysis types (``cox``, ``kaplan_meier``).

    Attributes
    ----------
    event : str
        Event indicator (1 event, 0 censored).
    exposure : str
        Exposure (numeric, or categorical with ``exposure_reference`` / ``categorical``).
    duration : str or None
        Follow-up time from entry (time-on-study scale).
    entry, exit : str or None
        Entry and exit on a common scale (age as the time scale, delayed entry); used instead of ``duration``.
    exposure_reference : object
        Reference level of a categorical exposure (makes it categorical).
    categorical : tuple of str
        Numeric columns to dummy-code.
    stratify_by : str or None
        Fit separately in each level of this column; ``overall`` adds the pooled fit.
    baseline_only : bool
        Keep the first row per ``id`` (by ``wave``, else by order) of a long table.
    invalid_intervals : str
        ``exclude`` (counted) or ``error`` for exit <= entry / zero follow-up.
    time_label : str or None
        Axis label of the time scale.
    """

    event: str
    exposure: str
    duration: str | None = None
    entry: str | None = None
    exit: str | None = None
    exposure_reference: object = None
    categorical: tuple[str, ...] = ()
    stratify_by: str | None = None
    overall: bool = True
    baseline_only: bool = False
    id: str = "id"
    wave: str = "wave"
    invalid_intervals: str = "exclude"
    time_label: str | None = None

    def __post_init__(self) -> None:
        if bool(self.duration) == bool(self.entry or self.exit):
            raise ConfigError(
                f"{self.where}: give either 'duration' (follow-up time) or both 'entry' and 'exit' (e.g. "
                "entry_age, exit_age for age as the time scale), not both and not neither"
            )
        if (self.entry is None) != (self.exit is None):
            raise ConfigError(f"{self.where}: 'entry' and 'exit' go together (age scale with delayed entry)")

    @property
    def delayed_entry(self) -> bool:
        """Whether the time scale has entry times (``entry`` -> ``exit``)."""
        return self.entry is not None

    @property
    def time_columns(self) -> list[str]:
        """``[duration]`` or ``[entry, exit]``."""
        return [self.duration] if self.duration else [str(self.entry), str(self.exit)]

    @property
    def time_name(self) -> str:
        """The time axis in words: ``time_label``, else the column(s)."""
        return self.time_label or (self.duration if self.duration else f"{self.exit} (entry {self.entry})")

    @property
    def time_scale(self) -> str:
        """The time scale for the ``method`` column."""
        if self.entry:
            return f"age scale with delayed entry ({self.entry} -> {self.exit})"
        return f"follow-up time ({self.duration})"


@dataclass(frozen=True)
class SurvivalData:
    """One row per person: the model columns, ``T`` (exit or duration), ``E`` (event 0/1) and, with delayed
    entry, ``T0`` (entry); and the exclusions (steps that left someone out) in order."""

    frame: pd.DataFrame
    exclusions: tuple[Exclusion, ...] = ()

    @property
    def delayed_entry(self) -> bool:
        """Whether the frame has entry times."""
        return "T0" in self.frame.columns

    def note(self) -> str:
        """The exclusions in words, for the ``note`` column."""
        return "; ".join(f"{x.reason} ({x.n_excluded} rows)" for x in self.exclusions)

    def counts(self) -> Mapping[str, int]:
        """People left out, by reason (for :class:`~musclecog.core.results.Diagnostics`)."""
        return {x.why: x.n_excluded for x in self.exclusions}

    def estimates(self, method: str, outcome: str, exposure: str) -> list[Estimate]:
        """The exclusions as ``count`` rows (term ``excluded (<step>)``, ``n`` the people before the step).

        The cohort flow table is written before the analysis runs, so the analysis's own exclusions
        appear in its result table.
        """
        return [
            x.count_estimate(method=method, outcome=outcome, exposure=exposure) for x in self.exclusions
        ]


def _check_columns(data: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    try:
        check_columns(data, columns, where)
    except DataError as exc:  # the misspelt name is in the config: a config error (docs/longitudinal.md)
        raise ConfigError(str(exc)) from None


def _ids(df: pd.DataFrame, spec: SurvivalSpec, mask: np.ndarray) -> list[object]:
    """Ids of the rows in ``mask`` (1-based row numbers without an id column), for messages."""
    ids = df.loc[mask, spec.id] if spec.id in df.columns else pd.Series(np.flatnonzero(mask) + 1)
    return list(ids.tolist())


def _one_row_per_person(data: pd.DataFrame, spec: SurvivalSpec) -> tuple[pd.DataFrame, list[Exclusion]]:
    where = spec.where
    if spec.id not in data.columns:
        if spec.baseline_only:
            raise ConfigError(f"{where}: baseline_only needs an id column ('{spec.id}' is not in the table)")
        return data, []
    dup = data[spec.id].duplicated()
    if not spec.baseline_only:
        if dup.any():
            raise DataError(
                f"{where}: {int(data[spec.id].nunique())} people have {len(data)} rows (ids repeated, e.g. "
                f"{show_values(data.loc[dup, spec.id].unique().tolist())}); a survival model needs one row "
                "per person. Set 'baseline_only: true' to keep each person's first visit."
            )
        return data, []
    order = [spec.id, spec.wave] if spec.wave in data.columns else [spec.id]
    df = data.sort_values(order, kind="stable").drop_duplicates(spec.id, keep="first")
    reason = "excluded: later visits (one row per person)"
    return df, [Exclusion("baseline_only", len(data), len(data) - len(df), reason)]


def _complete(df: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, list[Exclusion]]:
    """Rows with every column present; each incomplete row counted under the first column it lacks."""
    counts = count_exclusions(df, columns)
    out, left = [], len(df)
    for col in columns:
        k = counts.get(f"missing {col}", 0)
        if k:
            out.append(Exclusion(col, left, k, f"excluded: '{col}' missing"))
            left -= k
    return df.loc[complete_rows(df, columns)], out


def _event(df: pd.DataFrame, spec: SurvivalSpec) -> np.ndarray:
    ev = pd.to_numeric(df[spec.event], errors="coerce")
    if ev.isna().any() or not ev.isin([0, 1]).all():
        bad = df.loc[~ev.isin([0, 1]), spec.event].unique().tolist()
        raise DataError(
            f"{spec.where}: the event column '{spec.event}' must be 0/1 (or true/false); "
            f"found {show_values(bad)}"
        )
    return ev.astype(int).to_numpy()


def _times(df: pd.DataFrame, spec: SurvivalSpec) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, str]:
    """Entry (or None), exit and the rows with no time at risk, with the reason in words."""
    where = spec.where
    if spec.duration:
        T = numeric_values(df[spec.duration], where, spec.duration)
        neg = T < 0
        if neg.any():
            raise DataError(
                f"{where}: negative follow-up in '{spec.duration}' for {int(neg.sum())} people (ids "
                f"{show_values(_ids(df, spec, neg))}, values {show_values(np.round(T[neg], 4).tolist())}). "
                "Follow-up cannot be negative: check the dates."
            )
        return None, T, T <= 0, f"excluded: '{spec.duration}' is zero (no time at risk)"
    T0 = numeric_values(df[spec.entry], where, str(spec.entry))
    T1 = numeric_values(df[spec.exit], where, str(spec.exit))
    return T0, T1, T1 <= T0, f"excluded: '{spec.exit}' not after '{spec.entry}' (exit <= entry)"


def prepare_survival(data: pd.DataFrame, spec: SurvivalSpec, model_columns: Sequence[str]) -> SurvivalData:
    """Check and reduce a cohort table to one row per person with time, event and model columns.

    Parameters
    ----------
    data : DataFrame
        The cohort table (one row per person, or per visit with ``baseline_only``).
    spec : SurvivalSpec
    model_columns : sequence of str
        Exposure, covariates, grouping column: rows missing one are excluded and counted.

    Returns
    -------
    SurvivalData

    Raises
    ------
    ConfigError
        A configured column is not in the table.
    DataError
        Several rows per person without ``baseline_only``; a negative follow-up; an event column that is
        not 0/1; exit not after entry with ``invalid_intervals: error``; nothing left.
    ModelError
        No events.
    """
    where = spec.where
    strat = [spec.stratify_by] if spec.stratify_by else []
    cols = list(dict.fromkeys([*spec.time_columns, spec.event, *model_columns, *strat]))
    _check_columns(data, cols, where)
    df, flow = _one_row_per_person(data, spec)
    df = df.loc[:, cols + ([spec.id] if spec.id in df.columns and spec.id not in cols else [])]
    df, missing = _complete(df, cols)
    flow += missing
    df = df.assign(E=_event(df, spec))
    T0, T, bad, reason = _times(df, spec)
    df = df.assign(T=T) if T0 is None else df.assign(T0=T0, T=T)
    if bad.any():
        who = show_values(_ids(df, spec, bad))
        if spec.invalid_intervals == "error":
            raise DataError(
                f"{where}: {int(bad.sum())} people have no time at risk "
                f"({reason.removeprefix('excluded: ')}; ids {who}). Fix the data, or set "
                "invalid_intervals: exclude to drop and count them."
            )
        log.info("%s: %d people %s (ids %s)", where, int(bad.sum()), reason, who)
        flow.append(Exclusion("time at risk", len(df), int(bad.sum()), reason))
        df = df.loc[~bad]
    if df.empty:
        raise DataError(f"{where}: no people left after the exclusions ({'; '.join(x.reason for x in flow)})")
    if df["E"].sum() == 0:
        raise ModelError(
            f"{where}: no events ('{spec.event}' is 0 for all {len(df)} people); nothing to estimate"
        )
    return SurvivalData(df.reset_index(drop=True), tuple(flow))
