"""One-sample Mendelian randomization on individual data: two-stage least squares.

The analysis type ``one_sample_mr`` instruments an exposure (e.g. grip strength) with genotype
dosages or a polygenic score and estimates its effect on an outcome by two-stage least squares
(numpy, from one cross-product matrix; equal to linearmodels' ``IV2SLS`` to 1e-10, tested), next to
the observational OLS estimate, with the diagnostics an MR reader expects: the first-stage F statistic
and partial R² of the instruments, the Wu-Hausman test of exogeneity and, with more than one
instrument, Sargan's over-identification test.

Reference: R's ``AER::ivreg(y ~ x + covariates | instruments + covariates)`` with
``summary(fit, diagnostics = TRUE)``; ``cov_type = "unadjusted"`` reproduces its standard errors
(t distribution, n - k df) and diagnostics, ``"HC0"`` and ``"HC1"`` (``"robust"`` is HC1) those of
``summary(fit, vcov. = function(o) sandwich::vcovHC(o, type = ...), diagnostics = TRUE)``: robust coefficient
SEs and robust Wald forms of the weak-instrument F and the Wu-Hausman test (Sargan's test does not depend on
the covariance). ``coefficients = "all"`` reports the whole coefficient table (intercept, exposure, covariates)
of the 2SLS and OLS fits and their residual standard errors (``sigma``, ``summary(fit)$sigma``).
Binary outcomes are fitted as a linear probability model (a risk difference per exposure unit), as
in most one-sample MR on binary outcomes; state it when reporting.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core import distributions as dist
from musclecog.core.design import (
    Design,
    DesignSpec,
    build_design,
    check_rank,
    complete_rows,
    count_exclusions,
    is_numeric,
    no_complete_rows,
    numeric_values,
    per_unit_scale,
    unit_columns,
)
from musclecog.core.results import AnalysisResult, Diagnostics, Estimate, FitResult
from musclecog.core.spec import AnalysisSpec
from musclecog.errors import ConfigError, DataError, ModelError, show_values

logger = logging.getLogger(__name__)

COV_TYPES = ("unadjusted", "robust", "HC0", "HC1")
COEFFICIENTS = ("exposure", "all")

TWO_SLS = "2SLS"
OLS = "OLS (observational)"
FIRST_STAGE = "2SLS first stage"


@dataclass(frozen=True, kw_only=True)
class OneSampleMRSpec(AnalysisSpec):
    """The config entry of a ``one_sample_mr`` analysis (keys and defaults:
    ``workflow/schemas/analyses/one_sample_mr.schema.yaml``).

    Attributes
    ----------
    exposure, outcome : str
        Cohort columns.
    instruments : tuple of str
        Genotype dosage columns and/or a polygenic score column.
    instrument_prefix : str or None
        Alternatively (or additionally), every column whose name starts with this prefix
        (e.g. ``snp_`` selects ``snp_1 .. snp_20``).
    covariates : tuple of str
        Exogenous covariates in both stages (categorical columns are dummy-coded by
        :func:`musclecog.core.design.build_design`, first level as reference, labels ``col[level]``).
    cov_type : {"unadjusted", "robust", "HC0", "HC1"}
        Standard errors: homoskedastic as ``AER::ivreg`` (default) or heteroskedasticity-robust as
        ``sandwich::vcovHC(fit, type = "HC0")`` / ``"HC1"`` (``robust`` is ``HC1``); robust types also make the
        weak-instrument F and Wu-Hausman test Wald tests under that covariance (AER's ``ivdiag`` with ``vcov.``).
    alpha : float
        1 - confidence level.
    coefficients : {"exposure", "all"}
        Rows of the 2SLS and OLS fits: the exposure only (default), or every coefficient (intercept, exposure,
        covariates, as ``summary(ivreg)``) and the residual standard error ``sigma``.
    exposure_per : str, float or None
        ``sd`` (of the exposure in the complete cases) or a number: the 2SLS and OLS effects per SD or per that
        many units of the exposure; ``None``: per unit.
    """

    TYPE: ClassVar[str] = "one_sample_mr"
    exposure: str
    outcome: str
    instruments: tuple[str, ...] = ()
    instrument_prefix: str | None = None
    covariates: tuple[str, ...] = ()
    cov_type: str = "unadjusted"
    alpha: float = 0.05
    coefficients: str = "exposure"
    exposure_per: str | float | None = None

    def __post_init__(self) -> None:
        # the schema's anyOf and enum, which a direct library call has not been validated against
        if not self.instruments and not self.instrument_prefix:
            raise ConfigError(f"{self.where}: give 'instruments' (columns) or 'instrument_prefix' (e.g. snp_)")
        if self.cov_type not in COV_TYPES:
            raise ConfigError(f"{self.where}.cov_type = {self.cov_type!r}: use one of {list(COV_TYPES)}")
        if self.coefficients not in COEFFICIENTS:
            raise ConfigError(f"{self.where}.coefficients = {self.coefficients!r}: use one of {list(COEFFICIENTS)}")

    @property
    def robust(self) -> bool:
        """Whether the standard errors are heteroskedasticity-robust."""
        return self.cov_type != "unadjusted"

    @property
    def debiased(self) -> bool:
        """Whether robust covariances carry the n / (n - k) factor (HC1) or not (HC0)."""
        return self.cov_type != "HC0"

    def instrument_columns(self, data: pd.DataFrame) -> list[str]:
        """The instrument columns present in ``data`` (explicit list, then the prefix matches)."""
        cols = list(self.instruments)
        if self.instrument_prefix:
            cols += [c for c in data.columns if str(c).startswith(self.instrument_prefix) and c not in cols]
        return cols


@dataclass(frozen=True)
class InstrumentTests:
    """The instrument diagnostics of ``summary(AER::ivreg(...), diagnostics = TRUE)``.

    Attributes
    ----------
    first_stage_f, first_stage_p : float
        Weak-instrument F on ``(n_instruments, first_stage_df)`` degrees of freedom and its p-value.
    first_stage_df : int
    partial_r2 : float
        Share of the exposure's variance (after the covariates) explained by the instruments.
    wu_hausman, wu_hausman_p : float
        F(1, ``wu_hausman_df``) test that the exposure is exogenous.
    wu_hausman_df : int
    sargan : float
        n R² of the 2SLS residuals on all exogenous variables (chi-squared on n_instruments - 1 df);
        only reported when over-identified.
    n_instruments : int
    """

    first_stage_f: float
    first_stage_p: float
    first_stage_df: int
    partial_r2: float
    wu_hausman: float
    wu_hausman_p: float
    wu_hausman_df: int
    sargan: float
    n_instruments: int

    @property
    def sargan_p(self) -> float:
        """p-value of Sargan's test (NaN when just identified)."""
        q = self.n_instruments
        return float(dist.chi2_sf(self.sargan, q - 1)) if q > 1 else float("nan")


@dataclass(frozen=True, kw_only=True)
class OneSampleMRResult(AnalysisResult):
    """Fitted one-sample MR: the 2SLS, observational OLS and first-stage fits, and the instrument tests.

    ``fits`` holds ``"2SLS"``, ``"OLS (observational)"`` and ``"2SLS first stage"`` (exposure on the
    covariates and instruments), each with labelled coefficients and covariance.
    """

    figure_kind: ClassVar[str] = "one_sample_mr"
    exposure: str
    outcome: str
    instruments: tuple[str, ...]
    tests: InstrumentTests

    @property
    def n(self) -> int:
        """Rows modelled (complete cases)."""
        return self.fits[TWO_SLS].diagnostics.n

    @property
    def n_excluded(self) -> int:
        """Rows left out for missing values."""
        return self.fits[TWO_SLS].diagnostics.n_excluded

    @property
    def first_stage_f(self) -> float:
        """The weak-instrument F statistic."""
        return self.tests.first_stage_f


@dataclass(frozen=True)
class _CrossProducts:
    """``A'A`` of ``A = [w, z, x, y]`` and the positions of its blocks (one O(n p^2) pass)."""

    a: np.ndarray
    m: np.ndarray
    iw: np.ndarray
    iz: np.ndarray
    ix: int
    iy: int

    @classmethod
    def of(cls, w: np.ndarray, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> _CrossProducts:
        kw, q = w.shape[1], z.shape[1]
        a = np.column_stack([w, z, x, y])
        return cls(a, a.T @ a, np.arange(kw), np.arange(kw, kw + q), kw + q, kw + q + 1)

    @property
    def n(self) -> int:
        return int(self.a.shape[0])

    @property
    def wz(self) -> np.ndarray:
        return np.concatenate([self.iw, self.iz])

    @property
    def wx(self) -> np.ndarray:
        return np.append(self.iw, self.ix)

    def solve(self, cols: np.ndarray, target: int) -> tuple[np.ndarray, float]:
        """Least-squares coefficients of column ``target`` on ``cols`` and the residual sum of squares."""
        mm = self.m[np.ix_(cols, cols)]
        beta = np.linalg.solve(mm, self.m[cols, target])
        return beta, float(self.m[target, target] - self.m[target, cols] @ beta)

    def covariance(
        self, cols: np.ndarray, target: int, beta: np.ndarray, rss: float, robust: bool, debiased: bool = True
    ) -> np.ndarray:
        """Homoskedastic (``lm``) or robust covariance of a least-squares fit on ``cols``: HC1, or HC0 when not
        ``debiased`` (``sandwich::vcovHC(fit, type = ...)``)."""
        df = self.n - cols.size
        inv = np.linalg.inv(self.m[np.ix_(cols, cols)])
        if not robust:
            return np.asarray(inv * rss / df)
        xm = self.a[:, cols]
        return _sandwich(inv, xm, self.a[:, target] - xm @ beta, self.n / df if debiased else 1.0)


def _sandwich(bread: np.ndarray, xm: np.ndarray, e: np.ndarray, factor: float) -> np.ndarray:
    """``factor * bread (xm' diag(e^2) xm) bread``: the HC0 sandwich (HC1 with ``factor = n / (n - k)``)."""
    meat = (xm * e[:, None] ** 2).T @ xm
    return np.asarray(bread @ meat @ bread * factor)


@dataclass(frozen=True)
class _LeastSquares:
    beta: np.ndarray
    cov: np.ndarray
    rss: float
    df: int


def _first_stage(cp: _CrossProducts, robust: bool, debiased: bool) -> tuple[_LeastSquares, float, float]:
    """Exposure on ``[w, z]``: the fit, and the F and partial R² of the instruments against ``w`` alone.

    The F is the nested-models F (``summary(ivreg, diagnostics = TRUE)``), or with ``robust`` the Wald
    statistic of the instrument coefficients under the fit's HC covariance divided by their number (AER's
    ``ivdiag`` with a ``vcov.`` function)."""
    _, rss_r = cp.solve(cp.iw, cp.ix)
    g, rss_u = cp.solve(cp.wz, cp.ix)
    df2 = cp.n - cp.wz.size
    q = cp.iz.size
    fit = _LeastSquares(g, cp.covariance(cp.wz, cp.ix, g, rss_u, robust, debiased), rss_u, df2)
    if robust:
        gz, vz = g[cp.iw.size:], fit.cov[cp.iw.size:, cp.iw.size:]
        f = float(gz @ np.linalg.solve(vz, gz)) / q
    else:
        f = ((rss_r - rss_u) / q) / (rss_u / df2)
    return fit, float(f), float((rss_r - rss_u) / rss_r)


def _observational(cp: _CrossProducts, robust: bool, debiased: bool, where: str) -> _LeastSquares:
    """Outcome on ``[w, x]`` (OLS)."""
    try:
        b, rss = cp.solve(cp.wx, cp.iy)
    except np.linalg.LinAlgError:
        raise ModelError(f"{where}: the OLS design [covariates, exposure] is rank-deficient") from None
    return _LeastSquares(b, cp.covariance(cp.wx, cp.iy, b, rss, robust, debiased), rss, cp.n - cp.wx.size)


def _wu_hausman(
    cp: _CrossProducts, first: _LeastSquares, ols: _LeastSquares, robust: bool, debiased: bool
) -> tuple[float, int]:
    """F test of the first-stage residual ``v`` added to the OLS regression (cross-products from ``m``).

    With ``robust``, the squared coefficient of ``v`` over its HC variance in that regression (AER's ``ivdiag``
    with a ``vcov.`` function, which adds the fitted exposure instead of ``v``: the same test)."""
    m, cols = cp.m, cp.wx
    m_v = m[:, cp.ix] - m[:, cp.wz] @ first.beta  # a' v
    mm = np.block([[m[np.ix_(cols, cols)], m_v[cols][:, None]], [m_v[cols][None, :], np.array([[first.rss]])]])
    rhs = np.append(m[cols, cp.iy], m_v[cp.iy])
    beta_aug = np.linalg.solve(mm, rhs)
    rss_aug = float(m[cp.iy, cp.iy] - rhs @ beta_aug)
    df2 = cp.n - cp.iw.size - 2
    if not robust:
        return float((ols.rss - rss_aug) / (rss_aug / df2)), df2
    v = cp.a[:, cp.ix] - cp.a[:, cp.wz] @ first.beta
    xa = np.column_stack([cp.a[:, cols], v])
    var_v = float(_sandwich(np.linalg.inv(mm), xa, cp.a[:, cp.iy] - xa @ beta_aug,
                            cp.n / df2 if debiased else 1.0)[-1, -1])
    return float(beta_aug[-1] ** 2 / var_v), df2


def _two_stage(cp: _CrossProducts, first: _LeastSquares, robust: bool, debiased: bool, where: str) -> _LeastSquares:
    """2SLS of the outcome on ``[w, x]`` with instruments ``[w, z]`` (linearmodels ``IV2SLS``, ``AER::ivreg``).

    The least-squares fit of ``y`` on ``X̂ = [w, x̂]``, ``x̂ = [w, z] g`` the first-stage fitted exposure (``P_Z w =
    w``), from the cross products: ``X̂'X̂`` is ``[w, x]'[w, x]`` but for ``x̂'x̂ = g' Z'x``, and ``X̂'y = [w'y, g' Z'y]``.
    The residuals are the structural ones, ``u = y - [w, x] b``; covariance ``(X̂'X̂)^{-1} u'u / (n - k)``, or with
    ``robust`` the HC sandwich of ``X̂`` and ``u`` (HC1: times ``n / (n - k)``; HC0 when not ``debiased``), as
    ``IV2SLS.fit(cov_type="unadjusted" | "robust", debiased=...)`` and ``sandwich::vcovHC(ivreg, type)``."""
    m, g, wx = cp.m, first.beta, cp.wx
    xhx = m[np.ix_(wx, wx)].copy()
    xhx[-1, -1] = float(m[cp.ix, cp.wz] @ g)
    xhy = np.append(m[cp.iw, cp.iy], g @ m[cp.wz, cp.iy])
    try:
        bread = np.linalg.inv(xhx)
    except np.linalg.LinAlgError:
        raise ModelError(f"{where}: 2SLS could not be fitted: [covariates, fitted exposure] is singular") from None
    b = np.linalg.solve(xhx, xhy)
    u = cp.a[:, cp.iy] - cp.a[:, wx] @ b
    rss, df = float(u @ u), cp.n - wx.size
    if not robust:
        return _LeastSquares(b, bread * rss / df, rss, df)
    xhat = np.column_stack([cp.a[:, cp.iw], cp.a[:, cp.wz] @ g])
    return _LeastSquares(b, _sandwich(bread, xhat, u, cp.n / df if debiased else 1.0), rss, df)


def _sargan(cp: _CrossProducts, iv: _LeastSquares) -> float:
    """n R² of the 2SLS residuals ``u = y - [w, x] b_iv`` regressed on ``[w, z]`` (column 0 of ``w`` is the
    constant)."""
    m, wx, wz, iy = cp.m, cp.wx, cp.wz, cp.iy
    m_u = m[:, iy] - m[:, wx] @ iv.beta  # a' u
    uu = iv.rss
    coef = np.linalg.solve(m[np.ix_(wz, wz)], m_u[wz])
    rss_aux = uu - float(m_u[wz] @ coef)
    ubar = float(m_u[0]) / cp.n
    tss = uu - cp.n * ubar**2
    return float(cp.n * (1 - rss_aux / tss))


def _checked_instruments(data: pd.DataFrame, spec: OneSampleMRSpec) -> list[str]:
    """The instrument columns, after checking that every configured column exists, is numeric where it must
    be, and that no column plays two roles."""
    where, cohort = spec.where, spec.context.cohort
    instruments = spec.instrument_columns(data)
    if not instruments:
        raise DataError(
            f"{where}: no instrument columns found (instruments {list(spec.instruments)}, prefix "
            f"{spec.instrument_prefix!r}) in cohort {cohort}; columns are {show_values(list(data.columns), 12)}"
        )
    needed = [spec.outcome, spec.exposure, *instruments, *spec.covariates]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataError(f"{where}: cohort {cohort} has no columns {missing}; check the names in the config")
    overlap = set(instruments) & ({spec.exposure, spec.outcome} | set(spec.covariates))
    if overlap:
        raise ConfigError(f"{where}: {sorted(overlap)} used both as instrument and as exposure/outcome/covariate")
    for col in [spec.outcome, spec.exposure, *instruments]:
        if not is_numeric(data[col]):
            numeric_values(data[col], where, col)  # raises, naming the column and its values
    return instruments


def _complete_cases(data: pd.DataFrame, spec: OneSampleMRSpec, instruments: list[str]) -> tuple[pd.DataFrame, Design]:
    """The rows complete in every column used, with the exclusions counted by reason (outcome, exposure,
    instruments, covariates), and the intercept-and-covariates design on them (dummies ``col[level]``)."""
    where = spec.where
    needed = [spec.outcome, spec.exposure, *instruments, *spec.covariates]
    rows = complete_rows(data, needed)
    exclusions = count_exclusions(data.loc[~rows, needed], needed)  # only the incomplete rows need a look
    if len(data) and not rows.any():
        raise no_complete_rows(data, needed, exclusions, where)
    d = data.loc[rows, needed]
    design = build_design(d[list(spec.covariates)],
                          DesignSpec(outcome=None, exposure=None, covariates=spec.covariates, check_rank=False), where)
    if design.n < len(instruments) + len(spec.covariates) + 10:
        raise DataError(f"{where}: only {design.n} complete rows for {len(instruments)} instruments; need more data")
    return d, dataclasses.replace(design, exclusions=MappingProxyType(exclusions), n_input=len(data))


def _check_variation(z: np.ndarray, instruments: list[str], where: str) -> None:
    constant = [c for c, r in zip(instruments, np.ptp(z, axis=0), strict=True) if not r > 0]
    if constant:
        raise ModelError(f"{where}: instruments without variation in the analysed rows: {constant}; remove them")


def _fit(names: list[str], ls: _LeastSquares, diagnostics: Diagnostics, method: str) -> FitResult:
    return FitResult.from_arrays(names, ls.beta, ls.cov, float(ls.df), diagnostics, method=method)


def fit_one_sample_mr(data: pd.DataFrame, spec: OneSampleMRSpec) -> OneSampleMRResult:
    """Fit a ``one_sample_mr`` analysis (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        The analysis-ready cohort table.
    spec : OneSampleMRSpec
        Built from the analysis entry by :func:`musclecog.core.spec.spec_from_config`.

    Returns
    -------
    OneSampleMRResult

    Raises
    ------
    DataError
        Missing columns, non-numeric instruments, too few complete rows.
    ModelError
        Instruments without variation or a rank-deficient design.

    Notes
    -----
    The 2SLS, OLS and first-stage fits and the first-stage F, Wu-Hausman and Sargan statistics come from one
    cross-product matrix of ``[covariates, instruments, exposure, outcome]`` (robust covariances and the 2SLS
    residuals take one more pass over the rows); ``[covariates, exposure]`` and ``[covariates, instruments]``
    must have full rank (:func:`musclecog.core.design.check_rank`). With a
    robust ``cov_type`` the first-stage F and the Wu-Hausman test are Wald tests under that HC covariance
    (divided by their df), as ``summary(ivreg, vcov. = function(o) vcovHC(o, type), diagnostics = TRUE)``.
    """
    where = spec.where
    instruments = _checked_instruments(data, spec)
    d, design = _complete_cases(data, spec, instruments)
    if design.n_excluded:
        logger.info("%s: %d of %d rows excluded for missing values (%s)", where, design.n_excluded, len(data),
                    dict(design.exclusions))
    y = d[spec.outcome].astype(float)
    divisor, unit = per_unit_scale(d, spec.exposure, spec.exposure_per, where)
    x = d[[spec.exposure]].astype(float) / divisor  # exposure_per: the effects per SD (per `per` units)
    z = d[instruments].astype(float)
    _check_variation(z.to_numpy(), instruments, where)
    robust, debiased = spec.robust, spec.debiased
    w_names, z_names = list(design.names), list(instruments)
    cp = _CrossProducts.of(np.asarray(design.x, float), z.to_numpy(float), x.to_numpy(float)[:, 0], y.to_numpy(float))
    check_rank(cp.a[:, cp.wx], [*w_names, spec.exposure], where)  # [w, x] and [w, z] of full rank
    check_rank(cp.a[:, cp.wz], [*w_names, *z_names], where)
    first, f_stat, partial_r2 = _first_stage(cp, robust, debiased)
    ols = _observational(cp, robust, debiased, where)
    wh, wh_df2 = _wu_hausman(cp, first, ols, robust, debiased)
    iv = _two_stage(cp, first, robust, debiased, where)
    q = len(instruments)
    tests = InstrumentTests(
        first_stage_f=f_stat, first_stage_p=float(dist.f_sf(f_stat, q, first.df)), first_stage_df=first.df,
        partial_r2=partial_r2, wu_hausman=wh, wu_hausman_p=float(dist.f_sf(wh, 1, wh_df2)), wu_hausman_df=wh_df2,
        sargan=_sargan(cp, iv), n_instruments=q,
    )
    messages = tuple(f"covariate {c} constant in the rows modelled; left out" for c in design.dropped)
    if f_stat < 10:
        messages += (f"weak instruments: first-stage F = {f_stat:.3g} < 10",)
    diag = Diagnostics(n=design.n, exclusions=design.exclusions, messages=messages)

    def diagnostics(rss: float, df: int) -> Diagnostics:  # sigma: the residual standard error, as summary(fit)
        sigma = float(np.sqrt(rss / df))
        return dataclasses.replace(diag, statistics=MappingProxyType(
            {"first_stage_f": f_stat, "partial_r_squared": partial_r2, "sigma": sigma}))

    fits: Mapping[str, FitResult] = MappingProxyType({
        TWO_SLS: _fit([*w_names, spec.exposure], iv, diagnostics(iv.rss, iv.df),
                      f"two-stage least squares ({spec.cov_type})"),
        OLS: _fit([*w_names, spec.exposure], ols, diagnostics(ols.rss, ols.df), f"least squares ({spec.cov_type})"),
        FIRST_STAGE: _fit([*w_names, *z_names], first, diagnostics(first.rss, first.df),
                          f"first stage: {spec.exposure} on covariates and instruments ({spec.cov_type})"),
    })
    return OneSampleMRResult(
        analysis=spec.context.analysis, cohort=spec.context.cohort,
        estimates=_estimates(spec, fits, tests, instruments, unit),
        fits=fits, title=f"One-sample MR: {spec.exposure} \u2192 {spec.outcome} ({q} instruments)",
        exposure=spec.exposure, outcome=spec.outcome, instruments=tuple(instruments), tests=tests,
    )


def _estimates(
    spec: OneSampleMRSpec, fits: Mapping[str, FitResult], tests: InstrumentTests, instruments: list[str],
    unit: str = "per unit",
) -> tuple[Estimate, ...]:
    """The table rows: 2SLS and OLS effects (with ``coefficients: all`` every coefficient, in ``summary(ivreg)``'s
    order, and ``sigma``), first-stage F and partial R², Wu-Hausman and (over-identified) Sargan."""
    x, q = spec.exposure, tests.n_instruments
    n = fits[TWO_SLS].diagnostics.n
    level = 1 - spec.alpha
    per = unit_columns(spec.exposure_per, unit)
    rows: list[Estimate] = []
    for method, note in ((TWO_SLS, f"instruments: {', '.join(instruments)}"), (OLS, "")):
        fit = fits[method]
        w_terms = [t for t in fit.params.index if t != x] if spec.coefficients == "all" else []
        for terms, extra in ((w_terms[:1], None), ([x], per), (w_terms[1:], None)):  # (Intercept), exposure, rest
            labels: dict[str, Any] = {"extra": extra} if extra else {}
            rows += fit.estimates(terms, "beta", level=level, df=True, note=note, nsnp=q, method=method,
                                  outcome=spec.outcome, exposure=x, **labels)
        if spec.coefficients == "all":
            df = int(fit.df_resid or 0)
            rows.append(Estimate(term="sigma", estimate=fit.diagnostics.statistics["sigma"], scale="sd", n=n, nsnp=q,
                                 df=float(df), method=method, note=f"residual standard error, sqrt(RSS / {df})",
                                 outcome=spec.outcome, exposure=x))
    weak = " (weak instruments: F < 10)" if tests.first_stage_f < 10 else ""
    wald = f", {'HC1' if spec.cov_type == 'robust' else spec.cov_type} Wald" if spec.robust else ""
    rows += [
        Estimate(term="first_stage_F", estimate=tests.first_stage_f, scale="f_statistic", p_value=tests.first_stage_p,
                 n=n, nsnp=q, statistic=tests.first_stage_f, df=float(q), method=FIRST_STAGE,
                 note=f"F({q}, {tests.first_stage_df}){wald}{weak}", outcome=spec.outcome, exposure=x),
        Estimate(term="partial_r_squared", estimate=tests.partial_r2, scale="r_squared", n=n, nsnp=q,
                 method=FIRST_STAGE, note="share of exposure variance explained by the instruments", outcome=spec.outcome, exposure=x),
        Estimate(term=x, estimate=tests.wu_hausman, scale="test", p_value=tests.wu_hausman_p, n=n,
                 statistic=tests.wu_hausman, df=1.0, method="Wu-Hausman",
                 note=f"F(1, {tests.wu_hausman_df}){wald}; H0: {x} is exogenous", outcome=spec.outcome, exposure=x),
    ]
    if q > 1:
        rows.append(Estimate(term="overidentification", estimate=tests.sargan, scale="test", p_value=tests.sargan_p,
                             n=n, statistic=tests.sargan, df=float(q - 1), method="Sargan",
                             note="H0: all instruments valid (chi-squared)", outcome=spec.outcome, exposure=x))
    return tuple(rows)
