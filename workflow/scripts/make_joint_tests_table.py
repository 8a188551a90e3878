"""Write the specification curve's joint tests as a table (rule make_joint_tests_table)."""

from innopanel.exhibits.joint_tests_table import joint_tests_table
from innopanel.exhibits.steps import read_input, table_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
table_step(joint_tests_table, read_input(snakemake.input.tests), snakemake.output, snakemake.params)
