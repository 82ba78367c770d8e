"""Benchmark: :func:`musclecog.plots.save_figure` against the way it wrote figures before (commit d7bb6d4).

Before, each figure was laid out once at 300 dpi for its tight box (``draw_without_rendering``), then every
file was ``savefig(bbox_inches=<the box>)``: the PNG a second, full Agg drawing, then the SVG. Now the PNG is
one Agg drawing whose renderer gives the tight box, cropped and written by ``encode_png`` (RGB when opaque), and the
SVG is ``savefig`` with that box (:func:`musclecog.plots.render_png`).

Figures: those of the default config's analyses (``config/config.yaml``, one figure each), fitted on its
synthetic cohorts with at most ``--n`` rows (default 3,000; 0: the configured sizes) and ``--bootstrap``
resamples (default 200; fewer rows or resamples change the numbers drawn, not the figures' make-up), each
written as PNG + SVG as rule ``fit_analysis`` does; and the four figures of an MR pair (98 simulated
instruments, as the default run's grip -> cognitive impairment pair), PNG only, as rule ``mr_figures``.

Every figure is drawn anew before each save (not timed). Old and new alternate figure by figure in this
process, ``--repeats`` times; per figure the least CPU time (``time.process_time``) and wall time over the
repeats are kept. Then one more pass per approach measures the memory a save needs: the peak resident
memory during the save (a thread samples it every 2 ms, :class:`bench_mr_pipeline.Stages`) less that at
its start (freed heap memory handed back to the OS first, ``malloc_trim``). Also printed per figure: the
PNG's size (new against old: at most 1 pixel apart) and how the new PNG was drawn (``once``; ``box``:
measured without drawing, then drawn at the box, for wrapped text, or a second drawing of a box past the
margins). Not included: the reproduction and triangulation figures (drawn from the run's tables).

Usage: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_figures.py [--n 3000] [--bootstrap 200]
[--repeats 3] [--only forest,trajectories]``. The machine may be shared: CPU times are the figures to
compare; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_mr_pipeline import Stages  # benchmarks/ is the script's folder

REPO = Path(__file__).resolve().parents[1]


def old_save_figure(fig: Any, *paths: str | Path) -> None:
    """``save_figure`` as of commit d7bb6d4: the tight box from a layout pass, then ``savefig`` per file."""
    import matplotlib.pyplot as plt

    from musclecog.plots import STYLE

    with plt.rc_context({**STYLE, "svg.fonttype": "none"}):
        fig.set_dpi(STYLE["savefig.dpi"])
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
        fig.set_dpi(STYLE["figure.dpi"])
        for p in paths:
            path = Path(p)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".png":
                fig.savefig(path, metadata={"Software": None}, bbox_inches=bbox, pil_kwargs={"compress_level": 1})
            else:
                fig.savefig(path, metadata={"Date": None}, bbox_inches=bbox)
    plt.close(fig)


def _harmonised(k: int, seed: int) -> pd.DataFrame:
    """A harmonised MR table of ``k`` instruments (continuous exposure, binary outcome), a tenth excluded."""
    rng = np.random.default_rng(seed)
    bx = rng.normal(0.02, 0.05, k)
    sx, sy = rng.uniform(0.003, 0.006, k), rng.uniform(0.01, 0.03, k)
    return pd.DataFrame({
        "SNP": [f"rs{1000 + i}" for i in range(k)], "effect_allele.exposure": "A", "other_allele.exposure": "G",
        "beta.exposure": bx, "se.exposure": sx, "eaf.exposure": 0.3, "pval.exposure": 1e-10,
        "samplesize.exposure": 300_000, "units.exposure": "SD", "beta.outcome": rng.normal(-0.2 * bx, sy),
        "se.outcome": sy, "eaf.outcome": 0.3, "pval.outcome": 0.5, "samplesize.outcome": 100_000,
        "ncase.outcome": 20_000.0, "ncontrol.outcome": 80_000.0, "units.outcome": "log odds",
        "prevalence.outcome": 0.15, "mr_keep": np.arange(k) % 10 != 4, "palindromic": False, "ambiguous": False,
    })


def figure_makers(n: int, bootstrap: int) -> dict[str, tuple[str, Callable[[], Any], tuple[str, ...]]]:
    """Name -> (figure kind, a function drawing the figure, the suffixes written), in the config's order."""
    from musclecog.analyses import analysis_cohort, run_analysis
    from musclecog.config import load_yaml
    from musclecog.core.spec import RunContext
    from musclecog.ingest import build_cohort
    from musclecog.mr.analysis import MRSettings, run_mr
    from musclecog.plots import draw
    from musclecog.plots.mr import _FIGURE_FUNCTIONS

    cfg = load_yaml((REPO / "config" / "config.yaml").read_text())
    data = {}
    for name, spec in cfg["cohorts"].items():
        sim = dict(spec["simulate"])
        sim["n"] = min(sim["n"], n) if n else sim["n"]
        data[name] = build_cohort(name, {**spec, "simulate": sim}, seed=1).data
    makers: dict[str, tuple[str, Callable[[], Any], tuple[str, ...]]] = {}
    for name, entry in cfg["analyses"].items():
        entry = {**entry, **({"bootstrap": bootstrap} if "bootstrap" in entry else {})}
        cohort = analysis_cohort(entry)
        context = RunContext(analysis=name, cohort=cohort, seed=1, survey=cfg["cohorts"][cohort].get("survey"))
        result = run_analysis(data[cohort], entry, context)
        makers[name] = (type(result).figure_kind, lambda r=result: draw(r), (".png", ".svg"))
    pair = run_mr(_harmonised(98, seed=4), MRSettings(nboot=200, presso_n_distribution=200), "grip",
                  "cognitive_impairment", seed=1)
    for name, fn in _FIGURE_FUNCTIONS.items():
        makers[f"mr_pair_{name}"] = ("mr_pair", lambda f=fn: f(pair), (".png",))
    return makers


