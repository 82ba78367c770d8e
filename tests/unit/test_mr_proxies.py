"""LD proxies from a local PLINK panel, against PLINK 1.9 on a small synthetic panel.

The panel (tests/data/ld_panel.{bed,bim,fam}, 300 people, 18 variants, 1% missing genotypes) and PLINK 1.9's
output for it were written once by ``tests/data/make_ld_proxy_panel.py``::

    plink1.9 --bfile tests/data/ld_panel --keep-allele-order --r2 in-phase --ld-window 99999 \
        --ld-window-kb 99999 --ld-window-r2 0      # -> tests/data/ld_panel_r2.ld (R2, PHASE)
    plink1.9 ... --r ...                           # -> tests/data/ld_panel_r.ld (signed R)
    plink1.9 --bfile tests/data/ld_panel --keep-allele-order --freq   # -> tests/data/ld_panel_freq.frq

PLINK prints r and r^2 to 6 significant digits (rounding error <= 5e-7 for |r| < 1), hence the 1e-6
tolerance; frequencies to 4 (tolerance 1e-4). The proxies' expected alleles are read from PLINK's PHASE
column (``AC/GT``: the target's A is in phase with the proxy's C), not from our code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.mr.analysis import MRSettings
from musclecog.mr.gwas import GwasSpec, read_variants, standardise, write_standardised
from musclecog.mr.proxies import ProxySettings, ReferencePanel, add_proxies, align_proxy, ld_proxies, ld_r

DATA = Path(__file__).resolve().parents[1] / "data"
PANEL = str(DATA / "ld_panel")
SSF = ["variant_id", "chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
       "effect_allele_frequency", "p_value", "n"]


@pytest.fixture(scope="module")
def plink_r2() -> pd.DataFrame:
    return pd.read_csv(DATA / "ld_panel_r2.ld", sep=r"\s+")


def _phase(plink_r2: pd.DataFrame, target: str, proxy: str) -> dict[str, str]:
    """PLINK's in-phase pairs as {proxy allele: target allele}."""
    row = plink_r2[((plink_r2.SNP_A == target) & (plink_r2.SNP_B == proxy))
                   | ((plink_r2.SNP_A == proxy) & (plink_r2.SNP_B == target))].iloc[0]
    pairs = row.PHASE.split("/")
    if row.SNP_A == target:
        return {p[1]: p[0] for p in pairs}
    return {p[0]: p[1] for p in pairs}


def _r2(plink_r2: pd.DataFrame, a: str, b: str) -> float:
    row = plink_r2[((plink_r2.SNP_A == a) & (plink_r2.SNP_B == b)) | ((plink_r2.SNP_A == b) & (plink_r2.SNP_B == a))]
    return float(row.R2.iloc[0])


def test_ld_matches_plink_r_r2_phase_and_freq(plink_r2):
    panel = ReferencePanel(PANEL)
    g = panel.genotypes(np.arange(len(panel.bim)))
    ix = panel.index
    r_ref = pd.read_csv(DATA / "ld_panel_r.ld", sep=r"\s+")
    assert len(r_ref) == len(plink_r2) == 18 * 17 // 2
    ours = np.array([ld_r(g[ix[a]], g[[ix[b]]])[0] for a, b in zip(r_ref.SNP_A, r_ref.SNP_B, strict=True)])
    np.testing.assert_allclose(ours, r_ref.R, rtol=0, atol=1e-6)
    r2 = np.array([ld_r(g[ix[a]], g[[ix[b]]])[0] ** 2 for a, b in zip(plink_r2.SNP_A, plink_r2.SNP_B, strict=True)])
    np.testing.assert_allclose(r2, plink_r2.R2, rtol=0, atol=1e-6)
    frq = pd.read_csv(DATA / "ld_panel_freq.frq", sep=r"\s+")
    np.testing.assert_allclose(np.nanmean(g, axis=1) / 2, frq.MAF, atol=1e-4)
    # in-phase alleles of every pair in some LD (for r ~ 0 PLINK's phase is a coin toss)
    for target in panel.bim["SNP"]:
        others = np.flatnonzero(panel.bim["SNP"].to_numpy() != target)
        ld = ld_proxies(panel, target, others)
        for rec in ld[ld.proxy_r2 > 0.05].to_dict("records"):
            phase = _phase(plink_r2, target, rec["proxy_snp"])
            assert phase[rec["proxy_a1"]] == rec["target_a1"] and phase[rec["proxy_a2"]] == rec["target_a2"]


