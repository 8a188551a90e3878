"""Estimate one chunk of the multiverse's specifications (rule multiverse_estimate)."""

from innopanel.econometrics.multiverse_steps import estimate_chunk_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
estimate_chunk_step(
    snakemake.input.panel,
    int(snakemake.wildcards.chunk),
    snakemake.params.settings,
    snakemake.output.chunk,
)
