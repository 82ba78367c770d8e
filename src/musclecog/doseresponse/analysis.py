"""Analysis type ``dose_response``: a restricted cubic spline of a continuous exposure in a linear, logistic,
Cox or linear mixed model, the curve against the exposure relative to a reference value, and rms's two Wald tests.

The spline is R's ``rms::rcs(x, nk)`` (knots at Harrell's quantiles, :func:`musclecog.core.design.rcs_knots`,
or the knots given), fitted as ``lm(y ~ rcs(x, k) + covariates)``, ``glm(y ~ ..., family = binomial)`` or
``survival::coxph(Surv(duration, event) ~ ...)`` (Efron ties). At each grid value ``g`` the curve is
``c(g)' beta`` with ``c(g) = basis(g) - basis(reference)``, its standard error ``sqrt(c' V c)`` and the
pointwise 95% band ``c' beta +- q * se`` (``q``: t on the residual df for ``lm``, normal otherwise); for the
logistic and Cox models the curve, band and reference are exponentiated (OR, HR). The tests are those of
``rms::anova``: the overall test that every spline coefficient is zero and the non-linearity test that the
non-linear ones are (F for ``lm``/``ols``, chi-squared for ``glm``/``lrm`` and ``coxph``/``cph``).

With ``weighting: weighted`` (the default when the cohort declares a survey design) the linear and logistic
models are ``survey::svyglm`` (gaussian / quasibinomial, Taylor linearisation; t on ``degf - p + 1`` df for the
band and F tests, as ``regTermTest(..., method = "Wald")``).

``family: mixed`` is a linear mixed model on a long table (one row per person-visit, the exposure as it is on
each row): ``lme4::lmer(y ~ rcs(x, k) + covariates + (1 | id))`` (``random: intercept``) or ``(time | id)``
(``random: slope``), REML by default, fitted by the project's own engine
(:func:`musclecog.longitudinal.lmm.fit_lmm`). Knots and the median reference are over the analysed person-visit
rows (as ``rcs(x, 4)`` on the long table). The curve's SE is ``sqrt(c' V c)`` on ``vcov(m)``, the band uses the
normal quantile (Wald z, as ``rms`` and ``car::Anova`` treat a fitted model's coefficients) and the two tests
are Wald chi-squared on ``vcov(m)`` (``car::Anova(m)``'s statistic); lmerTest's Satterthwaite F of the same
hypotheses (``contest(m, L, joint = TRUE)``) is reported beside them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from musclecog.core.design import Design, DesignSpec, build_design, check_columns, numeric_values, rcs_knots
from musclecog.core.inference import Z975
from musclecog.core.results import AnalysisResult, Diagnostics, Estimate, FitResult
from musclecog.core.spec import AnalysisSpec
from musclecog.crosssectional.common import resolve_weighting, survey_design
from musclecog.crosssectional.models import logistic_fit, ols_fit
from musclecog.errors import ConfigError, DataError, show_values
from musclecog.longitudinal.lmm import (
    LMMFit,
    Satterthwaite,
    fit_lmm,
    random_matrix,
    satterthwaite,
    satterthwaite_f,
)
from musclecog.survey import design_based_fit
from musclecog.survival.efron import fit_cox_efron

SCALE = {"linear": "mean_difference", "logistic": "odds_ratio", "cox": "hazard_ratio", "mixed": "mean_difference"}
"""The tidy scale of the curve's rows per family."""

RATIO_FAMILIES = frozenset({"logistic", "cox"})
"""Families whose curve is exponentiated (OR, HR) and drawn on a log axis."""

SURVEY_FAMILIES = frozenset({"linear", "logistic"})
"""Families fitted design-based (svyglm) when the cohort declares a survey design."""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class DoseResponseSpec(AnalysisSpec):
    """A ``dose_response`` entry (``workflow/schemas/analyses/dose_response.schema.yaml``)."""

    TYPE: ClassVar[str] = "dose_response"
    family: str = "linear"
    outcome: str | None = None
    event: str | None = None
    duration: str | None = None
    exposure: str
    covariates: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    references: Mapping[str, Any] = field(default_factory=_empty, metadata={"key": "reference"})
    knots: int | tuple[float, ...] = 5
    reference_value: str | float = "median"
    grid: tuple[float, ...] = ()
    grid_points: int = 50
    grid_range: tuple[float, ...] = (0.05, 0.95)
    weighting: str | None = None
    id: str = "id"
    time: str = "time_years"
    random: str = "slope"
    reml: bool = True

    def __post_init__(self) -> None:
        if self.family == "cox" and not (self.event and self.duration):
            raise ConfigError(f"{self.where}: family cox needs 'event' and 'duration'")
        if self.family != "cox" and not self.outcome:
            raise ConfigError(f"{self.where}: family {self.family} needs 'outcome'")
        if self.family == "cox" and self.weighting == "weighted":
            raise ConfigError(f"{self.where}: survey-weighted Cox splines are not available; use weighting: unweighted")
        if self.family == "mixed" and self.weighting == "weighted":
            raise ConfigError(
                f"{self.where}: survey-weighted mixed-model splines are not available; use weighting: unweighted"
            )

    def uses_survey_design(self) -> bool:
        """Linear and logistic splines honour a survey design (svyglm); Cox and mixed-model splines do not
        (said in the notes)."""
        return self.family in SURVEY_FAMILIES


