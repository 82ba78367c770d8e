"""MR estimators against published values and R.

References were computed once in R 4.2.2 (Debian) from the published formulas; neither
MendelianRandomization nor TwoSampleMR is packaged for Debian and CRAN is not reachable, so each
test quotes the R call that reproduces the package's arithmetic (``lm`` with the packages'
weights and standard-error rules, ``stats::density`` for the mode — plus R 4.4's ``density`` rebuilt
from its source, see the BMI -> CHD mode test — ``AER::ivreg`` for 2SLS).
The issue's printed values (MendelianRandomization's lipids example, 3 decimals) are asserted to
their printed precision as well.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.mr import estimators as est
from musclecog.mr.analysis import MRSettings, run_mr
from musclecog.mr.harmonise import harmonise_data
from musclecog.mr.presso import PressoSettings, mr_presso
from musclecog.mr.sensitivity import heterogeneity, multivariable_ivw, r_from_lor

pytestmark = pytest.mark.shared_data

REL = 1e-6


@pytest.fixture(scope="module")
def lipids(shared_data_dir) -> pd.DataFrame:
    d = pd.read_csv(shared_data_dir / "mr" / "lipids_chd_waterworth2010.csv")
    return d


@pytest.fixture(scope="module")
def lipids_arrays(lipids) -> tuple[np.ndarray, ...]:
    return tuple(lipids[c].to_numpy(float) for c in ("ldlc", "chdlodds", "ldlcse", "chdloddsse"))


def test_lipids_ivw(lipids_arrays) -> None:
    """IVW, LDL-c -> CHD (MendelianRandomization example, 28 variants): 2.834 (0.530 MRE, 0.276 FE).

    R: ``f <- summary(lm(chdlodds ~ -1 + ldlc, weights = 1/chdloddsse^2, data = d))``;
    b = f$coef[1,1] = 2.83421393887889, se_mre = f$coef[1,2] / min(1, f$sigma) = 0.52979948855643,
    se_fe = f$coef[1,2] / f$sigma = 0.275940525057229.
    """
    bx, by, sx, sy = lipids_arrays
    mre = est.ivw(bx, by, sx, sy)
    fe = est.ivw(bx, by, sx, sy, model="fe")
    assert mre.b == pytest.approx(2.83421393887889, rel=REL)
    assert mre.se == pytest.approx(0.52979948855643, rel=REL)
    assert fe.se == pytest.approx(0.275940525057229, rel=REL)
    assert round(mre.b, 3) == 2.834 and round(mre.se, 3) == 0.530 and round(fe.se, 3) == 0.276
    assert est.ivw(bx, by, sx, sy, model="mre").se == pytest.approx(0.52979948855643, rel=REL)  # sigma > 1


def test_lipids_egger(lipids_arrays) -> None:
    """MR-Egger: slope 3.253 (0.770), intercept -0.011 (0.015).

    R: ``s <- sign(ldlc); e <- summary(lm(I(chdlodds*s) ~ abs(ldlc), weights = 1/chdloddsse^2))``;
    slope 3.25289013194081, se = e$coef[2,2]/min(1, e$sigma) = 0.770129161393982, intercept
    -0.0114606656512896 (se 0.0151883205190355), Rücker's Q' = e$sigma^2 * 26 = 97.3975050756926.
    """
    bx, by, sx, sy = lipids_arrays
    fit = est.egger(bx, by, sx, sy)
    assert fit.b == pytest.approx(3.25289013194081, rel=REL)
    assert fit.se == pytest.approx(0.770129161393982, rel=REL)
    assert fit.intercept.b == pytest.approx(-0.0114606656512896, rel=REL)
    assert fit.intercept.se == pytest.approx(0.0151883205190355, rel=REL)
    assert fit.heterogeneity.q == pytest.approx(97.3975050756926, rel=REL)
    assert (round(fit.b, 3), round(fit.se, 3)) == (3.253, 0.770)
    assert (round(fit.intercept.b, 3), round(fit.intercept.se, 3)) == (-0.011, 0.015)


def test_lipids_cochran_q(lipids_arrays) -> None:
    """Cochran's Q 99.53 on 27 df. R: ``f$sigma^2 * 27`` = 99.5304255484988 (f the IVW lm above)."""
    het = heterogeneity(*lipids_arrays)
    row = het.set_index("statistic").loc["Cochran's Q"]
    assert row["Q"] == pytest.approx(99.5304255484988, rel=REL)
    assert row["Q_df"] == 27
    assert round(row["Q"], 2) == 99.53
    assert row["I2"] == pytest.approx((99.5304255484988 - 27) / 99.5304255484988, rel=REL)


