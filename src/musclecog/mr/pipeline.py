"""One MR pair from the config to written results: the names the rules and scripts import.

The work is split by job: :mod:`musclecog.mr.jobs` (the ``mr:`` section as one job per directed pair),
:mod:`musclecog.mr.pair` (running a pair: instruments -> outcome lookup -> harmonisation -> Steiger -> the
estimator suite, or the suite on an already harmonised table) and :mod:`musclecog.mr.tables` (multivariable
IVW rows and writing the tables).
"""

from __future__ import annotations

from musclecog.mr.jobs import (
    PAIR_KEYS,
    adjust_columns,
    adjust_traits,
    check_adjust_traits,
    check_harmonised_options,
    pair_jobs,
)
from musclecog.mr.pair import (
    PairResult,
    PairRun,
    PairSettings,
    check_builds,
    multivariable_gwas,
    read_harmonised,
    run_harmonised,
    run_pair,
    steiger_filter,
)
from musclecog.mr.tables import FIGURES, TABLES, multivariable_table, write_pair

__all__ = [
    "FIGURES",
    "PAIR_KEYS",
    "TABLES",
    "PairResult",
    "PairRun",
    "PairSettings",
    "adjust_columns",
    "adjust_traits",
    "check_adjust_traits",
    "check_builds",
    "check_harmonised_options",
    "multivariable_gwas",
    "multivariable_table",
    "pair_jobs",
    "read_harmonised",
    "run_harmonised",
    "run_pair",
    "steiger_filter",
    "write_pair",
]
