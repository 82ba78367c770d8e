"""Recursive path models: equation-wise least squares (= lavaan ML), effects, and fit indices.

Effects (Bollen 1987): direct = the coefficient, total = ``(I - B)^-1 - I``, indirect = total - direct, and
every specific indirect path (product of coefficients), each with percentile and bias-corrected bootstrap CIs.
Also each equation's R-squared and, for an over-identified model, the chi-square test against the saturated
model with RMSEA, CFI and TLI (:func:`path_fit_indices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.distributions import chi2_sf
from musclecog.core.results import Estimate, FitResult
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.mediation.bootstrap import BootstrapDraws, bootstrap
from musclecog.mediation.estimates import bootstrap_estimate, coefficient, edge, effect, failed_resamples
from musclecog.mediation.frame import Equation, ModelFrame, fit_equation, model_frame, rhs
from musclecog.mediation.graph import (
    causal_order,
    effect_matrix,
    path_coefficients,
    path_product,
    simple_paths,
    total_effects,
)
from musclecog.mediation.results import Effect, PathEdge, PathModelResult
from musclecog.mediation.spec import PathModelSpec

METHOD = "recursive path model (equation-wise least squares)"


# ---------------------------------------------------------------------------------------- fit indices
def _rss(frame: ModelFrame, outcome: str, predictors: Sequence[str], covariates: bool = True) -> float:
    idx = (
        [0]
        + [frame.col(p) for p in predictors]
        + ([frame.col(c) for c in frame.covariates] if covariates else [])
    )
    X, y = frame.values[:, idx], frame.column(outcome)
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    return float(resid @ resid)


def path_fit_indices(
    frame: ModelFrame, equations: Sequence[Equation], order: Sequence[str]
) -> dict[str, float]:
    """Likelihood-ratio chi-square of a recursive path model against the saturated model, RMSEA, CFI and TLI.

    With uncorrelated disturbances the normal likelihood (conditional on the exogenous variables, lavaan's
    ``fixed.x = TRUE``) factorises by equation, so ``chi2 = N sum_eq log(RSS_model / RSS_saturated)``, where
    the saturated equation regresses each endogenous variable on every variable before it in a causal order;
    the baseline model has every endogenous variable independent of all others, covariates included (lavaan's
    independence model with fixed exogenous variables). df = the number of omitted paths. RMSEA uses N
    (lavaan's default).
    """
    n = frame.n
    chi2 = base = 0.0
    df = df_base = 0
    for eq in equations:
        earlier = list(order[: list(order).index(eq.outcome)])
        sat = _rss(frame, eq.outcome, earlier)
        chi2 += n * np.log(_rss(frame, eq.outcome, list(eq.predictors)) / sat)
        base += n * np.log(_rss(frame, eq.outcome, [], covariates=False) / sat)
        df += len(earlier) - len(eq.predictors)
        df_base += len(earlier) + len(frame.covariates)
    out = {"chi2": max(chi2, 0.0), "df": float(df), "chi2_baseline": base, "df_baseline": float(df_base)}
    if df > 0:
        out["p"] = float(chi2_sf(out["chi2"], df))
        out["rmsea"] = float(np.sqrt(max(out["chi2"] - df, 0.0) / (df * n)))
        d_model, d_base = max(out["chi2"] - df, 0.0), max(base - df_base, 0.0)
        out["cfi"] = 1.0 - d_model / max(d_base, d_model) if max(d_base, d_model) > 0 else 1.0
        out["tli"] = ((base / df_base) - (out["chi2"] / df)) / ((base / df_base) - 1.0)
    return out


def _fit_index_estimates(fi: dict[str, float], equations: Sequence[Equation], n: int) -> list[Estimate]:
    labels: dict[str, Any] = {
        "method": METHOD,
        "outcome": ", ".join(eq.outcome for eq in equations),
        "exposure": "model",
        "n": n,
    }
    over = fi["df"] > 0
    rows = [
        Estimate(
            term="chi_squared",
            estimate=fi["chi2"],
            scale="chi_squared",
            statistic=fi["chi2"],
            df=fi["df"],
            p_value=fi.get("p", np.nan),
            note="LR test against the saturated model" if over else "saturated model (0 df): no test",
            **labels,
        )
    ]
    rows += [
        Estimate(term=key, estimate=fi[key], scale="fit_index", **labels)
        for key in (("rmsea", "cfi", "tli") if over else ())
    ]
    return rows


# ------------------------------------------------------------------------------------------- fitting
@dataclass
class _Fitted:
    frame: ModelFrame
    equations: list[Equation]
    fits: dict[str, FitResult]
    boot: BootstrapDraws | None
    order: list[str]
    level: float

    @property
    def coefs(self) -> dict[tuple[str, str], float]:
        return path_coefficients(self.equations, self.fits)


def _r_squared(f: _Fitted, eq: Equation) -> Estimate:
    y = f.frame.column(eq.outcome)
    X = f.frame.values[:, rhs(f.frame, eq)]
    resid = y - X @ f.fits[eq.outcome].params.to_numpy()
    r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    return Estimate(
        term="r_squared",
        estimate=float(r2),
        scale="r_squared",
        n=f.frame.n,
        method=METHOD,
        outcome=eq.outcome,
        exposure=" + ".join(eq.predictors),
        note="including covariates" if f.frame.covariates else "",
    )


def _path_estimates(f: _Fitted) -> tuple[list[Estimate], list[PathEdge]]:
    rows, edges = [], []
    for eq in f.equations:
        for p in eq.predictors:
            est = coefficient(f.fits[eq.outcome], eq, p, "path", "path_coefficient", f.level, METHOD)
            rows.append(est)
            edges.append(edge(est))
        rows.append(_r_squared(f, eq))
    return rows, edges


def _effects_of(f: _Fitted, x: str, y: str, effects: tuple[np.ndarray, ...]) -> list[Estimate]:
    """Direct (if a path), indirect (if any) and total effect of ``x`` on ``y``, and every specific indirect
    path when there are several."""
    B, T, Bb, Tb = effects
    paths = simple_paths(f.equations, x, y)
    if not paths:
        return []
    pos = {v: i for i, v in enumerate(f.order)}
    i, j = pos[y], pos[x]
    boot = f.boot
    items: list[tuple[str, str, float, np.ndarray | None, str]] = []
    if (y, x) in f.coefs:
        items.append(
            ("direct", "direct_effect", float(B[i, j]), Bb[:, i, j] if boot else None, f"{x} -> {y}")
        )
    indirect_paths = [p for p in paths if len(p) > 2]
    if indirect_paths:
        items.append(
            (
                "indirect",
                "indirect_effect",
                float(T[i, j] - B[i, j]),
                (Tb[:, i, j] - Bb[:, i, j]) if boot else None,
                "all indirect paths",
            )
        )
    items.append(("total", "total_effect", float(T[i, j]), Tb[:, i, j] if boot else None, "all paths"))
    for p in indirect_paths if len(indirect_paths) > 1 else []:
        items.append(
            (
                f"indirect[{'->'.join(p[1:-1])}]",
                "indirect_effect",
                float(path_product(p, f.coefs)),
                path_product(p, boot.coefs) if boot else None,
                " -> ".join(p),
            )
        )
    return [
        bootstrap_estimate(
            term,
            scale,
            est,
            draws,
            boot,
            f.level,
            path=path,
            method=METHOD,
            outcome=y,
            exposure=x,
            n=f.frame.n,
        )
        for term, scale, est, draws, path in items
    ]


def _effect_matrices(f: _Fitted) -> tuple[np.ndarray, ...]:
    """Direct and total effect matrices, of the full sample and of every resample."""
    B = effect_matrix(f.order, f.coefs)
    T = total_effects(B)
    if f.boot is None:
        return B, T, B[None], T[None]
    Bb = effect_matrix(f.order, f.boot.coefs)
    good = ~f.boot.failed
    Tb = np.full_like(Bb, np.nan)
    Tb[good] = total_effects(Bb[good])
    return B, T, Bb, Tb


def fit_path_model(data: pd.DataFrame, spec: PathModelSpec) -> PathModelResult:
    """Fit a recursive path model and its direct, indirect and total effects (Bollen 1987).

    Each equation is fitted by least squares (= lavaan ML for a recursive model with uncorrelated
    disturbances); see the module docstring for the effects and fit indices.

    Returns
    -------
    PathModelResult
        Estimates: every path coefficient and each equation's R-squared, the chi-square test (and RMSEA, CFI,
        TLI when over-identified), direct / indirect / total effects of each exposure on each endogenous
        variable with bootstrap CIs, and the number of failed resamples.
    """
    context: RunContext = spec.context
    source = context.where
    equations = spec.equation_list()
    order = causal_order(equations, source)
    endogenous = [eq.outcome for eq in equations]
    exposures = list(spec.exposures) or [v for v in order if v not in endogenous]
    unknown = [e for e in exposures if e not in order]
    if unknown:
        raise ConfigError(f"{source}.exposures: {unknown} do not appear in any equation (variables: {order})")
    frame = model_frame(data, order, spec.covariates, source)
    f = _Fitted(
        frame,
        equations,
        {eq.outcome: fit_equation(frame, eq, source, spec.se_type) for eq in equations},
        bootstrap(frame, equations, spec.bootstrap, context.seed, source) if spec.bootstrap > 0 else None,
        order,
        spec.ci_level,
    )
    rows, edges = _path_estimates(f)
    fi = path_fit_indices(frame, equations, order)
    rows += _fit_index_estimates(fi, equations, frame.n)
    matrices = _effect_matrices(f)
    effects: list[Effect] = []
    for x in exposures:
        for y in endogenous:
            found = _effects_of(f, x, y, matrices)
            rows += found
            effects += [effect(f"{x} -> {y} indirect", e) for e in found if e.term == "indirect"]
    if f.boot is not None:
        rows.append(
            failed_resamples(
                f.boot, method=METHOD, outcome=", ".join(endogenous), exposure=", ".join(exposures), n=frame.n
            )
        )
    return PathModelResult(
        analysis=context.analysis,
        cohort=context.cohort,
        estimates=tuple(rows),
        fits=MappingProxyType({eq.label: f.fits[eq.outcome] for eq in equations}),
        title=f"{context.analysis}: recursive path model (n = {frame.n})",
        parents=MappingProxyType({eq.outcome: eq.predictors for eq in equations}),
        edges=tuple(edges),
        effects=tuple(effects),
        n=frame.n,
        draws=f.boot,
        statistics=MappingProxyType(fi),
    )
