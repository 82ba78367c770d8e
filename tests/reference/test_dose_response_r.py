"""Dose-response (restricted cubic spline) curves and Wald tests against R's rms.

R (rms, survival), in tests/data/dose_response_reference.R, on the data it writes
(tests/data/dose_response_reference.csv, n = 300)::

    k <- attr(rcs(d$x, 4), "parms"); ref <- median(d$x)
    lm(y ~ rcs(x, k) + z); glm(b ~ rcs(x, k) + z, family = binomial,
        control = glm.control(epsilon = 1e-14)); coxph(Surv(time, status) ~ rcs(x, k) + z)
    # curve: (rcs(grid, k) - rcs(ref, k)) %*% coef, se from vcov, band +- qt(.975, df) (lm) or qnorm(.975)
    des <- svydesign(ids = ~psu, strata = ~strat, weights = ~w, nest = TRUE, data = d)
    svyglm(y ~ rcs(x, k) + z, des); svyglm(b ~ ..., des, family = quasibinomial)  # band +- qt(.975, degf - p + 1)
    regTermTest(fit, ~rcs(x, k), method = "Wald")   # survey fits' overall F; the non-linear F likewise
    anova(ols(...))   # overall ("x") and " Nonlinear" F rows; for glm and coxph the same Wald chi-squared
                      # (rms::anova's statistic) on their coefficients: t(b) %*% solve(V, b)

Curve, standard errors and bands to 1e-6 (absolute); test statistics and p-values to 1e-5 relative (the house rule for tests; the logistic statistic differs by 6e-7 relative, our IRLS stopping at glm's 1e-8 criterion).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.core.spec import RunContext, spec_from_config
from musclecog.doseresponse import DoseResponseSpec, fit_dose_response
from musclecog.errors import DataError

DATA = Path(__file__).resolve().parents[1] / "data"
GRID = [20, 25, 30, 35, 40, 45, 50]
ENTRIES = {
    "linear": {"family": "linear", "outcome": "y"},
    "logistic": {"family": "logistic", "outcome": "b"},
    "cox": {"family": "cox", "event": "status", "duration": "time"},
    "svy_linear": {"family": "linear", "outcome": "y", "weighting": "weighted"},
    "svy_logistic": {"family": "logistic", "outcome": "b", "weighting": "weighted"},
}
SURVEY = {"weight": "w", "strata": "strat", "psu": "psu"}


def _fit(family: str, **extra: object):
    data = pd.read_csv(DATA / "dose_response_reference.csv")
    entry = {**ENTRIES[family], "exposure": "x", "covariates": ["z"], "knots": 4, "grid": GRID, **extra}
    survey = SURVEY if family.startswith("svy") else None
    spec = spec_from_config(DoseResponseSpec, entry, RunContext("dr", "ref", survey=survey))
    return fit_dose_response(data, spec)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "dose_response_reference_r.csv", skipinitialspace=True)


@pytest.mark.parametrize("family", sorted(ENTRIES))
def test_curve_and_tests_match_rms(family: str, reference: pd.DataFrame) -> None:
    result = _fit(family)
    r = reference[reference["family"] == family]
    knots = reference.loc[reference["what"].str.startswith("knot"), "estimate"].to_numpy(float)
    np.testing.assert_allclose(result.knots, knots, rtol=0, atol=1e-10)
    median = float(reference.loc[reference["what"] == "median", "estimate"].iloc[0])
    assert result.reference == pytest.approx(median, abs=1e-12)
    curve = result.curve.set_index("exposure").loc[GRID]
    rc = r[r["what"] == "curve"]
    log = np.log if family.endswith(("logistic", "cox")) else (lambda v: v)
    np.testing.assert_allclose(log(curve["estimate"].to_numpy()), rc["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(curve["std_error"], rc["std_error"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(log(curve["conf_low"].to_numpy()), rc["conf_low"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(log(curve["conf_high"].to_numpy()), rc["conf_high"], rtol=0, atol=1e-6)
    tests = {e.term: e for e in result.estimates if e.term.startswith("wald test")}
    for what in ("overall", "nonlinear"):
        row = r[r["what"] == what].iloc[0]
        assert tests[f"wald test: {what}"].estimate == pytest.approx(float(row["estimate"]), rel=1e-5)
        assert tests[f"wald test: {what}"].p_value == pytest.approx(float(row["conf_high"]), rel=1e-5, abs=1e-12)


def test_reference_row_and_tidy_rows() -> None:
    result = _fit("cox", reference_value=30)
    tidy = result.to_tidy()
    assert set(tidy["scale"]) == {"hazard_ratio", "chi_squared"}
    ref = tidy[tidy["term"] == "x=30"].iloc[0]
    assert ref["estimate"] == 1.0 and ref["note"] == "reference"
    assert len(tidy) == len(GRID) + 2


def test_fewer_distinct_values_than_knots_is_a_data_error() -> None:
    data = pd.read_csv(DATA / "dose_response_reference.csv")
    data["x"] = np.tile([20.0, 30.0, 40.0], len(data) // 3)
    spec = spec_from_config(
        DoseResponseSpec, {"outcome": "y", "exposure": "x", "knots": [20, 25, 30, 40]}, RunContext("dr", "ref")
    )
    with pytest.raises(DataError, match="4 knots need at least 4 distinct exposure values, found 3"):
        fit_dose_response(data, spec)
    spec5 = spec_from_config(DoseResponseSpec, {"outcome": "y", "exposure": "x"}, RunContext("dr", "ref"))
    with pytest.raises(DataError, match="distinct exposure values"):
        fit_dose_response(data, spec5)


def test_figure_draws() -> None:
    from musclecog.plots import draw

    fig = draw(_fit("logistic"))
    ax = fig.axes[0]
    assert ax.get_gid() == "dose_response" and ax.get_yscale() == "log"


def test_figure_axis_labels_come_from_the_dictionary() -> None:
    from musclecog.plots import draw
    from musclecog.variables import variable_label

    data = pd.read_csv(DATA / "dose_response_reference.csv").rename(columns={"x": "grip_kg", "y": "dsst"})
    spec = spec_from_config(DoseResponseSpec, {"outcome": "dsst", "exposure": "grip_kg"}, RunContext("dr", "ref"))
    ax = draw(fit_dose_response(data, spec)).axes[0]
    assert ax.get_xlabel() == variable_label("grip_kg") and "(kg)" in ax.get_xlabel()
    assert ax.get_ylabel() == f"Difference in {variable_label('dsst')}"
