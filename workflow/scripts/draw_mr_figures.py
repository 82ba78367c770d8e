"""Rule mr_figures: the four figures of every MR pair of the run (scatter, forest, funnel, leave-one-out), drawn
from the tables its pair job wrote, in one job (the figures shared among the job's threads as processes)."""

from musclecog.log import end_job, log_to
from musclecog.plots.mr import FIGURE_TABLES, write_pair_figures

with log_to(snakemake.log[0]) as log:
    pairs = snakemake.params.pairs
    used = write_pair_figures(
        {pair: {name: snakemake.input[f"{pair}__{name}"] for name in FIGURE_TABLES} for pair in pairs},
        {pair: {name: snakemake.output[f"{pair}__{name}"] for name in snakemake.params.figures} for pair in pairs},
        processes=snakemake.threads,
    )
    for pair, n in used.items():
        log.info("%s: figures drawn from %d instruments", pair, n)
end_job()
