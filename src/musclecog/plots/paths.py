"""Path diagrams with estimates on the arrows (mediation and path models), and change-score scatter plots.

:func:`path_figure` and :func:`change_figure` draw the results of :mod:`musclecog.mediation` (registered in
:data:`musclecog.plots.FIGURES` as ``path_diagram`` and ``change_scatter``); they read results and never fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from musclecog.mediation.results import ChangeCorrelationResult, MediationResult, PathResult
from musclecog.plots import new_figure


@dataclass(frozen=True)
class PathDiagram:
    """What a path diagram shows.

    Attributes
    ----------
    positions : mapping
        Node name -> (x, y) in data coordinates.
    edges : sequence of (from, to, label)
        Arrows with their labels (estimates, CIs).
    title : str
        Figure title.
    caption : str
        Text under the diagram (e.g. the indirect effects with their bootstrap CIs).
    """

    positions: Mapping[str, tuple[float, float]]
    edges: Sequence[tuple[str, str, str]]
    title: str = ""
    caption: str = ""
    highlight: frozenset[tuple[str, str]] = field(default_factory=frozenset)


def mediation_positions(
    exposure: str, mediators: Sequence[str], outcome: str, serial: bool
) -> dict[str, tuple[float, float]]:
    """Classic layout: exposure left, outcome right, mediators above (a row if serial; alternating above and
    below if parallel)."""
    k = len(mediators)
    step = 2.4
    pos: dict[str, tuple[float, float]] = {
        exposure: (0.0, 0.0),
        outcome: (step * (k + 1 if serial else 2), 0.0),
    }
    for i, m in enumerate(mediators):
        # parallel: mediators alternate above and below the X -> Y line, so no arrow crosses a box
        pos[m] = (step * (i + 1), 1.4) if serial else (step, 1.4 * (i // 2 + 1) * (1 if i % 2 == 0 else -1))
    return pos


def layered_positions(parents: Mapping[str, Sequence[str]]) -> dict[str, tuple[float, float]]:
    """Layer nodes by their longest distance from an exogenous node; spread each layer vertically."""
    nodes = list(dict.fromkeys([p for ps in parents.values() for p in ps] + list(parents)))
    depth: dict[str, int] = {}

    def d(node: str) -> int:
        if node not in depth:
            depth[node] = 0 if node not in parents else 1 + max(d(p) for p in parents[node])
        return depth[node]

    for node in nodes:
        d(node)
    pos: dict[str, tuple[float, float]] = {}
    for layer in sorted(set(depth.values())):
        members = [v for v in nodes if depth[v] == layer]
        offsets = np.linspace(-(len(members) - 1) / 2, (len(members) - 1) / 2, len(members)) * 1.3
        for v, off in zip(members, offsets, strict=True):
            pos[v] = (2.6 * layer, float(-off))
    return pos


def draw_path_diagram(diagram: PathDiagram) -> Any:
    """Draw a path diagram: boxed variable names and labelled arrows.

    Returns
    -------
    matplotlib Figure
    """
    xs = [p[0] for p in diagram.positions.values()]
    ys = [p[1] for p in diagram.positions.values()]
    width = max(6.0, 1.3 * (max(xs) - min(xs)) + 3.0)
    height = max(3.0, 1.3 * (max(ys) - min(ys)) + 2.4)
    fig, ax = new_figure(width, height)
    ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.7)
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.4", "fc": "#eef3f8", "ec": "#34495e"}
    for name, (x, y) in diagram.positions.items():
        ax.text(x, y, name, ha="center", va="center", bbox=box, fontsize=9, zorder=3)
    for frm, to, label in diagram.edges:
        (x0, y0), (x1, y1) = diagram.positions[frm], diagram.positions[to]
        # arrows that would cross an intermediate node bend a little
        crosses = any(
            abs((x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)) < 1e-9 and min(x0, x1) < px < max(x0, x1)
            for n, (px, py) in diagram.positions.items()
            if n not in (frm, to)
        )
        rad = 0.25 if crosses else 0.0
        colour = "#c0392b" if (frm, to) in diagram.highlight else "#34495e"
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": colour,
                "shrinkA": 22,
                "shrinkB": 22,
                "connectionstyle": f"arc3,rad={rad}",
                "lw": 1.3,
            },
            zorder=2,
        )
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        if rad:
            # the arc's midpoint lies off the straight line, perpendicular to it
            dx, dy = x1 - x0, y1 - y0
            mx, my = mx + rad * dy / 2, my - rad * dx / 2
        ax.text(
            mx,
            my,
            label,
            ha="center",
            va="center",
            fontsize=8,
            color=colour,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=4,
        )
    if diagram.title:
        ax.set_title(diagram.title, fontsize=10)
    if diagram.caption:
        fig.text(0.5, 0.01, diagram.caption, ha="center", va="bottom", fontsize=8, wrap=True)
    return fig


def change_scatter(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, str]], x_label: str, y_label: str, title: str = ""
) -> Any:
    """Scatter plots of two change scores, one panel per stratum, with the least-squares line.

    Parameters
    ----------
    panels : sequence of (stratum, x, y, annotation)
        The points of each panel and a text (e.g. ``r = -0.41 (-0.62 to -0.15)``).
    """
    fig, axes = new_figure(3.6 * len(panels), 3.4, ncols=len(panels), squeeze=False)
    for ax, (stratum, x, y, note) in zip(axes[0], panels, strict=True):
        ax.scatter(x, y, s=12, alpha=0.7, color="#2c7fb8")
        if len(x) >= 2 and np.ptp(x) > 0:
            slope, icept = np.polyfit(x, y, 1)
            grid = np.linspace(np.min(x), np.max(x), 50)
            ax.plot(grid, icept + slope * grid, color="#c0392b", lw=1.3)
        ax.set_title(f"{stratum}\n{note}", fontsize=9)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _estimate_text(est: float, lo: float, hi: float, sep: str = " ") -> str:
    return f"{est:.3g}{sep}({lo:.3g}, {hi:.3g})"


def path_diagram(result: PathResult) -> PathDiagram:
    """What the diagram of a fitted mediation or path model shows: the layout (exposure left, outcome right,
    mediators above/below for mediation; layers by causal depth for path models), the path coefficients with
    their CIs on the arrows, and the indirect effects underneath."""
    if isinstance(result, MediationResult):
        positions = mediation_positions(result.exposure, result.mediators, result.outcome, result.serial)
    else:
        positions = layered_positions(result.parents)
    edges = [
        (
            e.source,
            e.target,
            (f"{e.name} = " if e.name else "") + _estimate_text(e.estimate, e.conf_low, e.conf_high, "\n"),
        )
        for e in result.edges
    ]
    lines = [f"{e.label} = {_estimate_text(e.estimate, e.conf_low, e.conf_high)}" for e in result.effects]
    if isinstance(result, MediationResult) and lines:
        lines[-1] += f"; n = {result.n}"
    return PathDiagram(positions=positions, edges=edges, title=result.title, caption="\n".join(lines))


def path_figure(result: PathResult) -> Any:
    """The path diagram of a mediation or path-model result (:func:`path_diagram`).

    Returns
    -------
    matplotlib Figure
    """
    return draw_path_diagram(path_diagram(result))


def change_figure(result: ChangeCorrelationResult) -> Any:
    """Scatter of the two change scores per stratum (arm) with the least-squares line and the correlation.

    Returns
    -------
    matplotlib Figure
    """
    panels = [
        (p.stratum, p.x, p.y, f"r = {p.estimate:.3f} ({p.conf_low:.2f}, {p.conf_high:.2f}), n = {p.n}")
        for p in result.panels
    ]
    return change_scatter(panels, result.x, result.y, result.title)
