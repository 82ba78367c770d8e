"""Multiply imputed data: one analysis per imputation, combined by Rubin's rules.

A cohort built from multiply imputed files (e.g. the NHANES 1999-2006 whole-body DXA files, five
imputations per person in one file, ``_MULT_`` = 1..5) carries an ``imputation`` column: every person
appears once per imputation (with ``wave``, once per visit and imputation). :func:`musclecog.analyses.run_analysis`
fits the configured analysis on each imputation and combines the results here:

- every estimate with a standard error on a scale where Rubin's rules apply (coefficients, mean
  differences, effects; ratios on the log scale) is pooled as R's ``mice::pool`` does (mice 3): the mean
  of the m estimates; total variance ``T = Ubar + (1 + 1/m) B``; Barnard-Rubin (1999) degrees of freedom
  with the complete-data df (the model's residual df where it has one, else infinite, i.e.
  ``pool(fit, dfcom = Inf)``) and mice's floor of 1e-4 on lambda; t-based p-values and intervals on those
  df; fraction of missing information ``fmi = (riv + 2 / (df + 3)) / (1 + riv)``;
- any other row (a correlation, a variance component, a test statistic, a count) is the mean over the m
  imputations, with a note saying it was not pooled by Rubin's rules;
- the fitted models behind figures are pooled the same way in matrix form (mean coefficients, covariance
  ``Ubar + (1 + 1/m) B``).

Each pooled row carries ``m``, ``fmi``, ``riv`` (relative increase in variance) and ``lambda`` in extra
columns.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from musclecog.core.results import RATIO_SCALES, AnalysisResult, Estimate, FitResult
from musclecog.errors import DataError, ModelError, show_values

IMPUTATION = "imputation"
"""The column that numbers the imputations (1..m) of a multiply imputed cohort."""

POOLED_SCALES = frozenset({
    "beta", "standardised_beta", "mean_difference", "mean", "indirect_effect", "direct_effect", "total_effect",
    "path_coefficient", *RATIO_SCALES,
})
"""Scales whose estimates are pooled by Rubin's rules (ratios on the log scale)."""

LAMBDA_FLOOR = 1e-4  # mice's barnard.rubin: lambda[lambda < 1e-04] <- 1e-04

R = TypeVar("R", bound=AnalysisResult)


@dataclass(frozen=True)
class Pooled:
    """One quantity combined over m imputations (Rubin 1987; Barnard & Rubin 1999)."""

    estimate: float
    std_error: float
    df: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    m: int
    ubar: float
    between: float
    riv: float
    lam: float
    fmi: float


def barnard_rubin_df(m: int, between: float, total: float, dfcom: float = math.inf) -> float:
    """Barnard-Rubin degrees of freedom, as ``mice:::barnard.rubin`` (lambda floored at 1e-4)."""
    lam = max((1 + 1 / m) * between / total, LAMBDA_FLOOR)
    dfold = (m - 1) / lam**2
    if math.isinf(dfcom):
        return dfold
    dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    return dfold * dfobs / (dfold + dfobs)


def rubin(estimates: npt.ArrayLike, std_errors: npt.ArrayLike, dfcom: float = math.inf,
          level: float = 0.95) -> Pooled:
    """Pool m estimates and their standard errors by Rubin's rules.

    Parameters
    ----------
    estimates, std_errors : sequence of float
        One per imputation (on the model scale: log odds, log hazard).
    dfcom : float
        Complete-data degrees of freedom (``inf`` for large-sample z statistics).
    level : float
        Confidence level of the interval.
    """
    from scipy import stats  # only multiply imputed runs need it

    q = np.asarray(estimates, float)
    u = np.asarray(std_errors, float) ** 2
    m = len(q)
    if m < 2:
        raise ModelError(f"Rubin's rules need at least 2 imputations, got {m}")
    qbar, ubar = float(q.mean()), float(u.mean())
    between = float(q.var(ddof=1))
    total = ubar + (1 + 1 / m) * between
    riv = (1 + 1 / m) * between / ubar if ubar > 0 else math.inf
    lam = (1 + 1 / m) * between / total if total > 0 else 0.0
    df = barnard_rubin_df(m, between, total, dfcom) if total > 0 else math.inf
    se = math.sqrt(total)
    stat = qbar / se if se > 0 else math.nan
    p = float(2 * stats.t.sf(abs(stat), df)) if np.isfinite(stat) else math.nan
    crit = float(stats.t.ppf(0.5 + level / 2, df))
    fmi = (riv + 2 / (df + 3)) / (1 + riv)
    return Pooled(qbar, se, df, stat, p, qbar - crit * se, qbar + crit * se, m, ubar, between, riv, lam, fmi)


