"""Analysis type ``group_comparison``: an outcome's mean and SD by group, and group differences.

Per group level: n, mean (SE and t interval), SD. Per non-reference level: the difference from the
reference level by Welch's two-sample t test (R: ``t.test(y ~ g, var.equal = FALSE)``; estimate is level
minus reference) and, with ``covariates``, the covariate-adjusted difference from OLS (R: ``lm``). With
a survey design: ``svymean`` / ``svyby`` means (linearised SE, t interval on the design df), the
difference from ``svyglm(y ~ g)`` and the adjusted difference from ``svyglm(y ~ g + covariates)``.
Every analysis runs overall and in each level of ``by`` (e.g. age group). Wang et al. (2024,
doi:10.1186/s12877-024-05035-9) compared DSST by low muscle mass (three definitions), by age group.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import (
    DesignSpec,
    Stratum,
    build_design,
    check_columns,
    factor_levels,
    fmt_level,
    numeric_values,
    strata,
)
from musclecog.core.inference import wald_interval, wald_p_value
from musclecog.core.results import Estimate, Exclusion, FitResult
from musclecog.core.spec import AnalysisSpec
from musclecog.crosssectional.common import CrossSectionalResult, one_of, resolve_weighting, survey_design
from musclecog.crosssectional.models import ols_fit
from musclecog.errors import ModelError
from musclecog.survey import SurveyDesign, design_based_fit, survey_mean

logger = logging.getLogger(__name__)

_GROUP = "__group__"
_Y = "__y__"


@dataclass(frozen=True, kw_only=True)
class GroupComparisonSpec(AnalysisSpec):
    """A ``group_comparison`` entry of the config
    (``workflow/schemas/analyses/group_comparison.schema.yaml``).

    Built by :func:`musclecog.core.spec.spec_from_config`.
    """

    TYPE: ClassVar[str] = "group_comparison"
    SURVEY_DESIGN: ClassVar[bool] = True
    outcome: str | None = None
    outcomes: tuple[str, ...] = ()
    group: str | None = None
    groups: tuple[str, ...] = ()
    reference: Any = None
    covariates: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    by: str | None = None
    weighting: str | None = None
    min_n: int = 10

    @property
    def outcome_names(self) -> tuple[str, ...]:
        """``outcome`` or ``outcomes``, as a tuple."""
        return one_of(self.outcome, self.outcomes, ("outcome", "outcomes"), self.where)

    @property
    def group_names(self) -> tuple[str, ...]:
        """``group`` or ``groups``, as a tuple."""
        return one_of(self.group, self.groups, ("group", "groups"), self.where)


@dataclass(frozen=True, kw_only=True)
class GroupComparisonResult(CrossSectionalResult):
    """Means, SDs and differences of a ``group_comparison`` analysis; ``fits`` holds the regression fits of
    the model-based differences, keyed ``"<outcome> | <term> | <method> | <stratum>"``."""

    plot_scales: tuple[str, ...] = ("mean_difference",)


@dataclass(frozen=True)
class Welch:
    """Welch's two-sample t test of ``mean(y1) - mean(y0)`` (R: ``t.test(y1, y0)``) with its 95% CI."""

    estimate: float
    std_error: float
    statistic: float
    df: float
    conf_low: float
    conf_high: float
    p_value: float

    @classmethod
    def test(cls, y1: np.ndarray, y0: np.ndarray, level: float = 0.95) -> Welch:
        """The test of two samples (Welch-Satterthwaite df)."""
        n1, n0 = len(y1), len(y0)
        v1, v0 = y1.var(ddof=1) / n1, y0.var(ddof=1) / n0
        se = float(np.sqrt(v1 + v0))
        df = float((v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1)))
        diff = float(y1.mean() - y0.mean())
        lo, hi = wald_interval(np.array([diff]), np.array([se]), df, level)
        t = diff / se
        return cls(diff, se, t, df, float(lo[0]), float(hi[0]), float(wald_p_value(np.array([t]), df)[0]))


def fit_group_comparison(data: pd.DataFrame, spec: GroupComparisonSpec) -> GroupComparisonResult:
    """Fit a ``group_comparison`` analysis (see the module docstring).

    Returns
    -------
    GroupComparisonResult
        Rows: ``mean`` and ``sd`` per group level (term ``group=level``), ``mean_difference`` per
        non-reference level (term ``group=level vs ref``; unadjusted and, with covariates, adjusted), for
        each outcome, group variable, weighting and stratum. A stratum where a group has fewer than
        ``min_n`` people gives rows with the reason in ``note``.
    """
    run = GroupRun.start(data, spec)
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    for outcome in spec.outcome_names:
        for group in spec.group_names:
            comparison = run.comparison(outcome, group)
            for weighting in run.weighting:
                for stratum in strata(data, spec.by, spec.where):
                    first = weighting == run.weighting[0]
                    est, fit = comparison.stratum(stratum, weighting == "weighted", log=first)
                    estimates += est
                    fits.update(fit)
    covariates = ", ".join(spec.covariates)
    title = f"{spec.context.analysis}: {', '.join(spec.outcome_names)} by {', '.join(spec.group_names)}"
    return GroupComparisonResult(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=tuple(estimates),
        fits=MappingProxyType(fits),
        title=title + (f" (adjusted: {covariates})" if covariates else ""),
    )


