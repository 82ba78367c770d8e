"""Ticks of ratio axes (odds, hazard and risk ratios on a log scale): nice values that print exactly."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

NICE_RATIOS = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0])
"""Ticks of a wide ratio axis (in reciprocal pairs, so symmetric on the log scale about 1; each prints exactly)."""
WIDE_RATIOS = np.array([0.01, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0])
DECADES = 10.0 ** np.arange(-6, 7)


def ratio_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Ticks and their labels for a ratio axis spanning ``[low, high]`` (both > 0), always including 1
    when in range: the nice ratios of :data:`NICE_RATIOS` (fewer on a very wide axis: at most 8 ticks), evenly spaced values on a
    narrow one, each printed exactly (so labels never repeat: never "1, 1, 1.01")."""
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= 0:
        raise ValueError(f"ratio axis needs positive finite limits, got {low}, {high}")
    lo, hi = min(low, high, 1.0), max(low, high, 1.0)
    for keep in (NICE_RATIOS, WIDE_RATIOS, DECADES):
        ticks = keep[(keep >= lo) & (keep <= hi)]
        if len(ticks) <= 8:
            break
    if len(ticks) < 3:
        raw = np.asarray(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]).tick_values(lo, hi), float)
        ticks = np.unique(np.round(np.concatenate([raw[(raw >= lo) & (raw <= hi)], [1.0]]), 10))
    return [float(t) for t in ticks], [f"{t:.10g}" for t in ticks]
