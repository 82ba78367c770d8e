"""Provenance record and the reproduction figure."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pandas as pd
import pytest

import musclecog
from musclecog.plots import save_figure
from musclecog.plots.reproduction import reproduction_figure
from musclecog.provenance import build_provenance, git_state, write_provenance
from musclecog.reproduce import REPRODUCTION_COLUMNS


def test_provenance_checksums_versions_and_config(tmp_path):
    data = tmp_path / "in.csv"
    data.write_bytes(b"id,x\n1,2\n")
    record = build_provenance({"seed": 7, "cohorts": {}}, [data, tmp_path / "absent.csv"], "2026-01-01T00:00:00+00:00")
    assert record["seed"] == 7
    assert record["input_files"][str(data)]["sha256"] == hashlib.sha256(b"id,x\n1,2\n").hexdigest()
    assert record["input_files"][str(tmp_path / "absent.csv")]["missing"] is True
    assert record["packages"]["pandas"] != "not installed"
    assert record["started"].startswith("2026") and record["ended"]
    write_provenance(record, tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text())["config"] == {"seed": 7, "cohorts": {}}


def test_reproduction_figure_one_scale_each_target_once(tmp_path):
    from musclecog.plots.reproduction import relative_scale

    cols = list(REPRODUCTION_COLUMNS)
    base = dict.fromkeys(cols, "")
    nan = float("nan")
    rows = [
        base | dict(target_id="a", evidence="synthetic_recovery", statistic="r", published="0.3", published_value=0.3,
                    estimate=0.33, conf_low=0.2, conf_high=0.4, null_value=0.0, synthetic_truth=0.3,
                    verdict="recovered"),
        base | dict(target_id="a", evidence="real_replication", statistic="r", published="0.3", published_value=0.3,
                    estimate=0.15, conf_low=0.1, conf_high=0.2, null_value=0.0, synthetic_truth=nan,
                    verdict="not replicated"),
        base | dict(target_id="b", evidence="synthetic_recovery", statistic="odds ratio", published="1.27",
                    published_value=1.27, estimate=1.27 ** 0.5, conf_low=1.1, conf_high=1.3, null_value=1.0,
                    synthetic_truth=1.27, verdict="uninformative"),
        base | dict(target_id="c", evidence="synthetic_recovery", statistic="p value", published="NA",
                    published_value=nan, estimate=-4.0, conf_low=-6.0, conf_high=-2.0, null_value=0.0,
                    synthetic_truth=-5.0, verdict="recovered"),
        base | dict(target_id="d", evidence="", statistic="direction", published="up", published_value=nan,
                    estimate=nan, conf_low=nan, conf_high=nan, null_value=nan, synthetic_truth=nan,
                    verdict="not checked"),
    ]
    table = pd.DataFrame(rows, columns=cols)
    rel = relative_scale(table)
    assert rel["rel_estimate"].iloc[0] == pytest.approx(1.1)
    assert rel["rel_estimate"].iloc[2] == pytest.approx(0.5)  # half the log odds
    assert rel["reference"].iloc[3] == "synthetic truth"
    assert rel["rel_low"].iloc[3] == pytest.approx(0.4) and rel["rel_high"].iloc[3] == pytest.approx(1.2)
    fig = reproduction_figure(table)
    ax = fig.axes[0]
    assert len(ax.get_yticks()) == 3  # a, b, c once each; d has no number
    assert ax.get_title(loc="left").startswith("3 of 4 targets")
    save_figure(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed (the record then says so)")
def test_provenance_records_git_commit_and_dirty_state(tmp_path):
    """A clean checkout: its HEAD and dirty False; a modified tracked file: dirty True and the file named;
    an untracked file does not make it dirty; a folder that is no checkout: commit None and the reason."""
    repo = tmp_path / "src"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "Snakefile").write_text("rule all:\n")
    _git(repo, "add", "Snakefile")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    clean = build_provenance({"seed": 1}, [], None, source_dir=repo)["source"]
    assert clean["commit"] == head.strip() and len(clean["commit"]) == 40
    assert clean["dirty"] is False and clean["path"] == str(repo)
    (repo / "untracked.txt").write_text("x")
    assert git_state(repo)["dirty"] is False
    (repo / "Snakefile").write_text("rule all:\n    input: []\n")
    dirty = git_state(repo)
    assert dirty["dirty"] is True and dirty["modified"] == [" M Snakefile"]
    assert dirty["describe"].endswith("-dirty")
    outside = git_state(tmp_path / "not_a_repo_dir")
    assert outside["commit"] is None and outside["dirty"] is None and "not a git checkout" in outside["reason"]
    assert "source" not in build_provenance({"seed": 1}, [], None)
    assert build_provenance({"seed": 1}, [], None)["musclecog_version"] == musclecog.__version__


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed (the record then says so)")
def test_provenance_of_a_source_exported_from_a_remote_module(tmp_path):
    """A folder the Snakefile exported from github(...)/gitfile(...) (no .git, a MUSCLECOG_SOURCE.json with git's
    blob id of each file, as `git ls-tree` lists them): the commit, the ref asked for as `describe`, dirty False,
    where it came from; an edited or deleted file makes it dirty and is named, as `git status` would."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "Snakefile").write_text("rule all:\n")
    (repo / "src" / "lib.py").write_text("x = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    tree = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "HEAD"], capture_output=True, text=True).stdout
    blobs = {line.split("\t")[1]: line.split()[2] for line in tree.splitlines()}
    root = tmp_path / ".snakemake" / "musclecog-source" / head
    shutil.copytree(repo, root, ignore=shutil.ignore_patterns(".git"))
    uri = "https://raw.githubusercontent.com/someone/musclecog/v1.2.3/Snakefile"
    (root / "MUSCLECOG_SOURCE.json").write_text(json.dumps({"uri": uri, "ref": "v1.2.3", "commit": head,
                                                            "blobs": blobs}))
    state = git_state(root)
    assert state == {"commit": head, "describe": "v1.2.3", "dirty": False, "modified": [], "exported_from": uri}
    assert build_provenance({"seed": 1}, [], None, source_dir=root)["source"]["exported_from"] == uri
    (root / "src" / "lib.py").write_text("x = 2\n")
    (root / "Snakefile").unlink()
    edited = git_state(root)
    assert edited["dirty"] is True and edited["describe"] == "v1.2.3-dirty"
    assert edited["modified"] == [" D Snakefile", " M src/lib.py"]
