"""Sensitivity analyses for two-sample MR: heterogeneity, pleiotropy, single-variant and leave-one-out
estimates, variance explained, Steiger directionality and multivariable IVW.

Column names follow TwoSampleMR (``mr_heterogeneity``, ``mr_pleiotropy_test``, ``mr_singlesnp``,
``mr_leaveoneout``, ``directionality_test``, ``steiger_filtering``) so its users can read the tables
without a glossary. The functions that the instrument-selection step needs for Steiger filtering are
:func:`variant_rsq` and :func:`steiger_per_variant`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core import distributions as dist
from musclecog.errors import DataError, show_values
from musclecog.mr.estimators import LABELS, egger, i_squared_gx, ivw

logger = logging.getLogger(__name__)

DEFAULT_PREVALENCE = 0.1
"""Population prevalence assumed for a binary trait without ``prevalence.<side>`` (TwoSampleMR's default)."""


def _i2(q: float, df: float) -> float:
    """Higgins' I² = max(0, (Q - df) / Q)."""
    if not np.isfinite(q) or q <= 0:
        return 0.0 if np.isfinite(q) else float("nan")
    return max(0.0, (q - df) / q)


def heterogeneity(bx: Any, by: Any, sx: Any, sy: Any) -> pd.DataFrame:
    """Cochran's Q (IVW), Rücker's Q' (MR-Egger) and their difference, with I².

    Returns a frame with TwoSampleMR ``mr_heterogeneity`` columns ``method, Q, Q_df, Q_pval`` plus
    ``statistic`` (which Q) and ``I2``. Rows that cannot be computed carry a ``note``.

    Notes
    -----
    ``Q = sum((by - b_ivw bx)^2 / sy^2)`` on nsnp - 1 df (first-order weights, as TwoSampleMR);
    ``Q' = sum((by' - a - b bx')^2 / sy^2)`` from the oriented MR-Egger fit on nsnp - 2 df; the
    difference ``Q - Q'`` is chi-squared on 1 df (Rücker et al. 2011 Biostatistics 12:122;
    Bowden et al. 2018 Int J Epidemiol 47:1264).
    """
    n = len(np.asarray(bx))
    rows: list[dict[str, Any]] = []
    fit_ivw = ivw(bx, by, sx, sy)
    fit_egger = egger(bx, by, sx, sy)
    for label, stat, fit in (
        (LABELS["ivw"], "Cochran's Q", fit_ivw),
        (LABELS["egger"], "Rucker's Q'", fit_egger),
    ):
        if fit.estimable and fit.heterogeneity is not None:
            q, df = fit.heterogeneity.q, fit.heterogeneity.df
            rows.append(
                {"method": label, "statistic": stat, "Q": q, "Q_df": df, "Q_pval": fit.heterogeneity.pval,
                 "I2": _i2(q, df), "nsnp": n, "note": ""}
            )
        else:
            rows.append({"method": label, "statistic": stat, "nsnp": n, "note": fit.note})
    if fit_ivw.heterogeneity is not None and fit_egger.heterogeneity is not None:
        qd = fit_ivw.heterogeneity.q - fit_egger.heterogeneity.q
        rows.append(
            {"method": "Rucker's Q - Q'", "statistic": "Q - Q'", "Q": qd, "Q_df": 1,
             "Q_pval": float(dist.chi2_sf(qd, 1)), "I2": np.nan, "nsnp": n, "note": ""}
        )
    else:
        rows.append({"method": "Rucker's Q - Q'", "statistic": "Q - Q'", "nsnp": n,
                     "note": "not estimable: needs at least 3 instruments"})
    cols = ["method", "statistic", "Q", "Q_df", "Q_pval", "I2", "nsnp", "note"]
    return pd.DataFrame(rows).reindex(columns=cols)


def pleiotropy(bx: Any, by: Any, sx: Any, sy: Any, distribution: str = "t") -> pd.DataFrame:
    """MR-Egger intercept test (TwoSampleMR ``mr_pleiotropy_test``; ``distribution = "normal"``: the normal
    p-value of MendelianRandomization's ``mr_egger``) and I²_GX.

    Columns: ``egger_intercept, se, pval, nsnp, i2_gx, i2_gx_unweighted, note``. ``i2_gx`` is
    MendelianRandomization's ``I^2_GX`` (``Isq(|bx|/sy, sx/sy)``), ``i2_gx_unweighted`` Bowden's
    ``Isq(|bx|, sx)``. I²_GX below 0.9 means the Egger slope is noticeably diluted towards the null
    (Bowden et al. 2016 Int J Epidemiol 45:1961).
    """
    fit = egger(bx, by, sx, sy, distribution=distribution)
    row: dict[str, Any] = {"nsnp": len(np.asarray(bx)), "i2_gx": i_squared_gx(bx, sx, sy),
                           "i2_gx_unweighted": i_squared_gx(bx, sx), "note": fit.note}
    if fit.intercept is not None:
        row.update(egger_intercept=fit.intercept.b, se=fit.intercept.se, pval=fit.intercept.pval)
        if row["i2_gx"] < 0.9:
            row["note"] = f"I2_GX = {row['i2_gx']:.2f} < 0.9: MR Egger slope diluted towards the null"
    cols = ["egger_intercept", "se", "pval", "nsnp", "i2_gx", "i2_gx_unweighted", "note"]
    return pd.DataFrame([row]).reindex(columns=cols)


def single_snp(snp: Sequence[str], bx: Any, by: Any, sx: Any, sy: Any) -> pd.DataFrame:
    """Per-variant Wald ratios and the all-variant IVW and MR-Egger rows (TwoSampleMR ``mr_singlesnp``).

    Columns ``SNP, b, se, p`` (Wald ratio with first-order se ``sy/|bx|``), then the rows
    ``"All - Inverse variance weighted"`` and ``"All - MR Egger"``.
    """
    bx, by, sx, sy = (np.asarray(a, dtype=float) for a in (bx, by, sx, sy))
    b = by / bx
    se = sy / np.abs(bx)
    out = pd.DataFrame({"SNP": list(snp), "b": b, "se": se, "p": 2 * dist.norm_sf(np.abs(b / se))})
    extra = []
    for fit in (ivw(bx, by, sx, sy), egger(bx, by, sx, sy)):
        extra.append({"SNP": f"All - {fit.method}", "b": fit.b, "se": fit.se, "p": fit.pval})
    out = pd.concat([out, pd.DataFrame(extra)], ignore_index=True)
    out["samplesize"] = np.nan
    return out


def leave_one_out(snp: Sequence[str], bx: Any, by: Any, sx: Any, sy: Any) -> pd.DataFrame:
    """IVW (TwoSampleMR's default ``mr_ivw``) leaving out each variant in turn, then ``"All"``.

    Vectorised: the sums of the IVW fit are computed once and each variant's contribution subtracted
    (O(nsnp) instead of O(nsnp^2)). Columns ``SNP, b, se, p`` (as ``mr_leaveoneout``); ``SNP`` names the
    variant left out. Needs at least 3 variants (TwoSampleMR's rule); fewer give an empty frame.
    """
    bx, by, sx, sy = (np.asarray(a, dtype=float) for a in (bx, by, sx, sy))
    k = bx.size
    cols = ["SNP", "b", "se", "p"]
    if k < 3:
        return pd.DataFrame(columns=cols)
    w = 1.0 / sy**2
    sxx_all, sxy_all, syy_all = np.sum(w * bx * bx), np.sum(w * bx * by), np.sum(w * by * by)
    sxx = sxx_all - w * bx * bx
    sxy = sxy_all - w * bx * by
    syy = syy_all - w * by * by
    b = sxy / sxx
    rss = np.maximum(syy - sxy**2 / sxx, 0.0)
    sigma = np.sqrt(rss / (k - 2))
    se = np.sqrt(1.0 / sxx) * np.maximum(1.0, sigma)
    all_fit = ivw(bx, by, sx, sy)
    out = pd.DataFrame({"SNP": list(snp), "b": b, "se": se, "p": 2 * dist.norm_sf(np.abs(b / se))})
    return pd.concat(
        [out, pd.DataFrame([{"SNP": "All", "b": all_fit.b, "se": all_fit.se, "p": all_fit.pval}])],
        ignore_index=True,
    )


# --- variance explained and Steiger ----------------------------------------------------------------


def r_from_bsen(b: Any, se: Any, n: Any) -> np.ndarray:
    """Signed r of a quantitative trait from beta, se and n: ``F = (b/se)^2``, ``r^2 = F / (n - 2 + F)``
    (TwoSampleMR ``get_r_from_bsen``)."""
    b, se, n = (np.asarray(a, dtype=float) for a in (b, se, n))
    f = (b / se) ** 2
    return np.sqrt(f / (n - 2 + f)) * np.sign(b)


def r_from_pn(p: Any, n: Any) -> np.ndarray:
    """Unsigned r from a p-value and n: ``F = qf(p, 1, n - 1, lower = FALSE)``, ``r^2 = F / (n - 2 + F)``
    (TwoSampleMR ``get_r_from_pn``; p = 0 gives NaN, as R).

    ``F(1, df)`` is the square of ``t(df)``, so ``F = qt(p/2, df, lower = FALSE)^2``: scipy's ``t.isf`` keeps
    R's precision at genome-wide p-values, where its ``f.isf`` loses digits (1e-6 relative at p = 1e-12) and
    returns NaN (p = 2e-20)."""
    p, n = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(n, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = dist.t_isf(p / 2.0, n - 1) ** 2
        r2 = f / (n - 2 + f)
    r2 = np.where(np.isfinite(f) & (p > 0), r2, np.nan)
    return np.sqrt(r2)


def population_allele_frequency(af: Any, prop: Any, odds_ratio: Any, prevalence: Any) -> np.ndarray:
    """Population allele frequency from case-control allele frequency, case fraction and OR.

    Solves the 2x2 contingency table with the given margins and odds ratio (TwoSampleMR
    ``contingency`` + ``get_population_allele_frequency``), vectorised over variants: the root of
    ``(OR-1) z^2 + ((af+prop)(1-OR) - 1) z + OR af prop = 0`` that makes every cell non-negative.
    """
    af, prop, orr, prev = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (af, prop, odds_ratio, prevalence)))
    a = orr - 1.0
    bq = (af + prop) * (1.0 - orr) - 1.0
    c = orr * af * prop
    disc = np.sqrt(np.maximum(0.0, bq**2 - 4 * a * c))
    small = np.abs(a) < 1e-15
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = np.stack([(-bq - disc) / (2 * a), (-bq + disc) / (2 * a)])
        lin = -c / bq
    roots = np.where(small[None], lin[None], roots)
    cells = np.stack([roots, prop - roots, af - roots, 1 + roots - af - prop])  # (4, 2, k)
    tol = 1e-12
    valid = np.all(cells >= -tol, axis=0)  # (2, k)
    z = np.where(valid[0], roots[0], roots[1])
    case_a, case_b, ctrl_a, ctrl_b = z, prop - z, af - z, 1 + z - af - prop
    af_controls = ctrl_a / (ctrl_a + ctrl_b)
    af_cases = case_a / (case_a + case_b)
    return af_controls * (1 - prev) + af_cases * prev


