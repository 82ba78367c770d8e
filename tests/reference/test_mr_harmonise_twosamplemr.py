"""Harmonisation from raw files + the default method set against TwoSampleMR's published vignette output.

Reference: TwoSampleMR's "Perform MR" vignette (vignettes/perform_mr.Rmd, rendered output of the MRC IEU
TwoSampleMR documentation), BMI (ieu-a-2, 79 variants) on coronary heart disease (ieu-a-7):

    bmi_exp_dat <- extract_instruments(outcomes = 'ieu-a-2')
    chd_out_dat <- extract_outcome_data(snps = bmi_exp_dat$SNP, outcomes = 'ieu-a-7')
    dat <- harmonise_data(bmi_exp_dat, chd_out_dat)
    mr(dat); mr_heterogeneity(dat); mr_pleiotropy_test(dat); mr_leaveoneout(dat)

printed: MR Egger 0.5024935 (se 0.14396056), Weighted median 0.3870065, Inverse variance weighted 0.4459091
(se 0.05898302), Simple mode 0.3401554, Weighted mode 0.3790910, all nsnp 79; Q 143.6508 on 78 df (IVW) and
143.3046 on 77 (Egger); Egger intercept -0.001719304 (se 0.003985962); leave-one-out without rs1000940
0.4541284 (se 0.05843628). R's TwoSampleMR is not installable here (CRAN unreachable, not packaged by Debian), so
these published numbers are the reference; the shared files are the vignette's unharmonised extracts
(../shared/data/mr/twosamplemr_*.csv). Bootstrap standard errors (medians, modes) are random and not compared;
their point estimates are deterministic and are.

MVPA -> Alzheimer's (../shared/data/mr/mvpa_on_alzheimers_harmonised.csv, already harmonised): the published IVW
fixed-effect estimate without the APOE variant rs429358 is b = 0.16891, se = 0.25128 (20 variants).
"""

from __future__ import annotations

import pytest

from musclecog.mr.analysis import MRSettings, run_mr
from musclecog.mr.gwas import GwasSpec, standardise, write_standardised
from musclecog.mr.harmonise import harmonise_data
from musclecog.mr.pipeline import run_harmonised, run_pair

pytestmark = pytest.mark.shared_data

METHODS = ["ivw", "egger", "weighted_median", "simple_mode", "weighted_mode"]


@pytest.fixture(scope="module")
def bmi_chd(shared_data_dir):
    import pandas as pd

    exp = pd.read_csv(shared_data_dir / "mr" / "twosamplemr_bmi_exposure.csv")
    out = pd.read_csv(shared_data_dir / "mr" / "twosamplemr_chd_outcome.csv")
    return harmonise_data(exp, out)


def test_harmonise_keeps_the_79_variants_as_twosamplemr(bmi_chd):
    d = bmi_chd.data
    assert len(d) == 79 and d["mr_keep"].all()
    assert int(d["palindromic"].sum()) == 4 and not d["ambiguous"].any()


def test_default_methods_match_the_vignette(bmi_chd):
    res = run_mr(bmi_chd.data, MRSettings(methods=tuple(METHODS), nboot=100), "bmi", "chd", seed=1)
    est = res.to_tidy().query("scale == 'beta'").set_index("method")
    assert (est["nsnp"] == 79).all()
    assert est.loc["Inverse variance weighted", "estimate"] == pytest.approx(0.4459091, rel=1e-6)
    assert est.loc["Inverse variance weighted", "std_error"] == pytest.approx(0.05898302, rel=1e-6)
    assert est.loc["MR Egger", "estimate"] == pytest.approx(0.5024935, rel=1e-6)
    assert est.loc["MR Egger", "std_error"] == pytest.approx(0.14396056, rel=1e-6)
    assert est.loc["Weighted median", "estimate"] == pytest.approx(0.3870065, rel=1e-6)
    assert est.loc["Simple mode", "estimate"] == pytest.approx(0.3401554, rel=1e-6)
    het = res.heterogeneity.set_index("method")
    assert het.loc["Inverse variance weighted", "Q"] == pytest.approx(143.6508, rel=1e-6)
    assert het.loc["Inverse variance weighted", "Q_df"] == 78
    assert het.loc["MR Egger", "Q"] == pytest.approx(143.3046, rel=1e-6)
    plei = res.pleiotropy.iloc[0]
    assert plei["egger_intercept"] == pytest.approx(-0.001719304, rel=1e-6)
    assert plei["se"] == pytest.approx(0.003985962, rel=1e-6)
    loo = res.leave_one_out.set_index("SNP")
    assert loo.loc["rs1000940", "b"] == pytest.approx(0.4541284, rel=1e-6)
    assert loo.loc["rs1000940", "se"] == pytest.approx(0.05843628, rel=1e-6)


