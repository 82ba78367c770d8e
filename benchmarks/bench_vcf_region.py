"""Benchmark: reading instrument regions of a genome-wide GWAS-VCF, by scanning vs through its tabix index.

Builds a bgzip GWAS-VCF (gwas2vcf layout, ``ES:SE:LP:AF:SS:ID``) of ``--n`` variants (default 2,000,000) on 22
chromosomes, indexes it with an independent tool (Debian's ``bgzip``/``tabix`` when on the PATH, else pysam's
``tabix_compress``/``tabix_index``), then reads ``--regions`` regions of ``--kb`` kb (default 50 of 500 kb) in
a fresh process per method, printing wall time, peak resident memory and the ratio to the indexed read:

* ``scan, one call``   -- ``read_vcf_regions(..., index=False)``: one pass over the whole file for all regions;
* ``scan, per region`` -- ``read_vcf(..., region=r, index=False)`` per region (what a caller reading one region
  at a time paid before the index was used): measured on ``--per-region`` regions, scaled to all;
* ``index, one call``  -- ``read_vcf_regions`` through the ``.tbi`` (musclecog's own BGZF/tabix reader);
* ``index, per region`` -- ``read_vcf(..., region=r)`` per region through the index;
* ``pysam fetch``      -- pysam's ``TabixFile.fetch`` of each region's lines, parsed by the same code path
  (only if pysam is importable, e.g. ``PYTHONPATH=/path/to/pysam``): the alternative to the own reader.

All methods must return the same records (checked). Usage::

    .venv/bin/python benchmarks/bench_vcf_region.py [--n 2000000] [--regions 50] [--kb 500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CHROM_MB = np.array([249, 243, 198, 191, 181, 171, 159, 146, 141, 136, 135, 133, 115, 107, 102, 90, 83, 78, 59,
                     63, 48, 51])

HEADER = """##fileformat=VCFv4.2
##FORMAT=<ID=ES,Number=A,Type=Float,Description="Effect size estimate relative to the alternative allele">
##FORMAT=<ID=SE,Number=A,Type=Float,Description="Standard error of effect size estimate">
##FORMAT=<ID=LP,Number=A,Type=Float,Description="-log10 p-value for effect estimate">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency in the association study">
##FORMAT=<ID=SS,Number=A,Type=Float,Description="Sample size used to estimate genetic effect">
##FORMAT=<ID=ID,Number=1,Type=String,Description="Study variant identifier">
##SAMPLE=<ID=bench-1,TotalVariants={n},StudyType=Continuous>
{contigs}
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tbench-1
"""


def write_vcf(path: Path, n: int, seed: int = 1) -> None:
    """``n`` sorted bi-allelic variants spread over 22 chromosomes in proportion to their length."""
    rng = np.random.default_rng(seed)
    per = np.floor(n * CHROM_MB / CHROM_MB.sum()).astype(int)
    per[0] += n - per.sum()
    contigs = "\n".join(f"##contig=<ID={c + 1},length={m * 10**6},assembly=HG19/GRCh37>"
                        for c, m in enumerate(CHROM_MB))
    bases = np.array(list("ACGT"))
    with open(path, "w") as fh:
        fh.write(HEADER.replace("{n}", str(n)).replace("{contigs}", contigs))
        k = 0
        for c, (m, cnt) in enumerate(zip(CHROM_MB, per, strict=True)):
            pos = np.sort(rng.choice(m * 10**6, cnt, replace=False)) + 1
            ref = rng.integers(0, 4, cnt)
            alt = (ref + rng.integers(1, 4, cnt)) % 4
            ids = np.char.add("rs", np.arange(k, k + cnt).astype(str))
            k += cnt
            es = np.char.mod("%.5f", rng.normal(0, 0.02, cnt))
            se = np.char.mod("%.5f", rng.uniform(0.005, 0.03, cnt))
            lp = np.char.mod("%.4f", rng.exponential(0.5, cnt))
            af = np.char.mod("%.4f", rng.uniform(0.01, 0.99, cnt))
            fmt = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(es, ":"), se), ":"),
                                                      np.char.add(lp, ":")), np.char.add(af, ":10000:")), ids)
            cols = [np.full(cnt, str(c + 1)), pos.astype(str), ids, bases[ref], bases[alt], np.full(cnt, "."),
                    np.full(cnt, "PASS"), np.full(cnt, "."), np.full(cnt, "ES:SE:LP:AF:SS:ID"), fmt]
            lines = cols[0]
            for col in cols[1:]:
                lines = np.char.add(np.char.add(lines, "\t"), col)
            fh.write("\n".join(lines.tolist()) + "\n")


def compress_and_index(plain: Path) -> tuple[Path, str]:
    """bgzip + tabix the file with Debian's tools, or pysam's."""
    gz = Path(f"{plain}.gz")
    if shutil.which("bgzip") and shutil.which("tabix"):
        subprocess.run(["bgzip", "-f", str(plain)], check=True)
        subprocess.run(["tabix", "-f", "-p", "vcf", str(gz)], check=True)
        return gz, "Debian bgzip + tabix"
    import pysam  # type: ignore[import-not-found]

    pysam.tabix_compress(str(plain), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    return gz, "pysam tabix_compress + tabix_index"


def pick_regions(n_regions: int, kb: int, seed: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    chrom = rng.choice(len(CHROM_MB), n_regions, p=CHROM_MB / CHROM_MB.sum())
    centre = (rng.uniform(0, 1, n_regions) * (CHROM_MB[chrom] * 10**6 - kb * 1000)).astype(int) + kb * 500
    return [f"{c + 1}:{max(x - kb * 500, 1)}-{x + kb * 500}" for c, x in zip(chrom, centre, strict=True)]


def task(method: str, path: str, regions: list[str]) -> dict[str, object]:
    """One method in this process: wall time, peak memory and a digest of the records read."""
    from musclecog.mr.gwas.vcf import Region, read_vcf, read_vcf_regions

    rs = [Region.parse(r) for r in regions]
    t0 = time.perf_counter()
    if method == "scan_one":
        reads = [r.table for r in read_vcf_regions(path, rs, index=False)]
    elif method == "scan_each":
        reads = [read_vcf(path, region=r, index=False).table for r in rs]
    elif method == "index_one":
        reads = [r.table for r in read_vcf_regions(path, rs, index=True)]
    elif method == "index_each":
        reads = [read_vcf(path, region=r, index=True).table for r in rs]
    elif method == "pysam":
        reads = _pysam_reads(path, rs)
    else:
        raise SystemExit(f"unknown method {method}")
    wall = time.perf_counter() - t0
    n = [t.num_rows for t in reads]
    digest = [float(np.nansum(t.column("beta").to_numpy(zero_copy_only=False))) for t in reads]
    return {"wall_s": wall, "peak_mb": _peak_mb(), "n": n, "digest": digest}


def _reset_peak() -> None:
    """Reset this process's peak RSS (Linux ``clear_refs`` 5): a child inherits its parent's at fork."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # pragma: no cover - not Linux: ru_maxrss includes the parent's peak
        pass


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pysam_reads(path: str, rs: list[object]) -> list[object]:
    """pysam's tabix fetch of each region's lines, then the same parsing as the own reader."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pysam  # type: ignore[import-not-found]

    from musclecog.mr.gwas import vcf as v

    header = v.read_vcf_header(path)
    sample = header.samples[0]
    out = []
    with pysam.TabixFile(path) as tf:
        for r in rs:
            lines = list(tf.fetch(r.chrom, (r.start or 1) - 1, r.end))  # type: ignore[attr-defined]
            buf = ("\n".join(lines) + "\n").encode() if lines else b""
            table = pacsv.read_csv(pa.BufferReader(buf), read_options=pacsv.ReadOptions(column_names=header.columns),
                                   parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
                                   convert_options=v._convert(sample)) if buf else v._empty(header, sample)
            table = table.filter(r.mask(table.column("#CHROM"), table.column("POS")))  # type: ignore[attr-defined]
            out.append(v._finish(Path(path), header, sample, table, 0, np.zeros(table.num_rows, np.int64), []).table)
    return out


def run(method: str, path: Path, regions: list[str]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, __file__, "--task", method, "--path", str(path),
                           "--region-list", json.dumps(regions)], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{method} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--regions", type=int, default=50)
    ap.add_argument("--kb", type=int, default=500)
    ap.add_argument("--per-region", type=int, default=3, help="regions timed for 'scan, per region' (scaled)")
    ap.add_argument("--keep", type=Path, help="build the file here (reused when present)")
    ap.add_argument("--task")
    ap.add_argument("--path")
    ap.add_argument("--region-list")
    args = ap.parse_args()
    if args.task:
        _reset_peak()
        print(json.dumps(task(args.task, args.path, json.loads(args.region_list))))
        return
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench_vcf_region_"))
    tmp.mkdir(parents=True, exist_ok=True)
    gz = tmp / f"gwas_{args.n}.vcf.gz"
    t0 = time.perf_counter()
    if not (gz.exists() and Path(f"{gz}.tbi").exists()):
        write_vcf(tmp / f"gwas_{args.n}.vcf", args.n)
        gz, tool = compress_and_index(tmp / f"gwas_{args.n}.vcf")
    else:
        tool = "reused"
    print(f"file: {gz} ({gz.stat().st_size / 2**20:.0f} MiB, {args.n:,} variants; built and indexed in "
          f"{time.perf_counter() - t0:.1f} s by {tool})")
    regions = pick_regions(args.regions, args.kb)
    results = {m: run(m, gz, regions) for m in ("index_one", "index_each", "scan_one")}
    each = run("scan_each", gz, regions[: args.per_region])
    scale = len(regions) / args.per_region
    results["scan_each"] = {**each, "wall_s": each["wall_s"] * scale}
    if importlib.util.find_spec("pysam") is not None:
        results["pysam"] = run("pysam", gz, regions)
    ref = results["index_one"]
    for m, r in results.items():
        k = len(r["n"])
        if r["n"] != ref["n"][:k] or not np.allclose(r["digest"], ref["digest"][:k]):
            raise SystemExit(f"{m} read different records from the indexed read")
    labels = {"index_one": "index, one call", "index_each": "index, per region", "scan_one": "scan, one call",
              "scan_each": f"scan, per region (x{scale:.0f} of {args.per_region})", "pysam": "pysam fetch + parse"}
    print(f"{args.regions} regions of {args.kb} kb, {sum(ref['n']):,} records read")
    print(f"{'method':<32} {'wall s':>8} {'peak MB':>8} {'x index':>8}")
    for m, r in results.items():
        print(f"{labels[m]:<32} {r['wall_s']:>8.3f} {r['peak_mb']:>8.0f} {r['wall_s'] / ref['wall_s']:>8.1f}")
    if not args.keep:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
