# Robustness to unmeasured confounding over the run: E-values of every exposure estimate of the
# observational analyses and Cinelli-Hazlett bounds of the least-squares ones (musclecog.robustness).


rule robustness:
    input:
        estimates=get_robustness_estimates,
        cohorts=get_robustness_cohorts,
    output:
        report(
            f"{OUT}/robustness.tsv",
            caption="../report/robustness.rst",
            category="Robustness",
        ),
    log:
        f"{OUT}/logs/robustness.log",
    benchmark:
        f"{OUT}/benchmarks/robustness.tsv"
    params:
        cohort_paths=get_robustness_cohort_paths,
    script:
        "../scripts/robustness.py"
