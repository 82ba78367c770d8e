"""Read GWAS summary statistics in any common layout and standardise them once per trait.

Three layouts are read, each gzip-compressed or not, column-wise with pyarrow (only the needed columns are
parsed, with fixed types, multi-threaded), so that a 10-million-variant file is standardised in seconds:

* ``twosamplemr``: TwoSampleMR's column names (``SNP, beta, se, effect_allele, other_allele, eaf, pval,
  samplesize, ncase, ncontrol, chr, pos``), with or without the ``.exposure`` / ``.outcome`` suffix that
  ``read_exposure_data`` / ``extract_outcome_data`` add;
* ``ssf``: the GWAS Catalog summary-statistics format (GWAS-SSF and its harmonised TSV): ``variant_id`` or
  ``rsid, chromosome, base_pair_location, effect_allele, other_allele, beta`` (or ``odds_ratio``),
  ``standard_error, effect_allele_frequency, p_value`` (or ``neg_log_10_p_value``), ``n``;
* any delimited table with a column map ``{source column: standard name}``.

The standardised table (``results/gwas/{trait}.parquet``) has the columns of :data:`STANDARD_COLUMNS`,
alleles in upper case, and the trait's metadata (type, units, build, prevalence) in the parquet schema
metadata. Every row that is left out is counted with its reason in a flow table.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml
from scipy.special import ndtr

from musclecog.errors import ConfigError, DataError, show_values
from musclecog.filters import flow_frame, flow_row

logger = logging.getLogger(__name__)

STANDARD_COLUMNS: tuple[str, ...] = (
    "SNP", "chr", "pos", "effect_allele", "other_allele", "beta", "se", "eaf", "pval", "samplesize", "ncase",
    "ncontrol",
)
"""Columns of a standardised GWAS table (TwoSampleMR's names without the side suffix)."""

REQUIRED = ("SNP", "effect_allele", "beta", "se")
NUMERIC = ("beta", "se", "eaf", "pval", "samplesize", "ncase", "ncontrol", "odds_ratio", "neg_log10_pval")
FORMATS = ("auto", "twosamplemr", "ssf", "columns")
NULL_VALUES = ["", "NA", "na", "N/A", "NaN", "nan", "NR", "NR ", ".", "null", "NULL", "None"]

SSF_MAP = {
    "variant_id": "SNP",
    "rsid": "SNP",
    "chromosome": "chr",
    "base_pair_location": "pos",
    "effect_allele": "effect_allele",
    "other_allele": "other_allele",
    "beta": "beta",
    "odds_ratio": "odds_ratio",
    "standard_error": "se",
    "effect_allele_frequency": "eaf",
    "p_value": "pval",
    "neg_log_10_p_value": "neg_log10_pval",
    "n": "samplesize",
    "n_cases": "ncase",
    "ncase": "ncase",
    "ncontrol": "ncontrol",
    "n_controls": "ncontrol",
}
TWOSAMPLEMR_NAMES = ("SNP", "beta", "se", "effect_allele", "other_allele", "eaf", "pval", "samplesize", "ncase",
                     "ncontrol", "chr", "pos")

_ALLELE = re.compile(r"^[ACGT]+$")


@dataclass(frozen=True)
class GwasSpec:
    """One GWAS trait of the config's ``gwas:`` section (see docs/mr_data.md).

    Attributes
    ----------
    name : str
        The trait's key in the config.
    path : str or None
        Summary-statistics file (``None`` for a synthetic trait, whose file the pipeline writes).
    format : {"auto", "twosamplemr", "ssf", "columns"}
    columns : mapping
        ``{source column: standard name}``; with ``format: auto`` it overrides the detected names.
    sep : str or None
        Delimiter; detected from the header line when None.
    trait_type : {"continuous", "binary"}
    units : str
        ``"log odds"`` for binary traits (TwoSampleMR's convention), e.g. ``"SD"`` for standardised traits.
    n, ncase, ncontrol : float or None
        Constants used where the file has no such column.
    prevalence : float or None
        Population prevalence of a binary trait (liability-scale variance explained, Steiger).
    build : str or None
        Declared genome build (e.g. GRCh37); pairs of traits with different builds are refused.
    allow_indels : bool
        Keep multi-base alleles (A/C/G/T strings) and D/I codes; otherwise they are counted out.
    strict : bool
        Turn every counted exclusion into an error.
    """

    name: str
    path: str | None = None
    format: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    sep: str | None = None
    trait_type: str = "continuous"
    units: str = ""
    n: float | None = None
    ncase: float | None = None
    ncontrol: float | None = None
    prevalence: float | None = None
    build: str | None = None
    allow_indels: bool = False
    strict: bool = False

    @classmethod
    def from_config(cls, name: str, entry: Mapping[str, Any], path: str | None = None) -> GwasSpec:
        """Build the spec from a validated config entry (``path`` overrides ``entry['path']``, e.g. for the
        file a synthetic trait's rule wrote)."""
        where = f"gwas.{name}"
        fmt = entry.get("format", "auto")
        if fmt not in FORMATS:
            raise ConfigError(f"config: '{where}.format' is {fmt!r}; use one of {', '.join(FORMATS)}")
        columns = dict(entry.get("columns") or {})
        if fmt == "columns" and not columns:
            raise ConfigError(f"config: '{where}' has format 'columns' but no 'columns' map {{source: standard}}")
        bad = sorted(set(columns.values()) - set(STANDARD_COLUMNS) - {"odds_ratio", "neg_log10_pval"})
        if bad:
            raise ConfigError(
                f"config: '{where}.columns' maps to unknown standard names {bad}; use "
                f"{', '.join(STANDARD_COLUMNS + ('odds_ratio', 'neg_log10_pval'))}"
            )
        binary = entry.get("type") == "binary" or (entry.get("type") is None and entry.get("ncase") is not None)
        units = entry.get("units") or ("log odds" if binary else "")
        if binary and units != "log odds":
            raise ConfigError(f"config: '{where}.units' is {units!r} for a binary trait; binary effects must be log odds")
        sim = entry.get("simulate")
        return cls(
            name=name,
            path=path if path is not None else entry.get("path"),
            format=fmt,
            columns=columns,
            sep=entry.get("sep"),
            trait_type="binary" if binary else "continuous",
            units=str(units),
            n=entry.get("n"),
            ncase=entry.get("ncase"),
            ncontrol=entry.get("ncontrol"),
            prevalence=entry.get("prevalence"),
            build=entry.get("build") or (sim or {}).get("build"),
            allow_indels=bool(entry.get("allow_indels", False)),
            strict=bool(entry.get("strict", False)),
        )


@dataclass(frozen=True)
class StandardisedGwas:
    """A standardised GWAS table (pyarrow), its flow table and metadata; ``rows`` is each variant's data row in
    the source file (0 = first line after the header; None: 0, 1, 2, ...)."""

    table: pa.Table
    flow: pd.DataFrame
    meta: dict[str, Any]
    rows: np.ndarray | None = None


# --- reading ----------------------------------------------------------------------------------------


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path)