def split_imputations(data: pd.DataFrame, where: str) -> list[tuple[int, pd.DataFrame]]:
    """The cohort table of each imputation, checked to hold the same people (and visits).

    Raises
    ------
    DataError
        If there are fewer than two imputations, or two imputations differ in their ids (or id x wave rows).
    """
    groups = [(int(k), g.drop(columns=IMPUTATION).reset_index(drop=True))
              for k, g in data.groupby(IMPUTATION, sort=True)]
    if len(groups) < 2:
        raise DataError(
            f"{where}: the '{IMPUTATION}' column holds {len(groups)} imputation(s); multiple imputation needs at "
            "least 2 (or drop the imputation mapping for a single data set)."
        )
    keys = [k for k in ("id", "wave") if k in data.columns]
    if keys:
        ref_k, ref = groups[0]
        ref_rows = pd.MultiIndex.from_frame(ref[keys])
        for k, g in groups[1:]:
            rows = pd.MultiIndex.from_frame(g[keys])
            if len(rows) != len(ref_rows) or not rows.sort_values().equals(ref_rows.sort_values()):
                only_ref = [r[0] if len(keys) == 1 else r for r in ref_rows.difference(rows)]
                only_k = [r[0] if len(keys) == 1 else r for r in rows.difference(ref_rows)]
                raise DataError(
                    f"{where}: imputations {ref_k} and {k} do not hold the same rows ({len(ref_rows)} vs {len(rows)} "
                    f"rows; {'+'.join(keys)} only in {ref_k}: {show_values(only_ref[:5]) or 'none'}; only in {k}: "
                    f"{show_values(only_k[:5]) or 'none'}). Every imputation must hold every person: check the "
                    "files and filters (a keep_if on an imputed variable removes different people per imputation)."
                )
    return groups


def _same_row(a: Estimate, b: Estimate) -> bool:
    return (a.term, a.outcome, a.exposure, a.stratum, a.method, a.scale) == (
        b.term, b.outcome, b.exposure, b.stratum, b.method, b.scale)