def r_from_lor(lor: Any, af: Any, ncase: Any, ncontrol: Any, prevalence: Any, model: str = "logit") -> np.ndarray:
    """Signed r on the liability scale from a log odds ratio (Lee et al. 2012 Genet Epidemiol 36:214,
    eq. 10; TwoSampleMR ``get_r_from_lor``): ``vg = lor^2 p(1-p)`` with p the population allele
    frequency, ``r^2 = vg / (vg + ve)``, ``ve = pi^2/3`` (logit) or 1 (probit)."""
    if model not in ("logit", "probit"):
        raise ValueError(f"model must be 'logit' or 'probit', got {model!r}")
    lor, af, ncase, ncontrol = (np.asarray(a, dtype=float) for a in (lor, af, ncase, ncontrol))
    ve = np.pi**2 / 3 if model == "logit" else 1.0
    popaf = population_allele_frequency(af, ncase / (ncase + ncontrol), np.exp(lor), prevalence)
    vg = lor**2 * popaf * (1 - popaf)
    return np.sqrt(vg / (vg + ve)) * np.sign(lor)


def _col(df: pd.DataFrame, name: str) -> np.ndarray | None:
    return df[name].to_numpy(dtype=float) if name in df.columns else None


R_FROM: tuple[str, ...] = ("bsen", "pn")
"""How the variance explained of a quantitative trait is computed: from beta, se and n (TwoSampleMR's current
``get_r_from_bsen``) or from the p-value and n (``get_r_from_pn``, what TwoSampleMR's ``add_rsq`` used before)."""


