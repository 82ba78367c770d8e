"""Model fitters on a :class:`~musclecog.core.design.Design`, each returning a labelled
:class:`~musclecog.core.results.FitResult`: OLS (R ``lm``), logistic regression (R ``glm(binomial)``) and a
linear mixed model with a random intercept (R ``lme4::lmer``, via statsmodels MixedLM). Design-based fits
(R ``svyglm``) are :func:`musclecog.survey.design_based_fit`.

Least squares and IRLS are :mod:`musclecog.core.inference` (Cholesky with one refinement step, so that
many outcomes on 500,000 rows fit in seconds).
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from musclecog.core.design import Design
from musclecog.core.inference import logistic_regression, ols
from musclecog.core.results import Diagnostics, FitResult

logger = logging.getLogger(__name__)


def _outcome(design: Design) -> np.ndarray:
    if design.y is None:
        raise ValueError("the design has no outcome")
    return design.y


def ols_fit(design: Design) -> FitResult:
    """Ordinary least squares (R: ``lm``): t tests and intervals on ``n - p`` df.

    The log-likelihood is the Gaussian one at the ML variance ``RSS / n`` (R's ``logLik.lm``).
    """
    y = _outcome(design)
    n, p = design.x.shape
    beta, xtx_inv, sigma2 = ols(design.x, y)
    rss = float(sigma2) * (n - p)
    loglik = -0.5 * n * (math.log(2 * math.pi * rss / n) + 1) if rss > 0 else math.nan
    diagnostics = Diagnostics(n=n, log_likelihood=loglik, exclusions=design.exclusions)
    return FitResult.from_arrays(
        design.names,
        beta,
        float(sigma2) * xtx_inv,
        float(n - p),
        diagnostics,
        method="linear regression",
        codings=design.codings,
    )


def logistic_fit(design: Design, where: str) -> FitResult:
    """Logistic regression (R ``glm(binomial)``, Wald z) by IRLS in core.inference (``logistic_regression``).

    Raises
    ------
    ModelError
        A non-binary outcome, a single outcome value, or perfect / quasi-complete separation.
    """
    y = _outcome(design)
    beta, cov, loglik = logistic_regression(design.x, y, design.names, where)
    diagnostics = Diagnostics(
        n=design.n, log_likelihood=loglik, exclusions=design.exclusions, n_events=int(y.sum())
    )
    return FitResult.from_arrays(
        design.names, beta, cov, None, diagnostics, method="logistic regression", codings=design.codings
    )


def mixed_model_fit(design: Design, groups: np.ndarray, where: str) -> FitResult:
    """Linear mixed model with a random intercept per group, REML (R: ``lmer(y ~ x + (1 | g))``).

    Fitted with statsmodels ``MixedLM``; the fixed-effect covariance is lme4's ``vcov``:
    ``(X' V^-1 X)^-1`` at the REML variance estimates (statsmodels' default inverts the Hessian of all
    parameters, which differs in the fourth digit). Wald z tests and intervals (lme4 prints the same t
    values without p-values). Optimiser warnings and non-convergence are ``diagnostics.messages``.
    """
    import statsmodels.api as sm

    y = _outcome(design)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.MixedLM(y, design.x, groups=groups)
        # derivative-free Powell first: statsmodels' gradient optimisers stop at the boundary (variance 0)
        # from their default start on outcomes with a small intraclass correlation; lme4 does not
        fit = model.fit(reml=True, method=["powell", "nm", "lbfgs"])
    found = sorted({str(w.message).splitlines()[0] for w in caught})
    note = "MixedLM: " + "; ".join(found) if found else ""
    if note:
        logger.warning("%s: %s", where, note)
    tau2, sigma2 = float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale)
    cov = _lmer_fixed_cov(design.x, groups, tau2, sigma2)
    converged = bool(getattr(fit, "converged", True))
    if not converged:
        note = (note + "; " if note else "") + "did not converge"
    diagnostics = Diagnostics(
        n=design.n,
        converged=converged,
        log_likelihood=float(fit.llf),
        exclusions=design.exclusions,
        n_groups=int(np.unique(groups).size),
        messages=(note,) if note else (),
        statistics={"random_intercept_variance": tau2, "residual_variance": sigma2},
    )
    return FitResult.from_arrays(
        design.names,
        np.asarray(fit.fe_params),
        cov,
        None,
        diagnostics,
        method="linear mixed model (REML)",
        codings=design.codings,
    )


def _lmer_fixed_cov(x: np.ndarray, groups: np.ndarray, tau2: float, sigma2: float) -> np.ndarray:
    """``(X' V^-1 X)^-1`` for a random-intercept model, ``V_g = sigma2 I + tau2 11'`` (Woodbury per group)."""
    _, g = np.unique(groups, return_inverse=True)
    n_g = np.bincount(g)
    sums = np.zeros((n_g.size, x.shape[1]))
    np.add.at(sums, g, x)
    shrink = tau2 / (sigma2 + n_g * tau2)
    info = (x.T @ x - (sums * shrink[:, None]).T @ sums) / sigma2
    return np.asarray(np.linalg.inv(info))
