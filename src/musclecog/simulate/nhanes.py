"""NHANES 1999-2002-style design: DXA lean mass, knee-extensor force, DSST, survey design, mortality.

Reference: Wang et al. (2024), BMC Geriatrics, doi:10.1186/s12877-024-05035-9 (review ref 35):
NHANES 1999-2002 participants aged 60+ with DXA (n = 2,540). DSST 43.56 +- 18.36 in people with low
muscle mass by the FNIH ALM criterion (ALM < 19.75 kg men, < 15.02 kg women; Studenski et al. 2014,
doi:10.1093/gerona/glu010) vs 47.56 +- 17.44 otherwise; lower DSST with low ALM/BMI (< 0.789 men,
< 0.512 women) in each age group 60-69, 70-79, 80+.

Generation
----------
* ``z ~ N(0, 1)``: ALM within sex, ``alm_kg = m_sex + s_sex * z`` (means and SDs plausible for NHANES
  DXA at ages 60+, Kelly et al. 2009, doi:10.1371/journal.pone.0007038; *literature*). The low-ALM
  share follows: ``Phi((cut - m) / s)`` per sex.
* Age, height, BMI, knee-extensor force and an education latent load on ``z`` (older, shorter, lighter
  people have less lean mass) plus correlated residuals; ``e`` (the DSST residual) is independent of
  ``z`` and correlated with the age and education residuals.
* ``q``: the normal score of ``z`` *within* its (sex, low-ALM) group, which is exactly N(0, 1) in each
  group; ``t = rho q + sqrt(1 - rho^2) e`` is therefore exactly N(0, 1) within each low-ALM group, and
  ``dsst = 133 * BetaInv(Phi(t); a_g, b_g)`` has exactly the published mean and SD in each group, lies
  in [0, 133], rises with ALM within groups and falls with age. A small PSU effect (centred over the PSU
  shares) is added and the score rounded; the Beta SD is reduced by both variances so the group SDs
  stay exact.
* Survey design: 15 strata x 2 PSUs (coded 1/2 within stratum, as NHANES' SDMVPSU), weights that
  depend on race/ethnicity (oversampling) and stratum, not on DSST or lean mass, so weighted and
  unweighted estimands coincide.
* Mortality: exponential hazard ``lambda0 * exp(b_age (age - 70) + b_male male + log(HR) low_ALM)``,
  administrative censoring after 12-16 years (linked mortality to 2015); HR 1.40 for low muscle mass
  (adjusted for age and sex), a value in the range pooled analyses of low muscle mass and all-cause
  mortality in older adults report (*literature*).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaincinv, ndtr, ndtri

from musclecog.simulate import SimulatedCohort, truth_table
from musclecog.simulate.calibration import nearest_correlation_check, with_overrides

FNIH_ALM = {"male": 19.75, "female": 15.02}
"""FNIH low ALM cut-offs (kg), Studenski et al. 2014."""
FNIH_ALM_BMI = {"male": 0.789, "female": 0.512}
"""FNIH low ALM/BMI cut-offs (m^2), Studenski et al. 2014."""
AWGS_ALM_HEIGHT2 = {"male": 7.0, "female": 5.4}
"""AWGS 2019 low ALM/height^2 cut-offs (kg/m^2), Chen et al. 2020."""

RACES = ("Non-Hispanic White", "Non-Hispanic Black", "Mexican American", "Other Hispanic", "Other")
_RACE_SHARES = np.array([0.55, 0.17, 0.20, 0.04, 0.04])
_RACE_WEIGHT = np.array([1.3, 0.5, 0.35, 0.8, 1.0])
EDUCATION_LEVELS = ("less than high school", "high school", "more than high school")
_EDU_SHARES = np.array([0.35, 0.27, 0.38])
SURVEY = {"weight": "survey_weight", "strata": "survey_strata", "psu": "survey_psu"}


@dataclass(frozen=True)
class NhanesParams:
    """Calibrated parameters of the NHANES 1999-2002-style design (overridable with ``simulate.params``)."""

    dsst_low_mean: float = 43.56  # review (Wang et al.)
    dsst_low_sd: float = 18.36  # review
    dsst_normal_mean: float = 47.56  # review
    dsst_normal_sd: float = 17.44  # review
    alm_mean_male: float = 22.8  # literature (NHANES DXA, ages 60+)
    alm_sd_male: float = 3.4
    alm_mean_female: float = 16.6
    alm_sd_female: float = 3.1
    share_male: float = 0.47
    rho_dsst_alm_within: float = 0.35  # chosen: DSST rises with ALM within low/normal groups
    age_share_60_69: float = 0.45
    age_share_70_79: float = 0.35
    hr_death_low_mm: float = 1.40  # literature
    hr_death_per_year: float = 1.09
    hr_death_male: float = 1.45
    death_rate_at_70: float = 0.025  # per year, women with normal ALM
    n_strata: int = 15
    psu_sd_dsst: float = 1.5  # points; between-PSU SD of DSST (design effect about 1.6 for a mean)
    weight_scale: float = 12000.0


# Loadings on z (ALM) of the latents, and the correlations of their residuals.
_LOAD = {"age": -0.20, "height": 0.55, "bmi": 0.45, "knee": 0.50, "edu": 0.0}
_RESID_ORDER = ("age", "height", "bmi", "knee", "edu", "e")
_RESID_CORR = np.array(
    [
        # age   height  bmi   knee   edu    e
        [1.00, -0.10, -0.10, -0.30, -0.15, -0.30],
        [-0.10, 1.00, 0.00, 0.10, 0.10, 0.00],
        [-0.10, 0.00, 1.00, 0.10, -0.10, -0.10],
        [-0.30, 0.10, 0.10, 1.00, 0.05, 0.10],
        [-0.15, 0.10, -0.10, 0.05, 1.00, 0.40],
        [-0.30, 0.00, -0.10, 0.10, 0.40, 1.00],
    ]
)


def _beta_shape(mean: float, sd: float, scale: float = 133.0) -> tuple[float, float]:
    mu, var = mean / scale, (sd / scale) ** 2
    k = mu * (1 - mu) / var - 1
    return mu * k, (1 - mu) * k


_GRID = np.linspace(-9.0, 9.0, 18001)


@lru_cache(maxsize=16)
def _beta_table(a: float, b: float) -> np.ndarray:
    """``133 * BetaInv(Phi(t); a, b)`` on :data:`_GRID` (computed once per shape: the cohort and its Monte
    Carlo truth share it)."""
    table = 133.0 * betaincinv(a, b, ndtr(_GRID))
    table.flags.writeable = False
    return table


def _beta_score(t: np.ndarray, a: float, b: float) -> np.ndarray:
    """``133 * BetaInv(Phi(t); a, b)``, interpolated on a fine grid of t (error < 1e-4 points; exact
    inversion costs 2 microseconds per value)."""
    return np.interp(t, _GRID, _beta_table(a, b))


def _age_from_uniform(u: np.ndarray, p: NhanesParams) -> np.ndarray:
    """Integer age 60-85 (85 = 85 and over, as NHANES top-codes) with the given age-group shares."""
    s1, s2 = p.age_share_60_69, p.age_share_60_69 + p.age_share_70_79
    age = np.where(
        u < s1,
        60 + 10 * u / s1,
        np.where(u < s2, 70 + 10 * (u - s1) / (s2 - s1), 80 + 6 * (u - s2) / (1 - s2)),
    )
    return np.minimum(np.floor(age), 85.0)


def _below(male: np.ndarray, value: np.ndarray, cut: dict[str, float]) -> np.ndarray:
    """``value`` below the sex-specific cut-off (a boolean array)."""
    return value < np.where(male, cut["male"], cut["female"])


def low_muscle_mass_flags(data: pd.DataFrame) -> pd.DataFrame:
    """The three low-muscle-mass definitions from raw columns (for calibration checks).

    Uses ``alm_kg``, ``bmi``, ``height_cm``, ``sex`` and the cut-offs :data:`FNIH_ALM`,
    :data:`FNIH_ALM_BMI`, :data:`AWGS_ALM_HEIGHT2` (the ingest step derives the same flags).
    """
    male = (data["sex"] == "male").to_numpy()
    alm = data["alm_kg"].to_numpy()
    alm_height2 = alm / (data["height_cm"].to_numpy() / 100) ** 2
    return pd.DataFrame(
        {
            "low_mm_fnih_alm": _below(male, alm, FNIH_ALM).astype(int),
            "low_mm_fnih_alm_bmi": _below(male, alm / data["bmi"].to_numpy(), FNIH_ALM_BMI).astype(int),
            "low_mm_awgs": _below(male, alm_height2, AWGS_ALM_HEIGHT2).astype(int),
        },
        index=data.index,
    )


@dataclass(frozen=True)
class _Core:
    """What :func:`stratified_truth` needs of a population (the first draws of the random stream)."""

    male: np.ndarray
    alm: np.ndarray
    low: np.ndarray  # low ALM (FNIH)
    z: np.ndarray  # the ALM score
    resid: dict[str, np.ndarray]  # the correlated residuals of the latents (:data:`_RESID_ORDER`)
    dsst: np.ndarray
    stratum: np.ndarray  # 0-based
    psu: np.ndarray  # 0/1 within stratum
    age: np.ndarray
    bmi: np.ndarray  # not rounded


def _latent(z: np.ndarray, resid: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The latent ``name``: its loading on ``z`` (:data:`_LOAD`) plus its residual."""
    load = _LOAD[name]
    return load * z + np.sqrt(1 - load**2) * resid[name]


