"""Multivariable MR from GWAS traits (``adjust_for: [trait, ...]`` on a GWAS pair): instrument union and joint
clumping, lookup and harmonisation of every trait to the main exposure's effect allele, drops counted, and
recovery of known direct effects from simulated summary statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from musclecog.errors import ConfigError
from musclecog.mr.analysis import MRSettings
from musclecog.mr.gwas import GwasSpec, read_standardised, standardise, write_standardised
from musclecog.mr.pipeline import adjust_columns, adjust_traits, pair_jobs, run_pair

B1, B2 = 0.3, -0.2  # true direct effects of x1 and x2 on y
N = 100_000
COLUMNS = ["variant_id", "chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
           "standard_error", "effect_allele_frequency", "p_value", "n"]


def _write(tmp_path: Path, name: str, df: pd.DataFrame) -> Path:
    raw = tmp_path / f"{name}.tsv"
    df[COLUMNS].to_csv(raw, sep="\t", index=False)
    out = tmp_path / f"{name}.parquet"
    write_standardised(standardise(GwasSpec(name=name, path=str(raw))), out)
    return out


@pytest.fixture(scope="module")
def gwas(tmp_path_factory) -> dict[str, Path]:
    """Summary statistics of two correlated exposures and an outcome, simulated at the summary level.

    Variant effects: ``a1`` on x1 only (variants 0-199), ``a2`` on x2 (150-349, 50 shared with a1); x2 also acts
    on x1 (``bx1 = a1 + 0.4 a2``, so the exposures are correlated), ``by = 0.3 bx1 - 0.2 bx2``. Observed betas add
    sampling noise with se about 1/sqrt(100,000). Variants are 1 Mb apart, except ``rsnear`` 20 kb from ``rs0``:
    rs0 is strong for x1 only, rsnear stronger for x2 -> the joint clump keeps rsnear and drops rs0. ``rs10`` is
    missing from the x2 GWAS and ``rs11`` has incompatible alleles there (both strong x1 instruments). The x2
    and outcome files code a random half of the variants on the other allele.
    """
    tmp_path = tmp_path_factory.mktemp("mvgwas")
    rng = np.random.default_rng(2024)
    m = 1500
    a1, a2 = np.zeros(m + 1), np.zeros(m + 1)
    a1[:200] = rng.normal(0, 0.03, 200)
    a2[150:350] = rng.normal(0, 0.03, 200)
    a1[[0, 10, 11]] = 0.05
    a2[m] = 0.08  # rsnear
    bx1, bx2 = a1 + 0.4 * a2, a2
    by = B1 * bx1 + B2 * bx2
    pairs = np.array([("A", "C"), ("A", "G"), ("C", "T"), ("G", "T")])[rng.integers(0, 4, m + 1)]
    pairs[11] = ("A", "C")
    base = pd.DataFrame({
        "variant_id": [f"rs{i}" for i in range(m)] + ["rsnear"],
        "chromosome": np.r_[1 + np.arange(m) // 500, 1],
        "base_pair_location": np.r_[(np.arange(m) % 500) * 1_000_000 + 1_000_000, 1_020_000],
        "effect_allele": pairs[:, 0], "other_allele": pairs[:, 1],
        "effect_allele_frequency": rng.uniform(0.1, 0.9, m + 1), "n": N,
    })

    def observed(truth: np.ndarray, flip: np.ndarray) -> pd.DataFrame:
        se = rng.uniform(0.9, 1.1, m + 1) / np.sqrt(N)
        beta = truth + rng.normal(0, se)
        df = base.assign(beta=beta, standard_error=se, p_value=2 * stats.norm.sf(np.abs(beta / se)))
        ea, oa = df["effect_allele"].to_numpy(), df["other_allele"].to_numpy()
        df["effect_allele"], df["other_allele"] = np.where(flip, oa, ea), np.where(flip, ea, oa)
        df["beta"] = np.where(flip, -df["beta"], df["beta"])
        df["effect_allele_frequency"] = np.where(flip, 1 - df["effect_allele_frequency"],
                                                 df["effect_allele_frequency"])
        return df

    none = np.zeros(m + 1, bool)
    x2 = observed(bx2, rng.random(m + 1) < 0.5)
    x2.loc[11, ["effect_allele", "other_allele"]] = ("A", "G")  # incompatible with x1's A/C
    x2 = x2.drop(index=10)  # missing from the x2 GWAS
    return {
        "x1": _write(tmp_path, "x1", observed(bx1, none)),
        "x2": _write(tmp_path, "x2", x2),
        "y": _write(tmp_path, "y", observed(by, rng.random(m + 1) < 0.5)),
    }


ENTRY = {"exposure": "x1", "outcome": "y", "adjust_for": ["x2"], "clump_kb": 100}


def test_config_accepts_traits_and_rejects_bad_lists() -> None:
    job = pair_jobs({"mv": ENTRY})["x1__y"]
    assert adjust_traits(job) == ["x2"] and adjust_columns(job) == {}
    assert adjust_traits(pair_jobs({"p": {"harmonised": "t.csv", "adjust_for": {"h": "bh"}}})["p"]) == []
    for bad, match in (({"adjust_for": {"x2": "beta"}}, "list of gwas traits"),
                       ({"adjust_for": []}, "list of gwas traits"),
                       ({"adjust_for": ["x2", "x2"]}, "twice"),
                       ({"adjust_for": ["y"]}, "own exposure/outcome"),
                       ({"bidirectional": True}, "bidirectional"),
                       ({"columns": {"a": "b"}}, "only to a 'harmonised:' table")):
        with pytest.raises(ConfigError, match=match):
            pair_jobs({"mv": {**ENTRY, **bad}})


@pytest.fixture(scope="module")
def pairs(gwas):
    spec = pair_jobs({"mv": ENTRY})["x1__y"]
    settings = MRSettings.from_config({"methods": ["ivw"]})
    mv = run_pair(gwas["x1"], gwas["y"], spec, settings, 1, adjust_parquets=[gwas["x2"]])
    uni = run_pair(gwas["x1"], gwas["y"], {k: v for k, v in spec.items() if k != "adjust_for"}, settings, 1)
    return mv, uni


def test_mvmr_recovers_direct_effects(pairs) -> None:
    """Direct effects 0.3 (x1) and -0.2 (x2) recovered within min(4 SE, 0.02) (seed 2024: 0.3038, se 0.0080;
    -0.1943, se 0.0084; 194 variants); the univariable IVW of x1, whose instruments include variants acting on y
    through x2 as well, is biased (0.256) and at least 5 times further from 0.3 than the MVMR estimate."""
    mv, uni = pairs
    tab = mv.multivariable.set_index("exposure")
    assert tab["method"].unique().tolist() == ["Multivariable IVW"]
    assert tab.index.tolist() == ["x1", "x2"]
    for exp, truth in (("x1", B1), ("x2", B2)):
        est, se = tab.loc[exp, "estimate"], tab.loc[exp, "std_error"]
        assert abs(est - truth) < min(4 * se, 0.02), (exp, est, se)
        assert tab.loc[exp, "conf_low"] < truth < tab.loc[exp, "conf_high"]
    ivw = uni.result.to_tidy().query("method == 'Inverse variance weighted' and scale == 'beta'")["estimate"].iloc[0]
    assert abs(ivw - B1) > 5 * abs(tab.loc["x1", "estimate"] - B1)
    assert "adjusted for x2" in tab.loc["x1", "note"]


def test_univariable_outputs_do_not_change(pairs) -> None:
    mv, uni = pairs
    pd.testing.assert_frame_equal(mv.result.to_tidy(), uni.result.to_tidy())
    pd.testing.assert_frame_equal(mv.harmonised, uni.harmonised)
    n = len(uni.flow)
    pd.testing.assert_frame_equal(mv.flow.iloc[:n], uni.flow)
    assert mv.flow["step"].iloc[n:].str.startswith("multivariable.").all()
    assert uni.multivariable is None


def test_union_clumped_on_smallest_p_and_drops_counted(gwas, pairs) -> None:
    mv, uni = pairs
    data, flow = mv.multivariable_data, mv.flow.set_index("step")
    snps = set(data["SNP"])
    assert "rsnear" in snps and "rs0" not in snps  # clumped together: x2's stronger rsnear wins
    assert "rs0" in set(uni.instruments["SNP"])  # ... while x1 alone keeps rs0
    # the union: every variant significant in x1 or x2 (all 1 Mb apart except rs0/rsnear) is an instrument
    sig = {t: set(read_standardised(gwas[t], filters=[("pval", "<=", 5e-8)])["SNP"]) for t in ("x1", "x2")}
    assert snps == (sig["x1"] | sig["x2"]) - {"rs0"}
    assert len(sig["x2"] - sig["x1"]) > 20  # x2-only instruments are in
    assert flow.loc["multivariable.lookup.x2", "n_excluded"] == 1
    assert flow.loc["multivariable.harmonise.x2", "n_excluded"] == 1
    assert "incompatible_alleles" in flow.loc["multivariable.harmonise.x2", "reason"]
    reason = data.set_index("SNP")["harmonise_reason"]
    assert reason["rs10"] == "absent_in_x2" and reason["rs11"] == "not_harmonised_in_x2"
    used = data["mr_keep"].to_numpy(bool)
    assert not data.loc[used, ["beta.x2", "se.x2"]].isna().any().any()
    assert (mv.multivariable["nsnp"] == used.sum()).all()
    assert flow.loc["multivariable.mr_keep", "n_out"] == used.sum()
    # the alleles of x2 and y were recoded on a random half: harmonised betas are on x1's effect allele, so the
    # fitted direct effects above could not be recovered otherwise; check the swaps were seen
    assert (data["harmonise_reason.x2"] == "swapped").sum() > 50
