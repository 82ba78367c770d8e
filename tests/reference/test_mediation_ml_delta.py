"""lavaan's ML standard errors of the paths and delta-method SEs of the defined effects (``se_type: ml``,
``delta_method: true``), and the quasi-Bayesian ACME of a continuous outcome (``imai_continuous: true``;
against statsmodels' Mediation and the closed form a b, as R's mediation package is not in Debian), on ``tests/data/mediation_reference.csv`` (300 rows, ``make_mediation_reference.py``).

Reference values computed once with R 4 / lavaan 0.6-14 (Debian r-cran-lavaan) by
``Rscript tests/data/mediation_lavaan_se.R`` (the models, with ``:=`` lines for ind, total_ind, total and prop,
are in that script)::

    fit <- sem(model, data = d, estimator = "ML")   # information = "expected" (lavaan's default here)
    pe <- parameterEstimates(fit)                    # est, se, z, pvalue, ci.lower, ci.upper (z-based)

The parallel model has ``m1 ~~ m2`` (correlated mediator residuals, the saturated model the equation-wise fits
are). Tolerances: estimates 1e-6 relative, SEs, z and CI limits 1e-5 relative; p-values 1e-5 relative where
p > 1e-6 (lavaan computes ``2 * (1 - pnorm(|z|))``, which loses relative precision below that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext

DATA = Path(__file__).resolve().parents[1] / "data" / "mediation_reference.csv"

LAVAAN_SIMPLE = {  # label: (est, se, z, pvalue, ci.lower, ci.upper)
    "a": (-0.741867823799988, 0.101896053406859, -7.28063353776613, 3.32178728967847e-13, -0.941580418644202, -0.542155228955774),
    "b": (0.0771255069562688, 0.0221934395727381, 3.47514889269385, 0.000510569877568701, 0.0336271647006361, 0.120623849211901),
    "cp": (-0.231351580533711, 0.0424887565482365, -5.4450070872529, 5.18033229646164e-08, -0.314628013116145, -0.148075147951277),
    "ind": (-0.0572169320051179, 0.018243999263131, -3.13620556435489, 0.0017114919456811, -0.0929745134948299, -0.0214593505154059),
    "total": (-0.288568512538829, 0.039949617272364, -7.22331106632285, 5.07371922253697e-13, -0.366868323588822, -0.210268701488836),
    "prop": (0.198278500664271, 0.0667566493414605, 2.9701685542975, 0.00297636392295098, 0.067437872226439, 0.329119129102103),
}
LAVAAN_PARALLEL = {  # label: (est, se, z, pvalue, ci.lower, ci.upper)
    "a1": (-0.741867822447152, 0.1018960541863, -7.2806334687972, 3.32178728967847e-13, -0.941580418819043, -0.542155226075261),
    "a2": (-0.0184781768170993, 0.00268818525961638, -6.87384798015602, 6.24922336101008e-12, -0.0237469231097188, -0.0132094305244797),
    "b1": (0.0347302812795116, 0.0229945762837126, 1.51036839518159, 0.130949448432155, -0.0103382600763239, 0.0797988226353471),
    "b2": (4.31369910108369, 0.87161276649898, 4.94910041119589, 7.4557277796039e-07, 2.60536947028037, 6.02202873188701),
    "cp": (-0.183093947147801, 0.0420012401732345, -4.35925097431953, 1.30508371132265e-05, -0.265414865193357, -0.100773029102245),
    "ind1": (-0.0257652781458084, 0.0174221401499043, -1.47888135005904, 0.139172028657919, -0.0599120453732301, 0.00838148908161342),
    "ind2": (-0.0797092947255867, 0.0198460324732823, -4.01638437470539, 5.90978384247265e-05, -0.118606803609232, -0.040811785841941),
    "total_ind": (-0.105474572871395, 0.022874998184307, -4.61091065544888, 4.00908828090962e-06, -0.150308745459056, -0.0606404002837341),
    "total": (-0.288568520019196, 0.0399496172237538, -7.22331126235711, 5.07371922253697e-13, -0.366868330973914, -0.210268709064478),
    "prop": (0.365509629617183, 0.0853552669193275, 4.28221529624692, 1.85041811118225e-05, 0.198216380564498, 0.532802878669868),
}
LAVAAN_SERIAL = {  # label: (est, se, z, pvalue, ci.lower, ci.upper)
    "a1": (-0.741867823799988, 0.101896053406859, -7.28063353776613, 3.32178728967847e-13, -0.941580418644202, -0.542155228955774),
    "a2": (-0.0111870652657412, 0.00270612200959864, -4.13398406504235, 3.56528205323059e-05, -0.0164909669423256, -0.00588316358915667),
    "d21": (0.00982804425294042, 0.00141350701163263, 6.95295047853271, 3.57713858534225e-12, 0.00705762141824563, 0.0125984670876352),
    "b1": (0.0347302812969024, 0.0229945766898676, 1.51036836926013, 0.130949455042748, -0.0103382608549823, 0.0797988234487871),
    "b2": (4.31369910108843, 0.871612768297431, 4.94910040098955, 7.45572817040241e-07, 2.60536946676021, 6.02202873541665),
    "cp": (-0.183093947153066, 0.0420012397630931, -4.35925101701289, 1.30508345674851e-05, -0.26541486439476, -0.100773029911372),
    "ind1": (-0.0257652782056944, 0.0174221404702568, -1.47888132630322, 0.13917203500815, -0.0599120460609954, 0.00838148964960663),
    "ind2": (-0.0482576333806452, 0.0152100644546245, -3.17274351628227, 0.00151005862345555, -0.078068811914242, -0.0184464548470484),
    "ind3": (-0.0314516537994235, 0.00891683540979414, -3.52722152579798, 0.000419945250006437, -0.0489283300586915, -0.0139749775401556),
    "total_ind": (-0.105474565385763, 0.0228749975161325, -4.61091046289197, 4.00909199482768e-06, -0.150308736663826, -0.0606403941077003),
    "total": (-0.288568512538829, 0.039949617272364, -7.22331106632284, 5.07371922253697e-13, -0.366868323588822, -0.210268701488836),
    "prop": (0.365509613151472, 0.0853552658782652, 4.28221515556833, 1.85041928137952e-05, 0.198216366139232, 0.532802860163712),
}

PATHS = {
    "simple": {"a": "a", "b": "b", "c_prime": "cp"},
    "parallel": {"a[m1]": "a1", "a[m2]": "a2", "b[m1]": "b1", "b[m2]": "b2", "c_prime": "cp"},
    "serial": {"a[m1]": "a1", "a[m2]": "a2", "d[m1->m2]": "d21", "b[m1]": "b1", "b[m2]": "b2", "c_prime": "cp"},
}
REFERENCE = {"simple": LAVAAN_SIMPLE, "parallel": LAVAAN_PARALLEL, "serial": LAVAAN_SERIAL}
CONFIG: dict[str, dict[str, Any]] = {
    "simple": {"type": "simple_mediation", "mediator": "m1"},
    "parallel": {"type": "parallel_mediation", "mediators": ["m1", "m2"]},
    "serial": {"type": "serial_mediation", "mediators": ["m1", "m2"]},
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _fit(data: pd.DataFrame, model: str, **keys: Any) -> pd.DataFrame:
    config = {**CONFIG[model], "exposure": "x", "outcome": "y", "covariates": ["cov1", "cov2"], **keys}
    return run_analysis(data, config, RunContext("ref", "ref", 3)).to_tidy().set_index("term")


def _check(row: pd.Series, ref: tuple[float, ...], prefix: str = "", what: str = "") -> None:
    est, se, z, p, lo, hi = ref
    assert row["estimate"] == pytest.approx(est, rel=1e-6), what
    assert row[f"{prefix}std_error"] == pytest.approx(se, rel=1e-5), what
    assert row[f"{prefix}statistic"] == pytest.approx(z, rel=1e-5), what
    assert row[f"{prefix}conf_low"] == pytest.approx(lo, rel=1e-5), what
    assert row[f"{prefix}conf_high"] == pytest.approx(hi, rel=1e-5), what
    if p > 1e-6:
        assert row[f"{prefix}p_value"] == pytest.approx(p, rel=1e-5), what
    else:
        assert row[f"{prefix}p_value"] < 1e-6, what


@pytest.mark.parametrize("model", ["simple", "parallel", "serial"])
def test_ml_path_standard_errors_equal_lavaan(data: pd.DataFrame, model: str) -> None:
    tidy = _fit(data, model, se_type="ml", bootstrap=0)
    ref = REFERENCE[model]
    for ours, theirs in PATHS[model].items():
        _check(tidy.loc[ours], ref[theirs], what=ours)
        assert pd.isna(tidy.loc[ours, "df"]), ours  # normal reference distribution
    # c (Y ~ X + covariates) with ML SEs is lavaan's total := c' + indirect (the model is saturated)
    _check(tidy.loc["c"], ref["total"], what="c")


def test_ml_sobel_equals_lavaan_defined_indirect(data: pd.DataFrame) -> None:
    row = _fit(data, "simple", se_type="ml", bootstrap=0).loc["sobel"]
    est, se, z, p, _, _ = LAVAAN_SIMPLE["ind"]
    assert row["std_error"] == pytest.approx(se, rel=1e-5)
    assert row["statistic"] == pytest.approx(z, rel=1e-5)
    assert row["p_value"] == pytest.approx(p, rel=1e-5)


def test_ols_default_keeps_t_based_paths(data: pd.DataFrame) -> None:
    """The default (se_type: ols) is lm's: ML SE = OLS SE * sqrt((n - p) / n), t on n - p df."""
    ols = _fit(data, "simple", bootstrap=0)
    assert ols.loc["a", "df"] == 300 - 4
    assert ols.loc["a", "std_error"] * (296 / 300) ** 0.5 == pytest.approx(LAVAAN_SIMPLE["a"][1], rel=1e-8)


