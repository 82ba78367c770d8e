"""Two-sample MR on one harmonised exposure-outcome pair: every estimator and sensitivity analysis.

:func:`run_mr` is the single entry point the pipeline calls (rule ``mr_pair``): it takes the
harmonised table (TwoSampleMR column names), an :class:`MRSettings` built from the ``mr`` config,
and returns an :class:`MRResult` whose tables are written to ``results/mr/{pair}/``; its scatter, forest,
funnel and leave-one-out plots are :func:`musclecog.plots.mr.all_figures`.

Method labels are TwoSampleMR's (``mr_method_list()$name``). Estimators that cannot be computed
on the instruments available (one instrument: only the Wald ratio; two: no MR-Egger, medians or
modes) appear as rows with ``note = "not estimable: ..."`` rather than being dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.inference import wald_interval
from musclecog.core.results import AnalysisResult, Estimate
from musclecog.errors import ConfigError, DataError, show_values
from musclecog.mr import estimators as est
from musclecog.mr import robust
from musclecog.mr import sensitivity as sens
from musclecog.mr.presso import PressoResult, PressoSettings, mr_presso
from musclecog.seeds import derive_seed

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = (
    "wald_ratio",
    "ivw",
    "ivw_mre",
    "ivw_fe",
    "egger",
    "simple_median",
    "weighted_median",
    "penalised_weighted_median",
    "simple_mode",
    "weighted_mode",
    "penalised_mode",
    "simple_mode_nome",
    "weighted_mode_nome",
    "presso",
    "ivw_penalised",
    "divw",
    "pivw",
    "maxlik",
    "conmix",
    "egger_mv",
    "ivw_robust",
    "raps",
    "cml",
)
"""Every method key :class:`MRSettings` accepts, in the order rows are reported."""

DEFAULT_METHODS: tuple[str, ...] = (
    "wald_ratio",
    "ivw",
    "ivw_fe",
    "egger",
    "weighted_median",
    "simple_median",
    "penalised_weighted_median",
    "simple_mode",
    "weighted_mode",
    "presso",
)
"""TwoSampleMR's default set plus IVW fixed effects, simple/penalised medians and MR-PRESSO."""

PRESSO_LABELS = ("MR-PRESSO (raw)", "MR-PRESSO (outlier-corrected)")
MEDIAN_METHODS = ("simple_median", "weighted_median", "penalised_weighted_median")
SUMMARY_COHORT = "summary_statistics"
"""The ``cohort`` column of two-sample MR tables."""
MAX_RESAMPLES = 1_000_000  # nboot and presso_n_distribution: the same bound as the mediation bootstrap

REQUIRED_COLUMNS = ("SNP", "beta.exposure", "se.exposure", "beta.outcome", "se.outcome")


