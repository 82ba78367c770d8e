"""Kaplan-Meier curves by group with numbers at risk (survival analyses)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from musclecog.plots import new_figure

MAX_GROUPS = 6


def km_figure(frame: pd.DataFrame, group: str, spec: Any, title: str = "") -> Any:
    """Kaplan-Meier curves (with 95% CI bands) per level of ``group`` and a numbers-at-risk table.

    Parameters
    ----------
    frame : DataFrame
        One row per person with ``T`` (exit or follow-up time), ``E`` (event) and optionally ``T0`` (entry).
    group : str
        Grouping column; a continuous column is shown by quartiles.
    spec : SurvivalSpec
        For axis labels (time scale).
    title : str
        Figure title.
    """
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts

    g = frame[group]
    if pd.api.types.is_numeric_dtype(g) and g.nunique() > MAX_GROUPS:
        g = pd.qcut(g.rank(method="first"), 4, labels=["Q1 (lowest)", "Q2", "Q3", "Q4 (highest)"]).astype(str)
    fig, ax = new_figure(6.5, 4.8)
    fitters = []
    for lv in sorted(g.dropna().unique(), key=str):
        sel = (g == lv).to_numpy()
        d = frame.loc[sel]
        kmf = KaplanMeierFitter().fit(
            d["T"], d["E"], entry=d["T0"] if "T0" in d.columns else None, label=f"{group}={lv}"
        )
        kmf.plot_survival_function(ax=ax, ci_show=True)
        fitters.append(kmf)
    ax.set_xlabel(spec.time_name)
    ax.set_ylabel("survival probability (event-free)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    if fitters and len(fitters) <= MAX_GROUPS:
        add_at_risk_counts(*fitters, ax=ax, rows_to_show=["At risk"])
    fig.tight_layout()
    return fig
