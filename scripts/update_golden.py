#!/usr/bin/env python
"""Regenerate tests/golden/ after an intended change of results.

Usage (from the repository root)::

    .venv/bin/python scripts/update_golden.py            # runs the default pipeline into results/golden_run first
    .venv/bin/python scripts/update_golden.py --from results   # or take the tables of an existing default run

Review the diff (`git diff --stat tests/golden`) before committing: every changed number should be explained.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from musclecog.golden import update_golden

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", help="an existing results folder of the default config")
    parser.add_argument("--cores", default="2")
    args = parser.parse_args()
    source = Path(args.source) if args.source else REPO / "results" / "golden_run"
    if not args.source:
        # a fresh run: Snakemake does not rerun jobs when only the library changed, so old outputs would be kept
        shutil.rmtree(source, ignore_errors=True)
        snakemake = Path(sys.executable).with_name("snakemake")
        cmd = [str(snakemake), "--cores", args.cores, "--config", f"results_dir={source}"]
        subprocess.run(cmd, cwd=REPO, check=True)
    written = update_golden(source, REPO / "tests" / "golden")
    print(f"wrote {len(written)} golden tables to tests/golden from {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
