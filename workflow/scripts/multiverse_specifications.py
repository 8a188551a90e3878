"""Gather the estimated chunks into specifications.parquet (rule multiverse_specifications)."""

from innopanel.econometrics.multiverse_steps import gather_specifications
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
gather_specifications(
    snakemake.input.chunks, snakemake.params.data_note, snakemake.output.specifications
)
