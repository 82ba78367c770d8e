"""Write the small synthetic LD reference panel tests/data/ld_panel.{bed,bim,fam} and PLINK 1.9's LD for it.

Run once from the repository root: ``.venv/bin/python tests/data/make_ld_proxy_panel.py`` (needs plink1.9).
It writes the panel, then runs::

    plink1.9 --bfile tests/data/ld_panel --keep-allele-order --r2 in-phase --ld-window 99999 \
        --ld-window-kb 99999 --ld-window-r2 0 --out tests/data/ld_panel_r2
    plink1.9 --bfile tests/data/ld_panel --keep-allele-order --r --ld-window 99999 --ld-window-kb 99999 \
        --ld-window-r2 0 --out tests/data/ld_panel_r
    plink1.9 --bfile tests/data/ld_panel --keep-allele-order --freq --out tests/data/ld_panel_freq

and keeps ``ld_panel_r2.ld`` (r^2 and the in-phase alleles), ``ld_panel_r.ld`` (signed r) and
``ld_panel_freq.frq`` (A1 frequencies); the tests (tests/unit/test_mr_proxies.py) compare
musclecog.mr.proxies against them and never run PLINK.

The panel: 300 people, chromosome 1, haplotypes drawn in LD blocks (a block's variants copy one founder
haplotype with a per-variant error rate) and 1% of genotypes missing:

* block A (1.00-1.10 Mb): rsA0 the target; rsA1 (error 2%), rsA2 (6%) and rsA3 (25%) proxies of decreasing r^2;
* block B (2.00-2.10 Mb): rsB0 the target; rsB1 carries the founder's *other* allele as A1 (r < 0: the proxy's
  alleles are swapped relative to the target's phase), error 2%;
* block C (3.00-3.10 Mb): rsC0 the target (frequency 0.15); rsC1 a palindromic (A/T) proxy, error 1%;
* block D (4.00-4.10 Mb): rsD0 the target; rsD1, rsD2 weak proxies only (error 30%, 40%);
* block E (9.00 Mb): rsE0 a palindromic target with a palindromic proxy rsE1 (G/C) at frequency 0.4;
* five independent variants rsI0-rsI4.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent
N = 300


def _haplotypes(rng: np.random.Generator, freq: float, errors: list[float]) -> list[np.ndarray]:
    founder = rng.random(2 * N) < freq
    return [founder ^ (rng.random(2 * N) < e) for e in errors]


def panel() -> tuple[list[tuple[str, int, str, str]], np.ndarray]:
    """(SNP, position, A1, A2) per variant and the A1 counts (variants x people, -1 missing)."""
    rng = np.random.default_rng(20261203)
    variants: list[tuple[str, int, str, str]] = []
    haps: list[np.ndarray] = []

    def block(name: str, start: int, freq: float, errors: list[float], alleles: list[tuple[str, str]],
              invert: tuple[int, ...] = ()) -> None:
        for k, h in enumerate(_haplotypes(rng, freq, errors)):
            variants.append((f"rs{name}{k}", start + 10_000 * k, *alleles[k]))
            haps.append(~h if k in invert else h)

    block("A", 1_000_000, 0.35, [0.0, 0.02, 0.06, 0.25], [("A", "G"), ("C", "T"), ("G", "A"), ("T", "C")])
    block("B", 2_000_000, 0.40, [0.0, 0.02], [("A", "C"), ("G", "T")], invert=(1,))
    block("C", 3_000_000, 0.15, [0.0, 0.01], [("C", "T"), ("A", "T")])
    block("D", 4_000_000, 0.30, [0.0, 0.30, 0.40], [("A", "G"), ("C", "A"), ("T", "G")])
    block("E", 9_000_000, 0.40, [0.0, 0.02], [("A", "T"), ("G", "C")])
    for k in range(5):
        f = rng.uniform(0.1, 0.5)
        variants.append((f"rsI{k}", 20_000_000 + 1_000_000 * k, "A", "G"))
        haps.append(rng.random(2 * N) < f)
    h = np.array(haps, dtype=np.int64)
    counts = h[:, 0::2] + h[:, 1::2]
    counts[rng.random(counts.shape) < 0.01] = -1
    return variants, counts


def write_bfile(prefix: Path, variants: list[tuple[str, int, str, str]], counts: np.ndarray) -> None:
    """SNP-major .bed: 2 bits per person, 00 = two copies of A1, 10 = one, 11 = none, 01 = missing."""
    code = {2: 0b00, 1: 0b10, 0: 0b11, -1: 0b01}
    n = counts.shape[1]
    with open(f"{prefix}.bed", "wb") as fh:
        fh.write(bytes([0x6C, 0x1B, 0x01]))
        for g in counts:
            c = np.zeros(((n + 3) // 4) * 4, np.uint8)
            c[:n] = [code[int(x)] for x in g]
            fh.write((c[0::4] | (c[1::4] << 2) | (c[2::4] << 4) | (c[3::4] << 6)).astype(np.uint8).tobytes())
    with open(f"{prefix}.bim", "w") as fh:
        for snp, pos, a1, a2 in variants:
            fh.write(f"1\t{snp}\t0\t{pos}\t{a1}\t{a2}\n")
    with open(f"{prefix}.fam", "w") as fh:
        for i in range(n):
            fh.write(f"f{i} i{i} 0 0 {1 + i % 2} -9\n")


def main() -> None:
    variants, counts = panel()
    prefix = OUT / "ld_panel"
    write_bfile(prefix, variants, counts)
    common = ["--bfile", str(prefix), "--keep-allele-order", "--ld-window", "99999", "--ld-window-kb", "99999",
              "--ld-window-r2", "0", "--allow-no-sex"]
    subprocess.run(["plink1.9", *common, "--r2", "in-phase", "--out", str(OUT / "ld_panel_r2")], check=True)
    subprocess.run(["plink1.9", *common, "--r", "--out", str(OUT / "ld_panel_r")], check=True)
    subprocess.run(["plink1.9", "--bfile", str(prefix), "--keep-allele-order", "--freq", "--allow-no-sex",
                    "--out", str(OUT / "ld_panel_freq")], check=True)
    for junk in OUT.glob("ld_panel_*"):
        if junk.suffix in (".log", ".nosex"):
            junk.unlink()


if __name__ == "__main__":
    main()
