"""Reading input tables (csv, tsv, gz, parquet, SAS transport, Stata, SPSS) and writing cohort tables.

The format is taken from the file extension (``.csv``, ``.tsv``/``.tab``/``.txt``, either with ``.gz``,
``.parquet``/``.pq``, ``.xpt``, ``.dta``, ``.sav``/``.zsav``) unless given. Text tables are read
column-wise by pyarrow's multi-threaded CSV reader; missing values are the empty string, ``NA``,
``NaN``, ``.`` and the usual spellings. SAS transport files from NHANES store exact zeros as about
5.4e-79: values with ``|x| < zero_threshold`` (default 1e-70) are set to 0.
"""

from __future__ import annotations

import gzip
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


def _read_text(path: Path, fmt: str, columns: Sequence[str] | None) -> pd.DataFrame:
    delimiter = "\t" if fmt == "tsv" else ","
    header = _header(path, delimiter)
    convert = pacsv.ConvertOptions(
        null_values=NULL_VALUES,
        strings_can_be_null=True,
        include_columns=[c for c in columns if c in header] if columns is not None else None,
    )
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=convert,
        )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: cannot be read as a {fmt} table ({exc}). Check the delimiter and that every line has "
            "the same number of fields, or set 'format:' in the config."
        ) from None
    return table.to_pandas(types_mapper=None)


def _header(path: Path, delimiter: str) -> list[str]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
            line = fh.readline().rstrip("\r\n")
    except OSError as exc:
        raise DataError(f"{path}: cannot be opened ({exc}); is it really a (gzipped) text table?") from None
    return [c.strip().strip('"') for c in line.split(delimiter)]


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


def read_input_table(
    path: str | Path,
    format: str = "auto",
    columns: Sequence[str] | None = None,
    zero_threshold: float = XPT_ZERO_THRESHOLD,
) -> pd.DataFrame:
    """Read one input table.

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

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        If the file does not exist, cannot be read in that format, or has no rows.
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
    try:
        if fmt in ("csv", "tsv"):
            df = _read_text(p, fmt, columns)
        elif fmt == "parquet":
            names = pq.read_schema(p).names
            use = [c for c in columns if c in names] if columns is not None else None
            df = pq.read_table(p, columns=use).to_pandas()
        elif fmt == "xpt":
            df = pd.read_sas(p, format="xport")
            df = _fix_xpt_zeros(df, zero_threshold)
            df = _decode_bytes(df)
        elif fmt == "dta":
            import pyreadstat

            df, _ = pyreadstat.read_dta(str(p), usecols=list(columns) if columns is not None else None)
        else:
            import pyreadstat

            df, _ = pyreadstat.read_sav(str(p), usecols=list(columns) if columns is not None else None)
    except DataError:
        raise
    except Exception as exc:  # every reader has its own exception types; report them the same way
        raise DataError(
            f"{path}: cannot be read as {fmt} ({type(exc).__name__}: {exc}). Check that the file is a valid "
            f"{fmt} file, or set 'format:' in the config."
        ) from None
    if df.shape[0] == 0:
        raise DataError(f"{path}: the table has no rows (columns: {show_values(list(df.columns), 10)}). Check the file.")
    if df.shape[1] == 0:
        raise DataError(f"{path}: the table has no columns. Check the file and its delimiter.")
    return df


def _decode_bytes(df: pd.DataFrame) -> pd.DataFrame:
    """SAS transport text columns come back as bytes; decode them (SAS XPORT v5 text is Latin-1)."""
    for col in df.columns:
        if df[col].dtype == object:
            present = df[col].dropna()
            if len(present) and isinstance(present.iloc[0], bytes):
                df[col] = df[col].str.decode("latin-1")
    return df


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write a table to parquet deterministically (same frame and library versions, same bytes)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, compression="zstd")


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