def variant_rsq(harmonised: pd.DataFrame, side: str, r_from: str = "bsen") -> tuple[np.ndarray, np.ndarray, str]:
    """Per-variant variance explained and effective n of one side (TwoSampleMR ``add_rsq``).

    Parameters
    ----------
    harmonised : DataFrame
        TwoSampleMR-named columns for ``side``: ``beta.<side>``, ``se.<side>``, ``samplesize.<side>``,
        ``eaf.<side>``, ``units.<side>``; binary traits (``units.<side> == "log odds"``) also
        ``ncase.<side>``, ``ncontrol.<side>`` and optionally ``prevalence.<side>`` (default 0.1).
    side : {"exposure", "outcome"}
    r_from : {"bsen", "pn"}
        For a quantitative trait without SD units and allele frequencies: ``get_r_from_bsen(beta, se, n)`` or
        ``get_r_from_pn(pval, n)`` (``pval.<side>``; where missing, the normal p of ``beta/se``, as ``add_rsq``).

    Returns
    -------
    rsq : ndarray
    effective_n : ndarray
        ``samplesize`` (quantitative) or ``2 / (1/ncase + 1/ncontrol)`` (binary).
    how : str
        Which formula was used: ``"lor"``, ``"sd_units"``, ``"bsen"`` or ``"pn"``.

    Raises
    ------
    DataError
        If the columns the formula needs are missing.
    """
    units = harmonised.get(f"units.{side}")
    unit = str(units.dropna().iloc[0]) if units is not None and units.notna().any() else ""
    beta = _col(harmonised, f"beta.{side}")
    if beta is None:
        raise DataError(f"harmonised data lack beta.{side}; cannot compute variance explained")
    if unit == "log odds":
        need = [f"eaf.{side}", f"ncase.{side}", f"ncontrol.{side}"]
        missing = [c for c in need if c not in harmonised.columns or harmonised[c].isna().all()]
        if missing:
            raise DataError(
                f"binary trait ({side}, units 'log odds') needs {missing} for get_r_from_lor; "
                f"add the case and control counts and effect-allele frequency to the GWAS config"
            )
        prev = _col(harmonised, f"prevalence.{side}")
        if prev is None or np.isnan(prev).all():
            logger.warning("prevalence.%s not given: assuming %.2f (TwoSampleMR's default)", side, DEFAULT_PREVALENCE)
            prev = np.full(beta.shape, DEFAULT_PREVALENCE)
        ncase = harmonised[f"ncase.{side}"].to_numpy(dtype=float)  # present: checked above
        ncontrol = harmonised[f"ncontrol.{side}"].to_numpy(dtype=float)
        r = r_from_lor(beta, harmonised[f"eaf.{side}"].to_numpy(dtype=float), ncase, ncontrol, prev)
        return r**2, 2.0 / (1.0 / ncase + 1.0 / ncontrol), "lor"
    n = _col(harmonised, f"samplesize.{side}")
    if n is None or np.isnan(n).any():
        bad = harmonised.loc[harmonised.get(f"samplesize.{side}", pd.Series(np.nan, index=harmonised.index)).isna(), "SNP"]
        raise DataError(
            f"samplesize.{side} missing for variants {show_values(bad)}; give the GWAS sample size (gwas.<trait>.n) "
            f"so variance explained can be computed"
        )
    eaf = _col(harmonised, f"eaf.{side}")
    if "SD" in unit and eaf is not None and not np.isnan(eaf).any():
        return 2 * beta**2 * eaf * (1 - eaf), n, "sd_units"
    se = _col(harmonised, f"se.{side}")
    if r_from == "pn":
        z_p = 2 * dist.norm_sf(np.abs(beta / se)) if se is not None else np.full(beta.shape, np.nan)
        pval = _col(harmonised, f"pval.{side}")
        pval = z_p if pval is None else np.where(np.isnan(pval), z_p, pval)
        return r_from_pn(pval, n) ** 2, n, "pn"
    return r_from_bsen(beta, se, n) ** 2, n, "bsen"


