# Configuration, validation and input functions shared by every stage.
import json
import os
import sys
from pathlib import Path

from datetime import datetime, timezone
from types import SimpleNamespace

from snakemake.iocontainers import Wildcards

from musclecog.analyses import INPUT_READERS, analysis_input
from musclecog.config import load_schema, validate_config
from musclecog.disclosure import min_cell_of
from musclecog.errors import ConfigError, MusclecogError
from musclecog.reproduce import load_targets, parse_mapping, required_sources
from musclecog.robustness import OBSERVATIONAL_TYPES
from musclecog.seeds import derive_seed
from musclecog.triangulation import parse_rows as parse_triangulation
from musclecog.triangulation import required_sources as triangulation_sources

# One BLAS thread per job unless the user says otherwise: jobs already run in parallel.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

SCHEMA_DIR = MUSCLECOG_DIR / "workflow" / "schemas"

# Cluster runs (profiles/slurm, docs/slurm.md): before anything is submitted, name the setting to fill in.
_SLURM_PARTITION = (workflow.resource_settings.default_resources or {}).get(
    "slurm_partition"
)
if _SLURM_PARTITION is not None and not workflow.remote_exec:
    from shutil import which as _which

    if str(_SLURM_PARTITION.raw).strip("'\" ") in ("", "FILL_IN_PARTITION"):
        sys.exit(
            "musclecog ConfigError: no SLURM partition named. Fill in `default-resources: slurm_partition:` "
            f"in your SLURM profile (profiles/slurm/config.yaml; now {_SLURM_PARTITION.raw!r}) with a "
            "partition of your cluster (`sinfo -s` lists them; the default one is marked *)."
        )
    if _which("sbatch") is None or _which("squeue") is None:
        sys.exit(
            "musclecog ConfigError: the SLURM profile is in use but SLURM's sbatch/squeue are not on PATH. "
            "Run Snakemake on the cluster's login node (or `module load slurm` first), or run locally "
            "without the SLURM profile (`snakemake --cores N`)."
        )

try:
    CONFIG = validate_config(config, SCHEMA_DIR, base_dir=Path.cwd())
except ConfigError as exc:
    sys.exit(f"musclecog ConfigError: {exc}")

OUT = CONFIG.get("results_dir", "results")
COHORTS = CONFIG.get("cohorts") or {}
ANALYSES = CONFIG.get("analyses") or {}
try:
    _TARGETS = load_targets(CONFIG["targets"]) if CONFIG.get("targets") else None
    REPRODUCTION = (
        parse_mapping(CONFIG.get("reproduction"), _TARGETS)
        if _TARGETS is not None
        else {}
    )
    REPLICATION = (
        parse_mapping(CONFIG.get("replication"), _TARGETS, "replication")
        if _TARGETS is not None
        else {}
    )
    TRIANGULATION = parse_triangulation(CONFIG.get("triangulation"))
except MusclecogError as exc:
    sys.exit(f"musclecog {type(exc).__name__}: {exc}")
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


def get_cohort_priority(wildcards):
    """Cohorts with more analyses first: their fits (one job per cohort by default) take longest."""
    return sum(entry.get("cohort") == wildcards.cohort for entry in ANALYSES.values())


def get_cohort_tables(wildcards):
    return [table["path"] for table in COHORTS[wildcards.cohort].get("tables", [])]


# How analyses become jobs (`fit_jobs`, docs/slurm.md): per_cohort, one job per cohort fitting its analyses in
# one process (rules fit_cohort_<job>, workflow/rules/analyses.smk), where cohorts naming the same `fit_job`
# share one job; per_analysis, one fit_analysis job each. An analysis that reads no cohort table (a
# meta-analysis) is always a fit_analysis job of its own.
FIT_JOBS = CONFIG.get(
    "fit_jobs",
    load_schema(SCHEMA_DIR / "config.schema.yaml")["properties"]["fit_jobs"]["default"],
)


def fit_batches():
    """Fit job -> {cohort: its analyses in config order}: the cohorts one fit_cohort_<job> job fits, one after
    the other (a cohort's `fit_job`, by default its own name); empty when per_analysis.
    """
    batches = {}
    if FIT_JOBS != "per_cohort":
        return batches
    for name, entry in ANALYSES.items():
        cohort = entry.get("cohort")
        if entry["type"] not in INPUT_READERS and cohort in COHORTS:
            job = COHORTS[cohort].get("fit_job", cohort)
            batches.setdefault(job, {}).setdefault(cohort, []).append(name)
    return batches


