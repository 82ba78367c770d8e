"""The PAQUID example (config/examples/paquid.yaml) on the real data in ../shared/data/longitudinal, against R.

R (lme4, survival), with ``d <- read.csv("paquid.csv")``::

    d$time <- d$age - d$age_init
    m <- lmer(MMSE ~ time * CEP + male + (time | ID), d[!is.na(d$MMSE), ])   # REML
    #   (Intercept) 26.8920105753 (SE 0.24802430386); time -0.5250113509 (0.06209012307);
    #   CEP 1.6689952029 (0.28265484612); male -0.0532878558 (0.23268171368);
    #   time:CEP 0.1468236034 (0.07255132151); logLik -5659.842786
    b <- d[!duplicated(d$ID), ]; b <- b[b$agedem > b$age_init, ]            # 499 people (1 excluded)
    coxph(Surv(age_init, agedem, dem) ~ CEP + male, data = b)
    #   CEP -0.2651286665 (se 0.1884700575); male -0.2244512969 (se 0.2042104018)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.config import validate_config
from musclecog.core.spec import RunContext

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def paquid(shared_data_dir: Path) -> tuple[dict, object]:
    from musclecog.ingest import build_cohort

    raw = yaml.safe_load((REPO / "config" / "examples" / "paquid.yaml").read_text())
    raw["paquid_dir"] = str(shared_data_dir / "longitudinal")
    cfg = validate_config(raw, REPO / "workflow" / "schemas", base_dir=REPO)
    cohort = build_cohort("paquid", cfg["cohorts"]["paquid"], seed=1, base_dir=REPO)
    return cfg, cohort


def _run(paquid: tuple[dict, object], analysis: str):
    cfg, cohort = paquid
    return run_analysis(
        cohort.data, cfg["analyses"][analysis], RunContext(analysis, "paquid", 1)
    ).to_tidy()


@pytest.mark.shared_data
def test_paquid_mmse_mixed_model_matches_lme4(paquid: tuple[dict, object]) -> None:
    t = _run(paquid, "paquid_mmse_decline").set_index("term")
    terms = ["Intercept", "time", "cep", "male", "cep:time"]
    np.testing.assert_allclose(
        t.loc[terms, "estimate"],
        [26.8920105753, -0.5250113509, 1.6689952029, -0.0532878558, 0.1468236034],
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        t.loc[terms, "std_error"],
        [0.24802430386, 0.06209012307, 0.28265484612, 0.23268171368, 0.07255132151],
        rtol=1e-4,
    )
    np.testing.assert_allclose(t.loc["logLik (REML)", "estimate"], -5659.842786, rtol=1e-8)
    assert t.loc["excluded (mmse)", "estimate"] == 36  # visits without MMSE, counted
    assert t.loc["Intercept", "n"] == 500


@pytest.mark.shared_data
def test_paquid_dementia_cox_matches_coxph(paquid: tuple[dict, object]) -> None:
    t = _run(paquid, "paquid_dementia_cox").set_index("term")
    np.testing.assert_allclose(
        np.log(t.loc[["cep", "male"], "estimate"]), [-0.2651286665, -0.2244512969], atol=1e-5
    )
    np.testing.assert_allclose(t.loc[["cep", "male"], "std_error"], [0.1884700575, 0.2042104018], rtol=1e-5)
    assert t.loc["cep", "n"] == 499
    flow = t.loc["excluded (time at risk)"]
    # 1 person with exit <= entry: counted, and released as <5 (musclecog.disclosure)
    assert np.isnan(flow["estimate"]) and "exit <= entry" in flow["note"] and "count <5 suppressed" in flow["note"]
