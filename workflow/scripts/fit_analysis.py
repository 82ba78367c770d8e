"""Rule fit_analysis: fit one configured analysis and write its tidy table, flow table and figure."""

import pandas as pd

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.disclosure import flow_table
from musclecog.log import log_to
from musclecog.plots import draw, save_figure
from musclecog.results import write_table

with log_to(snakemake.log[0]) as log:
    entry = snakemake.params.spec
    context = RunContext(
        analysis=snakemake.wildcards.analysis,
        cohort=entry["cohort"],
        seed=snakemake.params.seed,
        survey=snakemake.params.survey,
        threads=snakemake.threads,
        min_cell=snakemake.params.min_cell,
    )
    result = run_analysis(pd.read_parquet(snakemake.input.cohort), entry, context)
    write_table(result.to_tidy(), snakemake.output.table)
    write_table(flow_table(result, context.min_cell), snakemake.output.flow)
    save_figure(draw(result), snakemake.output.figure)
    log.info("analysis %s (%s) done", context.analysis, entry["type"])
