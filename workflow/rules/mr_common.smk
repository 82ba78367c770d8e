# Mendelian randomization: configuration checks and input functions of workflow/rules/mr.smk.
from musclecog.config import substitute_placeholders
from musclecog.mr.analysis import MRSettings
from musclecog.mr.pipeline import (
    adjust_columns,
    adjust_traits,
    pair_jobs,
    read_harmonised,
)
from musclecog.simulate.gwas import GWAS_FAMILY

GWAS = CONFIG.get("gwas") or {}
SIM_TRAITS = sorted(name for name, spec in GWAS.items() if "simulate" in spec)
MR_TABLES = [
    "harmonised",
    "instruments",
    "estimates",
    "heterogeneity",
    "pleiotropy",
    "directionality",
    "single_snp",
    "leave_one_out",
    "presso",
    "flow",
]
MR_FIGURES = ["scatter", "forest", "funnel", "leave_one_out_plot"]
# the figure (musclecog.plots.mr.all_figures) of each file of MR_FIGURES
MR_FIGURE_KEYS = dict(zip(MR_FIGURES, ["scatter", "forest", "funnel", "leave_one_out"]))
# the tables the figures are drawn from (musclecog.plots.mr.FIGURE_TABLES)
MR_FIGURE_TABLES = [
    "harmonised",
    "estimates",
    "pleiotropy",
    "single_snp",
    "leave_one_out",
]


def mr_pair_outputs(tables):
    """The output files of one pair job: its tables (TSV), all in the report (its figures: rule mr_figures)."""
    return {
        name: report(
            f"{OUT}/mr/{{pair}}/{name}.tsv",
            caption=f"../report/mr_{'estimates' if name == 'estimates' else 'table'}.rst",
            category="Mendelian randomization",
            subcategory="{pair}",
        )
        for name in tables
    }


def mr_figure_inputs():
    """The tables of every pair that rule mr_figures draws from, keyed ``<pair>__<table>``."""
    return {
        f"{pair}__{name}": f"{OUT}/mr/{pair}/{name}.tsv"
        for pair in MR_JOBS
        for name in MR_FIGURE_TABLES
    }


def mr_figure_outputs():
    """The figures (PNG) of every pair, keyed ``<pair>__<figure>``, in the report under the pair."""
    return {
        f"{pair}__{MR_FIGURE_KEYS[name]}": report(
            f"{OUT}/mr/{pair}/{name}.png",
            caption="../report/mr_figure.rst",
            category="Mendelian randomization",
            subcategory=pair,
        )
        for pair in MR_JOBS
        for name in MR_FIGURES
    }


def check_mr_config():
    """Fail at start-up on anything the pair jobs would only find later."""
    jobs = pair_jobs(CONFIG.get("mr"))
    for key, job in jobs.items():
        MRSettings.from_config(get_mr_settings_for(job))
        if "harmonised" in job:
            job["harmonised"] = substitute_placeholders(
                job["harmonised"], CONFIG, f"mr.{job['_entry']}.harmonised"
            )
            if not Path(job["harmonised"]).exists():
                raise ConfigError(
                    f"config: 'mr.{job['_entry']}.harmonised' points to {job['harmonised']!r}, which does not exist"
                )
            read_harmonised(job["harmonised"], job, nrows=0)
        else:
            unknown = [t for t in adjust_traits(job) if t not in GWAS]
            if unknown:
                raise ConfigError(
                    f"config: 'mr.{job['_entry']}.adjust_for' names {unknown}, not traits of the gwas "
                    f"section; defined traits: {sorted(GWAS)}"
                )
            builds = {
                t: GWAS[t].get("build")
                for t in (job["exposure"], job["outcome"], *adjust_traits(job))
            }
            declared = {t: b for t, b in builds.items() if b}
            if len({str(b).lower() for b in declared.values()}) > 1:
                raise ConfigError(
                    f"config: 'mr.{job['_entry']}' pairs traits with different genome builds {declared}; "
                    "lift one GWAS over to the other's build or correct gwas.<trait>.build"
                )
    sims = [GWAS[t]["simulate"] for t in SIM_TRAITS]
    if len({repr((s.get("n_variants"), s.get("params"))) for s in sims}) > 1:
        raise ConfigError(
            "config: the synthetic GWAS traits must share n_variants and params (they are one simulated pair): "
            f"{ {t: GWAS[t]['simulate'] for t in SIM_TRAITS} }"
        )
    return jobs


