"""One MR pair from standardised GWAS files to written results: the glue the rule scripts call.

``run_pair``: instruments of the exposure (only the parquet row group of small p-values is read) -> the outcome's
rows for them (only its SNP column and the row groups holding those variants are read, never the whole file) -> harmonisation -> optional Steiger filtering -> the estimator suite
(:func:`musclecog.mr.analysis.run_mr`). ``run_harmonised``: the same suite on an already harmonised table
(TwoSampleMR columns, e.g. the MVPA -> Alzheimer's example). ``write_pair`` writes every table and figure.
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
from musclecog.mr.gwas import read_meta, read_variants
from musclecog.mr.harmonise import HarmoniseSettings, harmonise_tables
from musclecog.mr.instruments import (
    InstrumentSelection,
    InstrumentSettings,
    select_instruments,
    select_multivariable_instruments,
)

logger = logging.getLogger(__name__)

PAIR_KEYS = frozenset({
    "exposure", "outcome", "bidirectional", "harmonised", "exposure_name", "outcome_name", "description",
    "p_threshold", "fallback_p_threshold", "min_instruments", "clump", "clump_r2", "clump_kb", "reference_panel",
    "plink", "steiger_filter", "exclude_snps", "action", "ambiguity_band", "settings", "columns", "id_from_row",
    "adjust_for",
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
    multivariable: pd.DataFrame | None = None
    multivariable_data: pd.DataFrame | None = None  # GWAS pairs with adjust_for: the harmonised union set


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
        if "harmonised" not in entry:
            given = sorted({"columns", "id_from_row"} & set(entry))
            if given:
                raise ConfigError(
                    f"config: '{where}' gives {given}, which apply only to a 'harmonised:' table; remove them "
                    "(GWAS traits are read with the gwas section's column maps)"
                )
            if "adjust_for" in entry:
                check_adjust_traits(entry, where)
        else:
            check_harmonised_options(entry, where)
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


def check_harmonised_options(entry: Mapping[str, Any], where: str) -> None:
    """Check the types of ``columns``, ``id_from_row`` and ``adjust_for`` of a ``harmonised:`` entry."""
    cols = entry.get("columns", {})
    if not isinstance(cols, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cols.items()):
        raise ConfigError(f"config: '{where}.columns' must map source column -> TwoSampleMR name, got {cols!r}")
    targets = list(cols.values())
    if len(set(targets)) < len(targets):
        raise ConfigError(f"config: '{where}.columns' maps two source columns to the same name: {cols!r}")
    if not isinstance(entry.get("id_from_row", False), bool):
        raise ConfigError(f"config: '{where}.id_from_row' must be true or false, got {entry['id_from_row']!r}")
    adjust = entry.get("adjust_for", {})
    if not isinstance(adjust, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in adjust.items()):
        raise ConfigError(
            f"config: '{where}.adjust_for' must map exposure label -> beta column of the table "
            f"(e.g. {{hdl: hdlc}}), got {adjust!r}"
        )
    exp = str(entry.get("exposure_name") or "")
    if exp and exp in adjust:
        raise ConfigError(f"config: '{where}.adjust_for' repeats the main exposure {exp!r}; list only the others")


def check_adjust_traits(entry: Mapping[str, Any], where: str) -> None:
    """Check ``adjust_for`` of a GWAS pair: a non-empty list of distinct traits, neither the exposure nor the
    outcome, and no ``bidirectional`` (the reverse direction needs its own adjusting traits)."""
    adjust = entry["adjust_for"]
    if not isinstance(adjust, list) or not adjust or not all(isinstance(t, str) for t in adjust):
        raise ConfigError(
            f"config: '{where}.adjust_for' of a GWAS pair must be a list of gwas traits (e.g. [bmi, height]), "
            f"got {adjust!r}"
        )
    if len(set(adjust)) < len(adjust):
        raise ConfigError(f"config: '{where}.adjust_for' lists a trait twice: {adjust}")
    own = sorted({entry.get("exposure"), entry.get("outcome")} & set(adjust))
    if own:
        raise ConfigError(f"config: '{where}.adjust_for' lists the pair's own exposure/outcome {own}; list only "
                          "the other exposures")
    if entry.get("bidirectional"):
        raise ConfigError(f"config: '{where}' combines adjust_for with bidirectional; give the reverse direction "
                          "as its own mr entry with its own adjust_for")


def adjust_columns(spec: Mapping[str, Any]) -> dict[str, str]:
    """``adjust_for`` of a ``harmonised:`` pair: exposure label -> beta column (empty when univariable or a GWAS
    pair)."""
    if "harmonised" not in spec:
        return {}
    return dict(spec.get("adjust_for") or {})


def adjust_traits(spec: Mapping[str, Any]) -> list[str]:
    """``adjust_for`` of a GWAS pair: the adjusting traits (empty when univariable or a ``harmonised:`` pair)."""
    if "harmonised" in spec:
        return []
    return list(spec.get("adjust_for") or [])


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
    adjust_parquets: Sequence[str | Path] = (),
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
    adjust_parquets : sequence of path, optional
        Standardised GWAS tables of the ``adjust_for`` traits: adds multivariable IVW
        (:func:`multivariable_gwas`; ``PairResult.multivariable``, its rows in the flow table). The univariable
        results do not change.

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
    mv = mv_data = None
    if len(adjust_traits(spec)) != len(adjust_parquets):
        raise ConfigError(f"config: '{where}.adjust_for' lists {adjust_traits(spec)} but "
                          f"{len(adjust_parquets)} adjusting GWAS files were given")
    if adjust_parquets:
        with step("multivariable"):
            mv, mv_flow, mv_data = multivariable_gwas(
                exposure_parquet, outcome_parquet, adjust_parquets, inst_settings, harm_settings, mr_settings,
                binary=result.binary_outcome, workdir=workdir, threads=threads)
        flow_rows += mv_flow
    return PairResult(harmonised=data, instruments=pd.concat([instruments], ignore_index=True),
                      flow=flow_frame(flow_rows), result=result, multivariable=mv, multivariable_data=mv_data)


def multivariable_gwas(
    exposure_parquet: str | Path,
    outcome_parquet: str | Path,
    adjust_parquets: Sequence[str | Path],
    inst_settings: InstrumentSettings,
    harm_settings: HarmoniseSettings,
    mr_settings: Any,
    binary: bool = False,
    workdir: str | Path | None = None,
    threads: int = 1,
) -> tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame]:
    """Multivariable IVW of the outcome on the exposure and the adjusting traits, from GWAS files.

    As TwoSampleMR's ``mv_extract_exposures`` + ``mv_harmonise_data`` + ``mv_multiple`` (IVW): instruments are
    the union of each exposure's variants with p <= ``p_threshold``, clumped together on the smallest p across
    the exposures (:func:`musclecog.mr.instruments.select_multivariable_instruments`); each is looked up in every
    exposure and the outcome, and the outcome and every adjusting exposure are harmonised to the main exposure's
    effect allele with the pair's rules (:func:`musclecog.mr.harmonise.harmonise_tables`). A variant absent from,
    or not harmonisable with, any trait is dropped and counted in the flow rows (``multivariable.*``). Steiger
    filtering is not applied to the multivariable set.

    Returns
    -------
    (table, flow_rows, data)
        The tidy rows of :func:`multivariable_table`, the flow rows, and the harmonised union set (columns of
        the exposure-outcome harmonisation plus ``beta.<trait>``, ``se.<trait>`` of each adjusting trait).

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
    mvi = select_multivariable_instruments([exposure_parquet, *adjust_parquets], inst_settings, workdir, threads)
    flow = mvi.flow.to_dict("records")
    snps = mvi.data["SNP"].astype(str).tolist()
    exp_rows = read_variants(exposure_parquet, snps)
    flow.append(flow_row(f"multivariable.lookup.{exposure}", len(snps), len(exp_rows),
                         f"excluded: absent from the {exposure} GWAS"))
    exp_tab = _with_meta(exp_rows, meta_e)
    harm = harmonise_tables(exp_tab, _with_meta(read_variants(outcome_parquet, snps), meta_o), exposure, outcome,
                            harm_settings)
    flow += [dict(r, step=f"multivariable.{outcome}.{r['step']}") for r in harm.flow.to_dict("records")]
    data = harm.data
    for trait, path, meta in zip(adjust, adjust_parquets, metas, strict=True):
        h = harmonise_tables(exp_tab, _with_meta(read_variants(path, snps), meta), exposure, trait, harm_settings).data
        hd = h.set_index("SNP")
        ok = hd["mr_keep"].to_numpy(bool)
        snp = data["SNP"]
        data[f"beta.{trait}"] = snp.map(hd["beta.outcome"].where(ok)).to_numpy(float)
        data[f"se.{trait}"] = snp.map(hd["se.outcome"].where(ok)).to_numpy(float)
        data[f"harmonise_reason.{trait}"] = snp.map(hd["harmonise_reason"]).fillna("absent").to_numpy(object)
        keep = data["mr_keep"].to_numpy(bool)
        absent = keep & ~snp.isin(hd.index).to_numpy()
        unharm = keep & ~absent & ~np.isfinite(data[f"beta.{trait}"].to_numpy(float))
        n_keep = int(keep.sum())
        flow.append(flow_row(f"multivariable.lookup.{trait}", n_keep, n_keep - int(absent.sum()),
                             f"excluded: absent from the {trait} GWAS"))
        reasons = data.loc[unharm, f"harmonise_reason.{trait}"].value_counts().to_dict()
        flow.append(flow_row(f"multivariable.harmonise.{trait}", n_keep - int(absent.sum()),
                             n_keep - int(absent.sum()) - int(unharm.sum()),
                             f"excluded: not harmonisable with {exposure} ({reasons or 'none'})"))
        data.loc[absent, "harmonise_reason"] = f"absent_in_{trait}"
        data.loc[unharm, "harmonise_reason"] = f"not_harmonised_in_{trait}"
        data.loc[absent | unharm, "mr_keep"] = False
    n_keep = int(data["mr_keep"].sum())
    flow.append(flow_row("multivariable.mr_keep", len(data), n_keep, "variants used by multivariable IVW"))
    if n_keep == 0:
        raise DataError(
            f"{exposure} -> {outcome} multivariable MR: no variant left after looking the {len(snps)} instruments up "
            f"in {[outcome, *adjust]} and harmonising (reasons: {data['harmonise_reason'].value_counts().to_dict()})"
        )
    table = multivariable_table(data, exposure, outcome, adjust, mr_settings, binary=binary,
                                analysis=f"{exposure}__{outcome}")
    return table, flow, data


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


