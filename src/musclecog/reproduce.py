"""The reproduction table: each published number of the review next to ours, with a verdict.

A target (one row of ``resources/review_targets.tsv``) is mapped in the config's ``reproduction:``
section to one or more *checks*. A check selects exactly one row of an analysis' tidy estimates
(``where``: exact matches on label columns) and applies a verdict rule:

``published_in_ci``
    the published value lies in our 95% CI (for a t statistic, our t +/- 1.96: the sampling SD of a
    t statistic is about 1).
``direction_and_p``
    our estimate has the expected sign (``expect: negative|positive``) and our p is below the
    published bound (``p < 0.001`` -> 0.001; an exact published p or none -> 0.05).
``ci_excludes_null`` / ``ci_includes_null``
    our CI excludes (includes) the null (1 for ratios, 0 otherwise), with the expected sign when
    ``expect`` is given. Used for "X mediates, Y does not" and for directional targets.

A check may give the published number itself (``published:``, for targets whose number is in the note,
e.g. the MR odds ratios) and ``published_transform: log`` to compare a published ratio that is exp(beta)
with a beta; ``value: statistic`` compares the ``statistic`` column (a t) instead of ``estimate``;
``truth:`` names the parameter of the truth table (``truth_table:``, default the row's cohort) to report.

A target is "reproduced" when all its checks pass, "not reproduced" otherwise, and "not yet
reproduced" when the config maps it to no analysis (never a made-up row). The synthetic truth of the
first check is reported beside the estimate and the note says whether our CI covers it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, show_values

TARGET_COLUMNS: tuple[str, ...] = (
    "target_id",
    "review_ref",
    "source_doi",
    "design",
    "population",
    "n",
    "analysis",
    "exposure",
    "outcome",
    "statistic",
    "value",
    "comparator",
    "p_value",
    "note",
)
"""Columns of the review targets table."""

REPRODUCTION_COLUMNS: tuple[str, ...] = (
    "target_id",
    "review_ref",
    "statistic",
    "published",
    "estimate",
    "conf_low",
    "conf_high",
    "synthetic_truth",
    "cohort",
    "analysis",
    "verdict",
    "note",
)
"""Columns of ``results/reproduction.tsv`` (DESIGN.md)."""

RULES = ("published_in_ci", "direction_and_p", "ci_excludes_null", "ci_includes_null")
RATIO_SCALES = frozenset({"odds_ratio", "hazard_ratio", "risk_ratio"})
Z95 = 1.959963984540054
_NUMBER = re.compile(r"^\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)")
_LABEL_COLUMNS = ("method", "outcome", "exposure", "term", "stratum", "scale")


def load_targets(path: str | Path) -> pd.DataFrame:
    """Read and check the review targets table.

    Raises
    ------
    DataError
        If a column is missing, a row has the wrong number of fields, a target id is empty or
        duplicated, or a value cannot be read.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines:
        raise DataError(f"{path}: the targets table is empty; it needs the header columns {list(TARGET_COLUMNS)}")
    header = lines[0].split("\t")
    missing = [c for c in TARGET_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: the targets table lacks the columns {missing}; expected {list(TARGET_COLUMNS)}")
    for lineno, line in enumerate(lines[1:], start=2):
        if line.strip() and len(line.split("\t")) != len(header):
            raise DataError(
                f"{path}, line {lineno}: malformed row with {len(line.split(chr(9)))} tab-separated fields, "
                f"the header has {len(header)}. Fix the tabs in that row."
            )
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    empty = df.index[df["target_id"].str.strip() == ""].tolist()
    if empty:
        raise DataError(f"{path}: rows {show_values([i + 2 for i in empty])} have an empty target_id")
    dup = df["target_id"][df["target_id"].duplicated()].tolist()
    if dup:
        raise DataError(f"{path}: duplicated target_id {show_values(dup)}; each target needs a unique id")
    return df


def parse_published(value: str) -> float:
    """The leading number of a published value (``"43.56 (18.36)"`` -> 43.56); NaN if none."""
    match = _NUMBER.match(value or "")
    return float(match.group(1)) if match else math.nan


def p_bound(published_p: str) -> float:
    """The p-value bound a reproduction must meet: ``"<0.001"`` -> 0.001; exact or missing -> 0.05."""
    text = (published_p or "").strip()
    if text.startswith("<"):
        bound = parse_published(text[1:])
        if not math.isnan(bound):
            return bound
    return 0.05


@dataclass(frozen=True)
class Check:
    """One verdict rule applied to one row of one analysis' estimates."""

    source_kind: str  # "analysis" or "mr_pair"
    source: str
    where: Mapping[str, Any]
    rule: str = "published_in_ci"
    value: str = "estimate"
    expect: str | None = None
    published: float | None = None
    truth_table: str | None = None
    truth: str | None = None
    published_transform: str | None = None

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], where: str) -> Check:
        """Build a check from its config mapping (``where`` is the key path, for messages)."""
        allowed = {
            "analysis", "mr_pair", "where", "rule", "value", "expect", "published", "published_transform", "truth",
            "truth_table",
        }  # fmt: skip
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise ConfigError(f"config: '{where}' has unknown keys {unknown}; allowed: {sorted(allowed)}")
        kinds = [k for k in ("analysis", "mr_pair") if k in entry]
        if len(kinds) != 1:
            raise ConfigError(f"config: '{where}' must name exactly one of 'analysis' or 'mr_pair'")
        rule = entry.get("rule", "published_in_ci")
        if rule not in RULES:
            raise ConfigError(f"config: '{where}.rule' is {rule!r}; use one of {', '.join(RULES)}")
        expect = entry.get("expect")
        if expect not in (None, "negative", "positive"):
            raise ConfigError(f"config: '{where}.expect' is {expect!r}; use 'negative' or 'positive'")
        if rule == "direction_and_p" and expect is None:
            raise ConfigError(f"config: '{where}' uses rule direction_and_p and needs 'expect: negative|positive'")
        transform = entry.get("published_transform")
        if transform not in (None, "log"):
            raise ConfigError(f"config: '{where}.published_transform' is {transform!r}; the only transform is 'log'")
        value = entry.get("value", "estimate")
        if value not in ("estimate", "statistic"):
            raise ConfigError(f"config: '{where}.value' is {value!r}; use 'estimate' or 'statistic'")
        return cls(
            source_kind=kinds[0],
            source=str(entry[kinds[0]]),
            where=dict(entry.get("where") or {}),
            rule=rule,
            value=value,
            expect=expect,
            published=None if entry.get("published") is None else float(entry["published"]),
            truth_table=entry.get("truth_table"),
            truth=entry.get("truth"),
            published_transform=transform,
        )


