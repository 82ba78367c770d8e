"""Colocalisation of the exposure and outcome signals around each instrument: coloc's approximate Bayes factors.

As R's ``coloc::coloc.abf`` (Giambartolomei et al. 2014, PLoS Genet 10:e1004383; Wakefield's approximate
Bayes factors), with its default priors and effect priors, on ``beta`` and ``varbeta = se^2``:

* per variant and trait, z = beta / se, r = W / (W + V) with V = se^2 and the prior effect variance
  W = (0.15 sdY)^2 for a continuous trait, 0.2^2 for a case-control trait (log odds), and
  log ABF = (log(1 - r) + r z^2) / 2;
* sdY: 1 for a trait in SD units, else coloc's ``sdY.est``: the slope of 2 n MAF (1 - MAF) on 1 / V through the
  origin, square-rooted;
* over the variants both GWAS have (a single causal variant per trait and region), with priors p1, p2
  (a variant is associated with trait 1 / 2; 1e-4) and p12 (with both; 1e-5), each capped at 1 / (nsnps + 1)
  as coloc's ``adjust_prior``: log H0 = 0, H1 = log p1 + logsum(l1), H2 = log p2 + logsum(l2),
  H3 = log p1 + log p2 + log(exp(logsum(l1) + logsum(l2)) - exp(logsum(l1 + l2))), H4 = log p12 + logsum(l1 + l2),
  normalised to posterior probabilities PP.H0-PP.H4; SNP.PP.H4 = exp(l1 + l2 - logsum(l1 + l2)).

H3 (both traits associated, different causal variants) flags an instrument whose outcome signal is not the
exposure's; H4 (one shared variant) supports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError
from musclecog.mr.gwas import read_regions

EFFECT_PRIORS = {"quant": 0.15, "cc": 0.2}
"""coloc's ``effect_priors``: prior sd of the effect (times sdY for continuous traits)."""
HYPOTHESES = ("PP.H0.abf", "PP.H1.abf", "PP.H2.abf", "PP.H3.abf", "PP.H4.abf")


@dataclass(frozen=True)
class ColocSettings:
    """Colocalisation per instrument (config keys ``coloc``, ``coloc_kb``, ``coloc_p1``, ``coloc_p2``,
    ``coloc_p12`` of ``mr.<pair>``; coloc.abf's defaults)."""

    enabled: bool = False
    kb: int = 500
    p1: float = 1e-4
    p2: float = 1e-4
    p12: float = 1e-5

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], where: str = "mr") -> ColocSettings:
        """Settings from an MR pair's config entry."""
        out = cls(bool(entry.get("coloc", False)), int(entry.get("coloc_kb", 500)),
                  float(entry.get("coloc_p1", 1e-4)), float(entry.get("coloc_p2", 1e-4)),
                  float(entry.get("coloc_p12", 1e-5)))
        for key in ("p1", "p2", "p12"):
            if not 0 < getattr(out, key) < 1:
                raise ConfigError(f"config: '{where}.coloc_{key}' is {getattr(out, key)}; it must be in (0, 1)")
        if out.kb < 1:
            raise ConfigError(f"config: '{where}.coloc_kb' is {out.kb}; it must be at least 1")
        return out


@dataclass(frozen=True)
class ColocData:
    """One trait's summary statistics over a region (coloc's dataset list: beta, varbeta, snp, type, sdY or
    MAF and N)."""

    snp: np.ndarray
    beta: np.ndarray
    varbeta: np.ndarray
    trait_type: str = "quant"
    sdy: float | None = None
    maf: np.ndarray | None = None
    n: np.ndarray | float | None = None


@dataclass(frozen=True)
class ColocResult:
    """coloc.abf's ``summary`` (nsnps, PP.H0.abf-PP.H4.abf), per-variant ``results`` (snp, lABF.df1,
    lABF.df2, SNP.PP.H4) and the priors used."""

    summary: dict[str, float]
    results: pd.DataFrame
    priors: dict[str, float]


def logsum(x: np.ndarray) -> float:
    """log(sum(exp(x))) without overflow."""
    m = float(np.max(x))
    return m + float(np.log(np.sum(np.exp(x - m))))


def logdiff(x: float, y: float) -> float:
    """log(exp(x) - exp(y)) (0 when negative), without overflow."""
    m = max(x, y)
    return m + float(np.log(max(np.exp(x - m) - np.exp(y - m), 0.0)))


def sdy_est(varbeta: np.ndarray, maf: np.ndarray, n: np.ndarray | float) -> float:
    """coloc's ``sdY.est``: sqrt of the least-squares slope of 2 n MAF (1 - MAF) on 1 / varbeta (no intercept).

    Raises
    ------
    DataError
        When the slope is negative (too few or inconsistent variants).
    """
    x = 1.0 / np.asarray(varbeta, float)
    y = 2.0 * np.asarray(n, float) * np.asarray(maf, float) * (1 - np.asarray(maf, float))
    ok = np.isfinite(x) & np.isfinite(y)
    cf = float(np.sum(x[ok] * y[ok]) / np.sum(x[ok] ** 2))
    if not cf > 0:
        raise DataError("colocalisation: the estimated sdY is not positive; give the trait in SD units or check "
                        "eaf and sample sizes")
    return float(np.sqrt(cf))


