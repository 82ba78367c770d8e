"""GWAS-VCF (IEU / OpenGWAS layout): the same data read from a VCF (plain, gzip, bgzip) and from a GWAS-SSF TSV
give the same standardised table; region reading; header metadata; clear errors for a VCF that is not a GWAS-VCF.

The VCF is written by the fixture in gwas2vcf's layout (its FORMAT/META/SAMPLE/contig header lines, one sample
column ``ES:SE:LP:AF:SS:ID``), bgzip-compressed as BGZF blocks of at most 0xff00 bytes plus the EOF block (the
SAM/BAM specification section 4.1), so that reading goes through many gzip members.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import ConfigError, DataError
from musclecog.mr.gwas import GwasSpec, read_standardised, standardise, write_standardised
from musclecog.mr.gwas.tabix import read_index
from musclecog.mr.gwas.vcf import Region, read_vcf, read_vcf_header, read_vcf_regions
from musclecog.mr.pipeline import check_builds

HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FORMAT=<ID=ES,Number=A,Type=Float,Description="Effect size estimate relative to the alternative allele">
##FORMAT=<ID=SE,Number=A,Type=Float,Description="Standard error of effect size estimate">
##FORMAT=<ID=LP,Number=A,Type=Float,Description="-log10 p-value for effect estimate">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency in the association study">
##FORMAT=<ID=SS,Number=A,Type=Float,Description="Sample size used to estimate genetic effect">
##FORMAT=<ID=ID,Number=1,Type=String,Description="Study variant identifier">
##META=<ID=TotalVariants,Number=1,Type=Integer,Description="Total number of variants in input">
##META=<ID=StudyType,Number=1,Type=String,Description="Type of GWAS study [Continuous or CaseControl]">
##SAMPLE=<ID={sample},TotalVariants=400,VariantsNotRead=0,HarmonisedVariants=400,VariantsNotHarmonised=0,SwitchedAlleles=12,StudyType=Continuous{extra}>
##contig=<ID=1,length=249250621,assembly=HG19/GRCh37>
##contig=<ID=2,length=243199373,assembly=HG19/GRCh37>
##gwas2vcf_version=1.4.3
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}
"""

SSF_COLUMNS = ["variant_id", "chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
               "standard_error", "effect_allele_frequency", "neg_log_10_p_value", "n"]


