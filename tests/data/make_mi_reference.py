"""Write tests/data/mi_imputations.csv: five imputations of one data set with a partly missing exposure.

Run once: ``python tests/data/make_mi_reference.py``; the R reference is tests/data/mi_pool_reference.R.
The exposure grip_kg is missing for 30% of people; each imputation fills it from a regression on age and
dsst plus noise (a proper-looking imputation, so the between-imputation variance is realistic).
"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261203)
n, m = 150, 5
age = rng.uniform(60, 85, n).round(1)
grip = 55 - 0.35 * age + rng.normal(0, 5, n)
dsst = 40 + 0.45 * grip - 0.2 * age + rng.normal(0, 6, n)
impaired = (rng.random(n) < 1 / (1 + np.exp(-(2.5 - 0.12 * grip)))).astype(int)
missing = rng.random(n) < 0.3
rows = []
for k in range(1, m + 1):
    g = grip.copy()
    g[missing] = (55 - 0.35 * age[missing] + 0.1 * (dsst[missing] - 40) + rng.normal(0, 5, missing.sum()))
    rows.append(pd.DataFrame({"imputation": k, "id": np.arange(1, n + 1), "age": age, "grip_kg": g.round(3),
                              "dsst": dsst.round(2), "impaired": impaired}))
pd.concat(rows).to_csv("tests/data/mi_imputations.csv", index=False)
