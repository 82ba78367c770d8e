"""Rule render_table1: a cohort's table1.tsv laid out for a paper (TSV, HTML, .docx)."""

from musclecog.log import log_to
from musclecog.manuscript import table1_rendered
from musclecog.results import read_table

with log_to(snakemake.log[0]) as log:
    table = read_table(snakemake.input.table1)
    table1_rendered(table, snakemake.wildcards.cohort).write(snakemake.output.tsv.removesuffix(".tsv"))
    log.info("table 1 of %s rendered", snakemake.wildcards.cohort)
