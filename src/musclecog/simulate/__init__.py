"""Synthetic cohorts, one module per design, each calibrated to the review's published numbers.

Every design module exposes ``DESIGNS: dict[str, SimulateFunction]``; a function takes ``n``, a
``seed`` and optional parameter overrides and returns a :class:`SimulatedCohort`: the data (canonical
column names of ``resources/variables.tsv``) and the truth table the data were generated from.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from musclecog.errors import ConfigError

DESIGN_MODULES: tuple[str, ...] = (
    "nhanes",
    "ukb",
    "liao",
    "li",
    "chen",
    "trials",
    "cohort7y",
    "charls",
    "gwas",
)
"""Modules of :mod:`musclecog.simulate` that define designs."""


@dataclass(frozen=True)
class SimulatedCohort:
    """A synthetic data set and the truth it was generated from.

    Attributes
    ----------
    data : DataFrame
        The individual-level table (long format with ``id`` and ``wave`` for repeated designs).
    truth : DataFrame
        Columns ``parameter, value, unit, source``: the true effects, and where each calibrated
        value comes from (``review``: a published number; ``literature``: a plausible value the
        review does not give, labelled as such; ``derived``: implied by the others; ``chosen``: a shape set
        here to test a method, e.g. the non-linear grip-DSST curve of the dose-response analysis, not a
        claim about the world).
    survey : mapping or None
        Survey design columns when the design has one.
    """

    data: pd.DataFrame
    truth: pd.DataFrame
    survey: Mapping[str, Any] | None = None


SimulateFunction = Callable[..., SimulatedCohort]


def truth_table(rows: list[tuple[str, float, str, str]]) -> pd.DataFrame:
    """Build a truth table from ``(parameter, value, unit, source)`` tuples."""
    return pd.DataFrame(rows, columns=["parameter", "value", "unit", "source"])


def designs() -> dict[str, SimulateFunction]:
    """All synthetic designs: name -> generator."""
    out: dict[str, SimulateFunction] = {}
    for mod in DESIGN_MODULES:
        try:
            module = importlib.import_module(f"musclecog.simulate.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name == f"musclecog.simulate.{mod}":
                continue
            raise
        out.update(getattr(module, "DESIGNS", {}))
    return out


def simulate(design: str, n: int | None, seed: int, params: Mapping[str, Any] | None = None) -> SimulatedCohort:
    """Generate one synthetic cohort.

    Parameters
    ----------
    design : str
        A design name (see :func:`designs`).
    n : int or None
        Number of people; None uses the design's default (the source study's n).
    seed : int
        Random seed; the same seed and n give identical data.
    params : mapping, optional
        Overrides of the calibrated parameters.

    Returns
    -------
    SimulatedCohort
    """
    available = designs()
    if design not in available:
        raise ConfigError(
            f"unknown synthetic design {design!r}; known designs: {', '.join(sorted(available))}"
        )
    kwargs: dict[str, Any] = dict(params or {})
    if n is not None:
        kwargs["n"] = n
    return available[design](seed=seed, **kwargs)
