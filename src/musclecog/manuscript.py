"""Manuscript tables, views of results: Table 2 (models as columns, "estimate (95% CI)" and p per term) from an
:class:`~musclecog.core.results.AnalysisResult`, and Table 1 rendered from the output of
:func:`musclecog.table1.table1` (which computes it; this module only lays it out).

Each table is a :class:`ManuscriptTable` (a header row, body rows, a caption) written as TSV
(:func:`musclecog.results.write_table`), HTML (pandas' ``Styler``, a maintained templating layer, so that
escaping and structure are not hand-made) and Word (python-docx, the maintained library for .docx; its tables
open in Word and LibreOffice and are read back by the tests).
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from musclecog.core.results import RATIO_SCALES, AnalysisResult, Estimate
from musclecog.labels import SCALE_WORDS, estimate_label, quantity_label, stratum_words
from musclecog.results import write_table

TABLE2_SCALES = frozenset(
    {"beta", "standardised_beta", "odds_ratio", "hazard_ratio", "risk_ratio", "mean_difference", "correlation",
     "partial_correlation", "indirect_effect", "direct_effect", "total_effect"}
)
"""Scales reported in Table 2 (not means, SDs, variance components, test rows or counts)."""
_INTERCEPTS = frozenset({"Intercept", "(Intercept)"})


@dataclass(frozen=True)
class ManuscriptTable:
    """A table for a paper: ``frame`` (string cells, header = column names) and its caption."""

    frame: pd.DataFrame
    caption: str

    def write(self, stem: str | Path) -> list[Path]:
        """Write ``<stem>.tsv``, ``<stem>.html`` and ``<stem>.docx``; returns the paths."""
        paths = [Path(f"{stem}{ext}") for ext in (".tsv", ".html", ".docx")]  # the stem may hold dots
        write_table(self.frame, paths[0])
        paths[1].write_text(self.html(), encoding="utf-8")
        self.docx(paths[2])
        return paths

    def html(self) -> str:
        """A standalone HTML fragment (``<table>`` with caption). Its element ids come from a hash of the
        caption and cells (pandas draws a random one): the same table gives the same file."""
        digest = hashlib.sha1((self.caption + self.frame.to_csv(sep="\t")).encode()).hexdigest()[:10]
        styler = self.frame.style.hide(axis="index").set_caption(self.caption).set_uuid(digest)
        styler = styler.set_table_attributes('class="manuscript-table"')
        return str(styler.to_html(doctype_html=False))

    def docx(self, path: str | Path) -> None:
        """A Word document holding the caption and the table (header row bold)."""
        import docx  # python-docx imports lxml: only when writing

        document = docx.Document()
        document.add_paragraph(self.caption)
        table = document.add_table(rows=1, cols=len(self.frame.columns))
        table.style = "Table Grid"
        for cell, name in zip(table.rows[0].cells, self.frame.columns, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(str(name)).bold = True
        for values in self.frame.itertuples(index=False):
            for cell, value in zip(table.add_row().cells, values, strict=True):
                cell.text = str(value)
        document.core_properties.created = pd.Timestamp("2000-01-01").to_pydatetime()  # reproducible bytes
        buffer = io.BytesIO()
        document.save(buffer)
        Path(path).write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """The same zip archive with every member dated 1980-01-01, so equal content gives equal bytes.

    A .docx is a zip archive whose members carry the time of writing; without this, two runs of the
    same config differ in their Word files although every cell is the same.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def format_p(p: float) -> str:
    """``<0.001``, else three decimals (``0.042``); blank when missing."""
    if not math.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_ci(e: Estimate, digits: int = 2) -> str:
    """``"0.20 (0.10, 0.30)"``; the estimate alone without limits; ``"not estimable"`` without a value."""
    if not math.isfinite(e.estimate):
        return "not estimable"
    if not (math.isfinite(e.conf_low) and math.isfinite(e.conf_high)):
        return f"{e.estimate:.{digits}f}"
    return f"{e.estimate:.{digits}f} ({e.conf_low:.{digits}f}, {e.conf_high:.{digits}f})"


def model_name(e: Estimate) -> str:
    """The column an estimate goes in: its ``model`` (extra) or method."""
    model = e.extra.get("model")
    return f"{model}" if model else e.method


def table2_estimates(result: AnalysisResult) -> list[Estimate]:
    """The estimates Table 2 reports: coefficients on :data:`TABLE2_SCALES`, no intercepts."""
    return [e for e in result.estimates if e.scale in TABLE2_SCALES and e.term not in _INTERCEPTS]


