"""Benchmark: genome-wide two-sample MR from raw GWAS files, musclecog against its peers in the same run.

Test files: two GWAS Catalog-style (GWAS-SSF columns) gzip TSV files of ``--variants`` variants each (default
5,000,000; 10,000,000 with ``--variants 10000000``), the simulated grip strength / cognitive impairment pair of
:mod:`musclecog.simulate.gwas` (about 100 + 20 causal loci, each with a few variants in LD: a few hundred
genome-wide significant instruments), written once to ``--dir`` (never committed). Tasks, each in its own process:

(a) ``musclecog``: the Snakemake workflow of the repository (``--repo``, default this checkout) on a small config
    (the two files as ``gwas:`` traits, one ``mr:`` entry with ``bidirectional: true`` and ``steiger_filter:
    true``, default ``mr_settings``: the full estimator and sensitivity suite with 1000 bootstraps and MR-PRESSO
    1000), ``--cores 2``, targets the pair outputs of both directions (tables and figures): the rules
    ``standardise_gwas`` (x2), ``mr_pair`` (x2) and ``mr_figures`` (x1, the figures of both pairs) run from the
    raw files.
(a') ``musclecog, new pair``: the same results folder with the grip -> cognitive impairment entry at
    ``p_threshold: 1e-10``: only its ``mr_pair`` job runs (its tables; its figures come from the next
    ``mr_figures`` job), on the standardised files (wall time of Snakemake, and of the job itself from its
    ``benchmark:`` file).
(b) ``pandas``: ``read_csv`` of both files and ``merge`` on ``variant_id`` (no checks, no harmonisation).
(c) ``duckdb``: ``read_csv`` of both files joined on ``variant_id`` in one query, fetched as an arrow table.
(d) ``genal``: genal-python (``Geno`` of each ``read_csv`` frame, ``preprocess_data("Fill_delete")`` without
    reference-panel filling, p <= 5e-8 without clumping (genal clumps with plink and a 1000 Genomes panel,
    not available offline), ``query_outcome`` without proxies, ``MR`` with its default methods, both
    directions.

(c) and (d) run with ``--peers-python`` (a venv with ``benchmarks/requirements-peers.txt``; default
``/tmp/genal-venv/bin/python``); without it they are skipped and said so. Per task: wall time of its process
(start-up included), its CPU time (all processes and threads: less sensitive than wall time to other users of a
shared machine), peak resident memory (``ru_maxrss`` of the task's own process tree: the largest process,
e.g. one Snakemake job) and the ratio to duckdb. The machine may be shared: the load average is printed with
every figure. Usage::

    .venv/bin/python benchmarks/bench_mr_genomewide.py [--variants 10000000] [--dir DIR] [--repo CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TRAITS = ("grip", "cognitive_impairment")
PAIR = "grip__cognitive_impairment"
LAST = {"duckdb": "8.5-11.3 s, 2.67 GB (duckdb 2.0.0)", "genal": "35.5-37.2 s, 2.57 GB (genal-python 1.7.0)"}
"""The peers' last committed figures, printed when their venv is absent."""


def _files(workdir: Path, variants: int) -> dict[str, Path]:
    return {t: workdir / f"{t}_{variants}.tsv.gz" for t in TRAITS}


def _generate(workdir: Path, variants: int) -> None:
    from musclecog.simulate.gwas import simulate_grip_cognition, write_gwas_table

    files = _files(workdir, variants)
    if all(p.exists() for p in files.values()):
        return
    pair = simulate_grip_cognition(2026, n_variants=variants)
    for t, path in files.items():
        write_gwas_table(pair.tables[t], path)


