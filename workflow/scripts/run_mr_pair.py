"""Rules mr_pair / mr_pair_multivariable / mr_harmonised / mr_harmonised_multivariable: instruments ->
harmonise -> estimator suite for one exposure__outcome pair (multivariable IVW too when the pair has adjust_for),
then its tables (its figures: rule mr_figures, from these tables)."""

import shutil

from musclecog.log import end_job, log_to
from musclecog.mr.analysis import MRSettings
from musclecog.mr.gwas.columns import use_system_allocator
from musclecog.mr.pipeline import TABLES, PairRun, run_harmonised, run_pair, write_pair

with log_to(snakemake.log[0]) as log:
    use_system_allocator()  # less system time than pyarrow's mimalloc (musclecog.mr.gwas.columns)
    out, params = snakemake.output, snakemake.params
    settings = MRSettings.from_config(params.settings)
    if "harmonised" in snakemake.input.keys():
        pair = run_harmonised(snakemake.input.harmonised, params.spec, settings, params.seed)
    else:
        adjust = snakemake.input.get("adjust", [])
        adjust = [adjust] if isinstance(adjust, str) else list(adjust)
        pair = run_pair(snakemake.input.exposure, snakemake.input.outcome, params.spec, settings, params.seed,
                        run=PairRun(workdir=params.workdir, threads=snakemake.threads), adjust_parquets=adjust)
        shutil.rmtree(params.workdir, ignore_errors=True)
    # multivariable.tsv: only pairs with adjust_for (rules mr_pair_multivariable, mr_harmonised_multivariable);
    # multivariable_harmonised.tsv: GWAS pairs with adjust_for (rule mr_pair_multivariable)
    tables = [*TABLES, *(name for name in ("multivariable", "multivariable_harmonised") if name in out.keys())]
    write_pair(pair, {name: out[name] for name in tables})
    log.info("%s: %d instruments used", snakemake.wildcards.pair, int(pair.harmonised["mr_keep"].sum()))
end_job()
