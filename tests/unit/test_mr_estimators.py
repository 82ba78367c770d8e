"""Unit tests of the two-sample MR estimators, sensitivity analyses and run_mr (synthetic inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.mr import estimators as est
from musclecog.mr import sensitivity as sens
from musclecog.mr.analysis import MRSettings, run_mr
from musclecog.mr.presso import PressoSettings, _loo_slopes, mr_presso
from musclecog.plots.mr import all_figures


def simulate(k: int = 60, beta: float = 0.3, pleio: int = 0, seed: int = 1) -> pd.DataFrame:
    """Harmonised-style summary statistics with a true causal effect ``beta``; the first ``pleio``
    instruments get a large direct effect on the outcome."""
    rng = np.random.default_rng(seed)
    bx_true = rng.normal(0, 0.05, k)
    bx_true += np.sign(bx_true) * 0.03
    sx = np.full(k, 0.005)
    sy = rng.uniform(0.01, 0.02, k)
    direct = np.zeros(k)
    direct[:pleio] = 0.15
    bx = rng.normal(bx_true, sx)
    by = rng.normal(beta * bx_true + direct, sy)
    return pd.DataFrame({
        "SNP": [f"rs{i}" for i in range(k)],
        "effect_allele.exposure": "A", "other_allele.exposure": "G",
        "beta.exposure": bx, "se.exposure": sx, "eaf.exposure": 0.3,
        "pval.exposure": 1e-10, "samplesize.exposure": 300_000,
        "beta.outcome": by, "se.outcome": sy, "eaf.outcome": 0.3,
        "pval.outcome": 0.5, "samplesize.outcome": 100_000,
        "mr_keep": True, "palindromic": False, "ambiguous": False,
    })


def arrays(h: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(h[c].to_numpy(float) for c in ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome"))


FAST = MRSettings(nboot=200, presso_n_distribution=300)


def test_ivw_equals_weighted_least_squares_and_se_rules() -> None:
    bx, by, sx, sy = arrays(simulate())
    w = 1 / sy**2
    b_wls = np.linalg.lstsq(bx[:, None] * np.sqrt(w)[:, None], by * np.sqrt(w), rcond=None)[0][0]
    fe = est.ivw(bx, by, sx, sy, model="fe")
    assert fe.b == pytest.approx(b_wls, rel=1e-12)
    assert fe.se == pytest.approx(np.sqrt(1 / np.sum(w * bx**2)), rel=1e-12)
    sigma = fe.sigma
    assert est.ivw(bx, by, sx, sy).se == pytest.approx(fe.se * max(1.0, sigma), rel=1e-12)
    assert est.ivw(bx, by, sx, sy, model="mre").se == pytest.approx(fe.se * sigma, rel=1e-12)
    # under-dispersed data: TwoSampleMR's default never goes below the fixed-effect se
    under = by.copy() * 0 + 0.3 * bx
    assert est.ivw(bx, under, sx, sy).se == pytest.approx(est.ivw(bx, under, sx, sy, model="fe").se)


def test_egger_is_invariant_to_allele_coding() -> None:
    bx, by, sx, sy = arrays(simulate(pleio=5))
    flip = np.arange(bx.size) % 3 == 0
    s = np.where(flip, -1.0, 1.0)
    a, b = est.egger(bx, by, sx, sy), est.egger(bx * s, by * s, sx, sy)
    assert a.b == pytest.approx(b.b, rel=1e-12)
    assert a.intercept.b == pytest.approx(b.intercept.b, rel=1e-12)
    assert a.dist_df == bx.size - 2


def test_egger_detects_directional_pleiotropy() -> None:
    rng = np.random.default_rng(3)
    bx = rng.uniform(0.02, 0.1, 80)
    sy = np.full(80, 0.005)
    by = 0.2 * bx + 0.01 + rng.normal(0, 0.005, 80)  # every variant has the same direct effect 0.01
    fit = est.egger(bx, by, np.full(80, 0.002), sy)
    assert fit.intercept.pval < 1e-3
    assert fit.intercept.b == pytest.approx(0.01, abs=0.004)
    assert fit.b == pytest.approx(0.2, abs=0.06)


def test_weighted_median_point_cases() -> None:
    x = np.array([3.0, 1.0, 2.0])
    assert est.weighted_median_point(x, np.ones(3))[0] == pytest.approx(2.0)
    # a dominant weight pulls the median to its value
    assert est.weighted_median_point(x, np.array([100.0, 1.0, 1.0]))[0] == pytest.approx(3.0, abs=0.05)
    # row-wise over a matrix equals one call per row
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 7))
    w = rng.uniform(0.5, 2, 7)
    rows = [est.weighted_median_point(m[i], w)[0] for i in range(5)]
    assert est.weighted_median_point(m, w) == pytest.approx(rows)


def test_medians_recover_truth_with_a_third_invalid() -> None:
    h = simulate(k=90, beta=0.3, pleio=20, seed=5)
    bx, by, sx, sy = arrays(h)
    fits = est.median_estimates(bx, by, sx, sy, settings=est.BootstrapSettings(nboot=200), rng=np.random.default_rng(1))
    ivw_b = est.ivw(bx, by, sx, sy).b
    wm = fits["weighted_median"]
    assert abs(wm.b - 0.3) < abs(ivw_b - 0.3)
    assert abs(wm.b - 0.3) < 3 * wm.se
    assert 0 < wm.se < 1


def test_mode_bootstrap_is_vectorised_and_consistent() -> None:
    h = simulate(k=50, beta=0.3, pleio=10, seed=7)
    bx, by, sx, sy = arrays(h)
    fits = est.mode_estimates(bx, by, sx, sy, which=("simple_mode", "weighted_mode", "penalised_mode",
                                                     "simple_mode_nome", "weighted_mode_nome"),
                              settings=est.BootstrapSettings(nboot=200), rng=np.random.default_rng(2))
    assert set(fits) == {"simple_mode", "weighted_mode", "penalised_mode", "simple_mode_nome", "weighted_mode_nome"}
    assert abs(fits["weighted_mode"].b - 0.3) < 0.1
    assert all(np.isfinite(f.se) and f.se > 0 for f in fits.values())
    assert fits["weighted_mode"].dist_df == 49
    # the density mode of a matrix equals the per-row result
    b_iv = np.random.default_rng(0).normal(size=(3, 20))
    bw = np.array([0.2, 0.3, 0.4])
    rowwise = [est.r_density_mode(b_iv[i][None], np.full(20, 0.05), bw[i : i + 1])[0] for i in range(3)]
    assert est.r_density_mode(b_iv, np.full(20, 0.05), bw) == pytest.approx(rowwise)


def test_r_density_curves_match_r_for_both_grids() -> None:
    """``r_density`` equals R's weighted ``density()`` ordinates on R >= 4.4 and R <= 4.3 grids.

    R 4.2.2 (Debian), ``x <- c(-0.3, 0.1, 0.12, 0.5, 0.52, 0.55, 1.4); w <- c(1, 2, 3, 1, 4, 2, 1)/14``:
    legacy grid ``stats::density(x, weights = w, bw = 0.15)$y[c(1, 100, 256, 300, 512)]``; R 4.4 grid: the
    same call to ``density.default`` with its one changed line (R >= 4.4 src/library/stats/R/density.R,
    ``old.coords = FALSE``) substituted:
    ``kords <- seq.int(0, (2L*n-1)/(n-1) * (up-lo), length.out = 2L * n)``.
    """
    x = np.array([-0.3, 0.1, 0.12, 0.5, 0.52, 0.55, 1.4])
    w = np.array([1.0, 2, 3, 1, 4, 2, 1]) / 14
    at = [0, 99, 255, 299, 511]
    r44 = [0.0021181135132093826, 0.2335767405856805090, 1.3215816413714887023, 0.3520086127040747415,
           0.0021180439777201232]
    legacy = [0.0021367909637123482, 0.2339064099498254778, 1.3217421482482407669, 0.3529132348927569995,
              0.0021367191711515977]
    for coords, ref in (("r44", r44), ("r_legacy", legacy)):
        xout, yout = est.r_density(x, w, np.array([0.15]), coords)
        assert xout[0, [0, 511]] == pytest.approx([-0.75, 1.85], rel=1e-12)
        assert yout[0, at] == pytest.approx(ref, rel=1e-10)
        assert est.r_density_mode(x, w, np.array([0.15]), coords)[0] == pytest.approx(0.51692759295499013, rel=1e-12)
    # R's ?density example: old-grid ordinates are about 1/(2n - 2) = 1/1022 too high
    u = np.random.default_rng(7).uniform(size=(1, 400))
    _, new = est.r_density(u, np.full(400, 1 / 400), np.array([0.05]), "r44")
    _, old = est.r_density(u, np.full(400, 1 / 400), np.array([0.05]), "r_legacy")
    assert np.median(old / new - 1) == pytest.approx(1 / 1022, rel=0.1)
    with pytest.raises(ValueError, match="density coords"):
        est.r_density(x, w, np.array([0.15]), "r43")


def test_density_coords_setting() -> None:
    assert MRSettings().density_coords == "r44"
    assert MRSettings.from_config({"density_coords": "r_legacy"}).density_coords == "r_legacy"
    with pytest.raises(ConfigError, match="density_coords"):
        MRSettings.from_config({"density_coords": "R4.2"})
    h = simulate(k=30, seed=3)
    bx, by, sx, sy = arrays(h)
    with pytest.raises(ValueError, match="density_coords"):
        est.mode_estimates(bx, by, sx, sy, settings=est.BootstrapSettings(nboot=10, density_coords="old"))
    # the bootstrap draws are the same under both grids, so the two sets of estimates stay close
    fits = {c: est.mode_estimates(bx, by, sx, sy, settings=est.BootstrapSettings(nboot=100, density_coords=c),
                                  rng=np.random.default_rng(1))
            for c in ("r44", "r_legacy")}
    for key in ("simple_mode", "weighted_mode"):
        assert abs(fits["r44"][key].b - fits["r_legacy"][key].b) < 0.05 * fits["r44"][key].se


def test_not_estimable_rows_one_and_two_instruments() -> None:
    one = run_mr(simulate(k=1), FAST, "x", "y", seed=1)
    e = one.to_tidy().set_index("method")
    assert e.loc["Wald ratio", "note"] == ""
    bx, by, sx, sy = arrays(simulate(k=1))
    assert e.loc["Wald ratio", "estimate"] == pytest.approx(by[0] / bx[0])
    assert e.loc["Wald ratio", "std_error"] == pytest.approx(sy[0] / abs(bx[0]))
    for method in ("Inverse variance weighted", "MR Egger", "Weighted median", "Weighted mode", "MR-PRESSO (raw)"):
        assert e.loc[method, "note"].startswith("not estimable"), method
        assert np.isnan(e.loc[method, "estimate"])
    two = run_mr(simulate(k=2), FAST, "x", "y", seed=1).to_tidy().set_index("method")
    assert two.loc["Inverse variance weighted", "note"] == ""
    assert "Wald ratio" not in two.index  # with more than one instrument the ratios are in single_snp
    assert two.loc["MR Egger", "note"].startswith("not estimable: MR Egger needs at least 3")
    assert two.loc["Simple mode", "note"].startswith("not estimable")


def test_run_mr_tables_and_labels() -> None:
    res = run_mr(simulate(k=40, pleio=4), FAST, "grip", "cognition", seed=3)
    methods = res.to_tidy()["method"].tolist()
    assert methods == [
        "Inverse variance weighted", "Inverse variance weighted (fixed effects)", "MR Egger", "Weighted median",
        "Simple median", "Penalised weighted median", "Simple mode", "Weighted mode", "MR-PRESSO (raw)",
        "MR-PRESSO (outlier-corrected)",
    ]
    assert (res.to_tidy()["scale"] == "beta").all()
    assert (res.to_tidy()["nsnp"].iloc[:8] == 40).all()
    assert set(res.heterogeneity["statistic"]) == {"Cochran's Q", "Rucker's Q'", "Q - Q'"}
    assert {"egger_intercept", "se", "pval", "i2_gx"} <= set(res.pleiotropy.columns)
    assert {"snp_r2.exposure", "snp_r2.outcome", "correct_causal_direction", "steiger_pval"} <= set(res.directionality.columns)
    assert bool(res.directionality["correct_causal_direction"].iloc[0])
    assert res.single_snp["SNP"].iloc[-2:].tolist() == ["All - Inverse variance weighted", "All - MR Egger"]
    assert res.leave_one_out["SNP"].iloc[-1] == "All" and len(res.leave_one_out) == 41
    assert set(res.presso["test"]) >= {"global"}
    assert set(res.tables()) == {"estimates", "heterogeneity", "pleiotropy", "directionality", "single_snp",
                                 "leave_one_out", "presso"}


def test_binary_outcome_adds_odds_ratios() -> None:
    h = simulate(k=30)
    h["units.outcome"] = "log odds"
    h["ncase.outcome"], h["ncontrol.outcome"], h["prevalence.outcome"] = 20_000, 80_000, 0.15
    res = run_mr(h, MRSettings(methods=("ivw", "egger")), "grip", "impairment", seed=1)
    tidy = res.to_tidy()
    beta = tidy[tidy["scale"] == "beta"].set_index("method")
    ors = tidy[tidy["scale"] == "odds_ratio"].set_index("method")
    assert list(ors.index) == ["Inverse variance weighted", "MR Egger"]
    for m in ors.index:
        assert ors.loc[m, "estimate"] == pytest.approx(np.exp(beta.loc[m, "estimate"]))
        assert ors.loc[m, "conf_low"] == pytest.approx(np.exp(beta.loc[m, "conf_low"]))
        assert ors.loc[m, "std_error"] == pytest.approx(beta.loc[m, "std_error"])
    assert res.directionality["method_rsq.outcome"].iloc[0] == "lor"


def test_seeded_and_independent_streams() -> None:
    h = simulate(k=30)
    a = run_mr(h, FAST, "x", "y", seed=11).to_tidy()
    b = run_mr(h, FAST, "x", "y", seed=11).to_tidy()
    pd.testing.assert_frame_equal(a, b)
    only = run_mr(h, MRSettings(methods=("weighted_median",), nboot=200), "x", "y", seed=11).to_tidy()
    wm = a.set_index("method").loc["Weighted median", "std_error"]
    assert only.set_index("method").loc["Weighted median", "std_error"] == wm
    c = run_mr(h, FAST, "x", "y", seed=12).to_tidy().set_index("method")
    assert c.loc["Weighted median", "std_error"] != wm


def test_bad_input_fails_loudly() -> None:
    h = simulate(k=10)
    bad = h.copy()
    bad.loc[3, "se.outcome"] = 0.0
    with pytest.raises(DataError, match=r"se\.outcome.*rs3"):
        run_mr(bad, FAST, "x", "y", seed=1)
    with pytest.raises(DataError, match="no instrument has mr_keep"):
        run_mr(h.assign(mr_keep=False), FAST, "x", "y", seed=1)
    with pytest.raises(DataError, match=r"lack the columns \['beta.outcome'\]"):
        run_mr(h.drop(columns="beta.outcome"), FAST, "x", "y", seed=1)
    dup = pd.concat([h, h.iloc[[0]]])
    with pytest.raises(DataError, match="duplicated"):
        run_mr(dup, FAST, "x", "y", seed=1)
    nan = h.copy()
    nan.loc[2, "beta.exposure"] = np.nan
    with pytest.raises(DataError, match="rs2"):
        run_mr(nan, FAST, "x", "y", seed=1)
    # mr_keep = False rows are ignored, not checked
    ignored = bad.copy()
    ignored.loc[3, "mr_keep"] = False
    assert run_mr(ignored, FAST, "x", "y", seed=1).to_tidy()["nsnp"].iloc[0] == 9


def test_settings_from_config() -> None:
    s = MRSettings.from_config({"methods": ["ivw", "egger"], "nboot": 500, "phi": 0.5})
    assert s.methods == ("ivw", "egger") and s.nboot == 500 and s.phi == 0.5
    assert MRSettings.from_config(None) == MRSettings()
    with pytest.raises(ConfigError, match="unknown keys"):
        MRSettings.from_config({"nbot": 100})
    with pytest.raises(ConfigError, match="unknown methods"):
        MRSettings.from_config({"methods": ["ivw", "mr_magic"]})


def test_leave_one_out_matches_refits() -> None:
    h = simulate(k=12)
    bx, by, sx, sy = arrays(h)
    loo = sens.leave_one_out(h["SNP"], bx, by, sx, sy)
    for i in range(12):
        keep = np.arange(12) != i
        fit = est.ivw(bx[keep], by[keep], sx[keep], sy[keep])
        assert loo["b"].iloc[i] == pytest.approx(fit.b, rel=1e-10)
        assert loo["se"].iloc[i] == pytest.approx(fit.se, rel=1e-10)


def test_heterogeneity_and_i2gx() -> None:
    bx, by, sx, sy = arrays(simulate(k=30, pleio=6))
    het = sens.heterogeneity(bx, by, sx, sy).set_index("statistic")
    resid = by - est.ivw(bx, by, sx, sy).b * bx
    assert het.loc["Cochran's Q", "Q"] == pytest.approx(np.sum(resid**2 / sy**2))
    assert het.loc["Q - Q'", "Q"] == pytest.approx(het.loc["Cochran's Q", "Q"] - het.loc["Rucker's Q'", "Q"])
    assert het.loc["Cochran's Q", "Q_pval"] < 0.05
    assert 0 <= est.i_squared_gx(bx, sx) <= 1
    assert est.i_squared_gx(np.full(5, 0.1), np.full(5, 0.01)) == 0.0


def test_steiger_per_variant_and_rsq() -> None:
    h = simulate(k=20)
    out = sens.steiger_per_variant(h)
    assert {"rsq.exposure", "rsq.outcome", "steiger_dir", "steiger_pval"} <= set(out.columns)
    f = (h["beta.exposure"] / h["se.exposure"]) ** 2
    assert out["rsq.exposure"].to_numpy() == pytest.approx((f / (300_000 - 2 + f)).to_numpy())
    assert out["steiger_dir"].all()
    sd_units = h.assign(**{"units.exposure": "SD"})
    rsq, _, how = sens.variant_rsq(sd_units, "exposure")
    assert how == "sd_units"
    assert rsq == pytest.approx(2 * h["beta.exposure"] ** 2 * 0.3 * 0.7)
    with pytest.raises(DataError, match="ncase.outcome"):
        sens.variant_rsq(h.assign(**{"units.outcome": "log odds"}), "outcome")
    # r from p and n inverts the F test
    r = sens.r_from_pn(np.array([1e-8, 0.5, 0.0]), 10_000)
    assert np.isnan(r[2]) and 0 < r[1] < r[0] < 1


def test_multivariable_single_exposure_is_ivw() -> None:
    bx, by, sx, sy = arrays(simulate(k=25))
    mv = sens.multivariable_ivw(bx, by, sy)
    fit = est.ivw(bx, by, sx, sy)
    assert mv.estimates["b"].iloc[0] == pytest.approx(fit.b)
    assert mv.estimates["se"].iloc[0] == pytest.approx(fit.se)
    with pytest.raises(DataError, match="collinear"):
        sens.multivariable_ivw(np.column_stack([bx, 2 * bx]), by, sy)


def test_presso_vectorised_loo_and_outliers() -> None:
    h = simulate(k=40, beta=0.3, pleio=3, seed=9)
    bx, by, sx, sy = arrays(h)
    w = 1 / sy**2
    loo = _loo_slopes(bx, by, w)
    for i in (0, 17, 39):
        keep = np.arange(40) != i
        assert loo[i] == pytest.approx(np.sum(w[keep] * bx[keep] * by[keep]) / np.sum(w[keep] * bx[keep] ** 2))
    res = mr_presso(bx, by, sx, sy, h["SNP"].tolist(), settings=PressoSettings(n_distribution=2000),
                    rng=np.random.default_rng(4))
    assert res.global_pval < 0.05
    assert set(res.outlier_snps) >= {"rs0", "rs1", "rs2"}
    assert abs(res.corrected["b"] - 0.3) < abs(res.raw["b"] - 0.3)
    assert {"global", "outlier", "distortion"} <= set(res.details()["test"])
    with pytest.raises(DataError, match="at least 4"):
        mr_presso(bx[:3], by[:3], sx[:3], sy[:3])
    with pytest.raises(DataError, match="n_distribution"):
        mr_presso(bx, by, sx, sy, settings=PressoSettings(n_distribution=30))


def test_figures() -> None:
    import matplotlib.pyplot as plt

    res = run_mr(simulate(k=15), FAST, "grip", "cognition", seed=1)
    figs = all_figures(res)
    assert set(figs) == {"scatter", "forest", "funnel", "leave_one_out"}
    for fig in figs.values():
        assert fig.axes
        plt.close(fig)
    one = all_figures(run_mr(simulate(k=1), FAST, "grip", "cognition", seed=1))
    for fig in one.values():
        plt.close(fig)
