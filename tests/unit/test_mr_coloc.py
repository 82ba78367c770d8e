"""Colocalisation (coloc.abf) against R's coloc on a simulated 150-variant region.

Data: tests/data/coloc_regions.csv (``tests/data/make_coloc_reference.py``: 2,000 people, LD blocks; q1 and the
case-control cc2 share the causal variant s60, q3 has s110). Reference: R's coloc run once from its sources
(commit 50fe529; the Debian archive has no r-cran-coloc) by ``Rscript tests/data/coloc_reference.R <coloc>``::

    coloc.abf(q1, cc2)                                  # shared (sdY given)
    coloc.abf(q1_est, q3)                               # distinct_sdy_estimated (sdY from sdY.est)
    coloc.abf(q1_est, cc2)                              # shared_sdy_estimated
    coloc.abf(q1, cc2, p1 = 1e-3, p2 = 1e-3, p12 = 1e-6)  # shared_priors
    coloc.abf(first50(q3), first50(cc2))                # null_region (no causal variant)

with q1 = list(beta, varbeta = se^2, type = "quant", sdY, N, MAF), cc2 = list(..., type = "cc", s), into
tests/data/coloc_reference.csv (nsnps, PP.H0.abf-PP.H4.abf) and coloc_reference_snp.csv (lABF.df1, lABF.df2,
SNP.PP.H4). Tolerance 1e-6 relative (printed to 15 significant digits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.mr.analysis import MRSettings
from musclecog.mr.coloc import ColocData, ColocSettings, coloc_abf, sdy_est
from musclecog.mr.gwas import GwasSpec, standardise, write_standardised

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def region() -> tuple[pd.DataFrame, dict[str, float]]:
    path = DATA / "coloc_regions.csv"
    header = path.read_text().splitlines()[0].lstrip("# ")
    meta = {k: float(v) for k, v in (kv.split("=") for kv in header.split())}
    return pd.read_csv(path, comment="#"), meta


@pytest.fixture(scope="module")
def reference() -> tuple[pd.DataFrame, pd.DataFrame]:
    summ = pd.read_csv(DATA / "coloc_reference.csv")
    return summ.set_index(["case", "statistic"])["value"], pd.read_csv(DATA / "coloc_reference_snp.csv")


def _data(d: pd.DataFrame, trait: str, meta: dict[str, float], sdy: bool = True, rows: slice = slice(None)) -> ColocData:
    d = d.iloc[rows]
    kind = "cc" if trait.startswith("cc") else "quant"
    sd = {"q1": meta["sd_y1"], "q3": meta["sd_y3"]}.get(trait) if sdy else None
    return ColocData(snp=d["snp"].to_numpy(object), beta=d[f"beta_{trait}"].to_numpy(),
                     varbeta=d[f"se_{trait}"].to_numpy() ** 2, trait_type=kind, sdy=sd,
                     maf=d["maf"].to_numpy(), n=meta["n"])


CASES = {
    "shared": (("q1", True), ("cc2", True), {}, slice(None)),
    "distinct_sdy_estimated": (("q1", False), ("q3", True), {}, slice(None)),
    "shared_sdy_estimated": (("q1", False), ("cc2", True), {}, slice(None)),
    "shared_priors": (("q1", True), ("cc2", True), {"p1": 1e-3, "p2": 1e-3, "p12": 1e-6}, slice(None)),
    "null_region": (("q3", True), ("cc2", True), {}, slice(0, 50)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_coloc_abf_matches_r_coloc(region, reference, case):
    d, meta = region
    summ, snp = reference
    (t1, sd1), (t2, sd2), priors, rows = CASES[case]
    res = coloc_abf(_data(d, t1, meta, sd1, rows), _data(d, t2, meta, sd2, rows), **priors)
    for stat in ("nsnps", "PP.H0.abf", "PP.H1.abf", "PP.H2.abf", "PP.H3.abf", "PP.H4.abf"):
        assert res.summary[stat] == pytest.approx(summ[(case, stat)], rel=1e-6, abs=0), stat
    ref = snp[snp["case"] == case].set_index("snp")
    if len(ref):
        got = res.results.set_index("snp").loc[ref.index]
        np.testing.assert_allclose(got["lABF.df1"], ref["lABF.df1"], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(got["lABF.df2"], ref["lABF.df2"], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(got["SNP.PP.H4"], ref["SNP.PP.H4"], rtol=1e-6, atol=1e-300)


def test_verdicts_and_sdy(region, reference):
    d, meta = region
    summ, _ = reference
    assert sdy_est(d["se_q1"].to_numpy() ** 2, d["maf"].to_numpy(), meta["n"]) == pytest.approx(
        summ[("distinct_sdy_estimated", "sdY.est")], rel=1e-9)
    assert summ[("shared", "PP.H4.abf")] > 0.99 and summ[("distinct_sdy_estimated", "PP.H3.abf")] > 0.99
    # the variant order of the second trait does not matter; a region without common variants is an error
    a, b = _data(d, "q1", meta), _data(d, "cc2", meta)
    rev = ColocData(b.snp[::-1], b.beta[::-1], b.varbeta[::-1], "cc")
    assert coloc_abf(a, rev).summary == pytest.approx(coloc_abf(a, b).summary, rel=1e-12)
    with pytest.raises(DataError, match="share no variant"):
        coloc_abf(_data(d, "q1", meta, rows=slice(0, 10)), _data(d, "cc2", meta, rows=slice(10, 20)))
    with pytest.raises(ConfigError, match="coloc_p12"):
        ColocSettings.from_config({"coloc_p12": 0})


def _parquet(tmp_path: Path, d: pd.DataFrame, trait: str, name: str, extra: dict) -> Path:
    se = d[f"se_{trait}"]
    df = pd.DataFrame({"variant_id": d["snp"].str.replace("s", "rs"), "chromosome": 1,
                       "base_pair_location": d["position"], "effect_allele": "A", "other_allele": "G",
                       "beta": d[f"beta_{trait}"], "standard_error": se, "effect_allele_frequency": d["maf"],
                       "n": 2000})
    tsv = tmp_path / f"{name}.tsv"
    df.to_csv(tsv, sep="\t", index=False, float_format="%.17g")
    out = tmp_path / f"{name}.parquet"
    write_standardised(standardise(GwasSpec.from_config(name, {"path": str(tsv), **extra})), out)
    return out


def test_run_pair_reports_coloc_per_instrument(tmp_path, region, reference):
    """The pipeline's coloc for the q1 instrument (sdY estimated, the window covering the whole region) is
    R's shared_sdy_estimated case."""
    from musclecog.mr.pipeline import run_pair

    d, _ = region
    summ, _ = reference
    exp = _parquet(tmp_path, d, "q1", "q1", {})
    out = _parquet(tmp_path, d, "cc2", "cc2", {"type": "binary", "ncase": 726, "ncontrol": 1274})
    settings = MRSettings.from_config({"methods": ["ivw"]})
    res = run_pair(exp, out, {"coloc": True, "min_instruments": 1, "_entry": "q1__cc2"}, settings, 1)
    inst = res.instruments
    assert len(inst) == 1
    row = inst.iloc[0]
    assert row["coloc_nsnps"] == 150
    for k in range(5):
        assert row[f"coloc_pp_h{k}"] == pytest.approx(summ[("shared_sdy_estimated", f"PP.H{k}.abf")], rel=1e-6)
    assert row["coloc_top_pp_h4"] > 0.5
    flow = res.flow.set_index("step")
    assert "PP.H4 > 0.8 (shared variant) for 1" in flow.loc["coloc", "reason"]
    plain = run_pair(exp, out, {"min_instruments": 1, "_entry": "q1__cc2"}, settings, 1)
    assert not any(c.startswith("coloc") for c in plain.instruments.columns)
    assert "coloc" not in set(plain.flow["step"])
