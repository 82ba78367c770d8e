"""Cross-sectional analyses: group comparisons, regressions (linear, logistic, mixed, survey-weighted)
and correlations. Each analysis type is a function ``fn(data, spec, context) -> CrossSectionalResult``.

Types (one schema each in ``workflow/schemas/analyses/``; keys in docs/crosssectional.md):

``group_comparison``
    mean/SD by group, Welch and covariate-adjusted differences, by stratum; survey-weighted when the
    cohort declares a design (:mod:`musclecog.crosssectional.groups`).
``regression``
    linear/logistic regression of one or more outcomes on an exposure, FDR, interaction, stratified fits,
    random intercept, survey-weighted (:mod:`musclecog.crosssectional.regression`).
``correlation``
    Pearson/Spearman/partial correlations and R² (:mod:`musclecog.crosssectional.correlation`).
"""

from __future__ import annotations

from musclecog.crosssectional.correlation import correlation_matrix, fit_correlation
from musclecog.crosssectional.groups import fit_group_comparison
from musclecog.crosssectional.regression import fit_regression

ANALYSIS_TYPES = {
    "group_comparison": fit_group_comparison,
    "regression": fit_regression,
    "correlation": fit_correlation,
}

__all__ = [
    "ANALYSIS_TYPES",
    "correlation_matrix",
    "fit_correlation",
    "fit_group_comparison",
    "fit_regression",
]
