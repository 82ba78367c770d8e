"""Mean outcome trajectories with 95% confidence intervals by exposure group (longitudinal analyses).

Draws a :class:`~musclecog.longitudinal.results.LongitudinalResult` from the analysis rows it carries; it fits
nothing and imports no fitting code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from musclecog.plots import new_figure

if TYPE_CHECKING:  # for the annotation only
    from musclecog.longitudinal.results import LongitudinalResult

MAX_GROUPS = 6


def exposure_groups(frame: pd.DataFrame, exposure: str, categorical: bool) -> pd.Series:
    """Groups for plotting: the exposure's levels, or quartiles of the person's first value if continuous."""
    s = frame[exposure]
    if categorical or s.nunique() <= MAX_GROUPS:
        return s.astype(str)
    first = s.groupby(frame["id"], sort=False).transform("first")
    q = pd.qcut(first.rank(method="first"), 4, labels=["Q1 (lowest)", "Q2", "Q3", "Q4 (highest)"])
    return q.astype(str)


def trajectory_means(frame: pd.DataFrame, outcome: str, groups: pd.Series) -> pd.DataFrame:
    """Mean, 95% CI and n of the outcome per group and visit (wave, or time rounded to whole units)."""
    visit = frame["wave"] if "wave" in frame.columns else np.round(frame["time"]).astype(int)
    d = pd.DataFrame(
        {
            "group": groups.to_numpy(),
            "visit": visit.to_numpy(),
            "time": frame["time"].to_numpy(),
            "y": pd.to_numeric(frame[outcome]).to_numpy(float),
        }
    )
    agg = (
        d.groupby(["group", "visit"], sort=True)
        .agg(time=("time", "mean"), mean=("y", "mean"), sd=("y", "std"), n=("y", "size"))
        .reset_index()
    )
    half = 1.96 * agg["sd"].fillna(0.0) / np.sqrt(agg["n"])
    agg["low"], agg["high"] = agg["mean"] - half, agg["mean"] + half
    return agg.loc[agg["n"] >= 5]


def trajectory_figure(result: LongitudinalResult) -> Figure:
    """Line plot of mean trajectories (points at the mean time of each visit) with 95% CI bands.

    Parameters
    ----------
    result : LongitudinalResult
        Its ``frame`` (columns id, time, [wave], outcome, exposure), ``outcome``, ``exposure``,
        ``exposure_categorical``, ``time_label`` and ``title``.
    """
    frame = result.frame
    groups = exposure_groups(frame, result.exposure, result.exposure_categorical)
    agg = trajectory_means(frame, result.outcome, groups)
    fig, ax = new_figure(6.0, 4.0)
    for name, g in agg.groupby("group", sort=True):
        ax.plot(g["time"], g["mean"], marker="o", label=f"{result.exposure} = {name}")
        ax.fill_between(g["time"], g["low"], g["high"], alpha=0.2)
    ax.set_xlabel(result.time_label)
    ax.set_ylabel(f"mean {result.outcome} (95% CI)")
    ax.set_title(result.title)
    ax.legend(frameon=False, fontsize=8)
    return fig
