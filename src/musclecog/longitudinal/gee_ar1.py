"""An AR(1) working correlation estimated as geepack does, for statsmodels' GEE.

statsmodels' :class:`~statsmodels.genmod.cov_struct.Autoregressive` estimates the AR(1) parameter from lag-one
residual products only. geepack (Halekoh, Hojsgaard and Yan 2006, J Stat Softw 15(2); ``geeglm(...,
corstr = "ar1")``) solves the moment equation over *all* pairs of visits of a person,
``sum_{j<k} (r_ij r_ik / phi - alpha^|d_jk|) |d_jk| alpha^(|d_jk| - 1) = 0`` with ``phi = sum r^2 / N`` and
``d_jk`` the distance in waves. The two differ when correlations do not decay geometrically; this class gives
geepack's estimate (checked on sleepstudy in tests/reference/test_longitudinal_r.py). The equation and its
root are :func:`musclecog.longitudinal.ar1.geepack_ar1_alpha`, shared with the numpy GEE (which collects the
pairs vectorised; this class, statsmodels' plug-in, is its peer in tests/unit/test_gee_engine.py and the fit
used where the numpy one meets a floating-point error).
"""

from __future__ import annotations

import numpy as np
from statsmodels.genmod.cov_struct import Autoregressive

from musclecog.longitudinal.ar1 import geepack_ar1_alpha


class GeepackAR1(Autoregressive):
    """AR(1) working correlation with geepack's all-pairs moment estimator of alpha."""

    def __init__(self) -> None:
        super().__init__(grid=False)

    def update(self, params: np.ndarray) -> None:
        model = self.model
        prods, dists = [], []
        ssq, n = 0.0, 0
        for i in range(model.num_group):
            expval, _ = model.cached_means[i]
            r = (model.endog_li[i] - expval) / np.sqrt(model.family.variance(expval))
            t = model.time_li[i][:, 0]
            j, k = np.triu_indices(r.size, 1)
            prods.append(r[j] * r[k])
            dists.append(np.abs(t[j] - t[k]))
            ssq += float(r @ r)
            n += r.size
        prod = np.concatenate(prods) if prods else np.zeros(0)
        dist = np.concatenate(dists) if dists else np.zeros(0)
        self.dep_params = geepack_ar1_alpha(prod, dist, ssq / n if n else 1.0)