def test_align_proxy_rules():
    s = ProxySettings(reference_panel=PANEL)
    ld = {"proxy_a1": "C", "proxy_a2": "T", "proxy_a1_freq": 0.33}
    assert align_proxy("C", "T", 0.3, ld, s) == "straight"
    assert align_proxy("T", "C", 0.7, ld, s) == "switch"
    assert align_proxy("G", "A", 0.3, ld, s) == "straight"  # other strand
    assert align_proxy("A", "G", 0.7, ld, s) == "switch"
    assert align_proxy("T", None, 0.7, ld, s) == "switch"   # one allele only
    assert align_proxy("C", "G", 0.3, ld, s) == "alleles_incompatible"
    pal = {"proxy_a1": "A", "proxy_a2": "T", "proxy_a1_freq": 0.15}
    assert align_proxy("A", "T", 0.16, pal, s) == "straight"
    assert align_proxy("T", "A", 0.84, pal, s) == "switch"
    assert align_proxy("T", "A", 0.16, pal, s) == "straight"  # label says T, frequency says the panel's A
    assert align_proxy("A", "T", 0.40, pal, s) == "palindromic_ambiguous"
    assert align_proxy("A", "T", np.nan, pal, s) == "palindromic_ambiguous"
    assert align_proxy("A", "T", 0.1, {**pal, "proxy_a1_freq": 0.45}, s) == "palindromic_ambiguous"
    assert align_proxy("A", "T", 0.16, pal, ProxySettings(palindromes=False)) == "palindromic_excluded"


def _table(path: Path, rows: list[tuple]) -> Path:
    pd.DataFrame(rows, columns=SSF).to_csv(path, sep="\t", index=False)
    return path


def _parquet(tmp_path: Path, name: str, rows: list[tuple]) -> Path:
    out = tmp_path / f"{name}.parquet"
    write_standardised(standardise(GwasSpec(name=name, path=str(_table(tmp_path / f"{name}.tsv", rows)))), out)
    return out


# exposure: instruments rsA0 (target), rsB0, rsC0, rsD0, rsE0 (targets), rsX9 (not in the panel), rsI0-rsI2
EXPOSURE = [
    ("rsA0", 1, 1_000_000, "A", "G", 0.10, 0.01, 0.34, 1e-20, 10000),
    ("rsB0", 1, 2_000_000, "C", "A", 0.08, 0.01, 0.59, 1e-15, 10000),
    ("rsC0", 1, 3_000_000, "C", "T", 0.09, 0.01, 0.15, 1e-16, 10000),
    ("rsD0", 1, 4_000_000, "A", "G", 0.07, 0.01, 0.32, 1e-12, 10000),
    ("rsE0", 1, 9_000_000, "A", "T", 0.07, 0.01, 0.40, 1e-12, 10000),
    ("rsX9", 1, 15_000_000, "A", "G", 0.07, 0.01, 0.30, 1e-12, 10000),
    ("rsI0", 1, 20_000_000, "A", "G", 0.06, 0.01, 0.30, 1e-10, 10000),
    ("rsI1", 1, 21_000_000, "A", "G", 0.06, 0.01, 0.30, 1e-10, 10000),
    ("rsI2", 1, 22_000_000, "A", "G", 0.06, 0.01, 0.30, 1e-10, 10000),
]
# outcome: no targets; rsA1 on the other strand (G/A for the panel's C/T), rsB1 with the alleles swapped
# relative to the panel's A1 (T first; its phase with rsB0 is inverted, r < 0), rsC1 palindromic A/T with a
# low eaf, rsD1/rsD2 weak proxies, rsE1 a palindromic proxy at frequency 0.4
OUTCOME = [
    ("rsA1", 1, 1_010_000, "G", "A", 0.030, 0.01, 0.33, 0.01, 20000),
    ("rsA2", 1, 1_020_000, "G", "A", 0.020, 0.01, 0.36, 0.04, 20000),
    ("rsB1", 1, 2_010_000, "T", "G", 0.040, 0.01, 0.42, 0.001, 20000),
    ("rsC1", 1, 3_010_000, "A", "T", 0.050, 0.01, 0.16, 0.001, 20000),
    ("rsD1", 1, 4_010_000, "C", "A", 0.010, 0.01, 0.30, 0.3, 20000),
    ("rsD2", 1, 4_020_000, "T", "G", 0.010, 0.01, 0.30, 0.3, 20000),
    ("rsE1", 1, 9_010_000, "G", "C", 0.010, 0.01, 0.40, 0.3, 20000),
    ("rsI0", 1, 20_000_000, "A", "G", 0.011, 0.01, 0.30, 0.3, 20000),
    ("rsI1", 1, 21_000_000, "G", "A", 0.012, 0.01, 0.70, 0.3, 20000),
    ("rsI2", 1, 22_000_000, "A", "G", 0.013, 0.01, 0.30, 0.3, 20000),
]


