"""A 7-year prospective cohort of older adults: low muscle mass and cognitive decline (design ``cohort7y``).

The review (ref. 41) reports, for a cohort of 1,978 older Chinese adults followed for 7 years, that low muscle
mass steepens the decline of a multidimensional cognitive score by beta = -0.14 score points per year (p = 0.002),
consistently in men and women. This design generates that cohort in long format (one row per person x wave).

Generating model (linear mixed model, both sexes)::

    cognition_ij = b0 + b_male*male_i + b_age*(age0_i - 70) + b_low*low_i
                   + (s0 + s_age*(age0_i - 70) + beta*low_i) * t_ij
                   + u0_i + u1_i * t_ij + e_ij

with (u0_i, u1_i) bivariate normal (correlated random intercept and slope), e_ij ~ N(0, sigma_e^2) and
``beta = -0.14`` (score points per year; the review's number) in each sex. Waves are at 0, 2, 4 and 7 years.
Low muscle mass is the AWGS 2019 definition (ALM/height^2 < 7.0 kg/m^2 men, < 5.4 kg/m^2 women; Chen et al. 2020,
doi:10.1016/j.jamda.2019.12.012) applied to the generated DXA ALM and height: the column ``low_muscle_mass`` (0/1)
is constant within a person (baseline exposure). Dropout is monotone and completely at random (a fixed
probability of leaving before each follow-up wave), so the mixed model stays unbiased; the number of rows
lost is reported in the truth table (``rows_lost_to_dropout``).

The score is continuous and unbounded (not clipped), on an MMSE-like 0-30 metric with baseline mean about 26.
Everything the review does not give (variance components, prevalence of low muscle mass, the level difference,
the age effects, dropout) is a plausible value labelled ``literature`` in the truth table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from musclecog.simulate import SimulatedCohort, truth_table

SOURCE_N = 1978
"""Cohort size reported in the review (ref. 41)."""

DEFAULTS: dict[str, Any] = {
    "waves_years": (0.0, 2.0, 4.0, 7.0),
    "beta_low_x_time": -0.14,  # review: extra decline per year with low muscle mass (both sexes)
    "intercept": 26.0,
    "male_effect": 0.4,
    "age_effect": -0.15,  # per year of baseline age above 70
    "low_level_effect": -0.5,  # baseline difference, low vs normal muscle mass
    "slope_normal": -0.10,  # score points per year, normal muscle mass, age 70
    "slope_age_effect": -0.006,  # steeper decline per year of baseline age above 70
    "sd_intercept": 2.5,
    "sd_slope": 0.30,
    "corr_intercept_slope": 0.2,
    "sd_residual": 2.0,
    "dropout_per_wave": 0.06,
    "age_mean": 70.0,
    "age_sd": 6.0,
    "alm_h2_mean_men": 7.4,
    "alm_h2_sd_men": 0.9,
    "alm_h2_mean_women": 5.9,
    "alm_h2_sd_women": 0.8,
}
"""Calibrated parameters; any of them may be overridden through ``simulate: {params: ...}``."""

AWGS_CUTOFF = {"male": 7.0, "female": 5.4}
"""AWGS 2019 low muscle mass cut-offs for ALM/height^2 (kg/m^2)."""


def simulate_cohort7y(seed: int, n: int = SOURCE_N, **params: Any) -> SimulatedCohort:
    """Simulate the 7-year cohort (long format: id, wave, time_years, cognition, low_muscle_mass, ...).

    Parameters
    ----------
    seed : int
        Random seed (``numpy.random.default_rng``); the same seed and n give identical data.
    n : int
        Number of people (default 1,978, the source's n).
    **params
        Overrides of :data:`DEFAULTS` (e.g. ``beta_low_x_time=-0.2``, ``dropout_per_wave=0``).

    Returns
    -------
    SimulatedCohort
        ``data`` with columns id, wave, time_years, age, sex, education, height_cm, weight_kg, bmi, alm_kg,
        low_muscle_mass, cognition; ``truth`` with the generating parameters.
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        from musclecog.errors import ConfigError

        raise ConfigError(
            f"simulate.params for design cohort7y: unknown parameter(s) {unknown}; known: {sorted(DEFAULTS)}"
        )
    p = {**DEFAULTS, **params}
    n = int(n)
    if n < 1:
        from musclecog.errors import ConfigError

        raise ConfigError(f"simulate.n for design cohort7y must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    times = np.asarray(p["waves_years"], dtype=float)
    n_waves = times.size

    # --- people (baseline) ---
    male = rng.random(n) < 0.47
    sex = np.where(male, "male", "female")
    age0 = np.clip(rng.normal(p["age_mean"], p["age_sd"], n), 60.0, 95.0)
    education = rng.choice(np.array(["none", "primary", "secondary_or_more"]), size=n, p=[0.35, 0.40, 0.25])
    height = np.where(male, rng.normal(165.0, 6.5, n), rng.normal(153.0, 6.0, n))
    alm_h2 = np.where(
        male,
        rng.normal(p["alm_h2_mean_men"], p["alm_h2_sd_men"], n),
        rng.normal(p["alm_h2_mean_women"], p["alm_h2_sd_women"], n),
    )
    alm_h2 = np.clip(alm_h2, 3.0, 12.0)
    alm = alm_h2 * (height / 100.0) ** 2
    bmi = np.clip(rng.normal(23.0, 3.3, n) + 1.2 * (alm_h2 - np.where(male, 7.4, 5.9)), 14.0, 45.0)
    weight = bmi * (height / 100.0) ** 2
    low = (alm_h2 < np.where(male, AWGS_CUTOFF["male"], AWGS_CUTOFF["female"])).astype(np.int64)

    # --- random effects ---
    sd0, sd1, rho = p["sd_intercept"], p["sd_slope"], p["corr_intercept_slope"]
    cov = np.array([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    u = rng.multivariate_normal(np.zeros(2), cov, size=n, method="cholesky")

    # --- long format, vectorised over person x wave ---
    t = np.tile(times, n)
    idx = np.repeat(np.arange(n), n_waves)
    agec = age0 - 70.0
    level = (
        p["intercept"]
        + p["male_effect"] * male
        + p["age_effect"] * agec
        + p["low_level_effect"] * low
        + u[:, 0]
    )
    slope = p["slope_normal"] + p["slope_age_effect"] * agec + p["beta_low_x_time"] * low + u[:, 1]
    cognition = level[idx] + slope[idx] * t + rng.normal(0.0, p["sd_residual"], idx.size)

    # monotone MCAR dropout: the wave at which each person leaves (n_waves = never)
    leave = rng.random((n, n_waves - 1)) < p["dropout_per_wave"]
    first_missing = np.where(leave.any(axis=1), leave.argmax(axis=1) + 1, n_waves)
    keep = np.tile(np.arange(n_waves), n) < first_missing[idx]

    data = pd.DataFrame(
        {
            "id": (idx + 1)[keep],
            "wave": np.tile(np.arange(n_waves), n)[keep],
            "time_years": t[keep],
            "age": np.round(age0[idx] + t, 2)[keep],
            "sex": pd.Categorical(sex[idx][keep], categories=["female", "male"]),
            "education": pd.Categorical(
                education[idx][keep], categories=["none", "primary", "secondary_or_more"]
            ),
            "height_cm": np.round(height, 1)[idx][keep],
            "weight_kg": np.round(weight, 1)[idx][keep],
            "bmi": np.round(bmi, 2)[idx][keep],
            "alm_kg": np.round(alm, 2)[idx][keep],
            "low_muscle_mass": low[idx][keep],
            "cognition": cognition[keep],
        }
    )
    rows_lost = int(idx.size - keep.sum())
    truth = truth_table(
        [
            (
                "beta_low_muscle_mass_x_time",
                p["beta_low_x_time"],
                "score points per year (low vs normal)",
                "review",
            ),
            ("beta_low_muscle_mass_x_time_women", p["beta_low_x_time"], "score points per year", "review"),
            ("beta_low_muscle_mass_x_time_men", p["beta_low_x_time"], "score points per year", "review"),
            ("slope_normal_muscle_mass_age70", p["slope_normal"], "score points per year", "literature"),
            (
                "slope_per_year_of_baseline_age",
                p["slope_age_effect"],
                "score points per year per year",
                "literature",
            ),
            ("level_low_muscle_mass", p["low_level_effect"], "score points at baseline", "literature"),
            ("level_male", p["male_effect"], "score points", "literature"),
            ("level_per_year_of_baseline_age", p["age_effect"], "score points per year of age", "literature"),
            ("intercept_female_age70_normal", p["intercept"], "score points", "literature"),
            ("sd_random_intercept", sd0, "score points", "literature"),
            ("sd_random_slope", sd1, "score points per year", "literature"),
            ("corr_random_intercept_slope", rho, "correlation", "literature"),
            ("var_residual", p["sd_residual"] ** 2, "score points squared", "literature"),
            (
                "prevalence_low_muscle_mass",
                float(low.mean()),
                "proportion (AWGS 2019, this sample)",
                "derived",
            ),
            (
                "dropout_per_wave",
                p["dropout_per_wave"],
                "probability of leaving before each follow-up wave",
                "literature",
            ),
            ("rows_lost_to_dropout", float(rows_lost), "person-waves", "derived"),
            ("n_people", float(n), "people", "derived"),
        ]
    )
    return SimulatedCohort(data=data, truth=truth)


DESIGNS = {"cohort7y": simulate_cohort7y}