def _core(p: NhanesParams, rng: np.random.Generator, n: int) -> _Core:
    """Sex, ALM, DSST, survey strata and PSUs, age and BMI: the draws up to the PSU effects, in stream order.

    :func:`_generate` continues the same stream for the remaining columns, so the Monte Carlo truth (which
    stops here) sees exactly the values the full generator would.
    """
    corr = nearest_correlation_check(_RESID_CORR, "design nhanes_1999_2002 (residual correlations)")
    male = rng.random(n) < p.share_male
    z = rng.standard_normal(n)
    resid = rng.standard_normal((n, len(_RESID_ORDER))) @ np.linalg.cholesky(corr).T
    r = {name: resid[:, i] for i, name in enumerate(_RESID_ORDER)}

    alm = np.round(
        np.where(male, p.alm_mean_male + p.alm_sd_male * z, p.alm_mean_female + p.alm_sd_female * z), 3
    )
    alm = np.maximum(alm, 6.0)  # a far-tail guard (below every cut-off, so no flag changes)
    cut = np.where(male, FNIH_ALM["male"], FNIH_ALM["female"])
    low = alm < cut
    # normal score of z within its (sex, low) group: exactly N(0, 1) in each group
    u_cut = ndtr(
        np.where(male, (cut - p.alm_mean_male) / p.alm_sd_male, (cut - p.alm_mean_female) / p.alm_sd_female)
    )
    pz = ndtr(z)
    within = np.where(low, pz / u_cut, (pz - u_cut) / (1 - u_cut))
    q = ndtri(np.clip(within, 1e-12, 1 - 1e-12))
    rho = p.rho_dsst_alm_within
    t = rho * q + np.sqrt(1 - rho**2) * r["e"]

    n_strata = p.n_strata
    strata_shares = rng.dirichlet(np.full(n_strata, 10.0))
    stratum = np.searchsorted(np.cumsum(strata_shares), rng.random(n) * (1 - 1e-12), side="right")
    psu = (rng.random(n) < 0.5).astype(int)  # 0/1 within stratum
    psu_shares = np.repeat(strata_shares / 2, 2)
    raw = rng.standard_normal(2 * n_strata)
    raw = raw - psu_shares @ raw
    psu_effect = p.psu_sd_dsst * raw / np.sqrt(psu_shares @ raw**2)

    extra_var = p.psu_sd_dsst**2 + 1 / 12  # PSU effect and rounding, taken out of the Beta SD
    base = np.empty(n)
    for sel, mean, sd in ((low, p.dsst_low_mean, p.dsst_low_sd), (~low, p.dsst_normal_mean, p.dsst_normal_sd)):
        base[sel] = _beta_score(t[sel], *_beta_shape(mean, np.sqrt(sd**2 - extra_var)))
    dsst = np.clip(np.round(base + psu_effect[2 * stratum + psu]), 0, 133) + 0.0  # + 0.0: no negative zero

    age = _age_from_uniform(ndtr(_latent(z, r, "age")), p)
    bmi = np.clip(np.exp(np.where(male, np.log(27.5), np.log(27.8)) + 0.16 * _latent(z, r, "bmi")), 15, 60)
    return _Core(male=male, alm=alm, low=low, z=z, resid=r, dsst=dsst, stratum=stratum, psu=psu, age=age, bmi=bmi)


