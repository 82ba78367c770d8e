"""``exposure_per`` against R: Cox on R's lung data (survival::coxph) and mediation (lavaan).

Reference numbers printed by ``Rscript tests/data/exposure_per_references.R`` (survival 3.5.3); the R call is in
each docstring. ``lung$status`` is 1 = censored, 2 = dead in R; recoded to 0/1 as a user's config would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext

DATA = Path(__file__).resolve().parents[1] / "data"
CTX = RunContext(analysis="ref", cohort="ref", seed=1)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(DATA / "lung.csv")
    d["dead"] = d["status"] - 1
    return d


def test_cox_per_sd_matches_coxph_on_scaled_age(lung: pd.DataFrame) -> None:
    """``lung2 <- lung[!is.na(lung$ph.ecog), ]; coxph(Surv(time, status) ~ scale(age) + sex + ph.ecog,
    data = lung2)``: sd(lung2$age) = 9.0920446659459; coef 0.100619517687695, -0.552612395703631,
    0.463728475370428; se 0.0842597148742442, 0.167739053787264, 0.113577266161997. The SD is of the analysis
    rows: the row missing ph.ecog is excluded first, as R's ``lung2``. With ``I(age / 5)``: coef
    0.0553338228003674, se 0.0463370550685026. Estimates to 1e-6, SEs to 1e-5."""
    entry = {"type": "cox", "cohort": "ref", "event": "dead", "duration": "time", "exposure": "age",
             "covariates": ["sex", "ph.ecog"]}
    t = run_analysis(lung, {**entry, "exposure_per": "sd"}, CTX).to_tidy().set_index("term")
    terms = ["age", "sex", "ph.ecog"]
    np.testing.assert_allclose(
        np.log(t.loc[terms, "estimate"].astype(float)),
        [0.100619517687695, -0.552612395703631, 0.463728475370428], rtol=1e-6,
    )
    np.testing.assert_allclose(
        t.loc[terms, "std_error"].astype(float), [0.0842597148742442, 0.167739053787264, 0.113577266161997],
        rtol=1e-5,
    )
    assert t.loc["age", "exposure_unit"] == "per SD (9.092)"
    t5 = run_analysis(lung, {**entry, "exposure_per": 5}, CTX).to_tidy().set_index("term")
    np.testing.assert_allclose(np.log(float(t5.loc["age", "estimate"])), 0.0553338228003674, rtol=1e-6)
    np.testing.assert_allclose(float(t5.loc["age", "std_error"]), 0.0463370550685026, rtol=1e-5)
    assert t5.loc["age", "exposure_unit"] == "per 5 units"
