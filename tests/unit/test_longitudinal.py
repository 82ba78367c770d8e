"""Unit tests of the longitudinal analysis types: options, bad input, counts, non-convergence, figures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import build_spec, run_analysis
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError, ModelError
from musclecog.longitudinal import ANALYSIS_TYPES, fit_mixed_model
from musclecog.plots import draw
from musclecog.results import TIDY_COLUMNS
from musclecog.simulate.charls import simulate_charls
from musclecog.simulate.cohort7y import simulate_cohort7y

CTX = RunContext(analysis="t", cohort="c", seed=1)
SPEC = {"outcome": "cognition", "exposure": "low_muscle_mass", "covariates": ["age", "sex"]}


def _fit(analysis_type: str, data: pd.DataFrame, spec: dict, ctx: RunContext) -> AnalysisResult:
    return run_analysis(data, {"type": analysis_type, **spec}, ctx)


@pytest.fixture(scope="module")
def c7() -> pd.DataFrame:
    return simulate_cohort7y(seed=2, n=400).data


@pytest.fixture(scope="module")
def ch() -> pd.DataFrame:
    return simulate_charls(seed=2, n=600).data


def test_registry() -> None:
    assert set(ANALYSIS_TYPES) == {"mixed_model", "panel_model", "gee", "lagged_regression"}


def test_mixed_model_rows(c7: pd.DataFrame) -> None:
    t = _fit("mixed_model", c7, {**SPEC, "stratify_by": "sex"}, CTX).to_tidy()
    assert list(t.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert set(t["stratum"]) == {"overall", "sex=female", "sex=male"}
    ov = t[t["stratum"] == "overall"].set_index("term")
    assert {
        "Intercept",
        "time_years",
        "low_muscle_mass",
        "low_muscle_mass:time_years",
        "age",
        "sex[male]",
    } <= set(ov.index)
    assert {"var(Intercept)", "var(time_years)", "cov(Intercept,time_years)", "var(Residual)"} <= set(
        ov.index
    )
    assert ov.loc["logLik (REML)", "scale"] == "log_likelihood"
    assert ov.loc["converged", "estimate"] == 1
    # sex is constant within a sex stratum: dropped there
    assert "sex[male]" not in set(t.loc[t["stratum"] == "sex=female", "term"])
    ml = (
        _fit("mixed_model", c7, {**SPEC, "reml": False, "random": "intercept"}, CTX)
        .to_tidy()
        .set_index("term")
    )
    assert "logLik (ML)" in ml.index and "var(time_years)" not in ml.index


def test_deterministic(c7: pd.DataFrame) -> None:
    a = _fit("mixed_model", c7, SPEC, CTX).to_tidy()
    b = _fit("mixed_model", c7, SPEC, CTX).to_tidy()
    pd.testing.assert_frame_equal(a, b)


def test_unsorted_rows_give_the_same_fit(c7: pd.DataFrame) -> None:
    shuffled = c7.sample(frac=1.0, random_state=1)
    a = _fit("mixed_model", c7, SPEC, CTX).to_tidy()
    b = _fit("mixed_model", shuffled, SPEC, CTX).to_tidy()
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-6)


def test_single_visit_people_kept_and_counted(c7: pd.DataFrame) -> None:
    d = c7[~((c7["id"] <= 30) & (c7["wave"] > 0))]
    t = _fit("mixed_model", d, SPEC, CTX).to_tidy().set_index("term")
    assert t.loc["Intercept", "n"] == c7["id"].nunique()
    n_single = int((d.groupby("id").size() == 1).sum())
    assert n_single >= 30
    assert f"{n_single} people with a single visit kept" in t.loc["Intercept", "note"]
    assert t.loc["people with a single visit", "estimate"] == n_single


def test_missing_outcome_rows_counted(c7: pd.DataFrame) -> None:
    d = c7.copy()
    d.loc[d.index[:7], "cognition"] = np.nan
    t = _fit("mixed_model", d, SPEC, CTX).to_tidy().set_index("term")
    assert "'cognition' missing (7 rows)" in t.loc["Intercept", "note"]
    assert (
        t.loc["excluded (cognition)", "estimate"] == 7 and t.loc["excluded (cognition)", "scale"] == "count"
    )


def test_duplicated_wave_is_an_error(c7: pd.DataFrame) -> None:
    d = pd.concat([c7, c7.iloc[[5]]])
    with pytest.raises(DataError, match="share id and wave"):
        _fit("mixed_model", d, SPEC, CTX)


def test_time_going_backwards_is_an_error(c7: pd.DataFrame) -> None:
    d = c7.copy()
    row = d.index[(d["id"] == 3) & (d["wave"] == 2)][0]
    d.loc[row, "time_years"] = 1.0
    with pytest.raises(DataError, match="time goes backwards.*id 3 wave 2"):
        _fit("mixed_model", d, SPEC, CTX)


def test_missing_column_is_a_config_error(c7: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="not in the cohort table"):
        _fit("mixed_model", c7, {**SPEC, "covariates": ["agee"]}, CTX)
    with pytest.raises(ConfigError, match="unknown key"):
        _fit("mixed_model", c7, {**SPEC, "randon": "slope"}, CTX)


def test_constant_exposure_is_a_model_error(c7: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match="does not vary"):
        _fit("mixed_model", c7.assign(low_muscle_mass=1), SPEC, CTX)


def test_non_convergence_is_reported_not_silent(c7: pd.DataFrame) -> None:
    # an iteration limit below the schema's minimum (10), set on the built spec, forces non-convergence
    spec = dataclasses.replace(build_spec({"type": "mixed_model", **SPEC}, CTX), max_iter=2)
    t = fit_mixed_model(c7, spec).to_tidy().set_index("term")
    assert t.loc["converged", "estimate"] == 0
    assert "NOT CONVERGED" in t.loc["converged", "note"]
    assert "Maximum number of" in t.loc["converged", "note"]  # the optimiser's own message
    assert t.loc["low_muscle_mass:time_years", "note"].startswith("NOT CONVERGED")


def test_time_origin_and_time_varying_exposure(ch: pd.DataFrame) -> None:
    spec = {
        "outcome": "cognition",
        "exposure": "grip_kg",
        "time": "age",
        "time_origin": "entry_age",
        "exposure_timing": "time_varying",
        "random": "intercept",
    }
    t = _fit("mixed_model", ch, spec, CTX).to_tidy().set_index("term")
    assert "grip_kg:time" in t.index and "time" in t.index


def test_gee_and_panel_and_lagged(ch: pd.DataFrame) -> None:
    base = {"outcome": "cognition", "exposure": "grip_group", "exposure_reference": 1, "covariates": ["age"]}
    for corr in ("exchangeable", "ar1", "independence"):
        t = _fit("gee", ch, {**base, "working_correlation": corr}, CTX).to_tidy().set_index("term")
        assert "grip_group[4]:time_years" in t.index
        assert t.loc["converged", "estimate"] == 1
    p = _fit(
        "panel_model", ch, {"outcome": "cognition", "exposure": "grip_kg", "model": "first_difference"}, CTX
    ).to_tidy()
    assert set(p.loc[p["scale"] == "beta", "term"]) == {"Intercept", "grip_kg", "time_years"}  # plm's fd
    assert p.set_index("term").loc["people with a single visit", "scale"] == "count"
    lag = _fit(
        "lagged_regression", ch, {**base, "outcome_wave": 2, "adjust_baseline_outcome": True}, CTX
    ).to_tidy()
    lag = lag.set_index("term")
    assert "cognition_baseline" in lag.index
    n_w2 = int((ch["wave"] == 2).sum())
    assert lag.loc["grip_group[4]", "n"] == n_w2
    assert f"{600 - n_w2} people without cognition at wave 2 excluded" in lag.loc["grip_group[4]", "note"]


def test_lagged_regression_bad_waves(ch: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="must come after"):
        _fit("lagged_regression", ch, {"outcome": "cognition", "exposure": "grip_kg", "outcome_wave": 0}, CTX)
    with pytest.raises(DataError, match="no rows at outcome_wave 9"):
        _fit("lagged_regression", ch, {"outcome": "cognition", "exposure": "grip_kg", "outcome_wave": 9}, CTX)


def test_figures(c7: pd.DataFrame, ch: pd.DataFrame) -> None:
    import matplotlib.figure

    fig = draw(_fit("mixed_model", c7, SPEC, CTX))
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].lines) == 2  # low vs normal muscle mass
    fig = draw(_fit("panel_model", ch, {"outcome": "cognition", "exposure": "grip_kg"}, CTX))
    assert len(fig.axes[0].lines) == 4  # quartiles of a continuous exposure


def test_gee_binomial_reports_odds_ratios(ch: pd.DataFrame) -> None:
    d = ch.assign(low_cog=(ch["cognition"] < 12).astype(int))
    t = (
        _fit("gee", d, {"outcome": "low_cog", "exposure": "grip_kg", "family": "binomial"}, CTX)
        .to_tidy()
        .set_index("term")
    )
    row = t.loc["grip_kg:time_years"]
    assert row["scale"] == "odds_ratio" and row["conf_low"] < row["estimate"] < row["conf_high"]
    with pytest.raises(DataError, match="0/1 outcome"):
        _fit("gee", ch, {"outcome": "cognition", "exposure": "grip_kg", "family": "binomial"}, CTX)


def test_mixed_model_optimum_does_not_depend_on_the_order_of_people(c7: pd.DataFrame) -> None:
    """The Newton polish takes theta to 1e-10: people in another order (another summation order, as on
    another machine) give the same estimates far within the golden tables' 1e-8 (a simplex alone: ~1e-6)."""
    ids = c7["id"].unique()
    perm = dict(zip(ids, np.random.default_rng(1).permutation(len(ids)) + 1, strict=True))
    a = _fit("mixed_model", c7, SPEC, CTX)
    b = _fit("mixed_model", c7.assign(id=c7["id"].map(perm)), SPEC, CTX)
    ta, tb = a.to_tidy(), b.to_tidy()
    np.testing.assert_allclose(ta["estimate"], tb["estimate"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ta["std_error"], tb["std_error"], rtol=1e-10)
    fit = a.fits["overall"]
    assert fit.diagnostics.converged and fit.diagnostics.n_groups == c7["id"].nunique()
    assert any(m.startswith("theta polished by") for m in fit.diagnostics.messages)


def test_lmm_gradient_is_the_deviance_slope() -> None:
    from pathlib import Path

    from musclecog.longitudinal import lmm

    ss = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "sleepstudy.csv")
    X = np.column_stack([np.ones(len(ss)), ss["Days"]])
    for reml in (True, False):
        for Z, theta in ((X, np.array([0.9, 0.02, 0.25])), (X[:, :1], np.array([0.9]))):
            s = lmm._Stats(ss["Reaction"].to_numpy(float), X, Z, ss["Subject"].to_numpy())
            h = 1e-6
            num = [
                (lmm._deviance(theta + e, s, reml) - lmm._deviance(theta - e, s, reml)) / (2 * h)
                for e in np.eye(theta.size) * h
            ]
            np.testing.assert_allclose(lmm._gradient(theta, s, reml), num, rtol=1e-5, atol=1e-5)


