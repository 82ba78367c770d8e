"""UK Biobank-style design: grip strength and cognition (Jiang et al.), two waves, genotypes for MR.

Reference: Jiang et al. (2022), BMC Medicine, doi:10.1186/s12916-022-02490-2 (review ref 36), about
40,000 UK Biobank participants; linear/logistic regressions with FDR correction, and a linear mixed model
with a random intercept for assessment centre. Published: grip -> reaction time t = -19.56; grip -> fluid
intelligence beta = 0.019; grip -> prospective memory OR = 1.27.

Units (chosen, since the review leaves them open; stated in the truth table)
-----------------------------------------------------------------------------
All three are read as *per SD of grip strength*, adjusted for age (linear), sex, education (factor) and
assessment centre:

* reaction time: t = -19.56 at n = 40,000 is a partial correlation r = t / sqrt(t^2 + df) = -0.0974;
  the data are generated so that the population partial correlation is exactly that;
* fluid intelligence: beta = 0.019 SD of fluid intelligence per SD of grip;
* prospective memory (correct at first attempt): OR = 1.27 per SD of grip, conditional on the covariates.

Structure
---------
``grip_kg = m(sex, age) + G + sigma_U * U + e`` with ``G`` a genetic score (20 SNPs with fixed effects
plus a polygenic remainder) and ``U`` an unmeasured confounder (general health) that also lowers reaction
time and raises fluid intelligence. The observational slopes therefore exceed the causal effects, which
are stated in the truth table for one-sample Mendelian randomization (``snp_1..snp_20``, ``prs_grip``:
valid instruments, no pleiotropy). Prospective memory has no confounding: its conditional OR is causal.
Assessment centres (22) carry random intercepts for reaction time and fluid intelligence, standardised
over the centre shares so that the calibration is exact for every seed.

Wave 1 (a random ``repeat_fraction`` of people, about 9 years later) repeats grip and cognition with
the same structural equations at the older age.
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
from musclecog.simulate.calibration import with_overrides

N_SNPS = 20
EDUCATION_LEVELS = ("degree", "secondary", "none")


@dataclass(frozen=True)
class UkbParams:
    """Calibrated parameters of the UKB-style design (overridable with ``simulate.params``)."""

    t_reaction_time: float = -19.56  # review (Jiang et al.)
    t_reference_n: int = 40000  # review: the n at which the t statistic was published
    beta_fluid_sd: float = 0.019  # review: SD of fluid intelligence per SD grip
    or_prospective_memory: float = 1.27  # review: per SD grip
    causal_reaction_time_ms_per_sd: float = -8.0  # chosen (literature-plausible), for MR
    causal_fluid_sd_per_sd: float = 0.010  # chosen (literature-plausible), for MR
    share_male: float = 0.46
    age_min: int = 40
    age_max: int = 69
    grip_female_at_55: float = 28.0
    grip_male_excess: float = 16.0
    grip_decline_per_year: float = 0.30
    grip_sd_male: float = 8.5
    grip_sd_female: float = 5.8
    var_snp_kg2: float = 1.5  # grip variance explained by the 20 SNPs (kg^2)
    var_polygenic_kg2: float = 1.5  # further polygenic variance captured by prs_grip (kg^2)
    confounder_sd_kg: float = 2.0  # sigma_U: effect of U (SD 1) on grip
    confounder_reaction_time_ms: float = -12.0  # effect of U on reaction time
    n_centres: int = 22
    centre_sd_reaction_time_ms: float = 8.0
    centre_sd_fluid: float = 0.15
    reaction_time_at_55: float = 540.0
    reaction_time_per_year: float = 2.0
    reaction_time_male: float = -12.0
    fluid_at_55: float = 6.0
    fluid_per_year: float = -0.02
    fluid_residual_sd: float = 1.75
    pm_prevalence_logit: float = 1.3
    pm_per_year: float = -0.03
    repeat_fraction: float = 0.5
    repeat_years_mean: float = 9.0
    dsst_at_55: float = 55.0  # chosen: DSST (symbol digit substitution, 0-133) at baseline
    dsst_per_year: float = -0.4  # chosen
    dsst_male: float = 1.0  # chosen
    dsst_grip_amplitude: float = 8.0  # chosen: the non-linear (saturating) grip effect, points
    dsst_grip_centre_kg: float = 30.0  # chosen: where the grip effect is steepest
    dsst_grip_width_kg: float = 15.0  # chosen
    dsst_residual_sd: float = 10.0  # chosen


DSST_CURVE_GRID = (15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0)
"""Grip values (kg) of the truth table's DSST dose-response rows (the default config's ``grid``)."""
DSST_CURVE_REFERENCE = 30.0
"""The reference grip (kg) of those rows (the default config's ``reference_value``)."""


def dsst_grip_effect(grip: np.ndarray, p: UkbParams) -> np.ndarray:
    """The non-linear effect of grip on baseline DSST: ``A tanh((grip - c) / w)`` (points)."""
    return p.dsst_grip_amplitude * np.tanh((np.asarray(grip, float) - p.dsst_grip_centre_kg) / p.dsst_grip_width_kg)


_EDU_SHARES = np.array([0.33, 0.47, 0.20])
_EDU_RT = np.array([-10.0, 0.0, 12.0])
_EDU_FLUID = np.array([0.8, 0.0, -0.6])
_EDU_PM = np.array([0.4, 0.0, -0.4])


def snp_effects(p: UkbParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The fixed per-allele effects on grip (kg) and effect-allele frequencies of ``snp_1..snp_20``.

    Design constants (the same for every seed), scaled so the 20 SNPs explain ``var_snp_kg2`` of grip.
    """
    p = p or UkbParams()
    rng = np.random.default_rng(20261125)
    eaf = np.round(rng.uniform(0.1, 0.5, N_SNPS), 3)
    raw = rng.uniform(0.5, 1.5, N_SNPS) * rng.choice([-1.0, 1.0], N_SNPS)
    scale = np.sqrt(p.var_snp_kg2 / np.sum(raw**2 * 2 * eaf * (1 - eaf)))
    return raw * scale, eaf


@dataclass(frozen=True)
class _Solved:
    grip_mean: float
    grip_sd: float
    v_g: float
    cug: float
    rt_obs_slope: float
    rt_resid_sd: float
    fluid_beta: float
    fluid_conf: float
    fluid_sd: float
    partial_r: float


def _solve(p: UkbParams) -> _Solved:
    pm = p.share_male
    ages = np.arange(p.age_min, p.age_max + 1)
    var_age = float(np.var(ages))
    mean_age = float(np.mean(ages))
    grip_mean = p.grip_female_at_55 + p.grip_male_excess * pm - p.grip_decline_per_year * (mean_age - 55)
    within = pm * p.grip_sd_male**2 + (1 - pm) * p.grip_sd_female**2
    grip_var = p.grip_male_excess**2 * pm * (1 - pm) + p.grip_decline_per_year**2 * var_age + within
    grip_sd = float(np.sqrt(grip_var))
    v_g = within / grip_var  # residual variance of grip_z given the covariates
    cug = p.confounder_sd_kg / grip_sd  # Cov(U, residual grip_z)
    # reaction time: partial correlation from t and the number of parameters of the adjusted model
    k = 2 + 1 + 1 + (len(EDUCATION_LEVELS) - 1) + (p.n_centres - 1)
    df = p.t_reference_n - k
    r = p.t_reaction_time / np.sqrt(p.t_reaction_time**2 + df)
    b, c = p.causal_reaction_time_ms_per_sd, p.confounder_reaction_time_ms
    cov_yg = b * v_g + c * cug
    var_res = cov_yg**2 / (r**2 * v_g)
    sigma2 = var_res - (b**2 * v_g + c**2 + 2 * b * c * cug)
    if sigma2 <= 0:
        raise ConfigError(
            "simulate.params for design ukb: the reaction-time calibration is impossible (residual variance "
            f"{sigma2:.3g} <= 0); lower |causal_reaction_time_ms_per_sd| or |confounder_reaction_time_ms|"
        )
    # fluid intelligence (latent points; observed = rounded): SD of observed depends on the slopes
    fluid_sd = 2.0
    for _ in range(50):
        beta = p.causal_fluid_sd_per_sd * fluid_sd
        conf = (p.beta_fluid_sd * fluid_sd - beta) * v_g / cug
        slope_age = p.fluid_per_year - beta * p.grip_decline_per_year / grip_sd
        slope_male = beta * p.grip_male_excess / grip_sd
        edu_mean = float(_EDU_SHARES @ _EDU_FLUID)
        var_edu = float(_EDU_SHARES @ (_EDU_FLUID - edu_mean) ** 2)
        var = (
            slope_age**2 * var_age
            + slope_male**2 * pm * (1 - pm)
            + var_edu
            + p.centre_sd_fluid**2
            + beta**2 * v_g
            + conf**2
            + 2 * beta * conf * cug
            + p.fluid_residual_sd**2
            + 1 / 12  # rounding to integer scores (Sheppard)
        )
        fluid_sd = float(np.sqrt(var))
    return _Solved(
        grip_mean=float(grip_mean),
        grip_sd=grip_sd,
        v_g=float(v_g),
        cug=float(cug),
        rt_obs_slope=float(cov_yg / v_g),
        rt_resid_sd=float(np.sqrt(sigma2)),
        fluid_beta=float(p.causal_fluid_sd_per_sd * fluid_sd),
        fluid_conf=float((p.beta_fluid_sd * fluid_sd - p.causal_fluid_sd_per_sd * fluid_sd) * v_g / cug),
        fluid_sd=fluid_sd,
        partial_r=float(r),
    )


def _standardised_effects(rng: np.random.Generator, shares: np.ndarray, sd: float) -> np.ndarray:
    """Random intercepts centred and scaled over the group shares (population mean 0, SD ``sd``)."""
    raw = rng.standard_normal(len(shares))
    raw = raw - shares @ raw
    return sd * raw / np.sqrt(shares @ raw**2)


def simulate_ukb(seed: int, n: int = 40000, **params: Any) -> SimulatedCohort:
    """Simulate the UK Biobank-style cohort (long format: one row per person and attended wave).

    Parameters
    ----------
    seed : int
        Random seed.
    n : int
        Number of people (40,000 by default; 500,000 takes a few seconds).
    **params
        Overrides of :class:`UkbParams`.

    Returns
    -------
    SimulatedCohort
        Columns ``id, wave, time_years, age, sex, centre, education, grip_kg, reaction_time_ms,
        fluid_intelligence, prospective_memory, prs_grip, snp_1..snp_20, dsst`` (``dsst`` at baseline only,
        with a non-linear grip effect: :func:`dsst_grip_effect`; truth rows ``dsst_grip_curve_<g>kg``).
    """
    p = with_overrides(UkbParams(), params, "ukb")
    s = _solve(p)
    gamma, eaf = snp_effects(p)
    rng = np.random.default_rng(seed)
    male = rng.random(n) < p.share_male
    age0 = rng.integers(p.age_min, p.age_max + 1, n).astype(float)
    edu = np.searchsorted(np.cumsum(_EDU_SHARES), rng.random(n) * (1 - 1e-12), side="right")
    centre_shares = rng.dirichlet(np.full(p.n_centres, 20.0))
    centre = np.searchsorted(np.cumsum(centre_shares), rng.random(n) * (1 - 1e-12), side="right")
    centre_rt = _standardised_effects(rng, centre_shares, p.centre_sd_reaction_time_ms)
    centre_fluid = _standardised_effects(rng, centre_shares, p.centre_sd_fluid)
    snps = rng.binomial(2, eaf, size=(n, N_SNPS)).astype(np.int8)
    g_snp = (snps - 2 * eaf) @ gamma
    g_poly = np.sqrt(p.var_polygenic_kg2) * rng.standard_normal(n)
    prs = (g_snp + g_poly) / np.sqrt(p.var_snp_kg2 + p.var_polygenic_kg2)
    u = rng.standard_normal(n)
    sd_sex = np.where(male, p.grip_sd_male, p.grip_sd_female)
    noise_sd = np.sqrt(sd_sex**2 - p.var_snp_kg2 - p.var_polygenic_kg2 - p.confounder_sd_kg**2)
    grip_stable = g_snp + g_poly + p.confounder_sd_kg * u + noise_sd * rng.standard_normal(n)

    def grip_at(age: np.ndarray, extra: np.ndarray) -> np.ndarray:
        return (
            p.grip_female_at_55
            + p.grip_male_excess * male
            - p.grip_decline_per_year * (age - 55)
            + grip_stable
            + extra
        )

    def cognition_at(age: np.ndarray, grip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = (grip - s.grip_mean) / s.grip_sd
        rt = (
            p.reaction_time_at_55
            + p.reaction_time_per_year * (age - 55)
            + p.reaction_time_male * male
            + _EDU_RT[edu]
            + centre_rt[centre]
            + p.causal_reaction_time_ms_per_sd * z
            + p.confounder_reaction_time_ms * u
            + s.rt_resid_sd * rng.standard_normal(n)
        )
        fluid = (
            p.fluid_at_55
            + p.fluid_per_year * (age - 55)
            + _EDU_FLUID[edu]
            + centre_fluid[centre]
            + s.fluid_beta * z
            + s.fluid_conf * u
            + p.fluid_residual_sd * rng.standard_normal(n)
        )
        logit = (
            p.pm_prevalence_logit
            + p.pm_per_year * (age - 55)
            + _EDU_PM[edu]
            + np.log(p.or_prospective_memory) * z
        )
        pm = (rng.random(n) < expit(logit)).astype(np.int8)
        return np.round(np.clip(rt, 50, 3000)), np.clip(np.round(fluid), 0, 13), pm

    grip0 = grip_at(age0, np.zeros(n))
    rt0, fluid0, pm0 = cognition_at(age0, grip0)
    time1 = np.round(np.clip(rng.normal(p.repeat_years_mean, 1.0, n), 4.0, 14.0), 2)
    age1 = age0 + np.floor(time1)
    grip1 = grip_at(age1, 2.5 * rng.standard_normal(n))
    rt1, fluid1, pm1 = cognition_at(age1, grip1)
    attended = rng.random(n) < p.repeat_fraction

    ids = np.arange(1, n + 1)
    sex = np.where(male, "male", "female")
    edu_lab = np.asarray(EDUCATION_LEVELS, dtype=object)[edu]
    centre_lab = np.asarray([f"centre_{i + 1:02d}" for i in range(p.n_centres)], dtype=object)[centre]

    def frame(
        rows: np.ndarray | slice, wave: int, time: np.ndarray, age: np.ndarray, grip: np.ndarray,
        rt: np.ndarray, fluid: np.ndarray, pm: np.ndarray,
    ) -> pd.DataFrame:
        cols: dict[str, Any] = {
            "id": ids[rows],
            "wave": np.full(len(ids[rows]), wave, dtype=np.int64),
            "time_years": time[rows],
            "age": age[rows],
            "sex": sex[rows],
            "centre": centre_lab[rows],
            "education": edu_lab[rows],
            "grip_kg": np.round(np.clip(grip[rows], 1.0, None), 1),
            "reaction_time_ms": rt[rows],
            "fluid_intelligence": fluid[rows],
            "prospective_memory": pm[rows],
            "prs_grip": np.round(prs[rows], 5),
        }
        for j in range(N_SNPS):
            cols[f"snp_{j + 1}"] = snps[rows, j]
        return pd.DataFrame(cols)

    wave0 = frame(slice(None), 0, np.zeros(n), age0, grip0, rt0, fluid0, pm0)
    wave1 = frame(attended, 1, time1, age1, grip1, rt1, fluid1, pm1)
    data = pd.concat([wave0, wave1], ignore_index=True)
    # baseline DSST with a non-linear grip effect, from its own random stream (the other columns are unchanged):
    # E[dsst | grip, age, sex] = dsst_at_55 + dsst_per_year (age - 55) + dsst_male male + A tanh((grip - c) / w)
    rng_dsst = np.random.default_rng([seed, 15])
    grip_rec = np.round(np.clip(grip0, 1.0, None), 1)  # the recorded grip the curve is a function of
    dsst0 = (
        p.dsst_at_55 + p.dsst_per_year * (age0 - 55) + p.dsst_male * male + dsst_grip_effect(grip_rec, p)
        + p.dsst_residual_sd * rng_dsst.standard_normal(n)
    )
    dsst0 = np.clip(np.round(dsst0), 0, 133) + 0.0
    data["dsst"] = np.where(data["wave"].to_numpy() == 0, dsst0[data["id"].to_numpy() - 1], np.nan)
    order = np.lexsort((data["wave"].to_numpy(), data["id"].to_numpy()))
    data = data.iloc[order].reset_index(drop=True)

    rows: list[tuple[str, float, str, str]] = [
        (
            "t_grip_reaction_time_at_n40000",
            p.t_reaction_time,
            "t statistic, adjusted for age, sex, education, centre",
            "review",
        ),
        (
            "partial_r_grip_reaction_time",
            s.partial_r,
            "partial correlation, adjusted for age, sex, education, centre",
            "derived",
        ),
        ("beta_grip_reaction_time_ms", s.rt_obs_slope, "ms per SD grip, adjusted (observational)", "derived"),
        (
            "beta_grip_fluid_intelligence",
            p.beta_fluid_sd,
            "SD of fluid intelligence per SD grip, adjusted",
            "review",
        ),
        (
            "or_grip_prospective_memory",
            p.or_prospective_memory,
            "odds ratio per SD grip, adjusted for age, sex, education",
            "review",
        ),
        (
            "causal_grip_reaction_time_ms",
            p.causal_reaction_time_ms_per_sd,
            "ms per SD grip (causal, for MR)",
            "literature",
        ),
        (
            "causal_grip_reaction_time_ms_per_kg",
            p.causal_reaction_time_ms_per_sd / s.grip_sd,
            "ms per kg grip (causal, for MR)",
            "derived",
        ),
        (
            "causal_grip_fluid_intelligence",
            p.causal_fluid_sd_per_sd,
            "SD of fluid intelligence per SD grip (causal, for MR)",
            "literature",
        ),
        (
            "causal_grip_fluid_intelligence_points_per_kg",
            s.fluid_beta / s.grip_sd,
            "fluid intelligence points per kg grip (causal)",
            "derived",
        ),
        (
            "causal_grip_prospective_memory_or",
            p.or_prospective_memory,
            "odds ratio per SD grip (causal, conditional on covariates)",
            "derived",
        ),
        ("grip_sd_kg", s.grip_sd, "kg: population SD of grip (one SD, the exposure unit)", "derived"),
        ("fluid_intelligence_sd", s.fluid_sd, "points: population SD of fluid intelligence", "derived"),
        (
            "prs_grip_variance_explained_kg2",
            p.var_snp_kg2 + p.var_polygenic_kg2,
            "kg^2 of grip explained by prs_grip",
            "literature",
        ),
        (
            "snps_variance_explained_kg2",
            p.var_snp_kg2,
            "kg^2 of grip explained by snp_1..snp_20",
            "literature",
        ),
    ]
    ref = float(dsst_grip_effect(np.array([DSST_CURVE_REFERENCE]), p)[0])
    for g in DSST_CURVE_GRID:
        rows.append((
            f"dsst_grip_curve_{g:g}kg",
            float(dsst_grip_effect(np.array([g]), p)[0]) - ref,
            f"DSST points at grip {g:g} kg minus at {DSST_CURVE_REFERENCE:g} kg, given age and sex (non-linear truth)",
            "chosen",
        ))
    for j in range(N_SNPS):
        rows.append((f"snp_{j + 1}_beta_grip_kg", float(gamma[j]), "kg per effect allele", "literature"))
    for j in range(N_SNPS):
        rows.append((f"snp_{j + 1}_eaf", float(eaf[j]), "effect-allele frequency", "literature"))
    return SimulatedCohort(data=data, truth=truth_table(rows))


DESIGNS: dict[str, Callable[..., SimulatedCohort]] = {"ukb": simulate_ukb}