def run_harmonised(path: str | Path, spec: Mapping[str, Any], mr_settings: Any, seed: int) -> PairResult:
    """The estimator suite on an already harmonised table, with ``exclude_snps`` applied (``mr_keep`` False)."""
    from musclecog.mr.analysis import run_mr

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


def multivariable_table(data: pd.DataFrame, exposure: str, outcome: str, adjust: list[str], mr_settings: Any,
                        binary: bool = False, analysis: str | None = None) -> pd.DataFrame:
    """Multivariable IVW of the outcome on the exposure and the ``adjust`` exposures (``beta.<label>`` columns)
    over the ``mr_keep`` variants, as tidy rows (method ``Multivariable IVW``, one per exposure; odds ratios too
    for a binary outcome). Multiplicative random effects as MendelianRandomization ``mr_mvivw`` (default
    ``model = "default"``): se scaled by max(1, residual standard error).

    Raises
    ------
    DataError
        A used variant lacks an association with an adjusting exposure; too few variants; collinear exposures.
    """
    from scipy import stats

    from musclecog.mr.sensitivity import multivariable_ivw
    from musclecog.results import tidy_frame

    keep = data["mr_keep"].to_numpy(bool)
    used = data.loc[keep]
    cols = ["beta.exposure"] + [f"beta.{a}" for a in adjust]
    bx = used[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(bx).all(axis=1)
    if bad.any():
        where = [c for c, b in zip(cols, (~np.isfinite(bx)).any(axis=0), strict=True) if b]
        raise DataError(
            f"{exposure} -> {outcome} multivariable MR: variants {show_values(used['SNP'][bad].tolist())} lack a "
            f"numeric association in {where}; fill them "
            "or set mr_keep FALSE for them in the table"
        )
    res = multivariable_ivw(bx, used["beta.outcome"].to_numpy(float), used["se.outcome"].to_numpy(float),
                            exposures=[exposure, *adjust], model="random")
    z = stats.norm.isf(mr_settings.alpha / 2)
    base = {"analysis": analysis or f"{exposure}__{outcome}", "cohort": "summary_statistics",
            "method": "Multivariable IVW", "outcome": outcome, "term": "causal_effect", "stratum": "overall"}
    rows = []
    for r in res.estimates.itertuples(index=False):
        others = [e for e in [exposure, *adjust] if e != r.exposure]
        row = {**base, "exposure": r.exposure, "estimate": r.b, "std_error": r.se, "conf_low": r.b - z * r.se,
               "conf_high": r.b + z * r.se, "p_value": r.pval, "n": int(r.nsnp), "nsnp": int(r.nsnp),
               "scale": "beta", "note": f"adjusted for {', '.join(others)}; multiplicative random effects; "
               f"residual se {res.sigma:.4g}, Q {res.Q:.4g} on {res.Q_df} df (p {res.Q_pval:.3g})"}
        rows.append(row)
    if binary:
        rows += [{**r, "scale": "odds_ratio", "estimate": np.exp(r["estimate"]), "conf_low": np.exp(r["conf_low"]),
                  "conf_high": np.exp(r["conf_high"])} for r in list(rows)]
    return tidy_frame(rows)


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
        elif name == "multivariable":
            if pair.multivariable is None:
                raise ValueError("multivariable.tsv requested for a pair without adjust_for")
            df = pair.multivariable
        elif name in res_tables:
            df = res_tables[name]
        else:
            raise ValueError(f"unknown MR table {name!r}")
        write_table(df, path)
    if figures:
        figs = pair.result.figures()
        for name, path in figures.items():
            save_figure(figs[name], path)
