"""Figures. One module per kind of figure (``forest``, ``paths``, ``trajectories``, ``survival``, ``mr``,
``reproduction``); this package owns the shared style and the deterministic writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "musclecog",
}


def new_figure(width: float = 6.0, height: float = 4.0, **kwargs: Any) -> tuple[Any, Any]:
    """A figure and axes in the package style (``plt.subplots`` arguments pass through)."""
    with plt.rc_context(STYLE):
        return plt.subplots(figsize=(width, height), **kwargs)


def save_figure(fig: Any, path: str | Path) -> None:
    """Write a figure as PNG (and SVG next to it when ``path`` ends in .svg), without volatile metadata,
    and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(STYLE):
        fig.savefig(path, metadata={"Software": None} if path.suffix == ".png" else {"Date": None}, bbox_inches="tight")
    plt.close(fig)
