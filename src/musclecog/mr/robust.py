"""Robust two-sample MR estimators: MR-RAPS and cML-MA-BIC.

Both take harmonised per-variant associations ``bx, by`` and standard errors ``sx, sy`` (1-d arrays, as every
estimator of :mod:`musclecog.mr.estimators`) and return an :class:`~musclecog.mr.estimators.MREstimate`; the
``*_fit`` functions return the richer fit (overdispersion, selected invalid instruments, ...).

- :func:`raps`: robust adjusted profile score (Zhao, Wang, Hemani, Bowden & Small 2020, Ann Stat 48:1742), as
  the mr.raps package's ``mr.raps(data, diagnostics = FALSE)`` computes it (version 0.4.x; that function calls
  ``mr.raps.shrinkage(..., over.dispersion = TRUE, loss.function = "huber", shrinkage = FALSE)``): the root of
  the profile-score estimating equations with a robust score, the sandwich standard error with the observed
  derivative of the estimating equations.
- :func:`cml`: constrained maximum likelihood with model averaging by BIC (Xue, Shen & Pan 2021, AJHG
  108:1251), as MRcML's ``mr_cML(b_exp, b_out, se_exp, se_out, n = n)`` computes its ``MA_BIC_*`` results.

All computations are vectorised over instruments (and, for cML, over the candidate numbers of invalid instruments
and the start points); the only Python loops are over solver iterations and the few start points of RAPS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from musclecog.core import distributions as dist
from musclecog.mr.estimators import LABELS, MIN_SNPS, MREstimate, _as_arrays, _p_normal, not_estimable

RAPS_LOSSES: tuple[str, ...] = ("huber", "tukey", "l2")
"""Score functions of MR-RAPS (``loss.function``): robust Huber (the default of ``mr.raps``), Tukey's
biweight, or the squared error."""

RAPS_K: dict[str, float] = {"l2": 2.0, "huber": 1.345, "tukey": 4.685}
"""mr.raps's default threshold ``k`` of each loss (95% efficiency at the normal for Huber and Tukey; unused by
the l2 score)."""

RAPS_TAU2_LIMIT = 10.0
"""mr.raps discards a root whose ``tau2`` exceeds this multiple of ``median(sy)``."""

CML_TOL = 1e-7
"""MRcML's stopping rule: the coordinate descent stops when ``theta`` moves by at most this much."""


# --- MR-RAPS ---------------------------------------------------------------------------------------


def _psi(r: np.ndarray, loss: str, k: float) -> np.ndarray:
    """The score (first derivative of the loss) at the standardised residuals ``r``."""
    if loss == "l2":
        return r
    if loss == "huber":
        return np.clip(r, -k, k)
    return r * (1 - (r / k) ** 2) ** 2 * (np.abs(r) <= k)


def _dpsi(r: np.ndarray, loss: str, k: float) -> np.ndarray:
    if loss == "l2":
        return np.ones_like(r)
    if loss == "huber":
        return (np.abs(r) <= k).astype(float)
    t = (r / k) ** 2
    return np.where(t < 1, (1 - t) * (1 - 5 * t), 0.0)


def _rho(r: np.ndarray, loss: str, k: float) -> np.ndarray:
    """The loss itself (``rho.l2``, ``rho.huber``, ``rho.tukey``)."""
    if loss == "l2":
        return r**2 / k
    if loss == "huber":
        a = np.abs(r)
        return np.where(a <= k, r**2 / 2, k * (a - k / 2))
    return np.minimum(1 - (1 - (r / k) ** 2) ** 3, 1.0)


@dataclass(frozen=True)
class LossConstants:
    """Moments of the score under a standard normal residual ``Z``: ``delta = E[Z psi(Z)]``,
    ``c1 = E[psi(Z)^2]``, ``c2 = E[Z^2 psi(Z)^2] - delta^2``, ``c3 = E[Z^2 psi'(Z)]``."""

    delta: float
    c1: float
    c2: float
    c3: float


