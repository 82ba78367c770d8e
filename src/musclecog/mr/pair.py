"""One MR pair from standardised GWAS files (or an already harmonised table) to its results.

``run_pair``: instruments of the exposure (only the parquet row group of small p-values is read) -> the
outcome's rows for them (only its SNP column and the row groups holding those variants are read, never the
whole file) -> harmonisation -> optional Steiger filtering -> the estimator suite
(:func:`musclecog.mr.analysis.run_mr`), and multivariable IVW when the pair has ``adjust_for``.
``run_harmonised``: the same suite on an already harmonised table (TwoSampleMR columns, e.g. the MVPA ->
Alzheimer's example).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, show_values
from musclecog.filters import flow_frame, flow_row
from musclecog.mr.analysis import MRResult, MRSettings, run_mr
from musclecog.mr.coloc import ColocSettings, coloc_instruments
from musclecog.mr.gwas import read_meta, read_variants
from musclecog.mr.gwas.vcf import normalise_build
from musclecog.mr.harmonise import HarmoniseSettings, harmonise_tables
from musclecog.mr.instruments import (
    InstrumentSelection,
    InstrumentSettings,
    select_instruments,
    select_multivariable_instruments,
)
from musclecog.mr.jobs import adjust_columns, adjust_traits
from musclecog.mr.proxies import ProxyResult, ProxySettings, ReferencePanel, add_proxies, proxy_summary
from musclecog.mr.sensitivity import steiger_per_variant
from musclecog.mr.tables import multivariable_table

logger = logging.getLogger(__name__)

FlowRows = list[dict[str, Any]]


@dataclass(frozen=True)
class PairResult:
    """Everything one pair produces: the harmonised table, the instruments, the flow of variants, the estimator
    suite's result and (pairs with ``adjust_for``) the multivariable IVW rows and their harmonised union set."""

    harmonised: pd.DataFrame
    instruments: pd.DataFrame
    flow: pd.DataFrame
    result: MRResult
    multivariable: pd.DataFrame | None = None
    multivariable_data: pd.DataFrame | None = None  # GWAS pairs with adjust_for: the harmonised union set


@dataclass(frozen=True)
class PairRun:
    """How a pair's job runs (not what it computes).

    Attributes
    ----------
    workdir : path, optional
        Scratch folder inside the results directory (PLINK files).
    threads : int
    stage : callable, optional
        ``stage(name)`` returns a context manager wrapped around each step (``instruments``,
        ``outcome_lookup``, ``harmonise``, ``estimators``, ``multivariable``), e.g. a timer
        (benchmarks/bench_mr_pipeline.py).
    """

    workdir: str | Path | None = None
    threads: int = 1
    stage: Callable[[str], AbstractContextManager[Any]] | None = None

    def step(self, name: str) -> AbstractContextManager[Any]:
        """The context manager of one step."""
        return self.stage(name) if self.stage is not None else nullcontext()


@dataclass(frozen=True)
class PairSettings:
    """The settings of the stages of a GWAS pair, built once from its config entry."""

    instruments: InstrumentSettings
    harmonise: HarmoniseSettings
    mr: MRSettings
    proxies: ProxySettings = ProxySettings(enabled=False)
    coloc: ColocSettings = ColocSettings()

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], mr_settings: MRSettings) -> PairSettings:
        """From the pair's config entry and the estimator settings."""
        where = f"mr.{spec.get('_entry', '?')}"
        return cls(InstrumentSettings.from_config(spec, where), HarmoniseSettings.from_config(spec, where),
                   mr_settings, ProxySettings.from_config(spec, where), ColocSettings.from_config(spec, where))