def pool_estimates(per_imputation: Sequence[Sequence[Estimate]], level: float = 0.95) -> tuple[Estimate, ...]:
    """Combine the estimates of m fits of one analysis, row by row.

    Raises
    ------
    ModelError
        If the imputations' results do not have the same rows (a level absent in one imputation, say).
    """
    first = per_imputation[0]
    m = len(per_imputation)
    for k, rows in enumerate(per_imputation[1:], start=2):
        if len(rows) != len(first) or not all(_same_row(a, b) for a, b in zip(first, rows, strict=True)):
            raise ModelError(
                f"imputation {k} gives different result rows from imputation 1 ({len(rows)} vs {len(first)} rows), "
                "so they cannot be pooled: a factor level or stratum is empty in one imputation."
            )
    out = []
    for i, e in enumerate(first):
        column = [rows[i] for rows in per_imputation]
        est = np.array([r.estimate for r in column], float)
        se = np.array([r.std_error for r in column], float)
        extra = dict(e.extra)
        ns = {r.n for r in column}
        n = e.n if len(ns) == 1 else None
        if e.scale in POOLED_SCALES and np.isfinite(est).all() and np.isfinite(se).all() and (se > 0).all():
            ratio = e.scale in RATIO_SCALES
            q = np.log(est) if ratio else est
            dfcom = float(e.df) if e.df is not None and np.isfinite(e.df) and e.df > 0 else math.inf
            p = rubin(q, se, dfcom, level)
            f = math.exp if ratio else float
            extra.update(m=m, fmi=p.fmi, riv=p.riv, **{"lambda": p.lam})
            out.append(e.replace(
                estimate=f(p.estimate), std_error=p.std_error, conf_low=f(p.conf_low), conf_high=f(p.conf_high),
                p_value=p.p_value, statistic=p.statistic if e.statistic is not None else None,
                df=p.df if e.df is not None else None, n=n, p_fdr=None,
                note=_join(e.note, f"pooled over {m} imputations (Rubin's rules, Barnard-Rubin df {p.df:.4g})"),
                extra=extra))
        else:
            extra.update(m=m, fmi=math.nan, riv=math.nan, **{"lambda": math.nan})
            out.append(e.replace(
                estimate=float(np.mean(est)), std_error=float(np.mean(se)) if np.isfinite(se).all() else math.nan,
                conf_low=math.nan, conf_high=math.nan, p_value=math.nan, n=n, p_fdr=None,
                statistic=None if e.statistic is None else float(np.mean([r.statistic or math.nan for r in column])),
                note=_join(e.note, f"mean over {m} imputations, not pooled by Rubin's rules ({e.scale})"),
                extra=extra))
    return tuple(out)


def _join(note: str | None, more: str) -> str:
    return f"{note}; {more}" if note else more


def pool_fits(fits: Sequence[FitResult]) -> FitResult:
    """One fit from m: mean coefficients, covariance ``Ubar + (1 + 1/m) B`` (for curves and figures)."""
    m = len(fits)
    params = np.vstack([f.params.to_numpy() for f in fits])
    qbar = params.mean(0)
    ubar = np.mean([f.cov.to_numpy() for f in fits], axis=0)
    dev = params - qbar
    between = dev.T @ dev / (m - 1)
    cov = ubar + (1 + 1 / m) * between
    first = fits[0]
    return dataclasses.replace(
        first,
        params=pd.Series(qbar, index=first.params.index, name=first.params.name),
        cov=pd.DataFrame(cov, index=first.cov.index, columns=first.cov.columns),
        std_errors=pd.Series(np.sqrt(np.diag(cov)), index=first.std_errors.index, name=first.std_errors.name),
    )


def fit_imputed(data: pd.DataFrame, fit: Callable[[pd.DataFrame], R], where: str) -> R:
    """Fit on each imputation and pool (the result's other fields are those of imputation 1)."""
    results = [fit(frame) for _, frame in split_imputations(data, where)]
    first = results[0]
    estimates = pool_estimates([r.estimates for r in results])
    fits = {}
    for key, f in first.fits.items():
        same = [r.fits.get(key) for r in results]
        if all(s is not None and list(s.params.index) == list(f.params.index) for s in same):
            fits[key] = pool_fits([s for s in same if s is not None])
    title = f"{first.title} (pooled over {len(results)} imputations)" if first.title else first.title
    return dataclasses.replace(first, estimates=estimates, fits=fits, title=title)


# --------------------------------------------------------------------------------------------------
# chained equations (cohorts.<name>.impute)

