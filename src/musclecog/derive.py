"""Derived variables: muscle indices, sex-specific low muscle mass / low grip flags, age groups,
per-SD z-scores and change scores.

Two kinds of derivation:

* **row-wise** (:data:`ROW_DERIVATIONS`) — derived automatically whenever the input columns are
  present and the target column is not (a cohort that already has ``alm_bmi`` keeps its own):

  ============================ ===================================== ==========================================
  column                       from                                  definition / source
  ============================ ===================================== ==========================================
  ``grip_best_kg``             ``grip_trial_*``                      best (maximum) single trial of any hand
  ``alm_bmi``                  ``alm_kg``, ``bmi``                   ALM / BMI (m²)
  ``alm_height2``              ``alm_kg``, ``height_cm``             ALM / height² (kg/m²)
  ``low_mm_fnih_alm``          ``alm_kg``, ``sex``                   < 19.75 kg men, < 15.02 kg women (FNIH;
                                                                     Studenski et al. 2014)
  ``low_mm_fnih_alm_bmi``      ``alm_bmi``, ``sex``                  < 0.789 men, < 0.512 women (FNIH)
  ``low_mm_awgs``              ``alm_height2``, ``sex``              < 7.0 men, < 5.4 women kg/m² (AWGS 2019,
                                                                     DXA; Chen et al. 2020)
  ``low_grip_ewgsop2``         ``grip_best_kg`` (else ``grip_kg``),  < 27 kg men, < 16 kg women (EWGSOP2;
                               ``sex``                               Cruz-Jentoft et al. 2019)
  ``age_group``                ``age``                               <60, 60-69, 70-79, 80+
  ``cerad_learning``           ``cerad_trial_1`` .. ``_3``           sum of the three CERAD word-learning trials
  ============================ ===================================== ==========================================

  A flag is missing where any input is missing.

* **sample-wise**, only on request in the cohort's ``derive:`` list (computed after the cohort's
  row filters, on the analysis sample): ``{zscore: [cols]}`` adds ``<col>_z`` = (x − mean) / SD
  (SD with ddof = 1, over all rows; over baseline rows if the table has ``wave``: in long tables a
  z-score is per baseline SD), ``{change: [cols]}`` adds ``<col>_change`` = value − value at the
  first wave of the same ``id`` (needs ``id`` and ``wave``). A row-wise name in ``derive:`` (e.g.
  ``- low_grip_ewgsop2``) makes its inputs required: a missing input is then an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog import expr as expr_mod
from musclecog.errors import ConfigError, DataError
from musclecog.filters import flow_row

CUTOFFS: dict[str, dict[str, float]] = {
    # Studenski SA et al. The FNIH sarcopenia project. J Gerontol A 2014;69:547-58. doi:10.1093/gerona/glu010
    "low_mm_fnih_alm": {"male": 19.75, "female": 15.02},
    "low_mm_fnih_alm_bmi": {"male": 0.789, "female": 0.512},
    # Chen LK et al. AWGS 2019 consensus. JAMDA 2020;21:300-7. doi:10.1016/j.jamda.2019.12.012 (DXA)
    "low_mm_awgs": {"male": 7.0, "female": 5.4},
    # Cruz-Jentoft AJ et al. EWGSOP2. Age Ageing 2019;48:16-31. doi:10.1093/ageing/afy169
    "low_grip_ewgsop2": {"male": 27.0, "female": 16.0},
}
"""Sex-specific cut-offs: a value strictly below the cut-off is flagged 1."""

CERAD_TRIALS: tuple[str, ...] = ("cerad_trial_1", "cerad_trial_2", "cerad_trial_3")
"""The three immediate-recall trials of the CERAD word list (0-10 words each)."""
AGE_GROUP_EDGES: tuple[float, ...] = (60.0, 70.0, 80.0)
AGE_GROUP_LABELS: tuple[str, ...] = ("<60", "60-69", "70-79", "80+")


def below_sex_cutoff(values: pd.Series, sex: pd.Series, cutoffs: Mapping[str, float]) -> pd.Series:
    """1 where ``values`` is below the cut-off of the person's sex, 0 above, missing if either is missing.

    Parameters
    ----------
    values : Series
        The measure (e.g. best grip in kg).
    sex : Series
        ``"male"`` / ``"female"``.
    cutoffs : mapping
        ``{"male": c_m, "female": c_f}``.

    Returns
    -------
    Series of dtype ``Int8``.
    """
    cut = sex.map(dict(cutoffs)).astype(float)
    v = pd.to_numeric(values, errors="coerce").astype(float)
    flag = (v < cut).astype("Int8")
    flag[v.isna() | cut.isna()] = pd.NA
    return flag


def age_group(age: pd.Series) -> pd.Series:
    """Age groups ``<60, 60-69, 70-79, 80+`` (categorical, missing where age is missing)."""
    a = pd.to_numeric(age, errors="coerce").to_numpy(float)
    idx = np.searchsorted(np.asarray(AGE_GROUP_EDGES), a, side="right")
    labels = np.asarray(AGE_GROUP_LABELS, dtype=object)[np.minimum(idx, len(AGE_GROUP_LABELS) - 1)]
    labels[np.isnan(a)] = None
    return pd.Series(pd.Categorical(labels, categories=list(AGE_GROUP_LABELS)), index=age.index)


def _grip_trials(df: pd.DataFrame) -> list[str]:
    return sorted(c for c in df.columns if c.startswith("grip_trial_"))


def _best_grip(df: pd.DataFrame) -> pd.Series:
    trials = _grip_trials(df)
    return df[trials].apply(pd.to_numeric, errors="coerce").max(axis=1, skipna=True)


def _grip_for_ewgsop2(df: pd.DataFrame) -> pd.Series:
    return df["grip_best_kg"] if "grip_best_kg" in df.columns else df["grip_kg"]


@dataclass(frozen=True)
class RowDerivation:
    """A row-wise derived column: its inputs (alternatives allowed) and how to compute it."""

    name: str
    requires: tuple[tuple[str, ...], ...]  # each inner tuple: any one of these columns suffices
    compute: Callable[[pd.DataFrame], pd.Series]
    description: str

    def available(self, columns: Sequence[str] | pd.Index) -> bool:
        """Whether the table has the inputs."""
        cols = set(columns)
        return all(any(c in cols for c in alts) for alts in self.requires)

    def inputs_available(self, df: pd.DataFrame) -> bool:
        """Like :meth:`available`; ``grip_trial_*`` columns count for ``grip_trial_*``."""
        cols = set(df.columns) | ({"grip_trial_*"} if _grip_trials(df) else set())
        return self.available(list(cols))


ROW_DERIVATIONS: dict[str, RowDerivation] = {
    d.name: d
    for d in (
        RowDerivation("grip_best_kg", (("grip_trial_*",),), _best_grip, "best single grip trial (max of grip_trial_*)"),
        RowDerivation("alm_bmi", (("alm_kg",), ("bmi",)), lambda d: d["alm_kg"] / d["bmi"], "ALM / BMI"),
        RowDerivation(
            "alm_height2",
            (("alm_kg",), ("height_cm",)),
            lambda d: d["alm_kg"] / (d["height_cm"] / 100.0) ** 2,
            "ALM / height^2",
        ),
        RowDerivation(
            "low_mm_fnih_alm",
            (("alm_kg",), ("sex",)),
            lambda d: below_sex_cutoff(d["alm_kg"], d["sex"], CUTOFFS["low_mm_fnih_alm"]),
            "FNIH low ALM",
        ),
        RowDerivation(
            "low_mm_fnih_alm_bmi",
            (("alm_bmi",), ("sex",)),
            lambda d: below_sex_cutoff(d["alm_bmi"], d["sex"], CUTOFFS["low_mm_fnih_alm_bmi"]),
            "FNIH low ALM/BMI",
        ),
        RowDerivation(
            "low_mm_awgs",
            (("alm_height2",), ("sex",)),
            lambda d: below_sex_cutoff(d["alm_height2"], d["sex"], CUTOFFS["low_mm_awgs"]),
            "AWGS low ALM/height^2",
        ),
        RowDerivation(
            "low_grip_ewgsop2",
            (("grip_best_kg", "grip_kg"), ("sex",)),
            lambda d: below_sex_cutoff(_grip_for_ewgsop2(d), d["sex"], CUTOFFS["low_grip_ewgsop2"]),
            "EWGSOP2 low grip (best single trial where available, else grip_kg)",
        ),
        RowDerivation("age_group", (("age",),), lambda d: age_group(d["age"]), "age group"),
        RowDerivation(
            "cerad_learning",
            tuple((c,) for c in CERAD_TRIALS),
            lambda d: d[list(CERAD_TRIALS)].sum(axis=1, skipna=False),
            "CERAD word learning: sum of the three trials (missing if any trial is)",
        ),
    )
}
"""Row-wise derivations in dependency order (later ones may use earlier ones)."""

SAMPLE_DERIVATIONS: tuple[str, ...] = ("zscore", "change")

STAGES: tuple[str, ...] = ("before_keep_if", "after_keep_if")
"""When a derivation runs: on every row of the joined table, or on the rows the cohort's ``keep_if`` kept."""

