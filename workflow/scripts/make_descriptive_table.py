"""Write the descriptive-statistics table (rule make_descriptive_table)."""

import logging

import pandas as pd

from innopanel.exhibits.summary_tables import descriptive_table
from innopanel.exhibits.tables import FORMATS, write_table
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
table = descriptive_table(
    pd.read_csv(snakemake.input.panel, dtype={"unit_id": str}),
    params.panels,
    params.labels,
    unit=params.unit,
    digits=params.digits,
    note=params.note,
)
write_table(table, {key: snakemake.output[key] for key in FORMATS})
logging.info("wrote descriptive statistics of %d variables", len(table.body_rows))
