# Configured analyses: cohort table -> tidy estimates, flow table, figure and Table 2 per analysis.
# The analysis type selects the library function (musclecog.analyses.run_analysis).
# `fit_jobs: per_cohort` (default): one job per cohort, rule fit_cohort_<cohort>, fitting its analyses one
# after the other in one Python process (libraries imported once), after simulating the cohort first when it
# is synthetic (its rule simulate_cohort then does not run); cohorts naming the same `fit_job` share one job,
# rule fit_cohort_<fit_job>, cohort after cohort. `per_analysis`: one fit_analysis job per analysis. Same
# files and logs either way; analyses with no cohort table are fit_analysis jobs.
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
        cohorts=lambda wildcards, input: [
            cohort_fits(None, [wildcards.analysis], table=input.cohort)
        ],
        min_cell=get_min_cell,
    script:
        "../scripts/fit_analysis.py"


for _job, _cohorts in FIT_BATCHES.items():
    # a synthetic cohort is simulated in this job (no input; its files are outputs "<cohort>:cohort:<kind>")
    _simulated = [cohort for cohort in _cohorts if cohort in SIMULATED_IN_FIT]
    _names = [name for names in _cohorts.values() for name in names]

    rule:
        name:
            f"fit_cohort_{_job}"
        input:
            **{
                f"{cohort}:cohort": f"{OUT}/cohorts/{cohort}.parquet"
                for cohort in _cohorts
                if cohort not in _simulated
            },
        output:
            **{
                f"{cohort}:cohort:{kind}": path
                for cohort in _simulated
                for kind, path in cohort_outputs(cohort, synthetic=True).items()
            },
            **{
                f"{name}.{kind}": path
                for name in _names
                for kind, path in analysis_outputs(name).items()
            },
        log:
            **{f"{cohort}:cohort:log": cohort_log(cohort) for cohort in _simulated},
            **{name: analysis_log(name) for name in _names},
        benchmark:
            f"{OUT}/benchmarks/fits/{_job}.tsv"
        priority: len(_names)
        resources:
            **batch_resources(_names, _simulated),
        params:
            cohorts=[
                cohort_fits(
                    cohort if cohort in _simulated else None,
                    names,
                    f"{OUT}/cohorts/{cohort}.parquet",
                )
                for cohort, names in _cohorts.items()
            ],
            min_cell=min_cell_of(CONFIG),
        script:
            "../scripts/fit_analysis.py"