def _config(workdir: Path, variants: int, p_threshold: float | None = None) -> Path:
    files = _files(workdir, variants)
    entry: dict[str, object] = {"exposure": "grip", "outcome": "cognitive_impairment", "bidirectional": True,
                                "steiger_filter": True}
    if p_threshold is not None:
        entry["p_threshold"] = p_threshold
    cfg = {
        "seed": 20261125,
        "cohorts": {"liao": {"simulate": {"design": "liao", "n": 245}}},
        "gwas": {
            "grip": {"path": str(files["grip"]), "units": "SD", "build": "GRCh37"},
            "cognitive_impairment": {"path": str(files["cognitive_impairment"]), "type": "binary",
                                     "prevalence": 0.15, "build": "GRCh37"},
        },
        "mr": {PAIR: entry},
    }
    path = workdir / f"config_{variants}{'' if p_threshold is None else '_second'}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _snakemake(repo: Path, config: Path, results: Path, targets: list[str], *extra: str) -> list[str]:
    snakemake = Path(sys.executable).with_name("snakemake")
    return [str(snakemake), "--nolock", "--cores", "2", "--snakefile", str(repo / "Snakefile"), "--directory",
            str(repo), "--configfile", str(config), *extra, "--config", f"results_dir={results}",
            "allow_outside=True", "--", *targets]


PANDAS = """
import sys, pandas as pd
a, b = (pd.read_csv(p, sep="\\t") for p in sys.argv[1:3])
m = a.merge(b, on="variant_id", suffixes=(".exposure", ".outcome"))
print(len(m))
"""

DUCKDB = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
rel = con.execute(
    "SELECT * FROM read_csv(?, delim = '\\t', header = true) AS e "
    "JOIN read_csv(?, delim = '\\t', header = true) AS o USING (variant_id)", [sys.argv[1], sys.argv[2]]
)
t = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()
print(t.num_rows)
"""

GENAL = """
import contextlib, io, sys, pandas as pd, genal
cols = dict(CHR="chromosome", POS="base_pair_location", SNP="variant_id", EA="effect_allele", NEA="other_allele",
            BETA="beta", SE="standard_error", P="p_value", EAF="effect_allele_frequency")
geno = {}
with contextlib.redirect_stdout(io.StringIO()):
    for name, path in zip(("grip", "cognitive_impairment"), sys.argv[1:3]):
        g = genal.Geno(pd.read_csv(path, sep="\\t"), **cols)
        g.preprocess_data(preprocessing="Fill_delete", fill_snpids=False, fill_coordinates=False)
        g.name = name
        geno[name] = g
    n = []
    for e, o in (("grip", "cognitive_impairment"), ("cognitive_impairment", "grip")):
        inst = geno[e].copy(geno[e].data[geno[e].data["P"] <= 5e-8])
        inst.query_outcome(geno[o], proxy=False)
        res = inst.MR(nboot=1000, seed=1)
        n.append(len(res))
print(n)
"""


def _measure(cmd: list[str], env: dict[str, str]) -> dict[str, float | str]:
    """Run ``cmd`` in a fresh child of this process: its wall time and peak RSS (the largest process of its tree)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_gb": usage.ru_maxrss / 1024**2,
            "out": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""}


def _task(label: str, cmd: list[str], env: dict[str, str]) -> dict[str, float | str]:
    """Measure ``cmd`` through a fresh Python process, so that ``RUSAGE_CHILDREN`` sees this task only."""
    out = subprocess.run([sys.executable, __file__, "--measure", json.dumps(cmd)], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["load"] = os.getloadavg()[0]
    print(f"  {label}: {row['wall_s']:.2f} s, {row['cpu_s']:.1f} s CPU, {row['peak_gb']:.2f} GB, "
          f"load {row['load']:.2f}", flush=True)
    return row


def _with_src(env: dict[str, str], repo: Path) -> dict[str, str]:
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo / "src"), os.environ.get("PYTHONPATH")]))}


def _job_seconds(results: Path, pair: str) -> float:
    lines = (results / "benchmarks" / "mr" / f"{pair}.tsv").read_text().splitlines()
    return float(lines[1].split("\t")[0])