FIT_BATCHES = fit_batches()
# Synthetic cohorts with a cohort job are simulated in that job (fit_cohort_<job>), as starting a second
# Python process would cost more than the simulation; the others by the simulate_cohort rule.
SIMULATED_IN_FIT = sorted(
    {cohort for cohorts in FIT_BATCHES.values() for cohort in cohorts}
    & set(SIM_COHORTS)
)
SINGLE_ANALYSES = sorted(
    set(ANALYSES)
    - {
        name
        for cohorts in FIT_BATCHES.values()
        for names in cohorts.values()
        for name in names
    }
)


def get_analysis_spec(wildcards):
    return ANALYSES[wildcards.analysis]


def get_analysis_cohort(wildcards):
    # a cohort table, or a meta-analysis' study table
    entry = ANALYSES[wildcards.analysis]
    return analysis_input(
        entry, f"{OUT}/cohorts/{entry.get('cohort')}.parquet", f"{OUT}/estimates"
    )


def get_analysis_seed(wildcards):
    return derive_seed(CONFIG["seed"], "analysis", wildcards.analysis)


def get_analysis_survey(wildcards):
    cohort = ANALYSES[wildcards.analysis].get("cohort")
    return COHORTS[cohort].get("survey") if cohort in COHORTS else None


def analysis_paths(name):
    """The files analysis `name` writes, by kind (`name` may be the wildcard "{analysis}")."""
    return dict(
        table=f"{OUT}/estimates/{name}.tsv",
        flow=f"{OUT}/estimates/{name}.flow.tsv",
        figure=f"{OUT}/figures/{name}.png",
        svg=f"{OUT}/figures/{name}.svg",
        table2=f"{OUT}/manuscript/{name}.table2.tsv",
        table2_html=f"{OUT}/manuscript/{name}.table2.html",
        table2_docx=f"{OUT}/manuscript/{name}.table2.docx",
    )


def analysis_log(name):
    return f"{OUT}/logs/estimates/{name}.log"


# the report's entries of one analysis: its section (subcategory) of the Analyses category
REPORT_CAPTIONS = dict(
    table="estimates.rst",
    flow="analysis_flow.rst",
    figure="figure.rst",
    table2_html="table2.rst",
)
# A caption reads its analysis (cohort) from the job's {analysis} ({cohort}) wildcard; a cohort's job has
# none, so each of its analyses (and the cohort itself) gets a copy of the caption naming it (written when
# missing or changed; read by --report).
CAPTION_DIR = Path(".snakemake", "musclecog", "captions").resolve()


def named_caption(template, wildcard, name):
    """Caption `template` (workflow/report/) with the `wildcard` wildcard fixed to `name`; "{<wildcard>}":
    the template itself."""
    if name == f"{{{wildcard}}}":
        return f"../report/{template}"
    text = (MUSCLECOG_DIR / "workflow" / "report" / template).read_text()
    text = text.replace(f"snakemake.wildcards.{wildcard}", json.dumps(name))
    path = CAPTION_DIR / f"{wildcard}.{name}.{template}"
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(text)
        partial.replace(path)
    return str(path)


def analysis_outputs(name):
    """Output files of analysis `name`, those shown in the report wrapped in report()."""
    outputs = analysis_paths(name)
    for kind, template in REPORT_CAPTIONS.items():
        outputs[kind] = report(
            outputs[kind],
            caption=named_caption(template, "analysis", name),
            category="Analyses",
            subcategory=name,
        )
    return outputs


# the report's entries of one cohort (subcategory: the cohort, in the Cohorts category)
COHORT_CAPTIONS = dict(
    flow="flow.rst",
    table1="table1.rst",
    truth="truth.rst",
    table1_html="table1_rendered.rst",
)


def cohort_outputs(name, synthetic):
    """Output files of cohort `name` (may be the wildcard "{cohort}"): its table, flow, Table 1 (and the truth
    table of a `synthetic` one), those shown in the report wrapped in report()."""
    outputs = dict(
        data=f"{OUT}/cohorts/{name}.parquet",
        flow=f"{OUT}/cohorts/{name}.flow.tsv",
        table1=f"{OUT}/cohorts/{name}.table1.tsv",
        truth=f"{OUT}/cohorts/{name}.truth.tsv",
        table1_paper=f"{OUT}/manuscript/{name}.table1.tsv",
        table1_html=f"{OUT}/manuscript/{name}.table1.html",
        table1_docx=f"{OUT}/manuscript/{name}.table1.docx",
    )
    if not synthetic:
        del outputs["truth"]
    for kind, template in COHORT_CAPTIONS.items():
        if kind in outputs:
            outputs[kind] = report(
                outputs[kind],
                caption=named_caption(template, "cohort", name),
                category="Cohorts",
                subcategory=name,
            )
    return outputs


