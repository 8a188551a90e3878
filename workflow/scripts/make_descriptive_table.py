"""Write the descriptive-statistics table (rule make_descriptive_table)."""

from innopanel.exhibits.steps import read_input, table_step
from innopanel.exhibits.summary_tables import descriptive_table
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
table_step(descriptive_table, read_input(snakemake.input.panel), snakemake.output, snakemake.params)