def test_path_model_ml_standard_errors_equal_lavaan(data: pd.DataFrame) -> None:
    spec = {"type": "path_model", "equations": {"m1": ["x"], "m2": ["x", "m1"], "y": ["m1", "m2", "x"]},
            "covariates": ["cov1", "cov2"], "bootstrap": 0, "se_type": "ml"}
    tidy = run_analysis(data, spec, RunContext("ref", "ref", 9)).to_tidy()
    paths = tidy[tidy["term"] == "path"].set_index(["outcome", "exposure"])
    pairs = {("m1", "x"): "a1", ("m2", "x"): "a2", ("m2", "m1"): "d21", ("y", "m1"): "b1", ("y", "m2"): "b2",
             ("y", "x"): "cp"}
    for key, label in pairs.items():
        _check(paths.loc[key], LAVAAN_SERIAL[label], what=label)


DEFINED = {
    "simple": {"indirect": "ind", "c": "total", "proportion_mediated": "prop"},
    "parallel": {"indirect[m1]": "ind1", "indirect[m2]": "ind2", "indirect_total": "total_ind", "c": "total",
                 "proportion_mediated": "prop"},
    "serial": {"indirect[m1]": "ind1", "indirect[m2]": "ind2", "indirect[m1->m2]": "ind3",
               "indirect_total": "total_ind", "c": "total", "proportion_mediated": "prop"},
}


