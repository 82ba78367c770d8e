"""Longitudinal figures: predicted outcome trajectories from the fitted model (mixed model, GEE) with 95%
confidence bands at chosen exposure levels, one panel per fit (stratum); observed means for models without
a time term (lagged regression, panel models).

Predictions are the fit's coefficients applied to a design rebuilt for new rows by
:meth:`musclecog.core.design.Design.transform` with the fit's codings (levels, scales): ``X b`` with
standard error ``sqrt(diag(X V X'))`` from the fit's covariance (robust for GEE), inverse-logit for a
binomial GEE. Exposure levels: each level of a categorical exposure, 0 and 1 of a binary one, otherwise the
mean and mean ± 1 SD of the people's baseline values; numeric covariates at their mean in the fit's rows,
categorical ones at their reference level (stated under the figure). The figure fits nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.special import expit

from musclecog.core.design import INTERCEPT, Design
from musclecog.core.results import FitResult
from musclecog.labels import quantity_label, stratum_words
from musclecog.longitudinal.spec import TIME
from musclecog.plots import new_figure
from musclecog.plots.profiles import exposure_levels, held_values
from musclecog.variables import variable_label

if TYPE_CHECKING:  # for the annotation only
    from musclecog.longitudinal.results import LongitudinalResult

MAX_GROUPS = 6
MAX_PANELS = 4
GRID = 41
Z95 = 1.959963984540054


def exposure_groups(frame: pd.DataFrame, exposure: str, categorical: bool) -> pd.Series:
    """Groups for observed means: the exposure's levels, or quartiles of the person's first value if continuous
    (one group, ``all``, without an exposure)."""
    if not exposure:
        return pd.Series("all", index=frame.index)
    s = frame[exposure]
    if categorical or s.nunique() <= MAX_GROUPS:
        return s.astype(str)
    first = s.groupby(frame["id"], sort=False).transform("first")
    q = pd.qcut(first.rank(method="first"), 4, labels=["Q1 (lowest)", "Q2", "Q3", "Q4 (highest)"])
    return q.astype(str)


def trajectory_means(frame: pd.DataFrame, outcome: str, groups: pd.Series) -> pd.DataFrame:
    """Mean, 95% CI and n of the outcome per group and visit (wave, or time rounded to whole units)."""
    visit = frame["wave"] if "wave" in frame.columns else np.round(frame["time"]).astype(int)
    d = pd.DataFrame(
        {
            "group": groups.to_numpy(),
            "visit": visit.to_numpy(),
            "time": frame["time"].to_numpy(),
            "y": pd.to_numeric(frame[outcome]).to_numpy(float),
        }
    )
    agg = (
        d.groupby(["group", "visit"], sort=True)
        .agg(time=("time", "mean"), mean=("y", "mean"), sd=("y", "std"), n=("y", "size"))
        .reset_index()
    )
    half = 1.96 * agg["sd"].fillna(0.0) / np.sqrt(agg["n"])
    agg["low"], agg["high"] = agg["mean"] - half, agg["mean"] + half
    return agg.loc[agg["n"] >= 5]


def _rows(result: LongitudinalResult, stratum: str) -> pd.DataFrame:
    """The analysis rows of one fit (``stratum`` is ``overall`` or ``column=value``)."""
    frame = result.frame
    if stratum == "overall" or "=" not in stratum:
        return frame
    column, value = stratum.split("=", 1)
    if column not in frame.columns:
        return frame
    return frame.loc[frame[column].astype(str) == value]


def _new_rows(result: LongitudinalResult, fit: FitResult, rows: pd.DataFrame, times: np.ndarray, value: object
              ) -> tuple[pd.DataFrame, list[str]]:
    """The rows to predict at, and how the covariates were held."""
    new, held = held_values(fit, rows, (result.exposure, result.time_label))
    frame = pd.DataFrame({result.time_label: times, **{k: [v] * len(times) for k, v in new.items()}})
    if result.exposure:
        frame[result.exposure] = [value] * len(times)
    return frame, held


def has_time(result: LongitudinalResult) -> bool:
    """Whether every fit has an intercept and the time term (so that a trajectory can be predicted; a
    within-person panel model has neither a level nor, then, a trajectory)."""
    return bool(result.fits) and all(
        result.time_label in fit.codings and "Intercept" in fit.terms for fit in result.fits.values()
    )


def _binomial(result: LongitudinalResult) -> bool:
    return any(e.scale == "odds_ratio" for e in result.estimates)


def predicted_trajectories(result: LongitudinalResult) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Predictions of every fit at the exposure levels of :func:`exposure_levels` over a time grid.

    Returns
    -------
    DataFrame
        Columns ``stratum``, ``level`` (legend label), ``value``, ``time``, ``fit``, ``low``, ``high``
        (outcome scale; probabilities for a binomial GEE).
    dict
        Stratum -> how the covariates were held.
    """
    out: list[pd.DataFrame] = []
    held_by: dict[str, list[str]] = {}
    for stratum, fit in list(result.fits.items())[:MAX_PANELS]:
        rows = _rows(result, stratum)
        t = rows[TIME].to_numpy(float)
        times = np.linspace(float(np.nanmin(t)), float(np.nanmax(t)), GRID)
        names = tuple(INTERCEPT if term == "Intercept" else term for term in fit.terms)
        design = Design(None, np.empty((0, len(names))), names, np.zeros(0, bool), fit.codings, ())
        b, v = fit.params.to_numpy(), fit.cov.to_numpy()
        levels = exposure_levels(result.exposure, fit, rows) if result.exposure else [("fitted", None)]
        for label, value in levels:
            new, held = _new_rows(result, fit, rows, times, value)
            x = design.transform(new, f"{result.analysis} [{stratum}] figure")
            eta = x @ b
            se = np.sqrt(np.einsum("ij,jk,ik->i", x, v, x))
            lo, hi = eta - Z95 * se, eta + Z95 * se
            if _binomial(result):
                eta, lo, hi = expit(eta), expit(lo), expit(hi)
            out.append(pd.DataFrame({"stratum": stratum, "level": label, "value": [value] * len(times),
                                     "time": times, "fit": eta, "low": lo, "high": hi}))
            held_by[stratum] = held
    return pd.concat(out, ignore_index=True), held_by


