#!/usr/bin/env python
"""``snakemake --lint`` with one expected lint allowed: "Specify a conda environment or container for each rule."

musclecog's software environment is the pinned virtual environment of ``requirements.lock`` (``make install``),
which CI tests. No conda environment or container is tested, so the rules declare none (issue 17: an untested
``conda:`` directive is worse than none), and Snakemake's lint that asks for one is expected. Every other lint
fails this check, as before.

Usage::

    .venv/bin/python scripts/lint_workflow.py [extra snakemake arguments]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ALLOWED = {"Specify a conda environment or container for each rule."}
TITLE = re.compile(r"^    \* (?P<title>.+?):?$")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="passed to snakemake --lint")
    args = parser.parse_args(argv)
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run([str(snakemake), "--lint", "--cores", "1", *args.snakemake_args],
                          capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    titles = [m.group("title") for line in text.splitlines() if (m := TITLE.match(line))]
    unexpected = [t for t in titles if t not in ALLOWED]
    if unexpected or (proc.returncode != 0 and not titles):
        print(text, file=sys.stderr)
        print(f"lint_workflow: {len(unexpected)} unexpected lint(s): {sorted(set(unexpected))}", file=sys.stderr)
        return 1
    print(f"lint_workflow: clean ({len(titles)} expected lint(s): no conda environment or container declared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
