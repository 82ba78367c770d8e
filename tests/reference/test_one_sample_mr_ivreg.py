"""one_sample_mr against AER::ivreg on CigarettesSW: every coefficient, sigma, iid / HC0 / HC1 standard errors and
the diagnostics of ``summary(fit, diagnostics = TRUE)``.

AER's documentation example (``?ivreg``), the 1995 cigarette demand model::

    ivreg(log(packs) ~ log(rprice) + log(rincome) | log(rincome) + tdiff + I(tax/cpi),
          data = CigarettesSW, subset = year == "1995")

with ``rprice = price/cpi``, ``rincome = income/population/cpi``, ``tdiff = (taxs - tax)/cpi``, here ``rtax =
tax/cpi`` and the logs written to tests/data/cigarettes_sw.csv (``log_packs``, ``log_rprice``, ``log_rincome``). Every
number below was printed by ``tests/data/cigarettes_ivreg.R`` (R 4.2, Debian r-cran-aer 1.2-10, sandwich) from the
CSV; the R call is quoted in each test. Estimates to 1e-6, SEs, tests and p-values to 1e-5 (relative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext

DATA = Path(__file__).resolve().parents[1] / "data"
CTX = RunContext(analysis="ref", cohort="ref", seed=1)
TERMS = ["(Intercept)", "log_rprice", "log_rincome"]

# fm <- ivreg(log_packs ~ log_rprice + log_rincome | log_rincome + tdiff + rtax, data = d, subset = year == 1995)
IV_EST = [9.894955541155, -1.277424133427, 0.280404825083]
# ols <- lm(log_packs ~ log_rprice + log_rincome, data = d, subset = year == 1995)
OLS_EST = [10.342028844526, -1.406500351618, 0.343850072374]


@pytest.fixture(scope="module")
def cig95() -> pd.DataFrame:
    d = pd.read_csv(DATA / "cigarettes_sw.csv")
    return d[d["year"] == 1995].reset_index(drop=True)


def _tidy(data: pd.DataFrame, **kw: object) -> pd.DataFrame:
    spec = {"type": "one_sample_mr", "exposure": "log_rprice", "outcome": "log_packs",
            "instruments": ["tdiff", "rtax"], "covariates": ["log_rincome"], "coefficients": "all", **kw}
    return run_analysis(data, spec, CTX).to_tidy().set_index(["method", "term"])


def _coefs(t: pd.DataFrame, method: str, est: list[float], se: list[float], p: list[float]) -> None:
    rows = t.loc[method].loc[TERMS]
    np.testing.assert_allclose(rows["estimate"], est, rtol=1e-6)
    np.testing.assert_allclose(rows["std_error"], se, rtol=1e-5)
    np.testing.assert_allclose(rows["p_value"], p, rtol=1e-5)
    assert (rows["df"] == 45).all()


def _diagnostics(t: pd.DataFrame, weak: tuple[float, float], wu: tuple[float, float]) -> None:
    f = t.loc[("2SLS first stage", "first_stage_F")]
    assert f[["estimate", "p_value"]].to_numpy(float) == pytest.approx(weak, rel=1e-5)
    assert f["note"].startswith("F(2, 44)")
    h = t.loc[("Wu-Hausman", "log_rprice")]
    assert h[["estimate", "p_value"]].to_numpy(float) == pytest.approx(wu, rel=1e-5)
    assert h["note"].startswith("F(1, 44)")
    # Sargan: n R^2 of the 2SLS residuals, the same under every vcov.
    s = t.loc[("Sargan", "overidentification")]
    assert s[["estimate", "p_value"]].to_numpy(float) == pytest.approx([0.332622141937, 0.564119140018], rel=1e-5)
    assert s["df"] == 1


def test_iid_matches_summary_ivreg_diagnostics(cig95: pd.DataFrame) -> None:
    """``s <- summary(fm, diagnostics = TRUE)``: s$coefficients (estimates above; SE 1.058559947630,
    0.263198590280, 0.238565436908; p 4.12091018700e-12, 1.49603445981e-05, 2.46024677980e-01 on 45 df);
    s$sigma 0.187856001239; s$diagnostics: weak instruments F(2, 44) = 244.733753555920 (p 1.44405420154e-24),
    Wu-Hausman F(1, 44) = 3.067816272943 (p 8.68250462413e-02), Sargan chi2(1) = 0.332622141937
    (p 5.64119140018e-01). ``summary(ols)``: SE 1.022680819918, 0.251375485367, 0.234967119008; p 3.65681768847e-13,
    1.24053674539e-06, 1.50309407744e-01; sigma 0.187308070272.
    """
    t = _tidy(cig95)
    _coefs(t, "2SLS", IV_EST, [1.058559947630, 0.263198590280, 0.238565436908],
           [4.12091018700e-12, 1.49603445981e-05, 2.46024677980e-01])
    _coefs(t, "OLS (observational)", OLS_EST, [1.022680819918, 0.251375485367, 0.234967119008],
           [3.65681768847e-13, 1.24053674539e-06, 1.50309407744e-01])
    assert t.loc[("2SLS", "sigma"), "estimate"] == pytest.approx(0.187856001239, rel=1e-6)
    assert t.loc[("OLS (observational)", "sigma"), "estimate"] == pytest.approx(0.187308070272, rel=1e-6)
    assert t.loc[("2SLS", "sigma"), "scale"] == "sd"
    _diagnostics(t, (244.733753555920, 1.44405420154e-24), (3.067816272943, 8.68250462413e-02))
    # the default key is R's summary: unadjusted
    pd.testing.assert_frame_equal(_tidy(cig95, cov_type="unadjusted"), t)


def test_hc0_matches_vcovhc(cig95: pd.DataFrame) -> None:
    """``summary(fm, vcov. = function(o) vcovHC(o, type = "HC0"), diagnostics = TRUE)``: SE 0.928757811285,
    0.241683843647, 0.245827599866; p 6.88702547815e-14, 3.53569892423e-06, 2.60047380922e-01; weak instruments
    F(2, 44) = 228.737748432638 (p 5.62943878742e-24), Wu-Hausman F(1, 44) = 3.823467180042 (p 5.69091690239e-02).
    ``coeftest(ols, vcov = vcovHC(ols, type = "HC0"))``: SE 0.935766124916, 0.252635707671, 0.252095086364; p
    2.06703713113e-14, 1.36381101959e-06, 1.79360936131e-01.
    """
    t = _tidy(cig95, cov_type="HC0")
    _coefs(t, "2SLS", IV_EST, [0.928757811285, 0.241683843647, 0.245827599866],
           [6.88702547815e-14, 3.53569892423e-06, 2.60047380922e-01])
    _coefs(t, "OLS (observational)", OLS_EST, [0.935766124916, 0.252635707671, 0.252095086364],
           [2.06703713113e-14, 1.36381101959e-06, 1.79360936131e-01])
    _diagnostics(t, (228.737748432638, 5.62943878742e-24), (3.823467180042, 5.69091690239e-02))
    assert "HC0 Wald" in t.loc[("2SLS first stage", "first_stage_F"), "note"]


def test_hc1_and_robust_match_vcovhc(cig95: pd.DataFrame) -> None:
    """``summary(fm, vcov. = function(o) vcovHC(o, type = "HC1"), diagnostics = TRUE)``: SE 0.959216942871,
    0.249610000398, 0.253889653419; p 1.94670191623e-13, 6.21071808297e-06, 2.75274752700e-01; weak instruments
    F(2, 44) = 209.676269396587 (p 3.20556693652e-23), Wu-Hausman F(1, 44) = 3.504844914854 (p 6.78453588169e-02).
    ``coeftest(ols, vcov = vcovHC(ols, type = "HC1"))``: SE 0.966455098066, 0.260921036925, 0.260362685639; p
    5.96772215157e-14, 2.48140269199e-06, 1.93292787357e-01. ``robust`` is HC1.
    """
    t = _tidy(cig95, cov_type="HC1")
    _coefs(t, "2SLS", IV_EST, [0.959216942871, 0.249610000398, 0.253889653419],
           [1.94670191623e-13, 6.21071808297e-06, 2.75274752700e-01])
    _coefs(t, "OLS (observational)", OLS_EST, [0.966455098066, 0.260921036925, 0.260362685639],
           [5.96772215157e-14, 2.48140269199e-06, 1.93292787357e-01])
    _diagnostics(t, (209.676269396587, 3.20556693652e-23), (3.504844914854, 6.78453588169e-02))
    robust = _tidy(cig95, cov_type="robust")
    cols = ["estimate", "std_error", "p_value", "conf_low", "conf_high"]
    pd.testing.assert_frame_equal(robust[cols], t[cols])


def test_just_identified_and_default_rows(cig95: pd.DataFrame) -> None:
    """``fj <- ivreg(log_packs ~ log_rprice + log_rincome | log_rincome + tdiff, subset = year == 1995)``;
    ``summary(fj, diagnostics = TRUE)``: estimates 9.430658282520, -1.143375122205, 0.214515284893; SE 1.358366171116,
    0.359486068124, 0.268584826693; p 1.23947731549e-08, 2.66170911569e-03, 4.28667073322e-01; sigma 0.18957466234;
    weak instruments F(1, 45) = 45.15776860463 (p 2.65450820711e-08); Wu-Hausman F(1, 44) = 1.10200205936
    (p 2.99559036751e-01); no Sargan (0 df).
    """
    t = _tidy(cig95, instruments=["tdiff"])
    rows = t.loc["2SLS"].loc[TERMS]
    np.testing.assert_allclose(rows["estimate"], [9.430658282520, -1.143375122205, 0.214515284893], rtol=1e-6)
    np.testing.assert_allclose(rows["std_error"], [1.358366171116, 0.359486068124, 0.268584826693], rtol=1e-5)
    np.testing.assert_allclose(rows["p_value"], [1.23947731549e-08, 2.66170911569e-03, 4.28667073322e-01], rtol=1e-5)
    assert t.loc[("2SLS", "sigma"), "estimate"] == pytest.approx(0.18957466234, rel=1e-6)
    f = t.loc[("2SLS first stage", "first_stage_F")]
    assert f[["estimate", "p_value"]].to_numpy(float) == pytest.approx([45.15776860463, 2.65450820711e-08], rel=1e-5)
    assert f["note"] == "F(1, 45)"
    h = t.loc[("Wu-Hausman", "log_rprice")]
    assert h[["estimate", "p_value"]].to_numpy(float) == pytest.approx([1.10200205936, 2.99559036751e-01], rel=1e-5)
    assert "Sargan" not in t.index.get_level_values("method")
    # default coefficients: exposure rows only, no sigma, same numbers
    default = run_analysis(cig95, {"type": "one_sample_mr", "exposure": "log_rprice", "outcome": "log_packs",
                                   "instruments": ["tdiff"], "covariates": ["log_rincome"]}, CTX)
    td = default.to_tidy().set_index(["method", "term"])
    assert list(td.loc["2SLS"].index) == ["log_rprice"]
    assert list(td.loc["OLS (observational)"].index) == ["log_rprice"]
    assert td.loc[("2SLS", "log_rprice"), "estimate"] == t.loc[("2SLS", "log_rprice"), "estimate"]
    assert default.fits["2SLS"].diagnostics.statistics["sigma"] == pytest.approx(0.18957466234, rel=1e-6)
