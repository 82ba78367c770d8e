"""Getting public NHANES files: download named cycles and files from CDC, check them, write a config stub.

::

    musclecog fetch-nhanes --cycle 2011-2012 2013-2014 --files DEMO BMX MGX CFQ --out data/nhanes
    musclecog fetch-nhanes --cycle 1999-2000 2001-2002 --files DEMO BMX CFQ DXX --out data/nhanes_wang

Files are addressed as CDC publishes them (checked against CDC's pages in 2025, not from this machine, which
has no internet):

- continuous NHANES files: ``{base_url}/{first year}/DataFiles/{FILE}{suffix}.xpt``, e.g.
  ``https://wwwn.cdc.gov/Nchs/Data/Nhanes/Public/2011/DataFiles/DEMO_G.xpt``; the suffix is the cycle's letter
  (1999-2000 none, 2001-2002 ``_B``, ... 2017-2018 ``_J``);
- the multiply imputed whole-body DXA files of 1999-2006 (``DXX``, five imputations per person in ``_MULT_``):
  ``{dxa_base_url}/dxx{suffix}.xpt`` (lower case), e.g. ``.../Nhanes/Dxa/dxx_b.xpt``.

Both base URLs are options, so a mirror (or a local server in tests) can stand in for CDC.

Each file is written to a temporary name and renamed only after it has been read back as a SAS transport file
with a ``SEQN`` column (CDC answers a missing file with an HTML page, which is caught here), so a failed or
interrupted download leaves nothing behind. ``nhanes_manifest.tsv`` records for each file its URL, size,
SHA-256, rows and columns; a file already present and readable is not downloaded again (``force`` does).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from musclecog.errors import ConfigError, DataError, show_values

BASE_URL = "https://wwwn.cdc.gov/Nchs/Data/Nhanes/Public"
DXA_BASE_URL = "https://wwwn.cdc.gov/Nchs/Data/Nhanes/Dxa"
#: cycle -> file-name suffix
CYCLES: dict[str, str] = {
    "1999-2000": "",
    "2001-2002": "_B",
    "2003-2004": "_C",
    "2005-2006": "_D",
    "2007-2008": "_E",
    "2009-2010": "_F",
    "2011-2012": "_G",
    "2013-2014": "_H",
    "2015-2016": "_I",
    "2017-2018": "_J",
}
#: cycles whose whole-body DXA data ship as five imputations (the ``DXX`` files)
DXA_IMPUTED = ("1999-2000", "2001-2002", "2003-2004", "2005-2006")
MANIFEST = "nhanes_manifest.tsv"


@dataclass(frozen=True)
class NhanesFile:
    """One file of one cycle, where it comes from and where it goes."""

    cycle: str
    name: str
    url: str
    filename: str


@dataclass(frozen=True)
class Fetched:
    """A checked file on disk."""

    file: NhanesFile
    path: Path
    n_bytes: int
    sha256: str
    n_rows: int
    columns: tuple[str, ...]
    downloaded: bool


def plan_files(cycles: Sequence[str], names: Sequence[str], base_url: str = BASE_URL,
               dxa_base_url: str = DXA_BASE_URL) -> list[NhanesFile]:
    """The URL and local file name of each requested file of each cycle.

    Raises
    ------
    ConfigError
        An unknown cycle, a file name that is not a plain NHANES name, or ``DXX`` for a cycle without the
        imputed DXA files.
    """
    unknown = [c for c in cycles if c not in CYCLES]
    if unknown:
        raise ConfigError(f"fetch-nhanes: unknown cycle(s) {unknown}; known: {', '.join(CYCLES)}.")
    bad = [n for n in names if not n.replace("_", "").isalnum() or n != n.strip()]
    if bad:
        raise ConfigError(f"fetch-nhanes: {bad} are not NHANES file names (letters, digits and _ only, e.g. DEMO, "
                          "BMX, MGX, CFQ, DXX).")
    files = []
    for cycle in cycles:
        suffix = CYCLES[cycle]
        for raw in names:
            name = raw.upper()
            if name.endswith(suffix) and suffix:
                name = name[: -len(suffix)]  # DEMO_G given for 2011-2012: the same file
            if name == "DXX":
                if cycle not in DXA_IMPUTED:
                    raise ConfigError(f"fetch-nhanes: DXX (the imputed whole-body DXA files) exists for "
                                      f"{', '.join(DXA_IMPUTED)} only, not {cycle}; later cycles publish DXXAG/DXX "
                                      "without imputations under their own names.")
                filename = f"dxx{suffix.lower()}.xpt"
                url = f"{dxa_base_url.rstrip('/')}/{filename}"
            else:
                filename = f"{name}{suffix}.xpt"
                url = f"{base_url.rstrip('/')}/{cycle[:4]}/DataFiles/{filename}"
            files.append(NhanesFile(cycle, name, url, filename))
    return files


def _check_xpt(path: Path, source: str) -> pd.DataFrame:
    """Read a downloaded file back; an HTML page or a broken transport file is a DataError naming the source."""
    head = path.read_bytes()[:512]
    if head.lstrip().lower().startswith((b"<!doctype", b"<html")) or b"<html" in head.lower():
        raise DataError(f"{source}: the server sent a web page, not a SAS transport file (the file may not exist "
                        "for this cycle: check the name on CDC's data page for the cycle).")
    if not head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD"):
        raise DataError(f"{source}: not a SAS transport (.xpt) file: it starts with {head[:40]!r}.")
    try:
        frame = pd.read_sas(path, format="xport", encoding="latin-1")
    except Exception as exc:  # a truncated or damaged transport file
        raise DataError(f"{source}: the SAS transport file cannot be read ({type(exc).__name__}: {exc}); "
                        "download it again (--force).") from exc
    if "SEQN" not in frame.columns:
        raise DataError(f"{source}: no SEQN column (columns: {show_values(list(frame.columns), 12)}); every NHANES "
                        "data file has the respondent sequence number.")
    return frame


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_file(item: NhanesFile, out_dir: Path, force: bool = False, timeout: float = 120.0) -> Fetched:
    """Download one file (unless present and readable), check it, and return what was written.

    Raises
    ------
    DataError
        The server refused (HTTP error, with its code), could not be reached, or sent something that is not an
        NHANES transport file. Nothing is left under the file's name.
    """
    target = out_dir / item.filename
    downloaded = False
    if force or not target.is_file():
        partial = target.with_name(target.name + ".part")
        try:
            with urllib.request.urlopen(item.url, timeout=timeout) as response, partial.open("wb") as fh:
                while block := response.read(1 << 20):
                    fh.write(block)
            _check_xpt(partial, item.url)
        except urllib.error.HTTPError as exc:
            partial.unlink(missing_ok=True)
            raise DataError(f"{item.url}: HTTP {exc.code} {exc.reason} ({item.name}, {item.cycle}); check the file "
                            "name and cycle on CDC's data page, or the --base-url.") from exc
        except (urllib.error.URLError, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise DataError(f"{item.url}: cannot download ({exc}); check the network or use --base-url for a "
                            "mirror.") from exc
        except DataError:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
        downloaded = True
    frame = _check_xpt(target, str(target))
    return Fetched(item, target, target.stat().st_size, _sha256(target), len(frame), tuple(frame.columns), downloaded)


def fetch(cycles: Sequence[str], names: Sequence[str], out_dir: str | Path, base_url: str = BASE_URL,
          dxa_base_url: str = DXA_BASE_URL, force: bool = False) -> list[Fetched]:
    """Download and check every requested file, then write ``nhanes_manifest.tsv`` in ``out_dir``.

    The manifest is written only when every file is in place (a failure leaves the earlier files, each
    complete and checked, and no manifest claiming the set).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_files(cycles, names, base_url, dxa_base_url)
    done = [fetch_file(item, out, force=force) for item in plan]
    manifest = pd.DataFrame({
        "cycle": [f.file.cycle for f in done],
        "file": [f.file.name for f in done],
        "path": [f.path.name for f in done],
        "url": [f.file.url for f in done],
        "bytes": [f.n_bytes for f in done],
        "sha256": [f.sha256 for f in done],
        "rows": [f.n_rows for f in done],
        "columns": [len(f.columns) for f in done],
    })
    tmp = out / (MANIFEST + ".part")
    manifest.to_csv(tmp, sep="\t", index=False)
    os.replace(tmp, out / MANIFEST)
    return done
