"""Write the headline-under-each-vintage-policy table (rule make_vintage_table)."""

import logging

import pandas as pd

from innopanel.config.data_specs import VINTAGE_POLICIES
from innopanel.exhibits.frames import unit_names
from innopanel.exhibits.tables import FORMATS, write_table
from innopanel.exhibits.vintage_tables import vintage_table
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
table = vintage_table(
    dict(zip(VINTAGE_POLICIES, snakemake.input.estimates, strict=True)),
    dict(zip(VINTAGE_POLICIES, snakemake.input.quality, strict=True)),
    names=unit_names(pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})),
    **dict(snakemake.params.items()),
)
write_table(table, {key: snakemake.output[key] for key in FORMATS})
logging.info("wrote table '%s'", table.name)