def test_proxies_replace_absent_instruments(tmp_path, plink_r2):
    out_pq = _parquet(tmp_path, "o", OUTCOME)
    instruments = pd.DataFrame({"SNP": [r[0] for r in EXPOSURE]})
    rows = read_variants(out_pq, instruments["SNP"].tolist())
    res = add_proxies(instruments, rows, lambda ids: read_variants(out_pq, ids), ProxySettings(reference_panel=PANEL))
    rep = res.report.set_index("target_snp")
    assert rep["status"].to_dict() == {"rsX9": "not_in_panel", "rsA0": "proxy", "rsB0": "proxy", "rsC0": "proxy",
                                       "rsD0": "no_proxy", "rsE0": "unaligned"}
    assert rep.loc["rsE0", "alignment"] == "palindromic_ambiguous"
    assert rep.loc["rsA0", "proxy_snp"] == "rsA1" and rep.loc["rsB0", "proxy_snp"] == "rsB1"
    assert rep.loc["rsC0", "proxy_snp"] == "rsC1"
    for target, proxy in (("rsA0", "rsA1"), ("rsB0", "rsB1"), ("rsC0", "rsC1")):
        assert rep.loc[target, "proxy_r2"] == pytest.approx(_r2(plink_r2, target, proxy), abs=1e-6)
    out = res.outcome.set_index("SNP")
    src = pd.DataFrame(OUTCOME, columns=SSF).set_index("variant_id")
    comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
    # the expected effect allele: the outcome's effect allele (on the panel's strand) through PLINK's PHASE
    for target, proxy, flip in (("rsA0", "rsA1", True), ("rsB0", "rsB1", False)):
        ea = src.loc[proxy, "effect_allele"]
        expect = _phase(plink_r2, target, proxy)[comp[ea] if flip else ea]
        assert out.loc[target, "effect_allele"] == expect
        assert out.loc[target, "beta"] == src.loc[proxy, "beta"] and out.loc[target, "proxy"]
        assert {out.loc[target, "effect_allele"], out.loc[target, "other_allele"]} == {
            out.loc[target, "target_a1"], out.loc[target, "target_a2"]}
    assert out.loc["rsA0", "effect_allele"] == "A" and out.loc["rsB0", "effect_allele"] == "A"
    # the palindromic proxy: its outcome eaf (0.16) and the panel's A frequency (PLINK .frq 0.1536) both say
    # the outcome's effect allele is the panel's A, in phase with the target's C
    assert _phase(plink_r2, "rsC0", "rsC1")["A"] == out.loc["rsC0", "effect_allele"] == "C"
    assert not out.loc["rsI0", "proxy"] and pd.isna(out.loc["rsI0", "proxy_snp"])
    flow = pd.DataFrame(res.flow).set_index("step")
    assert flow.loc["proxies.absent", "n_in"] == 6
    assert flow["n_excluded"].to_dict() == {"proxies.absent": 0, "proxies.not_in_panel": 1, "proxies.no_proxy": 1,
                                            "proxies.unaligned": 1, "proxies.found": 0}
    assert flow.loc["proxies.found", "n_out"] == 3
    # a lower threshold makes the weaker rsA2 eligible but rsA1 stays the best; palindromes off: rsC0 unaligned
    low = add_proxies(instruments, rows, lambda ids: read_variants(out_pq, ids),
                      ProxySettings(reference_panel=PANEL, r2=0.5, palindromes=False)).report.set_index("target_snp")
    assert low.loc["rsA0", "proxy_snp"] == "rsA1" and low.loc["rsC0", "status"] == "unaligned"
    assert low.loc["rsC0", "alignment"] == "palindromic_excluded"
    # a narrow window finds nothing
    narrow = add_proxies(instruments, rows, lambda ids: read_variants(out_pq, ids),
                         ProxySettings(reference_panel=PANEL, kb=5)).report
    assert set(narrow["status"]) == {"not_in_panel", "no_proxy"}


