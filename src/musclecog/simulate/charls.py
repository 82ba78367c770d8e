"""A CHARLS-style cohort: grip strength, cognition over 2011-2018 and incident cognitive impairment (design ``charls``).

Liu et al. 2019 (Front Aging Neurosci 11:250, doi:10.3389/fnagi.2019.00250; review ref. 42) followed 9,333 CHARLS
participants aged 45+ (53.2% women, mean age 58.6) from 2011 (W1) to 2015 (W3). Global cognition = episodic memory
(0-10) + mental intactness (0-11), baseline 13.7 +- 5.7. Comparing the highest with the lowest baseline grip group,
W3 cognition was higher by beta = 1.061 (women) and 1.233 (men); after also adjusting for baseline cognition by
0.543 (women) and 0.742 (men) (source abstract); GEE showed slower decline with higher grip.

Generating model, separately by sex (``q`` = sex-specific quartile of baseline grip, 1 = lowest, 4 = highest;
``x`` = baseline age and education)::

    cognition_ij = a_sex + e_edu + g_age*(age0_i - 58.6) + L_sex*(q_i - 1)
                   + (s0 + s_age*(age0_i - 58.6) + S_sex*(q_i - 1)) * t_ij + u0_i + u1_i * t_ij + e_ij

Waves (``wave`` 0, 1, 2, 3) are the years 2011, 2013, 2015, 2018 (``time_years`` 0, 2, 4, 7); Liu's "W3" is
``wave == 2``. The two published betas per sex fix ``L_sex`` and ``S_sex`` exactly (population values):

* W3 cognition on grip quartile dummies, age and education (no baseline cognition):
  ``beta_q4 = 3*L + 3*S*t3`` with ``t3 = 4`` years;
* the same plus baseline cognition: ``beta_q4 = (1 - k)*3*L + 3*S*t3``, where
  ``k = (var_u0 + t3*cov_u01) / (var_u0 + var_e)`` is the regression of W3 on W1 cognition within covariate
  strata (the random effects and errors are normal and independent of q and x, so both regressions are linear).

Hence ``3*L = (beta - beta_adj) / k`` and ``3*S*t3 = beta - 3*L``: higher grip gives a higher level and a slower
decline in both sexes. Grip strength (``grip_kg``) is time-varying (declining with age plus measurement noise);
``grip_group`` holds the baseline quartile, constant within a person.

Incident cognitive impairment (one record per person, repeated on each of its rows): Gompertz hazard in attained
age, ``h(a) = lambda * exp(gamma*(a - 60)) * HR^((4 - q)/3)`` with ``HR`` = 1.5 for the lowest vs the highest grip
quartile (a plausible literature value, not from the review), censored at 7 years (2018) or at random loss to
follow-up. Because the hazard is proportional in attained age, a Cox model on the age scale (entry_age ->
exit_age) and one on follow-up time adjusted for baseline age both estimate this HR. Columns:
``followup_years``, ``cognitive_impairment`` (1 = incident impairment during follow-up), ``entry_age``,
``exit_age``. The impairment process is generated independently of the cognition trajectories (it is a
separate calibrated outcome, not a threshold of ``cognition``).

Monotone dropout completely at random from the repeated cognition waves (rows lost counted in the truth table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError
from musclecog.simulate import SimulatedCohort, truth_table

SOURCE_N = 9333
"""Liu et al. 2019 analysed 9,333 CHARLS participants."""

YEARS_ALL = (2011, 2013, 2015, 2018)
EDUCATION_LEVELS = ("illiterate", "primary", "middle_school", "high_school_or_more")

DEFAULTS: dict[str, Any] = {
    "years": YEARS_ALL,
    "beta_w3_women": 1.061,  # review/source: highest vs lowest grip group, W3 cognition
    "beta_w3_men": 1.233,
    "beta_w3_adj_women": 0.543,  # source abstract: also adjusted for baseline cognition
    "beta_w3_adj_men": 0.742,
    "hr_impairment_lowest_vs_highest": 1.5,  # literature (plausible); not given by the review
    "prop_women": 0.532,
    "age_mean": 58.6,
    "age_sd": 8.7,
    "intercept_women": 9.35,
    "intercept_men": 10.55,
    "education_effects": (0.0, 3.5, 6.0, 8.0),
    "education_probs": (0.30, 0.39, 0.21, 0.10),
    "age_effect": -0.12,
    "slope_lowest_group": -0.20,
    "slope_age_effect": -0.01,
    "sd_intercept": 3.4,
    "sd_slope": 0.30,
    "corr_intercept_slope": 0.0,
    "sd_residual": 2.4,
    "dropout_per_wave": 0.05,
    "grip_decline_per_year": 0.35,
    "grip_noise_sd": 2.5,
    "impairment_rate_age60": 0.012,  # per year at age 60 in the highest grip quartile
    "impairment_gompertz_gamma": 0.09,
    "loss_to_followup_rate": 0.02,
    "max_followup_years": 7.0,
}
"""Calibrated parameters; any may be overridden through ``simulate: {params: ...}``."""


def lagged_stability(p: dict[str, Any], t3: float) -> float:
    """k: the within-covariate regression slope of cognition at time ``t3`` on baseline cognition."""
    var0 = p["sd_intercept"] ** 2
    cov01 = p["corr_intercept_slope"] * p["sd_intercept"] * p["sd_slope"]
    return (var0 + t3 * cov01) / (var0 + p["sd_residual"] ** 2)


def grip_effects(p: dict[str, Any], t3: float = 4.0) -> dict[str, tuple[float, float]]:
    """Per-quartile-step level and slope effects ``(L, S)`` for each sex implied by the published betas."""
    k = lagged_stability(p, t3)
    out = {}
    for sex in ("women", "men"):
        beta, beta_adj = p[f"beta_w3_{sex}"], p[f"beta_w3_adj_{sex}"]
        level_q4 = (beta - beta_adj) / k
        slope_q4 = (beta - level_q4) / t3
        out[sex] = (level_q4 / 3.0, slope_q4 / 3.0)
    return out


def _quartile_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Sex-specific sample quartile (1-4) by rank (ties broken by order, as pandas.qcut on ranks)."""
    out = np.empty(values.size, dtype=np.int64)
    for g in np.unique(groups):
        sel = np.flatnonzero(groups == g)
        ranks = np.empty(sel.size, dtype=np.int64)
        ranks[np.argsort(values[sel], kind="stable")] = np.arange(sel.size)
        out[sel] = 1 + (4 * ranks) // sel.size
    return out


