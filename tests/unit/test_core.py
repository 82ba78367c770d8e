"""The core: design builder, inference, the result model and typed specs.

References: statsmodels (an independent implementation: OLS, GLM binomial) and R values in docstrings.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from musclecog.core.design import (
    INTERCEPT,
    DesignSpec,
    build_design,
    count_exclusions,
    factor_levels,
    per_unit_scale,
    strata,
    unit_columns,
)
from musclecog.core.inference import fdr_bh, joint_wald_test, logistic_regression, ols
from musclecog.core.results import AnalysisResult, Diagnostics, Estimate, FitResult, apply_fdr
from musclecog.core.spec import AnalysisSpec, RunContext, freeze
from musclecog.errors import ConfigError, DataError, ModelError


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 400
    df = pd.DataFrame(
        {
            "grip": rng.normal(30, 8, n),
            "age": rng.normal(70, 6, n),
            "sex": rng.choice(["female", "male"], n),
            "edu": rng.choice([1.0, 2.0, 3.0], n),
        }
    )
    df["dsst"] = 40 + 0.3 * df["grip"] - 0.4 * df["age"] + (df["sex"] == "male") * 2 + rng.normal(0, 5, n)
    df["low"] = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.05 * (df["grip"] - 30))))).astype(float)
    df.loc[[3, 7, 11], "age"] = np.nan
    df.loc[[7, 20], "grip"] = np.nan
    return df


def test_design_labels_levels_reference_and_exclusions(frame: pd.DataFrame) -> None:
    spec = DesignSpec(
        outcome="dsst", exposure="grip", covariates=("age", "sex", "edu"), factors=("edu",),
        references={"edu": 2},
    )
    d = build_design(frame, spec, "analyses.t")
    assert d.names == (INTERCEPT, "grip", "age", "sex[male]", "edu[1]", "edu[3]")
    assert d.exposure_terms == ("grip",)
    # rows 7 and 20 lack grip (7 lacks age too, counted once, under the first column it lacks), 3 and 11 age
    assert dict(d.exclusions) == {"missing grip": 2, "missing age": 2}
    assert d.n == len(frame) - 4 and d.n_excluded == 4 and d.n_input == len(frame)
    assert d.codings["edu"].levels == (2.0, 1.0, 3.0)
    # the design remembers its coding: rebuilt on the same rows it is the same matrix
    np.testing.assert_array_equal(d.transform(frame.loc[d.rows]), d.x)


def test_design_interactions_and_scaling(frame: pd.DataFrame) -> None:
    spec = DesignSpec(outcome="dsst", exposure="grip", covariates=("age",), interactions=(("grip", "sex"),),
                      scales={"grip": 8.0})
    d = build_design(frame, spec, "t")
    assert d.names[-1] == "grip:sex[male]" and d.interaction_terms == ("grip:sex[male]",)
    g = d.x[:, d.index("grip")]
    np.testing.assert_allclose(g, frame.loc[d.rows, "grip"].to_numpy() / 8.0)
    np.testing.assert_allclose(d.x[:, -1], g * d.x[:, d.index("sex[male]")])
    np.testing.assert_array_equal(d.transform(frame.loc[d.rows]), d.x)


def test_design_drops_constant_covariate_and_refuses_constant_exposure(frame: pd.DataFrame) -> None:
    women = frame[frame["sex"] == "female"]
    d = build_design(women, DesignSpec(outcome="dsst", exposure="grip", covariates=("age", "sex")), "t")
    assert d.dropped == ("sex",) and "sex[male]" not in d.names
    const = frame.assign(grip=5.0)
    with pytest.raises(ModelError, match="exposure 'grip' is constant"):
        build_design(const, DesignSpec(outcome="dsst", exposure="grip"), "t")
    with pytest.raises(ModelError, match="takes a single value"):
        build_design(women, DesignSpec(outcome="dsst", exposure="sex"), "t")


def test_design_errors_name_the_column_and_the_fix(frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"'gripp' \(did you mean 'grip'\?\)"):
        build_design(frame, DesignSpec(outcome="dsst", exposure="gripp"), "analyses.t")
    with pytest.raises(DataError, match="reference level 'phd' does not occur"):
        build_design(frame, DesignSpec(outcome="dsst", exposure="sex", references={"sex": "phd"}), "t")
    collinear = frame.assign(age2=frame["age"] * 2)
    with pytest.raises(ModelError, match=r"rank deficient.*'age'.*'age2'"):
        build_design(collinear, DesignSpec(outcome="dsst", exposure="grip", covariates=("age", "age2")), "t")
    with pytest.raises(ModelError, match="too few to fit"):
        build_design(frame.head(3), DesignSpec(outcome="dsst", exposure="grip", covariates=("age",)), "t")


def test_levels_strata_and_per_sd(frame: pd.DataFrame) -> None:
    cat = pd.Series(pd.Categorical(["b", "a", "b"], categories=["b", "a", "c"]))
    assert factor_levels(cat) == ["b", "a"]  # categorical order, unobserved levels left out
    assert factor_levels(pd.Series([3.0, 1.0, 2.0, None])) == [1.0, 2.0, 3.0]
    labels = [s.label for s in strata(frame, "sex", "t")]
    assert labels == ["overall", "sex=female", "sex=male"]
    assert [s.label for s in strata(frame, "edu", "t", overall=False)] == ["edu=1", "edu=2", "edu=3"]
    sd, label = per_unit_scale(frame, "grip", "sd", "t")
    assert sd == pytest.approx(frame["grip"].std()) and label.startswith("per SD (")
    with pytest.raises(ConfigError, match="must be positive"):
        per_unit_scale(frame, "grip", -2, "t")
    assert per_unit_scale(frame, "grip", None, "t") == (1.0, "per unit")
    assert per_unit_scale(frame, "grip", 5, "t") == (5.0, "per 5 units")
    with pytest.raises(ConfigError, match="'sex' is not numeric.*Remove 'exposure_per'"):
        per_unit_scale(frame, "sex", "sd", "t")
    with pytest.raises(ConfigError, match="'edu' is listed as categorical"):
        per_unit_scale(frame, "edu", 2, "t", factors=("edu",))
    assert unit_columns(None, "per unit") == {}
    assert unit_columns("sd", "per SD (3)") == {"exposure_unit": "per SD (3)"}
    assert count_exclusions(frame, ["grip", "age"]) == {"missing grip": 2, "missing age": 2}


def test_ols_and_fit_result_match_statsmodels(frame: pd.DataFrame) -> None:
    d = build_design(frame, DesignSpec(outcome="dsst", exposure="grip", covariates=("age", "sex")), "t")
    beta, xtx_inv, sigma2 = ols(d.x, d.y)
    fit = FitResult.from_arrays(d.names, beta, sigma2 * xtx_inv, d.n - len(d.names), Diagnostics(n=d.n))
    ref = sm.OLS(d.y, d.x).fit()
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(fit.std_errors, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(fit.p_values, ref.pvalues, rtol=1e-8)
    np.testing.assert_allclose(fit.conf_int().to_numpy(), ref.conf_int(), rtol=1e-10)
    assert list(fit.summary.columns) == ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
    f, k, p = fit.wald_test(["age", "sex[male]"])
    ftest = ref.f_test(np.eye(len(d.names))[[2, 3]])
    assert (f, k) == (pytest.approx(float(ftest.fvalue), rel=1e-9), 2)
    assert p == pytest.approx(float(ftest.pvalue), rel=1e-8)
    with pytest.raises(ModelError, match="does not have"):
        fit.wald_test(["bmi"])


def test_logistic_matches_statsmodels_and_reports_odds_ratios(frame: pd.DataFrame) -> None:
    d = build_design(frame, DesignSpec(outcome="low", exposure="grip", covariates=("age",)), "t")
    beta, cov, loglik = logistic_regression(d.x, d.y, d.names, "t")
    ref = sm.GLM(d.y, d.x, family=sm.families.Binomial()).fit(tol=1e-12)
    np.testing.assert_allclose(beta, ref.params, rtol=1e-7)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), ref.bse, rtol=1e-6)
    assert loglik == pytest.approx(ref.llf, rel=1e-9)
    fit = FitResult.from_arrays(d.names, beta, cov, None, Diagnostics(n=d.n, log_likelihood=loglik))
    (row,) = fit.estimates(["grip"], "odds_ratio", outcome="low", exposure="grip", method="logistic")
    assert row.estimate == pytest.approx(math.exp(beta[1]))
    assert row.conf_low == pytest.approx(math.exp(beta[1] - 1.959963984540054 * math.sqrt(cov[1, 1])))
    assert row.std_error == pytest.approx(math.sqrt(cov[1, 1]))  # log scale
    separated = frame.assign(low=(frame["grip"] > 30).astype(float))
    sd = build_design(separated, DesignSpec(outcome="low", exposure="grip"), "t")
    with pytest.raises(ModelError, match="separation"):
        logistic_regression(sd.x, sd.y, sd.names, "t")


def test_joint_wald_chi2_and_fdr() -> None:
    stat, k, p = joint_wald_test(np.array([1.0, 2.0]), np.diag([1.0, 4.0]), [0, 1], None)
    assert (stat, k) == (2.0, 2) and p == pytest.approx(math.exp(-1.0))  # chi2(2) survival = exp(-x/2)
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH") -> 0.02 0.04 0.04 0.02
    np.testing.assert_allclose(fdr_bh([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02], rtol=1e-12)


def test_fdr_bh_equals_statsmodels_with_ties_and_missing() -> None:
    """Our BH (no statsmodels import in the inference core) against multipletests(method="fdr_bh")."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 250):
        p = np.round(rng.uniform(0, 1, m) ** 3, 3)  # rounded: ties
        p[rng.random(m) < 0.1] = np.nan
        ours = fdr_bh(p)
        ok = ~np.isnan(p)
        assert np.isnan(ours[~ok]).all()
        if ok.any():
            np.testing.assert_allclose(ours[ok], multipletests(p[ok], method="fdr_bh")[1], rtol=1e-15, atol=0)


