"""The NHANES 2011-2014 example (config/examples/nhanes_2011_2014.yaml) on the public files.

Reference values: ../shared/data/README.md ("Observed here (unweighted, age 60+)"), computed directly
with pandas from DEMO_G/H, MGX_G/H, CFQ_H and the public CFQ merge: 2,688 people aged 60+ with both DSST
(CFDDS) and combined grip (MGDCGSZ); EWGSOP2 low grip by the best single trial (max of MGXH1T1..MGXH2T3;
< 27 kg men, < 16 kg women): n = 151, mean DSST 34.58 (SD 15.3); normal: n = 2,537, mean DSST 46.94 (SD 17.1).
Tolerance: counts exact, means to 0.005 (the published figures' rounding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from musclecog.config import validate_config
from musclecog.ingest import build_cohort
from musclecog.io import read_input_table

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def cohort(repo_dir, shared_data_dir):
    with open(repo_dir / "config" / "examples" / "nhanes_2011_2014.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["nhanes_dir"] = str(shared_data_dir / "nhanes_2011_2014")
    cfg = validate_config(cfg, repo_dir / "workflow" / "schemas", base_dir=repo_dir)
    return build_cohort("nhanes_2011_2014", cfg["cohorts"]["nhanes_2011_2014"], seed=1, base_dir=repo_dir)


def test_sample_size(cohort):
    d = cohort.data
    assert len(d) == 2688
    assert d["id"].is_unique
    assert d["age"].min() >= 60
    assert d["dsst"].notna().all() and d["grip_kg"].notna().all()


def test_ewgsop2_low_grip_by_best_trial(cohort):
    g = cohort.data.groupby("low_grip_ewgsop2")["dsst"]
    assert g.size().to_dict() == {0: 2537, 1: 151}
    assert g.mean()[1] == pytest.approx(34.58, abs=0.005)
    assert g.mean()[0] == pytest.approx(46.94, abs=0.005)
    assert g.std()[1] == pytest.approx(15.3, abs=0.05)
    assert g.std()[0] == pytest.approx(17.1, abs=0.05)


def test_best_trial_and_combined_grip(cohort):
    d = cohort.data
    trials = d[[c for c in d.columns if c.startswith("grip_trial_")]]
    assert trials.shape[1] == 6
    np.testing.assert_allclose(d["grip_best_kg"], trials.max(axis=1))
    assert (d["grip_kg"] == d["grip_combined_kg"]).all()
    assert (d["grip_combined_kg"] >= d["grip_best_kg"]).all()  # sum of both hands' best >= best of any


def test_demographics_survey_and_missing_codes(cohort):
    d = cohort.data
    assert set(d["sex"]) == {"male", "female"}
    assert set(d["nhanes_cycle"]) == {7, 8}
    assert d["survey_weight"].gt(0).all() and d["survey_psu"].isin([1, 2, 3]).all()
    assert cohort.survey == {"weight": "survey_weight", "strata": "survey_strata", "psu": "survey_psu",
                             "weight_divisor": 2}
    assert d["education"].isna().sum() == 2  # coded 7/9 among the 2,688
    assert "less_than_9th_grade" in set(d["education"].dropna())
    flow = cohort.flow.set_index("step")
    assert flow.loc["cohorts.nhanes_2011_2014.keep_if.age.min", "n_out"] == 3632
    assert flow["n_out"].iloc[-1] == 2688


def test_xpt_zero_quirk_on_real_file(shared_data_dir):
    # two CFQ_H DSST scores are exact zeros stored as ~5.4e-79; the public merge has them as 0
    cfq = read_input_table(shared_data_dir / "nhanes_2011_2014" / "CFQ_H.XPT")
    merged = pd.read_csv(shared_data_dir / "nhanes_2011_2014" / "merged_age60plus_cfq_paq_2011_2014.csv")
    both = merged.loc[merged["SDDSRVYR"] == 8, ["SEQN", "CFDDS"]].merge(cfq[["SEQN", "CFDDS"]], on="SEQN")
    assert len(both) == 1785
    pd.testing.assert_series_equal(both["CFDDS_x"], both["CFDDS_y"], check_names=False)
    assert (cfq["CFDDS"] == 0).sum() >= 2
