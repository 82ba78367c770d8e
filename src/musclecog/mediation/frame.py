"""The data of a path model and its equations, fitted one by one on the full sample.

A recursive path model of observed variables with uncorrelated disturbances is a set of regressions, one per
endogenous variable; its maximum-likelihood estimates (lavaan ``sem(..., estimator = "ML")`` with ``fixed.x =
TRUE``) are the equation-by-equation least-squares coefficients, because the likelihood factorises.
:func:`model_frame` holds every model column in one matrix (the bootstrap builds all equations' moments from
it); covariates are coded by the one design builder (:func:`musclecog.core.design.build_design`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from musclecog.core.design import (
    INTERCEPT,
    DesignSpec,
    build_design,
    complete_rows,
    count_exclusions,
    is_numeric,
    no_complete_rows,
    numeric_values,
    per_unit_scale,
)
from musclecog.core.inference import logistic_regression, ols
from musclecog.core.results import Diagnostics, FitResult
from musclecog.errors import DataError, ModelError, show_values
from musclecog.survey import SurveyDesign, labelled_survey_fit

logger = logging.getLogger(__name__)

COND_LIMIT = 1e10
"""A (standardised) cross-product matrix counts as singular when a column has less than 1 / COND_LIMIT of its
variance left after the columns before it (or, for the full-sample check, a condition number above this)."""


# --------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class ModelFrame:
    """Complete-case numeric data of a path model.

    Attributes
    ----------
    values : ndarray (n, k)
        Column 0 is the intercept, then the model variables, then the (dummy-coded) covariates.
    columns : list of str
        Names of the columns of ``values``.
    variables : list of str
        The model variables (exposures, mediators, outcomes), in ``values`` order after the intercept.
    covariates : list of str
        Names of the covariate columns (dummies named ``column[level]``).
    exclusions : mapping
        Rows dropped because a used column was missing, by reason (``missing <column>``).
    rows : ndarray of bool, optional
        Which rows of the cohort table are the complete cases (positional; a survey design's domain).
    """

    values: np.ndarray
    columns: list[str]
    variables: list[str]
    covariates: list[str]
    exclusions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    rows: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Complete cases used."""
        return int(self.values.shape[0])

    def col(self, name: str) -> int:
        """Index of a column."""
        return self.columns.index(name)

    def column(self, name: str) -> np.ndarray:
        """The values of a column."""
        return self.values[:, self.col(name)]


def _check_roles(
    data: pd.DataFrame, variables: Sequence[str], covariates: Sequence[str], source: str
) -> None:
    used = [*variables, *covariates]
    dup = sorted({c for c in used if used.count(c) > 1})
    if dup:
        raise DataError(
            f"{source}: the column(s) {dup} appear more than once among exposure, mediators, outcome and "
            "covariates; each column may play one role only. Remove the duplicate from the config."
        )
    missing = [c for c in used if c not in data.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} not in the cohort table (columns: "
            f"{show_values(list(data.columns), 30)}). Fix the name in the config or map the column in the "
            "cohort's tables."
        )
    for c in variables:
        if not is_numeric(data[c]):
            raise DataError(
                f"{source}: model variable '{c}' must be numeric (or 0/1) but holds {data[c].dtype} values "
                f"such as {show_values(list(data[c].dropna().unique()[:3]))}. Use a numeric column (e.g. a "
                "0/1 treatment indicator instead of an arm label) or recode it in the cohort config."
            )


def model_frame(
    data: pd.DataFrame, variables: Sequence[str], covariates: Sequence[str], source: str
) -> ModelFrame:
    """Select, check and complete-case the columns of a path model; code the covariates.

    Parameters
    ----------
    data : DataFrame
        The cohort table.
    variables : sequence of str
        Model variables (must be numeric or boolean).
    covariates : sequence of str
        Adjustment columns: numeric are used as they are, categorical/text are dummy-coded against their
        first level (:func:`musclecog.core.design.build_design`).
    source : str
        Where the request comes from (``analyses.<name>``), for messages.

    Raises
    ------
    DataError
        A column is missing, a model variable is not numeric, or a variable is listed twice.
    ModelError
        A covariate does not vary among the complete cases.
    """
    _check_roles(data, variables, covariates, source)
    used = [*variables, *covariates]
    rows = complete_rows(data, used)
    exclusions = count_exclusions(data, used)
    if exclusions:
        logger.info(
            "%s: %d of %d rows excluded for missing values %s",
            source,
            sum(exclusions.values()),
            len(data),
            exclusions,
        )
    if len(data) and not rows.any():
        raise no_complete_rows(data, used, exclusions, source)
    sub = data.loc[rows]
    blocks = [np.ones((len(sub), 1)), *(numeric_values(sub[v], source, v)[:, None] for v in variables)]
    cov_names: list[str] = []
    if covariates:
        design = build_design(
            sub,
            DesignSpec(
                outcome=None, exposure=None, covariates=tuple(covariates), intercept=False, check_rank=False
            ),
            source,
        )
        if design.dropped:
            raise ModelError(
                f"{source}: the covariate(s) {list(design.dropped)} do not vary among the {len(sub)} "
                "complete cases. Drop them from the config or widen the keep_if filter."
            )
        blocks.append(design.x)
        cov_names = list(design.names)
    values = np.hstack(blocks)
    return ModelFrame(
        values,
        [INTERCEPT, *variables, *cov_names],
        list(variables),
        cov_names,
        MappingProxyType(exclusions),
        np.asarray(rows, bool),
    )


# ------------------------------------------------------------------------------------------ equations
@dataclass(frozen=True)
class Equation:
    """One regression of a path model.

    Attributes
    ----------
    outcome : str
        The dependent variable.
    predictors : tuple of str
        Model variables on the right-hand side (the covariates and intercept are added to every equation).
    family : {"gaussian", "binomial"}
        Least squares or logistic regression.
    """

    outcome: str
    predictors: tuple[str, ...]
    family: str = "gaussian"

    @property
    def label(self) -> str:
        """``outcome ~ predictors`` (the key of its fit)."""
        return f"{self.outcome} ~ {' + '.join(self.predictors)}"


def rhs(frame: ModelFrame, eq: Equation) -> list[int]:
    """Columns of ``frame`` on the right-hand side of ``eq``: intercept, predictors, covariates."""
    return [0] + [frame.col(p) for p in eq.predictors] + [frame.col(c) for c in frame.covariates]


def _collinear_pairs(X: np.ndarray, names: list[str]) -> list[str]:
    pairs = []
    for i, a in enumerate(names[1:], 1):
        for j, b in enumerate(names[1:], 1):
            if i < j:
                r = np.corrcoef(X[:, i], X[:, j])[0, 1]
                if abs(r) > 0.999999:
                    pairs.append(f"{a} ~ {b} (r = {r:.6f})")
    return pairs


def check_identifiable(frame: ModelFrame, eq: Equation, source: str) -> None:
    """Refuse an equation whose design matrix is rank-deficient, naming the collinear columns.

    Raises
    ------
    ModelError
        E.g. a mediator identical to (or a linear function of) the exposure.
    """
    idx = rhs(frame, eq)
    X = frame.values[:, idx]
    names = [frame.columns[i] for i in idx]
    sd = X[:, 1:].std(axis=0)
    constant = [names[1 + j] for j in np.flatnonzero(sd == 0)]
    if constant:
        raise ModelError(
            f"{source}: in the model for '{eq.outcome}', the column(s) {constant} do not vary among the "
            f"{frame.n} complete cases. Drop them from the config or widen the keep_if filter."
        )
    if np.linalg.matrix_rank(X) == X.shape[1]:
        Xs = (X[:, 1:] - X[:, 1:].mean(0)) / sd
        if np.linalg.cond(Xs) < COND_LIMIT:
            return
    # name the offending columns: those (nearly) explained by the others
    bad = []
    for j in range(1, X.shape[1]):
        others = np.delete(X, j, axis=1)
        resid = X[:, j] - others @ np.linalg.lstsq(others, X[:, j], rcond=None)[0]
        if resid.var() <= 1e-10 * X[:, j].var():
            bad.append(names[j])
    pairs = _collinear_pairs(X, names)
    detail = f"; perfectly correlated pairs: {', '.join(pairs)}" if pairs else ""
    raise ModelError(
        f"{source}: the model for '{eq.outcome}' cannot be fitted: the column(s) {bad or names[1:]} are a "
        f"linear combination of the other predictors{detail}. A mediator must not be identical to or a "
        "linear function of the exposure (or of the covariates); choose a different mediator or drop the "
        "redundant column."
    )


def _check_binary(y: np.ndarray, eq: Equation, source: str) -> None:
    classes = np.unique(y)
    if len(classes) < 2 or not set(classes) <= {0.0, 1.0}:
        raise ModelError(
            f"{source}: the binary outcome '{eq.outcome}' must take the values 0 and 1 with both present; "
            f"found {show_values(classes.tolist())} among {len(y)} complete cases. Use outcome_type: "
            "continuous or choose an outcome with both classes (check the keep_if filter)."
        )


SE_TYPES = ("ols", "ml")
"""Standard errors of a least-squares equation: ``ols`` (``RSS / (n - p)``, t on ``n - p`` df; R ``lm``,
PROCESS) or ``ml`` (``RSS / n``, normal reference; lavaan ``sem(estimator = "ML")``)."""


def ml_covariance(fit: FitResult) -> FitResult:
    """The maximum-likelihood version of a least-squares fit: covariance times ``(n - p) / n``, normal
    reference distribution (no df).

    Notes
    -----
    With uncorrelated disturbances and ``fixed.x = TRUE`` the normal likelihood of a recursive model factorises
    by equation, so its information is block diagonal and each equation's block of the inverse (expected)
    information is ``sigma_ML^2 (X'X)^-1`` with ``sigma_ML^2 = RSS / n``: lavaan's standard errors
    (``sem(..., estimator = "ML")``, ``information = "expected"``, its default for complete data; the observed
    information gives the same at the estimate of a saturated model), whose z tests and intervals use the normal
    distribution.
    """
    if fit.df_resid is None:
        return fit  # a logistic equation is ML already
    n = fit.diagnostics.n
    factor = fit.df_resid / n
    return FitResult.from_arrays(
        fit.terms,
        fit.params.to_numpy(),
        fit.cov.to_numpy() * factor,
        None,
        fit.diagnostics,
        method="least squares (ML standard errors: RSS / n, normal reference)",
        codings=fit.codings,
    )


def fit_equation(frame: ModelFrame, eq: Equation, source: str, se_type: str = "ols") -> FitResult:
    """Fit one equation on the full sample.

    Least squares (classical covariance, t on ``n - p`` df; R ``lm``) or logistic regression (IRLS, Wald z;
    R ``glm(family = binomial)``), both from :mod:`musclecog.core.inference`. Point estimates equal lavaan's
    ML estimates of the recursive model; ``se_type = "ml"`` also gives lavaan's ML standard errors of a
    least-squares equation (:func:`ml_covariance`).

    Returns
    -------
    FitResult
        Terms ``(Intercept)``, the predictors, the covariate columns.
    """
    fit = _fit_equation(frame, eq, source)
    return ml_covariance(fit) if se_type == "ml" else fit


def survey_equation(
    frame: ModelFrame, eq: Equation, survey: SurveyDesign, source: str
) -> tuple[FitResult, np.ndarray]:
    """Fit one equation by ``svyglm`` (gaussian, or quasibinomial for a binary outcome) on the complete
    cases as a domain of ``survey``: the labelled fit (t on ``degf - p + 1`` df) and the coefficients'
    influence functions (for :func:`musclecog.survey.joint_covariance`).

    Parameters
    ----------
    survey : SurveyDesign
        The design subsetted to the frame's rows (``survey.subset(frame.rows)``).
    """
    check_identifiable(frame, eq, source)
    idx = rhs(frame, eq)
    y = frame.column(eq.outcome)
    if eq.family == "binomial":
        _check_binary(y, eq, source)
    return labelled_survey_fit(
        frame.values[:, idx], y, [frame.columns[i] for i in idx], survey, eq.family,
        f"{source} (model for '{eq.outcome}')", exclusions=frame.exclusions,
    )


def _fit_equation(frame: ModelFrame, eq: Equation, source: str) -> FitResult:
    check_identifiable(frame, eq, source)
    idx = rhs(frame, eq)
    X = frame.values[:, idx]
    y = frame.column(eq.outcome)
    names = [frame.columns[i] for i in idx]
    n, p = X.shape
    where = f"{source} (model for '{eq.outcome}')"
    if eq.family == "gaussian":
        beta, xtx_inv, sigma2 = ols(X, y)
        loglik = -0.5 * n * (math.log(2 * math.pi * float(sigma2) * (n - p) / n) + 1)
        diag = Diagnostics(n=n, log_likelihood=loglik, exclusions=frame.exclusions)
        return FitResult.from_arrays(
            names, beta, float(sigma2) * xtx_inv, float(n - p), diag, method="least squares"
        )
    _check_binary(y, eq, source)
    beta, cov, loglik = logistic_regression(X, y, names, where)
    diag = Diagnostics(n=n, log_likelihood=loglik, exclusions=frame.exclusions, n_events=int(y.sum()))
    return FitResult.from_arrays(names, beta, cov, None, diag, method="logistic regression")


# ------------------------------------------------------------------------------------- exposure unit
def per_unit_exposure(frame: ModelFrame, exposure: str, per: object, source: str) -> tuple[ModelFrame, float, str]:
    """The frame with the exposure divided by its ``exposure_per`` divisor
    (:func:`musclecog.core.design.per_unit_scale` over the complete cases), the divisor and the unit's label.

    Every path from the exposure (a, c', c), every indirect effect and their bootstrap draws are then per SD
    (or per ``per`` units): exactly the per-unit values times the divisor. The SD is that of the complete
    cases, fixed in the bootstrap (as ``lm(m ~ I(x / sd))`` fixes it), so bootstrap CIs scale exactly too.
    """
    if per is None:
        return frame, 1.0, "per unit"
    col = frame.col(exposure)
    rows = pd.DataFrame({exposure: frame.values[:, col]})
    divisor, unit = per_unit_scale(rows, exposure, per, source)
    values = frame.values.copy()
    values[:, col] = values[:, col] / divisor
    return replace(frame, values=values), divisor, unit
