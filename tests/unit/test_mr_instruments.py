"""Instrument selection: threshold with fallback, distance and PLINK clumping, F statistics; and the synthetic GWAS."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError
from musclecog.mr.gwas import GwasSpec, standardise, write_standardised
from musclecog.mr.instruments import (
    InstrumentSettings,
    clump_by_distance,
    clump_with_plink,
    select_instruments,
)
from musclecog.simulate import designs
from musclecog.simulate.gwas import simulate_grip_cognition, write_gwas_table


def _parquet(tmp_path, rows, name="e"):
    path = tmp_path / f"{name}.tsv"
    pd.DataFrame(rows, columns=["variant_id", "chromosome", "base_pair_location", "effect_allele", "other_allele",
                                "beta", "standard_error", "effect_allele_frequency", "p_value", "n"]).to_csv(
        path, sep="\t", index=False)
    out = tmp_path / f"{name}.parquet"
    write_standardised(standardise(GwasSpec(name=name, path=str(path))), out)
    return out


def test_clump_by_distance_keeps_best_per_window():
    chrom = np.array(["1", "1", "1", "2", "1"])
    pos = np.array([1_000_000, 5_000_000, 30_000_000, 1_000_000, 12_000_000], float)
    p = np.array([1e-10, 1e-12, 1e-9, 1e-9, 1e-8])
    keep = clump_by_distance(chrom, pos, p, 10_000)
    # 5 Mb wins over 1 Mb (same window); 12 Mb is within 10 Mb of 5 Mb; 30 Mb and chr2 are free
    assert keep.tolist() == [False, True, True, True, False]


def test_threshold_fallback_is_stated(tmp_path):
    rows = [("rs1", 1, 1_000_000, "A", "G", 0.1, 0.01, 0.3, 1e-20, 10000),
            ("rs2", 2, 1_000_000, "A", "G", 0.05, 0.01, 0.3, 1e-7, 10000),
            ("rs3", 3, 1_000_000, "A", "C", 0.05, 0.01, 0.3, 1e-6, 10000),
            ("rs4", 3, 1_000_100, "A", "C", 0.01, 0.01, 0.3, 0.3, 10000)]
    pq = _parquet(tmp_path, rows)
    sel = select_instruments(pq, InstrumentSettings())
    assert sel.p_threshold == 5e-6
    assert sel.data["SNP"].tolist() == ["rs1", "rs2", "rs3"]
    assert "fallback threshold" in sel.notes[0]
    assert "approximation" in sel.clump_label
    assert sel.summary["fallback_used"].iloc[0]
    np.testing.assert_allclose(sel.data["fstat"], [100.0, 25.0, 25.0])
    f = sel.data["fstat"].to_numpy()
    np.testing.assert_allclose(sel.data["rsq"], f / (10000 - 2 + f))  # TwoSampleMR get_r_from_bsen
    strict = select_instruments(pq, InstrumentSettings(fallback_p_threshold=None))
    assert strict.data["SNP"].tolist() == ["rs1"] and not strict.notes[:1] == ("fallback",)
    with pytest.raises(ConfigError, match="no 'reference_panel'"):
        InstrumentSettings.from_config({"clump": "plink"})


def _write_bfile(prefix, genotypes, snps, chroms):
    """A PLINK 1 binary fileset: SNP-major .bed (2 bits per genotype, 00/10/11 = 0/1/2 copies of A2)."""
    n = genotypes.shape[1]
    code = np.array([0b00, 0b10, 0b11], dtype=np.uint8)
    with open(f"{prefix}.bed", "wb") as fh:
        fh.write(bytes([0x6C, 0x1B, 0x01]))
        for g in genotypes:
            c = np.zeros(((n + 3) // 4) * 4, np.uint8)
            c[:n] = code[g]
            packed = c[0::4] | (c[1::4] << 2) | (c[2::4] << 4) | (c[3::4] << 6)
            fh.write(packed.tobytes())
    with open(f"{prefix}.bim", "w") as fh:
        for i, s in enumerate(snps):
            fh.write(f"{chroms[i]}\t{s}\t0\t{1000 + i * 1000}\tA\tG\n")
    with open(f"{prefix}.fam", "w") as fh:
        for i in range(n):
            fh.write(f"f{i} i{i} 0 0 1 -9\n")


@pytest.mark.skipif(shutil.which("plink1.9") is None and shutil.which("plink") is None and not os.environ.get("CI"),
                    reason="PLINK 1.9 not installed (Debian: apt-get install plink1.9); under CI this fails")
def test_plink_clumping_against_a_reference_panel(tmp_path):
    rng = np.random.default_rng(3)
    g1 = rng.binomial(2, 0.3, 400)
    g3 = rng.binomial(2, 0.4, 400)
    g2 = g1.copy()  # perfect LD with rs1
    _write_bfile(tmp_path / "ref", np.vstack([g1, g2, g3]), ["rs1", "rs2", "rs3"], [1, 1, 2])
    keep, absent = clump_with_plink(np.array(["rs1", "rs2", "rs3", "rs9"]), np.array([1e-12, 1e-10, 1e-9, 1e-9]),
                                    str(tmp_path / "ref"), r2=0.001, kb=10_000, workdir=tmp_path / "work")
    assert keep.tolist() == [True, False, True, False]
    assert absent == 1


def test_synthetic_gwas_pair_is_deterministic_and_calibrated():
    a = simulate_grip_cognition(11, n_variants=20_000)
    b = simulate_grip_cognition(11, n_variants=20_000)
    pd.testing.assert_frame_equal(a.tables["grip"], b.tables["grip"])
    grip, ci = a.tables["grip"], a.tables["cognitive_impairment"]
    assert {"ncase", "ncontrol"} <= set(ci.columns)
    pal = ((grip.effect_allele + grip.other_allele).isin(["AT", "TA", "CG", "GC"])).mean()
    assert 0.1 < pal < 0.2
    assert 0.9 * 20_000 < len(grip) < 20_000  # ~2% missing per file
    # the true per-locus effects have exactly the review's ratios
    loci = a.loci
    g = loci[(loci.instrument_for == "grip") & ~loci.pleiotropic]
    np.testing.assert_allclose(g.true_beta_cognitive_impairment / g.true_beta_grip, np.log(0.93))
    c = loci[(loci.instrument_for == "cognitive_impairment") & ~loci.pleiotropic]
    np.testing.assert_allclose(c.true_beta_grip / c.true_beta_cognitive_impairment, np.log(0.878))
    truth = a.truth.set_index("parameter")["value"]
    assert truth["grip_on_cognitive_impairment_or_per_sd"] == 0.93
    assert "gwas_grip" in designs() and "gwas_cognitive_impairment" in designs()
    with pytest.raises(ConfigError, match="unknown parameter"):
        simulate_grip_cognition(1, n_variants=20_000, or_grip=1.0)


def test_synthetic_pair_recovers_both_effects(tmp_path):
    """IVW on the default-size synthetic pair (seed 5) covers the truth in both directions (Steiger-filtered)."""
    from musclecog.mr.analysis import MRSettings
    from musclecog.mr.pipeline import run_pair

    pair = simulate_grip_cognition(5, n_variants=60_000)
    paths = {}
    for trait, extra in (("grip", {"units": "SD"}), ("cognitive_impairment", {"type": "binary", "prevalence": 0.15})):
        raw = tmp_path / f"{trait}.tsv.gz"
        write_gwas_table(pair.tables[trait], raw)
        paths[trait] = tmp_path / f"{trait}.parquet"
        write_standardised(standardise(GwasSpec.from_config(trait, {"path": str(raw), **extra})), paths[trait])
    settings = MRSettings.from_config({"methods": ["ivw"]})
    for exp, out, truth in (("grip", "cognitive_impairment", np.log(0.93)),
                            ("cognitive_impairment", "grip", np.log(0.878))):
        res = run_pair(paths[exp], paths[out], {"steiger_filter": True}, settings, 1)
        row = res.result.to_tidy().query("method == 'Inverse variance weighted' and scale == 'beta'").iloc[0]
        assert row.conf_low < truth < row.conf_high, (exp, row.estimate, row.conf_low, row.conf_high)
        assert res.flow["n_excluded"].ge(0).all()