def test_run_pair_reports_proxies_per_instrument(tmp_path):
    from musclecog.mr.pipeline import run_pair

    exp_pq, out_pq = _parquet(tmp_path, "e", EXPOSURE), _parquet(tmp_path, "o", OUTCOME)
    spec = {"clump": "none", "reference_panel": PANEL, "_entry": "e__o"}
    res = run_pair(exp_pq, out_pq, spec, MRSettings.from_config({"methods": ["ivw"]}), 1)
    h = res.harmonised.set_index("SNP")
    assert h.loc["rsA0", "proxy_snp.outcome"] == "rsA1" and h.loc["rsA0", "proxy.outcome"]
    assert h.loc["rsA0", "beta.outcome"] == pytest.approx(0.030)      # proxy allele A = exposure's effect allele
    assert h.loc["rsB0", "beta.outcome"] == pytest.approx(-0.040)     # proxy allele A = exposure's other allele
    assert h.loc["rsC0", "beta.outcome"] == pytest.approx(0.050)
    assert h.loc["rsI1", "beta.outcome"] == pytest.approx(-0.012) and not h.loc["rsI1", "proxy.outcome"]
    assert set(h.index) == {"rsA0", "rsB0", "rsC0", "rsI0", "rsI1", "rsI2"}
    inst = res.instruments.set_index("SNP")
    assert inst.loc["rsA0", "proxy_snp"] == "rsA1" and inst.loc["rsA0", "proxy_r2"] > 0.8
    assert inst.loc["rsD0", "proxy_status"] == "no_proxy" and inst.loc["rsI0", "proxy_status"] == "outcome"
    flow = res.flow.set_index("step")
    assert flow.loc["proxies.found", "n_out"] == 3 and flow.loc["merge", "n_out"] == 6
    # without a panel nothing changes: no proxy rows or columns
    plain = run_pair(exp_pq, out_pq, {"clump": "none", "_entry": "e__o"}, MRSettings.from_config({"methods": ["ivw"]}), 1)
    assert "proxy_snp.outcome" not in plain.harmonised.columns and "proxy_snp" not in plain.instruments.columns
    assert not plain.flow["step"].str.startswith("proxies").any()
    assert len(plain.harmonised) == 3
    # proxies: false with a panel
    off = run_pair(exp_pq, out_pq, {**spec, "proxies": False}, MRSettings.from_config({"methods": ["ivw"]}), 1)
    assert len(off.harmonised) == 3


