"""The default run's result tables equal the committed golden tables (tests/golden/): exact for counts and
labels, 1e-8 relative for numbers. After an intended change, regenerate them with
``.venv/bin/python scripts/update_golden.py`` and review ``git diff tests/golden``."""

from __future__ import annotations

from pathlib import Path

import pytest

from musclecog.golden import compare_results, result_tables

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.mark.slow
def test_default_run_matches_golden_tables(default_run: Path) -> None:
    assert GOLDEN.is_dir() and any(result_tables(GOLDEN)), "tests/golden is empty: run scripts/update_golden.py"
    problems = compare_results(GOLDEN, default_run, rtol=1e-8)
    assert not problems, "result tables differ from tests/golden (regenerate after an intended change):\n" + "\n".join(
        problems[:40]
    )
