"""Rule fit_analysis: fit one configured analysis and write its tidy table, flow table and figure (PNG and
SVG) and its manuscript Table 2 (TSV, HTML, .docx)."""

from musclecog.analyses import analysis_cohort, load_analysis_data, run_analysis
from musclecog.core.spec import RunContext
from musclecog.disclosure import flow_table
from musclecog.log import log_to
from musclecog.manuscript import table2
from musclecog.plots import draw, save_figure
from musclecog.results import write_table

with log_to(snakemake.log[0]) as log:
    entry = snakemake.params.spec
    context = RunContext(
        analysis=snakemake.wildcards.analysis,
        cohort=analysis_cohort(entry),
        seed=snakemake.params.seed,
        survey=snakemake.params.survey,
        threads=snakemake.threads,
        min_cell=snakemake.params.min_cell,
    )
    data = load_analysis_data(entry, snakemake.input.cohort)
    result = run_analysis(data, entry, context)
    write_table(result.to_tidy(), snakemake.output.table)
    write_table(flow_table(result, context.min_cell), snakemake.output.flow)
    save_figure(draw(result), snakemake.output.figure, snakemake.output.svg)
    table2(result).write(snakemake.output.table2.removesuffix(".tsv"))
    log.info("analysis %s (%s) done", context.analysis, entry["type"])
