"""Dose-response figure: the spline curve relative to the reference value with its pointwise 95% band, the
knots marked on the axis, and the overall and non-linearity Wald tests in the caption line. Axis labels come
from the variable dictionary (labels and units)."""

from __future__ import annotations

from typing import Any

from musclecog.doseresponse import DoseResponseResult
from musclecog.doseresponse.analysis import RATIO_FAMILIES
from musclecog.plots import new_figure
from musclecog.variables import variable_label

Y_LABEL = {
    "linear": "Difference in {outcome}",
    "logistic": "Odds ratio of {outcome}",
    "cox": "Hazard ratio of {outcome}",
    "mixed": "Difference in {outcome}",
}


def dose_response_figure(result: DoseResponseResult) -> Any:
    """The curve (``gid`` ``dose_response``); a log y axis for OR/HR."""
    fig, ax = new_figure(5.5, 4.0)
    ax.set_gid("dose_response")
    c = result.curve
    ax.fill_between(c["exposure"], c["conf_low"], c["conf_high"], alpha=0.25, linewidth=0, label="95% CI")
    ax.plot(c["exposure"], c["estimate"], color="C0", label="estimate")
    ratio = result.family in RATIO_FAMILIES
    ax.axhline(1.0 if ratio else 0.0, color="grey", linewidth=0.8, linestyle="--")
    if ratio:
        ax.set_yscale("log")
    for k in result.knots:
        ax.axvline(k, color="grey", linewidth=0.5, linestyle=":", ymax=0.05)
    ax.set_xlabel(variable_label(result.exposure))
    outcome = variable_label(result.outcome, unit=not ratio)
    ax.set_ylabel(Y_LABEL[result.family].format(outcome=outcome))
    tests = {e.term: e for e in result.estimates if e.term.startswith("wald test")}
    text = "; ".join(
        f"{t.removeprefix('wald test: ')} p = {e.p_value:.3g}" for t, e in tests.items()
    )
    ax.set_title(f"{result.title}\nreference {result.reference:.4g}; {text}", fontsize=8, loc="left")
    ax.legend(frameon=False, fontsize=7)
    return fig
