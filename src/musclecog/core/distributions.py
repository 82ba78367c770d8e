"""Tail probabilities and quantiles of the normal, t, chi-squared and F distributions, from ``scipy.special``.

``scipy.stats``' distribution methods call these same functions (``norm.sf`` is ``ndtr(-x)``, ``t.sf`` is
``stdtr(df, -x)``, ``chi2.sf`` is ``chdtrc(df, x)``, ...), so the values are bit-identical; calling them directly
saves importing ``scipy.stats`` (0.5-0.9 s of a job's start-up). The one home of these functions: the
inference core, the survival, panel and path models and the MR estimators all call them. The functions keep ``scipy.stats``'
answers outside the support (a chi-squared or F statistic below 0 has upper tail 1) and for invalid degrees of
freedom (NaN); ``tests/unit/test_distributions.py`` compares them with ``scipy.stats`` on a grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

_SQRT_2PI = np.sqrt(2 * np.pi)
"""As ``scipy.stats``' ``_norm_pdf_C``."""


def norm_sf(x: Any) -> Any:
    """Upper tail of the standard normal, as ``scipy.stats.norm.sf`` (R ``pnorm(x, lower.tail = FALSE)``)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_isf(q: Any) -> Any:
    """Upper quantile of the standard normal, as ``scipy.stats.norm.isf`` (R ``qnorm(q, lower.tail = FALSE)``)."""
    return -special.ndtri(q)


def norm_pdf(x: Any) -> Any:
    """Standard normal density, as ``scipy.stats.norm.pdf`` (same expression)."""
    x = np.asarray(x, dtype=float)
    return np.exp(-x**2 / 2.0) / _SQRT_2PI


def t_sf(x: Any, df: Any) -> Any:
    """Upper tail of Student's t on ``df`` degrees of freedom, as ``scipy.stats.t.sf`` (R ``pt(x, df,
    lower.tail = FALSE)``)."""
    return special.stdtr(df, -np.asarray(x, dtype=float))


def t_isf(q: Any, df: Any) -> Any:
    """Upper quantile of Student's t, as ``scipy.stats.t.isf`` (R ``qt(q, df, lower.tail = FALSE)``): inf at
    q = 0, -inf at q = 1, NaN outside [0, 1]."""
    q = np.asarray(q, dtype=float)
    with np.errstate(invalid="ignore"):
        inner = -special.stdtrit(df, np.where((q > 0) & (q < 1), q, 0.5))
    out = np.where(q == 0, np.inf, np.where(q == 1, -np.inf, np.where((q > 0) & (q < 1), inner, np.nan)))
    return out[()] if out.ndim == 0 else out


def chi2_sf(x: Any, df: Any) -> Any:
    """Upper tail of the chi-squared distribution, as ``scipy.stats.chi2.sf`` (R ``pchisq(x, df, lower.tail =
    FALSE)``): 1 below 0, NaN for df <= 0."""
    x = np.asarray(x, dtype=float)
    df = np.asarray(df, dtype=float)
    out = np.where(df > 0, special.chdtrc(df, np.maximum(x, 0.0)), np.nan)
    return out[()] if out.ndim == 0 else out


def chi2_isf(q: Any, df: Any) -> Any:
    """Upper quantile of the chi-squared distribution, as ``scipy.stats.chi2.isf`` for 0 < q < 1 and df > 0
    (R ``qchisq(q, df, lower.tail = FALSE)``)."""
    return special.chdtri(df, q)


def f_sf(x: Any, dfn: Any, dfd: Any) -> Any:
    """Upper tail of the F distribution, as ``scipy.stats.f.sf`` (R ``pf(x, df1, df2, lower.tail = FALSE)``):
    1 below 0."""
    x = np.asarray(x, dtype=float)
    out = special.fdtrc(dfn, dfd, np.maximum(x, 0.0))
    return out[()] if np.ndim(out) == 0 else out
