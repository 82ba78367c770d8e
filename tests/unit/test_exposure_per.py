"""``exposure_per`` (``sd`` or a number) for every analysis type with a numeric exposure.

One owner (:func:`musclecog.core.design.per_unit_scale`); each type divides the exposure by it before fitting,
so every exposure term (interactions with time included) is exactly the per-unit estimate times the divisor,
and so is its standard error (identity to 1e-10). Other terms do not move. A categorical exposure with
``exposure_per`` is a :class:`ConfigError`; without ``exposure_per`` tables have no ``exposure_unit`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.simulate.charls import simulate_charls

DATA = Path(__file__).resolve().parents[1] / "data"

CTX = RunContext(analysis="t", cohort="c", seed=1)


def _tidy(analysis_type: str, data: pd.DataFrame, entry: dict) -> pd.DataFrame:
    return run_analysis(data, {"type": analysis_type, **entry}, CTX).to_tidy()


SCALED_COLUMNS = ("estimate", "std_error", "conf_low", "conf_high", "bc_conf_low", "bc_conf_high",
                  "delta_std_error", "delta_conf_low", "delta_conf_high")
"""Columns multiplied by the divisor on an exposure row (where the table has them)."""


def _check_scaled(
    per_unit: pd.DataFrame,
    scaled: pd.DataFrame,
    factor: float,
    exposure_terms: Sequence[str],
    keys: Sequence[str] = ("stratum", "term"),
    log_scale: bool = False,
) -> None:
    """Exposure terms: estimate, SE and CI limits times ``factor`` (the log of a ratio and its limits); other
    coefficient rows unchanged; test statistics and p-values unchanged. Rows without a standard error are
    left out (a REML log-likelihood moves with the scale of X, as in R)."""
    a = per_unit.dropna(subset=["std_error"]).set_index(list(keys))
    b = scaled.dropna(subset=["std_error"]).set_index(list(keys))
    assert list(a.index) == list(b.index)
    is_exp = np.array([idx[-1] in exposure_terms for idx in a.index])
    assert is_exp.any()
    for col in (c for c in SCALED_COLUMNS if c in a.columns):
        va, vb = a[col].to_numpy(float), b[col].to_numpy(float)
        if log_scale and col != "std_error":
            ratio = (a["scale"] == "hazard_ratio").to_numpy()
            va, vb = np.where(ratio, np.log(va), va), np.where(ratio, np.log(vb), vb)
        want = np.where(is_exp, va * factor, va)
        # estimates and SEs to 1e-10; CI limits to 1e-8 (a mixed model's Satterthwaite df come from numerical
        # derivatives of the variance parameters, which move in the 10th digit)
        rtol = 1e-10 if col in ("estimate", "std_error", "delta_std_error") else 1e-8
        np.testing.assert_allclose(vb, want, rtol=rtol, atol=1e-12, equal_nan=True, err_msg=col)
    for col in ("statistic", "p_value"):
        np.testing.assert_allclose(
            b[col].to_numpy(float), a[col].to_numpy(float), rtol=1e-8, atol=1e-14, equal_nan=True, err_msg=col
        )


# ------------------------------------------------------------------------------------------ longitudinal
@pytest.fixture(scope="module")
def ch() -> pd.DataFrame:
    data = simulate_charls(seed=2, n=300).data
    assert not data[["grip_kg", "cognition", "age", "time_years"]].isna().any().any()
    return data


def _baseline_sd(data: pd.DataFrame, column: str = "grip_kg") -> float:
    """The SD across people of the value at their first visit (the rule for long tables)."""
    return float(data.sort_values(["id", "wave"]).groupby("id")[column].first().std(ddof=1))


LONG = {
    "mixed_model": {"random": "slope"},
    "gee": {"working_correlation": "exchangeable"},
    "panel_model": {"model": "within", "exposure_timing": "time_varying"},
    "lagged_regression": {"outcome_wave": 2, "adjust_baseline_outcome": True},
}


@pytest.mark.parametrize("analysis_type", sorted(LONG))
def test_longitudinal_per_sd_and_per_number(ch: pd.DataFrame, analysis_type: str) -> None:
    entry = {"outcome": "cognition", "exposure": "grip_kg", "covariates": ["age"], **LONG[analysis_type]}
    unit = _tidy(analysis_type, ch, entry)
    assert "exposure_unit" not in unit.columns  # default: per 1 unit, tables as before
    rows = ch
    if analysis_type == "lagged_regression":  # its analysis rows: people seen at baseline and at wave 2
        rows = ch[ch["id"].isin(ch.loc[ch["wave"] == 2, "id"])]
    sd = _baseline_sd(rows)
    per_sd = _tidy(analysis_type, ch, {**entry, "exposure_per": "sd"})
    terms = ("grip_kg", "grip_kg:time_years")
    _check_scaled(unit, per_sd, sd, terms)
    coef = per_sd[per_sd["term"] == "grip_kg"]
    assert (coef["exposure_unit"] == f"per SD ({sd:.4g})").all()
    assert per_sd.loc[per_sd["scale"] == "count", "exposure_unit"].isna().all()  # flow rows carry no unit
    per5 = _tidy(analysis_type, ch, {**entry, "exposure_per": 5})
    _check_scaled(unit, per5, 5.0, terms)
    assert (per5.loc[per5["term"] == "grip_kg", "exposure_unit"] == "per 5 units").all()


def test_longitudinal_strata_share_one_sd(ch: pd.DataFrame) -> None:
    entry = {"outcome": "cognition", "exposure": "grip_kg", "stratify_by": "sex", "random": "intercept"}
    unit = _tidy("mixed_model", ch, entry)
    per_sd = _tidy("mixed_model", ch, {**entry, "exposure_per": "sd"})
    _check_scaled(unit, per_sd, _baseline_sd(ch), ("grip_kg", "grip_kg:time_years"))


@pytest.mark.parametrize("analysis_type", sorted(LONG))
def test_longitudinal_categorical_exposure_is_a_config_error(ch: pd.DataFrame, analysis_type: str) -> None:
    entry = {"outcome": "cognition", "exposure": "grip_group", "exposure_reference": 1, **LONG[analysis_type]}
    with pytest.raises(ConfigError, match="'grip_group' is listed as categorical.*Remove 'exposure_per'"):
        _tidy(analysis_type, ch, {**entry, "exposure_per": "sd"})


def test_mixed_model_of_time_alone_refuses_exposure_per(ch: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="exposure_per is given"):
        _tidy("mixed_model", ch, {"outcome": "cognition", "exposure_per": "sd"})


# ------------------------------------------------------------------------------------------ survival
COX = {"event": "cognitive_impairment", "duration": "followup_years", "exposure": "grip_kg",
       "covariates": ["age"], "baseline_only": True}


def test_cox_per_sd_and_per_number(ch: pd.DataFrame) -> None:
    entry = {**COX, "stratify_by": "sex"}
    unit = _tidy("cox", ch, entry)
    assert "exposure_unit" not in unit.columns
    sd = _baseline_sd(ch)
    for per, factor, label in (("sd", sd, f"per SD ({sd:.4g})"), (5, 5.0, "per 5 units")):
        scaled = _tidy("cox", ch, {**entry, "exposure_per": per})
        _check_scaled(unit, scaled, factor, ("grip_kg",), log_scale=True)
        hr = scaled[scaled["scale"] == "hazard_ratio"]
        assert (hr["exposure_unit"] == label).all()
        ph = scaled[scaled["term"].str.startswith("ph_test:")].set_index(["stratum", "term"])
        ph0 = unit[unit["term"].str.startswith("ph_test:")].set_index(["stratum", "term"])
        np.testing.assert_allclose(ph["estimate"], ph0["estimate"], rtol=1e-8)  # the PH test does not move


def test_cox_categorical_exposure_is_a_config_error(ch: pd.DataFrame) -> None:
    entry = {**COX, "exposure": "grip_group", "exposure_reference": 1, "exposure_per": "sd"}
    with pytest.raises(ConfigError, match="'grip_group' is listed as categorical"):
        _tidy("cox", ch, entry)
    with pytest.raises(ConfigError, match="'education' is not numeric"):
        _tidy("cox", ch, {**COX, "exposure": "education", "exposure_per": 2})


# ------------------------------------------------------------------------------------------ mediation
MEDIATION = {
    "simple_mediation": {"mediator": "m1"},
    "parallel_mediation": {"mediators": ["m1", "m2"]},
    "serial_mediation": {"mediators": ["m1", "m2"]},
}
EXPOSURE_ROWS = ("a", "a[m1]", "a[m2]", "c_prime", "c", "indirect", "indirect[m1]", "indirect[m2]",
                 "indirect[m1->m2]", "indirect_total", "sobel")


@pytest.fixture(scope="module")
def med() -> pd.DataFrame:
    return pd.read_csv(DATA / "mediation_reference.csv")


@pytest.mark.parametrize("analysis_type", sorted(MEDIATION))
@pytest.mark.parametrize("se_type", ["ols", "ml"])
def test_mediation_per_sd_and_per_number(med: pd.DataFrame, analysis_type: str, se_type: str) -> None:
    entry = {"exposure": "x", "outcome": "y", "covariates": ["cov1", "cov2"], "bootstrap": 200,
             "delta_method": True, "se_type": se_type, **MEDIATION[analysis_type]}
    unit = _tidy(analysis_type, med, entry)
    assert "exposure_unit" not in unit.columns
    sd = float(med["x"].std(ddof=1))
    for per, factor, label in (("sd", sd, f"per SD ({sd:.4g})"), (5, 5.0, "per 5 units")):
        scaled = _tidy(analysis_type, med, {**entry, "exposure_per": per})
        # the bootstrap resamples the same rows (same seed) with the SD fixed: its CIs scale exactly too
        _check_scaled(unit, scaled, factor, EXPOSURE_ROWS, keys=("outcome", "term"))
        has = scaled.set_index("term")["exposure_unit"]
        assert (has.reindex([t for t in EXPOSURE_ROWS if t in has.index]) == label).all()
        assert has.reindex(["b", "b[m1]", "d[m1->m2]", "proportion_mediated"]).isna().all()


def test_mediation_binary_outcome_imai_contrast_is_in_exposure_units(med: pd.DataFrame) -> None:
    """The ACME/ADE contrast the same two exposure values (given in the exposure's units, or the default
    mean and mean + 1 SD) with or without exposure_per; the logistic paths from x scale on the log-odds scale."""
    entry = {"exposure": "x", "mediator": "m1", "outcome": "ybin", "outcome_type": "binary", "bootstrap": 0,
             "imai_simulations": 200, "covariates": ["cov1"]}
    for contrast in (None, [8.0, 10.0]):
        e = {**entry, **({"exposure_contrast": contrast} if contrast else {})}
        unit = _tidy("simple_mediation", med, e).set_index("term")
        scaled = _tidy("simple_mediation", med, {**e, "exposure_per": "sd"}).set_index("term")
        imai = unit["method"].str.startswith("Imai")
        np.testing.assert_allclose(scaled.loc[imai, "estimate"], unit.loc[imai, "estimate"], rtol=1e-9)
        sd = float(med["x"].std(ddof=1))
        np.testing.assert_allclose(np.log(float(scaled.loc["c_prime", "estimate"])),
                                   np.log(float(unit.loc["c_prime", "estimate"])) * sd, rtol=1e-10)


# ------------------------------------------------------------------------------------------ one-sample MR
def test_one_sample_mr_per_sd_and_per_number() -> None:
    rng = np.random.default_rng(3)
    n = 1500
    g = rng.binomial(2, 0.3, size=(n, 5)).astype(float)
    u = rng.normal(size=n)
    grip = 30 + g @ np.full(5, 1.5) + 3 * u + rng.normal(size=n) * 4
    d = pd.DataFrame(g, columns=[f"snp_{i + 1}" for i in range(5)])
    d["grip_kg"], d["rt"], d["age"] = grip, -0.05 * grip + u + rng.normal(size=n), rng.uniform(60, 80, n)
    d.loc[:9, "rt"] = np.nan  # the SD is of the complete cases
    entry = {"exposure": "grip_kg", "outcome": "rt", "instrument_prefix": "snp_", "covariates": ["age"]}
    unit = _tidy("one_sample_mr", d, entry)
    assert "exposure_unit" not in unit.columns
    sd = float(d.loc[d["rt"].notna(), "grip_kg"].std(ddof=1))
    for per, factor, label in (("sd", sd, f"per SD ({sd:.4g})"), (5, 5.0, "per 5 units")):
        scaled = _tidy("one_sample_mr", d, {**entry, "exposure_per": per})
        _check_scaled(unit, scaled, factor, ("grip_kg",), keys=("method", "term"))
        effects = scaled[scaled["scale"] == "beta"]
        assert len(effects) == 2 and (effects["exposure_unit"] == label).all()
        tests = scaled[scaled["scale"] != "beta"].set_index(["method", "term"])
        base = unit[unit["scale"] != "beta"].set_index(["method", "term"])
        np.testing.assert_allclose(tests["estimate"], base["estimate"], rtol=1e-9)  # F, partial R2, Wu-Hausman


# ------------------------------------------------------------------------------------------ regression
def test_regression_categorical_exposure_is_a_config_error(ch: pd.DataFrame) -> None:
    base = ch[ch["wave"] == 0]
    with pytest.raises(ConfigError, match="'grip_group' is listed as categorical"):
        _tidy("regression", base, {"outcome": "cognition", "exposure": "grip_group", "factors": ["grip_group"],
                                   "exposure_per": "sd", "weighting": "unweighted"})
    with pytest.raises(ConfigError, match="'education' is not numeric"):
        _tidy("regression", base, {"outcome": "cognition", "exposure": "education", "exposure_per": 5,
                                   "weighting": "unweighted"})
    # without exposure_per a categorical exposure is as before: one term per level
    t = _tidy("regression", base, {"outcome": "cognition", "exposure": "education", "weighting": "unweighted"})
    assert (t["term"].str.startswith("education")).any()