def read_header(path: str | Path, sep: str | None = None) -> tuple[list[str], str]:
    """The column names of a delimited (optionally gzip) file and its delimiter (tab, comma, space)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"GWAS file {path} does not exist; correct 'gwas.<trait>.path' in the config")
    with _open_text(path) as fh:
        line = fh.readline().rstrip("\r\n")
    if not line:
        raise DataError(f"GWAS file {path} is empty (no header line)")
    if sep is None:
        counts = {d: line.count(d) for d in ("\t", ",", " ")}
        sep = max(counts, key=lambda d: counts[d])
        if counts[sep] == 0:
            raise DataError(f"GWAS file {path}: cannot tell the delimiter of the header {line[:80]!r}; set 'sep'")
    names = [c.strip().strip('"').strip("'") for c in line.split(sep)]
    return names, sep


def column_map(header: list[str], spec: GwasSpec, path: str | Path) -> tuple[dict[str, str], str]:
    """Map source columns to standard names; returns ``({source: standard}, detected format)``.

    Raises
    ------
    DataError
        If a mapped column is not in the file or a required column cannot be found.
    """
    fmt = spec.format
    present = set(header)
    missing_mapped = sorted(set(spec.columns) - present)
    if missing_mapped:
        close = {m: [h for h in header if h.lower() == m.lower()] for m in missing_mapped}
        hint = "; ".join(f"'{m}' (did you mean {c[0]!r}?)" for m, c in close.items() if c)
        raise DataError(
            f"GWAS file {path}: the column map of gwas.{spec.name} names columns {missing_mapped} that the file "
            f"does not have. Columns in the file: {show_values(header, limit=30)}." + (f" {hint}" if hint else "")
            + " Fix 'gwas.<trait>.columns'."
        )
    if fmt == "auto":
        if "base_pair_location" in present or "standard_error" in present:
            fmt = "ssf"
        elif any(h.split(".")[0] in TWOSAMPLEMR_NAMES for h in header) and (
            {"SNP", "beta", "se"} <= {h.split(".")[0] for h in header}
        ):
            fmt = "twosamplemr"
        elif spec.columns:
            fmt = "columns"
        else:
            raise DataError(
                f"GWAS file {path}: the layout is neither TwoSampleMR nor GWAS-SSF (columns: "
                f"{show_values(header, limit=20)}). Give gwas.{spec.name}.columns, e.g. "
                "{MarkerName: SNP, Allele1: effect_allele, Allele2: other_allele, Effect: beta, StdErr: se, P: pval}"
            )
    mapping: dict[str, str] = {}
    if fmt == "ssf":
        for src, std in SSF_MAP.items():
            if src in present and std not in mapping.values():
                mapping[src] = std
    elif fmt == "twosamplemr":
        suffixes = {h.split(".", 1)[1] for h in header if "." in h and h.split(".", 1)[0] in TWOSAMPLEMR_NAMES}
        suffixes &= {"exposure", "outcome"}
        if len(suffixes) > 1:
            raise DataError(
                f"GWAS file {path} has both .exposure and .outcome columns: it looks already harmonised. "
                "Feed it to an MR pair with 'harmonised:' instead of as a GWAS trait."
            )
        suffix = f".{suffixes.pop()}" if suffixes else ""
        for std in TWOSAMPLEMR_NAMES:
            for cand in (f"{std}{suffix}", std):
                if cand in present and std not in mapping.values():
                    mapping[cand] = std
                    break
    for src, std in spec.columns.items():
        mapping = {s: t for s, t in mapping.items() if t != std}
        mapping[src] = std
    std_names = set(mapping.values())
    need = [c for c in REQUIRED if c not in std_names]
    if "beta" in need and "odds_ratio" in std_names:
        need.remove("beta")
    if need:
        raise DataError(
            f"GWAS file {path} ({fmt} layout) lacks the required column(s) {need}. Columns in the file: "
            f"{show_values(header, limit=30)}. Map them with gwas.{spec.name}.columns {{source: standard}}."
        )
    return mapping, fmt


def read_gwas(spec: GwasSpec) -> tuple[pa.Table, str, int]:
    """Read the columns of a GWAS file that the standard table needs.

    Only the mapped columns are parsed (pyarrow CSV reader, multi-threaded), with their types declared up front:
    numbers as float64, the position as int64 (float64 when the file writes positions as decimals), alleles and
    chromosome dictionary-encoded (a handful of distinct values, so millions of rows cost 4 bytes each).

    Returns
    -------
    (pyarrow.Table with standard names, detected format, number of data rows)
    """
    if spec.path is None:
        raise ConfigError(f"config: gwas.{spec.name} has neither 'path' nor a written synthetic file")
    path = Path(spec.path)
    header, sep = read_header(path, spec.sep)
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"GWAS file {path} has duplicated column names {dup}; rename them")
    mapping, fmt = column_map(header, spec, path)
    pos_src = next((s for s, t in mapping.items() if t == "pos"), None)

    def types(pos_type: pa.DataType) -> dict[str, pa.DataType]:
        out: dict[str, pa.DataType] = {}
        for src, std in mapping.items():
            if std in NUMERIC:
                out[src] = pa.float64()
            elif std in ("effect_allele", "other_allele", "chr"):
                out[src] = pa.dictionary(pa.int32(), pa.string())
            elif std == "pos":
                out[src] = pos_type
            else:
                out[src] = pa.string()
        return out

    def read(pos_type: pa.DataType) -> pa.Table:
        return pacsv.read_csv(
            str(path),
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(mapping),
                column_types=types(pos_type),
                null_values=NULL_VALUES,
                strings_can_be_null=True,
            ),
        )

    def failing_column(exc: pa.ArrowInvalid) -> str:
        col = re.search(r"column #(\d+)", str(exc))
        return header[int(col.group(1))] if col and int(col.group(1)) < len(header) else "?"

    try:
        try:
            table = read(pa.int64())
        except pa.ArrowInvalid as exc:
            if pos_src is None or failing_column(exc) != pos_src:
                raise
            table = read(pa.float64())  # positions written as decimals (e.g. 12345.0)
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        name = failing_column(exc)
        if name == pos_src:
            raise DataError(
                f"GWAS file {path}: the position column '{name}' is not numeric ({msg.splitlines()[0]}). "
                "Positions must be whole numbers (missing as NA or empty)."
            ) from None
        raise DataError(
            f"GWAS file {path}: cannot parse column '{name}' ({mapping.get(name, '?')}): {msg.splitlines()[0]}. "
            "Numeric columns must hold numbers (missing as NA or empty)."
        ) from None
    table = table.rename_columns([mapping[c] for c in table.column_names])
    return table, fmt, table.num_rows


# --- standardising ------------------------------------------------------------------------------------


def _allele_codes(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary codes (-1 for missing) and the upper-case dictionary of an allele column."""
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    col = col.unify_dictionaries() if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])
    values = np.asarray(col.chunks[0].dictionary.to_pylist() if col.num_chunks else [], dtype=object)
    idx = [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in col.chunks]
    codes = np.concatenate(idx).astype(np.int32, copy=False) if idx else np.zeros(0, np.int32)
    upper = np.array([str(v).strip().upper() for v in values], dtype=object)
    uniq, inverse = np.unique(upper, return_inverse=True) if len(upper) else (np.array([], object), np.array([], int))
    remap = np.append(inverse.astype(np.int32), np.int32(-1))  # code -1 -> the sentinel -1
    return remap[codes], uniq.astype(object)