def _r_test_z(r12: Any, n1: Any, r34: Any, n2: Any) -> np.ndarray:
    """z of two independent correlations (psych::r.test with n, n2, r12, r34): Fisher z difference."""
    r12, n1, r34, n2 = (np.asarray(a, dtype=float) for a in (r12, n1, r34, n2))
    return (np.arctanh(r12) - np.arctanh(r34)) / np.sqrt(1.0 / (n1 - 3) + 1.0 / (n2 - 3))


def steiger_per_variant(harmonised: pd.DataFrame, r_from: str = "bsen") -> pd.DataFrame:
    """Per-variant Steiger test (TwoSampleMR ``steiger_filtering``): adds ``rsq.exposure``,
    ``rsq.outcome``, ``effective_n.exposure``, ``effective_n.outcome``, ``steiger_dir`` (rsq.exposure >
    rsq.outcome) and ``steiger_pval`` to a copy of ``harmonised``. Instruments with ``steiger_dir``
    False (and, optionally, ``steiger_pval`` < threshold) explain more of the outcome than of the
    exposure and are candidates for removal. ``r_from``: see :func:`variant_rsq`."""
    out = harmonised.copy()
    rx, nx, _ = variant_rsq(harmonised, "exposure", r_from)
    ry, ny, _ = variant_rsq(harmonised, "outcome", r_from)
    out["rsq.exposure"], out["rsq.outcome"] = rx, ry
    out["effective_n.exposure"], out["effective_n.outcome"] = nx, ny
    z = _r_test_z(np.sqrt(rx), nx, np.sqrt(ry), ny)
    out["steiger_dir"] = rx > ry
    out["steiger_pval"] = 2 * dist.norm_sf(np.abs(z))
    return out


