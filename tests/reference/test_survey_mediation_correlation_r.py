"""Survey-weighted correlations and mediation on the NHANES 2011-2014 example against R's survey package.

The analysis table is the example's cohort (config/examples/nhanes_2011_2014.yaml: age 60+ with DSST and
combined grip, n = 2,688); survey design WTMEC2YR / 2, strata SDMVSTRA, PSUs SDMVPSU nested. The reference
numbers were computed once in R 4.x with survey 4.1.1 by ``tests/data/survey_mediation_correlation.R`` (the
R calls and how the table was exported are in its header). Tolerances: estimates 1e-6, standard errors and
intervals 1e-5 (relative), p-values 1e-4 relative.

Correlations (R)::

    des <- svydesign(ids = ~survey_psu, strata = ~survey_strata, weights = ~w, nest = TRUE, data = d)
    m <- svymean(~grip_kg + dsst + I(grip_kg^2) + I(grip_kg*dsst) + I(dsst^2), des)
    r <- svycontrast(m, quote((E_xy - E_x*E_y) / sqrt((E_xx - E_x^2) * (E_yy - E_y^2))))
    z <- svycontrast(m, quote(0.5 * log((1 + r) / (1 - r))))      # r written out; CI tanh(z +- qt * SE(z))
    # t = r / SE(r) on degf(des) - 1 - k df; partial on age and sex by the recursive formula

Mediation (R)::

    a <- svyglm(grip_kg ~ age + sex + education, dd); b <- svyglm(dsst ~ age + grip_kg + sex + education, dd)
    V <- svyrecvar(cbind(infl(a), infl(b)), dd$cluster, dd$strata, dd$fpc)   # infl: svy.varcoef's estfun %*% Ainv
    svycontrast(structure(c(coef(a), coef(b)), var = V, class = "svystat"), quote(a_age * b_grip_kg))
"""

from __future__ import annotations

import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.config import validate_config
from musclecog.core.spec import RunContext
from musclecog.ingest import build_cohort

pytestmark = pytest.mark.shared_data

CORR = {
    "grip_dsst_r": 0.138090897965859,
    "grip_dsst_se": 0.0202004976231905,
    "grip_dsst_lo": 0.096675860538764,
    "grip_dsst_hi": 0.179028584231199,
    "grip_dsst_p": 1.16623288278802e-07,
    "grip_dsst_df": 31,
    "bmi_fluency_r": 0.0100057765229878,
    "bmi_fluency_se": 0.0298161601828528,
    "bmi_fluency_lo": -0.050766757169926,
    "bmi_fluency_hi": 0.0707044839228885,
    "bmi_fluency_p": 0.73944646419594,
    "bmi_fluency_df": 31,
    "grip_dsst_partial_r": 0.18248679261823,
    "grip_dsst_partial_se": 0.0232029796472821,
    "grip_dsst_partial_lo": 0.134641182302601,
    "grip_dsst_partial_hi": 0.229483458040098,
    "grip_dsst_partial_p": 1.12938132026618e-08,
    "grip_dsst_partial_df": 29,
    "grip_dsst_7079_r": 0.0624914770102816,
    "grip_dsst_7079_se": 0.0403200082170052,
    "grip_dsst_7079_lo": -0.019979919411115,
    "grip_dsst_7079_hi": 0.144118205811243,
    "grip_dsst_7079_p": 0.131318575809877,
    "grip_dsst_7079_df": 31,
}

