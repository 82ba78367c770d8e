"""Small-cell disclosure control: no released count describes fewer than ``min_cell`` people.

One rule for every table the pipeline releases (``docs/disclosure.md``):

- **primary suppression**: a count from 1 to ``min_cell - 1`` (default: fewer than 5 people) is not shown; the
  table shows the marker ``<5`` (:func:`marker`). Zero is shown.
- **complementary suppression**: where a shown total and the shown cells of a partition would give a hidden
  cell back by subtraction, more cells are hidden (the next smallest non-zero cell, repeatedly) until each
  partition with a shown total has at least two hidden cells that together hold at least ``min_cell``
  people. Those cells are shown as ``suppressed``. For a two-way table (strata by levels) both directions
  are checked, with the margins as cells of the other direction, and then the whole system of equations
  is audited: while a hidden cell can be solved for exactly from the shown counts (a chain of equations,
  e.g. through a shown zero), one more cell is hidden (:func:`protect_table`, :func:`determined`). Ranges a
  hidden cell is narrowed to by non-negativity are not audited.
- **minimum n for estimates** (:func:`release`): an estimate from fewer than ``max(min_n, min_cell)`` people
  is withheld (no estimate, interval, p-value or n) with the reason in its note; the analysis type's own
  ``min_n`` applies where its schema has one, ``min_cell`` where it has none, the overall sample included.
- **notes** carry no small count: counts of people, rows or events below ``min_cell`` in a note are
  replaced by the marker (:func:`scrub_note`).

The rule follows the usual terms of cohort data-access agreements (UK Biobank, NHANES restricted data,
the ONS "safe outputs" guidance: no cell below a threshold, no recovery by differencing).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.results import AnalysisResult, Estimate, Exclusion, FlowStep

DEFAULT_MIN_CELL = 5
"""The default threshold (``disclosure.min_cell`` in the config schema has the same default)."""

SUPPRESSED = "suppressed"
"""The text shown for a cell hidden by complementary suppression (its count is ``min_cell`` or more)."""

FLOW_COLUMNS: tuple[str, ...] = ("analysis", "model", "step", "reason", "n", "shown")
"""Columns of ``results/estimates/{analysis}.flow.tsv``."""


def marker(min_cell: int = DEFAULT_MIN_CELL) -> str:
    """The text shown for a count below the threshold: ``<5``."""
    return f"<{min_cell}"


def is_small(count: float | None, min_cell: int = DEFAULT_MIN_CELL) -> bool:
    """Whether a count is released only as the marker (1 to ``min_cell - 1``; zero is shown)."""
    return count is not None and not (isinstance(count, float) and math.isnan(count)) and 0 < count < min_cell


def shown(count: float | None, hidden: bool, min_cell: int = DEFAULT_MIN_CELL) -> str:
    """A count as released: the number, the marker (``<5``) or ``suppressed`` (complementary)."""
    if count is None or (isinstance(count, float) and math.isnan(count)):
        return "NA"
    if not hidden:
        return str(int(count))
    return marker(min_cell) if is_small(count, min_cell) else SUPPRESSED


# ------------------------------------------------------------------------------------- suppression
def complement(values: Sequence[float], hidden: Iterable[int] = (), min_cell: int = DEFAULT_MIN_CELL) -> set[int]:
    """Cells of one partition with a shown total to hide (indices), the primary ones included.

    Starting from the small cells and ``hidden``, the smallest non-zero shown cell is added while fewer
    than two cells are hidden or the hidden cells hold fewer than ``min_cell`` people together.

    Parameters
    ----------
    values : sequence of number
        The cells' counts (they add up to a total that is shown).
    hidden : iterable of int
        Cells already hidden for another reason.
    min_cell : int
    """
    out = {i for i, v in enumerate(values) if is_small(v, min_cell)} | set(hidden)
    _close(values, out, min_cell)
    return out


def _close(values: Sequence[float], hidden: set[int], min_cell: int) -> bool:
    """Add cells to ``hidden`` until the partition is protected; False if it could not be (no cell left)."""
    while hidden and (len(hidden) < 2 or sum(values[i] for i in hidden) < min_cell):
        free = [(values[i], i) for i in range(len(values)) if i not in hidden and values[i] > 0]
        if not free:
            return False
        hidden.add(min(free)[1])
    return True


@dataclass(frozen=True)
class Protection:
    """Which counts of a (strata x cells) table are hidden (:func:`protect_table`).

    Attributes
    ----------
    grand : bool
        The grand total (all people).
    overall : ndarray of bool
        The overall count of each cell (column margins).
    rows : ndarray of bool
        Each stratum's total (row margins).
    cells : ndarray of bool
        Each stratum's count of each cell.
    """

    grand: bool
    overall: np.ndarray
    rows: np.ndarray
    cells: np.ndarray


def protect_table(
    overall: Sequence[int] | np.ndarray,
    strata: np.ndarray | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
    hidden_rows: Iterable[int] = (),
) -> Protection:
    """Primary and complementary suppression in a table of counts with its margins.

    Parameters
    ----------
    overall : sequence of int
        The overall count of each cell of one variable (its levels, and the missing), adding up to the
        grand total.
    strata : 2-D array, optional
        One row per stratum (the same cells); the rows add up to ``overall``. Include a row for people in no
        stratum (a missing grouping value) even if it is not shown: it is known by subtraction.
    min_cell : int
    hidden_rows : iterable of int
        Strata whose totals are already hidden (e.g. by another variable's table).

    Returns
    -------
    Protection
        Every equation (each row and column adds up to its margin, the margins to the grand total) whose
        total is shown has either no hidden cell, or at least two hidden cells holding ``min_cell`` people.
    """
    c = np.asarray(overall, dtype=np.int64)
    s = np.zeros((0, len(c)), np.int64) if strata is None else np.asarray(strata, dtype=np.int64).reshape(-1, len(c))
    # one flat vector: [grand, overall cells (C), row totals (R), cells (R x C)]
    n_c, n_r = len(c), s.shape[0]
    values = np.concatenate([[c.sum()], c, s.sum(axis=1), s.ravel()]).astype(float)
    hidden = {i for i, v in enumerate(values) if is_small(v, min_cell)}
    hidden |= {1 + n_c + r for r in hidden_rows}
    col, row = 1, 1 + n_c

    def cell(r: int, j: int) -> int:
        return 1 + n_c + n_r + r * n_c + j

    equations: list[tuple[int, list[int]]] = [(0, [col + j for j in range(n_c)])]
    if n_r:
        equations.append((0, [row + r for r in range(n_r)]))
        equations += [(row + r, [cell(r, j) for j in range(n_c)]) for r in range(n_r)]
        equations += [(col + j, [cell(r, j) for r in range(n_r)]) for j in range(n_c)]
    changed = True
    while changed:
        changed = False
        for total, members in equations:
            if total in hidden:
                continue
            local = {k for k, m in enumerate(members) if m in hidden}
            if not local:
                continue
            before = len(local)
            vals = [values[m] for m in members]
            ok = _close(vals, local, min_cell)
            if len(local) > before:
                hidden |= {members[k] for k in local}
                changed = True
            if not ok and values[total] > 0:
                hidden.add(total)  # nothing left to hide with the cell: hide the total instead
                changed = True
    _audit(values, equations, hidden)
    flags = np.zeros(len(values), bool)
    flags[list(hidden)] = True
    return Protection(
        grand=bool(flags[0]),
        overall=flags[col : col + n_c],
        rows=flags[row : row + n_r],
        cells=flags[row + n_r :].reshape(n_r, n_c),
    )


def determined(values: np.ndarray, equations: Sequence[tuple[int, Sequence[int]]], hidden: set[int]) -> set[int]:
    """Hidden cells whose value follows exactly from the shown ones through the equations (each
    ``(total, parts)``: the total is the sum of the parts).

    A hidden cell is determined iff every solution of the homogeneous system restricted to the hidden
    cells leaves it at zero: its row of the null-space basis is zero (non-negativity, which can narrow a
    hidden cell to a range, is not used).
    """
    order = sorted(hidden)
    if not order:
        return set()
    col = {k: j for j, k in enumerate(order)}
    a = np.zeros((len(equations), len(order)))
    for i, (total, parts) in enumerate(equations):
        for k in parts:
            if k in col:
                a[i, col[k]] += 1.0
        if total in col:
            a[i, col[total]] -= 1.0
    a = a[np.abs(a).sum(axis=1) > 0]
    if not len(a):
        return set()
    _, sv, vt = np.linalg.svd(a)
    rank = int((sv > 1e-9 * max(1.0, sv[0])).sum())
    null = vt[rank:].T  # hidden x (hidden - rank)
    if null.shape[1] == 0:
        return set(order)
    return {k for k in order if np.linalg.norm(null[col[k]]) < 1e-9}


def _audit(values: np.ndarray, equations: Sequence[tuple[int, Sequence[int]]], hidden: set[int]) -> None:
    """Hide more cells while a hidden non-zero cell can be solved for exactly (chains of equations)."""
    while True:
        exact = sorted(k for k in determined(values, equations, hidden) if values[k] > 0)
        if not exact:
            return
        k = exact[0]
        members = {m for total, parts in equations if k == total or k in parts for m in (total, *parts)}
        free = sorted((values[m] <= 0, values[m], m) for m in members if m not in hidden)
        if not free:  # every neighbour is hidden: widen to any shown cell
            free = sorted((values[m] <= 0, values[m], m) for m in range(len(values)) if m not in hidden)
        if not free:
            return
        hidden.add(free[0][2])


# ------------------------------------------------------------------------------------------- notes
_PEOPLE_WORDS = (
    r"people|persons|participants|individuals|subjects|rows|observations|complete rows|complete pairs|"
    r"complete cases|cases|controls|events|deaths|visits"
)
# a number before a noun that counts people ("3 people", "2 rows"), not a label ("wave 2 ...", "model 4 ...")
_COUNT_BEFORE = re.compile(
    rf"(?<![\w.\-])(?<!wave )(?<!waves )(?<!model )(?<!step )(\d+)(\s+(?:{_PEOPLE_WORDS})\b)", re.IGNORECASE
)
# a number that opens a clause before "excluded"/"missing" ("3 excluded for missing change")
_COUNT_CLAUSE = re.compile(r"((?:^|[;,(:]\s*))(\d+)(\s+(?:excluded|missing|dropped|removed)\b)", re.IGNORECASE)
_N_EQUALS = re.compile(r"(\bn\s*=\s*)(\d+)\b", re.IGNORECASE)


def scrub_note(note: str | None, min_cell: int = DEFAULT_MIN_CELL) -> str | None:
    """A note with each count of people, rows or events below ``min_cell`` replaced by the marker.

    Counts are recognised as ``n = 3``, ``n=3``, a number followed by a noun that counts people
    (``3 people``, ``2 rows``, ``4 complete pairs``, ...; not after ``wave``, ``model``, ``step``) and a
    number opening a clause before ``excluded``/``missing`` (``; 3 excluded for missing change``).
    """
    if not note:
        return note
    m = marker(min_cell)

    def before(match: re.Match[str]) -> str:
        return (m if is_small(int(match.group(1)), min_cell) else match.group(1)) + match.group(2)

    def equals(match: re.Match[str]) -> str:
        return match.group(1) + (m if is_small(int(match.group(2)), min_cell) else match.group(2))

    def clause(match: re.Match[str]) -> str:
        count = m if is_small(int(match.group(2)), min_cell) else match.group(2)
        return match.group(1) + count + match.group(3)

    return _N_EQUALS.sub(equals, _COUNT_CLAUSE.sub(clause, _COUNT_BEFORE.sub(before, note)))


# ------------------------------------------------------------------------------------- estimates
def _join(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)


def _withhold(e: Estimate, reason: str) -> Estimate:
    """An estimate with every number removed and the reason as its note."""
    nan_or_none = {f: (None if getattr(e, f) is None else math.nan) for f in ("statistic", "df", "p_fdr")}
    return e.replace(
        estimate=math.nan,
        std_error=math.nan,
        conf_low=math.nan,
        conf_high=math.nan,
        p_value=math.nan,
        n=None,
        n_events=None,
        note=reason,
        **nan_or_none,
    )


def _model_label(e: Estimate) -> str:
    return " | ".join(x for x in (e.outcome, e.term, e.stratum, e.method) if x)


def _family(e: Estimate) -> Hashable:
    """Rows that differ only by stratum (their n add up to the overall row's n)."""
    return (e.method, e.outcome, e.exposure, e.term, e.scale, tuple(sorted((k, str(v)) for k, v in e.extra.items())))


@dataclass(frozen=True)
class ReleaseRule:
    """The thresholds of one analysis.

    Attributes
    ----------
    min_cell : int
        Counts below it are shown as the marker.
    min_n : int or None
        The analysis type's own minimum (its schema's ``min_n``), if it has one.
    """

    min_cell: int = DEFAULT_MIN_CELL
    min_n: int | None = None

    @property
    def threshold(self) -> int:
        """Fewest people for an estimate: ``max(min_n, min_cell)``."""
        return max(self.min_n or 0, self.min_cell)

    def reason(self) -> str:
        """The note of a withheld estimate."""
        which = f"min_n = {self.min_n}, " if self.min_n is not None else ""
        return f"withheld: fewer than {self.threshold} people ({which}small-cell threshold {self.min_cell})"


def _release_estimate(
    e: Estimate, rule: ReleaseRule, too_few: bool, people: int | None
) -> tuple[Estimate, FlowStep | None]:
    """One estimate as released, and the flow step of its withholding (if withheld)."""
    if e.scale == "count":  # a count of rows (an exclusion step): shown unless small
        small = is_small(e.estimate, rule.min_cell)
        count_note = scrub_note(e.note, rule.min_cell)
        if small:
            count_note = _join(count_note, f"count {marker(rule.min_cell)} suppressed")
        n = None if is_small(e.n, rule.min_cell) else e.n
        return e.replace(estimate=math.nan if small else e.estimate, n=n, note=count_note), None
    if e.scale == "withheld":
        return e, FlowStep("(all)", "withheld (min_n)", e.note or rule.reason(), people or 0)
    if too_few or (e.n is not None and e.n < rule.threshold):
        reason = _join(rule.reason(), scrub_note(e.note, rule.min_cell))
        return _withhold(e, reason), FlowStep(_model_label(e), "withheld (min_n)", rule.reason(), e.n)
    note = scrub_note(e.note, rule.min_cell)
    if e.n_events is not None and (
        is_small(e.n_events, rule.min_cell) or (e.n is not None and is_small(e.n - e.n_events, rule.min_cell))
    ):
        why = f"events suppressed (fewer than {rule.min_cell} with or without the event)"
        return e.replace(n_events=None, note=_join(note, why)), None
    return e.replace(note=note), None


def _complement_strata(estimates: list[Estimate], original: Sequence[Estimate], rule: ReleaseRule) -> list[Estimate]:
    """Hide the n of more strata where the overall n and the other strata's n would give a hidden n back."""
    families: dict[Hashable, list[int]] = {}
    for i, e in enumerate(original):
        families.setdefault(_family(e), []).append(i)
    out = list(estimates)
    for idx in families.values():
        overall = [i for i in idx if original[i].stratum == "overall" and out[i].n is not None]
        parts = [i for i in idx if original[i].stratum != "overall" and original[i].n is not None]
        if not overall or not parts:
            continue
        hidden = {k for k, i in enumerate(parts) if out[i].n is None}
        if not hidden:
            continue
        more = complement([float(original[i].n or 0) for i in parts], hidden, rule.min_cell) - hidden
        for k in more:
            i = parts[k]
            out[i] = out[i].replace(n=None, note=_join(out[i].note, "n suppressed (another stratum's n is small)"))
    return out


def release(
    result: AnalysisResult,
    rule: ReleaseRule,
    *,
    people: int | None,
    preparation: Sequence[Exclusion] = (),
    n_cohort: int | None = None,
) -> AnalysisResult:
    """An analysis result as it may be released: the min_n rule, small counts and notes, and its flow.

    Parameters
    ----------
    result : AnalysisResult
        As the fitting function returned it.
    rule : ReleaseRule
    people : int or None
        People in the analysed table (after ``keep_if``); below the threshold, no estimate is released.
        None where the rows are not people (study summaries): each estimate's own ``n`` decides.
    preparation : sequence of Exclusion
        Rows the run left out before the fit (``keep_if``), for the flow.
    n_cohort : int, optional
        Rows of the cohort table before them.

    Returns
    -------
    AnalysisResult
        The same result with released estimates and ``flow`` filled (:func:`flow_table` shows it).
    """
    too_few = people is not None and people < rule.threshold
    released: list[Estimate] = []
    withheld: list[FlowStep] = []
    for e in result.estimates:
        r, step = _release_estimate(e, rule, too_few, people)
        released.append(r)
        if step is not None and step not in withheld:
            withheld.append(step)
    released = _complement_strata(released, result.estimates, rule)
    flow = _flow_steps(result, preparation, n_cohort, people) + withheld
    return dataclasses.replace(result, estimates=tuple(released), flow=tuple(flow))


def _flow_steps(
    result: AnalysisResult, preparation: Sequence[Exclusion], n_cohort: int | None, people: int | None
) -> list[FlowStep]:
    """The exclusion counts of one analysis: the run's filters, each preparation step and each fit."""
    steps: list[FlowStep] = []
    if n_cohort is not None:
        steps.append(FlowStep("(all)", "cohort", "rows of the cohort table", n_cohort))
    steps += [FlowStep("(all)", x.step, x.reason, x.n_excluded) for x in preparation]
    if n_cohort is not None:
        n_in = n_cohort - sum(x.n_excluded for x in preparation)
        who = f"{people} people" if people is not None else "study rows, not people"
        steps.append(FlowStep("(all)", "analysed table", f"rows after the analysis's filters ({who})", n_in))
    for e in result.estimates:
        if e.scale == "count" and e.term.startswith("excluded ("):
            step = FlowStep(" | ".join(x for x in (e.outcome, e.method) if x), e.term, e.note or "", int(e.estimate))
            if step not in steps:
                steps.append(step)
    for key, fit in result.fits.items():
        d = fit.diagnostics
        steps += [FlowStep(key, "complete cases", f"excluded: {why}", int(k)) for why, k in d.exclusions.items()]
        steps.append(FlowStep(key, "analysed", "rows used by the fit", int(d.n)))
        if d.n_groups is not None:
            steps.append(FlowStep(key, "analysed", "people (clusters) in the fit", int(d.n_groups)))
    return steps


def flow_table(result: AnalysisResult, min_cell: int = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """The released flow table of one analysis (``results/estimates/{analysis}.flow.tsv``).

    One row per step: ``analysis, model, step, reason, n, shown``. ``n`` is empty where the count is
    suppressed and ``shown`` gives the count as released (the number, ``<5`` or ``suppressed``). Within
    each model, the exclusions and the rows analysed add up to the rows the model started from; that
    partition is protected by :func:`complement` (and so are the run's filters, whose total is the cohort).
    """
    steps = list(result.flow)
    hidden = {i for i, s in enumerate(steps) if is_small(s.n, min_cell)}
    partitions: dict[str, list[int]] = {}
    for i, s in enumerate(steps):
        parts = s.step == "complete cases" or (s.step == "analysed" and s.reason == "rows used by the fit")
        parts = parts or (s.model == "(all)" and s.step not in ("cohort",))
        if parts and s.n is not None:
            partitions.setdefault(s.model, []).append(i)
    for idx in partitions.values():
        local = {k for k, i in enumerate(idx) if i in hidden}
        if local:
            hidden |= {idx[k] for k in complement([float(steps[i].n or 0) for i in idx], local, min_cell)}
    rows: list[dict[str, Any]] = [
        {
            "analysis": result.analysis,
            "model": s.model,
            "step": s.step,
            "reason": scrub_note(s.reason, min_cell),
            "n": None if i in hidden or s.n is None else s.n,
            "shown": shown(s.n, i in hidden, min_cell),
        }
        for i, s in enumerate(steps)
    ]
    out = pd.DataFrame(rows, columns=list(FLOW_COLUMNS))
    out["n"] = pd.array(out["n"], dtype="Int64")
    return out


def withheld_result(entry: Mapping[str, Any], context: Any, rule: ReleaseRule) -> AnalysisResult:
    """The result of an analysis whose whole sample is below the threshold: one row, scale ``withheld``,
    with the reason (nothing is fitted).

    Parameters
    ----------
    entry : mapping
        The analysis's config entry (its outcome and exposure label the row).
    context : RunContext
    rule : ReleaseRule
    """

    def names(one: str, many: str) -> str:
        value = entry.get(one) or entry.get(many) or ""
        return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)

    row = Estimate.missing(
        "(all estimates)",
        "withheld",
        rule.reason(),
        method=str(entry.get("type", "")),
        outcome=names("outcome", "outcomes"),
        exposure=names("exposure", "exposures") or names("group", "groups"),
    )
    return AnalysisResult(
        analysis=context.analysis, cohort=context.cohort, estimates=(row,), title=f"{context.analysis}: withheld"
    )


def min_cell_of(config: Mapping[str, Any]) -> int:
    """The configured threshold (``disclosure.min_cell``; default :data:`DEFAULT_MIN_CELL`)."""
    return int((config.get("disclosure") or {}).get("min_cell", DEFAULT_MIN_CELL))