@dataclass
class GroupRun:
    """What the comparisons of one analysis share: table, spec, weighting and survey design."""

    data: pd.DataFrame
    spec: GroupComparisonSpec
    weighting: tuple[str, ...]
    survey: SurveyDesign | None
    survey_columns: tuple[str, ...]

    @classmethod
    def start(cls, data: pd.DataFrame, spec: GroupComparisonSpec) -> GroupRun:
        """Check the columns; resolve the weighting and the survey design."""
        weighting = resolve_weighting(spec.weighting, spec.context)
        columns = [*spec.outcome_names, *spec.group_names, *spec.covariates] + ([spec.by] if spec.by else [])
        check_columns(data, columns, spec.where)
        survey: SurveyDesign | None = None
        survey_columns: tuple[str, ...] = ()
        if "weighted" in weighting:
            survey, survey_columns = survey_design(data, spec.context)
        return cls(data, spec, weighting, survey, survey_columns)

    def comparison(self, outcome: str, group: str) -> Comparison:
        """One outcome by one group variable: its values, the group's levels (reference first) and codes."""
        levels = factor_levels(self.data[group], self.spec.reference, where=f"{self.spec.where}.reference")
        if len(levels) < 2:
            raise ModelError(
                f"{self.spec.where}: the group {group!r} takes a single value ({levels}); nothing to compare"
            )
        # integer codes of the ordered levels (-1: missing) - robust to nullable and categorical dtypes
        codes = pd.Categorical(self.data[group], categories=levels).codes.astype(np.int64)
        y = numeric_values(self.data[outcome], self.spec.where, outcome)
        return Comparison(self, outcome, group, tuple(levels), codes, y)


