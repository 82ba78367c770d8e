"""Long-format tables for longitudinal models: checks, exclusions (counted) and design matrices.

A long table has one row per person x visit: an ``id`` column, a ``wave`` column (visit number) and/or a time
column. :func:`prepare_long` checks it (duplicated visits, time going backwards, columns that do not exist),
computes the analysis time, takes the exposure at baseline or as time-varying, removes incomplete rows (each
reason counted in a flow row, never silently) and counts people with a single visit (kept: they inform the random
intercepts and the fixed effects). :func:`design_matrix` dummy-codes categorical terms without evaluating any
formula text from the config.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, ModelError, show_values
from musclecog.filters import flow_row

log = logging.getLogger(__name__)

TIME = "time"
"""Name of the analysis-time column added by :func:`prepare_long`."""


@dataclass(frozen=True)
class LongSpec:
    """Columns and options shared by the longitudinal analysis types (built from a config entry).

    Attributes
    ----------
    outcome, exposure : str
        Outcome and exposure columns.
    id, wave : str
        Person and visit columns (``wave`` may be absent from the table when ``time`` orders the visits).
    time : str
        Time column (default ``time_years``).
    time_origin : str or None
        A column subtracted from ``time`` (e.g. ``time: age, time_origin: age_init`` gives years since entry).
    covariates : tuple of str
        Adjustment columns (numeric, or categorical: dummy-coded with the first level as reference).
    covariates_x_time : tuple of str
        Covariates whose interaction with time is also estimated.
    categorical : tuple of str
        Numeric columns to treat as categorical (e.g. a grip quartile coded 1-4).
    exposure_reference : Any
        Reference level of a categorical exposure (giving it makes the exposure categorical).
    exposure_timing : str
        ``baseline`` (the value at each person's first visit, for all visits) or ``time_varying``.
    covariate_timing : str
        The same for the covariates (default ``baseline``: e.g. age at entry, so that the time term keeps
        its meaning of within-person change).
    stratify_by : str or None
        Fit separately within each level of this column (e.g. ``sex``).
    overall : bool
        Also fit the pooled model when stratifying.
    """

    outcome: str
    exposure: str
    id: str = "id"
    wave: str = "wave"
    time: str = "time_years"
    time_origin: str | None = None
    covariates: tuple[str, ...] = ()
    covariates_x_time: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    exposure_reference: Any = None
    exposure_timing: str = "baseline"
    covariate_timing: str = "baseline"
    stratify_by: str | None = None
    overall: bool = True

    @property
    def time_label(self) -> str:
        """The name of the time term in result tables."""
        return TIME if self.time_origin else self.time

    @classmethod
    def common_kwargs(cls, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The keys of a config entry that belong to :class:`LongSpec`."""
        out: dict[str, Any] = {}
        for key in (
            "outcome",
            "exposure",
            "id",
            "wave",
            "time",
            "time_origin",
            "exposure_timing",
            "covariate_timing",
            "stratify_by",
        ):
            if key in spec:
                out[key] = spec[key]
        for key in ("covariates", "covariates_x_time", "categorical"):
            if key in spec:
                out[key] = tuple(spec[key] or ())
        if "exposure_reference" in spec:
            out["exposure_reference"] = spec["exposure_reference"]
        if "overall" in spec:
            out["overall"] = bool(spec["overall"])
        return out


@dataclass
class Prepared:
    """A checked long table and what happened to its rows."""

    frame: pd.DataFrame
    flow: list[dict[str, Any]] = field(default_factory=list)
    n_single_visit: int = 0

    @property
    def n_people(self) -> int:
        return int(self.frame["id"].nunique())


def _require(data: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ConfigError(
            f"{source}: column(s) {missing} not in the cohort table. Columns available: "
            f"{show_values(sorted(map(str, data.columns)), limit=60)}. Fix the name in the config."
        )


def is_categorical(series: pd.Series, name: str, spec: LongSpec) -> bool:
    """Whether a column enters the model as dummies."""
    if name in spec.categorical or (name == spec.exposure and spec.exposure_reference is not None):
        return True
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def prepare_long(data: pd.DataFrame, spec: LongSpec, source: str, extra: Sequence[str] = ()) -> Prepared:
    """Check a long table and build the analysis frame (columns renamed to id, wave, time, ...).

    Parameters
    ----------
    data : DataFrame
        The cohort table (one row per person x visit).
    spec : LongSpec
        Columns and options.
    source : str
        Where the spec comes from (``analyses.<name>``), for messages.
    extra : sequence of str
        Further columns to carry (e.g. the stratifying column is added automatically).

    Returns
    -------
    Prepared
        Sorted by id and visit; a column ``time`` (analysis time) and, for baseline exposure, the
        exposure replaced by its first-visit value. ``flow`` counts every excluded row with its reason.

    Raises
    ------
    ConfigError
        A named column does not exist.
    DataError
        Duplicated visits, time going backwards within a person, a missing id, or no rows left.
    """
    for key in ("exposure_timing", "covariate_timing"):
        if getattr(spec, key) not in ("baseline", "time_varying"):
            raise ConfigError(
                f"{source}.{key} must be 'baseline' or 'time_varying', got {getattr(spec, key)!r}"
            )
    has_wave = spec.wave in data.columns
    needed = [
        spec.id,
        spec.time,
        spec.outcome,
        spec.exposure,
        *spec.covariates,
        *spec.covariates_x_time,
        *extra,
    ]
    if spec.time_origin:
        needed.append(spec.time_origin)
    if spec.stratify_by:
        needed.append(spec.stratify_by)
    needed = list(dict.fromkeys(needed))
    _require(data, needed, source)
    missing_xt = [c for c in spec.covariates_x_time if c not in spec.covariates]
    if missing_xt:
        raise ConfigError(
            f"{source}.covariates_x_time lists {missing_xt}, which are not in covariates; add them there too."
        )
    keep_cols = needed + ([spec.wave] if has_wave and spec.wave not in needed else [])
    df = data.loc[:, keep_cols].copy()
    flow: list[dict[str, Any]] = []
    if df[spec.id].isna().any():
        bad = np.flatnonzero(df[spec.id].isna().to_numpy()) + 1
        raise DataError(
            f"{source}: the id column '{spec.id}' is missing in rows {show_values(bad.tolist())}; every row needs an id."
        )

    t = pd.to_numeric(df[spec.time], errors="coerce").astype(float)
    if spec.time_origin:
        t = t - pd.to_numeric(df[spec.time_origin], errors="coerce").astype(float)
    df[TIME] = t.to_numpy()
    n_in = len(df)
    df = df.loc[df[TIME].notna()]
    flow.append(flow_row(f"{source}: time", n_in, len(df), f"excluded: '{spec.time}' missing"))

    order = [spec.id, spec.wave] if has_wave else [spec.id, TIME]
    if not _is_sorted(df, order):
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
                f"{int(back.sum())} visits: {show_values(labels)}. Check '{spec.time}' and '{spec.wave}' for these people."
            )

    # a baseline value is the first visit's value, even if missing (never a later visit's)
    first_row = ~df[spec.id].duplicated()
    at_baseline = [spec.exposure] if spec.exposure_timing == "baseline" else []
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
    if spec.exposure_timing == "baseline":
        reason = f"excluded: baseline '{spec.exposure}' missing"
    else:
        reason = f"excluded: '{spec.exposure}' missing"
    n_in = len(df)
    df = df.loc[df[spec.exposure].notna()]
    flow.append(flow_row(f"{source}: exposure", n_in, len(df), reason))
    for col in (
        [spec.outcome, *spec.covariates] + ([spec.stratify_by] if spec.stratify_by else []) + list(extra)
    ):
        n_in = len(df)
        df = df.loc[df[col].notna()]
        flow.append(flow_row(f"{source}: {col}", n_in, len(df), f"excluded: '{col}' missing"))
    if df.empty:
        raise DataError(
            f"{source}: no rows left after removing incomplete rows (see the counts: {_flow_text(flow)})."
        )
    # copies, not renames: the id or wave column may also be the exposure or time (e.g. wave = time = Days)
    df = df.assign(id=df[spec.id].to_numpy())
    if has_wave:
        df = df.assign(wave=df[spec.wave].to_numpy())
    visits = df.groupby("id", sort=False)["id"].transform("size")
    n_single = int(df.loc[visits == 1, "id"].nunique())
    if n_single:
        log.info("%s: %d people have a single visit (kept: they inform the intercepts)", source, n_single)
    return Prepared(
        frame=df.reset_index(drop=True),
        flow=[r for r in flow if r["n_excluded"] > 0],
        n_single_visit=n_single,
    )


def _is_sorted(df: pd.DataFrame, order: Sequence[str]) -> bool:
    keys = df[list(order)]
    return bool(keys.equals(keys.sort_values(list(order), kind="stable")))


def _flow_text(flow: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{r['reason']}: {r['n_excluded']}" for r in flow if r["n_excluded"]) or "none"


def flow_note(prepared: Prepared) -> str:
    """A one-line account of exclusions and single-visit people, for the ``note`` column."""
    parts = [f"{r['reason']} ({r['n_excluded']} rows)" for r in prepared.flow]
    if prepared.n_single_visit:
        parts.append(f"{prepared.n_single_visit} people with a single visit kept")
    return "; ".join(parts)


def levels(series: pd.Series, reference: Any = None) -> list[Any]:
    """Levels of a categorical column, reference first."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        lv = [x for x in series.cat.categories if (series == x).any()]
    else:
        lv = sorted(series.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    if reference is not None:
        match = [x for x in lv if x == reference or str(x) == str(reference)]
        if not match:
            raise ConfigError(
                f"exposure_reference {reference!r} is not a level of the exposure; levels: {show_values(lv, 20)}"
            )
        lv.remove(match[0])
        lv.insert(0, match[0])
    return lv


def term_columns(df: pd.DataFrame, name: str, spec: LongSpec) -> dict[str, np.ndarray]:
    """Named columns for one model term (dummies for a categorical column)."""
    s = df[name]
    if is_categorical(s, name, spec):
        ref = spec.exposure_reference if name == spec.exposure else None
        lv = levels(s, ref)
        return {f"{name}[{v}]": (s == v).to_numpy(float) for v in lv[1:]}
    return {name: pd.to_numeric(s).to_numpy(float)}


def design_matrix(
    df: pd.DataFrame,
    spec: LongSpec,
    *,
    intercept: bool = True,
    time: bool = True,
    exposure_x_time: bool = True,
    covariates: Sequence[str] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    source: str = "",
) -> pd.DataFrame:
    """Fixed-effects design: intercept, time, exposure, exposure x time, covariates, covariates x time.

    Columns constant within the analysed rows (e.g. ``sex`` within a sex stratum) are dropped. A design
    without full column rank is a :class:`ModelError` naming the columns.
    """
    cols: dict[str, np.ndarray] = {}
    if intercept:
        cols["Intercept"] = np.ones(len(df))
    tname = spec.time_label
    if time:
        cols[tname] = df[TIME].to_numpy(float)
    exp_cols = term_columns(df, spec.exposure, spec)
    cols.update(exp_cols)
    if time and exposure_x_time:
        for k, v in exp_cols.items():
            cols[f"{k}:{tname}"] = v * df[TIME].to_numpy(float)
    for c in spec.covariates if covariates is None else covariates:
        cc = term_columns(df, c, spec)
        cols.update(cc)
        if time and c in spec.covariates_x_time:
            for k, v in cc.items():
                cols[f"{k}:{tname}"] = v * df[TIME].to_numpy(float)
    if extra:
        cols.update(extra)
    X = pd.DataFrame(cols, index=df.index)
    const = [c for c in X.columns if c != "Intercept" and np.ptp(X[c].to_numpy()) == 0]
    exposure_terms = set(exp_cols)
    if any(c in exposure_terms for c in const):
        raise ModelError(
            f"{source}: the exposure '{spec.exposure}' does not vary in the analysed rows "
            f"(terms {[c for c in const if c in exposure_terms]}); nothing can be estimated."
        )
    if const:
        log.info("%s: dropped terms constant in these rows: %s", source, const)
        X = X.drop(columns=const)
    rank = np.linalg.matrix_rank(X.to_numpy())
    if rank < X.shape[1]:
        raise ModelError(
            f"{source}: the design matrix ({X.shape[0]} rows x {X.shape[1]} terms: {list(X.columns)}) has rank {rank}; "
            "some terms are collinear. Remove a covariate that duplicates another."
        )
    return X


def strata(df: pd.DataFrame, spec: LongSpec) -> list[tuple[str, pd.DataFrame]]:
    """The frames to fit: ``overall`` and/or one per level of ``stratify_by``."""
    out: list[tuple[str, pd.DataFrame]] = []
    if not spec.stratify_by or spec.overall:
        out.append(("overall", df))
    if spec.stratify_by:
        for lv in levels(df[spec.stratify_by]):
            out.append((f"{spec.stratify_by}={lv}", df.loc[df[spec.stratify_by] == lv]))
    return out
