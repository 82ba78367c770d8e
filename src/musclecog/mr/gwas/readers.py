"""Reading GWAS files: the header and delimiter, the needed columns (pyarrow, typed up front), the build, and
:func:`read_source`, which reads any layout (GWAS-VCF included), genome-wide or for a region."""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

from musclecog.errors import ConfigError, DataError
from musclecog.filters import flow_row
from musclecog.mr.gwas.formats import NULL_VALUES, NUMERIC, GwasSpec, column_map
from musclecog.mr.gwas.tabix import BgzfReader, index_path, merge_chunks, read_index
from musclecog.mr.gwas.vcf import Region, is_known_build, normalise_build, read_vcf, region_read_row


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rt", errors="replace") if magic == b"\x1f\x8b" else open(path, errors="replace")


def read_header(path: str | Path, sep: str | None = None) -> tuple[list[str], str]:
    """The column names of a delimited (optionally gzip) file and its delimiter (tab, comma, space)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"GWAS file {path} does not exist; correct 'gwas.<trait>.path' in the config")
    try:
        with _open_text(path) as fh:
            line = fh.readline().rstrip("\r\n")
    except (OSError, EOFError) as exc:
        raise DataError(
            f"GWAS file {path}: the compressed stream is truncated or corrupt ({exc}); fetch the file again "
            f"(check it with `gzip -t {path}`)"
        ) from None
    if not line:
        raise DataError(f"GWAS file {path} is empty (no header line)")
    if sep is None:
        counts = {d: line.count(d) for d in ("\t", ",", " ")}
        sep = max(counts, key=lambda d: counts[d])
        if counts[sep] == 0:
            other = max((";", "|"), key=line.count)
            hint = f"wrong delimiter? set `sep: '{other}'`" if line.count(other) else "set 'sep'"
            raise DataError(
                f"GWAS file {path}: cannot tell the delimiter of the header {line[:80]!r}; {hint} under "
                "'gwas.<trait>' in the config"
            )
    names = [c.strip().strip('"').strip("'") for c in line.split(sep)]
    return names, sep


def _column_types(mapping: dict[str, str], pos_type: pa.DataType) -> dict[str, pa.DataType]:
    """Arrow types of the mapped columns: numbers float64, alleles and chromosome dictionary-encoded."""
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


def _gzip_stream(path: Path) -> IO[bytes] | None:
    """A gzip file's decompressed byte stream through ISA-L (``isal``; about 3 times zlib's speed, the same
    bytes), or None for an uncompressed file or when ``isal`` is not installed (pyarrow then decompresses with
    zlib)."""
    try:
        from isal import igzip
    except ImportError:  # pragma: no cover - isal is a dependency; kept working without it
        return None
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return None
    return igzip.open(path, "rb")


def _read_columns(path: Path, sep: str, mapping: dict[str, str], pos_type: pa.DataType,
                  data: bytes | None = None) -> pa.Table:
    if data is not None:  # the header and the lines of a tabix query, already decompressed
        return _parse_csv(io.BytesIO(data), sep, mapping, pos_type)
    stream = _gzip_stream(path)
    if stream is None:
        return _parse_csv(str(path), sep, mapping, pos_type)
    from isal import isal_zlib

    isal_error = cast("type[BaseException]", isal_zlib.error)  # isal's stubs type it as an instance
    try:
        with stream:
            return _parse_csv(stream, sep, mapping, pos_type)
    except (EOFError, isal_error) as exc:  # isal's decompressor: a stream cut short or damaged
        raise OSError(str(exc)) from None


def _parse_csv(source: str | IO[bytes], sep: str, mapping: dict[str, str], pos_type: pa.DataType) -> pa.Table:
    return pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=sep),
        convert_options=pacsv.ConvertOptions(
            include_columns=list(mapping),
            column_types=_column_types(mapping, pos_type),
            null_values=NULL_VALUES,
            strings_can_be_null=True,
        ),
    )


def _failing_column(exc: pa.ArrowInvalid, header: list[str]) -> str:
    col = re.search(r"column #(\d+)", str(exc))
    return header[int(col.group(1))] if col and int(col.group(1)) < len(header) else "?"


def read_gwas(spec: GwasSpec, data: bytes | None = None) -> tuple[pa.Table, str, int]:
    """Read the columns of a GWAS file that the standard table needs.

    Only the mapped columns are parsed (pyarrow CSV reader, multi-threaded), with their types declared up front:
    numbers as float64, the position as int64 (float64 when the file writes positions as decimals), alleles and
    chromosome dictionary-encoded (a handful of distinct values, so millions of rows cost 4 bytes each).
    ``data``: the file's header line and some of its data lines, decompressed (a tabix query), parsed instead of
    the whole file.

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
    try:
        try:
            table = _read_columns(path, sep, mapping, pa.int64(), data)
        except pa.ArrowInvalid as exc:
            if pos_src is None or _failing_column(exc, header) != pos_src:
                raise
            table = _read_columns(path, sep, mapping, pa.float64(), data)  # positions written as decimals (12345.0)
    except pa.ArrowInvalid as exc:
        raise _parse_error(exc, path, header, mapping, pos_src) from None
    except OSError as exc:  # pyarrow's decompressor: a gzip stream cut short or damaged
        raise DataError(
            f"GWAS file {path}: the compressed stream is truncated or corrupt ({exc}). The file was probably cut "
            f"short by an interrupted download or copy: fetch it again (check it with `gzip -t {path}`)."
        ) from None
    table = table.rename_columns([mapping[c] for c in table.column_names])
    return table, fmt, table.num_rows


