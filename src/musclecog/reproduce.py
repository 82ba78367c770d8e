"""The reproduction table: each published number of the review next to ours, with an honest verdict.

A target (one row of ``resources/review_targets.tsv``) is mapped in the config's ``reproduction:``
section (and, for real-data examples, ``replication:``; same syntax) to one or more *checks*. A check
selects exactly one row of an analysis' tidy estimates (``where``: exact matches on label columns) and
applies a verdict rule:

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

**Informative or not.** A ``published_in_ci`` (or ``ci_includes_null``) check that passes is
*uninformative* when its CI also covers a stated alternative: the target's ``alternative`` column
(``half``: half the published effect, on the log scale for ratios; ``null``; or a number) or the check's
own ``alternative:`` (e.g. the other sex's published value for a sex-specific target).

**Evidence.** A check's evidence is ``synthetic_recovery`` when its data were simulated (its cohort, or a
trait of its MR pair, has a truth table) and ``real_replication`` otherwise. On synthetic data the
verdict is ``recovered`` (every check passes and every named synthetic truth lies in our CI), ``not
recovered`` or ``uninformative``; on real data ``replicated``, ``not replicated`` or ``uninformative``.
A target no section maps is ``not checked`` (never a made-up row).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
"""Required columns of the review targets table (``alternative`` is optional: :data:`ALTERNATIVES`)."""

REPRODUCTION_COLUMNS: tuple[str, ...] = (
    "target_id",
    "review_ref",
    "evidence",
    "statistic",
    "published",
    "published_value",
    "estimate",
    "conf_low",
    "conf_high",
    "ci_width_rel",
    "null_value",
    "alternative",
    "synthetic_truth",
    "cohort",
    "analysis",
    "verdict",
    "note",
)
"""Columns of ``results/reproduction.tsv`` (DESIGN.md). ``published_value``, ``estimate``, the CI,
``ci_width_rel`` (CI width / |published - null|, on the log scale for ratios), ``null_value`` (1 for ratios, else 0)
and ``alternative`` are those of the target's first check, on the scale it is compared on."""

SYNTHETIC = "synthetic_recovery"
REAL = "real_replication"
EVIDENCE = (SYNTHETIC, REAL)
VERDICTS: dict[str, tuple[str, str]] = {
    SYNTHETIC: ("recovered", "not recovered"),
    REAL: ("replicated", "not replicated"),
}
"""(pass, fail) verdict by evidence; both share ``uninformative``."""
UNINFORMATIVE = "uninformative"
NOT_CHECKED = "not checked"
MISSING = "missing output"

RULES = ("published_in_ci", "direction_and_p", "ci_excludes_null", "ci_includes_null")
ALTERNATIVES = ("half", "null")
"""Named alternatives (besides a number) a check's CI must exclude to be informative."""
RATIO_SCALES = frozenset({"odds_ratio", "hazard_ratio", "risk_ratio"})
Z95 = 1.959963984540054
_NUMBER = re.compile(r"^\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*$")
_LEADING = re.compile(r"^\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)")
_LABEL_COLUMNS = ("method", "outcome", "exposure", "term", "stratum", "scale")
_CHECK_KEYS = frozenset({
    "analysis", "mr_pair", "where", "rule", "value", "expect", "published", "published_transform", "truth",
    "truth_table", "alternative",
})  # fmt: skip


