"""Test the specification curve as a whole against its null draws (rule multiverse_joint_tests)."""

from innopanel.econometrics.multiverse_steps import joint_tests_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
joint_tests_step(
    snakemake.input.specifications,
    snakemake.input.draws,
    snakemake.params.data_note,
    snakemake.output.tests,
    snakemake.output.null,
)
