"""Write tests/data/coloc_regions.csv: summary statistics of three traits over one 150-variant region.

Run once from the repository root: ``.venv/bin/python tests/data/make_coloc_reference.py``; then the
reference numbers come from R's coloc (``coloc.abf``, its sources at commit 50fe529 of
github.com/chr1swallace/coloc, as the Debian archive has no r-cran-coloc)::

    Rscript tests/data/coloc_reference.R <folder with coloc's R/ sources>

which writes tests/data/coloc_reference.csv (PP.H0-PP.H4 and nsnps per case) and
tests/data/coloc_reference_snp.csv (SNP.PP.H4 per variant).

2,000 people, genotypes drawn in LD blocks of 25 variants (a block's variants copy one founder haplotype
with per-variant error rates), then per-variant regressions: ``q1`` (continuous, y = 0.3 g_60 + e),
``cc2`` (case-control, logit P = -1 + 0.5 g_60: logistic regression, beta in log odds) share the causal
variant s60; ``q3`` (continuous, y = 0.3 g_110 + e) has another one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

OUT = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(20261203)
    n, m = 2000, 150
    haps = []
    for _block in range(m // 25):
        founder = rng.random(2 * n) < rng.uniform(0.15, 0.5)
        for e in rng.uniform(0.0, 0.3, 25):
            haps.append(founder ^ (rng.random(2 * n) < e))
    h = np.array(haps, dtype=float)
    g = h[:, 0::2] + h[:, 1::2]
    y1 = 0.3 * g[60] + rng.normal(0, 1, n)
    p2 = 1 / (1 + np.exp(-(-1 + 0.5 * g[60])))
    y2 = (rng.random(n) < p2).astype(float)
    y3 = 0.3 * g[110] + rng.normal(0, 1, n)
    rows = []
    for j in range(m):
        x = sm.add_constant(g[j])
        f1 = sm.OLS(y1, x).fit()
        f2 = sm.Logit(y2, x).fit(disp=0)
        f3 = sm.OLS(y3, x).fit()
        rows.append({
            "snp": f"s{j + 1}", "position": 1000 * (j + 1), "maf": min(g[j].mean() / 2, 1 - g[j].mean() / 2),
            "beta_q1": f1.params[1], "se_q1": f1.bse[1], "beta_cc2": f2.params[1], "se_cc2": f2.bse[1],
            "beta_q3": f3.params[1], "se_q3": f3.bse[1],
        })
    df = pd.DataFrame(rows)
    with open(OUT / "coloc_regions.csv", "w") as fh:
        fh.write(f"# n={n} sd_y1={float(y1.std(ddof=1))!r} sd_y3={float(y3.std(ddof=1))!r} case_fraction={float(y2.mean())!r}\n")
        df.to_csv(fh, index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
