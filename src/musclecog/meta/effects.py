"""Study effect sizes from a 2x2 table (``metafor::escalc``): log risk ratio and log odds ratio.

Cells: ``ai`` events and ``bi`` non-events among the exposed (treated), ``ci`` and ``di`` among the
unexposed (control). As ``escalc``'s defaults (``add = 1/2, to = "only0"``), 1/2 is added to every cell of
a study with a zero cell. A study with no events in both groups (or only events) is refused: its ratio
is not defined.

* ``RR``: ``log((ai / n1) / (ci / n2))``, variance ``1/ai - 1/n1 + 1/ci - 1/n2``;
* ``OR``: ``log(ai di / (bi ci))``, variance ``1/ai + 1/bi + 1/ci + 1/di``.
"""

from __future__ import annotations

import numpy as np

from musclecog.errors import DataError

MEASURES: dict[str, str] = {"RR": "log_risk_ratio", "OR": "log_odds_ratio"}
"""2x2 measure -> the scale of its log estimate."""


def log_ratio_from_counts(
    ai: np.ndarray, bi: np.ndarray, ci: np.ndarray, di: np.ndarray, measure: str, where: str = "studies"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log RR or log OR and its variance per study.

    Returns
    -------
    (yi, vi, corrected)
        Estimates, variances and which studies had 1/2 added to their cells.

    Raises
    ------
    DataError
        Negative or non-integer counts, or a study with no events (or no non-events) in both groups.
    """
    cells = np.column_stack([ai, bi, ci, di]).astype(float)
    if not np.all(np.isfinite(cells)) or np.any(cells < 0) or np.any(cells != np.round(cells)):
        raise DataError(f"{where}: the 2x2 counts must be whole numbers >= 0")
    n1, n2 = cells[:, 0] + cells[:, 1], cells[:, 2] + cells[:, 3]
    if np.any(n1 == 0) or np.any(n2 == 0):
        raise DataError(f"{where}: a study has no participants in one group (ai + bi or ci + di is 0)")
    degenerate = ((cells[:, 0] == 0) & (cells[:, 2] == 0)) | ((cells[:, 1] == 0) & (cells[:, 3] == 0))
    if np.any(degenerate):
        raise DataError(
            f"{where}: row(s) {list(np.flatnonzero(degenerate))} have no events (or only events) in both groups; "
            "their ratio is not defined. Leave them out of the table (and say so)."
        )
    corrected = np.any(cells == 0, axis=1)
    cells = cells + 0.5 * corrected[:, None]
    a, b, c, d = cells.T
    if measure == "RR":
        yi = np.log((a / (a + b)) / (c / (c + d)))
        vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    elif measure == "OR":
        yi = np.log(a * d / (b * c))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    else:
        raise DataError(f"{where}: unknown measure {measure!r}; use one of {sorted(MEASURES)}")
    return yi, vi, corrected