MED = {
    "simple_grip_kg_age_est": -0.912239914922673,
    "simple_grip_kg_age_se": 0.0420572040475196,
    "simple_grip_kg_age_lo": -0.99868973594936,
    "simple_grip_kg_age_hi": -0.825790093895986,
    "simple_grip_kg_age_df": 26,
    "simple_dsst_age_est": -0.724523808588289,
    "simple_dsst_age_se": 0.0576622322486661,
    "simple_dsst_age_lo": -0.843281398942231,
    "simple_dsst_age_hi": -0.605766218234346,
    "simple_dsst_age_df": 25,
    "simple_dsst_grip_kg_est": 0.181149799039709,
    "simple_dsst_grip_kg_se": 0.0267114322239212,
    "simple_dsst_grip_kg_lo": 0.126136574575287,
    "simple_dsst_grip_kg_hi": 0.236163023504131,
    "simple_dsst_grip_kg_df": 25,
    "simple_c_est": -0.889775885852533,
    "simple_c_se": 0.0519369422275251,
    "simple_ind_grip_kg_est": -0.165252077264243,
    "simple_ind_grip_kg_se": 0.0241534612518984,
    "simple_ctot_est": -0.889775885852532,
    "simple_ctot_se": 0.0519369422275252,
    "simple_pm_est": 0.185723258959652,
    "simple_pm_se": 0.0294066190091715,
    "simple_n": 2686,
    "parallel_grip_kg_age_est": -0.914221208136947,
    "parallel_grip_kg_age_se": 0.041993552609877,
    "parallel_grip_kg_age_lo": -0.999983483974336,
    "parallel_grip_kg_age_hi": -0.828458932299558,
    "parallel_grip_kg_age_df": 30,
    "parallel_bmi_age_est": -0.132029916274073,
    "parallel_bmi_age_se": 0.0216883393754952,
    "parallel_bmi_age_lo": -0.176323414403561,
    "parallel_bmi_age_hi": -0.0877364181445858,
    "parallel_bmi_age_df": 30,
    "parallel_dsst_age_est": -0.82479054646894,
    "parallel_dsst_age_se": 0.0583379610950354,
    "parallel_dsst_age_lo": -0.944290442613783,
    "parallel_dsst_age_hi": -0.705290650324096,
    "parallel_dsst_age_df": 28,
    "parallel_dsst_grip_kg_est": 0.235456698351387,
    "parallel_dsst_grip_kg_se": 0.0299568739493978,
    "parallel_dsst_grip_kg_lo": 0.174092823807581,
    "parallel_dsst_grip_kg_hi": 0.296820572895194,
    "parallel_dsst_grip_kg_df": 28,
    "parallel_dsst_bmi_est": -0.203488366299163,
    "parallel_dsst_bmi_se": 0.0839850471257226,
    "parallel_dsst_bmi_lo": -0.375523936635504,
    "parallel_dsst_bmi_hi": -0.0314527959628232,
    "parallel_dsst_bmi_df": 28,
    "parallel_c_est": -1.01318350173446,
    "parallel_c_se": 0.0524358424702239,
    "parallel_ind_grip_kg_est": -0.215259507230742,
    "parallel_ind_grip_kg_se": 0.0276060223943799,
    "parallel_ind_bmi_est": 0.0268665519652265,
    "parallel_ind_bmi_se": 0.0118665727195166,
    "parallel_ind_total_est": -0.188392955265516,
    "parallel_ind_total_se": 0.0307850457452358,
    "parallel_ctot_est": -1.01318350173446,
    "parallel_ctot_se": 0.0524358424702239,
    "parallel_pm_est": 0.185941593939309,
    "parallel_pm_se": 0.0310255082544704,
    "parallel_n": 2659,
    "serial_grip_kg_age_est": -0.93295990616451,
    "serial_grip_kg_age_se": 0.0420470525705916,
    "serial_grip_kg_age_lo": -1.01883144349808,
    "serial_grip_kg_age_hi": -0.847088368830941,
    "serial_grip_kg_age_df": 30,
    "serial_animal_fluency_age_est": -0.214556481322591,
    "serial_animal_fluency_age_se": 0.0221719994137754,
    "serial_animal_fluency_age_lo": -0.259903311748993,
    "serial_animal_fluency_age_hi": -0.169209650896188,
    "serial_animal_fluency_age_df": 29,
    "serial_animal_fluency_grip_kg_est": 0.0503427664430372,
    "serial_animal_fluency_grip_kg_se": 0.0144893482844216,
    "serial_animal_fluency_grip_kg_lo": 0.0207087218365535,
    "serial_animal_fluency_grip_kg_hi": 0.0799768110495208,
    "serial_animal_fluency_grip_kg_df": 29,
    "serial_dsst_age_est": -0.541236958535855,
    "serial_dsst_age_se": 0.0538095251984018,
    "serial_dsst_age_lo": -0.651460774248872,
    "serial_dsst_age_hi": -0.431013142822837,
    "serial_dsst_age_df": 28,
    "serial_dsst_grip_kg_est": 0.163634341586095,
    "serial_dsst_grip_kg_se": 0.0278048441273224,
    "serial_dsst_grip_kg_lo": 0.106678700299184,
    "serial_dsst_grip_kg_hi": 0.220589982873006,
    "serial_dsst_grip_kg_df": 28,
    "serial_dsst_animal_fluency_est": 1.24482937623321,
    "serial_dsst_animal_fluency_se": 0.0733959249499738,
    "serial_dsst_animal_fluency_lo": 1.09448463938701,
    "serial_dsst_animal_fluency_hi": 1.3951741130794,
    "serial_dsst_animal_fluency_df": 28,
    "serial_c_est": -1.01945432490657,
    "serial_c_se": 0.0519029772356541,
    "serial_ind_grip_kg_est": -0.152664279971455,
    "serial_ind_grip_kg_se": 0.0269427266290872,
    "serial_ind_animal_fluency_est": -0.267086210811592,
    "serial_ind_animal_fluency_se": 0.0292688333836401,
    "serial_ind_grip_kg->animal_fluency_est": -0.0584668755876687,
    "serial_ind_grip_kg->animal_fluency_se": 0.0173519833379836,
    "serial_ind_total_est": -0.478217366370716,
    "serial_ind_total_se": 0.0326767039866051,
    "serial_ctot_est": -1.01945432490657,
    "serial_ctot_se": 0.051902977235654,
    "serial_pm_est": 0.46909150776769,
    "serial_pm_se": 0.0347391203726759,
    "serial_n": 2633,
    "binary_grip_kg_age_est": -0.930735577234095,
    "binary_grip_kg_age_se": 0.0435256860623434,
    "binary_grip_kg_age_lo": -1.01962688702083,
    "binary_grip_kg_age_hi": -0.841844267447356,
    "binary_grip_kg_age_df": 30,
    "binary_dsst_low_age_est": 0.0768694054147355,
    "binary_dsst_low_age_se": 0.0120464413532011,
    "binary_dsst_low_age_lo": 0.0522316664769554,
    "binary_dsst_low_age_hi": 0.101507144352516,
    "binary_dsst_low_age_df": 29,
    "binary_dsst_low_grip_kg_est": -0.0332793642470499,
    "binary_dsst_low_grip_kg_se": 0.00598708093965548,
    "binary_dsst_low_grip_kg_lo": -0.045524319654681,
    "binary_dsst_low_grip_kg_hi": -0.0210344088394187,
    "binary_dsst_low_grip_kg_df": 29,
    "binary_c_est": 0.106265266363075,
    "binary_c_se": 0.0114621988009348,
    "binary_ind_grip_kg_est": 0.0309742882924616,
    "binary_ind_grip_kg_se": 0.00552731521997406,
    "binary_n": 2688,
}

