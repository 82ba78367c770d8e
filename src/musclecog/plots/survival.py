"""Kaplan-Meier curves by group with numbers at risk (survival analyses)."""

from __future__ import annotations

from typing import Any

from musclecog.plots import new_figure
from musclecog.survival.results import MAX_GROUPS, SurvivalResult


def km_figure(result: SurvivalResult) -> Any:
    """Kaplan-Meier curves (with 95% CI bands) per group and a numbers-at-risk table.

    Parameters
    ----------
    result : SurvivalResult
        A ``cox`` or ``kaplan_meier`` result: its curves (:meth:`SurvivalResult.km_curves`, by the exposure
        or the ``group`` column, a numeric column with many values by quartiles), time axis and title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from lifelines.plotting import add_at_risk_counts  # lifelines takes about a second to import

    fig, ax = new_figure(6.5, 4.8)
    curves = result.km_curves()
    for kmf in curves:
        kmf.plot_survival_function(ax=ax, ci_show=True)
    ax.set_xlabel(result.time_label)
    ax.set_ylabel("survival probability (event-free)")
    ax.set_title(result.title)
    ax.legend(frameon=False, fontsize=8)
    if curves and len(curves) <= MAX_GROUPS:
        add_at_risk_counts(*curves, ax=ax, rows_to_show=["At risk"])
    fig.tight_layout()
    return fig
