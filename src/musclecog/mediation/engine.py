"""The numerical core of the mediation family: recursive path models fitted equation by equation, and a
vectorised nonparametric bootstrap.

A recursive path model of observed variables with uncorrelated disturbances is a set of regressions, one per
endogenous variable; its maximum-likelihood estimates (lavaan ``sem(..., estimator = "ML")`` with
``fixed.x = TRUE``) are the equation-by-equation least-squares coefficients, because the likelihood factorises.
Direct, indirect and total effects follow from the coefficient matrix ``B`` (``B[i, j]`` = effect of variable j
in the equation of variable i): total effects ``(I - B)^-1 - I``, indirect = total - direct (Bollen 1987).

The bootstrap (Efron & Tibshirani 1993; Preacher & Hayes 2008, as PROCESS does it) resamples rows. Instead of
refitting every equation in a Python loop, each resample is represented by its row counts ``w`` (a
multinomial draw), so every weighted cross-product matrix ``X' diag(w) X`` of every equation is a block of one
moment matrix ``S_r = Z' diag(w_r) Z`` of all model columns ``Z``; the moments of a chunk of resamples are one
matrix product ``W @ P`` with ``P`` the pairwise products of the (standardised) columns. The normal equations of
all resamples are then solved at once (``np.linalg.solve`` on stacked matrices). A logistic outcome is fitted by
batched Newton-Raphson in the same way. A resample whose cross-product matrix is singular (or whose logistic fit
does not converge) is counted as failed and excluded from the percentiles; the count is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from musclecog.errors import DataError, ModelError, show_values

logger = logging.getLogger(__name__)

CONST = "(intercept)"
MIN_BOOT_N = 20
"""Fewer complete cases than this and a bootstrap is refused (percentiles of near-duplicate resamples)."""

COND_LIMIT = 1e10
"""A (standardised) cross-product matrix counts as singular when a column has less than 1 / COND_LIMIT of its
variance left after the columns before it (or, for the full-sample check, a condition number above this)."""

CHUNK_CELLS = 4_000_000
"""Resample count matrices are built in chunks of at most this many cells (rows x resamples): 32 MB."""


# --------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class ModelFrame:
    """Complete-case numeric data of a path model.

    Attributes
    ----------
    values : ndarray (n, k)
        Column 0 is the intercept, then the model variables, then the (dummy-coded) covariates.
    columns : list of str
        Names of the columns of ``values``.
    variables : list of str
        The model variables (exposures, mediators, outcomes), in ``values`` order after the intercept.
    covariates : list of str
        Names of the covariate columns (dummies named ``column[level]``).
    n_excluded : int
        Rows dropped because a used column was missing.
    """

    values: np.ndarray
    columns: list[str]
    variables: list[str]
    covariates: list[str]
    n_excluded: int = 0

    @property
    def n(self) -> int:
        """Complete cases used."""
        return int(self.values.shape[0])

    def col(self, name: str) -> int:
        """Index of a column."""
        return self.columns.index(name)


def model_frame(
    data: pd.DataFrame, variables: Sequence[str], covariates: Sequence[str], source: str
) -> ModelFrame:
    """Select, check and complete-case the columns of a path model; dummy-code categorical covariates.

    Parameters
    ----------
    data : DataFrame
        The cohort table.
    variables : sequence of str
        Model variables (must be numeric or boolean).
    covariates : sequence of str
        Adjustment columns: numeric are used as they are, categorical/text/boolean are dummy-coded
        against their first level.
    source : str
        Where the request comes from (``analyses.<name>``), for messages.

    Raises
    ------
    DataError
        A column is missing, a model variable is not numeric, or a variable is listed twice.
    """
    used = list(variables) + list(covariates)
    dup = sorted({c for c in used if used.count(c) > 1})
    if dup:
        raise DataError(
            f"{source}: the column(s) {dup} appear more than once among exposure, mediators, outcome and "
            "covariates; each column may play one role only. Remove the duplicate from the config."
        )
    missing = [c for c in used if c not in data.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} not in the cohort table (columns: {show_values(list(data.columns), 30)}). "
            "Fix the name in the config or map the column in the cohort's tables."
        )
    for c in variables:
        s = data[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise DataError(
                f"{source}: model variable '{c}' must be numeric (or 0/1) but holds {s.dtype} values such as "
                f"{show_values(list(s.dropna().unique()[:3]))}. Use a numeric column (e.g. a 0/1 treatment "
                "indicator instead of an arm label) or recode it in the cohort config."
            )
    sub = data[used]
    complete = sub.notna().all(axis=1).to_numpy()
    n_excluded = int((~complete).sum())
    if n_excluded:
        per_col = {c: int(sub[c].isna().sum()) for c in used if sub[c].isna().any()}
        logger.info("%s: %d of %d rows excluded for missing values %s", source, n_excluded, len(sub), per_col)
    sub = sub.loc[complete]
    blocks = [np.ones((len(sub), 1)), sub[list(variables)].to_numpy(dtype=float)]
    names = [CONST, *variables]
    cov_names: list[str] = []
    for c in covariates:
        s = sub[c]
        if pd.api.types.is_bool_dtype(s):
            s = s.astype(int)
        if pd.api.types.is_numeric_dtype(s):
            blocks.append(s.to_numpy(dtype=float)[:, None])
            cov_names.append(c)
            continue
        levels = list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else sorted(s.unique(), key=str)
        present = [lv for lv in levels if (s == lv).any()]
        for lv in present[1:]:
            blocks.append((s == lv).to_numpy(dtype=float)[:, None])
            cov_names.append(f"{c}[{lv}]")
    values = np.hstack(blocks)
    return ModelFrame(values, names + cov_names, list(variables), cov_names, n_excluded)


# ------------------------------------------------------------------------------------------ equations
@dataclass(frozen=True)
class Equation:
    """One regression of a path model.

    Attributes
    ----------
    outcome : str
        The dependent variable.
    predictors : tuple of str
        Model variables on the right-hand side (the covariates and intercept are added to every equation).
    family : {"gaussian", "binomial"}
        Least squares or logistic regression.
    """

    outcome: str
    predictors: tuple[str, ...]
    family: str = "gaussian"


@dataclass
class EquationFit:
    """Fitted coefficients of one equation with classical (OLS / ML) inference."""

    equation: Equation
    names: list[str]
    params: np.ndarray
    std_errors: np.ndarray
    df_resid: float
    n: int

    def coef(self, name: str) -> float:
        """The coefficient of a predictor."""
        return float(self.params[self.names.index(name)])

    def se(self, name: str) -> float:
        """The standard error of a predictor's coefficient."""
        return float(self.std_errors[self.names.index(name)])

    def inference(self, name: str, level: float) -> tuple[float, float, float, float, float]:
        """estimate, se, CI low, CI high, p (t-based for OLS, as PROCESS; z-based for logistic)."""
        est, se = self.coef(name), self.se(name)
        if self.equation.family == "gaussian":
            q = stats.t.ppf(0.5 + level / 2, self.df_resid)
            p = 2 * stats.t.sf(abs(est / se), self.df_resid)
        else:
            q = stats.norm.ppf(0.5 + level / 2)
            p = 2 * stats.norm.sf(abs(est / se))
        return est, se, est - q * se, est + q * se, float(p)


