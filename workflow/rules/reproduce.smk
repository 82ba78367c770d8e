# The headline: each published number of the review beside ours, a figure, and the run's provenance.


rule reproduce_review:
    input:
        targets=CONFIG.get("targets", []),
        estimates=get_reproduction_estimates,
        truths=get_truth_tables,
    output:
        table=report(
            f"{OUT}/reproduction.tsv",
            caption="../report/reproduction.rst",
            category="Reproduction",
        ),
        figure=report(
            f"{OUT}/figures/reproduction.png",
            caption="../report/reproduction_figure.rst",
            category="Reproduction",
        ),
    log:
        f"{OUT}/logs/reproduction.log",
    benchmark:
        f"{OUT}/benchmarks/reproduction.tsv"
    params:
        mapping=CONFIG.get("reproduction"),
        replication=CONFIG.get("replication"),
        estimate_paths=get_reproduction_estimate_paths,
        truth_paths=get_truth_table_paths,
    script:
        "../scripts/reproduce_review.py"


rule write_provenance:
    input:
        get_result_outputs,
        table1=[f"{OUT}/cohorts/{name}.table1.tsv" for name in COHORTS],
    output:
        provenance=report(
            f"{OUT}/provenance.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
        run=report(
            f"{OUT}/report/run.html",
            caption="../report/run.rst",
            category="1. Run",
        ),
        strobe=report(
            f"{OUT}/report/strobe.html",
            caption="../report/strobe.rst",
            category="2. Reporting checklists",
        ),
    log:
        f"{OUT}/logs/provenance.log",
    localrule: True
    params:
        config=CONFIG,
        input_files=get_provenance_input_files,
        started=f"{OUT}/logs/run_started.txt",
        source_dir=str(MUSCLECOG_DIR),
        checklist=str(MUSCLECOG_DIR / "resources" / "strobe_checklist.tsv"),
        config_files=[str(path) for path in workflow.configfiles],
    script:
        "../scripts/write_provenance.py"
