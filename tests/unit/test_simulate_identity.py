"""The synthetic data of the default designs do not change when their generators are made faster.

Two kinds of check:

* the shortcuts equal the full computation they replace, on the same random stream (no stored numbers): the
  NHANES Monte Carlo truth, computed from the draws it needs, equals the one computed from the full generated
  table as before; a GWAS file written from the simulated columns (Arrow, no pandas) has the text of the one
  written from the DataFrame;
* a digest of every default design's data and truth table (and of the GWAS files' decompressed text) equals the
  digest of the same call at commit d7bb6d4, before the speed-ups. The digests in :data:`DIGESTS` were printed
  by this file's :func:`digests` with that commit's code::

      git archive d7bb6d4 src | tar -x -C /tmp/base
      PYTHONPATH=/tmp/base/src python tests/unit/test_simulate_identity.py

  A change of a generator's output (a random draw moved, an operation reordered) fails here; a change meant to
  alter the data updates the digests in the same commit, saying why.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from musclecog.seeds import derive_seed
from musclecog.simulate import simulate
from musclecog.simulate.gwas import (
    GWAS_FAMILY,
    simulate_grip_cognition,
    write_gwas_table,
    write_simulated_gwas,
)
from musclecog.simulate.nhanes import NhanesParams, _generate, low_muscle_mass_flags, stratified_truth

MASTER_SEED = 20261125
"""config/config.yaml's seed; each cohort's seed is derive_seed(MASTER_SEED, "cohort", name), as in the workflow."""

DEFAULT_COHORTS = {
    "nhanes_like": ("nhanes_1999_2002", 2540),
    "ukb": ("ukb", 40000),
    "liao": ("liao", 245),
    "chen": ("chen", 595),
    "li": ("li", 109),
    "cohort7y": ("cohort7y", 1978),
    "charls": ("charls", 9333),
    "zhao_trial": ("trial_power", 103),
    "smart_trial": ("trial_smart", 100),
    "toegrip": ("trial_toegrip", 35),
}
"""The synthetic cohorts of config/config.yaml (``cohorts:``): name -> (design, n)."""

GWAS_VARIANTS = 200_000
"""``n_variants`` of both default GWAS traits."""

DIGESTS = {
    "cohort nhanes_like data": "295fb552452ae7da87ae415c26ecfb48c625fa994a718813a6cfd19472374afe",
    "cohort nhanes_like truth": "2e067936b9ad032940bf525ad848ce9fd3e0e9ff1bd8c9e773bcc77dcc189d4a",
    "cohort ukb data": "4facba2778f96fef74176f14c0b1273237301d1d3069a6bc82dd38b32fa4eed0",
    "cohort ukb truth": "b06ba7daa8da43c73d2fb6840b5a8d346c44e9a7c242d8d06e686ca013683728",
    "cohort liao data": "68e54353f877e1db2ac6f6f139faa4fb78d331b6f8cea1ec2dff1d312892d42f",
    "cohort liao truth": "b73358c9b93194c97ffb29a5944af80d9790b4522d61d0fa16e64af5571dd00a",
    "cohort chen data": "5e2a3bbfc6927c87f938ed40d992092a5b223d7160b9fd44e4f78a6d7c94bfd4",
    "cohort chen truth": "cd90b1b592a6bff731d9416c62f3644c9882002e98acd0701fbb29638ea22fe4",
    "cohort li data": "00dfd72de75c0fa60647c2c5fc48c10d7fe0cf03d19b58a270696e520dc18ef9",
    "cohort li truth": "c0fe9c23521781ab5ea7b811b2931da5dda80bd179b3dd110893af05f62dc826",
    "cohort cohort7y data": "bfac1498968639d0d1d42dd40ae082ff36de1f9aea5986f63b440a000bb5e5de",
    "cohort cohort7y truth": "f18a32aaa46b4a2c0fdee06f7519806ff9869551563606d91cbf4d70ff42bcc1",
    "cohort charls data": "d95832de8081a8e9f5730fe8691059a97f2ffd97b5c8d7d62f2290aa6c41cecc",
    "cohort charls truth": "66c6354e89d3382cc57c76a4cf9e852d5d64f2eba803a6c27d179e7f5102afed",
    "cohort zhao_trial data": "2f3b782263afa4578cee9cadd18ce7c0088ee5517f14446f256caae8ae51689b",
    "cohort zhao_trial truth": "1fcc903f2aa0d03213559bb201a391d2bdda68c9fcb6c79ecc59977b27ef9e3b",
    "cohort smart_trial data": "872ac47b1c88865eaa2cd8b7834fd4bab533a88b00b951c9706b226bfeae85e3",
    "cohort smart_trial truth": "37faf91e4f643a158b327d38df2b9e876f28c81b36ab8530f4c51901c5779fe6",
    "cohort toegrip data": "e5c935880e2faba88fa3d7cd16ab664fbff10a270e68801aa8e7c3f68a579136",
    "cohort toegrip truth": "ac7d162e2437f1d7fa96be2861911c438d358ed5a45f17e3a7c34babf01a6a90",
    "gwas loci": "541dbc72ce50eeba1a9320707c35f07e79df4ea0748787d563fcf1d0b10dd2c2",
    "gwas truth": "524db7491cb5e6fa4920f067a4dffb20e98ea4ae75fea6ada1f69b5ff6db7aab",
    "gwas grip table": "db1bff19a70e9ab864b2db0b46b48930d29a4dd0fe003be7614b2c426e1adb75",
    "gwas grip file text": "54b46dcbae5c3ad1b9de763d93f5030e516b57a8ae7018c459ee097055750c89",
    "gwas cognitive_impairment table": "fe1f2beeffa36623945b82544f19af27b29d27e1b5097ca2b5dd15af84c27e70",
    "gwas cognitive_impairment file text": "89761ed6f981cf7fb3073c9811f03ae5f4ed4a9cf11a14e6ace6997dcfbdf9a3",
}
"""Digests of the default designs' outputs at d7bb6d4 (see the module docstring for how they were made)."""


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's index, column names, dtypes and values (numeric values as their bytes, others as
    text), independent of pandas' own hashing."""
    h = hashlib.sha256(repr(frame.index).encode())
    for name in frame.columns:
        col = frame[name]
        h.update(f"\x1e{name}\x1f{col.dtype}\x1f".encode())
        values = col.to_numpy()
        if values.dtype.kind in "biufc":
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            h.update("\x1f".join(f"{type(v).__name__}:{v}" for v in values).encode())
    return h.hexdigest()