@dataclass(frozen=True)
class TargetMapping:
    """How one review target is reproduced: its checks, and a note for the reader."""

    target_id: str
    checks: tuple[Check, ...]
    note: str = ""

    @classmethod
    def from_config(cls, target_id: str, entry: Mapping[str, Any]) -> TargetMapping:
        """Accept either ``{checks: [...], note: ...}`` or a single check's keys inline."""
        where = f"reproduction.{target_id}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"config: '{where}' must be a mapping, got {entry!r}")
        note = str(entry.get("note", ""))
        if "checks" in entry:
            extra = sorted(set(entry) - {"checks", "note"})
            if extra:
                raise ConfigError(f"config: '{where}' has keys {extra} beside 'checks'; move them into a check")
            raw = entry["checks"]
            if not isinstance(raw, Sequence) or not raw:
                raise ConfigError(f"config: '{where}.checks' must be a non-empty list")
            checks = tuple(Check.from_config(c, f"{where}.checks[{i}]") for i, c in enumerate(raw))
        else:
            checks = (Check.from_config({k: v for k, v in entry.items() if k != "note"}, where),)
        return cls(target_id=target_id, checks=checks, note=note)


def parse_mapping(mapping: Mapping[str, Any] | None, targets: pd.DataFrame) -> dict[str, TargetMapping]:
    """Parse the config's ``reproduction:`` section; every key must be a known target id."""
    out: dict[str, TargetMapping] = {}
    known = set(targets["target_id"])
    for target_id, entry in (mapping or {}).items():
        if target_id not in known:
            raise ConfigError(
                f"config: 'reproduction.{target_id}' is not a target id of the targets table. "
                f"Known ids: {show_values(sorted(known), limit=30)}"
            )
        out[target_id] = TargetMapping.from_config(target_id, entry)
    return out


