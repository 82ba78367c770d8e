"""Longitudinal models against R: lme4 (sleepstudy), plm (Grunfeld) and geepack (sleepstudy).

Every reference value was printed by ``tests/data/sleepstudy_references.R`` (R, Debian r-cran-lme4 / plm /
geepack); the R call is quoted in each test's docstring. Data: tests/data/sleepstudy.README.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.longitudinal import fit_lmm

DATA = Path(__file__).resolve().parents[1] / "data"
CTX = RunContext(analysis="ref", cohort="ref", seed=1)


@pytest.fixture(scope="module")
def sleepstudy() -> pd.DataFrame:
    return pd.read_csv(DATA / "sleepstudy.csv")


@pytest.fixture(scope="module")
def grunfeld() -> pd.DataFrame:
    return pd.read_csv(DATA / "grunfeld.csv")


def _lmm(ss: pd.DataFrame, reml: bool, slope: bool = True):
    X = np.column_stack([np.ones(len(ss)), ss["Days"]])
    return fit_lmm(
        ss["Reaction"].to_numpy(), X, X if slope else X[:, :1], ss["Subject"].to_numpy(), reml=reml
    )


def test_sleepstudy_random_slope_reml(sleepstudy: pd.DataFrame) -> None:
    """``summary(lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE))``:
    fixed effects 251.405105 (SE 6.824597), 10.467286 (SE 1.545790); VarCorr: var(Intercept) 612.100158,
    var(Days) 35.071714, cov 9.604409, residual 654.940008; logLik -871.814136. Tolerance 1e-4 relative."""
    f = _lmm(sleepstudy, reml=True)
    assert f.converged
    np.testing.assert_allclose(f.params, [251.405105, 10.467286], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(f.cov_params)), [6.824597, 1.545790], rtol=1e-4)
    np.testing.assert_allclose(f.scale, 654.940008, rtol=1e-4)
    np.testing.assert_allclose(
        [f.cov_re[0, 0], f.cov_re[1, 1], f.cov_re[0, 1]], [612.100158, 35.071714, 9.604409], rtol=1e-4
    )
    np.testing.assert_allclose(f.llf, -871.814136, rtol=1e-8)


def test_sleepstudy_random_slope_ml(sleepstudy: pd.DataFrame) -> None:
    """``lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)``: SEs 6.632123, 1.502230;
    residual 654.945706; var(Intercept) 565.476966, var(Days) 32.681785; logLik -875.9696722."""
    f = _lmm(sleepstudy, reml=False)
    np.testing.assert_allclose(f.params, [251.405105, 10.467286], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(f.cov_params)), [6.632123, 1.502230], rtol=1e-4)
    np.testing.assert_allclose(f.scale, 654.945706, rtol=1e-4)
    np.testing.assert_allclose([f.cov_re[0, 0], f.cov_re[1, 1]], [565.476966, 32.681785], rtol=1e-3)
    np.testing.assert_allclose(f.llf, -875.9696722, rtol=1e-8)


def test_sleepstudy_random_intercept(sleepstudy: pd.DataFrame) -> None:
    """``lmer(Reaction ~ Days + (1 | Subject), sleepstudy)``: SEs 9.7467163, 0.8042214; var(Intercept)
    1378.1785138, residual 960.4565786; logLik -893.2325427."""
    f = _lmm(sleepstudy, reml=True, slope=False)
    np.testing.assert_allclose(np.sqrt(np.diag(f.cov_params)), [9.7467163, 0.8042214], rtol=1e-5)
    np.testing.assert_allclose([f.cov_re[0, 0], f.scale], [1378.1785138, 960.4565786], rtol=1e-5)
    np.testing.assert_allclose(f.llf, -893.2325427, rtol=1e-9)


def test_mixed_model_analysis_engines_agree() -> None:
    """The analysis type gives the same fixed effects with the profiled engine and statsmodels MixedLM."""
    from musclecog.simulate.cohort7y import simulate_cohort7y

    data = simulate_cohort7y(seed=3, n=300).data
    spec = {"outcome": "cognition", "exposure": "low_muscle_mass", "covariates": ["age"]}
    a = run_analysis(data, {"type": "mixed_model", **spec}, CTX).to_tidy().set_index("term")
    b = (
        run_analysis(data, {"type": "mixed_model", **spec, "engine": "statsmodels"}, CTX)
        .to_tidy()
        .set_index("term")
    )
    fixed = a.index[a["scale"] == "beta"]
    np.testing.assert_allclose(a.loc[fixed, "estimate"], b.loc[fixed, "estimate"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.loc[fixed, "std_error"], b.loc[fixed, "std_error"], rtol=1e-3)
    np.testing.assert_allclose(
        a.loc["logLik (REML)", "estimate"], b.loc["logLik (REML)", "estimate"], rtol=1e-7
    )


def _panel(gr: pd.DataFrame, **kw):
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
    return run_analysis(gr, {"type": "panel_model", **spec}, CTX).to_tidy().set_index("term")


def test_grunfeld_within(grunfeld: pd.DataFrame) -> None:
    """``plm(inv ~ value + capital, data = Grunfeld, model = "within")``: value 0.1101238041
    (SE 0.01185669421), capital 0.3100653413 (SE 0.01735450278); clustered ``vcovHC(fe, method = "arellano",
    type = "HC1", cluster = "group")``: SEs 0.014414397, 0.050043455. Estimates to 1e-6."""
    t = _panel(grunfeld, cov_type="unadjusted")
    np.testing.assert_allclose(
        t.loc[["value", "capital"], "estimate"], [0.1101238041, 0.3100653413], rtol=1e-6
    )
    np.testing.assert_allclose(
        t.loc[["value", "capital"], "std_error"], [0.01185669421, 0.01735450278], rtol=1e-6
    )
    c = _panel(grunfeld)
    np.testing.assert_allclose(
        c.loc[["value", "capital"], "std_error"], [0.014414397, 0.050043455], rtol=1e-6
    )
    assert (c["n"] == 10).all()


def test_grunfeld_random_and_first_difference(grunfeld: pd.DataFrame) -> None:
    """``plm(inv ~ value + capital, model = "random")`` (Swamy-Arora): -57.8344149050, 0.1097811522,
    0.3081129828, var(individual) 7089.80010, var(idiosyncratic) 2784.45823;
    ``plm(inv ~ value + capital - 1, model = "fd")``: 0.08906282882, 0.27869401674."""
    r = _panel(grunfeld, model="random", cov_type="unadjusted")
    np.testing.assert_allclose(
        r.loc[["Intercept", "value", "capital"], "estimate"],
        [-57.8344149050, 0.1097811522, 0.3081129828],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        r.loc[["var(Effects)", "var(Residual)"], "estimate"], [7089.80010, 2784.45823], rtol=1e-6
    )
    fd = _panel(grunfeld, model="first_difference", intercept=False, cov_type="unadjusted")
    np.testing.assert_allclose(
        fd.loc[["value", "capital"], "estimate"], [0.08906282882, 0.27869401674], rtol=1e-6
    )


def _gee(ss: pd.DataFrame, corr: str):
    spec = {
        "outcome": "Reaction",
        "exposure": "Days",
        "id": "Subject",
        "wave": "Days",
        "time": "Days",
        "time_terms": False,
        "exposure_timing": "time_varying",
        "working_correlation": corr,
    }
    return run_analysis(ss, {"type": "gee", **spec}, CTX).to_tidy().set_index("term")


def test_gee_exchangeable_matches_geepack(sleepstudy: pd.DataFrame) -> None:
    """``geeglm(Reaction ~ Days, id = Subject, data = sleepstudy, family = gaussian,
    corstr = "exchangeable")``: 251.40510485 (robust SE 6.632276807), 10.46728596 (1.502236782);
    alpha 0.5760288107."""
    t = _gee(sleepstudy, "exchangeable")
    np.testing.assert_allclose(
        t.loc[["Intercept", "Days"], "estimate"], [251.40510485, 10.46728596], rtol=1e-7
    )
    np.testing.assert_allclose(
        t.loc[["Intercept", "Days"], "std_error"], [6.632276807, 1.502236782], rtol=1e-5
    )
    np.testing.assert_allclose(t.loc["working_correlation", "estimate"], 0.5760288107, rtol=1e-6)


def test_gee_ar1_matches_geepack(sleepstudy: pd.DataFrame) -> None:
    """``geeglm(Reaction ~ Days, id = Subject, data = sleepstudy, family = gaussian, corstr = "ar1")``:
    254.23044003 (robust SE 6.485359061), 10.46668523 (1.448016985); alpha 0.8535763576."""
    t = _gee(sleepstudy, "ar1")
    np.testing.assert_allclose(
        t.loc[["Intercept", "Days"], "estimate"], [254.23044003, 10.46668523], rtol=1e-6
    )
    np.testing.assert_allclose(
        t.loc[["Intercept", "Days"], "std_error"], [6.485359061, 1.448016985], rtol=1e-5
    )
    np.testing.assert_allclose(t.loc["working_correlation", "estimate"], 0.8535763576, rtol=1e-6)


# sqrt(diag(vcovHC(m, method = "arellano", type = <type>, cluster = "group"))) for value, capital, printed by
# tests/data/grunfeld_plm_vcov.R (Debian r-cran-plm 2.6.2).
PLM_CLUSTERED = {
    ("within", False): {
        "HC0": [0.0143421437124, 0.0497926087238],
        "HC1": [0.0144143967828, 0.0500434546878],
        "sss": [0.0151560754389, 0.0526183915915],
    },
    ("within", True): {
        "HC0": [0.00971202368684, 0.04293110893997],
        "HC1": [0.00976095106796, 0.04314738793569],
        "sss": [0.0102631912366, 0.0453674944848],
    },
    ("first_difference", False): {
        "HC0": [0.0137278233746, 0.1309537601852],
        "HC1": [0.0134476342358, 0.1282809532668],
        "sss": [0.0145088304489, 0.1384040172519],
    },
}


@pytest.mark.parametrize("hc_type", ["HC0", "HC1", "sss"])
@pytest.mark.parametrize(("model", "time_effects"), list(PLM_CLUSTERED))
def test_grunfeld_clustered_types_match_plm(
    grunfeld: pd.DataFrame, model: str, time_effects: bool, hc_type: str
) -> None:
    """``vcovHC(m, method = "arellano", type = hc_type, cluster = "group")`` for
    ``plm(inv ~ value + capital, model = "within")``, ``effect = "twoways"`` (coefficients 0.117715855083,
    0.357916273073; HC1 SE of value 0.00976095, where linearmodels, counting the wave effects, gives 0.01057)
    and ``plm(inv ~ value + capital - 1, model = "fd")`` (HC1 below HC0: plm divides by the rows before
    differencing). SEs to 1e-5 relative."""
    kw = {"model": model, "hc_type": hc_type, **({"time_effects": True} if time_effects else {})}
    if model == "first_difference":
        kw["intercept"] = False
    t = _panel(grunfeld, **kw)
    np.testing.assert_allclose(
        t.loc[["value", "capital"], "std_error"], PLM_CLUSTERED[(model, time_effects)][hc_type], rtol=1e-5
    )
    if time_effects:
        np.testing.assert_allclose(
            t.loc[["value", "capital"], "estimate"], [0.117715855083, 0.357916273073], rtol=1e-6
        )


def test_hc_type_only_with_clustered_within_or_fd(grunfeld: pd.DataFrame) -> None:
    """hc_type on a random-effects model is a ConfigError that names the key and the fix."""
    with pytest.raises(ConfigError, match="hc_type: HC0 applies to cov_type: clustered"):
        _panel(grunfeld, model="random", hc_type="HC0")