def _variants(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Random bi-allelic variants on chromosomes 1 and 2 with a few awkward rows: missing LP, LP = 999 (gwas2vcf's
    p = 0), missing AF, a missing rsID, an indel."""
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    ref = bases[rng.integers(0, 4, n)]
    alt = bases[(np.searchsorted(bases, ref) + rng.integers(1, 4, n)) % 4]
    se = np.round(rng.uniform(0.005, 0.05, n), 6)
    beta = np.round(rng.normal(0, 0.03, n), 6)
    lp = np.round(rng.exponential(1.5, n), 4).astype(object)
    af = np.round(rng.uniform(0.01, 0.99, n), 4).astype(object)
    df = pd.DataFrame({
        "chrom": np.where(np.arange(n) < n // 2, "1", "2"),
        "pos": np.concatenate([np.sort(rng.choice(10**7, n // 2, replace=False)),
                               np.sort(rng.choice(10**7, n - n // 2, replace=False))]) + 1,
        "id": [f"rs{1000 + i}" for i in range(n)], "ref": ref.astype(object), "alt": alt.astype(object),
        "es": beta, "se": se, "lp": lp, "af": af, "ss": rng.integers(9000, 10001, n).astype(float),
    })
    df.loc[3, "lp"] = None
    df.loc[5, "lp"] = 999
    df.loc[8, "af"] = None
    df.loc[11, "id"] = None
    df.loc[14, ["ref", "alt"]] = ["A", "AT"]
    return df


def _fmt(x: object) -> str:
    return "." if x is None or (isinstance(x, float) and np.isnan(x)) else repr(x) if isinstance(x, float) else str(x)


def _vcf_text(df: pd.DataFrame, sample: str = "ieu-x-1", fields: str = "ES:SE:LP:AF:SS:ID", extra: str = "",
              multiallelic: bool = True) -> str:
    lines = [HEADER.replace("{sample}", sample).replace("{extra}", extra)]
    keys = fields.split(":")
    for i, r in enumerate(df.itertuples(index=False)):
        values = {"ES": r.es, "SE": r.se, "LP": r.lp, "AF": r.af, "SS": r.ss, "ID": r.id, "GT": "0/1", "DS": 1.0}
        sample_col = ":".join(_fmt(values[k]) for k in keys)
        lines.append("\t".join([r.chrom, str(r.pos), _fmt(r.id), r.ref, r.alt, ".", "PASS", ".", fields,
                                sample_col]) + "\n")
        if multiallelic and i == 20:  # an unsplit multi-allelic record: counted out
            lines.append(f"{r.chrom}\t{r.pos + 1}\trs99\tA\tC,G\t.\tPASS\t.\t{fields}\t"
                         + ":".join({"ES": "0.1,0.2", "SE": "0.01,0.01"}.get(k, "1") for k in keys) + "\n")
    return "".join(lines)


def bgzip(data: bytes, block: int = 0xFF00) -> bytes:
    """BGZF: gzip members of at most ``block`` input bytes with the BC extra field, then the empty EOF block."""
    out = []
    for start in range(0, len(data), block):
        chunk = data[start:start + block]
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = comp.compress(chunk) + comp.flush()
        head = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff" + struct.pack("<HBBHH", 6, 66, 67, 2, len(body) + 25)
        out.append(head + body + struct.pack("<II", zlib.crc32(chunk), len(chunk)))
    out.append(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    return b"".join(out)


def _write(path: Path, text: str, how: str) -> Path:
    raw = text.encode()
    if how == "bgzip":
        path.write_bytes(bgzip(raw, block=4096))
    elif how == "gzip":
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def _ssf(df: pd.DataFrame, path: Path) -> Path:
    """The same variants as a GWAS-SSF TSV (effect allele = ALT), numbers written with the same digits."""
    rows = ["\t".join(SSF_COLUMNS)]
    for r in df.itertuples(index=False):
        values = (r.id, r.chrom, r.pos, r.alt, r.ref, r.es, r.se, r.af, r.lp, r.ss)
        rows.append("\t".join("NA" if _fmt(v) == "." else _fmt(v) for v in values))
    path.write_text("\n".join(rows) + "\n")
    return path


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Alleles and chromosome as plain strings (dictionaries of a filtered table may keep unused entries)."""
    return df.astype({c: object for c in ("chr", "effect_allele", "other_allele")})


@pytest.fixture(scope="module")
def variants() -> pd.DataFrame:
    return _variants()


@pytest.mark.parametrize("how,name", [("bgzip", "t.vcf.gz"), ("gzip", "t.vcf.gz"), ("plain", "t.vcf")])
def test_vcf_equals_the_same_data_read_as_tsv(tmp_path, variants, how, name):
    vcf = _write(tmp_path / name, _vcf_text(variants), how)
    if how == "bgzip":
        assert gzip.decompress(vcf.read_bytes()).decode() == _vcf_text(variants)  # a valid multi-member file
    tsv = _ssf(variants, tmp_path / "t.tsv")
    a = standardise(GwasSpec(name="t", path=str(vcf)))  # format auto: VCF from the name
    b = standardise(GwasSpec(name="t", path=str(tsv)))
    assert a.meta["format"] == "vcf" and b.meta["format"] == "ssf"
    pd.testing.assert_frame_equal(a.table.to_pandas(), b.table.to_pandas())
    flow_a = a.flow.set_index("step")["n_excluded"]
    flow_b = b.flow.set_index("step")["n_excluded"]
    assert flow_a["multiallelic"] == 1 and flow_a["read"] == 0
    assert flow_a["missing"] == flow_b["missing"] == 1  # the record without an rsID
    assert flow_a["alleles"] == flow_b["alleles"] == 1  # the indel
    assert a.meta["n_rows_read"] == len(variants) + 1 and b.meta["n_rows_read"] == len(variants)
    # header metadata: build from ##contig assembly, the sample's id
    assert a.meta["build"] == "GRCh37" and a.meta["vcf_sample"] == "ieu-x-1"
    assert a.meta["study_type"] == "Continuous"
    # LP = 999 (p = 0) and a missing LP: p recomputed from z, as for the TSV
    out = a.table.to_pandas().set_index("SNP")
    assert out.loc["rs1005", "pval"] > 0 and np.isfinite(out.loc["rs1003", "pval"])
    # written and read back in file order, the multi-allelic record skipped in the file rows
    write_standardised(a, tmp_path / "t.parquet")
    back = read_standardised(tmp_path / "t.parquet")
    assert back["SNP"].tolist() == out.index.tolist()


def test_region_reads_only_its_records(tmp_path, variants):
    vcf = _write(tmp_path / "t.vcf.gz", _vcf_text(variants), "bgzip")
    whole = standardise(GwasSpec(name="t", path=str(vcf))).table.to_pandas()
    lo, hi = int(variants.loc[210, "pos"]), int(variants.loc[260, "pos"])
    part = standardise(GwasSpec(name="t", path=str(vcf), region=f"chr2:{lo:,}-{hi}"))
    expect = whole[(whole["chr"] == "2") & whole["pos"].between(lo, hi)].reset_index(drop=True)
    pd.testing.assert_frame_equal(_plain(part.table.to_pandas()), _plain(expect))
    assert len(expect) == 51
    flow = part.flow.set_index("step")
    assert flow.loc["region", "n_out"] == 51 and flow.loc["region", "n_in"] == len(variants) + 1
    # the same region on the TSV (filtered after reading)
    tsv = standardise(GwasSpec(name="t", path=str(_ssf(variants, tmp_path / "t.tsv")), region=f"2:{lo}-{hi}"))
    pd.testing.assert_frame_equal(_plain(tsv.table.to_pandas()), _plain(expect))
    # a whole chromosome, and batches smaller than the file: read_vcf scans with pyarrow's streaming reader
    assert (read_vcf(vcf, region=Region.parse("1")).table.column("chr").to_pylist() == ["1"] * 200)


def test_sample_size_from_header_and_sample_choice(tmp_path, variants):
    text = _vcf_text(variants.head(50), fields="ES:SE:LP:AF:ID", extra=",TotalCases=3000,TotalControls=7000",
                     multiallelic=False)
    vcf = _write(tmp_path / "t.vcf", text, "plain")
    res = standardise(GwasSpec(name="t", path=str(vcf)))
    tab = res.table.to_pandas()
    assert (tab["samplesize"] == 10000).all() and (tab["ncase"] == 3000).all() and (tab["ncontrol"] == 7000).all()
    assert res.meta["header_n"] == 10000
    # the config's n wins over the header
    assert (standardise(GwasSpec(name="t", path=str(vcf), n=5000)).table.column("samplesize").to_pylist()
            == [5000.0] * len(tab))
    # two samples: the second chosen by name; an unknown one refused
    two = text.replace("\tFORMAT\tieu-x-1\n", "\tFORMAT\tieu-x-1\tieu-x-2\n")
    lines = two.splitlines()
    def negated(sample_col: str) -> str:
        es, rest = sample_col.split(":", 1)
        return f"{-float(es)!r}:{rest}"

    lines = [ln if ln.startswith("#") else ln + "\t" + negated(ln.split("\t")[-1]) for ln in lines]
    vcf2 = _write(tmp_path / "two.vcf.gz", "\n".join(lines) + "\n", "gzip")
    assert read_vcf_header(vcf2).samples == ["ieu-x-1", "ieu-x-2"]
    second = standardise(GwasSpec(name="t", path=str(vcf2), sample="ieu-x-2"))
    assert second.meta["vcf_sample"] == "ieu-x-2"
    np.testing.assert_array_equal(second.table.column("beta").to_numpy(), -res.table.column("beta").to_numpy())
    assert second.flow.set_index("step").loc["vcf_sample", "reason"].startswith("note: sample column ieu-x-2")
    with pytest.raises(ConfigError, match="ieu-x-3.*ieu-x-1"):
        standardise(GwasSpec(name="t", path=str(vcf2), sample="ieu-x-3"))


def test_format_vcf_for_any_file_name(tmp_path, variants):
    path = _write(tmp_path / "download.txt.gz", _vcf_text(variants.head(30)), "bgzip")
    res = standardise(GwasSpec(name="t", path=str(path), format="vcf"))
    assert res.meta["format"] == "vcf" and res.table.num_rows == 28  # missing id + indel counted out


def test_vcf_without_gwas_fields_is_a_clear_error(tmp_path, variants):
    text = _vcf_text(variants.head(10), fields="GT:DS", multiallelic=False)
    text = "\n".join(ln for ln in text.splitlines() if not ln.startswith("##FORMAT")) + "\n"
    path = _write(tmp_path / "genotypes.vcf.gz", text, "bgzip")
    with pytest.raises(DataError, match=r"genotypes\.vcf\.gz.*\['ES', 'SE'\] are missing; fields found: DS, GT"):
        standardise(GwasSpec(name="t", path=str(path)))


def test_build_conflict_and_bad_region(tmp_path, variants):
    path = _write(tmp_path / "t.vcf", _vcf_text(variants.head(10)), "plain")
    with pytest.raises(DataError, match="build is 'GRCh38'.*HG19/GRCh37|GRCh38.*GRCh37"):
        standardise(GwasSpec(name="t", path=str(path), build="GRCh38"))
    assert standardise(GwasSpec(name="t", path=str(path), build="hg19")).meta["build"] == "hg19"
    check_builds({"trait": "vcf", "build": "GRCh37"}, {"trait": "tsv", "build": "hg19"})  # the same build
    with pytest.raises(DataError, match="genome builds differ"):
        check_builds({"trait": "vcf", "build": "GRCh37"}, {"trait": "tsv", "build": "hg38"})
    with pytest.raises(ConfigError, match="chrom:start-end"):
        standardise(GwasSpec(name="t", path=str(path), region="1:abc"))
    with pytest.raises(ConfigError, match="end is before the start"):
        Region.parse("1:200-100")
    with pytest.raises(ConfigError, match="empty list of regions"):
        read_vcf(path, region=[])
    # the config key takes one region or a list (the schema refuses an empty list and non-strings)
    from musclecog.config import check_against_schema, load_schema, schema_dir

    schema = load_schema(schema_dir() / "gwas.schema.yaml")
    entry = {"path": "x.vcf.gz", "region": ["1:1-2", "2"]}
    check_against_schema(entry, schema, "gwas.t")
    assert GwasSpec.from_config("t", entry).region == ("1:1-2", "2")
    for bad in ([], [1]):
        with pytest.raises(ConfigError, match="region"):
            check_against_schema({**entry, "region": bad}, schema, "gwas.t")
    with pytest.raises(ConfigError, match=r"gwas\.t\.region\[1\].*chrom:start-end"):
        standardise(GwasSpec(name="t", path=str(path), region=("1:1-100", "1:x")))
    with pytest.raises(DataError, match="not a VCF|no '#CHROM'"):
        standardise(GwasSpec(name="t", path=str(_write(tmp_path / "x.vcf", "##fileformat=VCFv4.2\n", "plain"))))


# --- tabix-indexed region reads ------------------------------------------------------------------------------
# The index is made by an independent tool, htslib's `tabix -p vcf` (Debian package tabix; .ci/run installs it),
# over files compressed by htslib's `bgzip` and by the BGZF writer above with 4 KiB blocks (records split
# between blocks). Indexed reads must equal the scan of the same file and the same data read as a TSV.

needs_tabix = pytest.mark.skipif(shutil.which("tabix") is None and not os.environ.get("CI"),
                                 reason="htslib's tabix/bgzip are not installed (apt-get install tabix)")


def _tabix(path: Path, csi: bool = False) -> Path:
    subprocess.run(["tabix", "-f", *(["--csi"] if csi else []), "-p", "vcf", str(path)], check=True,
                   capture_output=True)
    return Path(f"{path}.{'csi' if csi else 'tbi'}")


def _indexed(tmp_path: Path, text: str, how: str, name: str = "t.vcf.gz") -> Path:
    """``text`` bgzip-compressed (htslib's bgzip, or 4 KiB blocks) and indexed by htslib's tabix (``.tbi``, or
    ``.csi`` when ``how`` ends in ``-csi``)."""
    path = tmp_path / name
    if how == "htslib":
        plain = tmp_path / name.removesuffix(".gz")
        plain.write_text(text)
        subprocess.run(["bgzip", "-f", str(plain)], check=True, capture_output=True)
    else:
        path.write_bytes(bgzip(text.encode(), block=4096))
    _tabix(path, csi=how.endswith("-csi"))
    return path


@pytest.fixture(scope="module")
def many() -> pd.DataFrame:
    return _variants(3000, seed=11)


def _split_records(text: str, block: int = 4096) -> list[tuple[str, int]]:
    """(chrom, pos) of records that the 4 KiB BGZF writer splits between two blocks."""
    out, start = [], 0
    for line in text.splitlines(keepends=True):
        end = start + len(line)
        if not line.startswith("#") and start // block != (end - 1) // block:
            fields = line.split("\t")
            out.append((fields[0], int(fields[1])))
        start = end
    return out


def _regions(df: pd.DataFrame, text: str) -> list[str]:
    """Regions at record edges, at block boundaries, empty, on an absent chromosome, with and without chr."""
    split = _split_records(text)
    c1, c2 = df[df.chrom == "1"].pos.to_numpy(), df[df.chrom == "2"].pos.to_numpy()
    return [
        f"1:{c1[100]}-{c1[180]}",                      # both ends exactly on a record (inclusive)
        f"chr2:{c2[10] + 1}-{c2[400] - 1}",            # a chr prefix the file does not have
        *(f"{c}:{p}-{p}" for c, p in split[3:6]),      # single records split between BGZF blocks
        f"{split[8][0]}:{split[8][1] - 20000}-{split[8][1] + 20000}",
        f"1:{c1[50] + 1}-{c1[51] - 1}",                # between two records: empty
        "3:1-1000000",                                 # a chromosome absent from the file and the index
        "2",                                           # a whole chromosome
        f"1:{c1[-3]}-",                                # an open end
        f"2:1-{c2[0]}",                                # from the chromosome's start
    ]


@needs_tabix
@pytest.mark.parametrize("how", ["htslib", "4k-blocks", "4k-blocks-csi"])
def test_indexed_region_read_equals_scan_and_tsv(tmp_path, many, how):
    text = _vcf_text(many)
    vcf = _indexed(tmp_path, text, how)
    index = f"tabix index t.vcf.gz.{'csi' if how.endswith('csi') else 'tbi'}"
    regions = _regions(many, text)
    parsed = [Region.parse(r) for r in regions]
    by_index = read_vcf_regions(vcf, parsed, index=True)
    by_scan = read_vcf_regions(vcf, parsed, index=False)
    tsv = _ssf(many, tmp_path / "t.tsv")
    whole = standardise(GwasSpec(name="t", path=str(vcf))).table.to_pandas()
    for text_region, region, a, b in zip(regions, parsed, by_index, by_scan, strict=True):
        assert a.meta["region_read"] == index and b.meta["region_read"] == "scan"
        pd.testing.assert_frame_equal(_plain(a.table.to_pandas()), _plain(b.table.to_pandas()))
        assert a.n_rows == b.n_rows == len(many) + 1  # the index's record count = the scan's
        if a.table.num_rows == 0:  # an empty region: no variant left, the same error for the VCF and the TSV
            for path in (vcf, tsv):
                with pytest.raises(DataError, match="no variant left"):
                    standardise(GwasSpec(name="t", path=str(path), region=text_region))
            continue
        # the standardised table of the region equals the TSV's region and the whole file's rows in it
        sa = standardise(GwasSpec(name="t", path=str(vcf), region=text_region))
        st = standardise(GwasSpec(name="t", path=str(tsv), region=text_region))
        pd.testing.assert_frame_equal(_plain(sa.table.to_pandas()), _plain(st.table.to_pandas()))
        lo, hi = region.start or 1, region.end or 10**9
        expect = whole[(whole["chr"] == region.chrom) & whole["pos"].between(lo, hi)].reset_index(drop=True)
        pd.testing.assert_frame_equal(_plain(sa.table.to_pandas()), _plain(expect))
        flow = sa.flow.set_index("step")
        assert flow.loc["region", "n_in"] == len(many) + 1 and flow.loc["region", "n_out"] == len(a.table)
        assert "read through the tabix index" in flow.loc["region_read", "reason"]
        assert sa.meta["region_read"] == index and st.meta["region_read"] == "filtered after reading"
    sizes = [r.table.num_rows for r in by_index]
    assert sizes[6] == sizes[7] == 0 and min(sizes[:6]) >= 1 and sizes[2:5] == [1, 1, 1]
    assert (sizes[0], sizes[8], sizes[9], sizes[10]) == (81, 1500, 3, 1)
    # a list of regions in one read: each record once, in file order, equal to the scan and to the TSV
    both = [regions[0], regions[0], regions[7], regions[2]]
    la = standardise(GwasSpec(name="t", path=str(vcf), region=both))
    lt = standardise(GwasSpec(name="t", path=str(tsv), region=both))
    pd.testing.assert_frame_equal(_plain(la.table.to_pandas()), _plain(lt.table.to_pandas()))
    union = read_vcf(vcf, region=[Region.parse(r) for r in both])
    assert union.table.num_rows == len(set(union.rows.tolist())) and bool(np.all(np.diff(union.rows) > 0))
    # written and read back: the virtual offsets keep file order
    write_standardised(la, tmp_path / "l.parquet")
    assert read_standardised(tmp_path / "l.parquet")["SNP"].tolist() == lt.table.column("SNP").to_pylist()


@needs_tabix
def test_indexed_read_with_chr_prefixed_file(tmp_path, many):
    df = many.assign(chrom="chr" + many["chrom"])
    vcf = _indexed(tmp_path, _vcf_text(df), "htslib")
    regions = [Region.parse(r) for r in ("1:1-2000000", "chr2:3000000-3500000", "X")]
    for a, b in zip(read_vcf_regions(vcf, regions), read_vcf_regions(vcf, regions, index=False), strict=True):
        assert a.meta["region_read"].startswith("tabix")
        pd.testing.assert_frame_equal(_plain(a.table.to_pandas()), _plain(b.table.to_pandas()))
    assert read_vcf_regions(vcf, regions)[0].table.num_rows > 100


@needs_tabix
def test_stale_or_corrupt_index_is_an_error(tmp_path, many):
    text = _vcf_text(many)
    region = [Region.parse("1:1-5000000")]
    vcf = _indexed(tmp_path, text, "4k-blocks")
    tbi = Path(f"{vcf}.tbi")
    good = tbi.read_bytes()
    # the index older than the file
    os.utime(tbi, (vcf.stat().st_mtime - 60, vcf.stat().st_mtime - 60))
    with pytest.raises(DataError, match=r"t\.vcf\.gz\.tbi is older than .*t\.vcf\.gz.*tabix -f -p vcf .*t\.vcf\.gz"):
        read_vcf_regions(vcf, region)
    with pytest.raises(DataError, match="older than"):  # the workflow's reader: the same error, never a scan
        standardise(GwasSpec(name="t", path=str(vcf), region="1:1-5000000"))
    # the index of another compression of the same text (htslib's 64 KiB blocks): offsets inside blocks
    (tmp_path / "other").mkdir()
    other = _indexed(tmp_path / "other", text, "htslib", name="other.vcf.gz")
    tbi.write_bytes(Path(f"{other}.tbi").read_bytes())
    with pytest.raises(DataError, match=r"does not match .*t\.vcf\.gz.*tabix -f -p vcf"):
        read_vcf_regions(vcf, region)
    # the index of a longer file: offsets past the end of this one
    longer = _indexed(tmp_path / "other", _vcf_text(_variants(6000, seed=12)), "4k-blocks", name="longer.vcf.gz")
    tbi.write_bytes(Path(f"{longer}.tbi").read_bytes())
    with pytest.raises(DataError, match="past the end of the file|does not match"):
        read_vcf_regions(vcf, [Region.parse("2:5000000-")])
    # not an index at all, and a truncated one
    tbi.write_bytes(gzip.compress(b"not an index"))
    with pytest.raises(DataError, match=r"not a tabix index.*tabix -f -p vcf"):
        read_vcf_regions(vcf, region)
    tbi.write_bytes(gzip.compress(gzip.decompress(good)[:200]))
    with pytest.raises(DataError, match=r"truncated or not a tabix index"):
        read_vcf_regions(vcf, region)
    # an index beside a plain-gzip file (tabix needs bgzip)
    tbi.write_bytes(good)
    vcf.write_bytes(gzip.compress(text.encode()))
    os.utime(tbi)
    with pytest.raises(DataError, match="not the start of a BGZF block"):
        read_vcf_regions(vcf, region)
    # no index: index=True asks for one
    tbi.unlink()
    with pytest.raises(DataError, match=r"no tabix index.*tabix -p vcf"):
        read_vcf(vcf, region=region, index=True)
    assert read_vcf(vcf, region=region).meta["region_read"] == "scan"


@needs_tabix
def test_indexed_region_read_of_a_bgzip_table(tmp_path, many):
    """A bgzip GWAS-SSF TSV indexed by `tabix -s 2 -b 3 -e 3 -S 1` is read through its index, equal to the
    plain TSV filtered after reading; an index on other columns is refused with the right tabix command."""
    text = _vcf_text(many)
    regions = _regions(many, text)
    plain = _ssf(many, tmp_path / "plain.tsv")
    gz = tmp_path / "t.tsv.gz"
    gz.write_bytes(bgzip(plain.read_bytes(), block=4096))
    subprocess.run(["tabix", "-f", "-s", "2", "-b", "3", "-e", "3", "-S", "1", str(gz)], check=True,
                   capture_output=True)
    for region in [*regions[:6], regions[8:], regions[:3]]:
        a = standardise(GwasSpec(name="t", path=str(gz), region=region))
        b = standardise(GwasSpec(name="t", path=str(plain), region=region))
        pd.testing.assert_frame_equal(_plain(a.table.to_pandas()), _plain(b.table.to_pandas()))
        assert a.meta["region_read"] == "tabix index t.tsv.gz.tbi" and b.meta["region_read"] == "filtered after reading"
        fa, fb = a.flow.set_index("step"), b.flow.set_index("step")
        assert fa.loc["region", "n_in"] == fb.loc["region", "n_in"] == len(many)
        assert fa.loc["region", "n_out"] == fb.loc["region", "n_out"]
        assert "read through the tabix index" in fa.loc["region_read", "reason"]
    # an index on other columns (sequence = the variant id, position = the chromosome) is refused
    subprocess.run(["tabix", "-f", "-s", "1", "-b", "2", "-e", "2", "-S", "1", str(gz)], check=True,
                   capture_output=True)
    with pytest.raises(DataError, match=r"sorts on columns 1 .* and 2 .*columns 2 and 3; `tabix -f -s 2 -b 3 -e 3 -S 1"):
        standardise(GwasSpec(name="t", path=str(gz), region=regions[0]))


@needs_tabix
def test_indexed_read_with_records_in_coarser_bins(tmp_path):
    """Two deletions whose REF crosses a 16 kb boundary (tabix puts them in the 128 kb bin) are found through
    the index as by the scan; a region inside a REF but after its POS reads no record (positions are matched on
    POS, as the scan does)."""
    pos = np.arange(100_000, 300_000, 1_000)
    df = pd.DataFrame({"chrom": "1", "pos": pos, "id": [f"rs{p}" for p in pos], "ref": "A", "alt": "G",
                       "es": 0.01, "se": 0.01, "lp": 1.0, "af": 0.3, "ss": 1000.0})
    long_ref = "C" * 100
    dels = pd.DataFrame({"chrom": "1", "pos": [16384 * 9 - 50, 16384 * 15 - 50], "id": ["rsdel1", "rsdel2"],
                         "ref": long_ref, "alt": "C", "es": 0.02, "se": 0.01, "lp": 1.0, "af": 0.2, "ss": 1000.0})
    df = pd.concat([df, dels]).sort_values("pos", kind="stable").reset_index(drop=True)
    vcf = _indexed(tmp_path, _vcf_text(df, multiallelic=False), "4k-blocks")
    regions = [Region.parse(r) for r in ("1:140000-250000", f"1:{16384 * 9 - 40}-{16384 * 9 + 40}", "1:1-")]
    seq = read_index(Path(f"{vcf}.tbi"), vcf).sequences[0]
    assert 586 in seq.bin_ids.tolist()  # the 128 kb bin [131072, 262144) (htslib also moves small bins' chunks up)
    got = read_vcf_regions(vcf, regions)
    for a, b in zip(got, read_vcf_regions(vcf, regions, index=False), strict=True):
        pd.testing.assert_frame_equal(_plain(a.table.to_pandas()), _plain(b.table.to_pandas()))
    assert {"rsdel1", "rsdel2"} <= set(got[0].table.column("SNP").to_pylist())
    assert got[1].table.num_rows == 0 and got[2].table.num_rows == len(df)


def test_bin_walk_over_bins_of_several_chunks():
    """The vectorised walk over an index's bins (runs of one-chunk bins by numpy, others one by one) gives the
    offsets of a plain bin-by-bin walk, and refuses bins that run past the end."""
    from musclecog.mr.gwas.tabix import _bin_starts

    rng = np.random.default_rng(3)
    n_chunks = np.where(rng.random(5000) < 0.02, rng.integers(2, 5, 5000), 1)
    n_chunks[:200] = 1  # a long run first: the window doubles
    words, expect, i = [], [], 0
    for b, n in enumerate(n_chunks.tolist()):
        expect.append(i)
        words += [b, n] + [7] * (4 * n)
        i += 2 + 4 * n
    words += [0]  # n_intv of the linear index
    starts, end = _bin_starts(np.array(words, "<i4"), 0, len(n_chunks))
    assert starts.tolist() == expect and end == i
    with pytest.raises(ValueError, match="past the end"):
        _bin_starts(np.array(words[:-40], "<i4"), 0, len(n_chunks))
