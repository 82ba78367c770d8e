# Configuration, validation and input functions shared by every stage.
import sys
from pathlib import Path

from musclecog.config import validate_config
from musclecog.errors import ConfigError
from musclecog.seeds import derive_seed

SCHEMA_DIR = Path(workflow.basedir) / "workflow" / "schemas"

try:
    CONFIG = validate_config(config, SCHEMA_DIR, base_dir=Path.cwd())
except ConfigError as exc:
    sys.exit(f"musclecog ConfigError: {exc}")

OUT = CONFIG.get("results_dir", "results")
COHORTS = CONFIG["cohorts"]
ANALYSES = CONFIG.get("analyses") or {}
SIM_COHORTS = sorted(name for name, spec in COHORTS.items() if "simulate" in spec)
REAL_COHORTS = sorted(name for name, spec in COHORTS.items() if "tables" in spec)
NEVER = "(?!x)x"  # a regex that matches nothing, for an empty list of names


def names_regex(names):
    """Alternation of exact names for a wildcard constraint."""
    return "|".join(sorted(names)) if names else NEVER


wildcard_constraints:
    cohort=names_regex(COHORTS),
    analysis=names_regex(ANALYSES),


def get_cohort_spec(wildcards):
    return COHORTS[wildcards.cohort]


def get_cohort_seed(wildcards):
    return derive_seed(CONFIG["seed"], "cohort", wildcards.cohort)


def get_cohort_tables(wildcards):
    return [table["path"] for table in COHORTS[wildcards.cohort].get("tables", [])]


def get_analysis_spec(wildcards):
    return ANALYSES[wildcards.analysis]


def get_analysis_cohort(wildcards):
    return f"{OUT}/cohorts/{ANALYSES[wildcards.analysis]['cohort']}.parquet"


def get_analysis_seed(wildcards):
    return derive_seed(CONFIG["seed"], "analysis", wildcards.analysis)


def get_analysis_survey(wildcards):
    return COHORTS[ANALYSES[wildcards.analysis]["cohort"]].get("survey")


def get_cohort_outputs():
    outputs = []
    for name in COHORTS:
        outputs += [f"{OUT}/cohorts/{name}.parquet", f"{OUT}/cohorts/{name}.flow.tsv"]
        outputs.append(f"{OUT}/cohorts/{name}.table1.tsv")
    outputs += [f"{OUT}/cohorts/{name}.truth.tsv" for name in SIM_COHORTS]
    return outputs


def get_analysis_outputs():
    return [f"{OUT}/estimates/{name}.tsv" for name in ANALYSES] + [
        f"{OUT}/figures/{name}.png" for name in ANALYSES
    ]


def get_final_outputs():
    return get_cohort_outputs() + get_analysis_outputs()
