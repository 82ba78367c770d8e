"""Cox proportional hazards with Efron ties and delayed entry, vectorised with numpy.

Newton-Raphson on the Efron partial likelihood (Efron 1977, JASA 72:557), as R's ``survival::coxph``
(``ties = "efron"``, counting-process data ``Surv(entry, exit, event)`` for delayed entry): a person is at risk at
time ``t`` when ``entry < t <= exit``. The risk-set sums ``S0 = sum w``, ``S1 = sum w x``, ``S2 = sum w x x'``
(``w = exp(x'beta)``) at every event time come from reverse cumulative sums over people sorted by exit time, minus
those over people sorted by entry time, so one iteration costs a few passes over the data (lifelines' Efron fitter
loops over rows in Python: about 15 s per fit on 500,000 people; this takes about a second).

With ``d`` tied events at ``t`` (event-set sums ``S0_D``, ``S1_D``, ``S2_D``), the Efron terms for
``l = 0, ..., d - 1`` use ``S0 - (l/d) S0_D`` etc.:

* log-likelihood ``sum_events x'beta - sum_l log(S0 - l/d S0_D)``;
* score ``sum_events x - sum_l (S1 - l/d S1_D) / (S0 - l/d S0_D)``;
* information ``sum_l [(S2 - l/d S2_D)/den - (S1 - l/d S1_D)(S1 - l/d S1_D)'/den^2]``.

Validated against ``coxph`` on ``survival::lung`` (tests/reference/test_survival_r.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


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
        Schoenfeld residuals (Breslow-type risk-set means), one row per event, in event-time order.
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
        return np.sqrt(np.diag(self.cov))


class _RiskSets:
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
        self.idx_exit = np.searchsorted(self.T_sorted, self.times, side="left")  # people with T >= t
        if T0 is not None:
            self.order_entry = np.argsort(T0, kind="stable")
            self.T0_sorted = T0[self.order_entry]
            self.idx_entry = np.searchsorted(self.T0_sorted, self.times, side="left")  # people with T0 >= t
        else:
            self.order_entry = None

    def _rev_cumsum_at(self, values: np.ndarray, order: np.ndarray, idx: np.ndarray) -> np.ndarray:
        v = values[order]
        rc = np.cumsum(v[::-1], axis=0)[::-1]
        rc = np.concatenate([rc, np.zeros((1, *v.shape[1:]))], axis=0)
        return rc[idx]

    def sums(self, w: np.ndarray, second: bool) -> tuple[np.ndarray, ...]:
        X = self.X
        parts = [w, w[:, None] * X]
        if second:
            parts.append(w[:, None, None] * X[:, :, None] * X[:, None, :])
        out = []
        for v in parts:
            s = self._rev_cumsum_at(v, self.order_exit, self.idx_exit)
            if self.order_entry is not None:
                s = s - self._rev_cumsum_at(v, self.order_entry, self.idx_entry)
            out.append(s)
        return tuple(out)


def _efron(rs: _RiskSets, beta: np.ndarray, second: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
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


def fit_cox_efron(
    T: np.ndarray,
    E: np.ndarray,
    X: np.ndarray,
    T0: np.ndarray | None = None,
    max_iter: int = 50,
    tol: float = 1e-12,
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

    Returns
    -------
    CoxFit
    """
    T = np.asarray(T, float)
    E = np.asarray(E, int)
    X = np.asarray(X, float)
    Xc = X - X.mean(axis=0)  # centring changes nothing but the numerics
    rs = _RiskSets(T, E, Xc, None if T0 is None else np.asarray(T0, float))
    beta = np.zeros(X.shape[1])
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
    # Schoenfeld residuals with Breslow-type risk-set means at each event time
    w = np.exp(Xc @ beta - float((Xc @ beta).max()))
    S0, S1 = rs.sums(w, second=False)
    resid = Xc[rs.events] - S1[rs.group] / S0[rs.group][:, None]
    return CoxFit(beta, cov, loglik, loglik0, converged, it, message, resid, rs.events)


def ph_test(fit: CoxFit) -> tuple[np.ndarray, np.ndarray]:
    """Grambsch-Therneau proportional-hazards test per covariate, rank time transform.

    The statistic of lifelines' ``proportional_hazard_test(..., time_transform="rank")``:
    ``(sum_k g_k s*_kj)^2 / (d var_j sum_k g_k^2)`` with scaled residuals ``s* = d r V`` and ``g`` the centred
    event rank. Returns (chi-squared statistics, p-values), 1 df each.
    """
    d = fit.schoenfeld.shape[0]
    scaled = d * fit.schoenfeld @ fit.cov
    g = np.arange(1, d + 1, dtype=float)
    gc = g - g.mean()
    stat = (gc @ scaled) ** 2 / (d * np.diag(fit.cov) * (gc**2).sum())
    return stat, stats.chi2.sf(stat, 1)
