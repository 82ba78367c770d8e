"""Rule standardise_gwas: read one trait's summary statistics, check them and write the standard parquet + flow."""

from musclecog.log import end_job, log_to
from musclecog.mr.gwas import GwasSpec, standardise, write_standardised
from musclecog.mr.gwas.columns import use_system_allocator

with log_to(snakemake.log[0]) as log:
    use_system_allocator()  # less system time than pyarrow's mimalloc (musclecog.mr.gwas.columns)
    spec = GwasSpec.from_config(snakemake.wildcards.trait, snakemake.params.spec, path=snakemake.input[0])
    result = standardise(spec)
    write_standardised(result, snakemake.output.parquet, snakemake.output.flow)
    log.info("%s: %d of %d rows standardised", spec.name, result.meta["n_variants"], result.meta["n_rows_read"])
end_job()
