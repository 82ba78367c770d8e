"""The proportional-hazards test of the Cox models: Grambsch-Therneau on scaled Schoenfeld residuals.

One statistic for both engines: the Efron engine hands over its residuals, the lifelines engine's fit is
given residuals by :func:`~musclecog.survival.efron.schoenfeld_residuals` at lifelines' coefficients
(lifelines has no residuals with entry times). Without entry times it equals lifelines'
``proportional_hazard_test(fit, df, time_transform="rank")`` (tests/unit/test_survival.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

PH_NOTE = (
    "proportional-hazards test on scaled Schoenfeld residuals (rank time); small p: hazards not proportional"
)


@dataclass(frozen=True)
class PHTest:
    """The proportional-hazards test per term (chi-squared on 1 df each)."""

    terms: tuple[str, ...]
    statistic: np.ndarray
    p_value: np.ndarray


def ph_test(residuals: np.ndarray, cov: np.ndarray, terms: Sequence[str]) -> PHTest:
    """Grambsch-Therneau test of proportional hazards per covariate, rank time transform.

    Parameters
    ----------
    residuals : ndarray (d, p)
        Schoenfeld residuals ``r_k`` in event-time order
        (:func:`~musclecog.survival.efron.schoenfeld_residuals`).
    cov : ndarray (p, p)
        Covariance of the coefficients ``V``.
    terms : sequence of str
        Term names of the ``p`` columns.

    Returns
    -------
    PHTest

    Notes
    -----
    The statistic of lifelines' ``proportional_hazard_test(..., time_transform="rank")``:
    ``(sum_k g_k s*_kj)^2 / (d V_jj sum_k g_k^2)`` with scaled residuals ``s* = d r V`` and ``g`` the centred
    event rank (Grambsch and Therneau 1994, Biometrika 81:515). R's ``cox.zph`` differs (a later issue).
    """
    d = residuals.shape[0]
    scaled = d * residuals @ cov
    g = np.arange(1, d + 1, dtype=float)
    gc = g - g.mean()
    stat = (gc @ scaled) ** 2 / (d * np.diag(cov) * (gc**2).sum())
    return PHTest(tuple(terms), stat, stats.chi2.sf(stat, 1))