def _rhs(frame: ModelFrame, eq: Equation) -> list[int]:
    return [0] + [frame.col(p) for p in eq.predictors] + [frame.col(c) for c in frame.covariates]


def check_identifiable(frame: ModelFrame, eq: Equation, source: str) -> None:
    """Refuse an equation whose design matrix is rank-deficient, naming the collinear columns.

    Raises
    ------
    ModelError
        E.g. a mediator identical to (or a linear function of) the exposure.
    """
    idx = _rhs(frame, eq)
    X = frame.values[:, idx]
    names = [frame.columns[i] for i in idx]
    sd = X[:, 1:].std(axis=0)
    constant = [names[1 + j] for j in np.flatnonzero(sd == 0)]
    if constant:
        raise ModelError(
            f"{source}: in the model for '{eq.outcome}', the column(s) {constant} do not vary among the "
            f"{frame.n} complete cases. Drop them from the config or widen the keep_if filter."
        )
    if np.linalg.matrix_rank(X) == X.shape[1]:
        Xs = (X[:, 1:] - X[:, 1:].mean(0)) / sd
        if np.linalg.cond(Xs) < COND_LIMIT:
            return
    # name the offending columns: those (nearly) explained by the others
    bad = []
    for j in range(1, X.shape[1]):
        others = np.delete(X, j, axis=1)
        resid = X[:, j] - others @ np.linalg.lstsq(others, X[:, j], rcond=None)[0]
        if resid.var() <= 1e-10 * X[:, j].var():
            bad.append(names[j])
    pairs = []
    for i, a in enumerate(names[1:], 1):
        for j, b in enumerate(names[1:], 1):
            if i < j and abs(np.corrcoef(X[:, i], X[:, j])[0, 1]) > 0.999999:
                pairs.append(f"{a} ~ {b} (r = {np.corrcoef(X[:, i], X[:, j])[0, 1]:.6f})")
    detail = f"; perfectly correlated pairs: {', '.join(pairs)}" if pairs else ""
    raise ModelError(
        f"{source}: the model for '{eq.outcome}' cannot be fitted: the column(s) {bad or names[1:]} are a linear "
        f"combination of the other predictors{detail}. A mediator must not be identical to or a linear function of "
        "the exposure (or of the covariates); choose a different mediator or drop the redundant column."
    )


