"""The default mediation analyses of config/config.yaml, run on their synthetic cohorts exactly as the
pipeline does (cohort seed ``derive_seed(seed, "cohort", name)``, analysis seed ``derive_seed(seed,
"analysis", name)``), recover the calibrated truth: the review's number lies inside our 95% CI.

Review targets (resources/review_targets.tsv): Chen proportion mediated 0.201 (ref. 39); SMART indirect effect
through strength -0.64 with VO2peak not a mediator (ref. 45); Zhao r = -0.41 in the power arm (ref. 43);
toe-grip r = 0.415 (ref. 44).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.ingest import build_cohort
from musclecog.seeds import derive_seed

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> dict:
    with open(REPO / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def _run(config: dict, analysis: str) -> pd.DataFrame:
    spec = config["analyses"][analysis]
    cohort = spec["cohort"]
    data = build_cohort(cohort, config["cohorts"][cohort], seed=derive_seed(config["seed"], "cohort", cohort),
                        base_dir=REPO).data
    context = RunContext(analysis, cohort, derive_seed(config["seed"], "analysis", analysis))
    return run_analysis(data, spec, context).to_tidy()


def _covers(row: pd.Series, value: float) -> bool:
    return bool(row["conf_low"] <= value <= row["conf_high"])


def test_chen_default_recovers_proportion_mediated(config: dict) -> None:
    tidy = _run(config, "chen_strength_mediation").set_index("term")
    pm = tidy.loc["proportion_mediated"]
    assert pm["n_boot"] == 5000 and pm["n"] == 595
    assert _covers(pm, 0.201), (pm["estimate"], pm["conf_low"], pm["conf_high"])
    assert tidy.loc["indirect", "conf_high"] < 0  # slower TUG -> weaker -> lower MMSE


def test_smart_default_strength_mediates_vo2peak_does_not(config: dict) -> None:
    tidy = _run(config, "smart_strength_mediation").set_index("term")
    strength = tidy.loc["indirect[lower_body_strength_kg_change]"]
    vo2 = tidy.loc["indirect[vo2peak_change]"]
    assert _covers(strength, -0.64) and strength["conf_high"] < 0
    assert _covers(vo2, 0.0)


@pytest.mark.parametrize(
    ("analysis", "stratum", "r"),
    [("zhao_change_correlation", "power", -0.41), ("toegrip_change_correlation", "overall", 0.415)],
)
def test_change_correlations_cover_review(config: dict, analysis: str, stratum: str, r: float) -> None:
    tidy = _run(config, analysis).set_index("stratum")
    assert _covers(tidy.loc[stratum], r)