@dataclass
class Comparison:
    """One outcome compared between the levels of one group variable."""

    run: GroupRun
    outcome: str
    group: str
    levels: tuple[object, ...]
    codes: np.ndarray
    y: np.ndarray

    def labels(self, stratum: Stratum, method: str) -> dict[str, Any]:
        """The label fields of an estimate (method, outcome, exposure, stratum)."""
        return {"method": method, "outcome": self.outcome, "exposure": self.group, "stratum": stratum.label}

    def stratum(
        self, stratum: Stratum, weighted: bool, log: bool
    ) -> tuple[list[Estimate], dict[str, FitResult]]:
        """Means and SDs per level, then the differences from the reference level, in one stratum."""
        spec, data = self.run.spec, self.run.data
        ok = stratum.mask & ~np.isnan(self.y) & data[self.group].notna().to_numpy()
        if stratum.label == "overall" and log and int(ok.sum()) < len(data):
            logger.info(
                "%s (%s by %s): %d of %d rows excluded (%s or %s missing)",
                spec.where,
                self.outcome,
                self.group,
                len(data) - int(ok.sum()),
                len(data),
                self.outcome,
                self.group,
            )
        counts = [int((ok & (self.codes == i)).sum()) for i in range(len(self.levels))]
        estimates: list[Estimate] = []
        mean_method = "survey mean (Taylor linearisation)" if weighted else "sample mean"
        if stratum.label == "overall" and log and int(ok.sum()) < len(data):
            # counted in the table (and so in the analysis's flow table), not only in the log
            dropped = Exclusion(
                f"{self.outcome}, {self.group}", len(data), len(data) - int(ok.sum()),
                f"excluded: '{self.outcome}' or '{self.group}' missing",
            )
            estimates.append(dropped.count_estimate(**self.labels(stratum, mean_method)))
        for i, level in enumerate(self.levels):
            term = f"{self.group}={fmt_level(level)}"
            if counts[i] < spec.min_n:
                # no count in the note: a small n is not released (musclecog.disclosure)
                reason = f"too few people: fewer than min_n = {spec.min_n} in {term} ({stratum.label})"
                labels = self.labels(stratum, mean_method)
                estimates += [
                    Estimate.missing(term, scale, reason, counts[i], **labels) for scale in ("mean", "sd")
                ]
                continue
            sel = ok & (self.codes == i)
            estimates += self.level_estimates(sel, weighted, term=term, **self.labels(stratum, mean_method))
        fits: dict[str, FitResult] = {}
        small = [fmt_level(lv) for lv, c in zip(self.levels, counts, strict=True) if c < spec.min_n]
        for i in range(1, len(self.levels)):
            term = f"{self.group}={fmt_level(self.levels[i])} vs {fmt_level(self.levels[0])}"
            methods = [_diff_method(weighted, ())]
            if spec.covariates:
                methods.append(_diff_method(weighted, spec.covariates))
            if counts[i] < spec.min_n or counts[0] < spec.min_n:
                reason = (
                    f"too few people for a comparison in {stratum.label}: fewer than min_n = {spec.min_n} "
                    f"in {self.group}={', '.join(small)}"
                )
                n = counts[i] + counts[0]
                for method in methods:
                    labels = self.labels(stratum, method)
                    estimates.append(Estimate.missing(term, "mean_difference", reason, n, **labels))
                continue
            pair = ok & np.isin(self.codes, [i, 0])
            est, fit = self.differences(pair, i, stratum, weighted, term)
            estimates += est
            fits.update(fit)
        return estimates, fits

    def level_estimates(self, sel: np.ndarray, weighted: bool, **labels: Any) -> list[Estimate]:
        """The mean (SE, t interval, t test against 0) and the SD of one group level (rows ``sel``)."""
        n = int(sel.sum())
        survey = self.run.survey
        if weighted and survey is not None:
            m = survey_mean(np.where(sel, self.y, 0.0), survey, domain=sel)
            mean, se, lo, hi, df, sd = m.estimate, m.std_error, m.conf_low, m.conf_high, float(m.df), m.sd
        else:
            v = self.y[sel]
            mean, sd, df = float(v.mean()), float(v.std(ddof=1)), float(n - 1)
            se = float(v.std(ddof=1) / np.sqrt(n))
            lo_a, hi_a = wald_interval(np.array([mean]), np.array([se]), df)
            lo, hi = float(lo_a[0]), float(hi_a[0])
        t = mean / se if se > 0 else math.nan
        p = float(wald_p_value(np.array([t]), df)[0])
        return [
            Estimate(
                estimate=mean,
                scale="mean",
                std_error=se,
                conf_low=lo,
                conf_high=hi,
                p_value=p,
                n=n,
                statistic=t,
                df=df,
                **labels,
            ),
            Estimate(estimate=sd, scale="sd", n=n, **labels),
        ]

    def differences(
        self, pair: np.ndarray, level: int, stratum: Stratum, weighted: bool, term: str
    ) -> tuple[list[Estimate], dict[str, FitResult]]:
        """Welch's (or the survey-weighted unadjusted) and the covariate-adjusted difference of one level."""
        spec = self.run.spec
        covariate_sets: list[tuple[str, ...]] = [()]
        if spec.covariates:
            in_stratum = stratum.label != "overall"
            covariate_sets.append(tuple(c for c in spec.covariates if not (in_stratum and c == spec.by)))
        where = f"{spec.where} ({self.outcome}, {self.group}, {stratum.label})"
        estimates: list[Estimate] = []
        fits: dict[str, FitResult] = {}
        for covs in covariate_sets:
            method = _diff_method(weighted, covs)
            labels = self.labels(stratum, method)
            if not weighted and not covs:
                w = Welch.test(self.y[pair & (self.codes == level)], self.y[pair & (self.codes == 0)])
                estimates.append(
                    Estimate(
                        term=term,
                        estimate=w.estimate,
                        scale="mean_difference",
                        std_error=w.std_error,
                        conf_low=w.conf_low,
                        conf_high=w.conf_high,
                        p_value=w.p_value,
                        n=int(pair.sum()),
                        statistic=w.statistic,
                        df=w.df,
                        **labels,
                    )
                )
                continue
            try:
                fit = self.difference_fit(pair, level, covs, weighted, where)
            except ModelError as exc:
                reason = f"not estimable: {exc}"
                estimates.append(Estimate.missing(term, "mean_difference", reason, int(pair.sum()), **labels))
                continue
            note = "; ".join(fit.diagnostics.messages)
            row = fit.estimates([_GROUP], "mean_difference", df=True, note=note, **labels)[0]
            estimates.append(row.replace(term=term))
            fits[f"{self.outcome} | {term} | {method} | {stratum.label}"] = fit
        return estimates, fits

    def difference_fit(
        self, pair: np.ndarray, level: int, covariates: tuple[str, ...], weighted: bool, where: str
    ) -> FitResult:
        """OLS (or svyglm) of the outcome on a 0/1 indicator of ``level`` (and covariates), rows ``pair``."""
        data, spec = self.run.data, self.run.spec
        required = self.run.survey_columns if weighted else ()
        sub = data.loc[pair, list(dict.fromkeys([*covariates, *required]))].copy()
        sub[_GROUP] = (self.codes[pair] == level).astype(float)
        sub[_Y] = self.y[pair]
        dspec = DesignSpec(
            outcome=_Y, exposure=_GROUP, covariates=covariates, factors=spec.factors, required=required
        )
        design = build_design(sub, dspec, where)
        if not weighted or self.run.survey is None:
            return ols_fit(design)
        domain = np.zeros(len(data), bool)
        domain[np.flatnonzero(pair)[design.rows]] = True
        return design_based_fit(design, self.run.survey, domain, "gaussian", where)


def _diff_method(weighted: bool, covariates: tuple[str, ...]) -> str:
    if weighted:
        base = "survey-weighted linear regression"
    else:
        base = "linear regression" if covariates else "Welch two-sample t-test"
    if covariates:
        return f"{base}, adjusted for {', '.join(covariates)}"
    return f"{base}, unadjusted" if weighted else base
