"""Analysis type ``regression``: linear and logistic regression of one or more outcomes on an exposure.

Matches R's ``lm`` (t tests and intervals on n - p df), ``glm(family = binomial)`` (Wald z,
``confint.default``), ``survey::svyglm`` (gaussian / quasibinomial, t on degf - p + 1 df) and, with
``random_intercept``, ``lme4::lmer(y ~ ... + (1 | group))`` fitted by REML (statsmodels ``MixedLM``).
Jiang et al. (2022, doi:10.1186/s12916-022-02490-2) used linear and logistic models with FDR correction
and a linear mixed model with a random intercept for assessment centre.

Several outcomes at once: Benjamini-Hochberg FDR (``p_fdr``, R's ``p.adjust(p, "BH")``). The family of
a p-value (``fdr_family: all_outcomes``, the default) is every outcome of the analysis for the same term,
within model, weighting and stratum, whatever the outcome's type (linear and logistic together);
``fdr_family: by_method`` splits it further by method (linear and logistic outcomes corrected
separately). The ``fdr_family`` column of the table names the outcomes of each row's family
(:mod:`musclecog.crosssectional.fdr`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import (
    Design,
    DesignSpec,
    Stratum,
    build_design,
    check_columns,
    complete_rows,
    count_exclusions,
    numeric_values,
    per_unit_scale,
    strata,
)
from musclecog.core.results import Estimate, FitResult
from musclecog.core.spec import AnalysisSpec
from musclecog.crosssectional.common import CrossSectionalResult, one_of, resolve_weighting, survey_design
from musclecog.crosssectional.fdr import add_fdr
from musclecog.crosssectional.models import logistic_fit, mixed_model_fit, ols_fit
from musclecog.errors import ConfigError, ModelError
from musclecog.survey import SurveyDesign, design_based_fit

logger = logging.getLogger(__name__)


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class RegressionSpec(AnalysisSpec):
    """A ``regression`` entry of the config (``workflow/schemas/analyses/regression.schema.yaml``;
    keys and defaults in docs/crosssectional.md). Built by :func:`musclecog.core.spec.spec_from_config`."""

    TYPE: ClassVar[str] = "regression"
    SURVEY_DESIGN: ClassVar[bool] = True
    outcome: str | None = None
    outcomes: tuple[str, ...] = ()
    exposure: str
    exposure_per: str | float | None = None
    outcome_per_sd: bool = False
    covariates: tuple[str, ...] = ()
    models: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)
    factors: tuple[str, ...] = ()
    references: Mapping[str, Any] = field(default_factory=_empty, metadata={"key": "reference"})
    family: str = "auto"
    by: str | None = None
    interaction: str | None = None
    random_intercept: str | None = None
    fdr: bool = True
    fdr_family: str = "all_outcomes"
    weighting: str | None = None
    min_n: int = 20
    report_covariates: bool = False

    def __post_init__(self) -> None:
        if self.random_intercept and self.family == "binomial":
            raise ConfigError(
                f"{self.where}: random_intercept is available for linear (gaussian) models only"
            )
        if self.models and self.covariates:
            raise ConfigError(
                f"{self.where}: give either 'covariates' (one model) or 'models' (named covariate sets)"
            )

    @property
    def outcome_names(self) -> tuple[str, ...]:
        """``outcome`` or ``outcomes``, as a tuple."""
        return one_of(self.outcome, self.outcomes, ("outcome", "outcomes"), self.where)

    @property
    def model_sets(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(name, covariates) pairs: ``models``, or one model ``adjusted`` (``crude`` without covariates)."""
        if self.models:
            return tuple((str(name), tuple(covs)) for name, covs in self.models.items())
        return (("adjusted" if self.covariates else "crude", tuple(self.covariates)),)

    @property
    def columns(self) -> list[str]:
        """Every column the analysis names."""
        named = [*self.outcome_names, self.exposure, *(c for _, covs in self.model_sets for c in covs)]
        named += [*self.factors, *(c for c in (self.by, self.interaction, self.random_intercept) if c)]
        return list(dict.fromkeys(named))


@dataclass(frozen=True, kw_only=True)
class RegressionResult(CrossSectionalResult):
    """The fits and rows of a ``regression`` analysis.

    ``fits`` are keyed ``"<outcome> | <model> | <weighting> | <stratum>"`` (``" | interaction"`` for the
    model with exposure x modifier terms).

    Attributes
    ----------
    exposure_unit : str
        The exposure's unit (``"per SD (11)"``, ``"per unit"``).
    """

    exposure_unit: str = "per unit"


