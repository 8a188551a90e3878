"""Redraw one chunk of specifications under one block of null draws (rule multiverse_null)."""

from innopanel.econometrics.multiverse_steps import null_chunk_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
null_chunk_step(
    snakemake.input.panel,
    int(snakemake.wildcards.chunk),
    int(snakemake.wildcards.block),
    snakemake.params.settings,
    snakemake.output.draws,
)