def load_targets(path: str | Path) -> pd.DataFrame:
    """Read and check the review targets table.

    Raises
    ------
    DataError
        If a column is missing, a row has the wrong number of fields, a target id is empty or
        duplicated, or an ``alternative`` is neither ``half``, ``null``, a number nor empty.
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
    if "alternative" not in df.columns:
        df["alternative"] = ""
    bad = df.loc[[not _valid_alternative(v) for v in df["alternative"]], "target_id"].tolist()
    if bad:
        raise DataError(
            f"{path}: column 'alternative' of targets {show_values(bad)} is not one of {list(ALTERNATIVES)}, "
            "a number or empty"
        )
    return df


def _valid_alternative(text: object) -> bool:
    value = str(text).strip()
    return value in ("", *ALTERNATIVES) or bool(_NUMBER.match(value))


def parse_published(value: str) -> float:
    """The leading number of a published value (``"43.56 (18.36)"`` -> 43.56); NaN if none."""
    match = _LEADING.match(value or "")
    return float(match.group(1)) if match else math.nan


def p_bound(published_p: str) -> float:
    """The p-value bound a reproduction must meet: ``"<0.001"`` -> 0.001; exact or missing -> 0.05."""
    text = (published_p or "").strip()
    if text.startswith("<"):
        bound = parse_published(text[1:])
        if not math.isnan(bound):
            return bound
    return 0.05


def alternative_value(alternative: str | float | None, published: float, ratio: bool) -> float:
    """The alternative a check's CI must exclude, on the compared scale; NaN when none is stated.

    ``half`` is half the published effect (the square root of a published ratio), ``null`` is 0 (1 for a
    ratio), a number is itself.
    """
    if alternative is None or (isinstance(alternative, str) and alternative.strip() == ""):
        return math.nan
    if isinstance(alternative, int | float):
        return float(alternative)
    text = alternative.strip()
    if text == "null":
        return 1.0 if ratio else 0.0
    if text == "half":
        return math.sqrt(published) if ratio else published / 2
    return float(text)


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
    alternative: str | float | None = None

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], where: str) -> Check:
        """Build a check from its config mapping (``where`` is the key path, for messages)."""
        unknown = sorted(set(entry) - _CHECK_KEYS)
        if unknown:
            raise ConfigError(f"config: '{where}' has unknown keys {unknown}; allowed: {sorted(_CHECK_KEYS)}")
        kinds = [k for k in ("analysis", "mr_pair") if k in entry]
        if len(kinds) != 1:
            raise ConfigError(f"config: '{where}' must name exactly one of 'analysis' or 'mr_pair'")
        rule = entry.get("rule", "published_in_ci")
        _check_choice(rule, RULES, f"{where}.rule")
        expect = entry.get("expect")
        _check_choice(expect, (None, "negative", "positive"), f"{where}.expect")
        if rule == "direction_and_p" and expect is None:
            raise ConfigError(f"config: '{where}' uses rule direction_and_p and needs 'expect: negative|positive'")
        transform = entry.get("published_transform")
        _check_choice(transform, (None, "log"), f"{where}.published_transform")
        value = entry.get("value", "estimate")
        _check_choice(value, ("estimate", "statistic"), f"{where}.value")
        alternative = entry.get("alternative")
        if alternative is not None:
            if rule not in ("published_in_ci", "ci_includes_null"):
                raise ConfigError(
                    f"config: '{where}.alternative' is set but rule {rule} already tests against the null; "
                    "an alternative applies to published_in_ci and ci_includes_null"
                )
            if not _valid_alternative(alternative):
                raise ConfigError(
                    f"config: '{where}.alternative' is {alternative!r}; use {' or '.join(ALTERNATIVES)} or a number"
                )
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
            alternative=alternative,
        )


def _check_choice(value: object, choices: Sequence[object], where: str) -> None:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices if c is not None)
        raise ConfigError(f"config: '{where}' is {value!r}; use one of {shown}")


@dataclass(frozen=True)
class TargetMapping:
    """How one review target is checked: its checks, and a note for the reader."""

    target_id: str
    checks: tuple[Check, ...]
    note: str = ""

    @classmethod
    def from_config(cls, target_id: str, entry: Mapping[str, Any], section: str = "reproduction") -> TargetMapping:
        """Accept either ``{checks: [...], note: ...}`` or a single check's keys inline."""
        where = f"{section}.{target_id}"
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


