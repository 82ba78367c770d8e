"""Labels of figures and manuscript tables from the variable dictionary (:mod:`musclecog.variables`): a
variable as "Label, unit", an estimate's term in words (with the exposure's per-unit scaling), a scale and a
stratum in words. The dictionary stays the one source of labels and units; this module only phrases them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from musclecog.core.design import Coding
from musclecog.core.results import RATIO_SCALES, Estimate
from musclecog.variables import load_dictionary, term_label, variable_label

SCALE_WORDS: Mapping[str, str] = {
    "beta": "Difference",
    "standardised_beta": "Difference, SD of outcome",
    "odds_ratio": "Odds ratio",
    "hazard_ratio": "Hazard ratio",
    "risk_ratio": "Risk ratio",
    "mean": "Mean",
    "mean_difference": "Mean difference",
    "correlation": "Correlation",
    "partial_correlation": "Partial correlation",
    "indirect_effect": "Indirect effect",
    "direct_effect": "Direct effect",
    "total_effect": "Total effect",
    "r_squared": "R squared",
    "survival": "Survival probability",
}
"""Tidy ``scale`` -> words for an axis (others: the scale with spaces)."""


def quantity_label(name: str) -> str:
    """A variable as ``"Label, unit"`` (``"Digit symbol substitution test, score"``); a column outside the
    dictionary keeps its name."""
    d = load_dictionary()
    if name not in d:
        return name
    unit = d[name].unit
    text = variable_label(name, d, unit=False)
    return f"{text}, {unit}" if unit else text


def plain_label(name: str) -> str:
    """A variable's dictionary label without unit, as written there (its name if not in the dictionary)."""
    d = load_dictionary()
    return d[name].label if name in d else name


def stratum_words(stratum: str) -> str:
    """``overall`` -> ``All participants``; ``sex=female`` -> ``Sex: female``."""
    if stratum == "overall":
        return "All participants"
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", stratum)
    return f"{variable_label(m.group(1), unit=False)}: {m.group(2)}" if m else stratum


def _with_unit(per: str, unit: str) -> str:
    """``"per SD (11)"`` + ``kg`` -> ``"per SD (11 kg)"``; ``"per 5"`` -> ``"per 5 kg"``."""
    if not unit:
        return per
    m = re.fullmatch(r"per SD \(([^)]*)\)", per)
    if m:
        return f"per SD ({m.group(1)} {unit})"
    if re.fullmatch(r"per [0-9.eE+-]+", per):
        return f"{per} {unit}"
    return per


def estimate_label(e: Estimate, codings: Mapping[str, Coding] | None = None) -> str:
    """An estimate's term in words.

    ``grip_kg`` with ``exposure_unit`` ``per SD (11)`` -> ``Grip strength, per SD (11 kg)``;
    ``low_mm=1 vs 0`` -> ``Low muscle mass: 1 vs 0``; ``low_mm=0`` -> ``Low muscle mass = 0``; design
    terms as :func:`musclecog.variables.term_label` (``grip_kg:sex[male]`` -> ``Grip strength (kg) × Sex: male``).
    """
    d = load_dictionary()
    term = e.term
    per = str(e.extra.get("exposure_unit", "") or "")
    if term == e.exposure and per.startswith("per") and per != "per 1":
        unit = d[term].unit if term in d else ""
        return f"{variable_label(term, d, unit=False)}, {_with_unit(per, unit)}"
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_.]*)=(.+?)( vs (.+))?", term)
    if m and m.group(1) in d:
        name = variable_label(m.group(1), d, unit=False)
        return f"{name}: {m.group(2)} vs {m.group(4)}" if m.group(3) else f"{name} = {m.group(2)}"
    if ":" in term and per.startswith("per") and term.split(":")[0] == e.exposure:
        head, rest = term.split(":", 1)
        first = estimate_label(e.replace(term=head))
        return " × ".join([first, *(term_label(p, codings) for p in rest.split(":"))])
    return term_label(term, codings)


def scale_label(scale: str, outcome: str | None = None) -> str:
    """The x-axis label of a forest panel: the scale in words, the outcome's label and unit where the
    scale is on the outcome's scale (``"Difference in Digit symbol substitution test, score (95% CI)"``)."""
    words = SCALE_WORDS.get(scale, scale.replace("_", " ").capitalize())
    if outcome and scale in ("beta", "mean", "mean_difference"):
        words = f"{words} in {quantity_label(outcome)}" if scale != "mean" else f"{words} {quantity_label(outcome)}"
    elif outcome and scale in RATIO_SCALES:
        words = f"{words} for {variable_label(outcome, unit=False)}"
    return f"{words} (95% CI{', log scale' if scale in RATIO_SCALES else ''})"
