"""Rule triangulation: the grip-cognition triangulation table and its figure."""

from musclecog.log import end_job, log_to
from musclecog.plots import save_figure
from musclecog.plots.triangulation import triangulation_figure
from musclecog.results import write_table
from musclecog.triangulation import Sources, parse_rows, triangulation_table

with log_to(snakemake.log[0]) as log:
    sources = Sources(
        estimates=dict(snakemake.params.estimate_paths),
        cohorts=dict(snakemake.params.cohort_paths),
        harmonised=dict(snakemake.params.harmonised_paths),
        cohort_specs=dict(snakemake.params.cohorts),
        gwas_specs=dict(snakemake.params.gwas),
    )
    table = triangulation_table(parse_rows(snakemake.params.section), sources)
    write_table(table, snakemake.output.table)
    save_figure(triangulation_figure(table), snakemake.output.figure)
    log.info("triangulation: %d rows (%s)", len(table), table["design"].value_counts().to_dict())
end_job()