@pytest.mark.parametrize("model", ["simple", "parallel", "serial"])
def test_delta_method_equals_lavaan_defined_parameters(data: pd.DataFrame, model: str) -> None:
    """indirect a*b (and a1*d21*b2), total indirect, total c' + indirect and proportion indirect / total."""
    tidy = _fit(data, model, se_type="ml", delta_method=True, bootstrap=200)
    for ours, theirs in DEFINED[model].items():
        _check(tidy.loc[ours], REFERENCE[model][theirs], prefix="delta_", what=ours)
    # the bootstrap columns stay beside them
    assert tidy.loc["indirect_total" if model != "simple" else "indirect", "n_boot"] == 200


def test_delta_method_with_ols_covariance_is_the_sobel_test(data: pd.DataFrame) -> None:
    """With se_type: ols the delta SE of a*b is the Sobel SE from the lm SEs (a and b in different equations)."""
    tidy = _fit(data, "simple", delta_method=True, bootstrap=0)
    assert tidy.loc["indirect", "delta_std_error"] == pytest.approx(tidy.loc["sobel", "std_error"], rel=1e-12)
    assert tidy.loc["indirect", "delta_p_value"] == pytest.approx(tidy.loc["sobel", "p_value"], rel=1e-12)
    assert "delta_std_error" not in _fit(data, "simple", bootstrap=0).columns