def test_lipids_medians(lipids_arrays) -> None:
    """Weighted median 2.683 (bootstrap SE about 0.42), simple median 1.755.

    MendelianRandomization's ``mr_median`` weights by first-order inverse variances ``bx^2/sy^2``;
    TwoSampleMR's by second-order ones. R (the ``weighted_median`` function of TwoSampleMR):
    ``weighted_median(chdlodds/ldlc, ldlc^2/chdloddsse^2)`` = 2.68288346489811,
    ``weighted_median(b_iv, 1/(sy^2/bx^2 + by^2*sx^2/bx^4))`` = 2.67724428411965,
    ``weighted_median(b_iv, rep(1, 28))`` = 1.75513833992095.
    The bootstrap SE (10,000 draws here) must be within 10% of 0.42.
    """
    bx, by, sx, sy = lipids_arrays
    rng = np.random.default_rng(20261125)
    first = est.median_estimates(bx, by, sx, sy, settings=est.BootstrapSettings(median_weights="first_order", nboot=10_000),
                                 rng=rng)
    second = est.median_estimates(bx, by, sx, sy, which=("weighted_median",), settings=est.BootstrapSettings(nboot=200),
                                  rng=rng)
    assert first["weighted_median"].b == pytest.approx(2.68288346489811, rel=REL)
    assert round(first["weighted_median"].b, 3) == 2.683
    assert first["simple_median"].b == pytest.approx(1.75513833992095, rel=REL)
    assert round(first["simple_median"].b, 3) == 1.755
    assert second["weighted_median"].b == pytest.approx(2.67724428411965, rel=REL)
    assert first["weighted_median"].se == pytest.approx(0.42, rel=0.10)


def test_lipids_modes_match_r_density(lipids_arrays) -> None:
    """Mode point estimates reproduce R's ``density()`` as TwoSampleMR's ``mr_mode`` calls it.

    R 4.2.2 (TwoSampleMR ``mr_mode``'s inner ``beta()`` copied verbatim, phi = 1, ``stats::density``):
    simple 2.40555111627661, weighted 2.94630057209513, penalised 2.94630057209513,
    weighted (NOME) 2.94630057209513; simple with phi = 0.5: 2.66648212595334. These are the
    ``density_coords = "r_legacy"`` (R <= 4.3) references; the R >= 4.4 grid (``density44`` below,
    see :func:`test_bmi_chd_modes_match_r_density_both_grids`) gives the same five numbers here.
    """
    bx, by, sx, sy = lipids_arrays
    which = ("simple_mode", "weighted_mode", "penalised_mode", "weighted_mode_nome")
    for coords in ("r44", "r_legacy"):
        rng = np.random.default_rng(1)
        fits = est.mode_estimates(bx, by, sx, sy, which=which, rng=rng,
                                  settings=est.BootstrapSettings(nboot=50, density_coords=coords))
        assert fits["simple_mode"].b == pytest.approx(2.40555111627661, rel=1e-9)
        assert fits["weighted_mode"].b == pytest.approx(2.94630057209513, rel=1e-9)
        assert fits["penalised_mode"].b == pytest.approx(2.94630057209513, rel=1e-9)
        assert fits["weighted_mode_nome"].b == pytest.approx(2.94630057209513, rel=1e-9)
        half = est.mode_estimates(bx, by, sx, sy, which=("simple_mode",), rng=rng,
                                  settings=est.BootstrapSettings(nboot=20, phi=0.5, density_coords=coords))
        assert half["simple_mode"].b == pytest.approx(2.66648212595334, rel=1e-9)