def _dictionary_array(codes: np.ndarray, values: np.ndarray) -> pa.DictionaryArray:
    mask = codes < 0
    dictionary = pa.array(list(values), pa.string())
    if not mask.any():
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32, copy=False)), dictionary)
    return pa.DictionaryArray.from_arrays(pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask), dictionary)


def rs_numbers(snp: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The numbers of an id column made only of rsIDs (``rs`` and a number without leading zero, so the map
    to int64 is one-to-one), or None when any id is not such an rsID (or is missing).

    Sorting or joining ten million int64 numbers is several times cheaper in time and memory than hashing ten
    million strings, which is what lets the duplicate check and the whole-genome join stay lean.
    """
    if len(snp) == 0 or snp.null_count or not pc.all(pc.match_substring_regex(snp, r"^rs[1-9][0-9]{0,17}$")).as_py():
        return None
    return np.asarray(pc.cast(pc.utf8_slice_codeunits(snp, 2), pa.int64()).to_numpy())


def _has_duplicates(snp: pa.Array) -> bool:
    """Whether an id column (no nulls) repeats a value (rsIDs as sorted numbers, other ids by hashing)."""
    n = len(snp)
    if n < 2:
        return False
    numbers = rs_numbers(snp)
    if numbers is not None:
        if bool((numbers[1:] > numbers[:-1]).all()):  # already in increasing order: no sort needed
            return False
        numbers = np.sort(numbers)
        return bool((numbers[1:] == numbers[:-1]).any())
    return len(pc.unique(snp)) < n


def _strip_chr(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Chromosome labels as strings without a ``chr`` prefix; the regex runs on each chunk's small dictionary."""
    if not pa.types.is_dictionary(col.type):
        return pc.replace_substring_regex(pc.cast(col, pa.string()), "^(chr|CHR|Chr)", "")
    chunks = []
    for chunk in col.chunks:
        labels = pc.replace_substring_regex(chunk.dictionary, "^(chr|CHR|Chr)", "")
        chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, labels).dictionary_decode())
    return pa.chunked_array(chunks, pa.string())


