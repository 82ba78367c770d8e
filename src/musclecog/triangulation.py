"""Triangulation: one exposure-outcome question answered by designs with different biases, side by side.

For grip strength and cognition the run's cross-sectional, longitudinal (level and slope) and Mendelian
randomization (both directions) estimates are put on one scale: per SD of the exposure, the outcome in SD units
where it is continuous and on its log-odds scale where it is binary. Which analysis, term and stratum feeds each
row is configuration (the ``triangulation:`` section, ``config/README.md``); this module only reads the tidy
estimate tables, converts them with numbers computed from the data, and says how (column ``scale_note``). A row
whose estimate cannot be put on the common scale keeps ``NA`` and says why; nothing is forced.

Conversions (``conversion`` column):

``as_reported``
    the analysis already reports per SD of the exposure on an SD outcome (``scale: standardised_beta`` with
    ``exposure_unit`` "per SD ...").
``log_ratio``
    an odds, hazard or risk ratio per SD of the exposure, reported as its log.
``per_unit_to_sd``
    a slope per unit of the exposure on the outcome's own scale, times SD(exposure) / SD(outcome) from the
    cohort table.
``contrast_to_sd``
    a contrast of exposure groups (e.g. highest vs lowest quartile), divided by the difference of the groups'
    mean exposure in SD units and by SD(outcome): per SD of the exposure under a linear dose-response.
``mr_units``
    a two-sample MR estimate, whose units are those of the harmonised GWAS (``units.exposure``,
    ``units.outcome``): per SD of the exposure on the outcome's scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.results import RATIO_SCALES
from musclecog.errors import ConfigError, DataError
from musclecog.filters import apply_keep_if
from musclecog.reproduce import REAL, SYNTHETIC
from musclecog.results import read_table

CROSS_SECTIONAL = "cross-sectional"
LONGITUDINAL_LEVEL = "longitudinal (level)"
LONGITUDINAL_SLOPE = "longitudinal (slope)"
MR = "Mendelian randomization"
DESIGNS = (CROSS_SECTIONAL, LONGITUDINAL_LEVEL, LONGITUDINAL_SLOPE, MR)

BIAS = {
    CROSS_SECTIONAL: "confounding; reverse causation",
    LONGITUDINAL_LEVEL: "confounding; attrition; regression dilution",
    LONGITUDINAL_SLOPE: "attrition (selective dropout); regression dilution",
    MR: "horizontal pleiotropy; weak instruments",
}
"""The design's main source of bias, one short phrase per design (documented in docs/triangulation.md)."""

_RATIO_WORDS = {"odds_ratio": "log OR", "hazard_ratio": "log HR", "risk_ratio": "log RR"}

COLUMNS = (
    "design", "direction", "evidence", "data_source", "analysis", "outcome", "term", "stratum",
    "estimate", "conf_low", "conf_high", "scale_kind", "n", "n_instruments", "bias", "conversion",
    "scale_note", "reported_estimate", "reported_conf_low", "reported_conf_high", "reported_scale",
)  # fmt: skip


@dataclass(frozen=True)
class Contrast:
    """Exposure groups of a group contrast, and the cohort columns that give the SDs."""

    exposure: str
    group: str
    high: Any
    low: Any


@dataclass(frozen=True)
class TriangulationRow:
    """One configured row: where its estimate comes from and how it is put on the common scale."""

    design: str
    source_kind: str  # "analysis" or "mr_pair"
    source: str
    where: Mapping[str, Any]
    outcome_column: str | None = None
    exposure_column: str | None = None
    contrast: Contrast | None = None
    keep_if: Mapping[str, Any] = field(default_factory=dict)
    label: str = "triangulation row"  # where it is configured, for messages: triangulation.rows.<name> or rows[i]


@dataclass(frozen=True)
class Converted:
    """An estimate and CI on the common scale, with how they were obtained."""

    estimate: float
    conf_low: float
    conf_high: float
    conversion: str
    note: str


