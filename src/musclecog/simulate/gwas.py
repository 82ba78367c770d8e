"""Synthetic GWAS summary statistics: grip strength and cognitive impairment, causal in both directions.

The review's Mendelian randomization source (Wang et al. 2025, J Affect Disord, doi 10.1016/j.jad.2025.04.092)
reports grip strength -> cognitive impairment OR 0.93 (0.89-0.97) per SD of grip and cognitive impairment ->
grip OR 0.878 (0.794-0.971). This module generates two genome-wide summary-statistics files whose *true*
per-allele associations make the Wald ratio of every valid instrument equal those effects:

* grip strength (continuous, SD units, n = 461,089 as the UK Biobank hand-grip GWAS): about 100 independent
  loci, each a causal variant plus a few variants in LD with it (so clumping has work to do);
* cognitive impairment (case-control, log-odds, 100,000 cases / 400,000 controls): 20 loci;
* for a grip instrument with per-allele effect ``g``: effect on cognitive-impairment log-odds
  ``log(0.93) * g`` (+ a direct, pleiotropic effect for a share of instruments, mean zero: balanced
  pleiotropy satisfying InSIDE);
* for a cognitive-impairment instrument with log-odds effect ``a``: effect on grip ``log(0.878) * a`` SD.
  Our reading of the source's reverse "OR 0.878": TwoSampleMR's ``generate_odds_ratios`` exponentiates the
  IVW beta, here SD of grip per unit log-odds of cognitive impairment, so beta = log(0.878) = -0.130;
* the marginal (total) associations are generated directly; with feedback in both directions these are the
  equilibrium associations, whose ratio is still the causal effect;
* each file independently reports a share of variants with effect/other allele swapped (beta negated, eaf
  complemented), a share on the opposite strand (alleles complemented; for A/T and C/G variants this is
  indistinguishable from a swap except through allele frequency), a little eaf noise between studies, and a
  share of variants missing; about 15% of variants are palindromic (A/T, C/G).

Loci are spread evenly over the autosomes (GRCh37 lengths), more than 10 Mb apart, so distance-based
clumping with a 10,000 kb window keeps one variant per locus. The default of 200,000 variants keeps the
default run fast; ``n_variants`` scales to 10 million (vectorised, about 1 GB of memory).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from isal import igzip
from scipy.special import ndtr

from musclecog.errors import ConfigError
from musclecog.simulate import SimulatedCohort, truth_table

# GRCh37 autosome lengths (bp), chromosomes 1-22.
CHROMOSOME_LENGTHS = np.array(
    [
        249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663, 146364022,
        141213431, 135534747, 135006516, 133851895, 115169878, 107349540, 102531392, 90354753,
        81195210, 78077248, 59128983, 63025520, 48129895, 51304566,
    ],
    dtype=np.int64,
)

BASES = np.array(["A", "C", "G", "T"])
# ordered (effect, other) pairs as base codes A=0 C=1 G=2 T=3; the complement of code c is 3 - c.
_PAIRS = np.array(
    [(0, 2), (2, 0), (1, 3), (3, 1),  # transitions A/G, C/T
     (0, 1), (1, 0), (2, 3), (3, 2),  # non-palindromic transversions A/C, G/T
     (0, 3), (3, 0), (1, 2), (2, 1)],  # palindromic A/T, C/G
    dtype=np.int8,
)
_PAIR_PROB = np.array([0.16] * 4 + [0.0525] * 4 + [0.0375] * 4)

TRAITS = ("grip", "cognitive_impairment")
GWAS_FAMILY = "grip_cognition"
"""Both traits derive their seed from this name, so the two files share one set of variants."""


@dataclass(frozen=True)
class GripCognitionParams:
    """Parameters of the synthetic grip / cognitive-impairment GWAS pair (all overridable from the config).

    Sources: ``or_grip_on_ci`` and ``or_ci_on_grip`` are the review's published numbers; the sample sizes,
    instrument strengths and error shares are plausible values chosen so that the IVW confidence
    intervals have about the source's width (labelled ``literature`` in the truth table).
    """

    n_variants: int = 200_000
    n_grip: int = 461_089
    ncase: int = 100_000
    ncontrol: int = 400_000
    prevalence: float = 0.15
    or_grip_on_ci: float = 0.93
    or_ci_on_grip: float = 0.878
    n_grip_loci: int = 100
    n_ci_loci: int = 20
    grip_r2_total: float = 0.025
    ci_instrument_z_min: float = 6.5
    ci_instrument_z_extra: float = 3.0
    tags_per_locus: int = 4
    pleiotropic_share: float = 0.1
    pleiotropy_sd_grip_to_ci: float = 0.004
    pleiotropy_sd_ci_to_grip: float = 0.002
    swapped_share: float = 0.3
    strand_flipped_share: float = 0.05
    missing_share: float = 0.02
    eaf_noise_sd: float = 0.01
    build: str = "GRCh37"

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any] | None, n_variants: int | None = None) -> GripCognitionParams:
        """Parameters from config overrides; unknown names fail with the list of known ones."""
        params = dict(params or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(
                f"synthetic GWAS: unknown parameter(s) {unknown}; known parameters: {', '.join(sorted(known))}"
            )
        out = replace(cls(), **params)
        if n_variants is not None:
            out = replace(out, n_variants=int(n_variants))
        loci = out.n_grip_loci + out.n_ci_loci
        if out.n_variants < loci * (out.tags_per_locus + 1) * 2:
            raise ConfigError(
                f"synthetic GWAS: n_variants = {out.n_variants} is too small for {loci} loci with "
                f"{out.tags_per_locus} LD tags each; use at least {loci * (out.tags_per_locus + 1) * 2}"
            )
        return out


_FIRST_RS = 1000
"""Variant ``i`` (0-based, genome order) is ``rs<_FIRST_RS + i>``."""
_ALLELE_COLUMNS = ("effect_allele", "other_allele")


@dataclass(frozen=True)
class SimulatedGwasPair:
    """The two summary-statistics tables (each trait's own allele coding and missing variants), the true
    loci and the truth table.

    ``columns[trait]`` holds each table's columns as generated: ``variant_id`` as the variant's index (see
    :func:`_variant_ids`), the alleles as base codes (A=0 C=1 G=2 T=3) and the sample sizes as one number.
    :attr:`tables` builds the DataFrames from them on first use; :meth:`arrow` builds the Arrow table a file is
    written from without them (:func:`write_simulated_gwas`, one trait per job, needs no DataFrame).
    """

    columns: dict[str, dict[str, Any]]
    loci: pd.DataFrame
    truth: pd.DataFrame
    params: GripCognitionParams = field(default_factory=GripCognitionParams)

    @cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        """``{trait: DataFrame}``: columns ``variant_id, chromosome, base_pair_location, effect_allele,
        other_allele, beta, standard_error, effect_allele_frequency, p_value, n`` (+ ``ncase, ncontrol``)."""
        bases = BASES.astype(object)
        # the ids as Python strings, made once for both tables
        ids = _variant_ids(np.arange(self.params.n_variants)).to_numpy(zero_copy_only=False)
        out = {}
        for trait, cols in self.columns.items():
            frame: dict[str, Any] = {}
            for name, values in cols.items():
                if name == "variant_id":
                    frame[name] = ids[values]
                elif name in _ALLELE_COLUMNS:
                    frame[name] = bases[values]
                else:
                    frame[name] = values
            out[trait] = pd.DataFrame(frame)
        return out

    def arrow(self, trait: str) -> pa.Table:
        """One trait's table as Arrow (the same values and column types as ``pa.Table.from_pandas`` of
        ``tables[trait]``), built from the columns without pandas."""
        cols = self.columns[trait]
        m = len(cols["variant_id"])
        bases = pa.array(BASES.tolist())
        arrays: dict[str, pa.Array] = {}
        for name, values in cols.items():
            if name == "variant_id":
                arrays[name] = _variant_ids(values)
            elif name in _ALLELE_COLUMNS:
                arrays[name] = bases.take(pa.array(values))
            elif np.ndim(values) == 0:
                arrays[name] = pa.array(np.full(m, values, dtype=np.int64))
            else:
                arrays[name] = pa.array(values)
        return pa.table(arrays)


def _variant_ids(index: np.ndarray) -> pa.Array:
    """The ids ``rs<_FIRST_RS + index>`` of variants by index, as an Arrow string array (no Python objects)."""
    return pc.binary_join_element_wise("rs", pa.array(index + _FIRST_RS).cast(pa.string()), "")


def _positions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, unique positions spread over the autosomes in proportion to their length."""
    share = CHROMOSOME_LENGTHS / CHROMOSOME_LENGTHS.sum()
    counts = np.floor(share * n).astype(np.int64)
    counts[: n - counts.sum()] += 1
    chrom = np.repeat(np.arange(1, 23, dtype=np.int8), counts)
    # i-th variant of a chromosome lies in the i-th of n_c equal bins: unique and sorted
    start = np.repeat(np.cumsum(counts) - counts, counts)
    within = np.arange(n, dtype=np.int64) - start
    step = (CHROMOSOME_LENGTHS / counts)[chrom - 1]
    pos = np.floor((within + rng.uniform(0.05, 0.95, n)) * step).astype(np.int64) + 1
    return chrom, pos


