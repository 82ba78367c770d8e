"""Select instruments for an exposure: p-value threshold, LD clumping, instrument strength.

* threshold: p <= ``p_threshold`` (5e-8); when fewer than ``min_instruments`` independent variants pass,
  the ``fallback_p_threshold`` (5e-6) is used instead and the output says so (``notes``, flow table);
* clumping, as TwoSampleMR's ``clump_data`` / ieugwasr ``ld_clump`` (r2 0.001, window 10,000 kb): with PLINK 1.9
  (``plink1.9 --clump``, index p 1, secondary p 1) against a user-supplied reference panel (PLINK bfile); without
  a panel, distance-based clumping: the variant with the smallest p is kept and every other candidate within
  the window on the same chromosome dropped, repeatedly. Distance clumping ignores LD and is an
  approximation (it may keep correlated variants farther apart than the window and drop independent ones
  closer than it) -- labelled so in the output (``clump_method``);
* strength: per-variant F = (beta/se)^2 and variance explained R^2 (TwoSampleMR ``get_r_from_bsen`` for
  continuous traits, ``get_r_from_lor`` for binary ones), their mean and sum, and the F of the set
  ``(N - k - 1)/k * R^2/(1 - R^2)``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, show_values
from musclecog.filters import flow_frame, flow_row
from musclecog.mr.gwas import read_meta, read_standardised

logger = logging.getLogger(__name__)

CLUMP_METHODS = ("auto", "plink", "distance", "none")
DISTANCE_LABEL = "distance ({kb} kb window, no LD reference: an approximation)"


@dataclass(frozen=True)
class InstrumentSettings:
    """Instrument selection for one MR pair (config keys of ``mr.<pair>``; see docs/mr_data.md).

    Attributes
    ----------
    p_threshold : float
        Genome-wide significance threshold (5e-8).
    fallback_p_threshold : float or None
        Used when fewer than ``min_instruments`` independent variants pass ``p_threshold`` (5e-6; None: never).
    min_instruments : int
        The k of the fallback rule (3).
    clump : {"auto", "plink", "distance", "none"}
        ``auto``: PLINK when ``reference_panel`` is given, else distance.
    clump_r2 : float
        LD r^2 threshold for PLINK (0.001, as TwoSampleMR).
    clump_kb : int
        Window in kb (10,000, as TwoSampleMR).
    reference_panel : str or None
        PLINK bfile prefix (``.bed/.bim/.fam``) of an LD reference panel.
    plink : str or None
        PLINK 1.9 executable (default: ``plink1.9`` or ``plink`` on PATH).
    steiger_filter : bool
        Drop instruments that explain more variance in the outcome than in the exposure (after harmonising).
    exclude_snps : tuple of str
        Variants never used as instruments (e.g. ``rs429358`` for APOE).
    """

    p_threshold: float = 5e-8
    fallback_p_threshold: float | None = 5e-6
    min_instruments: int = 3
    clump: str = "auto"
    clump_r2: float = 0.001
    clump_kb: int = 10_000
    reference_panel: str | None = None
    plink: str | None = None
    steiger_filter: bool = False
    exclude_snps: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], where: str = "mr") -> InstrumentSettings:
        """Settings from an MR pair's config entry (the keys listed in the class docstring)."""
        clump = entry.get("clump", "auto")
        if clump not in CLUMP_METHODS:
            raise ConfigError(f"config: '{where}.clump' is {clump!r}; use one of {', '.join(CLUMP_METHODS)}")
        if clump == "plink" and not entry.get("reference_panel"):
            raise ConfigError(f"config: '{where}.clump' is 'plink' but no 'reference_panel' (PLINK bfile prefix) is given")
        p = float(entry.get("p_threshold", 5e-8))
        fb = entry.get("fallback_p_threshold", 5e-6)
        if not 0 < p <= 1 or (fb is not None and not p <= float(fb) <= 1):
            raise ConfigError(
                f"config: '{where}': p_threshold {p} and fallback_p_threshold {fb} must satisfy 0 < p <= fallback <= 1"
            )
        return cls(
            p_threshold=p,
            fallback_p_threshold=None if fb is None else float(fb),
            min_instruments=int(entry.get("min_instruments", 3)),
            clump=clump,
            clump_r2=float(entry.get("clump_r2", 0.001)),
            clump_kb=int(entry.get("clump_kb", 10_000)),
            reference_panel=entry.get("reference_panel"),
            plink=entry.get("plink"),
            steiger_filter=bool(entry.get("steiger_filter", False)),
            exclude_snps=tuple(str(s) for s in entry.get("exclude_snps", ())),
        )

    @property
    def clump_method(self) -> str:
        """The clumping actually used: ``plink``, ``distance`` or ``none``."""
        if self.clump == "auto":
            return "plink" if self.reference_panel else "distance"
        return self.clump