def trajectory_figure(result: LongitudinalResult) -> Figure:
    """Predicted trajectories with 95% bands, one panel per fit (see the module docstring); models without
    a time term: observed means by exposure group with 95% CIs.

    Parameters
    ----------
    result : LongitudinalResult
        Its ``fits`` (params, cov, codings), ``frame``, ``outcome``, ``exposure``, ``time_label`` and ``title``.

    Returns
    -------
    matplotlib.figure.Figure
        One axis per fit (``gid`` = the stratum), one line per exposure level (``gid`` = its label); one
        legend for the figure.
    """
    if not has_time(result):
        return _observed_figure(result)
    pred, held = predicted_trajectories(result)
    strata = list(dict.fromkeys(pred["stratum"]))
    fig, axes = new_figure(4.2 * len(strata) + 0.8, 4.2, ncols=len(strata), squeeze=False, sharey=True)
    for ax, stratum in zip(axes[0], strata, strict=True):
        ax.set_gid(stratum)
        sub = pred.loc[pred["stratum"] == stratum]
        for i, (label, g) in enumerate(sub.groupby("level", sort=False)):
            (line,) = ax.plot(g["time"], g["fit"], color=f"C{i}", label=str(label))
            line.set_gid(str(label))
            ax.fill_between(g["time"], g["low"], g["high"], color=f"C{i}", alpha=0.18, lw=0)
        ax.set_xlabel(quantity_label(result.time_label) if result.time_label != TIME else "Time since baseline")
        ax.set_title(stratum_words(stratum), fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    title = variable_label(result.exposure) if result.exposure else None
    fig.legend(handles, labels, title=title, frameon=False, fontsize=7, title_fontsize=7,
               loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(4, len(labels)))
    prob = "probability: " if _binomial(result) else ""
    axes[0, 0].set_ylabel(f"Predicted {prob}{quantity_label(result.outcome)} (95% CI)")
    first = held[strata[0]]
    fig.suptitle(result.title, fontsize=9, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.text(0.02, -0.12, "Covariates held at: " + ("; ".join(first) if first else "no covariates"), fontsize=7, ha="left",
             va="top", wrap=True)
    return fig


def _observed_figure(result: LongitudinalResult) -> Figure:
    frame = result.frame
    groups = exposure_groups(frame, result.exposure, result.exposure_categorical)
    agg = trajectory_means(frame, result.outcome, groups)
    fig, ax = new_figure(6.0, 4.0)
    for name, g in agg.groupby("group", sort=True):
        ax.plot(g["time"], g["mean"], marker="o", label=str(name))
        ax.fill_between(g["time"], g["low"], g["high"], alpha=0.2)
    ax.set_xlabel(quantity_label(result.time_label) if result.time_label != TIME else "Time since baseline")
    ax.set_ylabel(f"Observed mean {quantity_label(result.outcome)} (95% CI)")
    ax.set_title(result.title, fontsize=9)
    ax.legend(title=variable_label(result.exposure) if result.exposure else None, frameon=False, fontsize=8, title_fontsize=7)
    return fig