def check_build(spec: GwasSpec) -> str | None:
    """The declared build, checked against a GWAS-SSF metadata file (``<file>-meta.yaml``) if there is one."""
    declared = spec.build
    if spec.path is None:
        return declared
    for meta_path in (Path(f"{spec.path}-meta.yaml"), Path(spec.path).with_suffix(".yaml")):
        if meta_path.exists():
            with open(meta_path) as fh:
                meta = yaml.safe_load(fh) or {}
            found = meta.get("genome_assembly")
            if found and declared and str(found).lower() != str(declared).lower():
                raise DataError(
                    f"GWAS file {spec.path}: gwas.{spec.name}.build is {declared!r} but its metadata {meta_path} "
                    f"declares genome_assembly {found!r}. Lift the file over or correct the declared build."
                )
            return str(found) if found and not declared else declared
    return declared


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
    build = check_build(spec)
    table, fmt, n_rows = read_gwas(spec)
    path = spec.path
    flow: list[dict[str, Any]] = [flow_row("read", n_rows, n_rows, f"rows read from {Path(path).name} ({fmt} layout)")]
    names = set(table.column_names)
    n = table.num_rows
    cache: dict[str, np.ndarray] = {}

    def num(name: str) -> np.ndarray | None:
        if name not in names:
            return None
        if name not in cache:
            cache[name] = np.asarray(table.column(name).to_numpy(), dtype=float)  # nulls -> NaN
        return cache[name]

    beta = num("beta")
    if beta is None:
        orr = num("odds_ratio")
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.log(orr)
        flow.append(flow_row("odds_ratio", n, n, "note: beta = log(odds_ratio)"))
    se = num("se")
    pval = num("pval")
    if pval is None and "neg_log10_pval" in names:
        pval = 10.0 ** -num("neg_log10_pval")
    eaf = num("eaf")
    ea, ea_values = _allele_codes(table.column("effect_allele"))
    if "other_allele" in names:
        oa, oa_values = _allele_codes(table.column("other_allele"))
    else:
        oa, oa_values = np.full(n, -1, np.int32), np.array([], object)
        flow.append(flow_row("other_allele", n, n, "note: no other_allele column; harmonised as TwoSampleMR's 1-allele case"))
    snp = table.column("SNP")
    if snp.null_count:
        snp_missing = snp.is_null().to_numpy(zero_copy_only=False)
    else:
        snp_missing = np.zeros(n, bool)

    keep = np.ones(n, bool)
    problems: list[tuple[str, np.ndarray, str]] = []

    def exclude(step: str, bad: np.ndarray, reason: str) -> None:
        nonlocal keep
        newly = bad & keep
        n_in = int(keep.sum())
        keep = keep & ~bad
        flow.append(flow_row(step, n_in, int(keep.sum()), f"excluded: {reason}"))
        if newly.any():
            problems.append((step, newly, reason))

    exclude("missing", snp_missing | (ea < 0) | np.isnan(beta) | np.isnan(se),
            "SNP id, effect allele, beta or se missing")

    def allele_ok(values: np.ndarray) -> np.ndarray:
        ok = np.array([bool(_ALLELE.match(v)) for v in values], dtype=bool)
        if not spec.allow_indels:
            return ok & np.array([len(v) == 1 for v in values], dtype=bool)
        return ok | np.isin(values, ["D", "I"])

    # lookups indexed by code, with the sentinel for code -1 (missing) at the end
    ea_ok = np.append(allele_ok(ea_values), False)[ea]
    oa_ok = np.append(allele_ok(oa_values), True)[oa]  # a missing other allele is allowed (1-allele harmonisation)
    exclude("alleles", ~ea_ok | ~oa_ok,
            "allele not A/C/G/T" + ("" if spec.allow_indels else " or an indel (set allow_indels: true to keep indels)"))
    # effect allele == other allele, compared as codes: each other-allele code mapped into the effect dictionary
    ea_index = {v: i for i, v in enumerate(ea_values)}
    oa_in_ea = np.array([ea_index.get(v, -2) for v in oa_values] + [-3], dtype=np.int32)
    exclude("alleles_equal", (ea >= 0) & (oa_in_ea[oa] == ea), "effect allele equals other allele")
    with np.errstate(invalid="ignore"):
        exclude("se", ~(se > 0) | ~np.isfinite(se), "se <= 0 or not finite")
        exclude("beta", ~np.isfinite(beta), "beta not finite")
        if pval is not None:
            exclude("pval", (pval < 0) | (pval > 1), "p-value outside [0, 1]")
        if eaf is not None:
            exclude("eaf", (eaf < 0) | (eaf > 1), "effect allele frequency outside [0, 1]")

    all_kept = bool(keep.all())
    keep_arr = None if all_kept else pa.array(keep)
    # duplicated ids: keep the first occurrence in file order
    snp_kept = (snp if all_kept else snp.filter(keep_arr)).combine_chunks()
    if _has_duplicates(snp_kept):
        idx_all = np.flatnonzero(keep)
        t = pa.table({"SNP": snp_kept, "i": pa.array(idx_all)})
        first = t.group_by("SNP").aggregate([("i", "min")]).column("i_min").to_numpy()
        dup = keep.copy()
        dup[first] = False
        dup_ids = snp.filter(pa.array(dup)).to_pylist()[:5]
        exclude("duplicates", dup, f"duplicated SNP id (first kept), e.g. {show_values(dup_ids)}")
        all_kept = False
        keep_arr = pa.array(keep)
        snp_kept = snp.filter(keep_arr).combine_chunks()
    else:
        flow.append(flow_row("duplicates", int(keep.sum()), int(keep.sum()), "excluded: duplicated SNP id (first kept)"))

    if spec.strict and problems:
        step, bad, reason = problems[0]
        rows = np.flatnonzero(bad)[:5] + 2
        raise DataError(
            f"GWAS file {path}: {int(bad.sum())} rows fail the check '{reason}' (file lines {show_values(rows.tolist())}); "
            f"gwas.{spec.name}.strict is true. Fix the file or set strict: false to count them out."
        )
    n_keep = int(keep.sum())
    if n_keep == 0:
        raise DataError(
            f"GWAS file {path}: no variant left after the checks (see the flow: "
            f"{'; '.join(str(r['step']) + ': ' + str(r['n_excluded']) for r in flow)}). Check the column map and the file."
        )
    for step, bad, reason in problems:
        logger.warning("%s: %d variants excluded at '%s' (%s)", spec.name, int(bad.sum()), step, reason)

    sel = None if all_kept else np.flatnonzero(keep)

    def rows_of(x: np.ndarray) -> np.ndarray:
        return x if sel is None else x[sel]

    beta_k, se_k = rows_of(beta), rows_of(se)
    if pval is None:
        pval_k = 2.0 * ndtr(-np.abs(beta_k / se_k))
        flow.append(flow_row("pval_recomputed", n_keep, n_keep, "note: no p-value column; p computed from z = beta/se"))
    else:
        pval_k = pval[sel] if sel is not None else pval.copy()
        fill = np.flatnonzero(np.isnan(pval_k) | (pval_k == 0))
        if len(fill):
            p_from_z = 2.0 * ndtr(-np.abs(beta_k[fill] / se_k[fill]))
            pval_k[fill] = np.maximum(p_from_z, np.finfo(float).tiny)
            flow.append(flow_row("pval_recomputed", n_keep, n_keep,
                                 f"note: {len(fill)} variants with p = 0 or missing kept; p recomputed from z = beta/se"))

    def const_or_col(name: str, value: float | None) -> np.ndarray:
        col = num(name)
        if col is not None:
            out = rows_of(col)
            if value is not None and np.isnan(out).any():
                out = np.where(np.isnan(out), float(value), out)
            return out
        return np.full(n_keep, np.nan if value is None else float(value))

    ncase = const_or_col("ncase", spec.ncase)
    ncontrol = const_or_col("ncontrol", spec.ncontrol)
    samplesize = const_or_col("samplesize", spec.n)
    if np.isnan(samplesize).any():
        samplesize = np.where(np.isnan(samplesize), ncase + ncontrol, samplesize)

    def kept_column(name: str) -> pa.ChunkedArray:
        col = table.column(name)
        return col if keep_arr is None else col.filter(keep_arr)

    chrom = _strip_chr(kept_column("chr")) if "chr" in names else pa.nulls(n_keep, pa.string())
    if "pos" not in names:
        pos = pa.nulls(n_keep, pa.int64())
    elif pa.types.is_integer(table.column("pos").type):
        pos = pc.cast(kept_column("pos"), pa.int64())
    else:
        try:
            pos = pc.cast(pc.cast(kept_column("pos"), pa.float64()), pa.int64())
        except pa.ArrowInvalid as exc:
            raise DataError(f"GWAS file {path}: the position column is not numeric ({exc})") from None

    meta = {
        "trait": spec.name,
        "source": str(path),
        "format": fmt,
        "trait_type": spec.trait_type,
        "units": spec.units,
        "build": build,
        "prevalence": spec.prevalence,
        "n_rows_read": n_rows,
        "n_variants": n_keep,
    }

    def floats(x: np.ndarray) -> pa.Array:
        return pa.array(x, pa.float64(), from_pandas=True)

    out = pa.table(
        {
            "SNP": pc.cast(snp_kept, pa.string()),
            "chr": chrom,
            "pos": pos,
            "effect_allele": _dictionary_array(rows_of(ea), ea_values),
            "other_allele": _dictionary_array(rows_of(oa), oa_values) if len(oa_values) else pa.nulls(n_keep, pa.dictionary(pa.int32(), pa.string())),
            "beta": pa.array(beta_k),
            "se": pa.array(se_k),
            "eaf": floats(rows_of(eaf)) if eaf is not None else pa.nulls(n_keep, pa.float64()),
            "pval": pa.array(pval_k),
            "samplesize": floats(samplesize),
            "ncase": floats(ncase),
            "ncontrol": floats(ncontrol),
        }
    )
    out = out.replace_schema_metadata({"musclecog": json.dumps(meta, sort_keys=True)})
    flow.append(flow_row("standardised", n_keep, n_keep, f"variants written for trait {spec.name}"))
    rows = np.arange(n_keep, dtype=np.int64) if sel is None else sel.astype(np.int64)
    return StandardisedGwas(table=out, flow=flow_frame(flow), meta=meta, rows=rows)


