"""Analysis type ``panel_model``: linear panel models as ``plm``: entity fixed effects (within), random effects
(Swamy-Arora with linearmodels, or Amemiya), first differences (with plm's intercept, or without), pooled OLS
or the between estimator, with clustered (by person), robust or unadjusted standard errors; t tests on the
model's residual degrees of freedom (z tests for random effects, as plm's summary). Optional rows: the Hausman
test (``phtest``) and the F test for person effects (``pFtest``); a one-way within fit also carries the person
effects (``fixef``) on the result object.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import strata
from musclecog.core.distributions import chi2_sf, f_sf
from musclecog.core.inference import wald_p_value
from musclecog.core.results import Diagnostics, Estimate, FitResult
from musclecog.errors import ConfigError, ModelError
from musclecog.longitudinal.data import Prepared, prepare_long
from musclecog.longitudinal.design import LONG_INTERCEPT, LongDesign, exposure_scale, long_design
from musclecog.longitudinal.results import (
    Labels,
    LongitudinalResult,
    coefficients,
    fit_note,
    labels,
    make_result,
)
from musclecog.longitudinal.spec import LongitudinalSpec

MODEL_LABELS: Mapping[str, str] = {
    "within": "entity fixed effects (within)",
    "random": "random effects (GLS)",
    "first_difference": "first differences",
    "pooled": "pooled OLS",
    "between": "between (person means)",
}

SPECIFICATION_TESTS = ("hausman", "pftest")


@dataclass(frozen=True, kw_only=True)
class PanelSpec(LongitudinalSpec):
    """A linear panel model (``workflow/schemas/analyses/panel_model.schema.yaml``); exposure and covariates
    are time-varying by default.

    Attributes
    ----------
    model : str
        ``within`` (entity fixed effects), ``random``, ``first_difference``, ``pooled`` or ``between``.
    cov_type : str
        ``clustered`` (by person), ``robust`` or ``unadjusted`` (``between``: ``unadjusted`` only).
    time_effects : bool
        Wave fixed effects (``within`` only; the time term is then left out).
    include_time : bool
        Include the time term.
    hc_type : str
        Small-sample factor of the clustered covariance (``within``, ``first_difference`` and ``random``
        with ``random_method: amemiya``): ``HC1``, ``HC0`` or ``sss``, as ``plm::vcovHC(type = ...)``.
    intercept : bool
        ``first_difference`` only: an intercept in the differenced model (plm's default for
        ``model = "fd"``); ``false`` matches ``plm(y ~ x - 1, model = "fd")``.
    random_method : str
        ``random`` only: ``swar`` (Swamy-Arora, linearmodels) or ``amemiya``, as ``plm``'s ``random.method``.
    specification_tests : tuple of str
        ``hausman`` (``plm::phtest(within, random)``) and/or ``pftest`` (``plm::pFtest(within, pooling)``),
        reported as rows of each fit.
    """

    TYPE: ClassVar[str] = "panel_model"
    exposure_timing: str = "time_varying"
    covariate_timing: str = "time_varying"
    model: str = "within"
    cov_type: str = "clustered"
    time_effects: bool = False
    include_time: bool = True
    hc_type: str = "HC1"
    intercept: bool = True
    random_method: str = "swar"
    specification_tests: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        own_clustered = self.model in ("within", "first_difference") or (
            self.model == "random" and self.random_method == "amemiya"
        )
        if self.hc_type != "HC1" and not (self.cov_type == "clustered" and own_clustered):
            raise ConfigError(
                f"{self.where}.hc_type: {self.hc_type} applies to cov_type: clustered with model: within, "
                f"first_difference or random (random_method: amemiya) (got cov_type: {self.cov_type}, "
                f"model: {self.model}); remove hc_type"
            )
        if self.time_effects and self.model != "within":
            raise ConfigError(f"{self.where}.time_effects is only available with model: within")
        if not self.intercept and self.model != "first_difference":
            raise ConfigError(
                f"{self.where}.intercept: false applies to model: first_difference only (got model: "
                f"{self.model}); remove intercept"
            )
        if self.random_method != "swar" and self.model != "random":
            raise ConfigError(
                f"{self.where}.random_method: {self.random_method} applies to model: random only (got model: "
                f"{self.model}); remove random_method"
            )
        if self.model == "between" and self.cov_type != "unadjusted":
            raise ConfigError(
                f"{self.where}: model: between has one row per person, and plm's vcovHC does not cover it; "
                f"set cov_type: unadjusted (got {self.cov_type})"
            )
        unknown = [t for t in self.specification_tests if t not in SPECIFICATION_TESTS]
        if unknown:
            raise ConfigError(
                f"{self.where}.specification_tests: unknown {unknown}; use {list(SPECIFICATION_TESTS)}"
            )
        if self.specification_tests and self.time_effects:
            raise ConfigError(
                f"{self.where}.specification_tests are computed for one-way (person) effects; remove them or "
                "time_effects"
            )

    @property
    def method(self) -> str:
        """The ``method`` column."""
        by = " by person" if self.cov_type == "clustered" else ""
        if self.hc_type != "HC1":
            by += f" ({self.hc_type})"
        label = MODEL_LABELS[self.model]
        if self.model == "random" and self.random_method == "amemiya":
            label = "random effects (GLS, Amemiya)"
        return f"panel model, {label}; {self.cov_type} SE{by}"


@dataclass(frozen=True, kw_only=True)
class PanelResult(LongitudinalResult):
    """The result of a ``panel_model`` analysis: coefficients (and, for ``random``, the variance components)
    per fit.

    Attributes
    ----------
    fixed_effects : mapping
        ``within`` (one-way) only: per stratum, the person effects as ``plm::summary(fixef(fit))`` (columns
        ``id``, ``estimate``, ``std_error``, ``statistic``, ``p_value``, ``n_obs``). Per-person estimates:
        kept on the result object and never written to the released tables.
    """

    fixed_effects: Mapping[str, pd.DataFrame] = field(default_factory=lambda: MappingProxyType({}))


def _fit_panel(df: pd.DataFrame, design: LongDesign, spec: PanelSpec) -> tuple[Any, list[str]]:
    """linearmodels on one design: the fitted result and the first line of each warning it raised."""
    from linearmodels.panel import FirstDifferenceOLS, PanelOLS, PooledOLS, RandomEffects

    rows = df.loc[design.x.index]
    idx = pd.MultiIndex.from_arrays([rows["id"].to_numpy(), rows["wave"].to_numpy()], names=["id", "wave"])
    xp = design.x.set_axis(idx)
    yp = pd.Series(design.y, index=idx, name=spec.outcome)
    mod: Any
    if spec.model == "within":
        mod = PanelOLS(yp, xp, entity_effects=True, time_effects=spec.time_effects, drop_absorbed=True)
    elif spec.model == "random":
        mod = RandomEffects(yp, xp)
    elif spec.model == "pooled":
        mod = PooledOLS(yp, xp)
    else:
        mod = FirstDifferenceOLS(yp, xp)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = mod.fit(
            cov_type=spec.cov_type, **({"cluster_entity": True} if spec.cov_type == "clustered" else {})
        )
    return res, sorted({str(w.message).splitlines()[0] for w in caught})


def _demean(a: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Columns of ``a`` minus their mean within each code."""
    return a - _group_means(a, codes)[codes]


