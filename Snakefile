# musclecog: the epidemiology of the muscle-brain axis in ageing, reproducibly.
# Default run: `snakemake --cores all` on config/config.yaml (synthetic cohorts, no download).
# Own data: `snakemake --cores all --configfile config/examples/<your>.yaml` (see config/README.md):
# a config given with --configfile REPLACES the default one (it is not merged into it).
# Used as a module (`module musclecog: snakefile: "<clone>/Snakefile"`, or github(...)/gitfile(...) with a tag)
# or deployed with snakedeploy, every path is resolved from this file's folder (MUSCLECOG_DIR), never from the
# working directory; a git source is first exported to a folder (README "Installing and deploying"). (In a
# module, workflow.basedir is the folder of the user's Snakefile; workflow.snakefile is the file being parsed.)
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# The folder this workflow reads everything from: the Snakefile's own, or a remote source's export.
if Path(workflow.snakefile).is_file():
    MUSCLECOG_DIR = Path(workflow.snakefile).resolve().parent
else:
    # A module read from a git source (github(...), gitlab(...), gitfile(...)): its commit is exported once with
    # `git archive` to .snakemake/musclecog-source/<commit>/ in the working directory, so that the library,
    # rules, schemas and resources are files on this machine (SLURM jobs reuse the folder). Written inline: the
    # library cannot be imported before this, and Snakemake's lint wants no functions beside rules.
    import io
    import json
    import shutil
    import subprocess
    import tarfile
    import tempfile

    from snakemake.sourcecache import HostingProviderFile, LocalGitFile

    _source = workflow.included_stack[-1]  # this Snakefile, as Snakemake read it
    _uri = _source.get_path_or_uri(secret_free=True)
    if isinstance(_source, LocalGitFile):
        _git = ["git", "-C", str(_source.repo_path)]
    elif isinstance(_source, HostingProviderFile):
        _source.fetch_if_required()  # Snakemake's bare clone of the hosted repository
        _git = ["git", "-C", str(_source.hosted_repo.repo_clone)]
    else:
        sys.exit(
            f"musclecog: this workflow was loaded from {_uri}, which is neither a folder on this machine nor a "
            "git source (github(...), gitlab(...), gitfile(...)). Give the module a git source with a tag, or "
            'clone the repository and use `snakefile: "<clone>/Snakefile"` (README: Installing and deploying).'
        )
    try:
        _commit = subprocess.run(
            [*_git, "rev-parse", "--verify", f"{_source.ref}^{{commit}}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        _root = Path(".snakemake", "musclecog-source", _commit).resolve()
        if not _root.is_dir():
            _root.parent.mkdir(parents=True, exist_ok=True)
            _staging = Path(tempfile.mkdtemp(prefix=f"{_commit}.", dir=_root.parent))
            _tar = subprocess.run(
                [*_git, "archive", "--format=tar", _commit],
                check=True,
                capture_output=True,
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(_tar)) as _archive:
                _archive.extractall(_staging, filter="data")
            _tree = subprocess.run(
                [*_git, "ls-tree", "-r", "-z", _commit],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            # git's blob id of every regular file, so that provenance can tell an edited export (dirty)
            _blobs = {
                _entry.split("\t", 1)[1]: _entry.split()[2]
                for _entry in filter(None, _tree.split("\0"))
                if _entry.split()[1] == "blob" and not _entry.startswith("120000")
            }
            (_staging / "MUSCLECOG_SOURCE.json").write_text(
                json.dumps(
                    {
                        "uri": _uri,
                        "ref": _source.ref,
                        "commit": _commit,
                        "blobs": _blobs,
                    },
                    indent=1,
                )
                + "\n"
            )
            try:
                _staging.rename(_root)  # atomic: a folder that exists is complete
            except OSError:  # another process (a parallel SLURM job) exported it first
                shutil.rmtree(_staging, ignore_errors=True)
    except (subprocess.CalledProcessError, OSError, tarfile.TarError) as _exc:
        _detail = getattr(_exc, "stderr", None) or str(_exc)
        if isinstance(_detail, bytes):
            _detail = _detail.decode(errors="replace")
        sys.exit(
            f"musclecog: could not export the workflow source {_uri} (ref {_source.ref}): {_detail.strip()}"
        )
    MUSCLECOG_DIR = _root / Path(_source.path).parent


# The library this workflow was written with: its own src/ (a clone needs no install step), put first on
# sys.path and on PYTHONPATH so that rule scripts (separate Python processes, also on a cluster) import it.
MUSCLECOG_SRC = MUSCLECOG_DIR / "src"
if (MUSCLECOG_SRC / "musclecog" / "__init__.py").is_file():
    sys.path.insert(0, str(MUSCLECOG_SRC))
    os.environ.update(
        PYTHONPATH=os.pathsep.join(
            [str(MUSCLECOG_SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    )

from musclecog.config import refuse_code_in_files

# A config is data: refuse YTE templating and YAML tags (profiles/default already checks before Snakemake
# reads a --configfile; this covers the default config and runs with --workflow-profile none).
refuse_code_in_files(
    workflow.config_settings.configfiles
    or [str(MUSCLECOG_DIR / "config" / "config.yaml")]
)

if not workflow.config_settings.configfiles:

    configfile: str(MUSCLECOG_DIR / "config" / "config.yaml")


report: str(MUSCLECOG_DIR / "workflow" / "report" / "workflow.rst")


include: str(MUSCLECOG_DIR / "workflow" / "rules" / "common.smk")
include: str(MUSCLECOG_DIR / "workflow" / "rules" / "mr_common.smk")
include: str(MUSCLECOG_DIR / "workflow" / "rules" / "cohorts.smk")
include: str(MUSCLECOG_DIR / "workflow" / "rules" / "analyses.smk")
include: str(MUSCLECOG_DIR / "workflow" / "rules" / "mr.smk")
include: str(MUSCLECOG_DIR / "workflow" / "rules" / "reproduce.smk")
include: str(MUSCLECOG_DIR / "workflow" / "rules" / "robustness.smk")
include: str(MUSCLECOG_DIR / "workflow" / "rules" / "triangulation.smk")


rule all:
    default_target: True
    input:
        get_final_outputs(),
