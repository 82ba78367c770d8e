"""The product-limit estimate and the log-rank test, on arrays: :func:`kaplan_meier` (R ``survfit``, with
Greenwood SEs and ``conf.type``'s pointwise limits) and :func:`logrank_test` (R ``survdiff``). Used by the
``kaplan_meier`` analysis (:mod:`musclecog.survival.km`) and by the survival figures' curves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musclecog.core.distributions import chi2_sf
from musclecog.core.inference import Z975

CONF_TYPES = ("log", "log-log", "plain")
"""Pointwise CI transforms of ``survfit(conf.type = ...)``; ``log`` is R's default."""

@dataclass(frozen=True)
class KaplanMeier:
    """One Kaplan-Meier curve at its distinct event times (R ``survfit``).

    Attributes
    ----------
    times, n_risk, n_event : ndarray
        Event times, people at risk (``T0 < t <= T``) and events there.
    surv : ndarray
        ``S(t)``.
    std_err : ndarray
        Greenwood standard error of ``log S(t)``: ``sqrt(sum d / (n (n - d)))`` (R's ``fit$std.err``).
    lower, upper : ndarray
        Pointwise 95% limits of ``conf_type``.
    """

    times: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def at(self, t: float) -> tuple[float, float, float, float]:
        """``S``, its Greenwood SE on the survival scale, and the limits at ``t`` (the last event time at or
        before ``t``; ``summary(fit, times = t)``)."""
        k = int(np.searchsorted(self.times, t, side="right")) - 1
        if k < 0:
            return 1.0, 0.0, 1.0, 1.0
        se = self.surv[k] * self.std_err[k] if np.isfinite(self.std_err[k]) else float("nan")
        return (
            float(self.surv[k]),
            float(se),
            float(self.lower[k]),
            float(self.upper[k]),
        )


def kaplan_meier(T: np.ndarray, E: np.ndarray, T0: np.ndarray | None, conf_type: str = "log") -> KaplanMeier:
    """The Kaplan-Meier estimate with Greenwood SEs and ``survfit``'s pointwise 95% limits.

    ``log``: ``exp(log S -/+ z se)``, upper capped at 1; ``log-log``: ``exp(-exp(log(-log S) -/+ z se / log
    S))``; ``plain``: ``S -/+ z S se`` within [0, 1] (``survival:::survfit_confint``). Where ``S = 1`` the
    limits are 1; where ``S = 0`` they are missing (plain: 0).
    """
    times, d = np.unique(T[E == 1], return_counts=True)
    n = T.size - np.searchsorted(np.sort(T), times, side="left")
    if T0 is not None:
        n = n - (T0.size - np.searchsorted(np.sort(T0), times, side="left"))
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf)))
        z = Z975 * se
        if conf_type == "log":
            lower, upper = surv * np.exp(-z), np.minimum(surv * np.exp(z), 1.0)
        elif conf_type == "log-log":
            log_s = np.log(surv)
            lower = np.exp(-np.exp(np.log(-log_s) - z / log_s))
            upper = np.exp(-np.exp(np.log(-log_s) + z / log_s))
        elif conf_type == "plain":
            lower, upper = np.maximum(surv - z * surv, 0.0), np.minimum(surv + z * surv, 1.0)
        else:
            raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    one, zero = surv == 1.0, surv == 0.0
    lower, upper = np.where(one, 1.0, lower), np.where(one, 1.0, upper)
    if conf_type != "plain":
        lower, upper = np.where(zero, np.nan, lower), np.where(zero, np.nan, upper)
    else:
        lower, upper = np.where(zero, 0.0, lower), np.where(zero, 0.0, upper)
    return KaplanMeier(times, n, d, surv, se, lower, upper)


def logrank_test(T: np.ndarray, E: np.ndarray, groups: np.ndarray) -> tuple[float, int, float]:
    """The log-rank test that the groups' survival curves are equal (R ``survdiff(Surv(T, E) ~ groups)``):
    ``(chi-squared, df, p)``.

    At each distinct event time ``t`` with ``n`` at risk and ``d`` events, a group with ``n_g`` at risk
    expects ``d n_g / n`` events; ``V`` sums the hypergeometric covariances ``d (n - d) / (n - 1) p_g
    (1[g = h] - p_h)`` with ``p_g = n_g / n``. The statistic is ``(O - E)' V^-1 (O - E)`` over the groups
    with expected events but the first (``survdiff``'s choice; any one left out gives the same value), on
    one degree of freedom fewer than those groups. Vectorised over the event times (a loop over the groups).
    """
    levels, index = np.unique(np.asarray(groups), return_inverse=True)
    times = np.unique(T[E == 1])
    at_risk = np.empty((levels.size, times.size))
    events = np.empty((levels.size, times.size))
    for g in range(levels.size):
        mine = index == g
        exits = np.sort(T[mine])
        ends = np.sort(T[mine & (E == 1)])
        at_risk[g] = exits.size - np.searchsorted(exits, times, side="left")
        events[g] = np.searchsorted(ends, times, side="right") - np.searchsorted(ends, times, side="left")
    n, d = at_risk.sum(axis=0), events.sum(axis=0)
    observed = events.sum(axis=1)
    expected = (at_risk * (d / n)).sum(axis=1)
    share = at_risk / n
    weight = d * (n - d) / np.maximum(n - 1.0, 1.0)  # n = 1: n - d = 0, no variance
    var = np.diag((weight * share).sum(axis=1)) - (weight * share) @ share.T
    keep = np.flatnonzero(expected > 0)[1:]
    if keep.size == 0:
        return 0.0, 0, float("nan")
    diff = (observed - expected)[keep]
    stat = float(diff @ np.linalg.solve(var[np.ix_(keep, keep)], diff))
    return stat, int(keep.size), float(chi2_sf(stat, keep.size))
