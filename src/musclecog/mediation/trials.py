"""Mediation and change-score correlations in intervention trials.

``trial_mediation``: treatment -> change in the mediator(s) -> change in the outcome (Mavros et al. 2017,
SMART: the gain in lower-body strength, not in VO2peak, mediates the effect of resistance training on
ADAS-Cog), a parallel mediation model (PROCESS model 4) on change scores with bootstrap CIs.
``change_correlation``: the correlation of two change scores within each arm (Zhao et al. 2022: r = -0.41
between the changes in knee-extension strength and Trails B-A in the power-training arm; toe-grip training: r
= 0.415 between the changes in toe-grip strength and MMSE), with Fisher-z CIs and the t-test of R's
``cor.test``.

With a survey design (``weighting``: by default weighted when the cohort declares one) the Pearson
correlation of the changes is design-based, as the ``correlation`` type's
(:func:`musclecog.survey.survey_correlation`: weighted r, Taylor-linearised SE, t on ``degf - 1`` df,
Fisher-z CI); each level of ``by`` and the participants with both changes are domains of the design
(R's ``subset(design, ...)``). A long table's design columns are read at baseline.

Trial tables may be long (one row per person x wave; ``changes: {id, wave, baseline, followup}`` says how to
form change = follow-up - baseline) or wide with the change scores already computed (no ``changes`` key).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from musclecog.core.design import check_columns, complete_rows, factor_levels
from musclecog.core.inference import critical_value, wald_p_value
from musclecog.core.results import Estimate
from musclecog.errors import ConfigError, DataError, ModelError, show_values
from musclecog.mediation.process import fit_mediation_model
from musclecog.mediation.results import ChangeCorrelationResult, ChangePanel, MediationResult
from musclecog.mediation.spec import ChangeCorrelationSpec, ChangeSpec, MediationModel, TrialMediationSpec
from musclecog.survey import SurveyDesign, resolve_weighting, survey_correlation, survey_design

logger = logging.getLogger(__name__)


def change_scores(
    data: pd.DataFrame, variables: Sequence[str], changes: ChangeSpec, source: str
) -> pd.DataFrame:
    """One row per participant: ``<var>_change`` (follow-up - baseline) and ``<var>_baseline`` for each
    variable, and every other column at its baseline value.

    Raises
    ------
    DataError
        Missing columns, duplicate id x wave rows, or no baseline rows.
    """
    need = [changes.id, changes.wave, *variables]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} not in the cohort table (columns: "
            f"{show_values(list(data.columns), 30)}). Fix 'changes' or the variable names."
        )
    dup = data.duplicated([changes.id, changes.wave], keep=False)
    if dup.any():
        raise DataError(
            f"{source}: {int(dup.sum())} rows share an {changes.id} x {changes.wave} pair (ids "
            f"{show_values(data.loc[dup, changes.id].unique().tolist())}); keep one row per person and wave."
        )
    base = data[data[changes.wave] == changes.baseline].set_index(changes.id)
    fu = data[data[changes.wave] == changes.followup].set_index(changes.id)
    if base.empty or fu.empty:
        raise DataError(
            f"{source}: no rows with {changes.wave} == {changes.baseline!r} (baseline) or "
            f"{changes.followup!r} (follow-up); waves present: "
            f"{show_values(sorted(data[changes.wave].unique().tolist()))}. Fix changes.baseline/followup."
        )
    no_fu = base.index.difference(fu.index)
    if len(no_fu):
        logger.info(
            "%s: %d participants have no follow-up row; their changes are missing", source, len(no_fu)
        )
    out = base.drop(columns=[changes.wave])
    fu = fu.reindex(out.index)
    for v in variables:
        out[f"{v}_baseline"] = base[v]
        out[f"{v}_change"] = fu[v] - base[v]
    return out.reset_index()


# ------------------------------------------------------------------------------------- trial mediation
def _check_treatment(data: pd.DataFrame, treatment: str, source: str) -> None:
    if treatment in data.columns:
        levels = set(pd.unique(data[treatment].dropna()))
        if not levels <= {0, 1}:
            raise DataError(
                f"{source}: treatment column '{treatment}' must be coded 0/1, found "
                f"{show_values(sorted(levels, key=str))}. Use a 0/1 indicator (e.g. 'treatment')."
            )


def fit_trial_mediation(data: pd.DataFrame, spec: TrialMediationSpec) -> MediationResult:
    """Treatment -> change in mediator(s) -> change in outcome (parallel mediators, PROCESS model 4).

    With ``changes`` the long table becomes one row per participant (:func:`change_scores`) and the model is
    fitted on ``<mediator>_change`` and ``<outcome>_change``; ``adjust_baseline`` adds the baseline values of
    the mediators and the outcome as covariates. See :func:`musclecog.mediation.process.fit_mediation_model`.
    """
    source = spec.where
    changes = spec.change
    mediators, outcome = tuple(spec.mediators), spec.outcome
    covariates = list(spec.covariates)
    if changes is not None:
        data = change_scores(data, [*mediators, outcome], changes, source)
        if spec.adjust_baseline:
            covariates += [f"{v}_baseline" for v in (*mediators, outcome)]
        mediators = tuple(f"{m}_change" for m in mediators)
        outcome = f"{outcome}_change"
    elif spec.adjust_baseline:
        raise ConfigError(
            f"{source}.adjust_baseline needs a long table and a 'changes' entry "
            "(or list the baseline columns under covariates)"
        )
    _check_treatment(data, spec.treatment, source)
    model = MediationModel(
        exposure=spec.treatment,
        mediators=mediators,
        outcome=outcome,
        structure="parallel",
        covariates=tuple(covariates),
        outcome_type="continuous",
        bootstrap=int(spec.bootstrap),
        ci_level=float(spec.ci_level),
        imai_simulations=0,
        exposure_contrast=None,
        method=spec.METHOD,
        se_type=spec.se_type,
        delta_method=bool(spec.delta_method),
    )
    return fit_mediation_model(data, model, spec.context)


# ---------------------------------------------------------------------------------- change correlation
def correlation_test(x: np.ndarray, y: np.ndarray, method: str, level: float) -> dict[str, float]:
    """Correlation with R ``cor.test`` inference: t = r sqrt((n-2)/(1-r^2)) on n-2 df, Fisher-z CI.

    For Spearman the same t approximation (R's ``cor.test(method = "spearman", exact = FALSE)`` p-value) and
    the Fisher-z CI of the rank correlation are used.
    """
    n = len(x)
    if method == "spearman":
        from scipy import stats  # only Spearman needs it: scipy.stats costs ~0.5 s to import

        r = float(stats.spearmanr(x, y).statistic)
    else:
        r = float(np.corrcoef(x, y)[0, 1])
    df = n - 2
    t = r * np.sqrt(df / (1 - r**2)) if abs(r) < 1 else np.sign(r) * np.inf
    p = float(wald_p_value(np.asarray(t), df))
    z, se = np.arctanh(r), 1 / np.sqrt(n - 3)
    q = critical_value(level, None)
    return {
        "estimate": r,
        "conf_low": float(np.tanh(z - q * se)),
        "conf_high": float(np.tanh(z + q * se)),
        "p_value": p,
        "statistic": float(t),
        "df": float(df),
        "std_error": float(se),
    }


def survey_correlation_test(
    x: np.ndarray, y: np.ndarray, survey: SurveyDesign, level: float
) -> dict[str, float]:
    """The design-based Pearson correlation of complete vectors (the rows of ``survey``, a domain):
    t = r / SE(r) on ``degf - 1`` df and the Fisher-z interval ``tanh(atanh(r) +- t SE(atanh r))``;
    ``std_error`` is the SE of ``atanh(r)`` (as :func:`correlation_test`'s), ``std_error_r`` that of r."""
    c = survey_correlation(x, y, survey)
    t = c.r / c.std_error if c.std_error > 0 else np.sign(c.r) * np.inf
    z = np.arctanh(c.r)
    q = critical_value(level, c.df)
    return {
        "estimate": c.r,
        "conf_low": float(np.tanh(z - q * c.z_std_error)),
        "conf_high": float(np.tanh(z + q * c.z_std_error)),
        "p_value": float(wald_p_value(np.asarray(t), c.df)),
        "statistic": float(t),
        "df": float(c.df),
        "std_error": c.z_std_error,
        "std_error_r": c.std_error,
    }


def _groups(data: pd.DataFrame, spec: ChangeCorrelationSpec) -> list[tuple[str, pd.DataFrame]]:
    """The strata to correlate in: each wanted level of ``by`` (default all, sorted), or overall."""
    by = spec.by
    if not by:
        return [("overall", data)]
    present = list(pd.unique(data[by].dropna()))
    # sorted levels, also for a categorical column (its category order is not used: today's tables)
    wanted = list(spec.strata) or factor_levels(data[by].astype(object))
    absent = [lv for lv in wanted if lv not in present]
    if absent:
        raise ConfigError(
            f"{spec.where}.strata: {absent} not among the values of '{by}' ({show_values(present)})"
        )
    return [(str(lv), data[data[by] == lv]) for lv in wanted]


def _complete_changes(
    sub: pd.DataFrame, x: str, y: str, stratum: str, source: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Both change scores of the participants who have them, and how many lack one."""
    ok = complete_rows(sub, [x, y])
    n_missing = int((~ok).sum())
    if n_missing:
        logger.info(
            "%s: stratum %s: %d of %d without both changes excluded", source, stratum, n_missing, len(sub)
        )
    xs, ys = sub.loc[ok, x].to_numpy(float), sub.loc[ok, y].to_numpy(float)
    if len(xs) < 4:
        raise ModelError(
            f"{source}: stratum {stratum!r} has {len(xs)} participants with both '{x}' and '{y}'; "
            "a correlation with a CI needs at least 4"
        )
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        raise ModelError(f"{source}: in stratum {stratum!r}, '{x if np.ptp(xs) == 0 else y}' does not vary")
    return xs, ys, n_missing


def fit_change_correlation(data: pd.DataFrame, spec: ChangeCorrelationSpec) -> ChangeCorrelationResult:
    """Correlation of the change in ``x`` with the change in ``y``, within each level of ``by`` (the arm).

    With ``changes`` the change scores are formed from a long table (:func:`change_scores`); otherwise ``x``
    and ``y`` are change scores already. One estimate per stratum (``r``, scale ``correlation``) with the
    Fisher-z CI and the t-test on n - 2 df (:func:`correlation_test`); with a survey design the
    design-based Pearson correlation (:func:`survey_correlation_test`; a Spearman correlation stays
    unweighted and its note says so).
    """
    source = spec.where
    changes = spec.change
    x, y = spec.x, spec.y
    if changes is not None:
        data = change_scores(data, [x, y], changes, source)
        x, y = f"{x}_change", f"{y}_change"
    check_columns(data, [x, y] + ([spec.by] if spec.by else []), source)
    (weighting,) = resolve_weighting(spec.weighting, spec.context)
    data = data.reset_index(drop=True)
    survey = survey_design(data, spec.context)[0] if weighting == "weighted" else None
    estimates, panels = [], []
    for stratum, sub in _groups(data, spec):
        xs, ys, n_missing = _complete_changes(sub, x, y, stratum, source)
        method = f"{spec.method.capitalize()} correlation of change scores"
        note = f"Fisher-z CI; t-test on n-2 df (R cor.test); {n_missing} excluded for missing change"
        extra = {}
        if survey is not None and spec.method == "pearson":
            rows = np.zeros(len(data), bool)
            rows[sub.index[complete_rows(sub, [x, y])]] = True
            res = survey_correlation_test(xs, ys, survey.subset(rows), spec.ci_level)
            extra = {"std_error_r": res.pop("std_error_r")}
            method = f"survey-weighted {method}"
            note = (
                f"design-based SE (Taylor linearisation; std_error_r: SE of r, std_error: SE of atanh(r)); "
                f"Fisher-z CI and t-test on degf - 1 df; {n_missing} excluded for missing change"
            )
        else:
            res = correlation_test(xs, ys, spec.method, spec.ci_level)
            if survey is not None:
                note += "; survey design not used: no design-based rank correlation (unweighted Spearman)"
        estimates.append(
            Estimate(
                term="r",
                scale="correlation",
                method=method,
                outcome=y,
                exposure=x,
                stratum=stratum,
                n=len(xs),
                estimate=res["estimate"],
                std_error=res["std_error"],
                conf_low=res["conf_low"],
                conf_high=res["conf_high"],
                p_value=res["p_value"],
                statistic=res["statistic"],
                df=res["df"],
                note=note,
                extra=extra,
            )
        )
        panels.append(ChangePanel(stratum, xs, ys, res["estimate"], res["conf_low"], res["conf_high"]))
    return ChangeCorrelationResult(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=tuple(estimates),
        title=f"{spec.context.analysis}: {x} vs {y}",
        x=x,
        y=y,
        panels=tuple(panels),
    )
