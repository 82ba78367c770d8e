"""Reading input tables (csv, tsv, gz, parquet, SAS transport, Stata, SPSS) and writing cohort tables.

The format is taken from the file extension (``.csv``, ``.tsv``/``.tab``/``.txt``, either with ``.gz``,
``.parquet``/``.pq``, ``.xpt``, ``.dta``, ``.sav``/``.zsav``) unless given. Text tables are read
column-wise by pyarrow's multi-threaded CSV reader; missing values are the empty string, ``NA``,
``NaN``, ``.`` and the usual spellings. SAS transport files from NHANES store exact zeros as about
5.4e-79: values with ``|x| < zero_threshold`` (default 1e-70) are set to 0.

Every reader checks that it read the whole file and decoded its text (docs/ingest.md "Complete files
only", "Encodings"): a SAS transport file must be whole 80-byte records holding whole observations, a
gzip stream must end properly, parquet pages must pass their checksums, a warning of the SAS/Stata/SPSS
reader is an error, and text not valid in the table's ``encoding`` (default UTF-8) is an error naming
the line, column and byte; no reader returns byte strings.
"""

from __future__ import annotations

import codecs
import gzip
import mmap
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from musclecog.errors import DataError, show_values

FORMATS: tuple[str, ...] = ("csv", "tsv", "parquet", "xpt", "dta", "sav")
NULL_VALUES: list[str] = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", ".", "#N/A", "<NA>"]
XPT_ZERO_THRESHOLD: float = 1e-70

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xpt": "xpt",
    ".dta": "dta",
    ".sav": "sav",
    ".zsav": "sav",
}


def detect_format(path: str | Path) -> str:
    """The table format implied by a file name (``.gz`` is looked through).

    Raises
    ------
    DataError
        If the extension is not one of the known ones.
    """
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
        if not suffixes or suffixes[-1] not in (".csv", ".tsv", ".tab", ".txt"):
            return _sniff_delimiter(p)
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    raise DataError(
        f"{path}: cannot tell the table format from the extension {p.suffix!r}. Known extensions: "
        f"{', '.join(sorted(_EXTENSIONS))} (optionally + .gz). Rename the file or set 'format:' in the config "
        f"to one of {', '.join(FORMATS)}."
    )


def _sniff_delimiter(path: Path) -> str:
    with gzip.open(path, "rt", errors="replace") as fh:
        first = fh.readline()
    return "tsv" if first.count("\t") > first.count(",") else "csv"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _raw_bytes(path: Path) -> bytes:
    """The whole (decompressed) file; only used to locate a problem once reading has failed."""
    if _is_gzip(path):
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise DataError(
            f"unknown text encoding {encoding!r} in 'encoding:'; use a Python codec name such as utf-8, latin-1, "
            "cp1252 or utf-16."
        ) from None


