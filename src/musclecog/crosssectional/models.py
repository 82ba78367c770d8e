"""Model fitters: OLS (R ``lm``), logistic regression (R ``glm(binomial)``), design-based versions (R
``svyglm``) and a linear mixed model with a random intercept (R ``lme4::lmer``, via statsmodels MixedLM).

The OLS and logistic fitters are plain numpy (QR decomposition, IRLS) so that many outcomes on
500,000 rows fit in seconds; OLS fits several outcomes that share complete cases with one decomposition.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from musclecog.core.inference import logistic_regression, separating_columns, weighted_least_squares
from musclecog.crosssectional.design import ModelFrame
from musclecog.errors import ModelError
from musclecog.survey import SurveyDesign, survey_regression

logger = logging.getLogger(__name__)

Z975 = float(stats.norm.ppf(0.975))


@dataclass
class CoefTable:
    """Coefficients of one fitted model (fixed columns, like lifelines' ``summary``).

    ``df`` is the t distribution's degrees of freedom (``inf``: normal/Wald z).
    """

    names: list[str]
    estimate: np.ndarray
    std_error: np.ndarray
    df: float
    n: int
    converged: bool = True
    note: str = ""

    @property
    def statistic(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.estimate / self.std_error

    @property
    def p_value(self) -> np.ndarray:
        t = np.abs(self.statistic)
        if np.isfinite(self.df):
            return 2 * stats.t.sf(t, self.df) if self.df > 0 else np.full_like(t, np.nan)
        return 2 * stats.norm.sf(t)

    def conf_int(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        if np.isfinite(self.df):
            q = stats.t.ppf(0.5 + level / 2, self.df) if self.df > 0 else np.nan
        else:
            q = stats.norm.ppf(0.5 + level / 2)
        return self.estimate - q * self.std_error, self.estimate + q * self.std_error

    def index(self, name: str) -> int:
        return self.names.index(name)

    def wald_test(self, terms: list[str], cov: np.ndarray) -> tuple[float, float, float]:
        """Joint Wald test of ``terms``: (statistic, df1, p). F on (k, df) if ``df`` is finite, else chi-squared."""
        idx = [self.index(t) for t in terms]
        b = self.estimate[idx]
        v = cov[np.ix_(idx, idx)]
        stat = float(b @ np.linalg.solve(v, b))
        k = len(idx)
        if np.isfinite(self.df):
            return stat / k, k, float(stats.f.sf(stat / k, k, self.df))
        return stat, k, float(stats.chi2.sf(stat, k))


def ols(x: np.ndarray, y: np.ndarray, names: list[str]) -> list[tuple[CoefTable, np.ndarray]]:
    """Ordinary least squares for one or several outcomes sharing ``x`` (R: ``lm``).

    Returns one ``(CoefTable, covariance)`` per column of ``y``; t intervals on ``n - p`` df.
    """
    y2 = y[:, None] if y.ndim == 1 else y
    n, p = x.shape
    beta, xtx_inv = weighted_least_squares(x, y2)
    rss = ((y2 - x @ beta) ** 2).sum(axis=0)
    out = []
    for j in range(y2.shape[1]):
        sigma2 = rss[j] / (n - p)
        cov = sigma2 * xtx_inv
        out.append((CoefTable(names, beta[:, j], np.sqrt(np.diag(cov)), float(n - p), n), cov))
    return out


def logistic(x: np.ndarray, y: np.ndarray, names: list[str], where: str) -> tuple[CoefTable, np.ndarray]:
    """Logistic regression (:func:`musclecog.core.inference.logistic_regression`) as a coefficient table."""
    beta, cov, _ = logistic_regression(x, y, names, where)
    return CoefTable(names, beta, np.sqrt(np.diag(cov)), np.inf, len(y)), cov


def survey_fit(
    frame: ModelFrame, design: SurveyDesign, family: str, where: str
) -> tuple[CoefTable, np.ndarray]:
    """Design-based GLM on the frame's rows (R: ``svyglm``); t on ``degf - p + 1`` df."""
    sub = design.subset(frame.rows)
    if family == "binomial":
        levels = np.unique(frame.y)
        if levels.size < 2:
            raise ModelError(f"{where}: the outcome takes a single value in these rows; no model")
    fit = survey_regression(frame.x, frame.y, sub, family=family)
    if family == "binomial" and (not fit.converged or np.max(np.abs(frame.x @ fit.params)) > 30):
        cols = separating_columns(frame.x, frame.y, frame.names)
        raise ModelError(
            f"{where}: perfect or quasi-complete separation in the survey-weighted logistic model. "
            f"Separating: {', '.join(cols) if cols else 'a combination of columns'}"
        )
    note = ""
    if fit.df_resid <= 0:
        note = f"design degrees of freedom {fit.df_resid} <= 0: too few PSUs for a t interval"
    return CoefTable(
        frame.names, fit.params, fit.std_errors, float(fit.df_resid), fit.n, fit.converged, note
    ), fit.cov


def mixed_model(frame: ModelFrame, groups: np.ndarray, where: str) -> tuple[CoefTable, np.ndarray]:
    """Linear mixed model with a random intercept per group, REML (R: ``lmer(y ~ x + (1 | g))``).

    Fitted with statsmodels ``MixedLM``; the fixed-effect covariance is lme4's ``vcov``:
    ``(X' V^-1 X)^-1`` at the REML variance estimates (statsmodels' default inverts the Hessian of all
    parameters, which differs in the fourth digit). Wald z tests and intervals (lme4 prints the same t
    values without p-values). A convergence warning becomes a note on the rows.
    """
    import statsmodels.api as sm

    note = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.MixedLM(frame.y, frame.x, groups=groups)
        # derivative-free Powell first: statsmodels' gradient optimisers stop at the boundary (variance 0)
        # from their default start on outcomes with a small intraclass correlation; lme4 does not
        fit = model.fit(reml=True, method=["powell", "nm", "lbfgs"])
    messages = sorted({str(w.message).splitlines()[0] for w in caught})
    if messages:
        note = "MixedLM: " + "; ".join(messages)
        logger.warning("%s: %s", where, note)
    params = np.asarray(fit.fe_params)
    cov = _lmer_fixed_cov(frame.x, groups, float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale))
    converged = bool(getattr(fit, "converged", True))
    if not converged:
        note = (note + "; " if note else "") + "did not converge"
    return CoefTable(frame.names, params, np.sqrt(np.diag(cov)), np.inf, frame.n, converged, note), cov


def _lmer_fixed_cov(x: np.ndarray, groups: np.ndarray, tau2: float, sigma2: float) -> np.ndarray:
    """``(X' V^-1 X)^-1`` for a random-intercept model, ``V_g = sigma2 I + tau2 11'`` (Woodbury per group)."""
    _, g = np.unique(groups, return_inverse=True)
    n_g = np.bincount(g)
    sums = np.zeros((n_g.size, x.shape[1]))
    np.add.at(sums, g, x)
    shrink = tau2 / (sigma2 + n_g * tau2)
    info = (x.T @ x - (sums * shrink[:, None]).T @ sums) / sigma2
    return np.linalg.inv(info)
