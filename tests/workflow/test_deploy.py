"""The workflow used the way Snakemake users deploy it, from a local clone and without network.

The clone is a fresh git repository of this working tree's tracked files, tagged ``v0.0.0-test``; the
user's folder lies elsewhere, holds only a config (and, for snakedeploy, what snakedeploy writes) and never
sets PYTHONPATH: the workflow must find its library (its own ``src/``), schemas, resources and scripts
from the clone, and its default analyses must give the golden tables.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from musclecog.golden import compare_results, compare_table
from musclecog.provenance import git_state

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SNAKEDEPLOY = shutil.which("snakedeploy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
TAG = "v0.0.0-test"
MODULE_SNAKEFILE = """configfile: "config/config.yaml"


module musclecog:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from musclecog
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the working tree's tracked files (as committed or modified now), tagged TAG."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to make a local clone")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    target = tmp_path_factory.mktemp("clone") / "musclecog"
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "clone")
    _git(target, "tag", TAG)
    return target


def _env() -> dict[str, str]:
    """The user's environment: no PYTHONPATH (the workflow must find its own library), one BLAS thread."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def _snakemake(cwd: Path, *args: str, timeout: int = 1800,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(SNAKEMAKE), "--nolock", *args], cwd=cwd, env=env or _env(), capture_output=True,
                          text=True, timeout=timeout)


def _failure(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"


@pytest.mark.slow
def test_module_runs_the_default_analyses_in_another_directory(clone: Path, tmp_path: Path) -> None:
    """A user's Snakefile with `module musclecog: snakefile: "<clone>/Snakefile"; config: config` and
    `use rule * from musclecog`, in a folder with only the default config copied: the default run completes,
    its tables equal the golden tables (1e-8 relative), and the provenance names the clone's library and its
    git commit (clean)."""
    user = tmp_path / "my_analysis"
    (user / "config").mkdir(parents=True)
    shutil.copy(clone / "config" / "config.yaml", user / "config" / "config.yaml")
    (user / "Snakefile").write_text(MODULE_SNAKEFILE.format(snakefile=clone / "Snakefile"))
    proc = _snakemake(user, "--cores", "2")
    assert proc.returncode == 0, _failure(proc)
    results = user / "results"
    problems = compare_results(GOLDEN, results, rtol=1e-8)
    assert not problems, "\n".join(problems[:40])
    record = json.loads((results / "provenance.json").read_text())
    assert record["musclecog_library"] == str((clone / "src" / "musclecog").resolve())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    assert record["source"]["commit"] == head and record["source"]["dirty"] is False
    assert record["source"]["describe"] == TAG
    assert not (user / "workflow").exists() and not (user / "resources").exists()


def test_snakefile_elsewhere_uses_its_own_default_config(clone: Path, tmp_path: Path) -> None:
    """`snakemake -s <clone>/Snakefile` in an empty folder: the clone's default config, a complete plan."""
    proc = _snakemake(tmp_path, "-s", str(clone / "Snakefile"), "-n", "--cores", "1")
    assert proc.returncode == 0, _failure(proc)
    assert "write_provenance" in proc.stdout and not (tmp_path / "results").exists()


