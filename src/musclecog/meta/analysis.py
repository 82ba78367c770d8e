"""Analysis type ``meta_analysis``: pool a table of study estimates (``metafor::rma``).

The study table (one row per study) is read by :func:`read_studies` through :mod:`musclecog.io`; each
study gives an estimate and its SE, ``yi`` and its variance ``vi``, or 2x2 counts (log RR or log OR as
``escalc``, :mod:`musclecog.meta.effects`). With ``pool:`` the studies are one row of each of several
analyses of the run (:mod:`musclecog.meta.pool`). Reported, in table order:

* each study's estimate and 95% CI (term ``study: <label>``, with its random-effects weight in percent);
* the fixed-effect pooled estimate (``fixed_effect: true``) and the random-effects one (``tau2_method``,
  optionally Knapp-Hartung), term ``pooled``; the 95% prediction interval (term ``prediction_interval``);
* heterogeneity: ``tau2`` (Q-profile CI), ``I2`` (percent), ``H2``, Cochran's ``Q``;
* with ``subgroup``: the same within each level (stratum ``<column>=<level>``, separate tau^2) and the test
  of subgroup differences (``Q_between``);
* with ``moderators``: the meta-regression coefficients, the test of the moderators (``QM``), the residual
  heterogeneity and ``R2`` (percent of tau^2 explained);
* ``egger: true``: Egger's regression test (term ``egger_bias``).

Log ratios are pooled on the log scale and reported exponentiated (``std_error`` stays on the log scale).
Bad input (a missing column, a missing or non-finite value, a non-positive SE or variance, fewer than two
studies) raises an error naming the file, the column and the studies; nothing is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import DesignSpec, build_design, factor_levels, fmt_level
from musclecog.core.inference import wald_interval
from musclecog.core.results import RATIO_SCALES, AnalysisResult, Estimate, FitResult
from musclecog.core.spec import AnalysisSpec
from musclecog.errors import DataError, ModelError, show_values
from musclecog.io import read_input_table
from musclecog.meta.effects import MEASURES, log_ratio_from_counts
from musclecog.meta.models import MetaFit, egger_test, fit_rma, subgroup_difference
from musclecog.meta.pool import pooled_studies

REPORTED_SCALE = {
    "log_risk_ratio": "risk_ratio",
    "log_odds_ratio": "odds_ratio",
    "log_hazard_ratio": "hazard_ratio",
}
"""Scale of the pooled estimates: log ratios are reported exponentiated."""

ROLES = {"estimate_se": ("estimate", "std_error"), "yi_vi": ("yi", "vi"), "counts": ("ai", "bi", "ci", "di")}


@dataclass(frozen=True, kw_only=True)
class MetaAnalysisSpec(AnalysisSpec):
    """A ``meta_analysis`` entry of the config (``workflow/schemas/analyses/meta_analysis.schema.yaml``)."""

    TYPE: ClassVar[str] = "meta_analysis"
    ROWS_ARE_PEOPLE: ClassVar[bool] = False
    studies: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    pool: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    effect: str = "estimate_se"
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    measure: str = "RR"
    scale: str = "beta"
    outcome: str | None = None
    exposure: str | None = None
    tau2_method: str = "REML"
    fixed_effect: bool = True
    knapp_hartung: bool = False
    moderators: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    subgroup: str | None = None
    egger: bool = True

    def column(self, role: str) -> str:
        """The study-table column of a role (its own name unless ``columns`` maps it)."""
        return str(self.columns.get(role, role))

    @property
    def source(self) -> str:
        """The study table, for messages."""
        if self.pool:
            return f"{self.where} (pooled analyses {', '.join(self.pool.get('analyses', ()))})"
        return f"{self.where} ({self.studies.get('path', 'study table')})"

    @property
    def model_scale(self) -> str:
        """What the pooled quantities are before reporting (``log_risk_ratio``, ``beta``, ...)."""
        return MEASURES[self.measure] if self.effect == "counts" else self.scale

    @property
    def reported_scale(self) -> str:
        """The tidy ``scale`` of pooled estimates."""
        return REPORTED_SCALE.get(self.model_scale, self.model_scale)


@dataclass(frozen=True, kw_only=True)
class MetaAnalysisResult(AnalysisResult):
    """A pooled analysis and what its forest and funnel plots need.

    Attributes
    ----------
    labels : tuple of str
        Study labels in table order.
    yi, sei : tuple of float
        Study estimates and SEs on the model (log) scale.
    weights : tuple of float
        Random-effects weights, percent.
    pooled : tuple of float
        ``(mu, low, high, pi_low, pi_high)`` of the random-effects model, model scale.
    fixed : tuple of float
        ``(mu, low, high)`` of the fixed-effect model (empty when not fitted).
    scale : str
        The reported scale (a ratio scale is drawn on a log axis).
    method : str
        The random-effects model in words.
    """

    figure_kind: ClassVar[str] = "meta_analysis"
    labels: tuple[str, ...] = ()
    yi: tuple[float, ...] = ()
    sei: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    pooled: tuple[float, ...] = ()
    fixed: tuple[float, ...] = ()
    scale: str = "beta"
    method: str = ""


def read_studies(entry: Mapping[str, Any], paths: str | Sequence[str] = ()) -> pd.DataFrame:
    """The study table of a ``meta_analysis`` entry: its ``studies.path`` (read by :mod:`musclecog.io`), or
    with ``pool:`` one row of each source analysis' estimates table (``paths``,
    :func:`musclecog.meta.pool.pooled_studies`)."""
    if entry.get("pool"):
        return pooled_studies(entry, [paths] if isinstance(paths, str) else list(paths))
    studies = entry.get("studies") or {}
    if "path" not in studies:
        raise DataError("meta_analysis: 'studies.path' (the table of study estimates) or 'pool' is required")
    return read_input_table(studies["path"], studies.get("format", "auto"))


def pooled_spec(spec: MetaAnalysisSpec, data: pd.DataFrame) -> MetaAnalysisSpec:
    """For ``pool:``: estimates and SEs on the rows' own scale (``scale`` column), n summed when known."""
    scales = sorted(set(data["scale"].astype(str))) if "scale" in data else []
    if len(scales) != 1:
        raise DataError(f"{spec.source}: the pooled rows must share one scale, got {scales}")
    columns = {"n": "n"} if "n" in data and data["n"].notna().all() else {}
    return replace(spec, effect="estimate_se", scale=scales[0], columns=MappingProxyType(columns))


