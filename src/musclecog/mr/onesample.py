"""One-sample Mendelian randomization on individual data: two-stage least squares.

The analysis type ``one_sample_mr`` instruments an exposure (e.g. grip strength) with genotype
dosages or a polygenic score and estimates its effect on an outcome by 2SLS (linearmodels
``IV2SLS``), next to the observational OLS estimate, with the diagnostics an MR reader expects:
the first-stage F statistic and partial R² of the instruments, the Wu-Hausman test of exogeneity and,
with more than one instrument, Sargan's over-identification test.

Reference: R's ``AER::ivreg(y ~ x + covariates | instruments + covariates)`` with
``summary(fit, diagnostics = TRUE)``; ``cov_type = "unadjusted"`` reproduces its standard errors
(t distribution, n - k df), ``"robust"`` gives heteroskedasticity-robust (HC) errors.
Binary outcomes are fitted as a linear probability model (a risk difference per exposure unit), as
in most one-sample MR on binary outcomes; state it when reporting.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS
from scipy import stats

from musclecog.errors import ConfigError, DataError, ModelError, show_values
from musclecog.results import tidy_frame

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class OneSampleMRSpec:
    """The config entry of a ``one_sample_mr`` analysis.

    Attributes
    ----------
    exposure, outcome : str
        Cohort columns.
    instruments : tuple of str
        Genotype dosage columns and/or a polygenic score column.
    instrument_prefix : str or None
        Alternatively (or additionally), every column whose name starts with this prefix
        (e.g. ``snp_`` selects ``snp_1 .. snp_20``).
    covariates : tuple of str
        Exogenous covariates in both stages (categorical columns are dummy-coded, first level
        as reference).
    cov_type : {"unadjusted", "robust"}
        Standard errors: homoskedastic as ``AER::ivreg`` (default) or HC-robust.
    alpha : float
        1 - confidence level.
    """

    exposure: str
    outcome: str
    instruments: tuple[str, ...] = ()
    instrument_prefix: str | None = None
    covariates: tuple[str, ...] = ()
    cov_type: str = "unadjusted"
    alpha: float = 0.05

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], where: str = "analyses") -> OneSampleMRSpec:
        """Build from a validated analysis entry (``type``, ``cohort``, ``description``, ``keep_if`` ignored)."""
        try:
            out = cls(
                exposure=str(spec["exposure"]),
                outcome=str(spec["outcome"]),
                instruments=tuple(spec.get("instruments", ())),
                instrument_prefix=spec.get("instrument_prefix"),
                covariates=tuple(spec.get("covariates", ())),
                cov_type=str(spec.get("cov_type", "unadjusted")),
                alpha=float(spec.get("alpha", 0.05)),
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: one_sample_mr needs the key {exc.args[0]!r}") from None
        if not out.instruments and not out.instrument_prefix:
            raise ConfigError(f"{where}: give 'instruments' (columns) or 'instrument_prefix' (e.g. snp_)")
        if out.cov_type not in ("unadjusted", "robust"):
            raise ConfigError(f"{where}.cov_type = {out.cov_type!r}: use 'unadjusted' or 'robust'")
        return out

    def instrument_columns(self, data: pd.DataFrame) -> list[str]:
        """The instrument columns present in ``data`` (explicit list, then the prefix matches)."""
        cols = list(self.instruments)
        if self.instrument_prefix:
            cols += [c for c in data.columns if str(c).startswith(self.instrument_prefix) and c not in cols]
        return cols


@dataclass
class OneSampleMRResult:
    """Fitted one-sample MR: 2SLS and OLS estimates plus diagnostics."""

    analysis: str
    cohort: str
    exposure: str
    outcome: str
    instruments: list[str]
    rows: list[dict[str, Any]]
    n: int
    n_excluded: int
    first_stage_f: float
    first_stage_partial_r2: float

    def to_tidy(self) -> pd.DataFrame:
        """Rows: ``2SLS`` and ``OLS (observational)`` effects, first-stage F and partial R²,
        Wu-Hausman and (over-identified) Sargan tests."""
        return tidy_frame(self.rows)

    def figure(self) -> Any:
        """Forest of OLS vs 2SLS with the first-stage F in the title."""
        from musclecog.plots.mr import one_sample

        return one_sample(self)


def _design(data: pd.DataFrame, columns: list[str], where: str) -> pd.DataFrame:
    """Numeric design columns; categorical columns dummy-coded with the first level as reference."""
    parts = []
    for col in columns:
        s = data[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts.append(s.astype(float).rename(col))
        else:
            dummies = pd.get_dummies(s.astype("category"), prefix=col, drop_first=True, dtype=float)
            if dummies.shape[1] == 0:
                raise DataError(f"{where}: covariate {col!r} has a single level in the analysed rows; drop it")
            parts.append(dummies)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)


def _diagnostics(w: np.ndarray, z: np.ndarray, x: np.ndarray, y: np.ndarray, b_iv: np.ndarray,
                 robust: bool) -> dict[str, Any]:
    """OLS, first-stage F, Wu-Hausman and Sargan from one cross-product matrix (one O(n p^2) pass).

    Follows ``summary(AER::ivreg(...), diagnostics = TRUE)``: the weak-instrument F compares the first
    stage with and without the instruments; Wu-Hausman is the F test of the first-stage residual added
    to the OLS regression; Sargan is n R² of the 2SLS residuals regressed on all exogenous variables.
    ``b_iv`` holds the 2SLS coefficients in the order ``[w..., x]``.
    """
    n, kw = w.shape
    q = z.shape[1]
    a = np.column_stack([w, z, x, y])
    m = a.T @ a
    iw, iz = np.arange(kw), np.arange(kw, kw + q)
    ix, iy = kw + q, kw + q + 1

    def solve(cols: np.ndarray, target: int) -> tuple[np.ndarray, float]:
        mm = m[np.ix_(cols, cols)]
        beta = np.linalg.solve(mm, m[cols, target])
        return beta, float(m[target, target] - m[target, cols] @ beta)

    out: dict[str, Any] = {}
    wz = np.concatenate([iw, iz])
    wx = np.append(iw, ix)
    _, rss_r = solve(iw, ix)
    g, rss_u = solve(wz, ix)
    df2 = n - kw - q
    out.update(f=((rss_r - rss_u) / q) / (rss_u / df2), f_df2=df2, partial_r2=(rss_r - rss_u) / rss_r)
    try:
        b_ols, rss_ols = solve(wx, iy)
    except np.linalg.LinAlgError:
        return {**out, "ols_b": np.nan, "ols_se": np.nan, "ols_p": np.nan, "wh": np.nan, "wh_p": np.nan,
                "wh_df2": 0, "sargan": np.nan}
    df_ols = n - kw - 1
    inv = np.linalg.inv(m[np.ix_(wx, wx)])
    if robust:
        xm = a[:, wx]
        e = y - xm @ b_ols
        meat = (xm * e[:, None] ** 2).T @ xm
        vcov = inv @ meat @ inv * n / df_ols
    else:
        vcov = inv * rss_ols / df_ols
    se = float(np.sqrt(vcov[-1, -1]))
    out.update(ols_b=float(b_ols[-1]), ols_se=se, ols_p=float(2 * stats.t.sf(abs(b_ols[-1] / se), df_ols)))
    # Wu-Hausman: y on [w, x, v] with v = x - [w, z] g (first-stage residual), cross-products from m
    m_v = m[:, ix] - m[:, wz] @ g  # a' v
    vv = rss_u
    cols = wx
    mm = np.block([[m[np.ix_(cols, cols)], m_v[cols][:, None]], [m_v[cols][None, :], np.array([[vv]])]])
    rhs = np.append(m[cols, iy], m_v[iy])
    beta_aug = np.linalg.solve(mm, rhs)
    rss_aug = float(m[iy, iy] - rhs @ beta_aug)
    wh_df2 = n - kw - 2
    wh = (rss_ols - rss_aug) / (rss_aug / wh_df2)
    out.update(wh=float(wh), wh_p=float(stats.f.sf(wh, 1, wh_df2)), wh_df2=wh_df2)
    # Sargan: u = y - [w, x] b_iv; regress u on [w, z] (w holds the constant)
    m_u = m[:, iy] - m[:, wx] @ b_iv  # a' u
    uu = float(m[iy, iy] - 2 * b_iv @ m[wx, iy] + b_iv @ m[np.ix_(wx, wx)] @ b_iv)
    coef = np.linalg.solve(m[np.ix_(wz, wz)], m_u[wz])
    rss_aux = uu - float(m_u[wz] @ coef)
    ubar = float(m_u[0]) / n  # column 0 of w is the constant
    tss = uu - n * ubar**2
    out["sargan"] = float(n * (1 - rss_aux / tss))
    return out


def fit_one_sample_mr(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> OneSampleMRResult:
    """Fit a ``one_sample_mr`` analysis (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        The analysis-ready cohort table.
    spec : mapping
        The analysis entry of the config.
    context : RunContext
        Names (``analysis``, ``cohort``).

    Returns
    -------
    OneSampleMRResult

    Raises
    ------
    DataError
        Missing columns, non-numeric instruments, too few complete rows.
    ModelError
        Instruments without variation or a rank-deficient design.
    """
    where = f"analyses.{context.analysis}"
    s = OneSampleMRSpec.from_config(spec, where)
    instruments = s.instrument_columns(data)
    if not instruments:
        raise DataError(
            f"{where}: no instrument columns found (instruments {list(s.instruments)}, prefix "
            f"{s.instrument_prefix!r}) in cohort {context.cohort}; columns are {show_values(list(data.columns), 12)}"
        )
    needed = [s.outcome, s.exposure, *instruments, *s.covariates]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataError(f"{where}: cohort {context.cohort} has no columns {missing}; check the names in the config")
    overlap = set(instruments) & ({s.exposure, s.outcome} | set(s.covariates))
    if overlap:
        raise ConfigError(f"{where}: {sorted(overlap)} used both as instrument and as exposure/outcome/covariate")
    for col in [s.outcome, s.exposure, *instruments]:
        if not (pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col])):
            raise DataError(f"{where}: column {col!r} must be numeric, found {data[col].dtype}")
    complete = data[needed].notna().all(axis=1)
    n_excl = int((~complete).sum())
    if n_excl:
        logger.info("%s: %d of %d rows excluded for missing %s", where, n_excl, len(data), needed)
    d = data.loc[complete]
    n = len(d)
    if n < len(instruments) + len(s.covariates) + 10:
        raise DataError(f"{where}: only {n} complete rows for {len(instruments)} instruments; need more data")
    constant = [c for c in instruments if d[c].nunique() < 2]
    if constant:
        raise ModelError(f"{where}: instruments without variation in the analysed rows: {constant}; remove them")

    y = d[s.outcome].astype(float)
    x = d[[s.exposure]].astype(float)
    z = d[instruments].astype(float)
    w = _design(d, list(s.covariates), where)
    w.insert(0, "const", 1.0)
    cov = "unadjusted" if s.cov_type == "unadjusted" else "robust"
    try:
        iv = IV2SLS(y, w, x, z).fit(cov_type=cov, debiased=True)
    except ValueError as exc:  # linearmodels' rank checks
        raise ModelError(f"{where}: 2SLS could not be fitted: {exc}") from None
    diag = _diagnostics(w.to_numpy(float), z.to_numpy(float), x.to_numpy(float)[:, 0], y.to_numpy(float),
                        iv.params.to_numpy(float), robust=s.cov_type == "robust")
    if not np.isfinite(diag["ols_b"]):
        raise ModelError(f"{where}: the OLS design [covariates, {s.exposure}] is rank-deficient")
    q = len(instruments)
    f_stat, df2, partial_r2 = diag["f"], diag["f_df2"], diag["partial_r2"]
    if s.cov_type == "robust":
        f_stat = float(iv.first_stage.diagnostics.loc[s.exposure, "f.stat"])
    f_p = float(stats.f.sf(f_stat, q, df2))

    base = {"analysis": context.analysis, "cohort": context.cohort, "outcome": s.outcome, "exposure": s.exposure,
            "stratum": "overall", "n": n}
    tcrit = stats.t.isf(s.alpha / 2, iv.df_resid)
    rows: list[dict[str, Any]] = []
    fits = (
        ("2SLS", float(iv.params[s.exposure]), float(iv.std_errors[s.exposure]), float(iv.pvalues[s.exposure])),
        ("OLS (observational)", diag["ols_b"], diag["ols_se"], diag["ols_p"]),
    )
    for method, b, se, pval in fits:
        rows.append({**base, "method": method, "term": s.exposure, "estimate": b, "std_error": se,
                     "conf_low": b - tcrit * se, "conf_high": b + tcrit * se,
                     "p_value": pval, "scale": "beta", "nsnp": q,
                     "statistic": b / se, "df": float(iv.df_resid),
                     "note": f"instruments: {', '.join(instruments)}" if method == "2SLS" else ""})
    weak = " (weak instruments: F < 10)" if f_stat < 10 else ""
    rows.append({**base, "method": "2SLS first stage", "term": "first_stage_F", "estimate": f_stat,
                 "p_value": f_p, "scale": "f_statistic", "nsnp": q, "statistic": f_stat, "df": float(q),
                 "note": f"F({q}, {df2}){weak}"})
    rows.append({**base, "method": "2SLS first stage", "term": "partial_r_squared", "estimate": partial_r2,
                 "scale": "r_squared", "nsnp": q, "note": "share of exposure variance explained by the instruments"})
    rows.append({**base, "method": "Wu-Hausman", "term": s.exposure, "estimate": diag["wh"],
                 "p_value": diag["wh_p"], "scale": "test", "statistic": diag["wh"], "df": 1.0,
                 "note": f"F(1, {diag['wh_df2']}); H0: {s.exposure} is exogenous"})
    if q > 1:
        rows.append({**base, "method": "Sargan", "term": "overidentification", "estimate": diag["sargan"],
                     "p_value": float(stats.chi2.sf(diag["sargan"], q - 1)), "scale": "test",
                     "statistic": diag["sargan"], "df": float(q - 1), "note": "H0: all instruments valid (chi-squared)"})
    return OneSampleMRResult(context.analysis, context.cohort, s.exposure, s.outcome, instruments, rows, n, n_excl,
                             float(f_stat), float(partial_r2))
