"""Survival figures. ``kaplan_meier`` results: Kaplan-Meier curves by group with 95% bands and a
numbers-at-risk table (counts below 5 shown as <5). ``cox`` results: the same Kaplan-Meier panel beside the model-based (adjusted)
survival curves of the first fit at the exposure levels of :mod:`musclecog.plots.profiles` (covariates held
as stated under the panel; :meth:`musclecog.survival.results.CoxResult.adjusted_survival`, Breslow baseline),
and the hazard ratios as a forest panel (log axis)."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from musclecog.labels import stratum_words
from musclecog.plots import new_figure
from musclecog.plots.forest import _panel as forest_panel
from musclecog.plots.forest import forest_panels, panel_rows
from musclecog.plots.profiles import exposure_levels, held_values
from musclecog.survival.results import MAX_GROUPS, CoxResult, SurvivalResult
from musclecog.variables import variable_label

MIN_CELL = 5
"""Numbers at risk from 1 to ``MIN_CELL - 1`` are shown as ``<5`` (no count below 5 people released)."""


def at_risk_table(result: SurvivalResult, times: np.ndarray) -> pd.DataFrame:
    """People at risk (entered before and still followed at each time) per display group, as text with
    small counts suppressed (``<5``)."""
    frame = result.data.frame
    groups = result.display_groups()
    T = frame["T"].to_numpy(float)
    T0 = frame["T0"].to_numpy(float) if result.data.delayed_entry else np.full(len(T), -np.inf)
    out = {}
    for level in sorted(groups.dropna().unique(), key=str):
        m = (groups == level).to_numpy()
        n = ((T[m][:, None] >= times[None, :]) & (T0[m][:, None] < times[None, :])).sum(axis=0)
        out[str(level)] = [f"<{MIN_CELL}" if 0 < k < MIN_CELL else str(int(k)) for k in n]
    return pd.DataFrame(out, index=times).T


def _km_panel(ax: Any, result: SurvivalResult) -> None:
    curves = result.km_curves()
    for curve in curves:
        t, surv, lower, upper = curve.steps()
        (line,) = ax.step(t, surv, where="post", label=curve.level)
        ax.fill_between(t, lower, upper, step="post", color=line.get_color(), alpha=0.25, linewidth=0)
    ax.set_xlabel(result.time_label)
    ax.set_ylabel("Survival probability (event-free)")
    ax.set_title("Kaplan-Meier (unadjusted)", fontsize=8, loc="left")
    ax.legend(frameon=False, fontsize=7, title=_wrap(variable_label(result.group)), title_fontsize=7)
    if curves and len(curves) <= MAX_GROUPS:
        ticks = np.array([t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]], float)
        table = at_risk_table(result, ticks)
        ax.set_xticks(ticks)
        trans = ax.get_xaxis_transform()
        ax.text(ax.get_xlim()[0], -0.30, "At risk", transform=trans, fontsize=7, ha="right", va="top",
                fontweight="bold")
        for i, (level, counts) in enumerate(table.iterrows()):
            y = -0.30 - 0.07 * (i + 1)
            ax.text(ax.get_xlim()[0], y, f"{level}  ", transform=trans, fontsize=7, ha="right", va="top")
            for t, c in zip(ticks, counts, strict=True):
                ax.text(t, y, c, transform=trans, fontsize=7, ha="center", va="top")


def _wrap(text: str, width: int = 34) -> str:
    return textwrap.fill(text, width)


def km_figure(result: SurvivalResult) -> Any:
    """Kaplan-Meier curves (with 95% CI bands) per group and a numbers-at-risk table; for a ``cox`` result
    also the adjusted survival curves and the hazard-ratio forest (see the module docstring).

    Returns
    -------
    matplotlib.figure.Figure
        Axes with ``gid`` ``kaplan_meier``, ``adjusted`` and ``hazard_ratio`` (cox), plus the at-risk table.
    """
    if not isinstance(result, CoxResult) or not result.fits or not result.fit_rows:
        fig, ax = new_figure(6.5, 4.8)
        ax.set_gid("kaplan_meier")
        _km_panel(ax, result)
        fig.suptitle(result.title, fontsize=9, x=0.02, ha="left")
        fig.subplots_adjust(left=0.2, bottom=0.36, top=0.88)
        return fig
    fig, axes = new_figure(15.0, 5.6, ncols=3, squeeze=False, gridspec_kw={"width_ratios": [1, 1, 1.1]})
    km, adj, hr = axes[0]
    km.set_gid("kaplan_meier")
    _km_panel(km, result)
    adjusted_panel(adj, result)
    hr.set_gid("hazard_ratio")
    panels = [p for p in forest_panels(result.estimates) if p.scale == "hazard_ratio" and not p.interaction]
    if panels:
        methods = list(dict.fromkeys(e.method for e in panels[0].estimates))
        style = {m: (f"C{i}", "s") for i, m in enumerate(methods)}
        rows = panel_rows(panels[0])
        forest_panel(hr, panels[0], rows, style)
        hr.set_gid("hazard_ratio")
        hr.set_yticklabels([_wrap(r.label, 30) for r in rows], fontsize=7)
        hr.set_title("Hazard ratios, Cox model", fontsize=8, loc="left")
    fig.suptitle(result.title, fontsize=9, x=0.02, ha="left")
    fig.subplots_adjust(left=0.06, right=0.93, bottom=0.36, top=0.88, wspace=0.55)
    return fig


def adjusted_profiles(result: CoxResult, stratum: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The covariate profiles of the adjusted curves: one row per exposure level, their legend labels and
    how the covariates are held."""
    fit = result.fits[stratum]
    rows = result.data.frame.iloc[result.fit_rows[stratum]]
    levels = exposure_levels(result.group, fit, rows)
    new, held = held_values(fit, rows, (result.group,))
    frame = pd.DataFrame({**{k: [v] * len(levels) for k, v in new.items()}, result.group: [v for _, v in levels]})
    return frame, [label for label, _ in levels], held


def adjusted_panel(ax: Any, result: CoxResult) -> None:
    """Model-based survival of the first fit at the exposure levels (step functions at the event times)."""
    stratum = next(iter(result.fits))
    ax.set_gid("adjusted")
    profiles, labels, held = adjusted_profiles(result, stratum)
    times, surv = result.adjusted_survival(stratum, profiles)
    for i, label in enumerate(labels):
        (line,) = ax.step([0.0, *times], [1.0, *surv[i]], where="post", color=f"C{i}", label=label)
        line.set_gid(label)
    ax.set_xlabel(result.time_label)
    ax.set_ylabel("Adjusted survival probability (Cox model)")
    ax.set_title(f"Cox model, {stratum_words(stratum).lower()}", fontsize=8, loc="left")
    ax.legend(frameon=False, fontsize=7, title=_wrap(variable_label(result.group)), title_fontsize=7)
    ax.text(0.0, -0.22, "Covariates held at: " + ("; ".join(held) if held else "none (unadjusted model)"),
            transform=ax.transAxes, fontsize=7, va="top", wrap=True)
    if result.data.delayed_entry:
        ax.set_xlim(left=float(result.data.frame["T0"].min()))
