"""Standardising one trait's summary statistics: row checks (each exclusion counted with its reason), p-values,
sample sizes and positions, and the standard arrow table with the trait's metadata."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from musclecog.errors import DataError, show_values
from musclecog.filters import flow_frame, flow_row
from musclecog.mr.gwas.columns import allele_codes, dictionary_array, has_duplicates, rs_numbers, strip_chr
from musclecog.mr.gwas.formats import NUMERIC, GwasSpec
from musclecog.mr.gwas.readers import read_source

logger = logging.getLogger(__name__)

_ALLELE = re.compile(r"^[ACGT]+$")

FlowRows = list[dict[str, Any]]


@dataclass(frozen=True)
class StandardisedGwas:
    """A standardised GWAS table (pyarrow), its flow table and metadata; ``rows`` is each variant's data row in
    the source file (0 = first line after the header; None: 0, 1, 2, ...); ``rs``: each variant's rsID as a
    number when every id is an rsID (:func:`~musclecog.mr.gwas.columns.rs_numbers`), else None."""

    table: pa.Table
    flow: pd.DataFrame
    meta: dict[str, Any]
    rows: np.ndarray | None = None
    rs: np.ndarray | None = None


class _Numbers:
    """The numeric columns of the read table as float arrays (nulls -> NaN).

    :meth:`take` converts them one at a time and drops each from the table as soon as it is converted, handing
    the freed arrow memory back, so that a column is never held twice (about 0.4 GB less at the peak for ten
    million variants)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self._arrays = arrays

    @classmethod
    def take(cls, box: list[pa.Table]) -> _Numbers:
        """Convert the numeric columns of ``box[0]``, leaving the other columns in ``box[0]`` (the caller holds
        the table only through ``box``, so a dropped column's memory is freed)."""
        arrays: dict[str, np.ndarray] = {}
        pool = pa.default_memory_pool()
        for name in [c for c in box[0].column_names if c in NUMERIC]:
            arrays[name] = np.asarray(box[0].column(name).to_numpy(), dtype=float)
            box[0] = box[0].drop_columns([name])
            pool.release_unused()
        return cls(arrays)

    def get(self, name: str) -> np.ndarray | None:
        return self._arrays.get(name)


