"""Kaplan-Meier by group with median survival, survival at chosen times, the restricted mean and the log-rank
test (analysis type ``kaplan_meier``): the curves and their CIs as R ``survfit`` (:func:`kaplan_meier`), the
log-rank test (:func:`logrank_test`, R ``survdiff``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import factor_levels, fmt_level, strata
from musclecog.core.results import Estimate
from musclecog.errors import ConfigError
from musclecog.survival.data import Labels, SurvivalSpec, prepare_survival
from musclecog.survival.productlimit import CONF_TYPES, KaplanMeier, kaplan_meier, logrank_test
from musclecog.survival.results import KaplanMeierResult

NOT_REACHED = "median not reached (survival stays above 0.5)"
NO_LOGRANK = (
    "log-rank test not computed with delayed entry (survdiff has no entry times); use a Cox model"
)


@dataclass(frozen=True, kw_only=True)
class KaplanMeierSpec(SurvivalSpec):
    """A ``kaplan_meier`` analysis (``workflow/schemas/analyses/kaplan_meier.schema.yaml``).

    Attributes
    ----------
    group : str or None
        Grouping column (default: the exposure).
    survival_at : tuple of float
        Times at which the survival (with its Greenwood SE and 95% CI) is reported.
    conf_type : str
        Pointwise CI of the curve (and so of the median): ``log`` (R ``survfit``'s default), ``log-log``,
        ``plain``.
    rmean : str or float
        Restricted mean survival: ``none`` (R ``print(survfit)``'s default), ``common`` (up to the last time
        of all curves), ``individual`` (each curve's last time) or a time.
    """

    TYPE: ClassVar[str] = "kaplan_meier"
    group: str | None = None
    survival_at: tuple[float, ...] = ()
    conf_type: str = "log"
    rmean: str | float = "none"

    @property
    def group_column(self) -> str:
        """``group``, else the exposure."""
        return self.group or self.exposure


def _finite(x: float) -> float:
    return x if np.isfinite(x) else float("nan")


def _first_below_half(y: np.ndarray, times: np.ndarray) -> float:
    """The first time the curve ``y`` is at or below 0.5; where it equals 0.5 exactly (to 1.5e-8), the
    midpoint to the next time it drops (R ``survival:::survmean``'s ``minmin``)."""
    tol = np.sqrt(np.finfo(float).eps)
    keep = np.isfinite(y) & (y < 0.5 + tol)
    if not keep.any():
        return float("nan")
    x, v = times[keep], y[keep]
    lower = np.flatnonzero(v < v[0])
    if abs(v[0] - 0.5) < tol and lower.size:
        return float((x[0] + x[lower[0]]) / 2)
    return float(x[0])


def restricted_mean(km: KaplanMeier, end: float, start: float = 0.0) -> tuple[float, float]:
    """Restricted mean survival up to ``end`` and its SE (R ``print(survfit, rmean = end)``, ``survmean``):
    the area under the curve from ``start`` (``min(0, times)``) to ``end``; variance
    ``sum_k A_k^2 d_k / (n_k (n_k - d_k))`` with ``A_k`` the area after event time ``t_k``."""
    keep = km.times <= end
    t = np.r_[km.times[keep], end]
    s = km.surv[keep]
    steps = np.diff(np.r_[start, t]) * np.r_[1.0, s]
    after = np.cumsum(steps[::-1])[::-1][1:]  # area after each kept event time
    n, d = km.n_risk[keep], km.n_event[keep]
    h = np.where(n > d, d / np.where(n > d, n * (n - d), 1.0), 0.0)
    return float(steps.sum() + start), float(np.sqrt((after**2 * h).sum()))


def _group_estimates(
    g: pd.DataFrame, term: str, spec: KaplanMeierSpec, note: str, labels: Labels, end: float | None
) -> list[Estimate]:
    """Median survival (with its CI), survival at ``survival_at`` and the restricted mean of one group."""
    T0 = g["T0"].to_numpy(float) if spec.delayed_entry else None
    km = kaplan_meier(g["T"].to_numpy(float), g["E"].to_numpy(int), T0, spec.conf_type)
    n, n_ev = len(g), int(g["E"].sum())
    med = _first_below_half(km.surv, km.times)
    lo, hi = _first_below_half(km.lower, km.times), _first_below_half(km.upper, km.times)
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
    for t in spec.survival_at:
        s_t, se_t, lo_t, hi_t = km.at(t)
        rows.append(
            Estimate(
                term=f"survival_at_{t:g}:{term}",
                estimate=s_t,
                std_error=se_t,
                scale="proportion",
                conf_low=lo_t,
                conf_high=hi_t,
                n=n,
                n_events=n_ev,
                note=note,
                **labels,
            )
        )
    if end is not None:
        start = min(0.0, float(g["T"].min()))
        mean, se = restricted_mean(km, end, start)
        rmean_note = f"restricted mean survival up to {end:g} (R print(survfit, rmean = {spec.rmean!r}))"
        rows.append(
            Estimate(
                term=f"rmean:{term}",
                estimate=mean,
                std_error=se,
                scale="mean",
                n=n,
                n_events=n_ev,
                note="; ".join(filter(None, [note, rmean_note])),
                **labels,
            )
        )
    return rows


def _rmean_end(spec: KaplanMeierSpec, df: pd.DataFrame, g: pd.DataFrame) -> float | None:
    """The upper limit of the restricted mean: a number; ``common``: the last time of all curves;
    ``individual``: the group's last time; ``none``: no restricted mean."""
    if spec.rmean == "none":
        return None
    if spec.rmean == "common":
        return float(df["T"].max())
    if spec.rmean == "individual":
        return float(g["T"].max())
    return float(spec.rmean)


def _logrank(df: pd.DataFrame, group: str, delayed_entry: bool, note: str, labels: Labels) -> Estimate:
    """The log-rank test across the groups (R ``survdiff``); missing with a note under delayed entry."""
    n, n_ev = len(df), int(df["E"].sum())
    if delayed_entry:
        return Estimate.missing("logrank", "chi_squared", NO_LOGRANK, n=n, n_events=n_ev, **labels)
    stat, _, p = logrank_test(df["T"].to_numpy(float), df["E"].to_numpy(int), df[group].astype(str).to_numpy())
    return Estimate(
        term="logrank",
        estimate=stat,
        scale="chi_squared",
        p_value=p,
        n=n,
        n_events=n_ev,
        statistic=stat,
        df=float(df[group].nunique() - 1),
        note=note,
        **labels,
    )


def fit_kaplan_meier(data: pd.DataFrame, spec: KaplanMeierSpec) -> KaplanMeierResult:
    """Kaplan-Meier by group with median survival and the log-rank test (analysis type ``kaplan_meier``).

    Matches ``survival::survfit(Surv(time, event) ~ group, conf.type = conf_type)`` (median and its CI: the
    times where the curve and its pointwise 95% limits reach 0.5; survival at chosen times with the
    Greenwood SE, ``summary(fit, times = ...)``; the restricted mean with its SE,
    ``print(fit, rmean = ...)``) and ``survdiff(Surv(time, event) ~ group)``.

    Parameters
    ----------
    data : DataFrame
        The cohort table.
    spec : KaplanMeierSpec

    Returns
    -------
    KaplanMeierResult
        Rows per group: ``median:<group>=<level>`` (``median_survival``, missing with a note when the curve
        does not reach 0.5), ``survival_at_<t>:<group>=<level>`` (``proportion``, Greenwood ``std_error``),
        ``rmean:<group>=<level>`` (``mean``, with ``rmean``); one ``logrank`` row per
        stratum (chi-squared, df = groups - 1); the exclusions (``count``).
    """
    group = spec.group_column
    if spec.conf_type not in CONF_TYPES:
        raise ConfigError(f"{spec.where}.conf_type must be one of {list(CONF_TYPES)}, got {spec.conf_type!r}")
    if isinstance(spec.rmean, str) and spec.rmean not in ("none", "common", "individual"):
        raise ConfigError(
            f"{spec.where}.rmean must be none, common, individual or a time, got {spec.rmean!r}"
        )
    sd = prepare_survival(data, spec, [spec.exposure, group])
    method = f"Kaplan-Meier, {spec.time_scale}"
    estimates: list[Estimate] = []
    for stratum in strata(sd.frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = sd.frame.loc[stratum.mask]
        note = sd.note() if stratum.label == "overall" else ""
        labels = Labels(method=method, outcome=spec.event, exposure=spec.exposure, stratum=stratum.label)
        for lv in factor_levels(df[group]):
            g = df.loc[df[group] == lv]
            end = _rmean_end(spec, df, g)
            estimates += _group_estimates(g, f"{group}={fmt_level(lv)}", spec, note, labels, end)
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
        conf_type=spec.conf_type,
    )
