"""Multiply imputed cohorts: one fit per imputation, pooled by Rubin's rules (issue 14, part 4a).

Reference: R's mice 3.15.0 ``pool`` on the same five imputations (tests/data/mi_imputations.csv, written by
tests/data/make_mi_reference.py), computed once by ``Rscript tests/data/mi_pool_reference.R``::

    fits <- lapply(1:5, function(k) lm(dsst ~ grip_kg + age, data = d[d$imputation == k, ]))
    summary(pool(as.mira(fits)), conf.int = TRUE)       # grip_kg: 0.361271000358, SE 0.1119510694174,
                                                        # df 88.0808585961, p 1.75693106958e-03,
                                                        # riv 0.1348290705913, lambda 0.1188100253028,
                                                        # fmi 0.1381596447130
    g <- lapply(1:5, function(k) glm(impaired ~ grip_kg + age, family = binomial, data = d[d$imputation == k, ]))
    summary(pool(as.mira(g), dfcom = Inf), conf.int = TRUE)   # grip_kg: -0.0645046524723 (log OR),
                                                        # SE 0.0408856395899, df 335.83804005,
                                                        # p 0.1155794693591, CI -0.1449288648415, 0.0159195598969

Tolerances: estimates 1e-6, SEs, df, p, fmi 1e-5 (relative); the logistic p-value 5e-5 (see the test).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import DataError
from musclecog.imputation import barnard_rubin_df, rubin
from musclecog.ingest import build_cohort

DATA = Path(__file__).resolve().parents[1] / "data" / "mi_imputations.csv"
COLUMNS = {"imputation": "imputation", "id": "id", "age": "age", "grip_kg": "grip_kg", "dsst": "dsst",
           "impaired": "impaired"}


def _cohort(path: Path = DATA):
    return build_cohort("mi", {"tables": [{"path": str(path), "columns": COLUMNS}]}, seed=1)


def _row(outcome: str) -> pd.Series:
    entry = {"type": "regression", "cohort": "mi", "outcomes": [outcome], "exposure": "grip_kg", "covariates": ["age"]}
    tidy = run_analysis(_cohort().data, entry, RunContext("a", "mi", 1)).to_tidy()
    return tidy[(tidy["term"] == "grip_kg") & (tidy["model"] == "adjusted")].iloc[0]


def test_linear_model_pooled_as_mice():
    r = _row("dsst")
    assert r["estimate"] == pytest.approx(0.361271000358, rel=1e-6)
    assert r["std_error"] == pytest.approx(0.1119510694174, rel=1e-5)
    assert r["df"] == pytest.approx(88.0808585961, rel=1e-5)
    assert r["p_value"] == pytest.approx(1.75693106958e-03, rel=1e-5)
    assert (r["conf_low"], r["conf_high"]) == pytest.approx((0.138794621273, 0.583747379444), rel=1e-5)
    assert r["fmi"] == pytest.approx(0.1381596447130, rel=1e-5)
    assert r["riv"] == pytest.approx(0.1348290705913, rel=1e-5)
    assert r["lambda"] == pytest.approx(0.1188100253028, rel=1e-5)
    assert r["m"] == 5 and r["n"] == 150
    assert "pooled over 5 imputations" in r["note"]


def test_logistic_model_pooled_on_the_log_scale():
    r = _row("impaired")
    assert r["scale"] == "odds_ratio"
    assert math.log(r["estimate"]) == pytest.approx(-0.0645046524723, rel=1e-6)
    assert r["std_error"] == pytest.approx(0.0408856395899, rel=1e-5)
    # R's glm stops IRLS at a deviance change of 1e-8, ours at convergence of the coefficients: the pooled
    # SE agrees to 6e-6, which moves this p-value by 1.8e-5 (relative)
    assert r["p_value"] == pytest.approx(0.1155794693591, rel=5e-5)
    assert r["df"] == pytest.approx(335.83804005, rel=1e-4)
    assert math.log(r["conf_low"]) == pytest.approx(-0.1449288648415, rel=1e-5)
    assert math.log(r["conf_high"]) == pytest.approx(0.0159195598969, abs=1e-6)


def test_rubin_rules_by_hand():
    """Rubin (1987) by hand for three made-up imputations; Barnard-Rubin with and without dfcom."""
    q, se = np.array([1.0, 1.2, 0.9]), np.array([0.3, 0.32, 0.29])
    p = rubin(q, se, dfcom=50)
    ubar, b = float(np.mean(se**2)), float(np.var(q, ddof=1))
    t = ubar + (1 + 1 / 3) * b
    assert p.estimate == pytest.approx(q.mean()) and p.std_error == pytest.approx(math.sqrt(t))
    lam = (1 + 1 / 3) * b / t
    dfold, dfobs = 2 / lam**2, 51 / 53 * 50 * (1 - lam)
    assert p.df == pytest.approx(dfold * dfobs / (dfold + dfobs))
    assert barnard_rubin_df(3, b, t) == pytest.approx(dfold)
    assert barnard_rubin_df(3, 0.0, ubar) == pytest.approx(2 / 1e-4**2)  # mice floors lambda at 1e-4


def test_table1_describes_one_imputation():
    t1 = _cohort().table1
    n = t1.loc[(t1["variable"] == "N") & (t1["stratum"] == "overall"), "n"].iloc[0] if "N" in set(t1["variable"]) \
        else t1["n"].max()
    assert int(n) == 150
    assert "imputation 1 of 5" in t1["summary"].iloc[-1]


def test_imputations_with_different_people_are_an_error(tmp_path):
    d = pd.read_csv(DATA)
    d = d[~((d["imputation"] == 3) & (d["id"] == 7))]
    path = tmp_path / "mi.csv"
    d.to_csv(path, index=False)
    entry = {"type": "regression", "cohort": "mi", "outcomes": ["dsst"], "exposure": "grip_kg"}
    with pytest.raises(DataError, match=r"imputations 1 and 3 do not hold the same rows \(150 vs 149 rows; id only "
                       r"in 1: 7; only in 3: none"):
        run_analysis(_cohort(path).data, entry, RunContext("a", "mi", 1))
