"""Fixed- and random-effects meta-analysis and meta-regression (R's ``metafor::rma``), and Egger's test.

The model: ``y_i = x_i' b + u_i + e_i`` with ``e_i ~ N(0, v_i)`` (known sampling variances) and
``u_i ~ N(0, tau^2)`` (``tau^2 = 0``: fixed effect / common effect). Given ``tau^2`` the coefficients are
weighted least squares with weights ``w_i = 1 / (v_i + tau^2)`` (:func:`musclecog.core.inference.
weighted_least_squares`). ``tau^2`` estimators, as ``rma(method = ...)``:

* ``DL`` (DerSimonian-Laird): ``max(0, (Q_E - (k - p)) / tr(P))`` with the fixed-effect ``P``;
* ``PM`` (Paule-Mandel): the root of ``Q(tau^2) = k - p`` (generalised Q), 0 when ``Q(0) < k - p``;
* ``ML`` and ``REML``: the roots of the (restricted) profile score ``sum w^2 r^2 - sum w`` (ML) and
  ``sum w^2 r^2 - tr(P)`` (REML), 0 when the score at 0 is negative.

Roots are found with :func:`scipy.optimize.brentq` to ``1e-12``, so agreement with metafor's iterative
answers is to its own convergence threshold. Heterogeneity: ``Q_E`` (fixed-effect weights) on ``k - p``
df; ``I^2 = tau^2 / (tau^2 + s^2)`` and ``H^2 = (tau^2 + s^2) / s^2`` with the typical within-study
variance ``s^2 = (k - p) / tr(P)`` (for ``FE`` from ``Q_E``: ``I^2 = (Q_E - (k - p)) / Q_E``); the 95% CI of
``tau^2`` by the Q-profile method (Viechtbauer 2007; ``confint(res)``), and of ``I^2`` and ``H^2`` from its
limits. Knapp-Hartung (``test = "knha"``): the covariance times ``sum w r^2 / (k - p)``, t and F tests on
``k - p`` df. The 95% prediction interval of an intercept-only model: ``mu -/+ q sqrt(SE^2 + tau^2)``,
``q`` normal or, under Knapp-Hartung, t on ``k - 1`` (``predict(res)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, stats

from musclecog.core.inference import critical_value, weighted_least_squares
from musclecog.core.results import Diagnostics, FitResult
from musclecog.errors import ModelError

TAU2_METHODS: tuple[str, ...] = ("REML", "DL", "PM", "ML")
"""Random-effects estimators of tau^2 (``FE`` is the fixed-effect model)."""

METHOD_LABELS = {
    "FE": "fixed effect (inverse variance)",
    "REML": "random effects (REML)",
    "DL": "random effects (DerSimonian-Laird)",
    "PM": "random effects (Paule-Mandel)",
    "ML": "random effects (ML)",
}

_TOL = 1e-12


@dataclass(frozen=True)
class MetaFit:
    """One fitted (meta-regression) model.

    Attributes
    ----------
    fit : FitResult
        Coefficients (``(Intercept)`` is the pooled effect of an intercept-only model) and their covariance;
        ``df_resid`` is ``k - p`` under Knapp-Hartung, else ``None`` (z tests).
    method : str
        ``FE``, ``REML``, ``DL``, ``PM`` or ``ML``.
    knapp_hartung : bool
    k, p : int
        Studies and coefficients.
    tau2 : float
        0 for ``FE``.
    tau2_ci : (float, float)
        Q-profile 95% limits (NaN for ``FE``).
    q, q_df, q_p : float, int, float
        Cochran's Q_E (residual heterogeneity), its df and p.
    i2, h2 : float
        I^2 (percent) and H^2.
    s2 : float
        The typical within-study variance.
    qm, qm_df, qm_p : float, tuple, float
        Test of the moderators (chi-squared on ``p - 1``, or F on ``(p - 1, k - p)`` under Knapp-Hartung);
        NaN for an intercept-only model.
    """

    fit: FitResult
    method: str
    knapp_hartung: bool
    k: int
    p: int
    tau2: float
    tau2_ci: tuple[float, float]
    q: float
    q_df: int
    q_p: float
    i2: float
    h2: float
    s2: float
    qm: float = math.nan
    qm_df: tuple[int, ...] = ()
    qm_p: float = math.nan

    @property
    def label(self) -> str:
        """The method in words (with ``, Knapp-Hartung`` where used)."""
        return METHOD_LABELS[self.method] + (", Knapp-Hartung" if self.knapp_hartung else "")

    def i2_h2_at(self, tau2: float) -> tuple[float, float]:
        """I^2 (percent) and H^2 at a value of tau^2 (for the limits of its CI)."""
        return 100 * tau2 / (tau2 + self.s2), (tau2 + self.s2) / self.s2

    def prediction_interval(self, level: float = 0.95) -> tuple[float, float, float]:
        """``(mu, low, high)``: the pooled effect and its prediction interval (intercept-only models)."""
        if self.p != 1:
            raise ModelError("the prediction interval is defined here for an intercept-only model")
        mu = float(self.fit.params.iloc[0])
        se = float(self.fit.std_errors.iloc[0])
        q = critical_value(level, self.k - 1 if self.knapp_hartung else None)
        half = q * math.sqrt(se**2 + self.tau2)
        return mu, mu - half, mu + half


def _wls(
    y: np.ndarray, v: np.ndarray, x: np.ndarray, tau2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights, coefficients, ``(X'WX)^-1`` and residuals at ``tau2``."""
    w = 1.0 / (v + tau2)
    beta, inv = weighted_least_squares(x, y, w)
    return w, beta, inv, y - x @ beta