def parse_mapping(
    mapping: Mapping[str, Any] | None, targets: pd.DataFrame, section: str = "reproduction"
) -> dict[str, TargetMapping]:
    """Parse the config's ``reproduction:`` (or ``replication:``) section; every key must be a target id."""
    out: dict[str, TargetMapping] = {}
    known = set(targets["target_id"])
    for target_id, entry in (mapping or {}).items():
        if target_id not in known:
            raise ConfigError(
                f"config: '{section}.{target_id}' is not a target id of the targets table. "
                f"Known ids: {show_values(sorted(known), limit=30)}"
            )
        out[target_id] = TargetMapping.from_config(target_id, entry, section)
    return out


def required_sources(*mappings: Mapping[str, TargetMapping]) -> dict[str, set[str]]:
    """The analyses and MR pairs the mappings read: ``{"analysis": {...}, "mr_pair": {...}}``."""
    out: dict[str, set[str]] = {"analysis": set(), "mr_pair": set()}
    for mapping in mappings:
        for target in mapping.values():
            for check in target.checks:
                out[check.source_kind].add(check.source)
    return out


@dataclass
class CheckOutcome:
    """The result of one check: ``status`` is ``pass``, ``fail`` or ``uninformative``."""

    status: str
    reason: str
    evidence: str
    lo: float = math.nan
    hi: float = math.nan
    value: float = math.nan
    published: float = math.nan
    alternative: float = math.nan
    width_rel: float = math.nan
    null: float = math.nan
    truth: float = math.nan
    cohort: str = ""


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


def _published(check: Check, target: pd.Series) -> float:
    published = check.published if check.published is not None else parse_published(target["value"])
    if check.published_transform == "log":
        # e.g. a published "OR" that is exp(beta) of a continuous outcome, compared on the beta scale
        published = math.log(published)
    return published


def _evidence(check: Check, row: pd.Series, truths: Mapping[str, pd.DataFrame]) -> str:
    """Synthetic when the data behind the row were simulated (a truth table exists for them)."""
    if check.source_kind == "mr_pair":
        names = set(check.source.split("__")) | {check.truth_table or ""}
    else:
        names = {str(row.get("cohort", "")), check.truth_table or ""}
    return SYNTHETIC if names & set(truths) else REAL


def _truth(check: Check, row: pd.Series, truths: Mapping[str, pd.DataFrame], label: str) -> float:
    if not check.truth:
        return math.nan
    table_name = check.truth_table or str(row.get("cohort", ""))
    tt = truths.get(table_name)
    if tt is None or check.truth not in set(tt["parameter"]):
        raise ConfigError(
            f"reproduction: {label} names the truth parameter {check.truth!r} of {table_name!r}, which "
            f"is not in that truth table"
        )
    return float(tt.loc[tt["parameter"] == check.truth, "value"].iloc[0])


def _apply_rule(
    check: Check, row: pd.Series, target: pd.Series, interval: tuple[float, float, float], null: float
) -> tuple[bool, str]:
    value, lo, hi = interval
    sign_ok = True
    if check.expect is not None:
        sign_ok = (value < null) if check.expect == "negative" else (value > null)
    if check.rule == "published_in_ci":
        published = _published(check, target)
        if math.isnan(published):
            raise ConfigError(
                f"reproduction: check of {check.source} uses published_in_ci but target {target['target_id']!r} "
                f"has no numeric value ({target['value']!r}); give 'published:' in the check or use another rule"
            )
        passed = lo <= published <= hi
        return passed, f"published {published:.4g} {'in' if passed else 'outside'} our 95% CI [{lo:.4g}, {hi:.4g}]"
    if check.rule == "direction_and_p":
        bound = p_bound(target["p_value"])
        p = float(row["p_value"])
        passed = sign_ok and p < bound
        return passed, f"{'expected' if sign_ok else 'unexpected'} sign ({value:.4g}), p = {p:.3g} vs bound {bound:g}"
    excludes = not (lo <= null <= hi)
    passed = (excludes and sign_ok) if check.rule == "ci_excludes_null" else not excludes
    return passed, (
        f"CI [{lo:.4g}, {hi:.4g}] {'excludes' if excludes else 'includes'} the null {null:g}"
        + (f" (expected {check.expect})" if check.expect else "")
    )


