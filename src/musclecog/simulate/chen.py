"""Chen et al.: mobility, knee-extension strength and MMSE in older adults (design ``chen``).

The review (ref. 39; Chen et al. 2022, doi:10.3389/fnagi.2022.984075) reports that lower-limb strength
mediates 20.1% of the association between mobility (Timed Up-and-Go, TUG) and global cognition (MMSE) in 595
older adults (Hayes PROCESS model 4). This design generates that cross-sectional table.

Generating model (linear, conditional on the covariates age, sex, education)::

    tug_s       = 6 + 0.12 (age - 60) + 0.6 female + 14 B_i,          B_i ~ Beta(2, 5)
    knee_ext_kg = k0 - 0.25 (age - 60) + 8 male + a (tug_s - 11) + 4 U_M
    mmse        = m0 + b (knee_ext_kg - 33) + c' (tug_s - 11) - 0.06 (age - 60) + 0.8 edu + 1.5 U_Y

with ``U_M, U_Y`` independent standardised Beta(4, 4) errors (mean 0, SD 1, bounded by +/-3 SD: near-normal
but bounded, so that every value stays inside the variable dictionary's range with no clipping and the linear
model holds exactly in the population) and ``edu`` = 0, 1, 2 for none, primary, secondary or more.

Units: ``a`` in kg of knee-extension strength per second of TUG (negative: slower TUG, weaker), ``b`` in MMSE
points per kg, ``c'`` and ``c = c' + a b`` in MMSE points per second of TUG. The calibration sets ``a = -0.8``
and ``b = 0.05`` (plausible values, labelled ``literature``) and derives ``c'`` so that the proportion mediated
``a b / c`` equals the review's 0.201 exactly in the population::

    c' = a b (1 - 0.201) / 0.201

These are the population coefficients of the PROCESS model 4 regressions adjusted for age, sex and education
(``knee_ext_kg ~ tug_s + covariates``, ``mmse ~ tug_s + knee_ext_kg + covariates``); an unadjusted analysis
estimates different (confounded) paths. MMSE is continuous (not rounded to integers), in 0-30.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from musclecog.simulate import SimulatedCohort, truth_table

SOURCE_N = 595
"""Complete cases in Chen et al. (the review's ref. 39)."""

DEFAULTS: dict[str, Any] = {
    "proportion_mediated": 0.201,  # review: share of the TUG -> MMSE effect mediated by knee-extension strength
    "a_tug_on_strength": -0.8,  # kg per s of TUG (literature-plausible)
    "b_strength_on_mmse": 0.05,  # MMSE points per kg (literature-plausible)
    "strength_intercept": 32.0,
    "strength_sd": 4.0,
    "mmse_intercept": 21.8,
    "mmse_sd": 1.5,
    "p_male": 0.45,
}
"""Calibrated parameters; any may be overridden through ``simulate: {params: ...}``. The range guarantees
(TUG 6-24 s, strength > 0 kg, MMSE within 0-30) hold for the defaults."""

EDUCATION_LEVELS = ("none", "primary", "secondary_or_more")


def standard_beta(rng: np.random.Generator, size: int, shape: float = 4.0) -> np.ndarray:
    """Standardised symmetric Beta(shape, shape) draws: mean 0, SD 1, bounded by ``+/- sqrt(2 shape + 1)``.

    Near-normal for ``shape = 4`` (bounded by +/-3 SD); used as an error distribution that keeps simulated
    scores inside their physical range without clipping (which would bend the linear model).
    """
    sd = np.sqrt(1.0 / (4.0 * (2.0 * shape + 1.0)))
    return (rng.beta(shape, shape, size) - 0.5) / sd


def simulate_chen(seed: int, n: int = SOURCE_N, **params: Any) -> SimulatedCohort:
    """Simulate the Chen et al. cross-sectional table (TUG, knee-extension strength, MMSE).

    Parameters
    ----------
    seed : int
        Random seed (``numpy.random.default_rng``); the same seed and n give identical data.
    n : int
        Number of people (default 595, the source's complete cases).
    **params
        Overrides of :data:`DEFAULTS` (e.g. ``proportion_mediated=0.3``).

    Returns
    -------
    SimulatedCohort
        ``data`` with columns id, age, sex, education, tug_s, knee_ext_kg, mmse; ``truth`` with the paths
        a, b, c', c, the indirect effect a*b and the proportion mediated (units in the table).
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"chen: unknown parameter(s) {unknown}; known: {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    rng = np.random.default_rng(seed)
    n = int(n)

    age = 60.0 + 30.0 * rng.beta(2.0, 4.0, n)
    male = rng.random(n) < p["p_male"]
    edu = rng.choice(3, size=n, p=[0.3, 0.4, 0.3])
    tug = 6.0 + 0.12 * (age - 60.0) + 0.6 * (~male) + 14.0 * rng.beta(2.0, 5.0, n)

    a = float(p["a_tug_on_strength"])
    b = float(p["b_strength_on_mmse"])
    pm = float(p["proportion_mediated"])
    indirect = a * b
    total = indirect / pm
    direct = total - indirect

    knee = (
        p["strength_intercept"]
        - 0.25 * (age - 60.0)
        + 8.0 * male
        + a * (tug - 11.0)
        + p["strength_sd"] * standard_beta(rng, n)
    )
    mmse = (
        p["mmse_intercept"]
        + b * (knee - 33.0)
        + direct * (tug - 11.0)
        - 0.06 * (age - 60.0)
        + 0.8 * edu
        + p["mmse_sd"] * standard_beta(rng, n)
    )
    data = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": age,
            "sex": pd.Categorical(np.where(male, "male", "female"), categories=["female", "male"]),
            "education": pd.Categorical(np.asarray(EDUCATION_LEVELS)[edu], categories=list(EDUCATION_LEVELS)),
            "tug_s": tug,
            "knee_ext_kg": knee,
            "mmse": mmse,
        }
    )
    truth = truth_table(
        [
            ("proportion_mediated", pm, "a*b/c (share of the TUG -> MMSE effect through knee_ext_kg)", "review"),
            ("a_tug_on_knee_ext", a, "kg knee_ext_kg per s tug_s (adjusted for age, sex, education)", "literature"),
            ("b_knee_ext_on_mmse", b, "MMSE points per kg knee_ext_kg (adjusted for tug_s and covariates)",
             "literature"),
            ("indirect_ab", indirect, "MMSE points per s tug_s", "derived"),
            ("direct_c_prime", direct, "MMSE points per s tug_s", "derived"),
            ("total_c", total, "MMSE points per s tug_s", "derived"),
            ("strength_residual_sd", float(p["strength_sd"]), "kg", "literature"),
            ("mmse_residual_sd", float(p["mmse_sd"]), "MMSE points", "literature"),
        ]
    )
    return SimulatedCohort(data=data, truth=truth)


DESIGNS = {"chen": simulate_chen}
"""Designs defined in this module."""