def directionality(harmonised: pd.DataFrame, r_from: str = "bsen") -> pd.DataFrame:
    """MR Steiger directionality test over all instruments (TwoSampleMR ``directionality_test``); ``r_from``:
    see :func:`variant_rsq` (variants whose variance explained is not finite, e.g. p = 0 with ``"pn"``, are
    left out and counted in the note).

    ``r_exp = sqrt(sum(rsq.exposure))``, ``r_out = sqrt(sum(rsq.outcome))``, compared with
    psych's ``r.test`` at the mean effective sample sizes (Hemani, Tilling & Davey Smith 2017,
    PLoS Genet 13:e1007081). Columns: ``snp_r2.exposure, snp_r2.outcome, correct_causal_direction,
    steiger_pval, nsnp, method_rsq.exposure, method_rsq.outcome, note``.
    """
    try:
        rx, nx, how_x = variant_rsq(harmonised, "exposure", r_from)
        ry, ny, how_y = variant_rsq(harmonised, "outcome", r_from)
    except DataError as exc:
        return pd.DataFrame([{"nsnp": len(harmonised), "note": f"not estimable: {exc}"}]).reindex(
            columns=["snp_r2.exposure", "snp_r2.outcome", "correct_causal_direction", "steiger_pval", "nsnp",
                     "method_rsq.exposure", "method_rsq.outcome", "note"]
        )
    ok = np.isfinite(rx) & np.isfinite(ry)
    r2x, r2y = float(np.sum(rx[ok])), float(np.sum(ry[ok]))
    z = _r_test_z(np.sqrt(r2x), np.mean(nx[ok]), np.sqrt(r2y), np.mean(ny[ok]))
    note = "" if ok.all() else f"{int((~ok).sum())} variants without variance explained left out"
    return pd.DataFrame([{
        "snp_r2.exposure": r2x,
        "snp_r2.outcome": r2y,
        "correct_causal_direction": bool(r2x > r2y),
        "steiger_pval": float(2 * dist.norm_sf(abs(float(z)))),
        "nsnp": int(ok.sum()),
        "method_rsq.exposure": how_x,
        "method_rsq.outcome": how_y,
        "note": note,
    }])


