"""Harmonise exposure and outcome effects to the same allele, exactly as TwoSampleMR's ``harmonise_data``.

The rules are those of TwoSampleMR ``R/harmonise.R`` (``harmonise_22``, ``harmonise_21``, ``harmonise_11``,
``recode_indels_22`` and ``harmonise_function_refactored``), applied to whole columns at once: alleles are
integer codes into one small dictionary (with each allele's complement), so a table of millions of variants is
harmonised with a handful of numpy passes and no per-variant Python code.

Both alleles known on both sides (``harmonise_22``), in this order:

1. outcome alleles the other way round (A1 = B2, A2 = B1): swap them, negate the outcome beta, eaf -> 1 - eaf;
2. the exposure alleles are palindromic when they are A/T or C/G (single bases);
3. non-palindromic variants that still do not match: complement the outcome alleles (strand flip), then swap
   as in step 1 if needed;
4. variants whose alleles still do not match are incompatible (``remove``, reason ``incompatible_alleles``);
5. a palindromic variant is ambiguous when either eaf lies strictly inside the band (default 0.42-0.58, i.e.
   TwoSampleMR's tolerance 0.08) or is missing;
6. action 2 only: a palindromic, compatible variant whose exposure and outcome eaf lie on opposite sides of 0.5
   is on the other strand: negate the outcome beta and complement its eaf.

``mr_keep``: action 1 drops incompatible variants; action 2 also drops ambiguous palindromes; action 3 drops
every palindrome. Any missing beta or se also sets ``mr_keep`` False (as ``harmonise_data``). Note that, like the
R code, action 1 still swaps and strand-flips non-palindromic variants.

One-allele cases: outcome without other allele (``harmonise_21``) and neither side with it (``harmonise_11``)
follow R; exposure without other allele (``harmonise_12``) fails in R (it refers to an undefined ``AB``), so
here it is ``harmonise_21`` with the roles of exposure and outcome exchanged (the outcome's coding becomes the
reference, the exposure beta's sign is adjusted) -- an intended-behaviour reading, stated in the reason code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError
from musclecog.filters import flow_frame, flow_row

SIDE_COLUMNS = ("effect_allele", "other_allele", "beta", "se", "eaf", "pval", "samplesize", "ncase", "ncontrol",
                "chr", "pos", "prevalence", "units")
"""Per-side columns carried into the harmonised table (suffixed ``.exposure`` / ``.outcome``)."""

REASONS = (
    "aligned",
    "swapped",
    "strand_flipped",
    "strand_flipped_swapped",
    "palindromic_aligned",
    "palindromic_flipped",
    "palindromic_ambiguous",
    "palindromic_dropped",
    "incompatible_alleles",
    "indel_unresolvable",
    "missing_beta_or_se",
    "one_allele_ambiguous",
)
"""Reason codes of the ``harmonise_reason`` column."""

_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def flip_alleles(x: str) -> str:
    """Complement of an allele string, base by base (TwoSampleMR ``flip_alleles``: no reversal)."""
    return x.upper().translate(_COMPLEMENT)


@dataclass(frozen=True)
class HarmoniseSettings:
    """How to harmonise (config keys ``action`` and ``ambiguity_band`` of an MR pair).

    Attributes
    ----------
    action : {1, 2, 3}
        TwoSampleMR's action: 1 assume the same strand; 2 infer the strand of palindromes from allele
        frequency (default); 3 drop all palindromes.
    band : (float, float)
        Palindromic variants with an eaf strictly inside ``(low, high)`` are ambiguous. TwoSampleMR's
        tolerance 0.08 is the band (0.42, 0.58).
    """

    action: int = 2
    band: tuple[float, float] = (0.42, 0.58)

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], where: str = "mr") -> HarmoniseSettings:
        """Settings from an MR pair's config entry."""
        action = int(entry.get("action", 2))
        if action not in (1, 2, 3):
            raise ConfigError(f"config: '{where}.action' is {action}; TwoSampleMR's actions are 1, 2 and 3")
        band = tuple(float(x) for x in entry.get("ambiguity_band", (0.42, 0.58)))
        if len(band) != 2 or not (0.0 <= band[0] <= 0.5 <= band[1] <= 1.0):
            raise ConfigError(
                f"config: '{where}.ambiguity_band' is {list(band)}; give [low, high] with low <= 0.5 <= high, "
                "e.g. [0.42, 0.58] (TwoSampleMR's tolerance 0.08)"
            )
        return cls(action=action, band=(band[0], band[1]))


