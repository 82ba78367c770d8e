"""Rule reproduce_review: the reproduction table and its figure."""

from musclecog.log import end_job, log_to
from musclecog.plots import save_figure
from musclecog.plots.reproduction import reproduction_figure
from musclecog.reproduce import build_reproduction
from musclecog.results import write_table

with log_to(snakemake.log[0]) as log:
    table = build_reproduction(
        snakemake.input.targets,
        snakemake.params.mapping,
        snakemake.params.estimate_paths,
        snakemake.params.truth_paths,
        snakemake.params.replication,
    )
    write_table(table, snakemake.output.table)
    save_figure(reproduction_figure(table), snakemake.output.figure)
    log.info("reproduction: %s", table["verdict"].value_counts().to_dict())
end_job()
