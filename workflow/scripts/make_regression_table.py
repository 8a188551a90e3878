"""Write a regression table, main or robustness (rules make_regression_table and
make_robustness_table): LaTeX, Markdown, CSV and HTML."""

import logging

import pandas as pd

from innopanel.exhibits.estimate_tables import regression_table
from innopanel.exhibits.tables import FORMATS, write_table
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
table = regression_table(
    pd.read_csv(snakemake.input.estimates),
    params.models,
    params.model_labels,
    params.term_labels,
    unit=params.unit,
    digits=params.digits,
    stars=params.stars,
    note=params.note,
    name=params.name,
    config_key=params.config_key,
)
write_table(table, {key: snakemake.output[key] for key in FORMATS})
logging.info("wrote table '%s' with %d columns", params.name, len(table.columns))