@dataclass(frozen=True)
class OutcomeModel:
    """How one outcome is modelled: ``family`` (gaussian/binomial), the divisor of the outcome and the
    tidy ``scale`` of its coefficients."""

    name: str
    family: str
    divisor: float
    scale: str


@dataclass(frozen=True)
class Cell:
    """One fit of the analysis: an outcome, a model (covariate set), a weighting and a stratum."""

    outcome: OutcomeModel
    model: str
    covariates: tuple[str, ...]
    weighted: bool
    stratum: Stratum
    method: str

    @property
    def key(self) -> str:
        """Key of the cell's fit in :attr:`RegressionResult.fits`."""
        weighting = "weighted" if self.weighted else "unweighted"
        return f"{self.outcome.name} | {self.model} | {weighting} | {self.stratum.label}"


@dataclass
class SharedDesigns:
    """The strata and design matrices of one analysis, shared by its fits.

    A design matrix depends on the stratum, the exposure, the covariates, the interaction and the rows
    kept, not on the outcome: outcomes with the same complete rows reuse it
    (:meth:`~musclecog.core.design.Design.with_outcome`). Each stratum's rows are taken once, and complete
    rows are found on a float copy of the columns' missingness (``presence``: NaN where missing), which is
    much faster than testing text columns again for every fit. Lives for one :func:`fit_regression` call.
    """

    data: pd.DataFrame
    presence: pd.DataFrame
    _subsets: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = field(default_factory=dict)
    _designs: dict[Hashable, list[Design]] = field(default_factory=dict)

    @classmethod
    def of(cls, data: pd.DataFrame, columns: Sequence[str]) -> SharedDesigns:
        """For the analysis table and the columns the fits may use (checked to exist)."""
        nan, zero = np.float32(np.nan), np.float32(0.0)
        presence = {c: np.where(data[c].isna().to_numpy(), nan, zero) for c in dict.fromkeys(columns)}
        return cls(data, pd.DataFrame(presence, index=data.index))

    def subset(self, stratum: Stratum) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The stratum's rows of the table and of ``presence``."""
        if stratum.label not in self._subsets:
            if stratum.mask.all():
                self._subsets[stratum.label] = (self.data, self.presence)
            else:
                self._subsets[stratum.label] = (self.data.loc[stratum.mask], self.presence.loc[stratum.mask])
        return self._subsets[stratum.label]

    def n_complete(self, stratum: Stratum, columns: Sequence[str]) -> int:
        """Rows of the stratum with every one of ``columns``."""
        return int(complete_rows(self.subset(stratum)[1], columns).sum())

    def design(self, spec: DesignSpec, stratum: Stratum, where: str) -> Design:
        """The design of ``spec`` on the stratum's rows, built or reused."""
        if spec.outcome is None:
            raise ValueError("a regression design needs an outcome")
        sub, presence = self.subset(stratum)
        needed = [*spec.variables, *spec.required]
        rows = complete_rows(presence, needed)
        key = (stratum.label, spec.exposure, spec.covariates, spec.interactions, tuple(sorted(spec.required)))
        for design in self._designs.get(key, []):
            if np.array_equal(design.rows, rows):
                y = numeric_values(sub.loc[rows, spec.outcome], where, spec.outcome)
                y = y / float(spec.scales.get(spec.outcome, 1.0))
                exclusions = MappingProxyType(count_exclusions(presence, needed))
                return dataclasses.replace(design.with_outcome(y), exclusions=exclusions)
        design = build_design(sub, spec, where)
        self._designs.setdefault(key, []).append(design)
        return design


def fit_regression(data: pd.DataFrame, spec: RegressionSpec) -> RegressionResult:
    """Fit a ``regression`` analysis: every outcome x model x weighting x stratum.

    Parameters
    ----------
    data : DataFrame
        The cohort table after the analysis' ``keep_if``.
    spec : RegressionSpec
        The analysis (its ``context`` gives the names and the cohort's survey design).

    Returns
    -------
    RegressionResult
        One row per exposure term (and interaction term) per outcome, model, weighting and stratum; a
        stratum that cannot be fitted gives a row with the reason in ``note``. With ``fdr`` (default),
        ``p_fdr`` and ``fdr_family`` (see the module docstring).
    """
    run = RegressionRun.start(data, spec)
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    for cell in run.cells():
        cell_estimates, cell_fits = run.fit_cell(cell)
        estimates += cell_estimates
        fits.update(cell_fits)
    if spec.fdr:
        estimates = add_fdr(estimates, spec.fdr_family)
    return RegressionResult(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=tuple(estimates),
        fits=MappingProxyType(fits),
        title=f"{spec.context.analysis}: {spec.exposure} ({run.exposure_unit})",
        exposure_unit=run.exposure_unit,
    )