def generalised_q(y: np.ndarray, v: np.ndarray, x: np.ndarray, tau2: float) -> float:
    """``sum w_i r_i^2`` with ``w_i = 1 / (v_i + tau^2)`` (Cochran's Q at ``tau^2 = 0``)."""
    w, _, _, r = _wls(y, v, x, tau2)
    return float(w @ r**2)


def _trace_p(w: np.ndarray, x: np.ndarray, inv: np.ndarray) -> float:
    """``tr(P)``, ``P = W - W X (X'WX)^-1 X'W``."""
    xw2 = x * (w**2)[:, None]
    return float(w.sum() - np.trace(inv @ (x.T @ xw2)))


def _score(y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str) -> Callable[[float], float]:
    def score(tau2: float) -> float:
        w, _, inv, r = _wls(y, v, x, tau2)
        base = float(w.sum()) if method == "ML" else _trace_p(w, x, inv)
        return float((w**2) @ r**2) - base

    return score


def _upper_bracket(fn: Callable[[float], float], start: float) -> float:
    """A value where the decreasing ``fn`` is negative (doubling from ``start``)."""
    hi = max(start, 1e-4)
    for _ in range(200):
        if fn(hi) < 0:
            return hi
        hi *= 2
    raise ModelError("tau^2 could not be bracketed (the study estimates are extremely heterogeneous)")


def _root(fn: Callable[[float], float], start: float) -> float:
    """The root in ``[0, inf)`` of a function decreasing through 0, or 0 when ``fn(0) <= 0``."""
    if fn(0.0) <= 0:
        return 0.0
    return float(optimize.brentq(fn, 0.0, _upper_bracket(fn, start), xtol=_TOL, rtol=4 * np.finfo(float).eps))


def estimate_tau2(y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str) -> float:
    """tau^2 by ``DL``, ``PM``, ``ML`` or ``REML`` (0 for ``FE``)."""
    k, p = x.shape
    if method == "FE":
        return 0.0
    start = float(np.var(y)) + float(np.mean(v))
    if method == "DL":
        w, _, inv, r = _wls(y, v, x, 0.0)
        return max(0.0, (float(w @ r**2) - (k - p)) / _trace_p(w, x, inv))
    if method == "PM":
        return _root(lambda t: generalised_q(y, v, x, t) - (k - p), start)
    if method in ("ML", "REML"):
        return _root(_score(y, v, x, method), start)
    raise ModelError(f"unknown tau^2 method {method!r}; use FE or one of {', '.join(TAU2_METHODS)}")


