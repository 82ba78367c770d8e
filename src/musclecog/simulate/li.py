"""Li et al. design: physical activity -> grip strength -> 1-back accuracy -> MoCA (a serial chain).

Reference: Li et al. (2023), Front. Aging Neurosci., doi:10.3389/fnagi.2023.1283864 (review ref 40),
about 109 older adults analysed. Published: r(physical activity, grip) = 0.559, r(grip, 1-back accuracy) =
0.417, R² of the cognitive score on 1-back accuracy = 0.116. The source describes the chain
PA -> grip -> working memory -> cognition without fitting it as a formal serial mediation.

Generation (the serial chain is the true structure: each variable depends only on the one before it)
----------
* ``pa_level = 45 + 14 X`` (a 0-100 activity scale score; X standard normal);
* ``grip_kg = a + b * pa_level + e`` with ``b`` giving r(PA, grip) = 0.559 exactly;
* ``nback1_acc = expit(mu + s Z)``, ``Z = g * grip_z + sqrt(1 - g^2) u``: Stein's lemma gives
  ``r(grip, acc) = g * corr(Z, expit(mu + s Z))``, solved for ``g`` so the observed r is 0.417;
* ``moca = round(30 - d * (1 - nback1_acc) - G)``, ``G ~ Gamma`` independent, ``d`` solved so the
  R² of MoCA on 1-back accuracy is 0.116 after rounding (Sheppard's correction).

Truth rows ``path_*`` are the population coefficients of the linear serial-mediation model
(``grip ~ pa``, ``acc ~ grip + pa``, ``moca ~ acc + grip + pa``); every direct path that skips a link is
exactly zero, because each conditional mean depends on the previous link only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from musclecog.errors import ConfigError
from musclecog.simulate import SimulatedCohort, truth_table
from musclecog.simulate.calibration import logit_normal_moments, with_overrides


@dataclass(frozen=True)
class LiParams:
    """Calibrated parameters of the Li design (overridable with ``simulate.params``)."""

    r_pa_grip: float = 0.559  # review
    r_grip_1back: float = 0.417  # review
    r2_moca_1back: float = 0.116  # review
    pa_mean: float = 45.0
    pa_sd: float = 14.0
    grip_mean: float = 27.0
    grip_sd: float = 8.0
    acc_logit_mean: float = 1.4
    acc_logit_sd: float = 0.9
    moca_gamma_shape: float = 4.0
    moca_gamma_scale: float = 1.0


def _solve(p: LiParams) -> dict[str, float]:
    mean, sd, cov_z = logit_normal_moments(p.acc_logit_mean, p.acc_logit_sd)
    kappa = cov_z / sd
    g = p.r_grip_1back / kappa
    if abs(g) >= 1:
        raise ConfigError(
            f"simulate.params for design li: r_grip_1back = {p.r_grip_1back} is not reachable with this accuracy transform; choose |r| < {kappa:.3f}"
        )
    var_gamma = p.moca_gamma_shape * p.moca_gamma_scale**2
    r2 = p.r2_moca_1back
    # R2 = d^2 v / (d^2 v + var_gamma + 1/12)  (rounding to integers adds 1/12)
    d = float(np.sqrt(r2 * (var_gamma + 1 / 12) / ((1 - r2) * sd**2)))
    a1 = p.r_pa_grip * p.grip_sd / p.pa_sd
    b = g * cov_z / p.grip_sd  # linear projection of accuracy on grip (accuracy per kg)
    return {"acc_mean": mean, "acc_sd": sd, "g": g, "moca_slope": d, "grip_on_pa": a1, "acc_on_grip": b}


def path_coefficients(p: LiParams | None = None) -> dict[str, float]:
    """Population coefficients of the serial chain PA -> grip -> 1-back accuracy -> MoCA (observed scale)."""
    p = p or LiParams()
    s = _solve(p)
    return {
        "grip_on_pa": s["grip_on_pa"],
        "acc_on_grip": s["acc_on_grip"],
        "moca_on_acc": s["moca_slope"],
        "indirect_serial": s["grip_on_pa"] * s["acc_on_grip"] * s["moca_slope"],
    }


def simulate_li(seed: int, n: int = 109, **params: Any) -> SimulatedCohort:
    """Simulate the Li et al. cohort.

    Parameters
    ----------
    seed : int
        Random seed.
    n : int
        Number of people (about 109 in the source).
    **params
        Overrides of :class:`LiParams`.

    Returns
    -------
    SimulatedCohort
        Columns ``id, pa_level, grip_kg, nback1_acc, moca`` and the truth table.
    """
    p = with_overrides(LiParams(), params, "li")
    s = _solve(p)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    x_pa = z[:, 0]
    r = p.r_pa_grip
    x_grip = r * x_pa + np.sqrt(1 - r**2) * z[:, 1]
    latent_acc = s["g"] * x_grip + np.sqrt(1 - s["g"] ** 2) * z[:, 2]
    pa = np.clip(p.pa_mean + p.pa_sd * x_pa, 0, 100)
    grip = p.grip_mean + p.grip_sd * x_grip
    acc = expit(p.acc_logit_mean + p.acc_logit_sd * latent_acc)
    moca = np.clip(
        np.round(30.0 - s["moca_slope"] * (1.0 - acc) - rng.gamma(p.moca_gamma_shape, p.moca_gamma_scale, n)),
        0,
        30,
    )
    data = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "pa_level": np.round(pa, 1),
            "grip_kg": np.round(np.clip(grip, 0.5, None), 1),
            "nback1_acc": np.round(acc, 4),
            "moca": moca,
        }
    )
    paths = path_coefficients(p)
    rows: list[tuple[str, float, str, str]] = [
        ("r_pa_level_grip", p.r_pa_grip, "Pearson r", "review"),
        ("r_grip_nback1_acc", p.r_grip_1back, "Pearson r", "review"),
        ("r_squared_moca_on_nback1_acc", p.r2_moca_1back, "proportion", "review"),
        ("r_pa_level_nback1_acc", p.r_pa_grip * p.r_grip_1back, "Pearson r", "derived"),
        ("path_grip_kg_on_pa_level", paths["grip_on_pa"], "kg per scale point", "derived"),
        ("path_nback1_acc_on_grip_kg", paths["acc_on_grip"], "accuracy per kg", "derived"),
        ("path_moca_on_nback1_acc", paths["moca_on_acc"], "MoCA points per unit accuracy", "derived"),
        ("indirect_pa_level_moca_serial", paths["indirect_serial"], "MoCA points per scale point", "derived"),
        ("direct_pa_level_nback1_acc", 0.0, "accuracy per scale point", "derived"),
        ("direct_pa_level_moca", 0.0, "MoCA points per scale point", "derived"),
        ("direct_grip_kg_moca", 0.0, "MoCA points per kg", "derived"),
        ("mean_nback1_acc", s["acc_mean"], "proportion", "literature"),
    ]
    return SimulatedCohort(data=data, truth=truth_table(rows))


DESIGNS: dict[str, Callable[..., SimulatedCohort]] = {"li": simulate_li}