HEAD_P = 1e-5
"""Variants with p <= HEAD_P are written first, in their own row group, so instrument selection at the usual
thresholds (5e-8, fallback 5e-6) reads only that group (parquet statistics push-down on ``pval``)."""

ROW_GROUP_ROWS = 1 << 14
"""Rows per row group after the head: small enough that looking up ~100 instruments in the outcome file
decodes a few percent of it, large enough for a compact footer."""


def write_standardised(result: StandardisedGwas, parquet_path: str | Path, flow_path: str | Path | None = None) -> None:
    """Write the standardised table (parquet, zstd) and its flow table (TSV).

    Layout: the variants with p <= :data:`HEAD_P` first (one row group, in file order), then all others in file
    order, :data:`ROW_GROUP_ROWS` rows per group, with p-value statistics. The extra column ``file_row`` (the
    variant's data row in the source file, 0 = first line after the header) restores file order:
    :func:`read_standardised` returns rows in that order, exactly as the file listed them.
    """
    from musclecog.results import write_table

    Path(parquet_path).parent.mkdir(parents=True, exist_ok=True)
    table = result.table
    n = table.num_rows
    rows = np.arange(n, dtype=np.int64) if result.rows is None else np.asarray(result.rows, np.int64)
    table = table.append_column("file_row", pa.array(rows))
    head = table.column("pval").to_numpy() <= HEAD_P
    dict_cols = [c for c in ("chr", "effect_allele", "other_allele") if c in table.column_names]
    with pq.ParquetWriter(
        str(parquet_path), table.schema, compression="zstd", use_dictionary=dict_cols,
        write_statistics=["pval"], column_encoding={"file_row": "DELTA_BINARY_PACKED"},
    ) as writer:
        if head.any():
            writer.write_table(table.filter(pa.array(head)), row_group_size=max(int(head.sum()), 1))
        for start in range(0, n, ROW_GROUP_ROWS):
            part = table.slice(start, ROW_GROUP_ROWS)
            in_head = head[start:start + ROW_GROUP_ROWS]
            if in_head.any():
                part = part.filter(pa.array(~in_head))
            if part.num_rows:
                writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
    if flow_path is not None:
        write_table(result.flow, flow_path)