def q_profile_ci(y: np.ndarray, v: np.ndarray, x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The Q-profile confidence interval of tau^2: where ``Q(tau^2)`` equals the chi-squared quantiles
    on ``k - p`` df (each limit 0 when ``Q(0)`` is already below its quantile)."""
    k, p = x.shape
    df = k - p
    start = float(np.var(y)) + float(np.mean(v))
    upper_q = float(stats.chi2.ppf(0.5 + level / 2, df))
    lower_q = float(stats.chi2.ppf(0.5 - level / 2, df))
    low = _root(lambda t: generalised_q(y, v, x, t) - upper_q, start)
    high = _root(lambda t: generalised_q(y, v, x, t) - lower_q, start)
    return low, high


def check_studies(y: np.ndarray, v: np.ndarray, x: np.ndarray, where: str) -> None:
    """At least ``p + 1`` studies and finite estimates with positive, finite variances."""
    k, p = x.shape
    if k < p + 1:
        raise ModelError(
            f"{where}: {k} stud{'y' if k == 1 else 'ies'} for {p} coefficient(s); a meta-analysis needs at least "
            f"{p + 1} studies (pooling one study reports that study, not a pooled effect)"
        )
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ModelError(f"{where}: study estimates must be finite and their variances positive and finite")


def fit_rma(
    y: np.ndarray,
    v: np.ndarray,
    x: np.ndarray,
    names: Sequence[str],
    method: str = "REML",
    knapp_hartung: bool = False,
    where: str = "meta-analysis",
) -> MetaFit:
    """Fit a fixed- or random-effects (meta-regression) model, as ``metafor::rma(yi, vi, mods, method, test)``.

    Parameters
    ----------
    y, v : ndarray (k,)
        Study estimates and their sampling variances.
    x : ndarray (k, p)
        The design: a column of ones first (intercept), then the moderators.
    names : sequence of str
        Column names of ``x``.
    method : {"FE", "REML", "DL", "PM", "ML"}
    knapp_hartung : bool
        Knapp-Hartung covariance and t/F tests (``test = "knha"``).
    where : str
        For messages.

    Returns
    -------
    MetaFit

    Raises
    ------
    ModelError
        Too few studies for the coefficients, a non-positive variance, a singular design.
    """
    check_studies(y, v, x, where)
    k, p = x.shape
    df = k - p
    w0, _, inv0, r0 = _wls(y, v, x, 0.0)
    q = float(w0 @ r0**2)
    s2 = df / _trace_p(w0, x, inv0) if df > 0 else math.nan
    tau2 = estimate_tau2(y, v, x, method)
    w, beta, inv, r = _wls(y, v, x, tau2)
    cov = inv
    if knapp_hartung and df > 0:
        cov = inv * float(w @ r**2) / df
    if method == "FE":
        i2 = 100 * max(0.0, (q - df) / q) if q > 0 else 0.0
        h2 = q / df if df > 0 else math.nan
        ci = (math.nan, math.nan)
    else:
        i2, h2 = 100 * tau2 / (tau2 + s2), (tau2 + s2) / s2
        ci = q_profile_ci(y, v, x) if df > 0 else (math.nan, math.nan)
    stats_: dict[str, float] = {"tau2": tau2, "i2": i2, "h2": h2, "q": q, "q_df": float(df)}
    diag = Diagnostics(n=k, statistics=stats_, messages=())
    fit = FitResult.from_arrays(
        names, beta, cov, df if knapp_hartung else None, diag, method=METHOD_LABELS[method]
    )
    out = MetaFit(
        fit=fit,
        method=method,
        knapp_hartung=knapp_hartung,
        k=k,
        p=p,
        tau2=tau2,
        tau2_ci=ci,
        q=q,
        q_df=df,
        q_p=float(stats.chi2.sf(q, df)) if df > 0 else math.nan,
        i2=i2,
        h2=h2,
        s2=s2,
    )
    if p > 1:
        stat, m, pval = fit.wald_test(list(names[1:]))
        return _with_moderator_test(out, stat, (m, df) if knapp_hartung else (m,), pval)
    return out


def _with_moderator_test(fit: MetaFit, stat: float, dfs: tuple[int, ...], p: float) -> MetaFit:
    return replace(fit, qm=stat, qm_df=dfs, qm_p=p)


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test for funnel-plot asymmetry (``metafor::regtest(model = "lm")``).

    The weighted regression ``y_i = b0 + b1 SE_i`` with weights ``1 / v_i`` (equivalently, Egger's
    standardised effect on precision, whose intercept is ``b1``): ``b1`` with its t test on ``k - 2`` df;
    ``b0`` is the limit estimate (the effect as SE -> 0).
    """

    bias: float
    std_error: float
    statistic: float
    df: int
    p_value: float
    limit_estimate: float
    k: int


def egger_test(y: np.ndarray, v: np.ndarray, where: str = "meta-analysis") -> EggerTest:
    """Egger's test (classical; ``regtest(yi, vi, model = "lm", predictor = "sei")``); needs 3 or more studies."""
    k = len(y)
    if k < 3:
        raise ModelError(f"{where}: Egger's test needs at least 3 studies ({k} given)")
    sei = np.sqrt(v)
    x = np.column_stack([np.ones(k), sei])
    w = 1.0 / v
    beta, inv = weighted_least_squares(x, y, w)
    r = y - x @ beta
    sigma2 = float(w @ r**2) / (k - 2)
    se = math.sqrt(float(inv[1, 1]) * sigma2)
    t = float(beta[1]) / se
    return EggerTest(
        bias=float(beta[1]),
        std_error=se,
        statistic=t,
        df=k - 2,
        p_value=float(2 * stats.t.sf(abs(t), k - 2)),
        limit_estimate=float(beta[0]),
        k=k,
    )


def subgroup_difference(estimates: np.ndarray, std_errors: np.ndarray) -> tuple[float, int, float]:
    """Test of subgroup differences with separate tau^2 per subgroup: Cochran's Q of the subgroup estimates
    (``rma(b, sei = se, method = "FE")$QE``), chi-squared on ``G - 1`` df."""
    w = 1.0 / std_errors**2
    mean = float(w @ estimates / w.sum())
    q = float(w @ (estimates - mean) ** 2)
    df = len(estimates) - 1
    return q, df, float(stats.chi2.sf(q, df))
