"""Analysis type ``correlation``: Pearson, Spearman and partial correlations, a correlation matrix, R².

* Pearson: R's ``cor.test(x, y)``: t = r sqrt(n - 2) / sqrt(1 - r^2) on n - 2 df; 95% CI by Fisher's z,
  ``tanh(atanh(r) +- 1.96 / sqrt(n - 3))`` (the interval ``cor.test`` prints).
* Spearman: Pearson correlation of mid-ranks; p from the t approximation (R's
  ``cor.test(method = "spearman", exact = FALSE)``); CI by Fisher's z with the Fieller-Hartley-Pearson
  variance ``1.06 / (n - 3)`` (R prints no interval for Spearman).
* Partial (``partial: [covariates]``): Pearson correlation of the residuals of x and y on the covariates
  (factors as dummies); t on n - 2 - k df and Fisher's z with ``1 / sqrt(n - 3 - k)``, k = number of
  covariate columns (R: ``ppcor::pcor.test``).
* ``r_squared: true``: R² of the simple linear regression of y on x (= r²), with the CI squared from
  r's Fisher interval (0 as lower bound when that interval spans 0) and the F test's p (= r's p).

With a survey design (``weighting``: by default weighted when the cohort declares one), the Pearson,
partial and R² rows are design-based (:func:`musclecog.survey.survey_correlation`): the weighted
correlation, its Taylor-linearised SE (``std_error_r``; R: ``svycontrast`` of the correlation written as a
function of ``svymean`` of the first and second moments), the t test of r / SE on ``degf - 1 - k`` df (the
residual df of ``svyglm`` of y on x and the k partialled columns) and the Fisher-z interval
``tanh(atanh(r) +- t * SE / (1 - r^2))``; ``std_error`` is the SE of ``atanh(r)``, as in the unweighted
rows. Strata of ``by`` and the complete cases are domains of the full design (R's ``subset(design,
...)``). Spearman correlations have no design-based version here: they stay unweighted and their note
says the design was not used.

Liao et al. (2024): grip and sit-to-stand with 1-back and 2-back accuracy; Li et al. (2023): PA-grip,
grip-1-back, and the R² of cognition on 1-back accuracy.
"""

from __future__ import annotations

import logging
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
    complete_rows,
    numeric_values,
    strata,
)
from musclecog.core.inference import average_ranks, critical_value, ols, wald_p_value
from musclecog.core.results import Estimate
from musclecog.core.spec import AnalysisSpec
from musclecog.crosssectional.common import CrossSectionalResult
from musclecog.errors import ConfigError, ModelError
from musclecog.survey import SurveyDesign, resolve_weighting, survey_correlation, survey_design

logger = logging.getLogger(__name__)

METHOD_LABELS = {"pearson": "Pearson correlation", "spearman": "Spearman rank correlation"}
WEIGHTED = "survey-weighted "
"""The prefix of the method label of a design-based row."""
DESIGN_NOTE = "design-based SE (Taylor linearisation; std_error_r: SE of r, std_error: SE of atanh(r))"
SPEARMAN_NOTE = "survey design not used: no design-based rank correlation (unweighted Spearman)"


@dataclass(frozen=True, kw_only=True)
class CorrelationSpec(AnalysisSpec):
    """A ``correlation`` entry of the config (``workflow/schemas/analyses/correlation.schema.yaml``).
    Built by :func:`musclecog.core.spec.spec_from_config`."""

    TYPE: ClassVar[str] = "correlation"
    SURVEY_DESIGN: ClassVar[bool] = True
    pairs: tuple[tuple[str, str], ...] = ()
    variables: tuple[str, ...] = ()
    method: str = "pearson"
    partial: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    r_squared: bool = False
    by: str | None = None
    weighting: str | None = None
    min_n: int = 10

    def __post_init__(self) -> None:
        if bool(self.pairs) == bool(self.variables):
            raise ConfigError(
                f"{self.where}: give exactly one of 'pairs' (list of [x, y]) or 'variables' (all pairs)"
            )
        for i, pair in enumerate(self.pairs):
            if len(pair) != 2 or pair[0] == pair[1]:
                raise ConfigError(
                    f"{self.where}.pairs[{i}] must be two different column names, got {list(pair)!r}"
                )

    @property
    def pair_list(self) -> tuple[tuple[str, str], ...]:
        """The pairs (x, y): ``pairs``, or every pair of ``variables`` in order."""
        if self.pairs:
            return tuple((str(a), str(b)) for a, b in self.pairs)
        v = self.variables
        return tuple((a, b) for i, a in enumerate(v) for b in v[i + 1 :])

    @property
    def terms(self) -> tuple[tuple[str, str, str], ...]:
        """(term, method, scale) of each reported quantity, in table order."""
        methods = ("pearson", "spearman") if self.method == "both" else (self.method,)
        out = [(m, METHOD_LABELS[m], "correlation") for m in methods]
        if self.partial:
            label = f"partial Pearson correlation, adjusted for {', '.join(self.partial)}"
            out.append(("partial_pearson", label, "correlation"))
        if self.r_squared:
            out.append(("r_squared", "linear regression R-squared", "r_squared"))
        return tuple(out)

    def weighted_terms(self, both: bool) -> tuple[tuple[str, str, str], ...]:
        """The design-based rows: every term with a ``survey-weighted`` method label (Spearman only when
        the unweighted rows are not also reported, ``both``: it is unweighted either way)."""
        return tuple(
            (term, method if term == "spearman" else WEIGHTED + method, scale)
            for term, method, scale in self.terms
            if not (both and term == "spearman")
        )


