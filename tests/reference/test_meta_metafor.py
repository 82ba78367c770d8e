"""Meta-analysis against R's metafor on ``dat.bcg`` (13 BCG vaccine trials; tests/data/dat_bcg.csv).

Numbers computed once with R 4.x and metafor 3.8-1 (``tests/data/meta_bcg_reference.R``) and printed with
``sprintf("%.15g")``; tolerance 1e-6 (absolute on estimates, SEs, tau^2 and limits; relative on Q and I^2/H^2).
metafor's iterative estimators were run with tight convergence (``control = list(tol = 1e-12, threshold =
1e-12)``; its defaults stop at a tau^2 change of about 1e-5, PM/Q-profile at about 1e-4), our roots are found
to 1e-12. R::

    library(metafor)
    dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    ctl <- list(tol = 1e-12, threshold = 1e-12, maxiter = 10000)
    for (m in c("FE", "REML", "DL", "PM", "ML")) {
      res <- rma(yi, vi, data = dat, method = m, control = ctl)   # coef, se, tau2, QE, I2, H2
      confint(res, control = list(tol = 1e-12))                    # tau^2, I^2, H^2 (Q-profile)
      predict(res)                                                 # prediction interval
      rk <- rma(yi, vi, data = dat, method = m, test = "knha", control = ctl); predict(rk)
    }
    rma(yi, vi, mods = ~ ablat, data = dat, method = "REML", control = ctl)                 # + test = "knha"
    regtest(yi, vi, data = dat, model = "lm")                                               # Egger
    sgs <- lapply(c("alternate", "random", "systematic"),
                  function(a) rma(yi, vi, data = dat, subset = alloc == a, method = "REML", control = ctl))
    rma(sapply(sgs, coef), sei = sapply(sgs, function(r) r$se), method = "FE")$QE          # subgroup differences
    escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.meta.effects import log_ratio_from_counts
from musclecog.meta.models import egger_test, fit_rma

DATA = Path(__file__).parents[1] / "data" / "dat_bcg.csv"
TOL = 1e-6

YI_RR = [
    -0.889311333920205,
    -1.58538865720143,
    -1.34807314829969,
    -1.44155119002131,
    -0.217547322211296,
    -0.786115585818864,
    -1.62089822359839,
    0.0119523335238405,
    -0.469417648738149,
    -1.37134480347278,
    -0.339358828338391,
    0.445913400571379,
    -0.0173139482168798,
]
VI_RR = [
    0.325584765003961,
    0.194581121398144,
    0.415367965367965,
    0.0200100319022476,
    0.0512101721696309,
    0.00690561845590876,
    0.223017247572315,
    0.00396157929781773,
    0.056434210463249,
    0.0730247936130289,
    0.0124122139715597,
    0.532505845200153,
    0.0714046596839863,
]
YI_OR = [
    -0.938694140870392,
    -1.66619072902655,
    -1.38629436111989,
    -1.45644354931298,
    -0.219141085675433,
    -0.958122040776267,
    -1.6337758382289,
    0.0120206014527326,
    -0.471746035838696,
    -1.40121013928348,
    -0.340849646366211,
    0.446634682274446,
    -0.0173418739290936,
]
VI_OR = [
    0.357124952253629,
    0.208132393657186,
    0.43341307814992,
    0.0203144129731974,
    0.0519517773171203,
    0.00990526551533824,
    0.227009675223494,
    0.00400696201214883,
    0.0569771239877627,
    0.0754217263149204,
    0.0125251338202155,
    0.534162172474717,
    0.0716351172956587,
]

# method: (b, se, tau2, I2, H2, pi.lb, pi.ub, knha se, knha ci.lb, knha pi.lb, knha pi.ub)
RMA = {
    "FE": (-0.430285163654091, 0.0404987517108638, 0.0, 92.1173468545621, 12.6860840068644),
    "REML": (
        -0.71453234215814,
        0.179781516105207,
        0.313243258136486,
        92.2213845212691,
        12.8557582353094,
        -1.8666922179029,
        0.437627533586617,
        0.180791744092848,
        -1.10844371368555,
        -1.99601683419621,
        0.566952149879933,
    ),
    "DL": (
        -0.714117222073227,
        0.178742089535403,
        0.308760262862376,
        92.1173468545621,
        12.6860840068644,
        -1.85815375273217,
        0.429919308585714,
        0.180696628335547,
        -1.10782135416833,
        -1.98720696343074,
        0.558972519284285,
    ),
    "PM": (
        -0.714968153493444,
        0.180892191537624,
        0.318068452205024,
        92.3303379541533,
        13.0383841429039,
        -1.87580708248402,
        0.445870775497129,
        0.180892191537624,
        -1.10909838120224,
        -2.0054259229281,
        0.575489615941215,
    ),
    "ML": (
        -0.711199135474184,
        0.171896808776897,
        0.280028137268671,
        91.3782837894469,
        11.5986188315498,
        -1.80171550552428,
        0.379317234575908,
        0.180042222144363,
        -1.10347743896412,
        -1.92908210950177,
        0.506683838553399,
    ),
}
QE = 152.233008082373
TAU2_CI = (0.119718361141152, 1.11147908406093)  # the same Q-profile interval for every method
I2_CI_REML = (81.9205745585831, 97.6780749578874)
H2_CI_REML = (5.53114922396356, 43.0677124309817)


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def rr(bcg: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    yi, vi, _ = log_ratio_from_counts(bcg.tpos, bcg.tneg, bcg.cpos, bcg.cneg, "RR")
    return yi, vi


def close(a: float, b: float, rel: bool = False) -> bool:
    return abs(a - b) <= TOL * (max(1.0, abs(b)) if rel else 1.0)


def test_escalc_rr_and_or(bcg: pd.DataFrame, rr: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_allclose(rr[0], YI_RR, atol=1e-12)
    np.testing.assert_allclose(rr[1], VI_RR, atol=1e-12)
    yi, vi, _ = log_ratio_from_counts(bcg.tpos, bcg.tneg, bcg.cpos, bcg.cneg, "OR")
    np.testing.assert_allclose(yi, YI_OR, atol=1e-12)
    np.testing.assert_allclose(vi, VI_OR, atol=1e-12)


@pytest.mark.parametrize("method", list(RMA))
def test_rma_each_tau2_method(rr: tuple[np.ndarray, np.ndarray], method: str) -> None:
    yi, vi = rr
    ref = RMA[method]
    fit = fit_rma(yi, vi, np.ones((13, 1)), ["(Intercept)"], method)
    assert close(float(fit.fit.params.iloc[0]), ref[0])
    assert close(float(fit.fit.std_errors.iloc[0]), ref[1])
    assert close(fit.tau2, ref[2])
    assert close(fit.q, QE, rel=True) and fit.q_df == 12
    assert close(fit.i2, ref[3], rel=True) and close(fit.h2, ref[4], rel=True)
    if method == "FE":
        return
    assert close(fit.tau2_ci[0], TAU2_CI[0]) and close(fit.tau2_ci[1], TAU2_CI[1])
    _, lo, hi = fit.prediction_interval()
    assert close(lo, ref[5]) and close(hi, ref[6])
    kh = fit_rma(yi, vi, np.ones((13, 1)), ["(Intercept)"], method, knapp_hartung=True)
    assert close(float(kh.fit.std_errors.iloc[0]), ref[7])
    assert close(float(kh.fit.conf_int().iloc[0, 0]), ref[8])
    _, lo, hi = kh.prediction_interval()
    assert close(lo, ref[9]) and close(hi, ref[10])


def test_i2_h2_limits_from_the_q_profile(rr: tuple[np.ndarray, np.ndarray]) -> None:
    fit = fit_rma(*rr, np.ones((13, 1)), ["(Intercept)"], "REML")
    (i2_lo, h2_lo), (i2_hi, h2_hi) = fit.i2_h2_at(fit.tau2_ci[0]), fit.i2_h2_at(fit.tau2_ci[1])
    assert close(i2_lo, I2_CI_REML[0], rel=True) and close(i2_hi, I2_CI_REML[1], rel=True)
    assert close(h2_lo, H2_CI_REML[0], rel=True) and close(h2_hi, H2_CI_REML[1], rel=True)


def test_meta_regression_on_latitude(bcg: pd.DataFrame, rr: tuple[np.ndarray, np.ndarray]) -> None:
    x = np.column_stack([np.ones(13), bcg.ablat])
    fit = fit_rma(*rr, x, ["(Intercept)", "ablat"], "REML")
    np.testing.assert_allclose(fit.fit.params, [0.251468210006954, -0.0291017250116429], atol=TOL)
    np.testing.assert_allclose(fit.fit.std_errors, [0.249095396617645, 0.00719532722092874], atol=TOL)
    assert close(fit.tau2, 0.0763479639559193)
    assert close(fit.qm, 16.3582321470467, rel=True) and close(fit.qm_p, 5.24279397413507e-05)
    assert close(fit.q, 30.7330900107493, rel=True) and fit.q_df == 11
    assert close(fit.i2, 68.3912248383852, rel=True) and close(fit.h2, 3.16367842438382, rel=True)
    kh = fit_rma(*rr, x, ["(Intercept)", "ablat"], "REML", knapp_hartung=True)
    np.testing.assert_allclose(kh.fit.std_errors, [0.283925283743889, 0.00820141741104984], atol=TOL)
    assert close(kh.qm, 12.5909828843799, rel=True) and close(kh.qm_p, 0.00456505154159259)
    assert kh.qm_df == (1, 11)
    fe = fit_rma(*rr, x, ["(Intercept)", "ablat"], "FE")
    np.testing.assert_allclose(fe.fit.params, [0.34356457744659, -0.0292369342595418], atol=TOL)
    np.testing.assert_allclose(fe.fit.std_errors, [0.0810487794877086, 0.00265242943424623], atol=TOL)


def test_egger_regression_test(rr: tuple[np.ndarray, np.ndarray]) -> None:
    eg = egger_test(*rr)
    assert close(eg.statistic, -1.40128200228933) and close(eg.p_value, 0.188706995081979) and eg.df == 11
    assert close(eg.limit_estimate, -0.19092864235982) and close(eg.bias, -2.1120421208933)


def test_analysis_type_on_the_study_table(bcg: pd.DataFrame) -> None:
    """The configured analysis (2x2 counts, subgroups by allocation, latitude as moderator) reports R's numbers."""
    entry = {
        "type": "meta_analysis",
        "studies": {"path": str(DATA)},
        "effect": "counts",
        "columns": {"study": "author", "ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"},
        "subgroup": "alloc",
        "moderators": ["ablat"],
    }
    res = run_analysis(bcg, entry, RunContext("bcg", "pooled"))
    t = res.to_tidy().set_index(["method", "term", "stratum"])
    re = t.loc[("random effects (REML)", "pooled", "overall")]
    assert re["scale"] == "risk_ratio" and close(re["estimate"], math.exp(RMA["REML"][0]))
    assert close(re["std_error"], RMA["REML"][1]) and int(re["k"]) == 13
    assert close(
        t.loc[("fixed effect (inverse variance)", "pooled", "overall"), "estimate"], math.exp(RMA["FE"][0])
    )
    pi = t.loc[("random effects (REML)", "prediction_interval", "overall")]
    assert close(pi["conf_low"], math.exp(RMA["REML"][5])) and close(
        pi["conf_high"], math.exp(RMA["REML"][6])
    )
    assert close(t.loc[("random effects (REML)", "tau2", "overall"), "conf_low"], TAU2_CI[0])
    subs = {
        "alternate": (-0.540792961849346, 0.281601613103888, 0.132577039878093),
        "random": (-0.970964704263089, 0.27595610297277, 0.392528006900774),
        "systematic": (-0.424207391510872, 0.359745232433124, 0.400345880175118),
    }
    for level, (b, se, tau2) in subs.items():
        row = t.loc[("random effects (REML)", "pooled", f"alloc={level}")]
        assert close(math.log(row["estimate"]), b) and close(row["std_error"], se)
        assert close(t.loc[("random effects (REML)", "tau2", f"alloc={level}"), "estimate"], tau2)
    qb = t.loc[("test of subgroup differences (alloc, separate tau2)", "Q_between", "overall")]
    assert close(qb["estimate"], 1.86144494615464) and close(qb["p_value"], 0.394268758885585)
    mr = t.loc[("meta-regression, random effects (REML)", "ablat", "overall")]
    assert close(math.log(mr["estimate"]), -0.0291017250116429)
    assert close(
        t.loc[("meta-regression, random effects (REML)", "R2", "overall"), "estimate"], 75.6266218113933
    )
    assert t.index.is_unique


