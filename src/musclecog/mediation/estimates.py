"""The reported quantities of the mediation family: path coefficients, bootstrap effects, resample counts.

Extra columns (``Estimate.extra``, in this order): ``path`` (the route, e.g. ``tug_s -> knee_ext_kg ->
mmse``), ``bc_conf_low``, ``bc_conf_high`` (bias-corrected bootstrap CI), ``n_boot``, ``n_boot_failed``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from musclecog.core.results import Estimate, FitResult
from musclecog.mediation.bootstrap import BootstrapDraws, bias_corrected_ci, percentile_ci
from musclecog.mediation.frame import Equation
from musclecog.mediation.results import Effect, PathEdge

LOGISTIC_NOTE = "logistic outcome model; std_error on the log-odds scale"


def coefficient(
    fit: FitResult, eq: Equation, predictor: str, term: str, scale: str, level: float, method: str
) -> Estimate:
    """A path coefficient with its Wald interval and test (t on the residual df for least squares, as
    PROCESS; z for a logistic equation, reported as an odds ratio)."""
    logistic = eq.family == "binomial"
    (est,) = fit.estimates(
        [predictor],
        "odds_ratio" if logistic else scale,
        level=level,
        df=True,
        note=LOGISTIC_NOTE if logistic else None,
        method=method,
        outcome=eq.outcome,
        exposure=predictor,
        extra={"path": f"{predictor} -> {eq.outcome}"},
    )
    return est.replace(term=term)


def edge(est: Estimate, name: str = "") -> PathEdge:
    """The arrow of a path coefficient for the diagram."""
    return PathEdge(est.exposure, est.outcome, name, est.estimate, est.conf_low, est.conf_high)


def effect(label: str, est: Estimate) -> Effect:
    """An effect for the diagram's caption."""
    return Effect(label, est.estimate, est.conf_low, est.conf_high)


def bootstrap_estimate(
    term: str,
    scale: str,
    estimate: float,
    draws: np.ndarray | None,
    boot: BootstrapDraws | None,
    level: float,
    *,
    path: str,
    note: tuple[str, str] = ("", ""),
    **labels: Any,
) -> Estimate:
    """An effect with its bootstrap SD, percentile CI (``conf_low/high``) and bias-corrected CI.

    ``note`` is a prefix and a suffix around the bootstrap note; ``labels`` are further :class:`Estimate`
    fields (``method``, ``outcome``, ``exposure``, ``n``).
    """
    prefix, suffix = note
    if draws is None or boot is None:
        return Estimate(
            term=term,
            estimate=estimate,
            scale=scale,
            note=f"{prefix}no bootstrap (bootstrap: 0){suffix}",
            extra={"path": path},
            **labels,
        )
    lo, hi = percentile_ci(draws, level)
    blo, bhi = bias_corrected_ci(draws, estimate, level)
    ok = np.isfinite(draws)
    text = (
        f"percentile bootstrap CI, {boot.n_resamples} resamples ({boot.n_failed} failed and excluded); "
        "bias-corrected CI in bc_conf_low/bc_conf_high"
    )
    return Estimate(
        term=term,
        estimate=estimate,
        scale=scale,
        std_error=float(np.std(draws[ok], ddof=1)) if ok.sum() > 1 else math.nan,
        conf_low=lo,
        conf_high=hi,
        note=f"{prefix}{text}{suffix}",
        extra={
            "path": path,
            "bc_conf_low": blo,
            "bc_conf_high": bhi,
            "n_boot": boot.n_resamples,
            "n_boot_failed": boot.n_failed,
        },
        **labels,
    )


def failed_resamples(boot: BootstrapDraws, **labels: Any) -> Estimate:
    """The count of resamples whose models could not be fitted (excluded from every bootstrap CI)."""
    reasons = "; ".join(f"{k}: {v}" for k, v in boot.reasons.items()) or "none"
    return Estimate(
        term="bootstrap_resamples_failed",
        estimate=float(boot.n_failed),
        scale="count",
        note=f"resamples whose models could not be fitted, excluded from the CIs ({reasons})",
        extra={"n_boot": boot.n_resamples, "n_boot_failed": boot.n_failed},
        **labels,
    )
