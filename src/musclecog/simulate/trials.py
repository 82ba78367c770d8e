"""Exercise trials: change in strength and change in cognition (designs ``trial_power``, ``trial_smart``,
``trial_toegrip``).

All three designs are in **long format**: one row per person x wave, with ``id``, ``wave`` (0 = baseline,
1 = end of the intervention), ``time_years``, the allocation (``arm`` label and ``treatment`` 0/1) and the
measures at each wave. Change scores are follow-up minus baseline; the mediation module computes them from
the long table (``changes: {id: id, wave: wave, baseline: 0, followup: 1}`` in an analysis).

Each change score is generated as a linear combination of independent standardised Beta(2, 2) variables
(mean 0, SD 1, bounded by +/- sqrt(5)), so that (i) the population correlation / regression coefficient
equals the calibrated value exactly and (ii) every baseline and follow-up value stays within the variable
dictionary's range with no clipping.

``trial_power`` (Zhao et al. 2022, doi:10.1093/gerona/glac090; review ref. 43)
    GREAT2DO-style 12-month power training vs sham exercise in older adults with type 2 diabetes, n = 103.
    Allocation 1:1 (default 52 power training, 51 sham; ``power_fraction``). Within the power-training arm,
    the correlation of the change in knee-extension strength (kg) with the change in Trails B-A (s) is
    r = -0.41 (review; the source's correlation used about 32 power-arm participants with both measures, so
    our default n = 52 gives a smaller p-value than the source's 0.02). In the sham arm the correlation is 0
    (assumption, labelled ``literature``).
``trial_smart`` (Mavros et al. 2017, doi:10.1111/jgs.14542; review ref. 45)
    SMART: 2 x 2 factorial, progressive resistance training (PRT) vs sham exercise and computerised cognitive
    training vs sham, n = 100 in MCI, 25 per cell, 6 months (``time_years`` 0.5). The change in lower-body
    strength (sum of 1-RM, kg) mediates the PRT effect on the change in ADAS-Cog: a = 20 kg (PRT vs sham),
    b = -0.032 ADAS-Cog points per kg, indirect a b = -0.64 (the review's number; source 95% CI -1.38 to
    -0.004, which the residual SD 1.7 of the ADAS-Cog change reproduces in width at n = 100). The change in
    VO2peak (ml/kg/min) rises with PRT (+1.5) but has no effect on ADAS-Cog (b = 0): not a mediator.
    Cognitive training has no effect (as in SMART). Direct effect c' = -0.2 points (assumption).
``trial_toegrip`` (review ref. 44; doi:10.1186/s40101-019-0202-5)
    A single-arm 12-week toe-grip training programme in 35 frail nursing-home residents: the change in
    toe-grip strength (kg) correlates with the change in MMSE at r = 0.415.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from musclecog.simulate import SimulatedCohort, truth_table

SQRT5 = np.sqrt(5.0)


def _u(rng: np.random.Generator, size: int) -> np.ndarray:
    """Standardised Beta(2, 2): mean 0, SD 1, bounded by +/- sqrt(5)."""
    return (rng.beta(2.0, 2.0, size) - 0.5) * np.sqrt(20.0)


def _check_params(design: str, params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise TypeError(f"{design}: unknown parameter(s) {unknown}; known: {sorted(defaults)}")
    return {**defaults, **params}


def _balanced(rng: np.random.Generator, n: int, groups: int, fractions: list[float]) -> np.ndarray:
    """A randomly permuted allocation with group sizes as close as possible to ``n * fractions``."""
    sizes = np.floor(np.asarray(fractions) * n).astype(int)
    sizes[: n - sizes.sum()] += 1  # distribute the remainder to the first groups
    labels = np.repeat(np.arange(groups), sizes)
    return rng.permutation(labels)


def _long(base: dict[str, np.ndarray], wave0: dict[str, np.ndarray], wave1: dict[str, np.ndarray],
          followup_years: float) -> pd.DataFrame:
    """Stack baseline and follow-up into the long layout (id, wave, time_years, ...)."""
    n = len(next(iter(base.values())))
    frames = []
    for wave, values, t in ((0, wave0, 0.0), (1, wave1, followup_years)):
        frames.append(pd.DataFrame({"id": np.arange(1, n + 1), "wave": wave, "time_years": t, **base, **values}))
    return pd.concat(frames, ignore_index=True).sort_values(["id", "wave"], kind="stable").reset_index(drop=True)


def _covariates(rng: np.random.Generator, n: int, age_low: float, age_span: float) -> dict[str, Any]:
    age = age_low + age_span * rng.beta(2.0, 3.0, n)
    sex = pd.Categorical(np.where(rng.random(n) < 0.5, "male", "female"), categories=["female", "male"])
    return {"age": age, "sex": sex}


POWER_DEFAULTS: dict[str, Any] = {
    "r_power": -0.41,  # review: change in knee extension vs change in Trails B-A, power-training arm
    "r_sham": 0.0,  # assumption
    "power_fraction": 0.5,  # 1:1 randomisation
    "knee_gain_power": 5.0,  # kg over 12 months
    "knee_gain_sham": 1.0,
    "knee_change_sd": 3.5,
    "trails_change_power": -8.0,  # s (negative = faster = better)
    "trails_change_sham": -2.0,
    "trails_change_sd": 18.0,
}


def simulate_trial_power(seed: int, n: int = 103, **params: Any) -> SimulatedCohort:
    """Simulate the Zhao et al. 12-month power-training RCT (long format, two waves).

    Parameters
    ----------
    seed : int
        Random seed.
    n : int
        Participants randomised (default 103).
    **params
        Overrides of :data:`POWER_DEFAULTS`.

    Returns
    -------
    SimulatedCohort
        Columns id, wave, time_years, arm (power/sham), treatment, age, sex, knee_ext_kg, trails_ba.
    """
    p = _check_params("trial_power", params, POWER_DEFAULTS)
    rng = np.random.default_rng(seed)
    n = int(n)
    power = _balanced(rng, n, 2, [p["power_fraction"], 1.0 - p["power_fraction"]]) == 0
    cov = _covariates(rng, n, 60.0, 20.0)
    knee0 = 26.0 + 6.0 * _u(rng, n) * (3.0 / SQRT5)  # bounded by +/- 18 kg (SD 8)
    trails0 = 60.0 + 25.0 * _u(rng, n) * (3.0 / SQRT5)
    zx, z2 = _u(rng, n), _u(rng, n)
    r = np.where(power, p["r_power"], p["r_sham"])
    zy = r * zx + np.sqrt(1.0 - r**2) * z2
    dknee = np.where(power, p["knee_gain_power"], p["knee_gain_sham"]) + p["knee_change_sd"] * zx
    dtrails = np.where(power, p["trails_change_power"], p["trails_change_sham"]) + p["trails_change_sd"] * zy
    base = {
        "arm": pd.Categorical(np.where(power, "power", "sham"), categories=["sham", "power"]),
        "treatment": power.astype(np.int64),
        **cov,
    }
    data = _long(base, {"knee_ext_kg": knee0, "trails_ba": trails0},
                 {"knee_ext_kg": knee0 + dknee, "trails_ba": trails0 + dtrails}, followup_years=1.0)
    truth = truth_table(
        [
            ("r_change_knee_ext_change_trails_ba_power", p["r_power"], "Pearson r, power-training arm", "review"),
            ("r_change_knee_ext_change_trails_ba_sham", p["r_sham"], "Pearson r, sham arm", "literature"),
            ("power_fraction", p["power_fraction"], "share allocated to power training (1:1)", "literature"),
            ("knee_ext_gain_power", p["knee_gain_power"], "kg over 12 months", "literature"),
            ("knee_ext_gain_sham", p["knee_gain_sham"], "kg over 12 months", "literature"),
            ("trails_ba_change_power", p["trails_change_power"], "s over 12 months", "literature"),
            ("trails_ba_change_sham", p["trails_change_sham"], "s over 12 months", "literature"),
        ]
    )
    return SimulatedCohort(data=data, truth=truth)


SMART_DEFAULTS: dict[str, Any] = {
    "a_prt_on_strength_change": 20.0,  # kg, PRT vs sham
    "indirect": -0.64,  # review: indirect effect of PRT on ADAS-Cog change through strength change
    "direct": -0.2,  # ADAS-Cog points, PRT vs sham, not through strength (assumption)
    "vo2_gain_prt": 1.5,  # ml/kg/min
    "b_vo2": 0.0,  # VO2peak is not a mediator
    "strength_change_sd": 10.0,
    "adas_change_sd": 1.7,
}


def simulate_trial_smart(seed: int, n: int = 100, **params: Any) -> SimulatedCohort:
    """Simulate SMART (Mavros et al.): 2 x 2 factorial resistance / cognitive training in MCI, two waves.

    Parameters
    ----------
    seed : int
        Random seed.
    n : int
        Participants randomised (default 100; 25 per factorial cell).
    **params
        Overrides of :data:`SMART_DEFAULTS`.

    Returns
    -------
    SimulatedCohort
        Columns id, wave, time_years, arm (``prt+cct``, ``prt+sham``, ``sham+cct``, ``sham+sham``),
        treatment (PRT 1 / sham exercise 0), cog_training (0/1), age, sex, lower_body_strength_kg, vo2peak,
        adas_cog.
    """
    p = _check_params("trial_smart", params, SMART_DEFAULTS)
    rng = np.random.default_rng(seed)
    n = int(n)
    cell = _balanced(rng, n, 4, [0.25] * 4)
    prt = (cell < 2).astype(np.int64)
    cct = (cell % 2 == 0).astype(np.int64)
    arm_labels = np.array(["prt+cct", "prt+sham", "sham+cct", "sham+sham"])
    cov = _covariates(rng, n, 55.0, 35.0)
    a = float(p["a_prt_on_strength_change"])
    b = float(p["indirect"]) / a
    strength0 = 120.0 + 30.0 * _u(rng, n) * (3.0 / SQRT5)
    vo20 = 22.0 + 4.0 * _u(rng, n) * (3.0 / SQRT5)
    adas0 = 13.0 + 2.5 * _u(rng, n)
    dstrength = 5.0 + a * prt + p["strength_change_sd"] * _u(rng, n)
    dvo2 = 0.5 + p["vo2_gain_prt"] * prt + 2.0 * _u(rng, n)
    dadas = p["direct"] * prt + b * dstrength + p["b_vo2"] * dvo2 + p["adas_change_sd"] * _u(rng, n)
    base = {
        "arm": pd.Categorical(arm_labels[cell], categories=list(arm_labels)),
        "treatment": prt,
        "cog_training": cct,
        **cov,
    }
    data = _long(
        base,
        {"lower_body_strength_kg": strength0, "vo2peak": vo20, "adas_cog": adas0},
        {"lower_body_strength_kg": strength0 + dstrength, "vo2peak": vo20 + dvo2, "adas_cog": adas0 + dadas},
        followup_years=0.5,
    )
    truth = truth_table(
        [
            ("indirect_strength", float(p["indirect"]), "ADAS-Cog points (change), PRT vs sham, via strength change",
             "review"),
            ("a_prt_on_strength_change", a, "kg (sum of lower-body 1-RM), PRT vs sham", "literature"),
            ("b_strength_change_on_adas_change", b, "ADAS-Cog points per kg strength change", "derived"),
            ("direct_c_prime", float(p["direct"]), "ADAS-Cog points, PRT vs sham", "literature"),
            ("total_c", float(p["direct"]) + float(p["indirect"]), "ADAS-Cog points, PRT vs sham", "derived"),
            ("a_prt_on_vo2peak_change", float(p["vo2_gain_prt"]), "ml/kg/min, PRT vs sham", "literature"),
            ("b_vo2peak_change_on_adas_change", float(p["b_vo2"]), "ADAS-Cog points per ml/kg/min", "review"),
            ("indirect_vo2peak", float(p["vo2_gain_prt"]) * float(p["b_vo2"]), "ADAS-Cog points, via VO2peak",
             "derived"),
            ("cog_training_effect", 0.0, "ADAS-Cog points", "literature"),
        ]
    )
    return SimulatedCohort(data=data, truth=truth)


TOEGRIP_DEFAULTS: dict[str, Any] = {
    "r_change": 0.415,  # review: change in toe-grip strength vs change in MMSE
    "toe_grip_gain": 1.5,  # kg over 12 weeks
    "toe_grip_change_sd": 1.0,
    "mmse_change": 0.5,
    "mmse_change_sd": 1.2,
}


def simulate_trial_toegrip(seed: int, n: int = 35, **params: Any) -> SimulatedCohort:
    """Simulate the 12-week toe-grip training study (single arm, two waves).

    Parameters
    ----------
    seed : int
        Random seed.
    n : int
        Participants (default 35).
    **params
        Overrides of :data:`TOEGRIP_DEFAULTS`.

    Returns
    -------
    SimulatedCohort
        Columns id, wave, time_years, arm (``toe_grip_training``), treatment (1), age, sex, toe_grip_kg, mmse.
    """
    p = _check_params("trial_toegrip", params, TOEGRIP_DEFAULTS)
    rng = np.random.default_rng(seed)
    n = int(n)
    cov = _covariates(rng, n, 70.0, 30.0)
    toe0 = 6.0 + 1.5 * _u(rng, n) * (3.0 / SQRT5)
    mmse0 = 19.0 + 3.0 * _u(rng, n)
    r = float(p["r_change"])
    zx, z2 = _u(rng, n), _u(rng, n)
    dtoe = p["toe_grip_gain"] + p["toe_grip_change_sd"] * zx
    dmmse = p["mmse_change"] + p["mmse_change_sd"] * (r * zx + np.sqrt(1.0 - r**2) * z2)
    base = {
        "arm": pd.Categorical(np.repeat("toe_grip_training", n), categories=["toe_grip_training"]),
        "treatment": np.ones(n, dtype=np.int64),
        **cov,
    }
    data = _long(base, {"toe_grip_kg": toe0, "mmse": mmse0},
                 {"toe_grip_kg": toe0 + dtoe, "mmse": mmse0 + dmmse}, followup_years=12.0 / 52.1775)
    truth = truth_table(
        [
            ("r_change_toe_grip_change_mmse", r, "Pearson r of change scores", "review"),
            ("toe_grip_gain", float(p["toe_grip_gain"]), "kg over 12 weeks", "literature"),
            ("mmse_change", float(p["mmse_change"]), "MMSE points over 12 weeks", "literature"),
        ]
    )
    return SimulatedCohort(data=data, truth=truth)


DESIGNS = {
    "trial_power": simulate_trial_power,
    "trial_smart": simulate_trial_smart,
    "trial_toegrip": simulate_trial_toegrip,
}
"""Designs defined in this module."""