@dataclass(frozen=True, kw_only=True)
class CorrelationResult(CrossSectionalResult):
    """The correlations of a ``correlation`` analysis (``exposure`` is x, ``outcome`` is y)."""

    plot_scales: tuple[str, ...] = ("correlation", "r_squared")


@dataclass(frozen=True)
class Correlation:
    """A correlation with its t test (on ``df``) and Fisher-z 95% interval."""

    r: float
    std_error: float
    conf_low: float
    conf_high: float
    p_value: float
    statistic: float
    df: float
    n: int
    std_error_r: float | None = None
    """The linearised SE of r itself (design-based rows only)."""

    @classmethod
    def design_based(
        cls, x: np.ndarray, y: np.ndarray, survey: SurveyDesign, covariates: np.ndarray | None = None
    ) -> Correlation:
        """The weighted (partial) correlation of complete vectors, the rows of ``survey`` (a domain):
        t = r / SE(r) on ``degf - 1 - k`` df and the Fisher-z interval with the linearised SE of
        ``atanh(r)`` (:func:`musclecog.survey.survey_correlation`)."""
        c = survey_correlation(x, y, survey, covariates)
        t = c.r / c.std_error if c.std_error > 0 else np.sign(c.r) * np.inf
        p = float(wald_p_value(np.array([t]), c.df)[0])
        q = critical_value(0.95, c.df)
        z = np.arctanh(c.r) if abs(c.r) < 1 else np.sign(c.r) * np.inf
        lo, hi = float(np.tanh(z - q * c.z_std_error)), float(np.tanh(z + q * c.z_std_error))
        return cls(c.r, c.z_std_error, lo, hi, p, float(t), float(c.df), c.n, c.std_error)

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, k: int = 0, spearman: bool = False) -> Correlation:
        """Correlation of two complete vectors (``k``: partialled covariate columns; ``spearman``: ranks)."""
        n = len(x)
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            raise ModelError("a variable is constant in these rows; its correlation is undefined")
        if spearman:
            x, y = average_ranks(x), average_ranks(y)
        r = float(np.corrcoef(x, y)[0, 1])
        r = min(max(r, -1.0), 1.0)
        df = n - 2 - k
        t = r * np.sqrt(df / (1 - r**2)) if abs(r) < 1 else np.sign(r) * np.inf
        p = float(wald_p_value(np.array([t]), df)[0])
        se = np.sqrt((1.06 if spearman else 1.0) / (n - 3 - k))
        z = np.arctanh(r) if abs(r) < 1 else np.sign(r) * np.inf
        q = critical_value(0.95, None)
        lo, hi = float(np.tanh(z - q * se)), float(np.tanh(z + q * se))
        return cls(r, float(se), lo, hi, p, float(t), float(df), n)

    @property
    def extra(self) -> dict[str, float]:
        """``std_error_r`` of a design-based row."""
        return {} if self.std_error_r is None else {"std_error_r": self.std_error_r}

    def estimate(self, term: str, scale: str, **labels: Any) -> Estimate:
        """As a reported correlation."""
        if self.std_error_r is not None:
            labels = {"note": DESIGN_NOTE, "extra": self.extra, **labels}
        return Estimate(
            term=term,
            estimate=self.r,
            scale=scale,
            std_error=self.std_error,
            conf_low=self.conf_low,
            conf_high=self.conf_high,
            p_value=self.p_value,
            n=self.n,
            statistic=self.statistic,
            df=self.df,
            **labels,
        )

    def r_squared(self, **labels: Any) -> Estimate:
        """R² of the simple regression (= r²): CI squared from r's, the F statistic t², r's p."""
        lo, hi = self.conf_low, self.conf_high
        if self.std_error_r is not None:
            labels = {"note": "design-based: r^2 of the survey-weighted r, CI squared from r's", **labels}
        return Estimate(
            term="r_squared",
            estimate=self.r**2,
            scale="r_squared",
            conf_low=0.0 if lo <= 0 <= hi else min(lo**2, hi**2),
            conf_high=max(lo**2, hi**2),
            p_value=self.p_value,
            n=self.n,
            statistic=self.statistic**2,
            df=self.df,
            **labels,
        )


