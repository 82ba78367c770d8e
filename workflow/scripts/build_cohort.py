"""Rule simulate_cohort / ingest_cohort: build one cohort's analysis-ready table and its Table 1 laid out for
a paper (TSV, HTML, .docx; a view of the table1.tsv just written)."""

from musclecog.ingest import build_cohort, write_cohort
from musclecog.log import log_to
from musclecog.manuscript import table1_rendered
from musclecog.results import read_table

with log_to(snakemake.log[0]) as log:
    cohort = build_cohort(
        snakemake.wildcards.cohort,
        snakemake.params.spec,
        seed=snakemake.params.seed,
        min_cell=snakemake.params.min_cell,
    )
    write_cohort(cohort, snakemake.output)
    log.info("cohort %s: %d rows written", snakemake.wildcards.cohort, len(cohort.data))
    paper = table1_rendered(read_table(snakemake.output.table1), snakemake.wildcards.cohort)
    paper.write(snakemake.output.table1_paper.removesuffix(".tsv"))
    log.info("table 1 of %s rendered", snakemake.wildcards.cohort)
