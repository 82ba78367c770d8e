"""The reproduction figure: published vs reproduced estimates with 95% CIs, one panel per scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from musclecog.plots import new_figure
from musclecog.reproduce import parse_published, scale_panel

PANELS = ("correlations", "ratios", "proportions", "betas, means and t statistics")
SHARED_AXIS = frozenset({"correlations", "ratios", "proportions"})
"""Panels whose targets share one x axis; the others get one axis per target (their units differ)."""
VERDICT_COLOURS = {"reproduced": "#1b7837", "not reproduced": "#b2182b"}


def _draw(ax: Any, sub: pd.DataFrame) -> None:
    y = np.arange(len(sub))[::-1]
    for yi, (_, row) in zip(y, sub.iterrows(), strict=True):
        colour = VERDICT_COLOURS.get(row["verdict"], "#636363")
        ax.plot([row["conf_low"], row["conf_high"]], [yi, yi], color=colour, lw=2)
        ax.plot(row["estimate"], yi, "o", color=colour, ms=5)
        if not math.isnan(row["published_value"]):
            ax.plot(row["published_value"], yi, "D", mfc="none", mec="black", ms=6)
    ax.set_yticks(y)
    ax.set_yticklabels(sub["target_id"], fontsize=7)
    ax.set_ylim(-0.6, len(sub) - 0.4)
    ax.tick_params(axis="x", labelsize=7)


def reproduction_figure(table: pd.DataFrame) -> Any:
    """Published value (open diamond) beside our estimate and CI (dot and bar; green = reproduced).

    Correlations, ratios and proportions share an axis per panel; betas, means and t statistics are in
    different units, so each of those targets has its own axis. Targets without an estimate are counted
    in the panel titles, not drawn; targets that publish only a direction have no diamond.
    """
    df = table.copy()
    df["published_value"] = [parse_published(str(v)) for v in df["published"]]
    df["panel"] = [scale_panel(s) for s in df["statistic"]]
    drawable = df[np.isfinite(df["estimate"].astype(float))]
    blocks: list[tuple[str, pd.DataFrame]] = []
    for panel in PANELS:
        sub = drawable[drawable["panel"] == panel].reset_index(drop=True)
        n_all = int((df["panel"] == panel).sum())
        if sub.empty:
            continue
        title = f"{panel} ({len(sub)} of {n_all} targets with an estimate)"
        if panel in SHARED_AXIS:
            blocks.append((title, sub))
        else:
            blocks += [(title if i == 0 else "", sub.iloc[[i]]) for i in range(len(sub))]
    if not blocks:
        fig, ax = new_figure(6.0, 1.5)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no target has an estimate yet", ha="center", va="center")
        return fig
    heights = [1.6 * len(sub) + (0.8 if title else 0.3) for title, sub in blocks]
    fig, axes = new_figure(7.0, 0.8 + 0.3 * sum(heights), nrows=len(blocks), squeeze=False,
                           gridspec_kw={"height_ratios": heights})
    for ax, (title, sub) in zip(axes[:, 0], blocks, strict=True):
        _draw(ax, sub)
        if title:
            ax.set_title(title, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("estimate (dot: ours with 95% CI; diamond: published; green = reproduced)")
    fig.tight_layout()
    return fig
