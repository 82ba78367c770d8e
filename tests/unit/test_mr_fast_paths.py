"""The fast paths of the MR data path give the same answers as the plain ones.

Parquet layout (small p-values first, ``file_row`` restoring file order), the outcome lookup that decodes only
the row groups holding the requested variants, the rsID duplicate check and the rsID sort-merge join, each
checked against a straightforward pyarrow/pandas computation on the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import musclecog.mr.gwas as gwas
import musclecog.mr.gwas.parquet as gwas_parquet
from musclecog.errors import DataError
from musclecog.mr.gwas import GwasSpec, read_standardised, read_variants, standardise, write_standardised
from musclecog.mr.harmonise import _join_rows, harmonise_arrow
from musclecog.simulate.gwas import simulate_grip_cognition, write_gwas_table


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fast")
    sim = simulate_grip_cognition(11, n_variants=6000)
    out = {}
    for trait in ("grip", "cognitive_impairment"):
        raw = tmp / f"{trait}.tsv.gz"
        write_gwas_table(sim.tables[trait], raw)
        out[trait] = (raw, standardise(GwasSpec(name=trait, path=str(raw))))
    return tmp, out


def test_layout_head_first_and_file_order_restored(pair, monkeypatch):
    tmp, std = pair
    monkeypatch.setattr(gwas_parquet, "ROW_GROUP_ROWS", 500)  # many row groups at this small size
    res = std["grip"][1]
    path = tmp / "grip.parquet"
    write_standardised(res, path)
    pf = pq.ParquetFile(path)
    head = pf.read_row_group(0).column("pval").to_numpy()
    assert (head <= gwas.HEAD_P).all() and len(head) == int((res.table.column("pval").to_numpy() <= gwas.HEAD_P).sum())
    assert pf.metadata.num_row_groups > 10
    # the whole table and a threshold beyond the head come back in file order, as standardise made them
    full = read_standardised(path)
    expected = read_standardised_from_table(res.table)
    pd.testing.assert_frame_equal(full, expected)
    sub = read_standardised(path, filters=[("pval", "<=", 0.01)])
    pd.testing.assert_frame_equal(sub, expected.loc[expected["pval"] <= 0.01].reset_index(drop=True))
    # only the head row group is read at genome-wide significance
    ds_frag = pq.read_table(path, filters=[("pval", "<=", 5e-8)])
    assert ds_frag.num_rows == int((res.table.column("pval").to_numpy() <= 5e-8).sum())


def read_standardised_from_table(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas()
    for col in ("effect_allele", "other_allele"):
        df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


def test_read_variants_equals_filtered_read(pair, monkeypatch):
    tmp, std = pair
    monkeypatch.setattr(gwas_parquet, "ROW_GROUP_ROWS", 300)
    path = tmp / "ci.parquet"
    write_standardised(std["cognitive_impairment"][1], path)
    snps = std["cognitive_impairment"][1].table.column("SNP").to_pylist()
    rng = np.random.default_rng(3)
    ids = list(rng.choice(snps, 40, replace=False)) + ["rs_not_there"]
    got = read_variants(path, ids)
    want = read_standardised(path, filters=[("SNP", "in", ids)])
    assert len(got) == 40
    pd.testing.assert_frame_equal(got, want)
    assert read_variants(path, ["nope"]).empty
    # all ids rsIDs: looked up by number in the column rs, which no reader returns; rs01 is not rs1
    assert "rs" in pq.read_schema(path).names and "rs" not in got.columns and "rs" not in want.columns
    first = snps[0]
    assert read_variants(path, ["rs0" + first[2:], "rs" + first[2:] + "x"]).empty
    assert read_variants(path, [first])["SNP"].tolist() == [first]
    # other ids: no rs column, the strings compared
    res = std["cognitive_impairment"][1]
    other = type(res)(table=res.table.set_column(0, "SNP", pa.array(["id" + s for s in snps])), flow=res.flow,
                      meta=res.meta, rows=res.rows, rs=None)
    write_standardised(other, tmp / "ci_ids.parquet")
    assert "rs" not in pq.read_schema(tmp / "ci_ids.parquet").names
    got_ids = read_variants(tmp / "ci_ids.parquet", ["id" + i for i in ids])
    assert got_ids["SNP"].tolist() == ["id" + s for s in got["SNP"]]


def test_duplicate_check_rs_and_other_ids():
    assert not gwas.has_duplicates(pa.array(["rs3", "rs1", "rs2"]))
    assert gwas.has_duplicates(pa.array(["rs3", "rs1", "rs3"]))
    # rs01 is not rs1 (leading zero: not parsed as a number, compared as strings)
    assert not gwas.has_duplicates(pa.array(["rs01", "rs1"]))
    assert gwas.has_duplicates(pa.array(["1:100:A:G", "rs1", "1:100:A:G"]))
    assert gwas.rs_numbers(pa.array(["rs1", "RS2"])) is None


def test_rs_join_equals_hash_join(pair):
    _, std = pair
    e = std["grip"][1].table
    o = std["cognitive_impairment"][1].table
    o = o.take(pa.array(np.random.default_rng(5).permutation(o.num_rows)[: o.num_rows - 50]))
    i, j = _join_rows(e.column("SNP"), o.column("SNP"))
    # non-rsIDs take the hash-join path
    prefixed_e = pa.chunked_array([pa.array(["id" + s for s in e.column("SNP").to_pylist()])])
    prefixed_o = pa.chunked_array([pa.array(["id" + s for s in o.column("SNP").to_pylist()])])
    i2, j2 = _join_rows(prefixed_e, prefixed_o)
    assert np.array_equal(i, i2) and np.array_equal(j, j2)
    common = set(e.column("SNP").to_pylist()) & set(o.column("SNP").to_pylist())
    assert (np.diff(i) > 0).all() and len(i) == len(common) > 0
    assert e.column("SNP").take(pa.array(i)).to_pylist() == o.column("SNP").take(pa.array(j)).to_pylist()
    out = harmonise_arrow(e, o)
    assert out["SNP"].tolist() == e.column("SNP").take(pa.array(i)).to_pylist()


def test_positions_written_as_decimals(tmp_path):
    path = tmp_path / "dec.tsv"
    path.write_text("SNP\tchr\tpos\teffect_allele\tother_allele\tbeta\tse\tpval\n"
                    "rs1\t1\t100.0\tA\tG\t0.1\t0.01\t1e-9\nrs2\t1\t200\tC\tT\t0.2\t0.01\t1e-9\n")
    res = standardise(GwasSpec(name="d", path=str(path)))
    assert res.table.column("pos").to_pylist() == [100, 200]
    bad = tmp_path / "bad.tsv"
    bad.write_text("SNP\tchr\tpos\teffect_allele\tother_allele\tbeta\tse\tpval\nrs1\t1\tabc\tA\tG\t0.1\t0.01\t1e-9\n")
    with pytest.raises(DataError, match="position column 'pos' is not numeric"):
        standardise(GwasSpec(name="d", path=str(bad)))


@pytest.mark.parametrize(("env", "pool"), [(None, "system"), ("jemalloc", "jemalloc")])
def test_rule_scripts_allocate_with_malloc_unless_told_otherwise(env, pool):
    """use_system_allocator switches pyarrow to the C library's malloc, keeping an explicit
    ARROW_DEFAULT_MEMORY_POOL (a fresh interpreter: the pool is per process)."""
    import os
    import subprocess
    import sys

    code = ("from musclecog.mr.gwas.columns import use_system_allocator; import pyarrow as pa; "
            "print(use_system_allocator(), pa.default_memory_pool().backend_name)")
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env is not None:
        environ["ARROW_DEFAULT_MEMORY_POOL"] = env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environ)
    assert out.stdout.split() == [pool, pool]
