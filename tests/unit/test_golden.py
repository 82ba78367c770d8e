"""Golden-table comparison: exact for labels and counts, relative tolerance for floats."""

from __future__ import annotations

import pandas as pd

from musclecog.golden import compare_results, compare_table, update_golden
from musclecog.results import write_table


def _write(path, **cols):
    base = {"term": ["a", "b"], "n": [10, 12], "estimate": [0.123456789012, float("nan")]}
    write_table(pd.DataFrame(base | cols), path)


def test_identical_and_within_tolerance(tmp_path):
    _write(tmp_path / "a.tsv")
    _write(tmp_path / "b.tsv", estimate=[0.123456789012 * (1 + 5e-10), float("nan")])
    assert compare_table(tmp_path / "a.tsv", tmp_path / "b.tsv") == []


def test_detects_number_label_count_and_nan_changes(tmp_path):
    _write(tmp_path / "a.tsv")
    _write(tmp_path / "b.tsv", estimate=[0.1234568, float("nan")])
    assert "estimate" in compare_table(tmp_path / "a.tsv", tmp_path / "b.tsv")[0]
    _write(tmp_path / "c.tsv", estimate=[0.123456789012, 1.0])
    assert compare_table(tmp_path / "a.tsv", tmp_path / "c.tsv")
    _write(tmp_path / "d.tsv", n=[10, 13])
    assert "'n'" in compare_table(tmp_path / "a.tsv", tmp_path / "d.tsv")[0]
    _write(tmp_path / "e.tsv", term=["a", "c"])
    assert "'term'" in compare_table(tmp_path / "a.tsv", tmp_path / "e.tsv")[0]


def test_compare_results_missing_and_extra(tmp_path):
    run, golden = tmp_path / "run", tmp_path / "golden"
    _write(run / "estimates" / "x.tsv")
    _write(run / "benchmarks" / "x.tsv", n=[1, 2])  # timings are never golden
    assert update_golden(run, golden) == [golden.joinpath("estimates/x.tsv").relative_to(golden)]
    assert compare_results(golden, run) == []
    _write(run / "estimates" / "y.tsv")
    (run / "estimates" / "x.tsv").unlink()
    problems = compare_results(golden, run)
    assert any("x.tsv: in the golden set" in p for p in problems)
    assert any("y.tsv: produced by the run" in p for p in problems)