def test_delta_method_binary_outcome_only_indirect(data: pd.DataFrame) -> None:
    """Logistic outcome: a*b on the log-odds scale gets delta columns; c (not c' + a b) does not."""
    config = {"outcome": "ybin", "outcome_type": "binary", "delta_method": True, "bootstrap": 0,
              "imai_simulations": 100}
    tidy = _fit(data, "simple", **config)
    assert tidy.loc["indirect", "delta_std_error"] == pytest.approx(tidy.loc["sobel", "std_error"], rel=1e-12)
    assert pd.isna(tidy.loc["c", "delta_std_error"])


# ------------------------------------------------------------------------- quasi-Bayesian, continuous outcome
def _imai(data: pd.DataFrame, sims: int, **keys: Any) -> pd.DataFrame:
    return _fit(data, "simple", bootstrap=0, imai_continuous=True, imai_simulations=sims, **keys)


def test_imai_continuous_equals_statsmodels_mediation(data: pd.DataFrame) -> None:
    """The same draws as statsmodels' Mediation with formula models run on the data directly (the analysis seed
    3 as ``rng``); exposure contrast 0 vs 1 in x's units, which is what the formula interface contrasts."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.mediation import Mediation

    tidy = _imai(data, 100, exposure_contrast=[0, 1])
    outcome = smf.ols("y ~ x + m1 + cov1 + cov2", data)
    mediator = smf.ols("m1 ~ x + cov1 + cov2", data)
    ref = Mediation(outcome, mediator, "x", "m1").fit(method="parametric", n_rep=100, rng=3).summary()
    pairs = {"acme": "ACME (average)", "ade": "ADE (average)", "total_effect_imai": "Total effect",
             "proportion_mediated_imai": "Prop. mediated (average)", "acme_control": "ACME (control)",
             "ade_treated": "ADE (treated)"}
    for ours, theirs in pairs.items():
        row = ref.loc[theirs]
        assert tidy.loc[ours, "estimate"] == pytest.approx(row["Estimate"], rel=1e-9), ours
        assert tidy.loc[ours, "conf_low"] == pytest.approx(row["Lower CI bound"], rel=1e-9), ours
        assert tidy.loc[ours, "conf_high"] == pytest.approx(row["Upper CI bound"], rel=1e-9), ours
        assert tidy.loc[ours, "p_value"] == pytest.approx(row["P-value"], abs=1e-12), ours
    assert tidy.loc["acme", "scale"] == "indirect_effect" and "outcome scale" in tidy.loc["acme", "note"]


def test_imai_continuous_recovers_the_closed_form(data: pd.DataFrame) -> None:
    """Linear mediator and outcome: ACME = a b (x1 - x0), ADE = c' (x1 - x0), total = c (x1 - x0), proportion
    = a b / c, up to Monte Carlo error. Default contrast: mean vs mean + 1 SD, Delta = SD(x).

    Tolerance: 4 Monte Carlo SEs of the mean of R = 4000 simulations. Per simulation statsmodels' ACME is
    b_s (a_s Delta + mean(e1 - e0)) (coefficients drawn independently from N(estimate, OLS cov), residuals
    N(0, sigma_m^2) drawn twice), whose SD is sqrt(se(ab)^2 Delta^2 + b^2 sigma_m^2 2 / n), se(ab) the Sobel SE
    (OLS cov, as statsmodels draws from); the ADE's SD is se(c') Delta; the total's at most the sum of both.
    Observed (seed 3): ACME 1.27, ADE 1.09 Monte Carlo SEs from the closed form.
    """
    r, n = 4000, len(data)
    tidy = _imai(data, r)
    delta = float(data["x"].std(ddof=1))
    a, b, cp = (float(tidy.loc[t, "estimate"]) for t in ("a", "b", "c_prime"))
    sigma_m2 = float(smf_resid_var(data))
    sd_acme = (tidy.loc["sobel", "std_error"] ** 2 * delta**2 + b**2 * sigma_m2 * 2 / n) ** 0.5
    sd_ade = tidy.loc["c_prime", "std_error"] * delta
    assert tidy.loc["acme", "estimate"] == pytest.approx(a * b * delta, abs=4 * sd_acme / r**0.5)
    assert tidy.loc["ade", "estimate"] == pytest.approx(cp * delta, abs=4 * sd_ade / r**0.5)
    assert tidy.loc["total_effect_imai", "estimate"] == pytest.approx(
        (a * b + cp) * delta, abs=4 * (sd_acme + sd_ade) / r**0.5
    )
    # the percentile interval covers the closed form; its width is 2 * 1.96 * sd_acme (observed ratio 1.001)
    assert tidy.loc["acme", "conf_low"] < a * b * delta < tidy.loc["acme", "conf_high"]
    width = tidy.loc["acme", "conf_high"] - tidy.loc["acme", "conf_low"]
    assert width == pytest.approx(2 * 1.959964 * sd_acme, rel=0.08)


def smf_resid_var(data: pd.DataFrame) -> float:
    """The mediator model's residual variance RSS / (n - p) (statsmodels' scale, the draws' sigma^2)."""
    import statsmodels.formula.api as smf

    return float(smf.ols("m1 ~ x + cov1 + cov2", data).fit().scale)