def cohort_log(name):
    return f"{OUT}/logs/cohorts/{name}.log"


def cohort_build(name):
    """What a cohort job needs to simulate synthetic cohort `name` first, and where it writes."""
    wildcards = SimpleNamespace(cohort=name)
    return dict(
        cohort=name,
        spec=get_cohort_spec(wildcards),
        seed=get_cohort_seed(wildcards),
        outputs={
            kind: str(path)
            for kind, path in cohort_outputs(name, synthetic=True).items()
        },
        log=cohort_log(name),
    )


def analysis_fit(name):
    """What the script needs to fit analysis `name` and where it writes (the rule's outputs and log)."""
    wildcards = SimpleNamespace(analysis=name)
    return dict(
        analysis=name,
        spec=get_analysis_spec(wildcards),
        seed=get_analysis_seed(wildcards),
        survey=get_analysis_survey(wildcards),
        outputs=analysis_paths(name),
        log=analysis_log(name),
    )


def cohort_fits(simulated, names, table):
    """What a fit job needs for analyses `names` of one cohort: how to simulate the cohort first (synthetic
    cohort `simulated`, else None) and the table the analyses read (`table`: a path; for a meta-analysis's
    pool, the list of the pooled analyses' estimates)."""
    return dict(
        build=None if simulated is None else cohort_build(simulated),
        table=str(table) if isinstance(table, (str, Path)) else [str(t) for t in table],
        fits=[analysis_fit(name) for name in names],
    )


def batch_resources(names, simulated=()):
    """Resources of a job fitting `names` from those of fit_analysis for each analysis (profile
    set-resources, e.g. profiles/slurm), and of simulate_cohort for each cohort in `simulated` when the job
    simulates them first: the sum of the runtimes, the largest of every other value.
    """
    overwrite = workflow.resource_settings.overwrite_resources
    jobs = [("fit_analysis", {"analysis": name}) for name in names]
    jobs += [("simulate_cohort", {"cohort": cohort}) for cohort in simulated]
    keys = {key for rule, _ in jobs for key in overwrite.get(rule, {})}

    def combined(key):
        def evaluate(wildcards, input, attempt):
            values = [
                workflow.get_rule(rule)
                .expand_resources(Wildcards(fromdict=fromdict), input, attempt)
                .get(key)
                for rule, fromdict in jobs
            ]
            values = [value for value in values if value is not None]
            if not values:
                return None
            if key == "runtime":
                return sum(values)
            if all(isinstance(value, (int, float)) for value in values):
                return max(values)
            return values[0]

        return evaluate

    return {key: combined(key) for key in sorted(keys)}


def robustness_analyses():
    """Analyses whose exposure estimates get E-values (observational types)."""
    return sorted(
        name
        for name, entry in ANALYSES.items()
        if entry["type"] in OBSERVATIONAL_TYPES and entry.get("cohort") in COHORTS
    )


def get_robustness_estimates(wildcards):
    return [f"{OUT}/estimates/{name}.tsv" for name in robustness_analyses()]


def get_robustness_cohort_paths(wildcards=None):
    cohorts = sorted({ANALYSES[name]["cohort"] for name in robustness_analyses()})
    return {name: f"{OUT}/cohorts/{name}.parquet" for name in cohorts}


def get_robustness_cohorts(wildcards):
    return sorted(get_robustness_cohort_paths().values())


def get_robustness_outputs():
    return [f"{OUT}/robustness.tsv"] if robustness_analyses() else []


def get_triangulation_estimates(wildcards):
    """Tidy estimates of the analyses and MR pairs the triangulation rows read."""
    wanted = triangulation_sources(TRIANGULATION)
    paths = get_reproduction_estimate_paths()
    return sorted(
        paths[f"{kind}:{name}"]
        for kind, names in wanted.items()
        for name in names
        if f"{kind}:{name}" in paths
    )


def get_triangulation_cohort_paths(wildcards=None):
    """Cohort tables of the triangulation's analyses (for SDs and group means)."""
    names = triangulation_sources(TRIANGULATION)["analysis"]
    cohorts = sorted({ANALYSES[n]["cohort"] for n in names if n in ANALYSES})
    return {
        name: f"{OUT}/cohorts/{name}.parquet" for name in cohorts if name in COHORTS
    }


def get_triangulation_harmonised_paths(wildcards=None):
    """Harmonised instrument tables of the triangulation's MR pairs (GWAS units and sample sizes)."""
    pairs = triangulation_sources(TRIANGULATION)["mr_pair"]
    return {pair: f"{OUT}/mr/{pair}/harmonised.tsv" for pair in pairs}