def evaluate_check(
    check: Check,
    table: pd.DataFrame,
    target: pd.Series,
    truths: Mapping[str, pd.DataFrame],
    label: str,
) -> CheckOutcome:
    """Apply one check to an estimates table: its rule, the alternative it must exclude, the truth it must cover."""
    row = _select_row(table, check, label)
    interval = _interval(row, check)
    value, lo, hi = interval
    ratio = str(row.get("scale", "")) in RATIO_SCALES and check.value == "estimate"
    null = 1.0 if ratio else 0.0
    passed, reason = _apply_rule(check, row, target, interval, null)
    published = _published(check, target)
    reasons = [reason]
    alternative = math.nan
    if check.rule in ("published_in_ci", "ci_includes_null"):
        default = None if check.rule == "ci_includes_null" else str(target.get("alternative", ""))
        alt_spec = check.alternative if check.alternative is not None else default
        alternative = alternative_value(alt_spec, published, ratio)
    uninformative = passed and not math.isnan(alternative) and lo <= alternative <= hi
    if not math.isnan(alternative):
        reasons.append(f"alternative {alternative:.4g} {'also in' if lo <= alternative <= hi else 'outside'} it")
    truth = _truth(check, row, truths, label)
    evidence = _evidence(check, row, truths)
    if not math.isnan(truth):
        covered = lo <= truth <= hi
        passed = passed and covered
        reasons.append(f"synthetic truth {truth:.4g} {'in' if covered else 'OUTSIDE'} our CI")
    status = "fail" if not passed else (UNINFORMATIVE if uninformative else "pass")
    # the published value is reported (and scales the CI width) only where the rule compares with it
    compared = published if check.rule == "published_in_ci" else math.nan
    effect = _distance(compared, null, ratio)
    width = (math.log(hi) - math.log(lo)) if ratio and lo > 0 else hi - lo
    return CheckOutcome(
        status=status,
        reason=f"{check.source} [{row.get('term', '')}|{row.get('stratum', '')}]: {', '.join(reasons)}",
        evidence=evidence,
        lo=lo,
        hi=hi,
        value=value,
        published=compared,
        alternative=alternative,
        width_rel=width / effect if effect > 0 else math.nan,
        null=null,
        truth=truth,
        cohort=str(row.get("cohort", "")),
    )


def _distance(published: float, null: float, ratio: bool) -> float:
    if math.isnan(published) or (ratio and published <= 0):
        return math.nan
    return abs(math.log(published)) if ratio else abs(published - null)


def verdict(statuses: Sequence[str], evidence: str) -> str:
    """A target's verdict from its checks' statuses: any fail -> not recovered/replicated; any uninformative
    -> uninformative; else recovered/replicated."""
    passed, failed = VERDICTS[evidence]
    if any(s == "fail" for s in statuses):
        return failed
    if any(s == UNINFORMATIVE for s in statuses):
        return UNINFORMATIVE
    return passed


