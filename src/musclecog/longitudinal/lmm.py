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

Validated against ``lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy)`` (tests/reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

OPTIMIZERS: tuple[str, ...] = ("Nelder-Mead", "Powell", "L-BFGS-B")
"""scipy optimisers tried in turn until one converges."""


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
        WX = (lam * s.ZtX[:, 0, :]) / c11[:, None]  # (G, p)
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
    zx1, zx2 = s.ZtX[:, 0, :], s.ZtX[:, 1, :]
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
        scipy optimisers tried in order until one reports success.
    maxiter : int
        Iteration limit per optimiser.

    Returns
    -------
    LMMFit
        ``converged`` is False (with every optimiser's message) if none succeeded; the estimates are then
        those of the best attempt.
    """
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    Z = np.asarray(Z, float)
    s = _Stats(y, X, Z, np.asarray(groups))
    q = s.q
    diag = [0] if q == 1 else [0, 2]  # positions of the diagonal of Lambda in theta
    bounds = [(0.0, None) if k in diag else (None, None) for k in range(q * (q + 1) // 2)]
    # starting values: lme4 starts at Lambda = I; a slope's scale depends on the time unit, so a few
    # scale-aware candidates are evaluated and the best one is used (avoids the boundary optimum
    # Lambda_22 = 0 that an unsuitable start can lead a simplex into)
    if q == 1:
        starts = [np.array([v]) for v in (1.0, 0.3, 3.0)]
    else:
        sd_t = float(np.std(Z[:, 1])) or 1.0
        starts = [np.array([a, 0.0, c / sd_t]) for a in (0.5, 1.0, 2.0) for c in (1.0, 0.3, 0.1, 0.03)]
    theta0 = min(starts, key=lambda th: _deviance(th, s, reml))
    f_scale = max(1.0, abs(_deviance(theta0, s, reml)))
    messages: list[str] = []
    best: tuple[str, Any] | None = None
    converged = False
    for name in optimizers:
        opts: dict[str, Any] = {"maxiter": maxiter}
        if name == "Nelder-Mead":
            opts.update({"xatol": 1e-7, "fatol": 1e-12 * f_scale})
        elif name == "Powell":
            opts.update({"xtol": 1e-7, "ftol": 1e-12})
        res = optimize.minimize(_deviance, theta0, args=(s, reml), method=name, bounds=bounds, options=opts)
        if res.success and name == "Nelder-Mead":
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
    name, res = best
    theta = np.asarray(res.x, float)
    for k in diag:
        theta[k] = abs(theta[k])
    logdet, XVX, XVy, yVy = _solve_parts(theta, s)
    beta = np.linalg.solve(XVX, XVy)
    r2 = yVy - float(beta @ XVy)
    scale = r2 / (s.n - s.p if reml else s.n)
    Lam = _lambda(theta, q)
    cov_re = scale * Lam @ Lam.T
    singular = bool(np.any(theta[diag] < 1e-4))
    return LMMFit(
        params=beta,
        cov_params=scale * np.linalg.inv(XVX),
        cov_re=cov_re,
        scale=float(scale),
        llf=-0.5 * float(res.fun),
        reml=reml,
        converged=converged,
        message="; ".join(messages),
        method=name,
        n_obs=s.n,
        n_groups=s.G,
        singular=singular,
        theta=theta,
    )