def _parse_error(exc: pa.ArrowInvalid, path: Path, header: list[str], mapping: dict[str, str],
                 pos_src: str | None) -> DataError:
    """The error for a column pyarrow could not parse (the position column, or any other)."""
    msg = str(exc)
    name = _failing_column(exc, header)
    if name == pos_src:
        return DataError(
            f"GWAS file {path}: the position column '{name}' is not numeric ({msg.splitlines()[0]}). "
            "Positions must be whole numbers (missing as NA or empty)."
        )
    if "UTF8" in msg or "UTF-8" in msg:
        return DataError(
            f"GWAS file {path}: column '{name}' ({mapping.get(name, '?')}) has text that is not valid UTF-8 "
            f"({msg.splitlines()[0]}). Re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        )
    return DataError(
        f"GWAS file {path}: cannot parse column '{name}' ({mapping.get(name, '?')}): {msg.splitlines()[0]}. "
        "Numeric columns must hold numbers (missing as NA or empty)."
    )


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


@dataclass(frozen=True)
class SourceRead:
    """A GWAS file read into standard column names: the table, its layout, the number of data rows in the file,
    each table row's data row in the file, the flow rows of reading (region, VCF records), the build and the
    metadata the file itself carries (GWAS-VCF header)."""

    table: pa.Table
    fmt: str
    n_rows: int
    rows: np.ndarray
    flow: list[dict[str, Any]]
    build: str | None
    meta: dict[str, Any] = field(default_factory=dict)


def _vcf_build(spec: GwasSpec, found: str | None) -> str | None:
    declared = spec.build
    known = is_known_build(found) and is_known_build(declared)
    if found and declared and known and normalise_build(declared) != normalise_build(found):
        raise DataError(
            f"GWAS-VCF file {spec.path}: gwas.{spec.name}.build is {declared!r} but its header declares the "
            f"assembly {found!r}. Lift the file over or correct the declared build."
        )
    return declared or found


def spec_regions(spec: GwasSpec) -> list[Region] | None:
    """The regions of ``gwas.<trait>.region`` (one string or a list), parsed; None for the whole file."""
    if spec.region is None:
        return None
    texts = [spec.region] if isinstance(spec.region, str) else list(spec.region)
    where = f"gwas.{spec.name}.region"
    return [Region.parse(t, where if len(texts) == 1 else f"{where}[{k}]") for k, t in enumerate(texts)]


def read_source(spec: GwasSpec) -> SourceRead:
    """Read a trait's file in any layout (GWAS-VCF with :func:`musclecog.mr.gwas.vcf.read_vcf`, delimited
    tables with :func:`read_gwas`), restricted to ``spec.region`` if given (a bgzip GWAS-VCF through its tabix
    index when ``<path>.tbi`` exists, see :func:`~musclecog.mr.gwas.vcf.read_vcf`); the declared build checked against
    the file's own metadata (GWAS-SSF ``-meta.yaml``, GWAS-VCF header).

    Raises
    ------
    DataError
        As the readers; a region on a table without chromosome and position.
    """
    regions = spec_regions(spec)
    if spec.is_vcf:
        if spec.path is None:
            raise ConfigError(f"config: gwas.{spec.name} has format 'vcf' but no 'path'")
        vr = read_vcf(spec.path, spec.sample, regions)
        build = _vcf_build(spec, vr.meta.get("header_build"))
        return SourceRead(vr.table, "vcf", vr.n_rows, vr.rows, vr.flow, build, vr.meta)
    if spec.sample is not None:
        raise ConfigError(f"config: gwas.{spec.name}.sample applies to GWAS-VCF files only; remove it")
    build = check_build(spec)
    tbi = index_path(spec.path) if regions is not None and spec.path is not None else None
    flow: list[dict[str, Any]] = []
    if regions is not None and tbi is not None:
        data, rows, n_rows = _indexed_lines(spec, regions, tbi)
        table, fmt, n_read = read_gwas(spec, data)
        if n_read != len(rows):
            raise DataError(
                f"GWAS file {spec.path}: {n_read} rows parsed from {len(rows)} lines the tabix index {tbi} points at; "
                f"re-index it with `tabix -f -s <chrom col> -b <pos col> -e <pos col> -S 1 {spec.path}`"
            )
    else:
        table, fmt, n_rows = read_gwas(spec)
        rows = np.arange(n_rows, dtype=np.int64)
    how = None if regions is None else f"tabix index {tbi.name}" if tbi is not None else "filtered after reading"
    if how is not None:
        flow.append(region_read_row(n_rows, how))
    meta = {"region_read": how}
    if regions is not None:
        if "chr" not in table.column_names or "pos" not in table.column_names:
            raise DataError(
                f"GWAS file {spec.path}: gwas.{spec.name}.region needs chromosome and position columns, which the "
                "file lacks (map them with 'columns')"
            )
        keep = regions[0].mask(table.column("chr"), table.column("pos"))
        for other in regions[1:]:
            keep = pc.or_(keep, other.mask(table.column("chr"), table.column("pos")))
        table = table.filter(keep)
        rows = rows[keep.to_numpy(zero_copy_only=False)]
        label = ", ".join(str(r) for r in regions)
        flow.append(flow_row("region", n_rows, table.num_rows, f"excluded: outside the region {label}"))
    return SourceRead(table, fmt, n_rows, rows, flow, build, meta)


def _indexed_lines(spec: GwasSpec, regions: list[Region], tbi: Path) -> tuple[bytes, np.ndarray, int]:
    """The header line and the lines the tabix index points at for the regions (their union, file order),
    each line's virtual offset, and the number of records in the file (the index's counts).

    Raises
    ------
    DataError
        The index sorts on other columns than the mapped chromosome and position, or is stale or damaged.
    """
    path = Path(str(spec.path))
    header, sep = read_header(path, spec.sep)
    mapping, _ = column_map(header, spec, path)
    where = {std: header.index(src) + 1 for src, std in mapping.items() if std in ("chr", "pos")}
    index = read_index(tbi, path)
    if (index.col_seq, index.col_beg) != (where.get("chr"), where.get("pos")):
        fix = (f"`tabix -f -s {where['chr']} -b {where['pos']} -e {where['pos']} -S 1 {path}`"
               if len(where) == 2 else "map the chromosome and position columns with 'columns'")
        raise DataError(
            f"tabix index {tbi} sorts on columns {index.col_seq} (sequence) and {index.col_beg} (position) but the "
            f"chromosome and position of {path} are columns {where.get('chr')} and {where.get('pos')}; {fix}"
        )
    with BgzfReader(path, tbi) as reader:
        chunks = merge_chunks(np.concatenate([index.chunks(r.chrom, r.start, r.end) for r in regions]))
        buf, voff = reader.read_chunks(chunks)
        first, _ = reader.block(0)
    line = first.split(b"\n", 1)[0] + b"\n"
    n = index.n_records
    return line + buf, voff, (len(voff) if n is None else n)
