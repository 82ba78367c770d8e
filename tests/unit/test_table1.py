"""Table 1: summaries as configured (mean (SD) / median (IQR)), survey-weighted where a design is declared,
a derived grouping, and the small-cell rule kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.ingest import build_cohort
from musclecog.survey import SurveySpec
from musclecog.table1 import Table1Spec, table1

# The small design of the R reference below: 3 strata x 2 PSUs x 4 people, weights, a group g, a numeric y
# with two missing values and a binary b.
DESIGN = pd.DataFrame({
    "st": np.repeat([1, 2, 3], 8),
    "psu": np.tile(np.repeat([1, 2], 4), 3),
    "w": [1.5, 2, 2.5, 1, 3, 1.2, 0.8, 2.2, 1.1, 1.9, 2.4, 1.3, 2.6, 1.7, 0.9, 2.1, 1.4, 2.8, 1.6, 1.2, 2.3, 1.8, 1.0,
          2.5],
    "g": ["a", "b"] * 12,
    "y": [3.1, 4.5, 2.2, 5.8, 4.4, np.nan, 3.9, 6.1, 2.7, 5.2, 3.3, 4.8, 6.0, 2.9, 4.1, 3.6, 5.5, 4.2, np.nan, 3.8, 2.5,
          5.1, 4.7, 3.4],
    "b": [1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1],
})
SURVEY = SurveySpec(weight="w", strata="st", psu="psu")

DESIGN["c3"] = np.array(["x", "y", "z"], dtype=object)[np.arange(1, 25) % 3]
DESIGN.loc[[1, 8], "c3"] = None

# R 4.2.2, survey 4.1.1 (values printed with options(digits = 15)), d = DESIGN:
#   des <- svydesign(ids = ~psu, strata = ~st, weights = ~w, data = d, nest = TRUE)
#   coef(svymean(~y, des, na.rm = TRUE)); sqrt(coef(svyvar(~y, subset(des, !is.na(y))))); coef(svymean(~b, des))
#   and on subset(des, g == "a") (and "b"), the SD on subset(des, g == "a" & !is.na(y)).
# The SD's n/(n-1) counts the people with a value (svyvar(..., na.rm = TRUE) counts the missing too:
# 1.18590172076119 overall, a factor sqrt(24/23 * 21/22) away).
#   coef(svymean(~c3, des, na.rm = TRUE)); coef(svymean(~c3, subset(des, g == "a"), na.rm = TRUE))
R_SURVEY = {
    "overall": (4.14075, 1.18825237068081, 0.497663551401869),
    "g=a": (3.83589743589744, 1.33379272164985, 0.535545023696682),
    "g=b": (4.43073170731707, 1.00538556920823, 0.460829493087558),
}
R_C3 = {
    "overall": {"x": 0.340050377833753, "y": 0.335012594458438, "z": 0.324937027707809},
    "g=a": {"x": 0.285, "y": 0.325, "z": 0.390},
}


def _rows(t: pd.DataFrame, variable: str) -> pd.DataFrame:
    return t.loc[t["variable"] == variable].set_index("stratum")


def test_survey_weighted_means_sds_and_percents_match_r_svymean_svyvar() -> None:
    t = table1(DESIGN, by="g", columns=["y", "b", "c3"], survey=SURVEY)
    y, b = _rows(t, "y"), _rows(t, "b")
    for stratum, (mean, sd, share) in R_SURVEY.items():
        assert y.loc[stratum, "mean"] == pytest.approx(mean, abs=1e-6)
        assert y.loc[stratum, "sd"] == pytest.approx(sd, abs=1e-6)
        assert b.loc[stratum, "percent"] == pytest.approx(100 * share, abs=1e-6)
        assert y.loc[stratum, "statistic"] == "weighted mean (SD)"
        assert b.loc[stratum, "statistic"] == "n (weighted %)"
    # the n are the unweighted counts of people, suppressed by the rule: 2 missing (< 5) are hidden, and so is
    # y's n (N minus the missing)
    assert b.loc["overall", "n"] == 24 and b.loc["g=a", "n"] == 12
    assert pd.isna(y.loc["overall", "n"]) and pd.isna(y.loc["overall", "n_missing"])
    assert b.loc["g=a", "count"] == int(DESIGN.loc[DESIGN["g"] == "a", "b"].sum())
    # with 2 missing the percentages are hidden too (they and a count give n back); without suppression:
    unsuppressed = table1(DESIGN, by="g", columns=["c3"], survey=SURVEY, min_cell=1)
    c3 = unsuppressed.loc[unsuppressed["variable"] == "c3"].set_index(["stratum", "level"])
    for stratum, shares in R_C3.items():
        for level, share in shares.items():
            assert c3.loc[(stratum, level), "percent"] == pytest.approx(100 * share, abs=1e-6)
    note = t.loc[t["variable"] == "note", "summary"].iloc[0]
    assert note.startswith("survey-weighted (weights: w): weighted mean (SD) for continuous variables; n (weighted %)")


def test_weighting_off_gives_the_plain_mean_and_sd() -> None:
    t = table1(DESIGN, by="g", columns=["y"], survey=SURVEY, spec=Table1Spec(weighted=False))
    y = _rows(t, "y")
    assert y.loc["g=a", "mean"] == pytest.approx(DESIGN.loc[DESIGN["g"] == "a", "y"].mean(), abs=1e-12)
    assert y.loc["overall", "sd"] == pytest.approx(DESIGN["y"].std(ddof=1), abs=1e-12)
    assert y.loc["overall", "statistic"] == "mean (SD)"
    assert "survey-weighted" not in t["summary"].iloc[-1]


def test_zero_weights_are_outside_every_domain() -> None:
    """A weight of 0 adds nothing: the same weighted mean as without the row (the PSU structure kept)."""
    d = DESIGN.copy()
    d.loc[0, "w"] = 0.0
    with_zero = _rows(table1(d, columns=["y"], survey=SURVEY), "y").loc["overall", "mean"]
    rest = d.iloc[1:]
    expected = np.nansum(rest["w"] * rest["y"]) / rest.loc[rest["y"].notna(), "w"].sum()
    assert with_zero == pytest.approx(expected, abs=1e-12)


def test_median_iqr_is_r_quantile_type_7() -> None:
    """R: quantile(c(1, 2, 3, 4, 5, 10), c(.25, .5, .75), type = 7) -> 2.25 3.50 4.75 (also by hand:
    positions 1 + p (n - 1) = 2.25, 3.5, 4.75 between the sorted values); and for y of the design above
    quantile(d$y, c(.25, .5, .75), type = 7, na.rm = TRUE) -> 3.325 4.150 5.025."""
    x = pd.DataFrame({"x": [10.0, 1, 4, 2, 5, 3]})
    t = table1(x, spec=Table1Spec(summary="median_iqr"))
    row = _rows(t, "x").loc["overall"]
    assert (row["median"], row["q1"], row["q3"]) == pytest.approx((3.5, 2.25, 4.75), abs=1e-12)
    assert row["summary"] == "3.50 (2.25, 4.75)" and row["statistic"] == "median (IQR)"
    assert np.isnan(row["mean"])
    y = _rows(table1(DESIGN, columns=["y"], spec=Table1Spec(median_iqr=frozenset({"y"}))), "y").loc["overall"]
    assert (y["median"], y["q1"], y["q3"]) == pytest.approx((4.15, 3.325, 5.025), abs=1e-12)


def test_per_variable_override_and_the_note_says_which_statistic() -> None:
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"age": rng.normal(70, 5, 40), "crp": rng.lognormal(0, 1, 40), "sex": ["male", "female"] * 20})
    t = table1(d, spec=Table1Spec(median_iqr=frozenset({"crp"})))
    assert _rows(t, "age").loc["overall", "statistic"] == "mean (SD)"
    assert _rows(t, "crp").loc["overall", "statistic"] == "median (IQR)"
    note = t["summary"].iloc[-1]
    assert note.startswith("mean (SD) for continuous variables except median (IQR) for crp; n (%) for categories")
    flipped = table1(d, spec=Table1Spec(summary="median_iqr", mean_sd=frozenset({"age"})))
    assert _rows(flipped, "age").loc["overall", "statistic"] == "mean (SD)"
    assert _rows(flipped, "crp").loc["overall", "statistic"] == "median (IQR)"


def test_small_strata_hide_medians_as_means() -> None:
    d = pd.DataFrame({"x": np.arange(12.0), "grp": ["a"] * 9 + ["b"] * 3})
    t = table1(d, by="grp", spec=Table1Spec(summary="median_iqr"))
    x = _rows(t, "x")
    assert x.loc["grp=b", "summary"] == "<5" and np.isnan(x.loc["grp=b", "median"])
    assert not x.loc["grp=a", "summary"].startswith("<")


def test_bad_config_and_grouping_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="summary is 'median'"):
        Table1Spec.from_config({"summary": "median"})
    with pytest.raises(ConfigError, match="both median_iqr and mean_sd"):
        Table1Spec.from_config({"median_iqr": ["crp"], "mean_sd": ["crp"]})
    with pytest.raises(ConfigError, match="weighted quantiles are not implemented; set table1.weighted: false"):
        table1(DESIGN, columns=["y"], survey=SURVEY, spec=Table1Spec(summary="median_iqr"))
    with pytest.raises(DataError, match="'grip_q' is not in the cohort table.*derive"):
        table1(DESIGN, by="grip_q")
    with pytest.raises(DataError, match="'y' has 22 distinct values"):
        table1(DESIGN, by="y")


def test_cohort_table1_by_a_derived_grouping_and_weighted_by_its_design() -> None:
    """build_cohort: table1.by names a column the cohort derives (low grip, EWGSOP2), and the declared
    survey design weights the table unless table1.weighted is false."""
    spec = {"simulate": {"design": "nhanes_1999_2002", "n": 400},
            "survey": {"weight": "survey_weight", "strata": "survey_strata", "psu": "survey_psu"},
            "table1": {"by": "low_mm_fnih_alm"}}
    c = build_cohort("t", spec, seed=5)
    t = c.table1
    assert {"low_mm_fnih_alm=0", "low_mm_fnih_alm=1"} <= set(t["stratum"])
    assert "survey-weighted (weights: survey_weight)" in t["summary"].iloc[-1]
    age = _rows(t, "age").loc["overall"]
    w = c.data["survey_weight"]
    assert age["mean"] == pytest.approx(float((w * c.data["age"]).sum() / w.sum()), abs=1e-9)
    with pytest.raises(DataError, match=r"cohorts\.t\.table1\.by: the column 'grip_q'"):
        build_cohort("t", {**spec, "table1": {"by": "grip_q"}}, seed=5)
    off = build_cohort("t", {**spec, "table1": {"by": "low_mm_fnih_alm", "weighted": False}}, seed=5).table1
    assert _rows(off, "age").loc["overall", "mean"] == pytest.approx(float(c.data["age"].mean()), abs=1e-9)


def test_rendered_caption_and_rows_say_which_statistic() -> None:
    from musclecog.manuscript import table1_rendered

    rng = np.random.default_rng(4)
    d = pd.DataFrame({"age": rng.normal(70, 5, 40), "crp": rng.lognormal(0, 1, 40), "sex": ["male", "female"] * 20})
    r = table1_rendered(table1(d, by="sex", spec=Table1Spec(median_iqr=frozenset({"crp"}))), "c")
    assert "mean (SD) for continuous variables except median (IQR) for crp" in r.caption
    assert "overall and by sex" in r.caption
    rows = list(r.frame["Characteristic"])
    assert rows == ["age (years), mean (SD)", "crp, median (IQR)"]
    weighted = table1_rendered(table1(DESIGN, by="g", columns=["y", "b"], survey=SURVEY), "d")
    assert "survey-weighted (weights: w)" in weighted.caption
    assert "y" in list(weighted.frame["Characteristic"])  # one statistic for all: rows keep their labels
