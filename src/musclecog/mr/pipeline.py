"""One MR pair from standardised GWAS files to written results: the glue the rule scripts call.

``run_pair``: instruments of the exposure (only the parquet row group of small p-values is read) -> the outcome's
rows for them (only its SNP column and the row groups holding those variants are read, never the whole file) -> harmonisation -> optional Steiger filtering -> the estimator suite
(:func:`musclecog.mr.analysis.run_mr`). ``run_harmonised``: the same suite on an already harmonised table
(TwoSampleMR columns, e.g. the MVPA -> Alzheimer's example). ``write_pair`` writes every table and figure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, show_values
from musclecog.filters import flow_frame, flow_row
from musclecog.mr.gwas import read_meta, read_variants
from musclecog.mr.harmonise import HarmoniseSettings, harmonise_tables
from musclecog.mr.instruments import InstrumentSelection, InstrumentSettings, select_instruments

logger = logging.getLogger(__name__)

PAIR_KEYS = frozenset({
    "exposure", "outcome", "bidirectional", "harmonised", "exposure_name", "outcome_name", "description",
    "p_threshold", "fallback_p_threshold", "min_instruments", "clump", "clump_r2", "clump_kb", "reference_panel",
    "plink", "steiger_filter", "exclude_snps", "action", "ambiguity_band", "settings",
})
"""Keys of an ``mr:`` entry (the schema workflow/schemas/mr.schema.yaml lists the same)."""

TABLES = ("harmonised", "instruments", "estimates", "heterogeneity", "pleiotropy", "directionality", "single_snp",
          "leave_one_out", "presso", "flow")
FIGURES = ("scatter", "forest", "funnel", "leave_one_out")


@dataclass
class PairResult:
    """Everything one pair produces."""

    harmonised: pd.DataFrame
    instruments: pd.DataFrame
    flow: pd.DataFrame
    result: Any  # musclecog.mr.analysis.MRResult


def pair_jobs(mr_config: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Expand the ``mr:`` section into one job per directed pair, keyed ``{exposure}__{outcome}``.

    A ``bidirectional: true`` entry adds the reverse pair with the same settings. A ``harmonised:`` entry is
    keyed by its ``exposure_name__outcome_name`` (default: the entry's key).

    Raises
    ------
    ConfigError
        Two entries that produce the same directed pair, or an entry with neither traits nor a table.
    """
    jobs: dict[str, dict[str, Any]] = {}
    for name, entry in (mr_config or {}).items():
        where = f"mr.{name}"
        unknown = sorted(set(entry) - PAIR_KEYS)
        if unknown:
            raise ConfigError(f"config: '{where}' has unknown keys {unknown}; allowed: {sorted(PAIR_KEYS)}")
        if "harmonised" in entry:
            if "exposure" in entry or "outcome" in entry:
                raise ConfigError(f"config: '{where}' gives both 'harmonised' and exposure/outcome traits; use one")
            exp, out = entry.get("exposure_name"), entry.get("outcome_name")
            key = f"{exp}__{out}" if exp and out else name
            directed = [(key, dict(entry, exposure_name=exp or name, outcome_name=out or "outcome"))]
        else:
            if "exposure" not in entry or "outcome" not in entry:
                raise ConfigError(f"config: '{where}' needs 'exposure' and 'outcome' (GWAS traits) or 'harmonised'")
            exp, out = entry["exposure"], entry["outcome"]
            if exp == out:
                raise ConfigError(f"config: '{where}' has the same trait {exp!r} as exposure and outcome")
            directed = [(f"{exp}__{out}", dict(entry))]
            if entry.get("bidirectional"):
                directed.append((f"{out}__{exp}", dict(entry, exposure=out, outcome=exp)))
        for key, spec in directed:
            if key in jobs:
                raise ConfigError(
                    f"config: '{where}' produces the pair {key}, which another mr entry already produces; "
                    "remove one of them (or the bidirectional flag)"
                )
            spec["_entry"] = name
            jobs[key] = spec
    return jobs


