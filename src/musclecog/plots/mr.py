"""Two-sample MR figures, after TwoSampleMR's ``mr_scatter_plot``, ``mr_forest_plot``,
``mr_funnel_plot`` and ``mr_leaveoneout_plot``; and the one-sample MR first/second-stage figure.

The four pair figures are drawn from :class:`PairFigureData`: taken from a pair's result in memory
(:func:`figure_data`) or read back from the tables the pair job wrote (:func:`read_figure_data`: rule
``mr_figures`` draws every pair of a run in one job, so that a pair job writes only tables).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from musclecog.errors import DataError
from musclecog.plots import new_figure, save_figure
from musclecog.results import read_table
from musclecog.variables import load_dictionary, variable_label

if TYPE_CHECKING:
    from musclecog.mr.analysis import MRResult
    from musclecog.mr.onesample import OneSampleMRResult

Z_95 = 1.9599639845400545
"""The two-sided 95% normal quantile as the figures have always computed it, ``scipy.stats.norm.isf(0.025)`` =
``-ndtri(0.025)`` to the last bit (a literal, so that the figure job does not import scipy;
``tests/unit/test_mr_figures.py`` checks it)."""

_LINE_METHODS = (
    "Inverse variance weighted",
    "MR Egger",
    "Weighted median",
    "Simple median",
    "Penalised weighted median",
    "Weighted mode",
    "Simple mode",
    "MR-PRESSO (outlier-corrected)",
)


@dataclass(frozen=True)
class PairFigureData:
    """What the four figures of a pair show: the instruments used (harmonised rows with ``mr_keep``; TwoSampleMR
    columns, ``units.<side>`` where known), each estimable method's estimate in table order (one per label),
    the MR-Egger intercept, the single-variant and leave-one-out tables, and whether the outcome is binary."""

    exposure: str
    outcome: str
    data: pd.DataFrame
    lines: tuple[tuple[str, float], ...]
    egger_intercept: float
    single_snp: pd.DataFrame
    leave_one_out: pd.DataFrame
    binary_outcome: bool = False


def _first_per_method(methods: list[str], b: np.ndarray) -> tuple[tuple[str, float], ...]:
    """The estimable methods (finite estimate), the first row of each label, in table order."""
    seen: dict[str, float] = {}
    for method, value in zip(methods, b, strict=True):
        if np.isfinite(value) and method not in seen:
            seen[method] = float(value)
    return tuple(seen.items())


def _intercept(pleiotropy: pd.DataFrame) -> float:
    if "egger_intercept" in pleiotropy.columns and len(pleiotropy):
        return float(pleiotropy["egger_intercept"].iloc[0])
    return float("nan")


def figure_data(result: MRResult) -> PairFigureData:
    """The figure data of a pair's result in memory (:func:`musclecog.mr.analysis.run_mr`)."""
    lines = _first_per_method([fit.method for fit in result.methods], np.array([fit.b for fit in result.methods],
                                                                                  float))
    return PairFigureData(exposure=result.exposure, outcome=result.outcome, data=result.data, lines=lines,
                          egger_intercept=_intercept(result.pleiotropy), single_snp=result.single_snp,
                          leave_one_out=result.leave_one_out, binary_outcome=result.binary_outcome)


FIGURE_TABLES = ("harmonised", "estimates", "pleiotropy", "single_snp", "leave_one_out")
"""The tables of a pair (``results/mr/{pair}/<name>.tsv``) that :func:`read_figure_data` reads."""

_NEEDED = {
    "harmonised": ("SNP", "beta.exposure", "se.exposure", "beta.outcome", "se.outcome"),
    "estimates": ("method", "exposure", "outcome", "term", "scale", "estimate"),
    "pleiotropy": (),
    "single_snp": ("SNP", "b", "se"),
    "leave_one_out": ("SNP", "b", "se"),
}
_TEXT = ("SNP", "method", "exposure", "outcome", "term", "scale", "units.exposure", "units.outcome")
"""Columns read as text (an id such as ``12345`` stays ``"12345"``)."""


