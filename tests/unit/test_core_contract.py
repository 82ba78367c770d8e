"""One contract for every analysis type (scikit-learn's ``check_estimator`` habit).

- the registry and the schema files name the same types;
- each type's fit function takes ``(data, spec: <Type>Spec)`` and returns an ``AnalysisResult`` subclass;
- the spec class has one field per schema property and no default of its own that differs from the
  schema's (the schema is the one source of keys and defaults);
- results have no ``figure`` method (plots draw results) and name a figure kind that ``plots`` knows.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from types import MappingProxyType

import pytest

from musclecog.analyses import ANALYSIS_TYPES, find_analysis, spec_class
from musclecog.config import analysis_types, schema_dir
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import COMMON_KEYS, AnalysisSpec, analysis_schema, config_key, freeze
from musclecog.plots import FIGURES

TYPES = sorted(ANALYSIS_TYPES)


def test_registry_and_schemas_name_the_same_types() -> None:
    assert analysis_types(schema_dir()) == TYPES


def _empty(value: object) -> bool:
    return value is None or value == () or (isinstance(value, MappingProxyType | dict) and not value)


@pytest.mark.parametrize("analysis_type", TYPES)
def test_fit_signature_spec_and_schema_agree(analysis_type: str) -> None:
    fn = find_analysis(analysis_type)
    assert list(inspect.signature(fn).parameters) == ["data", "spec"], f"{fn.__qualname__} takes (data, spec)"
    cls = spec_class(fn)
    assert cls is not None and issubclass(cls, AnalysisSpec) and cls.TYPE == analysis_type
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    result_type = typing.get_type_hints(fn)["return"]
    assert issubclass(result_type, AnalysisResult)
    assert not hasattr(result_type, "figure"), "results never draw themselves: plots.draw(result)"
    assert result_type.figure_kind in FIGURES

    props = analysis_schema(analysis_type)["properties"]
    keys = {config_key(f): f for f in dataclasses.fields(cls) if config_key(f) is not None}
    expected = set(props) - {"type", "cohort"}
    assert set(keys) == expected, (
        f"{cls.__name__}: fields without a schema property {sorted(set(keys) - expected)}, "
        f"schema properties without a field {sorted(expected - set(keys))}"
    )
    for key, f in keys.items():
        if key in COMMON_KEYS:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue
        if "default" in props[key]:
            assert _empty(default) or default == freeze(props[key]["default"]), (
                f"{cls.__name__}.{f.name} defaults to {default!r}, the schema to {props[key]['default']!r}"
            )
        else:
            assert _empty(default), f"{cls.__name__}.{f.name} has a default {default!r} the schema does not state"
