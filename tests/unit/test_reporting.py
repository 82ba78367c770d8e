"""The report's own pages: the run page lists every cohort (with n) and analysis of the config with what it
produced; the checklist page maps every STROBE and STROBE-MR item, "not addressed" where nothing answers it."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pandas as pd
import yaml

from musclecog.reporting import PARTS, run_summary, strobe_checklist
from musclecog.results import write_table
from musclecog.variables import resources_dir

CONFIG = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "config.yaml").read_text())


def test_run_page_lists_cohorts_with_n_and_analyses(tmp_path: Path) -> None:
    name = next(iter(CONFIG["cohorts"]))
    write_table(pd.DataFrame({"stratum": ["overall"], "variable": ["N"], "label": ["participants"], "level": [""],
                              "summary": ["1234"]}), tmp_path / "cohorts" / f"{name}.table1.tsv")
    html = run_summary(CONFIG, tmp_path, ["config/config.yaml"])
    tables = pd.read_html(StringIO(html))  # lxml parses it: the page is well-formed HTML
    cohorts = next(t for t in tables if "People (n)" in t.columns)
    assert list(cohorts["Cohort"]) == list(CONFIG["cohorts"])
    assert float(cohorts.loc[cohorts["Cohort"] == name, "People (n)"].iloc[0]) == 1234  # other cohorts: blank
    analyses = next(t for t in tables if "Produced" in t.columns and "Analysis" in t.columns)
    assert list(analyses["Analysis"]) == list(CONFIG["analyses"])
    assert all(f"figures/{a}.png" in p for a, p in zip(analyses["Analysis"], analyses["Produced"], strict=True))
    assert str(CONFIG["seed"]) in html


def test_checklists_cover_every_item() -> None:
    html = strobe_checklist(CONFIG)
    strobe, strobe_mr = pd.read_html(StringIO(html))
    assert list(strobe["Item"]) == list(range(1, 23))
    assert list(strobe_mr["Item"]) == list(range(1, 21))
    parts = set(PARTS.values())
    for t in (strobe, strobe_mr):
        assert all(a in parts or a.startswith("not addressed") for a in t["Answered in"])
    assert "not addressed" in set(strobe["Answered in"])  # e.g. bias, limitations
    # without MR in the config, the MR items are not addressed
    no_mr = {k: v for k, v in CONFIG.items() if k != "mr"}
    _, mr = pd.read_html(StringIO(strobe_checklist(no_mr)))
    assert (mr.loc[mr["Item"] == 6, "Answered in"] == "not addressed (no mr in this run)").all()
    keys = set(pd.read_csv(resources_dir() / "strobe_checklist.tsv", sep="\t")["answered_by"])
    assert keys <= set(PARTS) | {"none"}
