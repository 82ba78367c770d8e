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
        svg=f"{OUT}/figures/{{analysis}}.svg",
        table2=f"{OUT}/manuscript/{{analysis}}.table2.tsv",
        table2_html=report(
            f"{OUT}/manuscript/{{analysis}}.table2.html",
            caption="../report/table2.rst",
            category="Analyses",
            subcategory="{analysis}",
        ),
        table2_docx=f"{OUT}/manuscript/{{analysis}}.table2.docx",
    log:
        f"{OUT}/logs/estimates/{{analysis}}.log",
    benchmark:
        f"{OUT}/benchmarks/estimates/{{analysis}}.tsv"
    params:
        spec=get_analysis_spec,
        seed=get_analysis_seed,
        survey=get_analysis_survey,
        min_cell=get_min_cell,
    script:
        "../scripts/fit_analysis.py"