def test_panel_errors(tmp_path):
    for ext in ("bed", "fam"):
        shutil.copy(f"{PANEL}.{ext}", tmp_path / f"p.{ext}")
    with pytest.raises(DataError, match=r"p\.bim missing.*\.bed, \.bim and \.fam"):
        ReferencePanel(tmp_path / "p")
    shutil.copy(f"{PANEL}.bim", tmp_path / "p.bim")
    (tmp_path / "p.bed").write_bytes(Path(f"{PANEL}.bed").read_bytes()[:-5])
    with pytest.raises(DataError, match="not a SNP-major PLINK 1 .bed"):
        ReferencePanel(tmp_path / "p")
    with pytest.raises(ConfigError, match="proxy_r2"):
        ProxySettings.from_config({"proxy_r2": 1.5})
    with pytest.raises(ConfigError, match="proxy_maf_threshold"):
        ProxySettings.from_config({"proxy_maf_threshold": 0.7})


# multivariable MR: main exposure e (lacks rsC0, has its palindromic proxy rsC1), adjusting exposure a (the
# instrument rsC0 comes from it; lacks rsB0 but has rsB1, whose alleles are swapped relative to rsB0's phase;
# lacks rsI1, which has no proxy), outcome as above
EXPOSURE_MV = [r for r in EXPOSURE if r[0] != "rsC0"] + [("rsC1", 1, 3_010_000, "A", "T", 0.045, 0.01, 0.16, 1e-3,
                                                            10000)]
ADJUST = [
    ("rsA0", 1, 1_000_000, "A", "G", 0.020, 0.01, 0.34, 1e-3, 10000),
    ("rsB1", 1, 2_010_000, "T", "G", 0.030, 0.01, 0.42, 1e-3, 10000),
    ("rsC0", 1, 3_000_000, "C", "T", 0.120, 0.01, 0.15, 1e-30, 10000),
    ("rsD0", 1, 4_000_000, "A", "G", 0.010, 0.01, 0.32, 1e-3, 10000),
    ("rsE0", 1, 9_000_000, "A", "T", 0.010, 0.01, 0.40, 1e-3, 10000),
    ("rsX9", 1, 15_000_000, "A", "G", 0.010, 0.01, 0.30, 1e-3, 10000),
    ("rsI0", 1, 20_000_000, "A", "G", 0.015, 0.01, 0.30, 1e-3, 10000),
    ("rsI2", 1, 22_000_000, "G", "A", -0.025, 0.01, 0.70, 1e-3, 10000),
]


