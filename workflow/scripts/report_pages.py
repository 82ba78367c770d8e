"""Rule report_pages: the run page and the STROBE / STROBE-MR checklist page of the report."""

from pathlib import Path

from musclecog.log import log_to
from musclecog.reporting import run_summary, strobe_checklist

with log_to(snakemake.log[0]) as log:
    config = snakemake.params.config
    results = Path(snakemake.input.provenance).parent
    Path(snakemake.output.run).parent.mkdir(parents=True, exist_ok=True)
    Path(snakemake.output.run).write_text(
        run_summary(config, results, list(snakemake.params.config_files)), encoding="utf-8"
    )
    Path(snakemake.output.strobe).write_text(
        strobe_checklist(config, snakemake.input.checklist), encoding="utf-8"
    )
    log.info("report pages written")
