"""Linear mixed models with a random intercept (and slope), fitted by profiled (RE)ML as lme4 does.

The model is ``y_i = X_i beta + Z_i b_i + e_i`` with ``b_i ~ N(0, sigma^2 Lambda Lambda')`` and
``e_i ~ N(0, sigma^2 I)`` for each person ``i``; ``Z_i`` holds 1 (random intercept) and time (random slope).
As in lme4 (Bates et al. 2015, J Stat Softw 67(1), "Fitting linear mixed-effects models using lme4", sections
3.4-3.6), beta and sigma^2 are profiled out and the deviance is minimised over the relative covariance factor
``theta`` (the lower triangle of ``Lambda``) only. Because ``Z_i`` has at most two columns, every person's
contribution reduces to a few sufficient statistics (``Z_i'Z_i``, ``Z_i'X_i``, ``Z_i'y_i``) and one deviance
evaluation is a handful of vectorised numpy operations on arrays of 2x2 matrices: 50,000 people x 5 waves take
milliseconds per evaluation, where statsmodels' MixedLM loops over people in Python.

Notes
-----
With ``M_i = Lambda' Z_i'Z_i Lambda + I`` and ``u_i = Lambda' Z_i' .``:

* ``X'V^-1 X = X'X - sum_i (Lambda'Z_i'X_i)' M_i^-1 (Lambda'Z_i'X_i)`` (V in units of sigma^2), likewise
  ``X'V^-1 y`` and ``y'V^-1 y``; ``log|V| = sum_i log|M_i|``;
* ``r^2 = y'V^-1 y - beta' X'V^-1 y`` with ``beta = (X'V^-1 X)^-1 X'V^-1 y``;
* ML deviance ``sum log|M_i| + N (1 + log(2 pi r^2 / N))``; REML criterion
  ``sum log|M_i| + log|X'V^-1 X| + (N - p)(1 + log(2 pi r^2 / (N - p)))``;
* ``sigma^2 = r^2 / N`` (ML) or ``r^2 / (N - p)`` (REML); ``cov(beta) = sigma^2 (X'V^-1 X)^-1`` (as lme4's
  ``vcov``); ``cov(b_i) = sigma^2 Lambda Lambda'``.

A simplex alone leaves theta where its tolerance (1e-7 before this polish) and floating-point differences
between machines (BLAS, summation order) put it: estimates then differed between machines at about 1e-7.
:func:`fit_lmm` therefore stops a simplex early (theta within 1e-4) and finishes with Newton steps on the
analytic gradient of the profiled deviance until a step is below 1e-10, so that theta, and every estimate
derived from it, is the same on every machine to about 1e-10. With ``A_k = dLambda_k Lambda' + Lambda
dLambda_k'`` (``dLambda_k`` the unit matrix of theta's k-th entry), ``K_i = Lambda M_i^-1 Lambda'``,
``T = sum_i Z_i'V_i^-1 Z_i``, ``W_i = Z_i'V_i^-1 X_i``, ``u_i = Z_i'V_i^-1 (y_i - X_i beta)``,
``U = sum_i W_i (X'V^-1X)^-1 W_i'`` and ``R = sum_i u_i u_i'``:

* ``d log|V| = tr(A_k T)``, ``d log|X'V^-1X| = -tr(A_k U)``, ``d r^2 = -tr(A_k R)``;
* so ``dD/dtheta_k = 2 (B Lambda)_{ij}`` for theta_k = Lambda_ij, with ``B = T - U - (N - p) R / r^2``
  (REML) or ``B = T - N R / r^2`` (ML).

The optimiser: with the gradient analytic, :func:`fit_lmm` first runs L-BFGS-B (deviance and gradient in
one pass, :func:`_value_and_gradient`) from the best of a few starting values and hands its point to the
Newton polish (whose Hessian is forward differences of the gradient): about 20 to 40 evaluations where a
simplex takes 150 to 250, at the same optimum (the polish, not the optimiser, fixes theta to 1e-10). Only if
the polish cannot finish there (a variance at zero, a Hessian that is not positive definite) does it fall
back to the simplex path (a coarse simplex and the polish, then the simplex to its own precision), whose
answer and message are then reported. benchmarks/bench_mixed.py times it against ``lmer`` and MixedLM.

Validated against ``lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy)`` (tests/reference).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

OPTIMIZERS: tuple[str, ...] = ("Nelder-Mead", "Powell", "L-BFGS-B")
"""scipy optimisers tried in turn until one converges."""

NEWTON_STEPS = 20
"""Most Newton steps of the final polish (two to four are typical)."""

NEWTON_TOL = 1e-10
"""The polish stops when no entry of theta moves by more than this (relative to max(1, |theta|))."""

COARSE = 1e-4
"""Simplex tolerance in theta before the Newton polish."""

QN_FTOL = 1e-10
"""L-BFGS-B stops when the deviance falls by less than this relative amount in an iteration."""

QN_GTOL = 1e-6
"""L-BFGS-B stops when no entry of the projected gradient of the deviance exceeds this (then the Newton
polish finishes)."""

SINGULAR = 1e-4
"""A diagonal entry of Lambda below this is a random-effect variance at zero (lme4's ``isSingular``)."""


@dataclass(frozen=True)
class LMMFit:
    """A fitted linear mixed model.

    Attributes
    ----------
    params : ndarray
        Fixed effects (order of the design's columns).
    cov_params : ndarray
        Their covariance matrix, ``sigma^2 (X'V^-1 X)^-1``.
    cov_re : ndarray
        Random-effects covariance matrix (q x q).
    scale : float
        Residual variance sigma^2.
    llf : float
        Log-likelihood (REML criterion / -2 for REML, as lme4's ``logLik``).
    reml : bool
        Whether REML was used.
    converged : bool
        Whether the optimiser reported success.
    message : str
        The optimiser's message (and which optimiser was used).
    method : str
        Name of the optimiser that produced the fit.
    n_obs, n_groups : int
        Observations and people.
    singular : bool
        A random-effect variance at (or numerically at) zero, as lme4's ``isSingular``.
    theta : ndarray
        The relative covariance factor (lower triangle of Lambda, row by row).
    profile_ci : dict or None
        Profile-likelihood intervals of the variance parameters (:func:`profile_intervals`) when asked for.
    polish_steps : int
        Newton steps taken after the optimiser (0: none, e.g. a fit that did not converge or a singular one).
    gradient : float
        Largest absolute entry of the deviance's gradient in theta at the estimate (free entries; NaN when
        not computed).
    """

    params: np.ndarray
    cov_params: np.ndarray
    cov_re: np.ndarray
    scale: float
    llf: float
    reml: bool
    converged: bool
    message: str
    method: str
    n_obs: int
    n_groups: int
    singular: bool
    theta: np.ndarray
    polish_steps: int = 0
    gradient: float = float("nan")
    profile_ci: dict[str, tuple[float, float]] | None = None


class _Stats:
    """Per-person sufficient statistics of a sorted long table."""

    def __init__(self, y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray) -> None:
        order = np.argsort(groups, kind="stable")
        g = groups[order]
        y, X, Z = y[order], X[order], Z[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        self.G = starts.size
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)
        self.ZtZ = np.add.reduceat(Z[:, :, None] * Z[:, None, :], starts, axis=0)  # (G, q, q)
        self.ZtX = np.add.reduceat(Z[:, :, None] * X[:, None, :], starts, axis=0)  # (G, q, p)
        self.Zty = np.add.reduceat(Z * y[:, None], starts, axis=0)  # (G, q)
        self.zx = [np.ascontiguousarray(self.ZtX[:, k, :]) for k in range(self.q)]  # rows of Z_i'X_i, (G, p)


def _lambda(theta: np.ndarray, q: int) -> np.ndarray:
    L = np.zeros((q, q))
    L[np.tril_indices(q)] = theta
    return L


def _solve_parts(theta: np.ndarray, s: _Stats) -> tuple[float, np.ndarray, np.ndarray, float]:
    """log|V|, X'V^-1X, X'V^-1y, y'V^-1y (in units of sigma^2) for one theta.

    The q x q algebra (q <= 2) is written out elementwise so that it vectorises over people.
    """
    if s.q > 2:
        raise ValueError("at most two random effects (intercept and slope) are supported")
    if s.q == 1:
        lam = theta[0]
        c11 = np.sqrt(lam * lam * s.ZtZ[:, 0, 0] + 1.0)
        logdet = 2.0 * float(np.log(c11).sum())
        WX = (lam * s.zx[0]) / c11[:, None]  # (G, p)
        Wy = (lam * s.Zty[:, 0]) / c11
        XVX = s.XtX - WX.T @ WX
        XVy = s.Xty - WX.T @ Wy
        yVy = s.yty - float(Wy @ Wy)
        return logdet, XVX, XVy, yVy
    l11, l21, l22 = theta
    # Lambda = [[l11, 0], [l21, l22]]; A = Lambda' Z'Z Lambda + I
    z11, z12, z22 = s.ZtZ[:, 0, 0], s.ZtZ[:, 0, 1], s.ZtZ[:, 1, 1]
    # Lambda' Z'Z Lambda, elementwise
    a11 = l11 * (l11 * z11 + l21 * z12) + l21 * (l11 * z12 + l21 * z22) + 1.0
    a12 = (l11 * z12 + l21 * z22) * l22
    a22 = l22 * l22 * z22 + 1.0
    c11 = np.sqrt(a11)
    c21 = a12 / c11
    c22 = np.sqrt(a22 - c21 * c21)
    logdet = 2.0 * float(np.log(c11).sum() + np.log(c22).sum())
    zx1, zx2 = s.zx
    lx1 = l11 * zx1 + l21 * zx2  # (Lambda' Z'X) row 1
    lx2 = l22 * zx2
    zy1, zy2 = s.Zty[:, 0], s.Zty[:, 1]
    ly1 = l11 * zy1 + l21 * zy2
    ly2 = l22 * zy2
    w1 = lx1 / c11[:, None]
    w2 = (lx2 - c21[:, None] * w1) / c22[:, None]
    v1 = ly1 / c11
    v2 = (ly2 - c21 * v1) / c22
    XVX = s.XtX - w1.T @ w1 - w2.T @ w2
    XVy = s.Xty - w1.T @ v1 - w2.T @ v2
    yVy = s.yty - float(v1 @ v1 + v2 @ v2)
    return logdet, XVX, XVy, yVy


def _deviance(theta: np.ndarray, s: _Stats, reml: bool) -> float:
    try:
        logdet, XVX, XVy, yVy = _solve_parts(theta, s)
        R = np.linalg.cholesky(XVX)
    except np.linalg.LinAlgError:
        return np.inf
    beta = np.linalg.solve(XVX, XVy)
    r2 = max(yVy - float(beta @ XVy), 1e-300)
    if reml:
        df = s.n - s.p
        return logdet + 2.0 * float(np.log(np.diag(R)).sum()) + df * (1.0 + np.log(2.0 * np.pi * r2 / df))
    return logdet + s.n * (1.0 + np.log(2.0 * np.pi * r2 / s.n))


def _profiled(theta: np.ndarray, s: _Stats, reml: bool) -> tuple[np.ndarray, np.ndarray, float, float]:
    """beta, (X'V^-1X)^-1, r^2 and the deviance at theta."""
    logdet, XVX, XVy, yVy = _solve_parts(theta, s)
    R = np.linalg.cholesky(XVX)
    inv = np.linalg.inv(XVX)
    beta = np.linalg.solve(XVX, XVy)
    r2 = max(yVy - float(beta @ XVy), 1e-300)
    if reml:
        df = s.n - s.p
        dev = logdet + 2.0 * float(np.log(np.diag(R)).sum()) + df * (1.0 + np.log(2.0 * np.pi * r2 / df))
    else:
        dev = logdet + s.n * (1.0 + np.log(2.0 * np.pi * r2 / s.n))
    return beta, inv, r2, float(dev)


def _mul(a: list[list[Any]], b: list[list[Any]]) -> list[list[Any]]:
    """Product of two q x q matrices whose entries are numbers or arrays over people (vectorised)."""
    q = len(a)
    return [[sum(a[i][k] * b[k][j] for k in range(q)) for j in range(q)] for i in range(q)]


def _k_matrix(theta: np.ndarray, s: _Stats) -> list[list[Any]]:
    """``Z_i'Z_i K_i`` entrywise (each an array over people), ``K_i = Lambda M_i^-1 Lambda'``."""
    q = s.q
    lam = _lambda(theta, q).tolist()
    lam_t = [[lam[j][i] for j in range(q)] for i in range(q)]
    S = [[s.ZtZ[:, i, j] for j in range(q)] for i in range(q)]
    M = _mul(_mul(lam_t, S), lam)
    if q == 1:
        minv = [[1.0 / (M[0][0] + 1.0)]]
    else:
        m11, m12, m22 = M[0][0] + 1.0, M[0][1], M[1][1] + 1.0
        det = m11 * m22 - m12 * m12
        minv = [[m22 / det, -m12 / det], [-m12 / det, m11 / det]]
    return _mul(S, _mul(_mul(lam, minv), lam_t))


def _value_and_gradient(theta: np.ndarray, s: _Stats, reml: bool) -> tuple[float, np.ndarray]:
    """The profiled deviance and its analytic gradient in theta (module notes), entrywise over people."""
    beta, inv, r2, dev = _profiled(theta, s, reml)
    B = _b_matrix(theta, s, reml, beta, inv, (s.n - s.p if reml else s.n) / r2)
    return dev, np.asarray(2.0 * (B @ _lambda(theta, s.q))[np.tril_indices(s.q)], float)


def _b_matrix(theta: np.ndarray, s: _Stats, reml: bool, beta: np.ndarray, inv: np.ndarray, c: float) -> np.ndarray:
    """``B = T - U - c R`` (REML) or ``T - c R`` (ML) of the module notes: the gradient in theta is
    ``2 (B Lambda)`` on the lower triangle; ``c`` is ``(N - p) / r^2`` (REML) or ``N / r^2`` (ML) for the
    profiled deviance, ``1 / sigma^2`` for the deviance at a given sigma (:func:`satterthwaite`)."""
    q = s.q
    sk = _k_matrix(theta, s)
    S, P, r = s.ZtZ, s.zx, s.Zty
    W = []  # Z_i'V_i^-1 X_i, row by row: P_i - sum_k (Z'Z K)_ik P_k
    for i in range(q):
        w = P[i] * (1.0 - sk[i][i])[:, None]
        for k in range(q):
            if k != i:
                w -= sk[i][k][:, None] * P[k]
        W.append(w)
    u = [r[:, i] - sum(sk[i][k] * r[:, k] for k in range(q)) - W[i] @ beta for i in range(q)]  # Z'V^-1 e
    WC = [w @ inv for w in W]
    B = np.empty((q, q))
    for i in range(q):
        for j in range(q):
            t_ij = float(np.sum(S[:, i, j] - sum(sk[i][k] * S[:, k, j] for k in range(q))))
            B[i, j] = t_ij - c * float(u[i] @ u[j]) - (float(np.sum(WC[i] * W[j])) if reml else 0.0)
    return B


def _safe_value_and_gradient(theta: np.ndarray, s: _Stats, reml: bool) -> tuple[float, np.ndarray]:
    """:func:`_value_and_gradient`, with an infinite deviance (and a zero gradient) where ``X'V^-1X`` is not
    positive definite."""
    try:
        return _value_and_gradient(theta, s, reml)
    except np.linalg.LinAlgError:
        return np.inf, np.zeros_like(theta)


def _gradient(theta: np.ndarray, s: _Stats, reml: bool) -> np.ndarray:
    """The analytic gradient of the profiled deviance in theta."""
    return _value_and_gradient(theta, s, reml)[1]


@dataclass(frozen=True)
class _Polish:
    theta: np.ndarray
    steps: int
    gradient: float
    done: bool


def _hessian(theta: np.ndarray, g: np.ndarray, s: _Stats, reml: bool) -> np.ndarray:
    """The deviance's Hessian in theta by forward differences of the analytic gradient ``g`` at theta
    (accurate to about 1e-5 relative, which is all the simplified Newton steps of the polish need)."""
    k = theta.size
    H = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        up = theta.copy()
        up[j] += h
        H[:, j] = (_gradient(up, s, reml) - g) / h
    return (H + H.T) / 2


def _newton_polish(theta: np.ndarray, s: _Stats, reml: bool) -> _Polish:
    """Newton steps on theta until a step is below :data:`NEWTON_TOL` (``done``); stops early, keeping the
    last point, if the Hessian is not positive definite, a step leaves the bounds or the deviance rises
    (then ``done`` is false)."""
    theta = np.asarray(theta, float).copy()
    diag = [0] if s.q == 1 else [0, 2]
    f0, g = _safe_value_and_gradient(theta, s, reml)
    steps, done = 0, False
    # one Hessian for every step (simplified Newton): from within 1e-5 of the optimum the steps shrink
    # by about that factor each time
    H = _hessian(theta, g, s, reml)
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return _Polish(theta, 0, float(np.max(np.abs(g))), False)
    for _ in range(NEWTON_STEPS):
        step = -np.linalg.solve(H, g)
        new = theta + step
        f1, g1 = _safe_value_and_gradient(new, s, reml)
        if np.any(new[diag] < 0) or not np.isfinite(f1) or f1 > f0 + 1e-12 * abs(f0):
            break
        theta, f0, g, steps = new, f1, g1, steps + 1
        if np.max(np.abs(step)) <= NEWTON_TOL * max(1.0, float(np.max(np.abs(theta)))):
            done = True
            break
    return _Polish(theta, steps, float(np.max(np.abs(g))), done)


def _start(s: _Stats, Z: np.ndarray, reml: bool) -> np.ndarray:
    """Starting theta: the best of a few scale-aware candidates.

    lme4 starts at Lambda = I; a slope's scale depends on the time unit, so a few candidates are evaluated
    (avoids the boundary optimum Lambda_22 = 0 that an unsuitable start can lead a simplex into).
    """
    if s.q == 1:
        starts = [np.array([v]) for v in (1.0, 0.3, 3.0)]
    else:
        sd_t = float(np.std(Z[:, 1])) or 1.0
        starts = [np.array([a, 0.0, c / sd_t]) for a in (0.5, 1.0, 2.0) for c in (1.0, 0.3, 0.1, 0.03)]
    return min(starts, key=lambda th: _deviance(th, s, reml))


def _quasi_newton(s: _Stats, theta0: np.ndarray, reml: bool, maxiter: int) -> tuple[str, Any, bool, list[str]]:
    """L-BFGS-B on the deviance and its analytic gradient, close enough for the Newton polish (the first
    attempt of :func:`fit_lmm`; the result as :func:`_minimise`'s).

    The diagonal of Lambda is bounded below by :data:`SINGULAR`, not 0: the deviance is even in a diagonal
    entry, so its gradient vanishes at 0 and a line search that reaches that bound would stop there, at a
    saddle. A fit whose optimum is at the bound is left to the simplex (:func:`_simplex_path`).
    """
    from scipy import optimize  # here: scipy.optimize costs jobs without a mixed model ~0.4 s to import
    diag = [0] if s.q == 1 else [0, 2]
    bounds = [(SINGULAR, None) if k in diag else (None, None) for k in range(theta0.size)]
    res = optimize.minimize(
        _safe_value_and_gradient,
        theta0,
        args=(s, reml),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": maxiter, "ftol": QN_FTOL, "gtol": QN_GTOL},
    )
    ok = bool(res.success and np.isfinite(res.fun))
    return "L-BFGS-B", res, ok, [f"L-BFGS-B: {res.message}"]


def _minimise(
    s: _Stats, theta0: np.ndarray, reml: bool, optimizers: tuple[str, ...], maxiter: int, precise: bool
) -> tuple[str, Any, bool, list[str]]:
    """Run the optimisers in turn until one converges: (name, scipy result, converged, messages).

    ``precise``: the simplex to theta within 1e-7 and restarted once from its solution; otherwise to
    :data:`COARSE` only, for the Newton polish to finish.
    """
    from scipy import optimize  # here: scipy.optimize costs jobs without a mixed model ~0.4 s to import
    q = s.q
    diag = [0] if q == 1 else [0, 2]
    bounds = [(0.0, None) if k in diag else (None, None) for k in range(q * (q + 1) // 2)]
    f_scale = max(1.0, abs(_deviance(theta0, s, reml)))
    messages: list[str] = []
    best: tuple[str, Any] | None = None
    converged = False
    for name in optimizers:
        opts: dict[str, Any] = {"maxiter": maxiter}
        if name == "Nelder-Mead":
            opts.update(
                {"xatol": 1e-7, "fatol": 1e-12 * f_scale}
                if precise
                else {"xatol": COARSE, "fatol": COARSE**2 * f_scale}
            )
        elif name == "Powell":
            opts.update({"xtol": 1e-7, "ftol": 1e-12})
        res = optimize.minimize(_deviance, theta0, args=(s, reml), method=name, bounds=bounds, options=opts)
        if precise and res.success and name == "Nelder-Mead":
            # a restart from the solution (standard practice for the simplex) confirms the optimum
            res2 = optimize.minimize(
                _deviance, res.x, args=(s, reml), method=name, bounds=bounds, options=opts
            )
            if res2.fun <= res.fun:
                res = res2
        messages.append(f"{name}: {res.message}")
        ok = bool(res.success and np.isfinite(res.fun))
        if best is None or (ok and not converged) or (ok == converged and res.fun < best[1].fun):
            best = (name, res)
        converged = converged or ok
        if converged:
            break
        theta0 = np.asarray(res.x, float) if np.isfinite(res.fun) else theta0
    assert best is not None
    return best[0], best[1], converged, messages


def _simplex_path(
    s: _Stats, theta: np.ndarray, reml: bool, optimizers: tuple[str, ...], maxiter: int
) -> tuple[str, np.ndarray, _Polish, bool, list[str]]:
    """A coarse simplex and the Newton polish; if the polish cannot finish (a variance at zero, a Hessian
    that is not positive definite), the simplex to its own precision, as lme4's optimisers."""
    diag = [0] if s.q == 1 else [0, 2]
    polish = _Polish(theta, 0, float("nan"), False)
    for precise in (False, True):
        name, res, converged, messages = _minimise(s, theta, reml, optimizers, maxiter, precise)
        theta = np.asarray(res.x, float) if np.isfinite(res.fun) else theta
        theta[diag] = np.abs(theta[diag])
        if converged and np.all(theta[diag] >= SINGULAR):
            polish = _newton_polish(theta, s, reml)
            theta = polish.theta
        if polish.done:
            break
    return name, theta, polish, converged, messages


def random_matrix(n: int, time: np.ndarray | None = None) -> np.ndarray:
    """The random-effects design ``Z`` of ``(1 | id)`` (``time`` None: a column of ones) or ``(time | id)``
    (ones and the time column), one row per observation."""
    ones = np.ones((n, 1))
    return ones if time is None else np.column_stack([ones[:, 0], np.asarray(time, float)])


def fit_lmm(
    y: np.ndarray,
    X: np.ndarray,
    Z: np.ndarray,
    groups: np.ndarray,
    reml: bool = True,
    optimizers: tuple[str, ...] = OPTIMIZERS,
    maxiter: int = 2000,
) -> LMMFit:
    """Fit a linear mixed model by profiled (RE)ML.

    Parameters
    ----------
    y : ndarray (n,)
        Outcome.
    X : ndarray (n, p)
        Fixed-effects design (full column rank).
    Z : ndarray (n, q)
        Random-effects design, q = 1 (intercept) or 2 (intercept and slope).
    groups : ndarray (n,)
        Person of each row.
    reml : bool
        REML (default, as lme4) or ML.
    optimizers : tuple of str
        scipy optimisers of the fallback path (module notes), tried in order until one reports success.
    maxiter : int
        Iteration limit per optimiser.

    Returns
    -------
    LMMFit
        ``method`` is ``L-BFGS-B`` when the quasi-Newton path and the Newton polish finished, otherwise
        that of the fallback path; ``converged`` is False (with every optimiser's message) if none
        succeeded, and the estimates are then those of the best attempt. A converged, non-singular fit is
        polished by Newton steps on the analytic gradient (module notes), so that its estimates do not
        depend on the machine.
    """
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    Z = np.asarray(Z, float)
    s = _Stats(y, X, Z, np.asarray(groups))
    q = s.q
    diag = [0] if q == 1 else [0, 2]  # positions of the diagonal of Lambda in theta
    theta0 = _start(s, Z, reml)
    name, res, converged, messages = _quasi_newton(s, theta0, reml, maxiter)
    theta = np.asarray(res.x, float)
    polish = _Polish(theta, 0, float("nan"), False)
    if converged and np.all(theta[diag] >= SINGULAR):
        polish = _newton_polish(theta, s, reml)
        theta = polish.theta
    if not polish.done:
        name, theta, polish, converged, messages = _simplex_path(s, theta0, reml, optimizers, maxiter)
    beta, inv, r2, dev = _profiled(theta, s, reml)
    scale = r2 / (s.n - s.p if reml else s.n)
    Lam = _lambda(theta, q)
    return LMMFit(
        params=beta,
        cov_params=scale * inv,
        cov_re=scale * Lam @ Lam.T,
        scale=float(scale),
        llf=-0.5 * dev,
        reml=reml,
        converged=converged,
        message="; ".join(messages),
        method=name,
        n_obs=s.n,
        n_groups=s.G,
        singular=bool(np.any(theta[diag] < SINGULAR)),
        theta=theta,
        polish_steps=polish.steps,
        gradient=polish.gradient,
    )


def fit_lmm_statsmodels(
    y: np.ndarray,
    X: np.ndarray,
    Z: np.ndarray,
    groups: np.ndarray,
    reml: bool = True,
    maxiter: int = 2000,
) -> LMMFit:
    """The same model with statsmodels' MixedLM (slower; for cross-checks), in the same result shape.

    Parameters and result as :func:`fit_lmm`; ``converged`` is False if statsmodels says so or warns that
    the fit did not converge (the warnings are the message).
    """
    import statsmodels.api as sm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sm.MixedLM(np.asarray(y, float), np.asarray(X, float), groups=groups, exog_re=Z).fit(
            reml=reml, method=["lbfgs", "bfgs", "cg"], maxiter=maxiter
        )
    msgs = [str(w.message) for w in caught]
    cov_re = np.asarray(res.cov_re, float)
    scale = float(res.scale)
    try:
        theta = np.linalg.cholesky(cov_re / scale)[np.tril_indices(cov_re.shape[0])]
    except np.linalg.LinAlgError:
        theta = np.full(cov_re.shape[0] * (cov_re.shape[0] + 1) // 2, np.nan)
    p = np.asarray(X).shape[1]
    return LMMFit(
        params=np.asarray(res.fe_params, float),
        cov_params=np.asarray(res.cov_params(), float)[:p, :p],
        cov_re=cov_re,
        scale=scale,
        llf=float(res.llf),
        reml=reml,
        converged=bool(res.converged) and not any("converge" in m.lower() for m in msgs),
        message="; ".join(msgs) or "converged",
        method="statsmodels MixedLM",
        n_obs=len(y),
        n_groups=int(pd.unique(np.asarray(groups)).size),
        singular=bool(np.any(np.diag(cov_re) < 1e-8)),
        theta=theta,
    )


EIGEN_TOL = 1e-8
"""Eigenvalues of the variance parameters' Hessian within this of zero are left out of its inverse
(lmerTest's ``tol``)."""


@dataclass(frozen=True)
class Satterthwaite:
    """Satterthwaite degrees of freedom of the fixed effects, as ``lmerTest`` (Kuznetsova et al. 2017, J Stat
    Softw 82(13), section 3; ``summary(lmerTest::lmer(...))``).

    Attributes
    ----------
    df : ndarray (p,)
        Denominator df of each fixed effect's t test (NaN where it cannot be computed).
    varpar : ndarray
        The variance parameters ``(theta, sigma)`` (theta as :attr:`LMMFit.theta`; sigma the residual SD).
    vcov_varpar : ndarray
        Their asymptotic covariance ``2 H^-1`` (``H`` the Hessian of the deviance in ``varpar``; the inverse
        over eigenvalues above :data:`EIGEN_TOL` only), as lmerTest's ``vcov_varpar``.
    jacobian : ndarray (k, p, p)
        ``d cov(beta) / d varpar_k``.
    message : str
        Empty, or what lmerTest would warn about (negative or zero eigenvalues of ``H``).
    """

    df: np.ndarray
    varpar: np.ndarray
    vcov_varpar: np.ndarray
    jacobian: np.ndarray
    message: str = ""


def _vp_gradient(varpar: np.ndarray, s: _Stats, reml: bool) -> np.ndarray:
    """The analytic gradient, in ``(theta, sigma)``, of the deviance at a given sigma (lmerTest's
    ``devfun_vp``): ``log|M| + r^2 / sigma^2 + N log(2 pi sigma^2)`` (ML), plus ``log|X'V^-1X| - p log(2 pi
    sigma^2)`` (REML), with beta at its estimate given theta."""
    theta, sigma = varpar[:-1], float(varpar[-1])
    beta, inv, r2, _ = _profiled(theta, s, reml)
    B = _b_matrix(theta, s, reml, beta, inv, 1.0 / (sigma * sigma))
    g_theta = 2.0 * (B @ _lambda(theta, s.q))[np.tril_indices(s.q)]
    d = s.n - s.p if reml else s.n
    return np.r_[g_theta, -2.0 * r2 / sigma**3 + 2.0 * d / sigma]


def _step(x: float) -> float:
    return 1e-4 * max(1.0, abs(x))


def satterthwaite(
    y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray, fit: LMMFit
) -> Satterthwaite:
    """Satterthwaite df of each fixed effect of a fitted model (lmerTest's default in ``summary``).

    For a contrast ``L`` (here each unit vector), ``df = 2 (L C L')^2 / (g' A g)``, with ``C = cov(beta)``,
    ``g_k = L (dC / d varpar_k) L'`` and ``A = 2 H^-1`` the covariance of the variance parameters
    ``varpar = (theta, sigma)``. ``H`` is the Hessian of lmerTest's deviance in ``varpar`` by central
    differences of its analytic gradient (:func:`_vp_gradient`; lmerTest differentiates the deviance itself
    numerically, with Richardson extrapolation); ``dC / d theta_k`` by central differences of
    ``sigma^2 (X'V^-1X)^-1``, ``dC / d sigma = 2 C / sigma``. Steps are ``1e-4 max(1, |x|)``, so the
    truncation error is about 1e-8 relative.

    Parameters
    ----------
    y, X, Z, groups
        As for :func:`fit_lmm`.
    fit : LMMFit
        The fit (either engine): its ``theta``, ``scale`` and ``reml``.

    Returns
    -------
    Satterthwaite
    """
    s = _Stats(np.asarray(y, float), np.asarray(X, float), np.asarray(Z, float), np.asarray(groups))
    reml = fit.reml
    varpar = np.r_[np.asarray(fit.theta, float), np.sqrt(fit.scale)]
    k = varpar.size
    H = np.empty((k, k))
    for j in range(k):
        h = _step(varpar[j])
        up, down = varpar.copy(), varpar.copy()
        up[j] += h
        down[j] -= h
        H[:, j] = (_vp_gradient(up, s, reml) - _vp_gradient(down, s, reml)) / (2.0 * h)
    H = (H + H.T) / 2.0
    values, vectors = np.linalg.eigh(H)
    messages = []
    if np.any(values < -EIGEN_TOL):
        messages.append(f"{int(np.sum(values < -EIGEN_TOL))} negative eigenvalue(s) of the deviance's Hessian")
    if np.any(np.abs(values) <= EIGEN_TOL):
        messages.append(f"{int(np.sum(np.abs(values) <= EIGEN_TOL))} eigenvalue(s) of the deviance's Hessian near 0")
    pos = values > EIGEN_TOL
    vcov_varpar = 2.0 * (vectors[:, pos] / values[pos]) @ vectors[:, pos].T
    sigma = float(varpar[-1])
    cov = sigma * sigma * _profiled(varpar[:-1], s, reml)[1]
    jac = np.empty((k, s.p, s.p))
    for j in range(k - 1):
        h = _step(varpar[j])
        up, down = varpar[:-1].copy(), varpar[:-1].copy()
        up[j] += h
        down[j] -= h
        jac[j] = sigma * sigma * (_profiled(up, s, reml)[1] - _profiled(down, s, reml)[1]) / (2.0 * h)
    jac[k - 1] = 2.0 * cov / sigma
    g = np.einsum("kii->ik", jac)  # (p, k): d var(beta_i) / d varpar_k
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2.0 * np.diag(cov) ** 2 / np.einsum("ik,kl,il->i", g, vcov_varpar, g)
    return Satterthwaite(
        df=np.where(np.isfinite(df) & (df > 0), df, np.nan),
        varpar=varpar,
        vcov_varpar=vcov_varpar,
        jacobian=jac,
        message="; ".join(messages),
    )


@dataclass(frozen=True)
class SatterthwaiteF:
    """A joint F test of ``L beta = 0`` with Satterthwaite's denominator df, as lmerTest's ``contest(m, L,
    joint = TRUE)`` (``contestMD``).

    Attributes
    ----------
    statistic : float
        ``F = sum_m (P_m' L beta)^2 / d_m / q`` over the ``q`` positive eigenvalues ``d_m`` of ``L C L'``
        (eigenvectors ``P_m``): the Wald statistic divided by ``q``.
    ndf : int
        ``q``, the rank of ``L C L'``.
    ddf : float
        Denominator df: one Satterthwaite df ``nu_m = 2 d_m^2 / (g_m' A g_m)`` per eigen-direction, combined
        as ``2 E / (E - q)`` with ``E = sum nu_m / (nu_m - 2)`` (2 if any ``nu_m <= 2``; their mean if all
        are equal to 1e-8; ``nu_1`` when ``q = 1``), lmerTest's ``get_Fstat_ddf``.
    p_value : float
        ``pf(F, q, ddf, lower.tail = FALSE)``.
    """

    statistic: float
    ndf: int
    ddf: float
    p_value: float


def satterthwaite_f(fit: LMMFit, satt: Satterthwaite, L: np.ndarray) -> SatterthwaiteF:
    """The F test of ``L beta = 0`` on Satterthwaite df (:class:`SatterthwaiteF`), from the fit's fixed effects
    and covariance and the Jacobian and variance-parameter covariance of :func:`satterthwaite`.

    Parameters
    ----------
    fit : LMMFit
    satt : Satterthwaite
        Of the same fit.
    L : ndarray (r, p)
        Contrast rows (e.g. unit vectors selecting the spline coefficients).
    """
    from scipy import stats  # here, not at module level: scipy.stats costs mixed_model jobs ~0.5 s to import

    L = np.atleast_2d(np.asarray(L, float))
    cov = np.asarray(fit.cov_params, float)
    values, vectors = np.linalg.eigh(L @ cov @ L.T)
    order = np.argsort(values)[::-1]
    d, P = values[order], vectors[:, order]
    pos = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
    q = int(pos.sum())
    PtL = (P.T @ L)[:q]
    d = d[:q]
    F = float(np.sum((PtL @ fit.params) ** 2 / d) / q)
    g = np.einsum("mi,kij,mj->mk", PtL, satt.jacobian, PtL)  # (q, k): d (P_m'L C L'P_m) / d varpar_k
    nu = 2.0 * d**2 / np.einsum("mk,kl,ml->m", g, satt.vcov_varpar, g)
    if q == 1:
        ddf = float(nu[0])
    elif np.all(np.abs(np.diff(nu)) < 1e-8):
        ddf = float(nu.mean())
    elif np.any(nu <= 2):
        ddf = 2.0
    else:
        E = float(np.sum(nu / (nu - 2.0)))
        ddf = 2.0 * E / (E - q)
    return SatterthwaiteF(statistic=F, ndf=q, ddf=ddf, p_value=float(stats.f.sf(F, q, ddf)))


def random_effects(
    y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray, fit: LMMFit, names: tuple[str, ...]
) -> pd.DataFrame:
    """The conditional modes of the random effects (BLUPs) and their conditional SDs, as
    ``as.data.frame(ranef(m, condVar = TRUE))`` of lme4.

    With ``M_i = Lambda' Z_i'Z_i Lambda + I``: ``b_i = Lambda M_i^-1 Lambda' Z_i'(y_i - X_i beta)`` and
    ``cov(b_i | y) = sigma^2 Lambda M_i^-1 Lambda'`` (given beta and the variance parameters, as lme4's
    ``condVar``).

    Parameters
    ----------
    y, X, Z, groups
        As for :func:`fit_lmm`.
    fit : LMMFit
        The fit (either engine): ``params``, ``theta``, ``scale``.
    names : tuple of str
        The random effects' names (``("(Intercept)", "Days")``), one per column of ``Z``.

    Returns
    -------
    DataFrame
        Columns ``term``, ``group``, ``condval``, ``condsd``: every group for the first term, then the
        second (lme4's order), groups sorted.
    """
    g = np.asarray(groups)
    s = _Stats(np.asarray(y, float), np.asarray(X, float), np.asarray(Z, float), g)
    if len(names) != s.q:
        raise ValueError(f"{len(names)} names for {s.q} random effects")
    labels = pd.unique(g[np.argsort(g, kind="stable")])  # the order of _Stats' groups
    lam = _lambda(np.asarray(fit.theta, float), s.q)
    M = np.einsum("ji,gjk,kl->gil", lam, s.ZtZ, lam) + np.eye(s.q)
    resid = s.Zty - np.einsum("gqp,p->gq", s.ZtX, np.asarray(fit.params, float))  # Z_i'(y_i - X_i beta)
    minv = np.linalg.inv(M)
    b = np.einsum("ij,gjk,lk,gl->gi", lam, minv, lam, resid)
    cov = fit.scale * np.einsum("ij,gjk,lk->gil", lam, minv, lam)
    sd = np.sqrt(np.einsum("gii->gi", cov))
    return pd.DataFrame(
        {
            "term": np.repeat(list(names), s.G),
            "group": np.tile(labels, s.q),
            "condval": b.T.ravel(),
            "condsd": sd.T.ravel(),
        }
    )


# --------------------------------------------------------------------------------------------------
# profile-likelihood intervals of the variance parameters (lme4's confint(m, method = "profile"))

#: the variance parameters on lme4's scale, in ``confint``'s order
PROFILE_PARAMETERS: dict[int, tuple[str, ...]] = {1: ("sd1", "sigma"), 2: ("sd1", "cor", "sd2", "sigma")}


def _ml_criterion(theta: np.ndarray, sigma: float, s: _Stats) -> float:
    """-2 log-likelihood at (theta, sigma) with beta at its conditional optimum (not profiled over sigma)."""
    try:
        logdet, XVX, XVy, yVy = _solve_parts(theta, s)
        beta = np.linalg.solve(XVX, XVy)
    except np.linalg.LinAlgError:
        return np.inf
    r2 = max(yVy - float(beta @ XVy), 0.0)
    return float(logdet + s.n * np.log(2.0 * np.pi * sigma * sigma) + r2 / (sigma * sigma))


def _phi_of(theta: np.ndarray, sigma: float) -> np.ndarray:
    """(sd1, sigma) or (sd1, cor, sd2, sigma) from Lambda's lower triangle and sigma."""
    if theta.size == 1:
        return np.array([sigma * abs(theta[0]), sigma])
    l11, l21, l22 = theta
    norm2 = float(np.hypot(l21, l22))
    return np.array([sigma * abs(l11), l21 / norm2 if norm2 > 0 else 0.0, sigma * norm2, sigma])


def _theta_of(phi: np.ndarray) -> tuple[np.ndarray, float]:
    if phi.size == 2:
        return np.array([phi[0] / phi[1]]), float(phi[1])
    sd1, cor, sd2, sigma = phi
    return np.array([sd1 / sigma, cor * sd2 / sigma, np.sqrt(max(1.0 - cor * cor, 0.0)) * sd2 / sigma]), float(sigma)


def _to_free(phi: np.ndarray) -> np.ndarray:
    """Unconstrained coordinates: log of the SDs and sigma, atanh of the correlation."""
    u = np.log(np.maximum(phi, 1e-300))
    if phi.size == 4:
        u[1] = np.arctanh(np.clip(phi[1], -1 + 1e-15, 1 - 1e-15))
    return u


def _from_free(u: np.ndarray) -> np.ndarray:
    phi = np.exp(u)
    if u.size == 4:
        phi[1] = np.tanh(u[1])
    return phi


def _profile_value(k: int, value: float, s: _Stats, start: np.ndarray) -> tuple[float, np.ndarray]:
    """Minimum of -2 log L over the other variance parameters with parameter ``k`` held at ``value``."""
    from scipy import optimize  # here: scipy.optimize costs jobs without a mixed model ~0.4 s to import
    fixed = _to_free(np.array([value] * start.size))[k]

    def objective(free: np.ndarray) -> float:
        u = np.insert(free, k, fixed)
        theta, sigma = _theta_of(_from_free(u))
        return _ml_criterion(theta, sigma, s)

    x0 = np.delete(_to_free(start), k)
    res = optimize.minimize(objective, x0, method="BFGS", options={"gtol": 1e-9, "maxiter": 500})
    return float(res.fun), _from_free(np.insert(res.x, k, fixed))


def _profile_bound(k: int, phi0: np.ndarray, dmin: float, crit: float, s: _Stats, side: int) -> float:
    """Where the profile of parameter ``k`` rises by ``crit`` on one side of the estimate (a root of the
    profile found by Brent's method, after bracketing by steps out on the parameter's free scale); the
    parameter's boundary (0 for an SD, -1/1 for a correlation) where the profile stays below ``crit``."""
    from scipy import optimize  # here: scipy.optimize costs jobs without a mixed model ~0.4 s to import
    is_cor = phi0.size == 4 and k == 1
    u0 = float(_to_free(phi0)[k])
    start = phi0.copy()

    def excess(u: float) -> float:
        nonlocal start
        value = float(np.tanh(u)) if is_cor else float(np.exp(u))
        d, start = _profile_value(k, value, s, start)
        return d - dmin - crit

    step, inner = 0.1 * side, u0
    limit = 19.0 if is_cor else 40.0  # tanh(19) = 1 - 6e-17; exp(-40) of an SD is zero for every purpose
    u = u0 + step
    while excess(u) < 0:
        inner = u
        step *= 2.0
        u = u0 + step
        if abs(u - u0) > limit:
            return (1.0 if side > 0 else -1.0) if is_cor else (0.0 if side < 0 else np.inf)
    root = optimize.brentq(excess, min(inner, u), max(inner, u), xtol=1e-12, rtol=1e-12)
    return float(np.tanh(root)) if is_cor else float(np.exp(root))


def profile_intervals(
    y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray, level: float = 0.95, maxiter: int = 2000
) -> dict[str, tuple[float, float]]:
    """Profile-likelihood confidence intervals of the random-effect SDs, their correlation and sigma.

    As lme4's ``confint(m, method = "profile")``, which profiles the ML deviance also for REML fits: each
    parameter is held at a value and -2 log L minimised over the others (beta at its conditional optimum);
    the interval is where that profile is within ``qchisq(level, 1)`` of the ML minimum. The bounds are
    roots of the profile (Brent), where lme4 interpolates a spline through a grid of profile values, so the
    two agree to about 1e-5 relative (sleepstudy, tests/reference/test_mixed_lmertest.py).

    Returns
    -------
    dict
        ``sd1``, ``sigma`` (random intercept) or ``sd1``, ``cor``, ``sd2``, ``sigma`` (random slope) ->
        (lower, upper). An SD whose profile stays below the cut-off down to 0 has lower bound 0, a correlation
        -1 or 1 (as lme4 reports).
    """
    from scipy.special import chdtri

    ml = fit_lmm(y, X, Z, groups, reml=False, maxiter=maxiter)
    s = _Stats(np.asarray(y, float), np.asarray(X, float), np.asarray(Z, float), np.asarray(groups))
    phi0 = _phi_of(ml.theta, float(np.sqrt(ml.scale)))
    dmin = _ml_criterion(ml.theta, float(np.sqrt(ml.scale)), s)
    crit = float(chdtri(1, 1.0 - level))
    names = PROFILE_PARAMETERS[s.q]
    out = {}
    for k, name in enumerate(names):
        if ml.singular or (name != "cor" and phi0[k] <= 0):
            out[name] = (float("nan"), float("nan"))
            continue
        out[name] = (_profile_bound(k, phi0, dmin, crit, s, -1), _profile_bound(k, phi0, dmin, crit, s, +1))
    return out