def _target_row(
    base: dict[str, Any],
    tm: TargetMapping,
    target: pd.Series,
    estimates: Mapping[tuple[str, str], pd.DataFrame | None],
    truths: Mapping[str, pd.DataFrame],
    section: str,
) -> dict[str, Any]:
    sources = ", ".join(dict.fromkeys(c.source for c in tm.checks))
    missing = [
        f"{c.source_kind} {c.source}" for c in tm.checks if estimates.get((c.source_kind, c.source)) is None
    ]
    if missing:
        return base | {
            "analysis": sources,
            "verdict": MISSING,
            "note": f"no result table for {', '.join(missing)}; the run did not produce it",
        }
    outcomes = [
        evaluate_check(c, estimates[(c.source_kind, c.source)], target, truths, f"{section}.{tm.target_id} check {i}")
        for i, c in enumerate(tm.checks)
    ]
    evidence = SYNTHETIC if any(o.evidence == SYNTHETIC for o in outcomes) else REAL
    first = outcomes[0]
    notes = [f"{o.status}: {o.reason}" for o in outcomes] + ([tm.note] if tm.note else [])
    return base | {
        "evidence": evidence,
        "published_value": first.published,
        "estimate": first.value,
        "conf_low": first.lo,
        "conf_high": first.hi,
        "ci_width_rel": first.width_rel,
        "null_value": first.null,
        "alternative": first.alternative,
        "synthetic_truth": first.truth,
        "cohort": first.cohort,
        "analysis": sources,
        "verdict": verdict([o.status for o in outcomes], evidence),
        "note": "; ".join(notes),
    }


def reproduce(
    targets: pd.DataFrame,
    mapping: Mapping[str, TargetMapping],
    estimates: Mapping[tuple[str, str], pd.DataFrame | None],
    truths: Mapping[str, pd.DataFrame],
    replication: Mapping[str, TargetMapping] | None = None,
) -> pd.DataFrame:
    """Build the reproduction table: one row per target and section that maps it (one row if none does).

    Parameters
    ----------
    targets : DataFrame
        From :func:`load_targets`.
    mapping, replication : mapping
        From :func:`parse_mapping` of the ``reproduction:`` and ``replication:`` sections.
    estimates : mapping
        ``(kind, name) -> tidy estimates`` for every source the mappings read; None when the
        output is missing (the row then says so, and the verdict is "missing output").
    truths : mapping
        Truth tables by cohort (or trait) name; their presence marks a source as synthetic.

    Returns
    -------
    DataFrame
        Columns :data:`REPRODUCTION_COLUMNS`.
    """
    rows = []
    sections = [("reproduction", mapping), ("replication", replication or {})]
    for _, target in targets.iterrows():
        tid = target["target_id"]
        base = {
            "target_id": tid,
            "review_ref": target["review_ref"],
            "evidence": "",
            "statistic": target["statistic"],
            "published": target["value"],
            **{c: math.nan for c in ("published_value", "estimate", "conf_low", "conf_high", "ci_width_rel", "null_value")},
            "alternative": math.nan,
            "synthetic_truth": math.nan,
            "cohort": "",
            "analysis": "",
        }
        mapped = [(name, sec[tid]) for name, sec in sections if tid in sec]
        if not mapped:
            rows.append(base | {"verdict": NOT_CHECKED, "note": "no analysis in this config speaks to it"})
        for name, tm in mapped:
            rows.append(_target_row(base, tm, target, estimates, truths, name))
    return pd.DataFrame(rows, columns=list(REPRODUCTION_COLUMNS))


def scale_panel(statistic: str) -> str:
    """Which kind of statistic a target reports: correlations, ratios, proportions or betas."""
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
    replication_config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read the targets, the mapped estimates and the truth tables, and build the reproduction table.

    Parameters
    ----------
    targets_path : path
        The review targets table.
    mapping_config, replication_config : mapping
        The config's ``reproduction:`` and ``replication:`` sections.
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
    replication = parse_mapping(replication_config, targets, "replication")
    estimates: dict[tuple[str, str], pd.DataFrame | None] = {}
    for kind, names in required_sources(mapping, replication).items():
        for name in names:
            path = estimate_paths.get(f"{kind}:{name}")
            estimates[(kind, name)] = read_table(path) if path and Path(path).exists() else None
    truths = {name: read_table(path) for name, path in truth_paths.items() if Path(path).exists()}
    return reproduce(targets, mapping, estimates, truths, replication)