# --- multivariable MR ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MultivariableResult:
    """Multivariable IVW estimates: one row per exposure (``exposure, b, se, pval, nsnp``), plus the
    residual standard error and conditional heterogeneity ``Q``."""

    estimates: pd.DataFrame
    sigma: float
    Q: float
    Q_df: int
    Q_pval: float


def multivariable_ivw(bx: Any, by: Any, sy: Any, exposures: Sequence[str] | None = None,
                      model: str = "random") -> MultivariableResult:
    """Multivariable IVW: ``lm(by ~ 0 + BX, weights = 1/sy^2)`` (Burgess & Thompson 2015 Am J Epidemiol
    181:251; MendelianRandomization ``mr_mvivw``).

    Parameters
    ----------
    bx : array (nsnp, n_exposures)
        Associations of each instrument with each exposure (all aligned to the same effect allele).
    by, sy : array (nsnp,)
        Associations with the outcome and their standard errors.
    exposures : sequence of str, optional
        Column labels (default ``exposure_1..``).
    model : {"random", "fixed"}
        ``"random"``: multiplicative random effects, se divided by ``min(1, sigma)`` (MendelianRandomization's
        default); ``"fixed"``: se divided by sigma.

    Returns
    -------
    MultivariableResult
    """
    bx = np.asarray(bx, dtype=float)
    if bx.ndim == 1:
        bx = bx[:, None]
    by, sy = np.asarray(by, dtype=float), np.asarray(sy, dtype=float)
    k, m = bx.shape
    names = list(exposures) if exposures is not None else [f"exposure_{i + 1}" for i in range(m)]
    if len(names) != m:
        raise ValueError(f"{len(names)} exposure names for {m} columns of bx")
    if k <= m:
        raise DataError(f"multivariable MR needs more instruments ({k}) than exposures ({m})")
    w = 1.0 / sy**2
    xtw = bx.T * w
    xtwx = xtw @ bx
    if np.linalg.matrix_rank(xtwx) < m:
        raise DataError("the exposure associations are collinear (rank-deficient bx matrix); drop an exposure")
    inv = np.linalg.inv(xtwx)
    coef = inv @ (xtw @ by)
    resid = by - bx @ coef
    df = k - m
    sigma = float(np.sqrt(np.sum(w * resid**2) / df))
    se_fe = np.sqrt(np.diag(inv))
    se = se_fe * (max(1.0, sigma) if model == "random" else 1.0)
    if model not in ("random", "fixed"):
        raise ValueError(f"model must be 'random' or 'fixed', got {model!r}")
    est = pd.DataFrame({"exposure": names, "b": coef, "se": se, "pval": 2 * dist.norm_sf(np.abs(coef / se)), "nsnp": k})
    q = sigma**2 * df
    return MultivariableResult(est, sigma, q, df, float(dist.chi2_sf(q, df)))