@dataclass
class RegressionRun:
    """What the fits of one ``regression`` analysis share: the table, the spec, the survey design, the
    exposure's unit and the design matrices already built."""

    data: pd.DataFrame
    spec: RegressionSpec
    weighting: tuple[str, ...]
    survey: SurveyDesign | None
    survey_columns: tuple[str, ...]
    exposure_divisor: float
    exposure_unit: str
    designs: SharedDesigns

    @classmethod
    def start(cls, data: pd.DataFrame, spec: RegressionSpec) -> RegressionRun:
        """Check the columns and keys against the table; resolve weighting, survey design and unit."""
        weighting = resolve_weighting(spec.weighting, spec.context)
        if spec.random_intercept and "weighted" in weighting:
            raise ConfigError(
                f"{spec.where}: random_intercept models are unweighted; set weighting: unweighted"
            )
        check_columns(data, spec.columns, spec.where)
        survey: SurveyDesign | None = None
        survey_columns: tuple[str, ...] = ()
        if "weighted" in weighting:
            survey, survey_columns = survey_design(data, spec.context)
        divisor, unit = per_unit_scale(data, spec.exposure, spec.exposure_per, spec.where, factors=spec.factors)
        designs = SharedDesigns.of(data, [*spec.columns, *survey_columns])
        return cls(data, spec, weighting, survey, survey_columns, divisor, unit, designs)

    def outcome_model(self, outcome: str) -> OutcomeModel:
        """The family, divisor and scale of one outcome."""
        s = self.spec
        family = s.family
        if family == "auto":
            values = pd.to_numeric(self.data[outcome], errors="coerce").dropna().unique()
            binary = len(values) <= 2 and set(np.asarray(values, float)) <= {0.0, 1.0}
            family = "binomial" if binary else "gaussian"
        if family == "binomial":
            if s.random_intercept:
                raise ConfigError(
                    f"{s.where}: random_intercept models are linear; {outcome!r} is a 0/1 outcome"
                )
            return OutcomeModel(outcome, family, 1.0, "odds_ratio")  # binary outcomes stay 0/1
        divisor = 1.0
        if s.outcome_per_sd:
            divisor = float(numeric_values(self.data[outcome].dropna(), s.where, outcome).std(ddof=1))
        scale = "standardised_beta" if (s.outcome_per_sd and s.exposure_per == "sd") else "beta"
        return OutcomeModel(outcome, family, divisor, scale)

    def cells(self) -> list[Cell]:
        """Every fit, in table order: outcome, model, weighting, stratum."""
        s = self.spec
        out = []
        for outcome in s.outcome_names:
            om = self.outcome_model(outcome)
            for model, covariates in s.model_sets:
                for weighting in self.weighting:
                    weighted = weighting == "weighted"
                    method = _method(om.family, weighted, model, s.random_intercept)
                    for stratum in strata(self.data, s.by, s.where):
                        covs = tuple(c for c in covariates if not (stratum.label != "overall" and c == s.by))
                        out.append(Cell(om, model, covs, weighted, stratum, method))
        return out

    def labels(self, cell: Cell) -> dict[str, Any]:
        """The label fields of the cell's estimates (method, outcome, exposure, stratum, extra columns)."""
        extra = {
            "model": cell.model,
            "covariates": ", ".join(cell.covariates) if cell.covariates else "none",
            "exposure_unit": self.exposure_unit,
        }
        return {
            "method": cell.method,
            "outcome": cell.outcome.name,
            "exposure": self.spec.exposure,
            "stratum": cell.stratum.label,
            "extra": MappingProxyType(extra),
        }

    def required(self, cell: Cell) -> tuple[str, ...]:
        """Columns beyond the model's that must be complete (survey design, random-intercept group)."""
        extra = self.survey_columns if cell.weighted else ()
        return (*extra, self.spec.random_intercept) if self.spec.random_intercept else extra

    def fit_cell(self, cell: Cell) -> tuple[list[Estimate], dict[str, FitResult]]:
        """The estimates and fits of one cell; a small or inestimable stratum gives a note row."""
        s = self.spec
        labels = self.labels(cell)
        needed = [cell.outcome.name, s.exposure, *cell.covariates, *self.required(cell)]
        n_complete = self.designs.n_complete(cell.stratum, needed)
        # the overall sample included (the release rule also checks every row); an overall sample with no
        # complete row at all is an error that names its cause (e.g. a column missing in every row)
        if n_complete < s.min_n and (n_complete > 0 or cell.stratum.label != "overall"):
            reason = f"too few people: fewer than min_n = {s.min_n} complete rows in {cell.stratum.label}"
            return [Estimate.missing(s.exposure, cell.outcome.scale, reason, n_complete, **labels)], {}
        try:
            return self._fit_cell(self.designs.subset(cell.stratum)[0], cell, labels)
        except ModelError as exc:
            if cell.stratum.label == "overall":
                raise
            reason = f"not estimable: {exc}"
            return [Estimate.missing(s.exposure, cell.outcome.scale, reason, n_complete, **labels)], {}

    def _fit_cell(
        self, sub: pd.DataFrame, cell: Cell, labels: Mapping[str, Any]
    ) -> tuple[list[Estimate], dict[str, FitResult]]:
        s = self.spec
        where = f"{s.where} ({cell.outcome.name}, {cell.model}, {cell.stratum.label})"
        design, fit = self._fit_model(sub, cell, None, where)
        if design.n_excluded:
            logger.info(
                "%s: %d of %d rows excluded (%s; complete cases used)",
                where,
                design.n_excluded,
                len(sub),
                ", ".join(f"{k}: {v}" for k, v in design.exclusions.items()),
            )
        dropped = f"constant here, left out: {', '.join(design.dropped)}" if design.dropped else ""
        if dropped:
            logger.info("%s: covariate(s) %s constant in this sample, left out", where, list(design.dropped))
        terms = (
            [t for t in design.names if t != "(Intercept)"] if s.report_covariates else design.exposure_terms
        )
        estimates = fit.estimates(terms, cell.outcome.scale, df=True, note=_note(fit, dropped), **labels)
        fits = {cell.key: fit}
        by_modifier = s.interaction is not None and s.interaction == s.by and cell.stratum.label != "overall"
        if s.interaction and not by_modifier:
            # a second fit with exposure x modifier terms: the main rows keep their meaning (the exposure's
            # average effect), the interaction rows come from the model that has them
            idesign, ifit = self._fit_model(sub, cell, s.interaction, where)
            note = _note(ifit, dropped)
            estimates += ifit.estimates(
                idesign.interaction_terms, cell.outcome.scale, df=True, note=note, **labels
            )
            if len(idesign.interaction_terms) > 1:
                estimates.append(self._joint_test(ifit, idesign, note, labels))
            fits[f"{cell.key} | interaction"] = ifit
        return estimates, fits

    def _joint_test(self, fit: FitResult, design: Design, note: str, labels: Mapping[str, Any]) -> Estimate:
        stat, k, p = fit.wald_test(design.interaction_terms)
        return Estimate(
            term=f"{self.spec.exposure} x {self.spec.interaction} (joint test)",
            estimate=stat,
            scale="f_statistic" if fit.df_resid is not None else "chi_squared",
            p_value=p,
            n=fit.diagnostics.n,
            statistic=stat,
            df=float(k),
            note=note,
            **labels,
        )

    def _fit_model(
        self, sub: pd.DataFrame, cell: Cell, interaction: str | None, where: str
    ) -> tuple[Design, FitResult]:
        s = self.spec
        scales = {s.exposure: self.exposure_divisor}
        if cell.outcome.divisor != 1.0:
            scales[cell.outcome.name] = cell.outcome.divisor
        dspec = DesignSpec(
            outcome=cell.outcome.name,
            exposure=s.exposure,
            covariates=cell.covariates,
            factors=s.factors,
            references=s.references,
            interactions=((s.exposure, interaction),) if interaction else (),
            scales=MappingProxyType(scales),
            required=self.required(cell),
        )
        design = self.designs.design(dspec, cell.stratum, where)
        if cell.weighted:
            assert self.survey is not None
            domain = np.zeros(len(self.data), bool)
            domain[np.flatnonzero(cell.stratum.mask)[design.rows]] = True
            return design, design_based_fit(design, self.survey, domain, cell.outcome.family, where)
        if s.random_intercept:
            groups = sub.loc[design.rows, s.random_intercept].astype(str).to_numpy()
            return design, mixed_model_fit(design, groups, where)
        if cell.outcome.family == "gaussian":
            return design, ols_fit(design)
        return design, logistic_fit(design, where)


def _method(family: str, weighted: bool, model: str, random_intercept: str | None) -> str:
    if random_intercept:
        base = f"linear mixed model (random intercept: {random_intercept})"
    else:
        base = f"{'linear' if family == 'gaussian' else 'logistic'} regression"
    if weighted:
        base = f"survey-weighted {base}"
    return f"{base}, {model}"


def _note(fit: FitResult, dropped: str) -> str:
    """The fitter's messages and the covariates left out, for the ``note`` column."""
    return "; ".join(x for x in (*fit.diagnostics.messages, dropped) if x)
