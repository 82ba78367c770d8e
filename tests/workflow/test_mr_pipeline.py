"""End-to-end MR rules on a small synthetic config: one standardise job per trait shared by both directions,
the review's grip <-> cognitive-impairment effects recovered, byte-identical tables on a rerun, and clear start-up
errors (genome builds that differ, an unknown pair key) with nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PAIRS = ("grip__cognitive_impairment", "cognitive_impairment__grip")


def _config(tmp_path: Path, **mr_extra) -> Path:
    cfg = {
        "seed": 20261125,
        "cohorts": {"liao": {"simulate": {"design": "liao", "n": 245}}},
        "gwas": {
            "grip": {"simulate": {"design": "gwas_grip", "n_variants": 60000}, "units": "SD", "build": "GRCh37"},
            "cognitive_impairment": {"simulate": {"design": "gwas_cognitive_impairment", "n_variants": 60000},
                                     "type": "binary", "prevalence": 0.15, "build": "GRCh37"},
        },
        "mr": {"grip__cognitive_impairment": {"exposure": "grip", "outcome": "cognitive_impairment",
                                              "bidirectional": True, "steiger_filter": True,
                                              "settings": {"nboot": 100, "presso_n_distribution": 100}, **mr_extra}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(config: Path, results: Path, *targets: str) -> subprocess.CompletedProcess:
    cmd = [str(SNAKEMAKE), "--nolock", "--cores", "2", "--configfile", str(config),
           "--config", f"results_dir={results}", "allow_outside=True", "--", *targets]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONHASHSEED": "0"})


@pytest.mark.slow
def test_bidirectional_pair_runs_and_is_reproducible(tmp_path):
    cfg = _config(tmp_path)
    runs = []
    for name in ("a", "b"):
        results = tmp_path / name
        targets = [str(results / "mr" / p / name) for p in PAIRS for name in ("estimates.tsv", "scatter.png")]
        proc = _run(cfg, results, *targets)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(results)
    # one job per synthetic trait (simulated, then standardised), reused by both pair jobs; one figure job
    assert sorted(p.name for p in (runs[0] / "benchmarks" / "gwas").glob("*.tsv")) == [
        "cognitive_impairment.simulate.tsv", "grip.simulate.tsv"]
    assert all((runs[0] / "logs" / "gwas" / f"{t}.standardise.log").is_file() for t in ("grip", "cognitive_impairment"))
    assert sorted(p.name for p in (runs[0] / "benchmarks" / "mr").glob("*.tsv")) == sorted(
        [f"{p}.tsv" for p in PAIRS] + ["figures.tsv"])
    for pair in PAIRS:
        for table in ("estimates", "harmonised", "flow", "heterogeneity", "leave_one_out"):
            a = (runs[0] / "mr" / pair / f"{table}.tsv").read_bytes()
            assert a == (runs[1] / "mr" / pair / f"{table}.tsv").read_bytes(), (pair, table)
        for fig in ("scatter", "forest", "funnel", "leave_one_out_plot"):
            png = (runs[0] / "mr" / pair / f"{fig}.png").read_bytes()
            assert png.startswith(b"\x89PNG") and png == (runs[1] / "mr" / pair / f"{fig}.png").read_bytes()
    truth = {"grip__cognitive_impairment": np.log(0.93), "cognitive_impairment__grip": np.log(0.878)}
    for pair, value in truth.items():
        est = pd.read_csv(runs[0] / "mr" / pair / "estimates.tsv", sep="\t")
        ivw = est.query("method == 'Inverse variance weighted' and scale == 'beta'").iloc[0]
        assert ivw.conf_low < value < ivw.conf_high, (pair, ivw.estimate)
        harmonised = pd.read_csv(runs[0] / "mr" / pair / "harmonised.tsv", sep="\t")
        assert {"palindromic", "ambiguous", "mr_keep", "harmonise_reason"} <= set(harmonised.columns)
        flow = pd.read_csv(runs[0] / "mr" / pair / "flow.tsv", sep="\t")
        assert "approximation" in " ".join(flow["reason"])


@pytest.mark.slow
def test_bad_config_stops_before_any_job(tmp_path):
    cfg = _config(tmp_path)
    data = yaml.safe_load(cfg.read_text())
    data["gwas"]["cognitive_impairment"]["build"] = "GRCh38"
    cfg.write_text(yaml.safe_dump(data))
    proc = _run(cfg, tmp_path / "r", str(tmp_path / "r" / "mr" / PAIRS[0] / "estimates.tsv"))
    assert proc.returncode != 0
    assert "different genome builds" in proc.stderr + proc.stdout
    assert not (tmp_path / "r" / "mr").exists()
    data["gwas"]["cognitive_impairment"]["build"] = "GRCh37"
    data["mr"]["grip__cognitive_impairment"]["p_treshold"] = 1e-8
    cfg.write_text(yaml.safe_dump(data))
    proc = _run(cfg, tmp_path / "r", str(tmp_path / "r" / "mr" / PAIRS[0] / "estimates.tsv"))
    assert proc.returncode != 0
    assert "p_treshold" in proc.stderr + proc.stdout and "did you mean 'p_threshold'" in proc.stderr + proc.stdout