def read_figure_data(tables: Mapping[str, str | Path]) -> PairFigureData:
    """The figure data of a pair from the tables its job wrote (keys of :data:`FIGURE_TABLES`).

    The tables hold every number to 12 significant digits, far below a pixel of a 300-dpi figure: the figures
    are the bytes drawn from the result in memory (``tests/unit/test_mr_figures.py``).

    Raises
    ------
    DataError
        A table is not given, lacks a column the figures need, or the estimates table is empty.
    """
    missing = [name for name in FIGURE_TABLES if name not in tables]
    if missing:
        raise DataError(f"MR figures: the pair's tables {missing} are not given (tables of rule mr_pair)")
    frames: dict[str, pd.DataFrame] = {}
    for name in FIGURE_TABLES:
        frame = read_table(tables[name], text=_TEXT)
        lacking = [c for c in _NEEDED[name] if c not in frame.columns]
        if lacking:
            raise DataError(f"MR figures: {tables[name]} lacks the columns {lacking}; rerun the pair's job "
                            "(rule mr_pair) to write it again")
        frames[name] = frame
    harmonised, estimates = frames["harmonised"], frames["estimates"]
    if estimates.empty:
        raise DataError(f"MR figures: {tables['estimates']} has no rows; rerun the pair's job (rule mr_pair)")
    if "mr_keep" in harmonised.columns:
        harmonised = harmonised.loc[harmonised["mr_keep"].astype(bool)].reset_index(drop=True)
    beta = estimates[(estimates["scale"] == "beta") & (estimates["term"] == "causal_effect")]
    return PairFigureData(
        exposure=str(estimates["exposure"].iloc[0]), outcome=str(estimates["outcome"].iloc[0]), data=harmonised,
        lines=_first_per_method(beta["method"].tolist(), beta["estimate"].to_numpy(float)),
        egger_intercept=_intercept(frames["pleiotropy"]), single_snp=frames["single_snp"],
        leave_one_out=frames["leave_one_out"], binary_outcome=bool((estimates["scale"] == "odds_ratio").any()),
    )


def _as_figure_data(result: MRResult | PairFigureData) -> PairFigureData:
    return result if isinstance(result, PairFigureData) else figure_data(result)


def trait_unit(result: MRResult | PairFigureData, side: str) -> str:
    """The unit of a trait's GWAS effects: the harmonised ``units.<side>`` column (``SD``, ``log odds``,
    ...), ``log odds`` for a binary outcome, else ``trait units``."""
    units = result.data.get(f"units.{side}") if isinstance(result.data, pd.DataFrame) else None
    if units is not None:
        values = units.dropna().astype(str).str.strip()
        values = values[values != ""]
        if len(values):
            return str(values.iloc[0])
    if side == "outcome" and result.binary_outcome:
        return "log odds"
    return "trait units"


def _name(trait: str) -> str:
    return variable_label(trait, unit=False) if trait in load_dictionary() else trait


def snp_axis(result: MRResult | PairFigureData, side: str) -> str:
    """``"SNP effect on Grip strength (SD per effect allele)"``."""
    trait = result.exposure if side == "exposure" else result.outcome
    return f"SNP effect on {_name(trait)} ({trait_unit(result, side)} per effect allele)"


def effect_axis(result: MRResult | PairFigureData, what: str = "MR effect") -> str:
    """``"MR effect of X on Y (log odds per SD)"``: outcome units per unit of the exposure."""
    return (f"{what} of {_name(result.exposure)} on {_name(result.outcome)} "
            f"({trait_unit(result, 'outcome')} per {trait_unit(result, 'exposure')})")