def digests() -> dict[str, str]:
    """The digest of every default design's data and truth table and of each GWAS file's decompressed text."""
    out = {}
    for name, (design, n) in DEFAULT_COHORTS.items():
        sim = simulate(design, n, derive_seed(MASTER_SEED, "cohort", name))
        out[f"cohort {name} data"] = frame_digest(sim.data)
        out[f"cohort {name} truth"] = frame_digest(sim.truth)
    seed = derive_seed(MASTER_SEED, "gwas", GWAS_FAMILY)
    pair = simulate_grip_cognition(seed, GWAS_VARIANTS)
    out["gwas loci"] = frame_digest(pair.loci)
    out["gwas truth"] = frame_digest(pair.truth)
    with tempfile.TemporaryDirectory() as tmp:
        for trait, table in pair.tables.items():
            out[f"gwas {trait} table"] = frame_digest(table)
            path = Path(tmp) / f"{trait}.tsv.gz"
            write_simulated_gwas(trait, path, seed, GWAS_VARIANTS)
            out[f"gwas {trait} file text"] = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
    return out


def test_default_designs_unchanged() -> None:
    """Every default design's data, truth and GWAS file text has the digest it had at d7bb6d4."""
    assert digests() == DIGESTS


def test_frame_digest_sees_a_change() -> None:
    """One value, one dtype or one column name changed gives another digest."""
    frame = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})
    base = frame_digest(frame)
    assert frame_digest(frame.copy()) == base
    assert frame_digest(frame.assign(x=[1.0, np.nextafter(2.0, 3.0)])) != base
    assert frame_digest(frame.assign(x=frame["x"].astype("float32"))) != base
    assert frame_digest(frame.assign(s=["a", "c"])) != base
    assert frame_digest(frame.rename(columns={"s": "t"})) != base


def _stratified_truth_from_table(p: NhanesParams, n: int) -> pd.DataFrame:
    """The Monte Carlo truth as d7bb6d4 computed it: from the full generated table."""
    data = _generate(p, seed=1, n=n)
    flags = low_muscle_mass_flags(data)
    group = pd.cut(data["age"], [59, 69, 79, 200], labels=["60-69", "70-79", "80+"])
    rows = []
    for label in ("60-69", "70-79", "80+"):
        sel = (group == label).to_numpy()
        low = flags["low_mm_fnih_alm_bmi"].to_numpy()[sel] == 1
        d = data["dsst"].to_numpy()[sel]
        rows.append((label, float(d[low].mean() - d[~low].mean())))
    return pd.DataFrame(rows, columns=["age_group", "difference"])


@pytest.mark.parametrize("params", [{}, {"share_male": 0.6, "rho_dsst_alm_within": 0.5, "dsst_low_mean": 40.0}])
def test_nhanes_stratified_truth_equals_the_full_tables(params) -> None:
    """The truth from the draws it needs is bit for bit the one from the full table (the same random stream)."""
    p = NhanesParams(**params)
    pd.testing.assert_frame_equal(stratified_truth(p, n=30_000), _stratified_truth_from_table(p, 30_000), check_exact=True)


def test_gwas_file_from_columns_equals_file_from_table(tmp_path) -> None:
    """write_simulated_gwas (Arrow from the simulated columns) writes the text write_gwas_table writes from the
    DataFrame, and the Arrow table equals pyarrow's conversion of the DataFrame."""
    pair = simulate_grip_cognition(7, n_variants=6000, missing_share=0.1)
    for trait, table in pair.tables.items():
        assert pair.arrow(trait).equals(pa.Table.from_pandas(table, preserve_index=False))
        write_gwas_table(table, tmp_path / "from_table.tsv.gz")
        write_simulated_gwas(trait, tmp_path / "from_columns.tsv.gz", 7, 6000, {"missing_share": 0.1})
        text = gzip.decompress((tmp_path / "from_columns.tsv.gz").read_bytes())
        assert text == gzip.decompress((tmp_path / "from_table.tsv.gz").read_bytes())
        assert text.count(b"\n") == len(table) + 1


if __name__ == "__main__":
    print(json.dumps(digests(), indent=4))
