# One job per configured analysis: cohort table -> tidy estimates + a figure.
# The analysis type selects the library function (musclecog.analyses.run_analysis).


rule fit_analysis:
    input:
        cohort=get_analysis_cohort,
    output:
        table=report(
            f"{OUT}/estimates/{{analysis}}.tsv",
            caption="../report/estimates.rst",
            category="Analyses",
            subcategory="{analysis}",
        ),
        flow=report(
            f"{OUT}/estimates/{{analysis}}.flow.tsv",
            caption="../report/analysis_flow.rst",
            category="Analyses",
            subcategory="{analysis}",
        ),
        figure=report(
            f"{OUT}/figures/{{analysis}}.png",
            caption="../report/figure.rst",
            category="Analyses",
            subcategory="{analysis}",
        ),
    log:
        f"{OUT}/logs/estimates/{{analysis}}.log",
    benchmark:
        f"{OUT}/benchmarks/estimates/{{analysis}}.tsv"
    conda:
        "../envs/musclecog.yaml"
    params:
        spec=get_analysis_spec,
        seed=get_analysis_seed,
        survey=get_analysis_survey,
        min_cell=get_min_cell,
    script:
        "../scripts/fit_analysis.py"
