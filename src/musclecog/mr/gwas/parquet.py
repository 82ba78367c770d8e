"""The standardised GWAS parquet file: its layout (small p-values first, row groups with p statistics, the source
row of each variant), its metadata, and reading it back whole, filtered, or for a list of variants."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from musclecog.errors import DataError
from musclecog.mr.gwas.checks import StandardisedGwas, standardise
from musclecog.mr.gwas.columns import rs_lookup, use_system_allocator
from musclecog.mr.gwas.formats import GwasSpec
from musclecog.results import write_table

HEAD_P = 1e-5
"""Variants with p <= HEAD_P are written first, in their own row group, so instrument selection at the usual
thresholds (5e-8, fallback 5e-6) reads only that group (parquet statistics push-down on ``pval``)."""

CODEC = "lz4"
"""Compression of the standardised file, an intermediate read by every pair job: LZ4 writes a 5-million-variant
table in about two thirds of zstd's time and decodes it about twice as fast, for a file a third larger
(benchmarks/bench_mr_genomewide.py)."""

ROW_GROUP_ROWS = 1 << 14
"""Rows per row group after the head: small enough that looking up ~100 instruments in the outcome file
decodes a few percent of it, large enough for a compact footer."""


def write_standardised(
    result: StandardisedGwas, parquet_path: str | Path, flow_path: str | Path | None = None
) -> None:
    """Write the standardised table (parquet, :data:`CODEC`) and its flow table (TSV).

    Layout: the variants with p <= :data:`HEAD_P` first (one row group, in file order), then all others in file
    order, :data:`ROW_GROUP_ROWS` rows per group, with p-value statistics. The extra column ``file_row`` (the
    variant's data row in the source file, 0 = first line after the header) restores file order:
    :func:`read_standardised` returns rows in that order, exactly as the file listed them. When every id is an
    rsID, the extra column ``rs`` holds its number (int64, delta-encoded): :func:`read_variants` looks ids up in
    it, about half the time of comparing the id strings. The readers never return ``file_row`` or ``rs``.
    """
    Path(parquet_path).parent.mkdir(parents=True, exist_ok=True)
    table = result.table
    n = table.num_rows
    rows = np.arange(n, dtype=np.int64) if result.rows is None else np.asarray(result.rows, np.int64)
    table = table.append_column("file_row", pa.array(rows))
    encoding = {"file_row": "DELTA_BINARY_PACKED"}
    if result.rs is not None:
        table = table.append_column("rs", pa.array(np.asarray(result.rs, np.int64)))
        encoding["rs"] = "DELTA_BINARY_PACKED"
    # columns without a missing value are written as required (no definition levels to encode: about a
    # quarter of the write time of ten million variants); the values read back are the same
    table = table.cast(pa.schema([f.with_nullable(table.column(f.name).null_count > 0) for f in table.schema],
                                 metadata=table.schema.metadata))
    head = table.column("pval").to_numpy() <= HEAD_P
    dict_cols = [c for c in ("chr", "effect_allele", "other_allele") if c in table.column_names]
    with pq.ParquetWriter(
        str(parquet_path), table.schema, compression=CODEC, use_dictionary=dict_cols,
        write_statistics=["pval"], column_encoding=encoding,
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


def standardise_file(
    trait: str, entry: Mapping[str, Any], path: str | Path, parquet_path: str | Path, flow_path: str | Path
) -> StandardisedGwas:
    """Read GWAS file ``path`` of ``trait`` (its config ``entry``), standardise it and write the standardised
    table and flow table (:func:`write_standardised`): the job of a trait, real or synthetic.

    pyarrow allocates with the system allocator here (less system time than its mimalloc on a large file).
    """
    use_system_allocator()
    result = standardise(GwasSpec.from_config(trait, entry, path=str(path)))
    write_standardised(result, parquet_path, flow_path)
    return result


def read_meta(parquet_path: str | Path) -> dict[str, Any]:
    """The trait metadata stored in a standardised parquet file."""
    md = pq.read_schema(str(parquet_path)).metadata or {}
    raw = md.get(b"musclecog")
    if raw is None:
        raise DataError(f"{parquet_path} is not a standardised GWAS table (no musclecog metadata); rerun the pipeline")
    return json.loads(raw)


def _to_pandas(table: pa.Table, keep_row: bool = False) -> pd.DataFrame:
    """File order (``file_row``), then pandas with alleles as plain strings (without the lookup column ``rs``)."""
    if "rs" in table.column_names:
        table = table.drop_columns(["rs"])
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


def read_variants(parquet_path: str | Path, snps: list[str] | np.ndarray, threads: int = 1) -> pd.DataFrame:
    """The rows of a standardised GWAS table whose SNP id is in ``snps`` (file order), e.g. an exposure's
    instruments looked up in the outcome GWAS.

    Only the ``SNP`` column is read whole; then only the row groups that hold a requested variant are decoded
    (with the default layout, about a few percent of a genome-wide file for a hundred instruments). ``threads``:
    the job's threads; with 1 (a pair job's default), pyarrow decodes in the calling thread only: two pair jobs
    side by side on two cores then do not compete with each other's thread pools (10 M variants: 0.76 s against
    1.8 s threaded on a loaded 2-core machine).
    """
    pf = pq.ParquetFile(str(parquet_path))
    wanted = [str(s) for s in snps]
    use_threads = threads > 1
    if "rs" in pf.schema_arrow.names:  # every id an rsID: compare numbers (the same matches as the strings)
        ids = pa.array(rs_lookup(wanted), pa.int64())
        column = pq.read_table(str(parquet_path), columns=["rs"], use_threads=use_threads).column("rs")
    else:
        ids = pa.array(wanted, pa.string())
        column = pq.read_table(str(parquet_path), columns=["SNP"], use_threads=use_threads).column("SNP")
    hits = np.flatnonzero(pc.is_in(column, value_set=ids).to_numpy(zero_copy_only=False))
    return _to_pandas(_take_rows(pf, hits, use_threads))


def read_regions(parquet_path: str | Path, regions: list[tuple[str, float, float]]) -> list[pd.DataFrame]:
    """The rows of a standardised GWAS table in each region ``(chromosome, start, end)`` (inclusive), each in
    file order; only ``chr`` and ``pos`` are read whole, then the row groups holding a region's variants."""
    pf = pq.ParquetFile(str(parquet_path))
    loc = pq.read_table(str(parquet_path), columns=["chr", "pos"])
    chrom = np.asarray(pc.cast(loc.column("chr"), pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    pos = np.asarray(pc.fill_null(pc.cast(loc.column("pos"), pa.float64()), np.nan).to_numpy(), float)
    masks = [(chrom == c) & (pos >= lo) & (pos <= hi) for c, lo, hi in regions]
    hits = np.flatnonzero(np.logical_or.reduce(masks)) if masks else np.zeros(0, np.int64)
    table = _take_rows(pf, hits).append_column("_row", pa.array(hits)) if len(hits) else None
    out = []
    for mask in masks:
        want = np.flatnonzero(mask)
        if table is None or not len(want):
            out.append(_to_pandas(pf.schema_arrow.empty_table()))
            continue
        out.append(_to_pandas(table.take(pa.array(np.searchsorted(hits, want))).drop_columns(["_row"])))
    return out


def _take_rows(pf: pq.ParquetFile, hits: np.ndarray, use_threads: bool = True) -> pa.Table:
    """Rows ``hits`` (increasing, in stored order) of a parquet file, decoding only their row groups."""
    sizes = np.array([pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)], np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    groups = np.unique(np.searchsorted(starts, hits, side="right") - 1)
    if len(groups) == 0:
        return pf.schema_arrow.empty_table()
    table = pf.read_row_groups(groups.tolist(), use_threads=use_threads)
    local_start = np.concatenate([[0], np.cumsum(sizes[groups])])
    g_of_hit = np.searchsorted(groups, np.searchsorted(starts, hits, side="right") - 1)
    local = hits - starts[groups[g_of_hit]] + local_start[g_of_hit]
    return table.take(pa.array(local))
