"""musclecog.core.distributions gives scipy.stats' values bit for bit, edge cases included, without importing it.

The inference core, the survival, panel and path models and the MR modules call these helpers instead of
``scipy.stats`` (saving its import in every job); the estimates
stay identical only if every value is the same double, so the comparison is exact (``array_equal``), on a grid
with 0, negative values, infinities and NaN.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from musclecog.core import distributions as dist

X = np.array([-np.inf, -40.0, -3.0, -1e-300, -0.0, 0.0, 1e-300, 1e-8, 0.5, 1.959963984540054, 3.0, 8.5, 40.0,
              1e6, np.inf, np.nan])
Q = np.array([0.0, 1e-300, 1e-12, 0.0125, 0.025, 0.05, 0.3, 0.5, 0.9, 1.0 - 1e-12, 1.0, np.nan])
DF = [1, 2, 3, 5.5, 29, 1000, 0, -1, np.nan]


def _same(a: object, b: object) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


def test_normal() -> None:
    assert _same(dist.norm_sf(X), stats.norm.sf(X))
    assert _same(dist.norm_pdf(X), stats.norm.pdf(X))
    assert _same(dist.norm_isf(Q[(Q > 0) & (Q < 1)]), stats.norm.isf(Q[(Q > 0) & (Q < 1)]))
    assert dist.norm_isf(0.025) == stats.norm.isf(0.025)
    assert dist.norm_sf(2.5) == stats.norm.sf(2.5)


@pytest.mark.parametrize("df", DF)
def test_t_and_chi_squared(df: float) -> None:
    assert _same(dist.t_sf(X, df), stats.t.sf(X, df))
    assert _same(dist.chi2_sf(X, df), stats.chi2.sf(X, df))
    inner = Q[(Q > 0) & (Q < 1)]
    if df > 0:
        assert _same(dist.chi2_isf(inner, df), stats.chi2.isf(inner, df))
        with np.errstate(over="ignore"):  # t.isf(1e-300, 1) ** 2 overflows, as it does for scipy
            assert _same(dist.t_isf(Q, df) ** 2, stats.t.isf(Q, df) ** 2)
        assert _same(dist.t_isf(inner, df), stats.t.isf(inner, df))
    assert _same(dist.chi2_sf(3.2, df), stats.chi2.sf(3.2, df))


@pytest.mark.parametrize(("dfn", "dfd"), [(1, 5), (3, 100.5), (2, 1e4), (0, 3)])
def test_f(dfn: float, dfd: float) -> None:
    assert _same(dist.f_sf(X, dfn, dfd), stats.f.sf(X, dfn, dfd))
    assert _same(dist.f_sf(4.1, dfn, dfd), stats.f.sf(4.1, dfn, dfd))


def test_mr_modules_do_not_import_scipy_stats() -> None:
    """The pair job's imports leave scipy.stats (and scipy.optimize, integrate) out: a fresh interpreter.
    (One-sample MR, an analysis type, imports linearmodels, which imports scipy.stats itself.)"""
    code = ("import sys; import musclecog.mr.pipeline, musclecog.mr.analysis, musclecog.mr.robust; "
            "print([m for m in ('scipy.stats', 'scipy.optimize', 'scipy.integrate', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
