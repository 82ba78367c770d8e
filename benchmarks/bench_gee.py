"""CPU time of the default run's GEE analyses (config/config.yaml entries of ``type: gee``) on a cohort table.

In one process: the table is read once, then each GEE entry is run with
:func:`musclecog.analyses.run_analysis` ``--repeats`` times; printed are the CPU (process) time of the first
round (which pays the imports) and the minimum over the rounds, and which ``statsmodels`` modules are loaded
at the end. CPU time, not wall time: the machine is shared.

Usage: ``.venv/bin/python benchmarks/bench_gee.py results/cohorts/charls.parquet [--repeats 3]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml


def main() -> None:
    """Run the benchmark (command-line arguments as in the module docstring)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("cohort_table", type=Path)
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from musclecog.analyses import load_analysis_data, run_analysis
    from musclecog.core.spec import RunContext

    config = yaml.safe_load(args.config.read_text())
    entries = {k: v for k, v in config["analyses"].items() if v.get("type") == "gee"}
    data = {k: load_analysis_data(v, str(args.cohort_table)) for k, v in entries.items()}
    rounds = []
    for _ in range(args.repeats):
        c0 = time.process_time()
        for name, entry in entries.items():
            run_analysis(data[name], entry, RunContext(analysis=name, cohort=entry["cohort"], seed=1))
        rounds.append(time.process_time() - c0)
    loaded = sorted(m for m in sys.modules if m == "statsmodels" or m.startswith("statsmodels."))
    print(f"GEE analyses: {', '.join(entries)}")
    print(f"CPU s per round: {', '.join(f'{r:.3f}' for r in rounds)}; first {rounds[0]:.3f}, min {min(rounds):.3f}")
    print(f"statsmodels modules loaded: {len(loaded)}" + (f" ({', '.join(loaded)})" if 0 < len(loaded) < 20 else ""))


if __name__ == "__main__":
    main()
