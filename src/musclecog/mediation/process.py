"""Simple, parallel and serial mediation (Hayes PROCESS models 4 and 6).

Point estimates are equation-by-equation least squares (logistic for a binary outcome); they equal lavaan's ML
estimates for the same recursive model (see :mod:`musclecog.mediation.frame`). Indirect effects are products
of coefficients along each directed path (Hayes 2022, *Introduction to Mediation, Moderation, and Conditional
Process Analysis*, 3rd ed.), with percentile and bias-corrected bootstrap CIs (PROCESS defaults: 5,000
resamples, percentile CI reported first). The Sobel test is given for one mediator. For a binary outcome the
outcome model is logistic (``b``, ``c'``, ``c`` as odds ratios; ``a b`` on the log-odds scale, as PROCESS
does) and, in addition, the Imai, Keele & Tingley (2010) quasi-Bayesian average causal mediation / direct
effects on the probability scale (:mod:`musclecog.mediation.imai`); ``imai_continuous`` adds them for a
continuous outcome (outcome scale).

With a survey design (``weighting``, by default weighted when the cohort declares one) every equation is a
``svyglm`` on the complete cases as a domain of the design (weighted coefficients; linearised SEs, t on
``degf - p + 1`` df), and the indirect effects, their total and the proportion mediated get delta-method
SEs, z tests and normal CIs from the joint covariance of all paths: ``svyrecvar`` of the stacked influence
functions of the equations (:func:`musclecog.survey.joint_covariance`; R: ``svycontrast`` on the
equations' coefficients with that covariance, equal to one ``svyglm`` of the equations stacked in long
format). No bootstrap under a design (a resample of people ignores strata and PSUs); the Imai et al.
effects stay unweighted; both are said in the rows' notes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.design import unit_columns
from musclecog.core.inference import wald_p_value, wald_statistic
from musclecog.core.results import Estimate, FitResult
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.mediation.bootstrap import BootstrapDraws, bootstrap
from musclecog.mediation.delta import DeltaMethod, ratio_gradient
from musclecog.mediation.estimates import (
    bootstrap_estimate,
    coefficient,
    edge,
    effect,
    failed_resamples,
)
from musclecog.mediation.frame import (
    Equation,
    ModelFrame,
    fit_equation,
    model_frame,
    per_unit_exposure,
    survey_equation,
)
from musclecog.mediation.graph import path_coefficients, path_product, simple_paths
from musclecog.mediation.imai import METHOD as IMAI_METHOD
from musclecog.mediation.imai import exposure_contrast, imai_estimates
from musclecog.mediation.results import Effect, MediationResult, PathEdge
from musclecog.mediation.spec import (
    MediationModel,
    ParallelMediationSpec,
    SerialMediationSpec,
    SimpleMediationSpec,
)
from musclecog.survey import SurveyDesign, joint_covariance, survey_design

logger = logging.getLogger(__name__)

DESIGN_NOTE = (
    "design-based delta method: svyglm paths, joint Taylor-linearised covariance of the stacked "
    "estimating equations (svycontrast); z test, normal CI"
)
IMAI_DESIGN_NOTE = "survey design not used: the Imai et al. simulation is unweighted"
EFFECT_LABELS = {"indirect_total": "total indirect", "proportion_mediated": "proportion mediated"}


def sobel(a: float, se_a: float, b: float, se_b: float) -> tuple[float, float, float]:
    """Sobel (1982) first-order test of ``a b``: (standard error, z, two-sided normal p)."""
    se = math.sqrt(b**2 * se_a**2 + a**2 * se_b**2)
    z = float(wald_statistic(np.asarray(a * b), np.asarray(se)))
    return se, z, float(wald_p_value(np.asarray(z), None))


def _label(model: MediationModel, frm: str, to: str) -> str:
    single = len(model.mediators) == 1
    if frm == model.exposure and to == model.outcome:
        return "c_prime"
    if frm == model.exposure:
        return "a" if single else f"a[{to}]"
    if to == model.outcome:
        return "b" if single else f"b[{frm}]"
    return f"d[{frm}->{to}]"


def _check_model(model: MediationModel, source: str) -> None:
    if not model.mediators:
        raise ConfigError(f"{source}: give at least one mediator (key 'mediator' or 'mediators')")
    if (
        model.exposure in model.mediators
        or model.outcome in model.mediators
        or model.exposure == model.outcome
    ):
        raise ConfigError(
            f"{source}: exposure '{model.exposure}', mediators {list(model.mediators)} and outcome "
            f"'{model.outcome}' must be different columns; a mediator identical to the exposure has no "
            "indirect path to estimate."
        )
    if model.serial and len(model.mediators) < 2:
        raise ConfigError(
            f"{source}.mediators: serial mediation needs 2 or more mediators in causal order; got "
            f"{list(model.mediators)} (use simple_mediation for one)"
        )


@dataclass
class _Fitted:
    """The full-sample fits and bootstrap of one mediation model (shared by the row builders)."""

    model: MediationModel
    frame: ModelFrame
    equations: list[Equation]
    fits: dict[str, FitResult]
    total: FitResult
    boot: BootstrapDraws | None
    delta: DeltaMethod | None = None
    """The design-based covariance of the paths (None without a survey design)."""

    @property
    def coefs(self) -> dict[tuple[str, str], float]:
        return path_coefficients(self.equations, self.fits)

    def labels(self) -> dict[str, Any]:
        """The labels of the rows about X -> Y."""
        return {
            "method": self.model.method,
            "outcome": self.model.outcome,
            "exposure": self.model.exposure,
            "n": self.frame.n,
        }


def _paths(f: _Fitted) -> tuple[list[Estimate], list[PathEdge]]:
    rows, edges = [], []
    for eq in f.equations:
        for p in eq.predictors:
            term = _label(f.model, p, eq.outcome)
            est = coefficient(
                f.fits[eq.outcome],
                eq,
                p,
                term,
                "direct_effect" if term == "c_prime" else "path_coefficient",
                f.model.ci_level,
                f.model.method,
            )
            rows.append(est)
            edges.append(edge(est, "c'" if term == "c_prime" else term.split("[")[0]))
    return rows, edges


def _indirect_term(path: tuple[str, ...], single: bool) -> str:
    """``indirect`` (one mediator) or ``indirect[M1->M2]``."""
    return "indirect" if single else f"indirect[{'->'.join(path[1:-1])}]"


def _indirect(f: _Fitted) -> tuple[list[Estimate], list[Effect], float, np.ndarray | None]:
    """Specific indirect effects, their total (several mediators) and the Sobel test (one mediator)."""
    m = f.model
    paths = [p for p in simple_paths(f.equations, m.exposure, m.outcome) if len(p) > 2]
    single = len(m.mediators) == 1
    coefs, boot, level = f.coefs, f.boot, m.ci_level
    points = {p: float(path_product(p, coefs)) for p in paths}
    draws = {p: path_product(p, boot.coefs) for p in paths} if boot else {}
    total = float(sum(points.values()))
    total_draws = np.sum(list(draws.values()), axis=0) if boot else None
    suffix = (
        " (log-odds scale: a x b with b from the logistic outcome model)" if m.family == "binomial" else ""
    )
    rows, effects = [], []
    for p in paths:
        term = _indirect_term(p, single)
        est = bootstrap_estimate(
            term,
            "indirect_effect",
            points[p],
            draws.get(p),
            boot,
            level,
            path=" -> ".join(p),
            note=("", suffix),
            **f.labels(),
        )
        rows.append(est)
        effects.append(effect(term, est))
    if not single:
        est = bootstrap_estimate(
            "indirect_total",
            "indirect_effect",
            total,
            total_draws,
            boot,
            level,
            path="all indirect paths",
            **f.labels(),
        )
        rows.append(est)
        effects.append(effect("total indirect", est))
    else:
        (med,) = m.mediators
        a_fit, y_fit = f.fits[med], f.fits[m.outcome]
        se, z, pv = sobel(
            float(a_fit.params[m.exposure]),
            float(a_fit.std_errors[m.exposure]),
            float(y_fit.params[med]),
            float(y_fit.std_errors[med]),
        )
        rows.append(
            Estimate(
                term="sobel",
                estimate=points[paths[0]],
                scale="test",
                std_error=se,
                statistic=z,
                p_value=pv,
                note="Sobel (1982) normal-theory test of a x b",
                extra={"path": " -> ".join(paths[0])},
                **f.labels(),
            )
        )
    return rows, effects, total, total_draws


def _proportion(f: _Fitted, c: float, total: float, total_draws: np.ndarray | None) -> Estimate:
    """Total indirect / total effect, with bootstrap CIs of the ratio."""
    pm = total / c if c != 0 else math.nan
    pm_draws = None
    if f.boot is not None and total_draws is not None:
        c_draws = f.boot.coefs[(f.model.outcome, f.model.exposure)] + total_draws
        with np.errstate(divide="ignore", invalid="ignore"):
            pm_draws = total_draws / c_draws
    return bootstrap_estimate(
        "proportion_mediated",
        "proportion_mediated",
        pm,
        pm_draws,
        f.boot,
        f.model.ci_level,
        path="all indirect paths",
        note=("indirect / total effect (a b / c); ", ""),
        **f.labels(),
    )


def _defined(f: _Fitted, dm: DeltaMethod) -> dict[str, tuple[float, np.ndarray]]:
    """Term -> (estimate, gradient in the paths) of the indirect effects, their total, ``c`` (as ``c' +``
    the indirect effects) and the proportion mediated (the last two for a continuous outcome only)."""
    m = f.model
    paths = [p for p in simple_paths(f.equations, m.exposure, m.outcome) if len(p) > 2]
    single = len(m.mediators) == 1
    points = {p: float(path_product(p, f.coefs)) for p in paths}
    defined: dict[str, tuple[float, np.ndarray]] = {
        _indirect_term(p, single): (points[p], dm.path_gradient([p])) for p in paths
    }
    indirect, g_indirect = float(sum(points.values())), dm.path_gradient(paths)
    if not single:
        defined["indirect_total"] = (indirect, g_indirect)
    if m.family == "gaussian":
        total = dm.coefficient(m.outcome, m.exposure) + indirect
        g_total = g_indirect + dm.unit(m.outcome, m.exposure)
        defined["c"] = (total, g_total)
        if total != 0:
            defined["proportion_mediated"] = (
                indirect / total,
                ratio_gradient(indirect, g_indirect, total, g_total),
            )
    return defined


def _with_delta_method(f: _Fitted, rows: list[Estimate]) -> list[Estimate]:
    """Add delta-method SEs, z tests and Wald CIs (lavaan ``:=``) to the indirect rows and, for a continuous
    outcome, to the total effect ``c`` (as ``c' +`` the indirect effects) and the proportion mediated.

    The covariance of the paths is that of ``se_type`` (:mod:`musclecog.mediation.delta`), or the design's
    under a survey design. For a binary outcome the indirect effects are on the log-odds scale and
    ``c' + a b`` is not the total effect ``c`` (odds ratios are not collapsible), so only the indirect rows
    get the columns.
    """
    m = f.model
    dm = f.delta or DeltaMethod(f.equations, f.fits, f.frame, m.se_type)
    defined = _defined(f, dm)
    out = []
    for row in rows:
        if row.term in defined:
            est, grad = defined[row.term]
            row = row.replace(extra={**row.extra, **dm.columns(est, grad, m.ci_level)})
        out.append(row)
    return out


def _design_based(f: _Fitted, rows: list[Estimate]) -> list[Estimate]:
    """The indirect effects, their total and the proportion mediated with the design-based delta method
    in the main columns (``c`` keeps its own ``svyglm`` row); the Imai rows noted as unweighted."""
    assert f.delta is not None
    defined = _defined(f, f.delta)
    skipped = (
        f"; bootstrap not run under a survey design (bootstrap: {f.model.bootstrap} ignored)"
        if f.model.bootstrap > 0 else ""
    )
    suffix = " (log-odds scale: a x b with b from the logistic outcome model)" if f.model.family == "binomial" else ""
    out = []
    for row in rows:
        if row.term in defined and row.term != "c":
            est, grad = defined[row.term]
            cols = f.delta.columns(est, grad, f.model.ci_level)
            row = row.replace(
                std_error=cols["delta_std_error"],
                statistic=cols["delta_statistic"],
                p_value=cols["delta_p_value"],
                conf_low=cols["delta_conf_low"],
                conf_high=cols["delta_conf_high"],
                note=f"{DESIGN_NOTE}{skipped}{suffix}",
            )
        elif row.term == "sobel":
            row = row.replace(note=f"{row.note}, with the design-based SEs of a and b (the indirect row also "
                              "has their covariance)")
        elif row.method == IMAI_METHOD:
            row = row.replace(note="; ".join(x for x in (row.note, IMAI_DESIGN_NOTE) if x))
        out.append(row)
    return out


def _survey_fits(
    frame: ModelFrame, equations: list[Equation], total_eq: Equation, survey: SurveyDesign, source: str
) -> tuple[dict[str, FitResult], FitResult, DeltaMethod]:
    """Every equation and the total effect by ``svyglm``, and the paths' joint design-based covariance."""
    fitted = {eq.outcome: survey_equation(frame, eq, survey, source) for eq in equations}
    fits = {out: fit for out, (fit, _) in fitted.items()}
    total, _ = survey_equation(frame, total_eq, survey, source)
    blocks = []
    for eq in equations:
        fit, influence = fitted[eq.outcome]
        names = list(fit.params.index)
        blocks.append(influence[:, [names.index(p) for p in eq.predictors]])
    return fits, total, DeltaMethod(equations, fits, cov=joint_covariance(survey, blocks))


def fit_mediation_model(data: pd.DataFrame, model: MediationModel, context: RunContext) -> MediationResult:
    """Fit a simple, parallel or serial mediation model.

    Parameters
    ----------
    data : DataFrame
        The cohort table.
    model : MediationModel
        The model.
    context : RunContext
        Names and the bootstrap seed (``context.seed``).

    Returns
    -------
    MediationResult
        Estimates: the paths (a, b, d, c', with OLS t-based CIs as PROCESS), the total effect c, each specific
        indirect effect and (for several mediators) the total indirect effect with percentile and
        bias-corrected bootstrap CIs, the Sobel test (one mediator), the proportion mediated (continuous
        outcome) with bootstrap CIs, the number of failed resamples, and for a binary outcome the Imai et al.
        ACME/ADE. Fits: one per equation (``outcome ~ predictors``) and the total effect (``total: ...``).
    """
    source = context.where
    _check_model(model, source)
    frame = model_frame(data, [model.exposure, *model.mediators, model.outcome], model.covariates, source)
    frame, unit_cols, model = _per_unit(frame, model, source)
    equations = model.equations()
    total_eq = model.total_equation()
    if model.weighted:
        design, _ = survey_design(data, context)
        assert frame.rows is not None
        model = dataclasses.replace(model, method=f"survey-weighted {model.method}")
        fits, total_fit, delta = _survey_fits(frame, equations, total_eq, design.subset(frame.rows), source)
        if model.bootstrap > 0:
            logger.info("%s: no bootstrap under the survey design (bootstrap: %d ignored); design-based "
                        "delta-method CIs instead", source, model.bootstrap)
        f = _Fitted(model, frame, equations, fits, total_fit, None, delta)
    else:
        f = _Fitted(
            model,
            frame,
            equations,
            {eq.outcome: fit_equation(frame, eq, source, model.se_type) for eq in equations},
            fit_equation(frame, total_eq, source, model.se_type),
            bootstrap(frame, equations, model.bootstrap, context.seed, source) if model.bootstrap > 0 else None,
        )
    rows, edges = _paths(f)
    c = coefficient(f.total, total_eq, model.exposure, "c", "total_effect", model.ci_level, model.method)
    indirect, effects, total, total_draws = _indirect(f)
    rows += [c, *indirect]
    if model.family == "gaussian":
        rows.append(_proportion(f, c.estimate, total, total_draws))
        effects.append(effect("proportion mediated", rows[-1]))
    if model.family == "binomial" or model.imai_continuous:
        rows += imai_estimates(frame, model, context)
    if model.delta_method:
        rows = _with_delta_method(f, rows)
    if f.delta is not None:
        rows = _design_based(f, rows)
        c = next(r for r in rows if r.term == "c")
        effects = [effect(EFFECT_LABELS.get(r.term, r.term), r) for r in rows if r.term in _defined(f, f.delta)
                   and r.term != "c"] + [effect("c (total)", c)]
    else:
        effects.append(effect("c (total)", c))
    if f.boot is not None:
        rows.append(failed_resamples(f.boot, **f.labels()))
    if unit_cols:
        rows = [r.replace(extra={**r.extra, **unit_cols}) if _has_unit(r, model) else r for r in rows]
    fits = {eq.label: f.fits[eq.outcome] for eq in equations}
    fits[f"total: {total_eq.label}"] = f.total
    return MediationResult(
        analysis=context.analysis,
        cohort=context.cohort,
        estimates=tuple(rows),
        fits=MappingProxyType(fits),
        title=f"{context.analysis}: {model.method}",
        parents=_parents(equations),
        edges=tuple(edges),
        effects=tuple(effects),
        n=frame.n,
        draws=f.boot,
        exposure=model.exposure,
        mediators=model.mediators,
        outcome=model.outcome,
        serial=model.serial,
    )


def _per_unit(
    frame: ModelFrame, model: MediationModel, source: str
) -> tuple[ModelFrame, Mapping[str, str], MediationModel]:
    """``exposure_per``: the exposure divided by its divisor, the ``exposure_unit`` column, and the Imai
    contrast (given or default, in the exposure's own units) divided by the same divisor, so the ACME/ADE
    contrast the same two exposure values as without ``exposure_per``."""
    if model.exposure_per is None:
        return frame, {}, model
    raw = frame.column(model.exposure)
    scaled, divisor, unit = per_unit_exposure(frame, model.exposure, model.exposure_per, source)
    if model.family == "binomial" or model.imai_continuous:
        low, high = exposure_contrast(raw, model, source)
        model = dataclasses.replace(model, exposure_contrast=(low / divisor, high / divisor))
    return scaled, unit_columns(model.exposure_per, unit), model


def _has_unit(row: Estimate, model: MediationModel) -> bool:
    """Rows per unit of the exposure: the paths from it, c, the indirect effects (and the Sobel test); not the
    paths between mediators, the proportion mediated, counts or the Imai rows (a contrast of two values)."""
    return (
        row.exposure == model.exposure
        and row.method == model.method
        and row.scale not in ("proportion_mediated", "count")
    )


def _parents(equations: list[Equation]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({eq.outcome: eq.predictors for eq in equations})


def fit_simple_mediation(data: pd.DataFrame, spec: SimpleMediationSpec) -> MediationResult:
    """The ``simple_mediation`` analysis type: X -> M -> Y (PROCESS model 4).

    See :func:`fit_mediation_model`.
    """
    return fit_mediation_model(data, spec.model(), spec.context)


def fit_parallel_mediation(data: pd.DataFrame, spec: ParallelMediationSpec) -> MediationResult:
    """The ``parallel_mediation`` analysis type: X -> M1, M2, ... -> Y (PROCESS model 4); see
    :func:`fit_mediation_model`."""
    return fit_mediation_model(data, spec.model(), spec.context)


def fit_serial_mediation(data: pd.DataFrame, spec: SerialMediationSpec) -> MediationResult:
    """The ``serial_mediation`` analysis type: X -> M1 -> M2 (-> ...) -> Y (PROCESS model 6); see
    :func:`fit_mediation_model`."""
    return fit_mediation_model(data, spec.model(), spec.context)