_HAND = re.compile(r"^grip_trial_h(\d+)")


@dataclass(frozen=True)
class ExpressionDerivation:
    """One ``{name, expr, when}`` entry of ``derive:``: a column computed by the expression language."""

    name: str
    expression: expr_mod.Expression
    stage: str  # one of STAGES


@dataclass(frozen=True)
class Requests:
    """The cohort's ``derive:`` list, parsed: row-wise names, sample-wise lists and expressions, in order."""

    row: frozenset[str]
    steps: tuple[tuple[str, Any], ...]  # ("zscore"|"change", [cols]) or ("expr", ExpressionDerivation)

    @property
    def expressions(self) -> list[ExpressionDerivation]:
        """The expression entries, in order."""
        return [d for kind, d in self.steps if kind == "expr"]


@dataclass
class Derived:
    """What a derivation stage did: the table, the columns it added and its flow rows."""

    data: pd.DataFrame
    added: list[str]
    flow: list[dict[str, Any]]


_ENTRY_KEYS = {"name", "expr", "when"}


def parse_requests(requests: Sequence[str | Mapping[str, Any]] | None, where: str) -> Requests:
    """Parse the ``derive:`` list (names, ``{zscore: ...}``, ``{change: ...}``, ``{name, expr, when}``).

    ``when: auto`` (the default) runs an expression after ``keep_if`` if it calls ``zscore`` or
    ``quantile_group`` (statistics of the analysis sample) or reads a column made after ``keep_if``;
    otherwise before, so that ``keep_if`` may filter on it.

    Raises
    ------
    ConfigError
        An unknown derived name, a malformed entry, a duplicate name, an expression outside the language.
    """
    row: set[str] = set()
    steps: list[tuple[str, Any]] = []
    names: dict[str, int] = {}
    late: set[str] = set()  # columns made after keep_if
    for i, req in enumerate(requests or []):
        key = f"{where}[{i}]"
        if isinstance(req, str):
            if req not in ROW_DERIVATIONS:
                raise ConfigError(
                    f"config: '{key}' is {req!r}, not a derived variable. Known: "
                    f"{', '.join(ROW_DERIVATIONS)}; or {{zscore: [columns]}}, {{change: [columns]}}, "
                    "{name: <new column>, expr: <expression>}."
                )
            row.add(req)
            continue
        if isinstance(req, Mapping) and "expr" in req:
            steps.append(("expr", _expression_entry(req, key, names, late, i)))
            continue
        if not isinstance(req, Mapping) or len(req) != 1 or next(iter(req)) not in SAMPLE_DERIVATIONS:
            raise ConfigError(
                f"config: '{key}' is {req!r}; write a derived variable name or one of "
                "{zscore: [columns]}, {change: [columns]}, {name: <new column>, expr: <expression>}."
            )
        kind, cols = next(iter(req.items()))
        cols = [cols] if isinstance(cols, str) else list(cols)
        late.update(f"{c}_{'z' if kind == 'zscore' else 'change'}" for c in cols)
        steps.append((kind, cols))
    return Requests(frozenset(row), tuple(steps))


