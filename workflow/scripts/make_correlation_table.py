"""Write the correlation-matrix table (rule make_correlation_table)."""

import logging

import pandas as pd

from innopanel.exhibits.summary_tables import correlation_table
from innopanel.exhibits.tables import FORMATS, write_table
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
table = correlation_table(
    pd.read_csv(snakemake.input.panel, dtype={"unit_id": str}),
    params.variables,
    params.labels,
    unit=params.unit,
    digits=params.digits,
    note=params.note,
)
write_table(table, {key: snakemake.output[key] for key in FORMATS})
logging.info("wrote correlations of %d variables", len(params.variables))
