"""Results of the survival analyses: the reported rows, the fitted Cox models and the data the
Kaplan-Meier figure draws (``plots.draw``; results never import plots)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import Design
from musclecog.core.results import AnalysisResult, FitResult
from musclecog.survival.data import SurvivalData
from musclecog.survival.ph import PHTest
from musclecog.survival.productlimit import kaplan_meier

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
    conf_type : str
        The pointwise 95% limits of the figure's Kaplan-Meier bands (``log``, ``log-log`` or ``plain``, as
        R ``survfit``'s ``conf.type``): a ``kaplan_meier`` analysis's own, R's default ``log`` otherwise.
    """

    figure_kind: ClassVar[str] = "kaplan_meier"
    data: SurvivalData
    group: str
    time_label: str
    conf_type: str = "log"

    def display_groups(self) -> pd.Series:
        """The figure's groups: the levels of :attr:`group`, or its quartiles when it is numeric with more
        than :data:`MAX_GROUPS` values."""
        g = self.data.frame[self.group]
        if pd.api.types.is_numeric_dtype(g) and g.nunique() > MAX_GROUPS:
            quartiles = ["Q1 (lowest)", "Q2", "Q3", "Q4 (highest)"]
            return pd.qcut(g.rank(method="first"), 4, labels=quartiles).astype(str)
        return g

    def km_curves(self) -> list[KaplanMeierCurve]:
        """Kaplan-Meier curves (:func:`musclecog.survival.productlimit.kaplan_meier`, pointwise limits of
        :attr:`conf_type`) of every display group over all people analysed, in the order of the levels as
        text."""
        frame = self.data.frame
        g = self.display_groups()
        T, E = frame["T"].to_numpy(float), frame["E"].to_numpy(int)
        T0 = frame["T0"].to_numpy(float) if self.data.delayed_entry else None
        curves = []
        for lv in sorted(g.dropna().unique(), key=str):
            m = (g == lv).to_numpy()
            km = kaplan_meier(T[m], E[m], None if T0 is None else T0[m], self.conf_type)
            start = float(T0[m].min()) if T0 is not None else 0.0
            curves.append(KaplanMeierCurve(str(lv), km.times, km.surv, km.lower, km.upper, start, float(T[m].max())))
        return curves


@dataclass(frozen=True)
class KaplanMeierCurve:
    """One group's Kaplan-Meier curve for a figure: the estimate and its pointwise limits at the event times,
    from ``start`` (0, or the first entry time under delayed entry) to the last follow-up time ``end``."""

    level: str
    times: np.ndarray
    surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    start: float
    end: float

    def steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(t, S, lower, upper)`` of a right-continuous step plot (``where="post"``): 1 from ``start`` to
        the first event time, the last value to ``end``."""
        if self.times.size == 0:  # no event: flat at 1
            ones = np.ones(2)
            return np.array([self.start, self.end]), ones, ones, ones
        t = np.r_[self.start, self.times, max(self.end, self.times[-1])]

        def padded(values: np.ndarray) -> np.ndarray:
            return np.r_[1.0, values, values[-1]]

        return t, padded(self.surv), padded(self.lower), padded(self.upper)


@dataclass(frozen=True, kw_only=True)
class CoxResult(SurvivalResult):
    """A ``cox`` analysis: one fitted model per stratum in ``fits`` (log hazard ratios, their covariance,
    diagnostics with the null log-likelihood in ``statistics``) and its proportional-hazards tests."""

    ph_tests: Mapping[str, PHTest] = field(default_factory=lambda: MappingProxyType({}))
    fit_rows: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    """Stratum -> the positions in ``data.frame`` of the rows its fit used (complete cases of the stratum)."""

    def baseline_cumulative_hazard(self, stratum: str) -> tuple[np.ndarray, np.ndarray]:
        """Breslow's baseline cumulative hazard of one fit at its distinct event times, at covariates 0
        (``H0(t) = sum over event times s <= t of d(s) / sum over the risk set at s of exp(x b)``; with
        delayed entry the risk set at ``s`` is ``T0 < s <= T``), as lifelines' ``baseline_cumulative_hazard_``
        and R's ``basehaz(fit, centered = FALSE)`` with Breslow increments.

        Returns
        -------
        times, H0 : ndarray
        """
        fit = self.fits[stratum]
        rows = self.data.frame.iloc[self.fit_rows[stratum]]
        x = _design_rows(fit, rows, f"{self.analysis} [{stratum}]")
        risk = np.exp(x @ fit.params.to_numpy(float))
        T, E = rows["T"].to_numpy(float), rows["E"].to_numpy(int)
        times = np.unique(T[E == 1])
        order = np.argsort(T)
        # sum of risk over T >= s: total minus those with T < s
        csum = np.concatenate([[0.0], np.cumsum(risk[order])])
        at_risk = csum[-1] - csum[np.searchsorted(T[order], times, side="left")]
        if self.data.delayed_entry:
            T0 = rows["T0"].to_numpy(float)
            o0 = np.argsort(T0)
            c0 = np.concatenate([[0.0], np.cumsum(risk[o0])])
            at_risk -= c0[-1] - c0[np.searchsorted(T0[o0], times, side="left")]  # not yet entered: T0 >= s
        deaths = np.bincount(np.searchsorted(times, T[E == 1]), minlength=len(times)).astype(float)
        return times, np.cumsum(deaths / at_risk)

    def adjusted_survival(self, stratum: str, profiles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Model-based survival ``S(t | x) = exp(-H0(t) exp(x b))`` of one fit at covariate profiles.

        Parameters
        ----------
        stratum : str
            The fit (a key of ``fits``).
        profiles : DataFrame
            One row per profile, with every column the fit's design codes (exposure and covariates).

        Returns
        -------
        times : ndarray
            The fit's distinct event times.
        survival : ndarray (n_profiles, n_times)
        """
        fit = self.fits[stratum]
        times, h0 = self.baseline_cumulative_hazard(stratum)
        x = _design_rows(fit, profiles, f"{self.analysis} [{stratum}] profiles")
        lp = x @ fit.params.to_numpy(float)
        return times, np.exp(-np.outer(np.exp(lp), h0))


def _design_rows(fit: FitResult, rows: pd.DataFrame, where: str) -> np.ndarray:
    """The fit's design matrix for ``rows`` (its codings: levels and scales), by core.design."""
    names = tuple(fit.terms)
    return Design(None, np.empty((0, len(names))), names, np.zeros(0, bool), fit.codings, ()).transform(rows, where)


@dataclass(frozen=True, kw_only=True)
class KaplanMeierResult(SurvivalResult):
    """A ``kaplan_meier`` analysis: medians, survival at chosen times and the log-rank test per stratum."""
