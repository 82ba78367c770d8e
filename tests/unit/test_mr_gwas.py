"""Reading and standardising GWAS summary statistics: layouts, gzip, checks counted in the flow, clear errors."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import DataError
from musclecog.mr.gwas import GwasSpec, read_meta, read_standardised, standardise, write_standardised
from musclecog.mr.pipeline import check_builds

SSF = """variant_id\tchromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\teffect_allele_frequency\tp_value\tn
rs1\t1\t100\tA\tG\t0.1\t0.01\t0.3\t1e-20\t1000
rs2\tchr1\t200\tc\tt\t-0.1\t0.01\t0.4\t0\t1000
rs3\t1\t300\tA\tG\t0.1\t0\t0.3\t0.5\t1000
rs4\t1\t400\tA\tG\t0.1\t0.01\t1.2\t0.5\t1000
rs5\t1\t500\tA\tG\t0.1\t0.01\t0.3\t1.5\t1000
rs6\t1\t600\tAT\tA\t0.1\t0.01\t0.3\t0.5\t1000
rs7\t1\t700\tN\tA\t0.1\t0.01\t0.3\t0.5\t1000
rs8\t1\t800\tA\tA\t0.1\t0.01\t0.3\t0.5\t1000
rs1\t1\t100\tA\tG\t0.2\t0.01\t0.3\t0.5\t1000
rs9\t2\t900\tA\tG\tNA\t0.01\t0.3\t0.5\t1000
rs10\t2\t1000\tA\tC\t0.05\t0.01\tNA\tNA\t1000
"""


@pytest.fixture()
def ssf_file(tmp_path):
    path = tmp_path / "trait.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(SSF)
    return path


def test_ssf_gzip_checks_each_counted(ssf_file, tmp_path):
    res = standardise(GwasSpec(name="t", path=str(ssf_file), build="GRCh37"))
    flow = res.flow.set_index("step")["n_excluded"]
    assert flow["missing"] == 1  # rs9 beta NA
    assert flow["alleles"] == 2  # rs6 indel, rs7 N
    assert flow["alleles_equal"] == 1
    assert flow["se"] == 1
    assert flow["pval"] == 1
    assert flow["eaf"] == 1
    assert flow["duplicates"] == 1
    df = res.table.to_pandas().set_index("SNP")
    assert sorted(df.index) == ["rs1", "rs10", "rs2"]
    assert df.loc["rs1", "beta"] == 0.1  # the first occurrence is kept
    assert df.loc["rs2", "effect_allele"] == "C" and df.loc["rs2", "chr"] == "1"
    assert 0 < df.loc["rs2", "pval"] < 1e-20  # p = 0 kept, recomputed from z = -10
    assert df.loc["rs10", "pval"] == pytest.approx(5.733e-7, rel=1e-3)  # missing p from z = 5
    assert np.isnan(df.loc["rs10", "eaf"])
    assert "p = 0 or missing kept" in " ".join(res.flow["reason"])
    out = tmp_path / "t.parquet"
    write_standardised(res, out, tmp_path / "t.flow.tsv")
    assert read_meta(out)["build"] == "GRCh37"
    assert len(read_standardised(out, filters=[("pval", "<=", 1e-8)])) == 2


def test_indels_kept_when_allowed_and_strict_fails(ssf_file):
    res = standardise(GwasSpec(name="t", path=str(ssf_file), allow_indels=True))
    assert "rs6" in res.table.column("SNP").to_pylist()
    with pytest.raises(DataError, match="strict"):
        standardise(GwasSpec(name="t", path=str(ssf_file), strict=True))


def test_twosamplemr_suffix_and_column_map(tmp_path):
    path = tmp_path / "exp.csv"
    pd.DataFrame({"SNP": ["rs1", "rs2"], "beta.exposure": [0.1, -0.2], "se.exposure": [0.01, 0.02],
                  "effect_allele.exposure": ["A", "C"], "other_allele.exposure": ["G", "T"],
                  "eaf.exposure": [0.2, 0.3], "pval.exposure": [1e-10, 1e-9],
                  "samplesize.exposure": [1000, 1000]}).to_csv(path, index=False)
    res = standardise(GwasSpec(name="e", path=str(path)))
    assert res.meta["format"] == "twosamplemr"
    assert res.table.column("beta").to_pylist() == [0.1, -0.2]
    custom = tmp_path / "custom.txt"
    custom.write_text("MarkerName Allele1 Allele2 Effect StdErr P\nrs1 a g 0.1 0.01 1e-9\n")
    cmap = {"MarkerName": "SNP", "Allele1": "effect_allele", "Allele2": "other_allele", "Effect": "beta",
            "StdErr": "se", "P": "pval"}
    res = standardise(GwasSpec(name="c", path=str(custom), format="columns", columns=cmap, n=5000))
    assert res.table.column("samplesize").to_pylist() == [5000.0]


def test_errors_name_the_problem(tmp_path, ssf_file):
    custom = tmp_path / "custom.txt"
    custom.write_text("MarkerName\tA1\tA2\tEffect\tStdErr\nrs1\tA\tG\t0.1\t0.01\n")
    with pytest.raises(DataError, match=r"names columns \['Pval'\]"):
        standardise(GwasSpec(name="c", path=str(custom), format="columns",
                             columns={"MarkerName": "SNP", "A1": "effect_allele", "Effect": "beta", "StdErr": "se",
                                      "Pval": "pval"}))
    with pytest.raises(DataError, match="neither TwoSampleMR nor GWAS-SSF"):
        standardise(GwasSpec(name="c", path=str(custom)))
    bad = tmp_path / "bad.tsv"
    bad.write_text("variant_id\teffect_allele\tbeta\tstandard_error\nrs1\tA\tx\t0.1\n")
    with pytest.raises(DataError, match="cannot parse column 'beta'"):
        standardise(GwasSpec(name="b", path=str(bad)))
    (tmp_path / "trait.tsv.gz-meta.yaml").write_text("genome_assembly: GRCh38\n")
    with pytest.raises(DataError, match="declares genome_assembly 'GRCh38'"):
        standardise(GwasSpec(name="t", path=str(ssf_file), build="GRCh37"))
    with pytest.raises(DataError, match="genome builds differ"):
        check_builds({"trait": "a", "build": "GRCh37"}, {"trait": "b", "build": "GRCh38"})
    missing = tmp_path / "missing_cols.tsv"
    missing.write_text("variant_id\tchromosome\tbase_pair_location\teffect_allele\tbeta\np\t1\t1\tA\t0.1\n")
    with pytest.raises(DataError, match=r"lacks the required column\(s\) \['se'\]"):
        standardise(GwasSpec(name="m", path=str(missing)))


def test_isal_decompression_equals_pyarrow_zlib(ssf_file, tmp_path, monkeypatch):
    """ISA-L and pyarrow's zlib decompress to the same bytes: the same standardised table and flow; a plain-text
    file goes to pyarrow unchanged."""
    pytest.importorskip("isal")
    from musclecog.mr.gwas import readers

    stream = readers._gzip_stream(ssf_file)
    assert stream is not None
    stream.close()
    plain = tmp_path / "trait.tsv"
    plain.write_text(SSF)
    assert readers._gzip_stream(plain) is None
    spec = GwasSpec(name="t", path=str(ssf_file), build="GRCh37")
    fast = standardise(spec)
    monkeypatch.setattr(readers, "_gzip_stream", lambda path: None)
    slow = standardise(spec)
    assert fast.table.equals(slow.table) and fast.table.schema.metadata == slow.table.schema.metadata
    pd.testing.assert_frame_equal(fast.flow, slow.flow)
    assert fast.table.num_rows == 3  # as test_ssf_gzip_checks_each_counted


def test_absent_counts_are_null_and_constants_fill(tmp_path):
    """No count columns: samplesize / ncase / ncontrol all missing; with the config's ncase and ncontrol,
    samplesize = ncase + ncontrol (TwoSampleMR's format_data)."""
    path = tmp_path / "t.tsv"
    path.write_text("SNP\tbeta\tse\teffect_allele\tother_allele\tpval\nrs1\t0.1\t0.01\tA\tG\t0.5\n"
                    "rs2\t0.2\t0.02\tC\tT\t0.1\n")
    table = standardise(GwasSpec(name="t", path=str(path))).table
    for col in ("samplesize", "ncase", "ncontrol"):
        assert table.column(col).null_count == 2, col
    table = standardise(GwasSpec(name="t", path=str(path), ncase=100.0, ncontrol=400.0)).table
    assert table.column("samplesize").to_pylist() == [500.0, 500.0]
    assert table.column("ncase").to_pylist() == [100.0, 100.0]


def test_duplicates_found_across_chunks_first_kept():
    """SNP ids stay chunked as read (one chunk per CSV block): a repeat in a later chunk is excluded, the first
    occurrence in file order kept, for rsIDs (numbers) and other ids (hashing) alike."""
    import pyarrow as pa

    from musclecog.mr.gwas.checks import _drop_duplicates, _RowChecks

    snp = pa.chunked_array([pa.array(["rs1", "rs2", "rs3"]), pa.array(["rs2", "1:100", "rs1", "1:100"])])
    checks = _RowChecks(7, [])
    kept, numbers = _drop_duplicates(checks, snp)
    assert kept.to_pylist() == ["rs1", "rs2", "rs3", "1:100"] and numbers is None  # not all rsIDs
    assert checks.keep.tolist() == [True, True, True, False, True, False, False]
    assert checks.flow[-1]["n_excluded"] == 3
    only_rs = pa.chunked_array([pa.array(["rs5", "rs7"]), pa.array(["rs6", "rs5"])])
    checks = _RowChecks(4, [])
    kept, numbers = _drop_duplicates(checks, only_rs)
    assert kept.to_pylist() == ["rs5", "rs7", "rs6"] and numbers.tolist() == [5, 7, 6]