def test_apply_fdr_families_and_tidy_view() -> None:
    rows = [
        Estimate(term="x", estimate=0.1, scale="beta", p_value=p, outcome=o, method=m, n=50, extra={"model": "a"})
        for o, m, p in [("y1", "linear", 0.01), ("y2", "linear", 0.04), ("y3", "logistic", 0.03)]
    ] + [Estimate.missing("x", "beta", "too few people", n=3, outcome="y4")]
    fdr = apply_fdr(rows, family=lambda e: e.term, include=lambda e: not e.note)
    # one family over the three outcomes: p.adjust(c(0.01, 0.04, 0.03), "BH") -> 0.03 0.04 0.04
    assert [e.p_fdr for e in fdr[:3]] == pytest.approx([0.03, 0.04, 0.04])
    assert fdr[3].p_fdr is None
    tidy = AnalysisResult(analysis="a", cohort="c", estimates=tuple(fdr)).to_tidy()
    assert list(tidy.columns[-3:]) == ["p_fdr", "note", "model"]
    assert tidy["p_fdr"].isna().tolist() == [False, False, False, True]
    assert tidy.loc[3, "note"] == "too few people" and pd.isna(tidy.loc[0, "note"])
    assert "statistic" not in tidy.columns  # optional columns appear only where some row has them


