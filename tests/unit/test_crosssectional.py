"""Unit tests of the cross-sectional analysis types: options, bad input, notes, FDR, figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.inference import fdr_bh as benjamini_hochberg
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.crosssectional import correlation_matrix
from musclecog.errors import ConfigError, DataError, ModelError


def fit(kind: str, data: pd.DataFrame, entry: dict, context: RunContext) -> AnalysisResult:
    """Fit an analysis entry of type ``kind`` as the pipeline does (spec from the schema, ``fit_<kind>``)."""
    return run_analysis(data, {"type": kind, "cohort": context.cohort, **entry}, context)


def _data(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = np.where(rng.random(n) < 0.5, "male", "female")
    age = rng.integers(60, 90, n).astype(float)
    grip = 25 + 10 * (sex == "male") - 0.2 * (age - 70) + rng.normal(0, 5, n)
    y1 = 40 + 0.5 * grip - 0.3 * age + rng.normal(0, 8, n)
    y2 = 10 + rng.normal(0, 2, n)  # unrelated to grip
    b = (rng.random(n) < 1 / (1 + np.exp(-(grip - 30) / 5))).astype(int)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "sex": sex,
            "age": age,
            "grip_kg": grip,
            "y1": y1,
            "y2": y2,
            "b": b,
            "edu": rng.choice(["a", "b", "c"], n),
            "site": rng.integers(1, 4, n),
            "group": (grip < 28).astype(int),
            "age_group": pd.Categorical(
                np.where(age < 70, "60-69", np.where(age < 80, "70-79", "80+")),
                categories=["<60", "60-69", "70-79", "80+"],
            ),
        }
    )


def ctx(survey=None) -> RunContext:
    return RunContext("a1", "c1", 1, survey=survey)


def test_regression_per_sd_per_unit_and_fdr() -> None:
    d = _data()
    per_kg = fit(
        "regression", d, {"outcomes": ["y1", "y2"], "exposure": "grip_kg", "covariates": ["age"]}, ctx()
    ).to_tidy()
    per5 = fit(
        "regression",
        d, {"outcomes": ["y1", "y2"], "exposure": "grip_kg", "exposure_per": 5, "covariates": ["age"]}, ctx()
    ).to_tidy()
    per_sd = fit(
        "regression",
        d,
        {"outcomes": ["y1", "y2"], "exposure": "grip_kg", "exposure_per": "sd", "covariates": ["age"]},
        ctx(),
    ).to_tidy()
    assert per5["estimate"].iloc[0] == pytest.approx(5 * per_kg["estimate"].iloc[0])
    assert per_sd["estimate"].iloc[0] == pytest.approx(d["grip_kg"].std() * per_kg["estimate"].iloc[0])
    assert per_sd["statistic"].iloc[0] == pytest.approx(per_kg["statistic"].iloc[0])
    np.testing.assert_allclose(per_kg["p_fdr"], benjamini_hochberg(per_kg["p_value"]))
    assert per_kg["p_fdr"].iloc[1] >= per_kg["p_value"].iloc[1]
    assert list(per_kg.columns[:14]) == [
        "analysis",
        "cohort",
        "method",
        "outcome",
        "exposure",
        "term",
        "stratum",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "p_value",
        "n",
        "scale",
    ]


def test_fdr_family_is_all_outcomes_of_a_term_linear_and_logistic_together() -> None:
    """Benjamini-Hochberg over every outcome of the analysis for the exposure term (issue 11's bug fix).

    Raw p-values of grip_kg (adjusted for age) on ``_data()``: y1 (linear) 2.7334770849763373e-21,
    y2 (linear) 0.919814499758992, b (logistic) 1.2739743570645748e-20 (statsmodels' GLM run to convergence, tol 1e-15:
    1.2739743570611787e-20). BH by hand (m = 3, ranks
    1: y1, 2: b, 3: y2; q_(i) = min_{j >= i} p_(j) m / j), as R's
    ``p.adjust(c(2.7334770849763373e-21, 0.919814499758992, 1.2739743570645748e-20), "BH")``:
    y2 0.919814499758992 * 3/3 = 0.919814499758992; b min(1.2739743570645748e-20 * 3/2, 0.9198...) =
    1.9109615355968623e-20; y1 min(2.7334770849763373e-21 * 3, 1.91e-20) = 8.200431254929011e-21.
    Before the fix the logistic outcome was its own family (p_fdr = p = 1.27e-20) and y1 was corrected
    with y2 only (5.4669541699526746e-21); ``fdr_family: by_method`` keeps that split on request.
    """
    d = _data()
    entry = {"outcomes": ["y1", "y2", "b"], "exposure": "grip_kg", "covariates": ["age"]}
    t = fit("regression", d, entry, ctx()).to_tidy().set_index("outcome")
    assert t.loc["b", "method"] == "logistic regression, adjusted"
    assert t.loc["y1", "p_value"] == pytest.approx(2.7334770849763373e-21, rel=1e-6, abs=0)
    assert t.loc["y2", "p_value"] == pytest.approx(0.919814499758992, rel=1e-6, abs=0)
    assert t.loc["b", "p_value"] == pytest.approx(1.2739743570645748e-20, rel=1e-6, abs=0)
    assert t.loc["b", "p_fdr"] == pytest.approx(1.9109615355968623e-20, rel=1e-6, abs=0)
    assert t.loc["y1", "p_fdr"] == pytest.approx(8.200431254929011e-21, rel=1e-6, abs=0)
    assert t.loc["y2", "p_fdr"] == pytest.approx(0.919814499758992, rel=1e-6, abs=0)
    assert t.loc["b", "p_fdr"] > 1.4 * t.loc["b", "p_value"]  # 3/2 of it: not its own family
    assert set(t["fdr_family"]) == {"3 outcomes (y1, y2, b); same term, model, weighting, stratum"}
    split = fit("regression", d, {**entry, "fdr_family": "by_method"}, ctx()).to_tidy().set_index("outcome")
    assert split.loc["b", "p_fdr"] == split.loc["b", "p_value"]
    assert split.loc["y1", "p_fdr"] == pytest.approx(5.4669541699526746e-21, rel=1e-6, abs=0)
    assert split.loc["b", "fdr_family"] == "1 outcome (b); same term, method, stratum"
    assert "p_fdr" not in fit("regression", d, {**entry, "fdr": False}, ctx()).to_tidy().columns


def test_logistic_odds_ratio_and_factor_covariates() -> None:
    d = _data()
    t = fit(
        "regression",
        d,
        {
            "outcome": "b",
            "exposure": "grip_kg",
            "covariates": ["age", "edu", "site"],
            "factors": ["site"],
            "report_covariates": True,
        },
        ctx(),
    ).to_tidy()
    assert set(t["scale"]) == {"odds_ratio"}
    assert {"edu[b]", "edu[c]", "site[2]", "site[3]", "age", "grip_kg"} == set(t["term"])
    row = t[t["term"] == "grip_kg"].iloc[0]
    assert row["conf_low"] < row["estimate"] < row["conf_high"]
    assert np.log(row["conf_high"]) - np.log(row["estimate"]) == pytest.approx(
        1.959964 * row["std_error"], rel=1e-5
    )


def test_models_strata_interaction_and_small_stratum_note() -> None:
    d = _data()
    d.loc[d.index[:5], "edu"] = "tiny"
    spec = {
        "outcome": "y1",
        "exposure": "grip_kg",
        "models": {"crude": [], "adjusted": ["age", "sex"]},
        "by": "sex",
        "interaction": "sex",
    }
    t = fit("regression", d, spec, ctx()).to_tidy()
    assert set(t["method"]) == {"linear regression, crude", "linear regression, adjusted"}
    inter = t[t["term"] == "grip_kg:sex[male]"]
    assert len(inter) == 2 and (inter["stratum"] == "overall").all()
    strat = t[(t["term"] == "grip_kg") & (t["stratum"] != "overall")]
    assert set(strat["stratum"]) == {"sex=female", "sex=male"} and strat["estimate"].notna().all()
    small = fit(
        "regression", d, {"outcome": "y1", "exposure": "grip_kg", "by": "edu", "min_n": 20}, ctx()
    ).to_tidy()
    tiny = small[small["stratum"] == "edu=tiny"].iloc[0]
    # withheld with the reason; the row does not carry the n below min_n (musclecog.disclosure)
    assert np.isnan(tiny["estimate"]) and "too few people" in tiny["note"] and pd.isna(tiny["n"])
    assert tiny["note"].startswith("withheld: fewer than 20 people")


def test_constant_exposure_is_an_error_overall_and_a_note_in_a_stratum() -> None:
    d = _data()
    d["const"] = 3.0
    with pytest.raises(ModelError, match="exposure 'const' is constant"):
        fit("regression", d, {"outcome": "y1", "exposure": "const"}, ctx())
    d["x2"] = np.where(d["sex"] == "male", 1.0, d["grip_kg"])
    t = fit("regression", d, {"outcome": "y1", "exposure": "x2", "by": "sex"}, ctx()).to_tidy()
    male = t[t["stratum"] == "sex=male"].iloc[0]
    assert np.isnan(male["estimate"]) and "constant" in male["note"]


def test_perfect_separation() -> None:
    d = _data()
    d["sep"] = (d["grip_kg"] > 30).astype(int)
    with pytest.raises(ModelError, match="separation.*grip_kg"):
        fit("regression", d, {"outcome": "sep", "exposure": "grip_kg", "covariates": ["age"]}, ctx())


def test_bad_config_and_columns() -> None:
    d = _data()
    with pytest.raises(DataError, match="'grip' .*did you mean 'grip_kg'"):
        fit("regression", d, {"outcome": "y1", "exposure": "grip"}, ctx())
    with pytest.raises(ConfigError, match="exposure_per"):
        fit("regression", d, {"outcome": "y1", "exposure": "grip_kg", "exposure_per": "iqr"}, ctx())
    with pytest.raises(ConfigError, match="declares no survey"):
        fit("regression", d, {"outcome": "y1", "exposure": "grip_kg", "weighting": "weighted"}, ctx())
    with pytest.raises(DataError, match="must be numeric"):
        fit("regression", d, {"outcome": "sex", "exposure": "grip_kg", "family": "gaussian"}, ctx())
    # a formula-looking name is just a (missing) column name, never evaluated
    with pytest.raises(DataError, match="not in the cohort table"):
        fit("regression", d, {"outcome": "y1", "exposure": "grip_kg", "covariates": ["np.log(age)"]}, ctx())


def test_mixed_model_runs_and_is_unweighted_only() -> None:
    d = _data()
    t = fit(
        "regression", d, {"outcome": "y1", "exposure": "grip_kg", "random_intercept": "site"}, ctx()
    ).to_tidy()
    assert t["method"].iloc[0].startswith("linear mixed model (random intercept: site)")
    with pytest.raises(ConfigError, match="linear"):
        fit(
            "regression",
            d,
            {"outcome": "b", "exposure": "grip_kg", "random_intercept": "site", "family": "binomial"},
            ctx(),
        )


def test_group_comparison_rows_and_notes() -> None:
    d = _data()
    t = fit(
        "group_comparison",
        d,
        {"outcome": "y1", "group": "group", "by": "age_group", "covariates": ["age", "sex"], "min_n": 10},
        ctx(),
    ).to_tidy()
    assert set(t["stratum"]) == {"overall", "age_group=60-69", "age_group=70-79", "age_group=80+"}
    ov = t[t["stratum"] == "overall"]
    m1 = ov[(ov["term"] == "group=1") & (ov["scale"] == "mean")]["estimate"].iloc[0]
    m0 = ov[(ov["term"] == "group=0") & (ov["scale"] == "mean")]["estimate"].iloc[0]
    welch = ov[ov["method"] == "Welch two-sample t-test"].iloc[0]
    assert welch["estimate"] == pytest.approx(m1 - m0)
    assert (ov["method"] == "linear regression, adjusted for age, sex").sum() == 1
    d2 = d.copy()
    d2.loc[(d2["age_group"] == "80+") & (d2["group"] == 1), "group"] = 0
    d2.loc[d2[(d2["age_group"] == "80+")].index[:3], "group"] = 1
    t2 = fit("group_comparison", d2, {"outcome": "y1", "group": "group", "by": "age_group"}, ctx()).to_tidy()
    old = t2[t2["stratum"] == "age_group=80+"]
    assert old[old["term"] == "group=1"]["note"].str.contains("too few people").all()
    assert old[old["scale"] == "mean_difference"]["estimate"].isna().all()
    assert old[old["term"] == "group=0"]["estimate"].notna().all()


def test_correlations_partial_matrix_and_r_squared() -> None:
    d = _data()
    res = fit(
        "correlation",
        d,
        {
            "variables": ["grip_kg", "y1", "y2"],
            "method": "both",
            "partial": ["age", "sex"],
            "r_squared": True,
        },
        ctx(),
    )
    t = res.to_tidy()
    assert len(t) == 3 * 4
    p = t[(t["term"] == "pearson") & (t["exposure"] == "grip_kg") & (t["outcome"] == "y1")].iloc[0]
    assert p["estimate"] == pytest.approx(np.corrcoef(d["grip_kg"], d["y1"])[0, 1])
    r2 = t[(t["term"] == "r_squared") & (t["exposure"] == "grip_kg") & (t["outcome"] == "y1")].iloc[0]
    assert r2["estimate"] == pytest.approx(p["estimate"] ** 2)
    assert r2["conf_low"] == pytest.approx(p["conf_low"] ** 2)
    mat = correlation_matrix(res)
    assert mat.shape == (3, 3) and mat.loc["y1", "grip_kg"] == pytest.approx(p["estimate"])
    with pytest.raises(ConfigError, match="exactly one of"):
        fit("correlation", d, {"pairs": [["grip_kg", "y1"]], "variables": ["a", "b"]}, ctx())


def test_run_analysis_keep_if_and_figure(tmp_path) -> None:
    from musclecog.plots import draw, save_figure

    d = _data()
    spec = {
        "type": "regression",
        "cohort": "c1",
        "outcomes": ["y1", "b"],
        "exposure": "grip_kg",
        "by": "sex",
        "keep_if": {"age": {"min": 65}},
    }
    res = run_analysis(d, spec, ctx())
    t = res.to_tidy()
    assert t[t["stratum"] == "overall"]["n"].max() == int((d["age"] >= 65).sum())
    save_figure(draw(res), tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
    g = fit("group_comparison", d, {"outcome": "y1", "group": "group"}, ctx())
    save_figure(draw(g), tmp_path / "g.png")


def test_deterministic_tables(tmp_path) -> None:
    from musclecog.results import write_table

    d = _data()
    spec = {
        "outcomes": ["y1", "y2", "b"],
        "exposure": "grip_kg",
        "covariates": ["age", "sex"],
        "by": "age_group",
    }
    write_table(fit("regression", d, spec, ctx()).to_tidy(), tmp_path / "a.tsv")
    write_table(fit("regression", d, spec, ctx()).to_tidy(), tmp_path / "b.tsv")
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()


def test_group_comparison_with_nullable_flags_and_missing() -> None:
    d = _data()
    d["flag"] = pd.array(d["group"].to_numpy(), dtype="Int8")
    d.loc[d.index[:7], "flag"] = pd.NA
    t = fit("group_comparison", d, {"outcome": "y1", "group": "flag"}, ctx()).to_tidy()
    means = t[t["scale"] == "mean"].set_index("term")
    assert means["n"].sum() == len(d) - 7
    ref = fit(
        "group_comparison",
        d.dropna(subset=["flag"]).astype({"flag": int}), {"outcome": "y1", "group": "flag"}, ctx()
    )
    # the 7 rows with a missing flag are counted in a row of their own (and in the flow table)
    dropped = t[t["scale"] == "count"]
    assert dropped["estimate"].tolist() == [7] and dropped["term"].tolist() == ["excluded (y1, flag)"]
    rest = t[t["scale"] != "count"].drop(columns=["exposure", "note"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, ref.to_tidy().drop(columns="exposure"))


def test_schemas_accept_the_defaults_and_reject_misspelt_keys(repo_dir) -> None:
    import copy

    import yaml

    from musclecog.config import validate_config

    with open(repo_dir / "config" / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    validate_config(copy.deepcopy(cfg), repo_dir / "workflow" / "schemas", base_dir=repo_dir)
    bad = copy.deepcopy(cfg)
    bad["analyses"]["jiang_grip_cognition"]["exposure_pr"] = "sd"
    with pytest.raises(ConfigError, match="exposure_pr.*did you mean 'exposure_per'"):
        validate_config(bad, repo_dir / "workflow" / "schemas", base_dir=repo_dir)
    bad = copy.deepcopy(cfg)
    bad["analyses"]["liao_strength_nback"]["method"] = "kendall"
    with pytest.raises(ConfigError, match="kendall"):
        validate_config(bad, repo_dir / "workflow" / "schemas", base_dir=repo_dir)