def scatter(result: MRResult | PairFigureData) -> Any:
    """SNP-outcome against SNP-exposure associations (oriented so that the exposure effect is positive),
    with 95% error bars and one line per method (MR-Egger with its intercept)."""
    result = _as_figure_data(result)
    dat = result.data
    bx, by = dat["beta.exposure"].to_numpy(float), dat["beta.outcome"].to_numpy(float)
    sx, sy = dat["se.exposure"].to_numpy(float), dat["se.outcome"].to_numpy(float)
    sign = np.where(bx < 0, -1.0, 1.0)
    bx, by = bx * sign, by * sign
    fig, ax = new_figure(6.0, 4.5)
    z = Z_95
    ax.errorbar(bx, by, xerr=z * sx, yerr=z * sy, fmt="o", ms=3, color="0.3", ecolor="0.75", lw=0.7, zorder=2)
    xs = np.array([0.0, float(np.max(bx + z * sx)) if bx.size else 1.0])
    intercept = result.egger_intercept
    for i, (method, b) in enumerate(result.lines):
        if method not in _LINE_METHODS and method != "Wald ratio":
            continue
        a = intercept if method == "MR Egger" and np.isfinite(intercept) else 0.0
        ax.plot(xs, a + b * xs, lw=1.2, color=f"C{i % 10}", label=f"{method} ({b:.3g})")
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.set_xlabel(snp_axis(result, "exposure"))
    ax.set_ylabel(snp_axis(result, "outcome"))
    ax.set_title(f"{result.exposure} \u2192 {result.outcome}: {bx.size} instruments")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False, loc="best")
    return fig


def _forest(ax: Any, labels: list[str], b: np.ndarray, se: np.ndarray, highlight: set[str], xlabel: str) -> None:
    z = Z_95
    ypos = np.arange(len(labels))[::-1]
    colours = ["C3" if lab in highlight else "0.25" for lab in labels]
    ax.errorbar(b, ypos, xerr=z * se, fmt="none", ecolor=colours, lw=0.8)
    ax.scatter(b, ypos, c=colours, s=10, zorder=3)
    ax.axvline(0, color="0.6", lw=0.6, ls="--")
    ax.set_yticks(ypos)
    ax.set_yticklabels(labels, fontsize=6 if len(labels) > 40 else 7)
    ax.set_xlabel(xlabel)


def forest(result: MRResult | PairFigureData) -> Any:
    """Single-variant Wald ratios with 95% CIs, then the all-variant IVW and MR-Egger estimates."""
    result = _as_figure_data(result)
    ss = result.single_snp.dropna(subset=["b"])
    is_all = ss["SNP"].astype(str).str.startswith("All - ")
    ss = pd.concat([ss[~is_all].sort_values("b", kind="stable"), ss[is_all]])  # sorted as mr_forest_plot
    n = len(ss)
    fig, ax = new_figure(5.5, max(2.5, 0.14 * n + 1.0))
    labels = ss["SNP"].astype(str).tolist()
    _forest(ax, labels, ss["b"].to_numpy(float), ss["se"].to_numpy(float),
            {lab for lab in labels if lab.startswith("All - ")}, effect_axis(result))
    ax.set_title("Single-variant estimates")
    return fig


def funnel(result: MRResult | PairFigureData) -> Any:
    """Precision of each Wald ratio (1/se) against the ratio, with the IVW and MR-Egger estimates."""
    result = _as_figure_data(result)
    ss = result.single_snp
    single = ss[~ss["SNP"].astype(str).str.startswith("All - ")]
    fig, ax = new_figure(5.0, 4.0)
    ax.scatter(single["b"], 1.0 / single["se"], s=12, color="0.3")
    lines = dict(result.lines)
    for i, method in enumerate(("Inverse variance weighted", "MR Egger", "Weighted median", "Weighted mode")):
        if method in lines:
            ax.axvline(lines[method], color=f"C{i}", lw=1.0, label=method)
    ax.set_xlabel(effect_axis(result, "Wald ratio"))
    ax.set_ylabel("Precision of the Wald ratio, 1/SE")
    ax.set_title("Funnel plot")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False)
    return fig


def leave_one_out(result: MRResult | PairFigureData) -> Any:
    """IVW estimate leaving out each variant in turn, and with all variants."""
    result = _as_figure_data(result)
    loo = result.leave_one_out
    if loo.empty:
        fig, ax = new_figure(4.0, 2.0)
        ax.text(0.5, 0.5, "leave-one-out needs at least 3 instruments", ha="center", va="center")
        ax.set_axis_off()
        return fig
    fig, ax = new_figure(5.5, max(2.5, 0.14 * len(loo) + 1.0))
    labels = loo["SNP"].astype(str).tolist()
    _forest(ax, labels, loo["b"].to_numpy(float), loo["se"].to_numpy(float), {"All"},
            effect_axis(result, "IVW effect") + ", leaving out the variant")
    ax.set_title("Leave-one-out")
    return fig


