"""A vectorised nonparametric bootstrap of recursive path models, and its intervals.

The bootstrap (Efron & Tibshirani 1993; Preacher & Hayes 2008, as PROCESS does it) resamples rows. Instead of
refitting every equation in a Python loop, each resample is represented by its row counts ``w`` (a multinomial
draw), so every weighted cross-product matrix ``X' diag(w) X`` of every equation is a block of one moment
matrix ``S_r = Z' diag(w_r) Z`` of all model columns ``Z``; the moments of a chunk of resamples are one matrix
product ``W @ P`` with ``P`` the pairwise products of the (standardised) columns. The normal equations of all
resamples are then solved at once (``np.linalg.solve`` on stacked matrices). A logistic outcome is fitted by
batched Newton-Raphson in the same way. A resample whose cross-product matrix is singular (or whose logistic
fit does not converge) is counted as failed and excluded from the percentiles; the count is reported.

These batched solvers over resamples are a different job from the single-sample fits of
:mod:`musclecog.core.inference` (used by :func:`musclecog.mediation.frame.fit_equation`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from musclecog.core.inference import critical_value
from musclecog.errors import ModelError
from musclecog.mediation.frame import COND_LIMIT, Equation, ModelFrame, rhs

logger = logging.getLogger(__name__)

MIN_BOOT_N = 20
"""Fewer complete cases than this and a bootstrap is refused (percentiles of near-duplicate resamples)."""

CHUNK_CELLS = 4_000_000
"""Resample count matrices are built in chunks of at most this many cells (rows x resamples): 32 MB."""


# ------------------------------------------------------------------------------------------- bootstrap
@dataclass
class BootstrapDraws:
    """Coefficients of every equation in every bootstrap resample.

    Attributes
    ----------
    coefs : dict
        ``(outcome, predictor) -> ndarray (R,)`` on the original scale; NaN in failed resamples.
    failed : ndarray of bool (R,)
        Resamples in which at least one equation could not be fitted (singular or not converged).
    n_resamples : int
        Resamples drawn.
    """

    coefs: dict[tuple[str, str], np.ndarray]
    failed: np.ndarray
    n_resamples: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def n_failed(self) -> int:
        """Resamples that failed and are excluded from the bootstrap distribution."""
        return int(self.failed.sum())


def _counts(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    """Row counts of ``r`` nonparametric resamples of ``n`` rows (each row a multinomial(n, 1/n) draw)."""
    dtype = np.int32 if n < 2**31 else np.int64  # 32-bit draws are about 3 times faster
    idx = rng.integers(0, n, size=(r, n), dtype=dtype)
    out = np.empty((r, n))
    # one bincount per resample: its n counters stay in cache, 4 times faster than one bincount of r * n
    for i in range(r):
        out[i] = np.bincount(idx[i], minlength=n)
    return out


def bootstrap(
    frame: ModelFrame,
    equations: Sequence[Equation],
    n_resamples: int,
    seed: int,
    source: str,
    counts_fn: Callable[[np.random.Generator, int, int], np.ndarray] | None = None,
) -> BootstrapDraws:
    """Nonparametric bootstrap of all equations at once, vectorised over resamples.

    Parameters
    ----------
    frame : ModelFrame
        The complete-case data.
    equations : sequence of Equation
        The equations to refit in every resample (same resampled rows for all equations).
    n_resamples : int
        Number of resamples (PROCESS default 5,000).
    seed : int
        Seed of ``numpy.random.default_rng``; same seed, same draws.
    source : str
        For messages.
    counts_fn : callable, optional
        ``(rng, n, r) -> (r, n)`` row counts; for tests (e.g. replaying given resample indices).

    Returns
    -------
    BootstrapDraws

    Raises
    ------
    ModelError
        Fewer than :data:`MIN_BOOT_N` complete cases.
    """
    n = frame.n
    if n < MIN_BOOT_N:
        raise ModelError(
            f"{source}: only {n} complete cases ({sum(frame.exclusions.values())} rows excluded for missing "
            f"values); a bootstrap needs at least {MIN_BOOT_N}. Use a larger cohort, fewer covariates with "
            "missing values, or bootstrap: 0 (no bootstrap CIs)."
        )
    rng = np.random.default_rng(seed)
    counts_fn = counts_fn or _counts
    Z = frame.values
    k = Z.shape[1]
    mean = Z.mean(0)
    sd = Z.std(0)
    mean[0], sd[0] = 0.0, 1.0
    sd[sd == 0] = 1.0
    Zs = (Z - mean) / sd
    Zs[:, 0] = 1.0
    iu, ju = np.triu_indices(k)
    P = Zs[:, iu] * Zs[:, ju]  # pairwise products: one column per moment
    coefs = {(eq.outcome, p): np.full(n_resamples, np.nan) for eq in equations for p in eq.predictors}
    failed = np.zeros(n_resamples, bool)
    reasons: dict[str, int] = {}
    chunk = max(1, min(n_resamples, CHUNK_CELLS // n))
    for start in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - start)
        W = counts_fn(rng, n, r)
        S = np.empty((r, k, k))
        M = W @ P
        S[:, iu, ju] = M
        S[:, ju, iu] = M
        sl = slice(start, start + r)
        for eq in equations:
            idx = rhs(frame, eq)
            yi = frame.col(eq.outcome)
            if eq.family == "gaussian":
                A = S[:, idx][:, :, idx]
                xty = S[:, idx, yi]
                beta, bad = _batched_solve(A, xty)
            else:
                beta, bad = _batched_logistic(W, Zs[:, idx], Z[:, yi])
            if bad.any():
                key = (
                    f"{eq.outcome}: {'singular' if eq.family == 'gaussian' else 'not converged or separated'}"
                )
                reasons[key] = reasons.get(key, 0) + int(bad.sum())
            failed[sl] |= bad
            scale_y = sd[yi] if eq.family == "gaussian" else 1.0
            for j, pname in enumerate(eq.predictors, start=1):
                coefs[(eq.outcome, pname)][sl] = beta[:, j] * scale_y / sd[frame.col(pname)]
    for v in coefs.values():
        v[failed] = np.nan
    if failed.any():
        logger.warning(
            "%s: %d of %d bootstrap resamples failed (%s)", source, failed.sum(), n_resamples, reasons
        )
    return BootstrapDraws(coefs, failed, n_resamples, reasons)


def _batched_solve(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve stacked normal equations; singular systems are flagged, not raised.

    Each matrix is scaled to unit diagonal; a batched Cholesky factorisation then flags a (near-)singular
    matrix by a pivot ``L_ii^2`` below ``1 / COND_LIMIT`` (the share of a column's variance not explained by
    the columns before it). Only if the batch contains a matrix that is not positive definite is each checked
    on its own.
    """
    d = np.sqrt(np.abs(np.einsum("rii->ri", A)))
    d[d == 0] = 1.0
    An = A / d[:, :, None] / d[:, None, :]
    bad = ~np.isfinite(An).all(axis=(1, 2))
    pivots = np.zeros(An.shape[:2])
    ok = ~bad
    try:
        pivots[ok] = np.einsum("rii->ri", np.linalg.cholesky(An[ok])) ** 2
    except np.linalg.LinAlgError:
        for i in np.flatnonzero(ok):
            try:
                pivots[i] = np.diag(np.linalg.cholesky(An[i])) ** 2
            except np.linalg.LinAlgError:
                pivots[i] = 0.0
    bad |= ~(pivots.min(axis=1) > 1.0 / COND_LIMIT)
    beta = np.full(b.shape, np.nan)
    ok = ~bad
    if ok.any():
        beta[ok] = np.linalg.solve(An[ok], (b[ok] / d[ok])[..., None])[..., 0] / d[ok]
    return beta, bad