@dataclass(frozen=True)
class InstrumentSelection:
    """Selected instruments (standardised columns + ``fstat``, ``rsq``), flow table and notes."""

    data: pd.DataFrame
    flow: pd.DataFrame
    notes: tuple[str, ...]
    p_threshold: float
    clump_label: str
    summary: pd.DataFrame


def clump_by_distance(chrom: np.ndarray, pos: np.ndarray, pval: np.ndarray, window_kb: float) -> np.ndarray:
    """Greedy distance clumping: keep the smallest p, drop candidates within ``window_kb`` on the same
    chromosome, repeat (PLINK's clumping with every pair in the window treated as in LD).

    Parameters
    ----------
    chrom, pos, pval : ndarray
        Chromosome labels, base-pair positions and p-values of the candidates.
    window_kb : float

    Returns
    -------
    ndarray of bool
        Which candidates are index variants.
    """
    n = len(pval)
    keep = np.zeros(n, bool)
    window = window_kb * 1000.0
    order = np.lexsort((pos, chrom.astype(str), pval))  # smallest p first; ties by chromosome, position
    chrom_s = chrom.astype(str)
    kept_pos: dict[str, list[float]] = {}
    # loop over candidates only (genome-wide significant variants, typically hundreds to a few thousand)
    for i in order:
        c = chrom_s[i]
        lst = kept_pos.setdefault(c, [])
        j = np.searchsorted(lst, pos[i])
        near = (j > 0 and pos[i] - lst[j - 1] <= window) or (j < len(lst) and lst[j] - pos[i] <= window)
        if not near:
            lst.insert(int(j), float(pos[i]))
            keep[i] = True
    return keep


def find_plink(explicit: str | None = None) -> str:
    """The PLINK 1.9 executable: ``explicit``, else ``plink1.9`` or ``plink`` on PATH."""
    for cand in ([explicit] if explicit else []) + ["plink1.9", "plink"]:
        found = shutil.which(cand) if cand else None
        if found:
            return found
    raise ConfigError(
        "PLINK 1.9 is needed for LD clumping with a reference panel but was not found. Install it "
        "(Debian: apt-get install plink1.9), give its path as 'plink:', or set 'clump: distance'."
    )


