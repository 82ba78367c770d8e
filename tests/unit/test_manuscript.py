"""Manuscript tables: Table 2's cells are the estimates of the result, formatted; Table 1 rendered keeps
table1's cells; the .docx opens (python-docx) and holds the same cells as the TSV."""

from __future__ import annotations

from pathlib import Path

import docx
import pandas as pd

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.manuscript import format_ci, format_p, model_name, table1_rendered, table2, table2_estimates
from musclecog.results import read_table
from musclecog.simulate.nhanes import simulate_nhanes
from musclecog.table1 import table1

CTX = RunContext(analysis="t", cohort="c", seed=1)


def _result():  # type: ignore[no-untyped-def]
    data = simulate_nhanes(seed=4, n=800).data
    entry = {"type": "regression", "outcome": "dsst", "exposure": "knee_ext_peak_n", "exposure_per": "sd",
             "models": {"crude": [], "adjusted": ["age", "sex"]}, "by": "sex"}
    return run_analysis(data, entry, CTX)


def test_table2_cells_are_the_estimates_formatted(tmp_path: Path) -> None:
    res = _result()
    t2 = table2(res)
    tidy = res.to_tidy()
    rows = table2_estimates(res)
    models = list(dict.fromkeys(model_name(e) for e in rows))
    assert len(models) == 2
    assert list(t2.frame.columns[4:]) == [f"{m}: {c}" for m in models for c in ("estimate (95% CI)", "p")]
    assert len(t2.frame) == len({(e.outcome, e.stratum, e.term, e.scale) for e in rows})
    # every cell against the tidy table written by the pipeline (an independent view of the same object)
    keyed = tidy.set_index(["stratum", "term", "model"])
    for e in rows:
        row = keyed.loc[(e.stratum, e.term, e.extra["model"])]
        expect = f"{row['estimate']:.2f} ({row['conf_low']:.2f}, {row['conf_high']:.2f})"
        assert format_ci(e) == expect
        p = row["p_value"]
        assert format_p(e.p_value) == ("<0.001" if p < 0.001 else f"{p:.3f}")
        hit = t2.frame[t2.frame[f"{model_name(e)}: estimate (95% CI)"] == expect]
        assert len(hit) >= 1
    assert "(Intercept)" not in set(t2.frame["Term"]) and "Intercept" not in set(t2.frame["Term"])


def test_table2_written_as_tsv_html_docx(tmp_path: Path) -> None:
    t2 = table2(_result())
    tsv, html, path = t2.write(tmp_path / "a.table2")
    assert [tsv.name, html.name, path.name] == ["a.table2.tsv", "a.table2.html", "a.table2.docx"]
    back = read_table(tsv).fillna("").astype(str)
    assert back.shape == t2.frame.shape
    text = html.read_text()
    assert "<table" in text and t2.frame.iloc[0, 4] in text and "<caption>" in text
    document = docx.Document(str(path))
    assert document.paragraphs[0].text == t2.caption
    (table,) = document.tables
    cells = [[c.text for c in r.cells] for r in table.rows]
    assert cells[0] == list(t2.frame.columns)
    assert cells[1:] == t2.frame.astype(str).values.tolist()


def test_docx_bytes_do_not_depend_on_the_time_of_writing(tmp_path: Path, monkeypatch) -> None:
    """Same cells, same .docx bytes: zip members are dated 1980-01-01 whatever the clock says."""
    import time as time_module

    t2 = table2(_result())
    first = t2.write(tmp_path / "first")[2].read_bytes()
    later = time_module.time() + 86_400 * 400  # a run a year and a month later
    monkeypatch.setattr(time_module, "time", lambda: later)
    monkeypatch.setattr(time_module, "localtime", lambda secs=None: time_module.gmtime(later))
    second = t2.write(tmp_path / "second")[2].read_bytes()
    assert first == second


def test_table1_rendered_keeps_table1_cells(tmp_path: Path) -> None:
    data = simulate_nhanes(seed=4, n=800).data
    t1 = table1(data, by="sex", columns=["age", "sex", "education", "dsst"])
    r = table1_rendered(t1, "nhanes_like")
    assert r.frame.columns[0] == "Characteristic"
    n = t1[t1["variable"] == "N"].set_index("stratum")["summary"]
    assert [c for c in r.frame.columns[1:]] == [
        f"All participants (n = {n[s]})" if s == "overall" else f"Sex: {s.split('=')[1]} (n = {n[s]})"
        for s in n.index
    ]
    body = t1[~t1["variable"].isin(["N", "note"])]
    assert sorted(r.frame.iloc[:, 1:].to_numpy().ravel()) == sorted(
        body["summary"].astype(str).tolist() + [""] * (r.frame.iloc[:, 1:].size - len(body))
    )
    assert "mean (SD)" in r.caption and "median" not in r.caption and "n (%)" in r.caption
    _, _, path = r.write(tmp_path / "t1")
    (table,) = docx.Document(str(path)).tables
    assert [c.text for c in table.rows[1].cells] == list(r.frame.iloc[0].astype(str))
    assert isinstance(read_table(tmp_path / "t1.tsv"), pd.DataFrame)