def test_result_objects_are_frozen() -> None:
    fit = FitResult.from_arrays(["a"], np.array([1.0]), np.array([[1.0]]), None, Diagnostics(n=10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.method = "x"  # type: ignore[misc]
    assert fit.df_resid is None and fit.diagnostics.n_excluded == 0


def test_freeze_and_run_context() -> None:
    frozen = freeze({"models": {"crude": [], "adj": ["age"]}, "x": [1, [2]]})
    assert frozen["models"]["adj"] == ("age",) and frozen["x"] == (1, (2,))
    with pytest.raises(TypeError):
        frozen["y"] = 1  # type: ignore[index]
    assert RunContext("dsst", "nhanes").where == "analyses.dsst"
    assert AnalysisSpec().where == "analyses.analysis"


def test_term_labels_come_from_the_variable_dictionary() -> None:
    df = pd.DataFrame({"dsst": [40.0, 50, 45, 60, 30, 52], "grip_kg": [20.0, 30, 25, 40, 18, 33],
                       "sex": ["female", "male", "female", "male", "female", "male"]})
    d = build_design(df, DesignSpec(outcome="dsst", exposure="grip_kg", covariates=("sex",),
                                    interactions=(("grip_kg", "sex"),), scales={"grip_kg": 5.0}), "t")
    beta, xtx_inv, s2 = ols(d.x, d.y)
    fit = FitResult.from_arrays(d.names, beta, s2 * xtx_inv, 2, Diagnostics(n=6), codings=d.codings)
    assert fit.term_labels.tolist() == [
        "Intercept",
        "Grip strength, per 5 kg",
        "Sex: male",
        "Grip strength, per 5 kg × Sex: male",
    ]
    from musclecog.variables import variable_label

    assert variable_label("dsst") == "Digit symbol substitution test (score)"
    assert variable_label("my_own_column") == "my_own_column"


def test_fit_result_per_term_df_replace_df_resid_term_by_term() -> None:
    """``df_terms`` (e.g. Satterthwaite's) gives each term its own t test and interval; a NaN entry falls
    back to z; without it nothing changes (``df_resid`` for every term)."""
    from scipy import stats

    cov = np.diag([4.0, 1.0, 0.25])
    beta = np.array([3.0, -1.5, 0.4])
    plain = FitResult.from_arrays(["a", "b", "c"], beta, cov, 20.0, Diagnostics(n=30))
    per = plain.with_term_df([5.0, 50.0, np.nan])
    assert plain.df_terms is None
    z = np.abs(beta) / np.sqrt(np.diag(cov))
    np.testing.assert_allclose(plain.p_values, 2 * stats.t.sf(z, 20.0))
    np.testing.assert_allclose(per.p_values, [2 * stats.t.sf(z[0], 5.0), 2 * stats.t.sf(z[1], 50.0), 2 * stats.norm.sf(z[2])])
    q = np.array([stats.t.ppf(0.975, 5.0), stats.t.ppf(0.975, 50.0), stats.norm.ppf(0.975)])
    np.testing.assert_allclose(per.conf_int()["conf_low"], beta - q * np.sqrt(np.diag(cov)))
    rows = per.estimates(per.terms, "beta", df=True)
    assert [r.df for r in rows][:2] == [5.0, 50.0] and math.isnan(rows[2].df or 0.0)
    assert [r.df for r in plain.estimates(plain.terms, "beta", df=True)] == [20.0] * 3