def parse_rows(section: Mapping[str, Any] | None) -> list[TriangulationRow]:
    """Typed rows of the config's ``triangulation:`` section (already schema-validated), in config order.

    ``rows`` is a mapping name -> row (several ``--configfile`` files join their rows: Snakemake merges mappings
    key by key, a later file's new names after the earlier ones') or a list (a later file's list replaces an
    earlier one). The names only label messages; they are not a column of the table.

    Raises
    ------
    ConfigError
        If a row names an unknown design or both/neither of ``analysis`` and ``mr_pair``.
    """
    given = (section or {}).get("rows", [])
    if isinstance(given, Mapping):
        entries = [(f"triangulation.rows.{name}", entry) for name, entry in given.items()]
    else:
        entries = [(f"triangulation.rows[{i}]", entry) for i, entry in enumerate(given)]
    rows = []
    for label, entry in entries:
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{label}: a row is a mapping (design, analysis or mr_pair, where, ...), got {entry!r}")
        if entry["design"] not in DESIGNS:
            raise ConfigError(f"{label}: design {entry['design']!r} is not one of {list(DESIGNS)}")
        kinds = [k for k in ("analysis", "mr_pair") if k in entry]
        if len(kinds) != 1:
            raise ConfigError(f"{label}: give exactly one of 'analysis' or 'mr_pair' (found {kinds or 'neither'})")
        contrast = entry.get("contrast")
        rows.append(
            TriangulationRow(
                design=entry["design"],
                source_kind=kinds[0],
                source=str(entry[kinds[0]]),
                where=dict(entry.get("where", {})),
                outcome_column=entry.get("outcome_column"),
                exposure_column=entry.get("exposure_column", contrast["exposure"] if contrast else None),
                contrast=Contrast(**contrast) if contrast else None,
                keep_if=dict(entry.get("keep_if", {})),
                label=label,
            )
        )
    return rows


def required_sources(rows: Sequence[TriangulationRow]) -> dict[str, set[str]]:
    """The analyses and MR pairs the rows read, by kind (for the rule's inputs)."""
    wanted: dict[str, set[str]] = {"analysis": set(), "mr_pair": set()}
    for row in rows:
        wanted[row.source_kind].add(row.source)
    return wanted


def check_sources(rows: Sequence[TriangulationRow], analyses: Sequence[str], mr_pairs: Sequence[str]) -> None:
    """Refuse, before any job runs, a row whose analysis or MR pair this config does not produce.

    Raises
    ------
    ConfigError
        Naming the row, the missing source and the sources that exist.
    """
    known = {"analysis": sorted(analyses), "mr_pair": sorted(mr_pairs)}
    for row in rows:
        if row.source not in known[row.source_kind]:
            raise ConfigError(
                f"{row.label}: {row.source_kind} {row.source!r} is not configured in this run; "
                f"configured: {known[row.source_kind] or 'none'}"
            )


def scaled(estimate: float, low: float, high: float, factor: float) -> tuple[float, float, float]:
    """Estimate and CI times a positive factor (a change of units keeps the CI's coverage).

    >>> scaled(0.5, 0.1, 0.9, 2.0)
    (1.0, 0.2, 1.8)
    """
    if not (math.isfinite(factor) and factor > 0):
        raise DataError(f"triangulation: scale factor {factor!r} must be a positive finite number")
    return estimate * factor, low * factor, high * factor


def per_unit_factor(sd_exposure: float, sd_outcome: float) -> float:
    """Factor that turns a slope per unit of exposure into SD of the outcome per SD of the exposure.

    >>> per_unit_factor(10.0, 5.0)  # 0.1 points per kg, SD grip 10 kg, SD outcome 5 points -> 0.2 SD per SD
    2.0
    """
    return sd_exposure / sd_outcome


