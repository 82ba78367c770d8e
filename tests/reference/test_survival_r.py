"""Survival analyses against R's survival package (lung data), and the synthetic truth.

Reference values were printed by ``tests/data/sleepstudy_references.R``; the R call is in each docstring.
``lung$status`` is 1 = censored, 2 = dead in R; the tests recode it to 0/1 as a user's config would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.survival.productlimit import logrank_test

DATA = Path(__file__).resolve().parents[1] / "data"
CTX = RunContext(analysis="ref", cohort="ref", seed=1)


def fit_cox(data: pd.DataFrame, entry: dict, context: RunContext) -> AnalysisResult:
    return run_analysis(data, {"type": "cox", "cohort": context.cohort, **entry}, context)


def fit_kaplan_meier(data: pd.DataFrame, entry: dict, context: RunContext) -> AnalysisResult:
    return run_analysis(data, {"type": "kaplan_meier", "cohort": context.cohort, **entry}, context)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(DATA / "lung.csv")
    d["dead"] = d["status"] - 1
    d["exit_age"] = d["age"] + d["time"] / 365.25
    return d


def test_lung_cox_efron(lung: pd.DataFrame) -> None:
    """``coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung)`` (Efron): coefficients 0.01106676456,
    -0.55261239570, 0.46372847537; se 0.009267411014, 0.167739053787, 0.113577266162; loglik -729.2301214;
    n = 227 (1 observation deleted due to missingness), 164 events. Coefficients to 1e-5."""
    result = fit_cox(
        lung, {"event": "dead", "duration": "time", "exposure": "age", "covariates": ["sex", "ph.ecog"]}, CTX
    )
    t = result.to_tidy().set_index("term")
    terms = ["age", "sex", "ph.ecog"]
    np.testing.assert_allclose(
        np.log(t.loc[terms, "estimate"]), [0.0110668, -0.5526124, 0.4637285], atol=1e-5
    )
    np.testing.assert_allclose(
        np.log(t.loc[terms, "estimate"]), [0.01106676456, -0.55261239570, 0.46372847537], rtol=1e-7
    )
    assert "null model -744.480456" in t.loc["logLik (partial)", "note"]  # fit$loglik[1] = -744.4804558
    np.testing.assert_allclose(
        t.loc[terms, "std_error"], [0.009267411014, 0.167739053787, 0.113577266162], rtol=1e-5
    )
    np.testing.assert_allclose(t.loc["logLik (partial)", "estimate"], -729.2301214, rtol=1e-8)
    assert (t.loc[terms, "n"] == 227).all() and (t.loc[terms, "n_events"] == 164).all()
    # R deletes 1 observation for a missing ph.ecog; we count it and release the count as <5
    assert "ph.ecog' missing (<5 rows)" in t.loc["age", "note"]
    flow = {s.reason: s.n for s in result.flow}
    assert flow["excluded: 'ph.ecog' missing"] == 1
    # HR and its CI are exponentiated: R's summary(fit)$conf.int for sex:
    # 0.5754445562 (0.4142130185, 0.7994351274)
    np.testing.assert_allclose(
        t.loc["sex", ["estimate", "conf_low", "conf_high"]].astype(float),
        [0.5754445562, 0.4142130185, 0.7994351274],
        rtol=1e-5,
    )
    ph = t.loc[[f"ph_test:{x}" for x in terms]]
    assert (ph["scale"] == "chi_squared").all() and ph["p_value"].between(0, 1).all()


def test_lung_cox_lifelines_engine(lung: pd.DataFrame) -> None:
    """The same model with ``engine: lifelines`` (CoxPHFitter): coefficients of
    ``coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung)`` to 1e-5 (lifelines stops about 2e-6 from
    R's optimum on sex: -0.5526104 vs -0.5526124)."""
    spec = {
        "event": "dead",
        "duration": "time",
        "exposure": "age",
        "covariates": ["sex", "ph.ecog"],
        "engine": "lifelines",
    }
    t = fit_cox(lung, spec, CTX).to_tidy().set_index("term")
    np.testing.assert_allclose(
        np.log(t.loc[["age", "sex", "ph.ecog"], "estimate"]), [0.0110668, -0.5526124, 0.4637285], atol=1e-5
    )
    assert "lifelines" in t.loc["age", "method"]


def test_lung_cox_age_scale_delayed_entry(lung: pd.DataFrame) -> None:
    """``coxph(Surv(age, age + time/365.25, status) ~ sex + ph.ecog, data = lung[!is.na(lung$ph.ecog), ])``:
    sex -0.4611614947 (se 0.1852836694), ph.ecog 0.4083600037 (se 0.1255573856)."""
    spec = {"event": "dead", "entry": "age", "exit": "exit_age", "exposure": "sex", "covariates": ["ph.ecog"]}
    t = fit_cox(lung, spec, CTX).to_tidy().set_index("term")
    np.testing.assert_allclose(
        np.log(t.loc[["sex", "ph.ecog"], "estimate"]), [-0.4611614947, 0.4083600037], atol=1e-6
    )
    np.testing.assert_allclose(
        t.loc[["sex", "ph.ecog"], "std_error"], [0.1852836694, 0.1255573856], rtol=1e-5
    )
    # cox.zph(fit) (km) is singular on these data, in R too (tests/reference/test_survival_cox_km_r.py)
    assert np.isnan(t.loc["ph_test:sex", "estimate"]) and "singular" in t.loc["ph_test:sex", "note"]


def test_lung_kaplan_meier_and_logrank(lung: pd.DataFrame) -> None:
    """``survfit(Surv(time, status) ~ sex, data = lung)``: medians 270 (men) and 426 (women);
    ``survdiff(Surv(time, status) ~ sex, data = lung)``: Chisq = 10.3267 on 1 df, p = 0.001311.
    (The median's CI per ``conf.type``: tests/reference/test_survival_cox_km_r.py.)"""
    t = (
        fit_kaplan_meier(lung, {"event": "dead", "duration": "time", "exposure": "sex"}, CTX)
        .to_tidy()
        .set_index("term")
    )
    np.testing.assert_allclose(t.loc[["median:sex=1", "median:sex=2"], "estimate"], [270, 426])
    np.testing.assert_allclose(t.loc["logrank", "estimate"], 10.3267, rtol=1e-5)
    np.testing.assert_allclose(t.loc["logrank", "p_value"], 0.001311, rtol=1e-3)
    assert t.loc["logrank", "df"] == 1
    assert list(t.loc[["median:sex=1", "median:sex=2"], "n_events"]) == [112, 53]


def test_logrank_with_four_groups_matches_survdiff(lung: pd.DataFrame) -> None:
    """Four groups, one with a single person: R 4.2 ``s <- survdiff(Surv(time, status) ~ ph.ecog, data = lung)``
    (227 people with ph.ecog): ``sprintf("%.10f", s$chisq)`` 21.9621316825 on 3 df,
    ``pchisq(s$chisq, 3, lower.tail = FALSE)`` 6.6425353558e-05; by sex: 10.3267419549, p 0.00131116452036."""
    d = lung.dropna(subset=["ph.ecog"])
    stat, df, p = logrank_test(d["time"].to_numpy(float), d["dead"].to_numpy(int), d["ph.ecog"].to_numpy())
    assert (df, len(d)) == (3, 227)
    np.testing.assert_allclose([stat, p], [21.9621316825, 6.6425353558e-05], rtol=1e-9)
    stat, df, p = logrank_test(lung["time"].to_numpy(float), lung["dead"].to_numpy(int), lung["sex"].to_numpy())
    np.testing.assert_allclose([stat, p], [10.3267419549, 0.00131116452036], rtol=1e-9)
    assert df == 1


def test_charls_default_cox_recovers_truth() -> None:
    """Synthetic CHARLS (default n): the age-scale Cox HR of the lowest vs highest grip quartile covers the
    generating HR (1.5, a literature value)."""
    from musclecog.simulate.charls import simulate_charls

    sim = simulate_charls(seed=20261125)
    spec = {
        "event": "cognitive_impairment",
        "entry": "entry_age",
        "exit": "exit_age",
        "exposure": "grip_group",
        "exposure_reference": 4,
        "baseline_only": True,
        "ph_test": False,
    }
    row = fit_cox(sim.data, spec, CTX).to_tidy().set_index("term").loc["grip_group[1]"]
    truth = float(sim.truth.set_index("parameter").loc["hr_impairment_q1_vs_q4", "value"])
    assert row["conf_low"] < truth < row["conf_high"]
    assert row["n"] == 9333
