"""Golden result tables: compare a run's tables with the committed ones.

Counts, labels and every non-float column must match exactly; float columns to a relative tolerance
(default 1e-8) with missing values in the same places. Used by ``tests/workflow/test_golden.py`` and
``scripts/update_golden.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

SKIP_DIRS = frozenset({"benchmarks", "logs", "gwas", "golden", "manuscript"})
"""Result sub-folders that hold no result tables (timings, logs, large standardised GWAS, manuscript tables:
formatted views of the estimates and table 1, which are compared)."""


def result_tables(results_dir: str | Path) -> Iterator[Path]:
    """Relative paths of every ``.tsv`` result table under a results folder (sorted)."""
    root = Path(results_dir)
    for path in sorted(root.rglob("*.tsv")):
        rel = path.relative_to(root)
        if rel.parts[0] not in SKIP_DIRS:
            yield rel


def compare_table(expected: Path, actual: Path, rtol: float = 1e-8) -> list[str]:
    """Differences between two tables; an empty list when they agree.

    Parameters
    ----------
    expected, actual : path
        Tab-separated tables written by :func:`musclecog.results.write_table`.
    rtol : float
        Relative tolerance for float columns (absolute floor 1e-300 so that exact zeros compare equal).

    Returns
    -------
    list of str
        Human-readable differences (column, first rows, values).
    """
    a = pd.read_csv(expected, sep="\t", na_values=["NA"], keep_default_na=False)
    b = pd.read_csv(actual, sep="\t", na_values=["NA"], keep_default_na=False)
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} vs {list(b.columns)}"]
    if len(a) != len(b):
        return [f"row count differs: {len(a)} vs {len(b)}"]
    problems = []
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            same_nan = np.isnan(xv) == np.isnan(yv)
            close = np.isclose(xv, yv, rtol=rtol, atol=1e-300, equal_nan=True)
            bad = np.flatnonzero(~(same_nan & close))
        else:
            bad = np.flatnonzero(~((x.astype(str) == y.astype(str)).to_numpy()))
        if bad.size:
            rows = ", ".join(f"row {i}: {x.iloc[i]!r} vs {y.iloc[i]!r}" for i in bad[:3])
            problems.append(f"column '{col}' differs in {bad.size} rows ({rows})")
    return problems


def compare_results(golden_dir: str | Path, results_dir: str | Path, rtol: float = 1e-8) -> list[str]:
    """Compare every golden table with a run's tables; list missing, extra and differing tables."""
    golden, results = Path(golden_dir), Path(results_dir)
    want, have = set(result_tables(golden)), set(result_tables(results))
    problems = [f"{p}: in the golden set but not produced by the run" for p in sorted(want - have)]
    problems += [f"{p}: produced by the run but not in the golden set" for p in sorted(have - want)]
    for rel in sorted(want & have):
        problems += [f"{rel}: {msg}" for msg in compare_table(golden / rel, results / rel, rtol)]
    return problems


def update_golden(results_dir: str | Path, golden_dir: str | Path) -> list[Path]:
    """Replace the golden set by a run's tables (after an intended change); returns the files written."""
    results, golden = Path(results_dir), Path(golden_dir)
    if golden.exists():
        shutil.rmtree(golden)
    written = []
    for rel in result_tables(results):
        (golden / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results / rel, golden / rel)
        written.append(rel)
    return written
