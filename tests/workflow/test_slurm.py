"""The pipeline on a real (single-node) SLURM cluster through snakemake-executor-plugin-slurm.

The cluster is started by ``scripts/slurm_local_cluster.sh`` (installing Debian's slurm-wlm and munge when
missing, as root) in a fresh state directory (tempfile.mkdtemp) on two free ports, with no file written
outside that directory, and every daemon it started is stopped at the end, also when a test fails.
Where SLURM is missing and cannot be installed (not root, or no apt-get) the cluster test is SKIPPED with
that reason, except under CI (env CI set), where it FAILS. If the cluster cannot start, the test FAILS with
the daemons' log lines: a cluster that does not come up is a broken test environment, not a reason to skip.

Also here: the bad-input checks of the SLURM profile (no partition named, no SLURM installed), which need
no cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from runner import result_tables

from musclecog.mr.pipeline import pair_jobs
from musclecog.robustness import OBSERVATIONAL_TYPES
from musclecog.triangulation import parse_rows, required_sources

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "slurm_local_cluster.sh"
PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
PLACEHOLDER = "FILL_IN_PARTITION"
PARTITION = "debug"  # the partition scripts/slurm_local_cluster.sh creates
# Binaries SLURM and munge put on PATH; hidden to simulate a machine without SLURM.
SLURM_BINARIES = {
    "sacct", "sacctmgr", "salloc", "sattach", "sbatch", "sbcast", "scancel", "scontrol", "scrontab", "sdiag",
    "sh5util", "sinfo", "sprio", "squeue", "sreport", "srun", "sshare", "sstat", "strigger", "sview",
    "slurmctld", "slurmd", "slurmstepd", "munge", "unmunge", "remunge", "munged", "mungekey",
}  # fmt: skip


def _snakemake(
    args: list[str], env: dict[str, str] | None = None, timeout: int = 1500
) -> subprocess.CompletedProcess:
    """Run Snakemake in the repository (without the lock: others share the tree)."""
    return subprocess.run(
        [str(SNAKEMAKE), "--nolock", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _profile_with_partition(directory: Path, partition: str = PARTITION) -> Path:
    """The repository's SLURM profile with its partition filled in, as a user does."""
    text = PROFILE.read_text()
    assert PLACEHOLDER in text, f"{PROFILE} should ship with the placeholder {PLACEHOLDER}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(text.replace(PLACEHOLDER, partition))
    return directory


