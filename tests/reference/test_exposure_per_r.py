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


@pytest.fixture(scope="module")
def med() -> pd.DataFrame:
    return pd.read_csv(DATA / "mediation_reference.csv")


LAVAAN_SERIAL_PER_SD = {  # label: (est, se) of lavaan ML on x / sd(x); our term
    "a1": (-1.79020383175786, 0.245885721685031, "a[m1]"),
    "a2": (-0.0269955461907923, 0.00653015245488827, "a[m2]"),
    "d21": (0.00982804425294042, 0.00141350701163331, "d[m1->m2]"),
    "b1": (0.0347302812969024, 0.02299457668987, "b[m1]"),
    "b2": (4.31369910108843, 0.871612768297881, "b[m2]"),
    "cp": (-0.4418246421393, 0.101353338088358, "c_prime"),
    "ind1": (-0.0621742826557432, 0.0420414279022424, "indirect[m1]"),
    "ind2": (-0.116450663336612, 0.0367034595576521, "indirect[m2]"),
    "ind3": (-0.075896095423637, 0.0215172466114094, "indirect[m1->m2]"),
    "total_ind": (-0.254521041415992, 0.0551997362482743, "indirect_total"),
    "total": (-0.696345683555292, 0.0964025607040318, "c"),
}


def test_serial_mediation_per_sd_matches_lavaan(med: pd.DataFrame) -> None:
    """``d$xs <- d$x / sd(d$x)`` (sd 2.4131034859931); ``sem('m1 ~ a1*xs + cov1 + cov2; m2 ~ a2*xs + d21*m1 +
    cov1 + cov2; y ~ b1*m1 + b2*m2 + cp*xs + cov1 + cov2; ind1 := a1*b1; ind2 := a2*b2; ind3 := a1*d21*b2;
    total_ind := ...; total := cp + ...', data = d, estimator = "ML")`` then ``parameterEstimates``: paths and
    their ML SEs (``se_type: ml``), defined effects and their delta-method SEs (``delta_method: true``).
    Estimates to 1e-6, SEs to 1e-5."""
    entry = {"type": "serial_mediation", "cohort": "ref", "exposure": "x", "mediators": ["m1", "m2"],
             "outcome": "y", "covariates": ["cov1", "cov2"], "bootstrap": 0, "se_type": "ml",
             "delta_method": True, "exposure_per": "sd"}
    t = run_analysis(med, entry, CTX).to_tidy().set_index("term")
    for label, (est, se, term) in LAVAAN_SERIAL_PER_SD.items():
        assert float(t.loc[term, "estimate"]) == pytest.approx(est, rel=1e-6), label
        col = "std_error" if label in ("a1", "a2", "d21", "b1", "b2", "cp") else "delta_std_error"
        assert float(t.loc[term, col]) == pytest.approx(se, rel=1e-5), label
    assert t.loc["a[m1]", "exposure_unit"] == "per SD (2.413)"


def test_simple_mediation_per_sd_matches_lm_products(med: pd.DataFrame) -> None:
    """PROCESS-style OLS paths against ``lm`` with ``scale(x)``: ``ma <- lm(m1 ~ scale(x) + cov1 + cov2)``
    a = -1.79020383175786 (se 0.247541536499368); ``my <- lm(y ~ m1 + scale(x) + cov1 + cov2)`` c' =
    -0.558275305475912 (se 0.103395011979333); ``lm(y ~ scale(x) + cov1 + cov2)`` c = -0.696345683555292
    (se 0.0970517435319727); a b = ``coef(ma)[2] * coef(my)[2]`` = -0.13807037807938. Estimates to 1e-6, SEs
    to 1e-5."""
    entry = {"type": "simple_mediation", "cohort": "ref", "exposure": "x", "mediator": "m1", "outcome": "y",
             "covariates": ["cov1", "cov2"], "bootstrap": 0, "exposure_per": "sd"}
    t = run_analysis(med, entry, CTX).to_tidy().set_index("term")
    for term, est, se in (("a", -1.79020383175786, 0.247541536499368),
                          ("c_prime", -0.558275305475912, 0.103395011979333),
                          ("c", -0.696345683555292, 0.0970517435319727)):
        assert float(t.loc[term, "estimate"]) == pytest.approx(est, rel=1e-6), term
        assert float(t.loc[term, "std_error"]) == pytest.approx(se, rel=1e-5), term
    assert float(t.loc["indirect", "estimate"]) == pytest.approx(-0.13807037807938, rel=1e-6)