def _generate(p: NhanesParams, seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = _core(p, rng, n)
    male, stratum = c.male, c.stratum
    lat = {k: _latent(c.z, c.resid, k) for k in ("height", "knee", "edu")}
    height = np.where(male, 174.0 + 7.0 * lat["height"], 160.0 + 6.5 * lat["height"])
    weight = c.bmi * (height / 100) ** 2
    knee = np.clip(np.where(male, 370.0 + 90.0 * lat["knee"], 240.0 + 65.0 * lat["knee"]), 30, None)
    edu = np.searchsorted(np.cumsum(_EDU_SHARES), ndtr(lat["edu"]) * (1 - 1e-12), side="right")
    race = np.searchsorted(np.cumsum(_RACE_SHARES), rng.random(n) * (1 - 1e-12), side="right")
    stratum_factor = np.exp(0.3 * rng.standard_normal(p.n_strata))
    weight_survey = (
        p.weight_scale * _RACE_WEIGHT[race] * stratum_factor[stratum] * np.exp(0.3 * rng.standard_normal(n))
    )

    log_hr = (
        np.log(p.hr_death_per_year) * (c.age - 70)
        + np.log(p.hr_death_male) * male
        + np.log(p.hr_death_low_mm) * c.low
    )
    t_death = rng.exponential(1.0, n) / (p.death_rate_at_70 * np.exp(log_hr))
    censor = rng.uniform(12.0, 16.0, n)
    death = t_death <= censor
    follow = np.minimum(t_death, censor)

    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": c.age,
            "sex": np.where(male, "male", "female"),
            "race": np.asarray(RACES, dtype=object)[race],
            "education": np.asarray(EDUCATION_LEVELS, dtype=object)[edu],
            "height_cm": np.round(height, 1),
            "weight_kg": np.round(weight, 1),
            "bmi": np.round(c.bmi, 2),
            "alm_kg": c.alm,
            "knee_ext_peak_n": np.round(knee, 1),
            "dsst": c.dsst,
            "survey_weight": np.round(weight_survey, 2),
            "survey_strata": stratum + 1,
            "survey_psu": c.psu + 1,
            "followup_years": np.round(np.maximum(follow, 1 / 365.25), 3),
            "death": death.astype(int),
        }
    )