def encoding_error(path: str | Path, encoding: str, delimiter: str = ",") -> DataError:
    """A :class:`DataError` locating the first byte of a text file that is not valid in ``encoding``.

    Parameters
    ----------
    path : path
        The (optionally gzipped) text table.
    encoding : str
        The declared encoding.
    delimiter : str
        The field delimiter, to name the column of the offending byte.

    Returns
    -------
    DataError
        Naming the file, the line, the column, the byte offset and the fix (``encoding: latin-1``).
    """
    p = Path(path)
    raw = _raw_bytes(p)
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        pos = exc.start
    else:  # the bytes decode; the reader failed for another reason
        return DataError(f"{path}: text is not valid {encoding}; set 'encoding:' for this table to the file's encoding.")
    line_start = raw.rfind(b"\n", 0, pos) + 1
    line_end = raw.find(b"\n", pos)
    line = raw[line_start : line_end if line_end >= 0 else len(raw)]
    field = raw[line_start:pos].count(delimiter.encode("ascii", "replace"))
    header = raw[: max(raw.find(b"\n"), 0)].decode(encoding, errors="replace").rstrip("\r").split(delimiter)
    lineno = raw.count(b"\n", 0, pos) + 1
    if lineno == 1:
        where = "line 1 (the header)"
    else:
        column = header[field].strip().strip('"') if field < len(header) else f"field {field + 1}"
        where = f"line {lineno}, column {column!r}"
    snippet = line[max(0, pos - line_start - 20) : pos - line_start + 20]
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte-order mark (Excel's "Unicode text")
        suggest = "utf-16"
    else:
        suggest = "utf-8" if _codec_name(encoding) != "utf-8" else "latin-1"
    return DataError(
        f"{path}: text is not valid {encoding} at {where}, byte {pos} "
        f"({raw[pos:pos + 1]!r} in {snippet!r}). Set `encoding: {suggest}` (or the file's real encoding, "
        "e.g. cp1252) for this table in the config."
    )


def delimiter_hint(path: str | Path, delimiter: str, encoding: str = "utf-8") -> str:
    """``"wrong delimiter? set `sep: ';'`"`` when the header line splits better on another delimiter, else ``""``."""
    try:
        line = _header_line(Path(path), encoding)
    except (OSError, DataError):
        return ""
    counts = {d: line.count(d) for d in (",", ";", "\t", "|") if d != delimiter}
    best = max(counts, key=lambda d: counts[d]) if counts else None
    if best is None or counts[best] <= line.count(delimiter):
        return ""
    key = 'sep: "\\t"' if best == "\t" else f"sep: '{best}'"
    return (
        f"wrong delimiter? set `{key}` for this table in the config (its header line has {counts[best]} "
        f"{best!r} but {line.count(delimiter)} {delimiter!r})."
    )


def _header_line(path: Path, encoding: str) -> str:
    enc = "utf-8-sig" if _codec_name(encoding) == "utf-8" else encoding
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rt", encoding=enc, errors="replace") as fh:
            return fh.readline().rstrip("\r\n")
    except OSError as exc:
        raise DataError(f"{path}: cannot be opened ({exc}); is it really a (gzipped) text table?") from None


def table_header(path: str | Path, format: str = "auto", encoding: str | None = None,
                 sep: str | None = None) -> list[str]:
    """The column names of a table without reading its rows where the format allows (text, parquet,
    Stata, SPSS); SAS transport files are read whole."""
    p = Path(path)
    fmt = detect_format(p) if format == "auto" else format
    if fmt in ("csv", "tsv"):
        delimiter = sep or ("\t" if fmt == "tsv" else ",")
        return [c.strip().strip('"') for c in _header_line(p, encoding or "utf-8").split(delimiter)]
    if fmt == "parquet":
        return list(pq.read_schema(p).names)
    if fmt in ("dta", "sav"):
        import pyreadstat

        read = pyreadstat.read_dta if fmt == "dta" else pyreadstat.read_sav
        _, meta = read(str(p), metadataonly=True, encoding=encoding)
        return list(meta.column_names)
    return list(read_input_table(p, fmt, None, encoding=encoding, sep=sep).columns)


def _text_read_error(path: Path, fmt: str, delimiter: str, encoding: str, exc: Exception) -> DataError:
    if _is_gzip(path) and isinstance(exc, OSError) and not isinstance(exc, pa.ArrowInvalid):
        return DataError(
            f"{path}: the gzip stream is truncated or corrupt ({exc}). The file was probably cut short by an "
            f"interrupted download or copy: fetch it again (check it with `gzip -t {path}`)."
        )
    if isinstance(exc, UnicodeDecodeError) or not _decodes(_raw_bytes(path), encoding):
        return encoding_error(path, encoding, delimiter)
    hint = delimiter_hint(path, delimiter, encoding)
    return DataError(
        f"{path}: cannot be read as a {fmt} table ({exc}). "
        + (hint if hint else "Check the delimiter (`sep:`) and that every line has the same number of fields, ")
        + ("" if hint else "or set 'format:' in the config.")
    )


def _read_text(path: Path, fmt: str, columns: Sequence[str] | None, encoding: str, sep: str | None) -> pd.DataFrame:
    delimiter = sep or ("\t" if fmt == "tsv" else ",")
    header = [c.strip().strip('"') for c in _header_line(path, encoding).split(delimiter)]
    convert = pacsv.ConvertOptions(
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        include_columns=[c for c in columns if c in header] if columns is not None else None,
    )
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 24, encoding=_codec_name(encoding)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=convert,
        )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise _text_read_error(path, fmt, delimiter, encoding, exc) from None
    if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types):
        # pyarrow keeps text that is not valid UTF-8 as bytes: never let b'...' reach a table
        raise encoding_error(path, encoding, delimiter)
    return table.to_pandas(types_mapper=None)