def simulate_charls(seed: int, n: int = SOURCE_N, **params: Any) -> SimulatedCohort:
    """Simulate the CHARLS-style cohort (long format), calibrated to Liu et al. 2019.

    Parameters
    ----------
    seed : int
        Random seed (``numpy.random.default_rng``).
    n : int
        Number of people (default 9,333).
    **params
        Overrides of :data:`DEFAULTS`, e.g. ``years=[2011, 2013, 2015]`` for Liu's three waves.

    Returns
    -------
    SimulatedCohort
        ``data`` columns: id, wave, year, time_years, age, sex, education, grip_kg, grip_group, cognition,
        followup_years, cognitive_impairment, entry_age, exit_age.
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"simulate.params for design charls: unknown parameter(s) {unknown}; known: {sorted(DEFAULTS)}"
        )
    p = {**DEFAULTS, **params}
    n = int(n)
    if n < 4:
        raise ConfigError(f"simulate.n for design charls must be at least 4 (grip quartiles), got {n}")
    years = np.asarray(p["years"], dtype=int)
    if years[0] != 2011 or np.any(np.diff(years) <= 0):
        raise ConfigError(
            f"simulate.params.years for design charls must start at 2011 and increase, got {list(years)}"
        )
    if 2015 not in years:
        raise ConfigError(
            "simulate.params.years for design charls must include 2015 (Liu's W3, the calibration wave)"
        )
    times = (years - 2011).astype(float)
    n_waves = times.size
    t3 = 4.0
    rng = np.random.default_rng(seed)

    # --- people ---
    female = rng.random(n) < p["prop_women"]
    sex = np.where(female, "female", "male")
    age0 = np.clip(rng.normal(p["age_mean"], p["age_sd"], n), 45.0, 95.0)
    edu_idx = rng.choice(len(EDUCATION_LEVELS), size=n, p=np.asarray(p["education_probs"], float))
    agec = age0 - p["age_mean"]
    grip0 = np.where(
        female,
        rng.normal(27.0, 7.0, n) - 0.25 * agec,
        rng.normal(37.0, 9.0, n) - 0.35 * agec,
    )
    grip0 = np.clip(grip0, 2.0, 90.0)
    q = _quartile_within(grip0, female.astype(np.int64))

    eff = grip_effects(p, t3)
    step_level = np.where(female, eff["women"][0], eff["men"][0])
    step_slope = np.where(female, eff["women"][1], eff["men"][1])

    sd0, sd1, rho = p["sd_intercept"], p["sd_slope"], p["corr_intercept_slope"]
    cov = np.array([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    u = rng.multivariate_normal(np.zeros(2), cov, size=n, method="cholesky")

    level = (
        np.where(female, p["intercept_women"], p["intercept_men"])
        + np.asarray(p["education_effects"], float)[edu_idx]
        + p["age_effect"] * agec
        + step_level * (q - 1)
        + u[:, 0]
    )
    slope = p["slope_lowest_group"] + p["slope_age_effect"] * agec + step_slope * (q - 1) + u[:, 1]

    idx = np.repeat(np.arange(n), n_waves)
    t = np.tile(times, n)
    wave = np.tile(np.arange(n_waves), n)
    cognition = level[idx] + slope[idx] * t + rng.normal(0.0, p["sd_residual"], idx.size)
    grip = (
        grip0[idx]
        - p["grip_decline_per_year"] * t
        + np.where(t > 0, rng.normal(0.0, p["grip_noise_sd"], idx.size), 0.0)
    )
    grip = np.clip(grip, 1.0, 95.0)

    # --- incident cognitive impairment: Gompertz in attained age, proportional hazards ---
    log_hr_step = np.log(p["hr_impairment_lowest_vs_highest"]) / 3.0
    gamma, lam = p["impairment_gompertz_gamma"], p["impairment_rate_age60"]
    scale = lam * np.exp(gamma * (age0 - 60.0) + log_hr_step * (4 - q))
    event_time = np.log1p(gamma * rng.exponential(1.0, n) / scale) / gamma
    censor = np.minimum(rng.exponential(1.0 / p["loss_to_followup_rate"], n), p["max_followup_years"])
    followup = np.minimum(event_time, censor)
    event = (event_time <= censor).astype(np.int64)

    leave = rng.random((n, max(n_waves - 1, 1))) < p["dropout_per_wave"]
    first_missing = np.where(leave.any(axis=1), leave.argmax(axis=1) + 1, n_waves)
    keep = wave < first_missing[idx]

    data = pd.DataFrame(
        {
            "id": (idx + 1)[keep],
            "wave": wave[keep],
            "year": years[wave][keep],
            "time_years": t[keep],
            "age": np.round(age0[idx] + t, 2)[keep],
            "sex": pd.Categorical(sex[idx][keep], categories=["female", "male"]),
            "education": pd.Categorical(
                np.asarray(EDUCATION_LEVELS)[edu_idx][idx][keep], categories=list(EDUCATION_LEVELS)
            ),
            "grip_kg": np.round(grip, 1)[keep],
            "grip_group": q[idx][keep],
            "cognition": cognition[keep],
            "followup_years": followup[idx][keep],
            "cognitive_impairment": event[idx][keep],
            "entry_age": age0[idx][keep],
            "exit_age": (age0 + followup)[idx][keep],
        }
    )
    k = lagged_stability(p, t3)
    rows = [
        (
            "beta_w3_cognition_q4_vs_q1_women",
            p["beta_w3_women"],
            "score points (W3 = 2015; adjusted for age, education)",
            "review",
        ),
        (
            "beta_w3_cognition_q4_vs_q1_men",
            p["beta_w3_men"],
            "score points (W3 = 2015; adjusted for age, education)",
            "review",
        ),
        (
            "beta_w3_cognition_q4_vs_q1_adj_baseline_women",
            p["beta_w3_adj_women"],
            "score points (also adjusted for baseline cognition)",
            "literature",
        ),
        (
            "beta_w3_cognition_q4_vs_q1_adj_baseline_men",
            p["beta_w3_adj_men"],
            "score points (also adjusted for baseline cognition)",
            "literature",
        ),
    ]
    for sex_name in ("women", "men"):
        step_l, step_s = eff[sex_name]
        rows += [
            (f"level_q4_vs_q1_{sex_name}", 3 * step_l, "score points", "derived"),
            (
                f"slope_q4_vs_q1_{sex_name}",
                3 * step_s,
                "score points per year (grip_group 4 vs 1 x time)",
                "derived",
            ),
            (f"level_per_grip_quartile_{sex_name}", step_l, "score points per quartile step", "derived"),
            (
                f"slope_per_grip_quartile_{sex_name}",
                step_s,
                "score points per year per quartile step",
                "derived",
            ),
        ]
    rows += [
        ("lagged_stability_k", k, "regression of 2015 on 2011 cognition within covariates", "derived"),
        ("slope_lowest_grip_group_age_mean", p["slope_lowest_group"], "score points per year", "literature"),
        ("sd_random_intercept", sd0, "score points", "literature"),
        ("sd_random_slope", sd1, "score points per year", "literature"),
        ("corr_random_intercept_slope", rho, "correlation", "literature"),
        ("var_residual", p["sd_residual"] ** 2, "score points squared", "literature"),
        (
            "hr_impairment_q1_vs_q4",
            p["hr_impairment_lowest_vs_highest"],
            "hazard ratio, lowest vs highest grip quartile",
            "literature",
        ),
        (
            "hr_impairment_q4_vs_q1",
            1.0 / p["hr_impairment_lowest_vs_highest"],
            "hazard ratio, highest vs lowest grip quartile",
            "derived",
        ),
        (
            "hr_impairment_per_year_of_age",
            float(np.exp(gamma)),
            "hazard ratio per year of age (Gompertz)",
            "literature",
        ),
        ("incident_impairment_events", float(event.sum()), "people", "derived"),
        (
            "dropout_per_wave",
            p["dropout_per_wave"],
            "probability of leaving before each follow-up wave",
            "literature",
        ),
        ("rows_lost_to_dropout", float(idx.size - keep.sum()), "person-waves", "derived"),
        ("n_people", float(n), "people", "derived"),
    ]
    return SimulatedCohort(data=data, truth=truth_table(rows))


DESIGNS = {"charls": simulate_charls}
