"""Shared pieces of the cross-sectional analyses: the result base class, weighting and the survey design.

Design matrices, strata, factor levels and per-unit scaling come from :mod:`musclecog.core.design`;
standard errors, intervals and p-values from :mod:`musclecog.core.inference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from musclecog.core.results import AnalysisResult
from musclecog.errors import ConfigError
from musclecog.survey import resolve_weighting, survey_design


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


__all__ = ["CrossSectionalResult", "one_of", "resolve_weighting", "survey_design"]
