"""Tabix (``.tbi``, or ``.csi``) region reads of a bgzip-compressed file: only the BGZF blocks the index points
at are read and decompressed.

Formats (htslib's SAM/BAM specification, sections 4.1 BGZF and 5 indexing; the tabix paper, Li 2011):

* BGZF: a series of gzip members of at most 64 KiB each, whose header carries the ``BC`` extra subfield with the
  member's compressed size (``BSIZE`` + 1). A *virtual offset* is ``coffset << 16 | uoffset``: the member's byte
  offset in the file and the byte offset inside its decompressed data.
* ``.tbi`` (itself BGZF): ``TBI\\1``, the number of sequences, the tabix header (format, sequence / begin / end
  columns, meta character, lines to skip), the sequence names; per sequence the bins of the UCSC binning scheme
  (bin, chunks ``[beg, end)`` of virtual offsets) and the linear index (per 16 kb window, the smallest virtual
  offset of a record overlapping it). The pseudo-bin 37450 holds the sequence's record count. A ``.csi``
  (``tabix --csi``, ``bcftools index``) has the same bins for its own ``min_shift`` and ``depth``, each bin with
  its smallest offset instead of a linear index, and the tabix header as auxiliary data.

A query for ``[beg, end)`` (0-based) takes the chunks of every bin that can overlap the interval
(:func:`region_bins`, the specification's ``reg2bins``), drops those ending before the linear index's offset for
``beg``, merges them and returns the decompressed lines of the merged chunks with each line's virtual offset; the
caller filters the records by position (a bin's chunks are a superset of the region's records).

Checks (a stale or damaged index must never give wrong rows silently): an index older than its file, an offset
past the end of the file, a virtual offset that is not a BGZF member start or points past its member's data, a
chunk whose first byte does not start a line. Each is a :class:`~musclecog.errors.DataError` naming the file and
the fix (``tabix -f -p vcf FILE``).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from musclecog.errors import DataError

TABIX_SUFFIX = ".tbi"
META_BIN = 37450
"""The pseudo-bin with a sequence's offsets and record counts in a ``.tbi`` (htslib)."""
INDEX_SUFFIXES = (".tbi", ".csi")
_FORMATS = {0: "generic", 1: "sam", 2: "vcf"}
_CACHE: dict[tuple[str, int, int], TabixIndex] = {}
"""Parsed indexes of this process, by (path, modification time, size): read once for many region calls."""


def region_bins(beg: int, end: int, min_shift: int = 14, depth: int = 5) -> np.ndarray:
    """The bins that may hold a record overlapping the 0-based half-open interval ``[beg, end)`` (the SAM
    specification's ``reg2bins``; ``.tbi``: the UCSC scheme, 6 levels, 16 kb to 512 Mb; ``.csi``: its own
    ``min_shift`` and ``depth``)."""
    end = max(end, beg + 1) - 1
    parts, first = [], 0
    for level in range(depth + 1):
        shift = min_shift + 3 * (depth - level)
        parts.append(np.arange(first + (beg >> shift), first + (end >> shift) + 1, dtype=np.int64))
        first += 1 << (3 * level)
    return np.concatenate(parts)


def _meta_bin(depth: int) -> int:
    """The pseudo-bin number of an index of ``depth`` levels (37450 for a ``.tbi``)."""
    return ((1 << (3 * (depth + 1))) - 1) // 7 + 1


@dataclass(frozen=True)
class SequenceIndex:
    """One sequence's bins (sorted bin numbers, where each bin's chunks start in the index's 32-bit words and
    how many it has), linear index and record count (None when the index has no pseudo-bin)."""

    bin_ids: np.ndarray
    bin_start: np.ndarray
    bin_chunks: np.ndarray
    words: np.ndarray
    linear: np.ndarray
    n_records: int | None

    def chunks_of(self, bins: np.ndarray) -> np.ndarray:
        """The chunks ``(n, 2)`` (virtual offsets) of those of ``bins`` the sequence has."""
        at = np.searchsorted(self.bin_ids, bins)
        at = at[at < len(self.bin_ids)]
        at = at[np.isin(self.bin_ids[at], bins)]
        if not len(at):
            return np.zeros((0, 2), np.uint64)
        parts = [self.words[s:s + 4 * n] for s, n in zip(self.bin_start[at].tolist(), self.bin_chunks[at].tolist(),
                                                         strict=True)]
        return np.concatenate(parts).copy().view("<u8").reshape(-1, 2)


