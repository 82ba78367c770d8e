"""The default longitudinal and survival analyses of config/config.yaml recover the synthetic truth.

Each analysis is run exactly as the pipeline runs it (cohort built by ``musclecog.ingest.build_cohort`` with the
seed derived from the config's master seed; the analysis entry read from config/config.yaml). The 95% CI must
cover the generating value and, for cohort7y, the review's beta = -0.14 (review_targets.tsv:
cohort7y_low_muscle_decline); for CHARLS, Liu et al.'s W3 betas (liu_charls_grip_decline).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.seeds import derive_seed

REPO = Path(__file__).resolve().parents[2]


@cache
def _config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@cache
def _cohort(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from musclecog.ingest import build_cohort

    cfg = _config()
    c = build_cohort(name, cfg["cohorts"][name], seed=derive_seed(cfg["seed"], "cohort", name))
    return c.data, c.truth.set_index("parameter")["value"]


def _run(analysis: str) -> pd.DataFrame:
    cfg = _config()
    spec = cfg["analyses"][analysis]
    data, _ = _cohort(spec["cohort"])
    ctx = RunContext(analysis, spec["cohort"], derive_seed(cfg["seed"], "analysis", analysis))
    return run_analysis(data, spec, ctx).to_tidy()


def _covers(row: pd.Series, value: float) -> bool:
    return bool(row["conf_low"] <= value <= row["conf_high"])


@pytest.mark.slow
def test_cohort7y_decline_covers_review_and_truth() -> None:
    t = _run("cohort7y_decline_mixed").set_index(["term", "stratum"])
    _, truth = _cohort("cohort7y")
    for stratum, key in (("overall", ""), ("sex=female", "_women"), ("sex=male", "_men")):
        row = t.loc[("low_muscle_mass:time_years", stratum)]
        assert _covers(row, float(truth[f"beta_low_muscle_mass_x_time{key}"])), (stratum, row.to_dict())
        assert _covers(row, -0.14), stratum
    assert (t.xs("converged", level="term")["estimate"] == 1).all()


@pytest.mark.slow
def test_charls_w3_regressions_cover_liu_betas() -> None:
    _, truth = _cohort("charls")
    for analysis, suffix in (("charls_w3_by_grip", ""), ("charls_w3_by_grip_adj", "_adj_baseline")):
        t = _run(analysis).set_index(["term", "stratum"])
        for stratum, sex in (("sex=female", "women"), ("sex=male", "men")):
            row = t.loc[("grip_group[4]", stratum)]
            assert _covers(row, float(truth[f"beta_w3_cognition_q4_vs_q1{suffix}_{sex}"])), (
                analysis,
                stratum,
            )


@pytest.mark.slow
def test_charls_mixed_slope_difference_covers_truth() -> None:
    _, truth = _cohort("charls")
    t = _run("charls_grip_mixed").set_index(["term", "stratum"])
    for stratum, sex in (("sex=female", "women"), ("sex=male", "men")):
        assert _covers(t.loc[("grip_group[4]:time_years", stratum)], float(truth[f"slope_q4_vs_q1_{sex}"]))
        assert _covers(t.loc[("grip_group[4]", stratum)], float(truth[f"level_q4_vs_q1_{sex}"]))


@pytest.mark.slow
def test_survival_defaults_cover_truth() -> None:
    _, truth = _cohort("charls")
    t = _run("charls_impairment_cox").set_index("term")
    assert _covers(t.loc["grip_group[1]"], float(truth["hr_impairment_q1_vs_q4"]))
    _, nh_truth = _cohort("nhanes_like")
    t = _run("nhanes_mortality_cox").set_index("term")
    assert _covers(t.loc["low_mm_fnih_alm"], float(nh_truth["hr_death_low_mm_fnih_alm"]))
