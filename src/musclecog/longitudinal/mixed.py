"""Analysis type ``mixed_model``: a linear mixed model of a repeated outcome on time, exposure,
exposure x time (the decline effect) and covariates, with a random intercept or correlated random intercept
and slope (``lme4::lmer``).

Two engines fit the same model into the same result (:class:`~musclecog.longitudinal.lmm.LMMFit`):
``profiled`` (:func:`~musclecog.longitudinal.lmm.fit_lmm`, profiled deviance on per-person sufficient
statistics, as lme4) and ``statsmodels`` (:func:`~musclecog.longitudinal.lmm.fit_lmm_statsmodels`, for
cross-checks); one code path turns either into a :class:`~musclecog.core.results.FitResult` and the
reported rows.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import strata
from musclecog.core.results import Diagnostics, Estimate, FitResult
from musclecog.longitudinal.data import TIME, Prepared, prepare_long
from musclecog.longitudinal.design import LongDesign, exposure_scale, long_design
from musclecog.longitudinal.lmm import (
    LMMFit,
    Satterthwaite,
    fit_lmm,
    fit_lmm_statsmodels,
    profile_intervals,
    random_effects,
    random_matrix,
    satterthwaite,
)
from musclecog.longitudinal.results import (
    Labels,
    LongitudinalResult,
    coefficients,
    fit_note,
    labels,
    make_result,
)
from musclecog.longitudinal.spec import LongitudinalSpec

log = logging.getLogger(__name__)

ENGINES: Mapping[str, Callable[..., LMMFit]] = {"profiled": fit_lmm, "statsmodels": fit_lmm_statsmodels}
"""``engine:`` -> fitter ``(y, X, Z, groups, reml=, maxiter=) -> LMMFit``."""

ENGINE_LABELS: Mapping[str, str] = {
    "profiled": "profiled deviance, lme4-style",
    "statsmodels": "statsmodels MixedLM",
}


@dataclass(frozen=True, kw_only=True)
class MixedModelSpec(LongitudinalSpec):
    """A linear mixed model (``workflow/schemas/analyses/mixed_model.schema.yaml``).

    Attributes
    ----------
    exposure : str
        Optional here: without one (``""``) the model is the outcome on time, covariates and the random
        effects, e.g. ``lmer(Reaction ~ Days + (Days | Subject))``.
    random : str
        ``intercept`` (random intercept) or ``slope`` (correlated random intercept and slope on time).
    reml : bool
        REML (as lme4) or ML (for likelihood-ratio comparisons of fixed effects).
    df_method : str
        ``satterthwaite`` (t tests and intervals on each fixed effect's Satterthwaite df, as
        ``summary(lmerTest::lmer(...))``) or ``wald`` (z, as ``confint(m, method = "Wald")``).
    engine : str
        ``profiled`` (fast; matches lme4) or ``statsmodels`` (MixedLM; slower, for cross-checks).
    max_iter : int
        Iteration limit per optimiser.
    variance_ci : str
        ``none`` or ``profile``: rows ``sd(Intercept)``, ``cor(Intercept,<time>)``, ``sd(<time>)`` and ``sigma``
        with profile-likelihood 95% CIs, as ``confint(m, method = "profile")`` (:func:`lmm.profile_intervals`).
    """

    TYPE: ClassVar[str] = "mixed_model"
    exposure: str = ""
    random: str = "slope"
    reml: bool = True
    df_method: str = "satterthwaite"
    engine: str = "profiled"
    max_iter: int = 2000
    variance_ci: str = "none"

    @property
    def method(self) -> str:
        """The ``method`` column."""
        effects = "intercept and slope" if self.random == "slope" else "intercept"
        crit = "REML" if self.reml else "ML"
        return f"linear mixed model ({crit}; random {effects}; {ENGINE_LABELS[self.engine]})"


@dataclass(frozen=True, kw_only=True)
class MixedModelResult(LongitudinalResult):
    """The result of a ``mixed_model`` analysis: per fit (``overall``, ``sex=female``, ...) the fixed effects,
    variance components, log-likelihood and convergence; the fits' diagnostics hold the variance components
    in ``statistics``.

    Attributes
    ----------
    random_effects : mapping
        Fit label -> the per-person BLUPs with their conditional SDs (columns ``term``, ``group``,
        ``condval``, ``condsd``, as ``as.data.frame(ranef(m, condVar = TRUE))``;
        :func:`~musclecog.longitudinal.lmm.random_effects`). Not written by the workflow (no table of
        its own): a library result.
    """

    random_effects: Mapping[str, pd.DataFrame] = field(default_factory=lambda: MappingProxyType({}))


def variance_components(fit: LMMFit, spec: MixedModelSpec) -> dict[str, float]:
    """``var(Intercept)``, ``var(<time>)``, ``cov(Intercept,<time>)`` (random slope) and ``var(Residual)``."""
    tname = spec.time_label
    out = {"var(Intercept)": float(fit.cov_re[0, 0])}
    if spec.random == "slope":
        out[f"var({tname})"] = float(fit.cov_re[1, 1])
        out[f"cov(Intercept,{tname})"] = float(fit.cov_re[0, 1])
    out["var(Residual)"] = float(fit.scale)
    return out


def information_criteria(fit: LMMFit, n_par: int) -> tuple[float, float]:
    """AIC and BIC as R's ``AIC(m)``, ``BIC(m)`` of an ``lmer`` fit: ``-2 logLik + 2 k`` and
    ``-2 logLik + k log(N)``, with the REML or ML log-likelihood of the fit, ``k`` fixed effects plus
    variance parameters and ``N`` observations."""
    return -2.0 * fit.llf + 2.0 * n_par, -2.0 * fit.llf + n_par * float(np.log(fit.n_obs))


def _message(fit: LMMFit) -> str:
    return f"{fit.method}; {fit.message}"


def to_fit_result(
    fit: LMMFit, design: LongDesign, spec: MixedModelSpec, prep: Prepared, satt: Satterthwaite | None = None
) -> FitResult:
    """The labelled fixed effects and how the fit went: t on Satterthwaite df per term when ``satt`` is
    given (lmerTest's ``summary``), otherwise Wald z (lme4's ``confint(method = "Wald")``)."""
    messages = [_message(fit)]
    if satt is not None and satt.message:
        messages.append(f"Satterthwaite df: {satt.message}")
    if fit.polish_steps:
        messages.append(
            f"theta polished by {fit.polish_steps} Newton steps (max |gradient| {fit.gradient:.1e})"
        )
    if fit.singular:
        messages.append("singular fit: a random-effect variance is estimated at zero")
    stats = {**variance_components(fit, spec), "people_with_a_single_visit": float(prep.n_single_visit)}
    diagnostics = Diagnostics(
        n=fit.n_obs,
        converged=fit.converged,
        log_likelihood=fit.llf,
        exclusions=prep.counts,
        n_groups=fit.n_groups,
        messages=tuple(messages),
        statistics=stats,
    )
    result = FitResult.from_arrays(
        list(design.x.columns),
        fit.params,
        fit.cov_params,
        None,
        diagnostics,
        method=spec.method,
        codings=design.codings,
    )
    return result if satt is None else result.with_term_df(satt.df)


def profile_rows(fit: LMMFit, spec: MixedModelSpec, lab: Labels) -> list[Estimate]:
    """``sd(Intercept)``, ``cor(Intercept,<time>)``, ``sd(<time>)``, ``sigma`` with profile CIs (``variance_ci:
    profile``); the estimates are the fit's (REML by default), the intervals profile the ML deviance, as
    ``confint`` of an ``lmer`` fit does."""
    if fit.profile_ci is None:
        return []
    sd = np.sqrt(np.diag(fit.cov_re))
    est = {"sd1": sd[0], "sigma": float(np.sqrt(fit.scale))}
    terms = {"sd1": "sd(Intercept)", "sigma": "sigma"}
    if sd.size == 2:
        est.update(sd2=sd[1], cor=float(fit.cov_re[0, 1] / (sd[0] * sd[1])) if sd[0] * sd[1] > 0 else float("nan"))
        terms.update(sd2=f"sd({spec.time_label})", cor=f"cor(Intercept,{spec.time_label})")
    note = ('profile-likelihood 95% CI on the ML deviance, as confint(m, method = "profile"); estimate from the '
            f'{"REML" if spec.reml else "ML"} fit')
    if fit.singular:
        note = "singular fit: no profile interval; " + note
    return [
        Estimate(term=terms[k], estimate=float(est[k]), scale="correlation" if k == "cor" else "sd",
                 conf_low=lo, conf_high=hi, n=fit.n_groups, note=note, **lab)
        for k, (lo, hi) in fit.profile_ci.items()
    ]


def mixed_estimates(
    fit: LMMFit, result: FitResult, spec: MixedModelSpec, prep: Prepared, stratum: str, unit: str | None = None
) -> list[Estimate]:
    """The rows of one fit: fixed effects, variance components, ``logLik`` and ``converged``."""
    note = fit_note(f"{fit.n_obs} observations of {fit.n_groups} people", prep, spec, stratum)
    if fit.singular:
        note += "; singular fit: a random-effect variance is estimated at zero"
    if not fit.converged:
        note = f"NOT CONVERGED ({_message(fit)}); " + note
        log.warning("%s [%s]: the mixed model did not converge: %s", spec.where, stratum, _message(fit))
    lab = labels(spec, spec.method, stratum, unit)
    satt = result.df_terms is not None
    if satt:
        note_beta = note + "; t tests on Satterthwaite df (lmerTest)"
        if result.df_terms is not None and result.df_terms.isna().any():
            note_beta += "; Wald z where the df could not be computed"
    out = coefficients(result, "beta", fit.n_groups, note_beta if satt else note, lab, df=satt)
    vc = variance_components(fit, spec)
    out += [
        Estimate(
            term=term,
            estimate=value,
            scale="variance",
            n=fit.n_groups,
            note="variance component (no Wald SE; use a likelihood-ratio test)",
            **lab,
        )
        for term, value in vc.items()
    ]
    out += profile_rows(fit, spec, lab)
    n_par = len(result.terms) + len(vc)
    crit = "REML" if spec.reml else "ML"
    out.append(
        Estimate(
            term=f"logLik ({crit})",
            estimate=fit.llf,
            scale="log_likelihood",
            n=fit.n_groups,
            df=float(n_par),
            note=f"{n_par} parameters",
            **lab,
        )
    )
    aic, bic = information_criteria(fit, n_par)
    what = "REML criterion: compare only fits with the same fixed effects" if spec.reml else "ML"
    out += [
        Estimate(
            term=name,
            estimate=value,
            scale="fit_index",
            n=fit.n_groups,
            df=float(n_par),
            note=f"R's {name}(m) on the {what}; {fit.n_obs} observations, {n_par} parameters",
            **lab,
        )
        for name, value in (("AIC", aic), ("BIC", bic))
    ]
    # kept as a row because today's tables have it; the same is in the fit's diagnostics
    status = "converged: " if fit.converged else "NOT CONVERGED: "
    out.append(
        Estimate(
            term="converged",
            estimate=float(fit.converged),
            scale="test",
            n=fit.n_groups,
            note=status + _message(fit),
            **lab,
        )
    )
    return out


def _fit_one(
    df: pd.DataFrame, spec: MixedModelSpec, where: str
) -> tuple[LMMFit, LongDesign, Satterthwaite | None, pd.DataFrame]:
    design = long_design(df, spec, where)
    rows = df.loc[design.x.index]
    Z = random_matrix(len(rows), rows[TIME].to_numpy(float) if spec.random == "slope" else None)
    engine = ENGINES[spec.engine]
    X, groups = design.x.to_numpy(), rows["id"].to_numpy()
    fit = engine(design.y, X, Z, groups, reml=spec.reml, maxiter=spec.max_iter)
    satt = satterthwaite(design.y, X, Z, groups, fit) if spec.df_method == "satterthwaite" else None
    names = ("(Intercept)", spec.time_label) if spec.random == "slope" else ("(Intercept)",)
    if spec.variance_ci == "profile":
        fit = dataclasses.replace(fit, profile_ci=profile_intervals(design.y, X, Z, groups, maxiter=spec.max_iter))
    return fit, design, satt, random_effects(design.y, X, Z, groups, fit, names)


def fit_mixed_model(data: pd.DataFrame, spec: MixedModelSpec) -> MixedModelResult:
    """Linear mixed model (analysis type ``mixed_model``).

    Matches ``lme4::lmer(y ~ time * exposure + covariates + (time | id))`` (``random: slope``) or
    ``(1 | id)`` (``random: intercept``), REML by default. Rows: the fixed effects (``scale: beta``; t tests
    and CIs on each term's Satterthwaite df, as ``summary(lmerTest::lmer(...))``, with the df in ``df``;
    Wald z with ``df_method: wald``), the variance components (``scale: variance``: ``var(Intercept)``, ``var(time)``,
    ``cov(Intercept,time)``, ``var(Residual)``), the log-likelihood (``scale: log_likelihood``) and a
    ``converged`` row (1/0) carrying the optimiser's message. A fit that did not converge keeps its
    estimates, flagged ``NOT CONVERGED`` in every row's note.

    Parameters
    ----------
    data : DataFrame
        The long cohort table (one row per person x visit).
    spec : MixedModelSpec

    Returns
    -------
    MixedModelResult
    """
    prep = prepare_long(data, spec)
    scaled, unit = exposure_scale(prep.frame, spec)
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    blups: dict[str, pd.DataFrame] = {}
    for stratum in strata(prep.frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = prep.frame.loc[stratum.mask]
        at = f"{spec.where} [{stratum.label}]"
        fit, design, satt, blups[stratum.label] = _fit_one(df, scaled, at)
        result = to_fit_result(fit, design, spec, prep, satt)
        fits[stratum.label] = result
        estimates += mixed_estimates(fit, result, spec, prep, stratum.label, unit)
    by = f"by {spec.exposure}" if spec.exposure else f"over {spec.time_label}"
    title = f"{spec.context.analysis}: {spec.outcome} {by}"
    out = make_result(MixedModelResult, spec, prep, estimates, fits, title)
    return dataclasses.replace(out, random_effects=MappingProxyType(blups))
