"""Benchmark of the two-sample MR estimator and sensitivity suite (``musclecog.mr.analysis.run_mr``).

Prints wall time and peak traced memory (tracemalloc: numpy allocations included) of

* the closed-form suite on ~100 instruments (IVW x3, MR-Egger, heterogeneity, pleiotropy, single-SNP,
  leave-one-out, Steiger) - target: well under a second;
* the bootstrap/simulation methods (medians, modes with 1000 draws, MR-PRESSO with 1000 data sets);
* the full default ``run_mr``;

and the speed-up over loop baselines run in the same process: the weighted-median bootstrap, the mode
bootstrap and the MR-PRESSO simulation written as one Python iteration per draw (as TwoSampleMR /
MRPRESSO do in R), and leave-one-out as one refit per variant.

Usage: ``.venv/bin/python benchmarks/bench_mr_estimators.py [n_instruments]``. The machine is shared;
numbers vary with its load.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from musclecog.mr import estimators as est
from musclecog.mr import sensitivity as sens
from musclecog.mr.analysis import MRSettings, run_mr
from musclecog.mr.presso import PressoSettings, _loo_slopes, mr_presso


def synthetic(k: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bx = rng.normal(0, 0.04, k) + 0.02 * np.sign(rng.normal(size=k))
    sy = rng.uniform(0.01, 0.02, k)
    by = rng.normal(0.3 * bx, sy)
    by[: k // 10] += 0.05
    return pd.DataFrame({
        "SNP": [f"rs{i}" for i in range(k)], "beta.exposure": bx, "se.exposure": np.full(k, 0.004),
        "beta.outcome": by, "se.outcome": sy, "eaf.exposure": 0.3, "eaf.outcome": 0.3,
        "samplesize.exposure": 400_000, "samplesize.outcome": 200_000, "mr_keep": True,
    })


def measure(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float]:
    """Best wall time of ``repeat`` runs (s) and peak traced memory of one run (MB)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return best, peak


def closed_form(h: pd.DataFrame) -> None:
    a = [h[c].to_numpy(float) for c in ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome")]
    for model in ("default", "mre", "fe"):
        est.ivw(*a, model=model)
    est.egger(*a)
    sens.heterogeneity(*a)
    sens.pleiotropy(*a)
    sens.single_snp(h["SNP"], *a)
    sens.leave_one_out(h["SNP"], *a)
    sens.directionality(h)


def loop_median_bootstrap(bx, by, sx, sy, w, nboot, rng):
    out = np.empty(nboot)
    for i in range(nboot):
        out[i] = est.weighted_median_point(rng.normal(by, sy) / rng.normal(bx, sx), w)[0]
    return np.std(out, ddof=1)


def loop_mode_bootstrap(b_iv, se, nboot, rng):
    out = np.empty(nboot)
    for i in range(nboot):
        out[i] = est._mode_point(rng.normal(b_iv, se), se, 1.0)[0]
    return out


def loop_presso(bx, by, sx, sy, nd, rng):  # baseline: one LOO refit per variant and draw
    w = 1 / sy**2
    k = bx.size

    def rss(x: np.ndarray, y: np.ndarray) -> float:
        total = 0.0
        for i in range(k):
            keep = np.arange(k) != i
            b = np.sum(w[keep] * x[keep] * y[keep]) / np.sum(w[keep] * x[keep] ** 2)
            total += w[i] * (y[i] - b * x[i]) ** 2
        return total

    loo = _loo_slopes(bx, by, w)
    obs = rss(bx, by)
    return np.mean([rss(rng.normal(bx, sx), rng.normal(loo * bx, sy)) > obs for _ in range(nd)])


def main(k: int = 100) -> None:
    h = synthetic(k)
    bx, by, sx, sy = (h[c].to_numpy(float) for c in ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome"))
    rng = np.random.default_rng(2)
    w = 1 / (sy**2 / bx**2 + by**2 * sx**2 / bx**4)
    rows = []

    def add(name: str, fn: Callable[[], Any], baseline: Callable[[], Any] | None = None) -> None:
        t, mem = measure(fn)
        tb = measure(baseline, repeat=1)[0] if baseline is not None else np.nan
        rows.append({"task": name, "seconds": t, "peak_MB": mem, "baseline_s": tb, "speedup": tb / t})

    add("closed-form suite (IVW x3, Egger, Q/Q', pleiotropy, single SNP, LOO, Steiger)", lambda: closed_form(h))
    add("leave-one-out (vectorised vs refit per variant)", lambda: sens.leave_one_out(h["SNP"], bx, by, sx, sy),
        lambda: [est.ivw(np.delete(bx, i), np.delete(by, i), np.delete(sx, i), np.delete(sy, i)) for i in range(k)])
    add("weighted median + 1000 bootstrap draws",
        lambda: est.median_estimates(bx, by, sx, sy, which=("weighted_median",), rng=rng),
        lambda: loop_median_bootstrap(bx, by, sx, sy, w, 1000, rng))
    b_iv, se_iv = by / bx, np.sqrt(1 / w)
    add("weighted mode + 1000 bootstrap draws",
        lambda: est.mode_estimates(bx, by, sx, sy, which=("weighted_mode",), rng=rng),
        lambda: loop_mode_bootstrap(b_iv, se_iv, 1000, rng))
    add("MR-PRESSO, 1000 simulated data sets", lambda: mr_presso(bx, by, sx, sy, settings=PressoSettings(n_distribution=1000), rng=rng),
        lambda: loop_presso(bx, by, sx, sy, 100, rng) if k <= 200 else None)
    if np.isfinite(rows[-1]["baseline_s"]):  # the loop baseline ran 100 data sets: scale to 1000
        rows[-1]["baseline_s"] *= 10
        rows[-1]["speedup"] = rows[-1]["baseline_s"] / rows[-1]["seconds"]
    add("run_mr, default methods (10 estimators incl. bootstraps and MR-PRESSO)",
        lambda: run_mr(h, MRSettings(), "x", "y", seed=1))
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_colwidth", 90, "display.float_format", "{:.4g}".format):
        print(f"MR estimator benchmark: {k} instruments (machine shared; best of 3 runs, baselines once)")
        print(out.to_string(index=False))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
