"""Mediation estimates against lavaan (ML) and R glm, and the vectorised bootstrap against a naive loop.

Data: ``tests/data/mediation_reference.csv`` (300 rows, written by
``tests/data/make_mediation_reference.py``).
Reference values were computed once with R 4 / lavaan 0.6-14 (Debian r-cran-lavaan)::

    library(lavaan)
    d <- read.csv("tests/data/mediation_reference.csv")
    simple <- 'm1 ~ a*x + cov1 + cov2
               y ~ b*m1 + cp*x + cov1 + cov2
               ab := a*b
               total := cp + a*b'
    serial <- 'm1 ~ a1*x + cov1 + cov2
               m2 ~ a2*x + d21*m1 + cov1 + cov2
               y ~ b1*m1 + b2*m2 + cp*x + cov1 + cov2
               ind1 := a1*b1
               ind2 := a2*b2
               ind3 := a1*d21*b2
               total_ind := a1*b1 + a2*b2 + a1*d21*b2
               total := cp + a1*b1 + a2*b2 + a1*d21*b2'
    pe <- parameterEstimates(sem(simple, data = d, estimator = "ML"))      # and serial
    cat(sprintf('"%s": %.15g,', pe$label, pe$est))
    set.seed(1); f1b <- sem(simple, data = d, estimator = "ML", se = "bootstrap", bootstrap = 5000)
    parameterEstimates(f1b, boot.ci.type = "perc")                          # ab: se 0.019, CI -0.099, -0.023
    set.seed(2); f2b <- sem(serial, data = d, estimator = "ML", se = "bootstrap", bootstrap = 5000)
    parameterEstimates(f2b, boot.ci.type = "perc")
    coef(glm(ybin ~ x + m1 + cov1 + cov2, family = binomial, data = d))
    coef(glm(ybin ~ x + cov1 + cov2, family = binomial, data = d))
    over <- 'm1 ~ x + cov1 + cov2
             m2 ~ m1 + cov1 + cov2
             y ~ m1 + m2 + cov1 + cov2'                                      # and the same without covariates
    fitMeasures(sem(over, data = d, estimator = "ML"), c("chisq", "df", "pvalue", "rmsea", "cfi", "tli"))
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from musclecog.analyses import run_analysis
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.mediation import Equation, bootstrap, model_frame

DATA = Path(__file__).resolve().parents[1] / "data" / "mediation_reference.csv"

LAVAAN_SIMPLE = {"a": -0.741867823799988, "b": 0.0771255069562688, "cp": -0.231351580533711,
                 "ab": -0.0572169320051179, "total": -0.288568512538829}
LAVAAN_SERIAL = {"a1": -0.741867823799988, "a2": -0.0111870652657412, "d21": 0.00982804425294042,
                 "b1": 0.0347302812969024, "b2": 4.31369910108843, "cp": -0.183093947153066,
                 "ind1": -0.0257652782056944, "ind2": -0.0482576333806452, "ind3": -0.0314516537994235,
                 "total_ind": -0.105474565385763, "total": -0.288568512538829}
# lavaan se = "bootstrap", 5000 resamples, percentile CIs (printed to 3 decimals): (se, low, high)
LAVAAN_BOOT_SIMPLE = {"indirect": (0.019, -0.099, -0.023)}
LAVAAN_BOOT_SERIAL = {"indirect[m1]": (0.018, -0.063, 0.007), "indirect[m2]": (0.016, -0.082, -0.021),
                      "indirect[m1->m2]": (0.010, -0.053, -0.016), "indirect_total": (0.023, -0.153, -0.064)}
# fitMeasures of the over-identified model (x -> m1 -> m2 -> y, no x -> m2, x -> y), with / without covariates
LAVAAN_FIT = {
    True: {"chisq": 35.0462599369, "df": 2, "pvalue": 2.45358636741e-08, "rmsea": 0.234685107953,
           "cfi": 0.893540418083, "tli": 0.361242508499},
    False: {"chisq": 39.2558827137, "df": 2, "pvalue": 2.99015279204e-09, "rmsea": 0.24918494709,
            "cfi": 0.857623690121, "tli": 0.572871070362},
}
GLM_OUTCOME = {"x": -0.1652362386935877, "m1": 0.1041865880837224}
GLM_TOTAL = {"x": -0.2327684946999556}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _by_term(result: AnalysisResult) -> pd.DataFrame:
    return result.to_tidy().set_index("term")


@pytest.fixture(scope="module")
def simple(data: pd.DataFrame) -> pd.DataFrame:
    spec = {"exposure": "x", "mediator": "m1", "outcome": "y", "covariates": ["cov1", "cov2"]}
    return _by_term(run_analysis(data, {"type": "simple_mediation", **spec}, RunContext("ref", "ref", 7)))


@pytest.fixture(scope="module")
def serial(data: pd.DataFrame) -> pd.DataFrame:
    spec = {"exposure": "x", "mediators": ["m1", "m2"], "outcome": "y", "covariates": ["cov1", "cov2"]}
    return _by_term(run_analysis(data, {"type": "serial_mediation", **spec}, RunContext("ref", "ref", 8)))


def test_simple_equals_lavaan(simple: pd.DataFrame) -> None:
    est = simple["estimate"]
    for ours, theirs in [("a", "a"), ("b", "b"), ("c_prime", "cp"), ("indirect", "ab"), ("c", "total")]:
        assert est[ours] == pytest.approx(LAVAAN_SIMPLE[theirs], rel=1e-6), ours


def test_serial_equals_lavaan(serial: pd.DataFrame) -> None:
    est = serial["estimate"]
    pairs = [("a[m1]", "a1"), ("a[m2]", "a2"), ("d[m1->m2]", "d21"), ("b[m1]", "b1"), ("b[m2]", "b2"),
             ("c_prime", "cp"), ("indirect[m1]", "ind1"), ("indirect[m2]", "ind2"),
             ("indirect[m1->m2]", "ind3"),
             ("indirect_total", "total_ind"), ("c", "total")]
    for ours, theirs in pairs:
        assert est[ours] == pytest.approx(LAVAAN_SERIAL[theirs], rel=1e-6), ours


def test_path_model_equals_lavaan(data: pd.DataFrame) -> None:
    """The serial model declared as a path model gives the same coefficients and effects."""
    spec = {"equations": {"m1": ["x"], "m2": ["x", "m1"], "y": ["m1", "m2", "x"]},
            "covariates": ["cov1", "cov2"],
            "exposures": ["x"], "bootstrap": 200}
    tidy = run_analysis(data, {"type": "path_model", **spec}, RunContext("ref", "ref", 9)).to_tidy()
    y = tidy[(tidy["outcome"] == "y") & (tidy["exposure"] == "x")].set_index("term")["estimate"]
    assert y["direct"] == pytest.approx(LAVAAN_SERIAL["cp"], rel=1e-6)
    assert y["indirect"] == pytest.approx(LAVAAN_SERIAL["total_ind"], rel=1e-6)
    assert y["total"] == pytest.approx(LAVAAN_SERIAL["total"], rel=1e-6)
    assert y["indirect[m1->m2]"] == pytest.approx(LAVAAN_SERIAL["ind3"], rel=1e-6)


@pytest.mark.parametrize("with_covariates", [True, False])
def test_path_model_fit_indices_equal_lavaan(data: pd.DataFrame, with_covariates: bool) -> None:
    spec = {"equations": {"m1": ["x"], "m2": ["m1"], "y": ["m1", "m2"]}, "bootstrap": 0,
            "covariates": ["cov1", "cov2"] if with_covariates else []}
    tidy = run_analysis(data, {"type": "path_model", **spec}, RunContext("ref", "ref", 9)).to_tidy()
    tidy = tidy.set_index("term")
    ref = LAVAAN_FIT[with_covariates]
    assert tidy.loc["chi_squared", "estimate"] == pytest.approx(ref["chisq"], rel=1e-8)
    assert tidy.loc["chi_squared", "df"] == ref["df"]
    assert tidy.loc["chi_squared", "p_value"] == pytest.approx(ref["pvalue"], rel=1e-6)
    for key in ("rmsea", "cfi", "tli"):
        assert tidy.loc[key, "estimate"] == pytest.approx(ref[key], rel=1e-8), key


def test_bootstrap_within_monte_carlo_error_of_lavaan(simple: pd.DataFrame, serial: pd.DataFrame) -> None:
    """Two independent 5,000-resample bootstraps: a CI limit's Monte Carlo SD is about 0.05 bootstrap SE each
    (quantile SD sqrt(p(1-p)/B)/phi(z)), 0.07 SE for the difference; the tolerance is 0.3 SE plus lavaan's
    3-decimal rounding (0.0005)."""
    for table, ref in [(simple, LAVAAN_BOOT_SIMPLE), (serial, LAVAAN_BOOT_SERIAL)]:
        for term, (se, lo, hi) in ref.items():
            row = table.loc[term]
            tol = 0.3 * se + 0.0005
            assert row["std_error"] == pytest.approx(se, abs=0.15 * se + 0.0005), term
            assert row["conf_low"] == pytest.approx(lo, abs=tol), term
            assert row["conf_high"] == pytest.approx(hi, abs=tol), term
            assert row["n_boot"] == 5000 and row["n_boot_failed"] == 0


def test_binary_outcome_equals_glm(data: pd.DataFrame) -> None:
    spec = {"exposure": "x", "mediator": "m1", "outcome": "ybin", "covariates": ["cov1", "cov2"],
            "outcome_type": "binary", "bootstrap": 300, "imai_simulations": 200}
    tidy = _by_term(run_analysis(data, {"type": "simple_mediation", **spec}, RunContext("ref", "ref", 10)))
    assert tidy.loc["b", "scale"] == "odds_ratio"
    assert np.log(tidy.loc["b", "estimate"]) == pytest.approx(GLM_OUTCOME["m1"], rel=1e-6)
    assert np.log(tidy.loc["c_prime", "estimate"]) == pytest.approx(GLM_OUTCOME["x"], rel=1e-6)
    assert np.log(tidy.loc["c", "estimate"]) == pytest.approx(GLM_TOTAL["x"], rel=1e-6)
    assert tidy.loc["indirect", "estimate"] == pytest.approx(LAVAAN_SIMPLE["a"] * GLM_OUTCOME["m1"], rel=1e-6)
    assert {"acme", "ade", "proportion_mediated_imai"} <= set(tidy.index)
    assert tidy.loc["acme", "conf_low"] < tidy.loc["acme", "estimate"] < tidy.loc["acme", "conf_high"]


def _replay(indices: np.ndarray) -> Callable[[np.random.Generator, int, int], np.ndarray]:
    def counts(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
        out = np.stack([np.bincount(ix, minlength=n) for ix in indices[:r]]).astype(float)
        return out

    return counts


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_vectorised_bootstrap_equals_statsmodels_loop(data: pd.DataFrame, family: str) -> None:
    """The batched normal equations / batched Newton steps reproduce statsmodels OLS / Logit refits of the
    same resamples to 1e-8."""
    r = 40
    indices = np.random.default_rng(5).integers(0, len(data), size=(r, len(data)))
    outcome = "y" if family == "gaussian" else "ybin"
    frame = model_frame(data, ["x", "m1", outcome], ["cov1", "cov2"], "test")
    eqs = [Equation("m1", ("x",)), Equation(outcome, ("x", "m1"), family)]
    draws = bootstrap(frame, eqs, r, 0, "test", counts_fn=_replay(indices))
    for i, ix in enumerate(indices):
        d = data.iloc[ix]
        fit_m = sm.OLS(d["m1"], sm.add_constant(d[["x", "cov1", "cov2"]])).fit()
        exog = sm.add_constant(d[["x", "m1", "cov1", "cov2"]])
        fit_y = (sm.OLS(d[outcome], exog) if family == "gaussian" else sm.Logit(d[outcome], exog)).fit(
            **({} if family == "gaussian" else {"disp": 0, "tol": 1e-12})
        )
        assert draws.coefs[("m1", "x")][i] == pytest.approx(fit_m.params["x"], rel=1e-8)
        assert draws.coefs[(outcome, "m1")][i] == pytest.approx(fit_y.params["m1"], rel=1e-7)
        assert draws.coefs[(outcome, "x")][i] == pytest.approx(fit_y.params["x"], rel=1e-7)