def test_engines_give_one_result_shape(c7: pd.DataFrame) -> None:
    a = _fit("mixed_model", c7, {**SPEC, "random": "intercept"}, CTX)
    b = _fit("mixed_model", c7, {**SPEC, "random": "intercept", "engine": "statsmodels"}, CTX)
    assert type(a) is type(b)
    assert list(a.to_tidy()["term"]) == list(b.to_tidy()["term"])
    assert a.fits["overall"].terms == b.fits["overall"].terms


def test_lmm_quasi_newton_path_reaches_the_simplex_optimum_and_falls_back_at_a_zero_variance() -> None:
    """The fast path (L-BFGS-B on the analytic gradient, then the Newton polish) ends where the simplex path
    ends (theta to 1e-8), in far fewer evaluations; with no slope variance in the data the optimum is on the
    boundary, and the fit is the simplex path's (Nelder-Mead, singular), as before."""
    from musclecog.longitudinal import lmm

    rng = np.random.default_rng(3)
    people, visits = 400, 4
    g = np.repeat(np.arange(people), visits)
    t = np.tile(np.arange(visits, dtype=float), people)
    X = np.column_stack([np.ones(g.size), t, rng.standard_normal(g.size)])
    Z = X[:, :2]
    b0, b1 = rng.normal(0, 1.0, people), rng.normal(0, 0.3, people)
    y = X @ [1.0, -0.2, 0.5] + b0[g] + b1[g] * t + rng.normal(0, 1.0, g.size)
    fit = lmm.fit_lmm(y, X, Z, g)
    s = lmm._Stats(y, X, Z, g)
    _, theta, polish, converged, _ = lmm._simplex_path(s, lmm._start(s, Z, True), True, lmm.OPTIMIZERS, 2000)
    assert fit.method == "L-BFGS-B" and fit.converged and not fit.singular and fit.polish_steps >= 1
    assert polish.done and converged
    np.testing.assert_allclose(fit.theta, theta, rtol=1e-8, atol=1e-10)
    # no slope variation at all: each person's noise made orthogonal to their centred time
    e = rng.normal(0, 1.0, g.size)
    tc = t - t.mean()
    e -= (np.bincount(g, e * tc) / np.bincount(g, tc * tc))[g] * tc
    y0 = X @ [1.0, -0.2, 0.5] + b0[g] + e
    flat = lmm.fit_lmm(y0, X, Z, g)
    assert flat.method == "Nelder-Mead" and flat.singular and flat.converged
