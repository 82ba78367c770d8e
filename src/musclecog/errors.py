"""Exceptions raised by musclecog.

Every error names what is wrong (file, column, key path, offending values) and how to fix it,
so that a user never has to read a traceback to find the problem.
"""

from __future__ import annotations

from collections.abc import Iterable


class MusclecogError(Exception):
    """Base class of every error musclecog raises on purpose."""


class ConfigError(MusclecogError):
    """The configuration is invalid (unknown key, wrong type, missing file, unknown reference)."""


class DataError(MusclecogError):
    """An input table is invalid (missing column, duplicate ids, values out of range, ...)."""


class ModelError(MusclecogError):
    """A model cannot be fitted on the data it was given (collinearity, separation, too few rows)."""


class ConvergenceWarning(UserWarning):
    """An optimiser stopped without meeting its convergence criterion."""


def show_values(values: Iterable[object], limit: int = 5) -> str:
    """Format offending values for an error message: the first ``limit`` and how many more.

    Parameters
    ----------
    values : iterable
        The offending values (or row labels).
    limit : int
        How many to show.

    Returns
    -------
    str
        For example ``"-3.0, 150.0, 151.0 (and 12 more)"``.
    """
    items = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in items[:limit])
    if len(items) > limit:
        shown += f" (and {len(items) - limit} more)"
    return shown
