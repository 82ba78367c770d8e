"""Forest plots: one point with its 95% CI per estimate of an analysis result.

Structure, so that a reader never parses a long concatenated label:

* one panel (axis) per ``scale``, and interaction terms (``a:b``) in a panel of their own, so that main
  effects and effect modification are never read on one axis; intercepts are not drawn;
* rows grouped under bold headings by outcome and stratum (when there is more than one of either); each row
  is the term in words from the variable dictionary (``Grip strength, per SD (11 kg)``);
* the model (the ``method`` column, shortened) as colour and marker with a legend when there is more than one;
* the estimate and its CI printed in a column to the right;
* ratio scales (odds/hazard/risk ratio) on a log axis with ticks from :func:`musclecog.labels.ratio_ticks`
  and a reference line at 1, other scales with a line at 0; the x label names the scale and the outcome with
  its unit.

Estimates without a value (notes) are listed as "not estimable" so that nothing disappears silently.
:func:`forest_figure` reads the result object (its ``estimates``, ``fits`` for the design codings, ``title``
and, where it has them, ``plot_scales``), never the tidy table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.ticker import FixedLocator, NullLocator

from musclecog.core.design import Coding
from musclecog.core.results import RATIO_SCALES, AnalysisResult, Estimate
from musclecog.labels import (
    estimate_label,
    plain_label,
    quantity_label,
    scale_label,
    stratum_words,
)
from musclecog.plots import new_figure
from musclecog.plots.ticks import ratio_ticks

_NO_PLOT = frozenset(
    {"sd", "mean", "f_statistic", "chi_squared", "test", "count", "variance", "log_likelihood", "concordance"}
)
_INTERCEPTS = frozenset({"Intercept", "(Intercept)"})
MAX_ROWS = 60
MARKERS = ("s", "o", "D", "^", "v", "P", "X", "*")


def short_method(method: str) -> str:
    """A compact method label for legends (the full text stays in the table)."""
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


@dataclass(frozen=True)
class Panel:
    """One axis of a forest plot: a scale, whether it holds interaction terms, and its estimates."""

    scale: str
    interaction: bool
    estimates: tuple[Estimate, ...]

    @property
    def key(self) -> str:
        """``"odds_ratio"`` or ``"odds_ratio, interactions"``."""
        return f"{self.scale}, interactions" if self.interaction else self.scale


def _is_interaction(e: Estimate) -> bool:
    return ":" in e.term and e.scale not in ("count",)


def panel_scales(estimates: Sequence[Estimate], scales: Sequence[str] | None = None) -> list[str]:
    """The scales drawn (at most four): ``scales`` where present, else every scale but means, SDs, variance
    components and test statistics (the means if nothing else)."""
    present = list(dict.fromkeys(e.scale for e in estimates if e.term not in _INTERCEPTS))
    if not scales:
        scales = [s for s in present if s not in _NO_PLOT] or [s for s in present if s == "mean"]
    return [s for s in scales if s in present][:4]


def forest_panels(estimates: Sequence[Estimate], scales: Sequence[str] | None = None) -> list[Panel]:
    """The panels of a forest plot: per drawn scale, main effects and (if any) interactions apart."""
    out = []
    for scale in panel_scales(estimates, scales):
        rows = [e for e in estimates if e.scale == scale and e.term not in _INTERCEPTS]
        main = tuple(e for e in rows if not _is_interaction(e))
        inter = tuple(e for e in rows if _is_interaction(e))
        out += [Panel(scale, False, main)] if main else []
        out += [Panel(scale, True, inter)] if inter else []
    return out


def _codings(result: AnalysisResult) -> dict[str, Coding]:
    out: dict[str, Coding] = {}
    for fit in result.fits.values():
        for var, coding in fit.codings.items():
            for col in coding.columns:
                out.setdefault(col, coding)
            out.setdefault(var, coding)
    return out


def forest_figure(result: AnalysisResult) -> Any:
    """Draw the forest plot of an analysis result.

    Parameters
    ----------
    result : AnalysisResult
        Its ``estimates`` are drawn with their CIs, titled ``result.title``; a result with a
        ``plot_scales`` attribute (the cross-sectional results) chooses the scales.

    Returns
    -------
    matplotlib.figure.Figure
        One axis per :func:`forest_panels` panel; each axis's ``gid`` is the panel key.
    """
    return forest_plot(result.estimates, result.title, getattr(result, "plot_scales", None), _codings(result))


@dataclass(frozen=True)
class _Row:
    label: str
    estimate: Estimate | None  # None: a group heading


def _group_key(e: Estimate, multi: Mapping[str, bool]) -> str:
    parts = []
    if multi["outcome"]:
        parts.append(quantity_label(e.outcome))
    if multi["exposure"]:
        parts.append(f"exposure: {plain_label(e.exposure)}")
    if multi["stratum"]:
        parts.append(stratum_words(e.stratum))
    return "; ".join(parts)


def panel_rows(panel: Panel, codings: Mapping[str, Coding] | None = None) -> list[_Row]:
    """The rows of a panel top to bottom: group headings (outcome, exposure, stratum when several) and
    one row per estimate (at most :data:`MAX_ROWS` estimates), labelled by its term; where a group's rows
    share one term (models of one exposure), the term joins the heading and each row names its model."""
    sub = list(panel.estimates[:MAX_ROWS])
    multi = {c: len({getattr(e, c) for e in sub}) > 1 for c in ("outcome", "exposure", "stratum")}
    groups: dict[str, list[Estimate]] = {}
    for e in sub:
        groups.setdefault(_group_key(e, multi), []).append(e)
    rows: list[_Row] = []
    for key, members in groups.items():
        one_term = len(members) > 1 and len({e.term for e in members}) == 1
        if one_term:  # the rows differ by model only: the term goes in the heading, the model labels the row
            term = estimate_label(members[0], codings)
            rest = _group_key(members[0], {**multi, "exposure": False})  # the term names the exposure
            rows.append(_Row(f"{term}; {rest}" if rest else term, None))
            rows += [_Row(short_method(e.method), e) for e in members]
            continue
        if key:
            rows.append(_Row(key, None))
        rows += [_Row(estimate_label(e, codings), e) for e in members]
    return rows


def forest_plot(
    estimates: Sequence[Estimate],
    title: str = "",
    scales: Sequence[str] | None = None,
    codings: Mapping[str, Coding] | None = None,
) -> Any:
    """Draw a forest plot of estimates (see :func:`forest_figure`; ``scales`` as :func:`panel_scales`)."""
    panels = forest_panels(estimates, scales)
    if not panels:
        fig, ax = new_figure(6, 2)
        ax.axis("off")
        ax.text(0.5, 0.5, "no estimates to plot", ha="center", va="center")
        ax.set_title(title)
        return fig
    rows = [panel_rows(p, codings) for p in panels]
    heights = [max(len(r), 1) for r in rows]
    methods = list(dict.fromkeys(e.method for p in panels for e in p.estimates[:MAX_ROWS]))
    fig, axes = new_figure(
        8.5,
        1.0 + 0.26 * sum(heights) + 0.75 * len(panels) + (0.25 * len(methods) if len(methods) > 1 else 0),
        nrows=len(panels),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    style = {m: (f"C{i % 10}", MARKERS[i % len(MARKERS)]) for i, m in enumerate(methods)}
    for ax, panel, prow in zip(axes[:, 0], panels, rows, strict=True):
        _panel(ax, panel, prow, style)
    if title:
        fig.suptitle(title, fontsize=9, x=0.02, ha="left")
    if len(methods) > 1:
        handles = [
            axes[0, 0].plot([], [], style[m][1], color=style[m][0], ms=4, label=short_method(m))[0] for m in methods
        ]
        fig.legend(handles=handles, title="model", loc="lower center", ncol=min(2, len(methods)), fontsize=7,
                   title_fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.0))
    longest = max((len(r.label) for pr in rows for r in pr), default=10)
    bottom = min(0.3, 0.03 + 0.05 * len(methods) / max(1.0, sum(heights) / 10)) if len(methods) > 1 else 0.06
    fig.subplots_adjust(left=min(0.55, 0.03 + 0.0062 * longest), right=0.8, hspace=0.6, bottom=bottom, top=0.93)
    return fig


def _panel(ax: Any, panel: Panel, rows: Sequence[_Row], style: Mapping[str, tuple[str, str]]) -> None:
    ax.set_gid(panel.key)
    ypos = np.arange(len(rows))[::-1].astype(float)
    values: list[float] = []
    for y, row in zip(ypos, rows, strict=True):
        e = row.estimate
        if e is None:
            continue
        colour, marker = style[e.method]
        if not math.isfinite(e.estimate):
            ax.text(0.02, y, "not estimable (see note)", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=7, color="0.4")
            continue
        if math.isfinite(e.conf_low) and math.isfinite(e.conf_high):
            ax.plot([e.conf_low, e.conf_high], [y, y], color=colour, lw=1.2)
            values += [e.conf_low, e.conf_high]
        ax.plot(e.estimate, y, marker, color=colour, ms=4)
        values.append(e.estimate)
        ax.text(1.02, y, _ci_text(e), transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    _x_axis(ax, panel.scale, np.array(values, float))
    ax.set_yticks(ypos)
    ax.set_yticklabels([r.label for r in rows], fontsize=7)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.estimate is None:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    outcomes = {e.outcome for e in panel.estimates}
    ax.set_xlabel(scale_label(panel.scale, outcomes.pop() if len(outcomes) == 1 else None))
    name = "Interaction terms" if panel.interaction else ""
    if len(panel.estimates) > MAX_ROWS:
        name = f"{name + ': ' if name else ''}first {MAX_ROWS} of {len(panel.estimates)} rows"
    if name:
        ax.set_title(name, fontsize=8, loc="left")


def _ci_text(e: Estimate) -> str:
    if not (math.isfinite(e.conf_low) and math.isfinite(e.conf_high)):
        return f"{e.estimate:.2f}"
    return f"{e.estimate:.2f} ({e.conf_low:.2f}, {e.conf_high:.2f})"


def _x_axis(ax: Any, scale: str, values: np.ndarray) -> None:
    finite = values[np.isfinite(values)]
    if scale in RATIO_SCALES:
        if finite.size and np.all(finite > 0):
            ax.set_xscale("log")
            ticks, labels = ratio_ticks(float(finite.min()), float(finite.max()))
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.set_xticklabels(labels)
            ax.xaxis.set_minor_locator(NullLocator())
            lo, hi = min(ticks[0], finite.min()), max(ticks[-1], finite.max())
            ax.set_xlim(lo / 1.05, hi * 1.05)
        ax.axvline(1.0, color="0.5", lw=0.8, ls="--")
    elif scale not in ("mean", "r_squared"):
        ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
