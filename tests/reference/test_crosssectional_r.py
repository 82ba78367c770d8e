"""Cross-sectional analyses against R (lm, glm, t.test, cor.test, lme4::lmer, survey 4.1.1).

The reference table is built by :func:`reference_table` (numpy, fixed seed); it was written to CSV
(``reference_table().to_csv("ref.csv", index=False, na_rep="NA")``) and fitted once in R 4.x; the numbers
below are R's, printed with ``sprintf("%.15g")``. Tolerances: point estimates 1e-6 relative, standard
errors 1e-4 relative (the issue's bar); the mixed model 1e-5 / 1e-4 (different optimisers).

R calls (``d <- read.csv("ref.csv"); d$sex <- factor(d$sex); d$edu <- factor(d$edu)``;
``des <- svydesign(ids=~psu, strata=~strata, weights=~w, nest=TRUE, data=d)``):

* ``lm(y ~ x + age + sex + edu, d)``; ``glm(b ~ x + age + sex, d, family=binomial)``
* ``svyglm(y ~ x + age + sex + edu, des)``; ``svyglm(b ~ x + age + sex, des, family=quasibinomial())``
* ``svymean(~y, des, na.rm=TRUE)``; ``svyby(~y, ~grp, des, svymean, na.rm=TRUE)``;
  ``sqrt(svyvar(~y, subset(des, grp==1 & !is.na(y))))`` (svyvar's n/(n-1) counts the rows of the design
  it is given, so missing values are removed first, as musclecog does); ``svyglm(y ~ grp, des)``
* ``svyglm(y ~ x + age + sex, design=subset(des, g2=="80+"))`` (a domain)
* ``t.test(d$y[d$grp==1], d$y[d$grp==0])``; ``cor.test(d$x, d$y)``;
  ``cor.test(d$x, d$y, method="spearman", exact=FALSE)``;
  partial: ``cor(resid(lm(x ~ age + sex, dd)), resid(lm(y ~ age + sex, dd)))`` on complete cases
* ``lmer(y ~ x + age + sex + (1|centre), d)`` (REML)
* lonely PSU: ``d2$psu[d2$strata==1] <- 1``; for each ``options(survey.lonely.psu=opt)``:
  ``SE(svymean(~x, des2))`` and ``svyglm(y ~ x + age, des2)``'s SE of x.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.survey import SurveyDesign, SurveySpec, survey_mean, survey_regression


def fit(kind: str, data: pd.DataFrame, entry: dict, context: RunContext) -> AnalysisResult:
    """Fit an analysis entry of type ``kind`` as the pipeline does (spec from the schema, ``fit_<kind>``)."""
    return run_analysis(data, {"type": kind, "cohort": context.cohort, **entry}, context)


R = {
    "lm_x_est": 0.420876666848576,
    "lm_x_se": 0.0683383108403519,
    "lm_x_p": 1.21309072952003e-09,
    "lm_n": 733,
    "glm_x_est": 0.0598262803280689,
    "glm_x_se": 0.0136776223230616,
    "glm_x_p": 1.21975651177247e-05,
    "degf": 9,
    "svyglm_x_est": 0.420899196494887,
    "svyglm_x_se": 0.044897059143972,
    "svyglm_x_p": 0.000721214556791975,
    "svyglm_df": 4,
    "svyglm_sexmale_est": 0.051815491984558,
    "svyglm_sexmale_se": 0.845398396310544,
    "svylogit_x_est": 0.0668717901660976,
    "svylogit_x_se": 0.0146797912041805,
    "svylogit_x_p": 0.00386982713783793,
    "svymean_y": 61.9256724877816,
    "svymean_y_se": 0.450918629236313,
    "svyby_y_grp0": 63.1655789832637,
    "svyby_y_grp0_se": 0.627081515204126,
    "svyby_y_grp1": 58.426565294405,
    "svyby_y_grp1_se": 0.576373719608868,
    "svyvar_sd_grp1": 12.450062269547,
    "svydiff_est": -4.7390136888587,
    "svydiff_se": 0.926874790353574,
    "svydiff_p": 0.000915169892631507,
    "svy80_x_est": 0.662528696050017,
    "svy80_x_se": 0.138616969997271,
    "svy80_df": 6,
    "welch_diff": -5.38393940179358,
    "welch_lo": -7.33208821216495,
    "welch_hi": -3.43579059142222,
    "welch_p": 1.05344368752987e-07,
    "welch_df": 333.054962631532,
    "pearson_r": 0.337545346329647,
    "pearson_lo": 0.273625899766326,
    "pearson_hi": 0.398496463277192,
    "pearson_p": 4.17079359535178e-22,
    "spearman_rho": 0.324022931927631,
    "spearman_p": 2.10765106008718e-20,
    "partial_r": 0.220768771864666,
    "lmer_x_est": 0.409551006105329,
    "lmer_x_se": 0.0659671681055927,
    "lonely_adjust_mean_se": 0.222577919293958,
    "lonely_adjust_glm_se": 0.049836092134161,
    "lonely_remove_mean_se": 0.171977503252536,
    "lonely_remove_glm_se": 0.0468052971756265,
    "lonely_average_mean_se": 0.183851684401083,
    "lonely_average_glm_se": 0.0500369674049521,
    "lonely_certainty_mean_se": 0.171977503252536,
    "lonely_certainty_glm_se": 0.0468052971756265,
}
EST = 1e-6
SE = 1e-4
SURVEY = {"weight": "w", "strata": "strata", "psu": "psu"}


def reference_table(n: int = 800, seed: int = 20261125) -> pd.DataFrame:
    """The synthetic table fitted in R (see the module docstring)."""
    rng = np.random.default_rng(seed)
    strata = rng.integers(1, 9, n)
    psu = rng.integers(1, 3, n) + (strata == 8) * rng.integers(0, 2, n)  # stratum 8 has 3 PSUs
    sex = np.where(rng.random(n) < 0.45, "male", "female")
    age = rng.integers(60, 86, n).astype(float)
    edu = rng.choice(["primary", "secondary", "tertiary"], n, p=[0.3, 0.4, 0.3]).astype(object)
    edu[rng.random(n) < 0.04] = None
    x = np.round(30 + 8 * (sex == "male") - 0.2 * (age - 70) + rng.normal(0, 6, n), 1)
    centre = rng.integers(1, 11, n)
    ceff = rng.normal(0, 2, 11)[centre]
    y = np.round(50 + 0.4 * x - 0.5 * (age - 70) + 3 * (edu == "tertiary") + ceff + rng.normal(0, 10, n), 2)
    y[rng.random(n) < 0.03] = np.nan
    b = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.05 * (x - 30) + 0.03 * (age - 70))))).astype(int)
    w = np.round(np.exp(rng.normal(9, 0.4, n)) * (1 + (strata % 3)), 2)
    grp = (x < np.where(sex == "male", 33, 25)).astype(int)
    g2 = np.where(age < 70, "60-69", np.where(age < 80, "70-79", "80+"))
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "y": y,
            "b": b,
            "x": x,
            "age": age,
            "sex": sex,
            "edu": edu,
            "w": w,
            "strata": strata,
            "psu": psu,
            "grp": grp,
            "g2": g2,
            "centre": centre,
        }
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return reference_table()


def _row(result, **where) -> pd.Series:
    df = result.to_tidy()
    for k, v in where.items():
        df = df[df[k] == v]
    assert len(df) == 1, (where, len(df))
    return df.iloc[0]


def _ctx(survey=None) -> RunContext:
    return RunContext("ref", "ref", 1, survey=survey)


def test_lm_and_glm(table) -> None:
    spec = {"outcomes": ["y", "b"], "exposure": "x", "covariates": ["age", "sex", "edu"], "fdr": False}
    res = fit("regression", table, {**spec, "outcomes": ["y"]}, _ctx())
    r = _row(res, outcome="y")
    assert r["estimate"] == pytest.approx(R["lm_x_est"], rel=EST)
    assert r["std_error"] == pytest.approx(R["lm_x_se"], rel=SE)
    assert r["p_value"] == pytest.approx(R["lm_x_p"], rel=1e-4)
    assert r["n"] == R["lm_n"]
    res = fit("regression", table, {"outcome": "b", "exposure": "x", "covariates": ["age", "sex"]}, _ctx())
    r = _row(res, outcome="b")
    assert np.log(r["estimate"]) == pytest.approx(R["glm_x_est"], rel=EST)
    assert r["std_error"] == pytest.approx(R["glm_x_se"], rel=SE)
    assert r["p_value"] == pytest.approx(R["glm_x_p"], rel=1e-4)
    assert r["scale"] == "odds_ratio"


def test_svyglm_linear_logistic_and_domain(table) -> None:
    res = fit(
        "regression",
        table,
        {"outcome": "y", "exposure": "x", "covariates": ["age", "sex", "edu"], "report_covariates": True},
        _ctx(SURVEY),
    )
    r = _row(res, term="x")
    assert r["estimate"] == pytest.approx(R["svyglm_x_est"], rel=EST)
    assert r["std_error"] == pytest.approx(R["svyglm_x_se"], rel=SE)
    assert r["df"] == R["svyglm_df"]
    assert r["p_value"] == pytest.approx(R["svyglm_x_p"], rel=1e-4)
    s = _row(res, term="sex[male]")
    assert s["estimate"] == pytest.approx(R["svyglm_sexmale_est"], rel=EST)
    assert s["std_error"] == pytest.approx(R["svyglm_sexmale_se"], rel=SE)
    entry = {"outcome": "b", "exposure": "x", "covariates": ["age", "sex"]}
    res = fit("regression", table, entry, _ctx(SURVEY))
    r = _row(res, term="x")
    assert np.log(r["estimate"]) == pytest.approx(R["svylogit_x_est"], rel=EST)
    assert r["std_error"] == pytest.approx(R["svylogit_x_se"], rel=SE)
    assert r["p_value"] == pytest.approx(R["svylogit_x_p"], rel=1e-4)
    res = fit(
        "regression",
        table, {"outcome": "y", "exposure": "x", "covariates": ["age", "sex"], "by": "g2"}, _ctx(SURVEY)
    )
    r = _row(res, term="x", stratum="g2=80+")
    assert r["estimate"] == pytest.approx(R["svy80_x_est"], rel=EST)
    assert r["std_error"] == pytest.approx(R["svy80_x_se"], rel=SE)
    assert r["df"] == R["svy80_df"]


def test_survey_means_and_group_comparison(table) -> None:
    spec = SurveySpec.from_config(SURVEY)
    design = SurveyDesign.from_data(table, spec)
    assert design.degf() == R["degf"]
    y = table["y"].to_numpy()
    m = survey_mean(np.nan_to_num(y), design, domain=~np.isnan(y))
    assert m.estimate == pytest.approx(R["svymean_y"], rel=EST)
    assert m.std_error == pytest.approx(R["svymean_y_se"], rel=SE)
    res = fit("group_comparison", table, {"outcome": "y", "group": "grp"}, _ctx(SURVEY))
    g0 = _row(res, term="grp=0", scale="mean")
    g1 = _row(res, term="grp=1", scale="mean")
    assert g0["estimate"] == pytest.approx(R["svyby_y_grp0"], rel=EST)
    assert g0["std_error"] == pytest.approx(R["svyby_y_grp0_se"], rel=SE)
    assert g1["estimate"] == pytest.approx(R["svyby_y_grp1"], rel=EST)
    assert g1["std_error"] == pytest.approx(R["svyby_y_grp1_se"], rel=SE)
    assert _row(res, term="grp=1", scale="sd")["estimate"] == pytest.approx(R["svyvar_sd_grp1"], rel=EST)
    d = _row(res, term="grp=1 vs 0", scale="mean_difference")
    assert d["estimate"] == pytest.approx(R["svydiff_est"], rel=EST)
    assert d["std_error"] == pytest.approx(R["svydiff_se"], rel=SE)
    assert d["p_value"] == pytest.approx(R["svydiff_p"], rel=1e-4)


def test_welch_and_correlations(table) -> None:
    res = fit("group_comparison", table, {"outcome": "y", "group": "grp"}, _ctx())
    d = _row(res, term="grp=1 vs 0", scale="mean_difference")
    assert d["estimate"] == pytest.approx(R["welch_diff"], rel=EST)
    assert d["conf_low"] == pytest.approx(R["welch_lo"], rel=EST)
    assert d["conf_high"] == pytest.approx(R["welch_hi"], rel=EST)
    assert d["p_value"] == pytest.approx(R["welch_p"], rel=1e-4)
    assert d["df"] == pytest.approx(R["welch_df"], rel=EST)
    entry = {"pairs": [["x", "y"]], "method": "both", "partial": ["age", "sex"]}
    res = fit("correlation", table, entry, _ctx())
    p = _row(res, term="pearson")
    assert p["estimate"] == pytest.approx(R["pearson_r"], rel=EST)
    assert p["conf_low"] == pytest.approx(R["pearson_lo"], rel=EST)
    assert p["conf_high"] == pytest.approx(R["pearson_hi"], rel=EST)
    assert p["p_value"] == pytest.approx(R["pearson_p"], rel=1e-4)
    sp = _row(res, term="spearman")
    assert sp["estimate"] == pytest.approx(R["spearman_rho"], rel=EST)
    assert sp["p_value"] == pytest.approx(R["spearman_p"], rel=1e-4)
    assert _row(res, term="partial_pearson")["estimate"] == pytest.approx(R["partial_r"], rel=EST)


def test_lmer_random_intercept(table) -> None:
    res = fit(
        "regression",
        table,
        {"outcome": "y", "exposure": "x", "covariates": ["age", "sex"], "random_intercept": "centre"},
        _ctx(),
    )
    r = _row(res, term="x")
    assert r["estimate"] == pytest.approx(R["lmer_x_est"], rel=1e-5)
    assert r["std_error"] == pytest.approx(R["lmer_x_se"], rel=SE)


@pytest.mark.parametrize("option", ["adjust", "remove", "average", "certainty"])
def test_lonely_psu_options(table, option: str) -> None:
    d2 = table.copy()
    d2.loc[d2["strata"] == 1, "psu"] = 1
    design = SurveyDesign.from_data(d2, SurveySpec.from_config({**SURVEY, "lonely_psu": option}))
    m = survey_mean(d2["x"].to_numpy(), design)
    assert m.std_error == pytest.approx(R[f"lonely_{option}_mean_se"], rel=SE)
    ok = d2["y"].notna().to_numpy()
    x = np.column_stack([np.ones(ok.sum()), d2.loc[ok, "x"], d2.loc[ok, "age"]])
    fit = survey_regression(x, d2.loc[ok, "y"].to_numpy(), design.subset(ok))
    assert fit.std_errors[1] == pytest.approx(R[f"lonely_{option}_glm_se"], rel=SE)