def contrast_factor(mean_high: float, mean_low: float, sd_exposure: float, sd_outcome: float) -> float:
    """Factor that turns a group contrast into SD of the outcome per SD of the exposure (linear dose-response).

    The groups differ by ``(mean_high - mean_low) / sd_exposure`` SD of the exposure; the contrast is divided by
    that and by ``sd_outcome``.

    >>> contrast_factor(36.0, 18.0, 7.2, 5.0)  # groups 2.5 SD apart; 1 point per 2.5 SD = 0.4 points = 0.08 SD
    0.08
    """
    gap = (mean_high - mean_low) / sd_exposure
    if not (math.isfinite(gap) and gap > 0):
        raise DataError(
            f"triangulation: the high exposure group's mean ({mean_high}) must exceed the low group's "
            f"({mean_low}); check the contrast's high/low groups"
        )
    return 1.0 / (gap * sd_outcome)


def _stratum_filter(data: pd.DataFrame, stratum: str) -> pd.DataFrame:
    if stratum in ("", "overall", "nan"):
        return data
    column, _, value = stratum.partition("=")
    if column not in data.columns:
        raise DataError(f"triangulation: stratum {stratum!r} names column '{column}', absent from the cohort table")
    return data.loc[data[column].astype(str).to_numpy() == value]


def cohort_conversion(
    row: TriangulationRow, est: pd.Series, data: pd.DataFrame
) -> Converted:
    """Put one observational estimate on the common scale with SDs and group means computed from ``data``.

    ``data`` is the cohort table the analysis was fitted on; it is restricted to the row's ``keep_if`` (e.g. the
    baseline wave) and to the estimate's stratum before any SD is computed.
    """
    value, low, high = (float(est[c]) for c in ("estimate", "conf_low", "conf_high"))
    scale, unit = str(est.get("scale", "")), str(est.get("exposure_unit", ""))
    per_sd = unit.startswith("per SD")
    if scale in RATIO_SCALES:
        if not per_sd:
            return _impossible(f"{scale} per {unit or 'unit'} of the exposure; not per SD, no conversion")
        return Converted(math.log(value), math.log(low), math.log(high), "log_ratio",
                         f"log of the reported {scale.replace('_', ' ')} per SD of {est['exposure']}")
    if scale == "standardised_beta" and per_sd:
        return Converted(value, low, high, "as_reported",
                         f"reported per SD of {est['exposure']} ({unit}) on {est['outcome']} in SD units")
    if scale != "beta":
        return _impossible(f"scale {scale!r} has no conversion to SD per SD")
    sub, _ = apply_keep_if(data, row.keep_if, "triangulation keep_if")
    sub = _stratum_filter(sub, str(est.get("stratum", "overall")))
    outcome = row.outcome_column or str(est["outcome"])
    exposure = row.exposure_column or str(est["exposure"])
    for col in (outcome, exposure):
        if col not in sub.columns:
            raise DataError(f"triangulation: column '{col}' is not in the cohort table of {row.source}")
    sd_y = float(sub[outcome].std())
    sd_x = float(sub[exposure].std())
    kept = "; ".join(f"{col} {op} {val}" for col, ops in row.keep_if.items() for op, val in ops.items())
    where = f"{len(sub)} rows" + (f" with {kept}" if kept else "") + f", stratum {est.get('stratum')}"
    if row.contrast is not None:
        c = row.contrast
        means = sub.groupby(c.group, observed=True)[c.exposure].mean()
        absent = [g for g in (c.high, c.low) if g not in means.index]
        if absent:
            raise DataError(
                f"triangulation: contrast groups {absent} are not values of '{c.group}' in the cohort table of "
                f"{row.source} ({where}); values there: {sorted(means.index.tolist())}. Fix contrast.high/low"
            )
        factor = contrast_factor(float(means[c.high]), float(means[c.low]), sd_x, sd_y)
        note = (f"{c.group} {c.high} vs {c.low} divided by their gap in mean {c.exposure} "
                f"({means[c.high]:.3g} - {means[c.low]:.3g} = {(means[c.high] - means[c.low]) / sd_x:.3g} SD; "
                f"SD {sd_x:.3g}) and by SD of {outcome} ({sd_y:.3g}); {where}; assumes a linear dose-response")
        return Converted(*scaled(value, low, high, factor), "contrast_to_sd", note)
    factor = per_unit_factor(sd_x, sd_y)
    note = f"per unit of {exposure} x SD {sd_x:.3g} / SD of {outcome} {sd_y:.3g}; {where}"
    return Converted(*scaled(value, low, high, factor), "per_unit_to_sd", note)


