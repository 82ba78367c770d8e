"""The reproduction figure: published vs reproduced estimates with 95% CIs, one panel per scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from musclecog.plots import new_figure
from musclecog.reproduce import parse_published, scale_panel

PANELS = ("correlations", "betas, means and t statistics", "ratios", "proportions")
VERDICT_COLOURS = {"reproduced": "#1b7837", "not reproduced": "#b2182b"}


def reproduction_figure(table: pd.DataFrame) -> Any:
    """Published value (open diamond) beside our estimate and CI (dot and bar), one panel per scale.

    Targets without a numeric published value or without an estimate are listed in the panel title
    count but not drawn.
    """
    df = table.copy()
    df["published_value"] = [parse_published(str(v)) for v in df["published"]]
    df["panel"] = [scale_panel(s) for s in df["statistic"]]
    drawable = df[np.isfinite(df["estimate"].astype(float))]
    panels = [p for p in PANELS if (drawable["panel"] == p).any()] or ["betas, means and t statistics"]
    heights = [max(1, int((drawable["panel"] == p).sum())) for p in panels]
    fig, axes = new_figure(7.0, 1.2 + 0.35 * sum(heights) + 0.6 * len(panels), nrows=len(panels), squeeze=False,
                           gridspec_kw={"height_ratios": heights})
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        sub = drawable[drawable["panel"] == panel].reset_index(drop=True)
        y = np.arange(len(sub))[::-1]
        for yi, (_, row) in zip(y, sub.iterrows(), strict=True):
            colour = VERDICT_COLOURS.get(row["verdict"], "#636363")
            ax.plot([row["conf_low"], row["conf_high"]], [yi, yi], color=colour, lw=2)
            ax.plot(row["estimate"], yi, "o", color=colour, ms=5)
            if not math.isnan(row["published_value"]):
                ax.plot(row["published_value"], yi, "D", mfc="none", mec="black", ms=6)
        ax.set_yticks(y)
        ax.set_yticklabels(sub["target_id"], fontsize=7)
        n_all = int((df["panel"] == panel).sum())
        ax.set_title(f"{panel} ({len(sub)} of {n_all} targets with an estimate)", fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("estimate (dot: ours with 95% CI; diamond: published; green = reproduced)")
    fig.tight_layout()
    return fig
