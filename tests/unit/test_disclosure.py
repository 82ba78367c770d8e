"""Small-cell rule (musclecog.disclosure): suppression, complementary suppression checked by linear algebra
(a hidden cell is recoverable from the released counts iff its unit vector lies in the row space of the
table's equations restricted to the hidden cells), notes, and the release of analysis results."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.core.results import AnalysisResult, Diagnostics, Estimate, FitResult
from musclecog.core.spec import RunContext
from musclecog.disclosure import (
    ReleaseRule,
    complement,
    flow_table,
    protect_table,
    release,
    scrub_note,
)
from musclecog.ingest import build_cohort
from musclecog.table1 import table1

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


# ---------------------------------------------------------------------------- recoverability check
def _recoverable(values: np.ndarray, equations: list[list[int]], hidden: set[int]) -> set[int]:
    """Hidden cells whose value follows from the shown ones: equations are index lists whose first
    element is a total equal to the sum of the others."""
    h = sorted(hidden)
    if not h:
        return set()
    col = {k: j for j, k in enumerate(h)}
    rows = []
    for eq in equations:
        total, parts = eq[0], eq[1:]
        row = np.zeros(len(h))
        for k in parts:
            if k in col:
                row[col[k]] += 1
        if total in col:
            row[col[total]] -= 1
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = set()
    for k in h:
        e = np.zeros(len(h))
        e[col[k]] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out.add(k)
    return out


def _table_equations(n_r: int, n_c: int) -> list[list[int]]:
    """The equations of protect_table's flat layout [grand, overall(C), rows(R), cells(RxC)]."""
    col, row = 1, 1 + n_c

    def cell(r: int, j: int) -> int:
        return 1 + n_c + n_r + r * n_c + j

    eqs = [[0, *[col + j for j in range(n_c)]]]
    if n_r:
        eqs.append([0, *[row + r for r in range(n_r)]])
        eqs += [[row + r, *[cell(r, j) for j in range(n_c)]] for r in range(n_r)]
        eqs += [[col + j, *[cell(r, j) for r in range(n_r)]] for j in range(n_c)]
    return eqs


def _check_protected(strata: np.ndarray, min_cell: int = 5) -> None:
    overall = strata.sum(axis=0)
    p = protect_table(overall, strata, min_cell)
    n_r, n_c = strata.shape
    values = np.concatenate([[overall.sum()], overall, strata.sum(axis=1), strata.ravel()])
    flags = np.concatenate([[p.grand], p.overall, p.rows, p.cells.ravel()])
    hidden = set(np.flatnonzero(flags))
    shown = values[~flags]
    assert not ((shown > 0) & (shown < min_cell)).any(), "a small count is shown"
    bad = {k for k in _recoverable(values, _table_equations(n_r, n_c), hidden) if values[k] > 0}
    assert not bad, f"hidden cells recoverable from the shown counts: {sorted(bad)} of {values.tolist()}"
    # and each hidden set of a shown total holds at least min_cell people (no small group sum either)
    for eq in _table_equations(n_r, n_c):
        if eq[0] in hidden:
            continue
        inner = [k for k in eq[1:] if k in hidden]
        assert not inner or values[inner].sum() >= min_cell or values[inner].sum() == 0


def test_complement_one_partition() -> None:
    assert complement([3, 50, 60]) == {0, 1}  # the small cell and the next smallest
    assert complement([3, 2, 50, 60]) == {0, 1}  # two hidden cells holding 5 people
    assert complement([1, 1, 50, 70]) == {0, 1, 2}  # two hidden cells of 2 people: one more
    assert complement([0, 40, 60]) == set()  # zero is shown
    assert complement([10, 40], hidden=[0]) == {0, 1}  # a cell hidden for another reason is protected too


@pytest.mark.parametrize(
    "strata",
    [
        np.array([[3, 40, 2], [60, 55, 0]]),  # a 3-person cell in one stratum: the column total would give it
        np.array([[1, 2], [50, 60], [70, 80]]),  # a 3-person stratum (row) among three
        np.array([[30, 1, 0], [40, 0, 2], [55, 60, 3]]),
        np.array([[4, 4], [4, 4]]),
    ],
)
def test_protect_table_no_cell_recoverable(strata: np.ndarray) -> None:
    _check_protected(strata)


def test_protect_table_random_tables() -> None:
    """Random small tables (seeded): no small count shown, no hidden cell recoverable by linear algebra."""
    rng = np.random.default_rng(20261125)
    for _ in range(200):
        shape = (int(rng.integers(1, 4)), int(rng.integers(2, 5)))
        strata = rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 40], size=shape, p=[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
        _check_protected(strata)


def test_scrub_note() -> None:
    assert scrub_note("n = 1 in x; n=3") == "n = <5 in x; n=<5"
    assert scrub_note("18705 observations of 4 people; 2 rows") == "18705 observations of <5 people; <5 rows"
    assert scrub_note("cognition at wave 2 excluded; 3 excluded for missing change") == (
        "cognition at wave 2 excluded; <5 excluded for missing change"
    )
    assert scrub_note("PROCESS model 4; 0 excluded; 12 people") == "PROCESS model 4; 0 excluded; 12 people"
    assert scrub_note("at least min_n = 3", min_cell=5) == "at least min_n = 3"  # a setting, not a count


# ------------------------------------------------------------------------------------------ table 1
def _people(n_women: int, n_men: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_women + n_men
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "sex": ["female"] * n_women + ["male"] * n_men,
            "age": rng.normal(70, 6, n).round(1),
            "education": rng.choice(["low", "medium", "high"], n),
            "grip_kg": np.where(rng.random(n) < 0.03, np.nan, rng.normal(30, 8, n)),
        }
    )