class AlleleCodes:
    """A dictionary of allele strings with each one's complement, for integer-coded comparisons."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}

    def code(self, allele: str) -> int:
        """The code of an allele (added, with its complement, when new)."""
        if allele not in self.index:
            for a in (allele, flip_alleles(allele)):
                if a not in self.index:
                    self.index[a] = len(self.values)
                    self.values.append(a)
        return self.index[allele]

    def encode(self, alleles: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Codes of an array of allele strings (missing -> -1), via pandas' factorize (vectorised)."""
        arr = pd.Series(np.asarray(alleles, dtype=object))
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        table = np.array([self.code(str(u).strip().upper()) for u in uniques] + [-1], dtype=np.int32)
        return table[np.where(codes < 0, len(uniques), codes)]

    def remap(self, codes: np.ndarray, values: Sequence[str]) -> np.ndarray:
        """Translate codes of another dictionary ``values`` (e.g. a parquet dictionary) into this one."""
        table = np.array([self.code(str(v).strip().upper()) for v in values] + [-1], dtype=np.int32)
        return table[np.where(codes < 0, len(values), codes)]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(values, complement code, single-base flag, D/I flag)`` arrays indexed by code."""
        vals = np.array(self.values + [""], dtype=object)  # index -1 -> ""
        comp = np.array([self.index[flip_alleles(v)] for v in self.values] + [-1], dtype=np.int32)
        single = np.array([len(v) == 1 and v in "ACGT" for v in self.values] + [False])
        di = np.array([v in ("D", "I") for v in self.values] + [False])
        return vals, comp, single, di


def _take(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    # code -1 indexes the sentinel at the end of the lookup table
    return table[codes]


def _recode_indels_22(A1: np.ndarray, A2: np.ndarray, B1: np.ndarray, B2: np.ndarray,
                      coder: AlleleCodes) -> tuple[np.ndarray, ...]:
    """TwoSampleMR ``recode_indels_22`` on string arrays of the indel subset: D/I codes on one side are
    replaced by the other side's sequences by allele length; returns codes and ``keep``."""
    a1, a2, b1, b2 = (np.asarray(x, dtype=object).copy() for x in (A1, A2, B1, B2))
    nca1 = np.array([len(x) for x in a1])
    nca2 = np.array([len(x) for x in a2])
    ncb1 = np.array([len(x) for x in b1])
    ncb2 = np.array([len(x) for x in b2])
    oa1, oa2, ob1, ob2 = a1.copy(), a2.copy(), b1.copy(), b2.copy()
    for cond, n1, n2 in (((ob1 == "I") & (ob2 == "D"), oa1, oa2), ((ob1 == "D") & (ob2 == "I"), oa2, oa1)):
        i = (nca1 > nca2) & cond
        b1[i], b2[i] = n1[i], n2[i]
        i = (nca1 < nca2) & cond
        b1[i], b2[i] = n2[i], n1[i]
    for cond, n1, n2 in (((oa1 == "I") & (oa2 == "D"), ob1, ob2), ((oa1 == "D") & (oa2 == "I"), ob2, ob1)):
        i = (ncb1 > ncb2) & cond
        a1[i], a2[i] = n1[i], n2[i]
        i = (ncb1 < ncb2) & cond
        a1[i], a2[i] = n2[i], n1[i]
    keep = np.ones(len(a1), bool)
    keep[(nca1 > 1) & (nca1 == nca2) & np.isin(ob1, ["D", "I"])] = False
    keep[(ncb1 > 1) & (ncb1 == ncb2) & np.isin(oa1, ["D", "I"])] = False
    keep[oa1 == oa2] = False
    keep[ob1 == ob2] = False
    enc = [coder.encode(x) for x in (a1, a2, b1, b2)]
    return (*enc, keep)


