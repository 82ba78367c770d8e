"""Every branch of TwoSampleMR's harmonise_data rules (R/harmonise.R: harmonise_22, harmonise_21, harmonise_11,
recode_indels_22, harmonise_function_refactored), on hand-made variants whose right answer is known, plus a
literal scalar transcription of harmonise_22 compared with the vectorised code on random variants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.mr.harmonise import HarmoniseSettings, flip_alleles, harmonise_data


def _pair(rows: list[tuple], action: int = 2, band: tuple[float, float] = (0.42, 0.58)) -> pd.DataFrame:
    """rows: (SNP, A1, A2, fA, B1, B2, fB, betaB); exposure beta is always 0.1."""
    exp = pd.DataFrame(
        {
            "SNP": [r[0] for r in rows],
            "effect_allele.exposure": [r[1] for r in rows],
            "other_allele.exposure": [r[2] for r in rows],
            "eaf.exposure": [r[3] for r in rows],
            "beta.exposure": 0.1,
            "se.exposure": 0.01,
        }
    )
    out = pd.DataFrame(
        {
            "SNP": [r[0] for r in rows],
            "effect_allele.outcome": [r[4] for r in rows],
            "other_allele.outcome": [r[5] for r in rows],
            "eaf.outcome": [r[6] for r in rows],
            "beta.outcome": [r[7] for r in rows],
            "se.outcome": 0.02,
        }
    )
    return harmonise_data(exp, out, HarmoniseSettings(action=action, band=band)).data.set_index("SNP")


def test_flip_alleles_complements_base_by_base():
    assert flip_alleles("A") == "T"
    assert flip_alleles("acgt") == "TGCA"
    assert flip_alleles("AG") == "TC"  # no reversal, as TwoSampleMR


def test_non_palindromic_branches():
    d = _pair(
        [
            ("aligned", "A", "G", 0.2, "A", "G", 0.21, 0.05),
            ("swapped", "A", "G", 0.2, "G", "A", 0.79, 0.05),
            ("flipped", "A", "G", 0.2, "T", "C", 0.21, 0.05),
            ("flip_swap", "A", "G", 0.2, "C", "T", 0.79, 0.05),
        ]
    )
    assert d.loc["aligned", "beta.outcome"] == 0.05
    assert d.loc["swapped", "beta.outcome"] == -0.05
    assert d.loc["swapped", "eaf.outcome"] == pytest.approx(0.21)
    assert d.loc["flipped", "beta.outcome"] == 0.05
    assert d.loc["flip_swap", "beta.outcome"] == -0.05
    assert (d["effect_allele.outcome"] == "A").all() and (d["other_allele.outcome"] == "G").all()
    assert d["mr_keep"].all() and not d["palindromic"].any()
    assert d["harmonise_reason"].to_dict() == {
        "aligned": "aligned",
        "swapped": "swapped",
        "flipped": "strand_flipped",
        "flip_swap": "strand_flipped_swapped",
    }


def test_palindromic_branches_action2():
    d = _pair(
        [
            # aligned A/T vs A/T with concordant frequencies: must NOT change sign
            ("pal_same", "A", "T", 0.2, "A", "T", 0.22, 0.05),
            # A/T vs A/T but frequencies on opposite sides of 0.5: outcome on the other strand -> flip
            ("pal_strand", "A", "T", 0.2, "A", "T", 0.8, 0.05),
            # outcome reports T as effect allele with freq 0.8 (= A at 0.2): a plain swap
            ("pal_swap", "A", "T", 0.2, "T", "A", 0.8, 0.05),
            # T/A at 0.2: the outcome's T is the complement strand of A -> swap and flip cancel
            ("pal_swap_strand", "A", "T", 0.2, "T", "A", 0.2, 0.05),
            ("ambiguous", "C", "G", 0.45, "C", "G", 0.3, 0.05),
            ("ambiguous_out", "C", "G", 0.3, "C", "G", 0.57, 0.05),
            ("eaf_missing", "C", "G", np.nan, "C", "G", 0.2, 0.05),
            ("edge_low", "G", "C", 0.42, "G", "C", 0.2, 0.05),  # the band is open: 0.42 is not ambiguous
            ("edge_high", "G", "C", 0.58, "G", "C", 0.8, 0.05),
        ]
    )
    assert d.loc["pal_same", "beta.outcome"] == 0.05
    assert d.loc["pal_strand", "beta.outcome"] == -0.05
    assert d.loc["pal_strand", "eaf.outcome"] == pytest.approx(0.2)
    assert d.loc["pal_swap", "beta.outcome"] == -0.05
    assert d.loc["pal_swap_strand", "beta.outcome"] == 0.05
    assert d["palindromic"].all()
    assert d.loc[["pal_same", "pal_strand", "pal_swap", "pal_swap_strand", "edge_low", "edge_high"], "mr_keep"].all()
    for snp in ("ambiguous", "ambiguous_out", "eaf_missing"):
        assert d.loc[snp, "ambiguous"] and not d.loc[snp, "mr_keep"]
        assert d.loc[snp, "harmonise_reason"] == "palindromic_ambiguous"
    assert not d.loc["edge_low", "ambiguous"] and not d.loc["edge_high", "ambiguous"]
    assert d.loc["pal_same", "harmonise_reason"] == "palindromic_aligned"
    assert d.loc["pal_strand", "harmonise_reason"] == "palindromic_flipped"
    assert d.loc["pal_swap", "harmonise_reason"] == "palindromic_flipped"
    assert d.loc["pal_swap_strand", "harmonise_reason"] == "palindromic_aligned"


def test_action1_and_action3():
    rows = [
        ("pal", "A", "T", 0.2, "A", "T", 0.8, 0.05),
        ("amb", "A", "T", 0.5, "A", "T", 0.5, 0.05),
        ("flip", "A", "G", 0.2, "T", "C", 0.2, 0.05),
        ("bad", "A", "G", 0.2, "A", "C", 0.2, 0.05),
    ]
    d1 = _pair(rows, action=1)
    # action 1: no frequency-based flip of palindromes, ambiguous kept; strand flips of non-palindromes still done
    assert d1.loc["pal", "beta.outcome"] == 0.05
    assert d1.loc["amb", "mr_keep"] and d1.loc["pal", "mr_keep"]
    assert d1.loc["flip", "effect_allele.outcome"] == "A" and d1.loc["flip", "mr_keep"]
    assert not d1.loc["bad", "mr_keep"]
    d3 = _pair(rows, action=3)
    assert not d3.loc["pal", "mr_keep"] and not d3.loc["amb", "mr_keep"]
    assert d3.loc["pal", "harmonise_reason"] == "palindromic_dropped"
    assert d3.loc["flip", "mr_keep"]


def test_mismatched_alleles_dropped():
    d = _pair(
        [
            ("tri", "A", "G", 0.2, "A", "C", 0.2, 0.05),
            ("pal_vs_other", "A", "T", 0.2, "A", "C", 0.2, 0.05),
            ("nothing", "A", "G", 0.2, "C", "A", 0.2, 0.05),
        ]
    )
    assert not d["mr_keep"].any()
    assert d["remove"].all()
    assert set(d["harmonise_reason"]) == {"incompatible_alleles"}


def test_band_is_configurable_and_lowercase_alleles():
    rows = [("x", "a", "t", 0.35, "a", "t", 0.33, 0.05)]
    assert _pair(rows)["mr_keep"].all()
    d = _pair(rows, band=(0.3, 0.7))
    assert not d["mr_keep"].any() and d["ambiguous"].all()


def test_missing_beta_sets_mr_keep_false():
    d = _pair([("m", "A", "G", 0.2, "A", "G", 0.2, np.nan)])
    assert not d.loc["m", "mr_keep"]
    assert d.loc["m", "harmonise_reason"] == "missing_beta_or_se"


def test_outcome_without_other_allele_harmonise_21():
    d = _pair(
        [
            ("same", "A", "G", 0.2, "A", None, 0.21, 0.05),
            ("swap", "A", "G", 0.2, "G", None, 0.79, 0.05),
            ("freq_disagree", "A", "G", 0.2, "A", None, 0.8, 0.05),
            ("pal", "A", "T", 0.2, "A", None, 0.2, 0.05),
        ]
    )
    assert d.loc["same", "mr_keep"] and d.loc["same", "other_allele.outcome"] == "G"
    assert d.loc["swap", "beta.outcome"] == -0.05 and d.loc["swap", "mr_keep"]
    assert d.loc["freq_disagree", "ambiguous"] and not d.loc["freq_disagree", "mr_keep"]
    assert d.loc["pal", "palindromic"] and not d.loc["pal", "mr_keep"]


def test_indels_coded_d_i_are_recoded():
    d = _pair(
        [
            ("ins", "AT", "A", 0.2, "I", "D", 0.2, 0.05),
            ("del", "AT", "A", 0.2, "D", "I", 0.8, 0.05),
            ("same_len", "AT", "GC", 0.2, "I", "D", 0.2, 0.05),
        ]
    )
    assert d.loc["ins", "mr_keep"] and d.loc["ins", "beta.outcome"] == 0.05
    assert d.loc["del", "mr_keep"] and d.loc["del", "beta.outcome"] == -0.05
    assert not d.loc["same_len", "mr_keep"]
    assert d.loc["same_len", "harmonise_reason"] == "indel_unresolvable"


def test_flow_counts_every_exclusion_and_absent_variants():
    exp = pd.DataFrame({"SNP": ["a", "b", "c"], "effect_allele.exposure": ["A", "A", "A"],
                        "other_allele.exposure": ["G", "T", "G"], "eaf.exposure": [0.2, 0.5, 0.2],
                        "beta.exposure": 0.1, "se.exposure": 0.01})
    out = pd.DataFrame({"SNP": ["a", "b"], "effect_allele.outcome": ["A", "A"], "other_allele.outcome": ["G", "T"],
                        "eaf.outcome": [0.2, 0.5], "beta.outcome": 0.1, "se.outcome": 0.01})
    h = harmonise_data(exp, out)
    flow = h.flow.set_index("step")
    assert flow.loc["merge", "n_excluded"] == 1
    assert flow.loc["harmonise.palindromic_ambiguous", "n_excluded"] == 1
    assert flow["n_excluded"].sum() == 3 - int(h.data["mr_keep"].sum())


def test_no_shared_variant_and_bad_settings_fail_clearly():
    exp = pd.DataFrame({"SNP": ["a"], "effect_allele.exposure": ["A"], "beta.exposure": 0.1, "se.exposure": 0.01})
    out = pd.DataFrame({"SNP": ["z"], "effect_allele.outcome": ["A"], "beta.outcome": 0.1, "se.outcome": 0.01})
    with pytest.raises(DataError, match="share no variant"):
        harmonise_data(exp, out)
    with pytest.raises(ConfigError, match="actions are 1, 2 and 3"):
        HarmoniseSettings.from_config({"action": 4})
    with pytest.raises(ConfigError, match="ambiguity_band"):
        HarmoniseSettings.from_config({"ambiguity_band": [0.6, 0.7]})


def _reference_22(A1, A2, B1, B2, betaB, fA, fB, action=2):
    """Literal scalar transcription of TwoSampleMR harmonise_22 + the mr_keep rule (single-base alleles)."""
    tol = 0.08  # TwoSampleMR's default tolerance
    comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
    if A1 == B2 and A2 == B1:
        B1, B2, betaB, fB = B2, B1, -betaB, 1 - fB
    pal = (A1, A2) in {("A", "T"), ("T", "A"), ("G", "C"), ("C", "G")}
    if not pal and not (A1 == B1 and A2 == B2):
        B1, B2 = comp[B1], comp[B2]
    if A1 == B2 and A2 == B1:
        B1, B2, betaB, fB = B2, B1, -betaB, 1 - fB
    remove = not (A1 == B1 and A2 == B2)
    tfa = 0.5 if np.isnan(fA) else fA
    tfb = 0.5 if np.isnan(fB) else fB
    amb = pal and ((0.5 - tol < tfa < 0.5 + tol) or (0.5 - tol < tfb < 0.5 + tol))
    if action == 2 and pal and not remove and ((tfa < 0.5 < tfb) or (tfa > 0.5 > tfb)):
        betaB, fB = -betaB, 1 - fB
    keep = not (remove or amb) if action == 2 else not remove
    return betaB, keep


@pytest.mark.parametrize("action", [1, 2])
def test_vectorised_matches_scalar_transcription(action):
    rng = np.random.default_rng(7)
    n = 3000
    bases = np.array(list("ACGT"))
    a1 = bases[rng.integers(0, 4, n)]
    a2 = bases[(np.searchsorted(bases, a1) + rng.integers(1, 4, n)) % 4]
    b1, b2 = a1.copy(), a2.copy()
    swap = rng.random(n) < 0.4
    b1[swap], b2[swap] = a2[swap], a1[swap]
    comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
    flip = rng.random(n) < 0.3
    b1[flip] = [comp[x] for x in b1[flip]]
    b2[flip] = [comp[x] for x in b2[flip]]
    junk = rng.random(n) < 0.05
    b2[junk] = bases[rng.integers(0, 4, junk.sum())]
    fa = rng.uniform(0.01, 0.99, n)
    fb = np.where(rng.random(n) < 0.5, fa, 1 - fa) + rng.normal(0, 0.02, n)
    fa[rng.random(n) < 0.03] = np.nan
    beta_b = rng.normal(0, 0.1, n)
    snp = [f"rs{i}" for i in range(n)]
    exp = pd.DataFrame({"SNP": snp, "effect_allele.exposure": a1, "other_allele.exposure": a2, "eaf.exposure": fa,
                        "beta.exposure": 0.1, "se.exposure": 0.01})
    out = pd.DataFrame({"SNP": snp, "effect_allele.outcome": b1, "other_allele.outcome": b2, "eaf.outcome": fb,
                        "beta.outcome": beta_b, "se.outcome": 0.02})
    d = harmonise_data(exp, out, HarmoniseSettings(action=action)).data
    ref = [_reference_22(*args, action=action) for args in zip(a1, a2, b1, b2, beta_b, fa, fb, strict=True)]
    np.testing.assert_array_equal(d["mr_keep"].to_numpy(), [k for _, k in ref])
    np.testing.assert_allclose(d["beta.outcome"].to_numpy(), [b for b, _ in ref])
