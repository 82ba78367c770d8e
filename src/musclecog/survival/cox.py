"""Cox proportional hazards (analysis type ``cox``), Efron (or Breslow) ties, on follow-up time or on the age
scale with delayed entry.

Two engines fit the same model and hand back the same :class:`CoxModel`, so everything after the fit
(labels, hazard ratios, the proportional-hazards test, the rows) is one code path:

* ``efron`` (default): the vectorised Newton-Raphson of :mod:`musclecog.survival.efron`, equal to
  ``survival::coxph`` to 1e-7;
* ``lifelines``: lifelines' ``CoxPHFitter``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import (
    Design,
    DesignSpec,
    Stratum,
    build_design,
    per_unit_scale,
    strata,
    unit_columns,
)
from musclecog.core.distributions import chi2_sf
from musclecog.core.results import Diagnostics, Estimate, FitResult
from musclecog.errors import ConfigError, ModelError
from musclecog.survival.concordance import Concordance, concordance
from musclecog.survival.data import Labels, SurvivalData, SurvivalSpec, prepare_survival
from musclecog.survival.efron import TIES, fit_cox_efron, score_test
from musclecog.survival.ph import GLOBAL, TRANSFORMS, PHTest, cox_zph, ph_note
from musclecog.survival.results import CoxResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CoxSpec(SurvivalSpec):
    """A ``cox`` analysis (``workflow/schemas/analyses/cox.schema.yaml``).

    Attributes
    ----------
    covariates : tuple of str
        Adjustment columns; non-numeric ones (and those in ``categorical``) are dummy-coded.
    engine : str
        ``efron`` (vectorised Newton-Raphson) or ``lifelines`` (``CoxPHFitter``).
    ties : str
        Tied event times: ``efron`` (R ``coxph``'s default) or ``breslow`` (engine ``efron`` only).
    ph_test : bool
        Report the proportional-hazards test per term and ``GLOBAL`` (R ``cox.zph``).
    ph_transform : str
        Time transform of the PH test: ``km`` (R's default), ``rank``, ``identity`` or ``log``.
    ph_terms : bool
        Test a factor's columns together (R ``cox.zph(terms = TRUE)``, the default), else each column.
    exposure_per : str, float or None
        ``sd`` (the SD of the exposure in the analysis rows, after exclusions) or a number: hazard ratios
        per SD or per that many units of a numeric exposure; ``None``: per unit.
    """

    TYPE: ClassVar[str] = "cox"
    covariates: tuple[str, ...] = ()
    exposure_per: str | float | None = None
    engine: str = "efron"
    ties: str = "efron"
    ph_test: bool = True
    ph_transform: str = "km"
    ph_terms: bool = True

    @property
    def factors(self) -> tuple[str, ...]:
        """Columns dummy-coded although numeric: ``categorical``, and the exposure when it has a reference."""
        return (*self.categorical, *((self.exposure,) if self.exposure_reference is not None else ()))

    def design_spec(self, exposure_scale: float = 1.0) -> DesignSpec:
        """The design: exposure (divided by ``exposure_scale``) then covariates, no intercept;
        ``exposure_reference`` makes the exposure a factor with that reference level."""
        ref = self.exposure_reference is not None
        return DesignSpec(
            outcome=None,
            exposure=self.exposure,
            covariates=self.covariates,
            factors=self.factors,
            references={self.exposure: self.exposure_reference} if ref else {},
            intercept=False,
            scales={self.exposure: exposure_scale} if exposure_scale != 1.0 else {},
        )


@dataclass(frozen=True)
class CoxModel:
    """What an engine returns: coefficients on the design's columns and how the fit went."""

    params: np.ndarray
    cov: np.ndarray
    std_errors: np.ndarray
    loglik: float
    loglik_null: float
    converged: bool
    message: str
    iterations: int | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoxData:
    """Times, events and the design of one stratum; ``x`` is the design matrix in column-major order (the
    layout of the data-frame-built matrix the engine was validated on: the same summation order in the
    column means and products, so the same numbers to the last bit)."""

    T: np.ndarray
    E: np.ndarray
    T0: np.ndarray | None
    design: Design
    x: np.ndarray
    ties: str = "efron"


def _efron_engine(d: CoxData, where: str) -> CoxModel:
    f = fit_cox_efron(d.T, d.E, d.x, T0=d.T0, residuals=False, ties=d.ties)
    if not np.all(np.isfinite(f.params)) or not np.all(np.isfinite(f.std_errors)):
        raise ModelError(f"{where}: the Cox model could not be fitted: {f.message}")
    return CoxModel(
        f.params,
        f.cov,
        f.std_errors,
        f.loglik,
        f.loglik_null,
        f.converged,
        f"Newton-Raphson (numpy {d.ties.capitalize()}): {f.message}",
        f.n_iter,
    )


def _lifelines_engine(d: CoxData, where: str) -> CoxModel:
    from lifelines import CoxPHFitter  # lifelines takes about a second to import; only this engine pays

    names = list(d.design.names)
    time, event, entry = "(time)", "(event)", None  # names no design column has
    frame = pd.DataFrame(d.x, columns=names).assign(**{time: d.T, event: d.E})
    if d.T0 is not None:
        entry = "(entry)"
        frame[entry] = d.T0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph = CoxPHFitter().fit(frame, duration_col=time, event_col=event, entry_col=entry)
        except Exception as exc:  # lifelines' ConvergenceError, LinAlgError, ValueError
            raise ModelError(f"{where}: the Cox model could not be fitted: {exc}") from exc
    null_frame = frame[[time, event, *([entry] if entry else [])]]
    null = CoxPHFitter().fit(null_frame, duration_col=time, event_col=event, entry_col=entry)
    return CoxModel(
        cph.params_[names].to_numpy(float),
        cph.variance_matrix_.loc[names, names].to_numpy(float),
        cph.standard_errors_[names].to_numpy(float),
        float(cph.log_likelihood_),
        float(null.log_likelihood_),
        True,
        f"lifelines CoxPHFitter (concordance {cph.concordance_index_:.4f})",
        warnings=tuple(sorted({str(w.message).splitlines()[0] for w in caught})),
    )


ENGINES: dict[str, Callable[[CoxData, str], CoxModel]] = {
    "efron": _efron_engine,
    "lifelines": _lifelines_engine,
}
"""Engine name (the ``engine`` key) -> the function that fits one stratum."""

ENGINE_NAMES = {"efron": "numpy Newton-Raphson", "lifelines": "lifelines"}


def _stratum_data(sd: SurvivalData, stratum: Stratum, spec: CoxSpec, where: str, scale: float) -> CoxData:
    df = sd.frame.loc[stratum.mask]
    design = build_design(df, spec.design_spec(scale), where)
    rows = design.rows
    T0 = df["T0"].to_numpy(float)[rows] if sd.delayed_entry else None
    x = np.asfortranarray(design.x)
    return CoxData(df["T"].to_numpy(float)[rows], df["E"].to_numpy(int)[rows], T0, design, x, spec.ties)


def ph_terms(design: Design, by_term: bool) -> list[tuple[str, list[int]]]:
    """The terms of the PH test: each variable's columns together (``by_term``), else one per column."""
    names = list(design.names)
    if not by_term:
        return [(name, [j]) for j, name in enumerate(names)]
    out: list[tuple[str, list[int]]] = []
    for var, coding in design.codings.items():
        cols = [names.index(c) for c in coding.columns if c in names]
        if cols:
            out.append((var if len(cols) > 1 else names[cols[0]], cols))
    seen = {j for _, cols in out for j in cols}
    out += [(name, [j]) for j, name in enumerate(names) if j not in seen]
    return sorted(out, key=lambda term: term[1][0])


def _ph(model: CoxModel, d: CoxData, spec: CoxSpec) -> PHTest:
    return cox_zph(
        d.T,
        d.E,
        d.x,
        model.params,
        d.T0,
        ties=d.ties,
        transform=spec.ph_transform,
        terms=ph_terms(d.design, spec.ph_terms),
    )


@dataclass(frozen=True)
class GlobalTests:
    """The tests of all coefficients zero and the concordance, as ``summary(coxph(...))`` prints them."""

    likelihood_ratio: float
    wald: float
    score: float
    df: int
    concordance: Concordance

    def statistics(self) -> dict[str, float]:
        """For ``Diagnostics.statistics``."""
        c = self.concordance
        return {
            "likelihood_ratio_test": self.likelihood_ratio,
            "wald_test": self.wald,
            "score_test": self.score,
            "concordance": c.concordance,
            "concordance_std_error": c.std_error,
        }


def _global_tests(model: CoxModel, d: CoxData) -> GlobalTests:
    """``summary(coxph)``'s ``logtest``, ``waldtest`` and ``sctest`` (df = coefficients) and
    ``concordance``."""
    b = model.params
    try:
        wald = float(b @ np.linalg.solve(model.cov, b))
    except np.linalg.LinAlgError:
        wald = float("nan")
    return GlobalTests(
        likelihood_ratio=2.0 * (model.loglik - model.loglik_null),
        wald=wald,
        score=score_test(d.T, d.E, d.x, d.T0, d.ties),
        df=int(b.size),
        concordance=concordance(d.T, d.E, d.x @ b, d.T0),
    )


GLOBAL_TESTS = {
    "lr_test": ("likelihood_ratio", "likelihood-ratio test, all coefficients 0 (R summary(coxph)$logtest)"),
    "wald_test": ("wald", "Wald test, all coefficients 0 (R summary(coxph)$waldtest)"),
    "score_test": ("score", "score (log-rank) test, all coefficients 0 (R summary(coxph)$sctest)"),
}
"""Row term -> (attribute of :class:`GlobalTests`, note)."""


def _global_rows(tests: GlobalTests, n: int, n_ev: int | None, labels: Labels) -> list[Estimate]:
    rows = []
    for term, (attr, note) in GLOBAL_TESTS.items():
        stat = float(getattr(tests, attr))
        rows.append(
            Estimate(
                term=term,
                estimate=stat,
                scale="chi_squared",
                p_value=float(chi2_sf(stat, tests.df)),
                n=n,
                n_events=n_ev,
                statistic=stat,
                df=float(tests.df),
                note=note,
                **labels,
            )
        )
    c = tests.concordance
    rows.append(
        Estimate(
            term="concordance",
            estimate=c.concordance,
            std_error=c.std_error,
            scale="concordance",
            n=n,
            n_events=n_ev,
            note=(
                "Harrell's C of the linear predictor, infinitesimal-jackknife SE (R "
                f"summary(coxph)$concordance); pairs: {c.concordant:.0f} concordant, "
                f"{c.discordant:.0f} discordant, {c.tied_x:.0f} tied"
            ),
            **labels,
        )
    )
    return rows


def _fit_result(
    model: CoxModel, d: CoxData, sd: SurvivalData, method: str, tests: GlobalTests
) -> FitResult:
    dropped = tuple(f"covariate {c!r} is constant in these rows; left out" for c in d.design.dropped)
    diagnostics = Diagnostics(
        n=d.design.n,
        converged=model.converged,
        log_likelihood=model.loglik,
        exclusions=sd.counts(),
        n_events=int(d.E.sum()),
        iterations=model.iterations,
        messages=(model.message, *model.warnings, *dropped),
        statistics={"log_likelihood_null": model.loglik_null, **tests.statistics()},
    )
    return FitResult.from_arrays(
        d.design.names,
        model.params,
        model.cov,
        None,
        diagnostics,
        std_errors=model.std_errors,
        method=method,
        codings=d.design.codings,
    )


def _note(sd: SurvivalData, stratum: Stratum, model: CoxModel) -> str:
    """The exclusions (on the overall fit), the fitter's warnings, and non-convergence first."""
    note = sd.note() if stratum.label == "overall" else ""
    if model.warnings:
        note = "; ".join([note, *model.warnings]) if note else "; ".join(model.warnings)
    if not model.converged:
        note = f"NOT CONVERGED ({model.message}); " + note
    return note


def _model_estimates(
    fit: FitResult, ph: PHTest | None, model: CoxModel, tests: GlobalTests, note: str, labels: Labels
) -> list[Estimate]:
    """Hazard ratios, the PH test per term, the partial log-likelihood, the global tests and concordance,
    and convergence of one model.

    ``logLik (partial)`` and ``converged`` are rows of today's table (golden); they are also in
    ``fit.diagnostics``.
    """
    n, n_ev = fit.diagnostics.n, fit.diagnostics.n_events
    out = fit.estimates(fit.terms, "hazard_ratio", note=note, n_events=n_ev, **labels)
    if ph is not None:
        base = ph_note(ph.transform)
        for term, stat, df, p in zip(ph.terms, ph.statistic, ph.df, ph.p_value, strict=True):
            note = base if term != GLOBAL else f"{base}; all terms jointly"
            if not np.isfinite(stat):
                note = f"{note}; not computed: {ph.message}"
            out.append(
                Estimate(
                    term=f"ph_test:{term}",
                    estimate=float(stat),
                    scale="chi_squared",
                    p_value=float(p),
                    n=n,
                    n_events=n_ev,
                    statistic=float(stat),
                    df=float(df),
                    note=note,
                    **labels,
                )
            )
    out.append(
        Estimate(
            term="logLik (partial)",
            estimate=model.loglik,
            scale="log_likelihood",
            n=n,
            n_events=n_ev,
            df=float(len(fit.terms)),
            note=f"null model {model.loglik_null:.6f}; {model.message}",
            **labels,
        )
    )
    out += _global_rows(tests, n, n_ev, labels)
    out.append(
        Estimate(
            term="converged",
            estimate=float(model.converged),
            scale="test",
            n=n,
            n_events=n_ev,
            note=("converged: " if model.converged else "NOT CONVERGED: ") + model.message,
            **labels,
        )
    )
    return out


def fit_cox(data: pd.DataFrame, spec: CoxSpec) -> CoxResult:
    """Cox proportional hazards model (analysis type ``cox``).

    Matches ``survival::coxph(Surv(duration, event) ~ exposure + covariates, ties = ties)`` or, with
    ``entry``/``exit``, ``coxph(Surv(entry, exit, event) ~ ...)`` (age as time scale, delayed entry).

    Parameters
    ----------
    data : DataFrame
        The cohort table.
    spec : CoxSpec

    Returns
    -------
    CoxResult
        One :class:`~musclecog.core.results.FitResult` per stratum (``fits``) and the rows: hazard
        ratios (``scale: hazard_ratio``, exponentiated with exponentiated limits, ``std_error`` on the log
        scale), the PH test per term and jointly (``term: ph_test:<term>``, ``ph_test:GLOBAL``, ``scale:
        chi_squared``, df the term's columns; R ``cox.zph(fit, transform = ph_transform)``), the partial
        log-likelihood (``scale: log_likelihood``), the likelihood-ratio, Wald and score tests of all
        coefficients (``lr_test``, ``wald_test``, ``score_test``; ``chi_squared``) and Harrell's C with its SE
        (``concordance``), ``converged``, and the exclusions (``count``).
    """
    where = spec.where
    try:
        engine = ENGINES[spec.engine]
    except KeyError:
        raise ConfigError(f"{where}.engine must be one of {sorted(ENGINES)}, got {spec.engine!r}") from None
    if spec.ties not in TIES:
        raise ConfigError(f"{where}.ties must be one of {list(TIES)}, got {spec.ties!r}")
    if spec.ties != "efron" and spec.engine == "lifelines":
        raise ConfigError(
            f"{where}: engine 'lifelines' fits Efron ties only; use engine: efron for ties: {spec.ties}"
        )
    if spec.ph_transform not in TRANSFORMS:
        raise ConfigError(
            f"{where}.ph_transform must be one of {list(TRANSFORMS)}, got {spec.ph_transform!r}"
        )
    sd = prepare_survival(data, spec, [spec.exposure, *spec.covariates])
    ties = spec.ties.capitalize()
    method = f"Cox proportional hazards ({ties} ties; {ENGINE_NAMES[spec.engine]}), {spec.time_scale}"
    # exposure_per: one SD over the analysis rows (after exclusions), shared by the strata
    divisor, unit = per_unit_scale(sd.frame, spec.exposure, spec.exposure_per, where, factors=spec.factors)
    unit_cols = unit_columns(spec.exposure_per, unit)
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    ph_tests: dict[str, PHTest] = {}
    fit_rows: dict[str, np.ndarray] = {}
    for stratum in strata(sd.frame, spec.stratify_by, where, overall=spec.overall):
        at = f"{where} [{stratum.label}]"
        d = _stratum_data(sd, stratum, spec, at, divisor)
        model = engine(d, at)
        if not model.converged:
            log.warning("%s: the Cox model did not converge: %s", at, model.message)
        tests = _global_tests(model, d)
        fit = _fit_result(model, d, sd, method, tests)
        ph = _ph(model, d, spec) if spec.ph_test else None
        labels = Labels(method=method, outcome=spec.event, exposure=spec.exposure, stratum=stratum.label)
        rows = _model_estimates(fit, ph, model, tests, _note(sd, stratum, model), labels)
        estimates += [e.replace(extra={**e.extra, **unit_cols}) for e in rows] if unit_cols else rows
        fits[stratum.label] = fit
        fit_rows[stratum.label] = np.flatnonzero(np.asarray(stratum.mask))[d.design.rows]
        if ph is not None:
            ph_tests[stratum.label] = ph
    estimates += sd.estimates(method=method, outcome=spec.event, exposure=spec.exposure)
    return CoxResult(
        analysis=spec.context.analysis,
        cohort=spec.context.cohort,
        estimates=tuple(estimates),
        fits=fits,
        title=f"{spec.context.analysis}: {spec.event} by {spec.exposure}",
        data=sd,
        group=spec.exposure,
        time_label=spec.time_name,
        ph_tests=ph_tests,
        fit_rows=fit_rows,
    )
