"""The registry of cohort analyses: analysis type -> fitting function.

Each family module (``crosssectional``, ``mediation``, ``longitudinal``, ``survival``) exposes a
mapping ``ANALYSIS_TYPES: dict[str, AnalysisFunction]``. A function takes the analysis-ready cohort
table, the analysis entry of the config and an :class:`AnalysisContext`, and returns an object with
``to_tidy() -> DataFrame`` (the schema of :mod:`musclecog.results`) and ``figure() -> Figure``.

Modules are imported lazily so that one family's import cost (or error) does not reach another's jobs.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from musclecog.errors import ConfigError
from musclecog.filters import apply_keep_if

logger = logging.getLogger(__name__)

FAMILIES: tuple[str, ...] = ("crosssectional", "mediation", "longitudinal", "survival", "mr")
"""Modules of :mod:`musclecog` that define analysis types."""


class AnalysisResult(Protocol):
    """What every fitted analysis returns."""

    def to_tidy(self) -> pd.DataFrame:
        """Rows in the shared tidy schema."""
        ...

    def figure(self) -> Any:
        """A matplotlib Figure summarising the analysis."""
        ...


@dataclass(frozen=True)
class AnalysisContext:
    """What an analysis needs to know beyond its own config entry.

    Attributes
    ----------
    analysis : str
        The analysis name (the key under ``analyses:``).
    cohort : str
        The cohort name.
    seed : int
        The seed for this analysis (bootstrap, resampling), derived from the config seed.
    survey : mapping or None
        The cohort's survey design (``weight``, ``strata``, ``psu`` columns, ...) when declared.
    threads : int
        Threads the job may use.
    """

    analysis: str
    cohort: str
    seed: int
    survey: Mapping[str, Any] | None = None
    threads: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)


AnalysisFunction = Callable[[pd.DataFrame, Mapping[str, Any], AnalysisContext], AnalysisResult]


def registry() -> dict[str, tuple[str, AnalysisFunction]]:
    """All analysis types: type -> (family module, function)."""
    out: dict[str, tuple[str, AnalysisFunction]] = {}
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"musclecog.{family}")
        except ModuleNotFoundError as exc:
            if exc.name == f"musclecog.{family}":
                continue
            raise
        for name, fn in getattr(module, "ANALYSIS_TYPES", {}).items():
            out[name] = (family, fn)
    return out


def find_analysis(analysis_type: str) -> AnalysisFunction:
    """The fitting function of one analysis type, importing only its family module."""
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"musclecog.{family}")
        except ModuleNotFoundError as exc:
            if exc.name == f"musclecog.{family}":
                continue
            raise
        types = getattr(module, "ANALYSIS_TYPES", {})
        if analysis_type in types:
            return types[analysis_type]
    raise ConfigError(
        f"analysis type {analysis_type!r} has a schema but no implementation in any of "
        f"musclecog.{{{', '.join(FAMILIES)}}}.ANALYSIS_TYPES"
    )


def run_analysis(data: pd.DataFrame, spec: Mapping[str, Any], context: AnalysisContext) -> AnalysisResult:
    """Fit one configured analysis on its cohort table.

    Parameters
    ----------
    data : DataFrame
        The analysis-ready cohort table (``results/cohorts/{cohort}.parquet``).
    spec : mapping
        The validated analysis entry of the config. Its ``keep_if`` filter (if any) is applied first
        and each exclusion is logged with its count.
    context : AnalysisContext
        Names, seed, survey design.

    Returns
    -------
    AnalysisResult
    """
    data, flow = apply_keep_if(data, spec.get("keep_if"), source=f"analyses.{context.analysis}.keep_if")
    for row in flow:
        logger.info("%s: %d of %d rows kept (%s)", row["step"], row["n_out"], row["n_in"], row["reason"])
    return find_analysis(str(spec["type"]))(data, spec, context)
