"""Write tests/data/mediation_reference.csv: the fixed data set of the lavaan reference tests.

Run from the repository root: ``.venv/bin/python tests/data/make_mediation_reference.py``. 300 rows;
x -> m1 -> m2 -> y with two covariates (cov1 numeric, cov2 0/1) and a binary outcome ybin.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20260301)
n = 300
cov1 = rng.normal(70, 6, n)
cov2 = (rng.random(n) < 0.4).astype(int)
x = 10 + 0.1 * (cov1 - 70) + rng.normal(0, 2.5, n)
m1 = 30 - 0.8 * x - 0.2 * (cov1 - 70) + 3 * cov2 + rng.normal(0, 4, n)
m2 = 0.5 + 0.01 * m1 - 0.01 * x + rng.normal(0, 0.1, n)
y = 20 + 0.05 * m1 + 4.0 * m2 - 0.15 * x - 0.05 * (cov1 - 70) + rng.normal(0, 1.5, n)
ybin = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.06 * (m1 - 22) - 0.1 * (x - 10))))).astype(int)
out = pd.DataFrame({"x": x, "m1": m1, "m2": m2, "y": y, "ybin": ybin, "cov1": cov1, "cov2": cov2}).round(6)
out.to_csv(Path(__file__).with_name("mediation_reference.csv"), index=False)
