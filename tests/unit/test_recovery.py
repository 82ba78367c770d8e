"""Recovery over many seeds: the summary statistics, the binomial band and the plan (fast; the R = 20 run is in
tests/workflow/test_coverage.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from musclecog.recovery import (
    COVERAGE_COLUMNS,
    SEED_COLUMNS,
    binomial_band,
    clopper_pearson,
    plan_coverage,
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


def test_plan_covers_every_synthetic_target_but_mr(repo_dir):
    config = yaml.safe_load((repo_dir / "config" / "config.yaml").read_text())
    plan = plan_coverage(config)  # targets: "{workflow_dir}/resources/review_targets.tsv"
    assert set(plan.skipped) == {"mr_grip_cognition_bidirectional"}
    assert set(plan.mapping) == set(config["reproduction"]) - set(plan.skipped)
    assert "nhanes_like" in plan.cohorts and "charls" in plan.cohorts


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
