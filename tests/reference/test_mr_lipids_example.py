"""config/examples/mr_lipids_chd.yaml through the pipeline functions (pair_jobs -> run_harmonised -> tables):
MendelianRandomization's lipids example, LDL-c -> CHD, and LDL-c adjusted for HDL-c and triglycerides.

R references (MendelianRandomization example data, d = the csv):
``f <- summary(lm(chdlodds ~ -1 + ldlc, weights = 1/chdloddsse^2, data = d))``: b = 2.83421393887889,
se (multiplicative random effects) = f$coef[1,2] / min(1, f$sigma) = 0.52979948855643;
``m <- summary(lm(chdlodds ~ -1 + ldlc + hdlc + trig, weights = 1/chdloddsse^2, data = d))`` (= ``mr_mvivw``):
ldlc 1.925182662466021 (se 0.439424247187254), hdlc -0.589713357219688 (0.554995408250709),
trig 0.722538179731834 (0.230098377199186); sigma 1.433 > 1, so the random-effects se equals lm's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from musclecog.config import substitute_placeholders
from musclecog.mr.analysis import MRSettings
from musclecog.mr.pipeline import pair_jobs, run_harmonised

pytestmark = pytest.mark.shared_data

REPO = Path(__file__).resolve().parents[2]
REL = 1e-6


@pytest.fixture(scope="module")
def pair(shared_data_dir):
    config = yaml.safe_load((REPO / "config" / "examples" / "mr_lipids_chd.yaml").read_text())
    config["mr_data_dir"] = str(shared_data_dir / "mr")
    jobs = pair_jobs(config["mr"])
    assert list(jobs) == ["ldl__chd"]
    spec = jobs["ldl__chd"]
    path = substitute_placeholders(spec["harmonised"], config, "mr.ldl__chd.harmonised")
    settings = MRSettings.from_config({**(config.get("mr_settings") or {}), **spec.get("settings", {})})
    return run_harmonised(path, spec, settings, seed=config["seed"])


def test_lipids_example_ivw(pair) -> None:
    est = pair.result.to_tidy()
    row = est.query("method == 'Inverse variance weighted' and scale == 'beta'").iloc[0]
    assert row["estimate"] == pytest.approx(2.83421393887889, rel=REL)
    assert row["std_error"] == pytest.approx(0.52979948855643, rel=REL)
    assert row["nsnp"] == 28
    assert pair.harmonised["SNP"].iloc[[0, -1]].tolist() == ["row1", "row28"]


def test_lipids_example_multivariable(pair) -> None:
    mv = pair.multivariable.query("scale == 'beta'").set_index("exposure")
    assert mv.index.tolist() == ["ldl", "hdl", "triglycerides"]
    assert mv["estimate"].to_numpy() == pytest.approx(
        [1.925182662466021, -0.589713357219688, 0.722538179731834], rel=REL)
    assert mv["std_error"].to_numpy() == pytest.approx(
        [0.439424247187254, 0.554995408250709, 0.230098377199186], rel=REL)
    assert (mv["method"] == "Multivariable IVW").all() and (mv["nsnp"] == 28).all()


def test_lipids_example_i2gx_as_mendelianrandomization(pair) -> None:
    """I^2_GX of ``MendelianRandomization::mr_egger(mr_input(bx = ldlc, bxse = ldlcse, by = chdlodds,
    byse = chdloddsse))`` on this example: 0.9194 (the value issue 19 reports from the package, to its printed
    4 digits); Bowden's unweighted ``Isq(ldlc, ldlcse)`` is 0.9287 (what this table reported before)."""
    row = pair.result.pleiotropy.iloc[0]
    assert row["i2_gx"] == pytest.approx(0.9194, abs=5e-5)
    assert row["i2_gx_unweighted"] == pytest.approx(0.9287, abs=5e-5)