@dataclass(frozen=True, kw_only=True)
class DoseResponseResult(AnalysisResult):
    """The fitted spline model and its curve.

    Attributes
    ----------
    curve : DataFrame
        ``exposure, estimate, conf_low, conf_high, std_error`` (``std_error`` of the log-scale contrast for
        OR/HR); the reference row has estimate 0 (or 1) and no band.
    reference : float
    knots : tuple of float
    family, exposure, outcome : str
    """

    figure_kind: ClassVar[str] = "dose_response"
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    reference: float = math.nan
    knots: tuple[float, ...] = ()
    family: str = "linear"
    exposure: str = ""
    outcome: str = ""


def _knots(values: np.ndarray, knots: int | Sequence[float], where: str) -> np.ndarray:
    """Harrell's knots for ``knots`` = 3..7, or the knots given (sorted, distinct, inside the data)."""
    if isinstance(knots, int | np.integer):
        return rcs_knots(values, int(knots), where=f"{where}.knots")
    given = np.asarray(sorted(float(k) for k in knots))
    distinct = np.unique(values)
    if given.size < 3 or np.unique(given).size != given.size:
        raise ConfigError(f"{where}.knots: give 3 or more distinct knots, got {list(knots)}")
    if distinct.size < given.size:
        raise DataError(
            f"{where}: {given.size} knots need at least {given.size} distinct exposure values, found "
            f"{distinct.size} ({show_values(distinct.tolist())}); use fewer knots"
        )
    return given


def _grid(values: np.ndarray, spec: DoseResponseSpec) -> np.ndarray:
    if spec.grid:
        return np.asarray(sorted(float(g) for g in spec.grid))
    lo, hi = np.quantile(values, [float(spec.grid_range[0]), float(spec.grid_range[1])])
    return np.linspace(lo, hi, int(spec.grid_points))


def _reference(values: np.ndarray, spec: DoseResponseSpec) -> float:
    if spec.reference_value == "median":
        return float(np.median(values))
    try:
        return float(spec.reference_value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{spec.where}.reference_value must be 'median' or a number, got {spec.reference_value!r}"
        ) from None


def _cox_fit(design: Design, sub: pd.DataFrame, spec: DoseResponseSpec) -> FitResult:
    where = spec.where
    T = numeric_values(sub.loc[design.rows, str(spec.duration)], where, str(spec.duration))
    E = numeric_values(sub.loc[design.rows, str(spec.event)], where, str(spec.event))
    if (T <= 0).any():
        raise DataError(
            f"{where}: {int((T <= 0).sum())} rows have {spec.duration!r} <= 0; follow-up must be positive. "
            "Fix the column or exclude those rows with keep_if"
        )
    if not set(np.unique(E)) <= {0.0, 1.0}:
        raise DataError(f"{where}: event column {spec.event!r} must be 0/1, found {show_values(np.unique(E))}")
    f = fit_cox_efron(T, E.astype(int), np.asfortranarray(design.x))
    diagnostics = Diagnostics(
        n=design.n, converged=f.converged, log_likelihood=f.loglik, exclusions=design.exclusions,
        n_events=int(E.sum()), iterations=f.n_iter, messages=() if f.converged else (f.message,),
    )
    return FitResult.from_arrays(
        design.names, f.params, f.cov, None, diagnostics, std_errors=f.std_errors,
        method="Cox proportional hazards (Efron ties)", codings=design.codings,
    )


@dataclass(frozen=True)
class _Mixed:
    """A mixed-model spline fit: the engine's fit, its Satterthwaite parts (for the F tests) and notes."""

    fit: LMMFit
    satt: Satterthwaite
    notes: tuple[str, ...]


def _check_ids(data: pd.DataFrame, spec: DoseResponseSpec) -> None:
    """Every row needs a person id (as ``mixed_model``'s long tables)."""
    missing = data[spec.id].isna().to_numpy()
    if missing.any():
        bad = (np.flatnonzero(missing) + 1).tolist()
        raise DataError(
            f"{spec.where}: the id column {spec.id!r} is missing in {len(bad)} rows (rows {show_values(bad)}); "
            "every person-visit row of family mixed needs an id. Fill it or exclude the rows with keep_if."
        )


