# Configured analyses: cohort table -> tidy estimates, flow table, figure and Table 2 per analysis.
# The analysis type selects the library function (musclecog.analyses.run_analysis).
# `fit_jobs: per_cohort` (default): one job per cohort, rule fit_cohort_<cohort>, fitting its analyses one
# after the other in one Python process (libraries imported once), after simulating the cohort first when it
# is synthetic (its rule simulate_cohort then does not run); `per_analysis`: one fit_analysis job per
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
        build=None,
        fits=lambda wildcards: [analysis_fit(wildcards.analysis)],
        min_cell=get_min_cell,
    script:
        "../scripts/fit_analysis.py"


for _cohort, _names in FIT_BATCHES.items():
    # a synthetic cohort is simulated in this job (no input; its files are outputs "cohort:<kind>")
    _simulated = _cohort in SIMULATED_IN_FIT

    rule:
        name:
            f"fit_cohort_{_cohort}"
        input:
            **({} if _simulated else {"cohort": f"{OUT}/cohorts/{_cohort}.parquet"}),
        output:
            **{
                f"cohort:{kind}": path
                for kind, path in (
                    cohort_outputs(_cohort, synthetic=True) if _simulated else {}
                ).items()
            },
            **{
                f"{name}.{kind}": path
                for name in _names
                for kind, path in analysis_outputs(name).items()
            },
        log:
            **({"cohort:log": cohort_log(_cohort)} if _simulated else {}),
            **{name: analysis_log(name) for name in _names},
        benchmark:
            f"{OUT}/benchmarks/fits/{_cohort}.tsv"
        priority: len(_names)
        resources:
            **batch_resources(_names, _cohort if _simulated else None),
        params:
            build=cohort_build(_cohort) if _simulated else None,
            fits=[analysis_fit(name) for name in _names],
            min_cell=min_cell_of(CONFIG),
        script:
            "../scripts/fit_analysis.py"