def read_meta(parquet_path: str | Path) -> dict[str, Any]:
    """The trait metadata stored in a standardised parquet file."""
    md = pq.read_schema(str(parquet_path)).metadata or {}
    raw = md.get(b"musclecog")
    if raw is None:
        raise DataError(f"{parquet_path} is not a standardised GWAS table (no musclecog metadata); rerun the pipeline")
    return json.loads(raw)


def _to_pandas(table: pa.Table, keep_row: bool = False) -> pd.DataFrame:
    """File order (``file_row``), then pandas with alleles as plain strings."""
    if "file_row" in table.column_names:
        fr = table.column("file_row").to_numpy()
        if len(fr) > 1 and bool((fr[1:] < fr[:-1]).any()):
            table = table.take(pa.array(np.argsort(fr, kind="stable")))
        if not keep_row:
            table = table.drop_columns(["file_row"])
    df = table.to_pandas()
    for col in ("effect_allele", "other_allele"):
        if col in df.columns:
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


def read_standardised(
    parquet_path: str | Path, columns: list[str] | None = None, filters: Any = None
) -> pd.DataFrame:
    """Read (part of) a standardised GWAS table into pandas, in the source file's order, alleles as plain strings.

    ``filters`` are pyarrow's (e.g. ``[("pval", "<=", 5e-8)]``); row groups whose p-value statistics rule them
    out are not read.
    """
    names = pq.read_schema(str(parquet_path)).names
    cols = columns
    if columns is not None and "file_row" in names and "file_row" not in columns:
        cols = [*columns, "file_row"]
    table = pq.read_table(str(parquet_path), columns=cols, filters=filters)
    return _to_pandas(table, keep_row=columns is not None and "file_row" in columns)