def _mixed_fit(design: Design, data: pd.DataFrame, spec: DoseResponseSpec) -> tuple[FitResult, _Mixed]:
    """``lmer(y ~ rcs(x, k) + covariates + (1 | id))`` or ``(time | id)`` by :func:`~musclecog.longitudinal.lmm.fit_lmm`."""
    where = spec.where
    rows = data.loc[design.rows]
    groups = rows[spec.id].to_numpy()
    t = numeric_values(rows[spec.time], where, spec.time) if spec.random == "slope" else None
    Z = random_matrix(len(rows), t)
    assert design.y is not None
    fit = fit_lmm(design.y, design.x, Z, groups, reml=spec.reml)
    satt = satterthwaite(design.y, design.x, Z, groups, fit)
    notes = [f"{fit.n_obs} observations of {fit.n_groups} people"]
    if not fit.converged:
        notes.insert(0, f"NOT CONVERGED ({fit.method}; {fit.message})")
    if fit.singular:
        notes.append("singular fit: a random-effect variance is estimated at zero")
    if satt.message:
        notes.append(f"Satterthwaite df: {satt.message}")
    if spec.random == "slope" and spec.time not in spec.covariates:
        notes.append(f"random slope on {spec.time!r} without a mean slope: add it to covariates for "
                     f"lmer(y ~ rcs(x, k) + {spec.time} + ... + ({spec.time} | {spec.id}))")
    effects = f"({spec.time} | {spec.id})" if spec.random == "slope" else f"(1 | {spec.id})"
    diagnostics = Diagnostics(
        n=fit.n_obs, converged=fit.converged, log_likelihood=fit.llf, exclusions=design.exclusions,
        n_groups=fit.n_groups, messages=(f"{fit.method}; {fit.message}",),
        statistics={"var(Residual)": float(fit.scale)},
    )
    result = FitResult.from_arrays(
        design.names, fit.params, fit.cov_params, None, diagnostics, codings=design.codings,
        method=f"linear mixed model ({'REML' if spec.reml else 'ML'}; {effects}; lme4-style profiled deviance)",
    )
    return result, _Mixed(fit, satt, tuple(notes))


def _fit_model(
    design: Design, data: pd.DataFrame, spec: DoseResponseSpec, survey: Any
) -> tuple[FitResult, _Mixed | None]:
    """The spline model of the family (svyglm when ``survey`` is given)."""
    if spec.family == "mixed":
        return _mixed_fit(design, data, spec)
    if survey is not None:
        family = "gaussian" if spec.family == "linear" else "binomial"
        return design_based_fit(design, survey, design.rows, family, spec.where), None
    if spec.family == "linear":
        return ols_fit(design), None
    if spec.family == "logistic":
        return logistic_fit(design, spec.where), None
    return _cox_fit(design, data.loc[design.rows], spec), None


def _satterthwaite_rows(
    fit: FitResult, mixed: _Mixed, terms: Sequence[str], labels: Mapping[str, Any]
) -> list[Estimate]:
    """lmerTest's ``contest(m, L, joint = TRUE)`` of the overall and non-linear hypotheses (F on Satterthwaite
    df; the denominator df in the ``df_denominator`` column)."""
    out = []
    for name, tested in (("overall", terms), ("nonlinear", terms[1:])):
        L = np.eye(len(fit.terms))[[fit.terms.index(t) for t in tested]]
        f = satterthwaite_f(mixed.fit, mixed.satt, L)
        note = "; ".join((f"lmerTest contest(m, L, joint = TRUE) ({name}); F on ({f.ndf}, {f.ddf:.6g}) df",
                          *mixed.notes))
        out.append(
            Estimate(
                term=f"satterthwaite F: {name}", estimate=f.statistic, scale="f_statistic", p_value=f.p_value,
                n=mixed.fit.n_groups, statistic=f.statistic, df=float(f.ndf), note=note,
                **{**labels, "extra": MappingProxyType({**labels["extra"], "df_denominator": f.ddf})},
            )
        )
    return out


