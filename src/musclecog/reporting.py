"""The report's own pages: the run page (what the workflow did: configuration, cohorts with n, analyses and
what each produced, provenance) and the STROBE / STROBE-MR checklist page (each item mapped to the part of
the report that answers it, or "not addressed"). Both are views of the config and the run's outputs; tables
are laid out by :class:`musclecog.manuscript.ManuscriptTable` (pandas Styler), the page by Jinja2."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from musclecog.manuscript import ManuscriptTable
from musclecog.variables import resources_dir

PARTS: Mapping[str, str] = {
    "run": "Run (this page's companion: the run summary)",
    "cohorts": "Cohorts: flow and Table 1 of each cohort",
    "flow": "Cohorts: participant flow table of each cohort",
    "table1": "Cohorts: Table 1 of each cohort",
    "estimates": "Analyses: the estimates table of each analysis",
    "table2": "Analyses: Table 2 of each analysis",
    "figures": "Analyses: the figure of each analysis",
    "mr": "Mendelian randomization: each pair's tables and figures",
    "reproduction": "Reproduction: the reproduction table and figure",
    "provenance": "Provenance: provenance.json",
}
"""``answered_by`` keys of ``resources/strobe_checklist.tsv`` -> the report part, in words."""

_PAGE = jinja2.Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:sans-serif;font-size:14px;margin:1em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}caption{text-align:left;font-weight:bold}
</style></head><body><h1>{{ title }}</h1>{% for p in intro %}<p>{{ p }}</p>{% endfor %}
{% for name, html in sections %}<section id="{{ name | lower | replace(' ', '-') }}"><h2>{{ name }}</h2>{{ html }}</section>
{% endfor %}</body></html>
""",
    autoescape=True,
)


def _page(title: str, intro: list[str], sections: list[tuple[str, ManuscriptTable]]) -> str:
    return _PAGE.render(
        title=title, intro=intro, sections=[(name, jinja2.utils.markupsafe.Markup(t.html())) for name, t in sections]
    )


def _cohort_n(table1_path: Path) -> str:
    if not table1_path.exists():
        return ""
    t = pd.read_csv(table1_path, sep="\t", dtype=str, keep_default_na=False)  # cells as written
    n = t.loc[(t["variable"].astype(str) == "N") & (t["stratum"].astype(str) == "overall"), "summary"]
    return str(n.iloc[0]) if len(n) else ""


def _outputs(name: str) -> str:
    return (f"estimates/{name}.tsv; figures/{name}.png, .svg; "
            f"manuscript/{name}.table2.tsv, .html, .docx")


def mr_pairs(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The MR pairs of the config (entries of ``mr`` with an exposure and an outcome)."""
    mr = config.get("mr") or {}
    return {name: p for name, p in mr.items() if isinstance(p, Mapping) and "exposure" in p and "outcome" in p}


def run_summary(config: Mapping[str, Any], results_dir: str | Path, config_files: list[str]) -> str:
    """The run page (HTML): configuration, cohorts with n, analyses and their outputs, MR pairs, provenance.

    Parameters
    ----------
    config : mapping
        The validated config.
    results_dir : path
        Where the run wrote its outputs (cohort table 1s, provenance.json).
    config_files : list of str
        The config files given to Snakemake.
    """
    out = Path(results_dir)
    cohorts = config.get("cohorts") or {}
    analyses = config.get("analyses") or {}
    crow = []
    for name, spec in cohorts.items():
        source = f"simulated ({spec['simulate'].get('design', 'design')})" if "simulate" in spec else \
            "; ".join(str(t.get("path", "")) for t in spec.get("tables", []))
        crow.append({"Cohort": name, "Source": source, "People (n)": _cohort_n(out / "cohorts" / f"{name}.table1.tsv"),
                     "Survey design": "yes" if spec.get("survey") else "no"})
    arow = [
        {"Analysis": name, "Type": a["type"], "Cohort": a.get("cohort", ""),
         "Description": a.get("description", ""), "Produced": _outputs(name)}
        for name, a in analyses.items()
    ]
    pairs = mr_pairs(config)
    mrow = [{"Pair": name, "Exposure": p.get("exposure", ""), "Outcome": p.get("outcome", ""),
             "Both directions": "yes" if p.get("bidirectional") else "no",
             "Produced": "mr/<exposure>__<outcome>/: estimates, sensitivity tables, 4 figures"}
            for name, p in pairs.items()]
    prov_path = out / "provenance.json"
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
    packages = prov.get("packages") or {}
    cfg = pd.DataFrame(
        [{"Setting": "config files", "Value": ", ".join(config_files) or "config/config.yaml"},
         {"Setting": "results folder", "Value": str(config.get("results_dir", "results"))},
         {"Setting": "seed", "Value": str(config.get("seed", ""))},
         {"Setting": "review targets", "Value": str(config.get("targets", "none"))},
         {"Setting": "started / ended", "Value": f"{prov.get('started', '')} / {prov.get('ended', '')}"},
         {"Setting": "packages", "Value": ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))}]
    )
    sections = [
        ("Configuration", ManuscriptTable(cfg, "The configuration of this run (provenance.json holds all of it)")),
        ("Cohorts", ManuscriptTable(pd.DataFrame(crow, columns=["Cohort", "Source", "People (n)", "Survey design"]),
                                    "Cohorts, with the people in each table 1 (after the cohort's filters)")),
        ("Analyses", ManuscriptTable(pd.DataFrame(arow, columns=["Analysis", "Type", "Cohort", "Description",
                                                                "Produced"]),
                                     "Each configured analysis and what it produced")),
    ]
    if mrow:
        sections.append(("Mendelian randomization", ManuscriptTable(pd.DataFrame(mrow), "MR pairs of this run")))
    intro = [
        f"This run fitted {len(analyses)} analyses on {len(cohorts)} cohorts"
        + (f" and {len(pairs)} Mendelian randomization pair(s)" if pairs else "")
        + ". Every table and figure below is in the results folder; the provenance record names the seed, the "
        "package versions and the SHA-256 checksum of every input file.",
    ]
    return _page("musclecog run", intro, sections)


def strobe_checklist(config: Mapping[str, Any], path: str | Path | None = None) -> str:
    """The STROBE and STROBE-MR checklist page (HTML): each item, the report part that answers it (or
    "not addressed"), and how. Items answered by MR outputs are "not addressed" in a run without MR, the
    reproduction items in a run without review targets."""
    table = pd.read_csv(path or resources_dir() / "strobe_checklist.tsv", sep="\t", dtype=str, keep_default_na=False)
    absent = set()
    if not mr_pairs(config):
        absent.add("mr")
    if not config.get("targets"):
        absent.add("reproduction")
    where = [
        "not addressed" if key == "none" else (f"not addressed (no {key} in this run)" if key in absent else PARTS[key])
        for key in table["answered_by"]
    ]
    table = table.assign(where=where)
    sections = []
    for checklist, sub in table.groupby("checklist", sort=False):
        frame = sub.rename(columns={"item": "Item", "topic": "Topic", "where": "Answered in", "how": "How"})[
            ["Item", "Topic", "Answered in", "How"]
        ]
        sections.append((str(checklist), ManuscriptTable(frame.reset_index(drop=True),
                                                         f"{checklist} checklist items and where this report answers them")))
    intro = ["Each item of the STROBE (observational studies) and STROBE-MR (Mendelian randomization) checklists, "
             "mapped to the part of this report that answers it, or 'not addressed' where the authors must."]
    return _page("Reporting checklists: STROBE and STROBE-MR", intro, sections)
