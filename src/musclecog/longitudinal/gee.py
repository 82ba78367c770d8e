"""Analysis type ``gee``: generalized estimating equations for change in a repeated outcome (Liang and Zeger
1986; statsmodels' GEE, matching ``geepack::geeglm``): time, exposure, exposure x time and covariates, with an
exchangeable, AR(1) (geepack's estimator, :mod:`musclecog.longitudinal.gee_ar1`) or independence working
correlation and robust (sandwich) standard errors.

The fit is :func:`gee_numpy`, statsmodels' algorithm vectorised over people (the same numbers to ~1e-12,
tests/unit/test_gee_engine.py, without statsmodels' Python loop over clusters or its import); a fit where it
meets a floating-point error (overflow, NaN: where statsmodels warns) is statsmodels' own
(:func:`gee_statsmodels`), so its warnings are reported as before.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import strata
from musclecog.core.results import Diagnostics, Estimate, FitResult
from musclecog.errors import DataError
from musclecog.longitudinal.ar1 import geepack_ar1_alpha
from musclecog.longitudinal.data import Prepared, prepare_long
from musclecog.longitudinal.design import LongDesign, exposure_scale, long_design
from musclecog.longitudinal.results import LongitudinalResult, coefficients, fit_note, labels, make_result
from musclecog.longitudinal.spec import LongitudinalSpec

log = logging.getLogger(__name__)

CORRELATION_LABELS: Mapping[str, str] = {
    "exchangeable": "exchangeable",
    "ar1": "AR(1)",
    "independence": "independence",
}


@dataclass(frozen=True, kw_only=True)
class GEESpec(LongitudinalSpec):
    """GEE (``workflow/schemas/analyses/gee.schema.yaml``).

    Attributes
    ----------
    working_correlation : str
        ``exchangeable``, ``ar1`` (distances in waves) or ``independence``.
    family : str
        ``gaussian`` or ``binomial`` (odds ratios).
    time_terms : bool
        Include time and exposure x time.
    """

    TYPE: ClassVar[str] = "gee"
    working_correlation: str = "exchangeable"
    family: str = "gaussian"
    time_terms: bool = True

    @property
    def method(self) -> str:
        """The ``method`` column."""
        correlation = CORRELATION_LABELS[self.working_correlation]
        return f"GEE ({self.family}, {correlation} working correlation, robust SE)"


@dataclass(frozen=True, kw_only=True)
class GEEResult(LongitudinalResult):
    """The result of a ``gee`` analysis: coefficients with robust SEs, the working correlation parameter and
    convergence per fit."""


# --- the GEE fit -------------------------------------------------------------------------------------------
#
# statsmodels' ``GEE(...).fit(ddof_scale=0, maxiter=100)`` step for step, vectorised over people: statsmodels
# loops over clusters in Python (about 2 s on CHARLS' 9,333 people); here every cluster's working covariance
# is applied at once with the closed-form inverses of the three working correlations (the same formulas as
# statsmodels' ``covariance_matrix_solve``), the per-cluster products D_i' V_i^-1 [D_i, r_i] are batched by
# cluster size and added up in cluster order. tests/unit/test_gee_engine.py checks params, SEs and the
# correlation against statsmodels to 1e-10.

_FLOAT_EPS = float(np.finfo(float).eps)
MAXITER = 100
"""Iterations of the mean-parameter update before a fit is reported as not converged."""
_CTOL = 1e-6
"""statsmodels' ``ctol``: the fit stops when the L2 norm of the score is below it."""
_GLM_TOL = 1e-8
"""statsmodels' GLM IRLS ``tol`` (absolute change in deviance), for the starting values."""
_GLM_MAXITER = 100
ITERATION_LIMIT = "Iteration limit reached prior to convergence"
"""statsmodels' IterationLimitWarning text (a fit that did not converge)."""
NOT_FINITE = "the estimates are not finite (is the outcome separated?)"
"""Added to a fit's messages when it ends with NaN or infinite estimates: never reported as converged."""
PERFECT_SEPARATION = "Perfect separation or prediction detected, parameter may not be identified"
"""statsmodels' PerfectSeparationWarning text (raised by the GLM fit of the starting values)."""


