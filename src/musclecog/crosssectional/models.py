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

import numpy as np

from musclecog.core.design import Design
from musclecog.core.inference import logistic_regression, ols
from musclecog.core.results import Diagnostics, FitResult
from musclecog.longitudinal.lmm import fit_lmm

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

    Fitted by the longitudinal family's profiled-REML engine (:func:`musclecog.longitudinal.lmm.fit_lmm`,
    lme4's parametrisation, checked against lme4 on sleepstudy and PAQUID): one mixed-model path for every
    family. The fixed-effect covariance is lme4's ``vcov`` (``sigma^2 (X' V^-1 X)^-1``); Wald z tests and
    intervals (lme4 prints the same t values without p-values). Non-convergence is a diagnostics message.
    """
    y = _outcome(design)
    fit = fit_lmm(y, design.x, np.ones((design.n, 1)), groups, reml=True)
    notes = [] if fit.converged else [f"did not converge ({fit.message})"]
    if fit.singular:
        notes.append("singular fit: the random-intercept variance is (numerically) zero, as lme4's isSingular")
    note = "; ".join(notes)
    if note:
        logger.warning("%s: %s", where, note)
    tau2, sigma2 = float(fit.cov_re[0, 0]), float(fit.scale)
    diagnostics = Diagnostics(
        n=design.n,
        converged=fit.converged,
        log_likelihood=float(fit.llf),
        exclusions=design.exclusions,
        n_groups=fit.n_groups,
        messages=(note,) if note else (),
        statistics={"random_intercept_variance": tau2, "residual_variance": sigma2},
    )
    return FitResult.from_arrays(
        design.names,
        fit.params,
        fit.cov_params,
        None,
        diagnostics,
        method="linear mixed model (REML)",
        codings=design.codings,
    )