def _with_meta(df: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    out = df.copy()
    out["units"] = meta.get("units") or ("log odds" if meta.get("trait_type") == "binary" else "")
    out["prevalence"] = np.nan if meta.get("prevalence") is None else float(meta["prevalence"])
    return out


def check_builds(exposure_meta: Mapping[str, Any], outcome_meta: Mapping[str, Any]) -> None:
    """Refuse a pair whose two GWAS declare different genome builds."""
    b1, b2 = exposure_meta.get("build"), outcome_meta.get("build")
    if b1 and b2 and str(b1).lower() != str(b2).lower():
        raise DataError(
            f"genome builds differ: {exposure_meta.get('trait')} is {b1} ({exposure_meta.get('source')}) but "
            f"{outcome_meta.get('trait')} is {b2} ({outcome_meta.get('source')}). Lift one over (e.g. with "
            "liftOver / the GWAS Catalog harmonised files) or correct gwas.<trait>.build."
        )


def steiger_filter(harmonised: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Set ``mr_keep`` False for instruments whose Steiger direction is wrong (TwoSampleMR ``steiger_filtering``
    followed by ``subset(steiger_dir)``); reason ``steiger_filtered``."""
    from musclecog.mr.sensitivity import steiger_per_variant

    keep = harmonised["mr_keep"].to_numpy(bool)
    st = steiger_per_variant(harmonised.loc[keep])
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


def run_pair(
    exposure_parquet: str | Path,
    outcome_parquet: str | Path,
    spec: Mapping[str, Any],
    mr_settings: Any,
    seed: int,
    workdir: str | Path | None = None,
    threads: int = 1,
    stage: Callable[[str], AbstractContextManager[Any]] | None = None,
) -> PairResult:
    """Instruments, harmonisation and the estimator suite for one directed pair.

    Parameters
    ----------
    exposure_parquet, outcome_parquet : path
        Standardised GWAS tables.
    spec : mapping
        The pair's config entry (see :data:`PAIR_KEYS`).
    mr_settings : musclecog.mr.analysis.MRSettings
    seed : int
    workdir : path, optional
        Scratch folder inside the results directory (PLINK files).
    threads : int
    stage : callable, optional
        ``stage(name)`` returns a context manager wrapped around each step (``instruments``, ``outcome_lookup``,
        ``harmonise``, ``estimators``), e.g. a timer (benchmarks/bench_mr_pipeline.py).

    Returns
    -------
    PairResult
    """
    from musclecog.mr.analysis import run_mr

    step = stage or (lambda name: nullcontext())

    where = f"mr.{spec.get('_entry', '?')}"
    inst_settings = InstrumentSettings.from_config(spec, where)
    harm_settings = HarmoniseSettings.from_config(spec, where)
    meta_e, meta_o = read_meta(exposure_parquet), read_meta(outcome_parquet)
    check_builds(meta_e, meta_o)
    exposure, outcome = meta_e["trait"], meta_o["trait"]
    with step("instruments"):
        sel: InstrumentSelection = select_instruments(exposure_parquet, inst_settings, workdir, threads)
    with step("outcome_lookup"):
        out_rows = read_variants(outcome_parquet, sel.data["SNP"].astype(str).tolist())
    with step("harmonise"):
        exp_tab = _with_meta(sel.data.drop(columns=["rsq", "rsq_method"]), meta_e)
        harm = harmonise_tables(exp_tab, _with_meta(out_rows, meta_o), exposure, outcome, harm_settings)
        data = harm.data
        flow_rows = sel.flow.to_dict("records") + harm.flow.to_dict("records")
        if inst_settings.steiger_filter:
            data, row = steiger_filter(data)
            flow_rows.append(row)
    n_keep = int(data["mr_keep"].sum())
    flow_rows.append(flow_row("mr_keep", len(data), n_keep, "instruments used by the estimators"))
    if n_keep == 0:
        raise DataError(
            f"{exposure} -> {outcome}: no instrument left after harmonisation ({len(data)} harmonised; reasons: "
            f"{data['harmonise_reason'].value_counts().to_dict()}). All palindromic-ambiguous or incompatible: "
            "try action: 1 only if you know both GWAS use the forward strand."
        )
    with step("estimators"):
        result = run_mr(data, mr_settings, exposure, outcome, seed)
    instruments = sel.data.copy()
    instruments.insert(0, "exposure", exposure)
    for note in sel.notes:
        logger.info("%s -> %s: %s", exposure, outcome, note)
    return PairResult(harmonised=data, instruments=pd.concat([instruments], ignore_index=True),
                      flow=flow_frame(flow_rows), result=result)


def read_harmonised(path: str | Path) -> pd.DataFrame:
    """Read an already harmonised table in TwoSampleMR's column names (csv or tsv, optionally gzip)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"harmonised table {path} does not exist; correct 'mr.<pair>.harmonised'")
    sep = "\t" if ".tsv" in path.name or ".txt" in path.name else ","
    df = pd.read_csv(path, sep=sep)
    need = ["SNP", "beta.exposure", "se.exposure", "beta.outcome", "se.outcome"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(
            f"harmonised table {path} lacks the columns {missing} (TwoSampleMR names required: {need}); "
            f"columns present: {show_values(list(df.columns), limit=20)}"
        )
    if "mr_keep" not in df.columns:
        df["mr_keep"] = True
    df["mr_keep"] = df["mr_keep"].astype(str).str.upper().isin(["TRUE", "1", "T"])
    return df


def run_harmonised(path: str | Path, spec: Mapping[str, Any], mr_settings: Any, seed: int) -> PairResult:
    """The estimator suite on an already harmonised table, with ``exclude_snps`` applied (``mr_keep`` False)."""
    from musclecog.mr.analysis import run_mr

    data = read_harmonised(path)
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
    return PairResult(harmonised=data, instruments=pd.DataFrame(), flow=flow_frame(flow_rows), result=result)


def write_pair(pair: PairResult, tables: Mapping[str, str | Path], figures: Mapping[str, str | Path]) -> None:
    """Write the pair's tables (``write_table``: deterministic bytes) and figures (PNG)."""
    from musclecog.plots import save_figure
    from musclecog.results import write_table

    res_tables = pair.result.tables()
    for name, path in tables.items():
        if name == "harmonised":
            df = pair.harmonised
        elif name == "instruments":
            df = pair.instruments
        elif name == "flow":
            df = pair.flow
        elif name in res_tables:
            df = res_tables[name]
        else:
            raise ValueError(f"unknown MR table {name!r}")
        write_table(df, path)
    if figures:
        figs = pair.result.figures()
        for name, path in figures.items():
            save_figure(figs[name], path)