def test_table1_three_person_stratum() -> None:
    """A 3-person stratum: no count below 5 anywhere, and the hidden stratum total cannot be recovered
    from the overall N and the other stratum's N."""
    df = _people(3, 97)
    t = table1(df, by="sex")
    counts = pd.concat([t["n"], t["n_missing"], t["count"]]).dropna().astype(int)
    assert not ((counts > 0) & (counts < 5)).any()
    digits = t["summary"].str.extract(r"^(\d+)(?:\s|$)")[0].dropna().astype(int)
    assert not ((digits > 0) & (digits < 5)).any()
    n_rows = t[t["variable"] == "N"].set_index("stratum")
    assert n_rows.loc["overall", "n"] == 100
    assert n_rows.loc["sex=female", "summary"] == "<5"
    assert pd.isna(n_rows.loc["sex=male", "n"]) and n_rows.loc["sex=male", "summary"] == "suppressed"
    # the 3 women's mean age is not released either
    age = t[(t["variable"] == "age") & (t["stratum"] == "sex=female")]
    assert age["mean"].isna().all() and age["summary"].tolist() == ["<5"]
    assert "suppressed" in t["summary"].iloc[-1]


def test_table1_level_not_recoverable_across_strata() -> None:
    """A level with 2 people in one stratum: hiding it and one more cell of that stratum is not enough
    when the overall count of the level and the other stratum's count are shown."""
    df = _people(60, 60)
    df["education"] = ["low"] * 2 + ["high"] * 58 + ["low"] * 30 + ["high"] * 30
    t = table1(df, by="sex", columns=["education"])
    edu = t[t["variable"] == "education"].set_index(["stratum", "level"])["count"]
    hidden = edu[edu.isna()].index.tolist()
    assert ("sex=female", "low") in hidden
    low = [edu.get((s, "low")) for s in ("overall", "sex=female", "sex=male")]
    # overall = female + male for the level: at least two of the three are hidden
    assert sum(pd.isna(x) for x in low) >= 2


def test_table1_missing_count_and_n() -> None:
    """n_missing of 2 is suppressed, and so is n (N - n_missing would give it back); the mean stays."""
    df = _people(40, 40)
    df["grip_kg"] = np.r_[np.nan, np.nan, np.arange(78.0)]
    t = table1(df, columns=["grip_kg"])
    row = t[(t["variable"] == "grip_kg") & (t["stratum"] == "overall")].iloc[0]
    assert pd.isna(row["n_missing"]) and pd.isna(row["n"]) and np.isfinite(row["mean"])


# ------------------------------------------------------------------------------- analysis release
@pytest.fixture(scope="module")
def cohorts() -> dict[str, pd.DataFrame]:
    out = {}
    for name, n in (("charls", 300), ("nhanes_like", 400), ("liao", 245)):
        spec = {**CONFIG["cohorts"][name], "simulate": {**CONFIG["cohorts"][name]["simulate"], "n": n}}
        out[name] = build_cohort(name, spec, seed=7).data
    return out


def _context(analysis: str, cohort: str) -> RunContext:
    return RunContext(analysis, cohort, 1, CONFIG["cohorts"][cohort].get("survey"))


@pytest.mark.parametrize(
    "analysis",
    [
        "wang_dsst_knee_force",  # regression
        "wang_dsst_low_muscle_mass",  # group_comparison
        "liao_strength_nback",  # correlation
        "charls_grip_panel",  # panel_model
        "charls_impairment_km",  # kaplan_meier
        "charls_impairment_cox",  # cox
        "charls_grip_mixed",  # mixed_model
        "charls_grip_gee",  # gee
    ],
)
def test_three_person_cohort_releases_no_estimate(cohorts: dict[str, pd.DataFrame], analysis: str) -> None:
    entry = CONFIG["analyses"][analysis]
    data = cohorts[entry["cohort"]]
    three = data[data["id"].isin(data["id"].drop_duplicates().iloc[:3])]
    result = run_analysis(three, entry, _context(analysis, entry["cohort"]))
    tidy = result.to_tidy()
    assert not np.isfinite(tidy["estimate"]).any()
    assert tidy["n"].isna().all()
    assert tidy["note"].str.startswith("withheld: fewer than").all()
    flow = flow_table(result)
    assert (flow["step"] == "withheld (min_n)").any()
    small = flow["n"].dropna()
    assert not ((small > 0) & (small < 5)).any() and "<5" in set(flow["shown"])


