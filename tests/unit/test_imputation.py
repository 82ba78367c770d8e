"""Multiply imputed cohorts: one fit per imputation, pooled by Rubin's rules (issue 14, part 4a).

Reference: R's mice 3.15.0 ``pool`` on the same five imputations (tests/data/mi_imputations.csv, written by
tests/data/make_mi_reference.py), computed once by ``Rscript tests/data/mi_pool_reference.R``::

    fits <- lapply(1:5, function(k) lm(dsst ~ grip_kg + age, data = d[d$imputation == k, ]))
    summary(pool(as.mira(fits)), conf.int = TRUE)       # grip_kg: 0.361271000358, SE 0.1119510694174,
                                                        # df 88.0808585961, p 1.75693106958e-03,
                                                        # riv 0.1348290705913, lambda 0.1188100253028,
                                                        # fmi 0.1381596447130
    g <- lapply(1:5, function(k) glm(impaired ~ grip_kg + age, family = binomial, data = d[d$imputation == k, ],
                                     control = glm.control(epsilon = 1e-14, maxit = 100)))
    summary(pool(as.mira(g), dfcom = Inf), conf.int = TRUE)   # grip_kg: -0.0645046524915 (log OR),
                                                        # SE 0.0408858030836, df 335.843409058,
                                                        # p 0.1155809045098, CI -0.1449291818114, 0.0159198768285,
                                                        # fmi 0.11439265209385

Tolerances: 1e-9 relative for the linear model (it agrees to about 1e-12), 1e-7 for the logistic one (our IRLS
stops at 1e-10 in the coefficients: 1.4e-9 here); R's glm is run to full convergence
(epsilon 1e-14: at its default 1e-8 the pooled SE differs by 6e-6).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError
from musclecog.imputation import ImputeSpec, barnard_rubin_df, chained_imputations, rubin
from musclecog.ingest import build_cohort

DATA = Path(__file__).resolve().parents[1] / "data" / "mi_imputations.csv"
COLUMNS = {"imputation": "imputation", "id": "id", "age": "age", "grip_kg": "grip_kg", "dsst": "dsst",
           "impaired": "impaired"}


def _cohort(path: Path = DATA):
    return build_cohort("mi", {"tables": [{"path": str(path), "columns": COLUMNS}]}, seed=1)


def _row(outcome: str) -> pd.Series:
    entry = {"type": "regression", "cohort": "mi", "outcomes": [outcome], "exposure": "grip_kg", "covariates": ["age"]}
    tidy = run_analysis(_cohort().data, entry, RunContext("a", "mi", 1)).to_tidy()
    return tidy[(tidy["term"] == "grip_kg") & (tidy["model"] == "adjusted")].iloc[0]


def test_linear_model_pooled_as_mice():
    r = _row("dsst")
    assert r["estimate"] == pytest.approx(0.361271000358, rel=1e-9)
    assert r["std_error"] == pytest.approx(0.1119510694174, rel=1e-9)
    assert r["df"] == pytest.approx(88.0808585961, rel=1e-9)
    assert r["p_value"] == pytest.approx(1.75693106958e-03, rel=1e-9)
    assert (r["conf_low"], r["conf_high"]) == pytest.approx((0.138794621273, 0.583747379444), rel=1e-9)
    assert r["fmi"] == pytest.approx(0.1381596447130, rel=1e-9)
    assert r["riv"] == pytest.approx(0.1348290705913, rel=1e-9)
    assert r["lambda"] == pytest.approx(0.1188100253028, rel=1e-9)
    assert r["m"] == 5 and r["n"] == 150
    assert "pooled over 5 imputations" in r["note"]


def test_logistic_model_pooled_on_the_log_scale():
    r = _row("impaired")
    assert r["scale"] == "odds_ratio"
    assert math.log(r["estimate"]) == pytest.approx(-0.0645046524915, rel=1e-7)
    assert r["std_error"] == pytest.approx(0.0408858030836, rel=1e-7)
    assert r["p_value"] == pytest.approx(0.1155809045098, rel=1e-7)
    assert r["df"] == pytest.approx(335.843409058, rel=1e-7)
    assert math.log(r["conf_low"]) == pytest.approx(-0.1449291818114, rel=1e-7)
    assert math.log(r["conf_high"]) == pytest.approx(0.0159198768285, rel=1e-7)
    assert r["fmi"] == pytest.approx(0.11439265209385, rel=1e-7)

def test_rubin_rules_by_hand():
    """Rubin (1987) by hand for three made-up imputations; Barnard-Rubin with and without dfcom."""
    q, se = np.array([1.0, 1.2, 0.9]), np.array([0.3, 0.32, 0.29])
    p = rubin(q, se, dfcom=50)
    ubar, b = float(np.mean(se**2)), float(np.var(q, ddof=1))
    t = ubar + (1 + 1 / 3) * b
    assert p.estimate == pytest.approx(q.mean()) and p.std_error == pytest.approx(math.sqrt(t))
    lam = (1 + 1 / 3) * b / t
    dfold, dfobs = 2 / lam**2, 51 / 53 * 50 * (1 - lam)
    assert p.df == pytest.approx(dfold * dfobs / (dfold + dfobs))
    assert barnard_rubin_df(3, b, t) == pytest.approx(dfold)
    assert barnard_rubin_df(3, 0.0, ubar) == pytest.approx(2 / 1e-4**2)  # mice floors lambda at 1e-4


def test_table1_describes_one_imputation():
    t1 = _cohort().table1
    n = t1.loc[(t1["variable"] == "N") & (t1["stratum"] == "overall"), "n"].iloc[0] if "N" in set(t1["variable"]) \
        else t1["n"].max()
    assert int(n) == 150
    assert "imputation 1 of 5" in t1["summary"].iloc[-1]


def test_imputations_with_different_people_are_an_error(tmp_path):
    d = pd.read_csv(DATA)
    d = d[~((d["imputation"] == 3) & (d["id"] == 7))]
    path = tmp_path / "mi.csv"
    d.to_csv(path, index=False)
    entry = {"type": "regression", "cohort": "mi", "outcomes": ["dsst"], "exposure": "grip_kg"}
    with pytest.raises(DataError, match=r"imputations 1 and 3 do not hold the same rows \(150 vs 149 rows; id only "
                       r"in 1: 7; only in 3: none"):
        run_analysis(_cohort(path).data, entry, RunContext("a", "mi", 1))


def _with_missing(tmp_path, frac: float = 0.3, seed: int = 11) -> Path:
    """One data set with grip (MAR on age) and education missing; the truth: dsst = 40 + 0.45 grip - 0.2 age."""
    rng = np.random.default_rng(seed)
    n = 600
    age = rng.uniform(60, 85, n)
    grip = 55 - 0.35 * age + rng.normal(0, 5, n)
    dsst = 40 + 0.45 * grip - 0.2 * age + rng.normal(0, 4, n)
    edu = rng.choice(["low", "mid", "high"], n)
    d = pd.DataFrame({"id": np.arange(1, n + 1), "age": age.round(2), "grip_kg": grip.round(2), "dsst": dsst.round(2),
                      "education": edu})
    miss = rng.random(n) < frac * (age - 60) / 12.5  # more missing grip among the older (MAR)
    d.loc[miss, "grip_kg"] = np.nan
    d.loc[rng.random(n) < 0.1, "education"] = None
    path = tmp_path / "mar.csv"
    d.to_csv(path, index=False)
    return path


def _mice_cohort(path: Path, seed: int = 1, **impute):
    cols = {"id": "id", "age": "age", "grip_kg": "grip_kg", "dsst": "dsst", "education": "education"}
    spec = {"tables": [{"path": str(path), "columns": cols}],
            "impute": {"columns": ["grip_kg", "education"], "predictors": ["age", "dsst"], **impute}}
    return build_cohort("mar", spec, seed=seed)


def test_chained_imputation_stacks_m_complete_copies(tmp_path):
    path = _with_missing(tmp_path)
    raw = pd.read_csv(path)
    c = _mice_cohort(path, m=4)
    d = c.data
    assert sorted(d["imputation"].unique()) == [1, 2, 3, 4] and len(d) == 4 * len(raw)
    assert d["grip_kg"].notna().all() and d["education"].notna().all()
    assert set(d["education"].astype(str)) == {"low", "mid", "high"}  # observed levels only
    one = d[d["imputation"] == 2].set_index("id").loc[raw["id"]]
    seen = raw["grip_kg"].notna().to_numpy()
    assert np.array_equal(one["grip_kg"].to_numpy()[seen], raw["grip_kg"].to_numpy()[seen])  # observed untouched
    # predictive mean matching: every imputed value is one of the observed values
    assert set(one["grip_kg"].to_numpy()[~seen]) <= set(raw["grip_kg"].dropna())
    flow = c.flow.set_index("step")
    assert f"grip_kg: {int((~seen).sum())} missing values filled in each of 4 imputations" in \
        flow.loc["impute (chained equations)", "reason"]
    # the same seed gives the same imputations; another seed other ones
    again = _mice_cohort(path, m=4).data
    pd.testing.assert_frame_equal(d, again)
    other = _mice_cohort(path, seed=2, m=4).data
    assert not other["grip_kg"].equals(d["grip_kg"])


def test_chained_imputation_recovers_the_truth_under_mar(tmp_path):
    """Known truth 0.45 per kg, grip missing at random given age (up to 50%).

    End to end on one data set: m and fmi are reported and every person is analysed. Over 12 simulated data
    sets (m = 5 each): the mean pooled estimate lies within 3 Monte Carlo SEs of the truth, and Rubin's pooled SE
    agrees with the estimates' spread across data sets (ratio 0.6-1.6: about 3 SEs of a 12-draw SD).
    """
    path = _with_missing(tmp_path, frac=0.5)
    c = _mice_cohort(path, m=5)
    entry = {"type": "regression", "cohort": "mar", "outcomes": ["dsst"], "exposure": "grip_kg", "covariates": ["age"]}
    tidy = run_analysis(c.data, entry, RunContext("a", "mar", 1)).to_tidy()
    r = tidy[(tidy["term"] == "grip_kg") & (tidy["model"] == "adjusted")].iloc[0]
    assert r["m"] == 5 and 0 < r["fmi"] < 1 and r["n"] == 600

    estimates, std_errors = [], []
    for rep in range(12):
        raw = pd.read_csv(_with_missing(tmp_path, frac=0.5, seed=100 + rep))[["age", "grip_kg", "dsst"]]
        stacked, _ = chained_imputations(raw, ImputeSpec(columns=("grip_kg",), predictors=("age", "dsst"), m=5,
                                                         burn_in=5, skip=5), seed=rep, where="test")
        fits = [sm.OLS(g["dsst"], sm.add_constant(g[["grip_kg", "age"]])).fit() for _, g in stacked.groupby("imputation")]
        pooled = rubin([f.params["grip_kg"] for f in fits], [f.bse["grip_kg"] for f in fits], dfcom=600 - 3)
        estimates.append(pooled.estimate)
        std_errors.append(pooled.std_error)
    est = np.array(estimates)
    assert abs(est.mean() - 0.45) < 3 * est.std(ddof=1) / np.sqrt(len(est))
    assert 0.6 < np.mean(std_errors) / est.std(ddof=1) < 1.6


def test_chained_imputation_bad_config(tmp_path):
    path = _with_missing(tmp_path)
    with pytest.raises(ConfigError, match=r"impute names \['weight'\], not columns of the cohort"):
        _mice_cohort(path, predictors=["weight"])
    with pytest.raises(ConfigError, match=r"predictor\(s\) \['grip_kg'\] have missing values; add them to impute\.columns"):
        build_cohort("mar", {"tables": [{"path": str(path)}], "impute": {"columns": ["education"],
                                                                            "predictors": ["grip_kg"]}}, seed=1)
