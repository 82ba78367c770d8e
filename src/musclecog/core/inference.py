"""The one inference core: least squares, logistic IRLS, Wald tables and tests, multiple testing.

Every family computes standard errors, test statistics, p-values, intervals and FDR-adjusted p-values
here. Distribution functions come from ``scipy.special`` (the functions ``scipy.stats`` calls, bit-identical,
without the 0.5-1 s import of ``scipy.stats`` and ``statsmodels`` that every pipeline job would pay).
Conventions (R's): a finite ``df`` gives t statistics and t intervals on ``df`` degrees of freedom
(``lm``, ``svyglm``); ``df=None`` gives Wald z (``glm``'s ``confint.default``, ``coxph``, ``lmer``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.special import expit

from musclecog.errors import ModelError, show_values

Z975 = float(special.ndtri(0.975))
"""The normal 97.5% quantile."""


def critical_value(level: float, df: float | None) -> float:
    """Two-sided critical value: t on ``df`` (NaN when ``df <= 0``), normal when ``df`` is None or inf."""
    if df is None or not np.isfinite(df):
        return float(special.ndtri(0.5 + level / 2))
    return float(special.stdtrit(df, 0.5 + level / 2)) if df > 0 else float("nan")


def wald_statistic(estimate: np.ndarray, std_error: np.ndarray) -> np.ndarray:
    """``estimate / std_error`` (inf/NaN where the SE is 0 or missing, without warnings)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(estimate, float) / np.asarray(std_error, float)


def wald_p_value(statistic: np.ndarray, df: float | None) -> np.ndarray:
    """Two-sided p-value of a Wald statistic: t on ``df`` or normal (``df`` None/inf); NaN for ``df <= 0``."""
    t = np.abs(np.asarray(statistic, float))
    if df is None or not np.isfinite(df):
        return np.asarray(2 * special.ndtr(-t))
    return np.asarray(2 * special.stdtr(df, -t)) if df > 0 else np.full_like(t, np.nan)


def average_ranks(values: npt.ArrayLike) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank (``scipy.stats.rankdata(method="average")``, exactly: the
    ranks are whole or half numbers)."""
    return np.asarray(pd.Series(np.asarray(values, float)).rank(method="average").to_numpy(), float)


def wald_interval(
    estimate: np.ndarray, std_error: np.ndarray, df: float | None, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """``estimate -/+ q * std_error`` with :func:`critical_value`."""
    q = critical_value(level, df)
    est = np.asarray(estimate, float)
    se = np.asarray(std_error, float)
    return est - q * se, est + q * se


def joint_wald_test(
    params: np.ndarray, cov: np.ndarray, index: Sequence[int], df: float | None
) -> tuple[float, int, float]:
    """Joint Wald test that ``params[index]`` are all zero: ``(statistic, k, p)``.

    F on ``(k, df)`` when ``df`` is finite (R: ``anova``/``regTermTest`` style), else chi-squared on ``k``.
    """
    idx = list(index)
    b = np.asarray(params, float)[idx]
    v = np.asarray(cov, float)[np.ix_(idx, idx)]
    stat = float(b @ np.linalg.solve(v, b))
    k = len(idx)
    if df is not None and np.isfinite(df):
        return stat / k, k, float(special.fdtrc(k, df, stat / k))
    return stat, k, float(special.chdtrc(k, stat))


def fdr_bh(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (R's ``p.adjust(p, "BH")``); NaN stays NaN.

    ``p * m / rank``, made monotone from the largest p down and capped at 1, on the non-missing values (equal
    to ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``; tested).
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q = p[ok]
        m = q.size
        order = np.argsort(q, kind="mergesort")
        scaled = q[order] * m / np.arange(1, m + 1)
        adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
        back = np.empty(m)
        back[order] = adjusted
        out[ok] = back
    return out


def weighted_least_squares(
    x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Solve (weighted) least squares through the Cholesky factor of the scaled cross-product matrix.

    Columns are scaled to unit root-mean-square first and the solution gets one step of iterative
    refinement, which gives QR-level accuracy (agreement with R's ``lm``/``glm`` to 1e-9 or better on
    ordinary designs) at a fraction of the cost of a Householder QR on a tall matrix.

    Parameters
    ----------
    x : ndarray, shape (n, p)
    y : ndarray, shape (n,) or (n, k)
    w : ndarray, shape (n,), optional
        Weights (default 1).

    Returns
    -------
    (beta, xtwx_inv)
        Coefficients (shape (p,) or (p, k)) and ``(X' W X)^{-1}``.
    """
    scale = np.sqrt((x**2).mean(axis=0))
    scale[scale == 0] = 1.0
    xs = x / scale
    xw = xs if w is None else xs * w[:, None]
    gram = xw.T @ xs
    try:
        factor = cho_factor(gram)
    except LinAlgError as exc:
        raise ModelError("the design matrix is singular (collinear columns or perfect separation)") from exc
    beta = cho_solve(factor, xw.T @ y)
    resid = y - xs @ beta
    beta = beta + cho_solve(factor, xw.T @ resid)
    inv = cho_solve(factor, np.eye(x.shape[1]))
    shape = (-1, 1) if beta.ndim == 2 else (-1,)
    return beta / scale.reshape(shape), inv / np.outer(scale, scale)


def ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ordinary least squares for one or several outcomes sharing ``x`` (R: ``lm``).

    Returns
    -------
    (beta, xtx_inv, sigma2)
        Coefficients (p,) or (p, k), ``(X'X)^{-1}`` and the residual variances ``RSS / (n - p)``
        (a float for one outcome, shape (k,) for several).
    """
    n, p = x.shape
    beta, xtx_inv = weighted_least_squares(x, y)
    resid = y - x @ beta
    sigma2 = (resid**2).sum(axis=0) / (n - p)
    return beta, xtx_inv, sigma2


def irls_logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, maxiter: int = 50, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Weighted logistic regression by iteratively reweighted least squares (as R's ``glm.fit``).

    Returns coefficients, ``(X' W V X)^{-1}`` at the estimate, fitted probabilities and whether it converged
    (relative deviance change below ``tol``; default 1e-12, so the estimate is the MLE to about 1e-10 and
    matches R's ``glm(..., control = glm.control(epsilon = 1e-14))``).
    """
    beta = np.zeros(x.shape[1])
    ybar = np.clip((w * y).sum() / w.sum(), 1e-6, 1 - 1e-6)
    eta = np.full(len(y), np.log(ybar / (1 - ybar)))
    dev_old = np.inf
    converged = False
    a_inv = np.eye(x.shape[1])
    for _ in range(maxiter):
        mu = expit(eta)
        var = np.clip(mu * (1 - mu), 1e-300, None)
        z = eta + (y - mu) / var
        # the inverse from the last iteration's weights is the one R's summary.glm uses (its final QR)
        beta, a_inv = weighted_least_squares(x, z, w * var)
        eta = x @ beta
        mu = expit(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = -2 * float(
                np.sum(
                    w
                    * (
                        y * np.log(np.where(mu > 0, mu, 1e-300))
                        + (1 - y) * np.log(np.where(mu < 1, 1 - mu, 1e-300))
                    )
                )
            )
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    mu = expit(eta)
    if converged:
        # the information at the estimate itself (R's glm reports it at the previous iterate, which differs
        # from it by the convergence error: about 1e-6 relative at glm's default epsilon of 1e-8)
        var = np.clip(mu * (1 - mu), 1e-300, None)
        _, a_inv = weighted_least_squares(x, eta + (y - mu) / var, w * var)
    return beta, a_inv, mu, converged


def separating_columns(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> list[str]:
    """Columns that on their own separate a binary outcome (a level, or a threshold, with no events or no
    non-events beyond it)."""
    out = []
    for j, name in enumerate(names):
        col = x[:, j]
        uniq = np.unique(col)
        if uniq.size == 1:
            continue
        if uniq.size == 2:
            for v in uniq:
                sel = col == v
                if y[sel].min() == y[sel].max():
                    out.append(
                        f"{name} (all {'events' if y[sel][0] == 1 else 'non-events'} where {name} = {v:g})"
                    )
                    break
        else:
            y1, y0 = col[y == 1], col[y == 0]
            if y1.size and y0.size and (y1.min() >= y0.max() or y1.max() <= y0.min()):
                out.append(f"{name} (a threshold separates events from non-events)")
    return out


def logistic_regression(
    x: np.ndarray, y: np.ndarray, names: Sequence[str], where: str, *, maxiter: int = 50, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray, float]:
    """Logistic regression by IRLS (R: ``glm(family = binomial)``); Wald z intervals (``confint.default``).

    Returns
    -------
    (beta, cov, log_likelihood)
        Coefficients, their covariance (the inverse Fisher information at the estimate: R's ``vcov.glm`` of a
        fit run to convergence) and the log-likelihood at the estimate.


    Raises
    ------
    ModelError
        On perfect or quasi-complete separation: the fit does not converge, or the linear predictor
        reaches |eta| > 30 (fitted probabilities numerically 0 or 1), naming the separating columns.
    """
    levels = np.unique(y)
    if not np.all(np.isin(levels, [0.0, 1.0])):
        raise ModelError(
            f"{where}: a logistic model needs a 0/1 outcome, found values {show_values(levels.tolist())}; "
            f"set family: gaussian or recode the outcome"
        )
    if levels.size < 2:
        raise ModelError(f"{where}: the outcome takes the single value {levels[0]:g} in these rows; no model")
    beta, a_inv, mu, converged = irls_logistic(x, y, np.ones(len(y)), maxiter=maxiter, tol=tol)
    eta = x @ beta
    if not converged or np.max(np.abs(eta)) > 30:
        cols = separating_columns(x, y, names)
        raise ModelError(
            f"{where}: perfect or quasi-complete separation in the logistic model (fitted probabilities of 0 or "
            f"1; odds ratios infinite). Separating: {', '.join(cols) if cols else 'a combination of columns'}. "
            f"Remove or merge the separating variable or levels, or use a penalised (Firth) model outside "
            f"musclecog"
        )
    loglik = float(np.sum(y * np.log(mu) + (1 - y) * np.log1p(-mu)))
    return beta, a_inv, loglik
