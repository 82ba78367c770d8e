"""Rule fit_analysis: fit one configured analysis and write its tidy table and figure."""

import pandas as pd

from musclecog.analyses import AnalysisContext, run_analysis
from musclecog.log import log_to
from musclecog.plots import save_figure
from musclecog.results import write_table

with log_to(snakemake.log[0]) as log:
    spec = snakemake.params.spec
    context = AnalysisContext(
        analysis=snakemake.wildcards.analysis,
        cohort=spec["cohort"],
        seed=snakemake.params.seed,
        survey=snakemake.params.survey,
        threads=snakemake.threads,
    )
    result = run_analysis(pd.read_parquet(snakemake.input.cohort), spec, context)
    write_table(result.to_tidy(), snakemake.output.table)
    save_figure(result.figure(), snakemake.output.figure)
    log.info("analysis %s (%s) done", context.analysis, spec["type"])
