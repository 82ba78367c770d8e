"""Rule simulate_gwas: write one synthetic GWAS file (gzip TSV, GWAS-SSF columns) and the pair's truth table, then
standardise the file as rule standardise_gwas does a real trait's (parquet + flow, its own log)."""

from musclecog.log import end_job, log_to
from musclecog.mr.gwas import standardise_file
from musclecog.results import write_table
from musclecog.simulate.gwas import DESIGN_TRAITS, write_simulated_gwas

trait, out = snakemake.wildcards.trait, snakemake.output
with log_to(snakemake.log.simulate) as log:
    sim = snakemake.params.simulate["simulate"]
    pair = write_simulated_gwas(
        DESIGN_TRAITS[sim["design"]],
        out.raw,
        seed=snakemake.params.seed,
        n_variants=sim.get("n_variants"),
        params=sim.get("params"),
    )
    write_table(pair.truth, out.truth)
    log.info("synthetic GWAS %s: %d variants", trait, pair.params.n_variants)
with log_to(snakemake.log.standardise) as log:
    result = standardise_file(trait, snakemake.params.simulate, out.raw, out.parquet, out.flow)
    log.info("%s: %d of %d rows standardised", trait, result.meta["n_variants"], result.meta["n_rows_read"])
end_job()