def test_subgroups_as_a_categorical_moderator(bcg: pd.DataFrame, rr: tuple[np.ndarray, np.ndarray]) -> None:
    """``rma(yi, vi, mods = ~ factor(alloc), method = "REML")``: common tau^2, QM on 2 df."""
    entry = {
        "type": "meta_analysis",
        "studies": {"path": str(DATA)},
        "effect": "yi_vi",
        "scale": "log_risk_ratio",
        "moderators": ["alloc"],
        "fixed_effect": False,
        "egger": False,
    }
    data = bcg.assign(yi=rr[0], vi=rr[1])
    t = run_analysis(data, entry, RunContext("bcg", "pooled")).to_tidy().set_index(["method", "term"])
    method = "meta-regression, random effects (REML)"
    np.testing.assert_allclose(
        np.log(
            t.loc[
                [(method, "(Intercept)"), (method, "alloc[random]"), (method, "alloc[systematic]")],
                "estimate",
            ]
        ),
        [-0.5179557771553, -0.447818401390525, 0.089038216231708],
        atol=TOL,
    )
    assert close(t.loc[(method, "QM"), "estimate"], 1.76751140193194) and t.loc[(method, "QM"), "df"] == 2
    assert close(t.loc[(f"{method}, residual", "tau2"), "estimate"], 0.3615036643239)
