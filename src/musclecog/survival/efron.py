"""Cox proportional hazards with Efron ties and delayed entry, vectorised with numpy.

Newton-Raphson on the Efron partial likelihood (Efron 1977, JASA 72:557), as R's ``survival::coxph``
(``ties = "efron"``, counting-process data ``Surv(entry, exit, event)`` for delayed entry): a person is at
risk at time ``t`` when ``entry < t <= exit``. The risk-set sums ``S0 = sum w``, ``S1 = sum w x``,
``S2 = sum w x x'`` (``w = exp(x'beta)``) at every event time come from reverse cumulative sums over people
sorted by exit time, minus those over people sorted by entry time, so one iteration costs a few passes over
the data (lifelines' Efron fitter loops over rows in Python: about 15 s per fit on 500,000 people; this takes
about a second).

With ``d`` tied events at ``t`` (event-set sums ``S0_D``, ``S1_D``, ``S2_D``), the Efron terms for
``l = 0, ..., d - 1`` use ``S0 - (l/d) S0_D`` etc.:

* log-likelihood ``sum_events x'beta - sum_l log(S0 - l/d S0_D)``;
* score ``sum_events x - sum_l (S1 - l/d S1_D) / (S0 - l/d S0_D)``;
* information ``sum_l [(S2 - l/d S2_D)/den - (S1 - l/d S1_D)(S1 - l/d S1_D)'/den^2]``.

The same risk sets give the Schoenfeld residuals (:func:`schoenfeld_residuals`) that the proportional-hazards
test (:mod:`musclecog.survival.ph`) reads, whichever engine fitted the model.

Validated against ``coxph`` on ``survival::lung`` (tests/reference/test_survival_r.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model.

    Attributes
    ----------
    params : ndarray
        Log hazard ratios.
    cov : ndarray
        Inverse information matrix (model-based covariance of ``params``).
    loglik, loglik_null : float
        Partial log-likelihood at ``params`` and at zero (R's ``fit$loglik``).
    converged : bool
        Whether the relative change of the log-likelihood fell below ``tol``.
    n_iter : int
        Newton iterations.
    message : str
        How the iteration ended.
    schoenfeld : ndarray
        Schoenfeld residuals (Breslow-type risk-set means), one row per event, in event-time order (empty,
        shape (0, p), when not asked for).
    event_order : ndarray
        Row index of each event, in event-time order.
    """

    params: np.ndarray
    cov: np.ndarray
    loglik: float
    loglik_null: float
    converged: bool
    n_iter: int
    message: str
    schoenfeld: np.ndarray
    event_order: np.ndarray

    @property
    def std_errors(self) -> np.ndarray:
        """Square roots of the diagonal of ``cov``."""
        return np.sqrt(np.diag(self.cov))