def get_mr_settings_for(job):
    return {**(CONFIG.get("mr_settings") or {}), **(job.get("settings") or {})}


try:
    MR_JOBS = check_mr_config()
except MusclecogError as exc:
    sys.exit(f"musclecog {type(exc).__name__}: {exc}")
GWAS_PAIRS = sorted(
    key
    for key, job in MR_JOBS.items()
    if "harmonised" not in job and not adjust_traits(job)
)
GWAS_MULTIVARIABLE_PAIRS = sorted(
    key for key, job in MR_JOBS.items() if adjust_traits(job)
)
HARMONISED_PAIRS = sorted(
    key
    for key, job in MR_JOBS.items()
    if "harmonised" in job and not adjust_columns(job)
)
MULTIVARIABLE_PAIRS = sorted(key for key, job in MR_JOBS.items() if adjust_columns(job))


wildcard_constraints:
    trait=names_regex(GWAS),
    pair=names_regex(MR_JOBS),


def get_gwas_entry(wildcards):
    return GWAS[wildcards.trait]


def gwas_outputs(trait):
    """The standardised files of GWAS `trait` (may be the wildcard "{trait}"): parquet and flow table."""
    return dict(
        parquet=f"{OUT}/gwas/{trait}.parquet",
        flow=report(
            f"{OUT}/gwas/{trait}.flow.tsv",
            caption="../report/mr_gwas_flow.rst",
            category="Mendelian randomization",
            subcategory="GWAS",
        ),
    )


def get_gwas_file(wildcards):
    """The GWAS file of a trait with a `path:` (a synthetic one is standardised by rule simulate_gwas)."""
    return GWAS[wildcards.trait]["path"]


def get_gwas_seed(wildcards):
    return derive_seed(CONFIG["seed"], "gwas", GWAS_FAMILY)


def get_pair_spec(wildcards):
    return MR_JOBS[wildcards.pair]


def get_pair_settings(wildcards):
    return get_mr_settings_for(MR_JOBS[wildcards.pair])


def get_pair_seed(wildcards):
    return derive_seed(CONFIG["seed"], "mr", wildcards.pair)


def get_pair_exposure(wildcards):
    return f"{OUT}/gwas/{MR_JOBS[wildcards.pair]['exposure']}.parquet"


def get_pair_outcome(wildcards):
    return f"{OUT}/gwas/{MR_JOBS[wildcards.pair]['outcome']}.parquet"


def get_pair_adjust(wildcards):
    return [f"{OUT}/gwas/{t}.parquet" for t in adjust_traits(MR_JOBS[wildcards.pair])]


def get_harmonised_table(wildcards):
    return MR_JOBS[wildcards.pair]["harmonised"]


def get_mr_outputs():
    outputs = [f"{OUT}/gwas/{trait}.flow.tsv" for trait in GWAS]
    outputs += [f"{OUT}/gwas/{trait}.truth.tsv" for trait in SIM_TRAITS]
    for pair in MR_JOBS:
        outputs += [f"{OUT}/mr/{pair}/{name}.tsv" for name in MR_TABLES]
        outputs += [f"{OUT}/mr/{pair}/{name}.png" for name in MR_FIGURES]
        if pair in MULTIVARIABLE_PAIRS or pair in GWAS_MULTIVARIABLE_PAIRS:
            outputs.append(f"{OUT}/mr/{pair}/multivariable.tsv")
        if pair in GWAS_MULTIVARIABLE_PAIRS:
            outputs.append(f"{OUT}/mr/{pair}/multivariable_harmonised.tsv")
    return outputs
