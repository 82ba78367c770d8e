"""Cross-sectional analyses: group comparisons, regressions (linear, logistic, mixed, survey-weighted)
and correlations. Each analysis type is ``fit_<type>(data, spec: <Type>Spec) -> <Type>Result``; the spec
is built from the config entry by :func:`musclecog.core.spec.spec_from_config` (``musclecog.analyses``
does this for a pipeline run) and the result's ``to_tidy()`` is the estimates table.

Types (one schema each in ``workflow/schemas/analyses/``; keys in docs/crosssectional.md):

``group_comparison``
    mean/SD by group, Welch and covariate-adjusted differences, by stratum; survey-weighted when the
    cohort declares a design (:mod:`musclecog.crosssectional.groups`).
``regression``
    linear/logistic regression of one or more outcomes on an exposure, FDR, interaction, stratified fits,
    random intercept, survey-weighted (:mod:`musclecog.crosssectional.regression`).
``correlation``
    Pearson/Spearman/partial correlations and R² (:mod:`musclecog.crosssectional.correlation`).

Model fitters on a core design are in :mod:`musclecog.crosssectional.models` (OLS, logistic, mixed
model) and :func:`musclecog.survey.design_based_fit` (svyglm); the regression's Benjamini-Hochberg
families in :mod:`musclecog.crosssectional.fdr`; the result base class and weighting in
:mod:`musclecog.crosssectional.common`.
"""

from __future__ import annotations

from musclecog.crosssectional.common import CrossSectionalResult
from musclecog.crosssectional.correlation import (
    CorrelationResult,
    CorrelationSpec,
    correlation_matrix,
    fit_correlation,
)
from musclecog.crosssectional.groups import GroupComparisonResult, GroupComparisonSpec, fit_group_comparison
from musclecog.crosssectional.regression import RegressionResult, RegressionSpec, fit_regression

__all__ = [
    "CorrelationResult",
    "CorrelationSpec",
    "CrossSectionalResult",
    "GroupComparisonResult",
    "GroupComparisonSpec",
    "RegressionResult",
    "RegressionSpec",
    "correlation_matrix",
    "fit_correlation",
    "fit_group_comparison",
    "fit_regression",
]
