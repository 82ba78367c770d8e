"""Results of the longitudinal analysis types: the reported estimates, the fitted models and what the
trajectory figure shows (the analysis frame), never a figure (``musclecog.plots.trajectories`` draws them).

Tidy rows are made only by :meth:`musclecog.core.results.AnalysisResult.to_tidy`; this module builds the
:class:`~musclecog.core.results.Estimate` objects every type shares: coefficient rows from a
:class:`~musclecog.core.results.FitResult`, the exclusion counts and people with a single visit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, TypedDict, TypeVar

import pandas as pd

from musclecog.core.design import unit_columns
from musclecog.core.results import AnalysisResult, Estimate, FitResult
from musclecog.longitudinal.data import Prepared
from musclecog.longitudinal.spec import LongitudinalSpec


@dataclass(frozen=True, kw_only=True)
class LongitudinalResult(AnalysisResult):
    """The result of one longitudinal analysis.

    Attributes
    ----------
    frame : DataFrame
        The analysis rows (columns ``id``, ``time``, ``wave`` when present, outcome, exposure) for the
        trajectory figure.
    outcome, exposure : str
        (``exposure`` is empty for a mixed model of time alone.)
    time_label : str
        The time term's name (axis label).
    exposure_categorical : bool
        Whether the exposure entered as dummies (the figure then groups by its levels).
    prepared : Prepared
        Exclusions by reason and people with a single visit.
    """

    frame: pd.DataFrame
    outcome: str
    exposure: str
    time_label: str
    exposure_categorical: bool
    prepared: Prepared
    figure_kind: ClassVar[str] = "trajectories"


R = TypeVar("R", bound=LongitudinalResult)


class Labels(TypedDict):
    """The label fields of the estimates of one fit."""

    method: str
    outcome: str
    exposure: str
    stratum: str
    extra: Mapping[str, str]


def labels(spec: LongitudinalSpec, method: str, stratum: str, unit: str | None = None) -> Labels:
    """The label fields of an :class:`Estimate` of one fit; ``unit`` (of :func:`exposure_scale
    <musclecog.longitudinal.design.exposure_scale>`) fills the ``exposure_unit`` column when
    ``exposure_per`` is set (the rows of a fit; not the exclusion counts)."""
    extra = unit_columns(spec.exposure_per, unit) if unit else unit_columns(None, "")
    return Labels(method=method, outcome=spec.outcome, exposure=spec.exposure, stratum=stratum, extra=extra)


def coefficients(
    fit: FitResult, scale: str, n: int, note: str, label: Labels, *, df: bool = False
) -> list[Estimate]:
    """Every coefficient of a fit (Wald tests and intervals, z or t as the fit's ``df_terms`` or
    ``df_resid``), with ``n`` the people (or rows) the table reports; ``df``: fill the ``df`` column."""
    return [e.replace(n=n) for e in fit.estimates(fit.terms, scale, note=note, df=df, **label)]


def flow_estimates(prep: Prepared, spec: LongitudinalSpec, method: str) -> list[Estimate]:
    """Exclusions (a ``count`` row per reason, term ``excluded (<step>)``) and people with a single visit."""
    lab = labels(spec, method, "overall")
    out = [x.count_estimate(**lab) for x in prep.exclusions]
    out.append(
        Estimate(
            term="people with a single visit",
            estimate=float(prep.n_single_visit),
            scale="count",
            n=prep.n_people,
            note="kept (they inform the intercepts and fixed effects)",
            **lab,
        )
    )
    return out


def fit_note(base: str, prep: Prepared, spec: LongitudinalSpec, stratum: str) -> str:
    """``base`` plus the exclusions, in the overall fit (or the only one)."""
    if stratum == "overall" or not spec.stratify_by:
        extra = prep.note()
        return f"{base}; {extra}" if extra else base
    return base


def make_result(
    cls: type[R],
    spec: LongitudinalSpec,
    prep: Prepared,
    estimates: list[Estimate],
    fits: Mapping[str, FitResult],
    title: str,
    frame: pd.DataFrame | None = None,
) -> R:
    """A longitudinal result of class ``cls``, the flow rows appended to ``estimates``.

    ``frame`` is the figure's data (default: the prepared analysis rows).
    """
    method = estimates[0].method if estimates else ""
    data = prep.frame if frame is None else frame
    numeric = True
    if spec.exposure:
        column = data[spec.exposure]
        numeric = pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
    return cls(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=(*estimates, *flow_estimates(prep, spec, method)),
        fits=MappingProxyType(dict(fits)),
        title=title,
        frame=data,
        outcome=spec.outcome,
        exposure=spec.exposure,
        time_label=spec.time_label,
        exposure_categorical=bool(spec.exposure) and spec.is_categorical(spec.exposure, numeric),
        prepared=prep,
    )
