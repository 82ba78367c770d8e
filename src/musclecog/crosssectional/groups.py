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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from musclecog.core.spec import RunContext
from musclecog.crosssectional.common import (
    CrossSectionalResult,
    as_list,
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
    factor_levels,
    fmt_level,
    numeric_values,
)
from musclecog.crosssectional.models import ols, survey_fit
from musclecog.errors import ConfigError, ModelError
from musclecog.survey import survey_mean

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupComparisonSpec:
    """A ``group_comparison`` entry of the config."""

    outcomes: tuple[str, ...]
    groups: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    by: str | None = None
    reference: Any = None
    min_n: int = 10

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], where: str) -> GroupComparisonSpec:
        min_n = int(spec.get("min_n", 10))
        if min_n < 2:
            raise ConfigError(f"{where}.min_n must be at least 2 (an SD needs two people), got {min_n}")
        return cls(
            outcomes=tuple(one_or_many(spec, "outcome", "outcomes", where)),
            groups=tuple(one_or_many(spec, "group", "groups", where)),
            covariates=tuple(as_list(spec.get("covariates"))),
            factors=tuple(as_list(spec.get("factors"))),
            by=spec.get("by"),
            reference=spec.get("reference"),
            min_n=min_n,
        )


def welch(y1: np.ndarray, y0: np.ndarray) -> dict[str, float]:
    """Welch's t test of mean(y1) - mean(y0) (R: ``t.test(y1, y0)``) with its 95% CI."""
    n1, n0 = len(y1), len(y0)
    v1, v0 = y1.var(ddof=1) / n1, y0.var(ddof=1) / n0
    se = float(np.sqrt(v1 + v0))
    df = float((v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1)))
    diff = float(y1.mean() - y0.mean())
    q = stats.t.ppf(0.975, df)
    t = diff / se
    return {
        "estimate": diff,
        "std_error": se,
        "conf_low": diff - q * se,
        "conf_high": diff + q * se,
        "p_value": float(2 * stats.t.sf(abs(t), df)),
        "statistic": t,
        "df": df,
    }