def _profile_for_node(directory: Path, env: dict[str, str], starve: list[str] | None = None) -> Path:
    """The filled-in profile with requests capped to what the test node has (CI runners: 2 CPUs, ~7 GB).

    The shipped requests (up to 8 GB for genome-wide GWAS) would not fit a small machine, and SLURM rejects a
    job no node can hold. Memory is capped at half the node (two jobs side by side), CPUs at the node's.
    With ``starve`` (the cohorts of one fit job), the analyses of those cohorts ask for 100 MB each
    (``fit_analysis``, evaluated per analysis) and so do their simulations (``simulate_cohort``, evaluated per
    cohort), so their job (which simulates the cohorts and asks for the largest request of its analyses and
    simulations) gets 100 MB: less than its Snakemake interpreter alone, so SLURM kills it.
    """
    node = subprocess.run(
        ["sinfo", "-h", "-N", "-p", PARTITION, "-o", "%c %m"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    cpus, mem = int(node[0]), int(node[1])
    settings = yaml.safe_load(_profile_with_partition(directory).joinpath("config.yaml").read_text())
    for resources in [settings["default-resources"], *settings["set-resources"].values()]:
        if "mem_mb" in resources:
            resources["mem_mb"] = min(int(resources["mem_mb"]), mem // 2)
        if "cpus_per_task" in resources:
            resources["cpus_per_task"] = min(int(resources["cpus_per_task"]), cpus)
    if starve:
        fit = settings["set-resources"]["fit_analysis"]
        fit["mem_mb"] = f"100 if wildcards.analysis in {_cohort_analyses(starve)!r} else {fit['mem_mb']}"
        simulate = settings["set-resources"]["simulate_cohort"]
        simulate["mem_mb"] = f"100 if wildcards.cohort in {sorted(starve)!r} else {simulate['mem_mb']}"
    (directory / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return directory


def _slurm_args(profile: Path, results: Path, logdir: Path) -> list[str]:
    """Options of a run on the local cluster: the profile, plus what a cluster without accounting needs.

    Status checks are made frequent (the defaults, 40 s before the first check, suit busy clusters).
    """
    return [
        "--config", f"results_dir={results}", "allow_outside=True",
        "--workflow-profile", str(profile),
        "--slurm-status-command", "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1",
        "--seconds-between-status-checks", "1",
        "--slurm-logdir", str(logdir),
    ]  # fmt: skip


def _failure(proc: subprocess.CompletedProcess, what: str) -> str:
    return f"{what} failed (exit {proc.returncode}).\n--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-12000:]}"


def _free_port_pair() -> int:
    """A port p with p and p + 1 free on this machine (controller and slurmd)."""
    for _ in range(100):
        with socket.socket() as first:
            first.bind(("", 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("", port + 1))
                except OSError:
                    continue
        return port
    pytest.fail("no two free consecutive TCP ports on this machine")


def _cannot_install_slurm() -> str | None:
    """Why SLURM can neither be found nor installed here (None when it can run)."""
    needed = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "srun")
    missing = [name for name in needed if shutil.which(name) is None]
    if not missing:
        return None
    if os.geteuid() != 0:
        return f"SLURM is not installed (missing {', '.join(missing)}) and installing it needs root"
    if shutil.which("apt-get") is None:
        return f"SLURM is not installed (missing {', '.join(missing)}) and apt-get is not available"
    return None


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[dict[str, str]]:
    """A fresh single-node cluster; yields the environment that points clients (and the plugin) at it.

    State directory: a new ``tempfile.mkdtemp`` folder; ports: a free pair found now. The daemons are
    stopped (and the folder removed) in the finalizer, which runs whether the tests pass or fail.
    """
    reason = _cannot_install_slurm()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; under CI the SLURM test must run (install slurm-wlm and munge)")
        pytest.skip(f"{reason}; CI runs this test (as root, installing slurm-wlm and munge with apt-get)")
    state = Path(tempfile.mkdtemp(prefix="musclecog-slurm."))
    env = dict(os.environ, MUSCLECOG_SLURM_DIR=str(state), MUSCLECOG_SLURM_PORT=str(_free_port_pair()))
    try:
        start = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=1200)
        if start.returncode != 0:
            pytest.fail(f"{_failure(start, 'scripts/slurm_local_cluster.sh start')}\n{_cluster_logs(env)}")
        env["SLURM_CONF"] = str(state / "slurm.conf")
        env["PATH"] = f"{state / 'bin'}{os.pathsep}{env['PATH']}"
        yield env
    finally:
        stop = subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=120)
        status = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True, text=True)
        left = [line for line in status.stdout.splitlines() if ": running" in line]
        if stop.returncode == 0 and not left:
            shutil.rmtree(state, ignore_errors=True)
        assert stop.returncode == 0 and not left, (
            _failure(stop, "scripts/slurm_local_cluster.sh stop") + f"\nstill running: {left} (state dir {state})"
        )


@pytest.mark.slurm
@pytest.mark.slow
def test_default_pipeline_on_slurm_matches_local_run(
    slurm_cluster: dict[str, str], default_run: Path, tmp_path: Path
) -> None:
    """The default pipeline through SLURM: a job killed for memory is reported, the rerun resumes only what
    is missing, and every result table is then byte-identical to the session's local ``--cores 2`` run
    (the ``default_run`` fixture of tests/workflow/conftest.py).

    First SLURM run: the profile, except that the analyses of the smallest cohort's fit job ask for 100 MB
    (less than the Snakemake interpreter needs), so SLURM kills that job (rule fit_cohort_<fit_job>, all the
    analyses of its cohorts in one job); `keep-going` finishes everything else. Second run: the profile as shipped
    (requests capped to the test node); it must submit only the killed job and what depends on it. Same environment as the local run (PYTHONHASHSEED=0; SLURM jobs inherit it).
    """
    slurm_dir = tmp_path / "slurm"
    env = dict(slurm_cluster, PYTHONHASHSEED="0")
    victim = _small_analysis()
    victim_job, victim_cohorts = _fit_job(_analysis_cohort(victim))
    victim_rule = f"fit_cohort_{victim_job}"
    profile = _profile_for_node(tmp_path / "profile", env)
    starved = _profile_for_node(tmp_path / "profile_starved", env, starve=victim_cohorts)
    logs = tmp_path / "slurm_logs"

    killed = _snakemake(_slurm_args(starved, slurm_dir, logs), env=env)
    log = killed.stdout + killed.stderr
    assert killed.returncode != 0, _failure(killed, "the run with a starved job unexpectedly")
    assert re.search(rf"Error in rule {victim_rule}:.*?SLURM-job '\d+' failed.*?{victim}", log, flags=re.S), (
        log[-6000:]
    )
    assert "exceeded memory limit" in "".join(p.read_text() for p in logs.rglob("*.log"))
    assert not any((slurm_dir / "estimates" / f"{name}.tsv").exists() for name in _cohort_analyses(victim_cohorts))
    # one sbatch per cluster job started; keep-going started every job that did not need the killed one
    started = re.findall(r"^rule (\w+):", log, flags=re.M)
    assert len(_submitted(log)) == len(started), "each cluster job is one SLURM job"
    stats = _job_stats(subprocess.CompletedProcess([], 0, log, ""))
    fit_rules = [rule for rule in stats if rule.startswith("fit_")]
    assert victim_rule in fit_rules and "fit_analysis" not in fit_rules, stats  # per_cohort: the default
    for rule in ("simulate_cohort", "mr_pair", *fit_rules):
        assert started.count(rule) == stats.get(rule, 0), (rule, started.count(rule), stats)

    rerun = _snakemake(_slurm_args(profile, slurm_dir, logs), env=env)
    assert rerun.returncode == 0, _failure(rerun, "the rerun") + "\n" + _cluster_logs(slurm_cluster)
    rerun_log = rerun.stdout + rerun.stderr
    rerun_rules = sorted(re.findall(r"^rule (\w+):", rerun_log, flags=re.M))
    expected = sorted([victim_rule, "reproduce_review", *_dependent_summaries(_cohort_analyses(victim_cohorts))])
    assert rerun_rules == expected, rerun_rules
    assert len(_submitted(rerun_log)) == len(expected)
    assert f"logs/estimates/{victim}.log" in rerun_log

    local_tables, slurm_tables = result_tables(default_run), result_tables(slurm_dir)
    assert local_tables, f"the local run wrote no result table under {default_run}"
    assert sorted(slurm_tables) == sorted(local_tables)
    differing = [name for name in local_tables if local_tables[name] != slurm_tables[name]]
    assert not differing, f"result tables differ between the SLURM and the local run: {differing}"


def _submitted(log: str) -> set[str]:
    """SLURM job ids Snakemake submitted, from its output."""
    return set(re.findall(r"has been submitted with SLURM jobid (\d+)", log))


def _cluster_logs(env: dict[str, str]) -> str:
    return subprocess.run([str(SCRIPT), "logs"], env=env, capture_output=True, text=True).stdout


def _analysis_cohort(analysis: str) -> str:
    return str(yaml.safe_load((REPO / "config" / "config.yaml").read_text())["analyses"][analysis]["cohort"])


def _fit_job(cohort: str) -> tuple[str, list[str]]:
    """The fit job of ``cohort`` in the default config (its `fit_job`, by default its name) and every cohort
    that job fits."""
    cohorts = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["cohorts"]
    job = cohorts[cohort].get("fit_job", cohort)
    return job, sorted(name for name, spec in cohorts.items() if spec.get("fit_job", name) == job)


def _cohort_analyses(cohorts: list[str]) -> list[str]:
    """The analyses of ``cohorts`` in the default config: those their fit_cohort_<fit_job> job fits."""
    analyses = yaml.safe_load((REPO / "config" / "config.yaml").read_text()).get("analyses") or {}
    return sorted(name for name, entry in analyses.items() if entry.get("cohort") in cohorts)


def _dependent_summaries(analyses: list[str]) -> list[str]:
    """The cluster rules besides reproduce_review that read the estimates of ``analyses`` in the default
    config: robustness (E-values of observational analyses) and triangulation (the analyses its rows name)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    rules = []
    if any(config["analyses"][name]["type"] in OBSERVATIONAL_TYPES for name in analyses):
        rules.append("robustness")
    if set(analyses) & set(required_sources(parse_rows(config.get("triangulation")))["analysis"]):
        rules.append("triangulation")
    return rules


def _small_analysis() -> str:
    """The default analysis on the smallest cohort: the job to starve of memory."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cohorts = config["cohorts"]
    analyses = config.get("analyses") or {}
    if not analyses:
        pytest.fail("config/config.yaml defines no analyses: nothing to starve on the cluster")

    def size(name: str) -> float:
        return float(cohorts[analyses[name]["cohort"]].get("simulate", {}).get("n", float("inf")))

    return min(analyses, key=lambda name: (size(name), name))


def test_profile_without_partition_names_the_setting(tmp_path: Path) -> None:
    """The shipped profile has no partition: the run stops at once and says what to fill in."""
    proc = _snakemake(
        ["-n", "--workflow-profile", str(PROFILE.parent), "--config", f"results_dir={tmp_path}", "allow_outside=True"]
    )
    assert proc.returncode != 0
    assert "slurm_partition" in proc.stderr and "profiles/slurm/config.yaml" in proc.stderr, proc.stderr[
        -3000:
    ]
    assert "sinfo" in proc.stderr


def test_profile_without_slurm_installed_says_so(tmp_path: Path) -> None:
    """With the partition set but no sbatch/squeue on PATH, the message says SLURM is missing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).glob("*"):
            link = bin_dir / tool.name
            if tool.name not in SLURM_BINARIES and not link.exists() and not link.is_symlink():
                link.symlink_to(tool)
    env = dict(os.environ, PATH=f"{SNAKEMAKE.parent}{os.pathsep}{bin_dir}")
    assert shutil.which("sbatch", path=env["PATH"]) is None
    profile = _profile_with_partition(tmp_path / "profile")
    proc = _snakemake(
        ["-n", "--workflow-profile", str(profile), "--config", f"results_dir={tmp_path / 'r'}", "allow_outside=True"], env=env
    )
    assert proc.returncode != 0
    assert "sbatch" in proc.stderr and "not on PATH" in proc.stderr, proc.stderr[-3000:]


def test_profile_resources_name_existing_rules() -> None:
    """Every rule named in the profile's set-resources exists, and each gets memory, time and CPUs."""
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["executor"] == "slurm"
    defaults = profile["default-resources"]
    assert {"mem_mb", "runtime", "slurm_partition"} <= set(defaults)
    proc = _snakemake(["--list-rules", "--config", "results_dir=/tmp/unused_by_list_rules", "allow_outside=True"])
    assert proc.returncode == 0, _failure(proc, "snakemake --list-rules")
    rules = set(proc.stdout.split())
    unknown = set(profile["set-resources"]) - rules
    assert not unknown, f"profiles/slurm/config.yaml sets resources for rules that do not exist: {unknown}"
    for rule, resources in profile["set-resources"].items():
        assert resources.get("mem_mb", defaults["mem_mb"]) >= 500, rule
        assert resources.get("runtime", defaults["runtime"]) >= 5, rule
        assert resources.get("cpus_per_task", 1) >= 1, rule


def test_many_pairs_and_analyses_are_one_job_each(tmp_path: Path) -> None:
    """100 MR pairs become 100 more jobs, each GWAS trait is standardised once (a synthetic one in its
    simulate_gwas job); 50 more analyses of a cohort join that cohort's job (`fit_jobs: per_cohort`, the
    default; cohorts sharing a `fit_job` share one) or are 50 more jobs (`fit_jobs: per_analysis`).

    Dry run (`snakemake -n`) of the default config plus 20 GWAS traits from files (10 exposures x 10 outcomes)
    and 50 copies of a default analysis: what a cluster can spread.
    """
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    base = {
        "mr_pair": len(pair_jobs(config.get("mr"))),
        "fit_analysis": len(config.get("analyses") or {}),
        "simulate_gwas": sum("simulate" in t for t in (config.get("gwas") or {}).values()),
        "standardise_gwas": sum("simulate" not in t for t in (config.get("gwas") or {}).values()),
    }
    cohorts = {entry["cohort"] for entry in (config.get("analyses") or {}).values()}
    fit_jobs_named = {config["cohorts"][cohort].get("fit_job", cohort) for cohort in cohorts}
    assert len(fit_jobs_named) < len(cohorts)  # the default config groups its small cohorts
    config.setdefault("gwas", {})
    config.setdefault("mr", {})
    config.setdefault("analyses", {})
    for i in range(20):
        path = tmp_path / f"trait{i}.csv"
        path.write_text("SNP,beta.exposure\n")  # never read by a dry run
        config["gwas"][f"trait{i}"] = {"path": str(path), "format": "twosamplemr"}
    for exposure in range(10):
        for outcome in range(10, 20):
            config["mr"][f"trait{exposure}__trait{outcome}"] = {
                "exposure": f"trait{exposure}",
                "outcome": f"trait{outcome}",
            }
    template = next(iter(config["analyses"].values()))
    for i in range(50):
        config["analyses"][f"copy_{i}"] = dict(template)
    configfile = tmp_path / "many.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    stats = {}
    for fit_jobs in ("per_cohort", "per_analysis"):
        proc = _snakemake(
            ["-n", "--cores", "2", "--configfile", str(configfile),
             "--config", f"results_dir={tmp_path / 'b'}", "allow_outside=True", f"fit_jobs={fit_jobs}"]
        )  # fmt: skip
        stats[fit_jobs] = _job_stats(proc)
        assert stats[fit_jobs].get("mr_pair", 0) == base["mr_pair"] + 100, stats[fit_jobs]
        assert stats[fit_jobs].get("standardise_gwas", 0) == base["standardise_gwas"] + 20, stats[fit_jobs]
        assert stats[fit_jobs].get("simulate_gwas", 0) == base["simulate_gwas"], stats[fit_jobs]
    by_cohort = {rule: n for rule, n in stats["per_cohort"].items() if rule.startswith("fit_")}
    assert by_cohort == {f"fit_cohort_{job}": 1 for job in fit_jobs_named}, by_cohort
    assert stats["per_analysis"].get("fit_analysis", 0) == base["fit_analysis"] + 50, stats["per_analysis"]
    assert not any(rule.startswith("fit_cohort_") for rule in stats["per_analysis"]), stats["per_analysis"]


def _job_stats(proc: subprocess.CompletedProcess) -> dict[str, int]:
    assert proc.returncode == 0, _failure(proc, "snakemake -n")
    log = proc.stdout + proc.stderr
    stats = re.search(r"Job stats:\n(.*?)\n\s*\n", log, flags=re.S)
    assert stats, f"no job statistics in Snakemake's output:\n{log[-3000:]}"
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", stats.group(1), flags=re.M)}
