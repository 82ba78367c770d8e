"""Small exact-calibration tools shared by the cross-sectional designs (nhanes, ukb, liao, li).

The designs generate their variables by structural equations on normal (or bounded) building blocks and
then map them to plausible ranges (accuracies in [0, 1], integer scores). The tools here compute, by
Gauss-Hermite quadrature, what such a map does to a correlation, so that the *observed-scale* population
values equal the published targets exactly (not only approximately).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any, TypeVar

import numpy as np
from scipy.special import expit

from musclecog.errors import ConfigError

P = TypeVar("P")

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(160)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def with_overrides(defaults: P, overrides: Mapping[str, Any], design: str) -> P:
    """Return a copy of a frozen parameter dataclass with config overrides applied.

    Parameters
    ----------
    defaults : dataclass instance
        The calibrated parameters.
    overrides : mapping
        ``cohorts.<name>.simulate.params`` of the config.
    design : str
        The design name, for messages.

    Raises
    ------
    ConfigError
        If an override names a parameter the design does not have.
    """
    known = {f.name for f in fields(defaults)}  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(
            f"simulate.params for design {design!r}: unknown parameter(s) {unknown}; "
            f"known parameters: {', '.join(sorted(known))}"
        )
    return replace(defaults, **dict(overrides))  # type: ignore[type-var]


def normal_expectation(fn: Callable[[np.ndarray], np.ndarray]) -> float:
    """E[fn(Z)] for Z ~ N(0, 1), by 160-point Gauss-Hermite quadrature."""
    return float(np.sum(_WEIGHTS * fn(_NODES)))


def logit_normal_moments(mu: float, sigma: float) -> tuple[float, float, float]:
    """Mean, SD and ``Cov(Z, expit(mu + sigma Z))`` of a logit-normal variable.

    ``Cov(Z, f(Z)) = E[f'(Z)]`` (Stein's lemma), which is what a normal variable correlated ``rho``
    with Z sees: ``Cov(X, f(Z)) = rho * Cov(Z, f(Z))`` for (X, Z) jointly standard normal.
    """
    mean = normal_expectation(lambda z: expit(mu + sigma * z))
    second = normal_expectation(lambda z: expit(mu + sigma * z) ** 2)
    cov_z = normal_expectation(lambda z: z * expit(mu + sigma * z))
    return mean, float(np.sqrt(second - mean**2)), cov_z


def sheppard_factor(sd: float, step: float = 1.0) -> float:
    """Attenuation of a correlation by rounding a smooth variable of SD ``sd`` to a grid of ``step``.

    Rounding adds (very nearly) independent uniform error of variance ``step**2 / 12`` (Sheppard).
    """
    return float(sd / np.sqrt(sd**2 + step**2 / 12.0))


def nearest_correlation_check(corr: np.ndarray, what: str) -> np.ndarray:
    """Raise if a latent correlation matrix is not positive definite (targets mutually impossible)."""
    eig = np.linalg.eigvalsh(corr)
    if eig.min() <= 1e-10:
        raise ConfigError(
            f"{what}: the requested correlations are mutually impossible (latent correlation matrix not "
            f"positive definite, smallest eigenvalue {eig.min():.3g}); change the overriding parameters"
        )
    return corr
