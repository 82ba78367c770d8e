"""The NHANES 2011-2014 example's cross-sectional analyses against R's survey package (real data).

The analysis table is the example's cohort (config/examples/nhanes_2011_2014.yaml: age 60+ with DSST and
combined grip, n = 2,688), exported with ``d.to_csv("nhanes.csv", float_format="%.17g")`` and fitted once
in R 4.x with survey 4.1.1; numbers printed with ``sprintf("%.15g")``. Tolerances: estimates 1e-6
relative, standard errors 1e-4 relative.

R::

    d <- read.csv("nhanes.csv", stringsAsFactors = TRUE); d$w <- d$survey_weight / 2
    des <- svydesign(ids = ~survey_psu, strata = ~survey_strata, weights = ~w, nest = TRUE, data = d)
    m <- svyglm(dsst ~ grip_kg + age + sex + education, design = des)   # coef, SE, p, confint, df.residual
    l <- lm(dsst ~ grip_kg + age + sex + education, data = d)
    svyby(~dsst, ~low_grip_ewgsop2, des, svymean); svyglm(dsst ~ low_grip_ewgsop2, design = des)
    t.test(d$dsst[d$low_grip_ewgsop2 == 1], d$dsst[d$low_grip_ewgsop2 == 0])
"""

from __future__ import annotations

import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.config import validate_config
from musclecog.core.spec import RunContext
from musclecog.ingest import build_cohort

pytestmark = pytest.mark.shared_data

R = {
    "svy_grip_est": 0.181149799039708,
    "svy_grip_se": 0.026711432223921,
    "svy_grip_p": 4.15586467534348e-07,
    "svy_df": 25,
    "svy_grip_lo": 0.126136574575286,
    "svy_grip_hi": 0.23616302350413,
    "lm_grip_est": 0.148701951995422,
    "lm_grip_se": 0.0201273979712407,
    "lm_n": 2686,
    "svyby0": 53.2266584343758,
    "svyby0_se": 0.555266642371338,
    "svyby1": 37.7541343157048,
    "svyby1_se": 1.33472232638521,
    "svydiff": -15.4725241186709,
    "svydiff_se": 1.45271824045555,
    "welch": -12.3603802791533,
    "welch_p": 8.9399085571727e-18,
    "degf": 32,
}


@pytest.fixture(scope="module")
def example(repo_dir, shared_data_dir):
    with open(repo_dir / "config" / "examples" / "nhanes_2011_2014.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["nhanes_dir"] = str(shared_data_dir / "nhanes_2011_2014")
    cfg = validate_config(cfg, repo_dir / "workflow" / "schemas", base_dir=repo_dir)
    cohort = build_cohort("nhanes_2011_2014", cfg["cohorts"]["nhanes_2011_2014"], seed=1, base_dir=repo_dir)
    return cfg, cohort.data


def _run(example, name):
    cfg, data = example
    context = RunContext(
        name, "nhanes_2011_2014", 1, survey=cfg["cohorts"]["nhanes_2011_2014"]["survey"]
    )
    return run_analysis(data, cfg["analyses"][name], context).to_tidy()


def test_dsst_on_grip_weighted_and_unweighted(example) -> None:
    t = _run(example, "nhanes_dsst_grip").set_index("method")
    w = t.loc["survey-weighted linear regression, adjusted"]
    assert w["estimate"] == pytest.approx(R["svy_grip_est"], rel=1e-6)
    assert w["std_error"] == pytest.approx(R["svy_grip_se"], rel=1e-4)
    assert w["p_value"] == pytest.approx(R["svy_grip_p"], rel=1e-4)
    assert w["df"] == R["svy_df"]
    assert w["conf_low"] == pytest.approx(R["svy_grip_lo"], rel=1e-5)
    assert w["conf_high"] == pytest.approx(R["svy_grip_hi"], rel=1e-5)
    u = t.loc["linear regression, adjusted"]
    assert u["estimate"] == pytest.approx(R["lm_grip_est"], rel=1e-6)
    assert u["std_error"] == pytest.approx(R["lm_grip_se"], rel=1e-4)
    assert u["n"] == w["n"] == R["lm_n"]  # 2 people with education 7/9 (missing) excluded


def test_dsst_by_low_grip_weighted_and_unweighted(example) -> None:
    t = _run(example, "nhanes_dsst_low_grip")
    means = t[(t["scale"] == "mean") & t["method"].str.startswith("survey")].set_index("term")
    assert means.loc["low_grip_ewgsop2=0", "estimate"] == pytest.approx(R["svyby0"], rel=1e-6)
    assert means.loc["low_grip_ewgsop2=0", "std_error"] == pytest.approx(R["svyby0_se"], rel=1e-4)
    assert means.loc["low_grip_ewgsop2=1", "estimate"] == pytest.approx(R["svyby1"], rel=1e-6)
    assert means.loc["low_grip_ewgsop2=1", "std_error"] == pytest.approx(R["svyby1_se"], rel=1e-4)
    assert means.loc["low_grip_ewgsop2=1", "df"] == R["degf"]
    diff = t[t["scale"] == "mean_difference"].set_index("method")
    sw = diff.loc["survey-weighted linear regression, unadjusted"]
    assert sw["estimate"] == pytest.approx(R["svydiff"], rel=1e-6)
    assert sw["std_error"] == pytest.approx(R["svydiff_se"], rel=1e-4)
    we = diff.loc["Welch two-sample t-test"]
    assert we["estimate"] == pytest.approx(R["welch"], rel=1e-6)
    assert we["p_value"] == pytest.approx(R["welch_p"], rel=1e-4)
    unweighted = t[(t["scale"] == "mean") & (t["method"] == "sample mean")].set_index("term")
    assert unweighted.loc["low_grip_ewgsop2=1", "n"] == 151
    assert unweighted.loc["low_grip_ewgsop2=1", "estimate"] == pytest.approx(34.58, abs=0.005)