def test_snakedeploy_deployment(clone: Path, tmp_path: Path) -> None:
    """`snakedeploy deploy-workflow <clone> <dir> --tag TAG` copies config/, profiles/ and LICENSE and writes
    workflow/Snakefile with the module; the deployment then plans the default run (dry run).

    snakedeploy (0.17.1) warns that the Snakefile is not at workflow/Snakefile and uses the top-level one,
    which is right. For a LOCAL source its module path is written relative ("Snakefile", which the deployed
    workflow/Snakefile would read as itself) and --tag is ignored: the one edit README "Installing and deploying" gives
    (the clone's absolute path) is made here. For a GitHub source it writes github(..., tag=...) instead.
    """
    if SNAKEDEPLOY is None:
        if os.environ.get("CI"):
            pytest.fail("snakedeploy is not installed (requirements.lock pins it)")
        pytest.skip("snakedeploy is not installed (pip install snakedeploy==0.17.1; CI has it)")
    dest = tmp_path / "deployment"
    proc = subprocess.run([SNAKEDEPLOY, "deploy-workflow", str(clone), str(dest), "--tag", TAG],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, _failure(proc)
    assert (dest / "config" / "config.yaml").is_file() and (dest / "profiles" / "slurm").is_dir()
    assert (dest / "LICENSE").read_text() == (clone / "LICENSE").read_text()
    deployed = (dest / "workflow" / "Snakefile").read_text()
    assert 'configfile: "config/config.yaml"' in deployed and "use rule * from musclecog" in deployed
    assert '"Snakefile"' in deployed, deployed  # snakedeploy's relative path for a local source
    (dest / "workflow" / "Snakefile").write_text(deployed.replace('"Snakefile"', f'"{clone / "Snakefile"}"'))
    plan = _snakemake(dest, "-n", "--cores", "1")
    assert plan.returncode == 0, _failure(plan)
    assert "write_provenance" in plan.stdout and "fit_cohort_" in plan.stdout


ONE_ANALYSIS = "wang_dsst_low_muscle_mass"
"""A default analysis run as the remote routes' target: one cohort simulated and one analysis fitted, by the
library and scripts of the exported source."""


def _check_export(user: Path, commit: str, uri: str) -> None:
    """The exported source folder holds the commit's files and names where it came from."""
    root = user / ".snakemake" / "musclecog-source" / commit
    assert (root / "Snakefile").is_file() and (root / "src" / "musclecog" / "__init__.py").is_file()
    record = json.loads((root / "MUSCLECOG_SOURCE.json").read_text())
    assert {k: record[k] for k in ("uri", "ref", "commit")} == {"uri": uri, "ref": TAG, "commit": commit}, record
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert set(record["blobs"]) <= set(tracked) and "Snakefile" in record["blobs"]
    assert git_state(root) == {"commit": commit, "describe": TAG, "dirty": False, "modified": [],
                               "exported_from": uri}


def _plan(user: Path, env: dict[str, str] | None = None) -> None:
    """A dry run plans the whole default run."""
    plan = _snakemake(user, "-n", "--cores", "1", timeout=600, env=env)
    assert plan.returncode == 0, _failure(plan)
    assert "write_provenance" in plan.stdout and "fit_cohort_" in plan.stdout


def _run_one_analysis(user: Path, env: dict[str, str] | None = None) -> None:
    """One analysis (its cohort simulated, then fitted by the rule scripts) equals its golden table."""
    target = f"results/estimates/{ONE_ANALYSIS}.tsv"
    proc = _snakemake(user, "--cores", "2", target, timeout=900, env=env)
    assert proc.returncode == 0, _failure(proc)
    problems = compare_table(GOLDEN / "estimates" / f"{ONE_ANALYSIS}.tsv", user / target, rtol=1e-8)
    assert not problems, "\n".join(problems[:40])


def test_git_module_source_runs_from_its_export(clone: Path, tmp_path: Path) -> None:
    """A module read from git objects, `gitfile(<clone>, path="Snakefile", tag=TAG)` (the local form of
    github(...)): the Snakefile exports that commit once to .snakemake/musclecog-source/<commit>/ and reads its
    library, rules, schemas and resources there, and the default run is planned (the rule scripts of an export
    run in the next test)."""
    user = tmp_path / "remote_user"
    (user / "config").mkdir(parents=True)
    shutil.copy(clone / "config" / "config.yaml", user / "config" / "config.yaml")
    declaration = f'gitfile("{clone}", path="Snakefile", tag="{TAG}")'
    (user / "Snakefile").write_text(MODULE_SNAKEFILE.replace('"{snakefile}"', declaration))
    _plan(user)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    _check_export(user, head, f"git+file://{clone}/Snakefile@{TAG}")


def test_snakedeploy_github_deployment_runs_offline(clone: Path, tmp_path: Path) -> None:
    """`snakedeploy deploy-workflow https://github.com/<owner>/musclecog <dir> --tag TAG`, offline: the source
    is a local repository at a path containing `github.com/<owner>/musclecog` (snakedeploy then takes its GitHub
    provider and writes `github("<owner>/musclecog", path="Snakefile", tag=TAG)`, as for the real URL), and
    Snakemake's git cache for github.com/<owner>/musclecog is that repository's bare clone (what Snakemake's first
    run would have cloned). No edit of what snakedeploy writes: the deployment plans the default run and runs an
    analysis equal to the golden table; a fetch from GitHub would fail the test (no network)."""
    if SNAKEDEPLOY is None:
        if os.environ.get("CI"):
            pytest.fail("snakedeploy is not installed (requirements.lock pins it)")
        pytest.skip("snakedeploy is not installed (pip install snakedeploy==0.17.1; CI has it)")
    hosted = tmp_path / "github.com" / "someone" / "musclecog"
    hosted.parent.mkdir(parents=True)
    _git(tmp_path, "clone", "-q", str(clone), str(hosted))
    cache = tmp_path / "xdg-cache"
    git_cache = cache / "snakemake" / "snakemake" / "source-cache" / "snakemake-git-cache" / "github.com" / "someone"
    git_cache.mkdir(parents=True)
    _git(tmp_path, "clone", "-q", "--bare", str(clone), str(git_cache / "musclecog"))
    dest = tmp_path / "deployment"
    env = {**_env(), "XDG_CACHE_HOME": str(cache)}
    proc = subprocess.run([SNAKEDEPLOY, "deploy-workflow", str(hosted), str(dest), "--tag", TAG],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, _failure(proc)
    deployed = (dest / "workflow" / "Snakefile").read_text()
    assert f'github("someone/musclecog", path="Snakefile", tag="{TAG}")' in deployed, deployed
    _plan(dest, env)
    _run_one_analysis(dest, env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    _check_export(dest, head, f"https://raw.githubusercontent.com/someone/musclecog/{TAG}/Snakefile")
