"""Write the diagnostics table from diagnostics.csv (rule make_diagnostics_table)."""

import logging

import pandas as pd

from innopanel.exhibits.estimate_tables import diagnostics_table
from innopanel.exhibits.tables import FORMATS, write_table
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
table = diagnostics_table(
    pd.read_csv(snakemake.input.diagnostics),
    params.model_labels,
    params.term_labels,
    digits=params.digits,
    note=params.note,
)
write_table(table, {key: snakemake.output[key] for key in FORMATS})
logging.info("wrote %d diagnostic rows", len(table.body_rows))
