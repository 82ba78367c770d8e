"""The variable dictionary and unit table: one source of truth for names, units, kinds and ranges.

``resources/variables.tsv`` has one row per canonical variable (columns ``name, label, unit, kind,
min, max, levels, note``); ``kind`` is one of ``id, integer, numeric, binary, category``. Ingestion
checks every dictionary column against its kind and range; columns not in the dictionary are kept
under their own names and only checked for being readable. ``resources/units.tsv`` lists the unit
conversions the config may ask for (``units: {grip_kg: lb}``): ``from, to, factor`` with
``value_in_to = value_in_from * factor``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from musclecog.errors import ConfigError

if TYPE_CHECKING:  # only for annotations: the dictionary does not depend on the design builder
    from musclecog.core.design import Coding

KINDS: tuple[str, ...] = ("id", "integer", "numeric", "binary", "category")
NUMERIC_KINDS: frozenset[str] = frozenset({"integer", "numeric", "binary"})


def resources_dir() -> Path:
    """The ``resources/`` folder of the repository this package was installed from."""
    return Path(__file__).resolve().parents[2] / "resources"


@dataclass(frozen=True)
class Variable:
    """One row of the variable dictionary.

    Attributes
    ----------
    name, label, unit, kind : str
        Canonical column name, human label, unit ('' when unitless) and kind (see :data:`KINDS`).
    min, max : float
        The plausible range (NaN when unbounded); values outside it are errors.
    levels : tuple of str
        Allowed values of a category ('' -> any value).
    note : str
        Source of a cut-off, or how the variable is defined.
    """

    name: str
    label: str
    unit: str
    kind: str
    min: float
    max: float
    levels: tuple[str, ...]
    note: str

    @property
    def is_numeric(self) -> bool:
        """Whether values must be numbers (integer, numeric or binary)."""
        return self.kind in NUMERIC_KINDS


class VariableDictionary(Mapping[str, Variable]):
    """The variable dictionary, a read-only mapping ``name -> Variable`` in file order."""

    def __init__(self, variables: Mapping[str, Variable], path: str | Path = "<memory>") -> None:
        self._vars = dict(variables)
        self.path = str(path)

    def __getitem__(self, name: str) -> Variable:
        return self._vars[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vars)

    def __len__(self) -> int:
        return len(self._vars)

    @classmethod
    def from_tsv(cls, path: str | Path) -> VariableDictionary:
        """Read a dictionary TSV (see module docstring) and check its kinds and ranges."""
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        needed = ["name", "label", "unit", "kind", "min", "max", "levels", "note"]
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ConfigError(f"{path}: the variable dictionary lacks the columns {missing}; it needs {needed}")
        out: dict[str, Variable] = {}
        for i, row in enumerate(table.itertuples(index=False), start=2):
            if row.kind not in KINDS:
                raise ConfigError(f"{path} line {i}: kind {row.kind!r} of {row.name!r} is not one of {KINDS}")
            if row.name in out:
                raise ConfigError(f"{path} line {i}: the variable {row.name!r} is defined twice; keep one row")
            lo = float(row.min) if row.min.strip() else math.nan
            hi = float(row.max) if row.max.strip() else math.nan
            levels = tuple(v for v in row.levels.split("|") if v) if row.levels.strip() else ()
            out[row.name] = Variable(row.name, row.label, row.unit, row.kind, lo, hi, levels, row.note)
        return cls(out, path)


@functools.cache
def _load_dictionary(path: str) -> VariableDictionary:
    return VariableDictionary.from_tsv(path)


def load_dictionary(path: str | Path | None = None) -> VariableDictionary:
    """The variable dictionary (default ``resources/variables.tsv``), read once per process."""
    return _load_dictionary(str(Path(path) if path else resources_dir() / "variables.tsv"))


@functools.cache
def _load_units(path: str) -> dict[tuple[str, str], float]:
    table = pd.read_csv(path, sep="\t", dtype={"from": str, "to": str, "factor": float}, keep_default_na=False)
    return {(f, t): float(x) for f, t, x in zip(table["from"], table["to"], table["factor"], strict=True)}


def load_units(path: str | Path | None = None) -> dict[tuple[str, str], float]:
    """The unit conversions ``(from, to) -> factor`` (default ``resources/units.tsv``)."""
    return _load_units(str(Path(path) if path else resources_dir() / "units.tsv"))


def conversion_factor(
    variable: str, from_unit: str, dictionary: VariableDictionary, where: str = "units"
) -> float:
    """The factor that converts ``variable`` from ``from_unit`` to its dictionary unit.

    Parameters
    ----------
    variable : str
        A dictionary variable with a unit (e.g. ``grip_kg``).
    from_unit : str
        The unit the data are in (e.g. ``lb``).
    dictionary : VariableDictionary
    where : str
        The config key, for messages.

    Raises
    ------
    ConfigError
        If the variable is not in the dictionary, has no unit, or no conversion is known.
    """
    if variable not in dictionary:
        raise ConfigError(
            f"config: '{where}.{variable}': {variable!r} is not in the variable dictionary "
            f"({dictionary.path}), so it has no target unit. Convert it yourself or add it to the dictionary."
        )
    target = dictionary[variable].unit
    if not target:
        raise ConfigError(f"config: '{where}.{variable}': {variable!r} has no unit in the dictionary; remove it here.")
    table = load_units()
    if (from_unit, target) not in table:
        known = sorted(f for (f, t) in table if t == target)
        raise ConfigError(
            f"config: '{where}.{variable}' is {from_unit!r}, a unit not known for {variable} (unit {target}). "
            f"Known units for it: {', '.join(known)}. Use one of these, or add a row to resources/units.tsv."
        )
    return table[(from_unit, target)]


def variable_label(name: str, dictionary: VariableDictionary | None = None, *, unit: bool = True) -> str:
    """A column's label from the dictionary, capitalised, with its unit (``"Grip strength (kg)"``);
    a column outside the dictionary keeps its name."""
    d = dictionary if dictionary is not None else load_dictionary()
    if name not in d:
        return name
    var = d[name]
    text = var.label[:1].upper() + var.label[1:]
    return f"{text} ({var.unit})" if unit and var.unit else text


def term_label(
    term: str, codings: Mapping[str, Coding] | None = None, dictionary: VariableDictionary | None = None
) -> str:
    """A model term in words, from the dictionary's labels and units and the design's coding.

    ``grip_kg`` -> ``Grip strength (kg)``; scaled by 5 -> ``Grip strength, per 5 kg``; ``sex[male]`` ->
    ``Sex: male``; ``grip_kg:sex[male]`` -> ``Grip strength (kg) × Sex: male``; ``(Intercept)`` ->
    ``Intercept``. Terms the design did not make keep their name.
    """
    if term in ("(Intercept)", "Intercept"):
        return "Intercept"
    if ":" in term:
        return " × ".join(term_label(part, codings, dictionary) for part in term.split(":"))
    d = dictionary if dictionary is not None else load_dictionary()
    if term.endswith("]") and "[" in term:
        name, level = term[:-1].split("[", 1)
        return f"{variable_label(name, d, unit=False)}: {level}"
    coding = (codings or {}).get(term)
    if coding is not None and coding.scale != 1.0:
        unit = d[term].unit if term in d else ""
        return f"{variable_label(term, d, unit=False)}, per {coding.scale:.3g}{' ' + unit if unit else ' units'}"
    return variable_label(term, d)
