"""The pipeline on a real (single-node) SLURM cluster through snakemake-executor-plugin-slurm.

The cluster is started by ``scripts/slurm_local_cluster.sh`` (installing Debian's slurm-wlm and munge when
missing, as root) and stopped at the end. If it cannot start, the tests FAIL with the daemons' log lines:
a cluster that does not come up is a broken test environment, not a reason to skip.

Also here: the bad-input checks of the SLURM profile (no partition named, no SLURM installed), which need
no cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from musclecog.mr.pipeline import pair_jobs

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
# Result tables compared between runs: everything but timings and logs.
NOT_RESULTS = {"benchmarks", "logs"}


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


def _slurm_args(profile: Path, results: Path, logdir: Path) -> list[str]:
    """Options of a run on the local cluster: the profile, plus what a cluster without accounting needs.

    Status checks are made frequent (the defaults, 40 s before the first check, suit busy clusters).
    """
    return [
        "--config", f"results_dir={results}",
        "--workflow-profile", str(profile),
        "--slurm-status-command", "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1",
        "--seconds-between-status-checks", "1",
        "--slurm-logdir", str(logdir),
    ]  # fmt: skip


def _result_tables(results: Path) -> dict[str, bytes]:
    """Every .tsv and .parquet result except timings and logs, with the results folder's path masked.

    A table may name a file it read inside the results folder (e.g. a simulated GWAS file), so the folder's
    own path is replaced by ``<results_dir>``; parquet files are compared by data, schema and metadata.
    """
    import pyarrow.parquet as pq

    root = str(results).encode()
    tables = {}
    for path in sorted(results.rglob("*")):
        rel = path.relative_to(results)
        if rel.parts[0] in NOT_RESULTS or path.suffix not in (".tsv", ".parquet"):
            continue
        if path.suffix == ".tsv":
            tables[str(rel)] = path.read_bytes().replace(root, b"<results_dir>")
        else:
            table = pq.read_table(path)
            meta = b"".join(k + b"=" + v for k, v in sorted((table.schema.metadata or {}).items()))
            body = table.replace_schema_metadata(None).to_pandas().to_csv(index=False).encode()
            tables[str(rel)] = meta.replace(root, b"<results_dir>") + b"\n" + body
    return tables


def _failure(proc: subprocess.CompletedProcess, what: str) -> str:
    return f"{what} failed (exit {proc.returncode}).\n--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-12000:]}"


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[dict[str, str]]:
    """A running single-node cluster; yields the environment that points clients (and the plugin) at it.

    Uses the script's state dir (MUSCLECOG_SLURM_DIR, default /tmp/musclecog-slurm). A cluster already running
    there is used and left running; one this fixture starts is stopped at the end.
    """
    env = dict(os.environ)
    state = Path(env.setdefault("MUSCLECOG_SLURM_DIR", "/tmp/musclecog-slurm"))
    already = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True, text=True).returncode == 0
    start = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=1200)
    if start.returncode != 0:
        logs = _cluster_logs(env)
        if not already:
            subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, text=True)
        pytest.fail(f"{_failure(start, 'scripts/slurm_local_cluster.sh start')}\n{logs}")
    env["SLURM_CONF"] = str(state / "slurm.conf")
    try:
        yield env
    finally:
        if not already:
            stop = subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=120)
            assert stop.returncode == 0, _failure(stop, "scripts/slurm_local_cluster.sh stop")


@pytest.mark.slurm
@pytest.mark.slow
def test_default_pipeline_on_slurm_matches_local_run(slurm_cluster: dict[str, str], tmp_path: Path) -> None:
    """Every result table of the default pipeline is byte-identical between SLURM and a local --cores 2 run.

    Same environment for both (PYTHONHASHSEED=0 as in test_default_run.py; SLURM jobs inherit it).
    """
    local_dir, slurm_dir = tmp_path / "local", tmp_path / "slurm"
    env = dict(slurm_cluster, PYTHONHASHSEED="0")
    # the local run goes on while the cluster run waits on the scheduler
    local = subprocess.Popen(
        [str(SNAKEMAKE), "--nolock", "--cores", "2", "--config", f"results_dir={local_dir}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    profile = _profile_with_partition(tmp_path / "profile")
    on_slurm = _snakemake(_slurm_args(profile, slurm_dir, tmp_path / "slurm_logs"), env=env)
    local_out, local_err = local.communicate(timeout=1500)
    assert on_slurm.returncode == 0, _failure(on_slurm, "the SLURM run") + "\n" + _cluster_logs(slurm_cluster)
    assert local.returncode == 0, _failure(
        subprocess.CompletedProcess([], local.returncode, local_out, local_err), "the local run"
    )

    # the jobs really went through sbatch: one submission per non-local job
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", on_slurm.stdout + on_slurm.stderr)
    n_jobs = _count_jobs(on_slurm.stdout + on_slurm.stderr)
    assert submitted, "no job was submitted to SLURM"
    assert len(set(submitted)) == n_jobs, f"{len(set(submitted))} SLURM jobs for {n_jobs} cluster jobs"

    local_tables, slurm_tables = _result_tables(local_dir), _result_tables(slurm_dir)
    assert local_tables, f"the local run wrote no result table under {local_dir}"
    assert sorted(slurm_tables) == sorted(local_tables)
    differing = [name for name in local_tables if local_tables[name] != slurm_tables[name]]
    assert not differing, f"result tables differ between the SLURM and the local run: {differing}"


def _count_jobs(log: str) -> int:
    """Jobs Snakemake sent to the cluster: the job-stats table minus rules run on the submitting host."""
    stats = _job_stats(subprocess.CompletedProcess([], 0, log, ""))
    local_rules = {"all", "total"} | set(re.findall(r"localrule (\w+):", log))
    return sum(n for rule, n in stats.items() if rule not in local_rules)


def _cluster_logs(env: dict[str, str]) -> str:
    return subprocess.run([str(SCRIPT), "logs"], env=env, capture_output=True, text=True).stdout


def _small_analysis() -> tuple[str, str]:
    """(analysis, cohort) of the default config whose cohort is smallest: a cheap pair of jobs."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cohorts = config["cohorts"]

    def size(name: str) -> float:
        return float(cohorts[name].get("simulate", {}).get("n", float("inf")))

    analyses = config.get("analyses") or {}
    if not analyses:
        pytest.fail("config/config.yaml defines no analyses: nothing to run on the cluster")
    name = min(analyses, key=lambda a: (size(analyses[a]["cohort"]), a))
    return name, analyses[name]["cohort"]


