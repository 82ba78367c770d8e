"""Robustness to unmeasured confounding: E-values (VanderWeele & Ding 2017) and the omitted-variable bounds
of Cinelli & Hazlett (2020), as one table over the run (``results/robustness.tsv``).

E-values (VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the
E-value. Ann Intern Med 2017;167:268-274): the minimum strength of association, on the risk-ratio scale,
that an unmeasured confounder would need with both exposure and outcome to explain away an estimate:
``E = RR + sqrt(RR (RR - 1))`` for ``RR >= 1`` (``1 / RR`` first for ``RR < 1``); for the CI, the E-value of
the limit closest to 1, and 1 when the CI includes 1. Other scales are first approximated by a risk ratio
as the paper says:

* odds ratio: ``RR ~ OR`` when the outcome is rare (< 15%), else ``RR ~ sqrt(OR)``;
* hazard ratio: ``RR ~ HR`` when rare, else ``RR ~ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1 / HR))``;
* a mean difference or regression slope on a continuous outcome: the standardised difference
  ``d = estimate / SD(outcome)`` (a standardised beta is ``d`` already) and ``RR ~ exp(0.91 d)``, CI
  ``exp(0.91 d -/+ 1.78 SE_d)``. For a continuous exposure ``d`` is per unit of the exposure as reported
  (per SD, per kg, ...), as in the EValue package's ``evalues.OLS(delta = 1)``.

Cinelli C, Hazlett C. Making sense of sensitivity: extending omitted variable bias. J R Stat Soc B
2020;82:39-67 (R's ``sensemakr``), for coefficients of ordinary least squares fits, from the t statistic and
the residual df: the partial R^2 of the exposure ``t^2 / (t^2 + df)``; the robustness value
``RV_q = (sqrt(f^4 + 4 f^2) - f^2) / 2`` with ``f = q |t| / sqrt(df)`` (q = 1: the share of residual
variance of both exposure and outcome a confounder must explain to bring the estimate to 0); and
``RV_q,alpha`` with ``f - |t*_(alpha/2, df - 1)| / sqrt(df - 1)`` in place of ``f`` (to make the estimate
non-significant at alpha = 0.05; 0 when already non-significant; ``(f^2 - f*^2) / (1 + f^2)`` in the
extreme case ``f > 1 / f*``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from musclecog.io import read_input_table
from musclecog.results import read_table

RARE_OUTCOME = 0.15
"""Below this outcome proportion an OR or HR approximates a RR (VanderWeele & Ding 2017)."""

OBSERVATIONAL_TYPES: tuple[str, ...] = (
    "regression",
    "group_comparison",
    "cox",
    "mixed_model",
    "gee",
    "panel_model",
    "lagged_regression",
)
"""Analysis types whose exposure estimates get E-values (trials, mediation, MR and meta-analyses do not)."""

OLS_METHODS: tuple[str, ...] = ("linear regression", "OLS")
"""Methods (by their tidy label's start) fitted by ordinary least squares: these get Cinelli-Hazlett bounds."""

COLUMNS: tuple[str, ...] = (
    "analysis",
    "cohort",
    "method",
    "outcome",
    "exposure",
    "term",
    "stratum",
    "scale",
    "estimate",
    "conf_low",
    "conf_high",
    "n",
    "outcome_sd",
    "outcome_share",
    "rr",
    "rr_conf_low",
    "rr_conf_high",
    "e_value",
    "e_value_ci",
    "partial_r2",
    "robustness_value",
    "robustness_value_alpha",
    "conversion",
)
"""Columns of ``results/robustness.tsv``."""


def e_value(rr: ArrayLike) -> np.ndarray:
    """E-value of a risk ratio (point estimate): ``RR + sqrt(RR (RR - 1))`` after ``RR -> 1 / RR`` below 1."""
    r = np.asarray(rr, float)
    r = np.where(r < 1, 1 / r, r)
    return np.asarray(r + np.sqrt(r * (r - 1)))


def e_value_ci(rr: ArrayLike, low: ArrayLike, high: ArrayLike) -> np.ndarray:
    """E-value of a CI: of the limit closest to 1 (the lower limit for ``RR > 1``, the upper for
    ``RR < 1``), 1 when the interval includes 1."""
    r, lo, hi = (np.asarray(a, float) for a in (rr, low, high))
    includes = (lo <= 1) & (hi >= 1)
    limit = np.where(r >= 1, lo, hi)
    return np.where(includes, 1.0, e_value(limit))


def rr_from_odds_ratio(odds_ratio: ArrayLike, rare: ArrayLike) -> np.ndarray:
    """``OR`` for a rare outcome, ``sqrt(OR)`` for a common one."""
    o = np.asarray(odds_ratio, float)
    return np.where(np.asarray(rare, bool), o, np.sqrt(o))


def rr_from_hazard_ratio(hazard_ratio: ArrayLike, rare: ArrayLike) -> np.ndarray:
    """``HR`` for a rare outcome, ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1 / HR))`` for a common one."""
    h = np.asarray(hazard_ratio, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        common = (1 - 0.5 ** np.sqrt(h)) / (1 - 0.5 ** np.sqrt(1 / h))
    return np.where(np.asarray(rare, bool), h, np.where(h == 1, 1.0, common))


def rr_from_standardised(d: ArrayLike, se_d: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``exp(0.91 d)`` and its approximate CI ``exp(0.91 d -/+ 1.78 SE_d)``."""
    d_, s = np.asarray(d, float), np.asarray(se_d, float)
    return np.exp(0.91 * d_), np.exp(0.91 * d_ - 1.78 * s), np.exp(0.91 * d_ + 1.78 * s)


def partial_r2(t: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Partial R^2 of a coefficient with its t statistic on ``df`` residual df: ``t^2 / (t^2 + df)``."""
    t_, d = np.asarray(t, float), np.asarray(df, float)
    return np.asarray(t_**2 / (t_**2 + d))


def robustness_value(t: ArrayLike, df: ArrayLike, q: float = 1.0, alpha: float | None = None) -> np.ndarray:
    """Cinelli & Hazlett's robustness value ``RV_q`` (``alpha`` None) or ``RV_q,alpha``."""
    t_, d = np.asarray(t, float), np.asarray(df, float)
    fq = q * np.abs(t_) / np.sqrt(d)
    if alpha is None:
        return np.asarray(0.5 * (np.sqrt(fq**4 + 4 * fq**2) - fq**2))
    f_crit = np.abs(special.stdtrit(d - 1, alpha / 2)) / np.sqrt(d - 1)  # t quantile, as stats.t.ppf
    fqa = fq - f_crit
    rv = np.where(fqa > 0, 0.5 * (np.sqrt(fqa**4 + 4 * fqa**2) - fqa**2), 0.0)
    extreme = (fqa > 0) & (fq > 1 / f_crit)
    return np.where(extreme, (fq**2 - f_crit**2) / (1 + fq**2), rv)


def exposure_rows(table: pd.DataFrame) -> pd.Series:
    """Which tidy rows are an exposure's estimate (``term`` is the exposure, one of its levels
    ``exposure[level]`` or a group contrast ``exposure=a vs b``; interactions excluded)."""
    term, exposure = table["term"].astype(str), table["exposure"].astype(str)
    own = [t == e or t.startswith((f"{e}[", f"{e}=")) for t, e in zip(term, exposure, strict=True)]
    return pd.Series(own, index=table.index) & ~term.str.contains(":", regex=False)


def robustness_table(
    estimates: Sequence[pd.DataFrame], outcomes: Mapping[tuple[str, str], tuple[float, float]]
) -> pd.DataFrame:
    """E-values and Cinelli-Hazlett bounds of the exposure estimates of observational analyses.

    Parameters
    ----------
    estimates : sequence of DataFrame
        Tidy estimate tables (``results/estimates/<analysis>.tsv``) of observational analyses.
    outcomes : mapping
        ``(cohort, outcome) -> (SD, share)``: the SD of a continuous outcome and the proportion with the
        event of a binary one (NaN where it does not apply; :func:`cohort_outcome_summaries`). An outcome
        not in the mapping has neither (a mean difference then gets no E-value, an OR/HR the
        common-outcome rule).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, one row per exposure estimate on a ratio, mean-difference or beta scale.
    """
    frames = [t.loc[exposure_rows(t)] for t in estimates if len(t)]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    keep = rows["scale"].isin(
        ["odds_ratio", "risk_ratio", "hazard_ratio", "mean_difference", "beta", "standardised_beta"]
    )
    rows = rows.loc[keep & rows["estimate"].notna()].reset_index(drop=True)
    out = rows.reindex(columns=list(COLUMNS[:12])).copy()
    rr, lo, hi, sd, share, conversion = _as_risk_ratios(rows, outcomes)
    out["outcome_sd"] = np.where(np.isin(rows["scale"], ["mean_difference", "beta"]), sd, np.nan)
    out["outcome_share"] = np.where(np.isin(rows["scale"], ["odds_ratio", "hazard_ratio"]), share, np.nan)
    out["rr"], out["rr_conf_low"], out["rr_conf_high"] = rr, lo, hi
    out["e_value"] = e_value(rr)
    out["e_value_ci"] = e_value_ci(rr, lo, hi)
    ols = (
        rows["method"].astype(str).str.startswith(OLS_METHODS)
        & rows.get("df", pd.Series(np.nan, index=rows.index)).notna()
    )
    t = (
        pd.to_numeric(rows.get("statistic"), errors="coerce")
        if "statistic" in rows
        else pd.Series(np.nan, index=rows.index)
    )
    df = (
        pd.to_numeric(rows.get("df"), errors="coerce")
        if "df" in rows
        else pd.Series(np.nan, index=rows.index)
    )
    with np.errstate(invalid="ignore"):
        out["partial_r2"] = np.where(ols, partial_r2(t, df), np.nan)
        out["robustness_value"] = np.where(ols, robustness_value(t, df), np.nan)
        out["robustness_value_alpha"] = np.where(ols, robustness_value(t, df, alpha=0.05), np.nan)
    out["conversion"] = conversion
    return out[list(COLUMNS)]


def _lookup(
    rows: pd.DataFrame, outcomes: Mapping[tuple[str, str], tuple[float, float]], which: int
) -> np.ndarray:
    keys = pd.Series(
        list(zip(rows["cohort"].astype(str), rows["outcome"].astype(str), strict=True)), dtype=object
    )
    table = {key: value[which] for key, value in outcomes.items()}
    return keys.map(table).to_numpy(float, na_value=np.nan) if len(keys) else np.zeros(0)


def _as_risk_ratios(
    rows: pd.DataFrame, outcomes: Mapping[tuple[str, str], tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's approximate risk ratio with CI, the outcome's SD and share used, and how (by scale)."""
    scale = rows["scale"].to_numpy(str)
    est, low, high, se = (rows[c].to_numpy(float) for c in ("estimate", "conf_low", "conf_high", "std_error"))
    share = _share(rows, _lookup(rows, outcomes, 1))
    sd = _lookup(rows, outcomes, 0)
    sd = np.where(scale == "standardised_beta", 1.0, sd)
    rare = share < RARE_OUTCOME
    known = np.isfinite(share)
    d_rr, d_lo, d_hi = rr_from_standardised(est / sd, se / sd)
    is_or, is_hr, is_rr = scale == "odds_ratio", scale == "hazard_ratio", scale == "risk_ratio"
    is_d = np.isin(scale, ["mean_difference", "beta", "standardised_beta"])

    def convert(values: np.ndarray, d_values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):  # every branch is computed on every row
            return np.select(
                [is_or, is_hr, is_rr, is_d & np.isfinite(sd)],
                [rr_from_odds_ratio(values, rare), rr_from_hazard_ratio(values, rare), values, d_values],
                np.nan,
            )

    how = np.select(
        [
            (is_or | is_hr) & rare,
            (is_or | is_hr) & known,
            is_or | is_hr,
            is_rr,
            scale == "standardised_beta",
            is_d & np.isfinite(sd),
        ],
        [
            "OR or HR taken as RR (rare outcome: < 15%)",
            "common outcome (>= 15%): RR ~ sqrt(OR), or (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))",
            "common-outcome rule (outcome share unknown: the conservative choice)",
            "risk ratio",
            "standardised beta as d; RR ~ exp(0.91 d)",
            "d = estimate / outcome_sd; RR ~ exp(0.91 d)",
        ],
        "no E-value: the outcome's SD is unknown or the outcome is binary",
    )
    return convert(est, d_rr), convert(low, d_lo), convert(high, d_hi), sd, share, how


def _share(rows: pd.DataFrame, share: np.ndarray) -> np.ndarray:
    """The outcome proportion per row: events / n for survival rows, else the cohort's share."""
    events = pd.to_numeric(rows["n_events"], errors="coerce").to_numpy(float) if "n_events" in rows else None
    n = pd.to_numeric(rows["n"], errors="coerce").to_numpy(float)
    if events is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(np.isfinite(events) & (n > 0), events / n, share)
    return share


def cohort_outcome_summaries(
    cohort: pd.DataFrame, outcomes: Sequence[str]
) -> Mapping[str, tuple[float, float]]:
    """``outcome -> (SD, share)`` in a cohort table: SD of a continuous outcome (NaN if binary), the share
    with the event of a 0/1 outcome (NaN if continuous); outcomes the table lacks are left out."""
    out: dict[str, tuple[float, float]] = {}
    for name in outcomes:
        if name not in cohort.columns:
            continue
        values = pd.to_numeric(cohort[name], errors="coerce").dropna().to_numpy(float)
        if not len(values):
            continue
        binary = bool(np.isin(values, [0.0, 1.0]).all())
        out[name] = (np.nan, float(values.mean())) if binary else (float(values.std(ddof=1)), np.nan)
    return out


def run_robustness(estimate_files: Sequence[str], cohort_files: Mapping[str, str]) -> pd.DataFrame:
    """The run's robustness table from the tidy estimate tables and the cohort tables they were fitted on.

    Parameters
    ----------
    estimate_files : sequence of path
        ``results/estimates/<analysis>.tsv`` of the observational analyses.
    cohort_files : mapping
        Cohort name -> its table (``results/cohorts/<cohort>.parquet``), for the outcomes' SD and share
        (only the outcome columns are read).
    """
    tables = [read_table(path) for path in estimate_files]
    wanted: dict[str, set[str]] = {}
    for t in tables:
        for cohort, outcome in zip(t["cohort"].astype(str), t["outcome"].astype(str), strict=True):
            wanted.setdefault(cohort, set()).add(outcome)
    outcomes: dict[tuple[str, str], tuple[float, float]] = {}
    for cohort, names in wanted.items():
        if cohort not in cohort_files:
            continue
        data = read_input_table(cohort_files[cohort], columns=sorted(names))
        for name, value in cohort_outcome_summaries(data, sorted(names)).items():
            outcomes[(cohort, name)] = value
    return robustness_table(tables, outcomes)
