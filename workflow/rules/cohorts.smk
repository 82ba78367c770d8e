# Build each cohort's analysis-ready table: simulate (synthetic) or read, join, map and clean (real),
# and its Table 1 laid out for a paper (a view of table1.tsv: TSV, HTML and .docx) in the same job.


rule simulate_cohort:
    output:
        data=f"{OUT}/cohorts/{{cohort}}.parquet",
        flow=report(
            f"{OUT}/cohorts/{{cohort}}.flow.tsv",
            caption="../report/flow.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
        table1=report(
            f"{OUT}/cohorts/{{cohort}}.table1.tsv",
            caption="../report/table1.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
        truth=report(
            f"{OUT}/cohorts/{{cohort}}.truth.tsv",
            caption="../report/truth.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
        table1_paper=f"{OUT}/manuscript/{{cohort}}.table1.tsv",
        table1_html=report(
            f"{OUT}/manuscript/{{cohort}}.table1.html",
            caption="../report/table1_rendered.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
        table1_docx=f"{OUT}/manuscript/{{cohort}}.table1.docx",
    log:
        f"{OUT}/logs/cohorts/{{cohort}}.log",
    benchmark:
        f"{OUT}/benchmarks/cohorts/{{cohort}}.tsv"
    wildcard_constraints:
        cohort=names_regex(SIM_COHORTS),
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
        data=f"{OUT}/cohorts/{{cohort}}.parquet",
        flow=report(
            f"{OUT}/cohorts/{{cohort}}.flow.tsv",
            caption="../report/flow.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
        table1=report(
            f"{OUT}/cohorts/{{cohort}}.table1.tsv",
            caption="../report/table1.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
        table1_paper=f"{OUT}/manuscript/{{cohort}}.table1.tsv",
        table1_html=report(
            f"{OUT}/manuscript/{{cohort}}.table1.html",
            caption="../report/table1_rendered.rst",
            category="Cohorts",
            subcategory="{cohort}",
        ),
        table1_docx=f"{OUT}/manuscript/{{cohort}}.table1.docx",
    log:
        f"{OUT}/logs/cohorts/{{cohort}}.log",
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
