"""Rule write_provenance: resolved config, package versions, input checksums, seed, start/end time, git state of the source."""

from pathlib import Path

from musclecog.log import log_to
from musclecog.provenance import build_provenance, write_provenance

with log_to(snakemake.log[0]):
    started_file = Path(snakemake.params.started)
    started = started_file.read_text().strip() if started_file.exists() else None
    record = build_provenance(
        snakemake.params.config,
        snakemake.params.input_files,
        started,
        source_dir=snakemake.params.source_dir,
    )
    write_provenance(record, snakemake.output[0])