def required_sources(mapping: Mapping[str, TargetMapping]) -> dict[str, set[str]]:
    """The analyses and MR pairs the mapping reads: ``{"analysis": {...}, "mr_pair": {...}}``."""
    out: dict[str, set[str]] = {"analysis": set(), "mr_pair": set()}
    for target in mapping.values():
        for check in target.checks:
            out[check.source_kind].add(check.source)
    return out


@dataclass
class CheckOutcome:
    """The result of one check."""

    passed: bool
    reason: str
    row: pd.Series | None = None
    lo: float = math.nan
    hi: float = math.nan
    value: float = math.nan
    truth: float = math.nan
    cohort: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _select_row(table: pd.DataFrame, check: Check, label: str) -> pd.Series:
    mask = np.ones(len(table), bool)
    for col, val in check.where.items():
        if col not in table.columns:
            raise ConfigError(
                f"reproduction: {label} selects on column '{col}', which the estimates table lacks; "
                f"columns: {list(table.columns)}"
            )
        mask &= table[col].astype(str).to_numpy() == str(val)
    hits = table.loc[mask]
    if len(hits) != 1:
        options = table[[c for c in _LABEL_COLUMNS if c in table.columns]].drop_duplicates().head(12)
        raise ConfigError(
            f"reproduction: {label} 'where: {dict(check.where)}' matches {len(hits)} rows of "
            f"{check.source_kind} {check.source!r}; it must match exactly one. Rows there include:\n"
            f"{options.to_string(index=False)}"
        )
    return hits.iloc[0]


def _interval(row: pd.Series, check: Check) -> tuple[float, float, float]:
    if check.value == "statistic":
        t = float(row["statistic"])
        return t, t - Z95, t + Z95
    return float(row["estimate"]), float(row["conf_low"]), float(row["conf_high"])


def evaluate_check(
    check: Check,
    table: pd.DataFrame,
    target: pd.Series,
    truths: Mapping[str, pd.DataFrame],
    label: str,
) -> CheckOutcome:
    """Apply one check to an estimates table."""
    row = _select_row(table, check, label)
    value, lo, hi = _interval(row, check)
    scale = str(row.get("scale", ""))
    null = 1.0 if scale in RATIO_SCALES else 0.0
    published = check.published if check.published is not None else parse_published(target["value"])
    if check.published_transform == "log":
        # e.g. a published "OR" that is exp(beta) of a continuous outcome, compared on the beta scale
        published = math.log(published)
    sign_ok = True
    if check.expect is not None:
        sign_ok = (value < null) if check.expect == "negative" else (value > null)
    if check.rule == "published_in_ci":
        if math.isnan(published):
            raise ConfigError(
                f"reproduction: {label} uses published_in_ci but target {target['target_id']!r} has no "
                f"numeric value ({target['value']!r}); give 'published:' in the check or use another rule"
            )
        passed = lo <= published <= hi
        reason = f"published {published:g} {'in' if passed else 'outside'} our 95% CI [{lo:.4g}, {hi:.4g}]"
    elif check.rule == "direction_and_p":
        bound = p_bound(target["p_value"])
        p = float(row["p_value"])
        passed = sign_ok and p < bound
        reason = f"{'expected' if sign_ok else 'unexpected'} sign ({value:.4g}), p = {p:.3g} vs bound {bound:g}"
    else:
        excludes = not (lo <= null <= hi)
        passed = (excludes and sign_ok) if check.rule == "ci_excludes_null" else not excludes
        reason = (
            f"CI [{lo:.4g}, {hi:.4g}] {'excludes' if excludes else 'includes'} the null {null:g}"
            + (f" (expected {check.expect})" if check.expect else "")
        )
    truth = math.nan
    truth_name = check.truth
    if truth_name:
        table_name = check.truth_table or str(row.get("cohort", ""))
        tt = truths.get(table_name)
        if tt is None or truth_name not in set(tt["parameter"]):
            raise ConfigError(
                f"reproduction: {label} names the truth parameter {truth_name!r} of {table_name!r}, which "
                f"is not in that truth table"
            )
        truth = float(tt.loc[tt["parameter"] == truth_name, "value"].iloc[0])
    return CheckOutcome(
        passed=passed,
        reason=f"{check.source} [{row.get('term', '')}|{row.get('stratum', '')}]: {reason}",
        row=row,
        lo=lo,
        hi=hi,
        value=value,
        truth=truth,
        cohort=str(row.get("cohort", "")),
    )