def _job_notes(results: Path) -> str:
    """Each job's wall time from its Snakemake ``benchmark:`` file."""
    jobs = {f"std {t}": results / "benchmarks" / "gwas" / f"{t}.standardise.tsv" for t in TRAITS}
    jobs.update({f"mr {p.split('__')[0]}": results / "benchmarks" / "mr" / f"{p}.tsv"
                 for p in (PAIR, "cognitive_impairment__grip")})
    jobs["figures"] = results / "benchmarks" / "mr" / "figures.tsv"  # rule mr_figures (not in older checkouts)
    return "jobs " + ", ".join(f"{k} {float(v.read_text().splitlines()[1].split()[0]):.1f}" for k, v in jobs.items()
                               if v.exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=5_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mr_genomewide"))
    parser.add_argument("--repo", type=Path, action="append",
                        help="musclecog checkout to run (its Snakefile and src/; default this one); repeat the flag to "
                             "compare checkouts (e.g. before / after a change) in the same run")
    parser.add_argument("--peers-python", type=Path, default=Path("/tmp/genal-venv/bin/python"))
    parser.add_argument("--skip", default="", help="comma-separated tasks to skip (pandas, duckdb, genal)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        args.dir.mkdir(parents=True, exist_ok=True)
        _generate(args.dir, args.variants)
        return
    if args.measure:
        env = dict(os.environ)
        print(json.dumps(_measure(json.loads(args.measure), env)))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    repos = [r.resolve() for r in (args.repo or [REPO])]
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--generate", "--dir", str(args.dir), "--variants", str(args.variants)],
                   env=_with_src(env, repos[-1]), check=True)
    files = [str(p) for p in _files(args.dir, args.variants).values()]
    print(f"{args.variants:,} variants per file in {args.dir} ({time.perf_counter() - t0:.1f} s to generate or "
          f"find); {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    skip = set(filter(None, args.skip.split(",")))
    peers = args.peers_python if args.peers_python.exists() else None
    rows: dict[str, dict] = {}
    for repo in repos:
        tag = f" [{repo}]" if len(repos) > 1 else ""
        renv = _with_src(env, repo)
        results = args.dir / f"results_{args.variants}_{repo.name}"
        subprocess.run(["rm", "-rf", str(results)], check=True)
        targets = [str(results / "mr" / p / "estimates.tsv") for p in (PAIR, "cognitive_impairment__grip")]
        figures = [str(results / "mr" / p / f"{f}.png") for p in (PAIR, "cognitive_impairment__grip")
                   for f in ("scatter", "forest", "funnel", "leave_one_out_plot")]
        label = f"musclecog (snakemake, both directions){tag}"
        rows[label] = _task(label, _snakemake(repo, _config(args.dir, args.variants), results, targets + figures),
                            renv)
        rows[label]["note"] = _job_notes(results)
        second = _config(args.dir, args.variants, p_threshold=1e-10)
        label = f"musclecog new pair (snakemake, standardised){tag}"
        row = _task(label, _snakemake(repo, second, results, targets[:1], "--forcerun", "mr_pair"), renv)
        row["note"] = f"job {_job_seconds(results, PAIR):.2f} s"
        rows[label] = row
    if "pandas" not in skip:
        label = "pandas read_csv + merge"
        rows[label] = _task(label, [sys.executable, "-c", PANDAS, *files], env)
    for name, code in (("duckdb", DUCKDB), ("genal", GENAL)):
        if name in skip:
            continue
        if peers is None:
            print(f"{name}: skipped, no {args.peers_python} (pip install -r benchmarks/requirements-peers.txt); last "
                  f"measured on the 2-core machine (docs/mr_data.md, Speed), 5 M variants: {LAST[name]}")
            continue
        label = "duckdb read_csv + join" if name == "duckdb" else "genal-python (no clumping, both directions)"
        rows[label] = _task(label, [str(peers), "-c", code, *files], {**env, "PYTHONPATH": ""})
    ref = next((r for k, r in rows.items() if k.startswith("duckdb")), None)
    width = max(len(k) for k in rows) + 2
    print(f"\n{'task':<{width}}{'wall (s)':>9}{'cpu (s)':>8}{'peak (GB)':>10}{'x duckdb':>9}{'load':>6}  note")
    for name, r in rows.items():
        ratio = f"{r['wall_s'] / ref['wall_s']:.2f}" if ref else "-"
        print(f"{name:<{width}}{r['wall_s']:>9.2f}{r['cpu_s']:>8.1f}{r['peak_gb']:>10.2f}{ratio:>9}{r['load']:>6.2f}  {r.get('note', '')}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