def test_imai_continuous_refuses_several_mediators(data: pd.DataFrame) -> None:
    from musclecog.errors import ConfigError

    with pytest.raises(ConfigError, match="imai_continuous.*one mediator"):
        _fit(data, "parallel", bootstrap=0, imai_continuous=True)


def test_trial_mediation_takes_se_type_and_delta_method(data: pd.DataFrame) -> None:
    """A wide table of change scores: trial_mediation is parallel_mediation of the 0/1 treatment (cov2 here),
    so its ML and delta-method columns are those of the lavaan-checked parallel fit."""
    keys = {"se_type": "ml", "delta_method": True, "bootstrap": 0}
    trial = run_analysis(data, {"type": "trial_mediation", "treatment": "cov2", "mediators": ["m1", "m2"],
                                "outcome": "y", "covariates": ["cov1"], **keys}, RunContext("ref", "ref", 3))
    parallel = run_analysis(data, {"type": "parallel_mediation", "exposure": "cov2", "mediators": ["m1", "m2"],
                                   "outcome": "y", "covariates": ["cov1"], **keys}, RunContext("ref", "ref", 3))
    cols = ["estimate", "std_error", "p_value", "delta_std_error", "delta_conf_low"]
    t, p = trial.to_tidy().set_index("term"), parallel.to_tidy().set_index("term")
    pd.testing.assert_frame_equal(t[cols], p[cols])
    assert t.loc["indirect_total", "delta_std_error"] > 0 and pd.isna(t.loc["a[m1]", "df"])
