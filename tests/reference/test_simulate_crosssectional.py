"""Calibration of the cross-sectional designs (nhanes_1999_2002, ukb, liao, li) against their targets.

Each calibrated population value (review targets: Wang et al., Jiang et al., Liao et al., Li et al.; see
resources/review_targets.tsv) is recovered from a large simulated sample. Tolerances are about four
sampling SEs at the n used, stated per test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from musclecog.errors import ConfigError
from musclecog.simulate import simulate
from musclecog.simulate.li import path_coefficients as li_paths
from musclecog.simulate.liao import path_coefficients as liao_paths
from musclecog.simulate.nhanes import low_muscle_mass_flags, stratified_truth
from musclecog.simulate.ukb import snp_effects


def _truth(cohort, parameter: str) -> float:
    t = cohort.truth.set_index("parameter")["value"]
    return float(t[parameter])


@pytest.fixture(scope="module")
def nhanes_large():
    return simulate("nhanes_1999_2002", n=300_000, seed=11)


def test_nhanes_dsst_by_fnih_alm(nhanes_large) -> None:
    """Wang et al.: DSST 43.56 +- 18.36 (low ALM) vs 47.56 +- 17.44; n = 300,000, mean SE about 0.065
    (low group) and 0.037 (normal): tolerance 0.25 points for means, 0.2 for SDs."""
    d = nhanes_large.data
    low = low_muscle_mass_flags(d)["low_mm_fnih_alm"].to_numpy() == 1
    dsst = d["dsst"].to_numpy()
    assert dsst[low].mean() == pytest.approx(43.56, abs=0.25)
    assert dsst[low].std(ddof=1) == pytest.approx(18.36, abs=0.2)
    assert dsst[~low].mean() == pytest.approx(47.56, abs=0.25)
    assert dsst[~low].std(ddof=1) == pytest.approx(17.44, abs=0.2)
    assert low.mean() == pytest.approx(_truth(nhanes_large, "share_low_mm_fnih_alm"), abs=0.004)
    assert dsst.min() >= 0 and dsst.max() <= 133
    assert d["alm_kg"].min() >= 5


def test_nhanes_alm_bmi_lower_dsst_in_each_age_group(nhanes_large) -> None:
    """Wang et al.: lower DSST with low ALM/BMI in 60-69, 70-79, 80+; matches the Monte Carlo truth
    within 0.6 points (SE about 0.15 at this n plus the truth's own Monte Carlo error)."""
    d = nhanes_large.data
    low = low_muscle_mass_flags(d)["low_mm_fnih_alm_bmi"].to_numpy() == 1
    groups = pd.cut(d["age"], [59, 69, 79, 200], labels=["60-69", "70-79", "80+"])
    truth = stratified_truth().set_index("age_group")["difference"]
    for label in ("60-69", "70-79", "80+"):
        sel = (groups == label).to_numpy()
        diff = d["dsst"][sel & low].mean() - d["dsst"][sel & ~low].mean()
        assert diff < -3
        assert diff == pytest.approx(truth[label], abs=0.6)


def test_nhanes_mortality_hazard_ratio(nhanes_large) -> None:
    """The exponential hazard model (Poisson GLM with log follow-up offset, correctly specified) recovers
    HR 1.40 for low muscle mass adjusted for age and sex; SE of log HR about 0.008 at n = 300,000."""
    d = nhanes_large.data.iloc[:150_000]
    low = low_muscle_mass_flags(d)["low_mm_fnih_alm"]
    x = sm.add_constant(
        pd.DataFrame({"low": low, "age": d["age"] - 70, "male": (d["sex"] == "male").astype(float)})
    )
    fit = sm.GLM(d["death"], x, family=sm.families.Poisson(), offset=np.log(d["followup_years"])).fit()
    assert np.exp(fit.params["low"]) == pytest.approx(1.40, abs=0.05)
    assert np.exp(fit.params["age"]) == pytest.approx(1.09, abs=0.005)
    assert 0.3 < d["death"].mean() < 0.6


def test_nhanes_survey_design(nhanes_large) -> None:
    d = nhanes_large.data
    assert nhanes_large.survey == {"weight": "survey_weight", "strata": "survey_strata", "psu": "survey_psu"}
    assert d["survey_strata"].nunique() == 15
    assert set(d.groupby("survey_strata")["survey_psu"].nunique()) == {2}
    assert (d["survey_weight"] > 0).all()


@pytest.fixture(scope="module")
def ukb_large():
    return simulate("ukb", n=400_000, seed=5)


def _ukb_design(d: pd.DataFrame) -> pd.DataFrame:
    x = pd.get_dummies(d[["sex", "education", "centre"]], drop_first=True, dtype=float)
    x["age"] = d["age"]
    x["grip_z"] = (d["grip_kg"] - d["grip_kg"].mean()) / d["grip_kg"].std()
    return sm.add_constant(x)


def test_ukb_jiang_targets(ukb_large) -> None:
    """Jiang et al. per SD of grip, adjusted for age, sex, education, centre: partial r for reaction time
    -0.0974 (t = -19.56 at n = 40,000; SE of r 0.0016 here, tol 0.007), fluid intelligence 0.019 SD per SD
    (SE 0.0023, tol 0.009), prospective memory OR 1.27 (SE of log OR 0.006, tol 0.03)."""
    d = ukb_large.data[ukb_large.data["wave"] == 0]
    x = _ukb_design(d)
    rt = sm.OLS(d["reaction_time_ms"], x).fit()
    t = rt.tvalues["grip_z"]
    r = t / np.sqrt(t**2 + rt.df_resid)
    assert r == pytest.approx(_truth(ukb_large, "partial_r_grip_reaction_time"), abs=0.007)
    assert r * np.sqrt(40_000) == pytest.approx(-19.56, abs=1.5)
    fi = sm.OLS(d["fluid_intelligence"] / d["fluid_intelligence"].std(), x).fit()
    assert fi.params["grip_z"] == pytest.approx(0.019, abs=0.009)
    pm = sm.Logit(d["prospective_memory"], x).fit(disp=0)
    assert np.exp(pm.params["grip_z"]) == pytest.approx(1.27, abs=0.03)
    assert d["fluid_intelligence"].between(0, 13).all()
    assert set(d["prospective_memory"].unique()) == {0, 1}
    assert d["centre"].nunique() == 22


def test_ukb_instruments_recover_causal_effect(ukb_large) -> None:
    """Two-stage least squares with snp_1..snp_20 recovers the causal effect of grip on reaction time
    (-8 ms per SD grip; SE about 1.3 ms at n = 400,000, tol 5 ms) and not the confounded OLS slope."""
    d = ukb_large.data[ukb_large.data["wave"] == 0]
    snps = d[[f"snp_{j}" for j in range(1, 21)]].to_numpy(float)
    z = np.column_stack([np.ones(len(d)), snps, d["age"], (d["sex"] == "male").astype(float)])
    grip_z = ((d["grip_kg"] - d["grip_kg"].mean()) / _truth(ukb_large, "grip_sd_kg")).to_numpy()
    fitted = z @ np.linalg.lstsq(z, grip_z, rcond=None)[0]
    w = np.column_stack([np.ones(len(d)), fitted, d["age"], (d["sex"] == "male").astype(float)])
    xw = np.column_stack([np.ones(len(d)), grip_z, d["age"], (d["sex"] == "male").astype(float)])
    beta = np.linalg.solve(w.T @ xw, w.T @ d["reaction_time_ms"].to_numpy())
    assert beta[1] == pytest.approx(_truth(ukb_large, "causal_grip_reaction_time_ms"), abs=5.0)
    gamma, eaf = snp_effects()
    assert snps.mean(axis=0) / 2 == pytest.approx(eaf, abs=0.005)
    assert d["prs_grip"].std() == pytest.approx(1.0, abs=0.01)


def test_ukb_long_format_and_speed_shape() -> None:
    c = simulate("ukb", n=1000, seed=3)
    d = c.data
    assert list(d.columns[:4]) == ["id", "wave", "time_years", "age"]
    assert not d.duplicated(["id", "wave"]).any()
    assert set(d["wave"]) == {0, 1}
    w1 = d[d["wave"] == 1].set_index("id")
    w0 = d[d["wave"] == 0].set_index("id").loc[w1.index]
    assert (w1["age"] > w0["age"]).all() and (w1["time_years"] > 4).all()


def test_liao_correlations_and_paths() -> None:
    """Liao et al.: r = 0.342, 0.215, 0.616, 0.441 (n = 1,000,000: SE < 0.001, tol 0.004); the path
    model's coefficients equal the derived truth, and the direct paths to ADL are zero."""
    c = simulate("liao", n=1_000_000, seed=2)
    d = c.data
    r = d[["grip_kg", "sts30", "nback1_acc", "nback2_acc"]].corr()
    assert r.loc["grip_kg", "nback1_acc"] == pytest.approx(0.342, abs=0.004)
    assert r.loc["grip_kg", "nback2_acc"] == pytest.approx(0.215, abs=0.004)
    assert r.loc["sts30", "nback1_acc"] == pytest.approx(0.616, abs=0.004)
    assert r.loc["sts30", "nback2_acc"] == pytest.approx(0.441, abs=0.004)
    paths = liao_paths()
    m1 = sm.OLS(d["nback1_acc"], sm.add_constant(d[["grip_kg", "sts30"]])).fit()
    assert m1.params["grip_kg"] == pytest.approx(paths["acc1_on_grip"], rel=0.05)
    assert m1.params["sts30"] == pytest.approx(paths["acc1_on_sts"], rel=0.02)
    m2 = sm.OLS(d["adl"], sm.add_constant(d[["nback1_acc", "grip_kg", "sts30"]])).fit()
    assert m2.params["nback1_acc"] == pytest.approx(paths["adl_on_acc1"], rel=0.03)
    assert abs(m2.params["grip_kg"]) < 4 * m2.bse["grip_kg"]
    assert abs(m2.params["sts30"]) < 4 * m2.bse["sts30"]
    assert d["nback1_acc"].between(0, 1).all() and d["nback2_acc"].between(0, 1).all()
    assert d["adl"].between(0, 100).all()


def test_li_serial_chain() -> None:
    """Li et al.: r(PA, grip) 0.559, r(grip, 1-back) 0.417, R² of MoCA on 1-back 0.116 (n = 1,000,000,
    tol 0.004); the chain PA -> grip -> 1-back -> MoCA is the true structure (skipping paths zero)."""
    d = simulate("li", n=1_000_000, seed=4).data
    r = d[["pa_level", "grip_kg", "nback1_acc", "moca"]].corr()
    assert r.loc["pa_level", "grip_kg"] == pytest.approx(0.559, abs=0.004)
    assert r.loc["grip_kg", "nback1_acc"] == pytest.approx(0.417, abs=0.004)
    assert r.loc["moca", "nback1_acc"] ** 2 == pytest.approx(0.116, abs=0.004)
    paths = li_paths()
    m = sm.OLS(d["moca"], sm.add_constant(d[["nback1_acc", "grip_kg", "pa_level"]])).fit()
    assert m.params["nback1_acc"] == pytest.approx(paths["moca_on_acc"], rel=0.03)
    assert abs(m.params["pa_level"]) < 4 * m.bse["pa_level"]
    a = sm.OLS(d["nback1_acc"], sm.add_constant(d[["grip_kg", "pa_level"]])).fit()
    assert a.params["grip_kg"] == pytest.approx(paths["acc_on_grip"], rel=0.03)
    assert abs(a.params["pa_level"]) < 4 * a.bse["pa_level"]
    assert d["moca"].between(0, 30).all()


@pytest.mark.parametrize("design", ["nhanes_1999_2002", "ukb", "liao", "li"])
def test_determinism_and_any_n(design: str) -> None:
    a = simulate(design, n=57, seed=99)
    b = simulate(design, n=57, seed=99)
    c = simulate(design, n=57, seed=100)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.data.equals(c.data)
    assert (a.data.loc[a.data.get("wave", pd.Series(0, index=a.data.index)) == 0, "id"].nunique()) == 57
    assert set(a.truth["source"]) <= {"review", "literature", "derived", "chosen"}
    small = simulate(design, n=10, seed=1)
    assert small.data["id"].nunique() == 10


def test_unknown_parameter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown parameter.*r_grip_1bak"):
        simulate("liao", n=50, seed=1, params={"r_grip_1bak": 0.3})