def clump_with_plink(
    snp: np.ndarray, pval: np.ndarray, reference_panel: str, r2: float, kb: int, workdir: str | Path,
    plink: str | None = None, threads: int = 1,
) -> tuple[np.ndarray, int]:
    """LD clumping with ``plink1.9 --clump`` against a reference panel (as ieugwasr ``ld_clump_local``).

    Returns
    -------
    (keep, n_absent)
        Which candidates are index variants, and how many candidates are not in the panel (dropped, as
        TwoSampleMR does).
    """
    exe = find_plink(plink)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    infile = workdir / "clump_input.txt"
    pd.DataFrame({"SNP": snp, "P": pval}).to_csv(infile, sep=" ", index=False)
    out = workdir / "clump"
    cmd = [exe, "--bfile", str(reference_panel), "--clump", str(infile), "--clump-p1", "1", "--clump-p2", "1",
           "--clump-r2", str(r2), "--clump-kb", str(kb), "--out", str(out), "--threads", str(threads),
           "--allow-no-sex", "--silent"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    log_path = Path(f"{out}.log")
    log_text = log_path.read_text() if log_path.exists() else proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise DataError(
            f"PLINK clumping failed (exit {proc.returncode}) with reference panel {reference_panel}: "
            f"{log_text.strip().splitlines()[-3:]}. Check the panel prefix (.bed/.bim/.fam)."
        )
    clumped = Path(f"{out}.clumped")
    if not clumped.exists():
        return np.zeros(len(snp), bool), len(snp)
    table = pd.read_csv(clumped, sep=r"\s+")
    index = set(table["SNP"].astype(str))
    members = set(index)
    for sp2 in table.get("SP2", pd.Series(dtype=str)).astype(str):
        if sp2 != "NONE":
            members.update(s.split("(")[0] for s in sp2.split(","))
    snp_s = np.asarray(snp, dtype=str)
    keep = np.isin(snp_s, list(index))
    absent = int((~np.isin(snp_s, list(members))).sum())
    return keep, absent


def _strength(df: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    """Per-variant F statistic and variance explained (TwoSampleMR ``get_r_from_bsen`` / ``get_r_from_lor``)."""
    from musclecog.mr.sensitivity import r_from_bsen, r_from_lor

    out = df.copy()
    beta, se = out["beta"].to_numpy(float), out["se"].to_numpy(float)
    out["fstat"] = (beta / se) ** 2
    binary = meta.get("trait_type") == "binary"
    if binary and out["eaf"].notna().all() and out["ncase"].notna().all() and out["ncontrol"].notna().all():
        prev = meta.get("prevalence") or 0.1
        r = r_from_lor(beta, out["eaf"].to_numpy(float), out["ncase"].to_numpy(float),
                       out["ncontrol"].to_numpy(float), prev)
        out["rsq"] = r**2
        out["rsq_method"] = "lor"
    else:
        out["rsq"] = r_from_bsen(beta, se, out["samplesize"].to_numpy(float)) ** 2
        out["rsq_method"] = "bsen"
    return out


def clump_label(settings: InstrumentSettings) -> str:
    """How the instruments were clumped, as written into flow tables and outputs."""
    return {
        "plink": f"plink (r2 < {settings.clump_r2}, {settings.clump_kb} kb, panel {settings.reference_panel})",
        "distance": DISTANCE_LABEL.format(kb=settings.clump_kb),
        "none": "none (variants may be in LD)",
    }[settings.clump_method]


def _clump_frame(
    sig: pd.DataFrame, settings: InstrumentSettings, prefix: str, workdir: Path, threads: int
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Clump candidate variants (columns SNP, chr, pos, pval) with the settings' method; one flow row per step.

    Distance clumping first drops variants without a position (counted); PLINK counts variants absent from
    the reference panel; the last row counts the variants clumped away (with ``none``: none).
    """
    rows: list[dict[str, Any]] = []
    method = settings.clump_method
    if method == "distance":
        has_pos = sig["chr"].notna().to_numpy() & sig["pos"].notna().to_numpy()
        if not has_pos.all():
            rows.append(flow_row(f"{prefix}.no_position", len(sig), int(has_pos.sum()),
                                 "excluded: no chromosome/position, cannot be clumped by distance"))
            sig = sig.loc[has_pos].reset_index(drop=True)
        if sig.empty:
            return sig, rows
        keep = clump_by_distance(sig["chr"].to_numpy(), sig["pos"].to_numpy(float), sig["pval"].to_numpy(float),
                                 settings.clump_kb)
    elif method == "plink":
        keep, absent = clump_with_plink(sig["SNP"].to_numpy(), sig["pval"].to_numpy(float),
                                        str(settings.reference_panel), settings.clump_r2, settings.clump_kb, workdir,
                                        settings.plink, threads)
        if absent:
            rows.append(flow_row(f"{prefix}.absent_from_panel", len(sig), len(sig) - absent,
                                 "excluded: variant absent from the LD reference panel"))
    else:
        keep = np.ones(len(sig), bool)
    n_in = rows[-1]["n_out"] if rows and rows[-1]["step"] == f"{prefix}.absent_from_panel" else len(sig)
    sig = sig.loc[keep].reset_index(drop=True)
    rows.append(flow_row(f"{prefix}.clump", n_in, len(sig), f"excluded: clumped away ({clump_label(settings)})"))
    return sig, rows


def select_instruments(
    parquet_path: str | Path, settings: InstrumentSettings, workdir: str | Path | None = None, threads: int = 1
) -> InstrumentSelection:
    """Select independent instruments for the exposure stored in a standardised GWAS parquet file.

    Parameters
    ----------
    parquet_path : path
        ``results/gwas/{trait}.parquet`` (see :func:`musclecog.mr.gwas.standardise`).
    settings : InstrumentSettings
    workdir : path, optional
        Scratch folder for PLINK files (inside the results directory).
    threads : int

    Returns
    -------
    InstrumentSelection

    Raises
    ------
    DataError
        No variant passes even the fallback threshold; distance clumping without positions; PLINK errors.
    """
    meta = read_meta(parquet_path)
    trait = meta.get("trait", str(parquet_path))
    loosest = max(settings.p_threshold, settings.fallback_p_threshold or 0.0)
    cand = read_standardised(parquet_path, filters=[("pval", "<=", loosest)])
    n_total = int(meta.get("n_variants", len(cand)))
    flow = []
    notes: list[str] = []
    if settings.exclude_snps:
        drop = cand["SNP"].isin(settings.exclude_snps).to_numpy()
        n_in = len(cand)
        cand = cand.loc[~drop].reset_index(drop=True)
        flow.append(flow_row("instruments.exclude_snps", n_in, len(cand), f"excluded: listed in exclude_snps ({', '.join(settings.exclude_snps)})"))
    method = settings.clump_method
    label = clump_label(settings)

    def clump(threshold: float) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        sig = cand.loc[cand["pval"].to_numpy(float) <= threshold].reset_index(drop=True)
        rows.append(flow_row("instruments.p_threshold", n_total, len(sig), f"excluded: p > {threshold:g}"))
        if sig.empty or method == "none":
            return sig, rows
        wd = Path(workdir) if workdir is not None else Path(parquet_path).parent / f"{trait}_clump"
        sig, clumped = _clump_frame(sig, settings, "instruments", wd, threads)
        rows += clumped
        return sig, rows

    used = settings.p_threshold
    inst, rows = clump(used)
    if len(inst) < settings.min_instruments and settings.fallback_p_threshold and settings.fallback_p_threshold > used:
        note = (f"fewer than {settings.min_instruments} independent instruments at p <= {used:g} ({len(inst)}); "
                f"used the fallback threshold p <= {settings.fallback_p_threshold:g}")
        notes.append(note)
        logger.warning("%s: %s", trait, note)
        used = settings.fallback_p_threshold
        inst, rows = clump(used)
        rows.insert(0, flow_row("instruments.fallback", n_total, n_total, f"note: {note}"))
    flow += rows
    if inst.empty:
        raise DataError(
            f"exposure {trait}: no variant with p <= {used:g} ({int(meta.get('n_variants', 0))} variants in "
            f"{parquet_path}). Loosen p_threshold / fallback_p_threshold or check the GWAS file."
        )
    if method == "distance":
        notes.append(f"clumping: {label}")
    inst = _strength(inst, meta)
    k = len(inst)
    n_mean = float(np.nanmean(inst["samplesize"].to_numpy(float))) if inst["samplesize"].notna().any() else np.nan
    r2 = float(inst["rsq"].sum())
    f_set = (n_mean - k - 1) / k * r2 / (1 - r2) if np.isfinite(n_mean) and r2 < 1 else np.nan
    weak = int((inst["fstat"] < 10).sum())
    if weak:
        notes.append(f"{weak} instruments with F < 10 (weak): {show_values(inst.loc[inst['fstat'] < 10, 'SNP'])}")
    summary = pd.DataFrame([{
        "exposure": trait, "nsnp": k, "p_threshold": used, "fallback_used": used != settings.p_threshold,
        "clump_method": label, "mean_F": float(inst["fstat"].mean()), "min_F": float(inst["fstat"].min()),
        "sum_rsq": r2, "set_F": f_set, "rsq_method": inst["rsq_method"].iloc[0], "n_weak_F_lt_10": weak,
        "note": "; ".join(notes),
    }])
    return InstrumentSelection(data=inst, flow=flow_frame(flow), notes=tuple(notes), p_threshold=used,
                               clump_label=label, summary=summary)


@dataclass(frozen=True)
class MultivariableInstruments:
    """Instruments of a multivariable MR: the clumped union over the exposures (``SNP, chr, pos, pval`` with
    ``pval`` the smallest p across the traits and ``trait`` the one that p comes from) and the flow table."""

    data: pd.DataFrame
    flow: pd.DataFrame
    clump_label: str


def select_multivariable_instruments(
    parquet_paths: list[str | Path], settings: InstrumentSettings, workdir: str | Path | None = None,
    threads: int = 1,
) -> MultivariableInstruments:
    """Instruments for multivariable MR, as TwoSampleMR's ``mv_extract_exposures``: each exposure's variants with
    p <= ``p_threshold`` (no fallback threshold), their union (minus ``exclude_snps``), clumped together on the
    smallest p of each variant across the exposures with the pair's clumping method.

    Parameters
    ----------
    parquet_paths : list of path
        Standardised GWAS tables of the exposures (the main one first).
    settings : InstrumentSettings
    workdir : path, optional
        Scratch folder for PLINK files.
    threads : int

    Returns
    -------
    MultivariableInstruments

    Raises
    ------
    DataError
        No variant passes the threshold in any exposure; distance clumping without positions; PLINK errors.
    """
    flow: list[dict[str, Any]] = []
    parts = []
    for path in parquet_paths:
        meta = read_meta(path)
        trait = meta.get("trait", str(path))
        sig = read_standardised(path, columns=["SNP", "chr", "pos", "pval"],
                                filters=[("pval", "<=", settings.p_threshold)])
        flow.append(flow_row(f"multivariable.instruments.p_threshold.{trait}", int(meta.get("n_variants", len(sig))),
                             len(sig), f"excluded: p > {settings.p_threshold:g} in {trait}"))
        parts.append(sig.assign(trait=trait))
    cand = pd.concat(parts, ignore_index=True)
    n_all = len(cand)
    # smallest p per variant across the traits (ties: the earlier trait, i.e. the main exposure first)
    cand = cand.sort_values("pval", kind="stable").drop_duplicates("SNP", keep="first").reset_index(drop=True)
    flow.append(flow_row("multivariable.instruments.union", n_all, len(cand),
                         "note: variants passing in several exposures counted once (smallest p kept)"))
    if settings.exclude_snps:
        n_in = len(cand)
        cand = cand.loc[~cand["SNP"].isin(settings.exclude_snps)].reset_index(drop=True)
        flow.append(flow_row("multivariable.instruments.exclude_snps", n_in, len(cand),
                             f"excluded: listed in exclude_snps ({', '.join(settings.exclude_snps)})"))
    if cand.empty:
        raise DataError(
            f"multivariable MR: no variant with p <= {settings.p_threshold:g} in any of {[str(p) for p in parquet_paths]}. "
            "Loosen p_threshold or check the GWAS files."
        )
    label = clump_label(settings)
    wd = Path(workdir) if workdir is not None else Path(parquet_paths[0]).parent / "multivariable_clump"
    cand, clumped = _clump_frame(cand, settings, "multivariable.instruments", wd, threads)
    flow += clumped
    return MultivariableInstruments(data=cand, flow=flow_frame(flow), clump_label=label)
