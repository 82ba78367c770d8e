"""Shared pieces of the cross-sectional analyses: the result base class, weighting and the survey design.

Design matrices, strata, factor levels and per-unit scaling come from :mod:`musclecog.core.design`;
standard errors, intervals and p-values from :mod:`musclecog.core.inference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.survey import SurveyDesign, SurveySpec


@dataclass(frozen=True, kw_only=True)
class CrossSectionalResult(AnalysisResult):
    """Result of a cross-sectional analysis: estimates in table order, fitted models, forest-plot panels.

    Attributes
    ----------
    plot_scales : tuple of str
        The ``scale`` values the forest plot shows, one panel each (empty: every scale but means, SDs
        and test statistics).
    """

    figure_kind: ClassVar[str] = "forest"
    fill_note: ClassVar[bool] = True
    plot_scales: tuple[str, ...] = ()


def one_of(single: str | None, plural: Sequence[str], names: tuple[str, str], where: str) -> tuple[str, ...]:
    """A key that may be one name (``outcome``) or a list (``outcomes``): exactly one of them, as a tuple."""
    if single is not None and plural:
        raise ConfigError(f"{where}: give either '{names[0]}' or '{names[1]}', not both")
    values = (single,) if single is not None else tuple(plural)
    if not values:
        raise ConfigError(f"{where}: '{names[0]}' (or a list under '{names[1]}') is required")
    return values


def resolve_weighting(weighting: str | None, context: RunContext) -> tuple[str, ...]:
    """Which estimates to report: ``("weighted",)``, ``("unweighted",)`` or both.

    Parameters
    ----------
    weighting : {"weighted", "unweighted", "both"} or None
        The analysis' ``weighting`` key; ``None`` (absent): weighted when the cohort declares a survey
        design, unweighted otherwise.
    context : RunContext

    Raises
    ------
    ConfigError
        ``weighted`` or ``both`` for a cohort without a survey design.
    """
    if weighting is None:
        return ("weighted",) if context.survey else ("unweighted",)
    if weighting in ("weighted", "both") and not context.survey:
        raise ConfigError(
            f"{context.where}.weighting is {weighting!r} but cohort {context.cohort!r} declares no survey "
            f"design; "
            f"add cohorts.{context.cohort}.survey: {{weight: ..., strata: ..., psu: ...}} or use weighting: "
            f"unweighted"
        )
    return ("weighted", "unweighted") if weighting == "both" else (weighting,)


def survey_design(data: pd.DataFrame, context: RunContext) -> tuple[SurveyDesign, tuple[str, ...]]:
    """The cohort's survey design over ``data`` and the columns it uses."""
    if context.survey is None:
        raise ConfigError(f"{context.where}: cohort {context.cohort!r} declares no survey design")
    source = f"cohorts.{context.cohort}.survey"
    spec = SurveySpec.from_config(context.survey, where=source)
    columns = tuple(c for c in (spec.weight, spec.strata, spec.psu) if c)
    return SurveyDesign.from_data(data, spec, source=source), columns
