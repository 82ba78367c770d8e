"""Mediation and path models: simple, parallel and serial mediation (PROCESS models 4 and 6), recursive path
models, mediation and change-score correlations in trials, all with a vectorised bootstrap.

Each analysis type (one schema each in ``workflow/schemas/analyses/``) has its typed spec
(:mod:`~musclecog.mediation.spec`) and its ``fit_<type>(data, spec) -> result`` function, registered in
:data:`musclecog.analyses.ANALYSIS_TYPES`:

- ``simple_mediation``, ``parallel_mediation``, ``serial_mediation``: :mod:`~musclecog.mediation.process`
  (the Imai et al. effects of a binary outcome in :mod:`~musclecog.mediation.imai`);
- ``path_model``: :mod:`~musclecog.mediation.pathmodel`;
- ``trial_mediation``, ``change_correlation``: :mod:`~musclecog.mediation.trials`.

The shared machinery: the model frame and single-sample equation fits (:mod:`~musclecog.mediation.frame`), the
vectorised bootstrap (:mod:`~musclecog.mediation.bootstrap`), path algebra
(:mod:`~musclecog.mediation.graph`), delta-method inference (:mod:`~musclecog.mediation.delta`), the reported estimates (:mod:`~musclecog.mediation.estimates`) and the
result objects (:mod:`~musclecog.mediation.results`).
"""

from __future__ import annotations

from musclecog.mediation.bootstrap import BootstrapDraws, bias_corrected_ci, bootstrap, percentile_ci
from musclecog.mediation.frame import Equation, ModelFrame, fit_equation, model_frame
from musclecog.mediation.pathmodel import fit_path_model, path_fit_indices
from musclecog.mediation.process import (
    fit_mediation_model,
    fit_parallel_mediation,
    fit_serial_mediation,
    fit_simple_mediation,
    sobel,
)
from musclecog.mediation.results import (
    ChangeCorrelationResult,
    ChangePanel,
    Effect,
    MediationResult,
    PathEdge,
    PathModelResult,
    PathResult,
)
from musclecog.mediation.spec import (
    ChangeCorrelationSpec,
    ChangeSpec,
    MediationModel,
    ParallelMediationSpec,
    PathModelSpec,
    SerialMediationSpec,
    SimpleMediationSpec,
    TrialMediationSpec,
)
from musclecog.mediation.trials import (
    change_scores,
    correlation_test,
    fit_change_correlation,
    fit_trial_mediation,
)

__all__ = [
    "BootstrapDraws",
    "ChangeCorrelationResult",
    "ChangeCorrelationSpec",
    "ChangePanel",
    "ChangeSpec",
    "Effect",
    "Equation",
    "MediationModel",
    "MediationResult",
    "ModelFrame",
    "ParallelMediationSpec",
    "PathEdge",
    "PathModelResult",
    "PathModelSpec",
    "PathResult",
    "SerialMediationSpec",
    "SimpleMediationSpec",
    "TrialMediationSpec",
    "bias_corrected_ci",
    "bootstrap",
    "change_scores",
    "correlation_test",
    "fit_change_correlation",
    "fit_equation",
    "fit_mediation_model",
    "fit_parallel_mediation",
    "fit_path_model",
    "fit_serial_mediation",
    "fit_simple_mediation",
    "fit_trial_mediation",
    "model_frame",
    "path_fit_indices",
    "percentile_ci",
    "sobel",
]