@dataclass(frozen=True)
class ImputeSpec:
    """``cohorts.<name>.impute``: missing values filled by chained equations (MICE).

    Attributes
    ----------
    columns : tuple of str
        The columns to impute (numeric, binary or categorical; categories are imputed as their codes by
        predictive mean matching, so every imputed value is an observed level).
    predictors : tuple of str
        Complete columns used as predictors besides the imputed ones (default: none).
    m : int
        Number of imputations.
    burn_in, skip : int
        Chained-equation cycles before the first imputation and between imputations.
    k_pmm : int
        Donors for predictive mean matching (default 5, as ``mice``'s ``donors``; statsmodels' 20 attenuates
        the exposure's coefficient when the exposure is imputed: 0.420 against a truth of 0.45 over 20 data sets
        of the unit test's design, 0.442 with 5).
    """

    columns: tuple[str, ...]
    predictors: tuple[str, ...] = ()
    m: int = 5
    burn_in: int = 10
    skip: int = 10
    k_pmm: int = 5

    @classmethod
    def from_config(cls, spec: dict, where: str) -> ImputeSpec:
        """Build from the validated config entry."""
        return cls(columns=tuple(spec["columns"]), predictors=tuple(spec.get("predictors") or ()),
                   m=int(spec.get("m", 5)), burn_in=int(spec.get("burn_in", 10)), skip=int(spec.get("skip", 10)),
                   k_pmm=int(spec.get("k_pmm", 5)))


def chained_imputations(data: pd.DataFrame, spec: ImputeSpec, seed: int, where: str) -> tuple[pd.DataFrame, list[str]]:
    """``m`` completed copies of ``data`` stacked with an ``imputation`` column (1..m).

    statsmodels' ``MICEData`` (predictive mean matching, Gaussian perturbation of the imputation models'
    coefficients; van Buuren's fully conditional specification), seeded with ``seed``: one chain,
    ``burn_in`` cycles, then one imputation every ``skip`` cycles, as statsmodels' ``MICE`` does.

    Returns
    -------
    stacked : DataFrame
    notes : list of str
        One line per imputed column: how many values were filled.

    Raises
    ------
    ConfigError
        If a column is unknown, already an imputation cohort, or a predictor has missing values.
    """
    from statsmodels.imputation.mice import MICEData

    from musclecog.errors import ConfigError

    if IMPUTATION in data.columns:
        raise ConfigError(f"{where}: the table is already multiply imputed (it has an '{IMPUTATION}' column).")
    cols = list(dict.fromkeys([*spec.columns, *spec.predictors]))
    unknown = [c for c in cols if c not in data.columns]
    if unknown:
        raise ConfigError(f"{where}: impute names {unknown}, not columns of the cohort ({show_values(list(data.columns), 20)}).")
    incomplete = [c for c in spec.predictors if c not in spec.columns and data[c].isna().any()]
    if incomplete:
        raise ConfigError(
            f"{where}: predictor(s) {incomplete} have missing values; add them to impute.columns or drop them "
            "from impute.predictors."
        )
    work = pd.DataFrame(index=data.index)
    categories: dict[str, pd.Index] = {}
    for i, c in enumerate(cols):
        s = data[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s):
            cat = pd.Categorical(s)
            categories[c] = cat.categories
            codes = cat.codes.astype(float)
            codes[codes < 0] = np.nan
            work[f"v{i}"] = codes
        else:
            work[f"v{i}"] = pd.to_numeric(s, errors="coerce").astype(float)
    missing = {c: int(work[f"v{i}"].isna().sum()) for i, c in enumerate(cols) if c in spec.columns}
    imp = MICEData(work.reset_index(drop=True), k_pmm=spec.k_pmm, rng=np.random.default_rng(seed))
    imp.update_all(spec.burn_in)
    copies = []
    for k in range(1, spec.m + 1):
        if k > 1:
            imp.update_all(spec.skip)
        done = data.copy()
        filled = imp.data.set_axis(data.index)
        for i, c in enumerate(cols):
            if c not in spec.columns or not missing[c]:
                continue
            values = filled[f"v{i}"]
            if c in categories:
                done[c] = pd.Categorical.from_codes(values.round().astype(int), categories=categories[c])
            else:
                done[c] = values.to_numpy()
        done.insert(0, IMPUTATION, k)
        copies.append(done)
    notes = [f"{c}: {n} missing values filled in each of {spec.m} imputations" for c, n in missing.items()]
    return pd.concat(copies, ignore_index=True), notes
