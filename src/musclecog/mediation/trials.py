"""Mediation and change-score correlations in intervention trials.

``trial_mediation``: treatment -> change in the mediator(s) -> change in the outcome (Mavros et al. 2017,
SMART: the gain in lower-body strength, not in VO2peak, mediates the effect of resistance training on ADAS-Cog),
a parallel mediation model (PROCESS model 4) on change scores with bootstrap CIs.
``change_correlation``: the correlation of two change scores within each arm (Zhao et al. 2022: r = -0.41 between
the changes in knee-extension strength and Trails B-A in the power-training arm; toe-grip training: r = 0.415
between the changes in toe-grip strength and MMSE), with Fisher-z CIs and the t-test of R's ``cor.test``.

Trial tables may be long (one row per person x wave; ``changes: {id, wave, baseline, followup}`` says how to form
change = follow-up - baseline) or wide with the change scores already computed (no ``changes`` key).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError, ModelError, show_values
from musclecog.mediation.models import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    MediationResult,
    MediationSpec,
    _str_list,
    fit_mediation,
)
from musclecog.plots.paths import change_scatter
from musclecog.results import tidy_frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeSpec:
    """How to form change scores from a long table: follow-up minus baseline, per ``id``."""

    id: str = "id"
    wave: str = "wave"
    baseline: Any = 0
    followup: Any = 1

    @classmethod
    def from_config(cls, spec: Mapping[str, Any] | None) -> ChangeSpec | None:
        """None when the table is already wide (no ``changes`` key)."""
        if not spec:
            return None
        return cls(str(spec.get("id", "id")), str(spec.get("wave", "wave")), spec.get("baseline", 0),
                   spec.get("followup", 1))


def change_scores(data: pd.DataFrame, variables: Sequence[str], changes: ChangeSpec, source: str) -> pd.DataFrame:
    """One row per participant: ``<var>_change`` (follow-up - baseline) and ``<var>_baseline`` for each variable,
    and every other column at its baseline value.

    Raises
    ------
    DataError
        Missing columns, duplicate id x wave rows, or no baseline rows.
    """
    need = [changes.id, changes.wave, *variables]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise DataError(f"{source}: column(s) {missing} not in the cohort table (columns: "
                        f"{show_values(list(data.columns), 30)}). Fix 'changes' or the variable names.")
    dup = data.duplicated([changes.id, changes.wave], keep=False)
    if dup.any():
        raise DataError(f"{source}: {int(dup.sum())} rows share an {changes.id} x {changes.wave} pair (ids "
                        f"{show_values(data.loc[dup, changes.id].unique().tolist())}); keep one row per person and wave.")
    base = data[data[changes.wave] == changes.baseline].set_index(changes.id)
    fu = data[data[changes.wave] == changes.followup].set_index(changes.id)
    if base.empty or fu.empty:
        raise DataError(f"{source}: no rows with {changes.wave} == {changes.baseline!r} (baseline) or "
                        f"{changes.followup!r} (follow-up); waves present: "
                        f"{show_values(sorted(data[changes.wave].unique().tolist()))}. Fix changes.baseline/followup.")
    no_fu = base.index.difference(fu.index)
    if len(no_fu):
        logger.info("%s: %d participants have no follow-up row; their changes are missing", source, len(no_fu))
    out = base.drop(columns=[changes.wave])
    fu = fu.reindex(out.index)
    for v in variables:
        out[f"{v}_baseline"] = base[v]
        out[f"{v}_change"] = fu[v] - base[v]
    return out.reset_index()


# ------------------------------------------------------------------------------------- trial mediation
def trial_mediation(data: pd.DataFrame, spec: Mapping[str, Any], context: RunContext) -> MediationResult:
    """Treatment -> change in mediator(s) -> change in outcome (parallel mediators, PROCESS model 4).

    Config keys: ``treatment`` (0/1 column), ``mediators`` (one or more), ``outcome``, ``changes`` (long
    table; omit for a wide table of change scores), ``adjust_baseline`` (add the baseline values of the mediators
    and the outcome as covariates), ``covariates``, ``bootstrap``, ``ci_level``.
    """
    source = f"analyses.{context.analysis}"
    changes = ChangeSpec.from_config(spec.get("changes"))
    mediators = _str_list(spec.get("mediators", spec.get("mediator")))
    outcome = str(spec["outcome"])
    covariates = list(_str_list(spec.get("covariates")))
    if changes is not None:
        data = change_scores(data, [*mediators, outcome], changes, source)
        if spec.get("adjust_baseline", False):
            covariates += [f"{v}_baseline" for v in (*mediators, outcome)]
        mediators = tuple(f"{m}_change" for m in mediators)
        outcome = f"{outcome}_change"
    elif spec.get("adjust_baseline", False):
        raise ConfigError(f"{source}.adjust_baseline needs a long table and a 'changes' entry "
                          "(or list the baseline columns under covariates)")
    treatment = str(spec["treatment"])
    if treatment in data.columns:
        levels = set(pd.unique(data[treatment].dropna()))
        if not levels <= {0, 1}:
            raise DataError(f"{source}: treatment column '{treatment}' must be coded 0/1, found "
                            f"{show_values(sorted(levels, key=str))}. Use a 0/1 indicator (e.g. 'treatment').")
    ms = MediationSpec(
        exposure=treatment, mediators=mediators, outcome=outcome, structure="parallel",
        covariates=tuple(covariates), bootstrap=int(spec.get("bootstrap", DEFAULT_BOOTSTRAP)),
        ci_level=float(spec.get("ci_level", DEFAULT_LEVEL)),
    )
    method = "trial mediation: treatment -> change in mediator -> change in outcome (PROCESS model 4)"
    return fit_mediation(data, ms, context, method)


# ---------------------------------------------------------------------------------- change correlation
@dataclass
class ChangeCorrelationResult:
    """Correlations of two change scores, one row per stratum (arm)."""

    rows: list[dict[str, Any]]
    panels: list[tuple[str, np.ndarray, np.ndarray, str]]
    x: str
    y: str
    title: str

    def to_tidy(self) -> pd.DataFrame:
        """Rows in the shared tidy schema."""
        return tidy_frame(self.rows)

    def figure(self) -> Any:
        """Scatter of the two change scores per arm with the least-squares line."""
        return change_scatter(self.panels, self.x, self.y, self.title)


def correlation_test(x: np.ndarray, y: np.ndarray, method: str, level: float) -> dict[str, float]:
    """Correlation with R ``cor.test`` inference: t = r sqrt((n-2)/(1-r^2)) on n-2 df, Fisher-z CI.

    For Spearman the same t approximation (R's ``cor.test(method = "spearman", exact = FALSE)`` p-value) and
    the Fisher-z CI of the rank correlation are used.
    """
    n = len(x)
    if method == "spearman":
        r = float(stats.spearmanr(x, y).statistic)
    else:
        r = float(np.corrcoef(x, y)[0, 1])
    df = n - 2
    t = r * np.sqrt(df / (1 - r**2)) if abs(r) < 1 else np.sign(r) * np.inf
    p = float(2 * stats.t.sf(abs(t), df))
    z, se = np.arctanh(r), 1 / np.sqrt(n - 3)
    q = stats.norm.ppf((1 + level) / 2)
    return {"estimate": r, "conf_low": float(np.tanh(z - q * se)), "conf_high": float(np.tanh(z + q * se)),
            "p_value": p, "statistic": float(t), "df": float(df), "std_error": float(se)}


def change_correlation(data: pd.DataFrame, spec: Mapping[str, Any], context: RunContext) -> ChangeCorrelationResult:
    """Correlation of the change in ``x`` with the change in ``y``, within each level of ``by`` (the arm).

    Config keys: ``x``, ``y``, ``by`` (optional stratifying column), ``strata`` (levels of ``by`` to report;
    default all), ``changes`` (long table; omit when x and y are change scores already), ``method``
    (pearson or spearman), ``ci_level``.
    """
    source = f"analyses.{context.analysis}"
    changes = ChangeSpec.from_config(spec.get("changes"))
    x, y = str(spec["x"]), str(spec["y"])
    by = spec.get("by")
    method = str(spec.get("method", "pearson"))
    level = float(spec.get("ci_level", DEFAULT_LEVEL))
    if changes is not None:
        data = change_scores(data, [x, y], changes, source)
        x, y = f"{x}_change", f"{y}_change"
    for col in [x, y] + ([by] if by else []):
        if col not in data.columns:
            raise DataError(f"{source}: column '{col}' not in the table (columns: {show_values(list(data.columns), 30)})")
    if by:
        present = [lv for lv in pd.unique(data[by].dropna())]
        wanted = list(spec.get("strata") or sorted(present, key=str))
        absent = [lv for lv in wanted if lv not in present]
        if absent:
            raise ConfigError(f"{source}.strata: {absent} not among the values of '{by}' ({show_values(present)})")
        groups = [(str(lv), data[data[by] == lv]) for lv in wanted]
    else:
        groups = [("overall", data)]
    rows, panels = [], []
    for stratum, sub in groups:
        ok = sub[[x, y]].notna().all(axis=1)
        n_missing = int((~ok).sum())
        if n_missing:
            logger.info("%s: stratum %s: %d of %d without both changes excluded", source, stratum, n_missing, len(sub))
        xs, ys = sub.loc[ok, x].to_numpy(float), sub.loc[ok, y].to_numpy(float)
        if len(xs) < 4:
            raise ModelError(f"{source}: stratum {stratum!r} has {len(xs)} participants with both '{x}' and '{y}'; "
                             "a correlation with a CI needs at least 4")
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            raise ModelError(f"{source}: in stratum {stratum!r}, '{x if np.ptp(xs) == 0 else y}' does not vary")
        res = correlation_test(xs, ys, method, level)
        rows.append({"analysis": context.analysis, "cohort": context.cohort,
                     "method": f"{method.capitalize()} correlation of change scores", "outcome": y, "exposure": x,
                     "term": "r", "stratum": stratum, "n": len(xs), "scale": "correlation", **res,
                     "note": f"Fisher-z CI; t-test on n-2 df (R cor.test); {n_missing} excluded for missing change"})
        panels.append((stratum, xs, ys, f"r = {res['estimate']:.3f} ({res['conf_low']:.2f}, {res['conf_high']:.2f}), n = {len(xs)}"))
    return ChangeCorrelationResult(rows, panels, x, y, f"{context.analysis}: {x} vs {y}")
