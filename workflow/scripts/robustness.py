"""Rule robustness: E-values and omitted-variable bounds of the run's observational estimates."""

from musclecog.log import end_job, log_to
from musclecog.results import write_table
from musclecog.robustness import run_robustness

with log_to(snakemake.log[0]) as log:
    table = run_robustness(list(snakemake.input.estimates), snakemake.params.cohort_paths)
    write_table(table, snakemake.output[0])
    log.info("robustness: %d exposure estimates", len(table))
end_job()