@dataclass(frozen=True)
class MultivariableEggerResult:
    """Multivariable MR-Egger: one row per exposure (``exposure, b, se, pval, nsnp``), the intercept
    (``intercept, intercept_se, intercept_pval``), the residual standard error and the heterogeneity ``Q``."""

    estimates: pd.DataFrame
    intercept: float
    intercept_se: float
    intercept_pval: float
    sigma: float
    Q: float
    Q_df: int
    Q_pval: float


def multivariable_egger(bx: Any, by: Any, sy: Any, exposures: Sequence[str] | None = None, orientate: int = 0,
                        distribution: str = "normal") -> MultivariableEggerResult:
    """Multivariable MR-Egger (Rees, Wood & Burgess 2017, Stat Med 36:4705; MendelianRandomization ``mr_mvegger``).

    Every variant is oriented so that its association with exposure ``orientate`` (0-based; the first, the
    pair's exposure, by default) is positive (``bx`` and ``by`` multiplied by its sign), then
    ``lm(by ~ BX, weights = 1/sy^2)`` with an intercept; standard errors divided by ``min(1, sigma)``.

    Parameters
    ----------
    bx : array (nsnp, n_exposures)
    by, sy : array (nsnp,)
    exposures : sequence of str, optional
    orientate : int
        The exposure whose associations are made positive.
    distribution : {"normal", "t"}
        p-values from the normal distribution (the package's default) or from t on ``nsnp - n_exposures`` df
        (the package's ``distribution = "t-dist"``, whose p-values use that df).

    Raises
    ------
    DataError
        Too few instruments (at most ``n_exposures + 1``), collinear associations.
    """
    if distribution not in ("normal", "t"):
        raise ValueError(f"distribution must be 'normal' or 't', got {distribution!r}")
    bx = np.asarray(bx, dtype=float)
    if bx.ndim == 1:
        bx = bx[:, None]
    by, sy = np.asarray(by, dtype=float), np.asarray(sy, dtype=float)
    k, m = bx.shape
    names = list(exposures) if exposures is not None else [f"exposure_{i + 1}" for i in range(m)]
    if len(names) != m or not 0 <= orientate < m:
        raise ValueError(f"{len(names)} exposure names and orientate = {orientate} for {m} columns of bx")
    if k <= m + 1:
        raise DataError(f"multivariable MR-Egger needs more instruments ({k}) than exposures plus one ({m + 1})")
    sign = np.where(bx[:, orientate] < 0, -1.0, 1.0)
    design = np.column_stack([np.ones(k), bx * sign[:, None]])
    y = by * sign
    w = 1.0 / sy**2
    xtw = design.T * w
    xtwx = xtw @ design
    if np.linalg.matrix_rank(xtwx) < m + 1:
        raise DataError("multivariable MR-Egger: the exposure associations are collinear with each other or the "
                        "intercept; drop an exposure")
    inv = np.linalg.inv(xtwx)
    coef = inv @ (xtw @ y)
    df = k - m - 1
    sigma = float(np.sqrt(np.sum(w * (y - design @ coef) ** 2) / df))
    se = np.sqrt(np.diag(inv)) * sigma / min(1.0, sigma)
    z = np.abs(coef / se)
    pval = 2 * dist.norm_sf(z) if distribution == "normal" else 2 * dist.t_sf(z, k - m)
    est = pd.DataFrame({"exposure": names, "b": coef[1:], "se": se[1:], "pval": pval[1:], "nsnp": k})
    q = sigma**2 * df
    return MultivariableEggerResult(est, float(coef[0]), float(se[0]), float(pval[0]), sigma, q, df,
                                    float(dist.chi2_sf(q, df)))
