"""MR-RAPS and cML-MA-BIC against the R packages' own code.

Neither package is installable here, so their R sources were sourced into R 4.2.2: mr.raps 0.4.2
(github.com/qingyuanzhao/mr.raps, commit 27b96f3; its ``multiroot`` from rootSolve built from
github.com/cran/rootSolve) and MRcML 0.0.0.9000 (github.com/xue-hr/MRcML, commit c264209).
``Rscript tests/data/mr_raps_cml_reference.R <mr.raps dir> <MRcML dir> ../shared/data [rootSolve lib]`` prints every
number below. Data: mr.raps's BMI -> systolic blood pressure example (``mr/mrraps_bmi_sbp.csv``, 160 variants) and
MendelianRandomization's lipids example (``mr/lipids_chd_waterworth2010.csv``, LDL-c -> CHD, 28 variants).

The R calls:

- ``mr.raps(bmi, diagnostics = FALSE)`` (``over.dispersion = TRUE, loss.function = "huber"``) and the same with
  ``over.dispersion = TRUE/FALSE`` x ``loss.function = "huber"/"l2"/"tukey"``, ``k = 1.5``; p-value
  ``2 * pnorm(-abs(beta.hat / beta.se))`` (what ``mr.raps`` prints);
- ``mr_cML(b_exp, b_out, se_exp, se_out, n = n, random_start = 0)``: ``MA_BIC_theta``, ``MA_BIC_se``, ``MA_BIC_p``,
  ``BIC_theta``, ``BIC_se``, ``BIC_invalid``; BMI with ``n = min(samplesize.exposure, samplesize.outcome)`` = 47675,
  lipids (no sample sizes in the file) with ``n = 17723``.

Precision: MRcML's algorithm is deterministic and reproduced to rounding (measured 2e-15 relative). mr.raps stops
its Newton iteration at ``multiroot``'s default tolerances (atol 1e-8 on the estimating equations); its roots lie
within 3e-9 of the converged roots computed here (measured: the R root polished with ``multiroot(rtol = atol =
1e-14)`` equals ours to 2e-15), so the tolerance is 1e-6 relative for estimates and tau2, 1e-5 for standard errors and
p-values. The estimating equations use the package's normal moments of the score as R's ``integrate()`` returns
them (for Huber, ``delta`` 4.7e-7 above the exact value, which moves the estimate by 4e-8).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from musclecog.errors import ConfigError
from musclecog.mr import estimators as est
from musclecog.mr import robust
from musclecog.mr.analysis import MRSettings, cml_sample_size, run_mr

pytestmark = pytest.mark.shared_data

REL = 1e-6
REL_SE = 1e-5
COLS = ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome")

# name: beta.hat, beta.se, tau2.hat, tau2.se, p (R's output, 17 significant digits)
RAPS_BMI = {
    (True, "huber"): (0.38791640749615025, 0.11803941025614656, 0.00037192221821719974, 6.5480821547448401e-05,
                      0.0010150216627999125),
    (True, "l2"): (0.32735761629860072, 0.13981565655197128, 0.00058667712227016542, 8.6790272355176729e-05,
                   0.019214060901758902),
    # no root with finite tau2 from the package's starts: mr.raps falls back to over.dispersion = FALSE
    (True, "tukey"): (0.56383326060481087, 0.071469691063758736, 0.0, 0.0, 3.0431484855437954e-15),
    (False, "huber"): (0.59117506329964342, 0.077817851744464733, 0.0, 0.0, 3.032899054895899e-14),
    (False, "l2"): (0.60550994630010069, 0.10630861664894713, 0.0, 0.0, 1.2281285332466453e-08),
    (False, "tukey"): (0.56383326060997252, 0.071469691063780788, 0.0, 0.0, 3.0431484838422516e-15),
}


@pytest.fixture(scope="module")
def bmi(shared_data_dir) -> pd.DataFrame:
    """All 160 variants, as mr.raps's example uses them (the file flags 16 palindromic ones mr_keep = FALSE)."""
    return pd.read_csv(shared_data_dir / "mr" / "mrraps_bmi_sbp.csv").assign(mr_keep=True)