AGE_GROUPS = (("60-69", 69.0), ("70-79", 79.0), ("80+", np.inf))
"""Age groups of the stratified truth and their upper bounds (ages are whole years, 60 and over)."""


@lru_cache(maxsize=8)
def stratified_truth(p: NhanesParams = NhanesParams(), n: int = 400_000) -> pd.DataFrame:
    """Population DSST differences by ALM/BMI-defined low muscle mass within age groups (Monte Carlo).

    Not available in closed form (the ALM/BMI flag mixes ALM and BMI), so computed once per parameter set
    from a large simulated population (fixed internal seed; Monte Carlo SE about 0.1 points at ages 60-69 and 0.2 at 80+).
    Only the columns the flag and the groups need are generated (the first draws of :func:`_generate`'s
    stream, so the numbers are those of the full table's ``bmi`` (rounded), ``alm_kg``, ``age`` and ``dsst``).
    """
    c = _core(p, np.random.default_rng(1), n)
    low_all = _below(c.male, c.alm / np.round(c.bmi, 2), FNIH_ALM_BMI)
    rows = []
    lower = 59.0
    for label, upper in AGE_GROUPS:
        sel = (c.age > lower) & (c.age <= upper)
        lower = upper
        low = low_all[sel]
        d = c.dsst[sel]
        rows.append((label, float(d[low].mean() - d[~low].mean())))
    return pd.DataFrame(rows, columns=["age_group", "difference"])


