"""The ``dose_response`` type's ``family: mixed`` (a spline in a linear mixed model) against lme4 / lmerTest.

Data: tests/data/dose_response_mixed.csv (200 people, 2-5 visits each, 718 person-visits; a time-varying exposure
``x`` with effect ``8 tanh((x - 30) / 8)``, a random intercept and slope), written with the numbers below by
``Rscript tests/data/dose_response_mixed.R`` (seed 20261204; Debian r-cran-lme4 1.1-31, r-cran-lmertest 3.1-3,
r-cran-rms 6.5-0, R 4.2.2)::

    k <- attr(rcs(d$x, 4), "parms"); ref <- median(d$x); grid <- c(20, 25, 30, 35, 40, 45, 50)
    ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16,
        xtol_rel = 1e-14, ftol_rel = 1e-16, maxeval = 1e5))       # converged fully
    intercept    <- lmer(y ~ rcs(x, k) + z + (1 | id), d, REML = TRUE, control = ctrl)
    slope        <- lmer(y ~ rcs(x, k) + time + z + (time | id), d, REML = TRUE, control = ctrl)
    intercept_ml <- lmer(y ~ rcs(x, k) + z + (1 | id), d, REML = FALSE, control = ctrl)
    b <- fixef(m); V <- vcov(m); j <- grep("rcs", names(b))
    C <- rcs(grid, k) - matrix(rcs(ref, k), length(grid), 3, byrow = TRUE)
    curve <- C %*% b[j]; curve_se <- sqrt(diag(C %*% V[j, j] %*% t(C)))   # band: +- qnorm(0.975) * se
    wald <- t(b[jj]) %*% solve(V[jj, jj], b[jj])   # jj = j (overall; = car::Anova(m)'s rcs row), j[-1]
    contest(m, diag(length(b))[jj, ], joint = TRUE) # lmerTest's Satterthwaite F: F, DenDF, Pr(>F)

Estimates (fixed effects, curve) to 1e-6 relative (the curve 1e-6 absolute), SEs, tests, df and p-values to 1e-5
relative; measured: about 2e-8 (lme4's and our optimum agree to about 1e-8 in theta).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from musclecog.core.spec import RunContext, spec_from_config
from musclecog.doseresponse import DoseResponseResult, DoseResponseSpec, fit_dose_response
from musclecog.errors import ConfigError, DataError

DATA = Path(__file__).resolve().parents[1] / "data" / "dose_response_mixed.csv"
GRID = [20, 25, 30, 35, 40, 45, 50]
KNOTS = [19.366499999999998, 31.166500000000003, 39.170499999999997, 49.170499999999997]
MEDIAN = 35.19
ENTRIES = {
    "intercept": {"random": "intercept", "covariates": ["z"]},
    "slope": {"random": "slope", "time": "time", "covariates": ["time", "z"]},
    "intercept_ml": {"random": "intercept", "covariates": ["z"], "reml": False},
}
REF = {
    "intercept": {
        "fixef": [35.5221238401856, 0.393015834308454, 0.880492636317811, -4.6469170906607, 2.56971641344447],
        "se": [2.81144833688338, 0.113496398986151, 0.282313954615625, 1.07059221121337, 0.332590045031305],
        "curve": [-9.55612615493965, -7.414079489445, -4.4344144864983, -0.16841989666862, 3.40926020439904, 4.39635994677966, 3.99081733949897],
        "curve_se": [0.826588250933929, 0.499629088870679, 0.364700340236337, 0.0169668020445241, 0.346866015912971, 0.498399628807138, 0.807260567057625],
        "wald": [283.106458098701, 41.4792954325707],
        "wald_p": [4.50458373286797e-61, 9.83751573914298e-10],
        "F": [94.3688193662267, 20.7396477162853],
        "ddf": [307.396730562179, 355.23348822285],
        "F_p": [2.58050608933252e-43, 3.02756396836591e-09],
    },
    "slope": {
        "fixef": [37.3441679243645, 0.347542491532115, 0.941379379024732, -4.80616029980859, -0.367990318008429, 2.5088848155834],
        "se": [2.78794909541067, 0.111400086328323, 0.272088760496623, 1.02411748487404, 0.125516719571014, 0.319816894415491],
        "curve": [-9.12526153509448, -7.19834414522556, -4.37588646592517, -0.167868213592207, 3.40927182863805, 4.39377367105293, 3.9807847624566],
        "curve_se": [0.818771349848337, 0.485456564822189, 0.346986999627598, 0.0161534434065572, 0.331370924009334, 0.47603805089091, 0.765487064124152],
        "wald": [284.688522587069, 44.7497189256377],
        "wald_p": [2.04793128475935e-61, 1.91744096657231e-10],
        "F": [94.8961741956818, 22.3748594628189],
        "ddf": [300.803229867533, 343.973294332108],
        "F_p": [3.05624770482172e-43, 7.32552296056286e-10],
    },
    "intercept_ml": {
        "fixef": [35.5682038766675, 0.391152045964857, 0.884670129800057, -4.66220616814128, 2.56980383957924],
        "se": [2.78871452216229, 0.1126138783341, 0.280233059356997, 1.06269719274243, 0.328940661433003],
        "curve": [-9.54532555187433, -7.41175820659254, -4.43659844730089, -0.168577500014978, 3.41224241728459, 4.39757407682948, 3.98746898071819],
        "curve_se": [0.819145298632181, 0.49497227349342, 0.361685716023575, 0.01683377540665, 0.344100934535082, 0.494009983625493, 0.799984732942981],
        "wald": [288.494797976167, 42.2628050001917],
        "wald_p": [3.07367026730592e-62, 6.64888006924067e-10],
        "F": [96.1649326587039, 21.1314025000959],
        "ddf": [311.34623462706, 359.091211737946],
        "F_p": [4.54569577993667e-44, 2.10788498406043e-09],
    },
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _fit(data: pd.DataFrame, **keys: object) -> DoseResponseResult:
    entry = {"family": "mixed", "outcome": "y", "exposure": "x", "knots": 4, "grid": GRID, **keys}
    return fit_dose_response(data, spec_from_config(DoseResponseSpec, entry, RunContext("dr", "mixed")))


@pytest.mark.parametrize("model", sorted(ENTRIES))
def test_curve_and_tests_match_lmer(data: pd.DataFrame, model: str) -> None:
    ref = REF[model]
    result = _fit(data, **ENTRIES[model])
    np.testing.assert_allclose(result.knots, KNOTS, rtol=0, atol=1e-12)
    assert result.reference == pytest.approx(MEDIAN, abs=1e-12)
    fit = result.fits["spline"]
    np.testing.assert_allclose(fit.params, ref["fixef"], rtol=1e-6)
    np.testing.assert_allclose(fit.std_errors, ref["se"], rtol=1e-5)
    curve = result.curve.set_index("exposure").loc[GRID]
    est, se = np.asarray(ref["curve"]), np.asarray(ref["curve_se"])
    q = stats.norm.ppf(0.975)
    np.testing.assert_allclose(curve["estimate"], est, rtol=0, atol=1e-6)
    np.testing.assert_allclose(curve["std_error"], se, rtol=1e-5)
    np.testing.assert_allclose(curve["conf_low"], est - q * se, rtol=0, atol=1e-6)
    np.testing.assert_allclose(curve["conf_high"], est + q * se, rtol=0, atol=1e-6)
    rows = {e.term: e for e in result.estimates}
    for i, what in enumerate(("overall", "nonlinear")):
        wald, f = rows[f"wald test: {what}"], rows[f"satterthwaite F: {what}"]
        assert (wald.scale, wald.df, f.scale, f.df) == ("chi_squared", 3.0 - i, "f_statistic", 3.0 - i)
        assert wald.estimate == pytest.approx(ref["wald"][i], rel=1e-5)
        assert wald.p_value == pytest.approx(ref["wald_p"][i], rel=1e-5)
        assert f.estimate == pytest.approx(ref["F"][i], rel=1e-5)
        assert f.extra["df_denominator"] == pytest.approx(ref["ddf"][i], rel=1e-5)
        assert f.p_value == pytest.approx(ref["F_p"][i], rel=1e-5)


def test_tidy_rows_count_people_and_name_the_model(data: pd.DataFrame) -> None:
    tidy = _fit(data, **ENTRIES["slope"]).to_tidy()
    assert set(tidy["scale"]) == {"mean_difference", "chi_squared", "f_statistic"}
    assert len(tidy) == len(GRID) + 1 + 4  # the grid, the reference value, two Wald and two F tests
    assert (tidy["n"] == 200).all()
    assert tidy["method"].str.contains(r"REML; \(time \| id\)", regex=True).all()
    ref = tidy[tidy["note"].str.startswith("reference", na=False)].iloc[0]
    assert ref["term"] == "x=35.19" and ref["estimate"] == 0.0
    assert tidy["note"].str.contains("718 observations of 200 people").all()


def test_random_slope_without_a_mean_slope_says_so(data: pd.DataFrame) -> None:
    result = _fit(data, random="slope", time="time", covariates=["z"])
    assert all("without a mean slope" in str(e.note) for e in result.estimates)


def test_fewer_distinct_exposure_values_than_knots_is_a_data_error(data: pd.DataFrame) -> None:
    few = data.assign(x=np.resize([20.0, 30.0, 40.0], len(data)))
    with pytest.raises(DataError, match="4 knots need at least 4 distinct exposure values, found 3"):
        _fit(few, random="intercept", knots=[20, 25, 30, 40])
    with pytest.raises(DataError, match="distinct exposure values"):
        _fit(few, random="intercept")


def test_missing_id_is_an_error(data: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'person'.*not in the cohort table"):
        _fit(data, random="intercept", id="person")
    holes = data.assign(id=data["id"].where(data.index % 100 != 7))
    with pytest.raises(DataError, match=r"id column 'id' is missing in 8 rows \(rows 8, 108"):
        _fit(holes, random="intercept")
    with pytest.raises(DataError, match="'time_years'"):
        _fit(data, random="slope")  # the default time column is not in this table


def test_survey_weighting_is_refused(data: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="survey-weighted mixed-model splines"):
        _fit(data, random="intercept", weighting="weighted")


def test_figure_draws_a_difference_on_a_linear_axis(data: pd.DataFrame) -> None:
    from musclecog.plots import draw

    ax = draw(_fit(data, **ENTRIES["intercept"])).axes[0]
    assert ax.get_gid() == "dose_response" and ax.get_yscale() == "linear"
    assert ax.get_ylabel().startswith("Difference in")
    assert "overall p = 4.5e-61" in ax.get_title(loc="left")


def test_one_row_contrast_is_the_satterthwaite_t_test(data: pd.DataFrame) -> None:
    """With one contrast row, ``contest`` is the per-term t test of ``summary(lmerTest::lmer(...))``:
    F = t^2 on the term's Satterthwaite df."""
    from musclecog.longitudinal.lmm import fit_lmm, satterthwaite, satterthwaite_f

    X = np.column_stack([np.ones(len(data)), data["x"], data["z"]])
    Z = np.ones((len(data), 1))
    y, groups = data["y"].to_numpy(), data["id"].to_numpy()
    fit = fit_lmm(y, X, Z, groups)
    satt = satterthwaite(y, X, Z, groups, fit)
    for i in range(3):
        f = satterthwaite_f(fit, satt, np.eye(3)[[i]])
        assert f.ndf == 1
        assert f.statistic == pytest.approx(fit.params[i] ** 2 / fit.cov_params[i, i], rel=1e-12)
        assert f.ddf == pytest.approx(satt.df[i], rel=1e-12)


def test_a_survey_cohort_is_fitted_unweighted_and_says_so(data: pd.DataFrame) -> None:
    """run_analysis on a cohort that declares a survey design: the mixed spline does not use it (no svyglm
    counterpart) and every row says so; the numbers are the unweighted fit's."""
    from musclecog.analyses import run_analysis

    entry = {"type": "dose_response", "family": "mixed", "outcome": "y", "exposure": "x", "knots": 4,
             "grid": GRID, **ENTRIES["intercept"]}
    survey = {"weight": "w", "strata": "strat", "psu": "psu"}
    tidy = run_analysis(data, entry, RunContext("dr", "svy", survey=survey)).to_tidy()
    assert tidy["note"].str.contains("survey design of cohort 'svy' not used").all()
    curve = tidy[tidy["scale"] == "mean_difference"].set_index("term")
    np.testing.assert_allclose(curve.loc[[f"x={g}" for g in GRID], "estimate"], REF["intercept"]["curve"], atol=1e-6)
