"""Longitudinal models of cognition on repeated visits: mixed models, panel models, GEE, lagged regression.

Analysis types (``musclecog.analyses.ANALYSIS_TYPES``; keys documented in docs/longitudinal.md and the schemas
in ``workflow/schemas/analyses/``), one module each, ``fit_<type>(data, spec: <Type>Spec) -> <Type>Result``:

* ``mixed_model`` (:mod:`~musclecog.longitudinal.mixed`) - linear mixed model, random intercept or correlated
  random intercept and slope, REML/ML; engines in :mod:`~musclecog.longitudinal.lmm`;
* ``gee`` (:mod:`~musclecog.longitudinal.gee`) - GEE with exchangeable / AR(1) / independence working
  correlation (statsmodels);
* ``panel_model`` (:mod:`~musclecog.longitudinal.panel`) - entity fixed effects, random effects, first
  differences, pooled (linearmodels);
* ``lagged_regression`` (:mod:`~musclecog.longitudinal.lagged`) - outcome at a later wave on baseline exposure
  (and baseline outcome).

Shared: the spec base (:mod:`~musclecog.longitudinal.spec`), long-table checks and exclusions
(:mod:`~musclecog.longitudinal.data`), the design (:mod:`~musclecog.longitudinal.design`) and the results
(:mod:`~musclecog.longitudinal.results`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from musclecog.longitudinal.data import Prepared, prepare_long
from musclecog.longitudinal.gee import GEEResult, GEESpec, fit_gee
from musclecog.longitudinal.lagged import LaggedResult, LaggedSpec, fit_lagged_regression
from musclecog.longitudinal.lmm import LMMFit, fit_lmm, fit_lmm_statsmodels
from musclecog.longitudinal.mixed import MixedModelResult, MixedModelSpec, fit_mixed_model
from musclecog.longitudinal.panel import PanelResult, PanelSpec, fit_panel_model
from musclecog.longitudinal.results import LongitudinalResult
from musclecog.longitudinal.spec import LongitudinalSpec

ANALYSIS_TYPES: dict[str, Callable[..., Any]] = {
    "mixed_model": fit_mixed_model,
    "panel_model": fit_panel_model,
    "gee": fit_gee,
    "lagged_regression": fit_lagged_regression,
}
"""The family's analysis types (the same functions as in :data:`musclecog.analyses.ANALYSIS_TYPES`)."""

__all__ = [
    "ANALYSIS_TYPES",
    "GEEResult",
    "GEESpec",
    "LMMFit",
    "LaggedResult",
    "LaggedSpec",
    "LongitudinalResult",
    "LongitudinalSpec",
    "MixedModelResult",
    "MixedModelSpec",
    "PanelResult",
    "PanelSpec",
    "Prepared",
    "fit_gee",
    "fit_lagged_regression",
    "fit_lmm",
    "fit_lmm_statsmodels",
    "fit_mixed_model",
    "fit_panel_model",
    "prepare_long",
]