def mr_conversion(est: pd.Series, units: tuple[str, str]) -> Converted:
    """An IVW (or other) MR estimate on the common scale: per SD of a continuous exposure, as reported.

    ``units`` are the harmonised GWAS units of exposure and outcome (e.g. ``("SD", "log odds")``).
    """
    value, low, high = (float(est[c]) for c in ("estimate", "conf_low", "conf_high"))
    exp_unit, out_unit = units
    return Converted(value, low, high, "mr_units",
                     f"{est['method']}: {out_unit} of {est['outcome']} per {_per(exp_unit)} of {est['exposure']} "
                     "(units of the harmonised GWAS)")


def _per(unit: str) -> str:
    return "unit log odds" if unit == "log odds" else unit


def _impossible(reason: str) -> Converted:
    return Converted(math.nan, math.nan, math.nan, "none", f"not converted: {reason}")


def scale_kind(design: str, exposure: str, outcome: str, conv: Converted, units: tuple[str, str] | None,
               reported_scale: str) -> str:
    """The axis a row belongs to, e.g. ``SD of cognition per SD of grip`` or ``log odds of ... per SD of grip``."""
    if conv.conversion == "none":
        return "not on a common scale"
    if units is not None:
        return f"{units[1]} of {outcome} per {_per(units[0])} of {exposure}"
    if conv.conversion == "log_ratio":
        return f"{_RATIO_WORDS[reported_scale]} per SD of {exposure}"
    per_time = " per year" if design == LONGITUDINAL_SLOPE else ""
    return f"SD of outcome{per_time} per SD of {exposure}"


def _select(table: pd.DataFrame, where: Mapping[str, Any], label: str) -> pd.Series:
    mask = np.ones(len(table), bool)
    for col, val in where.items():
        if col not in table.columns:
            raise ConfigError(f"triangulation: {label} selects on column '{col}', absent; columns: {list(table.columns)}")
        mask &= table[col].astype(str).to_numpy() == str(val)
    hits = table.loc[mask]
    if len(hits) != 1:
        shown = table[[c for c in ("method", "outcome", "term", "stratum", "scale") if c in table.columns]].drop_duplicates()
        raise ConfigError(
            f"triangulation: {label} 'where: {dict(where)}' matches {len(hits)} rows; it must match exactly one. "
            f"Rows there include:\n{shown.head(12).to_string(index=False)}"
        )
    return hits.iloc[0]


@dataclass(frozen=True)
class Sources:
    """Where the run's tables are, and what each cohort or GWAS trait is (synthetic or real, its name)."""

    estimates: Mapping[str, str]  # "analysis:<name>" / "mr_pair:<pair>" -> tidy estimates path
    cohorts: Mapping[str, str]  # cohort name -> cohort table path
    harmonised: Mapping[str, str]  # pair -> harmonised.tsv path
    cohort_specs: Mapping[str, Mapping[str, Any]]
    gwas_specs: Mapping[str, Mapping[str, Any]]


def _data_source(kind: str, name: str, spec: Mapping[str, Any]) -> tuple[str, str]:
    evidence = SYNTHETIC if "simulate" in spec else REAL
    word = "synthetic" if evidence == SYNTHETIC else "real"
    desc = spec.get("description")
    return evidence, f"{word}: {kind} {name}" + (f" ({desc})" if desc else "")