def _numeric(data: pd.DataFrame, column: str, spec: MetaAnalysisSpec, labels: np.ndarray) -> np.ndarray:
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        shown = show_values(
            [
                f"{lab} ({'missing' if pd.isna(raw) else raw})"
                for lab, raw in zip(labels[bad], data[column].to_numpy()[bad], strict=True)
            ]
        )
        raise DataError(
            f"{spec.source}: column {column!r} has missing or non-numeric values for the studies {shown}. "
            "Every study needs a number here; fix the table or leave the study out (and say so)."
        )
    return values


def _check_table(data: pd.DataFrame, spec: MetaAnalysisSpec) -> list[str]:
    need = [spec.column(r) for r in ROLES[spec.effect]] + list(spec.moderators)
    need += [spec.subgroup] if spec.subgroup else []
    missing = [c for c in dict.fromkeys(need) if c not in data.columns]
    if missing:
        roles = ", ".join(f"'{r}'" for r in ROLES[spec.effect])
        raise DataError(
            f"{spec.source}: column(s) {missing} not in the study table (columns: "
            f"{show_values([str(c) for c in data.columns], 15)}). effect: {spec.effect} needs the roles {roles}; "
            "name their columns under 'columns:' or rename them in the file."
        )
    return need


def unique_labels(labels: np.ndarray) -> np.ndarray:
    """Study labels made unique: a repeated label gets `` (2)``, `` (3)``, ... in table order."""
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return np.array(out, dtype=object)


