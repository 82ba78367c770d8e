"""Rule simulate_gwas: write one synthetic GWAS file (gzip TSV, GWAS-SSF columns) and the pair's truth table."""

from musclecog.log import end_job, log_to
from musclecog.results import write_table
from musclecog.simulate.gwas import DESIGN_TRAITS, write_simulated_gwas

with log_to(snakemake.log[0]) as log:
    sim = snakemake.params.simulate["simulate"]
    pair = write_simulated_gwas(
        DESIGN_TRAITS[sim["design"]],
        snakemake.output.raw,
        seed=snakemake.params.seed,
        n_variants=sim.get("n_variants"),
        params=sim.get("params"),
    )
    write_table(pair.truth, snakemake.output.truth)
    log.info("synthetic GWAS %s: %d variants", snakemake.wildcards.trait, pair.params.n_variants)
end_job()