def _with_meta(df: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    out = df.copy()
    out["units"] = meta.get("units") or ("log odds" if meta.get("trait_type") == "binary" else "")
    out["prevalence"] = np.nan if meta.get("prevalence") is None else float(meta["prevalence"])
    return out


def check_builds(exposure_meta: Mapping[str, Any], outcome_meta: Mapping[str, Any]) -> None:
    """Refuse a pair whose two GWAS declare different genome builds (hg19 = GRCh37, hg38 = GRCh38)."""
    b1, b2 = exposure_meta.get("build"), outcome_meta.get("build")
    if b1 and b2 and str(normalise_build(str(b1))).lower() != str(normalise_build(str(b2))).lower():
        raise DataError(
            f"genome builds differ: {exposure_meta.get('trait')} is {b1} ({exposure_meta.get('source')}) but "
            f"{outcome_meta.get('trait')} is {b2} ({outcome_meta.get('source')}). Lift one over (e.g. with "
            "liftOver / the GWAS Catalog harmonised files) or correct gwas.<trait>.build."
        )


def steiger_filter(harmonised: pd.DataFrame, r_from: str = "bsen") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Set ``mr_keep`` False for instruments whose Steiger direction is wrong (TwoSampleMR ``steiger_filtering``
    followed by ``subset(steiger_dir)``); reason ``steiger_filtered``; ``r_from`` as ``mr_settings.steiger_r_from``."""
    keep = harmonised["mr_keep"].to_numpy(bool)
    st = steiger_per_variant(harmonised.loc[keep], r_from)
    out = harmonised.copy()
    for col in ("rsq.exposure", "rsq.outcome", "steiger_pval"):
        values = np.full(len(out), np.nan)
        values[keep] = st[col].to_numpy(float)
        out[col] = values
    direction = np.ones(len(out), bool)
    direction[keep] = st["steiger_dir"].to_numpy(bool)
    out["steiger_dir"] = direction
    wrong = keep & ~direction
    out.loc[wrong, "mr_keep"] = False
    out.loc[wrong, "harmonise_reason"] = "steiger_filtered"
    row = flow_row("steiger_filter", int(keep.sum()), int(keep.sum() - wrong.sum()),
                   "excluded: instrument explains more variance in the outcome than in the exposure (Steiger)")
    return out, row


def _with_proxy_columns(instruments: pd.DataFrame, proxies: ProxyResult) -> pd.DataFrame:
    """``proxy_snp`` and ``proxy_r2`` per instrument (empty / NaN where the outcome has the instrument itself),
    and ``proxy_status`` (``outcome`` / ``proxy`` / why no proxy was found)."""
    out = instruments.copy()
    rep = proxies.report.set_index("target_snp") if not proxies.report.empty else pd.DataFrame(
        columns=["status", "proxy_snp", "proxy_r2"])
    snp = out["SNP"].astype(str)
    out["proxy_status"] = snp.map(rep["status"]).fillna("outcome").to_numpy(object)
    out["proxy_snp"] = snp.map(rep["proxy_snp"]).to_numpy(object) if "proxy_snp" in rep else None
    out["proxy_r2"] = snp.map(rep["proxy_r2"]).to_numpy(float) if "proxy_r2" in rep else np.nan
    return out


def run_pair(
    exposure_parquet: str | Path,
    outcome_parquet: str | Path,
    spec: Mapping[str, Any],
    mr_settings: MRSettings,
    seed: int,
    *,
    run: PairRun = PairRun(),
    adjust_parquets: Sequence[str | Path] = (),
) -> PairResult:
    """Instruments, harmonisation and the estimator suite for one directed pair.

    Parameters
    ----------
    exposure_parquet, outcome_parquet : path
        Standardised GWAS tables.
    spec : mapping
        The pair's config entry (see :data:`musclecog.mr.jobs.PAIR_KEYS`).
    mr_settings : MRSettings
    seed : int
    run : PairRun
        Scratch folder, threads and a per-step context manager.
    adjust_parquets : sequence of path, optional
        Standardised GWAS tables of the ``adjust_for`` traits: adds multivariable IVW
        (:func:`multivariable_gwas`; ``PairResult.multivariable``, its rows in the flow table). The univariable
        results do not change.

    Returns
    -------
    PairResult
    """
    where = f"mr.{spec.get('_entry', '?')}"
    settings = PairSettings.from_config(spec, mr_settings)
    meta_e, meta_o = read_meta(exposure_parquet), read_meta(outcome_parquet)
    check_builds(meta_e, meta_o)
    exposure, outcome = meta_e["trait"], meta_o["trait"]
    with run.step("instruments"):
        sel: InstrumentSelection = select_instruments(exposure_parquet, settings.instruments, run.workdir,
                                                      run.threads)
    with run.step("outcome_lookup"):
        out_rows = read_variants(outcome_parquet, sel.data["SNP"].astype(str).tolist(), run.threads)
    proxies: ProxyResult | None = None
    if settings.proxies.active:
        with run.step("proxies"):
            proxies = add_proxies(sel.data, out_rows, lambda ids: read_variants(outcome_parquet, ids, run.threads),
                                  settings.proxies)
            out_rows = proxies.outcome
            logger.info("%s -> %s: %s", exposure, outcome, proxy_summary(proxies.report))
    with run.step("harmonise"):
        exp_tab = _with_meta(sel.data.drop(columns=["rsq", "rsq_method"]), meta_e)
        harm = harmonise_tables(exp_tab, _with_meta(out_rows, meta_o), exposure, outcome, settings.harmonise)
        data = harm.data
        flow_rows = sel.flow.to_dict("records") + (proxies.flow if proxies else []) + harm.flow.to_dict("records")
        if settings.instruments.steiger_filter:
            data, row = steiger_filter(data, mr_settings.steiger_r_from)
            flow_rows.append(row)
    n_keep = int(data["mr_keep"].sum())
    flow_rows.append(flow_row("mr_keep", len(data), n_keep, "instruments used by the estimators"))
    if n_keep == 0:
        raise DataError(
            f"{exposure} -> {outcome}: no instrument left after harmonisation ({len(data)} harmonised; reasons: "
            f"{data['harmonise_reason'].value_counts().to_dict()}). All palindromic-ambiguous or incompatible: "
            "try action: 1 only if you know both GWAS use the forward strand."
        )
    with run.step("estimators"):
        result = run_mr(data, mr_settings, exposure, outcome, seed)
    instruments = sel.data.copy()
    instruments.insert(0, "exposure", exposure)
    if proxies is not None:
        instruments = _with_proxy_columns(instruments, proxies)
    if settings.coloc.enabled:
        with run.step("coloc"):
            col = coloc_instruments(sel.data, exposure_parquet, outcome_parquet, meta_e, meta_o, settings.coloc)
            instruments = instruments.merge(col, on="SNP", how="left", sort=False)
            h4 = col["coloc_pp_h4"].to_numpy(float)
            h3 = col["coloc_pp_h3"].to_numpy(float)
            flow_rows.append(flow_row(
                "coloc", len(col), int(np.isfinite(h4).sum()),
                f"note: coloc.abf within {settings.coloc.kb} kb of each instrument (excluded: could not run); "
                f"PP.H4 > 0.8 (shared variant) for {int((h4 > 0.8).sum())}, PP.H3 > 0.8 (distinct variants) for "
                f"{int((h3 > 0.8).sum())}"))
    for note in sel.notes:
        logger.info("%s -> %s: %s", exposure, outcome, note)
    mv = mv_data = None
    if len(adjust_traits(spec)) != len(adjust_parquets):
        raise ConfigError(f"config: '{where}.adjust_for' lists {adjust_traits(spec)} but "
                          f"{len(adjust_parquets)} adjusting GWAS files were given")
    if adjust_parquets:
        with run.step("multivariable"):
            mv, mv_flow, mv_data = multivariable_gwas(exposure_parquet, outcome_parquet, adjust_parquets, settings,
                                                      binary=result.binary_outcome, run=run)
        flow_rows += mv_flow
    return PairResult(harmonised=data, instruments=pd.concat([instruments], ignore_index=True),
                      flow=flow_frame(flow_rows), result=result, multivariable=mv, multivariable_data=mv_data)


def multivariable_gwas(
    exposure_parquet: str | Path,
    outcome_parquet: str | Path,
    adjust_parquets: Sequence[str | Path],
    settings: PairSettings,
    *,
    binary: bool = False,
    run: PairRun = PairRun(),
) -> tuple[pd.DataFrame, FlowRows, pd.DataFrame]:
    """Multivariable IVW of the outcome on the exposure and the adjusting traits, from GWAS files.

    As TwoSampleMR's ``mv_extract_exposures`` + ``mv_harmonise_data`` + ``mv_multiple`` (IVW): instruments are
    the union of each exposure's variants with p <= ``p_threshold``, clumped together on the smallest p across
    the exposures (:func:`musclecog.mr.instruments.select_multivariable_instruments`); each is looked up in every
    exposure and the outcome, and the outcome and every adjusting exposure are harmonised to the main exposure's
    effect allele with the pair's rules (:func:`musclecog.mr.harmonise.harmonise_tables`). With a
    ``reference_panel`` (and ``proxies`` on), an instrument absent from a trait's GWAS -- the outcome, the main or
    an adjusting exposure -- is replaced, for that trait, by its best LD proxy in that GWAS exactly as for
    univariable MR (:func:`musclecog.mr.proxies.add_proxies`; TwoSampleMR's ``mv_extract_exposures(find_proxies =
    TRUE)`` and ``extract_outcome_data(proxies = TRUE)``), counted per trait in the flow
    (``multivariable.<trait>.proxies.*``) and reported per instrument and trait (``proxy_status.<trait>``,
    ``proxy_snp.<trait>``, ``proxy_r2.<trait>`` in ``data``, with ``exposure``/``outcome`` for the main exposure
    and the outcome). A variant absent from (with no usable proxy), or not harmonisable with, any trait is
    dropped and counted in the flow rows (``multivariable.*``). Steiger filtering is not applied to the
    multivariable set.

    Returns
    -------
    (table, flow_rows, data)
        The tidy rows of :func:`musclecog.mr.tables.multivariable_table`, the flow rows, and the harmonised
        union set (columns of the exposure-outcome harmonisation plus ``beta.<trait>``, ``se.<trait>`` of each
        adjusting trait).

    Raises
    ------
    DataError
        Different genome builds, no variant left, too few variants or collinear exposures.
    """
    meta_e, meta_o = read_meta(exposure_parquet), read_meta(outcome_parquet)
    metas = [read_meta(p) for p in adjust_parquets]
    for m in metas:
        check_builds(meta_e, m)
    exposure, outcome = meta_e["trait"], meta_o["trait"]
    adjust = [m["trait"] for m in metas]
    mvi = select_multivariable_instruments([exposure_parquet, *adjust_parquets], settings.instruments, run.workdir,
                                           run.threads)
    flow = mvi.flow.to_dict("records")
    snps = mvi.data["SNP"].astype(str).tolist()
    lookup = _MultivariableLookup(mvi.data, settings.proxies)
    exp_rows = lookup.rows(exposure_parquet, exposure, flow)
    flow.append(flow_row(f"multivariable.lookup.{exposure}", len(snps), len(exp_rows),
                         f"excluded: absent from the {exposure} GWAS"))
    exp_tab = _with_meta(exp_rows, meta_e)
    out_rows = lookup.rows(outcome_parquet, outcome, flow)
    harm = harmonise_tables(exp_tab, _with_meta(out_rows, meta_o), exposure, outcome, settings.harmonise)
    flow += [dict(r, step=f"multivariable.{outcome}.{r['step']}") for r in harm.flow.to_dict("records")]
    data = harm.data
    for trait, path, meta in zip(adjust, adjust_parquets, metas, strict=True):
        h = harmonise_tables(exp_tab, _with_meta(lookup.rows(path, trait, flow), meta), exposure, trait,
                             settings.harmonise).data
        flow += _add_adjusting_trait(data, h, exposure, trait)
    if lookup.panel is not None:
        data = _with_trait_proxies(data, lookup.reports, [exposure, outcome, *adjust], ["exposure", "outcome", *adjust])
    n_keep = int(data["mr_keep"].sum())
    flow.append(flow_row("multivariable.mr_keep", len(data), n_keep, "variants used by multivariable IVW"))
    if n_keep == 0:
        raise DataError(
            f"{exposure} -> {outcome} multivariable MR: no variant left after looking the {len(snps)} instruments up "
            f"in {[outcome, *adjust]} and harmonising (reasons: {data['harmonise_reason'].value_counts().to_dict()})"
        )
    table = multivariable_table(data, exposure, outcome, adjust, settings.mr, binary=binary,
                                analysis=f"{exposure}__{outcome}")
    return table, flow, data


class _MultivariableLookup:
    """Each trait's rows for the multivariable instruments, with LD proxies for those it lacks when the pair
    has a reference panel (:func:`musclecog.mr.proxies.add_proxies`, the panel opened once for all traits)."""

    def __init__(self, instruments: pd.DataFrame, settings: ProxySettings) -> None:
        self.instruments = instruments
        self.settings = settings
        self.snps = instruments["SNP"].astype(str).tolist()
        self.panel = ReferencePanel(str(settings.reference_panel)) if settings.active else None
        self.reports: dict[str, pd.DataFrame] = {}

    def rows(self, path: str | Path, trait: str, flow: FlowRows) -> pd.DataFrame:
        """The trait's rows (proxies added, their flow rows appended to ``flow`` as
        ``multivariable.<trait>.proxies.*``)."""
        rows = read_variants(path, self.snps)
        if self.panel is None:
            return rows
        res = add_proxies(self.instruments, rows, lambda ids: read_variants(path, ids), self.settings, self.panel)
        flow += [dict(r, step=f"multivariable.{trait}.{r['step']}") for r in res.flow]
        self.reports[trait] = res.report
        logger.info("multivariable MR, %s: %s", trait, proxy_summary(res.report))
        return res.outcome


def _with_trait_proxies(data: pd.DataFrame, reports: Mapping[str, pd.DataFrame], traits: Sequence[str],
                        labels: Sequence[str]) -> pd.DataFrame:
    """``proxy_status.<label>``, ``proxy_snp.<label>``, ``proxy_r2.<label>`` per instrument for each trait
    (``.exposure`` / ``.outcome`` for the main exposure and the outcome, ``.<trait>`` for an adjusting trait;
    status ``gwas`` where the trait's GWAS has the instrument itself, else ``proxy`` or why none was found)."""
    out = data.copy()
    snp = out["SNP"].astype(str)
    for trait, label in zip(traits, labels, strict=True):
        rep = reports.get(trait, pd.DataFrame())
        rep = rep.set_index("target_snp") if not rep.empty else pd.DataFrame(columns=["status"])
        out[f"proxy_status.{label}"] = snp.map(rep["status"]).fillna("gwas").to_numpy(object)
        out[f"proxy_snp.{label}"] = snp.map(rep["proxy_snp"]).to_numpy(object) if "proxy_snp" in rep else None
        out[f"proxy_r2.{label}"] = snp.map(rep["proxy_r2"]).to_numpy(float) if "proxy_r2" in rep else np.nan
    return out


def _add_adjusting_trait(data: pd.DataFrame, harmonised: pd.DataFrame, exposure: str, trait: str) -> FlowRows:
    """Add ``beta.<trait>``, ``se.<trait>``, ``harmonise_reason.<trait>`` (in place) from the trait's
    harmonisation to the exposure; variants absent or not harmonisable lose ``mr_keep``. Returns the flow rows."""
    hd = harmonised.set_index("SNP")
    ok = hd["mr_keep"].to_numpy(bool)
    snp = data["SNP"]
    data[f"beta.{trait}"] = snp.map(hd["beta.outcome"].where(ok)).to_numpy(float)
    data[f"se.{trait}"] = snp.map(hd["se.outcome"].where(ok)).to_numpy(float)
    data[f"harmonise_reason.{trait}"] = snp.map(hd["harmonise_reason"]).fillna("absent").to_numpy(object)
    keep = data["mr_keep"].to_numpy(bool)
    absent = keep & ~snp.isin(hd.index).to_numpy()
    unharm = keep & ~absent & ~np.isfinite(data[f"beta.{trait}"].to_numpy(float))
    n_keep = int(keep.sum())
    reasons = data.loc[unharm, f"harmonise_reason.{trait}"].value_counts().to_dict()
    flow = [
        flow_row(f"multivariable.lookup.{trait}", n_keep, n_keep - int(absent.sum()),
                 f"excluded: absent from the {trait} GWAS"),
        flow_row(f"multivariable.harmonise.{trait}", n_keep - int(absent.sum()),
                 n_keep - int(absent.sum()) - int(unharm.sum()),
                 f"excluded: not harmonisable with {exposure} ({reasons or 'none'})"),
    ]
    data.loc[absent, "harmonise_reason"] = f"absent_in_{trait}"
    data.loc[unharm, "harmonise_reason"] = f"not_harmonised_in_{trait}"
    data.loc[absent | unharm, "mr_keep"] = False
    return flow


def read_harmonised(path: str | Path, spec: Mapping[str, Any] | None = None, nrows: int | None = None) -> pd.DataFrame:
    """Read an already harmonised table in TwoSampleMR's column names (csv or tsv, optionally gzip).

    ``spec`` (the pair's config entry) may rename source columns first (``columns: {source: TwoSampleMR name}``),
    number the variants when the table has no ids (``id_from_row: true`` -> ``SNP`` = ``row1``, ``row2``, ... in
    file order) and name further exposures' beta columns (``adjust_for``), which must exist. ``nrows=0`` checks
    the header only (start-up check).
    """
    spec = spec or {}
    where = f"mr.{spec.get('_entry', '<pair>')}"
    path = Path(path)
    if not path.exists():
        raise DataError(f"harmonised table {path} does not exist; correct '{where}.harmonised'")
    sep = "\t" if ".tsv" in path.name or ".txt" in path.name else ","
    df = pd.read_csv(path, sep=sep, nrows=nrows)
    present = show_values(list(df.columns), limit=20)
    cols = dict(spec.get("columns") or {})
    missing_src = [c for c in cols if c not in df.columns]
    if missing_src:
        raise DataError(f"'{where}.columns' names {missing_src}, not columns of {path}; columns present: {present}")
    adjust = adjust_columns(spec)
    missing_adj = [c for c in adjust.values() if c not in df.columns]
    if missing_adj:
        raise DataError(f"'{where}.adjust_for' names {missing_adj}, not columns of {path}; columns present: {present}")
    adj = df[list(adjust.values())].copy()
    df = df.rename(columns=cols)
    if spec.get("id_from_row"):
        if "SNP" in df.columns:
            raise DataError(f"{path} already has a SNP column; remove 'id_from_row' from '{where}'")
        df.insert(0, "SNP", [f"row{i + 1}" for i in range(len(df))])
    for label, col in adjust.items():
        df[f"beta.{label}"] = adj[col].to_numpy()
    need = ["SNP", "beta.exposure", "se.exposure", "beta.outcome", "se.outcome"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(
            f"harmonised table {path} lacks the columns {missing} (TwoSampleMR names required: {need}; rename "
            f"source columns with '{where}.columns', number variants with '{where}.id_from_row: true'); "
            f"columns present: {present}"
        )
    if "mr_keep" not in df.columns:
        df["mr_keep"] = True
    df["mr_keep"] = df["mr_keep"].astype(str).str.upper().isin(["TRUE", "1", "T"])
    return df


def run_harmonised(path: str | Path, spec: Mapping[str, Any], mr_settings: MRSettings, seed: int) -> PairResult:
    """The estimator suite on an already harmonised table, with ``exclude_snps`` applied (``mr_keep`` False)."""
    data = read_harmonised(path, spec)
    exposure = str(spec.get("exposure_name") or "exposure")
    outcome = str(spec.get("outcome_name") or "outcome")
    flow_rows = [flow_row("read", len(data), len(data), f"harmonised rows read from {Path(path).name}")]
    kept = data["mr_keep"].to_numpy(bool)
    flow_rows.append(flow_row("mr_keep_input", len(data), int(kept.sum()), "excluded: mr_keep FALSE in the input table"))
    if "harmonise_reason" not in data.columns:
        data["harmonise_reason"] = np.where(kept, "input", "input_mr_keep_false")
    excl = tuple(str(s) for s in spec.get("exclude_snps", ()))
    if excl:
        unknown = sorted(set(excl) - set(data["SNP"].astype(str)))
        if unknown:
            raise ConfigError(f"config: 'mr.{spec.get('_entry')}.exclude_snps' lists {unknown}, not in {path}")
        drop = data["SNP"].astype(str).isin(excl).to_numpy() & kept
        data.loc[drop, "mr_keep"] = False
        data.loc[drop, "harmonise_reason"] = "excluded_by_config"
        flow_rows.append(flow_row("exclude_snps", int(kept.sum()), int(kept.sum() - drop.sum()),
                                  f"excluded: listed in exclude_snps ({', '.join(excl)})"))
    n_keep = int(data["mr_keep"].sum())
    flow_rows.append(flow_row("mr_keep", len(data), n_keep, "instruments used by the estimators"))
    result = run_mr(data, mr_settings, exposure, outcome, seed)
    adjust = adjust_columns(spec)
    mv = None
    if adjust:
        mv = multivariable_table(data, exposure, outcome, list(adjust), mr_settings, binary=result.binary_outcome,
                                 analysis=f"{exposure}__{outcome}")
    return PairResult(harmonised=data, instruments=pd.DataFrame(), flow=flow_frame(flow_rows), result=result,
                      multivariable=mv)