SEVERAL = {"parallel": ["grip_kg", "bmi"], "serial": ["grip_kg", "animal_fluency"]}


@pytest.fixture(scope="module")
def example(repo_dir, shared_data_dir):
    with open(repo_dir / "config" / "examples" / "nhanes_2011_2014.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["nhanes_dir"] = str(shared_data_dir / "nhanes_2011_2014")
    cfg = validate_config(cfg, repo_dir / "workflow" / "schemas", base_dir=repo_dir)
    cohort = build_cohort("nhanes_2011_2014", cfg["cohorts"]["nhanes_2011_2014"], seed=1, base_dir=repo_dir)
    data = cohort.data.copy()
    data["dsst_low"] = (data["dsst"] < 40).astype(float)
    return cfg["cohorts"]["nhanes_2011_2014"]["survey"], data


def _run(example, entry):
    survey, data = example
    return run_analysis(data, entry, RunContext("svy", "nhanes_2011_2014", 1, survey=survey)).to_tidy()


def _check_corr(row, tag):
    assert row["estimate"] == pytest.approx(CORR[f"{tag}_r"], rel=1e-6)
    assert row["std_error_r"] == pytest.approx(CORR[f"{tag}_se"], rel=1e-5)
    assert row["conf_low"] == pytest.approx(CORR[f"{tag}_lo"], rel=1e-5)
    assert row["conf_high"] == pytest.approx(CORR[f"{tag}_hi"], rel=1e-5)
    assert row["p_value"] == pytest.approx(CORR[f"{tag}_p"], rel=1e-4)
    assert row["df"] == CORR[f"{tag}_df"]
    # std_error is on the Fisher-z scale, as in the unweighted rows
    r = CORR[f"{tag}_r"]
    assert row["std_error"] == pytest.approx(CORR[f"{tag}_se"] / (1 - r**2), rel=1e-5)


def test_weighted_pearson_partial_and_by_stratum(example) -> None:
    entry = {
        "type": "correlation", "pairs": [["grip_kg", "dsst"], ["bmi", "animal_fluency"]],
        "partial": ["age", "sex"], "by": "age_group", "method": "both", "r_squared": True,
    }
    t = _run(example, entry).set_index(["exposure", "term", "stratum"])
    _check_corr(t.loc[("grip_kg", "pearson", "overall")], "grip_dsst")
    _check_corr(t.loc[("bmi", "pearson", "overall")], "bmi_fluency")  # complete cases: a domain
    _check_corr(t.loc[("grip_kg", "partial_pearson", "overall")], "grip_dsst_partial")
    _check_corr(t.loc[("grip_kg", "pearson", "age_group=70-79")], "grip_dsst_7079")
    pearson = t.loc[("grip_kg", "pearson", "overall")]
    assert pearson["method"] == "survey-weighted Pearson correlation"
    r2 = t.loc[("grip_kg", "r_squared", "overall")]
    assert r2["estimate"] == pytest.approx(CORR["grip_dsst_r"] ** 2, rel=1e-6)
    assert r2["conf_low"] == pytest.approx(CORR["grip_dsst_lo"] ** 2, rel=1e-5)
    # Spearman has no design-based version: unweighted, and the note says so
    spearman = t.loc[("grip_kg", "spearman", "overall")]
    assert spearman["method"] == "Spearman rank correlation"
    assert "survey design not used" in spearman["note"]
    assert spearman["df"] == 2688 - 2


def test_weighting_both_adds_the_unweighted_rows(example) -> None:
    entry = {"type": "correlation", "pairs": [["grip_kg", "dsst"]], "method": "both", "weighting": "both"}
    t = _run(example, entry).set_index("method")
    assert t.loc["survey-weighted Pearson correlation", "estimate"] == pytest.approx(CORR["grip_dsst_r"], rel=1e-6)
    assert t.loc["Pearson correlation", "df"] == 2686  # cor.test's n - 2
    assert list(t.index).count("Spearman rank correlation") == 1


def test_change_correlation_weighted(example) -> None:
    # a wide table of "change scores": grip and DSST themselves, overall and by age group
    entry = {"type": "change_correlation", "x": "grip_kg", "y": "dsst"}
    row = _run(example, entry).iloc[0]
    assert row["method"] == "survey-weighted Pearson correlation of change scores"
    _check_corr(row, "grip_dsst")
    by = _run(example, {**entry, "by": "age_group", "strata": ["70-79"]}).iloc[0]
    _check_corr(by, "grip_dsst_7079")


def _paths(t, label, x, mediators, y):
    paths = t[t["scale"] != "total_effect"].set_index("path")
    for eq in [*mediators, y]:
        for pr in [x, *mediators]:
            tag = f"{label}_{eq}_{pr}"
            if f"{tag}_est" not in MED:
                continue
            row = paths.loc[f"{pr} -> {eq}"]
            assert row["estimate"] == pytest.approx(MED[f"{tag}_est"], rel=1e-6), tag
            assert row["std_error"] == pytest.approx(MED[f"{tag}_se"], rel=1e-5), tag
            assert row["conf_low"] == pytest.approx(MED[f"{tag}_lo"], rel=1e-5), tag
            assert row["conf_high"] == pytest.approx(MED[f"{tag}_hi"], rel=1e-5), tag
            assert row["df"] == MED[f"{tag}_df"], tag


def _effect(t, term, tag):
    row = t.set_index("term").loc[term]
    assert row["estimate"] == pytest.approx(MED[f"{tag}_est"], rel=1e-6), term
    assert row["std_error"] == pytest.approx(MED[f"{tag}_se"], rel=1e-5), term
    assert row["conf_low"] == pytest.approx(MED[f"{tag}_est"] - 1.959963984540054 * MED[f"{tag}_se"], rel=1e-5)
    return row


def test_simple_mediation_design_based(example) -> None:
    entry = {"type": "simple_mediation", "exposure": "age", "mediator": "grip_kg", "outcome": "dsst",
             "covariates": ["sex", "education"], "delta_method": True}
    t = _run(example, entry)
    assert set(t["method"]) == {"survey-weighted simple mediation (PROCESS model 4)"}
    assert set(t["n"]) == {MED["simple_n"]}
    _paths(t, "simple", "age", ["grip_kg"], "dsst")
    c = t.set_index("term").loc["c"]
    assert c["estimate"] == pytest.approx(MED["simple_c_est"], rel=1e-6)
    assert c["std_error"] == pytest.approx(MED["simple_c_se"], rel=1e-5)
    assert c["delta_std_error"] == pytest.approx(MED["simple_ctot_se"], rel=1e-5)  # c' + a b, same here
    ind = _effect(t, "indirect", "simple_ind_grip_kg")
    assert "bootstrap not run under a survey design" in ind["note"]
    assert ind["delta_std_error"] == pytest.approx(MED["simple_ind_grip_kg_se"], rel=1e-5)
    _effect(t, "proportion_mediated", "simple_pm")
    assert "bootstrap_resamples_failed" not in set(t["term"])


@pytest.mark.parametrize("kind", ["parallel", "serial"])
def test_several_mediators_design_based(example, kind) -> None:
    mediators = SEVERAL[kind]
    entry = {"type": f"{kind}_mediation", "exposure": "age", "mediators": mediators, "outcome": "dsst",
             "covariates": ["sex"], "bootstrap": 0}
    t = _run(example, entry)
    _paths(t, kind, "age", mediators, "dsst")
    for m in mediators:
        _effect(t, f"indirect[{m}]", f"{kind}_ind_{m}")
    if kind == "serial":
        _effect(t, "indirect[grip_kg->animal_fluency]", "serial_ind_grip_kg->animal_fluency")
    _effect(t, "indirect_total", f"{kind}_ind_total")
    _effect(t, "proportion_mediated", f"{kind}_pm")


def test_binary_outcome_design_based(example) -> None:
    entry = {"type": "simple_mediation", "exposure": "age", "mediator": "grip_kg", "outcome": "dsst_low",
             "covariates": ["sex"], "outcome_type": "binary", "imai_simulations": 100, "bootstrap": 0}
    t = _run(example, entry)
    b = t.set_index("term").loc["b"]
    assert b["scale"] == "odds_ratio"
    assert b["std_error"] == pytest.approx(MED["binary_dsst_low_grip_kg_se"], rel=1e-5)
    assert b["estimate"] == pytest.approx(2.718281828459045 ** MED["binary_dsst_low_grip_kg_est"], rel=1e-6)
    _effect(t, "indirect", "binary_ind_grip_kg")
    imai = t[t["method"].str.startswith("Imai")]
    assert len(imai) and imai["note"].str.contains("survey design not used").all()
