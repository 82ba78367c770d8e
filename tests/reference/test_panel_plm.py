"""panel_model against plm on Grunfeld: first differences with an intercept, the between estimator, Amemiya
random effects, phtest, pFtest and fixef.

Every reference value was printed by ``tests/data/grunfeld_plm_estimators.R`` (R, Debian r-cran-plm 2.6); the
R call is quoted in each test's docstring. Data: tests/data/sleepstudy.README.md (grunfeld.csv). ``g2`` is
Grunfeld without rows 1-3, 25, 60 and 61 (R's row numbers): unbalanced, with a gap in firm 2. Estimates to
1e-6, SEs, tests and p-values to 1e-5 (relative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
CTX = RunContext(analysis="ref", cohort="ref", seed=1)
TERMS = ["Intercept", "value", "capital"]


@pytest.fixture(scope="module")
def grunfeld() -> pd.DataFrame:
    return pd.read_csv(DATA / "grunfeld.csv")


@pytest.fixture(scope="module")
def g2(grunfeld: pd.DataFrame) -> pd.DataFrame:
    return grunfeld.drop(index=[0, 1, 2, 24, 59, 60])


def _result(data: pd.DataFrame, **kw):
    spec = {
        "outcome": "inv",
        "exposure": "value",
        "covariates": ["capital"],
        "id": "firm",
        "wave": "year",
        "time": "year",
        "include_time": False,
        **kw,
    }
    return run_analysis(data, {"type": "panel_model", **spec}, CTX)


def _panel(data: pd.DataFrame, **kw) -> pd.DataFrame:
    return _result(data, **kw).to_tidy().set_index("term")


def _check(t: pd.DataFrame, est: list[float], se: list[float], p: list[float] | None = None) -> None:
    np.testing.assert_allclose(t.loc[TERMS, "estimate"], est, rtol=1e-6)
    np.testing.assert_allclose(t.loc[TERMS, "std_error"], se, rtol=1e-5)
    if p is not None:
        np.testing.assert_allclose(t.loc[TERMS, "p_value"], p, rtol=1e-5)


def test_first_difference_with_intercept(grunfeld: pd.DataFrame, g2: pd.DataFrame) -> None:
    """``summary(plm(inv ~ value + capital, data = Grunfeld, model = "fd"))`` (plm's default intercept):
    -1.8188901585851 (SE 3.56559313557046, p 0.610567046242), 0.0897624949908 (0.00836358501628,
    3.03790838678e-21), 0.2917667196941 (0.05375159764089, 1.75234026015e-07); on g2 -3.633259979982
    (3.4475693558156), 0.113942928174 (0.0100856282213), 0.347638901743 (0.0522196868513)."""
    _check(
        _panel(grunfeld, model="first_difference", cov_type="unadjusted"),
        [-1.8188901585851, 0.0897624949908, 0.2917667196941],
        [3.56559313557046, 0.00836358501628, 0.05375159764089],
        [0.610567046242, 3.03790838678e-21, 1.75234026015e-07],
    )
    _check(
        _panel(g2, model="first_difference", cov_type="unadjusted"),
        [-3.633259979982, 0.113942928174, 0.347638901743],
        [3.4475693558156, 0.0100856282213, 0.0522196868513],
    )


FD_CLUSTERED = {
    "HC0": [3.0925321803990, 0.0128111827718, 0.1466583382629],
    "HC1": [3.0370917698917, 0.0125815142702, 0.1440291664375],
    "sss": [3.2772009465401, 0.0135761951232, 0.1554159559016],
}
AMEMIYA_CLUSTERED = {
    "HC0": [23.3047002347295, 0.0129256632896, 0.0520383878101],
    "HC1": [23.4814767267658, 0.0130237101810, 0.0524331220721],
    "sss": [24.6896930929869, 0.0136938324213, 0.0551310169685],
}


@pytest.mark.parametrize("hc_type", ["HC0", "HC1", "sss"])
def test_clustered_first_difference_and_amemiya(grunfeld: pd.DataFrame, hc_type: str) -> None:
    """``sqrt(diag(vcovHC(m, method = "arellano", type = hc_type, cluster = "group")))`` for
    ``plm(inv ~ value + capital, model = "fd")`` and ``model = "random", random.method = "amemiya"``."""
    fd = _panel(grunfeld, model="first_difference", hc_type=hc_type)
    np.testing.assert_allclose(fd.loc[TERMS, "std_error"], FD_CLUSTERED[hc_type], rtol=1e-5)
    am = _panel(grunfeld, model="random", random_method="amemiya", hc_type=hc_type)
    np.testing.assert_allclose(am.loc[TERMS, "std_error"], AMEMIYA_CLUSTERED[hc_type], rtol=1e-5)


def test_random_swamy_arora_clustered_and_z_tests(grunfeld: pd.DataFrame) -> None:
    """``vcovHC(plm(inv ~ value + capital, model = "random"), method = "arellano", type = "HC1",
    cluster = "group")``: SEs 23.6275019288885, 0.0130825091625, 0.0522826261844 (linearmodels' clustered
    covariance); p-values are z tests as plm's summary."""
    t = _panel(grunfeld, model="random")
    np.testing.assert_allclose(
        t.loc[TERMS, "std_error"], [23.6275019288885, 0.0130825091625, 0.0522826261844], rtol=1e-5
    )
    z = t.loc["value", "estimate"] / t.loc["value", "std_error"]
    from scipy import stats

    np.testing.assert_allclose(t.loc["value", "p_value"], 2 * stats.norm.sf(abs(z)), rtol=1e-12)


def test_between(grunfeld: pd.DataFrame, g2: pd.DataFrame) -> None:
    """``summary(plm(inv ~ value + capital, model = "between"))``: -8.5271137217269 (47.5153077358230,
    p 0.86266045868459), 0.1346460869719 (0.0287454591405, 0.00225004146115), 0.0320314743314
    (0.1909377991675, 0.87151695959726), t on 7 df; on g2 -17.8825958524660 (46.7578796881480),
    0.1400316015562 (0.0318688128711), 0.0624200863367 (0.1912673353812)."""
    _check(
        _panel(grunfeld, model="between", cov_type="unadjusted"),
        [-8.5271137217269, 0.1346460869719, 0.0320314743314],
        [47.5153077358230, 0.0287454591405, 0.1909377991675],
        [0.86266045868459, 0.00225004146115, 0.87151695959726],
    )
    _check(
        _panel(g2, model="between", cov_type="unadjusted"),
        [-17.8825958524660, 0.1400316015562, 0.0624200863367],
        [46.7578796881480, 0.0318688128711, 0.1912673353812],
    )


def test_amemiya(grunfeld: pd.DataFrame, g2: pd.DataFrame) -> None:
    """``summary(plm(inv ~ value + capital, model = "random", random.method = "amemiya"))``:
    -57.771054021799 (27.9614766253180, p 3.88195542512e-02), 0.109763687672 (0.0104211597686,
    6.10116418668e-26), 0.307951870384 (0.0172002801414, 1.09971777792e-71), z tests;
    ``ercomp(fit)$sigma2``: idios 2755.14814414, id 6477.29825177. On g2 (unbalanced: plm's dfcor = 3):
    -72.966281400596 (29.6642947741622), 0.130268162471 (0.0105970614567), 0.293396114112
    (0.0169736283924); idios 2295.39569599, id 7569.81266709."""
    t = _panel(grunfeld, model="random", random_method="amemiya", cov_type="unadjusted")
    _check(
        t,
        [-57.771054021799, 0.109763687672, 0.307951870384],
        [27.9614766253180, 0.0104211597686, 0.0172002801414],
        [3.88195542512e-02, 6.10116418668e-26, 1.09971777792e-71],
    )
    np.testing.assert_allclose(
        t.loc[["var(Effects)", "var(Residual)"], "estimate"], [6477.29825177, 2755.14814414], rtol=1e-6
    )
    u = _panel(g2, model="random", random_method="amemiya", cov_type="unadjusted")
    _check(
        u,
        [-72.966281400596, 0.130268162471, 0.293396114112],
        [29.6642947741622, 0.0105970614567, 0.0169736283924],
    )
    np.testing.assert_allclose(
        u.loc[["var(Effects)", "var(Residual)"], "estimate"], [7569.81266709, 2295.39569599], rtol=1e-6
    )


def test_hausman_and_pftest(grunfeld: pd.DataFrame, g2: pd.DataFrame) -> None:
    """``phtest(within, random)``: chisq 2.33036689368 on 2 df, p 0.311865446055 (Swamy-Arora);
    with ``random.method = "amemiya"``: 4.85265203177, p 0.0883608734028. ``pFtest(within, pooling)``:
    F 49.1766254994 on (9, 188), p 8.70014669955e-45; on g2 57.1897132216 on (9, 182)."""
    tests = ["hausman", "pftest"]
    t = _panel(grunfeld, specification_tests=tests)
    h, f = t.loc["Hausman test"], t.loc["F test for individual effects"]
    np.testing.assert_allclose(
        [h["statistic"], h["df"], h["p_value"]], [2.33036689368, 2, 0.311865446055], rtol=1e-5
    )
    np.testing.assert_allclose(
        [f["statistic"], f["df"], f["p_value"]], [49.1766254994, 9, 8.70014669955e-45], rtol=1e-5
    )
    assert "F(9, 188)" in f["note"]
    am = _panel(grunfeld, model="random", random_method="amemiya", specification_tests=["hausman"])
    np.testing.assert_allclose(
        am.loc["Hausman test", ["statistic", "p_value"]].astype(float),
        [4.85265203177, 0.0883608734028],
        rtol=1e-5,
    )
    u = _panel(g2, model="pooled", specification_tests=["pftest"]).loc["F test for individual effects"]
    np.testing.assert_allclose(u["statistic"], 57.1897132216, rtol=1e-5)
    assert "F(9, 182)" in u["note"]


def test_fixed_effects(grunfeld: pd.DataFrame) -> None:
    """``summary(fixef(plm(inv ~ value + capital, model = "within")))``: firm effects (level), SEs and
    p-values (t on 188 df); kept on the result, not written to the tidy table."""
    result = _result(grunfeld)
    fx = result.fixed_effects["overall"]
    np.testing.assert_allclose(
        fx["estimate"],
        [
            -70.29671745551,
            101.90581373061,
            -235.57184100932,
            -27.80929456046,
            -114.61681279778,
            -23.16129513463,
            -66.55347353501,
            -57.54565725158,
            -87.22227241819,
            -6.56784353738,
        ],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        fx["std_error"],
        [
            49.7079588373,
            24.9383231809,
            24.4316164739,
            14.0777537617,
            14.1654332886,
            12.6687392929,
            12.8429734392,
            13.9931463763,
            12.8918932068,
            11.8268910013,
        ],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        fx["p_value"],
        [
            1.58958751154e-01,
            6.48524432110e-05,
            3.95142036662e-18,
            4.96853536570e-02,
            7.14109550151e-14,
            6.91007720729e-02,
            5.62904041421e-07,
            5.84771034713e-05,
            1.63450584857e-10,
            5.79328216360e-01,
        ],
        rtol=1e-5,
    )
    assert list(fx["id"]) == list(range(1, 11)) and (fx["n_obs"] == 20).all()
    assert not result.to_tidy()["term"].str.contains("fixef").any()


def test_fd_intercept_leaves_out_constant_differences(grunfeld: pd.DataFrame) -> None:
    """On yearly visits the differenced time term is 1 throughout, collinear with the intercept: left out,
    with a note."""
    t = _panel(grunfeld, model="first_difference", include_time=True, cov_type="unadjusted")
    assert "year" not in t.index
    assert "year: constant differences, collinear with the intercept; left out" in t.loc["value", "note"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"model": "between"}, "set cov_type: unadjusted"),
        ({"model": "within", "intercept": False}, "intercept: false applies to model: first_difference"),
        ({"model": "within", "random_method": "amemiya"}, "random_method: amemiya applies to model: random"),
        ({"time_effects": True, "specification_tests": ["pftest"]}, "one-way"),
        ({"model": "random", "hc_type": "sss"}, "hc_type: sss applies"),
    ],
)
def test_bad_combinations(grunfeld: pd.DataFrame, kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _panel(grunfeld, **kw)