def _pvalue(z: np.ndarray) -> np.ndarray:
    return 2.0 * ndtr(-np.abs(z))


def simulate_grip_cognition(seed: int, n_variants: int | None = None, **params: Any) -> SimulatedGwasPair:
    """Generate the grip-strength and cognitive-impairment GWAS pair.

    Parameters
    ----------
    seed : int
        Random seed; the same seed and parameters give identical tables.
    n_variants : int, optional
        Number of variants (default 200,000; up to 10 million).
    **params
        Overrides of :class:`GripCognitionParams`.

    Returns
    -------
    SimulatedGwasPair
        ``tables["grip"]`` and ``tables["cognitive_impairment"]`` with columns ``variant_id, chromosome,
        base_pair_location, effect_allele, other_allele, beta, standard_error, effect_allele_frequency,
        p_value, n`` (+ ``ncase, ncontrol`` for cognitive impairment).
    """
    p = GripCognitionParams.from_mapping(params, n_variants)
    rng = np.random.default_rng(seed)
    n = p.n_variants
    chrom, pos = _positions(rng, n)
    pair = _PAIRS[rng.choice(len(_PAIRS), size=n, p=_PAIR_PROB)]
    maf = rng.uniform(0.01, 0.5, n)
    eaf = np.where(rng.random(n) < 0.5, maf, 1.0 - maf)

    # loci: evenly spaced in genome order (> 10 Mb apart), traits assigned at random
    n_loci = p.n_grip_loci + p.n_ci_loci
    span = n // n_loci
    centre = (np.arange(n_loci) * span + span // 2).astype(np.int64)
    trait_of_locus = rng.permutation(np.r_[np.zeros(p.n_grip_loci, np.int8), np.ones(p.n_ci_loci, np.int8)])
    # instruments have common alleles so that they are detectable
    maf_c = rng.uniform(0.05, 0.5, n_loci)
    eaf[centre] = np.where(rng.random(n_loci) < 0.5, maf_c, 1.0 - maf_c)
    h = 2.0 * eaf * (1.0 - eaf)  # genotype variance per variant

    phi = p.ncase / (p.ncase + p.ncontrol)
    n_eff_ci = (p.ncase + p.ncontrol) * phi * (1.0 - phi)
    se_grip = 1.0 / np.sqrt(h * p.n_grip)
    se_ci = 1.0 / np.sqrt(h * n_eff_ci)
    theta_gc = math.log(p.or_grip_on_ci)
    theta_cg = math.log(p.or_ci_on_grip)

    true_grip = np.zeros(n)
    true_ci = np.zeros(n)
    is_grip = trait_of_locus == 0
    hc = h[centre]
    # grip loci: variance explained r2_j = h * gamma^2 with a floor that keeps z above ~6
    r2_floor = 40.0 / p.n_grip
    r2_mean_extra = max(p.grip_r2_total / p.n_grip_loci - r2_floor, 1e-12)
    r2 = r2_floor + rng.exponential(r2_mean_extra, p.n_grip_loci)
    sign = np.where(rng.random(n_loci) < 0.5, -1.0, 1.0)
    gamma = np.zeros(n_loci)
    gamma[is_grip] = sign[is_grip] * np.sqrt(r2 / hc[is_grip])
    z_ci = p.ci_instrument_z_min + rng.exponential(p.ci_instrument_z_extra, p.n_ci_loci)
    alpha = np.zeros(n_loci)
    alpha[~is_grip] = sign[~is_grip] * z_ci / np.sqrt(hc[~is_grip] * n_eff_ci)
    pleio = rng.random(n_loci) < p.pleiotropic_share
    direct_ci = np.where(pleio & is_grip, rng.normal(0.0, p.pleiotropy_sd_grip_to_ci, n_loci), 0.0)
    direct_grip = np.where(pleio & ~is_grip, rng.normal(0.0, p.pleiotropy_sd_ci_to_grip, n_loci), 0.0)
    locus_grip = np.where(is_grip, gamma, theta_cg * alpha + direct_grip)
    locus_ci = np.where(is_grip, theta_gc * gamma + direct_ci, alpha)
    true_grip[centre] = locus_grip
    true_ci[centre] = locus_ci

    # LD tags: the next variants after each causal variant, genotype correlation r with it
    k = p.tags_per_locus
    tag_idx = (centre[:, None] + np.arange(1, k + 1)[None, :]).ravel()
    r_tag = rng.uniform(0.3, 0.95, (n_loci, k)).ravel()
    owner = np.repeat(np.arange(n_loci), k)
    scale = r_tag * np.sqrt(hc[owner] / h[tag_idx])
    true_grip[tag_idx] = scale * locus_grip[owner]
    true_ci[tag_idx] = scale * locus_ci[owner]

    # estimation error: independent samples for the two GWAS; tags share their causal variant's error
    e_grip = rng.standard_normal(n)
    e_ci = rng.standard_normal(n)
    for e in (e_grip, e_ci):
        e[tag_idx] = r_tag * e[centre[owner]] + np.sqrt(1.0 - r_tag**2) * e[tag_idx]
    beta = {"grip": true_grip + se_grip * e_grip, "cognitive_impairment": true_ci + se_ci * e_ci}
    se = {"grip": se_grip, "cognitive_impairment": se_ci}

    columns: dict[str, dict[str, Any]] = {}
    index = np.arange(n, dtype=np.int64)
    for trait in TRAITS:
        b = beta[trait].copy()
        f = np.clip(eaf + rng.normal(0.0, p.eaf_noise_sd, n), 0.001, 0.999)
        ea = pair[:, 0].astype(np.int8)
        oa = pair[:, 1].astype(np.int8)
        swap = rng.random(n) < p.swapped_share
        ea, oa = np.where(swap, oa, ea), np.where(swap, ea, oa)
        b = np.where(swap, -b, b)
        f = np.where(swap, 1.0 - f, f)
        flip = rng.random(n) < p.strand_flipped_share
        ea = np.where(flip, 3 - ea, ea)
        oa = np.where(flip, 3 - oa, oa)
        keep = rng.random(n) >= p.missing_share
        keep[centre] = rng.random(n_loci) >= p.missing_share / 2  # a few instruments missing on one side
        s = se[trait]
        cols: dict[str, Any] = {
            "variant_id": index[keep],
            "chromosome": chrom[keep],
            "base_pair_location": pos[keep],
            "effect_allele": ea[keep],
            "other_allele": oa[keep],
            "beta": b[keep],
            "standard_error": s[keep],
            "effect_allele_frequency": np.round(f[keep], 4),
            "p_value": _pvalue(b[keep] / s[keep]),
        }
        if trait == "grip":
            cols["n"] = p.n_grip
        else:
            cols["n"] = p.ncase + p.ncontrol
            cols["ncase"] = p.ncase
            cols["ncontrol"] = p.ncontrol
        columns[trait] = cols

    loci = pd.DataFrame(
        {
            "variant_id": _variant_ids(centre).to_numpy(zero_copy_only=False),
            "chromosome": chrom[centre],
            "base_pair_location": pos[centre],
            "instrument_for": np.where(is_grip, "grip", "cognitive_impairment"),
            "pleiotropic": pleio,
            "true_beta_grip": locus_grip,
            "true_beta_cognitive_impairment": locus_ci,
        }
    )
    truth = truth_table(
        [
            ("grip_on_cognitive_impairment_log_or_per_sd", theta_gc, "log odds per SD grip", "review"),
            ("grip_on_cognitive_impairment_or_per_sd", p.or_grip_on_ci, "odds ratio per SD grip", "review"),
            (
                "cognitive_impairment_on_grip_beta",
                theta_cg,
                "SD grip per unit log odds of cognitive impairment (reported exponentiated as 'OR')",
                "review",
            ),
            ("cognitive_impairment_on_grip_or", p.or_ci_on_grip, "exp(beta), as TwoSampleMR generate_odds_ratios", "review"),
            ("n_grip", p.n_grip, "persons", "literature"),
            ("ncase_cognitive_impairment", p.ncase, "persons", "literature"),
            ("ncontrol_cognitive_impairment", p.ncontrol, "persons", "literature"),
            ("prevalence_cognitive_impairment", p.prevalence, "proportion", "literature"),
            ("n_grip_loci", p.n_grip_loci, "independent loci", "literature"),
            ("n_cognitive_impairment_loci", p.n_ci_loci, "independent loci", "literature"),
            ("grip_r2_instruments", float(np.sum(r2)), "variance explained by grip loci", "derived"),
            ("pleiotropic_share", p.pleiotropic_share, "share of loci with balanced direct effects", "literature"),
            ("n_pleiotropic_grip_loci", int((pleio & is_grip).sum()), "loci", "derived"),
            ("n_pleiotropic_cognitive_impairment_loci", int((pleio & ~is_grip).sum()), "loci", "derived"),
            ("swapped_share", p.swapped_share, "share of variants per file", "literature"),
            ("strand_flipped_share", p.strand_flipped_share, "share of variants per file", "literature"),
            ("missing_share", p.missing_share, "share of variants per file", "literature"),
            ("n_variants", n, "variants", "derived"),
        ]
    )
    return SimulatedGwasPair(columns=columns, loci=loci, truth=truth, params=p)


def write_gwas_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write a summary-statistics table as tab-separated text, gzip-compressed (level 1) when ``path`` ends in .gz.

    pyarrow's CSV writer streams batches of a million rows into the gzip stream (tens of times faster than
    pandas on millions of rows), compressed by ISA-L (``isal``, 3 times zlib's speed at its level 1; any gzip
    reader reads it); beta and standard error are written as float32, about the 7 significant digits that
    published summary statistics carry.
    """
    _write_arrow(pa.Table.from_pandas(table, preserve_index=False), path)


def _write_arrow(arrow: pa.Table, path: str | Path) -> None:
    """:func:`write_gwas_table` of an Arrow table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for col in ("beta", "standard_error"):
        if col in arrow.column_names:
            idx = arrow.column_names.index(col)
            arrow = arrow.set_column(idx, col, arrow.column(col).cast(pa.float32()))
    opts = pacsv.WriteOptions(delimiter="\t", quoting_style="none", include_header=False)
    sink = igzip.open(path, "wb", compresslevel=1) if path.suffix == ".gz" else open(path, "wb")
    sink.write(("\t".join(arrow.column_names) + "\n").encode())
    with sink, pacsv.CSVWriter(sink, arrow.schema, write_options=opts) as writer:
        for batch in arrow.to_batches(max_chunksize=1 << 20):
            writer.write_batch(batch)


