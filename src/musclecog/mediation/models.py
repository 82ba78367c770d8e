"""Simple, parallel and serial mediation (Hayes PROCESS models 4 and 6) and recursive path models.

Point estimates are equation-by-equation least squares (logistic for a binary outcome); they equal lavaan's ML
estimates for the same recursive model (see :mod:`musclecog.mediation.engine`). Indirect effects are products of
coefficients along each directed path (Hayes 2022, *Introduction to Mediation, Moderation, and Conditional
Process Analysis*, 3rd ed.), with percentile and bias-corrected bootstrap CIs (PROCESS defaults: 5,000
resamples, percentile CI reported first). The Sobel test is given for one mediator. For a binary outcome the
outcome model is logistic (``b``, ``c'``, ``c`` as odds ratios; ``a b`` on the log-odds scale, as PROCESS does)
and, in addition, the Imai, Keele & Tingley (2010) quasi-Bayesian average causal mediation / direct effects on
the probability scale from ``statsmodels.stats.mediation.Mediation``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.mediation.engine import (
    BootstrapDraws,
    Equation,
    EquationFit,
    ModelFrame,
    bias_corrected_ci,
    bootstrap,
    effect_matrix,
    fit_equation,
    model_frame,
    path_product,
    percentile_ci,
    simple_paths,
    sobel,
    total_effects,
)
from musclecog.plots.paths import PathDiagram, draw_path_diagram, layered_positions, mediation_positions
from musclecog.results import tidy_frame

DEFAULT_BOOTSTRAP = 5000
DEFAULT_LEVEL = 0.95


# ------------------------------------------------------------------------------------------------ specs
def _str_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class MediationSpec:
    """A simple, parallel or serial mediation model from its config entry.

    Attributes
    ----------
    exposure, outcome : str
        Columns X and Y.
    mediators : tuple of str
        Columns M (one for simple mediation; in causal order for serial mediation).
    structure : {"parallel", "serial"}
        Mediators independent given X (PROCESS model 4) or a causal chain (PROCESS model 6).
    covariates : tuple of str
        Adjustment columns in every equation.
    outcome_type : {"continuous", "binary"}
        Least-squares or logistic outcome model.
    bootstrap : int
        Resamples (0: no bootstrap).
    ci_level : float
        Confidence level.
    imai_simulations : int
        Quasi-Bayesian draws for the binary-outcome ACME/ADE (statsmodels ``Mediation.fit(n_rep=...)``).
    exposure_contrast : (float, float) or None
        Control and treated exposure values for ACME/ADE; default 0/1 for a 0/1 exposure, else mean and mean + 1 SD.
    """

    exposure: str
    mediators: tuple[str, ...]
    outcome: str
    structure: str = "parallel"
    covariates: tuple[str, ...] = ()
    outcome_type: str = "continuous"
    bootstrap: int = DEFAULT_BOOTSTRAP
    ci_level: float = DEFAULT_LEVEL
    imai_simulations: int = 1000
    exposure_contrast: tuple[float, float] | None = None

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], structure: str) -> MediationSpec:
        """Build from a validated ``analyses.<name>`` entry (``mediator`` or ``mediators``)."""
        mediators = _str_list(spec.get("mediators", spec.get("mediator")))
        contrast = spec.get("exposure_contrast")
        return cls(
            exposure=str(spec["exposure"]),
            mediators=mediators,
            outcome=str(spec["outcome"]),
            structure=structure,
            covariates=_str_list(spec.get("covariates")),
            outcome_type=str(spec.get("outcome_type", "continuous")),
            bootstrap=int(spec.get("bootstrap", DEFAULT_BOOTSTRAP)),
            ci_level=float(spec.get("ci_level", DEFAULT_LEVEL)),
            imai_simulations=int(spec.get("imai_simulations", 1000)),
            exposure_contrast=(float(contrast[0]), float(contrast[1])) if contrast else None,
        )

    @property
    def family(self) -> str:
        """GLM family of the outcome equation."""
        return "binomial" if self.outcome_type == "binary" else "gaussian"

    def equations(self) -> list[Equation]:
        """The mediator equations and the outcome equation."""
        eqs = []
        for i, m in enumerate(self.mediators):
            prior = self.mediators[:i] if self.structure == "serial" else ()
            eqs.append(Equation(m, (self.exposure, *prior)))
        eqs.append(Equation(self.outcome, (self.exposure, *self.mediators), self.family))
        return eqs


# ----------------------------------------------------------------------------------------------- result
@dataclass
class MediationResult:
    """A fitted mediation or path model: tidy rows and a path diagram."""

    rows: list[dict[str, Any]]
    diagram: PathDiagram
    fits: dict[str, EquationFit] = field(default_factory=dict)
    draws: BootstrapDraws | None = None
    frame: ModelFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_tidy(self) -> pd.DataFrame:
        """Rows in the shared tidy schema, plus ``path``, ``bc_conf_low``, ``bc_conf_high``, ``n_boot``,
        ``n_boot_failed``."""
        return tidy_frame(self.rows)

    def figure(self) -> Any:
        """The path diagram with the estimates on the arrows."""
        return draw_path_diagram(self.diagram)


def _label(spec: MediationSpec, frm: str, to: str) -> str:
    single = len(spec.mediators) == 1
    if frm == spec.exposure and to == spec.outcome:
        return "c_prime"
    if frm == spec.exposure:
        return "a" if single else f"a[{to}]"
    if to == spec.outcome:
        return "b" if single else f"b[{frm}]"
    return f"d[{frm}->{to}]"


def _fmt(est: float, lo: float, hi: float, sep: str = " ") -> str:
    return f"{est:.3g}{sep}({lo:.3g}, {hi:.3g})"


class _RowMaker:
    """Builds tidy rows with the analysis labels filled in."""

    def __init__(self, context: RunContext, method: str, n: int) -> None:
        self.context, self.method, self.n = context, method, n

    def __call__(self, **kw: Any) -> dict[str, Any]:
        row = {"analysis": self.context.analysis, "cohort": self.context.cohort, "method": self.method,
               "stratum": "overall", "n": self.n}
        row.update(kw)
        return row


def _boot_columns(draws: np.ndarray | None, estimate: float, level: float, boot: BootstrapDraws | None) -> dict[str, Any]:
    """Bootstrap SD, percentile CI (conf_low/high) and bias-corrected CI (bc_conf_low/high)."""
    if draws is None or boot is None:
        return {"note": "no bootstrap (bootstrap: 0)"}
    lo, hi = percentile_ci(draws, level)
    blo, bhi = bias_corrected_ci(draws, estimate, level)
    ok = np.isfinite(draws)
    return {
        "std_error": float(np.std(draws[ok], ddof=1)) if ok.sum() > 1 else np.nan,
        "conf_low": lo, "conf_high": hi, "bc_conf_low": blo, "bc_conf_high": bhi,
        "n_boot": boot.n_resamples, "n_boot_failed": boot.n_failed,
        "note": (f"percentile bootstrap CI, {boot.n_resamples} resamples ({boot.n_failed} failed and excluded); "
                 "bias-corrected CI in bc_conf_low/bc_conf_high"),
    }


def _coef_row(make: _RowMaker, fit: EquationFit, pred: str, term: str, scale: str, level: float) -> dict[str, Any]:
    est, se, lo, hi, p = fit.inference(pred, level)
    row = make(outcome=fit.equation.outcome, exposure=pred, term=term, estimate=est, std_error=se,
               conf_low=lo, conf_high=hi, p_value=p, scale=scale, path=f"{pred} -> {fit.equation.outcome}",
               statistic=est / se, df=fit.df_resid if np.isfinite(fit.df_resid) else np.nan)
    if fit.equation.family == "binomial":
        row.update(estimate=np.exp(est), conf_low=np.exp(lo), conf_high=np.exp(hi), scale="odds_ratio",
                   note="logistic outcome model; std_error on the log-odds scale")
    return row


def _failed_row(make: _RowMaker, boot: BootstrapDraws, exposure: str, outcome: str) -> dict[str, Any]:
    reasons = "; ".join(f"{k}: {v}" for k, v in boot.reasons.items()) or "none"
    return make(outcome=outcome, exposure=exposure, term="bootstrap_resamples_failed", estimate=boot.n_failed,
                scale="count", n_boot=boot.n_resamples, n_boot_failed=boot.n_failed,
                note=f"resamples whose models could not be fitted, excluded from the CIs ({reasons})")


def fit_mediation(data: pd.DataFrame, spec: MediationSpec, context: RunContext, method: str) -> MediationResult:
    """Fit a simple, parallel or serial mediation model.

    Parameters
    ----------
    data : DataFrame
        The cohort table.
    spec : MediationSpec
        The model.
    context : RunContext
        Names and the bootstrap seed (``context.seed``).
    method : str
        The ``method`` label of the tidy rows.

    Returns
    -------
    MediationResult
        Rows: the paths (a, b, d, c', with OLS t-based CIs as PROCESS), the total effect c, each specific
        indirect effect and (for several mediators) the total indirect effect with percentile and
        bias-corrected bootstrap CIs, the Sobel test (one mediator), the proportion mediated (continuous
        outcome) with bootstrap CIs, the number of failed resamples, and for a binary outcome the Imai et al.
        ACME/ADE.
    """
    source = f"analyses.{context.analysis}"
    if not spec.mediators:
        raise ConfigError(f"{source}: give at least one mediator (key 'mediator' or 'mediators')")
    if spec.exposure in spec.mediators or spec.outcome in spec.mediators or spec.exposure == spec.outcome:
        raise ConfigError(
            f"{source}: exposure '{spec.exposure}', mediators {list(spec.mediators)} and outcome '{spec.outcome}' "
            "must be different columns; a mediator identical to the exposure has no indirect path to estimate."
        )
    variables = [spec.exposure, *spec.mediators, spec.outcome]
    frame = model_frame(data, variables, spec.covariates, source)
    equations = spec.equations()
    fits = {eq.outcome: fit_equation(frame, eq, source) for eq in equations}
    total_eq = Equation(spec.outcome, (spec.exposure,), spec.family)
    total_fit = fit_equation(frame, total_eq, source)
    boot = bootstrap(frame, equations, spec.bootstrap, context.seed, source) if spec.bootstrap > 0 else None

    make = _RowMaker(context, method, frame.n)
    level = spec.ci_level
    rows: list[dict[str, Any]] = []
    coefs = {(eq.outcome, p): fits[eq.outcome].coef(p) for eq in equations for p in eq.predictors}
    edges = []
    for eq in equations:
        for p in eq.predictors:
            term = _label(spec, p, eq.outcome)
            scale = "direct_effect" if term == "c_prime" else "path_coefficient"
            row = _coef_row(make, fits[eq.outcome], p, term, scale, level)
            rows.append(row)
            short = "c'" if term == "c_prime" else term.split("[")[0]
            edges.append((p, eq.outcome, f"{short} = " + _fmt(row["estimate"], row["conf_low"], row["conf_high"], "\n")))
    c_row = _coef_row(make, total_fit, spec.exposure, "c", "total_effect", level)
    rows.append(c_row)

    paths = [p for p in simple_paths(equations, spec.exposure, spec.outcome) if len(p) > 2]
    single = len(spec.mediators) == 1
    ind_points = {p: float(path_product(p, coefs)) for p in paths}
    ind_draws = {p: path_product(p, boot.coefs) for p in paths} if boot else {}
    total_ind = float(sum(ind_points.values()))
    total_ind_draws = np.sum(list(ind_draws.values()), axis=0) if boot else None
    ind_scale_note = " (log-odds scale: a x b with b from the logistic outcome model)" if spec.family == "binomial" else ""
    caption = []
    for p in paths:
        term = "indirect" if single else f"indirect[{'->'.join(p[1:-1])}]"
        cols = _boot_columns(ind_draws.get(p), ind_points[p], level, boot)
        cols["note"] = cols["note"] + ind_scale_note
        rows.append(make(outcome=spec.outcome, exposure=spec.exposure, term=term, estimate=ind_points[p],
                         scale="indirect_effect", path=" -> ".join(p), **cols))
        caption.append(f"{term} = {_fmt(ind_points[p], rows[-1].get('conf_low', np.nan), rows[-1].get('conf_high', np.nan))}")
    if not single:
        cols = _boot_columns(total_ind_draws, total_ind, level, boot)
        rows.append(make(outcome=spec.outcome, exposure=spec.exposure, term="indirect_total", estimate=total_ind,
                         scale="indirect_effect", path="all indirect paths", **cols))
        caption.append(f"total indirect = {_fmt(total_ind, rows[-1].get('conf_low', np.nan), rows[-1].get('conf_high', np.nan))}")
    if single:
        (m,) = spec.mediators
        a_fit, y_fit = fits[m], fits[spec.outcome]
        se, z, p = sobel(a_fit.coef(spec.exposure), a_fit.se(spec.exposure), y_fit.coef(m), y_fit.se(m))
        rows.append(make(outcome=spec.outcome, exposure=spec.exposure, term="sobel", estimate=ind_points[paths[0]],
                         std_error=se, statistic=z, p_value=p, scale="test", path=" -> ".join(paths[0]),
                         note="Sobel (1982) normal-theory test of a x b"))
    if spec.family == "gaussian":
        c = c_row["estimate"]
        pm = total_ind / c if c != 0 else np.nan
        pm_draws = None
        if boot is not None:
            c_draws = boot.coefs[(spec.outcome, spec.exposure)] + total_ind_draws
            with np.errstate(divide="ignore", invalid="ignore"):
                pm_draws = total_ind_draws / c_draws
        cols = _boot_columns(pm_draws, pm, level, boot)
        cols["note"] = "indirect / total effect (a b / c); " + cols["note"]
        rows.append(make(outcome=spec.outcome, exposure=spec.exposure, term="proportion_mediated", estimate=pm,
                         scale="proportion_mediated", path="all indirect paths", **cols))
        caption.append(f"proportion mediated = {_fmt(pm, rows[-1].get('conf_low', np.nan), rows[-1].get('conf_high', np.nan))}")
    else:
        rows.extend(_imai_rows(make, frame, spec, context, source))
    if boot is not None:
        rows.append(_failed_row(make, boot, spec.exposure, spec.outcome))
    caption.append(f"c (total) = {_fmt(c_row['estimate'], c_row['conf_low'], c_row['conf_high'])}; n = {frame.n}")
    diagram = PathDiagram(
        positions=mediation_positions(spec.exposure, spec.mediators, spec.outcome, spec.structure == "serial"),
        edges=edges,
        title=f"{context.analysis}: {method}",
        caption="\n".join(caption),
    )
    return MediationResult(rows, diagram, fits, boot, frame, {"total_fit": total_fit})


def _imai_rows(make: _RowMaker, frame: ModelFrame, spec: MediationSpec, context: RunContext,
               source: str) -> list[dict[str, Any]]:
    """Imai et al. (2010) quasi-Bayesian ACME/ADE for a binary outcome (statsmodels ``Mediation``)."""
    import statsmodels.api as sm
    from statsmodels.stats.mediation import Mediation

    if len(spec.mediators) != 1:
        return []
    (m,) = spec.mediators
    x = frame.values[:, frame.col(spec.exposure)]
    if spec.exposure_contrast is not None:
        low, high = spec.exposure_contrast
    elif set(np.unique(x)) <= {0.0, 1.0}:
        low, high = 0.0, 1.0
    else:
        low, high = float(x.mean()), float(x.mean() + x.std(ddof=1))
    if high == low:
        raise ConfigError(f"{source}: exposure_contrast must have two different values, got {[low, high]}")
    xt = (x - low) / (high - low)  # statsmodels contrasts exposure values 0 and 1
    covs = frame.values[:, [frame.col(c) for c in frame.covariates]]
    ones = np.ones((frame.n, 1))
    med_exog = np.column_stack([ones, xt, covs])
    out_exog = np.column_stack([ones, xt, frame.values[:, frame.col(m)], covs])
    y = frame.values[:, frame.col(spec.outcome)]
    outcome_model = sm.GLM(y, out_exog, family=sm.families.Binomial())
    mediator_model = sm.OLS(frame.values[:, frame.col(m)], med_exog)
    res = Mediation(outcome_model, mediator_model, exposure=(1, 1), mediator=2).fit(
        method="parametric", n_rep=spec.imai_simulations, rng=context.seed
    )
    summary = res.summary(alpha=1 - spec.ci_level)
    labels = {
        "ACME (average)": ("acme", "indirect_effect"),
        "ADE (average)": ("ade", "direct_effect"),
        "Total effect": ("total_effect_probability", "total_effect"),
        "Prop. mediated (average)": ("proportion_mediated_imai", "proportion_mediated"),
        "ACME (control)": ("acme_control", "indirect_effect"),
        "ACME (treated)": ("acme_treated", "indirect_effect"),
        "ADE (control)": ("ade_control", "direct_effect"),
        "ADE (treated)": ("ade_treated", "direct_effect"),
    }
    rows = []
    for label, (term, scale) in labels.items():
        r = summary.loc[label]
        rows.append(make(
            outcome=spec.outcome, exposure=spec.exposure, term=term, estimate=float(r["Estimate"]),
            conf_low=float(r["Lower CI bound"]), conf_high=float(r["Upper CI bound"]), p_value=float(r["P-value"]),
            scale=scale, method="Imai et al. quasi-Bayesian mediation (statsmodels Mediation)",
            note=(f"probability scale; exposure {low:.4g} vs {high:.4g}; {spec.imai_simulations} simulations"),
        ))
    return rows


# ------------------------------------------------------------------------------------------- path model
@dataclass(frozen=True)
class PathModelSpec:
    """A recursive path model: one regression per endogenous variable.

    Attributes
    ----------
    equations : tuple of (outcome, predictors)
        E.g. ``(("nback1_acc", ("grip_kg", "sts30")), ("adl", ("nback1_acc", "grip_kg", "sts30")))``.
    exposures : tuple of str
        Variables whose direct, indirect and total effects are reported (default: the exogenous ones).
    covariates : tuple of str
        Adjustment columns in every equation.
    bootstrap, ci_level : int, float
        As in :class:`MediationSpec`.
    """

    equations: tuple[tuple[str, tuple[str, ...]], ...]
    exposures: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    bootstrap: int = DEFAULT_BOOTSTRAP
    ci_level: float = DEFAULT_LEVEL

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> PathModelSpec:
        """Build from a validated ``analyses.<name>`` entry."""
        eqs = tuple((str(k), _str_list(v)) for k, v in dict(spec["equations"]).items())
        return cls(eqs, _str_list(spec.get("exposures")), _str_list(spec.get("covariates")),
                   int(spec.get("bootstrap", DEFAULT_BOOTSTRAP)), float(spec.get("ci_level", DEFAULT_LEVEL)))


def _check_recursive(spec: PathModelSpec, source: str) -> list[str]:
    """Variables in a causal order; a cycle or a self-loop is a config error."""
    parents = {out: list(preds) for out, preds in spec.equations}
    for out, preds in parents.items():
        if out in preds:
            raise ConfigError(f"{source}.equations.{out}: '{out}' cannot predict itself")
        if not preds:
            raise ConfigError(f"{source}.equations.{out}: give at least one predictor")
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(v: str, trail: list[str]) -> None:
        if state.get(v) == 1:
            raise ConfigError(
                f"{source}.equations: the model is not recursive (cycle {' -> '.join([*trail, v])}); "
                "only recursive path models (no feedback loops) are supported"
            )
        if state.get(v) == 2:
            return
        state[v] = 1
        for p in parents.get(v, []):
            visit(p, [*trail, v])
        state[v] = 2
        order.append(v)

    for v in list(parents):
        visit(v, [])
    return order


def _rss(frame: ModelFrame, outcome: str, predictors: list[str], covariates: bool = True) -> float:
    idx = [0] + [frame.col(p) for p in predictors] + ([frame.col(c) for c in frame.covariates] if covariates else [])
    X, y = frame.values[:, idx], frame.values[:, frame.col(outcome)]
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    return float(resid @ resid)


def path_fit_indices(frame: ModelFrame, equations: list[Equation], order: list[str]) -> dict[str, float]:
    """Likelihood-ratio chi-square of a recursive path model against the saturated model, RMSEA, CFI and TLI.

    With uncorrelated disturbances the normal likelihood (conditional on the exogenous variables, lavaan's
    ``fixed.x = TRUE``) factorises by equation, so ``chi2 = N sum_eq log(RSS_model / RSS_saturated)``, where the
    saturated equation regresses each endogenous variable on every variable before it in a causal order; the
    baseline model has every endogenous variable independent of all others, covariates included (lavaan's
    independence model with fixed exogenous variables). df = the number of omitted paths. RMSEA uses N (lavaan's default).
    """
    n = frame.n
    chi2 = base = 0.0
    df = df_base = 0
    for eq in equations:
        earlier = [v for v in order[: order.index(eq.outcome)]]
        sat = _rss(frame, eq.outcome, earlier)
        chi2 += n * np.log(_rss(frame, eq.outcome, list(eq.predictors)) / sat)
        base += n * np.log(_rss(frame, eq.outcome, [], covariates=False) / sat)
        df += len(earlier) - len(eq.predictors)
        df_base += len(earlier) + len(frame.covariates)
    out = {"chi2": max(chi2, 0.0), "df": float(df), "chi2_baseline": base, "df_baseline": float(df_base)}
    if df > 0:
        out["p"] = float(stats.chi2.sf(out["chi2"], df))
        out["rmsea"] = float(np.sqrt(max(out["chi2"] - df, 0.0) / (df * n)))
        d_model, d_base = max(out["chi2"] - df, 0.0), max(base - df_base, 0.0)
        out["cfi"] = 1.0 - d_model / max(d_base, d_model) if max(d_base, d_model) > 0 else 1.0
        out["tli"] = ((base / df_base) - (out["chi2"] / df)) / ((base / df_base) - 1.0)
    return out


def _fit_index_rows(make: _RowMaker, frame: ModelFrame, equations: list[Equation],
                    order: list[str]) -> list[dict[str, Any]]:
    fi = path_fit_indices(frame, equations, order)
    endo = ", ".join(eq.outcome for eq in equations)
    rows = [make(outcome=endo, exposure="model", term="chi_squared", estimate=fi["chi2"], statistic=fi["chi2"],
                 df=fi["df"], p_value=fi.get("p", np.nan), scale="chi_squared",
                 note="LR test against the saturated model" if fi["df"] > 0 else "saturated model (0 df): no test")]
    for key in ("rmsea", "cfi", "tli") if fi["df"] > 0 else ():
        rows.append(make(outcome=endo, exposure="model", term=key, estimate=fi[key], scale="fit_index"))
    return rows


def fit_path_model(data: pd.DataFrame, spec: PathModelSpec, context: RunContext) -> MediationResult:
    """Fit a recursive path model and its direct, indirect and total effects (Bollen 1987).

    Each equation is fitted by least squares (= lavaan ML for a recursive model with uncorrelated
    disturbances). Effects: direct = the coefficient, total = ``(I - B)^-1 - I``, indirect = total - direct,
    and every specific indirect path (product of coefficients), each with percentile and bias-corrected
    bootstrap CIs. Also each equation's R-squared and, for an over-identified model, the chi-square test against
    the saturated model with RMSEA, CFI and TLI (:func:`path_fit_indices`).
    """
    source = f"analyses.{context.analysis}"
    order = _check_recursive(spec, source)
    endogenous = [out for out, _ in spec.equations]
    exogenous = [v for v in order if v not in endogenous]
    exposures = list(spec.exposures) or exogenous
    unknown = [e for e in exposures if e not in order]
    if unknown:
        raise ConfigError(f"{source}.exposures: {unknown} do not appear in any equation (variables: {order})")
    frame = model_frame(data, order, spec.covariates, source)
    equations = [Equation(out, preds) for out, preds in spec.equations]
    fits = {eq.outcome: fit_equation(frame, eq, source) for eq in equations}
    boot = bootstrap(frame, equations, spec.bootstrap, context.seed, source) if spec.bootstrap > 0 else None
    make = _RowMaker(context, "recursive path model (equation-wise least squares)", frame.n)
    level = spec.ci_level
    rows: list[dict[str, Any]] = []
    edges = []
    coefs = {(eq.outcome, p): fits[eq.outcome].coef(p) for eq in equations for p in eq.predictors}
    for eq in equations:
        fit = fits[eq.outcome]
        for p in eq.predictors:
            row = _coef_row(make, fit, p, "path", "path_coefficient", level)
            rows.append(row)
            edges.append((p, eq.outcome, _fmt(row["estimate"], row["conf_low"], row["conf_high"], "\n")))
        y = frame.values[:, frame.col(eq.outcome)]
        X = frame.values[:, [0] + [frame.col(p) for p in eq.predictors] + [frame.col(c) for c in frame.covariates]]
        resid = y - X @ fit.params
        r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
        rows.append(make(outcome=eq.outcome, exposure=" + ".join(eq.predictors), term="r_squared", estimate=r2,
                         scale="r_squared", note="including covariates" if frame.covariates else ""))
    rows.extend(_fit_index_rows(make, frame, equations, order))
    B = effect_matrix(order, coefs)
    T = total_effects(B)
    if boot is not None:
        Bb = effect_matrix(order, boot.coefs)
        good = ~boot.failed
        Tb = np.full_like(Bb, np.nan)
        Tb[good] = total_effects(Bb[good])
    pos = {v: i for i, v in enumerate(order)}
    caption = []
    for x in exposures:
        for y in endogenous:
            paths = [p for p in simple_paths(equations, x, y)]
            if not paths:
                continue
            i, j = pos[y], pos[x]
            items = [("direct", "direct_effect", float(B[i, j]), Bb[:, i, j] if boot else None, f"{x} -> {y}")] \
                if (y, x) in coefs else []
            items += [
                ("indirect", "indirect_effect", float(T[i, j] - B[i, j]),
                 (Tb[:, i, j] - Bb[:, i, j]) if boot else None, "all indirect paths"),
                ("total", "total_effect", float(T[i, j]), Tb[:, i, j] if boot else None, "all paths"),
            ]
            indirect_paths = [p for p in paths if len(p) > 2]
            if not indirect_paths:
                items = items[:1] + items[2:]
            for p in indirect_paths if len(indirect_paths) > 1 else []:
                items.append((f"indirect[{'->'.join(p[1:-1])}]", "indirect_effect", float(path_product(p, coefs)),
                              path_product(p, boot.coefs) if boot else None, " -> ".join(p)))
            for term, scale, est, draws, path in items:
                cols = _boot_columns(draws, est, level, boot)
                rows.append(make(outcome=y, exposure=x, term=term, estimate=est, scale=scale, path=path, **cols))
                if term == "indirect":
                    caption.append(f"{x} -> {y} indirect = {_fmt(est, cols.get('conf_low', np.nan), cols.get('conf_high', np.nan))}")
    if boot is not None:
        rows.append(_failed_row(make, boot, ", ".join(exposures), ", ".join(endogenous)))
    diagram = PathDiagram(
        positions=layered_positions({out: list(preds) for out, preds in spec.equations}),
        edges=edges,
        title=f"{context.analysis}: recursive path model (n = {frame.n})",
        caption="\n".join(caption),
    )
    return MediationResult(rows, diagram, fits, boot, frame)


def _run(structure: str, method: str) -> Callable[[pd.DataFrame, Mapping[str, Any], RunContext], MediationResult]:
    def run(data: pd.DataFrame, spec: Mapping[str, Any], context: RunContext) -> MediationResult:
        ms = MediationSpec.from_config(spec, structure)
        if structure == "serial" and len(ms.mediators) < 2:
            raise ConfigError(f"analyses.{context.analysis}.mediators: serial mediation needs 2 or more mediators "
                              f"in causal order; got {list(ms.mediators)} (use simple_mediation for one)")
        return fit_mediation(data, ms, context, method)

    return run


simple_mediation = _run("parallel", "simple mediation (PROCESS model 4)")
parallel_mediation = _run("parallel", "parallel mediation (PROCESS model 4, several mediators)")
serial_mediation = _run("serial", "serial mediation (PROCESS model 6)")


def path_model(data: pd.DataFrame, spec: Mapping[str, Any], context: RunContext) -> MediationResult:
    """The ``path_model`` analysis type (see :func:`fit_path_model`)."""
    return fit_path_model(data, PathModelSpec.from_config(spec), context)
