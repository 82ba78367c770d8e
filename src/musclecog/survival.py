"""Time-to-event analyses: Cox proportional hazards and Kaplan-Meier (lifelines).

Analysis types (``ANALYSIS_TYPES``; keys in docs/longitudinal.md and ``workflow/schemas/analyses/``):

* ``cox`` - Cox proportional hazards, Efron ties (lifelines ``CoxPHFitter``; R ``survival::coxph`` default),
  on follow-up time (``duration``) or on the age scale with delayed entry (``entry`` -> ``exit``, R
  ``coxph(Surv(entry, exit, event) ~ ...)``). Hazard ratios with 95% CIs (exponentiated; ``std_error`` on the
  log scale), the proportional-hazards test on scaled Schoenfeld residuals (lifelines
  ``proportional_hazard_test``, rank time transform; Grambsch and Therneau 1994) per term, the
  log-likelihood.
* ``kaplan_meier`` - Kaplan-Meier by group (lifelines ``KaplanMeierFitter``; R ``survfit``): median survival
  with its 95% CI, survival at chosen times, and the log-rank test (R ``survdiff``).

A long table (several rows per person) is reduced to one row per person with ``baseline_only: true`` (the
first visit by wave or time), counted. Intervals whose exit is not after entry are excluded and counted with the
reason (``invalid_intervals: exclude``, default) or stop the run (``error``); a negative follow-up time is
always an error.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from musclecog.errors import ConfigError, DataError, ModelError, show_values
from musclecog.filters import exclusion_rows, flow_row
from musclecog.longitudinal.data import levels
from musclecog.results import tidy_frame

log = logging.getLogger(__name__)

Z95 = float(stats.norm.ppf(0.975))

_KEYS = {
    "duration",
    "entry",
    "exit",
    "event",
    "exposure",
    "exposure_reference",
    "covariates",
    "categorical",
    "stratify_by",
    "overall",
    "baseline_only",
    "id",
    "wave",
    "invalid_intervals",
    "ph_test",
    "group",
    "survival_at",
    "time_label",
    "engine",
}


@dataclass(frozen=True)
class SurvivalSpec:
    """Columns and options of a survival analysis (built from a config entry).

    Attributes
    ----------
    event : str
        Event indicator (1 event, 0 censored).
    duration : str or None
        Follow-up time from entry (time-on-study scale).
    entry, exit : str or None
        Entry and exit on a common scale (age as the time scale, delayed entry); used instead of ``duration``.
    exposure : str
        Exposure (numeric, or categorical with ``exposure_reference`` / ``categorical``).
    covariates : tuple of str
        Adjustment columns (Cox only).
    group : str or None
        Kaplan-Meier grouping column (default: the exposure).
    baseline_only : bool
        Keep the first row per ``id`` (by ``wave``, else by order) of a long table.
    invalid_intervals : str
        ``exclude`` (counted) or ``error`` for exit <= entry / zero follow-up.
    ph_test : bool
        Report the Schoenfeld-residual proportional-hazards test (Cox).
    survival_at : tuple of float
        Times at which the Kaplan-Meier survival is reported.
    """

    event: str
    exposure: str
    duration: str | None = None
    entry: str | None = None
    exit: str | None = None
    covariates: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    exposure_reference: Any = None
    stratify_by: str | None = None
    overall: bool = True
    baseline_only: bool = False
    id: str = "id"
    wave: str = "wave"
    invalid_intervals: str = "exclude"
    ph_test: bool = True
    group: str | None = None
    survival_at: tuple[float, ...] = ()
    time_label: str | None = None
    engine: str = "efron"

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], source: str = "analysis") -> SurvivalSpec:
        """Build and check a spec from a config entry."""
        extra = sorted(set(spec) - _KEYS - {"type", "cohort", "description", "keep_if"})
        if extra:
            raise ConfigError(f"{source}: unknown key(s) {extra}; allowed: {sorted(_KEYS)}")
        kw = {k: spec[k] for k in spec if k in _KEYS}
        for k in ("covariates", "categorical", "survival_at"):
            if k in kw:
                kw[k] = tuple(kw[k] or ())
        if "event" not in kw or "exposure" not in kw:
            raise ConfigError(f"{source}: a survival analysis needs 'event' and 'exposure'")
        out = cls(**kw)
        if bool(out.duration) == bool(out.entry or out.exit):
            raise ConfigError(
                f"{source}: give either 'duration' (follow-up time) or both 'entry' and 'exit' (e.g. entry_age, "
                "exit_age for age as the time scale), not both and not neither"
            )
        if (out.entry is None) != (out.exit is None):
            raise ConfigError(f"{source}: 'entry' and 'exit' go together (age scale with delayed entry)")
        if out.engine not in ("efron", "lifelines"):
            raise ConfigError(f"{source}.engine must be 'efron' or 'lifelines', got {out.engine!r}")
        if out.invalid_intervals not in ("exclude", "error"):
            raise ConfigError(f"{source}.invalid_intervals must be 'exclude' or 'error'")
        return out

    @property
    def time_name(self) -> str:
        return self.time_label or (self.duration if self.duration else f"{self.exit} (entry {self.entry})")


@dataclass
class SurvivalData:
    """One row per person, with ``T`` (exit or duration), ``E`` (event) and optionally ``T0`` (entry)."""

    frame: pd.DataFrame
    flow: list[dict[str, Any]] = field(default_factory=list)

    def note(self) -> str:
        return "; ".join(f"{r['reason']} ({r['n_excluded']} rows)" for r in self.flow if r["n_excluded"])


def _require(data: pd.DataFrame, cols: Sequence[str], source: str) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ConfigError(
            f"{source}: column(s) {missing} not in the cohort table. Columns available: "
            f"{show_values(sorted(map(str, data.columns)), limit=60)}. Fix the name in the config."
        )


def prepare_survival(
    data: pd.DataFrame, spec: SurvivalSpec, source: str, extra: Sequence[str] = ()
) -> SurvivalData:
    """Check and reduce a cohort table to one row per person with time, event and model columns.

    Raises
    ------
    DataError
        Several rows per person without ``baseline_only``; a negative follow-up; an event column that is
        not 0/1; exit not after entry with ``invalid_intervals: error``; nothing left.
    """
    time_cols = [spec.duration] if spec.duration else [spec.entry, spec.exit]
    cols = [c for c in [*time_cols, spec.event, spec.exposure, *spec.covariates, *extra] if c]
    if spec.stratify_by:
        cols.append(spec.stratify_by)
    cols = list(dict.fromkeys(cols))
    _require(data, cols, source)
    flow: list[dict[str, Any]] = []
    df = data
    if spec.id in data.columns:
        dup = data[spec.id].duplicated()
        if dup.any() and not spec.baseline_only:
            raise DataError(
                f"{source}: {int(data[spec.id].nunique())} people have {len(data)} rows (ids repeated, e.g. "
                f"{show_values(data.loc[dup, spec.id].unique().tolist())}); a survival model needs one row per person. "
                "Set 'baseline_only: true' to keep each person's first visit."
            )
        if spec.baseline_only:
            order = [spec.id, spec.wave] if spec.wave in data.columns else [spec.id]
            df = data.sort_values(order, kind="stable").drop_duplicates(spec.id, keep="first")
            flow.append(
                flow_row(
                    f"{source}: baseline_only",
                    len(data),
                    len(df),
                    "excluded: later visits (one row per person)",
                )
            )
    elif spec.baseline_only:
        raise ConfigError(f"{source}: baseline_only needs an id column ('{spec.id}' is not in the table)")
    df = df.loc[:, cols + ([spec.id] if spec.id in df.columns and spec.id not in cols else [])].copy()
    for c in cols:
        n_in = len(df)
        df = df.loc[df[c].notna()]
        flow.append(flow_row(f"{source}: {c}", n_in, len(df), f"excluded: '{c}' missing"))
    ev = pd.to_numeric(df[spec.event], errors="coerce")
    if ev.isna().any() or not ev.isin([0, 1]).all():
        bad = df.loc[~ev.isin([0, 1]), spec.event].unique().tolist()
        raise DataError(
            f"{source}: the event column '{spec.event}' must be 0/1 (or true/false); found {show_values(bad)}"
        )
    df["E"] = ev.astype(int).to_numpy()
    if spec.duration:
        T = pd.to_numeric(df[spec.duration], errors="coerce").astype(float)
        neg = (T < 0).to_numpy()
        if neg.any():
            who = (
                df.loc[neg, spec.id].tolist() if spec.id in df.columns else (np.flatnonzero(neg) + 1).tolist()
            )
            raise DataError(
                f"{source}: negative follow-up in '{spec.duration}' for {int(neg.sum())} people (ids {show_values(who)}, "
                f"values {show_values(T[neg].round(4).tolist())}). Follow-up cannot be negative: check the dates."
            )
        bad = (T <= 0).to_numpy()
        reason = f"excluded: '{spec.duration}' is zero (no time at risk)"
        df["T"] = T.to_numpy()
    else:
        T0 = pd.to_numeric(df[spec.entry], errors="coerce").astype(float)
        T1 = pd.to_numeric(df[spec.exit], errors="coerce").astype(float)
        bad = (T1 <= T0).to_numpy()
        reason = f"excluded: '{spec.exit}' not after '{spec.entry}' (exit <= entry)"
        df["T0"], df["T"] = T0.to_numpy(), T1.to_numpy()
    if bad.any():
        who = df.loc[bad, spec.id].tolist() if spec.id in df.columns else (np.flatnonzero(bad) + 1).tolist()
        if spec.invalid_intervals == "error":
            raise DataError(
                f"{source}: {int(bad.sum())} people have no time at risk ({reason.removeprefix('excluded: ')}; ids "
                f"{show_values(who)}). Fix the data, or set invalid_intervals: exclude to drop and count them."
            )
        log.info("%s: %d people %s (ids %s)", source, int(bad.sum()), reason, show_values(who))
    n_in = len(df)
    df = df.loc[~bad]
    flow.append(flow_row(f"{source}: time at risk", n_in, len(df), reason))
    if df.empty:
        raise DataError(
            f"{source}: no people left after the exclusions ({'; '.join(r['reason'] for r in flow)})"
        )
    if df["E"].sum() == 0:
        raise ModelError(
            f"{source}: no events ('{spec.event}' is 0 for all {len(df)} people); nothing to estimate"
        )
    return SurvivalData(df.reset_index(drop=True), [r for r in flow if r["n_excluded"] > 0])


def schoenfeld_ph_test(
    T: np.ndarray,
    E: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    variance: np.ndarray,
    T0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grambsch-Therneau test of proportional hazards on scaled Schoenfeld residuals, with delayed entry.

    The statistic per covariate is lifelines' ``proportional_hazard_test(..., time_transform="rank")``:
    ``(sum_k g_k s*_k)^2 / (d var_j sum_k g_k^2)`` with ``g`` the centred event rank, ``s*`` the scaled
    Schoenfeld residuals ``d r_k V`` and ``r_k = x_k - xbar(t_k)`` over the risk set ``{i: T0_i < t_k <= T_i}``
    (Breslow-type means). lifelines does not compute residuals with entry times; this does.

    Returns
    -------
    (statistic, p_value) : arrays, one value per covariate (chi-squared, 1 df)
    """
    order = np.argsort(T, kind="stable")
    ev = order[E[order] == 1]
    d = ev.size
    w = np.exp(X @ beta - np.max(X @ beta))
    resid = np.empty((d, X.shape[1]))
    chunk = max(1, int(4e6 // max(1, T.size)))
    for start in range(0, d, chunk):
        idx = ev[start : start + chunk]
        t = T[idx][:, None]
        at_risk = T[None, :] >= t
        if T0 is not None:
            at_risk &= T0[None, :] < t
        W = at_risk * w[None, :]
        resid[start : start + chunk] = X[idx] - (W @ X) / W.sum(axis=1, keepdims=True)
    scaled = d * resid @ variance
    g = np.arange(1, d + 1, dtype=float)
    gc = g - g.mean()
    stat = (gc @ scaled) ** 2 / (d * np.diag(variance) * (gc**2).sum())
    return stat, stats.chi2.sf(stat, 1)


def _is_categorical(s: pd.Series, name: str, spec: SurvivalSpec) -> bool:
    if name in spec.categorical or (name == spec.exposure and spec.exposure_reference is not None):
        return True
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def _design(df: pd.DataFrame, spec: SurvivalSpec, source: str) -> pd.DataFrame:
    cols: dict[str, np.ndarray] = {}
    for name in [spec.exposure, *spec.covariates]:
        s = df[name]
        if _is_categorical(s, name, spec):
            lv = levels(s, spec.exposure_reference if name == spec.exposure else None)
            for v in lv[1:]:
                cols[f"{name}[{v}]"] = (s == v).to_numpy(float)
        else:
            cols[name] = pd.to_numeric(s).to_numpy(float)
    X = pd.DataFrame(cols, index=df.index)
    const = [c for c in X.columns if np.ptp(X[c].to_numpy()) == 0]
    if any(c == spec.exposure or c.startswith(f"{spec.exposure}[") for c in const):
        raise ModelError(f"{source}: the exposure '{spec.exposure}' does not vary in the analysed rows")
    return X.drop(columns=const)


def _strata(df: pd.DataFrame, stratify_by: str | None, overall: bool) -> list[tuple[str, pd.DataFrame]]:
    out = []
    if not stratify_by or overall:
        out.append(("overall", df))
    if stratify_by:
        for lv in levels(df[stratify_by]):
            out.append((f"{stratify_by}={lv}", df.loc[df[stratify_by] == lv]))
    return out


@dataclass
class SurvivalResult:
    """Rows of one survival analysis and the Kaplan-Meier curves for its figure."""

    rows: list[dict[str, Any]]
    data: SurvivalData
    spec: SurvivalSpec
    title: str
    group_col: str

    def to_tidy(self) -> pd.DataFrame:
        """The shared tidy result table."""
        return tidy_frame(self.rows)

    def figure(self) -> Any:
        """Kaplan-Meier curves by group with numbers at risk."""
        from musclecog.plots.survival import km_figure

        return km_figure(self.data.frame, self.group_col, self.spec, title=self.title)


def _flow_rows(base: Mapping[str, Any], sd: SurvivalData) -> list[dict[str, Any]]:
    """Exclusions, one ``count`` row per reason (e.g. exit not after entry), for the result table."""
    return exclusion_rows(base, sd.flow)


def _base(context: Any, method: str, spec: SurvivalSpec, stratum: str) -> dict[str, Any]:
    return {
        "analysis": context.analysis,
        "cohort": context.cohort,
        "method": method,
        "outcome": spec.event,
        "exposure": spec.exposure,
        "stratum": stratum,
    }


def _fit_efron(
    fit_df: pd.DataFrame, terms: Any, ss: SurvivalSpec, source: str, stratum: str
) -> dict[str, Any]:
    from musclecog.survival_efron import fit_cox_efron, ph_test

    Xn = fit_df[list(terms)].to_numpy(float)
    f = fit_cox_efron(
        fit_df["T"].to_numpy(float),
        fit_df["E"].to_numpy(int),
        Xn,
        T0=fit_df["T0"].to_numpy(float) if ss.entry else None,
    )
    if not np.all(np.isfinite(f.params)) or not np.all(np.isfinite(f.std_errors)):
        raise ModelError(f"{source} [{stratum}]: the Cox model could not be fitted: {f.message}")
    stat, pval = ph_test(f) if ss.ph_test else (np.full(len(terms), np.nan), np.full(len(terms), np.nan))
    return {
        "params": dict(zip(terms, f.params, strict=True)),
        "se": dict(zip(terms, f.std_errors, strict=True)),
        "loglik": f.loglik,
        "loglik_null": f.loglik_null,
        "converged": f.converged,
        "message": f"Newton-Raphson (numpy Efron): {f.message}",
        "messages": [],
        "ph": {t: (float(a), float(b)) for t, a, b in zip(terms, stat, pval, strict=True)},
    }


def _fit_lifelines(
    fit_df: pd.DataFrame, terms: Any, ss: SurvivalSpec, source: str, stratum: str
) -> dict[str, Any]:
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph = CoxPHFitter().fit(
                fit_df, duration_col="T", event_col="E", entry_col="T0" if ss.entry else None
            )
        except Exception as exc:  # lifelines' ConvergenceError, LinAlgError, ValueError
            raise ModelError(f"{source} [{stratum}]: the Cox model could not be fitted: {exc}") from exc
    msgs = sorted({str(w.message).splitlines()[0] for w in caught})
    ph: dict[str, tuple[float, float]] = {}
    if ss.ph_test:
        if ss.entry:  # lifelines has no residuals with entry times
            stat, pval = schoenfeld_ph_test(
                fit_df["T"].to_numpy(float),
                fit_df["E"].to_numpy(int),
                fit_df[list(terms)].to_numpy(float),
                cph.params_[list(terms)].to_numpy(),
                cph.variance_matrix_.loc[list(terms), list(terms)].to_numpy(),
                T0=fit_df["T0"].to_numpy(float),
            )
            ph = {t: (float(a), float(b)) for t, a, b in zip(terms, stat, pval, strict=True)}
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = proportional_hazard_test(cph, fit_df, time_transform="rank")
            ph = {
                t: (float(res.summary.loc[t, "test_statistic"]), float(res.summary.loc[t, "p"]))
                for t in terms
            }
    ll0 = float(
        CoxPHFitter()
        .fit(
            fit_df[["T", "E"] + (["T0"] if ss.entry else [])], "T", "E", entry_col="T0" if ss.entry else None
        )
        .log_likelihood_
    )
    return {
        "params": cph.params_.to_dict(),
        "se": cph.standard_errors_.to_dict(),
        "loglik": float(cph.log_likelihood_),
        "loglik_null": ll0,
        "converged": True,
        "message": f"lifelines CoxPHFitter (concordance {cph.concordance_index_:.4f})",
        "messages": msgs,
        "ph": ph,
    }


def fit_cox(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> SurvivalResult:
    """Cox proportional hazards model (analysis type ``cox``).

    Matches ``survival::coxph(Surv(duration, event) ~ exposure + covariates)`` (Efron ties) or, with
    ``entry``/``exit``, ``coxph(Surv(entry, exit, event) ~ ...)`` (age as time scale, delayed entry).
    Rows: hazard ratios (``scale: hazard_ratio``), the PH test per term (``term: ph_test:<term>``,
    ``scale: chi_squared``), the partial log-likelihood (``scale: log_likelihood``), ``n`` people and
    ``n_events``.
    """
    source = f"analyses.{context.analysis}"
    ss = SurvivalSpec.from_config(spec, source)
    sd = prepare_survival(data, ss, source)
    scale_txt = (
        f"age scale with delayed entry ({ss.entry} -> {ss.exit})"
        if ss.entry
        else f"follow-up time ({ss.duration})"
    )
    engine = "numpy Newton-Raphson" if ss.engine == "efron" else "lifelines"
    method = f"Cox proportional hazards (Efron ties; {engine}), {scale_txt}"
    rows: list[dict[str, Any]] = []
    for stratum, df in _strata(sd.frame, ss.stratify_by, ss.overall):
        X = _design(df, ss, f"{source} [{stratum}]")
        fit_df = X.assign(T=df["T"].to_numpy(), E=df["E"].to_numpy())
        if ss.entry:
            fit_df["T0"] = df["T0"].to_numpy()
        n, n_ev = len(fit_df), int(fit_df["E"].sum())
        base = _base(context, method, ss, stratum)
        note = sd.note() if stratum == "overall" or not ss.stratify_by else ""
        if ss.engine == "efron":
            fit = _fit_efron(fit_df, X.columns, ss, source, stratum)
        else:
            fit = _fit_lifelines(fit_df, X.columns, ss, source, stratum)
        if fit["messages"]:
            note = "; ".join([note, *fit["messages"]]) if note else "; ".join(fit["messages"])
        if not fit["converged"]:
            note = f"NOT CONVERGED ({fit['message']}); " + note
            log.warning("%s [%s]: the Cox model did not converge: %s", source, stratum, fit["message"])
        for term in X.columns:
            b, se = float(fit["params"][term]), float(fit["se"][term])
            z = b / se
            rows.append(
                {
                    **base,
                    "term": term,
                    "estimate": np.exp(b),
                    "std_error": se,
                    "conf_low": np.exp(b - Z95 * se),
                    "conf_high": np.exp(b + Z95 * se),
                    "p_value": float(2 * stats.norm.sf(abs(z))),
                    "n": n,
                    "n_events": n_ev,
                    "scale": "hazard_ratio",
                    "statistic": z,
                    "note": note,
                }
            )
        if ss.ph_test:
            for term in X.columns:
                st, pv = fit["ph"][term]
                rows.append(
                    {
                        **base,
                        "term": f"ph_test:{term}",
                        "estimate": float(st),
                        "p_value": float(pv),
                        "n": n,
                        "n_events": n_ev,
                        "scale": "chi_squared",
                        "statistic": float(st),
                        "df": 1.0,
                        "note": "proportional-hazards test on scaled Schoenfeld residuals (rank time); "
                        "small p: hazards not proportional",
                    }
                )
        rows.append(
            {
                **base,
                "term": "logLik (partial)",
                "estimate": float(fit["loglik"]),
                "n": n,
                "n_events": n_ev,
                "scale": "log_likelihood",
                "df": float(X.shape[1]),
                "note": f"null model {fit['loglik_null']:.6f}; {fit['message']}",
            }
        )
        rows.append(
            {
                **base,
                "term": "converged",
                "estimate": float(fit["converged"]),
                "n": n,
                "n_events": n_ev,
                "scale": "test",
                "note": ("converged: " if fit["converged"] else "NOT CONVERGED: ") + fit["message"],
            }
        )
    rows += _flow_rows(_base(context, method, ss, "overall"), sd)
    group = ss.group or ss.exposure
    return SurvivalResult(rows, sd, ss, f"{context.analysis}: {ss.event} by {group}", group)


def fit_kaplan_meier(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> SurvivalResult:
    """Kaplan-Meier by group with median survival and the log-rank test (analysis type ``kaplan_meier``).

    Matches ``survival::survfit(Surv(time, event) ~ group)`` (median and its CI: the times where the
    pointwise 95% CI, log transform as lifelines' exponential Greenwood, crosses 0.5) and
    ``survdiff(Surv(time, event) ~ group)``. Rows per group: ``median_survival`` (missing with a note when the
    curve does not reach 0.5), ``survival at t`` (``scale: proportion``); one ``logrank`` row (chi-squared,
    df = groups - 1).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    from lifelines.utils import median_survival_times

    source = f"analyses.{context.analysis}"
    ss = SurvivalSpec.from_config(spec, source)
    group = ss.group or ss.exposure
    sd = prepare_survival(data, ss, source, extra=[group])
    scale_txt = (
        f"age scale with delayed entry ({ss.entry} -> {ss.exit})"
        if ss.entry
        else f"follow-up time ({ss.duration})"
    )
    rows: list[dict[str, Any]] = []
    for stratum, df in _strata(sd.frame, ss.stratify_by, ss.overall):
        base = _base(context, f"Kaplan-Meier, {scale_txt}", ss, stratum)
        note = sd.note() if stratum == "overall" or not ss.stratify_by else ""
        for lv in levels(df[group]):
            g = df.loc[df[group] == lv]
            kmf = KaplanMeierFitter().fit(g["T"], g["E"], entry=g["T0"] if ss.entry else None, label=str(lv))
            med = float(kmf.median_survival_time_)
            ci = median_survival_times(kmf.confidence_interval_)
            lo, hi = (float(ci.iloc[0, 0]), float(ci.iloc[0, 1])) if len(ci) else (np.nan, np.nan)
            finite = np.isfinite(med)
            rows.append(
                {
                    **base,
                    "term": f"median:{group}={lv}",
                    "estimate": med if finite else np.nan,
                    "conf_low": lo if np.isfinite(lo) else np.nan,
                    "conf_high": hi if np.isfinite(hi) else np.nan,
                    "n": len(g),
                    "n_events": int(g["E"].sum()),
                    "scale": "median_survival",
                    "note": (
                        note
                        if finite
                        else "; ".join(filter(None, [note, "median not reached (survival stays above 0.5)"]))
                    ),
                }
            )
            for t in ss.survival_at:
                s_t = float(kmf.survival_function_at_times(t).iloc[0])
                ci_t = kmf.confidence_interval_survival_function_
                idx = ci_t.index.searchsorted(t, side="right") - 1
                lo_t, hi_t = (float(ci_t.iloc[idx, 0]), float(ci_t.iloc[idx, 1])) if idx >= 0 else (1.0, 1.0)
                rows.append(
                    {
                        **base,
                        "term": f"survival_at_{t:g}:{group}={lv}",
                        "estimate": s_t,
                        "conf_low": lo_t,
                        "conf_high": hi_t,
                        "n": len(g),
                        "n_events": int(g["E"].sum()),
                        "scale": "proportion",
                        "note": note,
                    }
                )
        if df[group].nunique() > 1:
            if ss.entry:
                rows.append(
                    {
                        **base,
                        "term": "logrank",
                        "n": len(df),
                        "n_events": int(df["E"].sum()),
                        "scale": "chi_squared",
                        "note": "log-rank test not computed with delayed entry (lifelines' test has no entry times); use a Cox model",
                    }
                )
            else:
                lr = multivariate_logrank_test(df["T"], df[group].astype(str), df["E"])
                k = int(df[group].nunique())
                rows.append(
                    {
                        **base,
                        "term": "logrank",
                        "estimate": float(lr.test_statistic),
                        "p_value": float(lr.p_value),
                        "n": len(df),
                        "n_events": int(df["E"].sum()),
                        "scale": "chi_squared",
                        "statistic": float(lr.test_statistic),
                        "df": float(k - 1),
                        "note": note,
                    }
                )
    rows += _flow_rows(_base(context, f"Kaplan-Meier, {scale_txt}", ss, "overall"), sd)
    return SurvivalResult(rows, sd, ss, f"{context.analysis}: {ss.event} by {group}", group)


ANALYSIS_TYPES = {"cox": fit_cox, "kaplan_meier": fit_kaplan_meier}