def main() -> None:
    """Build the figures, time both writers, print the table and the totals with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="rows per synthetic cohort at most (0: as configured)")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated figure kinds (default: all)")
    args = parser.parse_args()

    from PIL import Image

    import musclecog.plots as plots

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc_trim = getattr(libc, "malloc_trim", lambda _pad: 0)

    def trim() -> None:
        """Hand freed heap memory back to the OS (glibc), so that the next save's growth is its own."""
        libc_trim(0)

    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    t0 = time.process_time()
    makers = figure_makers(args.n, args.bootstrap)
    if args.only:
        makers = {k: v for k, v in makers.items() if v[0] in args.only.split(",")}
    print(f"{len(makers)} figures from fitted results in {time.process_time() - t0:.1f} s CPU; "
          f"best of {args.repeats} repeats")
    draws: list[str] = []
    draw_box, encode_png = plots._draw_box, plots.encode_png
    encoding = {k: np.inf for k in makers}
    spent: list[float] = []

    def counted(*a: Any) -> Any:
        draws.append("box")
        return draw_box(*a)

    def timed(*a: Any) -> Any:
        c = time.process_time()
        out = encode_png(*a)
        spent.append(time.process_time() - c)
        return out

    plots._draw_box = counted  # count the PNGs drawn at their box (wrapped text, a box past the margins)
    plots.encode_png = timed  # CPU time of the PNG encoding
    writers = {"old": old_save_figure, "new": plots.save_figure}
    cpu = {w: {k: np.inf for k in makers} for w in writers}
    wall = {w: {k: np.inf for k in makers} for w in writers}
    how, sizes = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for name, (_kind, make, suffixes) in makers.items():
                for writer, save in writers.items():
                    fig = make()
                    paths = [Path(tmp) / writer / f"{name}{s}" for s in suffixes]
                    draws.clear()
                    spent.clear()
                    c, w = time.process_time(), time.perf_counter()
                    save(fig, *paths)
                    cpu[writer][name] = min(cpu[writer][name], time.process_time() - c)
                    wall[writer][name] = min(wall[writer][name], time.perf_counter() - w)
                    with Image.open(paths[0]) as im:
                        sizes[writer, name] = im.size
                    if writer == "new":
                        how[name] = "box" if draws else "once"
                        encoding[name] = min(encoding[name], sum(spent))
        stages = Stages()
        memory: dict[str, dict[str, float]] = {w: {} for w in writers}
        for name, (_kind, make, suffixes) in makers.items():
            for writer, save in writers.items():
                fig = make()
                trim()
                start = Stages._rss()
                with stages(f"{writer} {name}"):
                    save(fig, *[Path(tmp) / writer / f"{name}{s}" for s in suffixes])
                memory[writer][name] = (stages.rows[-1]["peak_gb"] * 1024**3 - start) / 2**20
    print(f"{'figure':<34} {'kind':<15} {'PNG px (new)':>12} {'old-new px':>10} {'old s':>6} {'new s':>6} "
          f"{'ratio':>5} {'old MB':>6} {'new MB':>6}  new PNG")
    for name, (kind, _make, _suffixes) in makers.items():
        (w1, h1), (w0, h0) = sizes["new", name], sizes["old", name]
        print(f"{name:<34} {kind:<15} {f'{w1}x{h1}':>12} {f'{w0 - w1:+d},{h0 - h1:+d}':>10} "
              f"{cpu['old'][name]:>6.3f} {cpu['new'][name]:>6.3f} {cpu['old'][name] / cpu['new'][name]:>5.2f} "
              f"{memory['old'][name]:>6.0f} {memory['new'][name]:>6.0f}  {how[name]}")
    for label, table in (("CPU", cpu), ("wall", wall)):
        old, new = sum(table["old"].values()), sum(table["new"].values())
        print(f"total {label} time: old {old:.2f} s, new {new:.2f} s, old / new {old / new:.2f}x "
              f"(saves {old - new:.2f} s over {len(makers)} figures)")
    print(f"of the new time, the PNG encoding (encode_png: filter 0, ISA-L deflate level 1): {sum(encoding.values()):.2f} s")
    old_mb, new_mb = max(memory["old"].values()), max(memory["new"].values())
    print(f"largest memory a save needed: old {old_mb:.0f} MB, new {new_mb:.0f} MB, new / old {new_mb / old_mb:.2f}x")
    print(f"new PNGs drawn once: {sum(v == 'once' for v in how.values())} of {len(how)}; "
          f"largest size difference from the old PNG: "
          f"{max(max(abs(a - b) for a, b in zip(sizes['old', k], sizes['new', k], strict=True)) for k in makers)} px")
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores, shared machine)")


if __name__ == "__main__":
    main()