def fit_group_comparison(
    data: pd.DataFrame, spec: Mapping[str, Any], context: RunContext
) -> CrossSectionalResult:
    """Fit a ``group_comparison`` analysis (see the module docstring).

    Returns
    -------
    CrossSectionalResult
        Rows: ``mean`` and ``sd`` per group level (term ``group=level``), ``mean_difference`` per
        non-reference level (term ``group=level vs ref``; unadjusted and, with covariates, adjusted), for
        each outcome, group variable, weighting and stratum. A stratum where a group has fewer than
        ``min_n`` people gives rows with the reason in ``note``.
    """
    where = f"analyses.{context.analysis}"
    s = GroupComparisonSpec.from_config(spec, where)
    weighting = resolve_weighting(spec, context, where)
    check_columns(data, [*s.outcomes, *s.groups, *s.covariates] + ([s.by] if s.by else []), where)
    design, design_cols = (None, [])
    if "weighted" in weighting:
        design, design_cols = survey_design(data, context)
    rows: list[dict[str, Any]] = []
    cov_label = ", ".join(s.covariates)
    for outcome in s.outcomes:
        y_all = numeric_values(data[outcome], where, outcome)
        for group in s.groups:
            levels = factor_levels(data[group], s.reference)
            if len(levels) < 2:
                raise ModelError(
                    f"{where}: the group {group!r} takes a single value ({levels}); nothing to compare"
                )
            ref = levels[0]
            # integer codes of the ordered levels (-1: missing) - robust to nullable and categorical dtypes
            g_all = pd.Categorical(data[group], categories=levels).codes.astype(np.int64)
            code = {lv: i for i, lv in enumerate(levels)}
            for weight_mode in weighting:
                weighted = weight_mode == "weighted"
                for stratum, mask in strata(data, s.by, where):
                    ok = mask & ~np.isnan(y_all) & data[group].notna().to_numpy()
                    if stratum == "overall" and weight_mode == weighting[0] and int(ok.sum()) < len(data):
                        logger.info(
                            "%s (%s by %s): %d of %d rows excluded (%s or %s missing)",
                            where,
                            outcome,
                            group,
                            len(data) - int(ok.sum()),
                            len(data),
                            outcome,
                            group,
                        )
                    base = {"outcome": outcome, "exposure": group, "stratum": stratum}
                    counts = {lv: int((ok & (g_all == code[lv])).sum()) for lv in levels}
                    small = {fmt_level(k): v for k, v in counts.items() if v < s.min_n}
                    mean_method = "survey mean (Taylor linearisation)" if weighted else "sample mean"
                    for lv in levels:
                        sel = ok & (g_all == code[lv])
                        term = f"{group}={fmt_level(lv)}"
                        if counts[lv] < s.min_n:
                            reason = f"too few people: n = {counts[lv]} in {term} ({stratum}; minimum min_n = {s.min_n})"
                            rows.append(
                                note_row(
                                    {**base, "method": mean_method, "term": term, "scale": "mean"},
                                    reason,
                                    counts[lv],
                                )
                            )
                            rows.append(
                                note_row(
                                    {**base, "method": mean_method, "term": term, "scale": "sd"},
                                    reason,
                                    counts[lv],
                                )
                            )
                            continue
                        rows += _level_rows(y_all, sel, design if weighted else None, base, mean_method, term)
                    for lv in levels[1:]:
                        term = f"{group}={fmt_level(lv)} vs {fmt_level(ref)}"
                        if counts[lv] < s.min_n or counts[ref] < s.min_n:
                            reason = f"too few people for a comparison in {stratum}: {small} (minimum min_n = {s.min_n})"
                            rows.append(
                                note_row(
                                    {
                                        **base,
                                        "method": _diff_method(weighted, ()),
                                        "term": term,
                                        "scale": "mean_difference",
                                    },
                                    reason,
                                    counts[lv] + counts[ref],
                                )
                            )
                            if s.covariates:
                                rows.append(
                                    note_row(
                                        {
                                            **base,
                                            "method": _diff_method(weighted, s.covariates),
                                            "term": term,
                                            "scale": "mean_difference",
                                        },
                                        reason,
                                        counts[lv] + counts[ref],
                                    )
                                )
                            continue
                        pair = ok & np.isin(g_all, [code[lv], code[ref]])
                        rows += _difference_rows(
                            data,
                            y_all,
                            g_all,
                            pair,
                            code[lv],
                            code[ref],
                            outcome,
                            group,
                            s,
                            weighted,
                            design,
                            design_cols,
                            base,
                            term,
                            f"{where} ({outcome}, {group}, {stratum})",
                        )
    title = f"{context.analysis}: {', '.join(s.outcomes)} by {', '.join(s.groups)}" + (
        f" (adjusted: {cov_label})" if cov_label else ""
    )
    return CrossSectionalResult(
        context.analysis, context.cohort, rows, title, plot_scales=("mean_difference",)
    )


def _diff_method(weighted: bool, covariates: tuple[str, ...] | list[str]) -> str:
    if weighted:
        base = "survey-weighted linear regression"
    else:
        base = "linear regression" if covariates else "Welch two-sample t-test"
    return (
        f"{base}, adjusted for {', '.join(covariates)}"
        if covariates
        else (f"{base}, unadjusted" if weighted else base)
    )


