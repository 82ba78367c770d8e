"""Rule write_provenance: resolved config, package versions, input checksums, seed, start/end time, git state
of the source; then the report's own pages from it (the run page and the STROBE / STROBE-MR checklist)."""

from pathlib import Path

from musclecog.log import end_job, log_to
from musclecog.provenance import build_provenance, write_provenance
from musclecog.reporting import run_summary, strobe_checklist

with log_to(snakemake.log[0]) as log:
    started_file = Path(snakemake.params.started)
    started = started_file.read_text().strip() if started_file.exists() else None
    record = build_provenance(
        snakemake.params.config,
        snakemake.params.input_files,
        started,
        source_dir=snakemake.params.source_dir,
    )
    write_provenance(record, snakemake.output.provenance)
    config = snakemake.params.config
    results = Path(snakemake.output.provenance).parent
    Path(snakemake.output.run).parent.mkdir(parents=True, exist_ok=True)
    Path(snakemake.output.run).write_text(
        run_summary(config, results, list(snakemake.params.config_files)), encoding="utf-8"
    )
    Path(snakemake.output.strobe).write_text(
        strobe_checklist(config, snakemake.params.checklist), encoding="utf-8"
    )
    log.info("provenance and report pages written")
end_job()
