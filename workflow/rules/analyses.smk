# Configured analyses: cohort table -> tidy estimates, flow table, figure and Table 2 per analysis.
# The analysis type selects the library function (musclecog.analyses.run_analysis).
# `fit_jobs: per_cohort` (default): one job per cohort, rule fit_cohort_<cohort>, fitting its analyses one
# after the other in one Python process (libraries imported once); `per_analysis`: one fit_analysis job per
# analysis. Same files and logs either way; analyses with no cohort table are fit_analysis jobs.
rule fit_analysis:
    input:
        cohort=get_analysis_cohort,
    output:
        **analysis_outputs("{analysis}"),
    log:
        analysis_log("{analysis}"),
    benchmark:
        f"{OUT}/benchmarks/estimates/{{analysis}}.tsv"
    wildcard_constraints:
        analysis=names_regex(SINGLE_ANALYSES),
    params:
        fits=lambda wildcards: [analysis_fit(wildcards.analysis)],
        min_cell=get_min_cell,
    script:
        "../scripts/fit_analysis.py"


for _cohort, _names in FIT_BATCHES.items():

    rule:
        name:
            f"fit_cohort_{_cohort}"
        input:
            cohort=f"{OUT}/cohorts/{_cohort}.parquet",
        output:
            **{
                f"{name}.{kind}": path
                for name in _names
                for kind, path in analysis_outputs(name).items()
            },
        log:
            **{name: analysis_log(name) for name in _names},
        benchmark:
            f"{OUT}/benchmarks/fits/{_cohort}.tsv"
        priority: len(_names)
        resources:
            **batch_resources(_names),
        params:
            fits=[analysis_fit(name) for name in _names],
            min_cell=min_cell_of(CONFIG),
        script:
            "../scripts/fit_analysis.py"