@dataclass(frozen=True)
class TabixIndex:
    """A parsed ``.tbi`` or ``.csi``: the tabix header, the binning (``min_shift``, ``depth``) and each
    sequence's index."""

    path: Path
    fmt: str
    col_seq: int
    col_beg: int
    col_end: int
    meta: str
    skip: int
    names: list[str]
    sequences: list[SequenceIndex]
    min_shift: int = 14
    depth: int = 5

    @property
    def n_records(self) -> int | None:
        """Records in the file (the pseudo-bins' counts), None if the index does not count them."""
        counts = [s.n_records for s in self.sequences]
        return None if any(c is None for c in counts) else int(sum(c for c in counts if c is not None))

    def sequence(self, chrom: str) -> int | None:
        """The index of sequence ``chrom`` compared without a ``chr`` prefix (``1`` finds ``chr1``), or None."""
        want = _bare(chrom)
        for i, name in enumerate(self.names):
            if _bare(name) == want:
                return i
        return None

    def chunks(self, chrom: str, start: int | None, end: int | None) -> np.ndarray:
        """Merged chunks ``(n, 2)`` (virtual offsets, file order) that hold every record of ``chrom`` in the
        1-based inclusive ``[start, end]`` (open ends: the chromosome's ends)."""
        tid = self.sequence(chrom)
        if tid is None:
            return np.zeros((0, 2), np.uint64)
        seq = self.sequences[tid]
        top = 1 << (self.min_shift + 3 * self.depth)
        beg = min(max((start or 1) - 1, 0), top - 1)
        stop = top if end is None else min(max(int(end), beg + 1), top)
        ch = seq.chunks_of(region_bins(beg, stop, self.min_shift, self.depth))
        if not len(ch):
            return ch
        if len(seq.linear):  # .tbi only: the smallest offset of a record overlapping beg's 16 kb window
            min_off = seq.linear[min(beg >> self.min_shift, len(seq.linear) - 1)]
            ch = ch[ch[:, 1] > min_off]
        return merge_chunks(ch)


def _bare(name: str) -> str:
    return name[3:] if name[:3].lower() == "chr" else name


def merge_chunks(chunks: np.ndarray) -> np.ndarray:
    """Sort chunks by their start and merge those that overlap or touch."""
    if not len(chunks):
        return np.zeros((0, 2), np.uint64)
    ch = chunks[np.argsort(chunks[:, 0], kind="stable")]
    ends = np.maximum.accumulate(ch[:, 1])
    new = np.concatenate([[True], ch[1:, 0] > ends[:-1]])
    group = np.cumsum(new) - 1
    out = np.zeros((int(group[-1]) + 1, 2), np.uint64)
    out[:, 0] = ch[new, 0]
    np.maximum.at(out[:, 1], group, ch[:, 1])
    return out


def index_path(path: str | Path) -> Path | None:
    """The index beside a file (``<file>.tbi``, else ``<file>.csi``), or None."""
    for suffix in INDEX_SUFFIXES:
        found = Path(f"{path}{suffix}")
        if found.exists():
            return found
    return None


def _reindex_hint(path: Path, fmt: str = "vcf") -> str:
    csi = "--csi " if Path(f"{path}.csi").exists() and not Path(f"{path}{TABIX_SUFFIX}").exists() else ""
    return f"re-index it with `tabix -f {csi}-p {fmt} {path}` (or delete the index to scan the file)"


def read_index(path: str | Path, data_path: str | Path) -> TabixIndex:
    """Parse a ``.tbi`` or ``.csi`` file (BGZF- or gzip-compressed) for the bgzip file ``data_path``.

    Raises
    ------
    DataError
        The index is older than the file, is not a tabix index, or is truncated.
    """
    path, data_path = Path(path), Path(data_path)
    if path.stat().st_mtime < data_path.stat().st_mtime:
        raise DataError(
            f"tabix index {path} is older than {data_path} (the file changed after it was indexed); "
            f"{_reindex_hint(data_path)}"
        )
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _CACHE:
        return _CACHE[key]
    try:
        raw = gzip.decompress(path.read_bytes())
        index = _parse_index(raw, path)
    except (OSError, EOFError, zlib.error, struct.error, IndexError, ValueError) as exc:
        raise DataError(
            f"tabix index {path} is truncated or not a tabix index ({exc}); {_reindex_hint(data_path)}"
        ) from None
    if len(_CACHE) >= 8:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = index
    return index


