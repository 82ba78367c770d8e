"""Analysis type ``regression``: linear and logistic regression of one or more outcomes on an exposure.

Matches R's ``lm`` (t tests and intervals on n - p df), ``glm(family = binomial)`` (Wald z,
``confint.default``), ``survey::svyglm`` (gaussian / quasibinomial, t on degf - p + 1 df) and, with
``random_intercept``, ``lme4::lmer(y ~ ... + (1 | group))`` fitted by REML (statsmodels ``MixedLM``).
Jiang et al. (2022, doi:10.1186/s12916-022-02490-2) used linear and logistic models with FDR correction
and a linear mixed model with a random intercept for assessment centre.

Several outcomes at once: Benjamini-Hochberg FDR (``p_fdr``, R's ``p.adjust(p, "BH")``) over the outcomes,
within each method (model x weighting), stratum and exposure term.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.inference import fdr_bh
from musclecog.core.spec import RunContext
from musclecog.crosssectional.common import (
    CrossSectionalResult,
    as_list,
    exposure_scale,
    note_row,
    one_or_many,
    resolve_weighting,
    strata,
    survey_design,
)
from musclecog.crosssectional.design import (
    ModelFrame,
    build_model_frame,
    check_columns,
    complete_rows,
    numeric_values,
)
from musclecog.crosssectional.models import CoefTable, logistic, mixed_model, ols, survey_fit
from musclecog.errors import ConfigError, ModelError

logger = logging.getLogger(__name__)

FAMILIES = ("auto", "gaussian", "binomial")
_FRAME_CACHE: dict[tuple[Any, ...], ModelFrame] = {}


@dataclass(frozen=True)
class RegressionSpec:
    """A ``regression`` entry of the config (see docs/crosssectional.md)."""

    outcomes: tuple[str, ...]
    exposure: str
    models: tuple[tuple[str, tuple[str, ...]], ...]
    factors: tuple[str, ...] = ()
    family: str = "auto"
    exposure_per: Any = None
    outcome_per_sd: bool = False
    by: str | None = None
    interaction: str | None = None
    random_intercept: str | None = None
    fdr: bool = True
    references: tuple[tuple[str, Any], ...] = ()
    min_n: int = 20
    report_covariates: bool = False

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], where: str) -> RegressionSpec:
        outcomes = one_or_many(spec, "outcome", "outcomes", where)
        exposure = spec.get("exposure")
        if not exposure:
            raise ConfigError(f"{where}: 'exposure' is required")
        if "models" in spec and "covariates" in spec:
            raise ConfigError(
                f"{where}: give either 'covariates' (one model) or 'models' (named covariate sets)"
            )
        if "models" in spec:
            models = tuple((str(k), tuple(as_list(v))) for k, v in dict(spec["models"]).items())
            if not models:
                raise ConfigError(
                    f"{where}.models: name at least one model, e.g. {{crude: [], adjusted: [age, sex]}}"
                )
        else:
            covs = tuple(as_list(spec.get("covariates")))
            models = (("adjusted" if covs else "crude", covs),)
        family = str(spec.get("family", "auto"))
        if family not in FAMILIES:
            raise ConfigError(f"{where}.family is {family!r}; use one of {', '.join(FAMILIES)}")
        if spec.get("random_intercept") and family == "binomial":
            raise ConfigError(f"{where}: random_intercept is available for linear (gaussian) models only")
        per = spec.get("exposure_per")
        if per is not None and per != "sd" and not isinstance(per, int | float):
            raise ConfigError(f"{where}.exposure_per must be 'sd' or a number, got {per!r}")
        return cls(
            outcomes=tuple(outcomes),
            exposure=str(exposure),
            models=models,
            factors=tuple(as_list(spec.get("factors"))),
            family=family,
            exposure_per=per,
            outcome_per_sd=bool(spec.get("outcome_per_sd", False)),
            by=spec.get("by"),
            interaction=spec.get("interaction"),
            random_intercept=spec.get("random_intercept"),
            fdr=bool(spec.get("fdr", True)),
            references=tuple(dict(spec.get("reference") or {}).items()),
            min_n=int(spec.get("min_n", 20)),
            report_covariates=bool(spec.get("report_covariates", False)),
        )


def _family(data: pd.DataFrame, outcome: str, family: str, where: str) -> str:
    if family != "auto":
        return family
    values = pd.to_numeric(data[outcome], errors="coerce").dropna().unique()
    return "binomial" if len(values) <= 2 and set(np.asarray(values, float)) <= {0.0, 1.0} else "gaussian"


def _method(family: str, weighted: bool, model: str, random_intercept: str | None) -> str:
    if random_intercept:
        base = f"linear mixed model (random intercept: {random_intercept})"
    else:
        base = f"{'linear' if family == 'gaussian' else 'logistic'} regression"
    if weighted:
        base = f"survey-weighted {base}"
    return f"{base}, {model}"


def _coef_rows(
    table: CoefTable,
    cov: np.ndarray,
    terms: list[str],
    base: Mapping[str, Any],
    family: str,
    scale_label: str,
) -> list[dict[str, Any]]:
    lo, hi = table.conf_int()
    p = table.p_value
    stat = table.statistic
    rows = []
    for term in terms:
        i = table.index(term)
        est, low, high = table.estimate[i], lo[i], hi[i]
        if family == "binomial":
            est, low, high = np.exp(est), np.exp(low), np.exp(high)
        rows.append(
            {
                **base,
                "term": term,
                "estimate": est,
                "std_error": table.std_error[i],
                "conf_low": low,
                "conf_high": high,
                "p_value": p[i],
                "n": table.n,
                "scale": "odds_ratio" if family == "binomial" else scale_label,
                "statistic": stat[i],
                "df": table.df if np.isfinite(table.df) else np.nan,
                "note": table.note,
            }
        )
    return rows


def fit_regression(
    data: pd.DataFrame, spec: Mapping[str, Any], context: RunContext
) -> CrossSectionalResult:
    """Fit a ``regression`` analysis: every outcome x model x weighting x stratum.

    Parameters
    ----------
    data : DataFrame
        The cohort table after the analysis' ``keep_if``.
    spec : mapping
        The config entry (see :class:`RegressionSpec`).
    context : RunContext
        Names and the cohort's survey design.

    Returns
    -------
    CrossSectionalResult
        One row per exposure term (and interaction term) per outcome, model, weighting and stratum;
        a stratum that cannot be fitted gives a row with the reason in ``note``.
    """
    where = f"analyses.{context.analysis}"
    s = RegressionSpec.from_config(spec, where)
    weighting = resolve_weighting(spec, context, where)
    if s.random_intercept and "weighted" in weighting:
        raise ConfigError(f"{where}: random_intercept models are unweighted; set weighting: unweighted")
    named = [*s.outcomes, s.exposure, *(c for _, covs in s.models for c in covs), *s.factors]
    named += [c for c in (s.by, s.interaction, s.random_intercept) if c]
    check_columns(data, list(dict.fromkeys(named)), where)
    design, design_cols = (None, [])
    if "weighted" in weighting:
        design, design_cols = survey_design(data, context)
    x_scale, unit = exposure_scale(data, s.exposure, s.exposure_per, where)
    _FRAME_CACHE.clear()
    references = dict(s.references)
    rows: list[dict[str, Any]] = []
    try:
        for outcome in s.outcomes:
            family = _family(data, outcome, s.family, where)
            y_scale = 1.0
            if s.outcome_per_sd and family == "gaussian":  # binary outcomes stay 0/1 (odds ratios)
                y_scale = float(numeric_values(data[outcome].dropna(), where, outcome).std(ddof=1))
            scale_label = "standardised_beta" if (s.outcome_per_sd and s.exposure_per == "sd") else "beta"
            if family == "binomial" and s.random_intercept:
                raise ConfigError(
                    f"{where}: random_intercept models are linear; {outcome!r} is a 0/1 outcome"
                )
            for model_name, covariates in s.models:
                for weight_mode in weighting:
                    weighted = weight_mode == "weighted"
                    method = _method(family, weighted, model_name, s.random_intercept)
                    for stratum, mask in strata(data, s.by, where):
                        covs = [c for c in covariates if not (stratum != "overall" and c == s.by)]
                        base = {
                            "method": method,
                            "outcome": outcome,
                            "exposure": s.exposure,
                            "stratum": stratum,
                            "scale": scale_label if family == "gaussian" else "odds_ratio",
                            "model": model_name,
                            "covariates": ", ".join(covs) if covs else "none",
                            "exposure_unit": unit,
                        }
                        sub = data.loc[mask]
                        extra = list(design_cols) if weighted else []
                        if s.random_intercept:
                            extra.append(s.random_intercept)
                        label = f"{where} ({outcome}, {model_name}, {stratum})"
                        n_complete = int(complete_rows(sub, [outcome, s.exposure, *covs, *extra]).sum())
                        if stratum != "overall" and n_complete < s.min_n:
                            rows.append(
                                note_row(
                                    {**base, "term": s.exposure},
                                    f"too few people: {n_complete} complete rows in {stratum} (minimum "
                                    f"min_n = {s.min_n})",
                                    n_complete,
                                )
                            )
                            continue
                        try:
                            rows += _fit_one(
                                sub,
                                mask,
                                s,
                                outcome,
                                covs,
                                family,
                                weighted,
                                design,
                                extra,
                                x_scale,
                                y_scale,
                                references,
                                label,
                                base,
                                scale_label,
                            )
                        except ModelError as exc:
                            if stratum == "overall":
                                raise
                            rows.append(
                                note_row({**base, "term": s.exposure}, f"not estimable: {exc}", n_complete)
                            )
    finally:
        _FRAME_CACHE.clear()  # the shared design matrices are per call
    if s.fdr:
        _add_fdr(rows)
    title = f"{context.analysis}: {s.exposure} ({unit})"
    return CrossSectionalResult(context.analysis, context.cohort, rows, title)


def _fit_one(
    sub: pd.DataFrame,
    mask: np.ndarray,
    s: RegressionSpec,
    outcome: str,
    covs: list[str],
    family: str,
    weighted: bool,
    design: Any,
    extra: list[str],
    x_scale: float,
    y_scale: float,
    references: dict[str, Any],
    label: str,
    base: Mapping[str, Any],
    scale_label: str,
) -> list[dict[str, Any]]:
    main = _fit_frame(
        sub,
        mask,
        s,
        outcome,
        covs,
        family,
        weighted,
        design,
        extra,
        x_scale,
        y_scale,
        references,
        label,
        None,
    )
    frame, table, cov = main
    terms = list(frame.exposure_terms)
    if s.report_covariates:
        terms = [t for t in frame.names if t != "(Intercept)"]
    rows = _coef_rows(table, cov, terms, base, family, scale_label)
    dropped = list(frame.dropped)
    stratified_by_modifier = (
        s.interaction is not None and s.interaction == s.by and base["stratum"] != "overall"
    )
    if s.interaction and not stratified_by_modifier:
        # a second fit with exposure x modifier terms: the main rows keep their meaning (the exposure's
        # average effect), the interaction rows come from the model that has them
        iframe, itable, icov = _fit_frame(
            sub,
            mask,
            s,
            outcome,
            covs,
            family,
            weighted,
            design,
            extra,
            x_scale,
            y_scale,
            references,
            label,
            s.interaction,
        )
        rows += _coef_rows(itable, icov, iframe.interaction_terms, base, family, scale_label)
        if len(iframe.interaction_terms) > 1:
            stat, k, p = itable.wald_test(iframe.interaction_terms, icov)
            rows.append(
                {
                    **base,
                    "term": f"{s.exposure} x {s.interaction} (joint test)",
                    "estimate": stat,
                    "std_error": np.nan,
                    "conf_low": np.nan,
                    "conf_high": np.nan,
                    "p_value": p,
                    "n": itable.n,
                    "scale": "f_statistic" if np.isfinite(itable.df) else "chi_squared",
                    "statistic": stat,
                    "df": float(k),
                    "note": itable.note,
                }
            )
    if dropped:
        for r in rows:
            r["note"] = "; ".join(
                x for x in (r.get("note"), f"constant here, left out: {', '.join(dropped)}") if x
            )
    return rows


def _fit_frame(
    sub: pd.DataFrame,
    mask: np.ndarray,
    s: RegressionSpec,
    outcome: str,
    covs: list[str],
    family: str,
    weighted: bool,
    design: Any,
    extra: list[str],
    x_scale: float,
    y_scale: float,
    references: dict[str, Any],
    label: str,
    interaction: str | None,
) -> tuple[ModelFrame, CoefTable, np.ndarray]:
    # outcomes with the same complete rows share one design matrix (built once per model and stratum)
    needed = [outcome, s.exposure, *covs, *([interaction] if interaction else []), *extra]
    rows = complete_rows(sub, needed)
    key = (
        tuple(covs),
        interaction,
        label.rsplit(", ", 1)[-1],
        weighted,
        hashlib.sha1(rows.tobytes()).hexdigest(),
    )
    cached = _FRAME_CACHE.get(key)
    if cached is not None and cached.x.shape[0] == int(rows.sum()):
        y = numeric_values(sub.loc[rows, outcome], label, outcome) / y_scale
        frame = ModelFrame(
            y, cached.x, cached.names, rows, cached.exposure_terms, cached.interaction_terms, cached.dropped
        )
    else:
        frame = build_model_frame(
            sub,
            outcome,
            s.exposure,
            covs,
            s.factors,
            label,
            interaction=interaction,
            exposure_scale=x_scale,
            outcome_scale=y_scale,
            references=references,
            extra_required=extra,
        )
        _FRAME_CACHE[key] = frame
    excluded = len(sub) - frame.n
    if excluded and interaction is None:
        logger.info(
            "%s: %d of %d rows excluded (missing values; complete cases used)", label, excluded, len(sub)
        )
    if weighted:
        dom = np.zeros(len(mask), bool)
        dom[np.flatnonzero(mask)[frame.rows]] = True
        frame_full = ModelFrame(
            frame.y, frame.x, frame.names, dom, frame.exposure_terms, frame.interaction_terms
        )
        table, cov = survey_fit(frame_full, design, family, label)
    elif s.random_intercept:
        groups = sub.loc[frame.rows, s.random_intercept].astype(str).to_numpy()
        table, cov = mixed_model(frame, groups, label)
    elif family == "gaussian":
        table, cov = ols(frame.x, frame.y, frame.names)[0]
    else:
        table, cov = logistic(frame.x, frame.y, frame.names, label)
    return frame, table, cov


def _add_fdr(rows: list[dict[str, Any]]) -> None:
    """BH adjustment over outcomes within each (method, stratum, term)."""
    if not rows:
        return
    df = pd.DataFrame(rows)
    df["p_fdr"] = np.nan
    for _, idx in df.groupby(["method", "stratum", "term"], sort=False).groups.items():
        df.loc[idx, "p_fdr"] = fdr_bh(df.loc[idx, "p_value"].to_numpy(float))
    for r, q in zip(rows, df["p_fdr"].to_numpy(), strict=True):
        r["p_fdr"] = q
