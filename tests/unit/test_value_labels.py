"""Stata and SPSS value labels become factor level names (issue 14, part 2).

Reference: the same regression fitted by numpy least squares on dummy columns made by hand from the codes
(code 1 = reference), so the labelled terms must equal the code-based coefficients to 1e-10; R's
``lm(dsst ~ grip_kg + factor(education))`` on a ``haven::as_factor`` table gives the same numbers by the
same algebra.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import DataError
from musclecog.ingest import build_cohort

EDU = {1: "primary", 2: "secondary", 3: "tertiary"}
SEX = {0: "female", 1: "male"}


def _frame(n: int = 120, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    edu = rng.integers(1, 4, n).astype(float)
    grip = rng.normal(30, 6, n)
    dsst = 20 + 0.5 * grip + 3 * (edu == 2) + 7 * (edu == 3) + rng.normal(0, 4, n)
    return pd.DataFrame({"pid": np.arange(1, n + 1), "ragender": rng.integers(0, 2, n).astype(float),
                         "age": rng.uniform(60, 85, n).round(1), "educ": edu, "grip": grip.round(2),
                         "dsst": dsst.round(1)})


def _write(df: pd.DataFrame, path, labels=None) -> str:
    labels = labels or {"educ": EDU, "ragender": SEX}
    write = pyreadstat.write_dta if str(path).endswith(".dta") else pyreadstat.write_sav
    write(df, str(path), variable_value_labels=labels)
    return str(path)


def _spec(path: str, **table) -> dict:
    cols = {"pid": "id", "ragender": "sex", "age": "age", "educ": "education", "grip": "grip_kg", "dsst": "dsst"}
    return {"tables": [{"path": path, "columns": cols, **table}]}


def _fit(data: pd.DataFrame, **extra) -> pd.Series:
    """The adjusted model's labelled coefficients."""
    entry = {"type": "regression", "cohort": "c", "outcomes": ["dsst"], "exposure": "grip_kg",
             "covariates": ["education"], **extra}
    (fit,) = run_analysis(data, entry, RunContext("a", "c", 1)).fits.values()
    return fit.params


@pytest.mark.parametrize("ext", ["dta", "sav"])
def test_labels_become_levels_in_code_order(tmp_path, ext):
    raw = _frame()
    path = _write(raw, tmp_path / f"charls.{ext}")
    cohort = build_cohort("c", _spec(path), seed=1)
    edu = cohort.data["education"]
    assert list(edu.cat.categories) == ["primary", "secondary", "tertiary"]
    # 0/1-coded sex takes the file's labels: no recode needed, no NHANES 1/2 assumption
    assert set(cohort.data["sex"].astype(str)) == {"female", "male"}
    codes = raw.set_index("pid").loc[cohort.data["id"].astype(int), "educ"].to_numpy()
    assert (edu.astype(str).to_numpy() == np.array([EDU[int(c)] for c in codes])).all()
    flow = cohort.flow.set_index("step")
    assert "value_labels.education" in flow.index and "3 labels" in flow.loc["value_labels.education", "reason"]
    # table 1 shows the labels, not the codes
    t1 = cohort.table1
    shown = set(t1.astype(str).to_numpy().ravel())
    assert {"primary", "secondary", "tertiary"} <= {v for v in shown if v in EDU.values()}
    assert not any(v in {"1.0", "2.0", "3.0"} for v in t1.loc[t1["variable"] == "education"].astype(str).to_numpy().ravel())


def test_terms_read_labels_and_match_code_dummies(tmp_path):
    raw = _frame()
    cohort = build_cohort("c", _spec(_write(raw, tmp_path / "charls.dta")), seed=1)
    got = _fit(cohort.data)
    terms = set(got.index)
    assert {"education[secondary]", "education[tertiary]"} <= terms
    assert not any("2.0" in t for t in terms)
    x = np.column_stack([np.ones(len(raw)), raw["grip"], raw["educ"] == 2, raw["educ"] == 3]).astype(float)
    beta = np.linalg.lstsq(x, raw["dsst"].to_numpy(), rcond=None)[0]
    assert got["education[secondary]"] == pytest.approx(beta[2], rel=1e-10)
    assert got["education[tertiary]"] == pytest.approx(beta[3], rel=1e-10)
    # the reference level named by its label
    ref = _fit(cohort.data, reference={"education": "tertiary"})
    assert ref["education[primary]"] == pytest.approx(-beta[3], rel=1e-10)
    assert ref["education[secondary]"] == pytest.approx(beta[2] - beta[3], rel=1e-10)


def test_value_labels_false_or_list_keeps_codes(tmp_path):
    path = _write(_frame(), tmp_path / "charls.dta")
    spec = _spec(path, value_labels=False)
    spec["recode"] = {"sex": {0: "female", 1: "male"}}
    assert build_cohort("c", spec, seed=1).data["education"].dtype.kind == "f"
    only_sex = build_cohort("c", _spec(path, value_labels=["ragender"]), seed=1).data
    assert only_sex["education"].dtype.kind == "f" and set(only_sex["sex"].astype(str)) == {"female", "male"}


def test_a_recode_wins_over_labels(tmp_path):
    spec = _spec(_write(_frame(), tmp_path / "charls.dta"))
    spec["recode"] = {"education": {1: "low", 2: "mid", 3: "high"}}
    assert set(build_cohort("c", spec, seed=1).data["education"]) == {"low", "mid", "high"}


def test_missing_codes_before_labels(tmp_path):
    raw = _frame()
    raw.loc[:4, "educ"] = 9.0
    spec = _spec(_write(raw, tmp_path / "charls.dta"))
    with pytest.raises(DataError, match=r"value\(s\) '9\.0' of 'education' in 5 rows .*have no value label; the file "
                       r"labels only 1, 2, 3\. .*missing_codes: \{education: \[\.\.\.\]\}"):
        build_cohort("c", spec, seed=1)
    spec["missing_codes"] = {"education": [9]}
    data = build_cohort("c", spec, seed=1).data
    assert int(data["education"].isna().sum()) == 5


def test_stacked_files_with_conflicting_labels(tmp_path):
    a = _write(_frame(seed=1), tmp_path / "w1.dta")
    b = _write(_frame(seed=2).assign(pid=lambda d: d["pid"] + 1000), tmp_path / "w2.dta",
               labels={"educ": {1: "primary", 2: "middle", 3: "tertiary"}, "ragender": SEX})
    spec = _spec(a)
    spec["tables"].append({**spec["tables"][0], "path": b})
    spec["stack"] = [[0, 1]]
    with pytest.raises(DataError, match=r"column 'education' has code 2 labelled 'secondary' in one stacked table "
                       r"and 'middle' in .*w2\.dta"):
        build_cohort("c", spec, seed=1)
