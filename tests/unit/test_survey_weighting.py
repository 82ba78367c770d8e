"""Survey designs in correlations, change correlations and mediation: which rows are design-based, what an
analysis type that cannot use a design says, and bad weighting keys. The numbers against R's survey package
are in tests/reference/test_survey_mediation_correlation_r.py (NHANES 2011-2014)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.survey import SurveyDesign, SurveySpec, linearised_variance, survey_correlation

SURVEY = {"weight": "w", "strata": "stratum", "psu": "psu"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """400 people in 4 strata x 5 PSUs with unequal weights; x -> m -> y and a binary outcome."""
    rng = np.random.default_rng(7)
    n = 400
    x = rng.normal(size=n)
    m = 0.5 * x + rng.normal(size=n)
    y = 0.3 * x + 0.4 * m + rng.normal(size=n)
    return pd.DataFrame({
        "id": np.arange(n), "x": x, "m": m, "m2": 0.2 * m + rng.normal(size=n), "y": y,
        "age": rng.normal(70, 5, n), "sex": rng.choice(["female", "male"], n),
        "time": rng.exponential(5, n), "event": rng.integers(0, 2, n),
        "w": rng.uniform(0.5, 3, n), "stratum": np.repeat(np.arange(4), n // 4),
        "psu": np.tile(np.repeat(np.arange(5), n // 20), 4),
    })


def _run(data: pd.DataFrame, entry: dict, survey: dict | None = SURVEY) -> pd.DataFrame:
    return run_analysis(data, entry, RunContext("a", "svy", 3, survey=survey)).to_tidy()


def test_equal_weights_give_the_unweighted_point_estimates(table: pd.DataFrame) -> None:
    flat = table.assign(w=2.0)
    entry = {"type": "correlation", "pairs": [["x", "y"]], "partial": ["age", "sex"], "weighting": "both"}
    t = _run(flat, entry).set_index("method")
    assert t.loc["survey-weighted Pearson correlation", "estimate"] == pytest.approx(
        t.loc["Pearson correlation", "estimate"], rel=1e-12
    )
    label = "partial Pearson correlation, adjusted for age, sex"
    assert t.loc[f"survey-weighted {label}", "estimate"] == pytest.approx(t.loc[label, "estimate"], rel=1e-12)
    med = {"type": "simple_mediation", "exposure": "x", "mediator": "m", "outcome": "y", "bootstrap": 0}
    w = _run(flat, med).set_index("term")
    u = _run(flat, {**med, "weighting": "unweighted"}).set_index("term")
    np.testing.assert_allclose(w["estimate"], u.loc[w.index, "estimate"], rtol=1e-10)


def test_correlation_influence_function_matches_a_numerical_derivative(table: pd.DataFrame) -> None:
    """The linearised SE of r is that of the delta method on the weighted moments (checked numerically)."""
    design = SurveyDesign.from_data(table, SurveySpec.from_config(SURVEY))
    x, y, w = table["x"].to_numpy(), table["y"].to_numpy(), design.weights
    c = survey_correlation(x, y, design)
    cols = np.column_stack([x, y, x * x, y * y, x * y])
    means = (w[:, None] * cols).sum(0) / w.sum()
    infl = w[:, None] * (cols - means) / w.sum()
    v = linearised_variance(design, infl)

    def r(mu: np.ndarray) -> float:
        return float((mu[4] - mu[0] * mu[1]) / np.sqrt((mu[2] - mu[0] ** 2) * (mu[3] - mu[1] ** 2)))

    eps = 1e-6
    grad = np.array([(r(means + eps * e) - r(means - eps * e)) / (2 * eps) for e in np.eye(5)])
    assert c.r == pytest.approx(r(means), rel=1e-12)
    assert c.std_error == pytest.approx(float(np.sqrt(grad @ v @ grad)), rel=1e-6)
    assert c.df == 20 - 4 - 1


def test_unweighted_on_a_survey_cohort_equals_no_design(table: pd.DataFrame) -> None:
    entry = {"type": "serial_mediation", "exposure": "x", "mediators": ["m", "m2"], "outcome": "y",
             "bootstrap": 50}
    a = _run(table, {**entry, "weighting": "unweighted"})
    b = _run(table, entry, survey=None)
    pd.testing.assert_frame_equal(a, b)


def test_mediation_under_a_design_skips_the_bootstrap_and_says_so(table: pd.DataFrame) -> None:
    entry = {"type": "parallel_mediation", "exposure": "x", "mediators": ["m", "m2"], "outcome": "y",
             "bootstrap": 200}
    t = _run(table, entry).set_index("term")
    assert "bootstrap_resamples_failed" not in t.index
    ind = t.loc["indirect_total"]
    assert "bootstrap not run under a survey design (bootstrap: 200 ignored)" in ind["note"]
    assert np.isfinite(ind["std_error"]) and ind["conf_low"] < ind["estimate"] < ind["conf_high"]
    # the total effect c (own svyglm) equals c' + the indirect effects (weighted least squares)
    assert t.loc["c", "estimate"] == pytest.approx(t.loc["c_prime", "estimate"] + ind["estimate"], rel=1e-10)


def test_types_that_cannot_use_a_design_say_so(table: pd.DataFrame) -> None:
    path = {"type": "path_model", "equations": {"m": ["x"], "y": ["m", "x"]}, "bootstrap": 0}
    cox = {"type": "cox", "event": "event", "duration": "time", "exposure": "x"}
    for entry in (path, cox):
        t = _run(table, entry)
        assert t["note"].str.contains("survey design of cohort 'svy' not used").all(), entry["type"]
        assert not _run(table, entry, survey=None)["note"].fillna("").str.contains("survey design").any()


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "correlation", "pairs": [["x", "y"]], "weighting": "weighted"},
        {"type": "change_correlation", "x": "x", "y": "y", "weighting": "weighted"},
        {"type": "simple_mediation", "exposure": "x", "mediator": "m", "outcome": "y", "weighting": "weighted"},
    ],
)
def test_weighted_without_a_design_is_an_error(table: pd.DataFrame, entry: dict) -> None:
    with pytest.raises(ConfigError, match="declares no survey design"):
        _run(table, entry, survey=None)


def test_mediation_weighting_both_is_refused(table: pd.DataFrame) -> None:
    entry = {"type": "simple_mediation", "exposure": "x", "mediator": "m", "outcome": "y", "weighting": "both"}
    with pytest.raises(ConfigError, match="weighting"):
        _run(table, entry)


def test_spearman_change_correlation_is_unweighted_and_noted(table: pd.DataFrame) -> None:
    t = _run(table, {"type": "change_correlation", "x": "x", "y": "y", "method": "spearman"})
    assert t["method"].iloc[0] == "Spearman correlation of change scores"
    assert "survey design not used" in t["note"].iloc[0]


def test_dose_response_notes_the_design_only_where_it_is_not_used(table: pd.DataFrame) -> None:
    """A linear spline on a survey cohort is svyglm (no 'not used' note); a Cox spline is unweighted and says so."""
    linear = {"type": "dose_response", "family": "linear", "outcome": "y", "exposure": "x", "knots": 3}
    cox = {"type": "dose_response", "family": "cox", "event": "event", "duration": "time", "exposure": "x", "knots": 3}
    t = _run(table, linear)
    assert t["method"].str.contains("survey").any()
    assert not t["note"].fillna("").str.contains("not used").any()
    assert _run(table, cox)["note"].str.contains("survey design of cohort 'svy' not used").all()
