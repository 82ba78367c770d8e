"""Two-sample Mendelian randomization estimators on harmonised summary statistics.

Every estimator takes the per-variant associations ``bx, by`` (exposure, outcome) and their standard
errors ``sx, sy`` as 1-d float arrays of equal length (already harmonised, ``mr_keep`` rows only) and
returns an :class:`MREstimate`. Estimators that need more instruments than they were given return an
estimate whose ``note`` starts with ``"not estimable: "`` and whose numbers are NaN, never an exception.

The formulas follow TwoSampleMR (Hemani et al. 2018, eLife 7:e34408; ``R/mr.R`` and ``R/mr_mode.R``),
including its small-sample conventions, so its users get the same numbers:

- standard errors of the IVW and MR-Egger regressions are divided by ``min(1, sigma)`` (residual
  standard error), i.e. multiplicative random effects that are never *smaller* than fixed effects;
- MR-Egger p-values use a t distribution with ``nsnp - 2`` df, mode p-values one with ``nsnp - 1`` df,
  all others the normal distribution; confidence intervals are ``b +/- qnorm(1 - alpha/2) * se``
  (TwoSampleMR's ``generate_odds_ratios``);
- bootstrap standard errors (medians: standard deviation of the bootstrap estimates; modes: R's
  ``mad``) are computed for all draws in one vectorised numpy pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from musclecog.core import distributions as dist

MIN_SNPS: dict[str, int] = {
    "wald_ratio": 1,
    "ivw": 2,
    "ivw_mre": 2,
    "ivw_fe": 2,
    "egger": 3,
    "simple_median": 3,
    "weighted_median": 3,
    "penalised_weighted_median": 3,
    "simple_mode": 3,
    "weighted_mode": 3,
    "penalised_mode": 3,
    "simple_mode_nome": 3,
    "weighted_mode_nome": 3,
    "ivw_penalised": 2,
    "divw": 2,
    "pivw": 2,
    "maxlik": 2,
    "conmix": 2,
    "ivw_robust": 3,
    "raps": 3,
    "cml": 2,
}
"""The fewest instruments each estimator needs (TwoSampleMR's thresholds)."""

LABELS: dict[str, str] = {
    "wald_ratio": "Wald ratio",
    "ivw": "Inverse variance weighted",
    "ivw_mre": "Inverse variance weighted (multiplicative random effects)",
    "ivw_fe": "Inverse variance weighted (fixed effects)",
    "egger": "MR Egger",
    "simple_median": "Simple median",
    "weighted_median": "Weighted median",
    "penalised_weighted_median": "Penalised weighted median",
    "simple_mode": "Simple mode",
    "weighted_mode": "Weighted mode",
    "penalised_mode": "Penalised mode",
    "simple_mode_nome": "Simple mode (NOME)",
    "weighted_mode_nome": "Weighted mode (NOME)",
    "ivw_penalised": "Penalised inverse variance weighted",
    "divw": "Debiased inverse variance weighted",
    "pivw": "Penalised inverse variance weighted (pIVW)",
    "maxlik": "Maximum likelihood",
    "conmix": "Contamination mixture",
    "ivw_robust": "Robust inverse variance weighted",
    "raps": "Robust adjusted profile score (RAPS)",
    "cml": "Constrained maximum likelihood (cML-MA-BIC)",
}
"""Method key (used in the config) -> label exactly as TwoSampleMR prints it."""


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q of the IVW fit, or Rücker's Q' of the MR-Egger fit: ``q`` on ``df`` degrees of freedom."""

    q: float
    df: int
    pval: float


@dataclass(frozen=True)
class EggerIntercept:
    """MR-Egger's intercept (average directional pleiotropy): estimate, standard error, t(nsnp - 2) p-value."""

    b: float
    se: float
    pval: float


@dataclass(frozen=True)
class MREstimate:
    """One causal estimate.

    Attributes
    ----------
    method : str
        The TwoSampleMR label (see :data:`LABELS`).
    b, se, pval : float
        Estimate, standard error and p-value (NaN when not estimable).
    nsnp : int
        Instruments used.
    note : str
        Empty, or ``"not estimable: <reason>"``, or a remark (e.g. a bootstrap with failed draws).
    dist_df : float or None
        Degrees of freedom of the t distribution the p-value used (None: normal).
    sigma : float or None
        Residual standard error of the IVW / MR-Egger regression.
    heterogeneity : Heterogeneity or None
        Cochran's Q (IVW) or Rücker's Q' (MR-Egger).
    intercept : EggerIntercept or None
        MR-Egger's intercept.
    conf_low, conf_high : float or None
        The estimator's own confidence limits (a likelihood grid, a bootstrapped Fieller interval); None: the
        report uses the Wald interval ``b +/- z se``.
    """

    method: str
    b: float
    se: float
    pval: float
    nsnp: int
    note: str = ""
    dist_df: float | None = None
    sigma: float | None = None
    heterogeneity: Heterogeneity | None = None
    intercept: EggerIntercept | None = None
    conf_low: float | None = None
    conf_high: float | None = None

    @property
    def estimable(self) -> bool:
        """Whether the estimate could be computed."""
        return not self.note.startswith("not estimable")


DENSITY_COORDS: tuple[str, ...] = ("r44", "r_legacy")
"""Grids of R's ``density()`` reproduced by :func:`r_density`: ``"r44"`` is R >= 4.4.0
(``old.coords = FALSE``, the default of current R and of TwoSampleMR's published vignette output);
``"r_legacy"`` is R <= 4.3.x (equivalently ``density(..., old.coords = TRUE)`` in R >= 4.4)."""

MEDIAN_WEIGHTS: tuple[str, ...] = ("second_order", "first_order")
"""Weights of the weighted median: TwoSampleMR's second-order inverse variances, MendelianRandomization's
first-order ``bx^2/sy^2``."""


@dataclass(frozen=True)
class BootstrapSettings:
    """Settings of the median and mode estimators (TwoSampleMR's arguments of the same names).

    Attributes
    ----------
    nboot : int
        Parametric bootstrap draws (``nboot``, 1000).
    penk : float
        Penalisation constant of the penalised weighted median and mode (``penk``, 20).
    phi : float
        Mode bandwidth multiplier (``phi``, 1).
    median_weights : {"second_order", "first_order"}
        Inverse variances of the ratio estimates used as weighted-median weights: ``sy^2/bx^2 + by^2 sx^2/bx^4``
        (TwoSampleMR) or ``sy^2/bx^2`` (MendelianRandomization's ``mr_median`` default).
    density_coords : {"r44", "r_legacy"}
        Grid of R's ``density()`` that ``mr_mode`` runs on (see :func:`r_density`).

    Raises
    ------
    ValueError
        An unknown ``median_weights`` or ``density_coords``.
    """

    nboot: int = 1000
    penk: float = 20.0
    phi: float = 1.0
    median_weights: str = "second_order"
    density_coords: str = "r44"

    def __post_init__(self) -> None:
        if self.median_weights not in MEDIAN_WEIGHTS:
            raise ValueError(f"median weights must be 'second_order' or 'first_order', got {self.median_weights!r}")
        if self.density_coords not in DENSITY_COORDS:
            raise ValueError(f"density_coords {self.density_coords!r}: use one of {list(DENSITY_COORDS)}")


def not_estimable(key: str, nsnp: int, reason: str | None = None) -> MREstimate:
    """The placeholder result of an estimator that cannot be computed on these instruments."""
    if reason is None:
        reason = f"{LABELS.get(key, key)} needs at least {MIN_SNPS.get(key, 3)} instruments, {nsnp} available"
    return MREstimate(LABELS.get(key, key), np.nan, np.nan, np.nan, nsnp, note=f"not estimable: {reason}")


def _p_normal(b: float | np.ndarray, se: float | np.ndarray) -> Any:
    return 2.0 * dist.norm_sf(np.abs(np.asarray(b) / np.asarray(se)))


def _p_t(b: float, se: float, df: float) -> float:
    return float(2.0 * dist.t_sf(abs(b / se), df))


def _as_arrays(*arrays: Any) -> tuple[np.ndarray, ...]:
    out = tuple(np.asarray(a, dtype=float) for a in arrays)
    n = out[0].shape
    if any(a.shape != n or a.ndim != 1 for a in out):
        raise ValueError(f"bx, by, sx, sy must be 1-d arrays of equal length, got shapes {[a.shape for a in out]}")
    return out


def wald_ratio(bx: Any, by: Any, sx: Any, sy: Any) -> MREstimate:
    """Wald ratio ``by / bx`` with TwoSampleMR's first-order standard error ``sy / |bx|``.

    Reference: TwoSampleMR ``mr_wald_ratio`` (only defined for one instrument).
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    if bx.size != 1:
        return not_estimable("wald_ratio", bx.size, "the Wald ratio is for one instrument; see single_snp")
    b = float(by[0] / bx[0])
    se = float(sy[0] / abs(bx[0]))
    return MREstimate(LABELS["wald_ratio"], b, se, float(_p_normal(b, se)), 1)


def wald_ratios(bx: Any, by: Any, sx: Any, sy: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-variant Wald ratios and first-order standard errors (vectorised :func:`wald_ratio`)."""
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    return by / bx, sy / np.abs(bx)


def _ivw_core(bx: np.ndarray, by: np.ndarray, sy: np.ndarray) -> tuple[float, float, float]:
    """IVW slope through the origin (weights 1/sy^2), its fixed-effect se and the residual se sigma."""
    w = 1.0 / sy**2
    sxx = np.sum(w * bx * bx)
    b = float(np.sum(w * bx * by) / sxx)
    se_fe = float(np.sqrt(1.0 / sxx))
    df = bx.size - 1
    sigma = float(np.sqrt(np.sum(w * (by - b * bx) ** 2) / df)) if df > 0 else np.nan
    return b, se_fe, sigma


def ivw(bx: Any, by: Any, sx: Any, sy: Any, model: str = "default") -> MREstimate:
    """Inverse-variance weighted estimate (first-order weights).

    Parameters
    ----------
    bx, by, sx, sy : array-like
        Harmonised associations and standard errors.
    model : {"default", "mre", "fe"}
        ``"default"``: TwoSampleMR ``mr_ivw`` - multiplicative random effects with the standard
        error never below the fixed-effect one, ``se = se_fe * max(1, sigma)``;
        ``"mre"``: ``mr_ivw_mre``, ``se = se_fe * sigma`` (no correction for under-dispersion);
        ``"fe"``: ``mr_ivw_fe``, ``se = se_fe = sqrt(1 / sum(bx^2 / sy^2))``.

    Notes
    -----
    ``b = sum(bx by / sy^2) / sum(bx^2 / sy^2)``, the slope of ``lm(by ~ -1 + bx, weights = 1/sy^2)``,
    and ``sigma`` is that regression's residual standard error; Cochran's ``Q = sigma^2 (nsnp - 1)``
    is in ``heterogeneity``. Reference: Burgess, Butterworth & Thompson (2013) Genet Epidemiol
    37:658; TwoSampleMR ``mr_ivw``, ``mr_ivw_mre``, ``mr_ivw_fe``.
    """
    key = {"default": "ivw", "mre": "ivw_mre", "fe": "ivw_fe"}[model]
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    if bx.size < 2:
        return not_estimable(key, bx.size)
    b, se_fe, sigma = _ivw_core(bx, by, sy)
    se = {"default": se_fe * max(1.0, sigma), "mre": se_fe * sigma, "fe": se_fe}[model]
    q_df = bx.size - 1
    q = sigma**2 * q_df
    het = Heterogeneity(q, q_df, float(dist.chi2_sf(q, q_df)))
    return MREstimate(LABELS[key], b, se, float(_p_normal(b, se)), bx.size, sigma=sigma, heterogeneity=het)


def _sign0(x: np.ndarray) -> np.ndarray:
    s = np.sign(x)
    s[s == 0] = 1.0
    return s


EGGER_DISTRIBUTIONS: tuple[str, ...] = ("t", "normal")
"""Reference distributions of MR-Egger's tests: TwoSampleMR's t(nsnp - 2), MendelianRandomization's normal."""


def egger(bx: Any, by: Any, sx: Any, sy: Any, distribution: str = "t") -> MREstimate:
    """MR-Egger regression: ``lm(by ~ bx, weights = 1/sy^2)`` after orienting every ``bx`` positive.

    The slope is the causal estimate, the intercept the average directional pleiotropy; both
    standard errors are divided by ``min(1, sigma)`` and tested with t(nsnp - 2), as TwoSampleMR's
    ``mr_egger_regression``, or (``distribution = "normal"``) with the normal distribution, as
    MendelianRandomization's ``mr_egger`` (its default ``distribution = "normal"``; the estimates and standard
    errors of the two packages are the same). ``intercept`` holds the intercept's estimate, se and p,
    ``heterogeneity`` Rücker's Q' and ``sigma`` the residual standard error.

    Reference: Bowden, Davey Smith & Burgess (2015) Int J Epidemiol 44:512; TwoSampleMR
    ``mr_egger_regression``; MendelianRandomization ``mr_egger``.
    """
    if distribution not in EGGER_DISTRIBUTIONS:
        raise ValueError(f"Egger distribution must be one of {list(EGGER_DISTRIBUTIONS)}, got {distribution!r}")
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    n = bx.size
    if n < 3:
        return not_estimable("egger", n)
    s = _sign0(bx)
    y = by * s
    x = np.abs(bx)
    w = 1.0 / sy**2
    design = np.column_stack([np.ones(n), x])
    xtw = design.T * w
    xtwx = xtw @ design
    if np.linalg.cond(xtwx) > 1e12:
        return not_estimable("egger", n, "the exposure associations are collinear with the intercept")
    inv = np.linalg.inv(xtwx)
    coef = inv @ (xtw @ y)
    resid = y - design @ coef
    df = n - 2
    sigma = float(np.sqrt(np.sum(w * resid**2) / df))
    ses = np.sqrt(np.diag(inv)) * sigma / min(1.0, sigma)
    b_i, b = float(coef[0]), float(coef[1])
    se_i, se = float(ses[0]), float(ses[1])
    q = sigma**2 * df
    if distribution == "normal":
        p_b, p_i, dist_df = float(_p_normal(b, se)), float(_p_normal(b_i, se_i)), None
    else:
        p_b, p_i, dist_df = _p_t(b, se, df), _p_t(b_i, se_i, df), df
    return MREstimate(
        LABELS["egger"], b, se, p_b, n, dist_df=dist_df, sigma=sigma,
        heterogeneity=Heterogeneity(q, df, float(dist.chi2_sf(q, df))),
        intercept=EggerIntercept(b_i, se_i, p_i),
    )


PENALISED_IVW_K = 100.0
"""MendelianRandomization's penalisation constant of the penalised IVW (``r.weights``: ``pmin(1, 100 p)``)."""


def _mr_model(model: str, nsnp: int) -> str:
    """MendelianRandomization's ``model = "default"``: fixed effects below 4 instruments, random above."""
    if model not in ("default", "random", "fixed"):
        raise ValueError(f"model must be 'default', 'random' or 'fixed', got {model!r}")
    if model == "default":
        return "fixed" if nsnp < 4 else "random"
    return model


def ivw_penalised(bx: Any, by: Any, sx: Any, sy: Any, model: str = "default") -> MREstimate:
    """Penalised IVW: IVW with each variant's weight shrunk by its heterogeneity p-value.

    ``p_j = P(chi2_1 > bx_j^2 / sy_j^2 (ratio_j - median(ratio))^2)`` and weights
    ``sy_j^-2 min(1, 100 p_j)``: variants whose ratio estimates are far from the median ratio lose weight.
    ``b`` is the slope of ``lm(by ~ -1 + bx, weights = w)``; its standard error is lm's divided by
    ``min(sigma, 1)`` (random effects) or by ``sigma`` (fixed effects); ``model = "default"`` is fixed effects
    below 4 instruments and random effects otherwise. The p-value is normal.

    Reference: Burgess, Bowden, Dudbridge & Thompson (2016), arXiv:1606.03729; MendelianRandomization
    ``mr_ivw(penalized = TRUE)`` (``weights = "simple"``, ``distribution = "normal"``).
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    k = bx.size
    if k < MIN_SNPS["ivw_penalised"]:
        return not_estimable("ivw_penalised", k)
    ratio = by / bx
    pen = dist.chi2_sf(bx**2 / sy**2 * (ratio - np.median(ratio)) ** 2, 1)
    w = np.minimum(1.0, pen * PENALISED_IVW_K) / sy**2
    used = int(np.count_nonzero(w))  # lm drops zero-weight rows from the residual df
    if used < 2:
        return not_estimable("ivw_penalised", k, f"fewer than 2 instruments keep a non-zero penalised weight ({used})")
    sxx = np.sum(w * bx * bx)
    b = float(np.sum(w * bx * by) / sxx)
    sigma = float(np.sqrt(np.sum(w * (by - b * bx) ** 2) / (used - 1)))
    se_fe = float(np.sqrt(1.0 / sxx))
    se = se_fe * max(sigma, 1.0) if _mr_model(model, k) == "random" else se_fe
    return MREstimate(LABELS["ivw_penalised"], b, se, float(_p_normal(b, se)), k, sigma=sigma)


def i_squared_gx(bx: Any, sx: Any, sy: Any = None) -> float:
    """I²_GX: the NOME-violation measure for MR-Egger (Bowden et al. 2016, Int J Epidemiol 45:1961).

    ``Q = sum(w (|b| - mu)^2)`` with ``w = 1/s^2`` and ``mu`` the weighted mean of ``|b|``;
    ``I2 = max(0, (Q - (k - 1)) / Q)`` (Bowden's ``Isq`` function). With ``sy`` (the default in the MR
    tables) ``b = bx / sy`` and ``s = sx / sy``: the version for Egger with first-order weights, which is
    what R's MendelianRandomization reports as ``I^2_GX`` from ``mr_egger`` (lipids example: 0.9194);
    without ``sy`` the unweighted ``Isq(bx, sx)`` of Bowden's paper (0.9287 there).
    """
    b = np.abs(np.asarray(bx, dtype=float))
    s = np.asarray(sx, dtype=float)
    if sy is not None:
        scale = np.asarray(sy, dtype=float)
        b, s = b / scale, s / scale
    w = 1.0 / s**2
    k = b.size
    if k < 2:
        return float("nan")
    mu = np.sum(w * b) / np.sum(w)
    q = float(np.sum(w * (b - mu) ** 2))
    if q <= 0:
        return 0.0
    return max(0.0, (q - (k - 1)) / q)


# --- medians -------------------------------------------------------------------------------------


def weighted_median_point(b_iv: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted median of ratio estimates, row-wise for 2-d input (Bowden et al. 2016 interpolation).

    Sort the ratios, put each one's weight at the midpoint of its cumulative-weight interval
    (``cumsum(w) - w/2``, standardised to sum 1) and interpolate linearly at 0.5; identical to
    TwoSampleMR's ``weighted_median``. ``weights`` broadcasts against ``b_iv``.
    """
    b_iv = np.atleast_2d(b_iv)
    weights = np.broadcast_to(np.atleast_2d(weights), b_iv.shape)
    order = np.argsort(b_iv, axis=1, kind="stable")
    bs = np.take_along_axis(b_iv, order, axis=1)
    ws = np.take_along_axis(weights, order, axis=1)
    cum = np.cumsum(ws, axis=1) - 0.5 * ws
    cum = cum / np.sum(ws, axis=1, keepdims=True)
    below = np.sum(cum < 0.5, axis=1) - 1  # cum is increasing: last index with cum < 0.5
    k = b_iv.shape[1]
    ok = (below >= 0) & (below < k - 1)
    lo = np.clip(below, 0, k - 1)
    hi = np.clip(below + 1, 0, k - 1)
    rows = np.arange(b_iv.shape[0])
    b_lo, b_hi = bs[rows, lo], bs[rows, hi]
    c_lo, c_hi = cum[rows, lo], cum[rows, hi]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = b_lo + (b_hi - b_lo) * (0.5 - c_lo) / (c_hi - c_lo)
    return np.where(ok, out, np.nan)


def _second_order_var(bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    return sy**2 / bx**2 + by**2 * sx**2 / bx**4


def _median_bootstrap(
    bx: np.ndarray,
    by: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    weights: np.ndarray,
    nboot: int,
    rng: np.random.Generator,
) -> tuple[float, int]:
    """Bootstrap se of the weighted median with fixed weights (TwoSampleMR ``weighted_median_bootstrap``):
    draw ``bx*, by*`` from independent normals, recompute the median of ``by*/bx*`` for each draw and
    take the standard deviation. Returns (se, number of failed draws)."""
    k = bx.size
    bxb = rng.normal(bx, sx, size=(nboot, k))
    byb = rng.normal(by, sy, size=(nboot, k))
    med = weighted_median_point(byb / bxb, weights)
    finite = np.isfinite(med)
    return float(np.std(med[finite], ddof=1)), int((~finite).sum())


def median_estimates(
    bx: Any,
    by: Any,
    sx: Any,
    sy: Any,
    *,
    which: tuple[str, ...] = ("simple_median", "weighted_median", "penalised_weighted_median"),
    settings: BootstrapSettings = BootstrapSettings(),
    rng: np.random.Generator | None = None,
) -> dict[str, MREstimate]:
    """Simple, weighted and penalised weighted median estimators with bootstrap standard errors.

    Parameters
    ----------
    bx, by, sx, sy : array-like
        Harmonised associations.
    which : tuple of str
        Any of ``simple_median``, ``weighted_median``, ``penalised_weighted_median``.
    settings : BootstrapSettings
        ``nboot`` (parametric bootstrap draws), ``penk`` (penalisation constant) and ``median_weights``.
    rng : numpy Generator

    Notes
    -----
    Bowden, Davey Smith, Haycock & Burgess (2016) Genet Epidemiol 40:304; penalisation: Burgess et al.
    (2016) Epidemiology 27:4; TwoSampleMR ``mr_simple_median``, ``mr_weighted_median``,
    ``mr_penalised_weighted_median``. Each estimator uses its own bootstrap draws.
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    rng = rng if rng is not None else np.random.default_rng()
    k = bx.size
    out: dict[str, MREstimate] = {}
    if k < 3:
        return {key: not_estimable(key, k) for key in which}
    b_iv = by / bx
    nboot, penk = settings.nboot, settings.penk
    w = 1.0 / _second_order_var(bx, by, sx, sy) if settings.median_weights == "second_order" else bx**2 / sy**2
    wm = float(weighted_median_point(b_iv, w)[0])
    plan: dict[str, np.ndarray] = {}
    if "simple_median" in which:
        plan["simple_median"] = np.full(k, 1.0 / k)
    if "weighted_median" in which:
        plan["weighted_median"] = w
    if "penalised_weighted_median" in which:
        penalty = dist.chi2_sf(w * (b_iv - wm) ** 2, 1)
        plan["penalised_weighted_median"] = w * np.minimum(1.0, penalty * penk)
    for key, wk in plan.items():
        b = float(weighted_median_point(b_iv, wk)[0])
        se, failed = _median_bootstrap(bx, by, sx, sy, wk, nboot, rng)
        note = f"{failed} of {nboot} bootstrap draws gave no median" if failed else ""
        out[key] = MREstimate(LABELS[key], b, se, float(_p_normal(b, se)), k, note=note)
    return {key: out[key] for key in which if key in out}


# --- modes ---------------------------------------------------------------------------------------

_DENSITY_N = 512


def _r_mad(x: np.ndarray, axis: int = -1) -> np.ndarray:
    med = np.median(x, axis=axis, keepdims=True)
    return 1.4826 * np.median(np.abs(x - med), axis=axis)


def r_density(
    x: np.ndarray, weights: np.ndarray, bw: np.ndarray, coords: str = "r44"
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise R ``density(x, weights = w, bw = h)`` (Gaussian kernel, n = 512, cut = 3, ext = 4).

    Reproduces R's FFT algorithm (``stats:::density.default``): linear binning of the weighted points
    on 512 grid points spanning ``[lo, up] = [min - 7h, max + 7h]`` into a zero-padded vector of
    length 1024 (C ``BinDist``), circular convolution with Gaussian kernel ordinates ``kords``, then
    linear interpolation (``approx``) from the bin grid ``seq(lo, up, length.out = 512)`` onto the
    512 output points ``seq(min - 3h, max + 3h, length.out = 512)``.

    The two supported R versions differ only in the kernel ordinates
    ``kords <- seq.int(0, span * (up - lo), length.out = 1024)``:

    - ``coords = "r44"`` (R >= 4.4.0, ``old.coords = FALSE``): ``span = (2n - 1)/(n - 1)``, so the
      kernel is evaluated at multiples of the bin spacing ``(up - lo)/(n - 1)`` (R bug 18337 fix);
    - ``coords = "r_legacy"`` (R <= 4.3.x, or ``old.coords = TRUE``): ``span = 2``, a kernel step of
      ``2(n - 1)/(2n - 1)`` = 1022/1023 bin steps, so the kernel is evaluated at slightly too short
      distances: a slightly narrower, higher curve (densities about ``1/(2n - 2)`` too high) whose
      argmax can move to a neighbouring grid point when the top is nearly flat.

    Parameters
    ----------
    x : ndarray (rows, k)
    weights : ndarray (k,) or (rows, k)
        Standardised to sum 1 per row (as TwoSampleMR passes them).
    bw : ndarray (rows,)
        Bandwidth per row.
    coords : {"r44", "r_legacy"}
        Which R version's grid to reproduce.

    Returns
    -------
    xout, yout : ndarray (rows, 512)
        R's ``density(...)$x`` and ``$y`` per row.
    """
    if coords not in DENSITY_COORDS:
        raise ValueError(f"density coords {coords!r}: use one of {list(DENSITY_COORDS)}")
    x = np.atleast_2d(x)
    rows, k = x.shape
    n = _DENSITY_N
    w = np.broadcast_to(np.atleast_2d(weights), x.shape)
    bw = np.asarray(bw, dtype=float).reshape(rows)
    xmin, xmax = x.min(axis=1), x.max(axis=1)
    frm, to = xmin - 3.0 * bw, xmax + 3.0 * bw
    lo, up = frm - 4.0 * bw, to + 4.0 * bw
    # BinDist: y has length 2n, points binned on n grid points spanning [lo, up]
    delta = (up - lo) / (n - 1)
    xpos = (x - lo[:, None]) / delta[:, None]
    ix = np.floor(xpos).astype(np.int64)
    fx = xpos - ix
    # the four cases of BinDist as one weighted bincount over flattened (row, bin) indices
    r_idx = np.broadcast_to(np.arange(rows)[:, None] * (2 * n), x.shape)
    inside = (ix >= 0) & (ix <= n - 2)
    left = ix == -1
    right = ix == n - 1
    idx = np.concatenate([(r_idx + ix)[inside], (r_idx + ix + 1)[inside], r_idx[left], (r_idx + ix)[right]])
    wts = np.concatenate([(w * (1 - fx))[inside], (w * fx)[inside], (w * fx)[left], (w * (1 - fx))[right]])
    y = np.bincount(idx, weights=wts, minlength=rows * 2 * n).reshape(rows, 2 * n)
    # kernel ordinates on the symmetric circular grid: seq.int(0, span * (up - lo), length.out = 2n)
    span = 2.0 if coords == "r_legacy" else (2 * n - 1) / (n - 1)
    t = np.linspace(0.0, 1.0, 2 * n)[None, :] * (span * (up - lo))[:, None]
    t[:, n + 1 :] = -t[:, n - 1 : 0 : -1]
    kern = np.exp(-0.5 * (t / bw[:, None]) ** 2) / (np.sqrt(2.0 * np.pi) * bw[:, None])
    # real input and a circularly symmetric kernel: rfft/irfft give R's fft(fft(y) * Conj(fft(k)), inverse)
    conv = np.fft.irfft(np.fft.rfft(y, axis=1) * np.conj(np.fft.rfft(kern, axis=1)), n=2 * n, axis=1)
    dens = np.maximum(0.0, conv[:, :n])
    # approx(xords, dens, xout): xords = seq(lo, up, n), xout = seq(from, to, n)
    xout = frm[:, None] + np.linspace(0.0, 1.0, n)[None, :] * (to - frm)[:, None]
    pos = (xout - lo[:, None]) / delta[:, None]
    j = np.clip(np.floor(pos).astype(np.int64), 0, n - 2)
    frac = pos - j
    yout = np.take_along_axis(dens, j, axis=1) * (1 - frac) + np.take_along_axis(dens, j + 1, axis=1) * frac
    return xout, yout


def r_density_mode(x: np.ndarray, weights: np.ndarray, bw: np.ndarray, coords: str = "r44") -> np.ndarray:
    """Row-wise argmax of :func:`r_density`: the first output point of maximal density, as TwoSampleMR
    ``mr_mode``'s ``densityIV$x[densityIV$y == max(densityIV$y)]``.

    Parameters
    ----------
    x, weights, bw, coords
        As :func:`r_density`.
    """
    xout, yout = r_density(x, weights, bw, coords)
    best = np.argmax(yout, axis=1)
    return xout[np.arange(xout.shape[0]), best]


def _mode_point(b_iv: np.ndarray, se_iv: np.ndarray, phi: float, coords: str = "r44") -> np.ndarray:
    """TwoSampleMR ``mr_mode``'s inner ``beta()``: modified Silverman bandwidth (Bickel 2002)
    ``s = 0.9 min(sd, mad) / k^(1/5)``, ``h = max(1e-8, s phi)``, weights ``se^-2`` standardised,
    mode of R's ``density()`` on the grid of R version ``coords`` (see :func:`r_density`)."""
    b_iv = np.atleast_2d(b_iv)
    k = b_iv.shape[1]
    sd = np.std(b_iv, axis=1, ddof=1)
    s = 0.9 * np.minimum(sd, _r_mad(b_iv, axis=1)) / k**0.2
    h = np.maximum(1e-8, s * phi)
    w = np.atleast_2d(se_iv) ** -2.0
    w = w / w.sum(axis=1, keepdims=True)
    return r_density_mode(b_iv, w, h, coords)


def mode_estimates(
    bx: Any,
    by: Any,
    sx: Any,
    sy: Any,
    *,
    which: tuple[str, ...] = ("simple_mode", "weighted_mode"),
    settings: BootstrapSettings = BootstrapSettings(),
    rng: np.random.Generator | None = None,
) -> dict[str, MREstimate]:
    """Mode-based estimators (Hartwig, Davey Smith & Bowden 2017, Int J Epidemiol 46:1985).

    Implements TwoSampleMR's ``mr_mode``: simple mode (unweighted density of the ratio estimates),
    weighted mode (weights = inverse second-order variances, i.e. not assuming NOME), penalised mode,
    and the NOME variants (weights and bootstrap from first-order ses ``sy/|bx|``). Standard errors
    are R's ``mad`` (constant 1.4826) of ``nboot`` parametric bootstrap estimates in which each ratio
    estimate is redrawn from ``N(ratio, se_ratio)``; p-values use t(nsnp - 1).

    Parameters
    ----------
    which : tuple of str
        Any of ``simple_mode``, ``weighted_mode``, ``penalised_mode``, ``simple_mode_nome``,
        ``weighted_mode_nome``.
    settings : BootstrapSettings
        ``nboot``, ``phi`` (bandwidth multiplier), ``penk`` and ``density_coords``: the grid of R's
        ``density()`` that ``mr_mode`` runs on, ``"r44"`` (R >= 4.4.0, default; matches TwoSampleMR's
        current vignette output) or ``"r_legacy"`` (R <= 4.3). The two can pick neighbouring grid points as
        the mode (BMI -> CHD weighted mode 0.379091 vs 0.388825).
    rng : numpy Generator
    """
    nboot, phi, penk, density_coords = settings.nboot, settings.phi, settings.penk, settings.density_coords
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    rng = rng if rng is not None else np.random.default_rng()
    k = bx.size
    if k < 3:
        return {key: not_estimable(key, k) for key in which}
    b_iv = by / bx
    se_full = np.sqrt(_second_order_var(bx, by, sx, sy))
    se_nome = sy / np.abs(bx)
    ones = np.ones(k)

    def mode(b: np.ndarray, se: np.ndarray) -> np.ndarray:
        return _mode_point(b, se, phi, density_coords)

    out: dict[str, MREstimate] = {}

    def finish(key: str, point: float, boot: np.ndarray) -> None:
        se = float(_r_mad(boot))
        df = k - 1
        out[key] = MREstimate(LABELS[key], point, se, _p_t(point, se, df), k, dist_df=df)

    need_full = any(key in which for key in ("simple_mode", "weighted_mode", "penalised_mode"))
    if need_full:
        boot_full = rng.normal(b_iv, se_full, size=(nboot, k))
        wm = float(mode(b_iv, se_full)[0])
        if "simple_mode" in which:
            finish("simple_mode", float(mode(b_iv, ones)[0]), mode(boot_full, ones))
        wm_boot = mode(boot_full, se_full)
        if "weighted_mode" in which:
            finish("weighted_mode", wm, wm_boot)
        if "penalised_mode" in which:
            wts = 1.0 / se_full**2
            pen = wts * np.minimum(1.0, dist.chi2_sf(wts * (b_iv - wm) ** 2, 1) * penk)
            pen_boot = wts * np.minimum(1.0, dist.chi2_sf(wts * (boot_full - wm_boot[:, None]) ** 2, 1) * penk)
            finish(
                "penalised_mode",
                float(mode(b_iv, np.sqrt(1.0 / pen))[0]),
                mode(boot_full, np.sqrt(1.0 / pen_boot)),
            )
    if "simple_mode_nome" in which or "weighted_mode_nome" in which:
        boot_nome = rng.normal(b_iv, se_nome, size=(nboot, k))
        if "simple_mode_nome" in which:
            point = float(mode(b_iv, ones)[0])
            finish("simple_mode_nome", point, mode(boot_nome, ones))
        if "weighted_mode_nome" in which:
            point = float(mode(b_iv, se_nome)[0])
            finish("weighted_mode_nome", point, mode(boot_nome, se_nome))
    return {key: out[key] for key in which if key in out}


# --- debiased and penalised IVW (weak instruments) ------------------------------------------------


def _overdispersion(bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, b: float) -> float:
    """Additive overdispersion ``tau^2 = max(0, sum(((by - b bx)^2 - sy^2 - b^2 sx^2) / sy^2) / sum(1/sy^2))``."""
    tau2 = float(np.sum(((by - b * bx) ** 2 - sy**2 - b**2 * sx**2) / sy**2) / np.sum(sy**-2.0))
    return max(0.0, tau2)


def divw(bx: Any, by: Any, sx: Any, sy: Any, over_dispersion: bool = True) -> MREstimate:
    """Debiased IVW (Ye, Shao & Kang 2021, Ann Stat 49:2079): IVW with the weak-instrument bias of the
    denominator removed.

    ``b = sum(bx by / sy^2) / sum((bx^2 - sx^2) / sy^2)``; with ``mu = bx/sx``, ``r = sx/sy`` and the additive
    overdispersion ``tau^2`` (:func:`_overdispersion`; 0 when ``over_dispersion`` is false),
    ``se^2 = sum(r^2 mu^2 + b^2 r^4 (mu^2 + 1) + tau^2 r^2 mu^2 / sy^2) / sum(r^2 (mu^2 - 1))^2``; normal
    p-value. The note gives the instrument-strength condition ``(mean(mu^2) - 1) sqrt(nsnp)`` (the package's
    ``Condition``; large values, e.g. above 20, mean the estimator's normal approximation holds).

    Reference: MendelianRandomization ``mr_divw`` (``over.dispersion = TRUE``).
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    k = bx.size
    if k < MIN_SNPS["divw"]:
        return not_estimable("divw", k)
    denom = float(np.sum((bx**2 - sx**2) / sy**2))
    if denom <= 0:
        return not_estimable("divw", k, "the instruments are too weak: sum((bx^2 - sx^2)/sy^2) <= 0")
    b = float(np.sum(by * bx / sy**2) / denom)
    mu2 = (bx / sx) ** 2
    r2 = (sx / sy) ** 2
    tau2 = _overdispersion(bx, by, sx, sy, b) if over_dispersion else 0.0
    v1 = float(np.sum(r2 * mu2 + b**2 * r2**2 * (mu2 + 1) + tau2 * r2 / sy**2 * mu2))
    v2 = float(np.sum(r2 * (mu2 - 1)))
    se = float(np.sqrt(v1 / v2**2))
    condition = float((np.mean(mu2) - 1) * np.sqrt(k))
    return MREstimate(LABELS["divw"], b, se, float(_p_normal(b, se)), k,
                      note=f"instrument strength condition {condition:.4g}")


def _pivw_moments(
    bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """pIVW's ``mu1, mu2`` (cross and debiased squared moments), their penalised versions ``mu1p, mu2p`` and
    ``v2, v12``; the last axis of ``bx, by`` is the instruments (rows: bootstrap draws)."""
    w4 = sy**-4.0
    v2 = np.sum(w4 * (4 * (bx**2 - sx**2) * sx**2 + 2 * sx**4), axis=-1)
    v12 = np.sum(2 * w4 * by * bx * sx**2, axis=-1)
    mu1 = np.sum(by * bx / sy**2, axis=-1)
    mu2 = np.sum((bx**2 - sx**2) / sy**2, axis=-1)
    mu2p = mu2 / 2 + np.sign(mu2) * np.sqrt(mu2**2 / 4 + lam * v2)
    mu1p = mu1 + (v12 / v2) * (mu2p - mu2)
    return mu1p, mu2p, mu2, v2, v12


def _fieller_v1(bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, tau2: float) -> np.ndarray:
    return np.sum(sy**-4.0 * (by**2 * bx**2 - (by**2 - sy**2 - tau2) * (bx**2 - sx**2)), axis=-1)


def _fieller_draws(
    bx: np.ndarray, sx: np.ndarray, sy: np.ndarray, b: float, tau2: float, lam: float, nboot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sorted Fieller statistics of ``nboot`` parametric draws under ``beta = b`` (MendelianRandomization
    ``BF_dist``): ``bx* ~ N(bx, sx)``, ``by* ~ N(bx b + alpha, sy)`` with ``alpha ~ N(0, tau)``; draws with a
    negative statistic are redrawn."""
    kept: list[np.ndarray] = []
    need = nboot
    for _ in range(1000):
        alpha = rng.normal(0.0, np.sqrt(tau2), size=(need, bx.size))
        byb = rng.normal(bx * b + alpha, sy)
        bxb = rng.normal(bx, sx, size=(need, bx.size))
        mu1p, mu2p, mu2, v2, v12 = _pivw_moments(bxb, byb, sx, sy, lam)
        v1 = _fieller_v1(bxb, byb, sx, sy, tau2)
        w = mu2p / (2 * mu2p - mu2)
        z = (mu1p - b * mu2p) ** 2 / (v1 - 2 * b * w * v12 + b**2 * w**2 * v2)
        z = z[z >= 0]
        kept.append(z[:need])
        need -= min(need, z.size)
        if need == 0:
            break
    return np.sort(np.concatenate(kept))


@dataclass(frozen=True)
class PivwSettings:
    """Settings of :func:`pivw` (MendelianRandomization ``mr_pivw``'s arguments).

    Attributes
    ----------
    lam : float
        Penalty of the denominator (``lambda``, 1).
    over_dispersion : bool
        Allow additive overdispersion (``over.dispersion``, true).
    boot_fieller : bool
        Bootstrapped Fieller p-value and interval (``Boot.Fieller``, true).
    alpha : float
        1 - confidence level (0.05).
    nboot : int
        Bootstrap draws (1000, as ``BF_dist``).
    """

    lam: float = 1.0
    over_dispersion: bool = True
    boot_fieller: bool = True
    alpha: float = 0.05
    nboot: int = 1000


def pivw(
    bx: Any,
    by: Any,
    sx: Any,
    sy: Any,
    settings: PivwSettings = PivwSettings(),
    rng: np.random.Generator | None = None,
) -> MREstimate:
    """Penalised IVW (pIVW; Xu, Wang, Shao & Kang 2022, Biometrics 79:2180): debiased IVW whose denominator is
    kept away from zero by a penalty ``lam`` (robust to weak instruments).

    ``mu1 = sum(bx by / sy^2)``, ``mu2 = sum((bx^2 - sx^2)/sy^2)``, ``v2 = sum((4 (bx^2 - sx^2) sx^2 + 2 sx^4)/sy^4)``,
    ``v12 = sum(2 by bx sx^2 / sy^4)``; ``mu2p = mu2/2 + sign(mu2) sqrt(mu2^2/4 + lam v2)``,
    ``mu1p = mu1 + (v12/v2)(mu2p - mu2)``, ``b = mu1p/mu2p``;
    ``se = sqrt(sum(bx^2/sy^2 (1 + tau^2/sy^2) + b^2 sx^2/sy^4 (bx^2 + sx^2))) / |mu2p|`` with the additive
    overdispersion ``tau^2`` (0 when ``over_dispersion`` is false). With ``boot_fieller`` (the package's
    default) the p-value and the confidence interval come from the bootstrapped distribution of the Fieller
    statistic (``nboot`` parametric draws under ``beta = b``): ``p = mean(z0 < z*)`` with
    ``z0 = mu1p^2 / v1p``, and the interval is the set of ``beta`` whose Fieller statistic is below the
    ``round(nboot (1 - alpha))``-th ordered draw (a quadratic inequality; unbounded or two rays when the
    quadratic opens downwards - then the limits reported are infinite and the note says so). Without it, normal
    p-value and Wald interval.

    Reference: MendelianRandomization ``mr_pivw`` (``lambda = 1``, ``delta = 0``: no instrument selection).
    Its bootstrap draws come from R's generator (``set.seed(1)``); ours from ``rng``, so the bootstrapped p-value
    and limits agree with the package's up to Monte Carlo error.
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    lam, over_dispersion, alpha, nboot = settings.lam, settings.over_dispersion, settings.alpha, settings.nboot
    k = bx.size
    if k < MIN_SNPS["pivw"]:
        return not_estimable("pivw", k)
    if lam < 0:
        raise ValueError(f"pIVW penalty lambda must be >= 0, got {lam}")
    mu1p_a, mu2p_a, mu2_a, v2_a, v12_a = _pivw_moments(bx, by, sx, sy, lam)
    mu1p, mu2p, mu2, v2, v12 = (float(v) for v in (mu1p_a, mu2p_a, mu2_a, v2_a, v12_a))
    b = mu1p / mu2p
    tau2 = _overdispersion(bx, by, sx, sy, b) if over_dispersion else 0.0
    se = float(np.sqrt(np.sum(bx**2 / sy**2 * (1 + tau2 / sy**2) + b**2 * sx**2 / sy**4 * (bx**2 + sx**2)))
               / abs(mu2p))
    note = f"tau2 {tau2:.4g}"
    if not settings.boot_fieller:
        return MREstimate(LABELS["pivw"], b, se, float(_p_normal(b, se)), k, note=note)
    rng = rng if rng is not None else np.random.default_rng()
    z_b = _fieller_draws(bx, sx, sy, b, tau2, lam, nboot, rng)
    v1p = float(_fieller_v1(bx, by, sx, sy, tau2))
    w = mu2p / (2 * mu2p - mu2)
    v2p, v12p = w**2 * v2, w * v12
    pval = float(np.mean(mu1p**2 / v1p < z_b))
    qt = float(z_b[int(np.round(z_b.size * (1 - alpha))) - 1])
    qa = mu2p**2 - qt * v2p
    qb = 2 * (qt * v12p - mu1p * mu2p)
    qc = mu1p**2 - qt * v1p
    disc = qb**2 - 4 * qa * qc
    if qa > 0:
        lo, hi = (-qb - np.sqrt(disc)) / 2 / qa, (-qb + np.sqrt(disc)) / 2 / qa
    elif disc > 0:
        r1, r2 = sorted(((-qb - np.sqrt(disc)) / 2 / qa, (-qb + np.sqrt(disc)) / 2 / qa))
        lo, hi = -np.inf, np.inf
        note += f"; bootstrapped Fieller confidence set (-Inf, {r1:.4g}] and [{r2:.4g}, Inf)"
    else:
        lo, hi = -np.inf, np.inf
        note += "; bootstrapped Fieller confidence set unbounded"
    note += f"; p and CI from {z_b.size} bootstrapped Fieller draws"
    return MREstimate(LABELS["pivw"], b, se, pval, k, note=note, conf_low=float(lo), conf_high=float(hi))


# --- maximum likelihood ----------------------------------------------------------------------------


def _maxlik_profile(b: float, bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> tuple[float, float]:
    """The negative log-likelihood profiled over the true exposure associations, and its derivative in ``b``:
    ``f(b) = 1/2 sum((by - b bx)^2 / (sy^2 + b^2 sx^2))``."""
    v = sy**2 + b**2 * sx**2
    r = by - b * bx
    return float(0.5 * np.sum(r**2 / v)), float(np.sum(-r * bx / v - r**2 * b * sx**2 / v**2))


def maxlik(bx: Any, by: Any, sx: Any, sy: Any, model: str = "default") -> MREstimate:
    """Maximum-likelihood estimate with measurement error in both associations.

    The model ``bx_j ~ N(xi_j, sx_j^2)``, ``by_j ~ N(b xi_j, sy_j^2)`` (no sample overlap, uncorrelated
    variants) has the negative log-likelihood ``L = 1/2 sum((bx - xi)^2/sx^2) + 1/2 sum((by - b xi)^2/sy^2)``;
    profiled over ``xi`` it is ``f(b) = 1/2 sum((by - b bx)^2/(sy^2 + b^2 sx^2))``, minimised here from the IVW
    estimate (Brent, then the root of ``f'``). The fixed-effect variance is the ``b`` element of the inverse
    Hessian of ``L`` in ``(xi, b)`` at the optimum (analytic: ``1/(H_bb - sum(H_jb^2/H_jj))``); random effects
    multiply it by ``max(1, 2 f / (nsnp - 1))``. ``model = "default"`` is fixed effects below 4 instruments.
    The heterogeneity statistic is ``2 f`` on nsnp - 1 df; normal p-value.

    Reference: MendelianRandomization ``mr_maxlik`` (Burgess et al. 2013, Genet Epidemiol 37:658). The package
    maximises ``L`` over all nsnp + 1 parameters with ``optim``'s default Nelder-Mead, which can stop short of
    the maximum (lipids example: 3.2249 against the maximum at 3.1733, where ``mr_maxlik(..., method = "CG")``
    arrives); this function returns the maximum.
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    k = bx.size
    if k < MIN_SNPS["maxlik"]:
        return not_estimable("maxlik", k)
    from scipy import optimize  # imported here: only maxlik and the robust IVW need it (start-up of MR jobs)

    b0, se0, _ = _ivw_core(bx, by, sy)
    opt = optimize.minimize_scalar(lambda t: _maxlik_profile(t, bx, by, sx, sy)[0], bracket=(b0, b0 + se0))
    b = float(opt.x)
    step = max(abs(b), 1.0) * 1e-4
    lo, hi = b - step, b + step
    if _maxlik_profile(lo, bx, by, sx, sy)[1] < 0 < _maxlik_profile(hi, bx, by, sx, sy)[1]:
        b = float(optimize.brentq(lambda t: _maxlik_profile(t, bx, by, sx, sy)[1], lo, hi, xtol=1e-15, rtol=1e-15))
    value = _maxlik_profile(b, bx, by, sx, sy)[0]
    xi = (bx / sx**2 + b * by / sy**2) / (1 / sx**2 + b**2 / sy**2)
    h_jj = 1 / sx**2 + b**2 / sy**2
    h_jb = (2 * b * xi - by) / sy**2
    h_bb = float(np.sum(xi**2 / sy**2))
    var = 1.0 / (h_bb - float(np.sum(h_jb**2 / h_jj)))
    q = 2.0 * value
    if _mr_model(model, k) == "random":
        var *= max(q / (k - 1), 1.0)
    se = float(np.sqrt(var))
    return MREstimate(LABELS["maxlik"], b, se, float(_p_normal(b, se)), k, sigma=float(np.sqrt(q / (k - 1))),
                      heterogeneity=Heterogeneity(q, k - 1, float(dist.chi2_sf(q, k - 1))))


# --- contamination mixture -------------------------------------------------------------------------

CONMIX_MAX_GRID = 5_000_000
"""The most grid points :func:`conmix` evaluates (``(ci_max - ci_min) / ci_step``)."""


def r_seq_by(start: float, stop: float, by: float) -> np.ndarray:
    """R's ``seq(from, to, by)`` for ``by > 0``: ``from + (0:n) * by`` with ``n = as.integer((to - from)/by + 1e-10)``,
    capped at ``to``."""
    n = int((stop - start) / by + 1e-10)
    return np.minimum(start + np.arange(n + 1) * by, stop)


@dataclass(frozen=True)
class ConmixResult:
    """The contamination-mixture fit behind :func:`conmix`'s :class:`MREstimate`.

    Attributes
    ----------
    estimate : MREstimate
    psi : float
        Standard deviation of the invalid instruments' ratio estimates.
    valid : ndarray of int
        0-based indices of the instruments taken as valid at the estimate.
    intervals : list of (float, float)
        The confidence set: one or more grid intervals.
    grid : ndarray
        The grid of causal effects.
    loglik : ndarray
        The profile log-likelihood on ``grid``.
    """

    estimate: MREstimate
    psi: float
    valid: np.ndarray
    intervals: list[tuple[float, float]]
    grid: np.ndarray
    loglik: np.ndarray


def _conmix_loglik(theta: np.ndarray, ratio: np.ndarray, se: np.ndarray, psi: float) -> tuple[np.ndarray, np.ndarray]:
    """Per grid point: the mixture's log-likelihood with each instrument in its likelier component, and, per
    point and instrument, whether the valid component is the likelier."""
    inc = -((theta[:, None] - ratio[None, :]) ** 2) / 2 / se**2 - np.log(np.sqrt(2 * np.pi * se**2))
    exc = -(ratio**2) / 2 / (psi**2 + se**2) - np.log(np.sqrt(2 * np.pi * (psi**2 + se**2)))
    valid = inc > exc
    return np.sum(np.where(valid, inc, exc), axis=1), valid


def conmix_fit(
    bx: Any,
    by: Any,
    sx: Any,
    sy: Any,
    psi: float = 0.0,
    ci_step: float = 0.01,
    ci_range: tuple[float, float] | None = None,
    alpha: float = 0.05,
) -> ConmixResult | MREstimate:
    """Contamination mixture (Burgess et al. 2020, Nat Commun 11:376): every instrument's ratio estimate is
    either valid, ``N(theta, se^2)``, or invalid, ``N(0, psi^2 + se^2)``; the profile likelihood (each
    instrument in its likelier component) is maximised over a grid of ``theta``.

    Parameters
    ----------
    bx, by, sx, sy : array-like
    psi : float
        Spread of the invalid instruments' estimates; ``<= 0``: ``1.5 sd(by/bx)`` (the package's default).
    ci_step : float
        Grid step (``CIStep``, 0.01): the estimate and the limits are grid points.
    ci_range : (float, float), optional
        Grid limits (``CIMin``, ``CIMax``); default ``min((by - 2 sy)/bx)`` to ``max((by + 2 sy)/bx)``.
    alpha : float
        1 - confidence level.

    Returns
    -------
    ConmixResult, or the not-estimable MREstimate

    Notes
    -----
    Ratios ``by/bx`` with first-order ses ``sy/|bx|``. The estimate is the first grid maximum; ``phi`` is
    ``max(1, sqrt(sum(w (r - r_w)^2)/(n_v - 1)))`` over the valid instruments at the estimate (weights
    ``w = se^-2``; 1 with fewer than 2 valid); the confidence set is every grid point with
    ``2 l > 2 max(l) - qchisq(1 - alpha, 1) phi^2``, split where the grid has gaps; the p-value is
    ``P(chi2_1 > 2 (max(l) - l(0)) phi^2)`` with ``l(0)`` the likelihood at ``theta = 0``. Standard error: none.
    Reference: MendelianRandomization ``mr_conmix`` (as its code computes it, ``phi^2`` in the p-value included).
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    k = bx.size
    if k < MIN_SNPS["conmix"]:
        return not_estimable("conmix", k)
    if ci_step <= 0:
        raise ValueError(f"contamination mixture grid step must be positive, got {ci_step}")
    ratio, se = by / bx, np.abs(sy / bx)
    lo, hi = ci_range if ci_range is not None else (float(np.min((by - 2 * sy) / bx)), float(np.max((by + 2 * sy) / bx)))
    if psi <= 0:
        psi = 1.5 * float(np.std(ratio, ddof=1))
    size = (hi - lo) / ci_step
    if not np.isfinite(size) or size < 0 or size > CONMIX_MAX_GRID:
        return not_estimable("conmix", k, f"the grid from {lo:.4g} to {hi:.4g} by {ci_step:g} has {size:.3g} points "
                             f"(limit {CONMIX_MAX_GRID:,}); set conmix_ci_step or conmix_ci_range")
    grid = r_seq_by(lo, hi, ci_step)
    chunk = max(1, 4_000_000 // k)
    loglik = np.empty(grid.size)
    for start in range(0, grid.size, chunk):
        loglik[start : start + chunk] = _conmix_loglik(grid[start : start + chunk], ratio, se, psi)[0]
    best = int(np.argmax(loglik))
    valid = _conmix_loglik(grid[best : best + 1], ratio, se, psi)[1][0]
    n_valid = int(valid.sum())
    if n_valid < 2:
        phi = 1.0
    else:
        rv, wv = ratio[valid], se[valid] ** -2.0
        phi = max(float(np.sqrt(np.sum((rv - np.sum(rv * wv) / np.sum(wv)) ** 2 * wv) / (n_valid - 1))), 1.0)
    loglik0 = float(_conmix_loglik(np.zeros(1), ratio, se, psi)[0][0])
    top = float(loglik[best])
    inside = np.flatnonzero(2 * loglik > 2 * top - dist.chi2_isf(alpha, 1) * phi**2)
    cut = np.flatnonzero(np.diff(inside) > 1)
    starts = np.concatenate([[inside[0]], inside[cut + 1]])
    ends = np.concatenate([inside[cut], [inside[-1]]])
    intervals = [(float(lo + ci_step * a), float(lo + ci_step * e)) for a, e in zip(starts, ends, strict=True)]
    b = float(lo + ci_step * best)
    pval = float(dist.chi2_sf(2 * (top - loglik0) * phi**2, 1))
    note = f"psi {psi:.4g}; {n_valid} of {k} instruments valid; grid step {ci_step:g}; no standard error"
    if len(intervals) > 1:
        pieces = ", ".join(f"[{a:.4g}, {e:.4g}]" for a, e in intervals)
        note += f"; confidence set of {len(intervals)} intervals {pieces} (limits: the outermost)"
    fit = MREstimate(LABELS["conmix"], b, np.nan, pval, k, note=note, conf_low=intervals[0][0],
                     conf_high=intervals[-1][1])
    return ConmixResult(fit, psi, np.flatnonzero(valid), intervals, grid, loglik)


def conmix(bx: Any, by: Any, sx: Any, sy: Any, psi: float = 0.0, ci_step: float = 0.01,
           ci_range: tuple[float, float] | None = None, alpha: float = 0.05) -> MREstimate:
    """The contamination-mixture estimate of :func:`conmix_fit` (MendelianRandomization ``mr_conmix``)."""
    res = conmix_fit(bx, by, sx, sy, psi=psi, ci_step=ci_step, ci_range=ci_range, alpha=alpha)
    return res if isinstance(res, MREstimate) else res.estimate


# --- robust IVW: MM-estimation as robustbase::lmrob -------------------------------------------------

LMROB_TUNING_CHI = 1.54764
"""Bisquare constant of lmrob's S-estimator (breakdown point 0.5)."""
LMROB_TUNING_PSI = 4.685061
"""Bisquare constant of lmrob's M-step (95% efficiency at the normal)."""
LMROB_BB = 0.5
LMROB_CANDIDATES = 500
"""Starting values of the S-estimator tried (lmrob's ``nResample``): every instrument's ratio, or 500 of them at
evenly spaced ranks."""
LMROB_REFINE = 5
"""Starting values refined to convergence, those of smallest scale (lmrob's ``best.r.s`` is 2)."""


@dataclass(frozen=True)
class LmrobFit:
    """An MM regression through the origin: ``b`` (MM estimate), ``scale`` (S-scale), ``var`` (lmrob's
    ``.vcov.avar1``), ``b_s`` (S-estimate)."""

    b: float
    scale: float
    var: float
    b_s: float


def _bisquare_rho(u: np.ndarray, c: float) -> np.ndarray:
    """lmrob's normalised bisquare rho (``Mchi``, 1 beyond ``c``)."""
    t = np.minimum((u / c) ** 2, 1.0)
    return t * (3.0 - 3.0 * t + t * t)


def _bisquare_weight(u: np.ndarray, c: float) -> np.ndarray:
    """``psi(u)/u`` of the bisquare, up to a constant: ``(1 - (u/c)^2)^2`` inside ``c``, 0 outside."""
    t = (u / c) ** 2
    return np.where(t < 1.0, (1.0 - t) ** 2, 0.0)


def _m_scale(r: np.ndarray, df: int) -> float:
    """The M-scale ``s`` with ``sum(rho(r/s)) / df = 0.5`` (lmrob's S-scale, ``df = n - p``); 0 if more than
    half the residuals are (near) zero."""
    top = float(np.max(np.abs(r)))
    if top == 0.0:
        return 0.0

    def g(s: float) -> float:
        return float(np.sum(_bisquare_rho(r / s, LMROB_TUNING_CHI)) / df - LMROB_BB)

    from scipy import optimize

    lo = top * 1e-12
    if g(lo) <= 0:
        return 0.0
    return float(optimize.brentq(g, lo, top * 100.0, xtol=1e-300, rtol=1e-15, maxiter=1000))


def _irls_origin(x: np.ndarray, y: np.ndarray, b: float, scale: float | None, c: float) -> float:
    """Iteratively reweighted least squares through the origin with bisquare weights: the S-estimator's
    refinement (``scale`` None: the scale is re-solved every step) or the M-step (``scale`` fixed)."""
    for _ in range(10_000):
        r = y - b * x
        s = _m_scale(r, x.size - 1) if scale is None else scale
        if s == 0.0:
            return b
        w = _bisquare_weight(r / s, c)
        sxx = float(np.sum(w * x * x))
        if sxx == 0.0:
            return b
        new = float(np.sum(w * x * y)) / sxx
        if abs(new - b) <= 1e-14 * max(1.0, abs(b)):
            return new
        b = new
    return b


def lmrob_origin(x: Any, y: Any) -> LmrobFit | None:
    """MM regression of ``y`` on ``x`` without intercept, as ``robustbase::lmrob(y ~ x - 1)`` with its default
    control (bisquare S-estimate with breakdown 0.5, then a 95%-efficient bisquare M-step at the S-scale,
    covariance ``.vcov.avar1``). None when the scale is 0 (more than half the points on one line).

    Notes
    -----
    lmrob draws its S-estimator's starting values at random (subsamples of one point: the ratios ``y/x``);
    here every ratio (or :data:`LMROB_CANDIDATES` of them) is a start, the :data:`LMROB_REFINE` with the smallest
    scale are refined to convergence and the one of smallest scale kept, so the result is deterministic and,
    when lmrob's random starts reach the same minimum of the scale, equal to lmrob's up to its convergence
    tolerances (``refine.tol``, ``rel.tol`` 1e-7). Weighted fits: pass ``x sqrt(w)``, ``y sqrt(w)``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.size
    ratios = np.sort(y / x)
    if n > LMROB_CANDIDATES:
        ratios = ratios[np.linspace(0, n - 1, LMROB_CANDIDATES).round().astype(int)]
    scales = np.array([_m_scale(y - b * x, n - 1) for b in ratios])
    best_b, best_s = np.nan, np.inf
    for j in np.argsort(scales, kind="stable")[:LMROB_REFINE]:
        b = _irls_origin(x, y, float(ratios[j]), None, LMROB_TUNING_CHI)
        sc = _m_scale(y - b * x, n - 1)
        if sc < best_s:
            best_b, best_s = b, sc
    if not np.isfinite(best_s) or best_s == 0.0:
        return None
    b_mm = _irls_origin(x, y, best_b, best_s, LMROB_TUNING_PSI)
    # .vcov.avar1 (Croux, Dhaene & Hoorelbeke 2003) for one coefficient
    rs, r0 = (y - b_mm * x) / best_s, (y - best_b * x) / best_s
    t = (rs / LMROB_TUNING_PSI) ** 2
    dpsi = np.where(t < 1, (1 - t) * (1 - 5 * t), 0.0)
    psi = np.where(t < 1, rs * (1 - t) ** 2, 0.0)
    t0 = (r0 / LMROB_TUNING_CHI) ** 2
    dchi = np.where(t0 < 1, 6 * r0 / LMROB_TUNING_CHI**2 * (1 - t0) ** 2, 0.0)
    chi = _bisquare_rho(r0, LMROB_TUNING_CHI)
    a_mat = best_s / float(np.sum(x * x * dpsi))
    a_vec = a_mat * float(np.sum(x * dpsi * rs)) / float(np.mean(dchi * r0))
    xww = float(np.sum(x * psi * chi))
    u1 = a_mat * float(np.sum(x * x * psi**2)) * n * a_mat
    u2 = a_vec * xww * a_mat
    u4 = float(np.mean(chi**2 - LMROB_BB**2)) * a_vec**2
    var = max(0.0, (u1 - 2 * u2 + u4) / n)  # lmrob's posdefify sets a negative variance to 0
    return LmrobFit(b_mm, best_s, var, best_b)


def ivw_robust(bx: Any, by: Any, sx: Any, sy: Any, model: str = "default") -> MREstimate:
    """Robust IVW: MM regression of ``by`` on ``bx`` through the origin with weights ``1/sy^2``
    (:func:`lmrob_origin` on ``bx/sy, by/sy``), downweighting outlying instruments.

    Standard error: lmrob's (``.vcov.avar1``) divided by ``min(scale, 1)`` (random effects; fixed effects: by
    ``scale``), ``model = "default"`` being fixed effects below 4 instruments; normal p-value; ``sigma`` is the
    robust residual scale.

    Reference: Burgess et al. (2016) arXiv:1606.03729; MendelianRandomization ``mr_ivw(robust = TRUE)``
    (``lmrob(By ~ Bx - 1, weights = Byse^-2, k.max = 500, maxit.scale = 500)``).
    """
    bx, by, sx, sy = _as_arrays(bx, by, sx, sy)
    k = bx.size
    if k < MIN_SNPS["ivw_robust"]:
        return not_estimable("ivw_robust", k)
    fit = lmrob_origin(bx / sy, by / sy)
    if fit is None:
        return not_estimable("ivw_robust", k, "the robust residual scale is 0 (more than half the instruments' "
                             "ratio estimates are identical)")
    se_lm = float(np.sqrt(fit.var))
    se = se_lm / min(fit.scale, 1.0) if _mr_model(model, k) == "random" else se_lm / fit.scale
    return MREstimate(LABELS["ivw_robust"], fit.b, se, float(_p_normal(fit.b, se)), k, sigma=fit.scale)