@dataclass(frozen=True)
class GEEFit:
    """One fitted GEE.

    Attributes
    ----------
    params : ndarray
    cov : ndarray
        Robust (sandwich) covariance of ``params``.
    std_errors : ndarray
    dep_param : float or None
        The working correlation parameter (None for independence).
    messages : tuple of str
        The warnings of the fit (statsmodels' texts), sorted.
    n_iter : int
        Iterations of the mean-parameter update.
    engine : str
        ``numpy`` (:func:`gee_numpy`) or ``statsmodels`` (:func:`gee_statsmodels`).
    """

    params: np.ndarray
    cov: np.ndarray
    std_errors: np.ndarray
    dep_param: float | None
    messages: tuple[str, ...]
    n_iter: int
    engine: str


@dataclass(frozen=True)
class _Clusters:
    """Rows sorted by cluster (statsmodels' order: sorted labels, rows in data order within a cluster)."""

    order: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    first: np.ndarray
    last: np.ndarray
    single: np.ndarray
    size_of_row: np.ndarray
    by_size: tuple[tuple[np.ndarray, np.ndarray], ...]
    """Per cluster size k: the clusters' indices and their rows (clusters x k)."""

    @classmethod
    def of(cls, groups: np.ndarray) -> _Clusters:
        _, inverse = np.unique(groups, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        sizes = np.bincount(inverse)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        n = len(order)
        first = np.zeros(n, bool)
        first[starts] = True
        last = np.zeros(n, bool)
        last[starts + sizes - 1] = True
        size_of_row = np.repeat(sizes, sizes)
        by_size = []
        for k in np.unique(sizes):  # a loop over cluster sizes, not clusters
            which = np.flatnonzero(sizes == k)
            by_size.append((which, starts[which][:, None] + np.arange(k)))
        return cls(order, starts, sizes, first, last, size_of_row == 1, size_of_row, tuple(by_size))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per-cluster sums of the rows of ``values``."""
        return np.add.reduceat(values, self.starts, axis=0)

    def crossprods(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a_i' b_i`` of every cluster i (clusters x a's columns x b's columns), batched by cluster size.

        Callers add these up over clusters with ``np.add.reduce(..., axis=0)``, which adds them one after the
        other in cluster order as statsmodels' loop does; one ``a' b`` over all rows sums in another order,
        which moves robust SEs by up to ~1e-11 (relative) from statsmodels' on CHARLS.
        """
        out = np.empty((len(self.sizes), a.shape[1], b.shape[1]))
        for which, rows in self.by_size:
            out[which] = np.matmul(a[rows].transpose(0, 2, 1), b[rows])
        return out

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (j, k), j < k, of every pair of rows of a cluster, cluster by cluster."""
        js, ks = [], []
        for _, rows in self.by_size:
            a, b = np.triu_indices(rows.shape[1], 1)
            js.append(rows[:, a].ravel())
            ks.append(rows[:, b].ravel())
        if not js:
            return np.zeros(0, int), np.zeros(0, int)
        j, k = np.concatenate(js), np.concatenate(ks)
        o = np.lexsort((k, j))
        return j[o], k[o]


class _Family:
    """The Gaussian (identity link) or binomial (logit link) family, with statsmodels' formulas."""

    def __init__(self, name: str) -> None:
        self.binomial = name == "binomial"

    def _clean(self, p: np.ndarray) -> np.ndarray:
        return np.clip(p, _FLOAT_EPS, 1.0 - _FLOAT_EPS)

    def link(self, mu: np.ndarray) -> np.ndarray:
        if not self.binomial:
            return mu
        p = self._clean(mu)
        return np.log(p / (1.0 - p))

    def link_deriv(self, mu: np.ndarray) -> np.ndarray:
        if not self.binomial:
            return np.ones_like(mu)
        p = self._clean(mu)
        return 1.0 / (p * (1 - p))

    def inverse(self, z: np.ndarray) -> np.ndarray:
        if not self.binomial:
            return z
        return 1.0 / (1.0 + np.exp(-z))

    def inverse_deriv(self, z: np.ndarray) -> np.ndarray:
        if not self.binomial:
            return np.ones_like(z)
        t = np.exp(z)
        return t / (1 + t) ** 2

    def variance(self, mu: np.ndarray) -> np.ndarray:
        if not self.binomial:
            return np.ones(mu.shape, np.float64)
        p = self._clean(mu)
        return p * (1 - p)

    def starting_mu(self, y: np.ndarray) -> np.ndarray:
        return (y + 0.5) / 2 if self.binomial else (y + y.mean()) / 2.0

    def deviance(self, y: np.ndarray, mu: np.ndarray, scale: float) -> float:
        if self.binomial:
            endog_mu = np.clip(y / (mu + 1e-20), _FLOAT_EPS, np.inf)
            n_endog_mu = np.clip((1.0 - y) / (1.0 - mu + 1e-20), _FLOAT_EPS, np.inf)
            dev = 2 * (y * np.log(endog_mu) + (1 - y) * np.log(n_endog_mu))
        else:
            dev = (y - mu) ** 2
        return float(np.sum(dev / scale))

    def glm_scale(self, y: np.ndarray, mu: np.ndarray, df_resid: int) -> float:
        """GLM's scale: 1 (binomial) or Pearson's chi-square over the residual df."""
        if self.binomial:
            return 1.0
        return float(np.sum(np.power(y - mu, 2) / self.variance(mu)) / df_resid)


def _glm_start(y: np.ndarray, x: np.ndarray, family: _Family) -> tuple[np.ndarray, list[str]]:
    """statsmodels' GLM IRLS fit (its GEE starting values): the coefficients and its warnings."""
    msgs: list[str] = []
    mu = family.starting_mu(y)
    lin_pred = family.link(mu)
    df_resid = len(y) - x.shape[1]  # the design has full rank (long_design)
    scale = family.glm_scale(y, mu, df_resid)
    dev = [family.deviance(y, mu, scale)]
    for _ in range(_GLM_MAXITER):
        w = 1.0 / (family.link_deriv(mu) ** 2 * family.variance(mu))
        z = lin_pred + family.link_deriv(mu) * (y - mu)
        w_half = np.sqrt(w)
        wx, wz = w_half[:, None] * x, w_half * z
        params = np.linalg.lstsq(wx, wz, rcond=-1)[0]
        lin_pred = x @ params
        mu = family.inverse(lin_pred)
        dev.append(family.deviance(y, mu, scale))
        scale = family.glm_scale(y, mu, df_resid)
        if np.allclose(mu - y, 0) and PERFECT_SEPARATION not in msgs:
            msgs.append(PERFECT_SEPARATION)
        if abs(dev[-1] - dev[-2]) <= _GLM_TOL:
            break
    return np.linalg.pinv(wx) @ wz, msgs  # statsmodels' final WLS (pinv) on the last working response


class _Working:
    """A working correlation: its parameter, the solve with the working covariance and the parameter update."""

    def __init__(self, kind: str, clusters: _Clusters, time: np.ndarray | None) -> None:
        self.kind = kind
        self.cl = clusters
        self.dep = 0.0
        if kind == "ar1":
            self.pair_j, self.pair_k = clusters.pairs()
            t = np.asarray(time, float)
            self.dist = np.abs(t[self.pair_j] - t[self.pair_k])

    def solve(self, sd: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """``V^-1 rhs`` for every cluster at once, V = diag(sd) R diag(sd) (rhs: rows x columns)."""
        if self.kind == "independence":
            return rhs / (sd**2)[:, None]
        x1 = rhs / sd[:, None]
        r = self.dep
        if self.kind == "exchangeable":
            c = r / (1.0 - r) / (1.0 + r * (self.cl.size_of_row - 1))
            sums = np.repeat(self.cl.sums(x1), self.cl.sizes, axis=0)
            y = x1 / (1.0 - r) - c[:, None] * sums
            return y / sd[:, None]
        # AR(1) by position within the cluster (statsmodels' Autoregressive): a tridiagonal inverse
        c0 = (1.0 + r**2) / (1.0 - r**2)
        c1 = 1.0 / (1.0 - r**2)
        c2 = -r / (1.0 - r**2)
        prev = np.zeros_like(x1)
        prev[1:] = x1[:-1]
        prev[self.cl.first] = 0.0
        nxt = np.zeros_like(x1)
        nxt[:-1] = x1[1:]
        nxt[self.cl.last] = 0.0
        diag = np.where(self.cl.first | self.cl.last, c1, c0)[:, None]
        y = (diag * x1 + c2 * nxt + c2 * prev) / sd[:, None]
        one = self.cl.single
        y[one] = rhs[one] / (sd[one] ** 2)[:, None]  # a cluster of one row: x / sd^2
        return y

    def update(self, pearson: np.ndarray) -> None:
        """The correlation parameter from Pearson residuals (scale estimated with N in the denominator)."""
        if self.kind == "exchangeable":
            scale = float(np.sum(pearson**2)) / len(pearson)
            per = self.cl.sums(pearson)
            ssr = self.cl.sums(pearson**2)
            n_pairs = float(np.sum(0.5 * self.cl.sizes * (self.cl.sizes - 1)))
            self.dep = float(np.sum((per**2 - ssr) / 2)) / scale / n_pairs
        elif self.kind == "ar1":
            self.dep = geepack_ar1_alpha(
                pearson[self.pair_j] * pearson[self.pair_k], self.dist, float(pearson @ pearson) / len(pearson)
            )


def gee_numpy(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray, family: str, correlation: str,
    time: np.ndarray | None = None, maxiter: int = 100,
) -> GEEFit:
    """statsmodels' ``GEE(y, x, groups, time=time, ...).fit(ddof_scale=0, maxiter=maxiter)``, vectorised.

    Same starting values (GLM IRLS), mean-parameter (Fisher scoring) update, working correlation update
    (statsmodels' exchangeable moment estimator; geepack's AR(1), :class:`~musclecog.longitudinal.gee_ar1.
    GeepackAR1`), convergence rule (score norm below 1e-6 after at least one correlation update) and
    robust covariance.

    Parameters
    ----------
    y : ndarray
    x : ndarray
        Full-rank design.
    groups : ndarray
        Cluster labels.
    family : str
        ``gaussian`` (identity link) or ``binomial`` (logit link).
    correlation : str
        ``independence``, ``exchangeable`` or ``ar1``.
    time : ndarray, optional
        Visit times (AR(1): the distances of geepack's estimator).
    maxiter : int

    Returns
    -------
    GEEFit

    Raises
    ------
    FloatingPointError
        On an overflow, division by zero or invalid value (where statsmodels would warn):
        :func:`gee_fit` then fits with statsmodels.
    """
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        return _gee_numpy(y, x, groups, _Family(family), correlation, time, maxiter)


def _gee_numpy(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray, family: _Family, correlation: str,
    time: np.ndarray | None, maxiter: int,
) -> GEEFit:
    y, x = np.asarray(y, float), np.asarray(x, float)
    params, msgs = _glm_start(y, x, family)  # on the rows in data order, as statsmodels
    cl = _Clusters.of(np.asarray(groups))
    y, x = y[cl.order], x[cl.order]
    working = _Working(correlation, cl, None if time is None else np.asarray(time, float)[cl.order])
    update_dep = bool(cl.sizes.max() > 1)
    p = x.shape[1]

    def per_cluster(b: np.ndarray) -> np.ndarray:
        """``D_i' V_i^-1 [D_i, r_i]`` of each cluster i at coefficients b (D: d mean / d b, r: residuals)."""
        lin_pred = x @ b
        mu = family.inverse(lin_pred)
        d = x * family.inverse_deriv(lin_pred)[:, None]
        return cl.crossprods(d, working.solve(np.sqrt(family.variance(mu)), np.column_stack([d, y - mu])))

    score_norm, n_assoc, itr = -1.0, 0, 0
    for itr in range(maxiter):  # noqa: B007 - the iteration count is reported
        total = np.add.reduce(per_cluster(params), axis=0)
        score = total[:, p]
        params = params + _solve_or_pinv(total[:, :p], score)
        score_norm = float(np.sqrt(np.sum(score**2)))
        if score_norm < _CTOL and (n_assoc > 0 or not update_dep):
            break
        if update_dep:
            mu = family.inverse(x @ params)
            working.update((y - mu) / np.sqrt(family.variance(mu)))
            n_assoc += 1
    if score_norm >= _CTOL:
        msgs.append(ITERATION_LIMIT)
    per = per_cluster(params)
    bmati = _inv_or_pinv(np.add.reduce(per, axis=0)[:, :p])
    u = per[:, :, p]  # each cluster's score
    cov = bmati @ (np.add.reduce(u[:, :, None] * u[:, None, :], axis=0) @ bmati)
    return GEEFit(
        params=params,
        cov=cov,
        std_errors=np.sqrt(np.diag(cov)),
        dep_param=None if correlation == "independence" else float(working.dep),
        messages=tuple(sorted(set(msgs))),
        n_iter=itr + 1,
        engine="numpy",
    )


def _solve_or_pinv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a) @ b


def _inv_or_pinv(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a)


def gee_statsmodels(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray, family: str, correlation: str,
    time: np.ndarray | None = None, maxiter: int = 100,
) -> GEEFit:
    """The same fit with statsmodels' GEE (the peer of :func:`gee_numpy`, and its fallback).

    Parameters and result as :func:`gee_numpy`; ``messages`` are every warning raised during the fit.
    """
    from statsmodels.genmod import cov_struct, families
    from statsmodels.genmod.generalized_estimating_equations import GEE

    from musclecog.longitudinal.gee_ar1 import GeepackAR1

    cs: Any
    if correlation == "ar1":
        cs = GeepackAR1()
    elif correlation == "exchangeable":
        cs = cov_struct.Exchangeable()
    else:
        cs = cov_struct.Independence()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GEE(
            y,
            x,
            groups=groups,
            family=families.Binomial() if family == "binomial" else families.Gaussian(),
            cov_struct=cs,
            time=None if time is None else np.asarray(time, float)[:, None],
        )
        res = model.fit(ddof_scale=0, maxiter=maxiter)
    cov = np.asarray(res.cov_params())
    return GEEFit(
        params=np.asarray(res.params),
        cov=cov,
        std_errors=np.asarray(res.bse),
        dep_param=None if correlation == "independence" else float(np.atleast_1d(cs.dep_params)[0]),
        messages=tuple(sorted({str(w.message) for w in caught})),
        n_iter=len(res.fit_history["params"]),
        engine="statsmodels",
    )


def gee_fit(
    y: np.ndarray, x: np.ndarray, groups: np.ndarray, family: str, correlation: str,
    time: np.ndarray | None = None, maxiter: int = 100,
) -> GEEFit:
    """:func:`gee_numpy`, or statsmodels (:func:`gee_statsmodels`) where numpy hits a floating-point error.

    Parameters and result as :func:`gee_numpy`.
    """
    try:
        return gee_numpy(y, x, groups, family, correlation, time, maxiter)
    except FloatingPointError as err:
        log.info("GEE: %s in the numpy fit; fitting with statsmodels", err)
        return gee_statsmodels(y, x, groups, family, correlation, time, maxiter)


def _fit_gee(df: pd.DataFrame, design: LongDesign, spec: GEESpec) -> GEEFit:
    """The GEE of one design (:func:`gee_fit`)."""
    rows = df.loc[design.x.index]
    visit = None
    if spec.working_correlation == "ar1":
        visit = (
            rows["wave"].to_numpy(float)
            if "wave" in rows.columns
            else rows.groupby("id").cumcount().to_numpy(float)
        )
    return gee_fit(
        design.y,
        design.x.to_numpy(float),
        rows["id"].to_numpy(),
        spec.family,
        spec.working_correlation,
        visit,
        MAXITER,
    )


def _gee_estimates(
    gee: GEEFit, fit: FitResult, spec: GEESpec, prep: Prepared, stratum: str,
    unit: str | None = None,
) -> list[Estimate]:
    n_people = int(fit.diagnostics.n_groups or 0)
    converged = fit.diagnostics.converged
    msgs = list(gee.messages)
    note = fit_note(f"{fit.diagnostics.n} observations of {n_people} people", prep, spec, stratum)
    if not converged:
        note = f"NOT CONVERGED ({'; '.join(msgs)}); " + note
        log.warning("%s [%s]: GEE did not converge: %s", spec.where, stratum, msgs)
    lab = labels(spec, spec.method, stratum, unit)
    out = coefficients(fit, "odds_ratio" if spec.family == "binomial" else "beta", n_people, note, lab)
    label = CORRELATION_LABELS[spec.working_correlation]
    if spec.working_correlation != "independence":
        out.append(
            Estimate(
                term="working_correlation",
                estimate=float(gee.dep_param or 0.0),
                scale="correlation",
                n=n_people,
                note=f"{label} working correlation parameter",
                **lab,
            )
        )
    # kept as a row because today's tables have it; the same is in the fit's diagnostics
    status = "converged" if converged else "NOT CONVERGED: " + "; ".join(msgs)
    out.append(
        Estimate(term="converged", estimate=float(converged), scale="test", n=n_people, note=status, **lab)
    )
    return out


def fit_gee(data: pd.DataFrame, spec: GEESpec) -> GEEResult:
    """GEE (analysis type ``gee``): outcome on time, exposure, exposure x time and covariates.

    Matches ``geepack::geeglm(y ~ time * exposure + covariates, id = id, corstr = "exchangeable" | "ar1")``
    (scale estimated with N in the denominator, as geepack). Rows: coefficients (``beta``, or ``odds_ratio``
    for ``family: binomial``) with robust SEs and Wald z intervals, the working correlation parameter
    (``scale: correlation``) and a ``converged`` row.

    Parameters
    ----------
    data : DataFrame
        The long cohort table.
    spec : GEESpec

    Returns
    -------
    GEEResult
    """
    prep = prepare_long(data, spec)
    scaled, unit = exposure_scale(prep.frame, spec)
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    for stratum in strata(prep.frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = prep.frame.loc[stratum.mask]
        where = f"{spec.where} [{stratum.label}]"
        design = long_design(df, scaled, where, time=spec.time_terms, exposure_x_time=spec.time_terms)
        if spec.family == "binomial" and not np.isin(design.y, [0.0, 1.0]).all():
            raise DataError(
                f"{spec.where}: family binomial needs a 0/1 outcome; '{spec.outcome}' has other values"
            )
        gee = _fit_gee(df, design, spec)
        finite = bool(np.isfinite(gee.params).all())
        if not finite:  # statsmodels ends a separated fit with NaN and no warning
            gee = replace(gee, messages=(*gee.messages, NOT_FINITE))
        msgs = gee.messages
        converged = finite and not any("converge" in m.lower() or "iteration limit" in m.lower() for m in msgs)
        diagnostics = Diagnostics(
            n=len(design.y),
            converged=converged,
            exclusions=prep.counts,
            n_groups=int(df.loc[design.x.index, "id"].nunique()),
            messages=tuple(msgs),
            statistics={"working_correlation": float(gee.dep_param or 0.0)}
            if spec.working_correlation != "independence"
            else {},
        )
        fit = FitResult.from_arrays(
            list(design.x.columns),
            gee.params,
            gee.cov,
            None,
            diagnostics,
            std_errors=gee.std_errors,
            method=spec.method,
            codings=design.codings,
        )
        fits[stratum.label] = fit
        estimates += _gee_estimates(gee, fit, spec, prep, stratum.label, unit)
    title = f"{spec.context.analysis}: {spec.outcome} by {spec.exposure} (GEE)"
    return make_result(GEEResult, spec, prep, estimates, fits, title)
