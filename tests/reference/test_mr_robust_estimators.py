"""MendelianRandomization's robust and penalised estimators against the package's own code.

MendelianRandomization (0.10.0) is not installable here, so its R sources (github.com/cran/MendelianRandomization)
were sourced into R 4.2.2 with robustbase 0.95 and run on the package's lipids example (Waterworth et al. 2010;
``../shared/data/mr/lipids_chd_waterworth2010.csv`` equals the package's ``ldlc, ldlcse, chdlodds, chdloddsse``):
``Rscript tests/data/mr_robust_reference.R <source dir> <csv>`` prints every number below, with
``inp <- mr_input(bx = ldlc, bxse = ldlcse, by = chdlodds, byse = chdloddsse)``. Tolerance 1e-6 relative for
estimates, 1e-5 for standard errors and p-values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.mr import estimators as est
from musclecog.mr.analysis import MRSettings, run_mr
from musclecog.mr.sensitivity import directionality, multivariable_egger, steiger_per_variant
from musclecog.mr.tables import multivariable_table

pytestmark = pytest.mark.shared_data

REL = 1e-6
REL_SE = 1e-5


@pytest.fixture(scope="module")
def lipids(shared_data_dir) -> pd.DataFrame:
    return pd.read_csv(shared_data_dir / "mr" / "lipids_chd_waterworth2010.csv")


@pytest.fixture(scope="module")
def arrays(lipids) -> tuple[np.ndarray, ...]:
    return tuple(lipids[c].to_numpy(float) for c in ("ldlc", "chdlodds", "ldlcse", "chdloddsse"))


def _harmonised(lipids: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "SNP": [f"row{i + 1}" for i in range(len(lipids))],
        "beta.exposure": lipids["ldlc"], "se.exposure": lipids["ldlcse"],
        "beta.outcome": lipids["chdlodds"], "se.outcome": lipids["chdloddsse"], "mr_keep": True,
    })


def test_ivw_penalised(arrays) -> None:
    """``mr_ivw(inp, penalized = TRUE)``: 2.56091425111616 (se 0.412803455052081, p 5.51462383789146e-10)."""
    fit = est.ivw_penalised(*arrays)
    assert fit.b == pytest.approx(2.56091425111616, rel=REL)
    assert fit.se == pytest.approx(0.412803455052081, rel=REL_SE)
    assert fit.pval == pytest.approx(5.51462383789146e-10, rel=REL_SE)
    assert fit.method == "Penalised inverse variance weighted" and fit.nsnp == 28
    # three instruments: MendelianRandomization's default model is fixed effects (se without sigma)
    small = est.ivw_penalised(*(a[:3] for a in arrays))
    w = np.minimum(1, 100 * _penalty_p(*(a[:3] for a in arrays))) / arrays[3][:3] ** 2
    assert small.se == pytest.approx(np.sqrt(1 / np.sum(w * arrays[0][:3] ** 2)), rel=1e-12)
    assert not est.ivw_penalised(*(a[:1] for a in arrays)).estimable


def _penalty_p(bx, by, sx, sy):
    from scipy import stats

    ratio = by / bx
    return stats.chi2.sf(bx**2 / sy**2 * (ratio - np.median(ratio)) ** 2, 1)


def test_egger_normal_distribution(arrays, lipids) -> None:
    """``mr_egger(inp)`` (``distribution = "normal"``): slope 3.25289013194081 (se 0.770129161393982,
    p 2.40191515241683e-05), intercept -0.0114606656512896 (se 0.0151883205190355, p 0.450506451283992),
    CI 1.74346471216457 to 4.76231555171705."""
    fit = est.egger(*arrays, distribution="normal")
    assert fit.b == pytest.approx(3.25289013194081, rel=REL)
    assert fit.se == pytest.approx(0.770129161393982, rel=REL_SE)
    assert fit.pval == pytest.approx(2.40191515241683e-05, rel=REL_SE)
    assert fit.dist_df is None
    assert fit.intercept is not None
    assert fit.intercept.pval == pytest.approx(0.450506451283992, rel=REL_SE)
    res = run_mr(_harmonised(lipids), MRSettings(methods=("egger",), egger_distribution="normal", steiger=False),
                 "ldl", "chd", seed=1)
    row = res.to_tidy().iloc[0]
    assert row["p_value"] == pytest.approx(2.40191515241683e-05, rel=REL_SE)
    assert (row["conf_low"], row["conf_high"]) == pytest.approx((1.74346471216457, 4.76231555171705), rel=REL_SE)
    assert res.pleiotropy["pval"].iloc[0] == pytest.approx(0.450506451283992, rel=REL_SE)
    # the default stays TwoSampleMR's t(nsnp - 2)
    assert est.egger(*arrays).dist_df == 26
    with pytest.raises(Exception, match="egger_distribution"):
        MRSettings(egger_distribution="t-dist")


def test_divw(arrays) -> None:
    """``mr_divw(inp)``: 2.93964590233106 (se 0.53057757646338, p 3.01671445405539e-08, Condition
    142.919840094963); ``mr_divw(inp, over.dispersion = FALSE)``: se 0.307413968112251, p 1.14946497043184e-21."""
    fit = est.divw(*arrays)
    assert fit.b == pytest.approx(2.93964590233106, rel=REL)
    assert fit.se == pytest.approx(0.53057757646338, rel=REL_SE)
    assert fit.pval == pytest.approx(3.01671445405539e-08, rel=REL_SE)
    assert fit.note == "instrument strength condition 142.9"
    fixed = est.divw(*arrays, over_dispersion=False)
    assert fixed.b == pytest.approx(2.93964590233106, rel=REL)
    assert fixed.se == pytest.approx(0.307413968112251, rel=REL_SE)
    assert fixed.pval == pytest.approx(1.14946497043184e-21, rel=REL_SE)
    bx, by, sx, sy = arrays
    assert not est.divw(bx, by, bx * 10, sy).estimable  # sx far above |bx|: no debiased denominator


def test_pivw(arrays) -> None:
    """``mr_pivw(inp, Boot.Fieller = FALSE)``: 2.9318697239801 (se 0.527621928275061, p 2.74824357526902e-08,
    CI 1.8977497471074 to 3.96598970085279; Tau2 0.00200222844328118). With the bootstrapped Fieller interval
    (the default) and ``BF_dist``'s ``n_boot`` raised to 20000 (seeds 1, 2, 3): CI 1.92069924552143 to
    4.0024558164964 (1.91891498252875 to 4.00445613121614; 1.92937754642419 to 3.99273259503979), p 0; at the
    package's 1000 draws with seed 1: 1.92173493735509 to 4.00129490571018. Our draws are not R's: with 200000
    draws the limits must lie within 0.02 of R's seed-1 limits (R's own spread over seeds at 20000 draws is
    about 0.005)."""
    fit = est.pivw(*arrays, est.PivwSettings(boot_fieller=False))
    assert fit.b == pytest.approx(2.9318697239801, rel=REL)
    assert fit.se == pytest.approx(0.527621928275061, rel=REL_SE)
    assert fit.pval == pytest.approx(2.74824357526902e-08, rel=REL_SE)
    assert fit.conf_low is None and fit.note == "tau2 0.002002"
    boot = est.pivw(*arrays, est.PivwSettings(nboot=200_000), rng=np.random.default_rng(7))
    assert (boot.b, boot.se) == (fit.b, fit.se)
    assert boot.pval == 0.0
    assert boot.conf_low == pytest.approx(1.92069924552143, abs=0.02)
    assert boot.conf_high == pytest.approx(4.0024558164964, abs=0.02)
    # the reported interval is the Fieller one, not b +/- 1.96 se
    res = run_mr(_harmonised_arrays(arrays), MRSettings(methods=("pivw",), steiger=False), "ldl", "chd", seed=3)
    row = res.to_tidy().iloc[0]
    assert row["method"] == "Penalised inverse variance weighted (pIVW)"
    assert row["conf_low"] == pytest.approx(1.92069924552143, abs=0.05)
    assert row["conf_low"] != pytest.approx(1.8977497471074, abs=1e-6)
    off = run_mr(_harmonised_arrays(arrays), MRSettings(methods=("pivw",), steiger=False, pivw_boot_fieller=False),
                 "ldl", "chd", seed=3).to_tidy().iloc[0]
    assert (off["conf_low"], off["conf_high"]) == pytest.approx((1.8977497471074, 3.96598970085279), rel=REL_SE)


def _harmonised_arrays(arrays) -> pd.DataFrame:
    bx, by, sx, sy = arrays
    return _harmonised(pd.DataFrame({"ldlc": bx, "chdlodds": by, "ldlcse": sx, "chdloddsse": sy}))


def test_maxlik(arrays) -> None:
    """``mr_maxlik(inp, method = "CG")``: 3.17326855555723 (se 0.55874972482686, p 1.35301938922788e-08,
    heterogeneity 85.9721674155379 on 27 df, RSE 1.78441989137188); ``model = "fixed"``: se 0.3131268192697.
    CG stops at optim's relative tolerance (1e-8); the package's default Nelder-Mead stops earlier, at
    3.22494417545914 with the larger objective 86.8145134126052 / 2 - the maximum is ours."""
    fit = est.maxlik(*arrays)
    assert fit.b == pytest.approx(3.17326855555723, rel=REL)
    assert fit.se == pytest.approx(0.55874972482686, rel=REL_SE)
    assert fit.pval == pytest.approx(1.35301938922788e-08, rel=REL_SE)
    assert fit.heterogeneity is not None and fit.heterogeneity.df == 27
    assert fit.heterogeneity.q == pytest.approx(85.9721674155379, rel=REL_SE)
    assert fit.heterogeneity.q < 86.8145134126052  # below the Nelder-Mead point's objective
    assert fit.sigma == pytest.approx(1.78441989137188, rel=REL_SE)
    assert est.maxlik(*arrays, model="fixed").se == pytest.approx(0.3131268192697, rel=REL_SE)


def test_conmix(arrays, lipids) -> None:
    """``mr_conmix(inp)``: estimate 2.73, CI 2 to 3.43 (one interval), p 4.78884056938637e-15, psi
    66.1790453126795, grid -27.4 to 385 by 0.01, valid instruments 1-11, 13, 15, 17-19, 21, 23, 25-28;
    ``mr_conmix(inp, CIStep = 0.001)``: 2.731, CI 2 to 3.436, p 4.788786674801e-15. Estimate and limits are grid
    points: equal to 1e-9."""
    res = est.conmix_fit(*arrays)
    assert isinstance(res, est.ConmixResult)
    fit = res.estimate
    assert fit.b == pytest.approx(2.73, abs=1e-9)
    assert (fit.conf_low, fit.conf_high) == pytest.approx((2.0, 3.43), abs=1e-9)
    assert len(res.intervals) == 1 and res.intervals[0] == pytest.approx((2.0, 3.43), abs=1e-9)
    assert fit.pval == pytest.approx(4.78884056938637e-15, rel=REL_SE)
    assert res.psi == pytest.approx(66.1790453126795, rel=REL)
    assert (res.grid[0], res.grid[-1]) == pytest.approx((-27.4, 385.0), abs=1e-9)
    assert (res.valid + 1).tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 18, 19, 21, 23, 25, 26, 27, 28]
    fine = est.conmix(*arrays, ci_step=0.001)
    assert fine.b == pytest.approx(2.731, abs=1e-9)
    assert (fine.conf_low, fine.conf_high) == pytest.approx((2.0, 3.436), abs=1e-9)
    assert fine.pval == pytest.approx(4.788786674801e-15, rel=REL_SE)
    row = run_mr(_harmonised(lipids), MRSettings(methods=("conmix",), steiger=False), "ldl", "chd", seed=1).to_tidy()
    assert row["method"].iloc[0] == "Contamination mixture"
    assert (row["conf_low"].iloc[0], row["conf_high"].iloc[0]) == pytest.approx((2.0, 3.43), abs=1e-9)
    assert np.isnan(row["std_error"].iloc[0])
    bad = est.conmix(*arrays, ci_step=1e-6)
    assert not bad.estimable and "conmix_ci_step" in bad.note


def test_egger_mv(lipids) -> None:
    """``mr_mvegger(mr_mvinput(bx = cbind(ldlc, hdlc, trig), bxse = cbind(ldlcse, hdlcse, trigse), by = chdlodds,
    byse = chdloddsse))``: estimates 2.82928840920554, -0.663141306397589, 0.826930801351876 (se
    0.515335235896881, 0.496499997585128, 0.209123984394601; p 4.0150137694313e-08, 0.181669571186443,
    7.67715909941615e-05), intercept -0.0282577738919718 (se 0.0104363489683239, p 0.00677654792310674), RSE
    1.28033381830587, heterogeneity 39.3421124711448 (p 0.0251341402062826); ``distribution = "t-dist"``: p
    1.05433278799004e-05, 0.193702928443271, 0.000557150148170621, intercept 0.0120435186954747."""
    bx = lipids[["ldlc", "hdlc", "trig"]].to_numpy(float)
    res = multivariable_egger(bx, lipids["chdlodds"], lipids["chdloddsse"], ["ldl", "hdl", "tg"])
    assert res.estimates["b"].to_numpy() == pytest.approx([2.82928840920554, -0.663141306397589, 0.826930801351876],
                                                          rel=REL)
    assert res.estimates["se"].to_numpy() == pytest.approx(
        [0.515335235896881, 0.496499997585128, 0.209123984394601], rel=REL_SE)
    assert res.estimates["pval"].to_numpy() == pytest.approx(
        [4.0150137694313e-08, 0.181669571186443, 7.67715909941615e-05], rel=REL_SE)
    assert (res.intercept, res.intercept_se, res.intercept_pval) == pytest.approx(
        (-0.0282577738919718, 0.0104363489683239, 0.00677654792310674), rel=REL_SE)
    assert (res.sigma, res.Q, res.Q_pval) == pytest.approx((1.28033381830587, 39.3421124711448, 0.0251341402062826),
                                                           rel=REL_SE)
    t = multivariable_egger(bx, lipids["chdlodds"], lipids["chdloddsse"], distribution="t")
    assert t.estimates["pval"].to_numpy() == pytest.approx(
        [1.05433278799004e-05, 0.193702928443271, 0.000557150148170621], rel=REL_SE)
    assert t.intercept_pval == pytest.approx(0.0120435186954747, rel=REL_SE)
    # in the pair's multivariable table, after the IVW rows; the intercept is not exponentiated
    data = _harmonised(lipids).assign(**{"beta.hdl": lipids["hdlc"], "beta.tg": lipids["trig"]})
    settings = MRSettings(methods=("ivw", "egger_mv"), egger_distribution="normal")
    table = multivariable_table(data, "ldl", "chd", ["hdl", "tg"], settings, binary=True)
    egger_rows = table.query("method == 'Multivariable MR-Egger' and scale == 'beta'")
    assert egger_rows["term"].tolist() == ["causal_effect"] * 3 + ["egger_intercept"]
    assert egger_rows["estimate"].iloc[3] == pytest.approx(-0.0282577738919718, rel=REL)
    assert egger_rows["p_value"].iloc[0] == pytest.approx(4.0150137694313e-08, rel=REL_SE)
    assert len(table.query("method == 'Multivariable MR-Egger' and scale == 'odds_ratio'")) == 3
    plain = multivariable_table(data, "ldl", "chd", ["hdl", "tg"], MRSettings(), binary=False)
    assert set(plain["method"]) == {"Multivariable IVW"}
    with pytest.raises(DataError, match="more instruments"):
        multivariable_egger(bx[:4], lipids["chdlodds"][:4], lipids["chdloddsse"][:4])


def test_ivw_robust(arrays) -> None:
    """``mr_ivw(inp, robust = TRUE)`` (robustbase 0.95 ``lmrob``): 2.79698521972855 (se 0.306965792215247,
    p 8.10888397757747e-20); with the outcome associations of variants 3, 8 and 14 set to 0.5: 2.90673743630487
    (se 0.412260433942246, p 1.77980231125784e-12); variants 1-3 only (fixed effects: se / scale):
    3.17717838921327 (se 0.327101144124581). lmrob stops at rel.tol 1e-7, so R's own digits beyond about 1e-8
    are convergence noise."""
    fit = est.ivw_robust(*arrays)
    assert fit.b == pytest.approx(2.79698521972855, rel=REL)
    assert fit.se == pytest.approx(0.306965792215247, rel=REL_SE)
    assert fit.pval == pytest.approx(8.10888397757747e-20, rel=REL_SE)
    assert fit.method == "Robust inverse variance weighted"
    bx, by, sx, sy = arrays
    by_out = by.copy()
    by_out[[2, 7, 13]] = 0.5
    out = est.ivw_robust(bx, by_out, sx, sy)
    assert out.b == pytest.approx(2.90673743630487, rel=REL)
    assert out.se == pytest.approx(0.412260433942246, rel=REL_SE)
    assert out.pval == pytest.approx(1.77980231125784e-12, rel=REL_SE)
    assert est.ivw(bx, by_out, sx, sy).b < 2.0  # the outliers drag plain IVW, not the robust fit
    three = est.ivw_robust(*(a[:3] for a in arrays))
    assert three.b == pytest.approx(3.17717838921327, rel=REL)
    assert three.se == pytest.approx(0.327101144124581, rel=REL_SE)
    assert not est.ivw_robust(*(a[:2] for a in arrays)).estimable


def test_steiger_r_from_pn() -> None:
    """Steiger with variance explained from p and n (TwoSampleMR ``get_r_from_pn``), in R:
    ``get_r_from_pn <- function(p, n) {F <- qf(p, 1, n - 1, lower.tail = FALSE); sqrt(F / (n - 2 + F))}``;
    ``pe <- c(1e-12, 3e-9, 2e-20, 4e-8, 1e-10)``, ``ne <- 50000``, ``po <- c(0.2, 0.03, 1e-4, 0.6, 0.01)``,
    ``no <- 120000``: ``sum(get_r_from_pn(pe, ne)^2)`` = 0.00487327321933014, outcome 0.00023664678300168,
    ``psych::r.test(ne, sqrt(r2e), sqrt(r2o), n2 = no)`` p (Fisher z) = 1.23782443264007e-24; per variant
    ``get_r_from_pn(pe, ne)^2`` = 0.00101641649192195, 0.000703464783040144, 0.00171443331900608,
    0.000602837426601969, 0.000836121198759998."""
    harmonised = pd.DataFrame({
        "SNP": [f"rs{i}" for i in range(5)],
        "beta.exposure": [0.05, 0.04, 0.07, 0.035, 0.045], "se.exposure": [0.01] * 5,
        "pval.exposure": [1e-12, 3e-9, 2e-20, 4e-8, 1e-10], "samplesize.exposure": 50000.0,
        "beta.outcome": [0.01, 0.02, 0.03, 0.005, 0.02], "se.outcome": [0.008] * 5,
        "pval.outcome": [0.2, 0.03, 1e-4, 0.6, 0.01], "samplesize.outcome": 120000.0, "mr_keep": True,
    })
    row = directionality(harmonised, r_from="pn").iloc[0]
    assert row["snp_r2.exposure"] == pytest.approx(0.00487327321933014, rel=REL)
    assert row["snp_r2.outcome"] == pytest.approx(0.00023664678300168, rel=REL)
    assert row["steiger_pval"] == pytest.approx(1.23782443264007e-24, rel=REL_SE)
    assert row["method_rsq.exposure"] == "pn" and bool(row["correct_causal_direction"])
    per = steiger_per_variant(harmonised, r_from="pn")
    assert per["rsq.exposure"].to_numpy() == pytest.approx(
        [0.00101641649192195, 0.000703464783040144, 0.00171443331900608, 0.000602837426601969,
         0.000836121198759998], rel=REL)
    # the default (get_r_from_bsen) ignores the p-values
    assert directionality(harmonised).iloc[0]["snp_r2.exposure"] != pytest.approx(0.00487327321933014, rel=1e-3)
    res = run_mr(harmonised, MRSettings(methods=("ivw",), steiger_r_from="pn"), "x", "y", seed=1)
    assert res.directionality["snp_r2.exposure"].iloc[0] == pytest.approx(0.00487327321933014, rel=REL)
    with pytest.raises(ConfigError, match="steiger_r_from"):
        MRSettings(steiger_r_from="p")
