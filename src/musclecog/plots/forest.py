"""Forest plots: one point with its 95% CI per estimate of an analysis result, coloured by stratum.

One panel per ``scale`` (at most four); ratio scales (odds/hazard/risk ratio) on a log axis with a
reference line at 1, other scales with a line at 0. Estimates without a value (notes) are listed as
"not estimable" so that nothing disappears silently. :func:`forest_figure` reads the result object
(its ``estimates``, ``title`` and, where it has them, ``plot_scales``), never the tidy table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.ticker import FormatStrFormatter

from musclecog.core.results import RATIO_SCALES, AnalysisResult, Estimate
from musclecog.plots import new_figure

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


def _label(e: Estimate, multi: dict[str, bool]) -> str:
    parts = []
    if multi["outcome"]:
        parts.append(e.outcome)
    if multi["exposure"] and not e.term.startswith(e.exposure):
        parts.append(e.exposure)
    parts.append(e.term)
    if multi["method"]:
        parts.append(short_method(e.method))
    return " | ".join(parts)


def panel_scales(estimates: Sequence[Estimate], scales: Sequence[str] | None = None) -> list[str]:
    """The scales drawn, one panel each (at most four): ``scales`` where present, else every scale but
    means, SDs and test statistics (the means if nothing else)."""
    present = list(dict.fromkeys(e.scale for e in estimates))
    if not scales:
        scales = [s for s in present if s not in _NO_PLOT] or [s for s in present if s == "mean"]
    return [s for s in scales if s in present][:4]


def forest_figure(result: AnalysisResult) -> Any:
    """Draw the forest plot of an analysis result.

    Parameters
    ----------
    result : AnalysisResult
        Its ``estimates`` are drawn with their CIs, titled ``result.title``; a result with a
        ``plot_scales`` attribute (the cross-sectional results) chooses the panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return forest_plot(result.estimates, result.title, getattr(result, "plot_scales", None))


def forest_plot(estimates: Sequence[Estimate], title: str = "", scales: Sequence[str] | None = None) -> Any:
    """Draw a forest plot of estimates (see :func:`forest_figure`; ``scales`` as :func:`panel_scales`)."""
    panels = panel_scales(estimates, scales)
    if not panels:
        fig, ax = new_figure(6, 2)
        ax.axis("off")
        ax.text(0.5, 0.5, "no estimates to plot", ha="center", va="center")
        ax.set_title(title)
        return fig
    by_scale = {s: [e for e in estimates if e.scale == s] for s in panels}
    heights = [min(MAX_ROWS, len(by_scale[s])) for s in panels]
    fig, axes = new_figure(
        8.0,
        1.2 + 0.28 * sum(heights) + 0.6 * len(panels),
        nrows=len(panels),
        squeeze=False,
        gridspec_kw={"height_ratios": [max(h, 1) for h in heights]},
    )
    for ax, scale in zip(axes[:, 0], panels, strict=True):
        _panel(ax, scale, by_scale[scale])
    axes[0, 0].set_title(title if title else "", fontsize=9, loc="left")
    longest = max((len(t.get_text()) for ax in axes[:, 0] for t in ax.get_yticklabels()), default=10)
    fig.subplots_adjust(left=min(0.6, 0.02 + 0.0065 * longest), right=0.97, hspace=0.5)
    return fig


def _panel(ax: Any, scale: str, rows: Sequence[Estimate]) -> None:
    sub = list(rows[:MAX_ROWS])
    multi = {c: len({getattr(e, c) for e in sub}) > 1 for c in ("outcome", "exposure", "method")}
    ypos = np.arange(len(sub))[::-1]
    est = np.array([e.estimate for e in sub], float)
    lo = np.array([e.conf_low for e in sub], float)
    hi = np.array([e.conf_high for e in sub], float)
    ok = np.isfinite(est)
    strata = list(dict.fromkeys(e.stratum for e in sub))
    colours = {s: f"C{i % 10}" for i, s in enumerate(strata)}
    for i in np.flatnonzero(ok):
        c = colours[sub[i].stratum]
        if math.isfinite(lo[i]) and math.isfinite(hi[i]):
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
    if scale in RATIO_SCALES:
        finite = np.concatenate([est[ok], lo[ok & np.isfinite(lo)], hi[ok & np.isfinite(hi)]])
        if finite.size and np.all(finite > 0):
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))
            ax.xaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
        ax.axvline(1.0, color="0.5", lw=0.8, ls="--")
    elif scale not in ("mean", "r_squared"):
        ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(ypos)
    ax.set_yticklabels([_label(e, multi) for e in sub], fontsize=7)
    ax.set_xlabel(f"{scale.replace('_', ' ')} (95% CI)")
    if len(rows) > MAX_ROWS:
        ax.set_title(f"first {MAX_ROWS} of {len(rows)} rows", fontsize=7)
