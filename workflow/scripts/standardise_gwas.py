"""Rule standardise_gwas: read one trait's summary statistics, check them and write the standard parquet + flow."""

from musclecog.log import end_job, log_to
from musclecog.mr.gwas import standardise_file

with log_to(snakemake.log.standardise) as log:
    trait = snakemake.wildcards.trait
    out = snakemake.output
    result = standardise_file(trait, snakemake.params.spec, snakemake.input[0], out.parquet, out.flow)
    log.info("%s: %d of %d rows standardised", trait, result.meta["n_variants"], result.meta["n_rows_read"])
end_job()
