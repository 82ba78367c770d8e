"""Rule mr_figures: the four figures of every MR pair of the run (scatter, forest, funnel, leave-one-out), drawn
from the tables its pair job wrote, in one job."""

from musclecog.log import log_to
from musclecog.plots import save_figure
from musclecog.plots.mr import FIGURE_TABLES, all_figures, read_figure_data

with log_to(snakemake.log[0]) as log:
    for pair in snakemake.params.pairs:
        data = read_figure_data({name: snakemake.input[f"{pair}__{name}"] for name in FIGURE_TABLES})
        for name, fig in all_figures(data).items():
            save_figure(fig, snakemake.output[f"{pair}__{name}"])
        log.info("%s: figures drawn from %d instruments", pair, len(data.data))