@pytest.fixture(scope="module")
def bmi_arrays(bmi) -> tuple[np.ndarray, ...]:
    return tuple(bmi[c].to_numpy(float) for c in COLS)


@pytest.fixture(scope="module")
def lipids_arrays(shared_data_dir) -> tuple[np.ndarray, ...]:
    d = pd.read_csv(shared_data_dir / "mr" / "lipids_chd_waterworth2010.csv")
    return tuple(d[c].to_numpy(float) for c in ("ldlc", "chdlodds", "ldlcse", "chdloddsse"))


def _check_raps(fit: robust.RapsFit, ref: tuple[float, ...]) -> None:
    b, se, tau2, tau2_se, p = ref
    assert fit.estimate.b == pytest.approx(b, rel=REL)
    assert fit.estimate.se == pytest.approx(se, rel=REL_SE)
    assert fit.estimate.pval == pytest.approx(p, rel=REL_SE)
    assert fit.tau2 == pytest.approx(tau2, rel=REL)
    assert fit.tau2_se == pytest.approx(tau2_se, rel=REL_SE)


@pytest.mark.parametrize(("over_dispersion", "loss"), list(RAPS_BMI))
def test_raps_bmi_sbp(bmi_arrays, over_dispersion: bool, loss: str) -> None:
    """``mr.raps(bmi, diagnostics = FALSE, over.dispersion = ..., loss.function = ...)``."""
    fit = robust.raps_fit(*bmi_arrays, over_dispersion=over_dispersion, loss=loss)
    assert isinstance(fit, robust.RapsFit)
    _check_raps(fit, RAPS_BMI[(over_dispersion, loss)])
    assert fit.estimate.nsnp == 160 and fit.estimate.method == est.LABELS["raps"]
    fell_back = over_dispersion and loss == "tukey"
    assert fit.over_dispersion == (over_dispersion and not fell_back)
    assert ("fitted without overdispersion" in fit.estimate.note) == fell_back


def test_raps_default_is_the_packages_default(bmi_arrays) -> None:
    """``mr.raps(bmi, diagnostics = FALSE)`` is overdispersed Huber (k = 1.345); ``k = 1.5``: 0.38675410187594494
    (se 0.11790028199242827, tau2 0.00037782601711954027, se 6.5593949139605107e-05, p 0.0010367865451269172)."""
    default = robust.raps(*bmi_arrays)
    assert default.b == pytest.approx(RAPS_BMI[(True, "huber")][0], rel=REL)
    assert "huber loss (k = 1.345)" in default.note
    fit = robust.raps_fit(*bmi_arrays, k=1.5)
    assert isinstance(fit, robust.RapsFit)
    _check_raps(fit, (0.38675410187594494, 0.11790028199242827, 0.00037782601711954027, 6.5593949139605107e-05,
                      0.0010367865451269172))


def test_raps_lipids(lipids_arrays) -> None:
    """``mr.raps(data.frame(beta.exposure = ldlc, beta.outcome = chdlodds, se.exposure = ldlcse, se.outcome =
    chdloddsse), diagnostics = FALSE)``."""
    fit = robust.raps_fit(*lipids_arrays)
    assert isinstance(fit, robust.RapsFit)
    _check_raps(fit, (2.7157064921255976, 0.5179500366463301, 0.0019201673206893624, 0.00083111516584879021,
                      1.5783041311320521e-07))