def _mr_row(row: TriangulationRow, est: pd.Series, src: Sources) -> dict[str, Any]:
    harm = read_table(src.harmonised[row.source])
    kept = harm.loc[harm["mr_keep"].astype(str).str.lower() == "true"]
    units = (str(kept["units.exposure"].iloc[0]), str(kept["units.outcome"].iloc[0]))
    conv = mr_conversion(est, units)
    sizes = [pd.to_numeric(kept.get(f"samplesize.{side}"), errors="coerce") for side in ("exposure", "outcome")]
    largest = [float(np.nanmax(s)) if s is not None and np.isfinite(s).any() else math.nan for s in sizes]
    traits = [str(est["exposure"]), str(est["outcome"])]
    kinds = [_data_source("GWAS", t, src.gwas_specs.get(t, {})) for t in traits]
    evidence = SYNTHETIC if any(k[0] == SYNTHETIC for k in kinds) else REAL
    if all(math.isfinite(x) for x in largest):
        n: object = int(min(largest))
        note = f"{conv.note}; n = the smaller GWAS sample size ({largest[0]:,.0f} exposure, {largest[1]:,.0f} outcome)"
    else:
        n, note = pd.NA, f"{conv.note}; n unknown: the GWAS files give no sample size"
    return {
        "evidence": evidence, "data_source": "; ".join(k[1] for k in kinds), "n": n,
        "n_instruments": int(est["nsnp"]) if "nsnp" in est and pd.notna(est["nsnp"]) else pd.NA,
        "conv": Converted(conv.estimate, conv.conf_low, conv.conf_high, conv.conversion, note), "units": units,
    }


def triangulation_table(rows: Sequence[TriangulationRow], src: Sources) -> pd.DataFrame:
    """The triangulation table: one row per configured design and direction (columns :data:`COLUMNS`).

    Raises
    ------
    ConfigError
        If a row's source is not produced by the run or its ``where`` does not pick exactly one estimate.
    """
    out = []
    for row in rows:
        key = f"{row.source_kind}:{row.source}"
        if key not in src.estimates:
            raise ConfigError(f"{row.label}: {row.source_kind} {row.source!r} is not configured in this run")
        est = _select(read_table(src.estimates[key]), row.where, f"{row.label.removeprefix('triangulation.')} ({row.source})")
        if row.source_kind == "mr_pair":
            info = _mr_row(row, est, src)
        else:
            cohort = str(est["cohort"])
            spec = src.cohort_specs.get(cohort, {})
            data = pd.read_parquet(src.cohorts[cohort]) if cohort in src.cohorts else pd.DataFrame()
            evidence, source = _data_source("cohort", cohort, spec)
            info = {"evidence": evidence, "data_source": source, "n": est["n"], "n_instruments": pd.NA,
                    "conv": cohort_conversion(row, est, data), "units": None}
        conv: Converted = info["conv"]
        exposure = row.exposure_column or str(est["exposure"])  # a group contrast is read per SD of its exposure
        out.append({
            "design": row.design, "direction": f"{exposure} -> {est['outcome']}",
            "evidence": info["evidence"], "data_source": info["data_source"], "analysis": row.source,
            "outcome": est["outcome"], "term": est["term"], "stratum": est["stratum"],
            "estimate": conv.estimate, "conf_low": conv.conf_low, "conf_high": conv.conf_high,
            "scale_kind": scale_kind(row.design, exposure, str(est["outcome"]), conv, info["units"],
                                     str(est.get("scale", ""))),
            "n": info["n"], "n_instruments": info["n_instruments"], "bias": BIAS[row.design],
            "conversion": conv.conversion, "scale_note": conv.note,
            "reported_estimate": float(est["estimate"]), "reported_conf_low": float(est["conf_low"]),
            "reported_conf_high": float(est["conf_high"]), "reported_scale": est.get("scale", ""),
        })
    table = pd.DataFrame(out, columns=list(COLUMNS))
    table["n"] = table["n"].astype("Int64")
    table["n_instruments"] = table["n_instruments"].astype("Int64")
    return table