def fit_equation(frame: ModelFrame, eq: Equation, source: str) -> EquationFit:
    """Fit one equation on the full sample: OLS (classical SE, df = n - p) or logistic (ML, observed
    information). Point estimates equal R's ``lm`` / ``glm(family = binomial)`` and lavaan's ML estimates."""
    check_identifiable(frame, eq, source)
    idx = _rhs(frame, eq)
    X = frame.values[:, idx]
    y = frame.values[:, frame.col(eq.outcome)]
    names = [frame.columns[i] for i in idx]
    n, p = X.shape
    if eq.family == "gaussian":
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        sigma2 = resid @ resid / (n - p)
        cov = sigma2 * np.linalg.inv(X.T @ X)
        return EquationFit(eq, names, beta, np.sqrt(np.diag(cov)), float(n - p), n)
    beta, cov = _logistic(X, y, eq, source)
    return EquationFit(eq, names, beta, np.sqrt(np.diag(cov)), float("inf"), n)


def _logistic(X: np.ndarray, y: np.ndarray, eq: Equation, source: str) -> tuple[np.ndarray, np.ndarray]:
    classes = np.unique(y)
    if len(classes) < 2 or not set(classes) <= {0.0, 1.0}:
        raise ModelError(
            f"{source}: the binary outcome '{eq.outcome}' must take the values 0 and 1 with both present; "
            f"found {show_values(classes.tolist())} among {len(y)} complete cases. Use outcome_type: continuous "
            "or choose an outcome with both classes (check the keep_if filter)."
        )
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        mu = special.expit(X @ beta)
        w = mu * (1 - mu)
        H = (X * w[:, None]).T @ X
        step = np.linalg.solve(H, X.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        raise ModelError(f"{source}: the logistic model for '{eq.outcome}' did not converge in 100 iterations")
    if np.max(np.abs(beta[1:] * X[:, 1:].std(0))) > 30:
        raise ModelError(
            f"{source}: the logistic model for '{eq.outcome}' shows (quasi-)complete separation (a coefficient "
            "beyond 30 log-odds per SD); the outcome is perfectly predicted. Reduce the covariates or pool groups."
        )
    mu = special.expit(X @ beta)
    H = (X * (mu * (1 - mu))[:, None]).T @ X
    return beta, np.linalg.inv(H)


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
            f"{source}: only {n} complete cases ({frame.n_excluded} rows excluded for missing values); a bootstrap "
            f"needs at least {MIN_BOOT_N}. Use a larger cohort, fewer covariates with missing values, or "
            "bootstrap: 0 (no bootstrap CIs)."
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
            idx = _rhs(frame, eq)
            yi = frame.col(eq.outcome)
            if eq.family == "gaussian":
                A = S[:, idx][:, :, idx]
                rhs = S[:, idx, yi]
                beta, bad = _batched_solve(A, rhs)
            else:
                beta, bad = _batched_logistic(W, Zs[:, idx], Z[:, yi])
            if bad.any():
                key = f"{eq.outcome}: {'singular' if eq.family == 'gaussian' else 'not converged or separated'}"
                reasons[key] = reasons.get(key, 0) + int(bad.sum())
            failed[sl] |= bad
            scale_y = sd[yi] if eq.family == "gaussian" else 1.0
            for j, pname in enumerate(eq.predictors, start=1):
                coefs[(eq.outcome, pname)][sl] = beta[:, j] * scale_y / sd[frame.col(pname)]
    for v in coefs.values():
        v[failed] = np.nan
    if failed.any():
        logger.warning("%s: %d of %d bootstrap resamples failed (%s)", source, failed.sum(), n_resamples, reasons)
    return BootstrapDraws(coefs, failed, n_resamples, reasons)


def _batched_solve(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve stacked normal equations; singular systems are flagged, not raised.

    Each matrix is scaled to unit diagonal; a batched Cholesky factorisation then flags a (near-)singular matrix
    by a pivot ``L_ii^2`` below ``1 / COND_LIMIT`` (the share of a column's variance not explained by the columns
    before it). Only if the batch contains a matrix that is not positive definite is each checked on its own.
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


def _batched_logistic(W: np.ndarray, X: np.ndarray, y: np.ndarray, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
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
    z0 = stats.norm.ppf(share)
    z = stats.norm.ppf((1 + level) / 2)
    q = stats.norm.cdf([2 * z0 - z, 2 * z0 + z])
    lo, hi = np.quantile(d, q)
    return float(lo), float(hi)


def sobel(a: float, se_a: float, b: float, se_b: float) -> tuple[float, float, float]:
    """Sobel (1982) first-order test of ``a b``: (standard error, z, two-sided p)."""
    se = float(np.sqrt(b**2 * se_a**2 + a**2 * se_b**2))
    z = a * b / se
    return se, float(z), float(2 * stats.norm.sf(abs(z)))


def effect_matrix(variables: Sequence[str], coefs: Mapping[tuple[str, str], np.ndarray | float]) -> np.ndarray:
    """Direct-effect matrices ``B`` (..., k, k) from coefficients; ``B[i, j]``: j -> i."""
    k = len(variables)
    first = next(iter(coefs.values()), 0.0)
    shape = np.shape(first)
    B = np.zeros((*shape, k, k))
    pos = {v: i for i, v in enumerate(variables)}
    for (out, pred), value in coefs.items():
        B[..., pos[out], pos[pred]] = value
    return B


def total_effects(B: np.ndarray) -> np.ndarray:
    """Total effects ``(I - B)^-1 - I`` of a recursive model (batched over leading axes)."""
    k = B.shape[-1]
    eye = np.eye(k)
    return np.linalg.inv(eye - B) - eye


def simple_paths(equations: Sequence[Equation], source: str, target: str) -> list[tuple[str, ...]]:
    """Every directed path from ``source`` to ``target`` through the equations (at least one step)."""
    parents: dict[str, list[str]] = {}
    for eq in equations:
        parents.setdefault(eq.outcome, []).extend(eq.predictors)
    out: list[tuple[str, ...]] = []

    def walk(node: str, trail: tuple[str, ...]) -> None:
        for par in parents.get(node, []):
            if par == source:
                out.append((source, *trail))
            elif par not in trail:
                walk(par, (par, *trail))

    walk(target, (target,))
    return sorted(out, key=lambda p: (len(p), p))


def path_product(path: Sequence[str], coefs: Mapping[tuple[str, str], np.ndarray | float]) -> np.ndarray:
    """Product of the coefficients along a path (vectorised over resamples)."""
    prod: np.ndarray = np.asarray(1.0)
    for frm, to in zip(path[:-1], path[1:], strict=True):
        prod = prod * np.asarray(coefs[(to, frm)])
    return prod