def test_multivariable_proxies_per_trait(tmp_path, plink_r2):
    """Each trait of a multivariable MR proxied as the univariable outcome: per instrument and trait reported,
    per trait counted; the harmonised matrix (alleles through PLINK's in-phase pairs) gives the multivariable
    IVW of a direct weighted least squares fit (multiplicative random effects: se scaled by max(1, sigma))."""
    from musclecog.mr.pipeline import pair_jobs, run_pair

    paths = {n: _parquet(tmp_path, n, rows) for n, rows in (("e", EXPOSURE_MV), ("a", ADJUST), ("o", OUTCOME))}
    spec = pair_jobs({"mv": {"exposure": "e", "outcome": "o", "adjust_for": ["a"], "clump": "none",
                             "reference_panel": PANEL}})["e__o"]
    res = run_pair(paths["e"], paths["o"], spec, MRSettings.from_config({"methods": ["ivw"]}), 1,
                   adjust_parquets=[paths["a"]])
    d = res.multivariable_data.set_index("SNP")
    # per instrument and trait: who has it, which proxy, its r2 (PLINK --r2)
    assert d.loc["rsC0", "proxy_status.exposure"] == "proxy" and d.loc["rsC0", "proxy_snp.exposure"] == "rsC1"
    assert d.loc["rsB0", "proxy_status.a"] == "proxy" and d.loc["rsB0", "proxy_snp.a"] == "rsB1"
    assert d.loc["rsI1", "proxy_status.a"] == "no_proxy" and pd.isna(d.loc["rsI1", "proxy_snp.a"])
    assert d.loc["rsA0", "proxy_snp.outcome"] == "rsA1" and d.loc["rsA0", "proxy_status.a"] == "gwas"
    for target, proxy, col in (("rsC0", "rsC1", "exposure"), ("rsB0", "rsB1", "a"), ("rsA0", "rsA1", "outcome"),
                               ("rsB0", "rsB1", "outcome"), ("rsC0", "rsC1", "outcome")):
        assert d.loc[target, f"proxy_r2.{col}"] == pytest.approx(_r2(plink_r2, target, proxy), abs=1e-6)
    # alleles: e's effect allele of rsC0 is rsC0's allele in phase with rsC1's A (e's effect allele there,
    # eaf 0.16, panel A frequency 0.15); a's rsB1 effect allele T is in phase with rsB0's allele phase["T"]
    e_allele = _phase(plink_r2, "rsC0", "rsC1")["A"]
    assert d.loc["rsC0", "effect_allele.exposure"] == e_allele == "C"
    assert d.loc["rsC0", "beta.exposure"] == pytest.approx(0.045) and d.loc["rsC0", "beta.a"] == pytest.approx(0.12)
    sign = 1 if _phase(plink_r2, "rsB0", "rsB1")["T"] == d.loc["rsB0", "effect_allele.exposure"] else -1
    assert sign == -1 and d.loc["rsB0", "beta.a"] == pytest.approx(sign * 0.030)
    assert d.loc["rsB0", "beta.outcome"] == pytest.approx(-0.040) and d.loc["rsC0", "beta.outcome"] == pytest.approx(0.05)
    assert d.loc["rsI2", "beta.a"] == pytest.approx(0.025)  # a codes rsI2 on the other allele
    used = d[d["mr_keep"]]
    assert sorted(used.index) == ["rsA0", "rsB0", "rsC0", "rsI0", "rsI2"]
    # per trait counts in the flow; no proxy is a count, not an error
    flow = res.flow.set_index("step")
    assert flow.loc["multivariable.e.proxies.absent", "n_in"] == 1
    assert flow.loc["multivariable.e.proxies.found", "n_out"] == 1
    assert flow.loc["multivariable.a.proxies.absent", "n_in"] == 2
    assert flow.loc["multivariable.a.proxies.no_proxy", "n_excluded"] == 1
    assert flow.loc["multivariable.a.proxies.found", "n_out"] == 1
    assert flow.loc["multivariable.o.proxies.found", "n_out"] == 3
    assert flow.loc["multivariable.o.proxies.not_in_panel", "n_excluded"] == 1
    assert flow.loc["multivariable.lookup.a", "n_excluded"] == 1  # rsI1
    # the estimate: weighted least squares of beta.outcome on (beta.exposure, beta.a), weights 1/se^2
    x = used[["beta.exposure", "beta.a"]].to_numpy(float)
    y, w = used["beta.outcome"].to_numpy(float), 1 / used["se.outcome"].to_numpy(float) ** 2
    xtwx = x.T @ (w[:, None] * x)
    b = np.linalg.solve(xtwx, x.T @ (w * y))
    sigma = np.sqrt(np.sum(w * (y - x @ b) ** 2) / (len(y) - 2))
    se = np.sqrt(np.diag(np.linalg.inv(xtwx))) * max(1.0, sigma)
    tab = res.multivariable.set_index("exposure")
    np.testing.assert_allclose(tab.loc[["e", "a"], "estimate"], b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(tab.loc[["e", "a"], "std_error"], se, rtol=0, atol=1e-10)
    # written as multivariable_harmonised.tsv with the per-trait proxy columns
    from musclecog.mr.tables import write_pair

    write_pair(res, {"multivariable_harmonised": tmp_path / "mvh.tsv"})
    back = pd.read_csv(tmp_path / "mvh.tsv", sep="\t").set_index("SNP")
    assert back.loc["rsB0", "proxy_snp.a"] == "rsB1" and back.loc["rsI1", "proxy_status.a"] == "no_proxy"
    # without a panel: rsB0, rsC0 (absent from a trait) and rsA0 (absent from the outcome) are dropped, which
    # leaves rsI0 and rsI2 only, too few for two exposures
    with pytest.raises(DataError, match=r"more instruments \(2\) than exposures \(2\)"):
        run_pair(paths["e"], paths["o"], {k: v for k, v in spec.items() if k != "reference_panel"},
                 MRSettings.from_config({"methods": ["ivw"]}), 1, adjust_parquets=[paths["a"]])