def write_simulated_gwas(
    trait: str, path: str | Path, seed: int, n_variants: int | None = None, params: Mapping[str, Any] | None = None
) -> SimulatedGwasPair:
    """Simulate the grip / cognitive-impairment pair and write one trait's file (gzip TSV, GWAS-SSF columns).

    Parameters
    ----------
    trait : {"grip", "cognitive_impairment"}
    path : path
        Output file (``.tsv.gz``); the truth table is written next to it as ``<stem>.truth.tsv``.
    seed : int
        Seed of the pair (both traits must use the same seed to share variants).
    n_variants : int, optional
    params : mapping, optional
        Overrides of :class:`GripCognitionParams`.
    """
    if trait not in TRAITS:
        raise ConfigError(f"synthetic GWAS: unknown trait {trait!r}; this design simulates {', '.join(TRAITS)}")
    pair = simulate_grip_cognition(seed, n_variants, **dict(params or {}))
    _write_arrow(pair.arrow(trait), path)  # the same text as write_gwas_table(pair.tables[trait]), without pandas
    return pair


def _design(trait: str) -> Callable[..., SimulatedCohort]:
    def run(seed: int, n: int = 200_000, **params: Any) -> SimulatedCohort:
        pair = simulate_grip_cognition(seed, n, **params)
        return SimulatedCohort(data=pair.tables[trait], truth=pair.truth)

    run.__doc__ = f"Synthetic {trait} GWAS summary statistics (n = number of variants); see simulate_grip_cognition."
    return run


DESIGNS = {"gwas_grip": _design("grip"), "gwas_cognitive_impairment": _design("cognitive_impairment")}
"""Summary-statistics designs: ``n`` is the number of variants, not of people."""

DESIGN_TRAITS = {"gwas_grip": "grip", "gwas_cognitive_impairment": "cognitive_impairment"}
"""Which trait of the pair each design writes."""