def partial_correlation(
    data: pd.DataFrame, a: str, b: str, spec: CorrelationSpec, survey: SurveyDesign | None = None
) -> Correlation:
    """Pearson correlation of the residuals of ``a`` and ``b`` on the partial covariates (complete rows);
    design-based with ``survey`` (its rows those of ``data``)."""
    covs = DesignSpec(outcome=None, exposure=None, covariates=spec.partial, factors=spec.factors)
    design = build_design(data, covs, spec.where)
    ya = numeric_values(data[a], spec.where, a)
    yb = numeric_values(data[b], spec.where, b)
    if survey is not None:
        return Correlation.design_based(ya, yb, survey, design.x[:, 1:])
    y = np.column_stack([ya, yb])
    beta, _, _ = ols(design.x, y)
    resid = y - design.x @ beta
    return Correlation.of(resid[:, 0], resid[:, 1], k=design.x.shape[1] - 1)


def fit_correlation(data: pd.DataFrame, spec: CorrelationSpec) -> CorrelationResult:
    """Fit a ``correlation`` analysis: every pair x method x stratum (+ partial and R² rows).

    Returns
    -------
    CorrelationResult
        ``exposure`` is the first column of the pair, ``outcome`` the second; ``term`` is ``pearson``,
        ``spearman``, ``partial_pearson`` or ``r_squared``; scale ``correlation`` or ``r_squared``.
    """
    columns = sorted({c for pair in spec.pair_list for c in pair})
    check_columns(data, columns + list(spec.partial) + ([spec.by] if spec.by else []), spec.where)
    weighting = resolve_weighting(spec.weighting, spec.context)
    survey = survey_design(data, spec.context)[0] if "weighted" in weighting else None
    estimates: list[Estimate] = []
    for stratum in strata(data, spec.by, spec.where):
        sub = data.loc[stratum.mask]
        for a, b in spec.pair_list:
            for mode in weighting:
                domain = survey.subset(stratum.mask) if survey is not None and mode == "weighted" else None
                terms = spec.weighted_terms(len(weighting) > 1) if domain is not None else spec.terms
                estimates += _pair_estimates(sub, a, b, stratum, spec, terms, domain)
    return CorrelationResult(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=tuple(estimates),
        fits=MappingProxyType({}),
        title=f"{spec.context.analysis}: correlations",
    )


def _pair_estimates(
    sub: pd.DataFrame,
    a: str,
    b: str,
    stratum: Stratum,
    spec: CorrelationSpec,
    terms: tuple[tuple[str, str, str], ...],
    survey: SurveyDesign | None = None,
) -> list[Estimate]:
    """The rows of one pair in one stratum; design-based with ``survey`` (the stratum's domain of the
    design, its rows those of ``sub``), except Spearman's."""
    need = [a, b, *spec.partial]
    ok = complete_rows(sub, need)
    n = int(ok.sum())
    if stratum.label == "overall" and n < len(sub):
        logger.info(
            "%s (%s with %s): %d of %d rows excluded (missing values in %s)",
            spec.where,
            a,
            b,
            len(sub) - n,
            len(sub),
            ", ".join(need),
        )
    labels = {"exposure": a, "outcome": b, "stratum": stratum.label}
    if n < spec.min_n:
        reason = f"too few people: fewer than min_n = {spec.min_n} complete pairs in {stratum.label}"
        return [
            Estimate.missing(term, scale, reason, n, method=method, **labels)
            for term, method, scale in terms
        ]
    x = numeric_values(sub.loc[ok, a], spec.where, a)
    y = numeric_values(sub.loc[ok, b], spec.where, b)
    domain = survey.subset(ok) if survey is not None else None
    out = []
    for term, method, scale in terms:
        try:
            if term == "partial_pearson":
                out.append(
                    partial_correlation(sub.loc[ok], a, b, spec, domain).estimate(
                        term, scale, method=method, **labels
                    )
                )
            elif term == "r_squared":
                r = Correlation.of(x, y) if domain is None else Correlation.design_based(x, y, domain)
                out.append(r.r_squared(method=method, **labels))
            elif term == "pearson" and domain is not None:
                r = Correlation.design_based(x, y, domain)
                out.append(r.estimate(term, scale, method=method, **labels))
            else:
                rho = Correlation.of(x, y, spearman=term == "spearman")
                if survey is not None:
                    out.append(rho.estimate(term, scale, method=method, note=SPEARMAN_NOTE, **labels))
                else:
                    out.append(rho.estimate(term, scale, method=method, **labels))
        except ModelError as exc:
            if stratum.label == "overall":
                raise ModelError(f"{spec.where} ({a} with {b}): {exc}") from exc
            out.append(Estimate.missing(term, scale, f"not estimable: {exc}", n, method=method, **labels))
    return out


def correlation_matrix(
    result: CorrelationResult, term: str = "pearson", stratum: str = "overall"
) -> pd.DataFrame:
    """A square matrix of one kind of correlation (``term``) from a ``correlation`` result (diagonal 1)."""
    sel = [e for e in result.estimates if e.term == term and e.stratum == stratum]
    names = list(dict.fromkeys([e.exposure for e in sel] + [e.outcome for e in sel]))
    mat = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for e in sel:
        mat.loc[e.exposure, e.outcome] = e.estimate
        mat.loc[e.outcome, e.exposure] = e.estimate
    return mat
