"""The proportional-hazards test of the Cox models: R survival >= 3's ``cox.zph`` score test.

One computation for both engines, from the data and the fitted coefficients (:func:`cox_zph`): the score test
of ``beta(t) = beta + theta g(t)`` at ``theta = 0`` per term and jointly (``GLOBAL``), with the same ties
(Efron or Breslow) and risk sets (delayed entry) as the fit. Matches ``cox.zph(fit, transform = ...)``
(``terms = TRUE``, ``global = TRUE``) to 1e-8 on ``survival::lung`` (tests/reference/test_survival_r.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musclecog.core.distributions import chi2_sf
from musclecog.core.inference import average_ranks
from musclecog.survival.efron import RiskSets, risk_sets

TRANSFORMS = ("km", "rank", "identity", "log")
"""Time transforms ``g(t)`` of ``cox.zph``: ``km`` (R's default), ``rank``, ``identity``, ``log``."""

GLOBAL = "GLOBAL"

RCOND = 1e-10
"""A test whose information matrix has a reciprocal condition number (1-norm) below this is not computed:
its statistic would be rounding noise. R's ``solve()`` stops only below machine epsilon, so where we say
singular R errors (lung on the age scale, ``transform = "km"``: the first event's risk set is one person, the
Kaplan-Meier drops to 0 and ``g`` is constant over the informative events) or prints noise."""


def ph_note(transform: str) -> str:
    """The note of the PH-test rows."""
    return (
        f"proportional-hazards score test (R cox.zph with transform {transform}); "
        "small p: hazards not proportional"
    )


@dataclass(frozen=True)
class PHTest:
    """The proportional-hazards test: one chi-squared per term, then ``GLOBAL`` (all terms jointly).

    Attributes
    ----------
    terms : tuple of str
        Term names, the last ``GLOBAL``.
    statistic, df, p_value : ndarray
        Chi-squared, its degrees of freedom (the term's columns) and p-value; ``nan`` when the information
        matrix of a test is singular (see ``message``).
    transform : str
        The time transform.
    message : str
        Empty, or why a statistic is missing.
    """

    terms: tuple[str, ...]
    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    transform: str = "km"
    message: str = ""


def time_transform(T: np.ndarray, E: np.ndarray, T0: np.ndarray | None, transform: str) -> np.ndarray:
    """``g(t)`` of every row's exit time, as ``cox.zph``.

    ``km``: ``1 - S(t-)`` with ``S`` the Kaplan-Meier of all rows (with entry times when given:
    ``survfit(Surv(entry, exit, event) ~ 1)``), left-continuous; ``rank``: ``rank(t)`` over all rows (ties
    averaged); ``identity``: ``t``; ``log``: ``log(t)``.
    """
    if transform == "identity":
        return T.astype(float)
    if transform == "log":
        return np.log(T)
    if transform == "rank":
        return average_ranks(T)
    if transform != "km":
        raise ValueError(f"unknown time transform {transform!r}; one of {TRANSFORMS}")
    times, d = np.unique(T[E == 1], return_counts=True)
    order = np.sort(T)
    n_at = T.size - np.searchsorted(order, times, side="left")  # T >= t
    if T0 is not None:
        n_at -= T0.size - np.searchsorted(np.sort(T0), times, side="left")  # not yet entered: T0 >= t
    surv = np.cumprod(1.0 - d / n_at)
    before = np.searchsorted(times, T, side="left")  # event times < t
    return 1.0 - np.r_[1.0, surv][before]


def _score_information(rs: RiskSets, beta: np.ndarray, gw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score of ``theta`` and the 2p x 2p information of ``(beta, theta)`` at ``(beta, 0)``.

    With ``V_l`` the (Efron or Breslow) risk-set covariance at event ``l`` and ``g`` its time's weight:
    ``U_theta = sum_l g_l (x_l - xbar_l)``; information blocks ``sum V_l``, ``sum g_l V_l`` and
    ``sum g_l^2 V_l``.
    Within a tie group only Efron's denominators vary, so the sums run over groups (as ``efron._efron``).
    """
    X = rs.X
    p = X.shape[1]
    w = np.exp(X @ beta - float((X @ beta).max()))
    S, SD = rs.sums(w, second=True)
    g, f, G = rs.group, rs.frac, rs.G
    den = S[g, 0] - f * SD[g, 0]
    inv = 1.0 / den
    inv2 = inv * inv
    S1, S1D, S2, S2D = S[:, 1 : 1 + p], SD[:, 1 : 1 + p], S[:, 1 + p :], SD[:, 1 + p :]
    c0, c1, e0, e1, e2 = (
        np.bincount(g, weights=v, minlength=G) for v in (inv, f * inv, inv2, f * inv2, f * f * inv2)
    )

    def info(a: np.ndarray) -> np.ndarray:
        m = np.zeros((p, p))
        m[rs.upper] = (a * c0) @ S2 - (a * c1) @ S2D
        m = m + np.triu(m, 1).T
        cross = (S1.T * (a * e1)) @ S1D
        return m - ((S1.T * (a * e0)) @ S1 - cross - cross.T + (S1D.T * (a * e2)) @ S1D)

    score = gw[g] @ X[rs.pos] - (gw * c0) @ S1 + (gw * c1) @ S1D
    i01 = info(gw)
    full = np.block([[info(np.ones(G)), i01], [i01, info(gw * gw)]])
    return score, full


def cox_zph(
    T: np.ndarray,
    E: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    T0: np.ndarray | None = None,
    *,
    ties: str = "efron",
    transform: str = "km",
    terms: Sequence[tuple[str, Sequence[int]]] | None = None,
) -> PHTest:
    """The proportional-hazards score test of a Cox model at its coefficients (R ``cox.zph``).

    Parameters
    ----------
    T, E : ndarray
        Exit times and events (0/1).
    X : ndarray (n, p)
        The design.
    beta : ndarray (p,)
        The fitted log hazard ratios (any fitter's).
    T0 : ndarray, optional
        Entry times (at risk when ``T0 < t <= T``).
    ties : {"efron", "breslow"}
        The fit's handling of tied event times.
    transform : {"km", "rank", "identity", "log"}
        The time transform ``g`` (:func:`time_transform`).
    terms : sequence of (name, columns), optional
        The terms tested one by one (a factor's columns together, ``cox.zph(terms = TRUE)``); default one
        term per column.

    Returns
    -------
    PHTest

    Notes
    -----
    Grambsch and Therneau (1994, Biometrika 81:515) as implemented in survival >= 3.0: the model is expanded
    by ``x g(t)`` with ``g`` centred on its mean over the events; the score ``u = (0, U_theta)`` and the
    information ``I`` of the expanded model at ``(beta, 0)`` give ``u' I^-1 u`` on the term's columns (the
    rows and columns of ``beta`` and the term's ``theta``) and on all columns (``GLOBAL``).
    """
    T, E, X = np.asarray(T, float), np.asarray(E, int), np.asarray(X, float)
    entry = None if T0 is None else np.asarray(T0, float)
    p = X.shape[1]
    if terms is None:
        terms = [(f"x{j}", [j]) for j in range(p)]
    gt = time_transform(T, E, entry, transform)
    gt = gt - gt[E == 1].mean()
    rs = risk_sets(T, E, X, entry, ties)
    gw = gt[rs.events[np.r_[0, np.cumsum(rs.d)[:-1]]]]  # one time per tie group
    score, info = _score_information(rs, np.asarray(beta, float), gw)
    names = [name for name, _ in terms]
    blocks = [list(cols) for _, cols in terms]
    stat, df, failed = [], [], []
    for name, cols in [*zip(names, blocks, strict=True), (GLOBAL, list(range(p)))]:
        keep = [*range(p), *(p + j for j in cols)]
        u = np.r_[np.zeros(p), score[cols]]
        m = info[np.ix_(keep, keep)]
        if not np.all(np.isfinite(m)) or np.linalg.cond(m, 1) * RCOND > 1.0:
            stat.append(np.nan)
            failed.append(name)
        else:
            stat.append(float(u @ np.linalg.solve(m, u)))
        df.append(float(len(cols)))
    statistic, dfs = np.array(stat), np.array(df)
    message = (
        f"singular information matrix for {', '.join(failed)} (time transform {transform}; g(t) is nearly "
        "constant over the events, e.g. a Kaplan-Meier that reaches 0 early on the age scale: try rank)"
        if failed
        else ""
    )
    return PHTest((*names, GLOBAL), statistic, dfs, chi2_sf(statistic, dfs), transform, message)
