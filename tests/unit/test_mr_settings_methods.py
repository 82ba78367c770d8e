"""``methods: all`` and the MR settings schema (workflow/schemas/mr.schema.yaml ``settings``) against MRSettings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from musclecog.config import load_schema, schema_dir
from musclecog.errors import ConfigError
from musclecog.mr import analysis
from musclecog.mr.analysis import METHODS, MRSettings, run_mr


def _settings_schema() -> dict:
    return load_schema(schema_dir() / "mr.schema.yaml")["properties"]["settings"]


def test_settings_schema_equals_mrsettings() -> None:
    schema = _settings_schema()
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    fields = {f.name: f for f in dataclasses.fields(MRSettings)}
    assert set(props) == set(fields)
    for name, f in fields.items():
        default = f.default
        if isinstance(default, tuple):
            default = list(default)
        assert props[name]["default"] == default, name
    methods_enum = props["methods"]["anyOf"][1]["items"]["enum"]
    assert methods_enum == list(METHODS)


def _harmonised(k: int = 12, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bx = rng.normal(0.08, 0.02, k)
    sy = rng.uniform(0.01, 0.02, k)
    return pd.DataFrame({"SNP": [f"rs{i}" for i in range(k)], "beta.exposure": bx, "se.exposure": 0.005,
                         "beta.outcome": rng.normal(0.4 * bx, sy), "se.outcome": sy, "mr_keep": True,
                         "samplesize.exposure": 100_000, "samplesize.outcome": 100_000})


def test_methods_all_runs_every_estimator() -> None:
    settings = MRSettings.from_config({"methods": "all", "nboot": 50, "presso_n_distribution": 100})
    assert settings.methods == METHODS
    assert MRSettings.from_config({"methods": ["all"]}).methods == METHODS
    res = run_mr(_harmonised(), settings, "x", "y", seed=11)
    labels = res.to_tidy()["method"].tolist()
    # every univariable estimator has a row (the Wald ratio only with one instrument, egger_mv only with
    # adjust_for), in METHODS order, PRESSO's two rows last
    expected = [analysis.est.LABELS[m] for m in METHODS if m not in ("wald_ratio", "presso", "egger_mv")]
    assert labels[: len(expected)] == [lab for lab in expected if lab in labels]
    assert set(expected) <= set(labels)
    assert labels[-2:] == ["MR-PRESSO (raw)", "MR-PRESSO (outlier-corrected)"]
    with pytest.raises(ConfigError, match="give a list of methods or 'all'"):
        MRSettings(methods="ivw")  # type: ignore[arg-type]


def test_new_methods_stay_out_of_the_default_set() -> None:
    new = {"ivw_penalised", "divw", "pivw", "maxlik", "conmix", "egger_mv", "ivw_robust", "raps", "cml"}
    assert not new & set(MRSettings().methods)


def test_pair_settings_validate_against_the_schema() -> None:
    import jsonschema

    schema = load_schema(schema_dir() / "mr.schema.yaml")
    for settings in ({"methods": "all"}, {"methods": ["ivw", "conmix", "ivw_robust"], "conmix_ci_range": [-1, 4]},
                     {"egger_distribution": "normal", "steiger_r_from": "pn"}):
        jsonschema.validate({"harmonised": "x.csv", "settings": settings}, schema)
        MRSettings.from_config(settings)
    for bad in ({"methods": ["ivw", "mr_raps_typo"]}, {"egger_distribution": "t-dist"}, {"conmix_ci_step": 0},
                {"nboot_typo": 3}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"harmonised": "x.csv", "settings": bad}, schema)
