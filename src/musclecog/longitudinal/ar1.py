"""geepack's AR(1) working-correlation estimate, shared by the numpy GEE (:mod:`musclecog.longitudinal.gee`)
and the statsmodels covariance structure of :mod:`musclecog.longitudinal.gee_ar1` (its own module, so that
neither imports the other; the statsmodels class imports statsmodels, the numpy GEE does not)."""

from __future__ import annotations

import numpy as np


def geepack_ar1_alpha(prod: np.ndarray, dist: np.ndarray, phi: float) -> float:
    """geepack's AR(1) moment estimate from all within-person pairs.

    Parameters
    ----------
    prod : ndarray
        Products of the two Pearson residuals of each pair.
    dist : ndarray
        The pairs' distances in waves.
    phi : float
        The scale, ``sum r^2 / N``.

    Returns
    -------
    float
        The root of the moment equation in (1e-8, 1 - 1e-8); 0 when the score is not positive at 1e-8, and
        1 - 1e-8 when it is still non-negative there.
    """
    if prod.size == 0:
        return 0.0
    from scipy.optimize import brentq

    def score(a: float) -> float:
        return float(np.sum((prod / phi - a**dist) * dist * a ** (dist - 1.0)))

    lo, hi = 1e-8, 1.0 - 1e-8
    if score(lo) <= 0:
        return 0.0
    if score(hi) >= 0:
        return hi
    return float(brentq(score, lo, hi, xtol=1e-14))
