"""Typed specs: a frozen dataclass per analysis type, built once from its validated config entry.

The analysis type's JSON schema (``workflow/schemas/analyses/<type>.schema.yaml``) is the one source of
the allowed keys and their defaults: :func:`spec_from_config` fills an absent key with the schema's
``default`` and otherwise leaves the field's empty default (``None``, ``()``, ``{}``); a spec class declares
no default of its own that differs from the schema (checked for every class by
``tests/unit/test_core_contract.py``). Lists become tuples and mappings read-only mappings, so a spec is
hashable in spirit and never changed by a fit.

A field whose config key is not a valid Python name, or reads badly as one, names its key in the field's
metadata: ``field(default=None, metadata={"key": "reference"})``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from musclecog.config import check_against_schema, load_schema, schema_dir
from musclecog.errors import ConfigError

COMMON_KEYS: tuple[str, ...] = ("type", "cohort", "description", "keep_if")
"""Keys every analysis entry may have (the run context, not the model)."""


@dataclass(frozen=True)
class RunContext:
    """What an analysis needs to know beyond its own config entry.

    Attributes
    ----------
    analysis : str
        The analysis name (the key under ``analyses:``).
    cohort : str
        The cohort name.
    seed : int
        The seed of this analysis (bootstrap, resampling), derived from the config seed.
    survey : mapping or None
        The cohort's survey design (``weight``, ``strata``, ``psu`` columns, ...) when declared.
    threads : int
        Threads the job may use.
    min_cell : int
        The small-cell threshold of the run (``disclosure.min_cell``): no released count below it
        (:mod:`musclecog.disclosure`).
    """

    analysis: str
    cohort: str
    seed: int = 0
    survey: Mapping[str, Any] | None = None
    threads: int = 1
    min_cell: int = 5

    @property
    def where(self) -> str:
        """The config key path of the analysis, for messages."""
        return f"analyses.{self.analysis}"


@dataclass(frozen=True, kw_only=True)
class AnalysisSpec:
    """Base of every analysis spec: the run context and the common keys.

    Subclasses are ``@dataclass(frozen=True, kw_only=True)``, set ``TYPE`` (the analysis type, i.e. the
    schema file's name) and add one field per schema property.
    """

    TYPE: ClassVar[str] = ""
    ROWS_ARE_PEOPLE: ClassVar[bool] = True
    """Whether a row of the analysed table describes a person (False for study-level summaries, as in a
    meta-analysis: the small-cell threshold then applies to the counts the rows carry, not to the rows)."""
    SURVEY_DESIGN: ClassVar[bool] = False
    """Whether the type honours a cohort's survey design (weights, strata, PSUs). When it does not and the
    cohort declares one, every row's note says the design was not used (:func:`musclecog.analyses.run_analysis`)."""
    context: RunContext = field(default=RunContext("analysis", "cohort"), metadata={"key": None})
    description: str | None = None
    keep_if: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def uses_survey_design(self) -> bool:
        """Whether this analysis honours the cohort's survey design (``SURVEY_DESIGN``; a type whose families
        differ, e.g. ``dose_response`` with Cox, overrides it)."""
        return self.SURVEY_DESIGN

    @property
    def where(self) -> str:
        """The config key path of the analysis, for messages."""
        return self.context.where


S = TypeVar("S", bound=AnalysisSpec)


@cache
def analysis_schema(analysis_type: str, directory: str | None = None) -> Mapping[str, Any]:
    """The JSON schema of one analysis type (read once)."""
    path = Path(directory) if directory else schema_dir() / "analyses"
    file = path / f"{analysis_type}.schema.yaml"
    if not file.is_file():
        raise ConfigError(f"no schema for analysis type {analysis_type!r} ({file} does not exist)")
    return load_schema(file)


def config_key(f: dataclasses.Field[Any]) -> str | None:
    """The config key of a spec field (``None`` for fields that do not come from the entry)."""
    if "key" in f.metadata:
        key = f.metadata["key"]
        return None if key is None else str(key)
    return f.name


def freeze(value: Any) -> Any:
    """Lists to tuples and mappings to read-only mappings, recursively."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def spec_from_config(cls: type[S], entry: Mapping[str, Any], context: RunContext) -> S:
    """Build a spec from a validated analysis entry, with the schema's defaults for absent keys.

    Parameters
    ----------
    cls : type
        The spec class (a subclass of :class:`AnalysisSpec` with ``TYPE`` set).
    entry : mapping
        The analysis entry of the config (already validated against the schema in a pipeline run).
    context : RunContext

    Raises
    ------
    ConfigError
        The entry does not validate against the schema (a direct library call gets the pipeline's
        checks): an unknown key, a value of the wrong type or out of range, a required key that is absent.
    """
    schema = analysis_schema(cls.TYPE)
    props: Mapping[str, Any] = schema.get("properties", {})
    check_against_schema({"type": cls.TYPE, "cohort": context.cohort, **entry}, schema, context.where)
    unknown = sorted(set(entry) - set(props) - set(COMMON_KEYS))
    if unknown:
        raise ConfigError(
            f"{context.where}: unknown key(s) {unknown} for type {cls.TYPE!r}; allowed: "
            f"{sorted(set(props) - {'type'})}. See docs for this analysis type."
        )
    required = set(schema.get("required", [])) - set(COMMON_KEYS)
    absent = sorted(required - set(entry))
    if absent:
        raise ConfigError(f"{context.where}: the key(s) {absent} are required for type {cls.TYPE!r}")
    kwargs: dict[str, Any] = {"context": context}
    for f in dataclasses.fields(cls):
        key = config_key(f)
        if key is None:
            continue
        if key in entry and entry[key] is not None:
            kwargs[f.name] = freeze(entry[key])
        elif key in props and "default" in props[key]:
            kwargs[f.name] = freeze(props[key]["default"])
    return cls(**kwargs)
