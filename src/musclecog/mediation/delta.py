"""Delta-method (first-order) inference for functions of path coefficients: lavaan's ``:=`` defined parameters.

A specific indirect effect is a product of coefficients along a path (``a1*d21*b2``), the total indirect effect
their sum, the total effect ``c' +`` that sum and the proportion mediated their ratio. For a function ``g`` of
the coefficients ``theta`` with covariance ``V``, ``se(g) = sqrt(grad' V grad)`` at the estimate, a z test and a
normal (Wald) interval, as lavaan's ``parameterEstimates()`` reports a defined parameter.

The covariance of the paths: each equation's block is its fit's covariance (OLS or ML, ``se_type``); the block
of two least-squares equations j, k is that of equation-wise least squares with correlated disturbances,
``s_jk (X_j'X_j)^-1 X_j'X_k (X_k'X_k)^-1`` with ``s_jk = e_j'e_k / n`` (ML) or ``/ sqrt((n - p_j)(n - p_k))``
(OLS), exogenous variables fixed (lavaan ``fixed.x = TRUE``). The residuals of an equation are orthogonal to
those of every equation whose outcome it has as a predictor (serial mediators, the outcome), so only mediators
that do not predict each other (parallel mediation, lavaan ``m1 ~~ m2``: Preacher & Hayes 2008) get a nonzero
block; for them it makes ``a1`` and ``a2`` correlated, as in lavaan's saturated model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from musclecog.core.inference import critical_value, wald_p_value, wald_statistic
from musclecog.core.results import FitResult
from musclecog.mediation.frame import Equation, ModelFrame, rhs

DELTA_COLUMNS = ("delta_std_error", "delta_statistic", "delta_p_value", "delta_conf_low", "delta_conf_high")
"""The extra columns of a row with delta-method inference, in order."""


class DeltaMethod:
    """The coefficients of every path of a recursive model, their covariance and delta-method inference.

    Parameters
    ----------
    equations : sequence of Equation
    fits : mapping
        Each equation's fit, keyed by its outcome.
    frame : ModelFrame, optional
        The data, for the covariances between equations (without it the blocks are independent).
    se_type : {"ols", "ml"}
        The divisor of the residual cross-products (as the fits' own covariances).
    cov : ndarray, optional
        The joint covariance of the paths in :attr:`keys` order, given (a survey design's linearised
        covariance, :func:`musclecog.survey.joint_covariance`) instead of built from the fits.
    """

    def __init__(
        self,
        equations: Sequence[Equation],
        fits: Mapping[str, FitResult],
        frame: ModelFrame | None = None,
        se_type: str = "ols",
        cov: np.ndarray | None = None,
    ) -> None:
        self.keys: list[tuple[str, str]] = [(eq.outcome, p) for eq in equations for p in eq.predictors]
        self.position = {k: i for i, k in enumerate(self.keys)}
        self.values = np.array([float(fits[out].params[p]) for out, p in self.keys])
        if cov is not None:
            self.cov = np.asarray(cov, float)
            return
        cov = np.zeros((len(self.keys), len(self.keys)))
        for eq in equations:
            idx = [self.position[(eq.outcome, p)] for p in eq.predictors]
            block = fits[eq.outcome].cov.loc[list(eq.predictors), list(eq.predictors)].to_numpy()
            cov[np.ix_(idx, idx)] = block
        if frame is not None:
            self._add_cross_blocks(cov, equations, fits, frame, se_type)
        self.cov = cov

    def _add_cross_blocks(
        self,
        cov: np.ndarray,
        equations: Sequence[Equation],
        fits: Mapping[str, FitResult],
        frame: ModelFrame,
        se_type: str,
    ) -> None:
        """The covariances between the coefficients of two least-squares equations (module docstring)."""
        gaussian = [eq for eq in equations if eq.family == "gaussian"]
        n = frame.n
        parts = {}
        for eq in gaussian:
            X = frame.values[:, rhs(frame, eq)]
            resid = frame.column(eq.outcome) - X @ fits[eq.outcome].params.to_numpy()
            # rows of (X'X)^-1 X' for the predictors (the columns after the intercept)
            xtx_inv_xt = np.linalg.solve(X.T @ X, X.T)[1 : 1 + len(eq.predictors)]
            parts[eq.outcome] = (resid, xtx_inv_xt, X.shape[1])
        for j, eq_j in enumerate(gaussian):
            for eq_k in gaussian[j + 1 :]:
                e_j, h_j, p_j = parts[eq_j.outcome]
                e_k, h_k, p_k = parts[eq_k.outcome]
                divisor = n if se_type == "ml" else float(np.sqrt((n - p_j) * (n - p_k)))
                s_jk = float(e_j @ e_k) / divisor
                block = s_jk * (h_j @ h_k.T)
                idx_j = [self.position[(eq_j.outcome, p)] for p in eq_j.predictors]
                idx_k = [self.position[(eq_k.outcome, p)] for p in eq_k.predictors]
                cov[np.ix_(idx_j, idx_k)] = block
                cov[np.ix_(idx_k, idx_j)] = block.T

    def coefficient(self, outcome: str, predictor: str) -> float:
        """The coefficient of ``predictor`` in the equation of ``outcome``."""
        return float(self.values[self.position[(outcome, predictor)]])

    def unit(self, outcome: str, predictor: str) -> np.ndarray:
        """The gradient of one coefficient (e.g. ``c'`` in the total effect)."""
        g = np.zeros(len(self.keys))
        g[self.position[(outcome, predictor)]] = 1.0
        return g

    def path_gradient(self, paths: Sequence[Sequence[str]]) -> np.ndarray:
        """The gradient of the sum of the coefficient products along ``paths`` (each ``(X, M1, ..., Y)``):
        the derivative of a product by one coefficient is the product of the others."""
        g = np.zeros(len(self.keys))
        for path in paths:
            edges = [(to, frm) for frm, to in zip(path[:-1], path[1:], strict=True)]
            coefs = [self.coefficient(*e) for e in edges]
            for k, e in enumerate(edges):
                g[self.position[e]] += float(np.prod(coefs[:k] + coefs[k + 1 :]))
        return g

    def standard_error(self, gradient: np.ndarray) -> float:
        """``sqrt(grad' V grad)``."""
        return float(np.sqrt(max(float(gradient @ self.cov @ gradient), 0.0)))

    def columns(self, estimate: float, gradient: np.ndarray, level: float) -> dict[str, float]:
        """The delta-method SE, z, two-sided normal p and Wald interval of ``estimate`` (:data:`DELTA_COLUMNS`)."""
        se = self.standard_error(gradient)
        z = float(wald_statistic(np.asarray(estimate), np.asarray(se)))
        q = critical_value(level, None)
        values = (se, z, float(wald_p_value(np.asarray(z), None)), estimate - q * se, estimate + q * se)
        return dict(zip(DELTA_COLUMNS, values, strict=True))


def ratio_gradient(
    numerator: float, g_numerator: np.ndarray, denominator: float, g_denominator: np.ndarray
) -> np.ndarray:
    """The gradient of ``numerator / denominator`` (quotient rule)."""
    return (g_numerator * denominator - numerator * g_denominator) / denominator**2


__all__ = ["DELTA_COLUMNS", "DeltaMethod", "ratio_gradient"]
