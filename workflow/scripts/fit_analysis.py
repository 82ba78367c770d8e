"""Rule fit_analysis: fit one configured analysis and write its tidy table and figure (PNG and SVG) and its
manuscript Table 2 (TSV, HTML, .docx)."""

import pandas as pd

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.log import log_to
from musclecog.manuscript import table2
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
    )
    result = run_analysis(pd.read_parquet(snakemake.input.cohort), entry, context)
    write_table(result.to_tidy(), snakemake.output.table)
    save_figure(draw(result), snakemake.output.figure, snakemake.output.svg)
    table2(result).write(snakemake.output.table2.removesuffix(".tsv"))
    log.info("analysis %s (%s) done", context.analysis, entry["type"])