def test_raps_loss_constants_are_rs_integrate() -> None:
    """``integrate(function(x) x * rho.huber(x, 1.345, deriv = 1) * dnorm(x), -Inf, Inf)$value`` and the package's
    c1, c2, c3 (R 4.2.2): 0.82137515024691332, 0.71016463315351297, 0.8095628691869966, 0.38704932956739718;
    Tukey (k = 4.685): 0.75777598853557127, 0.6044483620745319, 0.68719276601267232, 0.33557052361090528."""
    huber = robust.loss_constants("huber", 1.345)
    assert (huber.delta, huber.c1, huber.c2, huber.c3) == pytest.approx(
        (0.82137515024691332, 0.71016463315351297, 0.8095628691869966, 0.38704932956739718), rel=1e-12)
    tukey = robust.loss_constants("tukey", 4.685)
    assert (tukey.delta, tukey.c1, tukey.c2, tukey.c3) == pytest.approx(
        (0.75777598853557127, 0.6044483620745319, 0.68719276601267232, 0.33557052361090528), rel=1e-12)
    # R's quadrature is 4.7e-7 off the exact Huber delta = 2 Phi(k) - 1 (the package's number is the reference)
    exact = 2 * stats.norm.cdf(1.345) - 1
    assert 1e-7 < huber.delta - exact < 1e-6


def test_cml_bmi_sbp(bmi_arrays) -> None:
    """``mr_cML(..., n = 47675, random_start = 0)``: MA-BIC 0.54439734465425671 (se 0.067156293958755844,
    p 5.2131610313863701e-16); BIC 0.55216705227073082 (se 0.064918537339582236), invalid
    2,3,13,24,58,63,69,72,108,110,126,127,144."""
    fit = robust.cml_fit(*bmi_arrays, n=47675)
    assert isinstance(fit, robust.CmlFit)
    assert fit.estimate.b == pytest.approx(0.54439734465425671, rel=1e-12)
    assert fit.estimate.se == pytest.approx(0.067156293958755844, rel=1e-12)
    assert fit.estimate.pval == pytest.approx(5.2131610313863701e-16, rel=1e-10)
    assert fit.bic_theta == pytest.approx(0.55216705227073082, rel=1e-12)
    assert fit.bic_se == pytest.approx(0.064918537339582236, rel=1e-12)
    assert (fit.bic_invalid + 1).tolist() == [2, 3, 13, 24, 58, 63, 69, 72, 108, 110, 126, 127, 144]
    assert fit.k_vec.tolist() == list(range(159)) and fit.estimate.method == est.LABELS["cml"]


def test_cml_lipids(lipids_arrays) -> None:
    """``mr_cML(ldlc, chdlodds, ldlcse, chdloddsse, n = 17723, random_start = 0)``: MA-BIC 2.8948079945527168
    (se 0.32135250675841115, p 2.0946405760985406e-19), BIC 2.8630180318249714 (se 0.30869504097148498), invalid
    12,14; on the first 5 variants: 3.2982246391858876 (se 0.44860513081655795, p 1.9500331587437541e-13), BIC
    3.3011954998626662 (se 0.44769504610041599), none invalid."""
    fit = robust.cml_fit(*lipids_arrays, n=17723)
    assert isinstance(fit, robust.CmlFit)
    assert (fit.estimate.b, fit.estimate.se) == pytest.approx((2.8948079945527168, 0.32135250675841115), rel=1e-12)
    assert fit.estimate.pval == pytest.approx(2.0946405760985406e-19, rel=1e-10)
    assert (fit.bic_theta, fit.bic_se) == pytest.approx((2.8630180318249714, 0.30869504097148498), rel=1e-12)
    assert (fit.bic_invalid + 1).tolist() == [12, 14]
    five = robust.cml_fit(*(a[:5] for a in lipids_arrays), n=17723)
    assert isinstance(five, robust.CmlFit)
    assert (five.estimate.b, five.estimate.se) == pytest.approx((3.2982246391858876, 0.44860513081655795), rel=1e-12)
    assert five.estimate.pval == pytest.approx(1.9500331587437541e-13, rel=1e-10)
    assert (five.bic_theta, five.bic_se) == pytest.approx((3.3011954998626662, 0.44769504610041599), rel=1e-12)
    assert five.bic_invalid.size == 0