def _level_rows(
    y: np.ndarray, sel: np.ndarray, design: Any, base: Mapping[str, Any], method: str, term: str
) -> list[dict[str, Any]]:
    if design is not None:
        m = survey_mean(np.where(sel, y, 0.0), design, domain=sel)
        mean_row = {
            "estimate": m.estimate,
            "std_error": m.std_error,
            "conf_low": m.conf_low,
            "conf_high": m.conf_high,
            "df": float(m.df),
            "sd": m.sd,
        }
    else:
        v = y[sel]
        n = len(v)
        se = float(v.std(ddof=1) / np.sqrt(n))
        q = stats.t.ppf(0.975, n - 1)
        mean_row = {
            "estimate": float(v.mean()),
            "std_error": se,
            "conf_low": float(v.mean()) - q * se,
            "conf_high": float(v.mean()) + q * se,
            "df": float(n - 1),
            "sd": float(v.std(ddof=1)),
        }
    n = int(sel.sum())
    t = mean_row["estimate"] / mean_row["std_error"] if mean_row["std_error"] > 0 else np.nan
    df = mean_row["df"]
    p = float(2 * stats.t.sf(abs(t), df)) if df > 0 and np.isfinite(t) else np.nan
    return [
        {
            **base,
            "method": method,
            "term": term,
            "scale": "mean",
            "estimate": mean_row["estimate"],
            "std_error": mean_row["std_error"],
            "conf_low": mean_row["conf_low"],
            "conf_high": mean_row["conf_high"],
            "p_value": p,
            "n": n,
            "statistic": t,
            "df": df,
        },
        {
            **base,
            "method": method,
            "term": term,
            "scale": "sd",
            "estimate": mean_row["sd"],
            "std_error": np.nan,
            "conf_low": np.nan,
            "conf_high": np.nan,
            "p_value": np.nan,
            "n": n,
        },
    ]


def _difference_rows(
    data: pd.DataFrame,
    y: np.ndarray,
    g: np.ndarray,
    pair: np.ndarray,
    lv: Any,
    ref: Any,
    outcome: str,
    group: str,
    s: GroupComparisonSpec,
    weighted: bool,
    design: Any,
    design_cols: list[str],
    base: Mapping[str, Any],
    term: str,
    label: str,
) -> list[dict[str, Any]]:
    rows = []
    sub = data.loc[pair].copy()
    sub["__group__"] = (g[pair] == lv).astype(float)
    sub["__y__"] = y[pair]
    specs: list[tuple[str, ...]] = [()]
    if s.covariates:
        specs.append(tuple(c for c in s.covariates if not (base["stratum"] != "overall" and c == s.by)))
    for covs in specs:
        method = _diff_method(weighted, covs)
        if not weighted and not covs:
            w = welch(y[pair & (g == lv)], y[pair & (g == ref)])
            rows.append(
                {
                    **base,
                    "method": method,
                    "term": term,
                    "scale": "mean_difference",
                    **w,
                    "n": int(pair.sum()),
                }
            )
            continue
        try:
            frame = build_model_frame(
                sub,
                "__y__",
                "__group__",
                covs,
                s.factors,
                label,
                extra_required=design_cols if weighted else (),
            )
        except ModelError as exc:
            rows.append(
                note_row(
                    {**base, "method": method, "term": term, "scale": "mean_difference"},
                    f"not estimable: {exc}",
                    int(pair.sum()),
                )
            )
            continue
        if weighted:
            dom = np.zeros(len(data), bool)
            dom[np.flatnonzero(pair)[frame.rows]] = True
            table, _ = survey_fit(
                ModelFrame(frame.y, frame.x, frame.names, dom, frame.exposure_terms),
                design,
                "gaussian",
                label,
            )
        else:
            table, _ = ols(frame.x, frame.y, frame.names)[0]
        i = table.index("__group__")
        lo, hi = table.conf_int()
        rows.append(
            {
                **base,
                "method": method,
                "term": term,
                "scale": "mean_difference",
                "estimate": table.estimate[i],
                "std_error": table.std_error[i],
                "conf_low": lo[i],
                "conf_high": hi[i],
                "p_value": table.p_value[i],
                "n": table.n,
                "statistic": table.statistic[i],
                "df": table.df,
                "note": table.note,
            }
        )
    return rows