def reproduce(
    targets: pd.DataFrame,
    mapping: Mapping[str, TargetMapping],
    estimates: Mapping[tuple[str, str], pd.DataFrame | None],
    truths: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """Build the reproduction table, one row per target.

    Parameters
    ----------
    targets : DataFrame
        From :func:`load_targets`.
    mapping : mapping
        From :func:`parse_mapping`.
    estimates : mapping
        ``(kind, name) -> tidy estimates`` for every source the mapping reads; None when the
        output is missing (the row then says so, and the verdict is "missing output").
    truths : mapping
        Truth tables by cohort (or trait) name.

    Returns
    -------
    DataFrame
        Columns :data:`REPRODUCTION_COLUMNS`.
    """
    rows = []
    for _, target in targets.iterrows():
        tid = target["target_id"]
        base = {
            "target_id": tid,
            "review_ref": target["review_ref"],
            "statistic": target["statistic"],
            "published": target["value"],
            "estimate": math.nan,
            "conf_low": math.nan,
            "conf_high": math.nan,
            "synthetic_truth": math.nan,
            "cohort": "",
            "analysis": "",
        }
        if tid not in mapping:
            rows.append(base | {"verdict": "not yet reproduced", "note": "no analysis in this config reproduces it"})
            continue
        tm = mapping[tid]
        outcomes: list[CheckOutcome] = []
        missing = []
        for i, check in enumerate(tm.checks):
            table = estimates.get((check.source_kind, check.source))
            if table is None:
                missing.append(f"{check.source_kind} {check.source}")
                continue
            outcomes.append(evaluate_check(check, table, target, truths, f"reproduction.{tid} check {i}"))
        sources = ", ".join(dict.fromkeys(c.source for c in tm.checks))
        if missing:
            rows.append(
                base
                | {
                    "analysis": sources,
                    "verdict": "missing output",
                    "note": f"no result table for {', '.join(missing)}; the run did not produce it",
                }
            )
            continue
        first = outcomes[0]
        notes = [o.reason for o in outcomes]
        if not math.isnan(first.truth):
            covered = first.lo <= first.truth <= first.hi
            notes.append(f"synthetic truth {first.truth:.4g} {'in' if covered else 'OUTSIDE'} our CI")
        if tm.note:
            notes.append(tm.note)
        rows.append(
            base
            | {
                "estimate": first.value,
                "conf_low": first.lo,
                "conf_high": first.hi,
                "synthetic_truth": first.truth,
                "cohort": first.cohort,
                "analysis": sources,
                "verdict": "reproduced" if all(o.passed for o in outcomes) else "not reproduced",
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=list(REPRODUCTION_COLUMNS))


def scale_panel(statistic: str) -> str:
    """Which figure panel a target's statistic belongs to: correlations, ratios, proportions or betas."""
    s = statistic.lower()
    if s in ("r", "r squared"):
        return "correlations"
    if "ratio" in s:
        return "ratios"
    if "proportion" in s:
        return "proportions"
    return "betas, means and t statistics"


def build_reproduction(
    targets_path: str | Path,
    mapping_config: Mapping[str, Any] | None,
    estimate_paths: Mapping[str, str],
    truth_paths: Mapping[str, str],
) -> pd.DataFrame:
    """Read the targets, the mapped estimates and the truth tables, and build the reproduction table.

    Parameters
    ----------
    targets_path : path
        The review targets table.
    mapping_config : mapping
        The config's ``reproduction:`` section.
    estimate_paths : mapping
        ``"analysis:<name>"`` or ``"mr_pair:<name>"`` -> path of its tidy estimates. A mapped source
        absent here (not configured in this run) gets the verdict "missing output".
    truth_paths : mapping
        Truth table name (cohort or trait) -> path.

    Returns
    -------
    DataFrame
        See :func:`reproduce`.
    """
    from musclecog.results import read_table

    targets = load_targets(targets_path)
    mapping = parse_mapping(mapping_config, targets)
    estimates: dict[tuple[str, str], pd.DataFrame | None] = {}
    for kind, names in required_sources(mapping).items():
        for name in names:
            path = estimate_paths.get(f"{kind}:{name}")
            estimates[(kind, name)] = read_table(path) if path and Path(path).exists() else None
    truths = {name: read_table(path) for name, path in truth_paths.items()}
    return reproduce(targets, mapping, estimates, truths)