def test_cml_random_starts_seeded(lipids_arrays) -> None:
    """Random starts (numpy draws from the seed): reproducible, and never a worse likelihood than the
    deterministic start for any K (the best start is kept)."""
    base = robust.cml_fit(*lipids_arrays, n=17723)
    fits = [robust.cml_fit(*lipids_arrays, n=17723, random_start=5, rng=np.random.default_rng(7)) for _ in range(2)]
    assert isinstance(base, robust.CmlFit) and all(isinstance(f, robust.CmlFit) for f in fits)
    assert fits[0].estimate.b == fits[1].estimate.b  # type: ignore[union-attr]
    assert np.all(fits[0].neg_loglik <= base.neg_loglik + 1e-9)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="random generator"):
        robust.cml_fit(*lipids_arrays, n=17723, random_start=2)


def test_run_mr_pair(bmi) -> None:
    """The pipeline entry point on the harmonised BMI -> SBP table (TwoSampleMR columns): the same numbers, cML's
    n from the smallest sample size (47675)."""
    settings = MRSettings.from_config({"methods": ["ivw", "raps", "cml"]})
    res = run_mr(bmi, settings, "bmi", "sbp", seed=1)
    tidy = res.to_tidy().set_index("method")
    raps_row, cml_row = tidy.loc[est.LABELS["raps"]], tidy.loc[est.LABELS["cml"]]
    assert raps_row["estimate"] == pytest.approx(RAPS_BMI[(True, "huber")][0], rel=REL)
    assert raps_row["std_error"] == pytest.approx(RAPS_BMI[(True, "huber")][1], rel=REL_SE)
    assert cml_row["estimate"] == pytest.approx(0.54439734465425671, rel=1e-12)
    assert cml_row["std_error"] == pytest.approx(0.067156293958755844, rel=1e-12)
    assert "n = 47675" in cml_row["note"]
    assert cml_sample_size(bmi, settings, "bmi", "sbp") == 47675
    l2 = run_mr(bmi, MRSettings.from_config({"methods": ["raps"], "raps_loss": "l2", "raps_over_dispersion": False}),
                "bmi", "sbp", seed=1)
    assert l2.methods[0].b == pytest.approx(RAPS_BMI[(False, "l2")][0], rel=REL)


def test_bad_input(bmi) -> None:
    """Too few instruments: not-estimable rows; cML without a sample size: a ConfigError naming the fix."""
    two = bmi.iloc[:2]
    res = run_mr(two, MRSettings.from_config({"methods": ["raps", "cml"]}), "bmi", "sbp", seed=1)
    raps_fit, cml_fit = res.methods
    assert not raps_fit.estimable and "needs at least 3 instruments, 2 available" in raps_fit.note
    assert cml_fit.estimable  # K = 0 only, as mr_cML computes it
    one = robust.cml(*(bmi[c].to_numpy(float)[:1] for c in COLS), n=1000)
    assert not one.estimable and np.isnan(one.b)
    no_n = bmi.drop(columns=["samplesize.exposure", "samplesize.outcome"])
    with pytest.raises(ConfigError, match=r"samplesize.exposure / samplesize.outcome.*mr_settings.cml_n"):
        run_mr(no_n, MRSettings.from_config({"methods": ["cml"]}), "bmi", "sbp", seed=1)
    fixed = run_mr(no_n, MRSettings.from_config({"methods": ["cml"], "cml_n": 47675}), "bmi", "sbp", seed=1)
    assert fixed.methods[0].b == pytest.approx(0.54439734465425671, rel=1e-12)
    for bad, match in (({"raps_loss": "cauchy"}, "raps_loss"), ({"raps_k": 0}, "raps_k"), ({"cml_n": 1}, "cml_n"),
                       ({"cml_random_start": -1}, "cml_random_start"), ({"cml_maxit": 0}, "cml_maxit")):
        with pytest.raises(ConfigError, match=match):
            MRSettings.from_config(bad)