def _group_means(a: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The mean of each column of ``a`` within each code (one row per code)."""
    n_codes = int(codes.max()) + 1
    sums = np.zeros((n_codes, a.shape[1]))
    np.add.at(sums, codes, a)
    counts = np.bincount(codes, minlength=n_codes)[:, None]
    return sums / counts


@dataclass(frozen=True)
class _Panel:
    """One design's rows sorted by person and wave: model matrix, response, person codes 0..G-1, waves."""

    x: np.ndarray
    y: np.ndarray
    person: np.ndarray
    waves: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, ids: np.ndarray, waves: np.ndarray) -> _Panel:
        order = np.lexsort((waves, ids))
        person = np.unique(ids[order], return_inverse=True)[1]
        return cls(x[order], y[order], person, waves[order])

    @property
    def n_people(self) -> int:
        return int(self.person.max()) + 1

    def within(self, time_effects: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Model matrix and response minus the person means (and, with ``time_effects``, the wave effects,
        by Frisch-Waugh-Lovell on the demeaned wave dummies)."""
        k = self.x.shape[1]
        xt, yt = _demean(self.x, self.person), _demean(self.y[:, None], self.person)[:, 0]
        if time_effects:
            wave_codes = np.unique(self.waves, return_inverse=True)[1]
            dummies = _demean(np.eye(int(wave_codes.max()) + 1)[wave_codes][:, 1:], self.person)
            both = np.column_stack([xt, yt])
            coef = np.linalg.lstsq(dummies, both, rcond=None)[0]
            both = both - dummies @ coef
            xt, yt = both[:, :k], both[:, k]
        return xt, yt

    def differences(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Consecutive differences within each person (as plm's ``model = "fd"``): model matrix, response
        and the person of each differenced row."""
        same = self.person[1:] == self.person[:-1]
        return (
            (self.x[1:] - self.x[:-1])[same],
            (self.y[1:] - self.y[:-1])[same],
            self.person[1:][same],
        )


def _clustered(xt: np.ndarray, resid: np.ndarray, person: np.ndarray, factor: float) -> np.ndarray:
    """``factor`` times the sandwich of ``xt`` and ``resid`` with the scores summed by person (plm's
    ``vcovHC(method = "arellano", cluster = "group")`` before its small-sample factor)."""
    scores = np.zeros((int(person.max()) + 1, xt.shape[1]))
    np.add.at(scores, person, xt * resid[:, None])
    bread = np.linalg.inv(xt.T @ xt)
    cov: np.ndarray = factor * bread @ (scores.T @ scores) @ bread
    return cov


def _hc_factor(hc_type: str, n_used: int, n_rows: int, k: int, g: int) -> float:
    """plm's small-sample factor: ``HC0`` 1, ``HC1`` n / (N - k) (N the rows before differencing), ``sss``
    G / (G - 1) (n - 1) / (n - k)."""
    return {
        "HC0": 1.0,
        "HC1": n_used / (n_rows - k),
        "sss": g / (g - 1) * (n_used - 1) / (n_used - k),
    }[hc_type]


def _arellano_cov(
    x: np.ndarray, y: np.ndarray, beta: np.ndarray, ids: np.ndarray, waves: np.ndarray, spec: PanelSpec
) -> np.ndarray:
    """plm's clustered covariance, ``vcovHC(fit, method = "arellano", type = hc_type, cluster = "group")``.

    The model matrix and response are transformed as plm does (within: minus the person means, and with
    ``time_effects`` also the wave effects, by Frisch-Waugh-Lovell on the demeaned wave dummies; first
    differences: consecutive differences within a person, rows sorted by wave); residuals are those of the
    transformed model. ``HC1`` multiplies by n / (N - k), N the rows before differencing and k the slopes
    (the absorbed effects are not counted, as in plm; linearmodels counts the wave effects); ``sss`` by
    G / (G - 1) (n - 1) / (n - k), n the rows of the transformed model, G the people.
    """
    panel = _Panel.of(x, y, ids, waves)
    if spec.model == "within":
        xt, yt = panel.within(spec.time_effects)
        person = panel.person
    else:
        xt, yt, person = panel.differences()
    resid = yt - xt @ beta
    factor = _hc_factor(spec.hc_type, len(resid), len(panel.y), x.shape[1], len(np.unique(person)))
    return _clustered(xt, resid, person, factor)


@dataclass(frozen=True)
class _OwnFit:
    """A panel fit computed here (first differences with an intercept, between, Amemiya random effects),
    with the attributes of linearmodels' results that :func:`fit_panel_model` reads."""

    params: pd.Series
    cov: pd.DataFrame
    nobs: int
    df_resid: float
    loglik: float
    rsquared: float
    variance_decomposition: Mapping[str, float] | None = None


def _ols(xt: np.ndarray, yt: np.ndarray, df_resid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Least squares on a transformed model: coefficients, residuals, the unadjusted covariance
    (RSS / ``df_resid`` times (X'X)^-1) and the residual sum of squares."""
    beta = np.linalg.lstsq(xt, yt, rcond=None)[0]
    resid = yt - xt @ beta
    rss = float(resid @ resid)
    cov = rss / df_resid * np.linalg.inv(xt.T @ xt)
    return beta, resid, cov, rss


def _own_fit(
    beta: np.ndarray,
    cov: np.ndarray,
    names: list[str],
    yt: np.ndarray,
    rss: float,
    nobs: int,
    df_resid: int,
    variance: Mapping[str, float] | None = None,
) -> _OwnFit:
    n_t = len(yt)
    tss = float(((yt - yt.mean()) ** 2).sum())
    return _OwnFit(
        params=pd.Series(beta, index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        nobs=nobs,
        df_resid=float(df_resid),
        loglik=float(-n_t / 2 * (np.log(2 * np.pi * rss / n_t) + 1)),
        rsquared=1 - rss / tss if tss > 0 else float("nan"),
        variance_decomposition=variance,
    )


def _fd_intercept(panel: _Panel, names: list[str], spec: PanelSpec, where: str) -> tuple[_OwnFit, list[str]]:
    """``plm(y ~ x, model = "fd")``: least squares of the differenced response on an intercept and the
    differenced model matrix. Columns whose differences are constant (a time term on equally spaced visits)
    are collinear with the intercept and left out, with a message."""
    xt, yt, person = panel.differences()
    if len(yt) <= xt.shape[1] + 1:
        raise ModelError(f"{where}: {len(yt)} differenced rows for {xt.shape[1] + 1} terms; too few")
    spread = np.ptp(xt, axis=0)
    scale = np.maximum(1.0, np.abs(xt).max(axis=0, initial=0.0))
    constant = [n for n, r, m in zip(names, spread, scale, strict=True) if r <= 1e-12 * m]
    msgs = [f"{c}: constant differences, collinear with the intercept; left out" for c in constant]
    keep = [i for i, n in enumerate(names) if n not in constant]
    xt = np.column_stack([np.ones(len(yt)), xt[:, keep]])
    terms = [LONG_INTERCEPT, *(names[i] for i in keep)]
    k = len(terms)
    df = len(yt) - k
    beta, resid, cov, rss = _ols(xt, yt, df)
    if spec.cov_type == "clustered":
        g = len(np.unique(person))
        cov = _clustered(xt, resid, person, _hc_factor(spec.hc_type, len(yt), len(panel.y), k, g))
    elif spec.cov_type == "robust":
        cov = _clustered(xt, resid, np.arange(len(yt)), len(yt) / df)
    return _own_fit(beta, cov, terms, yt, rss, len(yt), df), msgs


def _between(panel: _Panel, names: list[str], where: str) -> _OwnFit:
    """``plm(y ~ x, model = "between")``: least squares of the person means (unweighted), on G - k df."""
    xb = _group_means(panel.x, panel.person)
    yb = _group_means(panel.y[:, None], panel.person)[:, 0]
    df = panel.n_people - xb.shape[1]
    if df < 1:
        raise ModelError(f"{where}: between model with {panel.n_people} people for {xb.shape[1]} terms")
    beta, _, cov, rss = _ols(xb, yb, df)
    return _own_fit(beta, cov, names, yb, rss, len(panel.y), df)


def _amemiya_components(panel: _Panel) -> tuple[float, float]:
    """Amemiya's variance components, as ``plm::ercomp(..., method = "amemiya")``: the idiosyncratic and
    person variances from the within residuals (with the overall intercept). Balanced: idiosyncratic
    quad_w / (n - G), person (quad_b / G - idiosyncratic) / T; unbalanced: plm's ``dfcor = 3`` system
    (n - G - k and G - 1 + tr((X_w'X_w)^-1 X_b'X_b), n - sum T_i^2 / n). Negative variances are set to 0."""
    xs = panel.x[:, 1:]  # without the intercept
    xw, yw = _demean(xs, panel.person), _demean(panel.y[:, None], panel.person)[:, 0]
    bw = np.linalg.lstsq(xw, yw, rcond=None)[0]
    e = panel.y - xs @ bw
    e = e - e.mean()
    ew = _demean(e[:, None], panel.person)[:, 0]
    t_i = np.bincount(panel.person)
    ebar = np.bincount(panel.person, weights=e) / t_i
    quad_w, quad_b = float(ew @ ew), float((t_i * ebar**2).sum())
    n, g = len(panel.y), len(t_i)
    if (t_i == t_i[0]).all():
        s_nu = quad_w / (n - g)
        s_eta = (quad_b - g * s_nu) / (t_i[0] * g)
    else:
        xb = _group_means(xs, panel.person)[panel.person]
        xb = xb - xb.mean(axis=0)
        m_id_nu = g - 1 + float(np.trace(np.linalg.inv(xw.T @ xw) @ (xb.T @ xb)))
        s_nu = quad_w / (n - g - xw.shape[1])
        s_eta = (quad_b - m_id_nu * s_nu) / (n - float((t_i**2).sum()) / n)
    return max(s_nu, 0.0), max(s_eta, 0.0)


def _amemiya(panel: _Panel, names: list[str], spec: PanelSpec) -> _OwnFit:
    """``plm(y ~ x, model = "random", random.method = "amemiya")``: GLS by quasi-demeaning with
    theta_i = 1 - sqrt(s_nu / (s_nu + T_i s_eta)), unadjusted covariance on n - k df; clustered as plm's
    ``vcovHC`` of the quasi-demeaned model."""
    s_nu, s_eta = _amemiya_components(panel)
    t_i = np.bincount(panel.person)
    theta = (1 - np.sqrt(s_nu / (s_nu + t_i * s_eta)))[panel.person]
    xt = panel.x - theta[:, None] * _group_means(panel.x, panel.person)[panel.person]
    yt = panel.y - theta * _group_means(panel.y[:, None], panel.person)[panel.person, 0]
    n, k = xt.shape
    beta, resid, cov, rss = _ols(xt, yt, n - k)
    if spec.cov_type == "clustered":
        cov = _clustered(xt, resid, panel.person, _hc_factor(spec.hc_type, n, n, k, panel.n_people))
    elif spec.cov_type == "robust":
        cov = _clustered(xt, resid, np.arange(n), n / (n - k))
    return _own_fit(beta, cov, names, yt, rss, n, n - k, {"Effects": s_eta, "Residual": s_nu})


def _panel_estimates(
    res: Any, fit: FitResult, msgs: list[str], spec: PanelSpec, prep: Prepared, stratum: str,
    unit: str | None = None,
) -> list[Estimate]:
    n_people = int(fit.diagnostics.n_groups or 0)
    note = f"{int(res.nobs)} observations of {n_people} people"
    if msgs:
        note += "; " + "; ".join(msgs)
    lab = labels(spec, spec.method, stratum, unit)
    out = coefficients(fit, "beta", n_people, fit_note(note, prep, spec, stratum), lab)
    if spec.model == "random":
        vd = res.variance_decomposition
        out += [
            Estimate(
                term=term,
                estimate=float(vd[key]),
                scale="variance",
                n=n_people,
                note="variance component",
                **lab,
            )
            for term, key in (("var(Effects)", "Effects"), ("var(Residual)", "Residual"))
        ]
    return out


def _design_panel(df: pd.DataFrame, design: LongDesign) -> _Panel:
    rows = df.loc[design.x.index]
    return _Panel.of(
        design.x.to_numpy(dtype=float),
        np.asarray(design.y, dtype=float),
        rows["id"].to_numpy(),
        rows["wave"].to_numpy(),
    )


def _with_intercept(panel: _Panel) -> _Panel:
    return _Panel(np.column_stack([np.ones(len(panel.y)), panel.x]), panel.y, panel.person, panel.waves)


def _within_unadjusted(panel: _Panel) -> tuple[np.ndarray, np.ndarray, float, int]:
    """One-way within fit (``panel.x`` without an intercept): slopes, plm's ``vcov`` (RSS / (n - G - k)
    (X_w'X_w)^-1), RSS and residual df."""
    xw, yw = panel.within()
    df = len(yw) - panel.n_people - xw.shape[1]
    beta, _, cov, rss = _ols(xw, yw, df)
    return beta, cov, rss, df


def _random_unadjusted(panel: _Panel, names: list[str], spec: PanelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Random-effects slopes and their unadjusted covariance (``vcov(plm(..., model = "random"))``), with
    the spec's ``random_method``; ``panel.x`` without an intercept."""
    if spec.random_method == "amemiya":
        fit = _amemiya(_with_intercept(panel), [LONG_INTERCEPT, *names], replace(spec, cov_type="unadjusted"))
    else:
        from linearmodels.panel import RandomEffects

        idx = pd.MultiIndex.from_arrays([panel.person, panel.waves], names=["id", "wave"])
        xp = pd.DataFrame(_with_intercept(panel).x, columns=[LONG_INTERCEPT, *names], index=idx)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = RandomEffects(pd.Series(panel.y, index=idx), xp).fit(cov_type="unadjusted", debiased=True)
        fit = _OwnFit(res.params, res.cov, int(res.nobs), float(res.df_resid), 0.0, 0.0)
    return fit.params[names].to_numpy(float), fit.cov.loc[names, names].to_numpy(float)


def _specification_tests(
    panel: _Panel, names: list[str], spec: PanelSpec, n_people: int, lab: Labels
) -> list[Estimate]:
    """Rows of ``plm::phtest(within, random)`` (chi-squared on the slopes, with the unadjusted covariances)
    and ``plm::pFtest(within, pooling)`` (F on G - 1 and n - G - k df); ``panel.x`` without an intercept."""
    out: list[Estimate] = []
    b_w, v_w, rss_w, df_w = _within_unadjusted(panel)
    if "hausman" in spec.specification_tests:
        b_r, v_r = _random_unadjusted(panel, names, spec)
        d = b_w - b_r
        chisq = float(d @ np.linalg.solve(v_w - v_r, d))
        q = len(d)
        out.append(
            Estimate(
                term="Hausman test",
                estimate=chisq,
                scale="test",
                p_value=float(chi2_sf(chisq, q)),
                n=n_people,
                statistic=chisq,
                df=float(q),
                note=f"chi-squared on {q} df (plm::phtest); H0: random effects ({spec.random_method}) consistent",
                **lab,
            )
        )
    if "pftest" in spec.specification_tests:
        pooled = _with_intercept(panel)
        _, _, _, rss_p = _ols(pooled.x, pooled.y, 1)
        df1 = (len(pooled.y) - pooled.x.shape[1]) - df_w
        f = float(((rss_p - rss_w) / df1) / (rss_w / df_w))
        out.append(
            Estimate(
                term="F test for individual effects",
                estimate=f,
                scale="test",
                p_value=float(f_sf(f, df1, df_w)),
                n=n_people,
                statistic=f,
                df=float(df1),
                note=f"F({df1}, {df_w}) (plm::pFtest, within vs pooling); H0: no person effects",
                **lab,
            )
        )
    return out


def _fixed_effects(panel: _Panel, x_names: list[str], ids: np.ndarray, res: Any) -> pd.DataFrame:
    """``summary(plm::fixef(fit))`` of a one-way within fit: alpha_i = mean(y_i) - mean(x_i)' b with SE
    sqrt(s^2 / T_i + mean(x_i)' V mean(x_i)), V the unadjusted covariance (plm's default ``vcov``) and
    s^2 = RSS / (n - G - k); t tests on n - G - k df."""
    names = list(res.params.index)
    cols = [x_names.index(n) for n in names]
    x = panel.x[:, cols]
    b = res.params.to_numpy(float)
    _, v, rss, df = _within_unadjusted(_Panel(x, panel.y, panel.person, panel.waves))
    xbar = _group_means(x, panel.person)
    ybar = _group_means(panel.y[:, None], panel.person)[:, 0]
    t_i = np.bincount(panel.person)
    alpha = ybar - xbar @ b
    se = np.sqrt(rss / df / t_i + np.einsum("ij,jk,ik->i", xbar, v, xbar))
    stat = alpha / se
    return pd.DataFrame(
        {
            "id": np.unique(ids),
            "estimate": alpha,
            "std_error": se,
            "statistic": stat,
            "p_value": wald_p_value(stat, df),
            "n_obs": t_i,
        }
    )


def fit_panel_model(data: pd.DataFrame, spec: PanelSpec) -> PanelResult:
    """Panel model (analysis type ``panel_model``) with linearmodels.

    ``within`` matches ``plm(y ~ x, model = "within")``, ``random`` ``plm(..., model = "random")``
    (Swamy-Arora, linearmodels; ``random_method: amemiya`` :func:`_amemiya`), ``first_difference``
    ``plm(y ~ x, model = "fd")`` (:func:`_fd_intercept`; ``intercept: false``: ``y ~ x - 1``, linearmodels),
    ``between`` ``plm(..., model = "between")`` (:func:`_between`). Clustered SEs are by person: for
    ``within``, ``first_difference`` and Amemiya random effects plm's ``vcovHC(fit, method = "arellano",
    type = hc_type, cluster = "group")`` on the transformed model, otherwise linearmodels'
    ``cov_type="clustered", cluster_entity=True`` (HC1, equal to plm's for Swamy-Arora on Grunfeld).

    Parameters
    ----------
    data : DataFrame
        The long cohort table.
    spec : PanelSpec

    Returns
    -------
    PanelResult
    """
    prep = prepare_long(data, spec)
    frame = prep.frame
    scaled, unit = exposure_scale(frame, spec)
    if "wave" not in frame.columns:
        frame = frame.assign(wave=frame.groupby("id").cumcount())
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    fixed: dict[str, pd.DataFrame] = {}
    for stratum in strata(frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = frame.loc[stratum.mask]
        design = long_design(
            df,
            scaled,
            f"{spec.where} [{stratum.label}]",
            intercept=spec.model in ("random", "pooled", "between"),
            time=spec.include_time and not spec.time_effects,
            exposure_x_time=False,
        )
        where = f"{spec.where} [{stratum.label}]"
        panel = _design_panel(df, design)
        names = list(design.x.columns)
        res: Any
        msgs: list[str] = []
        if spec.model == "first_difference" and spec.intercept:
            res, msgs = _fd_intercept(panel, names, spec, where)
        elif spec.model == "between":
            res = _between(panel, names, where)
        elif spec.model == "random" and spec.random_method == "amemiya":
            res = _amemiya(panel, names, spec)
        else:
            res, msgs = _fit_panel(df, design, spec)
        cov = res.cov.to_numpy()
        linearmodels_fd = spec.model == "first_difference" and not spec.intercept
        if spec.cov_type == "clustered" and (spec.model == "within" or linearmodels_fd):
            rows = df.loc[design.x.index]
            cov = _arellano_cov(
                design.x[list(res.params.index)].to_numpy(dtype=float),
                np.asarray(design.y, dtype=float),
                res.params.to_numpy(),
                rows["id"].to_numpy(),
                rows["wave"].to_numpy(),
                spec,
            )
        diagnostics = Diagnostics(
            n=int(res.nobs),
            log_likelihood=float(res.loglik),
            exclusions=prep.counts,
            n_groups=int(df.loc[design.x.index, "id"].nunique()),
            messages=tuple(msgs),
            statistics={"r_squared": float(res.rsquared)},
        )
        fit = FitResult.from_arrays(
            [str(t) for t in res.params.index],
            res.params.to_numpy(),
            cov,
            # plm's summary of a random-effects model gives z tests; the others t on the residual df
            None if spec.model == "random" else float(res.df_resid),
            diagnostics,
            std_errors=np.sqrt(np.diag(cov)),
            method=spec.method,
            codings=design.codings,
        )
        fits[stratum.label] = fit
        estimates += _panel_estimates(res, fit, msgs, spec, prep, stratum.label, unit)
        if spec.specification_tests:
            slopes = [n for n in names if n != LONG_INTERCEPT]
            bare = _Panel(panel.x[:, [names.index(n) for n in slopes]], panel.y, panel.person, panel.waves)
            estimates += _specification_tests(
                bare, slopes, spec, fit.diagnostics.n_groups or 0, labels(spec, spec.method, stratum.label)
            )
        if spec.model == "within" and not spec.time_effects:
            ids = np.sort(df.loc[design.x.index, "id"].unique())
            fixed[stratum.label] = _fixed_effects(panel, names, ids, res)
    title = f"{spec.context.analysis}: {spec.outcome} by {spec.exposure} (panel)"
    result = make_result(PanelResult, spec, prep, estimates, fits, title, frame=frame)
    return replace(result, fixed_effects=MappingProxyType(fixed))