def _batched_logistic(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regressions for every row of ``W`` (resample counts) by batched Newton-Raphson."""
    r, _ = W.shape
    p = X.shape[1]
    iu, ju = np.triu_indices(p)
    P = X[:, iu] * X[:, ju]
    beta = np.zeros((r, p))
    converged = np.zeros(r, bool)
    for _ in range(max_iter):
        eta = X @ beta.T  # (n, r)
        mu = special.expit(eta)
        Wmu = W * (mu * (1 - mu)).T
        H = np.empty((r, p, p))
        Hm = Wmu @ P
        H[:, iu, ju] = Hm
        H[:, ju, iu] = Hm
        g = (W * (y[:, None] - mu).T) @ X
        step, bad = _batched_solve(H, g)
        step[bad] = 0.0
        beta = beta + step
        converged = np.abs(step).max(axis=1) < 1e-8
        if np.all(converged | bad):
            break
    bad = ~converged | ~np.isfinite(beta).all(axis=1) | (np.abs(beta[:, 1:]).max(axis=1) > 30)
    return beta, bad


# ------------------------------------------------------------------------------------------ intervals
def percentile_ci(draws: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile bootstrap interval (failed resamples, NaN, excluded)."""
    d = draws[np.isfinite(draws)]
    if len(d) == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bias_corrected_ci(draws: np.ndarray, estimate: float, level: float) -> tuple[float, float]:
    """Bias-corrected bootstrap interval (Efron 1981; PROCESS ``boot`` with ``bc = 1``).

    ``z0 = Phi^-1(share of draws below the estimate)``; the limits are the draws' quantiles at
    ``Phi(2 z0 +/- z_{(1+level)/2})``.
    """
    d = draws[np.isfinite(draws)]
    if len(d) == 0:
        return float("nan"), float("nan")
    share = (np.sum(d < estimate) + 0.5 * np.sum(d == estimate)) / len(d)
    share = min(max(share, 0.5 / len(d)), 1 - 0.5 / len(d))
    z0 = special.ndtri(share)
    z = critical_value(level, None)
    q = special.ndtr(np.array([2 * z0 - z, 2 * z0 + z]))
    lo, hi = np.quantile(d, q)
    return float(lo), float(hi)
