"""Kaplan-Meier by group with median survival, survival at chosen times and the log-rank test (analysis
type ``kaplan_meier``; lifelines ``KaplanMeierFitter`` and ``multivariate_logrank_test``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import factor_levels, fmt_level, strata
from musclecog.core.results import Estimate
from musclecog.survival.data import Labels, SurvivalSpec, prepare_survival
from musclecog.survival.results import KaplanMeierResult

NOT_REACHED = "median not reached (survival stays above 0.5)"
NO_LOGRANK = (
    "log-rank test not computed with delayed entry (lifelines' test has no entry times); use a Cox model"
)


@dataclass(frozen=True, kw_only=True)
class KaplanMeierSpec(SurvivalSpec):
    """A ``kaplan_meier`` analysis (``workflow/schemas/analyses/kaplan_meier.schema.yaml``).

    Attributes
    ----------
    group : str or None
        Grouping column (default: the exposure).
    survival_at : tuple of float
        Times at which the survival (with its 95% CI) is reported.
    """

    TYPE: ClassVar[str] = "kaplan_meier"
    group: str | None = None
    survival_at: tuple[float, ...] = ()

    @property
    def group_column(self) -> str:
        """``group``, else the exposure."""
        return self.group or self.exposure


def _finite(x: float) -> float:
    return x if np.isfinite(x) else float("nan")


def _group_estimates(
    g: pd.DataFrame, term: str, spec: KaplanMeierSpec, note: str, labels: Labels
) -> list[Estimate]:
    """Median survival (with its CI) and survival at ``survival_at`` of one group's curve."""
    from lifelines import KaplanMeierFitter  # lifelines takes about a second to import; only KM pays
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter().fit(g["T"], g["E"], entry=g["T0"] if spec.delayed_entry else None, label=term)
    n, n_ev = len(g), int(g["E"].sum())
    med = float(kmf.median_survival_time_)
    ci = median_survival_times(kmf.confidence_interval_)
    lo, hi = (float(ci.iloc[0, 0]), float(ci.iloc[0, 1])) if len(ci) else (np.nan, np.nan)
    reached = bool(np.isfinite(med))
    rows = [
        Estimate(
            term=f"median:{term}",
            estimate=_finite(med),
            scale="median_survival",
            conf_low=_finite(lo),
            conf_high=_finite(hi),
            n=n,
            n_events=n_ev,
            note=note if reached else "; ".join(filter(None, [note, NOT_REACHED])),
            **labels,
        )
    ]
    ci_t = kmf.confidence_interval_survival_function_
    for t in spec.survival_at:
        s_t = float(kmf.survival_function_at_times(t).iloc[0])
        idx = ci_t.index.searchsorted(t, side="right") - 1
        lo_t, hi_t = (float(ci_t.iloc[idx, 0]), float(ci_t.iloc[idx, 1])) if idx >= 0 else (1.0, 1.0)
        rows.append(
            Estimate(
                term=f"survival_at_{t:g}:{term}",
                estimate=s_t,
                scale="proportion",
                conf_low=lo_t,
                conf_high=hi_t,
                n=n,
                n_events=n_ev,
                note=note,
                **labels,
            )
        )
    return rows


def _logrank(df: pd.DataFrame, group: str, delayed_entry: bool, note: str, labels: Labels) -> Estimate:
    """The log-rank test across the groups (R ``survdiff``); missing with a note under delayed entry."""
    n, n_ev = len(df), int(df["E"].sum())
    if delayed_entry:
        return Estimate.missing("logrank", "chi_squared", NO_LOGRANK, n=n, n_events=n_ev, **labels)
    from lifelines.statistics import multivariate_logrank_test

    lr: Any = multivariate_logrank_test(df["T"], df[group].astype(str), df["E"])
    stat = float(lr.test_statistic)
    return Estimate(
        term="logrank",
        estimate=stat,
        scale="chi_squared",
        p_value=float(lr.p_value),
        n=n,
        n_events=n_ev,
        statistic=stat,
        df=float(df[group].nunique() - 1),
        note=note,
        **labels,
    )


def fit_kaplan_meier(data: pd.DataFrame, spec: KaplanMeierSpec) -> KaplanMeierResult:
    """Kaplan-Meier by group with median survival and the log-rank test (analysis type ``kaplan_meier``).

    Matches ``survival::survfit(Surv(time, event) ~ group)`` (median and its CI: the times where the
    pointwise 95% CI, log transform as lifelines' exponential Greenwood, crosses 0.5) and
    ``survdiff(Surv(time, event) ~ group)``.

    Parameters
    ----------
    data : DataFrame
        The cohort table.
    spec : KaplanMeierSpec

    Returns
    -------
    KaplanMeierResult
        Rows per group: ``median:<group>=<level>`` (``median_survival``, missing with a note when the curve
        does not reach 0.5), ``survival_at_<t>:<group>=<level>`` (``proportion``); one ``logrank`` row per
        stratum (chi-squared, df = groups - 1); the exclusions (``count``).
    """
    group = spec.group_column
    sd = prepare_survival(data, spec, [spec.exposure, group])
    method = f"Kaplan-Meier, {spec.time_scale}"
    estimates: list[Estimate] = []
    for stratum in strata(sd.frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = sd.frame.loc[stratum.mask]
        note = sd.note() if stratum.label == "overall" else ""
        labels = Labels(method=method, outcome=spec.event, exposure=spec.exposure, stratum=stratum.label)
        for lv in factor_levels(df[group]):
            g = df.loc[df[group] == lv]
            estimates += _group_estimates(g, f"{group}={fmt_level(lv)}", spec, note, labels)
        if df[group].nunique() > 1:
            estimates.append(_logrank(df, group, spec.delayed_entry, note, labels))
    estimates += sd.estimates(method=method, outcome=spec.event, exposure=spec.exposure)
    return KaplanMeierResult(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=tuple(estimates),
        title=f"{spec.context.analysis}: {spec.event} by {group}",
        data=sd,
        group=group,
        time_label=spec.time_name,
    )
