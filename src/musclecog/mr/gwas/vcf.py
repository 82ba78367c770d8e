"""GWAS-VCF (the MRC IEU / OpenGWAS format, Lyon et al. 2021): reading the summary statistics of one sample
column, genome-wide or for a region, with the trait's metadata from the header.

Layout (gwas2vcf, specification 1.0): one record per bi-allelic variant, ``#CHROM POS ID REF ALT QUAL FILTER
INFO FORMAT <trait>...``; the ``FORMAT`` column names the colon-separated fields of each sample column, of which
``ES`` (effect of the ALT allele), ``SE``, ``LP`` (-log10 p), ``AF`` (ALT allele frequency), ``SS`` (sample size),
``NC`` (cases) and ``ID`` (the study's variant id) are used. The standard table takes, as gwasglue's
``gwasvcf_to_TwoSampleMR``: SNP = the ``ID`` column (rsID), chr, pos, effect_allele = ALT, other_allele = REF,
beta = ES, se = SE, pval = 10^-LP (LP = 999, gwas2vcf's p = 0, becomes p = 0 and is recomputed from z as in
every layout), eaf = AF, samplesize = SS, ncase = NC. Header metadata: the sample's ``##SAMPLE=<ID=...>`` line
(``TotalCases``, ``TotalControls``, ``StudyType``) and the build from ``##contig=<...,assembly=...>``.

The file (plain, gzip or bgzip, which is a series of gzip members) is parsed with pyarrow's CSV reader (tab,
no quoting, the meta lines skipped); the sample column is split on ``:`` once, and each field taken by its
position in that row's FORMAT string, for every row in one vectorised pass. A region (``chr:start-end``), or a
list of regions (:func:`read_vcf_regions`, one call for all), is read through the tabix index ``<file>.tbi`` (or
``.csi``) when one lies beside a bgzip file: only the BGZF blocks the index points at are decompressed
(:mod:`musclecog.mr.gwas.tabix`, our own reader of the SAM/tabix index formats; measured in
``benchmarks/bench_vcf_region.py``: 50 regions of 500 kb of a 2-million-variant file in 0.2-0.3 s against 10 s
for a scan, as fast as pysam's fetch); without an index the file is scanned in batches, keeping the regions' records. The path taken is in
the flow (``region_read``) and the metadata (``region_read``). pysam is not a dependency.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from musclecog.errors import ConfigError, DataError, show_values
from musclecog.filters import flow_row
from musclecog.mr.gwas.tabix import TABIX_SUFFIX, BgzfReader, index_path, read_index

VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz")
VCF_FIELDS = {"ES": "beta", "SE": "se", "LP": "neg_log10_pval", "AF": "eaf", "SS": "samplesize", "NC": "ncase"}
"""GWAS-VCF FORMAT fields and the standard names they become."""
REQUIRED_FIELDS = ("ES", "SE")
EXPECTED_FORMAT = "ES:SE:LP:AF:SS:ID"
_FIXED = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
_MISSING = [".", ""]
_REGION = re.compile(r"^(?:chr)?([0-9A-Za-z_.]+)(?::([0-9,]+)?-([0-9,]+)?)?$")
_BUILDS = {"hg19": "GRCh37", "grch37": "GRCh37", "b37": "GRCh37", "hg38": "GRCh38", "grch38": "GRCh38",
           "hg18": "NCBI36", "ncbi36": "NCBI36", "b36": "NCBI36"}

FlowRows = list[dict[str, Any]]


def is_vcf_path(path: str | Path) -> bool:
    """Whether a file name ends in ``.vcf``, ``.vcf.gz`` or ``.vcf.bgz`` (what ``format: auto`` reads as VCF)."""
    return str(path).lower().endswith(VCF_SUFFIXES)


def normalise_build(build: str | None) -> str | None:
    """A build label as GRCh37 / GRCh38 / NCBI36 where recognised (``HG19/GRCh37`` -> ``GRCh37``), else as is."""
    if not build:
        return None
    for part in re.split(r"[/,; ]+", str(build)):
        found = _BUILDS.get(part.strip().lower().split(".")[0])
        if found:
            return found
    return str(build)


def is_known_build(build: str | None) -> bool:
    """Whether a label names GRCh37, GRCh38 or NCBI36 (by any of their usual names)."""
    return normalise_build(build) in set(_BUILDS.values())


@dataclass(frozen=True)
class Region:
    """A genomic region ``chrom[:start-end]`` (1-based, inclusive; an open end reads to the chromosome's end)."""

    chrom: str
    start: int | None = None
    end: int | None = None

    @classmethod
    def parse(cls, text: str, where: str = "region") -> Region:
        """Parse ``"1:100000-200000"``, ``"chr1:100,000-"`` or ``"1"``."""
        m = _REGION.match(str(text).strip())
        if not m:
            raise ConfigError(f"config: '{where}' is {text!r}; write a region as chrom:start-end, e.g. 1:1000000-2000000")
        start = int(m.group(2).replace(",", "")) if m.group(2) else None
        end = int(m.group(3).replace(",", "")) if m.group(3) else None
        if start is not None and end is not None and end < start:
            raise ConfigError(f"config: '{where}' is {text!r}: the end is before the start")
        return cls(m.group(1), start, end)

    def mask(self, chrom: pa.ChunkedArray | pa.Array, pos: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
        """Which records lie in the region (chromosome compared without a ``chr`` prefix)."""
        labels = pc.replace_substring_regex(pc.cast(chrom, pa.string()), "^(chr|CHR|Chr)", "")
        keep = pc.fill_null(pc.equal(labels, self.chrom), False)
        if self.start is not None:
            keep = pc.and_(keep, pc.fill_null(pc.greater_equal(pos, self.start), False))
        if self.end is not None:
            keep = pc.and_(keep, pc.fill_null(pc.less_equal(pos, self.end), False))
        return keep

    def __str__(self) -> str:
        if self.start is None and self.end is None:
            return self.chrom
        return f"{self.chrom}:{self.start or ''}-{self.end or ''}"


@dataclass(frozen=True)
class VcfHeader:
    """What the meta lines and the column line of a GWAS-VCF say."""

    n_meta: int
    columns: list[str]
    samples: list[str]
    format_ids: list[str]
    sample_meta: dict[str, dict[str, str]]
    build: str | None
    compressed: bool


@dataclass(frozen=True)
class VcfRead:
    """The records of one sample column as a table in standard names, with the rows read, the kept records'
    data rows in the file, the flow rows of the reading and the header's metadata."""

    table: pa.Table
    n_rows: int
    rows: np.ndarray
    flow: FlowRows
    meta: dict[str, Any] = field(default_factory=dict)


def _gzip_magic(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_text(path: Path, compressed: bool) -> IO[str]:
    return gzip.open(path, "rt", errors="replace") if compressed else open(path, errors="replace")


def _angle_fields(line: str) -> dict[str, str]:
    """``key=value`` pairs of a ``##KEY=<a=1,b="x, y">`` meta line."""
    body = line.split("=", 1)[1].strip()
    if body.startswith("<") and body.endswith(">"):
        body = body[1:-1]
    return {k.strip(): v.strip().strip('"') for k, v in re.findall(r'([^=,]+)=("[^"]*"|[^,]*)', body)}


def _meta_line(line: str, format_ids: list[str], sample_meta: dict[str, dict[str, str]], builds: list[str]) -> None:
    """Collect what one ``##`` line says: a FORMAT field, a SAMPLE's metadata, a contig's assembly."""
    key = line[2:].split("=", 1)[0]
    if key == "FORMAT":
        format_ids.append(_angle_fields(line).get("ID", "?"))
    elif key == "SAMPLE":
        fields = _angle_fields(line)
        sample_meta[fields.get("ID", "?")] = fields
    elif key == "contig":
        asm = _angle_fields(line).get("assembly")
        if asm:
            builds.append(asm)
    elif key in ("reference", "genome_build", "assembly") and is_known_build(line.split("=", 1)[1]):
        builds.append(line.split("=", 1)[1])


def read_vcf_header(path: str | Path) -> VcfHeader:
    """Parse the meta lines (``##``) and the column line (``#CHROM``) of a VCF.

    Raises
    ------
    DataError
        No ``#CHROM`` line, or a column line without ``FORMAT`` and a sample column.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"GWAS-VCF file {path} does not exist; correct 'gwas.<trait>.path' in the config")
    compressed = _gzip_magic(path)
    format_ids: list[str] = []
    sample_meta: dict[str, dict[str, str]] = {}
    builds: list[str] = []
    n_meta = 0
    columns: list[str] | None = None
    try:
        with _open_text(path, compressed) as fh:
            for line in fh:
                line = line.rstrip("\r\n")
                if line.startswith("##"):
                    n_meta += 1
                    _meta_line(line, format_ids, sample_meta, builds)
                    continue
                if line.startswith("#"):
                    columns = line.split("\t")
                break
    except (OSError, EOFError) as exc:
        raise DataError(
            f"GWAS-VCF file {path}: the compressed stream is truncated or corrupt ({exc}); fetch the file again"
        ) from None
    if columns is None:
        raise DataError(f"GWAS-VCF file {path} has no '#CHROM' column line after its {n_meta} meta lines; not a VCF")
    if columns[: len(_FIXED)] != _FIXED or len(columns) <= len(_FIXED):
        raise DataError(
            f"GWAS-VCF file {path}: the column line is {show_values(columns, limit=12)}; a GWAS-VCF has "
            f"{' '.join(_FIXED)} and one column per trait (sample)"
        )
    build = normalise_build(builds[0]) if builds else None
    return VcfHeader(n_meta, columns, columns[len(_FIXED):], format_ids, sample_meta, build, compressed)


def _input(path: Path, compressed: bool) -> pa.NativeFile:
    return pa.input_stream(str(path), compression="gzip" if compressed else None)


def _read_options(header: VcfHeader, block: int = 1 << 24) -> dict[str, Any]:
    return {
        "read_options": pacsv.ReadOptions(skip_rows=header.n_meta + 1, column_names=header.columns,
                                          block_size=block),
        "parse_options": pacsv.ParseOptions(delimiter="\t", quote_char=False),
    }


def _convert(sample: str) -> pacsv.ConvertOptions:
    dict_type = pa.dictionary(pa.int32(), pa.string())
    return pacsv.ConvertOptions(
        include_columns=["#CHROM", "POS", "ID", "REF", "ALT", "FORMAT", sample],
        column_types={"#CHROM": dict_type, "POS": pa.int64(), "ID": pa.string(), "REF": dict_type,
                      "ALT": dict_type, "FORMAT": dict_type, sample: pa.string()},
        null_values=["."], strings_can_be_null=True,
    )


def _scan_regions(path: Path, header: VcfHeader, sample: str,
                  regions: list[Region]) -> tuple[list[tuple[pa.Table, np.ndarray]], int]:
    """Each region's records and data rows, from one pass over the file in batches; the number of records."""
    reader = pacsv.open_csv(_input(path, header.compressed), convert_options=_convert(sample),
                            **_read_options(header))
    batches: list[list[pa.RecordBatch]] = [[] for _ in regions]
    rows: list[list[np.ndarray]] = [[] for _ in regions]
    n = 0
    for batch in reader:
        for k, region in enumerate(regions):
            keep = region.mask(batch.column("#CHROM"), batch.column("POS")).to_numpy(zero_copy_only=False)
            if keep.any():
                batches[k].append(batch.filter(pa.array(keep)))
                rows[k].append(np.flatnonzero(keep) + n)
        n += batch.num_rows
    out = [(pa.Table.from_batches(b, schema=reader.schema),
            np.concatenate(r) if r else np.zeros(0, np.int64)) for b, r in zip(batches, rows, strict=True)]
    return out, n


def _empty(header: VcfHeader, sample: str) -> pa.Table:
    conv = _convert(sample)
    return pa.schema([(c, conv.column_types[c]) for c in conv.include_columns]).empty_table()


def _index_regions(path: Path, header: VcfHeader, sample: str, regions: list[Region],
                   tbi: Path) -> tuple[list[tuple[pa.Table, np.ndarray]], int | None]:
    """Each region's records and their BGZF virtual offsets, decompressing only the blocks the tabix index
    points at; the number of records in the file (the index's counts)."""
    index = read_index(tbi, path)
    if (index.col_seq, index.col_beg) != (1, 2):
        raise DataError(
            f"tabix index {tbi} indexes columns {index.col_seq} (sequence) and {index.col_beg} (position), not a "
            f"VCF's 1 and 2; re-index it with `tabix -f -p vcf {path}`"
        )
    opts = _read_options(header)
    read_opts = pacsv.ReadOptions(column_names=header.columns, block_size=1 << 24)
    out = []
    with BgzfReader(path, tbi) as reader:
        for region in regions:
            buf, voff = reader.read_chunks(index.chunks(region.chrom, region.start, region.end))
            if not buf:
                out.append((_empty(header, sample), np.zeros(0, np.int64)))
                continue
            try:
                table = pacsv.read_csv(pa.BufferReader(buf), read_options=read_opts,
                                       parse_options=opts["parse_options"], convert_options=_convert(sample))
            except pa.ArrowInvalid as exc:
                raise DataError(
                    f"GWAS-VCF file {path}: the records the tabix index {tbi} points at for {region} do not "
                    f"parse ({exc}); re-index it with `tabix -f -p vcf {path}`"
                ) from None
            if table.num_rows != len(voff):
                raise DataError(
                    f"GWAS-VCF file {path}: {table.num_rows} records parsed from {len(voff)} lines the tabix index "
                    f"{tbi} points at for {region}; re-index it with `tabix -f -p vcf {path}`"
                )
            keep = region.mask(table.column("#CHROM"), table.column("POS"))
            out.append((table.filter(keep), voff[keep.to_numpy(zero_copy_only=False)]))
    return out, index.n_records


def _as_regions(region: Region | Sequence[Region] | None) -> list[Region] | None:
    if region is None:
        return None
    out = [region] if isinstance(region, Region) else list(region)
    if not out:
        raise ConfigError("config: an empty list of regions; give at least one chrom:start-end or none")
    return out


def _read_regions(path: Path, header: VcfHeader, sample: str, regions: list[Region],
                  index: bool | None) -> tuple[list[tuple[pa.Table, np.ndarray]], int, str]:
    """Each region's records and rows, through the tabix index when there is one (``index`` None: if present;
    True: required; False: scan), with the number of records in the file and how they were read."""
    tbi = index_path(path) if index is not False else None
    if index is True and tbi is None:
        raise DataError(f"GWAS-VCF file {path} has no tabix index {path}{TABIX_SUFFIX} (or .csi); make it with "
                        f"`tabix -p vcf {path}`")
    if tbi is None:
        parts, n = _scan_regions(path, header, sample, regions)
        return parts, n, "scan"
    parts, n_index = _index_regions(path, header, sample, regions, tbi)
    n_read = sum(len(r) for _, r in parts)
    return parts, (n_read if n_index is None else n_index), f"tabix index {tbi.name}"


def _format_fields(formats: pa.ChunkedArray) -> tuple[np.ndarray, list[list[str]]]:
    """Per record, the code of its FORMAT string (-1 missing), and each distinct string's field names."""
    col = formats.unify_dictionaries() if formats.num_chunks else pa.chunked_array([], formats.type)
    values = col.chunks[0].dictionary.to_pylist() if col.num_chunks else []
    codes = np.concatenate([c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in col.chunks]) \
        if col.num_chunks else np.zeros(0, np.int64)
    return codes.astype(np.int64), [str(v).split(":") for v in values]


def _sample_fields(table: pa.Table, sample: str, wanted: list[str], path: Path) -> dict[str, pa.Array]:
    """Each wanted FORMAT field of the sample column, as strings, taken by its position in each record's
    FORMAT (null where the record lacks it or the sample column ends early)."""
    codes, names = _format_fields(table.column("FORMAT"))
    parts = pc.split_pattern(table.column(sample).combine_chunks(), ":")
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    offsets = parts.offsets.to_numpy()[:-1]  # into parts.values (null lists: length 0 below)
    lengths = pc.fill_null(pc.list_value_length(parts), 0).to_numpy(zero_copy_only=False)
    flat = parts.values
    out: dict[str, pa.Array] = {}
    for fid in wanted:
        index = np.array([f.index(fid) if fid in f else -1 for f in names] + [-1], np.int64)[codes]
        ok = (index >= 0) & (index < lengths)
        take = np.where(ok, offsets + index, 0)
        values = flat.take(pa.array(take)) if len(flat) else pa.nulls(len(take), pa.string())
        values = pc.if_else(pa.array(ok), values, pa.scalar(None, pa.string()))
        out[fid] = pc.if_else(pc.is_in(values, value_set=pa.array(_MISSING)), pa.scalar(None, pa.string()), values)
    return out


def _to_float(values: pa.Array, fid: str, path: Path) -> pa.Array:
    try:
        return pc.cast(values, pa.float64())
    except pa.ArrowInvalid:
        bad = pc.filter(values, pc.invert(pc.fill_null(pc.match_substring_regex(
            values, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|nan|Inf|NaN)$"), True)))
        raise DataError(
            f"GWAS-VCF file {path}: FORMAT field {fid} holds values that are not numbers, e.g. "
            f"{show_values(bad.to_pylist())}. Multi-allelic records must be split first (bcftools norm -m-)."
        ) from None


def _field_check(header: VcfHeader, table: pa.Table, path: Path) -> list[str]:
    """The FORMAT fields present (header definitions and the records' FORMAT strings); an error when ES or SE
    is missing."""
    _, names = _format_fields(table.column("FORMAT"))
    in_records = sorted({f for fs in names for f in fs})
    found = list(dict.fromkeys(header.format_ids + in_records))
    missing = [f for f in REQUIRED_FIELDS if f not in in_records]
    if missing or not in_records:
        raise DataError(
            f"GWAS-VCF file {path}: the FORMAT fields {missing or list(REQUIRED_FIELDS)} are missing; fields found: "
            f"{', '.join(found) or 'none'} (FORMAT strings in the records: "
            f"{show_values([':'.join(n) for n in names])}). A GWAS-VCF (IEU/OpenGWAS, gwas2vcf) has "
            f"{EXPECTED_FORMAT} per trait column; a genotype VCF is not summary statistics."
        )
    return in_records


def _choose_sample(header: VcfHeader, sample: str | None, path: Path) -> str:
    if sample is None:
        return header.samples[0]
    if sample not in header.samples:
        raise ConfigError(
            f"config: gwas.<trait>.sample is {sample!r}, not a sample column of {path}; its samples are "
            f"{show_values(header.samples, limit=10)}"
        )
    return sample


def _number(meta: dict[str, str], *keys: str) -> float | None:
    for k in keys:
        try:
            return float(meta[k])
        except (KeyError, ValueError):
            continue
    return None


def read_vcf(path: str | Path, sample: str | None = None, region: Region | Sequence[Region] | None = None,
             index: bool | None = None) -> VcfRead:
    """Read one sample column of a GWAS-VCF into the standard column names.

    Parameters
    ----------
    path : path
        ``.vcf``, ``.vcf.gz`` (bgzip or gzip).
    sample : str, optional
        The sample (trait) column; default the first.
    region : Region or sequence of Region, optional
        Read only this region, or the records in any of these regions (each record once, file order).
    index : bool, optional
        With a region: None (default) reads through the tabix index ``<path>.tbi`` (or ``<path>.csi``) when
        there is one (only the BGZF blocks it points at are decompressed) and scans the file otherwise; True
        requires the index; False always scans. The path taken is ``meta['region_read']`` and a flow row
        (``region_read``).

    Returns
    -------
    VcfRead
        Columns ``SNP, chr, pos, effect_allele (ALT), other_allele (REF), beta, se, neg_log10_pval, eaf,
        samplesize, ncase`` (those the records carry); multi-allelic records are counted out (flow row).
        ``rows``: each record's data row in the file when scanned (0 = the first record), its BGZF virtual
        offset when read through the index (both increase in file order).

    Raises
    ------
    DataError
        Not a GWAS-VCF: no ``ES``/``SE`` FORMAT fields (the message lists the fields found), values that are
        not numbers; a stale or damaged tabix index (the message says how to re-index).
    """
    path = Path(path)
    header = read_vcf_header(path)
    chosen = _choose_sample(header, sample, path)
    regions = _as_regions(region)
    if regions is None:
        table = pacsv.read_csv(_input(path, header.compressed), convert_options=_convert(chosen),
                               **_read_options(header))
        return _finish(path, header, chosen, table, table.num_rows, np.arange(table.num_rows, dtype=np.int64), [])
    parts, n_rows, how = _read_regions(path, header, chosen, regions, index)
    table, rows = _union(parts)
    label = ", ".join(str(r) for r in regions)
    flow = _region_flow(n_rows, table.num_rows, label, how)
    return _finish(path, header, chosen, table, n_rows, rows, flow, how)


def read_vcf_regions(path: str | Path, regions: Sequence[Region], sample: str | None = None,
                     index: bool | None = None) -> list[VcfRead]:
    """Read several regions of one GWAS-VCF in one call (the header, the index and the file opened once;
    through the tabix index when there is one, else in one scan), one :class:`VcfRead` per region in the
    order given. Parameters as :func:`read_vcf`."""
    path = Path(path)
    header = read_vcf_header(path)
    chosen = _choose_sample(header, sample, path)
    regions = _as_regions(list(regions)) or []
    parts, n_rows, how = _read_regions(path, header, chosen, regions, index)
    return [_finish(path, header, chosen, table, n_rows, rows, _region_flow(n_rows, table.num_rows, str(r), how), how)
            for (table, rows), r in zip(parts, regions, strict=True)]


def _union(parts: list[tuple[pa.Table, np.ndarray]]) -> tuple[pa.Table, np.ndarray]:
    """The records of several regions, each once, in file order (by row or virtual offset)."""
    if len(parts) == 1:
        return parts[0]
    rows = np.concatenate([r for _, r in parts])
    table = pa.concat_tables([t for t, _ in parts])
    uniq, first = np.unique(rows, return_index=True)
    return table.take(pa.array(first)), uniq


_UNINDEXED = {"scan": "the whole file scanned", "filtered after reading": "the whole file read, then filtered"}


def region_read_row(n_rows: int, how: str) -> dict[str, Any]:
    """The flow row saying how a region was read: ``how`` is ``tabix index <name>``, ``scan`` (a GWAS-VCF) or
    ``filtered after reading`` (other layouts), as ``meta['region_read']``."""
    note = (f"note: no tabix index beside the file; {_UNINDEXED[how]}" if how in _UNINDEXED
            else f"note: read through the {how} (only the BGZF blocks it points at decompressed)")
    return flow_row("region_read", n_rows, n_rows, note)


def _region_flow(n_rows: int, n_out: int, label: str, how: str) -> FlowRows:
    return [region_read_row(n_rows, how), flow_row("region", n_rows, n_out, f"excluded: outside the region {label}")]


def _finish(path: Path, header: VcfHeader, chosen: str, table: pa.Table, n_rows: int, rows: np.ndarray,
            flow: FlowRows, how: str | None = None) -> VcfRead:
    """The records read as a :class:`VcfRead`: multi-allelic records counted out, the FORMAT fields split."""
    if len(header.samples) > 1:
        flow.append(flow_row("vcf_sample", table.num_rows, table.num_rows,
                             f"note: sample column {chosen} of {show_values(header.samples, limit=10)} read"))
    present = _field_check(header, table, path) if table.num_rows else list(REQUIRED_FIELDS)
    multi = pc.fill_null(pc.match_substring(pc.cast(table.column("ALT"), pa.string()), ","), False)
    n_multi = pc.sum(pc.cast(multi, pa.int64())).as_py() or 0
    n_in = table.num_rows
    if n_multi:
        keep = pc.invert(multi)
        rows = rows[keep.to_numpy(zero_copy_only=False)]
        table = table.filter(keep)
        for name in ("ALT", "REF"):  # drop the multi-allelic codes from the dictionaries
            i = table.column_names.index(name)
            table = table.set_column(i, name, pc.dictionary_encode(pc.cast(table.column(name), pa.string())))
    flow.append(flow_row("multiallelic", n_in, table.num_rows,
                         "excluded: multi-allelic record (split it with bcftools norm -m-)"))
    wanted = [f for f in VCF_FIELDS if f in present]
    fields = _sample_fields(table, chosen, wanted, path) if table.num_rows else {}
    out: dict[str, Any] = {
        "SNP": table.column("ID"),
        "chr": table.column("#CHROM"),
        "pos": table.column("POS"),
        "effect_allele": table.column("ALT"),
        "other_allele": table.column("REF"),
    }
    for fid in wanted:
        values = fields.get(fid, pa.nulls(0, pa.string()))
        out[VCF_FIELDS[fid]] = _to_float(values, fid, path)
    smeta = header.sample_meta.get(chosen, {})
    cases, controls = _number(smeta, "TotalCases", "ncase"), _number(smeta, "TotalControls", "ncontrol")
    meta = {
        "vcf_sample": chosen,
        "study_type": smeta.get("StudyType"),
        "header_ncase": cases,
        "header_ncontrol": controls,
        "header_n": _number(smeta, "SampleSize", "TotalSamples", "N")
        or (cases + controls if cases is not None and controls is not None else None),
        "header_build": header.build,
        "format_fields": present,
        "region_read": how,
    }
    return VcfRead(pa.table(out), n_rows, rows, flow, meta)
