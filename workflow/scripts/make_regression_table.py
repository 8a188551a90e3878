"""Write a regression table, main or robustness (rules make_regression_table and
make_robustness_table): LaTeX, Markdown, CSV and HTML."""

from innopanel.exhibits.estimate_tables import regression_table
from innopanel.exhibits.steps import read_input, table_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
table_step(
    regression_table, read_input(snakemake.input.estimates), snakemake.output, snakemake.params
)
