"""Liao et al. design: grip, 30-s sit-to-stand, 1-back and 2-back accuracy, activities of daily living.

Reference: Liao et al. (2024), Front. Aging Neurosci., doi:10.3389/fnagi.2024.1453527 (review ref 37),
n = 245 older adults. Published Pearson correlations: grip-1-back 0.342, grip-2-back 0.215,
sit-to-stand-1-back 0.616, sit-to-stand-2-back 0.441. Their structural equation model: grip and sit-to-stand
-> 1-back accuracy -> activities of daily living (ADL).

Generation
----------
Latent standard normals ``(X_grip, X_sts, Z1, Z2, A)`` with a correlation matrix solved so that the
*observed* Pearson correlations equal the targets exactly:

* ``grip_kg = m_f + delta * male + sd_g * X_grip`` (sex independent of everything else);
* ``sts30 = round(m_s + sd_s * X_sts)`` (rounding attenuates by Sheppard's factor);
* ``nback{1,2}_acc = expit(mu_k + s_k * Z_k)`` in (0, 1); for (X, Z) jointly normal
  ``Cov(X, f(Z)) = rho * E[f'(Z)]`` (Stein's lemma), so ``r_obs = rho * corr(Z, f(Z)) * (sd_g / SD(grip))``;
* ``adl = 100 - c * (1 - nback1_acc) - G`` with ``G ~ Gamma`` independent: ADL depends on the others only
  through 1-back accuracy (the path structure is true), is at most 100, and ``c`` gives the chosen
  correlation of ADL with 1-back accuracy.

The linear path model ``nback1_acc ~ grip_kg + sts30``, ``adl ~ nback1_acc`` then has population
coefficients computed here from the observed-scale covariance matrix (truth rows ``path_*``, source
``derived``); the direct paths grip -> ADL and sit-to-stand -> ADL are exactly zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaincinv, expit, ndtr

from musclecog.simulate import SimulatedCohort, truth_table
from musclecog.simulate.calibration import (
    logit_normal_moments,
    nearest_correlation_check,
    sheppard_factor,
    with_overrides,
)


@dataclass(frozen=True)
class LiaoParams:
    """Calibrated parameters of the Liao design (overridable with ``simulate.params``)."""

    r_grip_1back: float = 0.342  # review
    r_grip_2back: float = 0.215  # review
    r_sts_1back: float = 0.616  # review
    r_sts_2back: float = 0.441  # review
    r_grip_sts: float = 0.35  # literature-plausible (grip vs chair stands in older adults)
    r_1back_2back_latent: float = 0.55  # chosen
    r_1back_adl: float = 0.30  # chosen: ADL depends on 1-back accuracy
    r_age_latent: float = -0.20  # chosen: older -> weaker, slower, less accurate
    share_male: float = 0.45
    grip_mean_female: float = 21.0
    grip_male_excess: float = 10.0
    grip_sd_within_sex: float = 5.5
    sts_mean: float = 14.0
    sts_sd: float = 4.5
    acc1_logit_mean: float = 1.6
    acc1_logit_sd: float = 0.9
    acc2_logit_mean: float = 0.7
    acc2_logit_sd: float = 0.9
    adl_gamma_shape: float = 1.2
    adl_gamma_scale: float = 4.0


@dataclass(frozen=True)
class _Solved:
    corr: np.ndarray
    adl_slope: float
    grip_sd: float
    sts_var: float
    acc1: tuple[float, float, float]
    acc2: tuple[float, float, float]


def _solve(p: LiaoParams) -> _Solved:
    sd_grip = float(
        np.sqrt(p.grip_sd_within_sex**2 + p.share_male * (1 - p.share_male) * p.grip_male_excess**2)
    )
    shrink_g = p.grip_sd_within_sex / sd_grip
    shrink_s = sheppard_factor(p.sts_sd)
    acc1 = logit_normal_moments(p.acc1_logit_mean, p.acc1_logit_sd)
    acc2 = logit_normal_moments(p.acc2_logit_mean, p.acc2_logit_sd)
    kappa1 = acc1[2] / acc1[1]
    kappa2 = acc2[2] / acc2[1]
    a = p.r_age_latent
    # order: X_grip, X_sts, Z1, Z2, A
    corr = np.array(
        [
            [
                1.0,
                p.r_grip_sts / (shrink_g * shrink_s),
                p.r_grip_1back / (shrink_g * kappa1),
                p.r_grip_2back / (shrink_g * kappa2),
                a,
            ],
            [0.0, 1.0, p.r_sts_1back / (shrink_s * kappa1), p.r_sts_2back / (shrink_s * kappa2), a],
            [0.0, 0.0, 1.0, p.r_1back_2back_latent, a],
            [0.0, 0.0, 0.0, 1.0, a],
            [0.0, 0.0, 0.0, 0.0, 1.0],
        ]
    )
    corr = np.triu(corr) + np.triu(corr, 1).T
    nearest_correlation_check(corr, "design liao")
    var_g = p.adl_gamma_shape * p.adl_gamma_scale**2
    r = p.r_1back_adl
    slope = r * np.sqrt(var_g) / (acc1[1] * np.sqrt(1 - r**2))
    return _Solved(corr, float(slope), sd_grip, p.sts_sd**2 + 1 / 12, acc1, acc2)


def path_coefficients(p: LiaoParams | None = None) -> dict[str, float]:
    """Population coefficients of Liao's path model on the observed scale.

    Returns
    -------
    dict
        ``acc1_on_grip`` and ``acc1_on_sts`` (accuracy per kg and per chair stand, jointly),
        ``adl_on_acc1`` (ADL points per unit accuracy), the indirect effects of grip and sit-to-stand on
        ADL through 1-back accuracy, and the zero direct effects.
    """
    p = p or LiaoParams()
    s = _solve(p)
    cov_xx = np.array(
        [
            [s.grip_sd**2, p.grip_sd_within_sex * p.sts_sd * s.corr[0, 1]],
            [p.grip_sd_within_sex * p.sts_sd * s.corr[0, 1], s.sts_var],
        ]
    )
    cov_xy = np.array([p.grip_sd_within_sex * s.corr[0, 2] * s.acc1[2], p.sts_sd * s.corr[1, 2] * s.acc1[2]])
    b = np.linalg.solve(cov_xx, cov_xy)
    return {
        "acc1_on_grip": float(b[0]),
        "acc1_on_sts": float(b[1]),
        "adl_on_acc1": s.adl_slope,
        "indirect_grip_adl": float(b[0] * s.adl_slope),
        "indirect_sts_adl": float(b[1] * s.adl_slope),
        "direct_grip_adl": 0.0,
        "direct_sts_adl": 0.0,
        "r2_acc1": float(b @ cov_xy / s.acc1[1] ** 2),
    }


def simulate_liao(seed: int, n: int = 245, **params: Any) -> SimulatedCohort:
    """Simulate the Liao et al. cohort.

    Parameters
    ----------
    seed : int
        Random seed (same seed and n, same data).
    n : int
        Number of people (245 in the source).
    **params
        Overrides of :class:`LiaoParams`.

    Returns
    -------
    SimulatedCohort
        Columns ``id, age, sex, grip_kg, sts30, nback1_acc, nback2_acc, adl``; truth rows for the four
        correlations (review), the path coefficients (derived) and the chosen values (literature).
    """
    p = with_overrides(LiaoParams(), params, "liao")
    s = _solve(p)
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 5)) @ np.linalg.cholesky(s.corr).T
    male = rng.random(n) < p.share_male
    grip = p.grip_mean_female + p.grip_male_excess * male + p.grip_sd_within_sex * latent[:, 0]
    sts = np.clip(np.round(p.sts_mean + p.sts_sd * latent[:, 1]), 0, 60)
    acc1 = expit(p.acc1_logit_mean + p.acc1_logit_sd * latent[:, 2])
    acc2 = expit(p.acc2_logit_mean + p.acc2_logit_sd * latent[:, 3])
    gamma = rng.gamma(p.adl_gamma_shape, p.adl_gamma_scale, n)
    adl = np.clip(100.0 - s.adl_slope * (1.0 - acc1) - gamma, 0, 100)
    age = np.floor(60 + 35 * betaincinv(2.0, 4.0, ndtr(latent[:, 4])))
    data = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": age,
            "sex": np.where(male, "male", "female"),
            "grip_kg": np.round(np.clip(grip, 0.5, None), 1),
            "sts30": sts,
            "nback1_acc": np.round(acc1, 4),
            "nback2_acc": np.round(acc2, 4),
            "adl": np.round(adl, 1),
        }
    )
    paths = path_coefficients(p)
    rows: list[tuple[str, float, str, str]] = [
        ("r_grip_nback1_acc", p.r_grip_1back, "Pearson r", "review"),
        ("r_grip_nback2_acc", p.r_grip_2back, "Pearson r", "review"),
        ("r_sts30_nback1_acc", p.r_sts_1back, "Pearson r", "review"),
        ("r_sts30_nback2_acc", p.r_sts_2back, "Pearson r", "review"),
        ("r_grip_sts30", p.r_grip_sts, "Pearson r", "literature"),
        ("r_nback1_acc_adl", p.r_1back_adl, "Pearson r", "literature"),
        (
            "path_nback1_acc_on_grip_kg",
            paths["acc1_on_grip"],
            "accuracy per kg (adjusted for sts30)",
            "derived",
        ),
        (
            "path_nback1_acc_on_sts30",
            paths["acc1_on_sts"],
            "accuracy per stand (adjusted for grip)",
            "derived",
        ),
        ("path_adl_on_nback1_acc", paths["adl_on_acc1"], "ADL points per unit accuracy", "derived"),
        ("indirect_grip_kg_adl_via_nback1_acc", paths["indirect_grip_adl"], "ADL points per kg", "derived"),
        ("indirect_sts30_adl_via_nback1_acc", paths["indirect_sts_adl"], "ADL points per stand", "derived"),
        ("direct_grip_kg_adl", 0.0, "ADL points per kg", "derived"),
        ("direct_sts30_adl", 0.0, "ADL points per stand", "derived"),
        ("r_squared_nback1_acc_on_grip_sts30", paths["r2_acc1"], "proportion", "derived"),
        ("mean_nback1_acc", s.acc1[0], "proportion", "literature"),
        ("mean_nback2_acc", s.acc2[0], "proportion", "literature"),
    ]
    return SimulatedCohort(data=data, truth=truth_table(rows))


DESIGNS: dict[str, Callable[..., SimulatedCohort]] = {"liao": simulate_liao}