class RiskSets:
    """Event times, tie groups and the risk-set sums of one data set (people at risk: ``T0 < t <= T``)."""

    def __init__(self, T: np.ndarray, E: np.ndarray, X: np.ndarray, T0: np.ndarray | None) -> None:
        self.X = X
        self.order_exit = np.argsort(T, kind="stable")
        self.T_sorted = T[self.order_exit]
        ev = np.flatnonzero(E == 1)
        ev = ev[np.argsort(T[ev], kind="stable")]
        self.events = ev
        t_ev = T[ev]
        self.times, self.group, self.d = np.unique(t_ev, return_inverse=True, return_counts=True)
        # rank l of each event within its tie group (0, ..., d - 1)
        first = np.r_[0, np.cumsum(self.d)[:-1]]
        self.l = np.arange(ev.size) - first[self.group]
        self.frac = self.l / self.d[self.group]
        idx_exit = np.searchsorted(self.T_sorted, self.times, side="left")  # people with T >= t
        # (order, X in that order, first position at or after each event time); the entry ordering's sums
        # are subtracted. X is sorted once here, not every iteration (the same products, so the same sums)
        self.orderings = [(self.order_exit, X[self.order_exit], idx_exit)]
        if T0 is not None:
            order_entry = np.argsort(T0, kind="stable")
            idx_entry = np.searchsorted(T0[order_entry], self.times, side="left")  # people with T0 >= t
            self.orderings.append((order_entry, X[order_entry], idx_entry))

    @staticmethod
    def _rev_cumsum_at(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``sum(v[i:])`` at every ``i`` in ``idx`` (0 past the end)."""
        rc = np.cumsum(v[::-1], axis=0)[::-1]
        out = rc[np.minimum(idx, len(v) - 1)]
        out[idx >= len(v)] = 0.0
        return out

    def sums(self, w: np.ndarray, second: bool) -> tuple[np.ndarray, ...]:
        """``S0``, ``S1`` (and ``S2`` when ``second``) at every distinct event time."""
        out: list[np.ndarray] = []
        for k, (order, Xo, idx) in enumerate(self.orderings):
            wo = w[order]
            parts = [wo, wo[:, None] * Xo]
            if second:
                parts.append(wo[:, None, None] * Xo[:, :, None] * Xo[:, None, :])
            for j, v in enumerate(parts):
                s = self._rev_cumsum_at(v, idx)
                if k == 0:
                    out.append(s)
                else:
                    out[j] = out[j] - s
        return tuple(out)

    def residuals(self, beta: np.ndarray) -> np.ndarray:
        """Schoenfeld residuals ``x_k - xbar(t_k)`` at ``beta`` (Breslow-type risk-set means), one row per
        event in event-time order."""
        Xc = self.X
        w = np.exp(Xc @ beta - float((Xc @ beta).max()))
        S0, S1 = self.sums(w, second=False)
        return Xc[self.events] - S1[self.group] / S0[self.group][:, None]


def _efron(rs: RiskSets, beta: np.ndarray, second: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    X = rs.X
    eta = X @ beta
    shift = float(eta.max())
    w = np.exp(eta - shift)
    sums = rs.sums(w, second)
    S0, S1 = sums[0], sums[1]
    ev = rs.events
    g = rs.group
    G = rs.times.size
    wD = w[ev]
    S0D = np.bincount(g, weights=wD, minlength=G)
    S1D = np.zeros((G, X.shape[1]))
    np.add.at(S1D, g, wD[:, None] * X[ev])
    f = rs.frac
    den = S0[g] - f * S0D[g]
    num1 = S1[g] - f[:, None] * S1D[g]
    loglik = float(eta[ev].sum() - (np.log(den) + shift).sum())
    score = X[ev].sum(axis=0) - (num1 / den[:, None]).sum(axis=0)
    if not second:
        return loglik, score, np.empty(0)
    S2 = sums[2]
    S2D = np.zeros((G, X.shape[1], X.shape[1]))
    np.add.at(S2D, g, wD[:, None, None] * X[ev][:, :, None] * X[ev][:, None, :])
    num2 = S2[g] - f[:, None, None] * S2D[g]
    a = num1 / den[:, None]
    info = (num2 / den[:, None, None]).sum(axis=0) - np.einsum("ki,kj->ij", a, a)
    return loglik, score, info


def risk_sets(T: np.ndarray, E: np.ndarray, X: np.ndarray, T0: np.ndarray | None = None) -> RiskSets:
    """The risk sets of ``(T0, T, E)`` with the covariates centred (centring changes nothing but the
    numerics)."""
    X = np.asarray(X, float)
    entry = None if T0 is None else np.asarray(T0, float)
    return RiskSets(np.asarray(T, float), np.asarray(E, int), X - X.mean(axis=0), entry)


def schoenfeld_residuals(
    T: np.ndarray, E: np.ndarray, X: np.ndarray, beta: np.ndarray, T0: np.ndarray | None = None
) -> np.ndarray:
    """Schoenfeld residuals of a Cox model at ``beta`` (any fitter's); delayed entry when ``T0`` is given.

    Returns
    -------
    ndarray (d, p)
        ``r_k = x_k - xbar(t_k)`` with ``xbar`` the ``exp(x'beta)``-weighted mean over the risk set
        ``{i: T0_i < t_k <= T_i}``, one row per event in event-time order (ties in row order).
    """
    return risk_sets(T, E, X, T0).residuals(np.asarray(beta, float))


def fit_cox_efron(
    T: np.ndarray,
    E: np.ndarray,
    X: np.ndarray,
    T0: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-12,
    *,
    residuals: bool = True,
) -> CoxFit:
    """Fit a Cox model with Efron ties (and delayed entry when ``T0`` is given) by Newton-Raphson.

    Parameters
    ----------
    T : ndarray
        Exit (or follow-up) times.
    E : ndarray
        Event indicators (0/1).
    X : ndarray (n, p)
        Covariates.
    T0 : ndarray, optional
        Entry times (at risk when ``T0 < t <= T``).
    max_iter : int
        Newton iterations.
    tol : float
        Convergence: relative change of the log-likelihood below ``tol`` (R: ``eps = 1e-9``).
    residuals : bool
        Whether to compute the Schoenfeld residuals (for the proportional-hazards test).

    Returns
    -------
    CoxFit
    """
    rs = risk_sets(T, E, X, T0)
    beta = np.zeros(rs.X.shape[1])
    loglik, score, info = _efron(rs, beta)
    loglik0 = loglik
    converged, message, it = False, f"no convergence in {max_iter} iterations", 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            message = "singular information matrix (collinear covariates or no variation among events)"
            break
        new = beta + step
        new_ll, new_score, new_info = _efron(rs, new)
        halvings = 0
        while (not np.isfinite(new_ll) or new_ll < loglik - 1e-12 * abs(loglik)) and halvings < 30:
            step /= 2
            new = beta + step
            new_ll, new_score, new_info = _efron(rs, new)
            halvings += 1
        done = abs(new_ll - loglik) <= tol * max(1.0, abs(loglik)) and np.max(np.abs(step)) < 1e-8
        beta, loglik, score, info = new, new_ll, new_score, new_info
        if done:
            converged, message = True, f"converged in {it} Newton iterations"
            break
    cov = np.linalg.inv(info) if np.all(np.isfinite(info)) else np.full(info.shape, np.nan)
    resid = rs.residuals(beta) if residuals else np.empty((0, beta.size))
    return CoxFit(beta, cov, loglik, loglik0, converged, it, message, resid, rs.events)