def table2(result: AnalysisResult, digits: int = 2) -> ManuscriptTable:
    """Table 2 of an analysis: one row per outcome, stratum and term; per model two columns,
    ``<model>: estimate (95% CI)`` and ``<model>: p``.

    Parameters
    ----------
    result : AnalysisResult
    digits : int
        Decimals of estimates and limits.

    Returns
    -------
    ManuscriptTable
    """
    rows = table2_estimates(result)
    models = list(dict.fromkeys(model_name(e) for e in rows))
    keys: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for e in rows:
        cells = keys.setdefault((e.outcome, e.stratum, e.term, e.scale), {})
        cells[f"{model_name(e)}: estimate (95% CI)"] = format_ci(e, digits)
        cells[f"{model_name(e)}: p"] = format_p(e.p_value)
        cells.setdefault("Term", estimate_label(e))
    columns = ["Outcome", "Stratum", "Term", "Scale"] + [f"{m}: {c}" for m in models for c in ("estimate (95% CI)", "p")]
    body = [
        {"Outcome": quantity_label(outcome), "Stratum": stratum_words(stratum),
         "Scale": SCALE_WORDS.get(scale, scale), **cells}
        for (outcome, stratum, _term, scale), cells in keys.items()
    ]
    frame = pd.DataFrame(body, columns=columns).fillna("")
    ratio = sorted({SCALE_WORDS.get(s, s).lower() for *_, s in keys if s in RATIO_SCALES})
    caption = (
        f"Table 2. {result.title or result.analysis} (cohort {result.cohort}): estimates with 95% confidence "
        f"intervals and two-sided p-values by model{'; ' + ', '.join(ratio) + ' exponentiated' if ratio else ''}."
    )
    return ManuscriptTable(frame, caption)


def table1_caption(table: pd.DataFrame, cohort: str) -> str:
    """A caption that says what the table shows: the strata, then the table's own last row, which names the
    statistic of each row (mean (SD) or median (IQR), survey-weighted with its weight column where it is) and
    the suppression rule. A table without that row's statistics (written before the ``statistic`` column)
    gets them from the columns that hold values."""
    strata = [s for s in dict.fromkeys(table["stratum"].astype(str)) if s != "overall"]
    by = f", overall and by {strata[0].split('=')[0]}" if strata and "=" in strata[0] else ""
    note = table.loc[table["variable"].astype(str) == "note", "summary"]
    if "statistic" in table.columns and len(note):
        text = str(note.iloc[0])
        return f"Table 1. Characteristics of cohort {cohort}{by}: {text}."
    stats = []
    if "mean" in table.columns and table["mean"].notna().any():
        stats.append("mean (SD) for continuous variables")
    if "median" in table.columns and table["median"].notna().any():
        stats.append("median (IQR) for continuous variables")
    if "count" in table.columns and table["count"].notna().any():
        stats.append("n (%) for categories")
    tail = f" Note: {note.iloc[0]}." if len(note) else ""
    return f"Table 1. Characteristics of cohort {cohort}{by}: {'; '.join(stats) or 'counts'}.{tail}"


def table1_rendered(table: pd.DataFrame, cohort: str) -> ManuscriptTable:
    """Table 1 laid out for a paper: one row per variable (and level), one column per stratum headed by its
    n; the cells are the ``summary`` column of :func:`musclecog.table1.table1`, unchanged.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`musclecog.table1.table1` (columns :data:`musclecog.table1.TABLE1_COLUMNS`).
    cohort : str
    """
    t = table.loc[~table["variable"].astype(str).isin(["note", "N"])].copy()
    n_rows = table.loc[table["variable"].astype(str) == "N"].set_index("stratum")["summary"].astype(str)
    strata: Sequence[str] = list(dict.fromkeys(table["stratum"].astype(str)))
    t["row"] = [
        f"{lab}: {lev}" if isinstance(lev, str) and lev and lev != "nan" else str(lab)
        for lab, lev in zip(t["label"], t["level"], strict=True)
    ]
    numeric = t["level"].astype(str).isin(["", "nan"]) & t.get("statistic", pd.Series("", t.index)).astype(str).ne("")
    if numeric.any() and t.loc[numeric, "statistic"].nunique() > 1:  # mixed summaries: each row says its own
        t.loc[numeric, "row"] = t.loc[numeric, "row"] + ", " + t.loc[numeric, "statistic"].astype(str)
    header = {s: f"{stratum_words(s)} (n = {n_rows.get(s, '')})" for s in strata}
    wide = t.pivot_table(index="row", columns="stratum", values="summary", aggfunc="first", sort=False)
    order = list(dict.fromkeys(t["row"]))
    wide = wide.reindex(index=order, columns=[s for s in strata if s in wide.columns]).fillna("")
    frame = wide.rename(columns=header).reset_index().rename(columns={"row": "Characteristic"})
    frame.columns.name = None
    return ManuscriptTable(frame.astype(str), table1_caption(table, cohort))
