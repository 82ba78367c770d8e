"""Longitudinal analysis types: mixed models, panel models, GEE and the lagged (last-wave) regression.

Each ``fit_<type>(data, spec, context)`` builds a frozen spec from the config entry, checks the long table
(:func:`musclecog.longitudinal.data.prepare_long`), fits overall and/or per stratum, and returns a
:class:`LongitudinalResult` whose ``to_tidy()`` gives the shared result schema. The decline effect is the
exposure x time interaction (score units per time unit, per exposure unit or vs the reference level).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from musclecog.errors import ConfigError, DataError
from musclecog.filters import exclusion_rows
from musclecog.longitudinal.data import (
    TIME,
    LongSpec,
    Prepared,
    design_matrix,
    flow_note,
    is_categorical,
    prepare_long,
    strata,
)
from musclecog.longitudinal.lmm import fit_lmm
from musclecog.results import tidy_frame

log = logging.getLogger(__name__)

Z95 = float(stats.norm.ppf(0.975))


@dataclass
class LongitudinalResult:
    """Rows of one longitudinal analysis and what its figure shows."""

    rows: list[dict[str, Any]]
    frame: pd.DataFrame
    spec: LongSpec
    title: str
    flow: list[dict[str, Any]] = field(default_factory=list)

    def to_tidy(self) -> pd.DataFrame:
        """The shared tidy result table."""
        return tidy_frame(self.rows)

    def figure(self) -> Any:
        """Mean outcome trajectories with 95% CIs by exposure group."""
        from musclecog.plots.trajectories import trajectory_figure

        return trajectory_figure(self.frame, self.spec, title=self.title)


def _base_row(context: Any, method: str, spec: LongSpec, stratum: str) -> dict[str, Any]:
    return {
        "analysis": context.analysis,
        "cohort": context.cohort,
        "method": method,
        "outcome": spec.outcome,
        "exposure": spec.exposure,
        "stratum": stratum,
    }


def _wald_rows(
    base: Mapping[str, Any],
    names: list[str],
    est: np.ndarray,
    se: np.ndarray,
    n: int,
    note: str,
    scale: str = "beta",
    dist: str = "z",
    df: float | None = None,
    exponentiate: bool = False,
) -> list[dict[str, Any]]:
    rows = []
    for name, b, s in zip(names, est, se, strict=True):
        stat = b / s if s > 0 else np.nan
        if dist == "t" and df is not None:
            crit = float(stats.t.ppf(0.975, df))
            p = float(2 * stats.t.sf(abs(stat), df))
        else:
            crit = Z95
            p = float(2 * stats.norm.sf(abs(stat)))
        lo, hi = b - crit * s, b + crit * s
        if exponentiate:
            b, lo, hi = np.exp(b), np.exp(lo), np.exp(hi)
        rows.append(
            {
                **base,
                "term": name,
                "estimate": b,
                "std_error": s,
                "conf_low": lo,
                "conf_high": hi,
                "p_value": p,
                "n": n,
                "scale": scale,
                "statistic": stat,
                "note": note,
            }
        )
    return rows


def _flow_rows(base: Mapping[str, Any], prep: Prepared) -> list[dict[str, Any]]:
    """Exclusions (one ``count`` row per reason) and people with a single visit, for the result table."""
    rows = exclusion_rows(base, prep.flow)
    rows.append(
        {
            **base,
            "stratum": "overall",
            "term": "people with a single visit",
            "estimate": float(prep.n_single_visit),
            "n": prep.n_people,
            "scale": "count",
            "note": "kept (they inform the intercepts and fixed effects)",
        }
    )
    return rows


def _check_keys(spec: Mapping[str, Any], allowed: set[str], source: str) -> None:
    # the JSON schema already rejects unknown keys in a pipeline run; this protects direct library calls
    common = {"type", "cohort", "description", "keep_if"}
    extra = sorted(set(spec) - allowed - common)
    if extra:
        raise ConfigError(f"{source}: unknown key(s) {extra}; allowed: {sorted(allowed | common)}")


_COMMON = {
    "outcome",
    "exposure",
    "id",
    "wave",
    "time",
    "time_origin",
    "covariates",
    "covariates_x_time",
    "categorical",
    "exposure_reference",
    "exposure_timing",
    "covariate_timing",
    "stratify_by",
    "overall",
}


# --------------------------------------------------------------------------------------- mixed models
@dataclass(frozen=True)
class MixedModelSpec:
    """A linear mixed model of the outcome on time, exposure, exposure x time and covariates.

    Attributes
    ----------
    long : LongSpec
        Columns and shared options.
    random : str
        ``intercept`` (random intercept) or ``slope`` (correlated random intercept and slope on time).
    reml : bool
        REML (default, as lme4) or ML (for likelihood-ratio comparisons of fixed effects).
    engine : str
        ``profiled``: profiled (RE)ML on per-person sufficient statistics (:mod:`musclecog.longitudinal.lmm`,
        fast; matches lme4); ``statsmodels``: statsmodels MixedLM (slower; for cross-checks).
    """

    long: LongSpec
    random: str = "slope"
    reml: bool = True
    engine: str = "profiled"
    max_iter: int = 2000

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], source: str = "analysis") -> MixedModelSpec:
        _check_keys(spec, _COMMON | {"random", "reml", "engine", "max_iter"}, source)
        out = cls(
            long=LongSpec(**LongSpec.common_kwargs(spec)),
            random=spec.get("random", "slope"),
            reml=bool(spec.get("reml", True)),
            engine=spec.get("engine", "profiled"),
            max_iter=int(spec.get("max_iter", 2000)),
        )
        if out.random not in ("intercept", "slope"):
            raise ConfigError(f"{source}.random must be 'intercept' or 'slope', got {out.random!r}")
        if out.engine not in ("profiled", "statsmodels"):
            raise ConfigError(f"{source}.engine must be 'profiled' or 'statsmodels', got {out.engine!r}")
        return out


@dataclass(frozen=True)
class _MixedFit:
    params: np.ndarray
    bse: np.ndarray
    cov_re: np.ndarray
    scale: float
    llf: float
    converged: bool
    message: str
    singular: bool
    n_obs: int
    n_groups: int


def _fit_mixed_statsmodels(
    y: np.ndarray, X: np.ndarray, Z: np.ndarray, g: np.ndarray, reml: bool, max_iter: int
) -> _MixedFit:
    import statsmodels.api as sm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sm.MixedLM(y, X, groups=g, exog_re=Z).fit(
            reml=reml, method=["lbfgs", "bfgs", "cg"], maxiter=max_iter
        )
    msgs = [str(w.message) for w in caught]
    cov_re = np.asarray(res.cov_re)
    return _MixedFit(
        params=np.asarray(res.fe_params),
        bse=np.asarray(res.bse_fe),
        cov_re=cov_re,
        scale=float(res.scale),
        llf=float(res.llf),
        converged=bool(res.converged) and not any("converge" in m.lower() for m in msgs),
        message="; ".join(msgs) or "statsmodels MixedLM: converged",
        singular=bool(np.any(np.diag(cov_re) < 1e-8)),
        n_obs=len(y),
        n_groups=int(pd.unique(g).size),
    )


def fit_mixed_model(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> LongitudinalResult:
    """Linear mixed model (analysis type ``mixed_model``).

    Matches ``lme4::lmer(y ~ time * exposure + covariates + (time | id))`` (``random: slope``) or
    ``(1 | id)`` (``random: intercept``), REML by default. Rows: the fixed effects (``scale: beta``, Wald z
    tests and CIs), the variance components (``scale: variance``: ``var(Intercept)``, ``var(time)``,
    ``cov(Intercept,time)``, ``var(Residual)``), the log-likelihood (``scale: log_likelihood``) and a
    ``converged`` row (1/0) carrying the optimiser's message. A fit that did not converge keeps its
    estimates, flagged ``NOT CONVERGED`` in every row's note.
    """
    source = f"analyses.{context.analysis}"
    ms = MixedModelSpec.from_config(spec, source)
    ls = ms.long
    prep = prepare_long(data, ls, source)
    crit = "REML" if ms.reml else "ML"
    method = f"linear mixed model ({crit}; random {'intercept and slope' if ms.random == 'slope' else 'intercept'}; "
    method += "profiled deviance, lme4-style)" if ms.engine == "profiled" else "statsmodels MixedLM)"
    rows: list[dict[str, Any]] = []
    tname = ls.time_label
    for stratum, df in strata(prep.frame, ls):
        X = design_matrix(df, ls, source=f"{source} [{stratum}]")
        y = pd.to_numeric(df[ls.outcome]).to_numpy(float)
        g = df["id"].to_numpy()
        Z = (
            np.column_stack([np.ones(len(df)), df[TIME].to_numpy(float)])
            if ms.random == "slope"
            else np.ones((len(df), 1))
        )
        if ms.engine == "profiled":
            f = fit_lmm(y, X.to_numpy(), Z, g, reml=ms.reml, maxiter=ms.max_iter)
            fit = _MixedFit(
                f.params,
                np.sqrt(np.diag(f.cov_params)),
                f.cov_re,
                f.scale,
                f.llf,
                f.converged,
                f"{f.method}; {f.message}",
                f.singular,
                f.n_obs,
                f.n_groups,
            )
        else:
            fit = _fit_mixed_statsmodels(y, X.to_numpy(), Z, g, ms.reml, ms.max_iter)
        base = _base_row(context, method, ls, stratum)
        note = f"{fit.n_obs} observations of {fit.n_groups} people"
        extra = flow_note(prep) if stratum == "overall" or not ls.stratify_by else ""
        if extra:
            note += f"; {extra}"
        if fit.singular:
            note += "; singular fit: a random-effect variance is estimated at zero"
        if not fit.converged:
            note = f"NOT CONVERGED ({fit.message}); " + note
            log.warning("%s [%s]: the mixed model did not converge: %s", source, stratum, fit.message)
        rows += _wald_rows(base, list(X.columns), fit.params, fit.bse, fit.n_groups, note)
        vc = [("var(Intercept)", fit.cov_re[0, 0])]
        if ms.random == "slope":
            vc += [(f"var({tname})", fit.cov_re[1, 1]), (f"cov(Intercept,{tname})", fit.cov_re[0, 1])]
        vc.append(("var(Residual)", fit.scale))
        for term, v in vc:
            rows.append(
                {
                    **base,
                    "term": term,
                    "estimate": float(v),
                    "n": fit.n_groups,
                    "scale": "variance",
                    "note": "variance component (no Wald SE; use a likelihood-ratio test)",
                }
            )
        n_par = X.shape[1] + len(vc)
        rows.append(
            {
                **base,
                "term": f"logLik ({crit})",
                "estimate": fit.llf,
                "n": fit.n_groups,
                "scale": "log_likelihood",
                "df": float(n_par),
                "note": f"{n_par} parameters",
            }
        )
        rows.append(
            {
                **base,
                "term": "converged",
                "estimate": float(fit.converged),
                "n": fit.n_groups,
                "scale": "test",
                "note": ("converged: " if fit.converged else "NOT CONVERGED: ") + fit.message,
            }
        )
    rows += _flow_rows(_base_row(context, rows[0]["method"] if rows else "", ls, "overall"), prep)
    return LongitudinalResult(
        rows, prep.frame, ls, f"{context.analysis}: {ls.outcome} by {ls.exposure}", prep.flow
    )


# --------------------------------------------------------------------------------------- GEE
@dataclass(frozen=True)
class GEESpec:
    """Generalized estimating equations for change in the outcome (Liang and Zeger 1986).

    ``working_correlation``: ``exchangeable`` (default), ``ar1`` (geepack's all-pairs estimator, distances in
    waves) or ``independence``; ``family``: ``gaussian`` or ``binomial`` (odds ratios). Robust (sandwich) SEs
    as ``geepack::geeglm``.
    """

    long: LongSpec
    working_correlation: str = "exchangeable"
    family: str = "gaussian"
    time_terms: bool = True

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], source: str = "analysis") -> GEESpec:
        _check_keys(spec, _COMMON | {"working_correlation", "family", "time_terms"}, source)
        out = cls(
            long=LongSpec(**LongSpec.common_kwargs(spec)),
            working_correlation=spec.get("working_correlation", "exchangeable"),
            family=spec.get("family", "gaussian"),
            time_terms=bool(spec.get("time_terms", True)),
        )
        if out.working_correlation not in ("exchangeable", "ar1", "independence"):
            raise ConfigError(f"{source}.working_correlation must be exchangeable, ar1 or independence")
        if out.family not in ("gaussian", "binomial"):
            raise ConfigError(f"{source}.family must be gaussian or binomial")
        return out


def fit_gee(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> LongitudinalResult:
    """GEE (analysis type ``gee``): outcome on time, exposure, exposure x time and covariates.

    Matches ``geepack::geeglm(y ~ time * exposure + covariates, id = id, corstr = "exchangeable" | "ar1")``
    (scale estimated with N in the denominator, as geepack). Rows: coefficients (``beta``, or ``odds_ratio``
    for ``family: binomial``) with robust SEs, and the working correlation parameter (``scale: correlation``).
    """
    import statsmodels.api as sm
    from statsmodels.genmod import cov_struct

    from musclecog.longitudinal.gee_ar1 import GeepackAR1

    source = f"analyses.{context.analysis}"
    gs = GEESpec.from_config(spec, source)
    ls = gs.long
    prep = prepare_long(data, ls, source)
    rows: list[dict[str, Any]] = []
    label = {"exchangeable": "exchangeable", "ar1": "AR(1)", "independence": "independence"}[
        gs.working_correlation
    ]
    method = f"GEE ({gs.family}, {label} working correlation, robust SE)"
    for stratum, df in strata(prep.frame, ls):
        X = design_matrix(
            df, ls, time=gs.time_terms, exposure_x_time=gs.time_terms, source=f"{source} [{stratum}]"
        )
        y = pd.to_numeric(df[ls.outcome]).to_numpy(float)
        if gs.family == "binomial" and not np.isin(y, [0.0, 1.0]).all():
            raise DataError(f"{source}: family binomial needs a 0/1 outcome; '{ls.outcome}' has other values")
        family = sm.families.Binomial() if gs.family == "binomial" else sm.families.Gaussian()
        if gs.working_correlation == "ar1":
            cs: Any = GeepackAR1()
            visit = (
                df["wave"].to_numpy(float)
                if "wave" in df.columns
                else df.groupby("id").cumcount().to_numpy(float)
            )
        else:
            cs = (
                cov_struct.Exchangeable()
                if gs.working_correlation == "exchangeable"
                else cov_struct.Independence()
            )
            visit = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = sm.GEE(
                y,
                X,
                groups=df["id"].to_numpy(),
                family=family,
                cov_struct=cs,
                time=None if visit is None else visit[:, None],
            )
            res = model.fit(ddof_scale=0, maxiter=100)
        msgs = sorted({str(w.message) for w in caught})
        converged = not any("converge" in m.lower() or "iteration limit" in m.lower() for m in msgs)
        n_people = int(df["id"].nunique())
        note = f"{len(df)} observations of {n_people} people"
        if stratum == "overall" or not ls.stratify_by:
            extra = flow_note(prep)
            note += f"; {extra}" if extra else ""
        if not converged:
            note = f"NOT CONVERGED ({'; '.join(msgs)}); " + note
            log.warning("%s [%s]: GEE did not converge: %s", source, stratum, msgs)
        base = _base_row(context, method, ls, stratum)
        rows += _wald_rows(
            base,
            list(X.columns),
            np.asarray(res.params),
            np.asarray(res.bse),
            n_people,
            note,
            scale="odds_ratio" if gs.family == "binomial" else "beta",
            exponentiate=gs.family == "binomial",
        )
        if gs.working_correlation != "independence":
            rows.append(
                {
                    **base,
                    "term": "working_correlation",
                    "estimate": float(np.atleast_1d(res.cov_struct.dep_params)[0]),
                    "n": n_people,
                    "scale": "correlation",
                    "note": f"{label} working correlation parameter",
                }
            )
        rows.append(
            {
                **base,
                "term": "converged",
                "estimate": float(converged),
                "n": n_people,
                "scale": "test",
                "note": "converged" if converged else "NOT CONVERGED: " + "; ".join(msgs),
            }
        )
    rows += _flow_rows(_base_row(context, rows[0]["method"] if rows else "", ls, "overall"), prep)
    return LongitudinalResult(
        rows, prep.frame, ls, f"{context.analysis}: {ls.outcome} by {ls.exposure} (GEE)", prep.flow
    )


# --------------------------------------------------------------------------------------- panel models
@dataclass(frozen=True)
class PanelSpec:
    """A linear panel model (linearmodels): ``model`` within (entity fixed effects), random, first_difference
    or pooled; ``cov_type`` clustered (by person, default), robust or unadjusted; ``time_effects`` adds wave
    fixed effects (within only); ``include_time`` adds the time term (dropped when time effects are used)."""

    long: LongSpec
    model: str = "within"
    cov_type: str = "clustered"
    time_effects: bool = False
    include_time: bool = True

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], source: str = "analysis") -> PanelSpec:
        _check_keys(spec, _COMMON | {"model", "cov_type", "time_effects", "include_time"}, source)
        kw = LongSpec.common_kwargs(spec)
        kw.setdefault("exposure_timing", "time_varying")
        kw.setdefault("covariate_timing", "time_varying")
        out = cls(
            long=LongSpec(**kw),
            model=spec.get("model", "within"),
            cov_type=spec.get("cov_type", "clustered"),
            time_effects=bool(spec.get("time_effects", False)),
            include_time=bool(spec.get("include_time", True)),
        )
        if out.model not in ("within", "random", "first_difference", "pooled"):
            raise ConfigError(
                f"{source}.model must be within, random, first_difference or pooled, got {out.model!r}"
            )
        if out.cov_type not in ("clustered", "robust", "unadjusted"):
            raise ConfigError(
                f"{source}.cov_type must be clustered, robust or unadjusted, got {out.cov_type!r}"
            )
        if out.time_effects and out.model != "within":
            raise ConfigError(f"{source}.time_effects is only available with model: within")
        return out


def fit_panel_model(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> LongitudinalResult:
    """Panel model (analysis type ``panel_model``) with linearmodels.

    ``within`` matches ``plm(y ~ x, model = "within")``, ``random`` ``plm(..., model = "random")``
    (Swamy-Arora), ``first_difference`` ``plm(y ~ x - 1, model = "fd")``. Clustered SEs are by person
    (linearmodels' ``cov_type="clustered", cluster_entity=True``, equal to
    ``vcovHC(fit, method = "arellano", type = "HC1", cluster = "group")``).
    """
    from linearmodels.panel import FirstDifferenceOLS, PanelOLS, PooledOLS, RandomEffects

    source = f"analyses.{context.analysis}"
    ps = PanelSpec.from_config(spec, source)
    ls = ps.long
    prep = prepare_long(data, ls, source)
    frame = prep.frame
    if "wave" not in frame.columns:
        frame = frame.assign(wave=frame.groupby("id").cumcount())
    rows: list[dict[str, Any]] = []
    label = {
        "within": "entity fixed effects (within)",
        "random": "random effects (GLS)",
        "first_difference": "first differences",
        "pooled": "pooled OLS",
    }[ps.model]
    method = f"panel model, {label}; {ps.cov_type} SE" + (" by person" if ps.cov_type == "clustered" else "")
    for stratum, df in strata(frame, ls):
        use_time = ps.include_time and not ps.time_effects
        X = design_matrix(
            df,
            ls,
            intercept=ps.model in ("random", "pooled"),
            time=use_time,
            exposure_x_time=False,
            source=f"{source} [{stratum}]",
        )
        idx = pd.MultiIndex.from_arrays([df["id"].to_numpy(), df["wave"].to_numpy()], names=["id", "wave"])
        Xp = X.set_axis(idx)
        yp = pd.Series(pd.to_numeric(df[ls.outcome]).to_numpy(float), index=idx, name=ls.outcome)
        fit_kw: dict[str, Any] = {"cov_type": ps.cov_type}
        if ps.cov_type == "clustered":
            fit_kw["cluster_entity"] = True
        if ps.model == "within":
            mod = PanelOLS(yp, Xp, entity_effects=True, time_effects=ps.time_effects, drop_absorbed=True)
        elif ps.model == "random":
            mod = RandomEffects(yp, Xp)
        elif ps.model == "pooled":
            mod = PooledOLS(yp, Xp)
        else:
            mod = FirstDifferenceOLS(yp, Xp)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = mod.fit(**fit_kw)
        msgs = sorted({str(w.message).splitlines()[0] for w in caught})
        n_people = int(df["id"].nunique())
        note = f"{int(res.nobs)} observations of {n_people} people"
        if msgs:
            note += "; " + "; ".join(msgs)
        if stratum == "overall" or not ls.stratify_by:
            extra = flow_note(prep)
            note += f"; {extra}" if extra else ""
        base = _base_row(context, method, ls, stratum)
        rows += _wald_rows(
            base,
            list(res.params.index),
            res.params.to_numpy(),
            res.std_errors.to_numpy(),
            n_people,
            note,
            dist="t",
            df=float(res.df_resid),
        )
        if ps.model == "random":
            vd = res.variance_decomposition
            for term, key in (("var(Effects)", "Effects"), ("var(Residual)", "Residual")):
                rows.append(
                    {
                        **base,
                        "term": term,
                        "estimate": float(vd[key]),
                        "n": n_people,
                        "scale": "variance",
                        "note": "variance component",
                    }
                )
    rows += _flow_rows(_base_row(context, rows[0]["method"] if rows else "", ls, "overall"), prep)
    return LongitudinalResult(
        rows, frame, ls, f"{context.analysis}: {ls.outcome} by {ls.exposure} (panel)", prep.flow
    )


# --------------------------------------------------------------------------------------- lagged regression
@dataclass(frozen=True)
class LaggedSpec:
    """Regression of the outcome at one wave on the baseline exposure and baseline covariates (Liu et al. 2019's
    "MLRM" of W3 cognition), optionally adjusted for the baseline outcome."""

    long: LongSpec
    outcome_wave: int | None = None
    baseline_wave: int | None = None
    adjust_baseline_outcome: bool = False
    cov_type: str = "nonrobust"

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], source: str = "analysis") -> LaggedSpec:
        _check_keys(
            spec, _COMMON | {"outcome_wave", "baseline_wave", "adjust_baseline_outcome", "cov_type"}, source
        )
        kw = LongSpec.common_kwargs(spec)
        if kw.get("exposure_timing", "baseline") != "baseline":
            raise ConfigError(f"{source}.exposure_timing must be 'baseline' for a lagged regression")
        out = cls(
            long=LongSpec(**kw),
            outcome_wave=spec.get("outcome_wave"),
            baseline_wave=spec.get("baseline_wave"),
            adjust_baseline_outcome=bool(spec.get("adjust_baseline_outcome", False)),
            cov_type=spec.get("cov_type", "nonrobust"),
        )
        if out.cov_type not in ("nonrobust", "HC3"):
            raise ConfigError(f"{source}.cov_type must be nonrobust or HC3, got {out.cov_type!r}")
        return out


def fit_lagged_regression(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> LongitudinalResult:
    """Outcome at ``outcome_wave`` (default: the last wave) on baseline exposure and covariates (OLS).

    Matches ``lm(y_w3 ~ exposure + covariates [+ y_w1])`` on one row per person. People without the
    baseline or the outcome wave are excluded and counted (note and log).
    """
    import statsmodels.api as sm

    source = f"analyses.{context.analysis}"
    lg = LaggedSpec.from_config(spec, source)
    ls = lg.long
    prep = prepare_long(data, ls, source)
    frame = prep.frame
    if "wave" not in frame.columns:
        raise ConfigError(
            f"{source}: a lagged regression needs a wave column ('{ls.wave}' is not in the table)"
        )
    w0 = int(frame["wave"].min()) if lg.baseline_wave is None else int(lg.baseline_wave)
    w1 = int(frame["wave"].max()) if lg.outcome_wave is None else int(lg.outcome_wave)
    if w1 <= w0:
        raise ConfigError(f"{source}: outcome_wave ({w1}) must come after baseline_wave ({w0})")
    if not (frame["wave"] == w1).any():
        raise DataError(
            f"{source}: no rows at outcome_wave {w1}; waves present: {sorted(frame['wave'].unique().tolist())}"
        )
    base = frame.loc[frame["wave"] == w0].set_index("id")
    last = frame.loc[frame["wave"] == w1].set_index("id")[ls.outcome]
    n_people = int(frame["id"].nunique())
    no_base = n_people - len(base)
    wide = base.join(last.rename("__outcome_w"), how="inner")
    no_last = len(base) - len(wide)
    note_parts = []
    if no_base:
        note_parts.append(f"{no_base} people without wave {w0} excluded")
    if no_last:
        note_parts.append(f"{no_last} people without {ls.outcome} at wave {w1} excluded")
    for part in note_parts:
        log.info("%s: %s", source, part)
    if flow_note(prep):
        note_parts.append(flow_note(prep))
    wide = wide.reset_index()
    rows: list[dict[str, Any]] = []
    adj = " adjusted for baseline outcome" if lg.adjust_baseline_outcome else ""
    method = f"OLS of {ls.outcome} at wave {w1} on baseline {ls.exposure}{adj}"
    ls_flat = replace(ls, covariates_x_time=())
    for stratum, df in strata(wide, ls_flat):
        extra = (
            {f"{ls.outcome}_baseline": df[ls.outcome].to_numpy(float)} if lg.adjust_baseline_outcome else None
        )
        X = design_matrix(
            df, ls_flat, time=False, exposure_x_time=False, extra=extra, source=f"{source} [{stratum}]"
        )
        y = df["__outcome_w"].to_numpy(float)
        res = sm.OLS(y, X).fit(cov_type=lg.cov_type)
        note = f"{len(df)} people with waves {w0} and {w1}"
        if stratum == "overall" or not ls.stratify_by:
            note += "; " + "; ".join(note_parts) if note_parts else ""
        rows += _wald_rows(
            _base_row(context, method, ls, stratum),
            list(X.columns),
            np.asarray(res.params),
            np.asarray(res.bse),
            len(df),
            note,
            dist="t",
            df=float(res.df_resid),
        )
        rows.append(
            {
                **_base_row(context, method, ls, stratum),
                "term": "R2",
                "estimate": float(res.rsquared),
                "n": len(df),
                "scale": "r_squared",
                "note": note,
            }
        )
    rows += _flow_rows(_base_row(context, rows[0]["method"] if rows else "", ls, "overall"), prep)
    return LongitudinalResult(
        rows, frame, ls, f"{context.analysis}: {ls.outcome} by {ls.exposure}", prep.flow
    )


__all__ = [
    "GEESpec",
    "LaggedSpec",
    "LongitudinalResult",
    "MixedModelSpec",
    "PanelSpec",
    "Prepared",
    "fit_gee",
    "fit_lagged_regression",
    "fit_mixed_model",
    "fit_panel_model",
    "is_categorical",
]
