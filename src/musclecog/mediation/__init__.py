"""Mediation and path models: simple, parallel and serial mediation (PROCESS models 4 and 6), recursive path
models, mediation and change-score correlations in trials, all with a vectorised bootstrap.

``ANALYSIS_TYPES`` maps each analysis type of the config (one schema each in
``workflow/schemas/analyses/``) to its function ``fn(data, spec, context) -> result``.
"""

from __future__ import annotations

from musclecog.mediation.models import (
    MediationResult,
    MediationSpec,
    PathModelSpec,
    fit_mediation,
    fit_path_model,
    parallel_mediation,
    path_model,
    serial_mediation,
    simple_mediation,
)
from musclecog.mediation.trials import change_correlation, change_scores, trial_mediation

ANALYSIS_TYPES = {
    "simple_mediation": simple_mediation,
    "parallel_mediation": parallel_mediation,
    "serial_mediation": serial_mediation,
    "path_model": path_model,
    "trial_mediation": trial_mediation,
    "change_correlation": change_correlation,
}
"""Analysis type -> fitting function."""

__all__ = [
    "ANALYSIS_TYPES",
    "MediationResult",
    "MediationSpec",
    "PathModelSpec",
    "change_correlation",
    "change_scores",
    "fit_mediation",
    "fit_path_model",
    "parallel_mediation",
    "path_model",
    "serial_mediation",
    "simple_mediation",
    "trial_mediation",
]
