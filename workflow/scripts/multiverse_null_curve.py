"""Rank each panel's null estimates into the curve's null band (rule multiverse_null_curve)."""

from innopanel.econometrics.null_curve import null_curve_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
null_curve_step(
    snakemake.input.specifications,
    snakemake.input.draws,
    snakemake.params.data_note,
    snakemake.output.curve,
)