def study_effects(data: pd.DataFrame, spec: MetaAnalysisSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, estimates ``yi`` and variances ``vi`` (model scale) of the study table.

    Raises
    ------
    DataError
        A missing column, a missing or non-numeric value, a non-positive SE or variance, or counts that
        give no ratio (named with the studies).
    """
    _check_table(data, spec)
    lab_col = spec.column("study")
    labels = (
        data[lab_col].astype(str).to_numpy()
        if lab_col in data.columns
        else np.array([f"study {i + 1}" for i in range(len(data))])
    )
    labels = unique_labels(labels)
    if spec.effect == "counts":
        ai, bi, ci, di = (_numeric(data, spec.column(r), spec, labels) for r in ROLES["counts"])
        yi, vi, _ = log_ratio_from_counts(ai, bi, ci, di, measure=spec.measure, where=spec.source)
        return labels, yi, vi
    est_role, var_role = ROLES[spec.effect]
    yi = _numeric(data, spec.column(est_role), spec, labels)
    spread = _numeric(data, spec.column(var_role), spec, labels)
    bad = spread <= 0
    if bad.any():
        shown = show_values([f"{lab} ({val:g})" for lab, val in zip(labels[bad], spread[bad], strict=True)])
        raise DataError(
            f"{spec.source}: column {spec.column(var_role)!r} must be positive (a {var_role.replace('_', ' ')}); "
            f"studies {shown} have values <= 0. Correct them (a variance of 0 would give a study infinite weight)."
        )
    return labels, yi, spread**2 if spec.effect == "estimate_se" else spread


def fit_meta_analysis(data: pd.DataFrame, spec: MetaAnalysisSpec) -> MetaAnalysisResult:
    """Pool the studies of a ``meta_analysis`` entry (see the module docstring for the rows reported).

    Parameters
    ----------
    data : DataFrame
        The study table (:func:`read_studies`), one row per study.
    spec : MetaAnalysisSpec

    Raises
    ------
    DataError
        Bad input (see :func:`study_effects`); fewer than two studies.
    """
    if spec.pool:
        spec = pooled_spec(spec, data)
    labels, yi, vi = study_effects(data, spec)
    k = len(yi)
    if k < 2:
        raise DataError(
            f"{spec.source}: {k} stud{'y' if k == 1 else 'ies'} after filtering; a meta-analysis pools 2 or more studies "
            "(one study's estimate is its own result, not a pooled one)"
        )
    n_study = _study_n(data, spec, labels)
    n_total = None if np.isnan(n_study).any() else int(n_study.sum())
    lab = {"outcome": spec.outcome or "", "exposure": spec.exposure or "", "n": n_total}
    x1 = np.ones((k, 1))
    names = ("(Intercept)",)
    re = fit_rma(yi, vi, x1, names, spec.tau2_method, spec.knapp_hartung, spec.source)
    fe = fit_rma(yi, vi, x1, names, "FE", False, spec.source) if spec.fixed_effect else None
    w = 1 / (vi + re.tau2)
    weights = 100 * w / w.sum()
    out = _study_rows(labels, yi, vi, weights, spec, n_study)
    if fe is not None:
        out += _pooled_rows(fe, spec, lab, with_pi=False)
    out += _pooled_rows(re, spec, lab, with_pi=True)
    out += _heterogeneity_rows(re, spec, lab)
    if spec.subgroup:
        out += _subgroup_rows(data, yi, vi, spec, lab)
    if spec.moderators:
        out += _meta_regression_rows(data, yi, vi, re, spec, lab)
    if spec.egger:
        out += _egger_rows(yi, vi, spec, lab)
    mu, lo, hi = _pooled_triple(re)
    _, pi_lo, pi_hi = re.prediction_interval()
    fits: dict[str, FitResult] = {re.label: re.fit}
    if fe is not None:
        fits[fe.label] = fe.fit
    return MetaAnalysisResult(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=tuple(out),
        fits=MappingProxyType(fits),
        title=f"{spec.context.analysis}: {k} studies, {re.label}",
        labels=tuple(str(s) for s in labels),
        yi=tuple(float(v) for v in yi),
        sei=tuple(float(v) for v in np.sqrt(vi)),
        weights=tuple(float(v) for v in weights),
        pooled=(mu, lo, hi, pi_lo, pi_hi),
        fixed=_pooled_triple(fe) if fe is not None else (),
        scale=spec.reported_scale,
        method=re.label,
    )


def _study_n(data: pd.DataFrame, spec: MetaAnalysisSpec, labels: np.ndarray) -> np.ndarray:
    """Participants per study (``columns.n``), NaN when the table does not give them."""
    col = spec.columns.get("n")
    if col is None:
        return np.full(len(data), np.nan)
    if col not in data.columns:
        raise DataError(f"{spec.source}: column {col!r} (columns.n) not in the study table")
    return _numeric(data, col, spec, labels)


def _pooled_triple(fit: MetaFit) -> tuple[float, float, float]:
    ci = fit.fit.conf_int()
    return float(fit.fit.params.iloc[0]), float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def _ratio(scale: str) -> bool:
    return scale in RATIO_SCALES


def _study_rows(
    labels: np.ndarray,
    yi: np.ndarray,
    vi: np.ndarray,
    weights: np.ndarray,
    spec: MetaAnalysisSpec,
    n: np.ndarray,
) -> list[Estimate]:
    se = np.sqrt(vi)
    lo, hi = wald_interval(yi, se, None)
    scale = spec.reported_scale
    f = np.exp if _ratio(scale) else (lambda a: a)
    est, low, high = f(yi), f(lo), f(hi)
    return [
        Estimate(
            term=f"study: {labels[i]}",
            estimate=float(est[i]),
            scale=scale,
            std_error=float(se[i]),
            conf_low=float(low[i]),
            conf_high=float(high[i]),
            n=None if np.isnan(n[i]) else int(n[i]),
            method="study estimate",
            outcome=spec.outcome or "",
            exposure=spec.exposure or "",
            extra={"weight_percent": float(weights[i])},
        )
        for i in range(len(yi))
    ]


def _pooled_rows(
    fit: MetaFit, spec: MetaAnalysisSpec, lab: Mapping[str, Any], with_pi: bool
) -> list[Estimate]:
    rows = _fit_estimates(fit, ["(Intercept)"], spec, lab, term="pooled")
    if with_pi:
        mu, lo, hi = fit.prediction_interval()
        f = math.exp if _ratio(spec.reported_scale) else (lambda a: a)
        rows.append(
            Estimate(
                term="prediction_interval",
                estimate=f(mu),
                scale=spec.reported_scale,
                conf_low=f(lo),
                conf_high=f(hi),
                method=fit.label,
                note="95% prediction interval of the effect in a new study",
                extra={"k": fit.k},
                **lab,
            )
        )
    return rows


def _labels(lab: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in lab.items() if k != "n"}


def _fit_estimates(
    fit: MetaFit,
    terms: Sequence[str],
    spec: MetaAnalysisSpec,
    lab: Mapping[str, Any],
    term: str | None = None,
    method: str | None = None,
    stratum: str = "overall",
) -> list[Estimate]:
    rows = fit.fit.estimates(
        terms,
        spec.reported_scale,
        df=fit.knapp_hartung,
        method=method or fit.label,
        stratum=stratum,
        **_labels(lab),
    )
    return [e.replace(term=term or e.term, n=lab["n"], extra={"k": fit.k}) for e in rows]


def _heterogeneity_rows(
    fit: MetaFit,
    spec: MetaAnalysisSpec,
    lab: Mapping[str, Any],
    method: str | None = None,
    stratum: str = "overall",
) -> list[Estimate]:
    lo, hi = fit.tau2_ci
    (i2_lo, h2_lo), (i2_hi, h2_hi) = fit.i2_h2_at(lo), fit.i2_h2_at(hi)
    common = {"method": method or fit.label, "stratum": stratum, "extra": {"k": fit.k}, **_labels(lab)}
    return [
        Estimate(
            term="tau2",
            estimate=fit.tau2,
            scale="variance",
            conf_low=lo,
            conf_high=hi,
            note="between-study variance; 95% CI by the Q-profile method",
            **common,
        ),
        Estimate(term="I2", estimate=fit.i2, scale="percent", conf_low=i2_lo, conf_high=i2_hi, **common),
        Estimate(term="H2", estimate=fit.h2, scale="h_squared", conf_low=h2_lo, conf_high=h2_hi, **common),
        Estimate(
            term="Q",
            estimate=fit.q,
            scale="chi_squared",
            statistic=fit.q,
            df=float(fit.q_df),
            p_value=fit.q_p,
            note="Cochran's Q (test of heterogeneity)",
            **common,
        ),
    ]


def _subgroup_rows(
    data: pd.DataFrame, yi: np.ndarray, vi: np.ndarray, spec: MetaAnalysisSpec, lab: Mapping[str, Any]
) -> list[Estimate]:
    col = str(spec.subgroup)
    values = data[col]
    if values.isna().any():
        raise DataError(
            f"{spec.source}: subgroup column {col!r} is missing for {int(values.isna().sum())} studies"
        )
    out: list[Estimate] = []
    est, se = [], []
    for level in factor_levels(values, where=spec.source):
        mask = (values == level).to_numpy()
        stratum = f"{col}={fmt_level(level)}"
        if mask.sum() < 2:
            out.append(
                Estimate.missing(
                    "pooled",
                    spec.reported_scale,
                    f"{int(mask.sum())} study in this subgroup; 2 or more are pooled",
                    stratum=stratum,
                    **_labels(lab),
                )
            )
            continue
        fit = fit_rma(
            yi[mask],
            vi[mask],
            np.ones((int(mask.sum()), 1)),
            ("(Intercept)",),
            spec.tau2_method,
            spec.knapp_hartung,
            f"{spec.source}, {stratum}",
        )
        sub_lab = {**lab, "n": None}
        out += _fit_estimates(fit, ["(Intercept)"], spec, sub_lab, term="pooled", stratum=stratum)
        out += _heterogeneity_rows(fit, spec, sub_lab, stratum=stratum)
        est.append(float(fit.fit.params.iloc[0]))
        se.append(float(fit.fit.std_errors.iloc[0]))
    if len(est) >= 2:
        q, df, p = subgroup_difference(np.array(est), np.array(se))
        out.append(
            Estimate(
                term="Q_between",
                estimate=q,
                scale="chi_squared",
                statistic=q,
                df=float(df),
                p_value=p,
                method=f"test of subgroup differences ({col}, separate tau2)",
                **_labels(lab),
            )
        )
    return out


def _meta_regression_rows(
    data: pd.DataFrame,
    yi: np.ndarray,
    vi: np.ndarray,
    base: MetaFit,
    spec: MetaAnalysisSpec,
    lab: Mapping[str, Any],
) -> list[Estimate]:
    incomplete = data[list(spec.moderators)].isna().any(axis=1).to_numpy()
    if incomplete.any():
        raise DataError(
            f"{spec.source}: moderators {list(spec.moderators)} are missing for {int(incomplete.sum())} of "
            f"{len(data)} studies (rows {show_values(np.flatnonzero(incomplete).tolist())}); a meta-regression needs "
            "them for every study. Fill them in or leave those studies out with keep_if."
        )
    design = build_design(
        data.reset_index(drop=True),
        DesignSpec(outcome=None, exposure=None, covariates=spec.moderators, factors=spec.factors),
        spec.source,
    )
    fit = fit_rma(yi, vi, design.x, design.names, spec.tau2_method, spec.knapp_hartung, spec.source)
    method = f"meta-regression, {fit.label}"
    out = _fit_estimates(fit, list(design.names), spec, lab, method=method)
    test_scale = "f_statistic" if spec.knapp_hartung else "chi_squared"
    df = float(fit.qm_df[-1]) if spec.knapp_hartung else float(fit.qm_df[0])
    out.append(
        Estimate(
            term="QM",
            estimate=fit.qm,
            scale=test_scale,
            statistic=fit.qm,
            df=df,
            p_value=fit.qm_p,
            method=method,
            note=f"test of the moderators on {fit.qm_df} df",
            extra={"k": fit.k},
            **_labels(lab),
        )
    )
    out += _heterogeneity_rows(fit, spec, lab, method=f"{method}, residual")
    r2 = max(0.0, 100 * (base.tau2 - fit.tau2) / base.tau2) if base.tau2 > 0 else 0.0
    out.append(
        Estimate(
            term="R2",
            estimate=r2,
            scale="percent",
            method=method,
            extra={"k": fit.k},
            note="share of tau2 explained by the moderators",
            **_labels(lab),
        )
    )
    return out


def _egger_rows(
    yi: np.ndarray, vi: np.ndarray, spec: MetaAnalysisSpec, lab: Mapping[str, Any]
) -> list[Estimate]:
    method = "Egger's regression test (weighted regression on the SE)"
    try:
        eg = egger_test(yi, vi, spec.source)
    except ModelError as exc:
        return [Estimate.missing("egger_bias", "test", str(exc), method=method, **_labels(lab))]
    return [
        Estimate(
            term="egger_bias",
            estimate=eg.bias,
            scale="test",
            std_error=eg.std_error,
            statistic=eg.statistic,
            df=float(eg.df),
            p_value=eg.p_value,
            method=method,
            extra={"k": eg.k},
            note=f"limit estimate (SE -> 0) on the model scale: {eg.limit_estimate:.4g}",
            **_labels(lab),
        )
    ]
