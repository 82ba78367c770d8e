"""Unit tests of the survey design: bad input, lonely PSUs, domains, invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError
from musclecog.survey import SurveyDesign, SurveySpec, linearised_variance, survey_mean, survey_regression


def fit(kind: str, data: pd.DataFrame, entry: dict, context: RunContext) -> AnalysisResult:
    """Fit an analysis entry of type ``kind`` as the pipeline does (spec from the schema, ``fit_<kind>``)."""
    return run_analysis(data, {"type": kind, "cohort": context.cohort, **entry}, context)


SURVEY = {"weight": "w", "strata": "st", "psu": "psu"}


def _data(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    st = rng.integers(1, 6, n)
    return pd.DataFrame(
        {
            "w": rng.uniform(1, 5, n),
            "st": st,
            "psu": rng.integers(1, 3, n),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "g": rng.integers(0, 2, n),
        }
    )


def test_weights_missing_or_not_positive() -> None:
    d = _data()
    d.loc[3, "w"] = 0.0
    d.loc[7, "w"] = np.nan
    with pytest.raises(DataError, match="2 missing or non-positive weight.*keep_if"):
        SurveyDesign.from_data(d, SurveySpec.from_config(SURVEY))
    d = _data()
    d.loc[5, "psu"] = np.nan
    with pytest.raises(DataError, match="psu.*missing for 1 row"):
        SurveyDesign.from_data(d, SurveySpec.from_config(SURVEY))


def test_spec_errors() -> None:
    with pytest.raises(ConfigError, match="lonely_psu"):
        SurveySpec.from_config({**SURVEY, "lonely_psu": "drop"})
    with pytest.raises(ConfigError, match="unknown key"):
        SurveySpec.from_config({**SURVEY, "weights": "w"})
    with pytest.raises(DataError, match="'wt' is not in the cohort table"):
        SurveyDesign.from_data(_data(), SurveySpec.from_config({**SURVEY, "weight": "wt"}))


def test_lonely_psu_fail_names_the_stratum() -> None:
    d = _data()
    d.loc[d["st"] == 4, "psu"] = 1
    with pytest.raises(DataError, match="strata 4 of 'st' have a single PSU.*lonely_psu"):
        SurveyDesign.from_data(d, SurveySpec.from_config({**SURVEY, "lonely_psu": "fail"}))
    design = SurveyDesign.from_data(d, SurveySpec.from_config(SURVEY))  # adjust (default) works
    assert survey_mean(d["x"].to_numpy(), design).std_error > 0


def test_psu_codes_are_nested_within_strata() -> None:
    d = _data()
    design = SurveyDesign.from_data(d, SurveySpec.from_config(SURVEY))
    assert design.psu.max() + 1 == d.groupby(["st", "psu"]).ngroups
    assert design.degf() == d.groupby(["st", "psu"]).ngroups - d["st"].nunique()


def test_weight_divisor_and_scale_invariance() -> None:
    d = _data()
    a = SurveyDesign.from_data(d, SurveySpec.from_config(SURVEY))
    b = SurveyDesign.from_data(d, SurveySpec.from_config({**SURVEY, "weight_divisor": 2}))
    x = np.column_stack([np.ones(len(d)), d["x"]])
    fa, fb = survey_regression(x, d["y"].to_numpy(), a), survey_regression(x, d["y"].to_numpy(), b)
    np.testing.assert_allclose(fa.params, fb.params)
    np.testing.assert_allclose(fa.cov, fb.cov)


def test_domain_keeps_full_design_psu_counts() -> None:
    """A domain that misses a PSU still divides by n_h - 1 of the full design (R's subset())."""
    d = _data()
    design = SurveyDesign.from_data(d, SurveySpec.from_config(SURVEY))
    dom = ~((d["st"] == 2) & (d["psu"] == 1)).to_numpy()
    z = np.where(dom, d["x"].to_numpy(), 0.0)
    v_dom = linearised_variance(design, z)[0, 0]
    sub = design.subset(dom)
    v_sub = linearised_variance(sub, d["x"].to_numpy()[dom])[0, 0]
    assert v_dom == pytest.approx(v_sub)


def test_analyses_weighted_unweighted_both() -> None:
    d = _data()
    ctx = RunContext("a", "c", 1, survey=SURVEY)
    t = fit("regression", d, {"outcome": "y", "exposure": "x", "weighting": "both"}, ctx).to_tidy()
    assert set(t["method"]) == {"survey-weighted linear regression, crude", "linear regression, crude"}
    g = fit("group_comparison", d, {"outcome": "y", "group": "g"}, ctx).to_tidy()
    assert g["method"].str.startswith("survey").all()
    d.loc[0, "w"] = -1
    with pytest.raises(DataError, match="non-positive"):
        fit("regression", d, {"outcome": "y", "exposure": "x"}, ctx)
    u = fit("regression", d, {"outcome": "y", "exposure": "x", "weighting": "unweighted"}, ctx).to_tidy()
    assert len(u) == 1