def test_weighted_mode_matches_the_vignette(bmi_chd):
    """Weighted mode 0.3790910 as printed by the vignette, which is rendered with R >= 4.4.

    R 4.4.0 corrected the kernel-ordinate grid of ``density()`` (``old.coords = FALSE``); TwoSampleMR's
    ``mr_mode`` takes the argmax of ``density(BetaIV, weights = w, bw = h)`` on its 512-point grid,
    and on these data the old grid (R <= 4.3, ``density_coords = "r_legacy"``) peaks one grid point
    to the right: 0.3888249 (checked against R 4.2.2's own ``stats::density`` in
    tests/reference/test_mr_reference.py). Simple mode is the same under both grids.
    """
    res = run_mr(bmi_chd.data, MRSettings(methods=("simple_mode", "weighted_mode"), nboot=100), "bmi", "chd",
                 seed=1)
    est = res.to_tidy().query("scale == 'beta'").set_index("method")
    assert est.loc["Weighted mode", "estimate"] == pytest.approx(0.3790910, rel=1e-6)
    assert est.loc["Simple mode", "estimate"] == pytest.approx(0.3401554, rel=1e-6)
    legacy = run_mr(bmi_chd.data, MRSettings(methods=("weighted_mode",), nboot=100, density_coords="r_legacy"),
                    "bmi", "chd", seed=1)
    old = legacy.to_tidy().query("scale == 'beta'").set_index("method")
    assert old.loc["Weighted mode", "estimate"] == pytest.approx(0.388824880964004, rel=1e-9)


def test_same_numbers_through_the_gwas_pipeline(shared_data_dir, tmp_path):
    """Raw files -> standardised parquet -> all 79 variants as instruments (p <= 1, no clumping) -> same IVW."""
    paths = {}
    for name in ("bmi_exposure", "chd_outcome"):
        spec = GwasSpec(name=name.split("_")[0], path=str(shared_data_dir / "mr" / f"twosamplemr_{name}.csv"))
        paths[name] = tmp_path / f"{name}.parquet"
        write_standardised(standardise(spec), paths[name])
    res = run_pair(paths["bmi_exposure"], paths["chd_outcome"], {"p_threshold": 1.0, "fallback_p_threshold": None,
                                                                  "clump": "none"},
                   MRSettings(methods=("ivw",)), seed=1)
    ivw = res.result.to_tidy().query("scale == 'beta'").iloc[0]
    assert ivw["nsnp"] == 79
    assert ivw["estimate"] == pytest.approx(0.4459091, rel=1e-6)


def test_mvpa_alzheimers_harmonised_table(shared_data_dir):
    res = run_harmonised(shared_data_dir / "mr" / "mvpa_on_alzheimers_harmonised.csv",
                         {"exclude_snps": ["rs429358"], "exposure_name": "mvpa", "outcome_name": "alzheimers"},
                         MRSettings(methods=("ivw_fe",)), seed=1)
    row = res.result.to_tidy().query("scale == 'beta'").iloc[0]
    assert row["nsnp"] == 20
    assert row["estimate"] == pytest.approx(0.16891, abs=5e-6)
    assert row["std_error"] == pytest.approx(0.25128, abs=5e-6)