@dataclass(frozen=True)
class CodedSide:
    """One side (exposure or outcome) of the variants to harmonise, row-aligned with the other side.

    Attributes
    ----------
    effect, other : ndarray of int
        Codes (from an :class:`AlleleCodes`) of the effect and other alleles; -1 = missing.
    beta, eaf : ndarray of float
        Effects and effect-allele frequencies (NaN = missing).
    """

    effect: np.ndarray
    other: np.ndarray
    beta: np.ndarray
    eaf: np.ndarray


def harmonise_alleles(
    exposure: CodedSide, outcome: CodedSide, coder: AlleleCodes, settings: HarmoniseSettings = HarmoniseSettings(),
) -> dict[str, np.ndarray]:
    """Harmonise allele-coded arrays (the vectorised core of :func:`harmonise_data`).

    Parameters
    ----------
    exposure, outcome : CodedSide
        Alleles (``A1, A2`` of the exposure and ``B1, B2`` of the outcome below), betas and frequencies.
    coder : AlleleCodes
    settings : HarmoniseSettings

    Returns
    -------
    dict of ndarray
        ``A1, A2, B1, B2`` (codes after harmonisation), ``beta_a, beta_b, f_a, f_b``, ``remove``,
        ``palindromic``, ``ambiguous``, ``mr_keep`` (before the missing-value rule), ``reason`` (str) and ``reason_code`` (its index in
        :data:`REASONS`, int8).
    """
    A1, A2, B1, B2 = (np.asarray(x, dtype=np.int32).copy()
                      for x in (exposure.effect, exposure.other, outcome.effect, outcome.other))
    beta_a, beta_b, f_a, f_b = (np.asarray(x, dtype=float).copy()
                                for x in (exposure.beta, outcome.beta, exposure.eaf, outcome.eaf))
    n = len(A1)
    lo, hi = settings.band
    vals, comp, single, di = coder.arrays()
    remove = np.zeros(n, bool)
    pal = np.zeros(n, bool)
    amb = np.zeros(n, bool)
    swapped = np.zeros(n, bool)
    flipped = np.zeros(n, bool)
    pal_flip = np.zeros(n, bool)
    indel_bad = np.zeros(n, bool)
    mirrored = np.zeros(n, bool)

    has_a2, has_b2 = A2 >= 0, B2 >= 0
    i22 = (A1 >= 0) & has_a2 & (B1 >= 0) & has_b2
    i21 = (A1 >= 0) & has_a2 & (B1 >= 0) & ~has_b2
    i12 = (A1 >= 0) & ~has_a2 & (B1 >= 0) & has_b2
    i11 = (A1 >= 0) & ~has_a2 & (B1 >= 0) & ~has_b2
    remove |= ~(i22 | i21 | i12 | i11)  # an effect allele missing on either side

    # --- harmonise_22 -----------------------------------------------------------------------------
    s = i22
    lengths = np.array([len(v) for v in vals])
    indel = s & ((lengths[A1] > 1) | (lengths[A2] > 1) | di[A1])
    if indel.any():
        idx = np.flatnonzero(indel)
        a1, a2, b1, b2, keep = _recode_indels_22(vals[A1[idx]], vals[A2[idx]], vals[B1[idx]], vals[B2[idx]], coder)
        vals, comp, single, di = coder.arrays()
        A1[idx], A2[idx], B1[idx], B2[idx] = a1, a2, b1, b2
        indel_bad[idx[~keep]] = True
    to_swap = s & (A1 == B2) & (A2 == B1)
    B1[to_swap], B2[to_swap] = B2[to_swap], B1[to_swap].copy()
    beta_b[to_swap] *= -1
    f_b[to_swap] = 1 - f_b[to_swap]
    swapped |= to_swap
    status1 = (A1 == B1) & (A2 == B2)
    pal22 = s & single[A1] & (comp[A1] == A2)
    i = s & ~pal22 & ~status1
    B1[i], B2[i] = comp[B1[i]], comp[B2[i]]
    flipped |= i
    to_swap = s & (A1 == B2) & (A2 == B1)
    B1[to_swap], B2[to_swap] = B2[to_swap], B1[to_swap].copy()
    beta_b[to_swap] *= -1
    f_b[to_swap] = 1 - f_b[to_swap]
    swapped |= to_swap
    status1 = (A1 == B1) & (A2 == B2)
    remove |= s & (~status1 | indel_bad)
    tfa = np.where(np.isnan(f_a), 0.5, f_a)
    tfb = np.where(np.isnan(f_b), 0.5, f_b)
    amb_a = (tfa > lo) & (tfa < hi)
    amb_b = (tfb > lo) & (tfb < hi)
    if settings.action == 2:
        status2 = (((tfa < 0.5) & (tfb > 0.5)) | ((tfa > 0.5) & (tfb < 0.5))) & pal22
        to_swap = status2 & ~remove
        beta_b[to_swap] *= -1
        f_b[to_swap] = 1 - f_b[to_swap]
        pal_flip |= to_swap
    pal |= pal22
    amb |= (amb_a | amb_b) & pal22

    # --- harmonise_21 (and harmonise_12 as 21 with the sides exchanged) ----------------------------
    def h21(rows: np.ndarray, X1: np.ndarray, X2: np.ndarray, Y1: np.ndarray, Y2: np.ndarray,
            by: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> None:
        if not rows.any():
            return
        p = rows & single[X1] & (comp[X1] == X2)
        pal[p] = True
        remove[p] = True
        tfx = np.where(np.isnan(fx), 0.5, fx)
        tfy = np.where(np.isnan(fy), 0.5, fy)
        st = rows & (X1 == Y1)
        similar1 = ((tfx < lo) & (tfy < lo)) | ((tfx > hi) & (tfy > hi))
        amb[st & ~similar1] = True
        Y2[st] = X2[st]
        sw = rows & (X2 == Y1)
        similar2 = ((tfx < lo) & (tfy > hi)) | ((tfx > hi) & (tfy < lo))
        amb[sw & ~similar2] = True
        Y2[sw] = Y1[sw]
        Y1[sw] = X1[sw]
        by[sw] *= -1
        fy[sw] = 1 - fy[sw]
        swapped[sw] = True
        fl = rows & (X1 != Y1) & (X2 != Y1)
        amb[fl] = True
        Y1[fl] = comp[Y1[fl]]
        flipped[fl] = True
        st = rows & (X1 == Y1)
        Y2[st] = X2[st]
        sw = rows & (X2 == Y1)
        Y2[sw] = Y1[sw]
        Y1[sw] = X1[sw]
        by[sw] *= -1
        fy[sw] = 1 - fy[sw]
        swapped[sw] = True
        amb[rows & pal] = True

    h21(i21, A1, A2, B1, B2, beta_b, f_a, f_b)
    h21(i12, B1, B2, A1, A2, beta_a, f_b, f_a)
    mirrored |= i12

    # --- harmonise_11 ------------------------------------------------------------------------------
    if i11.any():
        st = i11 & (A1 == B1)
        remove[i11 & ~st] = True
        similar1 = ((tfa < lo) & (tfb < lo)) | ((tfa > hi) & (tfb > hi))
        amb[st & ~similar1] = True

    if settings.action == 3:
        keep = ~(pal | remove | amb)
    elif settings.action == 2:
        keep = ~(remove | amb)
    else:
        keep = ~remove

    net_flip = swapped ^ pal_flip
    code = {r: np.int8(i) for i, r in enumerate(REASONS)}
    reason = np.zeros(n, np.int8)  # REASONS[0] == "aligned"
    reason[swapped] = code["swapped"]
    reason[flipped] = code["strand_flipped"]
    reason[flipped & swapped] = code["strand_flipped_swapped"]
    reason[pal & ~net_flip] = code["palindromic_aligned"]
    reason[pal & net_flip] = code["palindromic_flipped"]
    one_allele = i21 | i12 | i11
    reason[one_allele & amb & ~pal] = code["one_allele_ambiguous"]
    reason[amb & pal] = code["palindromic_ambiguous"]
    if settings.action == 3:
        reason[pal] = code["palindromic_dropped"]
    reason[remove & ~(pal & one_allele)] = code["incompatible_alleles"]
    reason[indel_bad] = code["indel_unresolvable"]
    return {
        "A1": A1, "A2": A2, "B1": B1, "B2": B2, "beta_a": beta_a, "beta_b": beta_b, "f_a": f_a, "f_b": f_b,
        "remove": remove, "palindromic": pal, "ambiguous": amb, "mr_keep": keep,
        "reason": np.asarray(REASONS, dtype=object)[reason], "reason_code": reason, "mirrored": mirrored,
    }


@dataclass(frozen=True)
class HarmonisedData:
    """The harmonised table (TwoSampleMR column names plus ``harmonise_reason``) and its flow table."""

    data: pd.DataFrame
    flow: pd.DataFrame


def suffix(table: pd.DataFrame, side: str, name: str) -> pd.DataFrame:
    """A standardised GWAS table (unsuffixed columns) in TwoSampleMR's per-side names."""
    out = table.rename(columns={c: f"{c}.{side}" for c in table.columns if c != "SNP"})
    out[side] = name
    out[f"id.{side}"] = name
    return out


def harmonise_data(
    exposure_dat: pd.DataFrame, outcome_dat: pd.DataFrame, settings: HarmoniseSettings = HarmoniseSettings()
) -> HarmonisedData:
    """Harmonise exposure and outcome data in TwoSampleMR's layout (TwoSampleMR ``harmonise_data``).

    Parameters
    ----------
    exposure_dat : DataFrame
        ``SNP, effect_allele.exposure, other_allele.exposure, beta.exposure, se.exposure, eaf.exposure, ...``
    outcome_dat : DataFrame
        The same with ``.outcome``.
    settings : HarmoniseSettings

    Returns
    -------
    HarmonisedData
        One row per SNP present on both sides, in the exposure table's order, with ``remove, palindromic,
        ambiguous, mr_keep, action, harmonise_reason``; and the flow table (every variant that leaves counted).

    Raises
    ------
    DataError
        If a required column is missing or the two sides share no variant.
    """
    for side, df in (("exposure", exposure_dat), ("outcome", outcome_dat)):
        need = ["SNP", f"effect_allele.{side}", f"beta.{side}", f"se.{side}"]
        miss = [c for c in need if c not in df.columns]
        if miss:
            raise DataError(f"{side} data lack the columns {miss}; TwoSampleMR names are required: {need}")
    n_exp = len(exposure_dat)
    merged = exposure_dat.merge(outcome_dat, on="SNP", how="inner", sort=False)
    flow = [flow_row("merge", n_exp, len(merged), "excluded: variant absent from the outcome GWAS")]
    if merged.empty:
        raise DataError(
            f"exposure and outcome share no variant: none of the {n_exp} exposure variants "
            f"(e.g. {', '.join(map(str, exposure_dat['SNP'].head(3)))}) is in the outcome data. "
            "Check that both use the same variant ids (rsid vs chr:pos) and the same genome build."
        )
    coder = AlleleCodes()

    def codes(col: str) -> np.ndarray:
        return coder.encode(merged[col].to_numpy()) if col in merged.columns else np.full(len(merged), -1, np.int32)

    def num(col: str) -> np.ndarray:
        return pd.to_numeric(merged[col], errors="coerce").to_numpy(float) if col in merged.columns else np.full(len(merged), np.nan)

    res = harmonise_alleles(
        CodedSide(codes("effect_allele.exposure"), codes("other_allele.exposure"), num("beta.exposure"),
                  num("eaf.exposure")),
        CodedSide(codes("effect_allele.outcome"), codes("other_allele.outcome"), num("beta.outcome"),
                  num("eaf.outcome")),
        coder, settings,
    )
    return _assemble(merged, res, coder, settings, flow)


def _assemble(merged: pd.DataFrame, res: dict[str, np.ndarray], coder: AlleleCodes, settings: HarmoniseSettings,
              flow: list[dict[str, Any]]) -> HarmonisedData:
    vals = np.array(coder.values + [None], dtype=object)
    out = merged.copy()
    out["effect_allele.exposure"] = vals[res["A1"]]
    out["other_allele.exposure"] = vals[res["A2"]]
    out["effect_allele.outcome"] = vals[res["B1"]]
    out["other_allele.outcome"] = vals[res["B2"]]
    out["beta.exposure"] = res["beta_a"]
    out["beta.outcome"] = res["beta_b"]
    out["eaf.exposure"] = res["f_a"]
    out["eaf.outcome"] = res["f_b"]
    out["remove"] = res["remove"]
    out["palindromic"] = res["palindromic"]
    out["ambiguous"] = res["ambiguous"]
    out["action"] = settings.action
    missing = np.zeros(len(out), bool)
    for col in ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome"):
        missing |= pd.to_numeric(out[col], errors="coerce").isna().to_numpy() if col in out.columns else True
    keep = res["mr_keep"] & ~missing
    reason = res["reason"].copy()
    reason[res["mr_keep"] & missing] = "missing_beta_or_se"
    out["mr_keep"] = keep
    out["harmonise_reason"] = reason
    n = len(out)
    counted = np.zeros(n, bool)
    for code, label in (
        ("incompatible_alleles", "alleles incompatible after swap and strand flip"),
        ("indel_unresolvable", "indel coded D/I that cannot be matched"),
        ("palindromic_dropped", "palindromic (action 3 drops all palindromes)"),
        ("palindromic_ambiguous", f"palindromic with eaf inside {settings.band[0]}-{settings.band[1]} or missing"),
        ("one_allele_ambiguous", "one allele only and allele frequencies not informative"),
        ("missing_beta_or_se", "beta or se missing"),
    ):
        bad = (reason == code) & ~keep & ~counted
        n_in = int(n - counted.sum())
        counted |= bad
        flow.append(flow_row(f"harmonise.{code}", n_in, int(n - counted.sum()), f"excluded: {label}"))
    for code in ("swapped", "strand_flipped", "strand_flipped_swapped", "palindromic_flipped", "palindromic_aligned"):
        k = int(((reason == code) & keep).sum())
        m = int(n - counted.sum())
        flow.append(flow_row(f"harmonise.{code}", m, m, f"note: {k} variants {code.replace('_', ' ')} (kept)"))
    lead = ["SNP", "effect_allele.exposure", "other_allele.exposure", "effect_allele.outcome", "other_allele.outcome",
            "beta.exposure", "beta.outcome", "eaf.exposure", "eaf.outcome", "remove", "palindromic", "ambiguous"]
    rest = [c for c in out.columns if c not in lead and c not in ("action", "mr_keep", "harmonise_reason")]
    out = out[lead + rest + ["action", "mr_keep", "harmonise_reason"]].reset_index(drop=True)
    return HarmonisedData(data=out, flow=flow_frame(flow))


def harmonise_tables(
    exposure: pd.DataFrame, outcome: pd.DataFrame, exposure_name: str, outcome_name: str,
    settings: HarmoniseSettings = HarmoniseSettings(),
) -> HarmonisedData:
    """Harmonise two standardised GWAS tables (unsuffixed columns, see :mod:`musclecog.mr.gwas`)."""
    return harmonise_data(suffix(exposure, "exposure", exposure_name), suffix(outcome, "outcome", outcome_name), settings)


def harmonise_arrow(exposure: Any, outcome: Any, settings: HarmoniseSettings = HarmoniseSettings()) -> pd.DataFrame:
    """Harmonise two whole standardised GWAS tables (pyarrow Tables, e.g. from parquet) without a pandas merge.

    The join carries only row numbers (a sort-merge on rs numbers, else pyarrow's hash join); alleles stay
    dictionary codes and are remapped into one :class:`AlleleCodes` dictionary, so millions of variants cost a
    few numpy passes.
    Returns a compact frame (exposure order): ``SNP`` (arrow strings), categorical alleles, betas, ses, eafs,
    ``remove, palindromic, ambiguous, mr_keep, harmonise_reason`` (categorical).
    """
    import pyarrow as pa

    from musclecog.mr.gwas.columns import allele_codes

    i, j = _join_rows(exposure.column("SNP"), outcome.column("SNP"))
    coder = AlleleCodes()

    def codes(table: Any, col: str, rows: np.ndarray) -> np.ndarray:
        c, values = allele_codes(table.column(col))
        return coder.remap(c[rows], list(values))

    def num(table: Any, col: str, rows: np.ndarray) -> np.ndarray:
        return table.column(col).to_numpy().astype(float)[rows]

    res = harmonise_alleles(
        CodedSide(codes(exposure, "effect_allele", i), codes(exposure, "other_allele", i), num(exposure, "beta", i),
                  num(exposure, "eaf", i)),
        CodedSide(codes(outcome, "effect_allele", j), codes(outcome, "other_allele", j), num(outcome, "beta", j),
                  num(outcome, "eaf", j)),
        coder, settings,
    )
    se_e, se_o = num(exposure, "se", i), num(outcome, "se", j)
    missing = np.isnan(res["beta_a"]) | np.isnan(res["beta_b"]) | np.isnan(se_e) | np.isnan(se_o)
    cats = coder.values
    reason_cat = pd.Categorical.from_codes(res["reason_code"], categories=list(REASONS))
    out = pd.DataFrame(
        {
            "SNP": pd.Series(exposure.column("SNP").take(pa.array(i)), dtype=pd.ArrowDtype(pa.string())),
            "effect_allele.exposure": pd.Categorical.from_codes(res["A1"], categories=cats),
            "other_allele.exposure": pd.Categorical.from_codes(res["A2"], categories=cats),
            "effect_allele.outcome": pd.Categorical.from_codes(res["B1"], categories=cats),
            "other_allele.outcome": pd.Categorical.from_codes(res["B2"], categories=cats),
            "beta.exposure": res["beta_a"], "beta.outcome": res["beta_b"],
            "se.exposure": se_e, "se.outcome": se_o,
            "eaf.exposure": res["f_a"], "eaf.outcome": res["f_b"],
            "remove": res["remove"], "palindromic": res["palindromic"], "ambiguous": res["ambiguous"],
            "mr_keep": res["mr_keep"] & ~missing,
            "harmonise_reason": reason_cat,
        },
        copy=False,  # no consolidation of the columns into 2-D blocks (a copy of every column)
    )
    return out


def _join_rows(exposure_snp: Any, outcome_snp: Any) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers ``(i, j)`` of the variants present on both sides, in exposure order (inner join on SNP).

    rsIDs on both sides with unique outcome ids (standardised tables): a sort-merge on the rs numbers (numpy);
    otherwise pyarrow's hash join carrying row numbers.
    """
    import pyarrow as pa

    from musclecog.mr.gwas.columns import rs_numbers

    x = rs_numbers(exposure_snp)
    y = rs_numbers(outcome_snp) if x is not None else None
    if x is not None and y is not None and len(y):
        order = np.argsort(y)
        ys = y[order]
        if not (ys[1:] == ys[:-1]).any():
            pos = np.minimum(np.searchsorted(ys, x), len(ys) - 1)
            hit = ys[pos] == x
            return np.flatnonzero(hit), order[pos[hit]]
    left = pa.table({"SNP": exposure_snp, "_i": pa.array(np.arange(len(exposure_snp), dtype=np.int64))})
    right = pa.table({"SNP": outcome_snp, "_j": pa.array(np.arange(len(outcome_snp), dtype=np.int64))})
    joined = left.join(right, "SNP", join_type="inner", use_threads=True)
    i = joined.column("_i").to_numpy()
    j = joined.column("_j").to_numpy()
    order = np.argsort(i, kind="stable")
    return i[order], j[order]