def read_variants(parquet_path: str | Path, snps: list[str] | np.ndarray) -> pd.DataFrame:
    """The rows of a standardised GWAS table whose SNP id is in ``snps`` (file order), e.g. an exposure's
    instruments looked up in the outcome GWAS.

    Only the ``SNP`` column is read whole; then only the row groups that hold a requested variant are decoded
    (with the default layout, about a few percent of a genome-wide file for a hundred instruments).
    """
    pf = pq.ParquetFile(str(parquet_path))
    ids = pa.array([str(s) for s in snps], pa.string())
    snp = pq.read_table(str(parquet_path), columns=["SNP"]).column("SNP")  # row groups decoded in parallel
    hits = np.flatnonzero(pc.is_in(snp, value_set=ids).to_numpy(zero_copy_only=False))
    sizes = np.array([pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)], np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    groups = np.unique(np.searchsorted(starts, hits, side="right") - 1)
    if len(groups) == 0:
        return _to_pandas(pf.schema_arrow.empty_table())
    table = pf.read_row_groups(groups.tolist())
    local_start = np.concatenate([[0], np.cumsum(sizes[groups])])
    g_of_hit = np.searchsorted(groups, np.searchsorted(starts, hits, side="right") - 1)
    local = hits - starts[groups[g_of_hit]] + local_start[g_of_hit]
    return _to_pandas(table.take(pa.array(local)))
