"""Results of the mediation family: fitted equations, the reported estimates, and what their figures show.

:class:`MediationResult` (simple, parallel, serial and trial mediation) and :class:`PathModelResult` carry the
path diagram's data (nodes, edges with their estimates, the effects printed underneath); they are drawn by
:func:`musclecog.plots.paths.path_figure`. :class:`ChangeCorrelationResult` carries the change scores of each
stratum for :func:`musclecog.plots.paths.change_figure`. Tidy rows come only from ``to_tidy()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from musclecog.core.results import AnalysisResult
from musclecog.mediation.bootstrap import BootstrapDraws


@dataclass(frozen=True)
class PathEdge:
    """An arrow of a path diagram and the estimate printed on it (``name`` may be empty)."""

    source: str
    target: str
    name: str
    estimate: float
    conf_low: float
    conf_high: float


@dataclass(frozen=True)
class Effect:
    """An effect printed under a path diagram: its label, estimate and interval."""

    label: str
    estimate: float
    conf_low: float
    conf_high: float


@dataclass(frozen=True, kw_only=True)
class PathResult(AnalysisResult):
    """A fitted path model or mediation model.

    Attributes
    ----------
    parents : mapping
        Each endogenous variable -> its predictors (the model's graph).
    edges : tuple of PathEdge
        The path coefficients, in equation order.
    effects : tuple of Effect
        Indirect (and total) effects with their bootstrap CIs, for the caption.
    n : int
        Complete cases used.
    draws : BootstrapDraws or None
        The bootstrap coefficients (None without a bootstrap).
    """

    figure_kind: ClassVar[str] = "path_diagram"

    parents: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    edges: tuple[PathEdge, ...] = ()
    effects: tuple[Effect, ...] = ()
    n: int = 0
    draws: BootstrapDraws | None = None


@dataclass(frozen=True, kw_only=True)
class MediationResult(PathResult):
    """A simple, parallel, serial or trial mediation model (``fits``: by equation; ``c`` as ``total: ...``).

    Attributes
    ----------
    exposure, outcome : str
    mediators : tuple of str
    serial : bool
        Whether the mediators form a causal chain (PROCESS model 6).
    """

    exposure: str = ""
    mediators: tuple[str, ...] = ()
    outcome: str = ""
    serial: bool = False


@dataclass(frozen=True, kw_only=True)
class PathModelResult(PathResult):
    """A recursive path model; ``statistics`` holds the fit indices (``chi2``, ``df``, ``rmsea``, ...)."""

    statistics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ChangePanel:
    """The change scores of one stratum and the correlation printed over its panel."""

    stratum: str
    x: np.ndarray
    y: np.ndarray
    estimate: float
    conf_low: float
    conf_high: float

    @property
    def n(self) -> int:
        """Participants with both changes."""
        return len(self.x)


@dataclass(frozen=True, kw_only=True)
class ChangeCorrelationResult(AnalysisResult):
    """Correlations of two change scores, one estimate per stratum (arm), and the points behind them."""

    figure_kind: ClassVar[str] = "change_scatter"

    x: str = ""
    y: str = ""
    panels: tuple[ChangePanel, ...] = ()