def test_overall_sample_below_min_n_is_withheld(cohorts: dict[str, pd.DataFrame]) -> None:
    """Regression: the type's own min_n applies to the overall sample too (it used to be skipped)."""
    data = cohorts["nhanes_like"].iloc[:40].copy()
    data.loc[data.index[:25], "dsst"] = np.nan  # 15 complete rows of 40 people; min_n = 20
    entry = {"type": "regression", "cohort": "nhanes_like", "outcome": "dsst", "exposure": "knee_ext_peak_n"}
    tidy = run_analysis(data, entry, RunContext("t", "nhanes_like", 1)).to_tidy()
    assert not np.isfinite(tidy["estimate"]).any() and tidy["n"].isna().all()
    assert tidy["note"].str.contains("min_n = 20").all()


def test_group_notes_and_n_carry_no_small_count(cohorts: dict[str, pd.DataFrame]) -> None:
    """A stratum with 3 people in a group: the withheld rows carry no n and no note gives a count below 5,
    and another stratum's n is hidden so that the overall n minus the shown strata does not give it back."""
    data = cohorts["nhanes_like"].copy()
    data["site"] = np.where(np.arange(len(data)) < 3, "small", np.where(np.arange(len(data)) % 2, "a", "b"))
    entry = {"type": "group_comparison", "cohort": "nhanes_like", "outcome": "dsst", "group": "sex",
             "by": "site", "weighting": "unweighted"}
    result = run_analysis(data, entry, RunContext("t", "nhanes_like", 1))
    tidy = result.to_tidy()
    small = tidy[tidy["stratum"] == "site=small"]
    assert not np.isfinite(small["estimate"]).any() and small["n"].isna().all()
    notes = " ".join(tidy["note"].fillna(""))
    assert not re.search(r"\bn\s*=\s*[1-4]\b|(?<![\w.])[1-4] (people|rows|complete)", notes)
    for (term, _scale), rows in tidy[tidy["scale"] == "mean"].groupby(["term", "scale"]):
        shown = rows.set_index("stratum")["n"]
        if pd.notna(shown.get("overall")):
            parts = shown.drop("overall")
            assert parts.isna().sum() != 1, f"{term}: a single hidden stratum n is recoverable from the overall n"


def test_flow_counts_match_fit_diagnostics(cohorts: dict[str, pd.DataFrame]) -> None:
    """Complete-case exclusions by reason go into the flow table, with counts below 5 shown as <5."""
    data = cohorts["nhanes_like"].copy()
    kept = data.index[data["age"] >= 61]
    data.loc[kept[:2], "education"] = np.nan  # e.g. NHANES education coded 7/9
    data.loc[kept[10:17], "dsst"] = np.nan
    entry = {"type": "regression", "cohort": "nhanes_like", "outcome": "dsst", "exposure": "knee_ext_peak_n",
             "covariates": ["age", "education"], "keep_if": {"age": {"min": 61}}}
    result = run_analysis(data, entry, RunContext("t", "nhanes_like", 1))
    key, fit = next(iter(result.fits.items()))
    # the counts before release are the fit's diagnostics
    steps = {s.reason: s.n for s in result.flow if s.model == key}
    assert steps["rows used by the fit"] == fit.diagnostics.n
    assert {r.removeprefix("excluded: "): n for r, n in steps.items() if r.startswith("excluded")} == dict(
        fit.diagnostics.exclusions
    )
    assert fit.diagnostics.exclusions["missing education"] == 2
    # released: 2 shown as <5; the 7 missing dsst hidden too (with the analysed n, it would give the 2 back)
    flow = flow_table(result)
    rows = flow[flow["model"] == key].set_index("reason")
    assert rows.loc["excluded: missing education", "shown"] == "<5"
    assert rows.loc["excluded: missing dsst", "shown"] == "suppressed"
    assert rows[["n"]].dropna()["n"].ge(5).all()
    keep = flow[flow["step"].str.contains("keep_if")]
    assert len(keep) == 1 and keep["n"].iloc[0] == int((data["age"] < 61).sum())
    all_rows = flow[flow["model"] == "(all)"].set_index("step")
    assert all_rows.loc["cohort", "n"] == len(data)


def test_release_counts_and_events() -> None:
    """Count rows below 5 lose their count; small event counts (or small non-event counts) lose n_events."""
    fit = FitResult.from_arrays(["x"], np.array([0.1]), np.array([[0.01]]), None, Diagnostics(n=50))
    estimates = (
        Estimate(term="excluded (time at risk)", estimate=3.0, scale="count", n=60, note="excluded: 3 rows"),
        Estimate(term="x", estimate=1.1, scale="hazard_ratio", n=50, n_events=48),
        Estimate(term="y", estimate=1.1, scale="hazard_ratio", n=50, n_events=20),
    )
    result = AnalysisResult(analysis="a", cohort="c", estimates=estimates, fits={"m": fit})
    out = release(result, ReleaseRule(), people=60)
    assert math.isnan(out.estimates[0].estimate) and out.estimates[0].note == "excluded: <5 rows; count <5 suppressed"
    assert out.estimates[1].n_events is None and out.estimates[2].n_events == 20
    assert all(a.term == b.term for a, b in itertools.zip_longest(out.estimates, estimates))