def test_bmi_chd_modes_match_r_density_both_grids(shared_data_dir) -> None:
    """TwoSampleMR's BMI -> CHD vignette data: mode estimates on R 4.4's and R 4.2's ``density()`` grids.

    R 4.4 is not installable here, so its ``density.default`` was rebuilt inside R 4.2.2 from the R >= 4.4
    source (src/library/stats/R/density.R): on this code path (Gaussian kernel, given ``bw``, ``cut = 3``,
    ``ext = 4``, C ``BinDist`` unchanged) the only difference is the kernel-ordinate line, so::

        src <- deparse(stats::density.default)
        i <- grep("kords <- seq.int(0, 2 * (up - lo), length.out = 2L * n)", src, fixed = TRUE)
        src[i] <- "kords <- seq.int(0, (2L*n-1)/(n-1) * (up-lo), length.out = 2L * n)"
        density44 <- eval(parse(text = src)); environment(density44) <- asNamespace("stats")

    and ``mr_mode``'s ``beta()`` (verbatim) was run with ``density44`` and with ``stats::density`` on the 79
    harmonised variants (harmonise_data output written with 17 significant digits). density44 gives the
    weighted mode 0.379090990504121, which is what TwoSampleMR's vignette (rendered with R >= 4.4) prints
    (0.3790910); R 4.2.2's own density gives 0.388824880964004, one grid point (0.0097339) to the right.
    """
    exp = pd.read_csv(shared_data_dir / "mr" / "twosamplemr_bmi_exposure.csv")
    out = pd.read_csv(shared_data_dir / "mr" / "twosamplemr_chd_outcome.csv")
    d = harmonise_data(exp, out).data.query("mr_keep")
    bx, by, sx, sy = (d[c].to_numpy(float) for c in ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome"))
    which = ("simple_mode", "weighted_mode", "penalised_mode", "weighted_mode_nome")
    r_values = {
        "r44": (0.340155428664590, 0.379090990504121, 0.379090990504121, 0.388824880964004),
        "r_legacy": (0.340155428664590, 0.388824880964004, 0.379090990504121, 0.388824880964004),
    }
    for coords, ref in r_values.items():
        fits = est.mode_estimates(bx, by, sx, sy, which=which, rng=np.random.default_rng(1),
                                  settings=est.BootstrapSettings(nboot=20, density_coords=coords))
        assert [fits[key].b for key in which] == pytest.approx(ref, rel=1e-9)


def test_lipids_multivariable(lipids) -> None:
    """Multivariable IVW of CHD on LDL-c, HDL-c and triglycerides (MendelianRandomization ``mr_mvivw``).

    R: ``m <- summary(lm(chdlodds ~ -1 + ldlc + hdlc + trig, weights = 1/chdloddsse^2, data = d))``;
    coefficients 1.925182662466021, -0.589713357219688, 0.722538179731834, se 0.439424247187254,
    0.554995408250709, 0.230098377199186 (sigma = 1.433 > 1, so random effects = lm's se).
    """
    res = multivariable_ivw(lipids[["ldlc", "hdlc", "trig"]].to_numpy(), lipids["chdlodds"], lipids["chdloddsse"],
                            exposures=["ldl", "hdl", "trig"])
    e = res.estimates.set_index("exposure")
    assert e["b"].to_numpy() == pytest.approx([1.925182662466021, -0.589713357219688, 0.722538179731834], rel=REL)
    assert e["se"].to_numpy() == pytest.approx([0.439424247187254, 0.554995408250709, 0.230098377199186], rel=REL)
    assert res.sigma == pytest.approx(1.43331667295358, rel=REL)


def test_mvpa_alzheimers_ivw_fixed(shared_data_dir) -> None:
    """Physical activity -> Alzheimer's without rs429358: IVW fixed effect b = 0.16891, se = 0.25128.

    Published (20 variants); R: ``f <- summary(lm(beta.outcome ~ -1 + beta.exposure,
    weights = 1/se.outcome^2, data = subset(m, SNP != "rs429358" & mr_keep)))``:
    b = 0.168912119820243, se = f$coef[1,2]/f$sigma = 0.251280869627721.
    """
    h = pd.read_csv(shared_data_dir / "mr" / "mvpa_on_alzheimers_harmonised.csv")
    h = h[h["SNP"] != "rs429358"]
    res = run_mr(h, MRSettings(methods=("ivw_fe", "ivw")), "mvpa", "alzheimers", seed=1)
    row = res.to_tidy().query("method == 'Inverse variance weighted (fixed effects)' and scale == 'beta'").iloc[0]
    assert row["nsnp"] == 20
    assert row["estimate"] == pytest.approx(0.168912119820243, rel=REL)
    assert row["std_error"] == pytest.approx(0.251280869627721, rel=REL)
    assert (round(row["estimate"], 5), round(row["std_error"], 5)) == (0.16891, 0.25128)


def test_presso_example(shared_data_dir) -> None:
    """MR-PRESSO's toy data (MRPRESSO ``data(SummaryStats)``), exposure E1.

    R: ``mr_presso(BetaOutcome = "Y_effect", BetaExposure = "E1_effect", SdOutcome = "Y_se",
    SdExposure = "E1_se", OUTLIERtest = TRUE, DISTORTIONtest = TRUE, data = SummaryStats,
    NbDistribution = 1000, SignifThreshold = 0.05)``: raw 0.539012013381483 (sd 0.0194815786770381,
    deterministic: ``summary(lm(y ~ -1 + x, weights = 1/Y_se^2))``), global test p < 0.001,
    outlier-corrected 0.5014829 (sd 0.01047948, the package's printed output as quoted in
    genome_integration's test of its MR-PRESSO port) after removing variants 46-50.
    10,000 simulated data sets here make the outlier calls stable.
    """
    d = pd.read_csv(shared_data_dir / "mr" / "mrpresso_summarystats.csv")
    res = mr_presso(d.E1_effect, d.Y_effect, d.E1_se, d.Y_se, settings=PressoSettings(n_distribution=10_000),
                    rng=np.random.default_rng(20261125))
    assert res.raw["b"] == pytest.approx(0.539012013381483, rel=REL)
    assert res.raw["se"] == pytest.approx(0.0194815786770381, rel=REL)
    assert res.global_pval < 1e-3
    assert res.outlier_snps == ("46", "47", "48", "49", "50")
    assert res.corrected is not None
    assert res.corrected["b"] == pytest.approx(0.5014829, abs=5e-8)
    assert res.corrected["se"] == pytest.approx(0.01047948, abs=5e-9)
    assert res.distortion_pval < 0.05


def test_get_r_from_lor_matches_twosamplemr() -> None:
    """Liability-scale r from log OR (TwoSampleMR ``get_r_from_lor`` with ``contingency`` and
    ``get_population_allele_frequency`` copied verbatim into R):
    ``get_r_from_lor(c(0.05, -0.12, 0.3, 0, -0.02), c(0.3, 0.55, 0.1, 0.4, 0.9), 5000, 20000, 0.1)`` =
    0.01261878000680197, -0.03287573521246427, 0.04891704603821784, 0, -0.00330529457704188;
    with ncase = c(1000, 2000, 3000, 4000, 5000), ncontrol = 10000, prevalence 0.2:
    0.01264536546024893, -0.03290263339326006, 0.04936411957169020, 0, -0.00330441452284656.
    """
    lor = np.array([0.05, -0.12, 0.3, 0.0, -0.02])
    af = np.array([0.3, 0.55, 0.1, 0.4, 0.9])
    r1 = r_from_lor(lor, af, 5000, 20000, 0.1)
    r2 = r_from_lor(lor, af, np.array([1000, 2000, 3000, 4000, 5000]), 10000, 0.2)
    assert r1 == pytest.approx([0.01261878000680197, -0.03287573521246427, 0.04891704603821784, 0.0,
                                -0.00330529457704188], rel=1e-9, abs=1e-15)
    assert r2 == pytest.approx([0.01264536546024893, -0.03290263339326006, 0.04936411957169020, 0.0,
                                -0.00330441452284656], rel=1e-9, abs=1e-15)


def test_one_sample_2sls_matches_aer(shared_data_dir) -> None:
    """2SLS on MendelianRandomization's course data (1,000 people, 4 genotypes).

    R: ``s <- summary(AER::ivreg(y ~ x | g1 + g2 + g3 + g4, data = d), diagnostics = TRUE)``:
    x 0.570785010568 (se 0.229183667918, p 0.0129175537628); weak instruments F(4, 995) =
    10.58240029998 (p 2.12222763321e-08); Wu-Hausman F(1, 997) = 12.58575751977 (p 4.06795940415e-04);
    Sargan chi2(3) = 1.86115338235 (p 0.601718534427). OLS: ``lm(y ~ x)``: -0.125465500982
    (0.0407139024906). Binary outcome: ``ivreg(y.bin ~ x | g1 + g2 + g3 + g4)``: 0.165637964718
    (0.0461042241687).
    """
    d = pd.read_csv(shared_data_dir / "mr" / "coursedata_individual.csv")
    ctx = RunContext(analysis="course_2sls", cohort="course", seed=1)
    res = run_analysis(d, {"type": "one_sample_mr", "cohort": "course", "exposure": "x", "outcome": "y",
                           "instruments": ["g1", "g2", "g3", "g4"]}, ctx)
    t = res.to_tidy().set_index(["method", "term"])
    assert t.loc[("2SLS", "x"), "estimate"] == pytest.approx(0.570785010568, rel=1e-9)
    assert t.loc[("2SLS", "x"), "std_error"] == pytest.approx(0.229183667918, rel=1e-9)
    assert t.loc[("2SLS", "x"), "p_value"] == pytest.approx(0.0129175537628, rel=1e-8)
    assert t.loc[("OLS (observational)", "x"), "estimate"] == pytest.approx(-0.125465500982, rel=1e-9)
    assert t.loc[("OLS (observational)", "x"), "std_error"] == pytest.approx(0.0407139024906, rel=1e-9)
    assert t.loc[("2SLS first stage", "first_stage_F"), "estimate"] == pytest.approx(10.58240029998, rel=1e-9)
    assert t.loc[("2SLS first stage", "first_stage_F"), "p_value"] == pytest.approx(2.12222763321e-08, rel=1e-8)
    assert t.loc[("Wu-Hausman", "x"), "estimate"] == pytest.approx(12.58575751977, rel=1e-8)
    assert t.loc[("Wu-Hausman", "x"), "p_value"] == pytest.approx(4.06795940415e-04, rel=1e-7)
    assert t.loc[("Sargan", "overidentification"), "estimate"] == pytest.approx(1.86115338235, rel=1e-8)
    binary = run_analysis(d, {"type": "one_sample_mr", "cohort": "course", "exposure": "x",
                              "outcome": "y.bin", "instrument_prefix": "g"}, ctx)
    tb = binary.to_tidy().set_index(["method", "term"])
    assert tb.loc[("2SLS", "x"), "estimate"] == pytest.approx(0.165637964718, rel=1e-9)
    assert tb.loc[("2SLS", "x"), "std_error"] == pytest.approx(0.0461042241687, rel=1e-9)