@lru_cache(maxsize=32)
def loss_constants(loss: str, k: float) -> LossConstants:
    """The normal moments of :class:`LossConstants` as mr.raps computes them: R's ``integrate()`` over the whole
    line at its default tolerances, i.e. QUADPACK's ``dqagi`` with ``rel.tol = abs.tol = eps^0.25`` and 100
    subdivisions (scipy's ``quad`` runs the same routine and reproduces R's values to rounding). For the Huber score
    this ``delta`` is 4.7e-7 above the exact ``2 Phi(k) - 1``; the estimating equations use the package's value."""
    from scipy import integrate  # imported here: only MR-RAPS needs it (start-up of every MR job)

    tol = float(np.finfo(float).eps ** 0.25)

    def moment(f: Callable[[float], float]) -> float:
        return float(integrate.quad(f, -np.inf, np.inf, epsabs=tol, epsrel=tol, limit=100)[0])

    def psi1(x: float) -> float:
        return float(_psi(np.array([x]), loss, k)[0])

    def dpsi1(x: float) -> float:
        return float(_dpsi(np.array([x]), loss, k)[0])

    phi = dist.norm_pdf
    delta = moment(lambda x: x * psi1(x) * phi(x))
    c1 = moment(lambda x: psi1(x) ** 2 * phi(x))
    c2 = moment(lambda x: x**2 * psi1(x) ** 2 * phi(x)) - delta**2
    c3 = moment(lambda x: x**2 * dpsi1(x) * phi(x))
    return LossConstants(delta, c1, c2, c3)


MULTIROOT_MAXITER = 100
"""rootSolve ``multiroot``'s defaults, whose Newton-Raphson iteration mr.raps runs from each start:
``maxiter``, ``rtol``, ``atol``, ``ctol``."""
MULTIROOT_RTOL = 1e-6
MULTIROOT_ATOL = 1e-8
MULTIROOT_CTOL = 1e-8


def _newton(fun: Callable[[np.ndarray], np.ndarray], x0: np.ndarray) -> np.ndarray | None:
    """A root of ``fun`` by rootSolve ``multiroot``'s Newton-Raphson (full steps, forward-difference Jacobian with
    step ``max(1e-8 |x|, 1e-8)``, its stopping rules), then polished by further Newton steps to machine precision.
    None where the iteration breaks down (non-finite values, singular Jacobian), as ``multiroot`` returns NA."""
    x = np.array(x0, dtype=float)
    f = fun(x)
    for _ in range(MULTIROOT_MAXITER):
        if not np.all(np.isfinite(f)):
            return None
        if np.max(np.abs(f) / (MULTIROOT_RTOL * np.abs(x) + MULTIROOT_ATOL)) <= 1:
            break
        step = _newton_step(fun, x, f)
        if step is None:
            return None
        x = x + step
        f = fun(x)
        if np.max(np.abs(step)) <= MULTIROOT_CTOL:
            break
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(f)):
        return None
    for _ in range(20):
        step = _newton_step(fun, x, f)
        if step is None:
            break
        trial = x + step
        f_trial = fun(trial)
        if not np.all(np.isfinite(f_trial)) or np.max(np.abs(f_trial)) >= np.max(np.abs(f)):
            break
        x, f = trial, f_trial
        if np.max(np.abs(step) / np.maximum(np.abs(x), 1e-300)) <= 4 * np.finfo(float).eps:
            break
    return x


def _newton_step(fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, f: np.ndarray) -> np.ndarray | None:
    h = np.maximum(np.abs(x) * 1e-8, 1e-8)
    jac = np.column_stack([(fun(x + h[j] * np.eye(x.size)[j]) - f) / h[j] for j in range(x.size)])
    if not np.all(np.isfinite(jac)):
        return None
    try:
        return np.asarray(np.linalg.solve(jac, -f))
    except np.linalg.LinAlgError:
        return None


@dataclass(frozen=True)
class RapsFit:
    """An MR-RAPS fit.

    Attributes
    ----------
    estimate : MREstimate
    tau2, tau2_se : float
        Overdispersion variance and its sandwich standard error (0 and 0 without overdispersion).
    over_dispersion : bool
        Whether the reported fit has overdispersion: False when it was asked for but the package's rule fell back
        to ``tau2 = 0`` (no finite root, or a negative ``tau2``; ``estimate.note`` says which).
    loss : str
    k : float
    """

    estimate: MREstimate
    tau2: float
    tau2_se: float
    over_dispersion: bool
    loss: str
    k: float