def simulate_nhanes(seed: int, n: int = 2540, **params: Any) -> SimulatedCohort:
    """Simulate the NHANES 1999-2002-style cohort (age 60+).

    Parameters
    ----------
    seed : int
        Random seed.
    n : int
        Number of people (2,540 in the source).
    **params
        Overrides of :class:`NhanesParams`.

    Returns
    -------
    SimulatedCohort
        Columns ``id, age, sex, race, education, height_cm, weight_kg, bmi, alm_kg, knee_ext_peak_n, dsst,
        survey_weight, survey_strata, survey_psu, followup_years, death``; the truth table; and the
        survey mapping ``{weight: survey_weight, strata: survey_strata, psu: survey_psu}``.
    """
    p = with_overrides(NhanesParams(), params, "nhanes_1999_2002")
    data = _generate(p, seed, n)
    share_m = float(ndtr((FNIH_ALM["male"] - p.alm_mean_male) / p.alm_sd_male))
    share_f = float(ndtr((FNIH_ALM["female"] - p.alm_mean_female) / p.alm_sd_female))
    rows: list[tuple[str, float, str, str]] = [
        ("dsst_mean_low_mm_fnih_alm", p.dsst_low_mean, "DSST points", "review"),
        ("dsst_sd_low_mm_fnih_alm", p.dsst_low_sd, "DSST points", "review"),
        ("dsst_mean_normal_fnih_alm", p.dsst_normal_mean, "DSST points", "review"),
        ("dsst_sd_normal_fnih_alm", p.dsst_normal_sd, "DSST points", "review"),
        (
            "dsst_difference_low_mm_fnih_alm",
            p.dsst_low_mean - p.dsst_normal_mean,
            "DSST points (low minus normal)",
            "derived",
        ),
        ("share_low_mm_fnih_alm_male", share_m, "proportion", "literature"),
        ("share_low_mm_fnih_alm_female", share_f, "proportion", "literature"),
        (
            "share_low_mm_fnih_alm",
            p.share_male * share_m + (1 - p.share_male) * share_f,
            "proportion",
            "literature",
        ),
        ("alm_mean_male", p.alm_mean_male, "kg", "literature"),
        ("alm_sd_male", p.alm_sd_male, "kg", "literature"),
        ("alm_mean_female", p.alm_mean_female, "kg", "literature"),
        ("alm_sd_female", p.alm_sd_female, "kg", "literature"),
        (
            "hr_death_low_mm_fnih_alm",
            p.hr_death_low_mm,
            "hazard ratio, adjusted for age and sex",
            "literature",
        ),
        ("hr_death_per_year_of_age", p.hr_death_per_year, "hazard ratio per year", "literature"),
        ("hr_death_male", p.hr_death_male, "hazard ratio, men vs women", "literature"),
        ("psu_sd_dsst", p.psu_sd_dsst, "DSST points between PSUs", "literature"),
    ]
    for _, row in stratified_truth(p).iterrows():
        rows.append(
            (
                f"dsst_difference_low_mm_fnih_alm_bmi_age_{row['age_group']}",
                float(row["difference"]),
                "DSST points (low minus normal ALM/BMI), Monte Carlo n = 400,000",
                "derived",
            )
        )
    return SimulatedCohort(data=data, truth=truth_table(rows), survey=dict(SURVEY))


DESIGNS: dict[str, Callable[..., SimulatedCohort]] = {"nhanes_1999_2002": simulate_nhanes}
