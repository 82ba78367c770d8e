"""Rule simulate_cohort / ingest_cohort: build one cohort's analysis-ready table."""

from musclecog.ingest import build_cohort, write_cohort
from musclecog.log import log_to

with log_to(snakemake.log[0]) as log:
    cohort = build_cohort(
        snakemake.wildcards.cohort,
        snakemake.params.spec,
        seed=snakemake.params.seed,
        min_cell=snakemake.params.min_cell,
    )
    write_cohort(cohort, snakemake.output)
    log.info("cohort %s: %d rows written", snakemake.wildcards.cohort, len(cohort.data))