def fit_dose_response(data: pd.DataFrame, spec: DoseResponseSpec) -> DoseResponseResult:
    """Fit the spline model and compute the curve and the overall and non-linearity Wald tests.

    Raises
    ------
    DataError
        Fewer distinct exposure values than knots (with Harrell's knots: not more than ``knots + 2``),
        a non-numeric exposure, non-positive follow-up, a missing id (family mixed); nothing is returned in
        part.
    """
    where = spec.where
    if spec.family not in SCALE:
        raise ConfigError(f"{where}.family must be one of {sorted(SCALE)}, got {spec.family!r}")
    outcome = spec.outcome if spec.family != "cox" else None
    required: tuple[str, ...] = (str(spec.duration), str(spec.event)) if spec.family == "cox" else ()
    if spec.family == "mixed":
        required = (spec.id, *((spec.time,) if spec.random == "slope" else ()))
    weighted = spec.family in SURVEY_FAMILIES and resolve_weighting(spec.weighting, spec.context) == ("weighted",)
    survey = None
    if weighted:
        survey, survey_columns = survey_design(data, spec.context)
        required = survey_columns
    check_columns(data, [spec.exposure, *spec.covariates, *(c for c in (outcome, *required) if c)], where)
    if spec.family == "mixed":
        _check_ids(data, spec)
    base = DesignSpec(
        outcome=outcome, exposure=spec.exposure, covariates=spec.covariates, factors=spec.factors,
        references=spec.references, intercept=spec.family != "cox", required=required,
    )
    linear = build_design(data, base, where)  # complete rows and the clear column errors
    x = numeric_values(data.loc[linear.rows, spec.exposure], where, spec.exposure)
    knots = _knots(x, spec.knots, where)
    design = build_design(
        data, DesignSpec(**{**base.__dict__, "knots": MappingProxyType({spec.exposure: tuple(knots)})}), where
    )
    fit, mixed = _fit_model(design, data, spec, survey)
    reference = _reference(x, spec)
    grid = _grid(x, spec)
    curve = spline_curve(fit, spec.exposure, grid, reference, spec.family)
    scale = SCALE[spec.family]
    method = f"restricted cubic spline ({len(knots)} knots), {fit.method}"
    labels: dict[str, Any] = {
        "method": method,
        "outcome": str(outcome or spec.event),
        "exposure": spec.exposure,
        "extra": MappingProxyType({"reference_value": reference, "knots": ", ".join(f"{k:.6g}" for k in knots)}),
    }
    n, n_events = fit.diagnostics.n, fit.diagnostics.n_events
    fit_notes: tuple[str, ...] = ()
    if mixed is not None:
        n, fit_notes = mixed.fit.n_groups, mixed.notes  # people, as mixed_model's rows

    def _note(*parts: str | None) -> str | None:
        return "; ".join(p for p in (*parts, *fit_notes) if p) or None

    estimates = [
        Estimate(
            term=f"{spec.exposure}={row.exposure:.6g}", estimate=row.estimate, scale=scale,
            std_error=row.std_error, conf_low=row.conf_low, conf_high=row.conf_high, n=n, n_events=n_events,
            note=_note("reference" if row.exposure == reference else None), **labels,
        )
        for row in curve.itertuples()
    ]
    terms = design.exposure_terms
    test_scale = "f_statistic" if fit.df_resid is not None else "chi_squared"
    what = "car::Anova(m) (Wald chi-squared on vcov(m))" if mixed is not None else "rms::anova"
    for name, tested in (("overall", terms), ("nonlinear", terms[1:])):
        stat, k, p = fit.wald_test(tested)
        estimates.append(
            Estimate(
                term=f"wald test: {name}", estimate=stat, scale=test_scale, p_value=p, n=n, n_events=n_events,
                statistic=stat, df=float(k), note=_note(f"{what} ({name}); residual df {fit.df_resid}"
                if fit.df_resid is not None else f"{what} ({name})"), **labels,
            )
        )
    if mixed is not None:
        estimates += _satterthwaite_rows(fit, mixed, terms, labels)
    return DoseResponseResult(
        analysis=spec.context.analysis, cohort=spec.context.cohort, estimates=tuple(estimates),
        fits=MappingProxyType({"spline": fit}), title=f"{spec.context.analysis}: {labels['outcome']} by {spec.exposure}",
        curve=curve, reference=reference, knots=tuple(float(k) for k in knots), family=spec.family,
        exposure=spec.exposure, outcome=labels["outcome"],
    )


def spline_curve(fit: FitResult, exposure: str, grid: np.ndarray, reference: float, family: str) -> pd.DataFrame:
    """The curve relative to ``reference`` with pointwise 95% bands (see the module docstring).

    Includes the reference value itself as a row (estimate 0, or 1 on a ratio scale, standard error 0).
    """
    coding = fit.codings[exposure]
    values = np.unique(np.append(np.asarray(grid, float), reference))
    contrast = coding.encode(pd.Series(values), exposure) - coding.encode(pd.Series([reference]), exposure)
    idx = [fit.terms.index(c) for c in coding.columns]
    beta = fit.params.to_numpy()[idx]
    cov = fit.cov.to_numpy()[np.ix_(idx, idx)]
    est = contrast @ beta
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", contrast, cov, contrast), 0.0))
    q = float(special.stdtrit(fit.df_resid, 0.975)) if fit.df_resid is not None else Z975
    lo, hi = est - q * se, est + q * se
    if family in RATIO_FAMILIES:
        est, lo, hi = np.exp(est), np.exp(lo), np.exp(hi)
    return pd.DataFrame({"exposure": values, "estimate": est, "conf_low": lo, "conf_high": hi, "std_error": se})