@dataclass(frozen=True)
class MRSettings:
    """Settings of the estimator suite (config: ``mr_settings`` at the top level, overridable per pair).

    Attributes
    ----------
    methods : tuple of str
        Method keys (see :data:`METHODS`; ``"all"`` in the config: every one); ``wald_ratio`` reports only when
        one instrument is left (with more, per-variant Wald ratios are in ``single_snp``); ``egger_mv`` adds rows
        to the multivariable table of a pair with ``adjust_for`` and nothing to the univariable estimates.
    nboot : int
        Bootstrap draws for medians and modes (TwoSampleMR ``nboot``, 1000).
    penk : float
        Penalisation constant of the penalised weighted median / mode (TwoSampleMR ``penk``, 20).
    phi : float
        Mode bandwidth multiplier (TwoSampleMR ``phi``, 1).
    density_coords : {"r44", "r_legacy"}
        Grid of R's ``density()`` under the mode estimators: ``"r44"`` (default) reproduces R >= 4.4.0
        (``old.coords = FALSE``, what TwoSampleMR's current vignette prints); ``"r_legacy"`` reproduces
        R <= 4.3 (``old.coords = TRUE``). The mode can move to a neighbouring grid point between them.
    alpha : float
        1 - confidence level (TwoSampleMR ``alpha``, 0.05).
    median_weights : {"second_order", "first_order"}
        Weights of the weighted median: TwoSampleMR's second-order inverse variances, or
        MendelianRandomization's first-order ``bx^2/sy^2``.
    presso_n_distribution : int
        MR-PRESSO ``NbDistribution`` (1000).
    presso_signif_threshold : float
        MR-PRESSO ``SignifThreshold`` (0.05): global-test gate and outlier significance.
    presso_outlier_test, presso_distortion_test : bool
        MR-PRESSO ``OUTLIERtest`` / ``DISTORTIONtest`` (both on).
    odds_ratios : bool or None
        Also report odds ratios (exp(b)) for a binary outcome. None (default): when
        ``units.outcome`` is ``"log odds"`` or ``ncase.outcome`` is present.
    steiger : bool
        Run the Steiger directionality test (needs sample sizes; binary traits case/control counts).
    steiger_r_from : {"bsen", "pn"}
        Variance explained of a quantitative trait for the Steiger test: from beta, se and n (TwoSampleMR's
        ``get_r_from_bsen``, default) or from the p-value and n (``get_r_from_pn``).
    egger_distribution : {"t", "normal"}
        Distribution of MR-Egger's p-values (slope and intercept): TwoSampleMR's t(nsnp - 2) (default) or
        MendelianRandomization's normal (``mr_egger``'s default).
    over_dispersion : bool
        Debiased and penalised IVW (``divw``, ``pivw``) allow additive overdispersion ``tau^2``
        (MendelianRandomization's ``over.dispersion = TRUE``, the default).
    pivw_lambda : float
        Penalty of the pIVW denominator (``mr_pivw``'s ``lambda``, 1).
    pivw_boot_fieller : bool
        pIVW's p-value and interval from ``nboot`` bootstrapped Fieller draws (``Boot.Fieller = TRUE``, the
        default); false: normal p-value and Wald interval.
    conmix_psi : float
        Contamination mixture: spread of the invalid instruments' ratio estimates (``mr_conmix``'s ``psi``;
        0, the default, means 1.5 times the standard deviation of the ratio estimates).
    conmix_ci_step : float
        Contamination mixture: step of the grid of causal effects (``CIStep``, 0.01); the estimate and its
        confidence limits are grid points.
    conmix_ci_range : tuple of float or None
        Contamination mixture: grid limits (``CIMin``, ``CIMax``); None: from the smallest ``(by - 2 sy)/bx`` to
        the largest ``(by + 2 sy)/bx``.
    raps_over_dispersion : bool
        MR-RAPS estimates the pleiotropic variance ``tau2`` (``over.dispersion``; TRUE, ``mr.raps``'s default).
    raps_loss : {"huber", "tukey", "l2"}
        MR-RAPS score (``loss.function``; "huber", ``mr.raps``'s default).
    raps_k : float or None
        Threshold of the Huber / Tukey score (``k``); None: the package's 1.345 (Huber) or 4.685 (Tukey).
    cml_n : float or None
        Sample size in cML-MA-BIC's BIC (``mr_cML``'s ``n``); None: the smallest ``samplesize.exposure`` /
        ``samplesize.outcome`` of the pair's instruments (the conservative choice the package recommends).
    cml_random_start : int
        cML random starts per number of invalid instruments (``random_start``, 0: deterministic); drawn from the
        pair's seed (``derive_seed(seed, "mr", "cml")``), so their numbers differ from R's draws.
    cml_maxit : int
        Iterations of each cML coordinate descent (``maxit``, 100).
    """

    methods: tuple[str, ...] = DEFAULT_METHODS
    nboot: int = 1000
    penk: float = 20.0
    phi: float = 1.0
    density_coords: str = "r44"
    alpha: float = 0.05
    median_weights: str = "second_order"
    presso_n_distribution: int = 1000
    presso_signif_threshold: float = 0.05
    presso_outlier_test: bool = True
    presso_distortion_test: bool = True
    odds_ratios: bool | None = None
    steiger: bool = True
    steiger_r_from: str = "bsen"
    egger_distribution: str = "t"
    over_dispersion: bool = True
    pivw_lambda: float = 1.0
    pivw_boot_fieller: bool = True
    conmix_psi: float = 0.0
    conmix_ci_step: float = 0.01
    conmix_ci_range: tuple[float, float] | None = None
    raps_over_dispersion: bool = True
    raps_loss: str = "huber"
    raps_k: float | None = None
    cml_n: float | None = None
    cml_random_start: int = 0
    cml_maxit: int = 100

    def __post_init__(self) -> None:
        if isinstance(self.methods, str):
            raise ConfigError(f"mr_settings.methods = {self.methods!r}: give a list of methods or 'all'")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ConfigError(f"mr_settings.methods: unknown methods {unknown}; choose from {list(METHODS)}")
        if self.nboot < 10:
            raise ConfigError(f"mr_settings.nboot = {self.nboot}: use at least 10 (1000 recommended)")
        for key in ("nboot", "presso_n_distribution"):
            if getattr(self, key) > MAX_RESAMPLES:
                raise ConfigError(
                    f"mr_settings.{key} = {getattr(self, key):,}: above the limit of {MAX_RESAMPLES:,} resamples "
                    "(each costs time and memory per instrument); lower it (1000 is the packages' default)."
                )
        if not 0 < self.alpha < 1:
            raise ConfigError(f"mr_settings.alpha = {self.alpha}: must be between 0 and 1")
        if self.phi <= 0:
            raise ConfigError(f"mr_settings.phi = {self.phi}: the mode bandwidth multiplier must be positive")
        if self.density_coords not in est.DENSITY_COORDS:
            raise ConfigError(
                f"mr_settings.density_coords = {self.density_coords!r}: use one of {list(est.DENSITY_COORDS)} "
                "('r44' = R >= 4.4 density(), 'r_legacy' = R <= 4.3)"
            )
        if self.median_weights not in est.MEDIAN_WEIGHTS:
            raise ConfigError(
                f"mr_settings.median_weights = {self.median_weights!r}: use 'second_order' or 'first_order'"
            )
        if not 0 < self.presso_signif_threshold <= 1:
            raise ConfigError("mr_settings.presso_signif_threshold must be in (0, 1]")
        self._check_mendelianrandomization_settings()
        self._check_robust_settings()

    def _check_robust_settings(self) -> None:
        """The settings of MR-RAPS and cML."""
        if self.raps_loss not in robust.RAPS_LOSSES:
            raise ConfigError(f"mr_settings.raps_loss = {self.raps_loss!r}: use one of {list(robust.RAPS_LOSSES)} "
                              "(mr.raps loss.function; 'huber' is its default)")
        if self.raps_k is not None and not self.raps_k > 0:
            raise ConfigError(f"mr_settings.raps_k = {self.raps_k}: the score threshold must be positive, or null for "
                              "the package's default (1.345 Huber, 4.685 Tukey)")
        if self.cml_n is not None and not self.cml_n > 1:
            raise ConfigError(f"mr_settings.cml_n = {self.cml_n}: give the GWAS sample size (> 1), or null to take the "
                              "smallest samplesize.exposure / samplesize.outcome")
        if self.cml_random_start < 0 or self.cml_random_start > MAX_RESAMPLES // 1000:
            raise ConfigError(f"mr_settings.cml_random_start = {self.cml_random_start}: use 0 (deterministic, the "
                              f"package's default) to {MAX_RESAMPLES // 1000}")
        if self.cml_maxit < 1:
            raise ConfigError(f"mr_settings.cml_maxit = {self.cml_maxit}: use at least 1 (100 is the default)")

    def _check_mendelianrandomization_settings(self) -> None:
        """The settings of the MendelianRandomization estimators (Egger's distribution, pIVW, conmix)."""
        if self.steiger_r_from not in sens.R_FROM:
            raise ConfigError(f"mr_settings.steiger_r_from = {self.steiger_r_from!r}: use one of {list(sens.R_FROM)}")
        if self.egger_distribution not in est.EGGER_DISTRIBUTIONS:
            raise ConfigError(
                f"mr_settings.egger_distribution = {self.egger_distribution!r}: use 't' (TwoSampleMR) or 'normal' "
                "(MendelianRandomization)"
            )
        if self.pivw_lambda < 0:
            raise ConfigError(f"mr_settings.pivw_lambda = {self.pivw_lambda}: the pIVW penalty must be >= 0 (default 1)")
        if self.conmix_ci_step <= 0:
            raise ConfigError(f"mr_settings.conmix_ci_step = {self.conmix_ci_step}: the grid step must be positive")
        limits = self.conmix_ci_range
        if limits is not None and (len(limits) != 2 or not limits[0] < limits[1]):
            raise ConfigError(f"mr_settings.conmix_ci_range = {list(limits)}: give [lower, upper] with lower < upper")

    @property
    def bootstrap(self) -> est.BootstrapSettings:
        """The settings of the median and mode estimators."""
        return est.BootstrapSettings(nboot=self.nboot, penk=self.penk, phi=self.phi,
                                     median_weights=self.median_weights, density_coords=self.density_coords)

    @property
    def presso(self) -> PressoSettings:
        """The settings of MR-PRESSO."""
        return PressoSettings(n_distribution=self.presso_n_distribution,
                              signif_threshold=self.presso_signif_threshold,
                              outlier_test=self.presso_outlier_test, distortion_test=self.presso_distortion_test)

    @classmethod
    def from_config(cls, mapping: Mapping[str, Any] | None) -> MRSettings:
        """Build from the ``mr_settings`` mapping of the config (unknown keys are an error)."""
        mapping = dict(mapping or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - names)
        if unknown:
            raise ConfigError(f"mr_settings: unknown keys {unknown}; allowed: {sorted(names)}")
        if "methods" in mapping:
            methods = mapping["methods"]
            mapping["methods"] = METHODS if methods == "all" or list(methods) == ["all"] else tuple(methods)
        if mapping.get("conmix_ci_range") is not None:
            mapping["conmix_ci_range"] = tuple(float(v) for v in mapping["conmix_ci_range"])
        for key in ("raps_k", "cml_n"):
            if mapping.get(key) is not None:
                mapping[key] = float(mapping[key])
        return cls(**mapping)


