"""Write a regression table, main or robustness (rules make_regression_table and
make_robustness_table): LaTeX, Markdown, CSV and HTML. Its note says how many of the
panel's units each model uses (the panel's count from data_quality/model_coverage.json)."""

import json

from innopanel.exhibits.estimate_tables import regression_table
from innopanel.exhibits.steps import read_input, table_step
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
with open(snakemake.input.coverage, encoding="utf-8") as stream:
    panel_units = json.load(stream)["panel_units"]
table_step(
    regression_table,
    read_input(snakemake.input.estimates),
    snakemake.output,
    {**dict(snakemake.params.items()), "panel_units": panel_units},
)
