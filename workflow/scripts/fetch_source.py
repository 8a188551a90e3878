"""Stage one raw source and verify its SHA256 (rule fetch_source)."""

import logging

from innopanel.fetch import stage_source
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
digest = stage_source(
    snakemake.wildcards.source,
    snakemake.input.raw,
    snakemake.params.sha256,
    snakemake.output.staged,
)
logging.info("staged %s -> %s (sha256 %s)", snakemake.input.raw, snakemake.output.staged, digest)