def all_figures(result: MRResult | PairFigureData) -> dict[str, Any]:
    """The four figures of a pair, keyed ``scatter, forest, funnel, leave_one_out``."""
    result = _as_figure_data(result)
    return {name: draw(result) for name, draw in _FIGURE_FUNCTIONS.items()}


_FIGURE_FUNCTIONS = {"scatter": scatter, "forest": forest, "funnel": funnel, "leave_one_out": leave_one_out}
"""The four figures of a pair, in the order of :func:`all_figures`."""


_HEAVIEST_FIRST = ("forest", "leave_one_out", "scatter", "funnel")
"""The pair figures by drawing time (the forest and leave-one-out plots have a row per instrument)."""

_TASKS: list[tuple[PairFigureData, str, Path]] = []
"""The figures :func:`write_pair_figures` hands to its worker processes (inherited when they fork)."""


def _draw_task(k: int) -> None:
    data, name, path = _TASKS[k]
    save_figure(_FIGURE_FUNCTIONS[name](data), path)


def write_pair_figures(tables: Mapping[str, Mapping[str, str | Path]], figures: Mapping[str, Mapping[str, str | Path]],
                       processes: int = 1) -> dict[str, int]:
    """Read each pair's tables (:func:`read_figure_data`) and write its four figures (:func:`save_figure`).

    ``tables[pair]`` maps :data:`FIGURE_TABLES` to paths, ``figures[pair]`` the figure names of
    :func:`all_figures` to output paths. With ``processes`` > 1 the figures are drawn by that many worker
    processes forked after the tables are read (each figure is drawn and written by one worker, the tallest
    first), so that the figures of a run take about 1/processes of the time on as many cores; the files are the
    same bytes. Returns the number of instruments of each pair.
    """
    tasks: list[tuple[PairFigureData, str, Path]] = []
    used: dict[str, int] = {}
    for pair in tables:
        data = read_figure_data(tables[pair])
        used[pair] = len(data.data)
        tasks += [(data, name, Path(figures[pair][name])) for name in _HEAVIEST_FIRST]
    tasks.sort(key=lambda t: _HEAVIEST_FIRST.index(t[1]))
    _TASKS[:] = tasks
    try:
        if processes > 1 and len(tasks) > 1:
            with multiprocessing.get_context("fork").Pool(min(processes, len(tasks))) as pool:
                pool.map(_draw_task, range(len(tasks)), chunksize=1)
        else:
            for k in range(len(tasks)):
                _draw_task(k)
    finally:
        _TASKS.clear()
    return used


def _one_sample_axis(result: OneSampleMRResult) -> str:
    """The outcome's unit per the exposure's (from the variable dictionary)."""
    d = load_dictionary()
    out = d[result.outcome].unit if result.outcome in d else ""
    exp = d[result.exposure].unit if result.exposure in d else ""
    per = f" ({out or 'outcome units'} per {exp or 'exposure unit'})"
    return f"Effect of {_name(result.exposure)} on {_name(result.outcome)}{per}"


def one_sample(result: OneSampleMRResult) -> Any:
    """One-sample MR: observational (OLS) and 2SLS estimates with 95% CIs, annotated with the first-stage F."""
    labels = [m for m in ("2SLS", "OLS (observational)") if m in result.fits]
    b = np.array([float(result.fits[m].params[result.exposure]) for m in labels])
    se = np.array([float(result.fits[m].std_errors[result.exposure]) for m in labels])
    fig, ax = new_figure(5.5, 2.5)
    _forest(ax, labels, b, se, {m for m in labels if "2SLS" in m}, _one_sample_axis(result))
    ax.set_title(f"One-sample MR (first-stage F = {result.first_stage_f:.1f})")
    return fig
