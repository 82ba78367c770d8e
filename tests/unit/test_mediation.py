"""Unit tests of the mediation family: identities, determinism, failed resamples, and bad input."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError, ModelError
from musclecog.mediation import bias_corrected_ci, percentile_ci
from musclecog.plots import draw
from musclecog.simulate import simulate

REPO = Path(__file__).resolve().parents[2]
CTX = RunContext("unit", "unit", 42)


@pytest.fixture(scope="module")
def chen() -> pd.DataFrame:
    return simulate("chen", 400, seed=2).data


def _fit(kind: str, data: pd.DataFrame, **spec: object) -> pd.DataFrame:
    return run_analysis(data, {"type": kind, **spec}, CTX).to_tidy()


SIMPLE = {"exposure": "tug_s", "mediator": "knee_ext_kg", "outcome": "mmse", "covariates": ["age", "sex"],
          "bootstrap": 300}


def test_simple_identities_and_schema(chen: pd.DataFrame) -> None:
    tidy = _fit("simple_mediation", chen, **SIMPLE)
    t = tidy.set_index("term")["estimate"]
    assert t["c"] == pytest.approx(t["c_prime"] + t["a"] * t["b"], rel=1e-10)
    assert t["indirect"] == pytest.approx(t["a"] * t["b"], rel=1e-12)
    assert t["proportion_mediated"] == pytest.approx(t["indirect"] / t["c"], rel=1e-12)
    ind = tidy.set_index("term").loc["indirect"]
    assert ind["conf_low"] < ind["estimate"] < ind["conf_high"] and ind["bc_conf_low"] < ind["bc_conf_high"]
    assert set(tidy["scale"]) >= {"path_coefficient", "direct_effect", "total_effect", "indirect_effect",
                                  "proportion_mediated", "test", "count"}


def test_deterministic_by_seed(chen: pd.DataFrame) -> None:
    one = _fit("simple_mediation", chen, **SIMPLE)
    two = _fit("simple_mediation", chen, **SIMPLE)
    pd.testing.assert_frame_equal(one, two)
    entry = {"type": "simple_mediation", **SIMPLE}
    other = run_analysis(chen, entry, RunContext("unit", "unit", 43)).to_tidy()
    assert not np.isclose(one.set_index("term").loc["indirect", "conf_low"],
                          other.set_index("term").loc["indirect", "conf_low"], rtol=1e-9)


def test_parallel_total_indirect_is_sum(chen: pd.DataFrame) -> None:
    d = chen.assign(grip_kg=0.5 * chen["knee_ext_kg"] + np.random.default_rng(1).normal(0, 3, len(chen)))
    tidy = _fit("parallel_mediation", d, exposure="tug_s", mediators=["knee_ext_kg", "grip_kg"],
                outcome="mmse", bootstrap=200).set_index("term")
    est = tidy["estimate"]
    assert est["indirect_total"] == pytest.approx(est["indirect[knee_ext_kg]"] + est["indirect[grip_kg]"])
    assert est["c"] == pytest.approx(est["c_prime"] + est["indirect_total"], rel=1e-10)
    assert "d[knee_ext_kg->grip_kg]" not in est.index  # parallel: no path between mediators


def test_failed_resamples_are_counted_not_dropped(chen: pd.DataFrame) -> None:
    """A covariate that is 1 in two rows only is constant in about 13% of resamples: those are singular."""
    d = chen.assign(rare=0.0)
    d.loc[d.index[:2], "rare"] = 1.0
    tidy = _fit("simple_mediation", d, exposure="tug_s", mediator="knee_ext_kg", outcome="mmse",
                covariates=["rare"], bootstrap=400).set_index("term")
    failed = tidy.loc["bootstrap_resamples_failed", "estimate"]
    expected = 400 * (1 - 1 / len(d)) ** (2 * len(d))  # both rows absent from a resample
    assert failed > 0 and abs(failed - expected) < 5 * np.sqrt(expected)
    assert tidy.loc["indirect", "n_boot_failed"] == failed
    assert "failed" in tidy.loc["indirect", "note"] and np.isfinite(tidy.loc["indirect", "conf_low"])


def test_bias_corrected_equals_percentile_when_unbiased() -> None:
    draws = stats.norm.ppf((np.arange(10_000) + 0.5) / 10_000)
    assert bias_corrected_ci(draws, 0.0, 0.95) == pytest.approx(percentile_ci(draws, 0.95), abs=1e-3)
    lo, hi = bias_corrected_ci(draws, 0.5, 0.95)  # estimate above the median: limits shift up
    assert lo > percentile_ci(draws, 0.95)[0] and hi > percentile_ci(draws, 0.95)[1]


def test_path_model_total_effects(chen: pd.DataFrame) -> None:
    tidy = _fit("path_model", chen, equations={"knee_ext_kg": ["tug_s"], "mmse": ["knee_ext_kg", "tug_s"]},
                covariates=["age"], bootstrap=200)
    eff = tidy[(tidy["exposure"] == "tug_s") & (tidy["outcome"] == "mmse")].set_index("term")["estimate"]
    assert eff["total"] == pytest.approx(eff["direct"] + eff["indirect"], rel=1e-10)
    assert "r_squared" in set(tidy["term"])


def test_figures(chen: pd.DataFrame) -> None:
    equations = {"knee_ext_kg": ["tug_s"], "mmse": ["knee_ext_kg", "tug_s"]}
    path = {"equations": equations, "bootstrap": 50}
    for kind, spec in [("simple_mediation", SIMPLE), ("path_model", path)]:
        fig = draw(run_analysis(chen, {"type": kind, **spec}, CTX))
        assert isinstance(fig, matplotlib.figure.Figure)
        matplotlib.pyplot.close(fig)


# --------------------------------------------------------------------------------------------- bad input
def test_mediator_same_as_exposure(chen: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="must be different columns"):
        _fit("simple_mediation", chen, exposure="tug_s", mediator="tug_s", outcome="mmse")


def test_mediator_collinear_with_exposure(chen: pd.DataFrame) -> None:
    d = chen.assign(tug_copy=2 * chen["tug_s"] + 1)
    with pytest.raises(ModelError, match=r"tug_copy.*linear combination.*tug_s ~ tug_copy|tug_s.*tug_copy"):
        _fit("simple_mediation", d, exposure="tug_s", mediator="tug_copy", outcome="mmse")


def test_binary_outcome_with_one_class(chen: pd.DataFrame) -> None:
    d = chen.assign(impaired=0)
    with pytest.raises(ModelError, match=r"'impaired'.*both present.*0"):
        _fit("simple_mediation", d, exposure="tug_s", mediator="knee_ext_kg", outcome="impaired",
             outcome_type="binary")


def test_too_few_complete_cases(chen: pd.DataFrame) -> None:
    d = chen.copy()
    d.loc[d.index[15:], "mmse"] = np.nan
    with pytest.raises(ModelError, match=r"only 15 complete cases \(385 rows excluded"):
        _fit("simple_mediation", d, **SIMPLE)


def test_missing_and_non_numeric_columns(chen: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"\['mmse_total'\] not in the cohort table"):
        _fit("simple_mediation", chen, exposure="tug_s", mediator="knee_ext_kg", outcome="mmse_total")
    with pytest.raises(DataError, match="'sex' must be numeric"):
        _fit("simple_mediation", chen, exposure="sex", mediator="knee_ext_kg", outcome="mmse")


def test_path_model_cycle_is_refused(chen: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="not recursive"):
        _fit("path_model", chen, equations={"knee_ext_kg": ["mmse"], "mmse": ["knee_ext_kg"]})


def test_schemas_refuse_misspelt_keys() -> None:
    schema = yaml.safe_load((REPO / "workflow/schemas/analyses/simple_mediation.schema.yaml").read_text())
    good = {"type": "simple_mediation", "cohort": "chen", "exposure": "x", "mediator": "m", "outcome": "y"}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "mediatior": "m"}, schema)


# ------------------------------------------------------------------------------------------------ trials
@pytest.fixture(scope="module")
def power() -> pd.DataFrame:
    return simulate("trial_power", 103, seed=4).data


def test_change_correlation_matches_scipy(power: pd.DataFrame) -> None:
    tidy = _fit("change_correlation", power, x="knee_ext_kg", y="trails_ba", by="arm",
                changes={"id": "id", "wave": "wave", "baseline": 0, "followup": 1}).set_index("stratum")
    wide = power.pivot(index="id", columns="wave", values=["knee_ext_kg", "trails_ba"])
    arm = power[power["wave"] == 0].set_index("id")["arm"]
    sel = arm == "power"
    dx = (wide[("knee_ext_kg", 1)] - wide[("knee_ext_kg", 0)])[sel]
    dy = (wide[("trails_ba", 1)] - wide[("trails_ba", 0)])[sel]
    ref = stats.pearsonr(dx, dy)
    ci = ref.confidence_interval(0.95)
    row = tidy.loc["power"]
    assert row["estimate"] == pytest.approx(ref.statistic, rel=1e-10)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert (row["conf_low"], row["conf_high"]) == pytest.approx((ci.low, ci.high), rel=1e-8)
    assert row["n"] == sel.sum()


def test_change_scores_reject_duplicate_waves(power: pd.DataFrame) -> None:
    d = pd.concat([power, power.iloc[[0]]])
    with pytest.raises(DataError, match=r"share an id x wave pair"):
        _fit("change_correlation", d, x="knee_ext_kg", y="trails_ba", changes={"id": "id", "wave": "wave"})


def test_trial_mediation_needs_01_treatment(power: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'arm' must be coded 0/1"):
        _fit("trial_mediation", power, treatment="arm", mediators=["knee_ext_kg"], outcome="trails_ba",
             changes={"id": "id", "wave": "wave"})
    tidy = _fit("trial_mediation", power, treatment="treatment", mediators=["knee_ext_kg"],
                outcome="trails_ba", changes={"id": "id", "wave": "wave"}, adjust_baseline=True,
                bootstrap=200)
    exposures = set(tidy.set_index("term").loc[["a", "b", "indirect"], "exposure"])
    assert exposures >= {"treatment", "knee_ext_kg_change"}
    assert tidy["n"].iloc[0] == 103


# ---------------------------------------------------------------------------------------- result objects
def test_specs_take_keys_and_defaults_from_the_schema() -> None:
    from musclecog.core.spec import spec_from_config
    from musclecog.mediation import ChangeSpec, SimpleMediationSpec, TrialMediationSpec

    spec = spec_from_config(SimpleMediationSpec, {"exposure": "x", "mediator": "m", "outcome": "y"}, CTX)
    defaults = (spec.bootstrap, spec.ci_level, spec.outcome_type, spec.imai_simulations)
    assert defaults == (5000, 0.95, "continuous", 1000)
    assert spec.model().mediators == ("m",) and spec.context is CTX
    with pytest.raises(ConfigError, match="mediatior"):
        spec_from_config(SimpleMediationSpec, {"exposure": "x", "mediatior": "m", "outcome": "y"}, CTX)
    trial = spec_from_config(
        TrialMediationSpec,
        {"treatment": "t", "mediators": ["m"], "outcome": "y", "changes": {"id": "pid"}},
        CTX,
    )
    assert trial.change == ChangeSpec("pid", "wave", 0, 1)


def test_results_are_objects_with_labelled_fits(chen: pd.DataFrame) -> None:
    from musclecog.core.results import FitResult
    from musclecog.mediation import MediationResult, PathModelResult

    result = run_analysis(chen, {"type": "simple_mediation", **SIMPLE}, CTX)
    assert isinstance(result, MediationResult) and not hasattr(result, "figure")
    assert set(result.fits) == {"knee_ext_kg ~ tug_s", "mmse ~ tug_s + knee_ext_kg", "total: mmse ~ tug_s"}
    fit = result.fits["mmse ~ tug_s + knee_ext_kg"]
    assert isinstance(fit, FitResult) and {"(Intercept)", "tug_s", "knee_ext_kg", "age"} <= set(fit.terms)
    assert fit.diagnostics.n == len(chen) and fit.df_resid == len(chen) - len(fit.terms)
    tidy = result.to_tidy().set_index("term")
    assert tidy.loc["b", "estimate"] == pytest.approx(fit.params["knee_ext_kg"], rel=1e-12)
    assert [e.term for e in result.estimates] == list(tidy.index)
    assert result.draws is not None and result.draws.n_resamples == 300
    equations = {"knee_ext_kg": ["tug_s"], "mmse": ["knee_ext_kg", "tug_s"]}
    path = run_analysis(chen, {"type": "path_model", "equations": equations, "bootstrap": 0}, CTX)
    assert isinstance(path, PathModelResult) and path.statistics["df"] == 0
