"""Recovery over many seeds: does each synthetic design's analysis cover its own truth 95% of the time?

One seed of the default run says little: its CI covers the generating value with probability 0.95 by
construction. :func:`run_coverage` re-simulates every synthetic cohort the ``reproduction:`` mapping reads
over ``R`` seeds, refits each mapped analysis in-process (:func:`musclecog.analyses.run_analysis` on the
cohort built by :func:`musclecog.ingest.build_cohort`, with the config's entries), applies the verdict rules
of :mod:`musclecog.reproduce`, and summarises per target (its first check, the row of the reproduction table):

``coverage``
    share of seeds whose 95% CI covers the synthetic truth;
``mean_bias``
    mean of estimate - truth;
``rel_rmse``
    root mean squared error divided by |truth|;
``pass_share``
    share of seeds whose verdict is ``recovered`` (every check passes and is informative).

Targets read from MR pairs of synthetic GWAS traits are recovered too: each seed re-simulates the grip /
cognitive-impairment summary-statistics pair (:func:`musclecog.simulate.gwas.simulate_grip_cognition`, with
:data:`MR_VARIANTS` variants instead of the default run's 200,000: the loci, their effects, the sample sizes and
so the truth do not depend on the number of null variants), writes and standardises each trait as the pipeline
does (:func:`musclecog.mr.gwas.standardise`), and runs each mapped pair with :func:`musclecog.mr.pair.run_pair`
(instruments, harmonisation, Steiger filtering as configured), fitting only the estimators its checks read.

Seeds are independent streams of the config's master seed (``derive_seed(seed, "coverage", r)``) and are
spread over worker processes; the same config, R and seed give the same table whatever the number of
processes.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musclecog.config import substitute_placeholders
from musclecog.errors import ConfigError
from musclecog.reproduce import SYNTHETIC, VERDICTS, TargetMapping, load_targets, parse_mapping, reproduce
from musclecog.seeds import derive_seed

COVERAGE_COLUMNS: tuple[str, ...] = (
    "target_id",
    "R",
    "coverage",
    "coverage_low",
    "coverage_high",
    "mean_bias",
    "rel_rmse",
    "pass_share",
    "calibrated",
    "note",
)
"""Columns of ``results/coverage.tsv``. ``coverage_low``/``high``: exact (Clopper-Pearson) 95% interval of the
coverage; ``calibrated``: coverage within :data:`CALIBRATED` (judged at R >= 200 only, else empty)."""

CALIBRATED = (0.93, 0.97)
"""The coverage band a calibrated design meets at R = 200."""
NOMINAL = 0.95
"""The nominal coverage of the 95% CIs."""
CALIBRATED_AT = 200
"""The smallest R at which ``calibrated`` is judged (below, the band is too narrow for the binomial noise)."""

MR_VARIANTS = 20_000
"""Variants per synthetic GWAS trait in a coverage seed (0.13 s of CPU per seed for both traits and both
directions, against 1.0 s at the default run's 200,000). The design's loci are placed by genome position, so
fewer variants only thin out the null variants between them; every locus, LD tag and effect stays."""

SEED_COLUMNS = ("seed_index", "target_id", "estimate", "conf_low", "conf_high", "truth", "verdict")


@dataclass(frozen=True)
class CoveragePlan:
    """What one seed refits: the config's synthetic cohorts, analyses and the mapped targets they serve."""

    config: Mapping[str, Any]
    targets: pd.DataFrame
    mapping: Mapping[str, TargetMapping]
    cohorts: tuple[str, ...]
    analyses: tuple[str, ...]
    skipped: Mapping[str, str]
    mr_pairs: tuple[str, ...] = ()
    mr_variants: int | None = MR_VARIANTS


def plan_coverage(
    config: Mapping[str, Any],
    targets_path: str | Path | None = None,
    mr_variants: int | None = MR_VARIANTS,
    only: Sequence[str] | None = None,
) -> CoveragePlan:
    """Which targets can be re-simulated in-process: those whose checks read analyses of synthetic cohorts
    or MR pairs of synthetic GWAS traits.

    Parameters
    ----------
    config : mapping
        The pipeline configuration (``cohorts``, ``analyses``, ``gwas``, ``mr``, ``reproduction``, ``targets``,
        ``seed``).
    targets_path : path, optional
        The review targets table; default ``config["targets"]``.
    mr_variants : int or None
        Variants per synthetic GWAS trait in each seed (None: the config's ``n_variants``, as the default run).
    only : sequence of str, optional
        Plan only these targets (e.g. to extend one target to more seeds); only their cohorts are simulated.

    Raises
    ------
    ConfigError
        ``only`` names a target the ``reproduction:`` mapping does not map.
    """
    from musclecog.mr.jobs import pair_jobs

    targets = load_targets(targets_path or substitute_placeholders(str(config["targets"]), config, "targets"))
    full = parse_mapping(config.get("reproduction"), targets)
    if only is not None:
        unknown = sorted(set(only) - set(full))
        if unknown:
            raise ConfigError(f"coverage: targets {unknown} are not mapped by the config's reproduction: section; "
                              f"mapped: {sorted(full)}")
        full = {tid: tm for tid, tm in full.items() if tid in set(only)}
    cohorts_cfg = config.get("cohorts") or {}
    analyses_cfg = config.get("analyses") or {}
    jobs = pair_jobs(config.get("mr"))
    simulated = {t for t, e in (config.get("gwas") or {}).items() if "simulate" in e}
    mapping: dict[str, TargetMapping] = {}
    skipped: dict[str, str] = {}
    for tid, tm in full.items():
        reason = _unsupported(tm, analyses_cfg, cohorts_cfg, jobs, simulated)
        if reason:
            skipped[tid] = reason
        else:
            mapping[tid] = tm
    checks = [c for tm in mapping.values() for c in tm.checks]
    analyses = sorted({c.source for c in checks if c.source_kind == "analysis"})
    pairs = sorted({c.source for c in checks if c.source_kind == "mr_pair"})
    cohorts = sorted({str(analyses_cfg[a]["cohort"]) for a in analyses})
    return CoveragePlan(config, targets, mapping, tuple(cohorts), tuple(analyses), skipped, tuple(pairs),
                        mr_variants)


def _unsupported(
    tm: TargetMapping,
    analyses: Mapping[str, Any],
    cohorts: Mapping[str, Any],
    jobs: Mapping[str, Mapping[str, Any]],
    simulated_traits: set[str],
) -> str:
    for check in tm.checks:
        if check.source_kind == "mr_pair":
            job = jobs.get(check.source)
            if job is None:
                return f"MR pair {check.source} is not configured"
            if "harmonised" in job:
                return f"MR pair {check.source} reads a harmonised table: nothing to recover"
            real = sorted({str(job["exposure"]), str(job["outcome"])} - simulated_traits)
            if real:
                return f"MR pair {check.source} reads real GWAS {real}: nothing to recover"
            if job.get("adjust_for"):
                return f"MR pair {check.source} is multivariable (adjust_for), not re-simulated in-process"
            continue
        entry = analyses.get(check.source)
        if entry is None:
            return f"analysis {check.source} is not configured"
        if "simulate" not in (cohorts.get(entry["cohort"]) or {}):
            return f"cohort {entry['cohort']} is real data: nothing to recover"
    if tm.checks[0].truth is None:
        return "its first check names no synthetic truth"
    return ""


def run_seed(plan: CoveragePlan, seed_index: int) -> pd.DataFrame:
    """Simulate every planned cohort with seed ``seed_index``, refit the analyses and judge each target.

    Returns
    -------
    DataFrame
        Columns :data:`SEED_COLUMNS`, one row per planned target.
    """
    from musclecog.analyses import run_analysis
    from musclecog.core.spec import RunContext
    from musclecog.ingest import build_cohort

    master = derive_seed(int(plan.config["seed"]), "coverage", str(seed_index))
    cohorts_cfg = plan.config["cohorts"]
    built = {name: build_cohort(name, cohorts_cfg[name], seed=derive_seed(master, "cohort", name))
             for name in plan.cohorts}
    estimates: dict[tuple[str, str], pd.DataFrame | None] = {}
    for name in plan.analyses:
        entry = plan.config["analyses"][name]
        cohort = built[str(entry["cohort"])]
        context = RunContext(name, cohort.name, derive_seed(master, "analysis", name), cohort.survey)
        estimates[("analysis", name)] = run_analysis(cohort.data, entry, context).to_tidy()
    truths = {name: c.truth for name, c in built.items() if c.truth is not None}
    if plan.mr_pairs:
        mr_estimates, mr_truths = simulate_mr(plan, master)
        estimates.update(mr_estimates)
        truths.update(mr_truths)
    table = reproduce(plan.targets, plan.mapping, estimates, truths)
    table = table[table["target_id"].isin(list(plan.mapping))]
    return pd.DataFrame({
        "seed_index": seed_index,
        "target_id": table["target_id"].to_numpy(),
        "estimate": table["estimate"].astype(float).to_numpy(),
        "conf_low": table["conf_low"].astype(float).to_numpy(),
        "conf_high": table["conf_high"].astype(float).to_numpy(),
        "truth": table["synthetic_truth"].astype(float).to_numpy(),
        "verdict": table["verdict"].to_numpy(),
    }, columns=list(SEED_COLUMNS))


def simulate_mr(
    plan: CoveragePlan, master: int
) -> tuple[dict[tuple[str, str], pd.DataFrame], dict[str, pd.DataFrame]]:
    """Re-simulate the synthetic GWAS pair and run the plan's MR pairs, as the pipeline's jobs do.

    The pair's seed is ``derive_seed(master, "gwas", GWAS_FAMILY)`` and each MR pair's
    ``derive_seed(master, "mr", pair)`` (rules simulate_gwas and mr_pair with ``master`` as the config's seed),
    so ``master = config["seed"]`` and ``plan.mr_variants = None`` give the default run's numbers. Each trait is
    written as tab-separated text (the pipeline's gzip holds the same bytes), standardised with
    :func:`musclecog.mr.gwas.standardise` and run through :func:`musclecog.mr.pair.run_pair`; the estimator suite
    is limited to the methods the plan's checks read (:func:`_check_methods`).

    Returns
    -------
    (estimates, truths)
        ``("mr_pair", pair) -> tidy estimates`` and ``trait -> truth table``.
    """
    from musclecog.mr.analysis import MRSettings
    from musclecog.mr.gwas import GwasSpec, standardise, write_standardised
    from musclecog.mr.jobs import pair_jobs
    from musclecog.mr.pair import PairRun, run_pair
    from musclecog.simulate.gwas import DESIGN_TRAITS, GWAS_FAMILY, simulate_grip_cognition, write_gwas_table

    gwas = plan.config["gwas"]
    jobs = pair_jobs(plan.config.get("mr"))
    traits = sorted({str(jobs[p][side]) for p in plan.mr_pairs for side in ("exposure", "outcome")})
    sim = gwas[traits[0]]["simulate"]  # the traits of one simulated pair share n_variants and params
    n_variants = plan.mr_variants if plan.mr_variants is not None else sim.get("n_variants")
    pair = simulate_grip_cognition(derive_seed(master, "gwas", GWAS_FAMILY), n_variants, **dict(sim.get("params") or {}))
    estimates: dict[tuple[str, str], pd.DataFrame] = {}
    with tempfile.TemporaryDirectory(prefix="musclecog-coverage-") as tmp:
        parquets = {}
        for trait in traits:
            raw = Path(tmp) / f"{trait}.tsv"
            write_gwas_table(pair.tables[DESIGN_TRAITS[gwas[trait]["simulate"]["design"]]], raw)
            parquets[trait] = Path(tmp) / f"{trait}.parquet"
            write_standardised(standardise(GwasSpec.from_config(trait, gwas[trait], path=str(raw))),
                               parquets[trait], Path(tmp) / f"{trait}.flow.tsv")
        for name in plan.mr_pairs:
            job = jobs[name]
            settings = MRSettings.from_config({**(plan.config.get("mr_settings") or {}), **(job.get("settings") or {})})
            settings = replace(settings, methods=_check_methods(plan, name, settings.methods), steiger=False)
            result = run_pair(parquets[str(job["exposure"])], parquets[str(job["outcome"])], job, settings,
                              derive_seed(master, "mr", name), run=PairRun(workdir=Path(tmp) / name))
            estimates[("mr_pair", name)] = result.result.to_tidy()
    return estimates, {trait: pair.truth for trait in traits}


def _check_methods(plan: CoveragePlan, pair: str, configured: Sequence[str]) -> tuple[str, ...]:
    """The configured estimator keys whose labels the plan's checks of ``pair`` read (all configured ones when a
    check names no method): coverage refits IVW alone when only IVW is checked."""
    from musclecog.mr.analysis import PRESSO_LABELS
    from musclecog.mr.estimators import LABELS

    wanted = [c.where.get("method") for tm in plan.mapping.values() for c in tm.checks
              if c.source_kind == "mr_pair" and c.source == pair]
    if any(w is None for w in wanted):
        return tuple(configured)
    labels = {**LABELS, "presso": PRESSO_LABELS[0]}
    keys = tuple(k for k in configured if labels.get(k) in wanted or (k == "presso" and set(PRESSO_LABELS) & set(wanted)))
    return keys or tuple(configured)


def _run_seeds(args: tuple[CoveragePlan, Sequence[int]]) -> pd.DataFrame:
    plan, seeds = args
    return pd.concat([run_seed(plan, r) for r in seeds], ignore_index=True)


def run_seeds(
    plan: CoveragePlan, R: int, processes: int = 1, seeds: Sequence[int] | None = None
) -> pd.DataFrame:
    """Per-seed outcomes for seeds ``0 .. R-1`` (or the given ``seeds``), in ``processes`` worker processes
    (1: in this process)."""
    seeds = list(range(R)) if seeds is None else list(seeds)
    if processes <= 1 or len(seeds) <= 1:
        parts = [_run_seeds((plan, seeds))]
    else:
        chunks = [seeds[i::processes] for i in range(processes) if seeds[i::processes]]
        with ProcessPoolExecutor(max_workers=len(chunks)) as pool:
            parts = list(pool.map(_run_seeds, [(plan, c) for c in chunks]))
    return pd.concat(parts, ignore_index=True).sort_values(["seed_index", "target_id"], ignore_index=True)


def iter_seeds(
    plan: CoveragePlan, seeds: Sequence[int], processes: int = 1, chunk: int = 5
) -> Iterator[pd.DataFrame]:
    """Per-seed outcomes in chunks of ``chunk`` seeds as they finish, from one pool of ``processes`` workers
    (each worker pays imports and cached truths once)."""
    chunks = [list(seeds[i:i + chunk]) for i in range(0, len(seeds), chunk)]
    if processes <= 1:
        for c in chunks:
            yield _run_seeds((plan, c))
        return
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [pool.submit(_run_seeds, (plan, c)) for c in chunks]
        for future in as_completed(futures):
            yield future.result()


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for k successes of n."""
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def summarise(per_seed: pd.DataFrame, skipped: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per target: coverage of the truth, mean bias, relative RMSE and the share of passing verdicts."""
    rows = []
    recovered = VERDICTS[SYNTHETIC][0]
    for tid, g in per_seed.groupby("target_id", sort=False):
        truth = g["truth"].to_numpy(float)
        est = g["estimate"].to_numpy(float)
        covered = (g["conf_low"].to_numpy(float) <= truth) & (truth <= g["conf_high"].to_numpy(float))
        n = len(g)
        k = int(covered.sum())
        lo, hi = clopper_pearson(k, n)
        err = est - truth
        scale = float(np.abs(truth).mean())
        coverage = k / n
        judged = n >= CALIBRATED_AT
        calibrated = CALIBRATED[0] <= coverage <= CALIBRATED[1]
        note = "" if not judged else _miss_note(lo, hi) if not calibrated else _within_note(lo, hi)
        rows.append({
            "target_id": tid,
            "R": n,
            "coverage": coverage,
            "coverage_low": lo,
            "coverage_high": hi,
            "mean_bias": float(err.mean()),
            "rel_rmse": float(np.sqrt(np.mean(err**2)) / scale) if scale > 0 else math.nan,
            "pass_share": float((g["verdict"] == recovered).mean()),
            "calibrated": ("yes" if calibrated else "no") if judged else "",
            "note": note,
        })
    for tid, reason in (skipped or {}).items():
        rows.append({"target_id": tid, "R": 0, "note": f"not simulated: {reason}"})
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))


