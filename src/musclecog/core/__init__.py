"""The core every analysis family builds on: one design builder (:mod:`~musclecog.core.design`), one
inference module (:mod:`~musclecog.core.inference`), one result model (:mod:`~musclecog.core.results`) and
typed specs built from the schema-validated config (:mod:`~musclecog.core.spec`).

The path from a config key to its fit: ``analyses.<name>.type`` -> rule ``fit_cohort_<cohort>`` (or ``fit_analysis``) ->
``musclecog.analyses.ANALYSIS_TYPES[type]`` -> the family's ``fit_<type>(data, spec) -> <Type>Result``.
"""

from musclecog.core.design import INTERCEPT, Coding, Design, DesignSpec, Stratum, build_design, strata
from musclecog.core.results import AnalysisResult, Diagnostics, Estimate, FitResult, apply_fdr
from musclecog.core.spec import AnalysisSpec, RunContext, spec_from_config

__all__ = [
    "INTERCEPT",
    "AnalysisResult",
    "AnalysisSpec",
    "Coding",
    "Design",
    "DesignSpec",
    "Diagnostics",
    "Estimate",
    "FitResult",
    "RunContext",
    "Stratum",
    "apply_fdr",
    "build_design",
    "spec_from_config",
    "strata",
]
