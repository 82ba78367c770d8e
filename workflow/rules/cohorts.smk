# Build each cohort's analysis-ready table: simulate (synthetic) or read, join, map and clean (real),
# and its Table 1 laid out for a paper (a view of table1.tsv: TSV, HTML and .docx) in the same job.
# A synthetic cohort with a cohort fit job (fit_jobs: per_cohort) is simulated in that job instead
# (workflow/rules/analyses.smk); simulate_cohort builds the others.


rule simulate_cohort:
    output:
        **cohort_outputs("{cohort}", synthetic=True),
    log:
        cohort_log("{cohort}"),
    benchmark:
        f"{OUT}/benchmarks/cohorts/{{cohort}}.tsv"
    wildcard_constraints:
        cohort=names_regex(set(SIM_COHORTS) - set(SIMULATED_IN_FIT)),
    priority: get_cohort_priority
    params:
        spec=get_cohort_spec,
        seed=get_cohort_seed,
        min_cell=get_min_cell,
    script:
        "../scripts/build_cohort.py"


rule ingest_cohort:
    input:
        tables=get_cohort_tables,
    output:
        **cohort_outputs("{cohort}", synthetic=False),
    log:
        cohort_log("{cohort}"),
    benchmark:
        f"{OUT}/benchmarks/cohorts/{{cohort}}.tsv"
    wildcard_constraints:
        cohort=names_regex(REAL_COHORTS),
    priority: get_cohort_priority
    params:
        spec=get_cohort_spec,
        seed=get_cohort_seed,
        min_cell=get_min_cell,
    script:
        "../scripts/build_cohort.py"