def _within_note(lo: float, hi: float) -> str:
    """A target within the band whose exact interval still excludes 95% (possible at large R): said."""
    if lo <= NOMINAL <= hi:
        return ""
    direction = "under" if hi < NOMINAL else "over"
    return (f"within {CALIBRATED[0]:.0%}-{CALIBRATED[1]:.0%}, but the exact 95% interval of its coverage "
            f"[{lo:.3f}, {hi:.3f}] excludes 95%: slight {direction}coverage (docs/coverage.md)")


def _miss_note(lo: float, hi: float) -> str:
    band = f"{CALIBRATED[0]:.0%}-{CALIBRATED[1]:.0%}"
    if lo <= NOMINAL <= hi:
        return (f"outside {band}, but the exact 95% interval of its coverage [{lo:.3f}, {hi:.3f}] contains 95%: "
                "not distinguishable from Monte Carlo error at this R (docs/coverage.md)")
    return f"miscalibrated: the exact 95% interval of its coverage [{lo:.3f}, {hi:.3f}] excludes 95% (docs/coverage.md)"


def run_coverage(
    config: Mapping[str, Any], R: int, processes: int = 1, mr_variants: int | None = MR_VARIANTS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The coverage table and the per-seed outcomes of ``R`` re-simulations of the config's designs."""
    plan = plan_coverage(config, mr_variants=mr_variants)
    per_seed = run_seeds(plan, R, processes)
    return summarise(per_seed, plan.skipped), per_seed


def binomial_band(R: int, p: float = 0.95, tail: float = 1e-4) -> tuple[int, int]:
    """The widest count band ``k_lo..k_hi`` of covered seeds out of ``R`` such that a calibrated target
    (true coverage ``p``) falls below ``k_lo`` with probability <= ``tail`` and above ``k_hi`` with
    probability <= ``tail``."""
    from scipy.stats import binom

    k = np.arange(R + 1)
    below = binom.cdf(k - 1, R, p)  # P(K < k)
    above = binom.sf(k, R, p)  # P(K > k)
    return int(k[below <= tail].max()), int(k[above <= tail].min())
