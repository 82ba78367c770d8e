"""Forest plots: one point with its 95% CI per row of a tidy result table, grouped by stratum.

One panel per ``scale`` (at most four); ratio scales (odds/hazard/risk ratio) on a log axis with a
reference line at 1, other scales with a line at 0. Rows without an estimate (notes) are listed as
"not estimable" so that nothing disappears silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FormatStrFormatter

from musclecog.plots import new_figure

RATIO_SCALES = frozenset({"odds_ratio", "hazard_ratio", "risk_ratio"})
_NO_PLOT = frozenset({"sd", "mean", "f_statistic", "chi_squared", "test", "count"})
MAX_ROWS = 60


def short_method(method: str) -> str:
    """A compact method label for axis ticks (the full text stays in the table)."""
    m = re.sub(r", adjusted for .*", ", adjusted", str(method))
    for long, short in (
        ("survey-weighted ", "weighted "),
        ("linear mixed model (random intercept: ", "LMM ("),
        ("linear regression", "linear"),
        ("logistic regression", "logistic"),
        ("Welch two-sample t-test", "Welch"),
        ("partial Pearson correlation", "partial r"),
    ):
        m = m.replace(long, short)
    return m


def _label(row: pd.Series, multi: dict[str, bool]) -> str:
    parts = []
    if multi["outcome"]:
        parts.append(str(row["outcome"]))
    term = str(row["term"])
    if multi["exposure"] and not term.startswith(str(row["exposure"])):
        parts.append(str(row["exposure"]))
    parts.append(term)
    if multi["method"]:
        parts.append(short_method(row["method"]))
    return " | ".join(parts)


def forest_plot(table: pd.DataFrame, title: str = "", scales: Sequence[str] | None = None) -> Any:
    """Draw a forest plot of a tidy result table.

    Parameters
    ----------
    table : DataFrame
        Rows in the tidy schema (:mod:`musclecog.results`).
    title : str
        Figure title.
    scales : sequence of str, optional
        Which scales to draw (default: every scale present except mean/SD/test statistics; if nothing is
        left, the means).

    Returns
    -------
    matplotlib.figure.Figure
    """
    df = table.copy()
    if scales is None:
        scales = [s for s in dict.fromkeys(df["scale"]) if s not in _NO_PLOT] or [
            s for s in dict.fromkeys(df["scale"]) if s == "mean"
        ]
    panels = [s for s in scales if (df["scale"] == s).any()][:4]
    if not panels:
        fig, ax = new_figure(6, 2)
        ax.axis("off")
        ax.text(0.5, 0.5, "no estimates to plot", ha="center", va="center")
        ax.set_title(title)
        return fig
    heights = [min(MAX_ROWS, int((df["scale"] == s).sum())) for s in panels]
    fig, axes = new_figure(
        8.0,
        1.2 + 0.28 * sum(heights) + 0.6 * len(panels),
        nrows=len(panels),
        squeeze=False,
        gridspec_kw={"height_ratios": [max(h, 1) for h in heights]},
    )
    for ax, scale in zip(axes[:, 0], panels, strict=True):
        sub = df[df["scale"] == scale].head(MAX_ROWS).reset_index(drop=True)
        multi = {c: sub[c].nunique() > 1 for c in ("outcome", "exposure", "method")}
        labels = [_label(r, multi) for _, r in sub.iterrows()]
        ypos = np.arange(len(sub))[::-1]
        est = sub["estimate"].to_numpy(float)
        lo = sub["conf_low"].to_numpy(float)
        hi = sub["conf_high"].to_numpy(float)
        ok = np.isfinite(est)
        strata = list(dict.fromkeys(sub["stratum"]))
        colours = {s: f"C{i % 10}" for i, s in enumerate(strata)}
        for i in np.flatnonzero(ok):
            c = colours[sub.loc[i, "stratum"]]
            if np.isfinite(lo[i]) and np.isfinite(hi[i]):
                ax.plot([lo[i], hi[i]], [ypos[i], ypos[i]], color=c, lw=1.2)
            ax.plot(est[i], ypos[i], "s", color=c, ms=4)
        for stratum in strata:
            ax.plot([], [], "s", color=colours[stratum], ms=4, label=stratum)
        if len(strata) > 1:
            ax.legend(title="stratum", fontsize=7, title_fontsize=7, loc="best", frameon=False)
        for i in np.flatnonzero(~ok):
            ax.text(
                0.02,
                ypos[i],
                "not estimable (see note)",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7,
                color="0.4",
            )
        ratio = scale in RATIO_SCALES
        if ratio:
            finite = np.concatenate([est[ok], lo[ok & np.isfinite(lo)], hi[ok & np.isfinite(hi)]])
            if finite.size and np.all(finite > 0):
                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))
                ax.xaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
            ax.axvline(1.0, color="0.5", lw=0.8, ls="--")
        elif scale not in ("mean", "r_squared"):
            ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
        ax.set_yticks(ypos)
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xlabel(f"{scale.replace('_', ' ')} (95% CI)")
        if len(df[df["scale"] == scale]) > MAX_ROWS:
            ax.set_title(f"first {MAX_ROWS} of {int((df['scale'] == scale).sum())} rows", fontsize=7)
    axes[0, 0].set_title(title if title else "", fontsize=9, loc="left")
    longest = max((len(t.get_text()) for ax in axes[:, 0] for t in ax.get_yticklabels()), default=10)
    fig.subplots_adjust(left=min(0.6, 0.02 + 0.0065 * longest), right=0.97, hspace=0.5)
    return fig
