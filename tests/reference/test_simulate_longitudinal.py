"""Calibration of the longitudinal designs ``cohort7y`` and ``charls`` against their published targets.

Targets (resources/review_targets.tsv): cohort7y_low_muscle_decline (beta = -0.14 score points per year, both
sexes; review ref. 41) and liu_charls_grip_decline (Liu et al. 2019, doi:10.3389/fnagi.2019.00250: highest vs
lowest grip group on W3 cognition, beta 1.061 women / 1.233 men; 0.543 / 0.742 also adjusted for baseline
cognition). Each estimate from a large simulated n must lie within 4 standard errors of the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.simulate import designs, simulate
from musclecog.simulate.charls import simulate_charls
from musclecog.simulate.cohort7y import simulate_cohort7y


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    sigma2 = resid @ resid / (len(y) - X.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    return beta, se


def _truth(truth: pd.DataFrame, parameter: str) -> float:
    return float(truth.set_index("parameter").loc[parameter, "value"])


@pytest.mark.parametrize("sex", ["female", "male"])
def test_cohort7y_recovers_low_muscle_mass_slope_difference(sex: str) -> None:
    """Balanced waves without dropout: per-person OLS slopes regressed on low muscle mass and baseline age
    estimate the low muscle mass x time interaction without bias."""
    sim = simulate_cohort7y(seed=11, n=60_000, dropout_per_wave=0.0)
    d = sim.data[sim.data["sex"] == sex]
    t = d["time_years"].to_numpy()
    wide_t = t.reshape(-1, 4)
    wide_y = d["cognition"].to_numpy().reshape(-1, 4)
    tc = wide_t - wide_t.mean(axis=1, keepdims=True)
    slopes = (tc * wide_y).sum(axis=1) / (tc**2).sum(axis=1)
    base = d[d["wave"] == 0]
    X = np.column_stack([np.ones(len(base)), base["low_muscle_mass"], base["age"] - 70.0])
    beta, se = _ols(X, slopes)
    truth = _truth(sim.truth, f"beta_low_muscle_mass_x_time_{'women' if sex == 'female' else 'men'}")
    assert truth == -0.14
    assert abs(beta[1] - truth) < 4 * se[1], (beta[1], se[1])
    assert se[1] < 0.01


@pytest.mark.parametrize(("sex", "label"), [("female", "women"), ("male", "men")])
def test_charls_recovers_liu_w3_betas(sex: str, label: str) -> None:
    """W3 (2015) cognition on grip-quartile dummies + baseline age + education, with and without baseline
    cognition, within sex: the Q4 coefficient equals the published beta."""
    sim = simulate_charls(seed=5, n=160_000, dropout_per_wave=0.0, years=[2011, 2013, 2015])
    d = sim.data
    base = d[(d["wave"] == 0) & (d["sex"] == sex)].set_index("id")
    w3 = d[d["wave"] == 2].set_index("id").loc[base.index]
    X = np.column_stack(
        [np.ones(len(base))]
        + [(base["grip_group"] == g).to_numpy(float) for g in (2, 3, 4)]
        + [base["age"].to_numpy()]
        + [(base["education"] == e).to_numpy(float) for e in base["education"].cat.categories[1:]]
    )
    y = w3["cognition"].to_numpy()
    beta, se = _ols(X, y)
    target = _truth(sim.truth, f"beta_w3_cognition_q4_vs_q1_{label}")
    assert target == {"women": 1.061, "men": 1.233}[label]
    assert abs(beta[3] - target) < 4 * se[3], (beta[3], se[3])
    beta_adj, se_adj = _ols(np.column_stack([X, base["cognition"].to_numpy()]), y)
    target_adj = _truth(sim.truth, f"beta_w3_cognition_q4_vs_q1_adj_baseline_{label}")
    assert abs(beta_adj[3] - target_adj) < 4 * se_adj[3], (beta_adj[3], se_adj[3])
    # higher grip: slower decline (derived slope difference is positive)
    assert _truth(sim.truth, f"slope_q4_vs_q1_{label}") > 0


def test_charls_impairment_hazard_ratio() -> None:
    """Cox model (lifelines, Efron) on follow-up time adjusted for baseline age recovers HR 1.5 (Q1 vs Q4)."""
    from lifelines import CoxPHFitter

    sim = simulate_charls(seed=9, n=30_000)
    base = sim.data[sim.data["wave"] == 0]
    df = pd.DataFrame(
        {
            "time": base["followup_years"].to_numpy(),
            "event": base["cognitive_impairment"].to_numpy(),
            "q1": (base["grip_group"] == 1).to_numpy(int),
            "q2": (base["grip_group"] == 2).to_numpy(int),
            "q3": (base["grip_group"] == 3).to_numpy(int),
            "age": base["age"].to_numpy(),
        }
    )
    fit = CoxPHFitter().fit(df, "time", "event")
    truth = np.log(_truth(sim.truth, "hr_impairment_q1_vs_q4"))
    assert abs(fit.params_["q1"] - truth) < 4 * fit.standard_errors_["q1"]
    assert np.all(base["followup_years"] > 0)
    assert np.all(base["followup_years"] <= 7.0)
    np.testing.assert_allclose(base["exit_age"] - base["entry_age"], base["followup_years"])


@pytest.mark.parametrize("design", ["cohort7y", "charls"])
def test_deterministic_and_any_n(design: str) -> None:
    a = simulate(design, n=500, seed=3)
    b = simulate(design, n=500, seed=3)
    c = simulate(design, n=500, seed=4)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.data["cognition"].equals(c.data["cognition"])
    for n in (5, 37, 1001):
        sim = simulate(design, n=n, seed=1)
        assert sim.data["id"].nunique() == n
        assert {"id", "wave", "time_years", "age", "sex", "cognition"} <= set(sim.data.columns)
        # long format: sorted by id then wave, times increasing within a person, waves unique
        assert not sim.data.duplicated(["id", "wave"]).any()
        assert (sim.data.groupby("id")["time_years"].diff().dropna() > 0).all()
    assert design in designs()


def test_default_n_and_dropout_counted() -> None:
    sim = simulate_cohort7y(seed=1)
    assert sim.data["id"].nunique() == 1978
    lost = _truth(sim.truth, "rows_lost_to_dropout")
    assert len(sim.data) == 1978 * 4 - lost
    assert 0.15 < sim.data.loc[sim.data["wave"] == 0, "low_muscle_mass"].mean() < 0.45
    ch = simulate_charls(seed=1)
    assert ch.data["id"].nunique() == 9333
    assert sorted(ch.data["year"].unique()) == [2011, 2013, 2015, 2018]
    assert len(ch.data) == 9333 * 4 - _truth(ch.truth, "rows_lost_to_dropout")


def test_unknown_parameter_is_an_error() -> None:
    from musclecog.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown parameter"):
        simulate_cohort7y(seed=1, beta=-0.2)
    with pytest.raises(ConfigError, match="2015"):
        simulate_charls(seed=1, years=[2011, 2013])
