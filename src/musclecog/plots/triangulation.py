"""The triangulation figure: one row per design and direction, grouped by evidence kind, one panel per scale."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from musclecog.labels import stratum_words
from musclecog.plots import new_figure
from musclecog.reproduce import REAL, SYNTHETIC
from musclecog.variables import variable_label

EVIDENCE_ORDER = (SYNTHETIC, REAL)
EVIDENCE_COLOURS = {SYNTHETIC: "#2166ac", REAL: "#b2182b"}
EVIDENCE_MARKERS = {SYNTHETIC: "o", REAL: "s"}


def _name(column: str) -> str:
    return variable_label(column, unit=False)


def axis_label(kind: str) -> str:
    """A ``scale_kind`` with its column names (words with ``_``) replaced by their labels (``grip_kg`` ->
    ``grip strength``); plain words such as ``year`` stay as they are."""
    words = []
    for word in kind.split(" "):
        label = _name(word) if "_" in word else word
        words.append(label[:1].lower() + label[1:] if label != word else word)
    return " ".join(words)


def row_label(row: pd.Series) -> str:
    """``design: outcome (stratum)``, or ``design: exposure -> outcome`` for MR, with labels from the dictionary."""
    exposure, _, outcome = str(row["direction"]).partition(" -> ")
    what = f"{_name(exposure)} \u2192 {_name(outcome)}"
    stratum = str(row["stratum"])
    where = f", {stratum_words(stratum)}" if stratum not in ("overall", "", "nan") else ""
    return f"{row['design']}: {what}{where}"


def panel_order(table: pd.DataFrame) -> list[str]:
    """The scale kinds in order of first appearance (rows that could not be converted are left out)."""
    kinds = table.loc[table["conversion"] != "none", "scale_kind"].astype(str)
    return list(dict.fromkeys(kinds))


def triangulation_figure(table: pd.DataFrame) -> Any:
    """Forest plot of a triangulation table (:func:`musclecog.triangulation.triangulation_table`).

    One panel per ``scale_kind`` (its own x axis, a dashed line at 0), rows grouped by ``evidence``
    (synthetic recovery first), each with its 95% CI and its design's main source of bias as a note.
    """
    kinds = panel_order(table) or ["not on a common scale"]
    sizes = [max(1, int((table["scale_kind"] == k).sum())) for k in kinds]
    fig, axes = new_figure(7.5, 0.9 + 0.42 * sum(sizes) + 0.5 * len(kinds), nrows=len(kinds),
                           gridspec_kw={"height_ratios": sizes}, squeeze=False)
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        rows = table.loc[table["scale_kind"] == kind].copy()
        order = {e: i for i, e in enumerate(EVIDENCE_ORDER)}
        rows["_order"] = rows["evidence"].map(order).fillna(len(order))
        rows = rows.sort_values(["_order"], kind="stable")
        y = np.arange(len(rows))[::-1]
        for yi, (_, r) in zip(y, rows.iterrows(), strict=True):
            colour = EVIDENCE_COLOURS.get(str(r["evidence"]), "grey")
            ax.errorbar(float(r["estimate"]), yi,
                        xerr=[[float(r["estimate"]) - float(r["conf_low"])],
                              [float(r["conf_high"]) - float(r["estimate"])]],
                        fmt=EVIDENCE_MARKERS.get(str(r["evidence"]), "D"), color=colour, capsize=2, ms=4)
        ax.set_yticks(y, [f"{row_label(r)}\n({r['evidence']}; bias: {r['bias']})" for _, r in rows.iterrows()],
                      fontsize=7)
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(axis_label(kind), fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_ylim(-0.6, len(rows) - 0.4)
    fig.suptitle("Grip strength and cognition across designs (95% CI)", fontsize=9)
    fig.tight_layout()
    return fig
