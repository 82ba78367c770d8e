"""Recovery over many seeds: the summary statistics, the binomial band and the plan (fast; the R = 20 run is in
tests/workflow/test_coverage.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from musclecog.errors import ConfigError
from musclecog.recovery import (
    COVERAGE_COLUMNS,
    MR_VARIANTS,
    SEED_COLUMNS,
    binomial_band,
    clopper_pearson,
    plan_coverage,
    simulate_mr,
    summarise,
)


def test_clopper_pearson_matches_r_binom_test():
    """R 4.x: ``binom.test(19, 20)$conf.int`` = 0.7512672372 0.9987349105;
    ``binom.test(180, 200)$conf.int`` = 0.8497872121 0.9378406337."""
    assert clopper_pearson(19, 20) == pytest.approx((0.7512672372, 0.9987349105), abs=1e-9)
    assert clopper_pearson(180, 200) == pytest.approx((0.8497872121, 0.9378406337), abs=1e-9)
    assert clopper_pearson(20, 20)[1] == 1.0 and clopper_pearson(0, 20)[0] == 0.0


def test_binomial_band_at_r20():
    """R: ``pbinom(13, 20, 0.95)`` = 3.39461653e-05 <= 1e-4 < ``pbinom(14, 20, 0.95)``: a calibrated target
    covers fewer than 14 of 20 seeds with probability 3.4e-5; no count above 20 exists."""
    assert binomial_band(20, tail=1e-4) == (14, 20)
    lo, hi = binomial_band(200, tail=1e-4)
    assert lo < 190 < hi < 200


def test_summarise_coverage_bias_rmse_pass_share():
    rows = [
        (0, "t", 1.1, 0.9, 1.3, 1.0, "recovered"),
        (1, "t", 0.9, 0.8, 1.0, 1.0, "uninformative"),
        (2, "t", 1.5, 1.2, 1.8, 1.0, "not recovered"),
        (3, "t", 1.0, 0.7, 1.3, 1.0, "recovered"),
    ]
    per_seed = pd.DataFrame(rows, columns=list(SEED_COLUMNS))
    table = summarise(per_seed, {"mr": "reads MR pair"})
    assert list(table.columns) == list(COVERAGE_COLUMNS)
    row = table.set_index("target_id").loc["t"]
    assert row["R"] == 4
    assert row["coverage"] == 0.75  # seed 2's CI [1.2, 1.8] misses 1.0
    assert row["mean_bias"] == pytest.approx((0.1 - 0.1 + 0.5 + 0.0) / 4)
    assert row["rel_rmse"] == pytest.approx(math.sqrt((0.01 + 0.01 + 0.25) / 4))
    assert row["pass_share"] == 0.5
    assert row["calibrated"] == ""  # judged at R >= 200 only
    assert "not simulated" in table.set_index("target_id").loc["mr", "note"]


def test_plan_covers_every_synthetic_target_the_mr_pairs_included(repo_dir):
    config = yaml.safe_load((repo_dir / "config" / "config.yaml").read_text())
    plan = plan_coverage(config)  # targets: "{workflow_dir}/resources/review_targets.tsv"
    assert plan.skipped == {}
    assert set(plan.mapping) == set(config["reproduction"])
    assert "nhanes_like" in plan.cohorts and "charls" in plan.cohorts
    assert plan.mr_pairs == ("cognitive_impairment__grip", "grip__cognitive_impairment")
    assert plan.mr_variants == MR_VARIANTS


def test_plan_skips_mr_pairs_of_real_gwas(repo_dir):
    config = yaml.safe_load((repo_dir / "config" / "config.yaml").read_text())
    config["gwas"]["grip"] = {"path": "grip.tsv.gz", "units": "SD"}
    plan = plan_coverage(config)
    assert set(plan.skipped) == {"mr_grip_cognition_bidirectional"}
    assert "reads real GWAS ['grip']" in plan.skipped["mr_grip_cognition_bidirectional"]
    assert plan.mr_pairs == ()


def test_in_process_mr_reproduces_the_default_run(repo_dir):
    """With the config's seed and n_variants, the coverage seed's GWAS simulation, standardisation and pair runs
    give the default run's IVW rows (tests/golden/mr/*/estimates.tsv, written to 12 significant digits)."""
    from musclecog.results import read_table

    config = yaml.safe_load((repo_dir / "config" / "config.yaml").read_text())
    plan = plan_coverage(config, mr_variants=None)
    estimates, truths = simulate_mr(plan, int(config["seed"]))
    assert set(truths) == {"grip", "cognitive_impairment"}
    for pair in plan.mr_pairs:
        golden = read_table(repo_dir / "tests" / "golden" / "mr" / pair / "estimates.tsv")
        golden = golden[golden["method"] == "Inverse variance weighted"].reset_index(drop=True)
        ours = estimates[("mr_pair", pair)]
        assert list(ours["method"].unique()) == ["Inverse variance weighted"]  # only the checked estimator
        assert list(ours["scale"]) == list(golden["scale"])
        for col in ("estimate", "std_error", "conf_low", "conf_high"):
            assert ours[col].to_numpy(float) == pytest.approx(golden[col].to_numpy(float), rel=1e-9), (pair, col)
        assert list(ours["nsnp"].astype(int)) == list(golden["nsnp"].astype(int))


def test_calibration_is_judged_at_r200_and_misses_are_explained():
    def seeds(k, n=200):
        return pd.DataFrame({"seed_index": range(n), "target_id": "t", "estimate": 1.0, "conf_low": 0.0,
                             "conf_high": [2.0] * k + [0.5] * (n - k), "truth": 1.0, "verdict": "recovered"},
                            columns=list(SEED_COLUMNS))

    assert summarise(seeds(190)).loc[0, "calibrated"] == "yes"
    noisy = summarise(seeds(184)).loc[0]  # 0.92: exact interval [0.874, 0.954] contains 0.95
    assert noisy["calibrated"] == "no" and "Monte Carlo error" in noisy["note"]
    bad = summarise(seeds(170)).loc[0]  # 0.85: exact interval excludes 0.95
    assert bad["calibrated"] == "no" and bad["note"].startswith("miscalibrated")
    # R = 1000, 932 covered (Wang 60-69): within 93-97%, exact interval [0.915, 0.947] excludes 0.95: said
    slight = summarise(seeds(932, 1000)).loc[0]
    assert slight["calibrated"] == "yes" and "[0.915, 0.947] excludes 95%: slight undercoverage" in slight["note"]
    assert summarise(seeds(950, 1000)).loc[0, "note"] == ""


def test_plan_can_be_limited_to_some_targets(repo_dir):
    """--targets: only the named targets and only the cohorts they read; an unmapped name is a ConfigError."""
    config = yaml.safe_load((repo_dir / "config" / "config.yaml").read_text())
    plan = plan_coverage(config, only=["wang_dsst_low_alm_bmi_60_69"])
    assert set(plan.mapping) == {"wang_dsst_low_alm_bmi_60_69"}
    assert plan.cohorts == ("nhanes_like",) and plan.mr_pairs == ()
    with pytest.raises(ConfigError, match=r"targets \['nope'\] are not mapped by the config's reproduction"):
        plan_coverage(config, only=["nope"])
