"""Write the diagnostics table from diagnostics.csv (rule make_diagnostics_table)."""

from innopanel.exhibits.estimate_tables import diagnostics_table
from innopanel.exhibits.steps import read_input, table_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
table_step(
    diagnostics_table, read_input(snakemake.input.diagnostics), snakemake.output, snakemake.params
)
