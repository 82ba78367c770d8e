# musclecog: the epidemiology of the muscle-brain axis in ageing, reproducibly.
# Default run: `snakemake --cores all` on config/config.yaml (synthetic cohorts, no download).
# Own data: `snakemake --cores all --configfile config/examples/<your>.yaml` (see config/README.md):
# a config given with --configfile REPLACES the default one (it is not merged into it).
# Used as a module (`module musclecog: snakefile: "<clone>/Snakefile"`) or deployed with snakedeploy, every
# path is resolved from this file's folder (MUSCLECOG_DIR), never from the working directory. (In a module,
# workflow.basedir is the folder of the user's Snakefile; workflow.snakefile is the file being parsed.)
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# A remote module source has no folder to read from: say what works instead of failing later.
if not Path(workflow.snakefile).is_file():
    sys.exit(
        f"musclecog: this workflow was loaded from {workflow.snakefile}, not from a folder on this machine. "
        "It reads its library, schemas and resources from its own folder, so a remote module source "
        "(github(...), gitfile(...), a URL) is not supported: clone it (git clone <repository> musclecog && "
        'git -C musclecog checkout <tag>) and give the module `snakefile: "<clone>/Snakefile"` '
        "(README: Installing and deploying)."
    )
MUSCLECOG_DIR = Path(workflow.snakefile).resolve().parent
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


include: "workflow/rules/common.smk"
include: "workflow/rules/mr_common.smk"
include: "workflow/rules/cohorts.smk"
include: "workflow/rules/analyses.smk"
include: "workflow/rules/mr.smk"
include: "workflow/rules/reproduce.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/triangulation.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
