"""Arrow column helpers of the GWAS tables: allele dictionaries as integer codes, rsIDs as numbers, chromosome
labels. They work on a column's small dictionary or as one vectorised pass, never per variant in Python."""

from __future__ import annotations

import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_RS_ID = re.compile(r"rs[1-9][0-9]{0,17}")
"""An id that :func:`rs_numbers` maps to a number."""


def allele_codes(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
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


def dictionary_array(codes: np.ndarray, values: np.ndarray) -> pa.DictionaryArray:
    mask = codes < 0
    dictionary = pa.array(list(values), pa.string())
    if not mask.any():
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32, copy=False)), dictionary)
    return pa.DictionaryArray.from_arrays(pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask), dictionary)


def rs_numbers(snp: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The numbers of an id column made only of rsIDs (``rs`` and a number without leading zero, so the map
    to int64 is one-to-one), or None when any id is not such an rsID (or is missing).

    Checked without a regular expression (a prefix test, lengths, the first digit, then the cast, which fails on
    any other character than a digit): about half the time of the regular expression ``^rs[1-9][0-9]{0,17}$``
    and the same answer. The digits are cut as bytes (``binary_slice`` of the ids viewed as binary, no copy of
    the ids; half the time of a UTF-8 slice, the same digits: any other character fails the cast).
    Sorting or joining ten million int64 numbers is several times cheaper in time and memory than hashing ten
    million strings, which is what lets the duplicate check and the whole-genome join stay lean.
    """
    if len(snp) == 0 or snp.null_count or not pc.all(pc.starts_with(snp, "rs")).as_py():
        return None
    length = pc.min_max(pc.binary_length(snp)).as_py()
    if length["min"] < 3 or length["max"] > 20:  # "rs" and 1 to 18 digits
        return None
    digits = pc.binary_slice(pc.cast(snp, pa.binary()), 2, 64)
    # what the cast to int64 would read besides [1-9][0-9]*: a leading zero (also "0x" hex) or a sign
    if any(pc.any(pc.starts_with(digits, lead)).as_py() for lead in ("0", "+", "-")):
        return None
    try:
        return np.asarray(pc.cast(digits, pa.int64()).to_numpy())
    except pa.ArrowInvalid:  # another character than a digit
        return None


def rs_lookup(ids: list[str]) -> np.ndarray:
    """The numbers of the rsIDs among ``ids`` (as :func:`rs_numbers` maps them; other ids left out: they match
    no variant of a table whose ids are all rsIDs)."""
    keep = [i for i in ids if _RS_ID.fullmatch(i)]  # a few thousand ids at most (instruments)
    return np.array([int(i[2:]) for i in keep], dtype=np.int64)


def has_duplicates(snp: pa.Array | pa.ChunkedArray, numbers: np.ndarray | None = None, *,
                   known: bool = False) -> bool:
    """Whether an id column (no nulls) repeats a value (rsIDs as sorted numbers, other ids by hashing);
    ``known``: ``numbers`` is :func:`rs_numbers` of ``snp`` already (None: not all rsIDs)."""
    n = len(snp)
    if n < 2:
        return False
    numbers = numbers if known else rs_numbers(snp)
    if numbers is not None:
        if bool((numbers[1:] > numbers[:-1]).all()):  # already in increasing order: no sort needed
            return False
        numbers = np.sort(numbers)
        return bool((numbers[1:] == numbers[:-1]).any())
    return len(pc.unique(snp)) < n


def strip_chr(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Chromosome labels as strings without a ``chr`` prefix; the regex runs on each chunk's small dictionary."""
    if not pa.types.is_dictionary(col.type):
        return pc.replace_substring_regex(pc.cast(col, pa.string()), "^(chr|CHR|Chr)", "")
    chunks = []
    for chunk in col.chunks:
        labels = pc.replace_substring_regex(chunk.dictionary, "^(chr|CHR|Chr)", "")
        chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, labels).dictionary_decode())
    return pa.chunked_array(chunks, pa.string())




def use_system_allocator() -> str:
    """Let pyarrow allocate with the C library's ``malloc`` for the rest of the process (the MR rule scripts call
    this first); returns the name of the pool in use.

    pyarrow's default pool (mimalloc) returns freed memory to the system and takes it back page by page: reading
    and standardising a 10-million-variant file spent about 3 s of system time that way against 1.5 s with
    ``malloc``, with a 0.1 GB higher peak (1.31-1.36 GB against 1.21-1.23 GB), and a pair job's outcome lookup
    1.5-1.7 s of CPU against 0.9 s (benchmarks/bench_mr_genomewide.py). The values read are the same; only
    where their memory comes from changes. An explicit ``ARROW_DEFAULT_MEMORY_POOL`` in the environment is kept.
    """
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
    return pa.default_memory_pool().backend_name