def check_xpt_complete(path: str | Path) -> None:
    """Check that a SAS transport (XPORT v5) file holds whole records up to its end.

    The format is a sequence of 80-byte card images; the observations follow the ``OBS`` header record,
    each ``record_length`` bytes (the sum of the variables' lengths in the member header), and the last
    card is padded with blanks. A file cut short (interrupted download or copy) ends inside a card or
    inside an observation, which this detects; readers would silently return the rows before the cut.

    Raises
    ------
    DataError
        Naming the file, the byte counts and the fix.
    """
    p = Path(path)
    size = p.stat().st_size
    fix = "The file is truncated or corrupt (interrupted download or copy?): download or copy it again."
    with pd.read_sas(p, format="xport", iterator=True) as reader:
        start, record = int(reader.record_start), int(reader.record_length)
    if size % 80:
        raise DataError(
            f"{path}: a SAS transport file is a sequence of 80-byte records, but its size {size} bytes is not a "
            f"multiple of 80 ({size % 80} bytes over). {fix}"
        )
    with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        # the first member's data end where a second member starts, else at the end of the file
        end = data.find(b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!", start)
        length = (size if end < 0 else end) - start
        over = length % record if record else 0
        tail = data[start + length - over : start + length]
    if over >= 80 or tail.strip(b" "):
        raise DataError(
            f"{path}: the data section ({length} bytes) is not a whole number of observations of "
            f"{record} bytes plus blank padding: the last {over} bytes are part of an observation. {fix}"
        )


def _read_binary(p: Path, fmt: str, columns: Sequence[str] | None, encoding: str | None, zero: float) -> pd.DataFrame:
    """SAS transport, Stata, SPSS and parquet; reader warnings are errors (a warning there means a damaged file)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fmt == "parquet":
            names = pq.read_schema(p).names
            use = [c for c in columns if c in names] if columns is not None else None
            df = pq.read_table(p, columns=use, page_checksum_verification=True).to_pandas()
        elif fmt == "xpt":
            check_xpt_complete(p)
            df = pd.read_sas(p, format="xport")
            df = _fix_xpt_zeros(df, zero)
            df = _decode_bytes(df, p, encoding or "utf-8")
        else:
            import pyreadstat

            read = pyreadstat.read_dta if fmt == "dta" else pyreadstat.read_sav
            df, _ = read(str(p), usecols=list(columns) if columns is not None else None, encoding=encoding)
    damage = [w for w in caught if not issubclass(w.category, (DeprecationWarning, ResourceWarning))]
    if damage:
        raise DataError(
            f"{p}: the {fmt} reader warned {str(damage[0].message)!r}: the file is probably truncated or "
            "corrupt (interrupted download or copy?). Download or copy it again."
        )
    return df


def _fix_xpt_zeros(df: pd.DataFrame, threshold: float) -> pd.DataFrame:
    if threshold <= 0:
        return df
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]):
            v = df[col].to_numpy()
            tiny = np.abs(v) < threshold
            if tiny.any():
                v = v.copy()
                v[tiny & ~np.isnan(v)] = 0.0
                df[col] = v
    return df


def check_text_columns(df: pd.DataFrame, path: str | Path) -> None:
    """No byte strings in text columns: a reader that could not decode text must not pass ``b'...'`` on.

    Raises
    ------
    DataError
        Naming the file, the column, example values and the fix (the ``encoding:`` key).
    """
    for col in df.columns:
        s = df[col]
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("bytes", "mixed"):
            raw = s[s.map(type).eq(bytes)] if pd.api.types.infer_dtype(s, skipna=True) == "mixed" else s.dropna()
            if len(raw):
                raise DataError(
                    f"{path}: column '{col}' holds undecoded bytes ({show_values(raw.unique()[:3].tolist(), 3)}). "
                    "Set `encoding:` for this table in the config to the file's encoding (e.g. latin-1)."
                )


def read_input_table(
    path: str | Path,
    format: str = "auto",
    columns: Sequence[str] | None = None,
    zero_threshold: float = XPT_ZERO_THRESHOLD,
    encoding: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read one input table, checking that it is complete and its text decodes.

    Parameters
    ----------
    path : path
        The file.
    format : str
        ``auto`` (from the extension) or one of :data:`FORMATS`.
    columns : sequence of str, optional
        Read only these columns where the format allows (csv/tsv/parquet/dta/sav); columns that do not
        exist are ignored here (the caller reports them).
    zero_threshold : float
        SAS transport only: ``|x| < zero_threshold`` becomes 0 (the NHANES quirk); 0 disables.
    encoding : str, optional
        The text encoding (a Python codec name). Text tables and SAS transport files: default utf-8.
        Stata/SPSS: default the encoding the file declares.
    sep : str, optional
        Text tables: the field delimiter (default ``,`` for csv, tab for tsv).

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        If the file does not exist, is truncated or corrupt (gzip stream, parquet footer or page checksums,
        SAS transport record structure, any reader warning), has text not valid in ``encoding``, cannot
        be read in that format, or has no rows.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"{path}: file not found (looked in {p.resolve()}). Correct the path in the config, or set the "
            "folder with --config <name>_dir=/path."
        )
    fmt = detect_format(p) if format == "auto" else format
    if fmt not in FORMATS:
        raise DataError(f"{path}: unknown format {fmt!r}; use one of auto, {', '.join(FORMATS)}")
    if encoding is not None:
        _codec_name(encoding)
    try:
        if fmt in ("csv", "tsv"):
            df = _read_text(p, fmt, columns, encoding or "utf-8", sep)
        else:
            df = _read_binary(p, fmt, columns, encoding, zero_threshold)
    except DataError:
        raise
    except Exception as exc:  # every reader has its own exception types; report them the same way
        raise DataError(
            f"{path}: cannot be read as {fmt} ({type(exc).__name__}: {exc}). The file is truncated, corrupt or "
            f"not {fmt}: write or copy it again, check its encoding (`encoding:`), or set 'format:' in the config."
        ) from None
    check_text_columns(df, path)
    if df.shape[0] == 0:
        raise DataError(f"{path}: the table has no rows (columns: {show_values(list(df.columns), 10)}). Check the file.")
    if df.shape[1] == 0:
        raise DataError(f"{path}: the table has no columns. Check the file and its delimiter.")
    return df


def _decode_bytes(df: pd.DataFrame, path: Path, encoding: str) -> pd.DataFrame:
    """SAS transport text columns come back as bytes; decode them in the declared encoding."""
    for col in df.columns:
        if df[col].dtype == object:
            present = df[col].dropna()
            if len(present) and isinstance(present.iloc[0], bytes):
                try:
                    df[col] = df[col].str.decode(encoding, errors="strict")
                except UnicodeDecodeError:
                    bad = [v for v in present.unique() if not _decodes(v, encoding)]
                    raise DataError(
                        f"{path}: column '{col}' has text that is not valid {encoding} ({show_values(bad, 3)}). "
                        "Set `encoding: latin-1` (or the file's real encoding) for this table in the config."
                    ) from None
    return df


def _decodes(value: bytes, encoding: str) -> bool:
    try:
        value.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write a table to parquet deterministically (same frame and library versions, same bytes)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_page_checksum=True)


def write_input_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a table in the format implied by its extension (csv, tsv, gz, parquet, dta, sav, xpt).

    Used by tests and benchmarks to make input files of every supported kind.
    """
    p = Path(path)
    gz = p.name.lower().endswith(".gz")
    fmt = ("tsv" if ".tsv" in p.name.lower() else "csv") if gz else detect_format(p)
    if fmt == "parquet":
        write_parquet(df, p)
    elif fmt in ("csv", "tsv"):
        df.to_csv(p, sep="\t" if fmt == "tsv" else ",", index=False, na_rep="NA", lineterminator="\n")
    elif fmt == "dta":
        import pyreadstat

        pyreadstat.write_dta(df, str(p))
    elif fmt == "sav":
        import pyreadstat

        pyreadstat.write_sav(df, str(p))
    elif fmt == "xpt":
        import pyreadstat

        pyreadstat.write_xport(df, str(p), file_format_version=5)
    else:  # pragma: no cover - detect_format only returns the above
        raise DataError(f"{path}: cannot write format {fmt}")
