"""Benchmark of the cross-sectional analyses on a 500,000-row UK Biobank-style cohort.

1. ``regression``: 10 outcomes (reaction time, fluid intelligence, prospective memory and 7 further
   continuous/binary outcomes) x (crude, adjusted for age, sex, education, centre) = 20 linear/logistic
   fits with BH FDR, through ``musclecog.crosssectional.fit_regression`` (target: < 30 s, < 4 GB);
   baseline: the same 20 fits with plain statsmodels ``OLS``/``Logit`` on prebuilt numpy design matrices.
2. ``survey``: a survey-weighted linear regression (svyglm) on 500,000 rows with 500 strata x 2 PSUs
   (1,000 PSUs) (target: < 10 s); baseline: statsmodels ``WLS`` with cluster-robust (PSU) covariance,
   the nearest plain statsmodels call (it ignores strata).

Each part runs in its own subprocess, which reports its wall time and peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``). Run: ``.venv/bin/python benchmarks/bench_crosssectional.py``.
The data generation is timed separately and not included in the analysis times.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

N = 500_000


def _cohort() -> tuple[Any, float]:
    import numpy as np

    from musclecog.simulate import simulate

    t0 = time.perf_counter()
    d = simulate("ukb", n=N, seed=7, params={"repeat_fraction": 0.0}).data
    rng = np.random.default_rng(1)
    base = (d["grip_kg"] - d["grip_kg"].mean()) / d["grip_kg"].std()
    for j in range(4):
        d[f"extra_cont_{j}"] = 0.05 * j * base + 0.01 * d["age"] + rng.standard_normal(N)
    for j in range(3):
        p = 1 / (1 + np.exp(-(-0.5 + 0.1 * j * base)))
        d[f"extra_bin_{j}"] = (rng.random(N) < p).astype(np.int8)
    return d, time.perf_counter() - t0


OUTCOMES = (
    ["reaction_time_ms", "fluid_intelligence", "prospective_memory"]
    + [f"extra_cont_{j}" for j in range(4)]
    + [f"extra_bin_{j}" for j in range(3)]
)
ADJ = ["age", "sex", "education", "centre"]


def part_regression() -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm

    from musclecog.core.spec import RunContext, spec_from_config
    from musclecog.crosssectional import RegressionSpec, fit_regression

    d, gen = _cohort()
    entry = {
        "outcomes": OUTCOMES,
        "exposure": "grip_kg",
        "exposure_per": "sd",
        "models": {"crude": [], "adjusted": ADJ},
    }
    t0, c0 = time.perf_counter(), time.process_time()
    spec = spec_from_config(RegressionSpec, entry, RunContext("bench", "ukb", 1))
    table = fit_regression(d, spec).to_tidy()
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    # baseline: plain statsmodels on prebuilt design matrices (no model-frame building counted)
    z = ((d["grip_kg"] - d["grip_kg"].mean()) / d["grip_kg"].std()).to_numpy()
    dummies = pd.get_dummies(d[["sex", "education", "centre"]], drop_first=True, dtype=float).to_numpy()
    designs = {
        "crude": np.column_stack([np.ones(N), z]),
        "adjusted": np.column_stack([np.ones(N), z, d["age"], dummies]),
    }
    t0, c0 = time.perf_counter(), time.process_time()
    for x in designs.values():
        for y in OUTCOMES:
            v = d[y].to_numpy(float)
            if set(np.unique(v)) <= {0.0, 1.0}:
                sm.Logit(v, x).fit(disp=0)
            else:
                sm.OLS(v, x).fit()
    base, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "generate_s": gen,
        "ours_cpu": ours_cpu,
        "base_cpu": base_cpu,
        "ours_s": ours,
        "statsmodels_s": base,
        "rows": len(table),
        "fits": 2 * len(OUTCOMES),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def part_survey() -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm

    from musclecog.core.spec import RunContext, spec_from_config
    from musclecog.crosssectional import RegressionSpec, fit_regression

    d, gen = _cohort()
    rng = np.random.default_rng(2)
    d["strata"] = rng.integers(0, 500, N)
    d["psu"] = rng.integers(1, 3, N)
    d["w"] = rng.uniform(0.5, 3.0, N)
    entry = {"outcome": "reaction_time_ms", "exposure": "grip_kg", "covariates": ["age", "sex", "education"]}
    ctx = RunContext("bench", "ukb", 1, survey={"weight": "w", "strata": "strata", "psu": "psu"})
    spec = spec_from_config(RegressionSpec, entry, ctx)
    t0, c0 = time.perf_counter(), time.process_time()
    table = fit_regression(d, spec).to_tidy()
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    x = np.column_stack(
        [
            np.ones(N),
            d["grip_kg"],
            d["age"],
            pd.get_dummies(d[["sex", "education"]], drop_first=True, dtype=float).to_numpy(),
        ]
    )
    groups = d["strata"].to_numpy() * 2 + d["psu"].to_numpy()
    t0, c0 = time.perf_counter(), time.process_time()
    sm.WLS(d["reaction_time_ms"].to_numpy(float), x, weights=d["w"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    base, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "generate_s": gen,
        "ours_cpu": ours_cpu,
        "base_cpu": base_cpu,
        "ours_s": ours,
        "statsmodels_s": base,
        "psus": 1000,
        "se": float(table["std_error"].iloc[0]),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    if len(sys.argv) > 1:
        print(json.dumps({"regression": part_regression, "survey": part_survey}[sys.argv[1]]()))
        return
    for part, limit in (("regression", 30.0), ("survey", 10.0)):
        out = subprocess.run([sys.executable, __file__, part], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{part:10s}: musclecog {r['ours_s']:.2f} s wall / {r['ours_cpu']:.2f} s CPU "
            f"(target < {limit:.0f} s), plain statsmodels {r['statsmodels_s']:.2f} s wall / "
            f"{r['base_cpu']:.2f} s CPU, ratio {r['ours_s'] / r['statsmodels_s']:.2f} (wall); "
            f"peak memory {r['peak_mb']:.0f} MB (whole process, incl. the {N:,}-row cohort generated in "
            f"{r['generate_s']:.1f} s)"
        )


if __name__ == "__main__":
    main()
