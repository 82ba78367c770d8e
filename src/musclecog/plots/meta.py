"""Meta-analysis figures: a forest plot (studies, fixed- and random-effects diamonds, prediction interval)
beside a funnel plot (estimate against its SE, with the pseudo 95% limits around the fixed-effect or,
without it, the random-effects estimate). Reads a :class:`musclecog.meta.analysis.MetaAnalysisResult`."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from musclecog.core.inference import critical_value
from musclecog.core.results import RATIO_SCALES
from musclecog.plots import new_figure

Z = critical_value(0.95, None)


def meta_figure(result: Any) -> Any:
    """Forest and funnel plots of a meta-analysis result (ratios on a log axis)."""
    k = len(result.yi)
    fig, (forest, funnel) = new_figure(9.0, max(3.0, 0.28 * (k + 4) + 1.0), ncols=2, width_ratios=[1.6, 1.0])
    ratio = result.scale in RATIO_SCALES
    f = np.exp if ratio else (lambda a: np.asarray(a))
    yi, sei = np.asarray(result.yi), np.asarray(result.sei)
    rows = np.arange(k)[::-1] + 3
    forest.hlines(rows, f(yi - Z * sei), f(yi + Z * sei), color="0.3", lw=1)
    sizes = 10 + 4 * np.asarray(result.weights)
    forest.scatter(f(yi), rows, s=sizes, marker="s", color="0.2", zorder=3)
    mu, lo, hi, pi_lo, pi_hi = result.pooled
    _diamond(forest, f, mu, lo, hi, 1.0, "tab:red")
    forest.hlines(1.0, f(pi_lo), f(pi_hi), color="tab:red", lw=1, linestyle=":")
    labels = [*result.labels, "", result.method]
    ticks = [*rows, 2.0, 1.0]
    if result.fixed:
        fe_mu, fe_lo, fe_hi = result.fixed
        _diamond(forest, f, fe_mu, fe_lo, fe_hi, 2.0, "tab:blue")
        labels[-2] = "fixed effect"
    forest.set_yticks(ticks, labels)
    forest.axvline(1.0 if ratio else 0.0, color="0.5", lw=0.8)
    if ratio:
        forest.set_xscale("log")
    forest.set_xlabel(result.scale.replace("_", " ") + " (95% CI; dotted: prediction interval)")
    forest.set_title(result.title, fontsize=9, loc="left")
    centre = result.fixed[0] if result.fixed else mu
    se_max = float(sei.max()) * 1.05
    grid = np.linspace(0, se_max, 50)
    funnel.plot(f(centre - Z * grid), grid, color="0.5", lw=0.8, linestyle="--")
    funnel.plot(f(centre + Z * grid), grid, color="0.5", lw=0.8, linestyle="--")
    funnel.axvline(f(centre), color="0.5", lw=0.8)
    funnel.scatter(f(yi), sei, color="0.2", s=14, zorder=3)
    funnel.set_ylim(se_max, 0)
    if ratio:
        funnel.set_xscale("log")
        for ax in (forest, funnel):
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(NullFormatter())
    funnel.set_xlabel(result.scale.replace("_", " "))
    funnel.set_ylabel("standard error")
    funnel.set_title("funnel plot (pseudo 95% limits)", fontsize=9, loc="left")
    return fig


def _diamond(ax: Any, f: Any, mu: float, lo: float, hi: float, y: float, colour: str) -> None:
    xs = f(np.array([lo, mu, hi, mu]))
    ax.fill(xs, [y, y + 0.3, y, y - 0.3], color=colour, zorder=3)