def labf(d: ColocData) -> np.ndarray:
    """Wakefield's log approximate Bayes factor of each variant (coloc ``approx.bf.estimates``)."""
    if d.trait_type == "quant":
        sdy = d.sdy
        if sdy is None:
            if d.maf is None or d.n is None:
                raise DataError("colocalisation of a continuous trait needs sdY, or MAF and N to estimate it")
            sdy = sdy_est(d.varbeta, d.maf, d.n)
        sd_prior = EFFECT_PRIORS["quant"] * sdy
    else:
        sd_prior = EFFECT_PRIORS["cc"]
    v = np.asarray(d.varbeta, float)
    z = np.asarray(d.beta, float) / np.sqrt(v)
    r = sd_prior**2 / (sd_prior**2 + v)
    return 0.5 * (np.log(1 - r) + r * z**2)


def _adjust_prior(p: float, nsnps: int) -> float:
    return 1.0 / (nsnps + 1) if nsnps * p >= 1 else p


def coloc_abf(d1: ColocData, d2: ColocData, p1: float = 1e-4, p2: float = 1e-4, p12: float = 1e-5) -> ColocResult:
    """Posterior probabilities of H0-H4 for two traits over one region (R ``coloc::coloc.abf``).

    Variants are matched by ``snp``; each trait's log ABFs are computed on its own variants (sdY estimated
    from all of them, as coloc), then the common ones combined.

    Raises
    ------
    DataError
        No common variant.
    """
    l1 = pd.Series(labf(d1), index=np.asarray(d1.snp, dtype=object))
    l2 = pd.Series(labf(d2), index=np.asarray(d2.snp, dtype=object))
    p1, p2 = _adjust_prior(p1, len(l1)), _adjust_prior(p2, len(l2))
    common = l1.index[l1.index.isin(l2.index)]
    if len(common) == 0:
        raise DataError("colocalisation: the two traits share no variant in the region")
    a = l1.loc[common].to_numpy(float)
    b = l2.loc[~l2.index.duplicated()].loc[common].to_numpy(float)
    p12 = _adjust_prior(p12, len(common))
    s1, s2, s12 = logsum(a), logsum(b), logsum(a + b)
    lh = np.array([0.0, np.log(p1) + s1, np.log(p2) + s2, np.log(p1) + np.log(p2) + logdiff(s1 + s2, s12),
                   np.log(p12) + s12])
    pp = np.exp(lh - logsum(lh))
    summary = {"nsnps": float(len(common)), **dict(zip(HYPOTHESES, pp.tolist(), strict=True))}
    results = pd.DataFrame({"snp": common.to_numpy(), "lABF.df1": a, "lABF.df2": b,
                            "SNP.PP.H4": np.exp(a + b - s12)})
    return ColocResult(summary, results, {"p1": p1, "p2": p2, "p12": p12})


def _trait_data(df: pd.DataFrame, meta: Mapping[str, Any]) -> ColocData:
    binary = meta.get("trait_type") == "binary"
    eaf = df["eaf"].to_numpy(float)
    return ColocData(
        snp=df["SNP"].astype(str).to_numpy(object), beta=df["beta"].to_numpy(float),
        varbeta=df["se"].to_numpy(float) ** 2, trait_type="cc" if binary else "quant",
        sdy=1.0 if str(meta.get("units", "")).upper() == "SD" else None,
        maf=np.minimum(eaf, 1 - eaf), n=df["samplesize"].to_numpy(float),
    )


COLOC_COLUMNS = ("coloc_nsnps", "coloc_pp_h0", "coloc_pp_h1", "coloc_pp_h2", "coloc_pp_h3", "coloc_pp_h4",
                 "coloc_top_snp", "coloc_top_pp_h4", "coloc_note")


def coloc_instruments(
    instruments: pd.DataFrame, exposure_parquet: str | Path, outcome_parquet: str | Path,
    meta_e: Mapping[str, Any], meta_o: Mapping[str, Any], settings: ColocSettings,
) -> pd.DataFrame:
    """coloc.abf in the window of ``settings.kb`` around each instrument (exposure = dataset 1, outcome =
    dataset 2); one row per instrument with :data:`COLOC_COLUMNS` (NaN and a note where it cannot run: no
    position, no common variant, sdY not estimable)."""
    snps = instruments["SNP"].astype(str).tolist()
    regions = [(str(c), float(p) - settings.kb * 1000, float(p) + settings.kb * 1000)
               if pd.notna(c) and pd.notna(p) else None
               for c, p in zip(instruments["chr"], instruments["pos"], strict=True)]
    asked = [r for r in regions if r is not None]
    exp_regions = iter(read_regions(exposure_parquet, asked))
    out_regions = iter(read_regions(outcome_parquet, asked))
    rows = []
    for snp, region in zip(snps, regions, strict=True):
        row: dict[str, Any] = {"SNP": snp, **{c: np.nan for c in COLOC_COLUMNS}}
        row["coloc_top_snp"], row["coloc_note"] = None, None
        if region is None:
            row["coloc_note"] = "no position"
            rows.append(row)
            continue
        e, o = next(exp_regions), next(out_regions)
        e, o = e[e["se"] > 0], o[o["se"] > 0]
        try:
            res = coloc_abf(_trait_data(e, meta_e), _trait_data(o, meta_o), settings.p1, settings.p2, settings.p12)
        except DataError as exc:
            row["coloc_note"] = str(exc).removeprefix("colocalisation: ")
            rows.append(row)
            continue
        s = res.summary
        top = res.results.loc[res.results["SNP.PP.H4"].idxmax()]
        row.update({"coloc_nsnps": s["nsnps"], "coloc_top_snp": top["snp"], "coloc_top_pp_h4": top["SNP.PP.H4"],
                    **{f"coloc_pp_h{k}": s[h] for k, h in enumerate(HYPOTHESES)},
                    "coloc_note": f"{meta_e.get('trait')} vs {meta_o.get('trait')}, +/- {settings.kb} kb"})
        rows.append(row)
    return pd.DataFrame(rows, columns=["SNP", *COLOC_COLUMNS])
