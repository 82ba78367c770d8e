"""The reproduction figure: every target on one scale, our estimate relative to the published value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from musclecog.plots import new_figure
from musclecog.reproduce import REAL, SYNTHETIC, UNINFORMATIVE, VERDICTS

VERDICT_COLOURS = {
    **{VERDICTS[e][0]: "#1b7837" for e in VERDICTS},
    **{VERDICTS[e][1]: "#b2182b" for e in VERDICTS},
    UNINFORMATIVE: "#e08214",
}
EVIDENCE_MARKERS = {SYNTHETIC: "o", REAL: "s"}
EVIDENCE_OFFSET = {SYNTHETIC: 0.15, REAL: -0.15}


def relative_scale(table: pd.DataFrame) -> pd.DataFrame:
    """Estimate and CI divided by the reference value, on the log scale for ratios (1 = the published effect).

    The reference is the first check's published value; for a target that publishes only a direction or a p
    (no number) it is the synthetic truth, and the row says so (``reference`` column). Rows with neither get NaN.
    """
    df = table.copy()
    pub = df["published_value"].astype(float)
    truth = df["synthetic_truth"].astype(float)
    ref = pub.where(np.isfinite(pub), truth)
    df["reference"] = np.where(np.isfinite(pub), "published", np.where(np.isfinite(truth), "synthetic truth", ""))
    ratio = df["null_value"].astype(float) == 1.0

    def rel(col: str) -> pd.Series:
        x = df[col].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            logged = np.log(x.where(x > 0)) / np.log(ref.where(ref > 0))
            return pd.Series(np.where(ratio, logged, x / ref), index=df.index)

    est, lo, hi = rel("estimate"), rel("conf_low"), rel("conf_high")
    df["rel_estimate"], df["rel_low"], df["rel_high"] = est, np.fmin(lo, hi), np.fmax(lo, hi)
    return df


def reproduction_figure(table: pd.DataFrame) -> Any:
    """Each target once: our estimate and 95% CI relative to the published value (1 = published, 0 = null).

    Marker shape gives the evidence (circle: synthetic recovery; square: real-data replication), colour the
    verdict (green passed, orange uninformative, red failed). Targets without a number to scale by are
    counted in the title, not drawn.
    """
    df = relative_scale(table)
    drawable = df[np.isfinite(df["rel_estimate"])]
    order = list(dict.fromkeys(drawable["target_id"]))
    n_targets = int(df["target_id"].nunique())
    if not order:
        fig, ax = new_figure(6.0, 1.5)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no target has an estimate yet", ha="center", va="center")
        return fig
    fig, ax = new_figure(7.0, 1.2 + 0.32 * len(order))
    ypos = {tid: len(order) - 1 - i for i, tid in enumerate(order)}
    for _, row in drawable.iterrows():
        y = ypos[row["target_id"]] + EVIDENCE_OFFSET.get(row["evidence"], 0.0)
        colour = VERDICT_COLOURS.get(row["verdict"], "#636363")
        ax.plot([row["rel_low"], row["rel_high"]], [y, y], color=colour, lw=2)
        hollow = row["reference"] == "synthetic truth"
        ax.plot(row["rel_estimate"], y, EVIDENCE_MARKERS.get(row["evidence"], "o"), ms=5, mec=colour,
                mfc="white" if hollow else colour)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.axvline(0.0, color="grey", lw=0.6, ls="--")
    labels = [f"{tid} ({_published_label(df, tid)})" for tid in order]
    ax.set_yticks([ypos[t] for t in order])
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.tick_params(axis="x", labelsize=7)
    hidden = len(df) - len(drawable)
    ax.set_title(
        f"{len(order)} of {n_targets} targets with a number to compare"
        + (f"; {hidden} rows without one (direction-only checks, not checked) are in the table only" if hidden else ""),
        fontsize=8,
        loc="left",
    )
    ax.set_xlabel(
        "estimate / published (log ratio / log published for ratios); 1 = published, 0 = null\n"
        "circle: synthetic recovery, square: real replication; hollow: scaled by the synthetic truth "
        "(no published number); green passed, orange uninformative, red failed",
        fontsize=7,
    )
    fig.tight_layout()
    return fig


def _published_label(df: pd.DataFrame, target_id: str) -> str:
    row = df[df["target_id"] == target_id].iloc[0]
    value = float(row["published_value"])
    return f"published {value:.3g}" if not math.isnan(value) else "direction only"