@dataclass
class _RowChecks:
    """The rows kept so far, and each check's newly excluded rows with its reason."""

    n: int
    flow: FlowRows
    keep: np.ndarray = field(init=False)
    problems: list[tuple[str, np.ndarray, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keep = np.ones(self.n, bool)

    def exclude(self, step: str, bad: np.ndarray, reason: str) -> None:
        newly = bad & self.keep
        n_in = int(self.keep.sum())
        self.keep = self.keep & ~bad
        self.flow.append(flow_row(step, n_in, int(self.keep.sum()), f"excluded: {reason}"))
        if newly.any():
            self.problems.append((step, newly, reason))


@dataclass(frozen=True)
class _Effects:
    """Beta, se, p-value and eaf as read (p from -log10 p, beta from the odds ratio where that is what the file
    has)."""

    beta: np.ndarray
    se: np.ndarray
    pval: np.ndarray | None
    eaf: np.ndarray | None


def _effects(nums: _Numbers, n: int, flow: FlowRows) -> _Effects:
    beta = nums.get("beta")
    if beta is None:
        orr = nums.get("odds_ratio")
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.log(np.asarray(orr, float))
        flow.append(flow_row("odds_ratio", n, n, "note: beta = log(odds_ratio)"))
    pval = nums.get("pval")
    neg_log10 = nums.get("neg_log10_pval")
    if pval is None and neg_log10 is not None:
        pval = 10.0 ** -neg_log10
    se = nums.get("se")
    assert se is not None  # a required column (column_map)
    return _Effects(beta, se, pval, nums.get("eaf"))


@dataclass(frozen=True)
class _Alleles:
    """Effect and other allele as codes into their (upper-case) dictionaries; -1 is missing."""

    ea: np.ndarray
    ea_values: np.ndarray
    oa: np.ndarray
    oa_values: np.ndarray


def _alleles(table: pa.Table, flow: FlowRows) -> _Alleles:
    n = table.num_rows
    ea, ea_values = allele_codes(table.column("effect_allele"))
    if "other_allele" in table.column_names:
        oa, oa_values = allele_codes(table.column("other_allele"))
    else:
        oa, oa_values = np.full(n, -1, np.int32), np.array([], object)
        flow.append(flow_row("other_allele", n, n,
                             "note: no other_allele column; harmonised as TwoSampleMR's 1-allele case"))
    return _Alleles(ea, ea_values, oa, oa_values)


def _allele_ok(values: np.ndarray, allow_indels: bool) -> np.ndarray:
    ok = np.array([bool(_ALLELE.match(v)) for v in values], dtype=bool)
    if not allow_indels:
        return ok & np.array([len(v) == 1 for v in values], dtype=bool)
    return ok | np.isin(values, ["D", "I"])


def _check_rows(checks: _RowChecks, snp_missing: np.ndarray, alleles: _Alleles, eff: _Effects,
                allow_indels: bool) -> None:
    """Missing values, alleles, se, beta, p and eaf, in this order (each counted in the flow)."""
    ea, oa = alleles.ea, alleles.oa
    checks.exclude("missing", snp_missing | (ea < 0) | np.isnan(eff.beta) | np.isnan(eff.se),
                   "SNP id, effect allele, beta or se missing")
    # lookups indexed by code, with the sentinel for code -1 (missing) at the end
    ea_ok = np.append(_allele_ok(alleles.ea_values, allow_indels), False)[ea]
    oa_ok = np.append(_allele_ok(alleles.oa_values, allow_indels), True)[oa]  # a missing other allele is allowed
    checks.exclude("alleles", ~ea_ok | ~oa_ok, "allele not A/C/G/T" + (
        "" if allow_indels else " or an indel (set allow_indels: true to keep indels)"))
    # effect allele == other allele, compared as codes: each other-allele code mapped into the effect dictionary
    ea_index = {v: i for i, v in enumerate(alleles.ea_values)}
    oa_in_ea = np.array([ea_index.get(v, -2) for v in alleles.oa_values] + [-3], dtype=np.int32)
    checks.exclude("alleles_equal", (ea >= 0) & (oa_in_ea[oa] == ea), "effect allele equals other allele")
    with np.errstate(invalid="ignore"):
        checks.exclude("se", ~(eff.se > 0) | ~np.isfinite(eff.se), "se <= 0 or not finite")
        checks.exclude("beta", ~np.isfinite(eff.beta), "beta not finite")
        if eff.pval is not None:
            checks.exclude("pval", (eff.pval < 0) | (eff.pval > 1), "p-value outside [0, 1]")
        if eff.eaf is not None:
            checks.exclude("eaf", (eff.eaf < 0) | (eff.eaf > 1), "effect allele frequency outside [0, 1]")


def _drop_duplicates(checks: _RowChecks, snp: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray | None]:
    """Exclude repeated SNP ids (the first occurrence in file order kept); returns the kept ids and their rsID
    numbers (None unless every kept id is an rsID)."""
    keep = checks.keep
    snp_kept = snp if keep.all() else snp.filter(pa.array(keep))  # chunked as read: no copy
    numbers = rs_numbers(snp_kept)
    if not has_duplicates(snp_kept, numbers, known=True):
        n_keep = int(keep.sum())
        checks.flow.append(flow_row("duplicates", n_keep, n_keep, "excluded: duplicated SNP id (first kept)"))
        return snp_kept, numbers
    t = pa.table({"SNP": snp_kept, "i": pa.array(np.flatnonzero(keep))})
    first = t.group_by("SNP").aggregate([("i", "min")]).column("i_min").to_numpy()
    dup = keep.copy()
    dup[first] = False
    dup_ids = snp.filter(pa.array(dup)).to_pylist()[:5]
    checks.exclude("duplicates", dup, f"duplicated SNP id (first kept), e.g. {show_values(dup_ids)}")
    snp_kept = snp.filter(pa.array(checks.keep))
    return snp_kept, rs_numbers(snp_kept)


def _refuse(spec: GwasSpec, checks: _RowChecks) -> None:
    """Errors for ``strict`` with any exclusion, and for no variant left; warnings for the exclusions."""
    path = spec.path
    if spec.strict and checks.problems:
        _, bad, reason = checks.problems[0]
        rows = np.flatnonzero(bad)[:5] + 2
        raise DataError(
            f"GWAS file {path}: {int(bad.sum())} rows fail the check '{reason}' (file lines "
            f"{show_values(rows.tolist())}); gwas.{spec.name}.strict is true. Fix the file or set strict: false "
            "to count them out."
        )
    if not checks.keep.any():
        steps = "; ".join(str(r["step"]) + ": " + str(r["n_excluded"]) for r in checks.flow)
        raise DataError(
            f"GWAS file {path}: no variant left after the checks (see the flow: {steps}). Check the column map "
            "and the file."
        )
    for step, bad, reason in checks.problems:
        logger.warning("%s: %d variants excluded at '%s' (%s)", spec.name, int(bad.sum()), step, reason)


class _Kept:
    """The kept rows of the read columns (no copy when every row is kept)."""

    def __init__(self, table: pa.Table, keep: np.ndarray) -> None:
        self.table = table
        self.all = bool(keep.all())
        self.sel = None if self.all else np.flatnonzero(keep)
        self.mask = None if self.all else pa.array(keep)
        self.n = int(keep.sum())

    def rows(self, x: np.ndarray) -> np.ndarray:
        return x if self.sel is None else x[self.sel]

    def column(self, name: str) -> pa.ChunkedArray:
        col = self.table.column(name)
        return col if self.mask is None else col.filter(self.mask)


def _p_from_z(beta: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Two-sided normal p-values of z = beta / se, by :mod:`musclecog.core.inference` (imported here, with its
    scipy: most GWAS files carry their p-values and never need it)."""
    from musclecog.core.inference import wald_p_value, wald_statistic

    return np.asarray(wald_p_value(wald_statistic(beta, se), None), float)


def _pvalues(kept: _Kept, eff: _Effects, flow: FlowRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kept beta, se and p; p = 0, missing p or no p column: p from z = beta/se."""
    beta_k, se_k, n_keep = kept.rows(eff.beta), kept.rows(eff.se), kept.n
    if eff.pval is None:
        pval_k = _p_from_z(beta_k, se_k)
        flow.append(flow_row("pval_recomputed", n_keep, n_keep, "note: no p-value column; p computed from z = beta/se"))
        return beta_k, se_k, pval_k
    pval_k = eff.pval[kept.sel] if kept.sel is not None else eff.pval
    fill = np.flatnonzero(np.isnan(pval_k) | (pval_k == 0))
    if len(fill):
        pval_k = pval_k.copy() if kept.sel is None else pval_k
        p_from_z = _p_from_z(beta_k[fill], se_k[fill])
        pval_k[fill] = np.maximum(p_from_z, np.finfo(float).tiny)
        flow.append(flow_row("pval_recomputed", n_keep, n_keep,
                             f"note: {len(fill)} variants with p = 0 or missing kept; p recomputed from z = beta/se"))
    return beta_k, se_k, pval_k


def _counts(kept: _Kept, nums: _Numbers, spec: GwasSpec) -> dict[str, np.ndarray | None]:
    """ncase, ncontrol and samplesize: the column, with the config's constant where it is missing or absent;
    samplesize = ncase + ncontrol where still missing. None: absent and no constant (all missing)."""

    def const_or_col(name: str, value: float | None) -> np.ndarray | None:
        col = nums.get(name)
        if col is not None:
            out = kept.rows(col)
            if value is not None and np.isnan(out).any():
                out = np.where(np.isnan(out), float(value), out)
            return out
        return None if value is None else np.full(kept.n, float(value))

    ncase = const_or_col("ncase", spec.ncase)
    ncontrol = const_or_col("ncontrol", spec.ncontrol)
    samplesize = const_or_col("samplesize", spec.n)
    if ncase is not None and ncontrol is not None:
        if samplesize is None:
            samplesize = ncase + ncontrol
        elif np.isnan(samplesize).any():
            samplesize = np.where(np.isnan(samplesize), ncase + ncontrol, samplesize)
    return {"samplesize": samplesize, "ncase": ncase, "ncontrol": ncontrol}


def _positions(kept: _Kept, path: str | None) -> pa.ChunkedArray | pa.Array:
    names = kept.table.column_names
    if "pos" not in names:
        return pa.nulls(kept.n, pa.int64())
    if pa.types.is_integer(kept.table.column("pos").type):
        return pc.cast(kept.column("pos"), pa.int64())
    try:
        return pc.cast(pc.cast(kept.column("pos"), pa.float64()), pa.int64())
    except pa.ArrowInvalid as exc:
        raise DataError(f"GWAS file {path}: the position column is not numeric ({exc})") from None


def _floats(x: np.ndarray | None, n: int) -> pa.Array:
    """Floats with NaN as null; None: ``n`` nulls."""
    return pa.nulls(n, pa.float64()) if x is None else pa.array(x, pa.float64(), from_pandas=True)


def _standard_table(kept: _Kept, snp_kept: pa.ChunkedArray, alleles: _Alleles, effects: tuple[np.ndarray, ...],
                    eaf: np.ndarray | None, counts: dict[str, np.ndarray | None], path: str | None) -> pa.Table:
    n_keep = kept.n
    beta_k, se_k, pval_k = effects
    chrom = strip_chr(kept.column("chr")) if "chr" in kept.table.column_names else pa.nulls(n_keep, pa.string())
    if len(alleles.oa_values):
        other = dictionary_array(kept.rows(alleles.oa), alleles.oa_values)
    else:
        other = pa.nulls(n_keep, pa.dictionary(pa.int32(), pa.string()))
    return pa.table(
        {
            "SNP": pc.cast(snp_kept, pa.string()),
            "chr": chrom,
            "pos": _positions(kept, path),
            "effect_allele": dictionary_array(kept.rows(alleles.ea), alleles.ea_values),
            "other_allele": other,
            "beta": pa.array(beta_k),
            "se": pa.array(se_k),
            "eaf": _floats(None if eaf is None else kept.rows(eaf), n_keep),
            "pval": pa.array(pval_k),
            "samplesize": _floats(counts["samplesize"], n_keep),
            "ncase": _floats(counts["ncase"], n_keep),
            "ncontrol": _floats(counts["ncontrol"], n_keep),
        }
    )


def _with_header_counts(spec: GwasSpec, meta: dict[str, Any]) -> GwasSpec:
    """A GWAS-VCF's header sample sizes (``TotalCases``, ``TotalControls``, ...) where the config gives none;
    they are used only where the records have no ``SS`` / ``NC`` field."""
    return replace(
        spec,
        n=spec.n if spec.n is not None else meta.get("header_n"),
        ncase=spec.ncase if spec.ncase is not None else meta.get("header_ncase"),
        ncontrol=spec.ncontrol if spec.ncontrol is not None else meta.get("header_ncontrol"),
    )


def standardise(spec: GwasSpec) -> StandardisedGwas:
    """Read and standardise one trait's summary statistics.

    Checks, in order (each excluded row counted in the flow table with its reason; with ``strict`` any
    exclusion is an error): missing SNP id / effect allele / beta / se; alleles that are not A/C/G/T (multi-base
    A/C/G/T strings and D/I only with ``allow_indels``); effect allele equal to the other allele; se <= 0 or not
    finite; beta not finite; p outside [0, 1]; eaf outside [0, 1]; duplicated SNP ids (the first kept, as
    TwoSampleMR's ``format_data``). p = 0 and missing p are kept, with p recomputed from z = beta/se.

    The work is column-wise on the arrow table: allele checks run on the dictionaries (a few distinct values),
    numeric checks are numpy passes, and when no row is excluded (the usual case) the output reuses the columns
    read, without copying them.

    Parameters
    ----------
    spec : GwasSpec

    Returns
    -------
    StandardisedGwas

    Raises
    ------
    DataError
        Unreadable file, missing or unmappable columns, a build conflict, no variant left, or (strict) any
        exclusion.
    """
    src = read_source(spec)
    pa.default_memory_pool().release_unused()  # the reader's buffers
    box = [src.table]
    src = replace(src, table=src.table.schema.empty_table())  # the table is held by ``box`` only (_Numbers.take)
    fmt, n_rows, build = src.fmt, src.n_rows, src.build
    path = spec.path
    flow: FlowRows = [flow_row("read", n_rows, n_rows, f"rows read from {Path(str(path)).name} ({fmt} layout)")]
    flow += src.flow
    if src.meta:
        spec = _with_header_counts(spec, src.meta)
    n = box[0].num_rows
    nums = _Numbers.take(box)
    table = box.pop()
    eff = _effects(nums, n, flow)
    alleles = _alleles(table, flow)
    snp = table.column("SNP")
    snp_missing = snp.is_null().to_numpy(zero_copy_only=False) if snp.null_count else np.zeros(n, bool)
    checks = _RowChecks(n, flow)
    _check_rows(checks, snp_missing, alleles, eff, spec.allow_indels)
    snp_kept, rs = _drop_duplicates(checks, snp)
    _refuse(spec, checks)
    kept = _Kept(table, checks.keep)
    effects = _pvalues(kept, eff, flow)
    counts = _counts(kept, nums, spec)
    out = _standard_table(kept, snp_kept, alleles, effects, eff.eaf, counts, path)
    meta = {
        "trait": spec.name,
        "source": str(path),
        "format": fmt,
        "trait_type": spec.trait_type,
        "units": spec.units,
        "build": build,
        "prevalence": spec.prevalence,
        "n_rows_read": n_rows,
        "n_variants": kept.n,
    }
    if fmt == "vcf":
        meta.update({k: src.meta[k] for k in ("vcf_sample", "study_type", "header_n", "format_fields")})
    if spec.region is not None:
        meta["region"] = spec.region if isinstance(spec.region, str) else "; ".join(spec.region)
        meta["region_read"] = src.meta["region_read"]
    out = out.replace_schema_metadata({"musclecog": json.dumps(meta, sort_keys=True)})
    flow.append(flow_row("standardised", kept.n, kept.n, f"variants written for trait {spec.name}"))
    rows = src.rows if kept.sel is None else src.rows[kept.sel]
    return StandardisedGwas(table=out, flow=flow_frame(flow), meta=meta, rows=rows, rs=rs)