@pytest.mark.slurm
@pytest.mark.slow
def test_job_killed_for_memory_is_reported_and_rerun_resumes(
    slurm_cluster: dict[str, str], tmp_path: Path
) -> None:
    """A job the scheduler kills (over its memory request) is reported; the rerun runs only that job."""
    analysis, cohort = _small_analysis()
    results = tmp_path / "results"
    target = results / "estimates" / f"{analysis}.tsv"
    cohort_table = results / "cohorts" / f"{cohort}.parquet"
    profile = _profile_with_partition(tmp_path / "profile")
    args = [str(target), *_slurm_args(profile, results, tmp_path / "slurm_logs")]

    # 100 MB is below what any Snakemake job needs: SLURM kills fit_analysis, the cohort job succeeds
    killed = _snakemake([*args, "--set-resources", "fit_analysis:mem_mb=100"], env=slurm_cluster)
    log = killed.stdout + killed.stderr
    assert killed.returncode != 0, _failure(killed, "the under-provisioned run unexpectedly")
    assert "Error in rule fit_analysis" in log and "SLURM-job" in log, log[-4000:]
    slurm_logs = "".join(p.read_text() for p in (tmp_path / "slurm_logs").rglob("*.log"))
    assert "exceeded memory limit" in slurm_logs, slurm_logs[-4000:]
    assert cohort_table.exists() and not target.exists()

    # the rerun with the profile's resources submits fit_analysis only and completes
    rerun = _snakemake(args, env=slurm_cluster)
    assert rerun.returncode == 0, _failure(rerun, "the rerun")
    rerun_log = rerun.stdout + rerun.stderr
    assert "rule simulate_cohort" not in rerun_log and "rule ingest_cohort" not in rerun_log
    assert len(re.findall(r"has been submitted with SLURM jobid", rerun_log)) == 1
    assert target.exists()


def test_profile_without_partition_names_the_setting(tmp_path: Path) -> None:
    """The shipped profile has no partition: the run stops at once and says what to fill in."""
    proc = _snakemake(
        ["-n", "--workflow-profile", str(PROFILE.parent), "--config", f"results_dir={tmp_path}"]
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
        ["-n", "--workflow-profile", str(profile), "--config", f"results_dir={tmp_path / 'r'}"], env=env
    )
    assert proc.returncode != 0
    assert "sbatch" in proc.stderr and "not on PATH" in proc.stderr, proc.stderr[-3000:]


def test_profile_resources_name_existing_rules() -> None:
    """Every rule named in the profile's set-resources exists, and each gets memory, time and CPUs."""
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["executor"] == "slurm"
    defaults = profile["default-resources"]
    assert {"mem_mb", "runtime", "slurm_partition"} <= set(defaults)
    proc = _snakemake(["--list-rules", "--config", "results_dir=/tmp/unused_by_list_rules"])
    assert proc.returncode == 0, _failure(proc, "snakemake --list-rules")
    rules = set(proc.stdout.split())
    unknown = set(profile["set-resources"]) - rules
    assert not unknown, f"profiles/slurm/config.yaml sets resources for rules that do not exist: {unknown}"
    for rule, resources in profile["set-resources"].items():
        assert resources.get("mem_mb", defaults["mem_mb"]) >= 500, rule
        assert resources.get("runtime", defaults["runtime"]) >= 5, rule
        assert resources.get("cpus_per_task", 1) >= 1, rule


def test_many_pairs_and_analyses_are_one_job_each(tmp_path: Path) -> None:
    """100 MR pairs and 50 more analyses become 100 + 50 more jobs; each GWAS trait is standardised once.

    Dry run (`snakemake -n`) of the default config plus 20 GWAS traits from files (10 exposures x 10 outcomes)
    and 50 copies of a default analysis: what a cluster can spread.
    """
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    base = {
        "mr_pair": len(pair_jobs(config.get("mr"))),
        "fit_analysis": len(config.get("analyses") or {}),
        "standardise_gwas": len(config.get("gwas") or {}),
    }
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
    proc = _snakemake(
        ["-n", "--cores", "2", "--configfile", str(configfile), "--config", f"results_dir={tmp_path / 'b'}"]
    )
    stats = _job_stats(proc)
    assert stats.get("mr_pair", 0) == base["mr_pair"] + 100, stats
    assert stats.get("fit_analysis", 0) == base["fit_analysis"] + 50, stats
    assert stats.get("standardise_gwas", 0) == base["standardise_gwas"] + 20, stats


def _job_stats(proc: subprocess.CompletedProcess) -> dict[str, int]:
    assert proc.returncode == 0, _failure(proc, "snakemake -n")
    log = proc.stdout + proc.stderr
    stats = re.search(r"Job stats:\n(.*?)\n\s*\n", log, flags=re.S)
    assert stats, f"no job statistics in Snakemake's output:\n{log[-3000:]}"
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", stats.group(1), flags=re.M)}