def get_triangulation_inputs(wildcards):
    return (
        get_triangulation_estimates(wildcards)
        + sorted(get_triangulation_cohort_paths().values())
        + sorted(get_triangulation_harmonised_paths().values())
    )


def get_triangulation_outputs():
    if not TRIANGULATION:
        return []
    return [f"{OUT}/triangulation.tsv", f"{OUT}/figures/triangulation.png"]


def get_min_cell(wildcards):
    return min_cell_of(CONFIG)


def get_cohort_outputs():
    outputs = []
    for name in COHORTS:
        outputs += [f"{OUT}/cohorts/{name}.parquet", f"{OUT}/cohorts/{name}.flow.tsv"]
        outputs.append(f"{OUT}/cohorts/{name}.table1.tsv")
        outputs.append(f"{OUT}/manuscript/{name}.table1.docx")
    outputs += [f"{OUT}/cohorts/{name}.truth.tsv" for name in SIM_COHORTS]
    return outputs


def get_analysis_outputs():
    return (
        [f"{OUT}/estimates/{name}.tsv" for name in ANALYSES]
        + [f"{OUT}/estimates/{name}.flow.tsv" for name in ANALYSES]
        + [f"{OUT}/figures/{name}.png" for name in ANALYSES]
        + [f"{OUT}/manuscript/{name}.table2.docx" for name in ANALYSES]
    )


def mr_pair_dirs():
    """Result folders of the MR pairs (exposure__outcome, both directions when bidirectional)."""
    return list(MR_JOBS)  # workflow/rules/mr.smk: pair_jobs() of the mr section


def get_reproduction_estimate_paths(wildcards=None):
    """Tidy estimates of every configured analysis and MR pair, keyed as the reproduction mapping names them."""
    paths = {f"analysis:{name}": f"{OUT}/estimates/{name}.tsv" for name in ANALYSES}
    paths.update(
        {f"mr_pair:{pair}": f"{OUT}/mr/{pair}/estimates.tsv" for pair in mr_pair_dirs()}
    )
    return paths


def get_reproduction_estimates(wildcards):
    """The estimates the reproduction mapping reads (only those this config produces)."""
    wanted = required_sources(REPRODUCTION, REPLICATION)
    paths = get_reproduction_estimate_paths()
    return sorted(
        paths[f"{kind}:{name}"]
        for kind, names in wanted.items()
        for name in names
        if f"{kind}:{name}" in paths
    )


def get_truth_table_paths(wildcards=None):
    """Truth tables of synthetic cohorts and synthetic GWAS traits, by name."""
    paths = {name: f"{OUT}/cohorts/{name}.truth.tsv" for name in SIM_COHORTS}
    paths.update({trait: f"{OUT}/gwas/{trait}.truth.tsv" for trait in SIM_TRAITS})
    return paths


def get_truth_tables(wildcards):
    return sorted(get_truth_table_paths().values())


def get_reproduction_outputs():
    if not CONFIG.get("targets"):
        return []
    return [f"{OUT}/reproduction.tsv", f"{OUT}/figures/reproduction.png"]


def get_result_outputs(wildcards=None):
    """Every final table and figure except the provenance record."""
    return (
        get_cohort_outputs()
        + get_analysis_outputs()
        + get_mr_outputs()
        + get_reproduction_outputs()
        + get_robustness_outputs()
        + get_triangulation_outputs()
    )


def get_provenance_input_files(wildcards=None):
    """Input data and resource files whose checksums the provenance records."""
    files = [path for name in COHORTS for path in get_cohort_tables_by_name(name)]
    files += [
        trait["path"]
        for trait in (CONFIG.get("gwas") or {}).values()
        if "path" in trait
    ]
    files += [str(p) for p in sorted((MUSCLECOG_DIR / "resources").glob("*.tsv"))]
    files += [
        entry["studies"]["path"] for entry in ANALYSES.values() if "studies" in entry
    ]
    files += [CONFIG["targets"]] if CONFIG.get("targets") else []
    files += [str(path) for path in workflow.configfiles]
    return files


def get_cohort_tables_by_name(name):
    return [table["path"] for table in COHORTS[name].get("tables", [])]


def get_final_outputs():
    return get_result_outputs() + [
        f"{OUT}/provenance.json",
        f"{OUT}/report/run.html",
        f"{OUT}/report/strobe.html",
    ]


onstart:
    Path(OUT, "logs").mkdir(parents=True, exist_ok=True)
    Path(OUT, "logs", "run_started.txt").write_text(
        datetime.now(timezone.utc).isoformat(timespec="seconds") + "\n"
    )
