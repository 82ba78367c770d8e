"""Longitudinal models of cognition on repeated visits: mixed models, panel models, GEE, lagged regression.

Analysis types (``ANALYSIS_TYPES``; keys documented in docs/longitudinal.md and the schemas in
``workflow/schemas/analyses/``):

* ``mixed_model`` - linear mixed model, random intercept or correlated random intercept and slope, REML/ML
  (:func:`~musclecog.longitudinal.models.fit_mixed_model`);
* ``panel_model`` - entity fixed effects, random effects, first differences, pooled (linearmodels);
* ``gee`` - GEE with exchangeable / AR(1) / independence working correlation (statsmodels);
* ``lagged_regression`` - outcome at a later wave on baseline exposure (and baseline outcome).
"""

from __future__ import annotations

from musclecog.longitudinal.data import LongSpec, prepare_long
from musclecog.longitudinal.lmm import LMMFit, fit_lmm
from musclecog.longitudinal.models import (
    GEESpec,
    LaggedSpec,
    LongitudinalResult,
    MixedModelSpec,
    PanelSpec,
    fit_gee,
    fit_lagged_regression,
    fit_mixed_model,
    fit_panel_model,
)

ANALYSIS_TYPES = {
    "mixed_model": fit_mixed_model,
    "panel_model": fit_panel_model,
    "gee": fit_gee,
    "lagged_regression": fit_lagged_regression,
}

__all__ = [
    "ANALYSIS_TYPES",
    "GEESpec",
    "LMMFit",
    "LaggedSpec",
    "LongSpec",
    "LongitudinalResult",
    "MixedModelSpec",
    "PanelSpec",
    "fit_gee",
    "fit_lagged_regression",
    "fit_lmm",
    "fit_mixed_model",
    "fit_panel_model",
    "prepare_long",
]