@dataclass(frozen=True, kw_only=True)
class MRResult(AnalysisResult):
    """Everything :func:`run_mr` computes for one pair.

    ``estimates`` are the reported rows (TwoSampleMR method labels; odds ratios after the betas for a binary
    outcome) and :meth:`to_tidy` the ``estimates.tsv`` table; ``methods`` the typed estimator results they were
    made from. The sensitivity tables carry TwoSampleMR's column names. Figures:
    :func:`musclecog.plots.mr.all_figures`.
    """

    figure_kind: ClassVar[str] = "mr_pair"
    exposure: str
    outcome: str
    methods: tuple[est.MREstimate, ...]
    heterogeneity: pd.DataFrame
    pleiotropy: pd.DataFrame
    directionality: pd.DataFrame
    single_snp: pd.DataFrame
    leave_one_out: pd.DataFrame
    presso: pd.DataFrame
    data: pd.DataFrame = field(repr=False)
    settings: MRSettings = field(repr=False, default_factory=MRSettings)
    binary_outcome: bool = False

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables keyed by file stem (``estimates`` -> ``estimates.tsv``, ...)."""
        return {
            "estimates": self.to_tidy(),
            "heterogeneity": self.heterogeneity,
            "pleiotropy": self.pleiotropy,
            "directionality": self.directionality,
            "single_snp": self.single_snp,
            "leave_one_out": self.leave_one_out,
            "presso": self.presso,
        }


def _check(harmonised: pd.DataFrame, exposure: str, outcome: str) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in harmonised.columns]
    if missing:
        raise DataError(
            f"harmonised data for {exposure} -> {outcome} lack the columns {missing}; "
            f"run the harmonise step (TwoSampleMR column names) first"
        )
    if "mr_keep" in harmonised.columns:
        keep = harmonised["mr_keep"].astype(bool)
    else:
        keep = pd.Series(True, index=harmonised.index)
    dat = harmonised.loc[keep].reset_index(drop=True)
    if dat.empty:
        raise DataError(
            f"{exposure} -> {outcome}: no instrument has mr_keep = TRUE ({len(harmonised)} harmonised rows); "
            f"check the harmonisation flow table (palindromic/ambiguous/mismatched variants)"
        )
    for col in REQUIRED_COLUMNS[1:]:
        values = pd.to_numeric(dat[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if col.startswith("se."):
            bad |= values.to_numpy(dtype=float) <= 0
        if bad.any():
            raise DataError(
                f"{exposure} -> {outcome}: column {col} has missing, infinite or (for se) non-positive values "
                f"for variants {show_values(dat.loc[bad, 'SNP'])}; fix or exclude them before MR"
            )
        dat[col] = values.astype(float)
    if (dat["beta.exposure"] == 0).any():
        raise DataError(
            f"{exposure} -> {outcome}: beta.exposure is 0 for variants "
            f"{show_values(dat.loc[dat['beta.exposure'] == 0, 'SNP'])}; a variant without an exposure "
            f"association cannot be an instrument"
        )
    dup = dat["SNP"].duplicated()
    if dup.any():
        raise DataError(f"{exposure} -> {outcome}: duplicated instruments {show_values(dat.loc[dup, 'SNP'])}")
    return dat


def _is_binary_outcome(dat: pd.DataFrame, settings: MRSettings) -> bool:
    if settings.odds_ratios is not None:
        return bool(settings.odds_ratios)
    units = dat.get("units.outcome")
    if units is not None and units.astype(str).str.strip().str.lower().eq("log odds").any():
        return True
    return "ncase.outcome" in dat.columns and dat["ncase.outcome"].notna().any()


def causal_estimates(
    fits: Sequence[est.MREstimate], exposure: str, outcome: str, alpha: float, odds_ratios: bool
) -> tuple[Estimate, ...]:
    """The reported rows of estimator results: Wald z intervals for every method (TwoSampleMR's
    ``generate_odds_ratios``) unless the estimator gives its own limits (``MREstimate.conf_low/conf_high``), then, for a binary outcome, the same rows as odds ratios.

    Parameters
    ----------
    fits : sequence of MREstimate
    exposure, outcome : str
        Trait names.
    alpha : float
        1 - confidence level.
    odds_ratios : bool
        Add ``exp(b)`` rows (scale ``odds_ratio``, limits exponentiated, ``std_error`` on the log scale).
    """
    b = np.array([f.b for f in fits], float)
    se = np.array([f.se for f in fits], float)
    lo, hi = wald_interval(b, se, None, 1 - alpha)
    own = np.array([f.conf_low is not None and f.conf_high is not None for f in fits], bool)
    lo = np.where(own, [f.conf_low if f.conf_low is not None else np.nan for f in fits], lo)
    hi = np.where(own, [f.conf_high if f.conf_high is not None else np.nan for f in fits], hi)
    rows = [
        Estimate(term="causal_effect", estimate=f.b, scale="beta", std_error=f.se, conf_low=float(lo[i]),
                 conf_high=float(hi[i]), p_value=f.pval, n=f.nsnp, nsnp=f.nsnp, note=f.note, method=f.method,
                 exposure=exposure, outcome=outcome)
        for i, f in enumerate(fits)
    ]
    if odds_ratios:
        rows += [e.replace(scale="odds_ratio", estimate=float(np.exp(e.estimate)), conf_low=float(np.exp(e.conf_low)),
                           conf_high=float(np.exp(e.conf_high))) for e in list(rows)]
    return tuple(rows)


def fit_methods(
    bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, settings: MRSettings, seed: int,
    n: float | None = None,
) -> dict[str, est.MREstimate]:
    """Every estimator of ``settings.methods`` except MR-PRESSO, keyed by method; each bootstrap method draws
    from its own stream (``derive_seed(seed, "mr", method)``). ``n``: the sample size of cML (required with
    ``cml``; see :func:`cml_sample_size`)."""
    methods = settings.methods
    boot = settings.bootstrap
    fits: dict[str, est.MREstimate] = {}
    if "wald_ratio" in methods and bx.size == 1:
        fits["wald_ratio"] = est.wald_ratio(bx, by, sx, sy)
    for key, model in (("ivw", "default"), ("ivw_mre", "mre"), ("ivw_fe", "fe")):
        if key in methods:
            fits[key] = est.ivw(bx, by, sx, sy, model=model)
    if "egger" in methods:
        fits["egger"] = est.egger(bx, by, sx, sy, distribution=settings.egger_distribution)
    fits.update(_mendelianrandomization_methods(bx, by, sx, sy, settings, seed))
    if "raps" in methods:
        fits["raps"] = robust.raps(bx, by, sx, sy, over_dispersion=settings.raps_over_dispersion,
                                   loss=settings.raps_loss, k=settings.raps_k)
    if "cml" in methods:
        if n is None:
            raise ConfigError("mr_settings.methods includes 'cml', which needs the GWAS sample size n; set "
                              "mr_settings.cml_n or give samplesize.exposure / samplesize.outcome")
        fits["cml"] = robust.cml(bx, by, sx, sy, n, random_start=settings.cml_random_start,
                                 maxit=settings.cml_maxit, rng=_rng(seed, "cml"))
    for m in (m for m in methods if m in MEDIAN_METHODS):
        fits.update(est.median_estimates(bx, by, sx, sy, which=(m,), settings=boot, rng=_rng(seed, m)))
    for m in (m for m in methods if m.endswith("_mode") or m.endswith("_mode_nome")):
        fits.update(est.mode_estimates(bx, by, sx, sy, which=(m,), settings=boot, rng=_rng(seed, m)))
    return fits


def _mendelianrandomization_methods(
    bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, settings: MRSettings, seed: int
) -> dict[str, est.MREstimate]:
    """The estimators of MendelianRandomization among ``settings.methods`` (penalised, robust, debiased and
    pIVW, maximum likelihood, contamination mixture)."""
    methods = settings.methods
    fits: dict[str, est.MREstimate] = {}
    if "ivw_penalised" in methods:
        fits["ivw_penalised"] = est.ivw_penalised(bx, by, sx, sy)
    if "ivw_robust" in methods:
        fits["ivw_robust"] = est.ivw_robust(bx, by, sx, sy)
    if "divw" in methods:
        fits["divw"] = est.divw(bx, by, sx, sy, over_dispersion=settings.over_dispersion)
    if "maxlik" in methods:
        fits["maxlik"] = est.maxlik(bx, by, sx, sy)
    if "conmix" in methods:
        fits["conmix"] = est.conmix(bx, by, sx, sy, psi=settings.conmix_psi, ci_step=settings.conmix_ci_step,
                                    ci_range=settings.conmix_ci_range, alpha=settings.alpha)
    if "pivw" in methods:
        pivw = est.PivwSettings(lam=settings.pivw_lambda, over_dispersion=settings.over_dispersion,
                                boot_fieller=settings.pivw_boot_fieller, alpha=settings.alpha, nboot=settings.nboot)
        fits["pivw"] = est.pivw(bx, by, sx, sy, pivw, rng=_rng(seed, "pivw"))
    return fits


def cml_sample_size(dat: pd.DataFrame, settings: MRSettings, exposure: str, outcome: str) -> float:
    """The ``n`` of cML-MA-BIC: ``mr_settings.cml_n``, else the smallest ``samplesize.exposure`` /
    ``samplesize.outcome`` of the instruments (MendelianRandomization's ``mr_cML`` recommends the smallest sample
    size when they differ).

    Raises
    ------
    ConfigError
        Neither ``cml_n`` nor a positive sample size in the harmonised data.
    """
    if settings.cml_n is not None:
        return float(settings.cml_n)
    values = [pd.to_numeric(dat[c], errors="coerce").to_numpy(dtype=float)
              for c in ("samplesize.exposure", "samplesize.outcome") if c in dat.columns]
    sizes = np.concatenate(values) if values else np.array([])
    sizes = sizes[np.isfinite(sizes) & (sizes > 0)]
    if sizes.size == 0:
        raise ConfigError(
            f"{exposure} -> {outcome}: mr_settings.methods includes 'cml', whose BIC needs the GWAS sample size, but "
            "the harmonised data have no samplesize.exposure / samplesize.outcome values; give the sample sizes "
            "(gwas.<trait>.n, or an n column in the GWAS file), set mr_settings.cml_n, or drop 'cml' from the methods"
        )
    return float(sizes.min())


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, "mr", key))


def _sensitivity_tables(
    dat: pd.DataFrame, arrays: tuple[np.ndarray, ...], snp: list[str], settings: MRSettings
) -> dict[str, pd.DataFrame]:
    """Heterogeneity, pleiotropy, directionality, single-SNP and leave-one-out tables (TwoSampleMR columns)."""
    bx, by, sx, sy = arrays
    if settings.steiger:
        direc = sens.directionality(dat, r_from=settings.steiger_r_from)
    else:
        direc = pd.DataFrame([{"note": "not run: mr_settings.steiger is false"}])
    single = sens.single_snp(snp, bx, by, sx, sy)
    if "samplesize.outcome" in dat.columns:
        single["samplesize"] = float(pd.to_numeric(dat["samplesize.outcome"], errors="coerce").max())
    return {
        "heterogeneity": sens.heterogeneity(bx, by, sx, sy),
        "pleiotropy": sens.pleiotropy(bx, by, sx, sy, distribution=settings.egger_distribution),
        "directionality": direc,
        "single_snp": single,
        "leave_one_out": sens.leave_one_out(snp, bx, by, sx, sy),
    }


def run_mr(
    harmonised: pd.DataFrame,
    settings: MRSettings,
    exposure: str,
    outcome: str,
    seed: int,
    *,
    analysis: str | None = None,
) -> MRResult:
    """Run the estimator and sensitivity suite on one harmonised pair.

    Parameters
    ----------
    harmonised : DataFrame
        TwoSampleMR columns: ``SNP``, ``beta/se/eaf/pval/samplesize.exposure`` and ``.outcome``,
        alleles, ``mr_keep`` (rows with False are ignored), optionally ``units.outcome``,
        ``ncase.outcome``, ``ncontrol.outcome``, ``prevalence.outcome`` (and the same for the exposure).
    settings : MRSettings
    exposure, outcome : str
        Trait names for the tables.
    seed : int
        Seed of this pair; each bootstrap method draws from its own stream derived from it and the
        method key, so adding a method never changes another's numbers.
    analysis : str, optional
        The ``analysis`` column of the tidy table (default ``"{exposure}__{outcome}"``).

    Returns
    -------
    MRResult

    Raises
    ------
    DataError
        No usable instrument, missing columns, non-finite values, se <= 0, duplicated SNPs.
    """
    dat = _check(harmonised, exposure, outcome)
    arrays = tuple(dat[c].to_numpy(dtype=float) for c in ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome"))
    bx, by, sx, sy = arrays
    snp = dat["SNP"].astype(str).tolist()
    methods = settings.methods
    logger.info("MR %s -> %s on %d instruments: %s", exposure, outcome, len(snp), ", ".join(methods))
    n = cml_sample_size(dat, settings, exposure, outcome) if "cml" in methods else None
    fits = fit_methods(bx, by, sx, sy, settings, seed, n=n)
    ordered = [fits[m] for m in methods if m in fits]
    presso_table = pd.DataFrame(columns=["test", "SNP", "statistic", "pval", "n_distribution", "note"])
    if "presso" in methods:
        presso_fits, presso_table = _run_presso(bx, by, sx, sy, snp, settings, _rng(seed, "presso"))
        ordered.extend(presso_fits)
    binary = _is_binary_outcome(dat, settings)
    tables = {**_sensitivity_tables(dat, (bx, by, sx, sy), snp, settings), "presso": presso_table}
    for table in tables.values():
        table.insert(0, "outcome", outcome)
        table.insert(0, "exposure", exposure)
    return MRResult(
        analysis=analysis or f"{exposure}__{outcome}",
        cohort=SUMMARY_COHORT,
        estimates=causal_estimates(ordered, exposure, outcome, settings.alpha, binary),
        title=f"{exposure} \u2192 {outcome}: {len(snp)} instruments",
        exposure=exposure,
        outcome=outcome,
        methods=tuple(ordered),
        **tables,
        data=dat,
        settings=settings,
        binary_outcome=binary,
    )


def _run_presso(
    bx: np.ndarray,
    by: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    snp: list[str],
    settings: MRSettings,
    rng: np.random.Generator,
) -> tuple[list[est.MREstimate], pd.DataFrame]:
    k = bx.size
    try:
        res: PressoResult = mr_presso(bx, by, sx, sy, snp, settings=settings.presso, rng=rng)
    except DataError as exc:
        reason = f"not estimable: {exc}"
        fits = [est.MREstimate(label, np.nan, np.nan, np.nan, k, note=reason) for label in PRESSO_LABELS]
        table = pd.DataFrame([{"test": "global", "SNP": "", "statistic": np.nan, "pval": np.nan,
                               "n_distribution": settings.presso_n_distribution, "note": reason}])
        return fits, table
    raw = res.raw
    gnote = f"global test p = {res.global_pval:g}"
    fits = [est.MREstimate(PRESSO_LABELS[0], raw["b"], raw["se"], raw["pval"], k, note=gnote, dist_df=k - 1)]
    if res.corrected is not None:
        c = res.corrected
        fits.append(est.MREstimate(
            PRESSO_LABELS[1], c["b"], c["se"], c["pval"], int(c["nsnp"]),
            note=f"{k - int(c['nsnp'])} outliers removed: {', '.join(res.outlier_snps)}", dist_df=c["nsnp"] - 1,
        ))
    else:
        fits.append(est.MREstimate(PRESSO_LABELS[1], np.nan, np.nan, np.nan, k,
                                   note=f"not estimable: {res.note or 'no outliers detected'}"))
    return fits, res.details()
