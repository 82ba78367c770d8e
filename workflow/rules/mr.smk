# Mendelian randomization: each GWAS trait is read and standardised once (results/gwas/{trait}.parquet);
# each directed exposure__outcome pair is one job (instruments -> harmonise -> estimators -> tables); the figures
# of every pair are drawn from those tables in one job (rule mr_figures), so a new pair costs only its tables.
# Input functions and configuration checks: workflow/rules/mr_common.smk.


# A synthetic trait is simulated and standardised in one job (one Python process instead of two; the raw file
# stays, as a real trait's would); standardise_gwas reads and standardises the traits with a `path:`.
rule simulate_gwas:
    output:
        **gwas_outputs("{trait}"),
        raw=f"{OUT}/gwas/raw/{{trait}}.tsv.gz",
        truth=report(
            f"{OUT}/gwas/{{trait}}.truth.tsv",
            caption="../report/mr_truth.rst",
            category="Mendelian randomization",
            subcategory="GWAS",
        ),
    log:
        simulate=f"{OUT}/logs/gwas/{{trait}}.simulate.log",
        standardise=f"{OUT}/logs/gwas/{{trait}}.standardise.log",
    benchmark:
        f"{OUT}/benchmarks/gwas/{{trait}}.simulate.tsv"
    wildcard_constraints:
        trait=names_regex(SIM_TRAITS),
    params:
        simulate=get_gwas_entry,
        seed=get_gwas_seed,
    script:
        "../scripts/simulate_gwas.py"


rule standardise_gwas:
    input:
        get_gwas_file,
    output:
        **gwas_outputs("{trait}"),
    log:
        standardise=f"{OUT}/logs/gwas/{{trait}}.standardise.log",
    benchmark:
        f"{OUT}/benchmarks/gwas/{{trait}}.standardise.tsv"
    wildcard_constraints:
        trait=names_regex(set(GWAS) - set(SIM_TRAITS)),
    # one core each: decompression (one thread) overlaps the CSV parse, so a job uses about 1.3 cores and two
    # traits' jobs run side by side on two cores (benchmarks/bench_mr_genomewide.py)
    threads: 1
    params:
        spec=get_gwas_entry,
    script:
        "../scripts/standardise_gwas.py"


rule mr_pair:
    input:
        exposure=get_pair_exposure,
        outcome=get_pair_outcome,
    output:
        **mr_pair_outputs(MR_TABLES),
    log:
        f"{OUT}/logs/mr/{{pair}}.log",
    benchmark:
        f"{OUT}/benchmarks/mr/{{pair}}.tsv"
    wildcard_constraints:
        pair=names_regex(GWAS_PAIRS),
    params:
        spec=get_pair_spec,
        settings=get_pair_settings,
        seed=get_pair_seed,
        workdir=f"{OUT}/mr/{{pair}}/plink_tmp",
    script:
        "../scripts/run_mr_pair.py"


rule mr_pair_multivariable:
    input:
        exposure=get_pair_exposure,
        outcome=get_pair_outcome,
        adjust=get_pair_adjust,
    output:
        **mr_pair_outputs(MR_TABLES + ["multivariable", "multivariable_harmonised"]),
    log:
        f"{OUT}/logs/mr/{{pair}}.log",
    benchmark:
        f"{OUT}/benchmarks/mr/{{pair}}.tsv"
    wildcard_constraints:
        pair=names_regex(GWAS_MULTIVARIABLE_PAIRS),
    params:
        spec=get_pair_spec,
        settings=get_pair_settings,
        seed=get_pair_seed,
        workdir=f"{OUT}/mr/{{pair}}/plink_tmp",
    script:
        "../scripts/run_mr_pair.py"


rule mr_harmonised:
    input:
        harmonised=get_harmonised_table,
    output:
        **mr_pair_outputs(MR_TABLES),
    log:
        f"{OUT}/logs/mr/{{pair}}.log",
    benchmark:
        f"{OUT}/benchmarks/mr/{{pair}}.tsv"
    wildcard_constraints:
        pair=names_regex(HARMONISED_PAIRS),
    params:
        spec=get_pair_spec,
        settings=get_pair_settings,
        seed=get_pair_seed,
    script:
        "../scripts/run_mr_pair.py"


rule mr_harmonised_multivariable:
    input:
        harmonised=get_harmonised_table,
    output:
        **mr_pair_outputs(MR_TABLES + ["multivariable"]),
    log:
        f"{OUT}/logs/mr/{{pair}}.log",
    benchmark:
        f"{OUT}/benchmarks/mr/{{pair}}.tsv"
    wildcard_constraints:
        pair=names_regex(MULTIVARIABLE_PAIRS),
    params:
        spec=get_pair_spec,
        settings=get_pair_settings,
        seed=get_pair_seed,
    script:
        "../scripts/run_mr_pair.py"


if MR_JOBS:

    rule mr_figures:
        input:
            **mr_figure_inputs(),
        output:
            **mr_figure_outputs(),
        log:
            f"{OUT}/logs/mr/figures.log",
        benchmark:
            f"{OUT}/benchmarks/mr/figures.tsv"
        # two: the figures are drawn by two processes when the pair jobs are done (benchmarks/bench_mr_genomewide.py)
        threads: 2
        params:
            pairs=sorted(MR_JOBS),
            figures=list(MR_FIGURE_KEYS.values()),
        script:
            "../scripts/draw_mr_figures.py"
