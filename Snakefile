# musclecog: the epidemiology of the muscle-brain axis in ageing, reproducibly.
# Default run: `snakemake --cores all` on config/config.yaml (synthetic cohorts, no download).
# Own data: `snakemake --cores all --configfile config/examples/<your>.yaml` (see config/README.md):
# a config given with --configfile REPLACES the default one (it is not merged into it).
from snakemake.utils import min_version

min_version("9.0")

from musclecog.config import refuse_code_in_files

# A config is data: refuse YTE templating and YAML tags (profiles/default already checks before Snakemake
# reads a --configfile; this covers the default config and runs with --workflow-profile none).
refuse_code_in_files(workflow.config_settings.configfiles or ["config/config.yaml"])

if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/mr_common.smk"
include: "workflow/rules/cohorts.smk"
include: "workflow/rules/analyses.smk"
include: "workflow/rules/mr.smk"
include: "workflow/rules/reproduce.smk"
include: "workflow/rules/robustness.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
