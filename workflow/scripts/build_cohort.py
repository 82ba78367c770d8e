"""Rule simulate_cohort / ingest_cohort: build one cohort's analysis-ready table and its Table 1 laid out for
a paper (TSV, HTML, .docx; a view of the table1.tsv just written)."""

from musclecog.ingest import build_cohort, write_cohort
from musclecog.log import end_job, log_to

with log_to(snakemake.log[0]) as log:
    cohort = build_cohort(
        snakemake.wildcards.cohort,
        snakemake.params.spec,
        seed=snakemake.params.seed,
        min_cell=snakemake.params.min_cell,
    )
    write_cohort(cohort, snakemake.output)
    log.info("cohort %s: %d rows written, table 1 rendered", snakemake.wildcards.cohort, len(cohort.data))
end_job()