def _parse_index(raw: bytes, path: Path) -> TabixIndex:
    """A ``.tbi`` (``TBI\\1``, tabix header, names, bins and linear index per sequence) or a ``.csi``
    (``CSI\\1``, min_shift, depth, the tabix header as auxiliary data, bins with their smallest offset)."""
    if raw[:4] == b"TBI\x01":
        n_ref, fmt, col_seq, col_beg, col_end, meta, skip, l_nm = struct.unpack_from("<8i", raw, 4)
        names_at, off, head, min_shift, depth, linear = 36, 36 + l_nm, 2, 14, 5, True
    elif raw[:4] == b"CSI\x01":
        min_shift, depth, l_aux = struct.unpack_from("<3i", raw, 4)
        if l_aux < 28:
            raise ValueError("a CSI index without a tabix header (a BAM/BCF index?)")
        fmt, col_seq, col_beg, col_end, meta, skip, l_nm = struct.unpack_from("<7i", raw, 16)
        names_at, off, head, linear = 44, 16 + l_aux + 4, 4, False
        (n_ref,) = struct.unpack_from("<i", raw, 16 + l_aux)
    else:
        raise ValueError(f"magic {raw[:4]!r}, neither TBI\\1 nor CSI\\1")
    names = [n.decode() for n in raw[names_at:names_at + l_nm].split(b"\x00")[:n_ref]]
    # everything after the names is 4-byte fields: walk it as int32 words, read the uint64 offsets in place
    words = np.frombuffer(raw[off:off + (len(raw) - off) // 4 * 4], "<i4")
    meta_bin = _meta_bin(depth)
    sequences = []
    i = 0
    for _ in range(n_ref):
        n_bin = int(words[i])
        starts, i = _bin_starts(words, i + 1, n_bin, head)
        lin = np.zeros(0, np.uint64)
        if linear:
            n_intv = int(words[i])
            i += 1
            if n_intv < 0 or i + 2 * n_intv > len(words):
                raise ValueError("the linear index runs past the end of the file")
            lin = words[i:i + 2 * n_intv].copy().view("<u8")
            i += 2 * n_intv
        ids = words[starts].astype(np.int64) & 0xFFFFFFFF
        n_chunks = words[starts + head - 1].astype(np.int64)
        meta_at = np.flatnonzero(ids == meta_bin)
        n_records = None
        if len(meta_at) and n_chunks[meta_at[0]] >= 2:
            s0 = int(starts[meta_at[0]]) + head
            counts = words[s0 + 4:s0 + 8].copy().view("<u8")
            n_records = int(counts[0]) + int(counts[1])
        keep = ids != meta_bin
        order = np.argsort(ids[keep], kind="stable")
        sequences.append(SequenceIndex(ids[keep][order], (starts[keep] + head)[order], n_chunks[keep][order],
                                       words, lin, n_records))
    return TabixIndex(path, _FORMATS.get(fmt & 0xFFFF, str(fmt)), col_seq, col_beg, col_end, chr(meta), skip,
                      names, sequences, min_shift, depth)


def _bin_starts(words: np.ndarray, i: int, n_bin: int, head: int = 2) -> tuple[np.ndarray, int]:
    """The word offsets of a sequence's ``n_bin`` bins, the first at word ``i``, and the offset after them.

    A bin is ``head`` words (``.tbi``: bin, n_chunk; ``.csi``: bin, smallest offset (2 words), n_chunk) then
    n_chunk x (beg, end): head + 4 n_chunk words. Runs of one-chunk bins (nearly all bins of a GWAS file) are
    found with numpy in windows that double while they last; other bins are stepped over one by one.
    """
    out = np.empty(max(n_bin, 0), np.int64)
    step = head + 4
    k, window = 0, 64
    while k < n_bin:
        m = min(n_bin - k, window, (len(words) - i - head) // step + 1)
        if m <= 0:
            raise ValueError("the bins run past the end of the file")
        cand = i + step * np.arange(m, dtype=np.int64)
        one = words[cand + head - 1] == 1
        run = m if bool(one.all()) else int(np.argmin(one))
        out[k:k + run] = cand[:run]
        k += run
        i += step * run
        if run == m:
            window = min(2 * window, 1 << 20)
            continue
        n_chunk = int(words[i + head - 1])
        if n_chunk < 0:
            raise ValueError(f"a bin with {n_chunk} chunks")
        out[k] = i
        k += 1
        i += head + 4 * n_chunk
        window = 64
    if i > len(words):
        raise ValueError("the bins run past the end of the file")
    return out, i


class BgzfReader:
    """Random access to the members of a BGZF file, each decompressed at most once per reader.

    Parameters
    ----------
    path : path
        The bgzip file.
    index : Path
        Its index (named in the errors).
    """

    def __init__(self, path: str | Path, index: Path) -> None:
        self.path = Path(path)
        self.index = index
        self.size = self.path.stat().st_size
        self._fh: IO[bytes] = open(self.path, "rb")
        self._cache: dict[int, tuple[bytes, int]] = {}

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> BgzfReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bad(self, what: str) -> DataError:
        return DataError(
            f"tabix index {self.index} does not match {self.path}: {what}; {_reindex_hint(self.path)}"
        )

    def block(self, coffset: int) -> tuple[bytes, int]:
        """The decompressed data of the member at byte ``coffset`` and the offset of the next member."""
        hit = self._cache.get(coffset)
        if hit is not None:
            return hit
        if coffset >= self.size:
            raise self._bad(f"it points at byte {coffset}, past the end of the file ({self.size} bytes)")
        self._fh.seek(coffset)
        head = self._fh.read(18)
        if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
            raise self._bad(f"byte {coffset} is not the start of a BGZF block (is the file bgzip-compressed?)")
        bsize = struct.unpack_from("<H", head, 16)[0] + 1
        body = head + self._fh.read(bsize - 18)
        if len(body) < bsize:
            raise self._bad(f"the BGZF block at byte {coffset} is cut short")
        try:
            data = zlib.decompress(body[18:bsize - 8], -15)
        except zlib.error as exc:
            raise self._bad(f"the BGZF block at byte {coffset} does not decompress ({exc})") from None
        out = (data, coffset + bsize)
        self._cache[coffset] = out
        return out

    def read_chunks(self, chunks: np.ndarray) -> tuple[bytes, np.ndarray]:
        """The decompressed bytes of chunks ``[beg, end)`` (virtual offsets), and the virtual offset of each
        of their lines (non-empty lines, in order)."""
        pieces: list[bytes] = []
        block_start: list[int] = []  # position in the output where each piece starts
        block_voff: list[int] = []   # virtual offset of that position
        n = 0
        for vbeg, vend in chunks.tolist():
            coff, uoff = vbeg >> 16, vbeg & 0xFFFF
            cend, uend = vend >> 16, vend & 0xFFFF
            first = True
            while coff < cend or (coff == cend and uoff < uend):
                data, nxt = self.block(coff)
                stop = uend if coff == cend else len(data)
                if uoff > len(data) or stop > len(data):
                    raise self._bad(f"an offset inside the block at byte {coff} is past its {len(data)} bytes")
                if first and uoff > 0 and data[uoff - 1:uoff] != b"\n":
                    raise self._bad(f"the chunk at block {coff}, byte {uoff} does not start a line")
                first = False
                piece = data[uoff:stop]
                if piece:
                    pieces.append(piece)
                    block_start.append(n)
                    block_voff.append((coff << 16) | uoff)
                    n += len(piece)
                if coff < cend < nxt:
                    raise self._bad(f"a chunk ends at byte {cend}, inside the BGZF block at byte {coff}")
                coff, uoff = nxt, 0
        buf = b"".join(pieces)
        return buf, line_offsets(buf, np.asarray(block_start, np.int64), np.asarray(block_voff, np.uint64))


def line_offsets(buf: bytes, starts: np.ndarray, voffs: np.ndarray) -> np.ndarray:
    """The virtual offset of each non-empty line of ``buf``, given where each block's bytes start in ``buf``
    (``starts``) and their virtual offsets (``voffs``); a line split between blocks gets the offset of its
    first byte, as tabix records it."""
    arr = np.frombuffer(buf, np.uint8)
    if not len(arr):
        return np.zeros(0, np.int64)
    begin = np.concatenate([[0], np.flatnonzero(arr == 10) + 1])
    begin = begin[begin < len(arr)]
    begin = begin[arr[begin] != 10]
    which = np.searchsorted(starts, begin, side="right") - 1
    return (voffs[which].astype(np.int64) + (begin - starts[which])).astype(np.int64)


def query(index: TabixIndex, reader: BgzfReader, regions: Sequence[tuple[str, int | None, int | None]]
          ) -> list[tuple[bytes, np.ndarray]]:
    """For each region ``(chrom, start, end)`` (1-based, inclusive), the lines of its index chunks and their
    virtual offsets (a superset of the region's records: filter them by position)."""
    return [reader.read_chunks(index.chunks(c, s, e)) for c, s, e in regions]