def _expression_entry(req: Mapping[str, Any], key: str, names: dict[str, int], late: set[str],
                      i: int) -> ExpressionDerivation:
    extra = sorted(set(req) - _ENTRY_KEYS)
    if extra or "name" not in req:
        raise ConfigError(
            f"config: '{key}' is {dict(req)!r}; an expression entry has the keys name, expr and (optionally) "
            f"when" + (f", not {extra}" if extra else "; 'name' is missing") + "."
        )
    name = req["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.startswith("__"):
        raise ConfigError(f"config: '{key}.name' is {name!r}; a column name of letters, digits and '_'.")
    if name in expr_mod.FUNCTIONS or name in expr_mod.CONSTANTS or name in ("id", "wave"):
        raise ConfigError(f"config: '{key}.name' is {name!r}, a reserved name (a function, a constant, id or wave).")
    if name in names:
        raise ConfigError(f"config: '{key}.name' {name!r} is already derived by '{key.rsplit('[', 1)[0]}[{names[name]}]'.")
    names[name] = i
    expression = expr_mod.parse(req["expr"], f"{key}.expr")
    when = req.get("when", "auto")
    if when not in ("auto", *STAGES):
        raise ConfigError(f"config: '{key}.when' is {when!r}; one of auto, before_keep_if, after_keep_if.")
    reads_late = sorted(set(expression.columns) & late)
    if when == "auto":
        when = "after_keep_if" if expression.stage == "sample" or reads_late else "before_keep_if"
    elif when == "before_keep_if" and reads_late:
        raise ConfigError(
            f"config: '{key}' runs before keep_if but reads {reads_late}, made after keep_if. "
            "Set when: after_keep_if (or auto)."
        )
    if when == "after_keep_if":
        late.add(name)
    return ExpressionDerivation(name, expression, when)


def _grip_best_flow(df: pd.DataFrame) -> dict[str, Any]:
    """How many rows the best grip took from fewer than all trials (and from one hand only)."""
    trials = _grip_trials(df)
    present = df[trials].notna().to_numpy()
    n_present = present.sum(axis=1)
    partial = int(((n_present > 0) & (n_present < len(trials))).sum())
    none = int((n_present == 0).sum())
    hands: dict[str, list[int]] = {}
    for j, c in enumerate(trials):
        m = _HAND.match(c)
        if m:
            hands.setdefault(m.group(1), []).append(j)
    one_hand = ""
    if len(hands) >= 2 and sum(len(v) for v in hands.values()) == len(trials):
        per_hand = np.column_stack([present[:, idx].any(axis=1) for idx in hands.values()])
        n_one = int((per_hand.sum(axis=1) == 1).sum())
        one_hand = f" ({n_one} of them from one hand only)"
    return flow_row(
        "derive grip_best_kg", len(df), len(df),
        f"rows kept; grip_best_kg = max of {len(trials)} trials ({', '.join(trials)}): {partial} rows from "
        f"fewer than all trials{one_hand}, {none} rows missing (no trial). For a rule on missing trials, "
        "derive it yourself, e.g. {name: grip_kg, expr: 'max(grip_left, grip_right, min_present=2)'}",
    )


def _builtins(out: pd.DataFrame, wanted: set[str], skip: set[str], where: str, strict: bool) -> Derived:
    added: list[str] = []
    flow: list[dict[str, Any]] = []
    for name, d in ROW_DERIVATIONS.items():
        if name in out.columns or name in skip:
            continue
        if not d.inputs_available(out):
            if name in wanted and strict:
                need = " and ".join(" or ".join(alts) for alts in d.requires)
                raise ConfigError(
                    f"config: '{where}' asks for {name!r} ({d.description}), which needs {need}; "
                    f"the table has {', '.join(map(str, out.columns))}. Map the input columns or drop the request."
                )
            continue
        out[name] = d.compute(out)
        added.append(name)
        if name == "grip_best_kg":
            flow.append(_grip_best_flow(out))
    return Derived(out, added, flow)


def _expression_flow(d: ExpressionDerivation, data: pd.DataFrame, value: expr_mod.Value) -> dict[str, Any]:
    total, new = expr_mod.describe_missing(d.expression, data, value)
    return flow_row(
        f"derive {d.name}", len(data), len(data),
        f"rows kept; {d.name} = {d.expression.text}: missing in {total} rows ({total - new} where an input "
        f"was missing, {new} newly missing: inputs present but no value, e.g. log of 0, a wave not observed, "
        "a value outside cut's breaks, fewer than min_present values)" + "".join(f"; {n}" for n in value.notes),
    )


def _run_expression(out: pd.DataFrame, d: ExpressionDerivation) -> dict[str, Any]:
    if d.name in out.columns:
        raise ConfigError(
            f"config: '{d.expression.where.rsplit('.', 1)[0]}.name' is {d.name!r}, which the table already has. "
            "Give the derived column a new name (a config never overwrites data)."
        )
    value = expr_mod.evaluate(d.expression, out)
    row = _expression_flow(d, out, value)
    out[d.name] = value.to_series(out.index, d.name)
    return row


def derive_before_keep_if(df: pd.DataFrame, requests: Sequence[str | Mapping[str, Any]] | None = None,
                          where: str = "derive", copy: bool = True) -> Derived:
    """The row-wise built-ins and the expressions that run before ``keep_if``, with their flow rows.

    Built-ins whose inputs are present are derived first (except a name an expression defines), then the
    expressions in order, then the built-ins their results made possible (e.g. ``age_group`` from an
    ``age`` expression).
    """
    parsed = parse_requests(requests, where)
    out = df.copy() if copy else df
    exprs = [d for d in parsed.expressions if d.stage == "before_keep_if"]
    targets = {d.name for d in parsed.expressions}
    first = _builtins(out, set(parsed.row), targets, where, strict=False)
    flow = list(first.flow)
    added = list(first.added)
    for d in exprs:
        flow.append(_run_expression(out, d))
        added.append(d.name)
    second = _builtins(out, set(parsed.row), targets, where, strict=True)
    return Derived(out, added + second.added, flow + second.flow)


def derive_after_keep_if(df: pd.DataFrame, requests: Sequence[str | Mapping[str, Any]] | None,
                         where: str = "derive", copy: bool = True) -> Derived:
    """The z-scores, change scores and expressions that run after ``keep_if``, in the order listed."""
    parsed = parse_requests(requests, where)
    steps = [(k, v) for k, v in parsed.steps if k != "expr" or v.stage == "after_keep_if"]
    if not steps:
        return Derived(df, [], [])
    out = df.copy() if copy else df
    added: list[str] = []
    flow: list[dict[str, Any]] = []
    for kind, spec in steps:
        if kind == "expr":
            flow.append(_run_expression(out, spec))
            added.append(spec.name)
        else:
            added += _sample_step(out, kind, spec, where)
    return Derived(out, added, flow)


def derive_rowwise(
    df: pd.DataFrame,
    requests: Sequence[str | Mapping[str, Any]] | None = None,
    where: str = "derive",
    copy: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Add every row-wise derived column the table's columns allow (and the before-``keep_if`` expressions).

    Parameters
    ----------
    df : DataFrame
        Canonical column names; ``sex`` as ``"male"/"female"``.
    requests : list, optional
        The cohort's ``derive:`` list; row-wise names there must be derivable.
    where : str
        Config key path, for messages.
    copy : bool
        Work on a copy (default) or add the columns to ``df`` itself.

    Returns
    -------
    (DataFrame, list of str)
        The table with the new columns, and the names added (:func:`derive_before_keep_if` also
        returns the flow rows).
    """
    done = derive_before_keep_if(df, requests, where, copy)
    return done.data, done.added


def zscore(values: pd.Series, reference: pd.Series | None = None) -> pd.Series:
    """Per-SD z-score: (x − mean) / SD of ``reference`` (default ``values``), SD with ddof = 1."""
    ref = pd.to_numeric(values if reference is None else reference, errors="coerce").astype(float)
    sd = ref.std(ddof=1)
    if not np.isfinite(sd) or sd == 0:
        raise DataError(
            f"cannot z-score '{values.name}': its SD is {sd} over {int(ref.notna().sum())} non-missing rows. "
            "Check the column or drop it from the derive list."
        )
    return (pd.to_numeric(values, errors="coerce").astype(float) - ref.mean()) / sd


def change_from_baseline(df: pd.DataFrame, column: str) -> pd.Series:
    """Value minus the value at the first wave of the same ``id`` (missing if that is missing)."""
    first_wave = df.groupby("id", sort=False)["wave"].transform("min")
    base = pd.to_numeric(df[column], errors="coerce").where(df["wave"] == first_wave)
    base = base.groupby(df["id"], sort=False).transform("max")  # one baseline row per id (id x wave unique)
    return (pd.to_numeric(df[column], errors="coerce") - base).astype(float)


def _sample_step(out: pd.DataFrame, kind: str, cols: Sequence[str], where: str) -> list[str]:
    added: list[str] = []
    for col in cols:
        if col not in out.columns:
            raise ConfigError(
                f"config: '{where}' asks for {kind} of {col!r}, which is not a column. "
                f"Columns: {', '.join(map(str, out.columns))}."
            )
        if not pd.api.types.is_numeric_dtype(out[col]):
            raise ConfigError(f"config: '{where}' asks for {kind} of {col!r}, which is not numeric.")
        if kind == "zscore":
            ref = out.loc[out["wave"] == out["wave"].min(), col] if "wave" in out.columns else None
            out[f"{col}_z"] = zscore(out[col], ref)
            added.append(f"{col}_z")
        else:
            if "id" not in out.columns or "wave" not in out.columns:
                raise ConfigError(
                    f"config: '{where}' asks for the change of {col!r}, which needs 'id' and 'wave' columns "
                    "(a long table; see the cohort key 'wave')."
                )
            out[f"{col}_change"] = change_from_baseline(out, col)
            added.append(f"{col}_change")
    return added


def derive_samplewise(
    df: pd.DataFrame, requests: Sequence[str | Mapping[str, Any]] | None, where: str = "derive", copy: bool = True
) -> tuple[pd.DataFrame, list[str]]:
    """Add the requested z-scores, change scores and after-``keep_if`` expressions.

    Returns
    -------
    (DataFrame, list of str)
        The table and the names added (to a copy unless ``copy=False``); :func:`derive_after_keep_if`
        also returns the flow rows.
    """
    done = derive_after_keep_if(df, requests, where, copy)
    return done.data, done.added