class _Raps:
    """The estimating equations of mr.raps (``shrinkage = FALSE``) on one data set."""

    def __init__(self, bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, loss: str, k: float) -> None:
        self.bx, self.by, self.sx, self.sy = bx, by, sx, sy
        self.loss, self.k = loss, k
        self.const = loss_constants(loss, k)

    def parts(self, beta: float, tau2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Standardised residuals ``t``, profile exposure effects ``gamma``, variances ``v`` and ``s2 = sy^2 + tau2``."""
        bx, by, sx, sy = self.bx, self.by, self.sx, self.sy
        s2 = sy**2 + tau2
        v = beta**2 * sx**2 + s2
        t = (by - bx * beta) / np.sqrt(v)
        gamma = (bx / sx**2 + beta * by / s2) / (1 / sx**2 + beta**2 / s2)
        return t, gamma, v, s2

    def equations(self, param: np.ndarray, over_dispersion: bool) -> np.ndarray:
        beta = float(param[0])
        tau2 = float(param[1]) if over_dispersion else 0.0
        t, gamma, v, _ = self.parts(beta, tau2)
        psi = _psi(t, self.loss, self.k)
        first = np.sum(gamma * psi / np.sqrt(v))
        if not over_dispersion:
            return np.array([first])
        return np.array([first, np.sum((t * psi - self.const.delta) / v)])

    def sandwich(self, beta: float, tau2: float, over_dispersion: bool) -> tuple[float, float]:
        """mr.raps.shrinkage's sandwich standard errors of ``beta`` and ``tau2``."""
        c = self.const
        t, gamma, v, s2 = self.parts(beta, tau2)
        psi = _psi(t, self.loss, self.k)
        denom = 1 / self.sx**2 + beta**2 / s2
        d_beta = (self.by / s2) / denom
        a = float(np.sum((d_beta * psi - gamma * c.delta * self.bx / np.sqrt(v)) / np.sqrt(v)))
        v1_beta = c.c1 * float(np.sum(gamma**2 / v))
        if not over_dispersion:
            return float(np.sqrt(v1_beta / a**2)), 0.0
        d_tau2 = -beta * self.by / s2**2 / denom
        bread = np.array([[a, float(np.sum(d_tau2 * psi / np.sqrt(v)))],
                          [0.0, (c.delta + c.c3) / 2 * float(np.sum(1 / v**2))]])
        meat = np.diag([v1_beta, c.c2 * float(np.sum(1 / v**2))])
        try:
            inv = np.linalg.inv(bread)
        except np.linalg.LinAlgError:
            return np.nan, np.nan
        cov = inv @ meat @ inv.T
        var_beta, var_tau2 = float(cov[0, 0]), float(cov[1, 1])
        return (float(np.sqrt(var_beta)) if var_beta >= 0 else np.nan,
                float(np.sqrt(var_tau2)) if var_tau2 >= 0 else np.nan)

    # -- the package's first-generation fits (mr.raps.mle), used as starting points and to pick the root --

    def _residuals(self, beta: float, tau2: float, pooled: bool) -> tuple[np.ndarray, np.ndarray]:
        """Standardised residuals and variances; ``pooled``: standardised by the largest variance of all instruments,
        as ``mr.raps.overdispersed.robust`` computes them (its ``sqrt(max(0, v))`` takes the maximum over the vector
        ``v``)."""
        t, _, v, _ = self.parts(beta, tau2)
        if pooled:
            t = (self.by - self.bx * beta) / np.sqrt(max(0.0, float(np.max(v))))
        return t, v

    def _beta_step(self, tau2: float, bound: float, start: float | None, pooled: bool = False) -> float:
        """Maximise ``-sum(rho(t))`` over ``beta`` with ``tau2`` fixed: over ``[-bound, bound]`` (doubling the bound
        while the maximum is near it), or locally from ``start``."""

        from scipy import optimize  # imported here: only MR-RAPS needs it (start-up of every MR job)

        def objective(b: float) -> float:
            return float(np.sum(_rho(self._residuals(b, tau2, pooled)[0], self.loss, self.k)))

        if start is not None:
            res = optimize.minimize(lambda x: objective(float(x[0])), np.array([start]), method="L-BFGS-B",
                                    bounds=[(-bound, bound)])
            beta = float(res.x[0])
            if abs(beta) <= 0.95 * bound:
                return beta
        for _ in range(40):
            beta = float(optimize.minimize_scalar(objective, bounds=(-bound, bound), method="bounded",
                                                  options={"xatol": 1e-12 * max(bound, 1.0)}).x)
            if abs(beta) <= 0.95 * bound:
                break
            bound *= 2
        return beta

    def _tau2_step(self, beta: float, bound: float, pooled: bool = False) -> float:
        """The ``tau2 >= 0`` solving ``sum(sx^2 (t psi(t) - delta) / v) = 0`` at fixed ``beta`` (0 when the
        equation is negative at 0)."""

        def eq(tau2: float) -> float:
            t, v = self._residuals(beta, tau2, pooled)
            return float(np.sum(self.sx**2 * (t * _psi(t, self.loss, self.k) - self.const.delta) / v))

        from scipy import optimize

        if eq(0.0) <= 0:
            return 0.0
        hi = bound
        for _ in range(60):
            if eq(hi) < 0:
                return float(optimize.brentq(eq, 0.0, hi, xtol=1e-15 * bound))
            hi *= 2
        return 0.0

    def mle(self, over_dispersion: bool) -> tuple[float, float]:
        """``mr.raps.mle(..., over.dispersion, loss.function)``'s ``(beta, tau2)`` (to solver precision)."""
        ratio_q = float(np.quantile(np.abs(self.by / self.bx), 0.95))
        if not over_dispersion:
            return self._beta_step(0.0, 2 * ratio_q, None), 0.0
        keep = self.sx <= 10 * np.median(self.sx)
        sub = self if keep.all() else _Raps(self.bx[keep], self.by[keep], self.sx[keep], self.sy[keep],
                                            self.loss, self.k)
        l2 = sub if self.loss == "l2" else _Raps(sub.bx, sub.by, sub.sx, sub.sy, "l2", RAPS_K["l2"])
        beta, tau2 = l2._alternate(l2._beta_step(0.0, 2 * ratio_q, None), 0.0)
        if self.loss == "l2":
            return beta, tau2
        return sub._alternate(beta, tau2)

    def _alternate(self, beta: float, tau2: float) -> tuple[float, float]:
        bound_beta = 10 * float(np.quantile(np.abs(self.by / self.bx), 0.95))
        bound_tau2 = 100 * float(np.quantile(self.sy**2, 0.95))
        tol = np.sqrt(np.finfo(float).eps)
        robust = self.loss != "l2"
        for _ in range(20):
            old = (beta, tau2)
            tau2 = self._tau2_step(beta, bound_tau2, pooled=robust)
            beta = self._beta_step(tau2, bound_beta, beta if robust else None, pooled=robust)
            change = abs(old[0] - beta) / abs(beta + 1e-10) + abs(old[1] - tau2) / abs(tau2 + 1e-10)
            if change <= tol:
                break
        return beta, tau2

    def solve(self, starts: list[tuple[float, float]], over_dispersion: bool) -> np.ndarray:
        """Roots of the estimating equations from each start: rows ``(beta, tau2)``; NaN where the Newton iteration
        broke down or ``tau2`` is above the package's limit."""
        out = np.full((len(starts), 2), np.nan)
        limit = RAPS_TAU2_LIMIT * float(np.median(self.sy))
        for i, (beta, tau2) in enumerate(starts):
            x0 = np.array([beta, tau2]) if over_dispersion else np.array([beta])
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                root = _newton(lambda z: self.equations(z, over_dispersion), x0)
            if root is None or (over_dispersion and root[1] > limit):
                continue
            out[i] = (root[0], root[1] if over_dispersion else 0.0)
        return out


def raps_fit(bx: Any, by: Any, sx: Any, sy: Any, over_dispersion: bool = True,
             loss: str = "huber", k: float | None = None) -> RapsFit | MREstimate:
    """MR-RAPS: robust adjusted profile score (Zhao et al. 2020, Ann Stat 48:1742).

    Solves the profile-score estimating equations ``sum(gamma_j psi(t_j) / sqrt(v_j)) = 0`` and (with
    overdispersion) ``sum((t_j psi(t_j) - delta) / v_j) = 0`` in ``(beta, tau2)``, where
    ``v_j = beta^2 sx_j^2 + sy_j^2 + tau2``, ``t_j = (by_j - beta bx_j) / sqrt(v_j)``, ``gamma_j`` is the profile
    estimate of the instrument-exposure effect and ``psi`` the score of ``loss`` with threshold ``k``.

    Parameters
    ----------
    bx, by, sx, sy : array-like
    over_dispersion : bool
        Estimate the pleiotropic variance ``tau2`` (``over.dispersion``, TRUE in ``mr.raps``).
    loss : {"huber", "tukey", "l2"}
        ``loss.function`` ("huber" in ``mr.raps``).
    k : float, optional
        Threshold of the Huber / Tukey score; default the package's (:data:`RAPS_K`).

    Returns
    -------
    RapsFit, or the not-estimable MREstimate

    Notes
    -----
    As ``mr.raps.shrinkage(shrinkage = FALSE)``: the equations are solved from the first-generation fits
    ``mr.raps.mle`` with the l2 and Huber losses; of the roots found, the one closest to ``mr.raps.mle``'s estimate
    with the chosen loss is reported (a root with ``tau2 > 10 median(sy)`` is discarded). No root, or a negative
    ``tau2``, falls back to the fit without overdispersion, as the package does. The package adds randomly perturbed
    starts (which only matter when the equations have several roots, then it warns); here the starts are the
    deterministic ones. Standard errors: the package's sandwich formula; p-value: normal.
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    n = bx.size
    if n < MIN_SNPS["raps"]:
        return not_estimable("raps", n)
    if loss not in RAPS_LOSSES:
        raise ValueError(f"MR-RAPS loss must be one of {list(RAPS_LOSSES)}, got {loss!r}")
    k = RAPS_K[loss] if k is None else float(k)
    if k <= 0:
        raise ValueError(f"MR-RAPS threshold k must be positive, got {k}")
    model = _Raps(bx, by, sx, sy, loss, k)
    note = ""
    if over_dispersion:
        root = _closest_root(model, True)
        if root is None:
            note = "no root with finite overdispersion: fitted without overdispersion (tau2 = 0), as mr.raps does"
        elif root[1] < 0:
            note = "estimated overdispersion negative: fitted without overdispersion (tau2 = 0), as mr.raps does"
        else:
            return _raps_result(model, float(root[0]), float(root[1]), True, n, note)
    root = _closest_root(model, False)
    if root is None:
        return not_estimable("raps", n, "the RAPS estimating equations have no root from the package's starts")
    return _raps_result(model, float(root[0]), 0.0, False, n, note)


def _closest_root(model: _Raps, over_dispersion: bool) -> np.ndarray | None:
    """The root of ``model``'s estimating equations from mr.raps's starts (the l2 and Huber fits of the same
    data) that lies closest to ``model``'s own maximum-likelihood beta; None when no start reaches a finite root."""
    starts = [_Raps(model.bx, model.by, model.sx, model.sy, name, RAPS_K[name]).mle(over_dispersion)
              for name in ("l2", "huber")]
    roots = model.solve(starts, over_dispersion)
    target = model.mle(over_dispersion)[0]
    ok = np.flatnonzero(np.isfinite(roots[:, 0]))
    if ok.size == 0:
        return None
    return np.asarray(roots[ok[np.argmin(np.abs(roots[ok, 0] - target))]])


def _raps_result(model: _Raps, beta: float, tau2: float, over_dispersion: bool, n: int, note: str) -> RapsFit:
    se, tau2_se = model.sandwich(beta, tau2, over_dispersion)
    detail = f"{model.loss} loss (k = {model.k:g})"
    detail += f"; tau2 = {tau2:.4g} (se {tau2_se:.3g})" if over_dispersion else "; no overdispersion"
    est = MREstimate(LABELS["raps"], beta, se, float(_p_normal(beta, se)), n,
                     note=f"{note}; {detail}" if note else detail)
    return RapsFit(est, tau2, tau2_se, over_dispersion, model.loss, model.k)


def raps(bx: Any, by: Any, sx: Any, sy: Any, over_dispersion: bool = True, loss: str = "huber",
         k: float | None = None) -> MREstimate:
    """The MR-RAPS estimate of :func:`raps_fit` (mr.raps ``mr.raps(data, diagnostics = FALSE)``)."""
    res = raps_fit(bx, by, sx, sy, over_dispersion=over_dispersion, loss=loss, k=k)
    return res if isinstance(res, MREstimate) else res.estimate


# --- cML-MA-BIC ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CmlFit:
    """A cML fit over the candidate numbers of invalid instruments ``K = 0, ..., p - 2``.

    Attributes
    ----------
    estimate : MREstimate
        cML-MA-BIC: the BIC-weighted average of the per-``K`` estimates and its model-averaged standard error.
    k_vec : ndarray of int
    theta, se, neg_loglik : ndarray
        Per ``K``: estimate, standard error (NaN where the information is not positive) and negative
        log-likelihood at the best start.
    bic : ndarray
        ``log(n) K + 2 neg_loglik``.
    bic_theta, bic_se : float
        cML-BIC: the estimate of the ``K`` with the smallest BIC.
    bic_invalid : ndarray of int
        0-based indices of the instruments cML-BIC takes as invalid.
    n : float
        The sample size in the BIC.
    """

    estimate: MREstimate
    k_vec: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    neg_loglik: np.ndarray
    bic: np.ndarray
    bic_theta: float
    bic_se: float
    bic_invalid: np.ndarray
    n: float


def _cml_descent(bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, k_vec: np.ndarray,
                 theta0: np.ndarray, mu0: np.ndarray, maxit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MRcML's ``cML_estimate`` for every row at once: rows are (start, K) pairs, ``theta0`` shape (m,),
    ``mu0`` (m, p), ``k_vec`` (m,). Each row stops on its own rule (theta moves by <= 1e-7, or ``maxit``)."""
    m, p = mu0.shape
    theta, mu = theta0.astype(float).copy(), mu0.astype(float).copy()
    r = np.zeros((m, p))
    active = np.ones(m, bool)
    wx, wy = 1 / sx**2, 1 / sy**2
    for _ in range(maxit):
        if not active.any():
            break
        th, mu_a, ka = theta[active], mu[active], k_vec[active]
        resid = by - th[:, None] * mu_a
        order = np.argsort(-(resid**2) * wy, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(p)[None, :], axis=1)
        r_a = np.where(rank < ka[:, None], resid, 0.0)
        mu_a = (bx * wx + th[:, None] * (by - r_a) * wy) / (wx + th[:, None] ** 2 * wy)
        new = np.sum((by - r_a) * mu_a * wy, axis=1) / np.sum(mu_a**2 * wy, axis=1)
        idx = np.flatnonzero(active)
        theta[idx], mu[idx], r[idx] = new, mu_a, r_a
        active[idx] = np.abs(th - new) > CML_TOL
    invalid = r != 0
    mu = np.where(invalid, bx, mu)
    r = np.where(invalid, by - theta[:, None] * mu, 0.0)
    return theta, mu, r


def cml_fit(bx: Any, by: Any, sx: Any, sy: Any, n: float, random_start: int = 0, maxit: int = 100,
            rng: np.random.Generator | None = None) -> CmlFit | MREstimate:
    """cML-MA-BIC (Xue, Shen & Pan 2021, AJHG 108:1251): constrained maximum likelihood allowing ``K`` invalid
    instruments, averaged over ``K = 0, ..., p - 2`` with BIC weights.

    Parameters
    ----------
    bx, by, sx, sy : array-like
    n : float
        Sample size in the BIC ``log(n) K + 2 l`` (MRcML's ``n``; the smallest GWAS sample size is the
        conservative choice the package's documentation recommends).
    random_start : int
        Random starts per ``K`` besides ``theta = 0, mu = 0`` (``random_start``, 0): ``theta`` uniform on the range
        of ``by/bx``, ``mu ~ N(bx, sx^2)``; the start with the smallest negative log-likelihood is kept.
    maxit : int
        Iterations of each coordinate descent (``maxit``, 100).
    rng : numpy Generator, optional
        For the random starts (required when ``random_start > 0``); numpy's draws, not R's.

    Returns
    -------
    CmlFit, or the not-estimable MREstimate

    Notes
    -----
    Reference: MRcML ``mr_cML(b_exp, b_out, se_exp, se_out, n = n, random_start = 0)``, ``MA_BIC_theta``,
    ``MA_BIC_se``, ``MA_BIC_p``; with ``random_start = 0`` the algorithm is deterministic and reproduced to
    rounding. The model-averaged standard error is ``sum(w_K sqrt(se_K^2 + (theta_K - theta_MA)^2))`` with the
    terms of undefined ``se_K`` left out (the package's ``na.rm = TRUE``); the p-value is normal.
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    p = bx.size
    if p < MIN_SNPS["cml"]:
        return not_estimable("cml", p)
    if not np.isfinite(n) or n <= 1:
        raise ValueError(f"cML needs a sample size n > 1, got {n}")
    if random_start < 0 or maxit < 1:
        raise ValueError(f"cML: random_start must be >= 0 and maxit >= 1, got {random_start} and {maxit}")
    k_vec = np.arange(p - 1)
    starts = 1 + random_start
    theta0 = np.zeros((starts, k_vec.size))
    mu0 = np.zeros((starts, k_vec.size, p))
    if random_start:
        if rng is None:
            raise ValueError("cML with random starts needs a random generator (rng)")
        ratio = by / bx
        theta0[1:] = rng.uniform(ratio.min(), ratio.max(), size=(random_start, k_vec.size))
        mu0[1:] = rng.normal(bx, sx, size=(random_start, k_vec.size, p))
    ks = np.broadcast_to(k_vec, (starts, k_vec.size)).reshape(-1)
    theta, mu, r = _cml_descent(bx, by, sx, sy, ks, theta0.reshape(-1), mu0.reshape(-1, p), maxit)
    neg_l = (np.sum((bx - mu) ** 2 / (2 * sx**2), axis=1)
             + np.sum((by - theta[:, None] * mu - r) ** 2 / (2 * sy**2), axis=1))
    valid = r == 0
    info = (np.sum(np.where(valid, mu**2 / sy**2, 0.0), axis=1)
            - np.sum(np.where(valid, (2 * mu * theta[:, None] - by) ** 2 / sy**4 / (1 / sx**2 + theta[:, None] ** 2 / sy**2),
                              0.0), axis=1))
    with np.errstate(divide="ignore"):
        var = 1 / info
    se_all = np.where(var > 0, np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
    best = np.argmin(neg_l.reshape(starts, k_vec.size), axis=0)
    pick = best * k_vec.size + k_vec
    th, se, nl = theta[pick], se_all[pick], neg_l[pick]
    bic = np.log(n) * k_vec + 2 * nl
    w = np.exp(-0.5 * (bic - bic.min()))
    w /= w.sum()
    theta_ma = float(np.sum(w * th))
    se_ma = float(np.nansum(w * np.sqrt(se**2 + (th - theta_ma) ** 2)))
    kbest = int(np.argmin(bic))
    n_nan = int(np.isnan(se).sum())
    note = f"n = {n:g} in the BIC; cML-BIC selects K = {kbest} invalid of {p}"
    if n_nan:
        note += f"; {n_nan} of {k_vec.size} values of K without a standard error (information not positive)"
    est = MREstimate(LABELS["cml"], theta_ma, se_ma, float(_p_normal(theta_ma, se_ma)), p, note=note)
    return CmlFit(est, k_vec, th, se, nl, bic, float(th[kbest]), float(se[kbest]),
                  np.flatnonzero(r[pick[kbest]] != 0), float(n))


def cml(bx: Any, by: Any, sx: Any, sy: Any, n: float, random_start: int = 0, maxit: int = 100,
        rng: np.random.Generator | None = None) -> MREstimate:
    """The cML-MA-BIC estimate of :func:`cml_fit` (MRcML ``mr_cML(..., n = n)``'s ``MA_BIC_*``)."""
    res = cml_fit(bx, by, sx, sy, n, random_start=random_start, maxit=maxit, rng=rng)
    return res if isinstance(res, MREstimate) else res.estimate
