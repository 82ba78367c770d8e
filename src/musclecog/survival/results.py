"""Results of the survival analyses: the reported rows, the fitted Cox models and the data the
Kaplan-Meier figure draws (``plots.draw``; results never import plots)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import pandas as pd

from musclecog.core.results import AnalysisResult
from musclecog.survival.data import SurvivalData
from musclecog.survival.ph import PHTest

MAX_GROUPS = 6
"""A numeric grouping column with more distinct values than this is shown by quartiles."""


@dataclass(frozen=True, kw_only=True)
class SurvivalResult(AnalysisResult):
    """Rows of one survival analysis and its one-row-per-person data (for the Kaplan-Meier figure).

    Attributes
    ----------
    data : SurvivalData
        ``T``, ``E`` (and ``T0``) and the model columns of the people analysed, and the exclusions.
    group : str
        The column the figure's curves are drawn by.
    time_label : str
        The time axis in words.
    """

    figure_kind: ClassVar[str] = "kaplan_meier"
    data: SurvivalData
    group: str
    time_label: str

    def display_groups(self) -> pd.Series:
        """The figure's groups: the levels of :attr:`group`, or its quartiles when it is numeric with more
        than :data:`MAX_GROUPS` values."""
        g = self.data.frame[self.group]
        if pd.api.types.is_numeric_dtype(g) and g.nunique() > MAX_GROUPS:
            quartiles = ["Q1 (lowest)", "Q2", "Q3", "Q4 (highest)"]
            return pd.qcut(g.rank(method="first"), 4, labels=quartiles).astype(str)
        return g

    def km_curves(self) -> list[Any]:
        """Kaplan-Meier curves (lifelines ``KaplanMeierFitter``, labelled ``<group>=<level>``) of every
        display group over all people analysed, in the order of the levels as text."""
        from lifelines import KaplanMeierFitter  # about a second to import; only figures and KM pay

        frame = self.data.frame
        g = self.display_groups()
        curves = []
        for lv in sorted(g.dropna().unique(), key=str):
            d = frame.loc[(g == lv).to_numpy()]
            entry = d["T0"] if self.data.delayed_entry else None
            curves.append(KaplanMeierFitter().fit(d["T"], d["E"], entry=entry, label=f"{self.group}={lv}"))
        return curves


@dataclass(frozen=True, kw_only=True)
class CoxResult(SurvivalResult):
    """A ``cox`` analysis: one fitted model per stratum in ``fits`` (log hazard ratios, their covariance,
    diagnostics with the null log-likelihood in ``statistics``) and its proportional-hazards tests."""

    ph_tests: Mapping[str, PHTest] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, kw_only=True)
class KaplanMeierResult(SurvivalResult):
    """A ``kaplan_meier`` analysis: medians, survival at chosen times and the log-rank test per stratum."""
