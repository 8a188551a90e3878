"""Write the LaTeX regression table (rule regression_table)."""

import logging

import pandas as pd

from innopanel.runlog import log_to_file
from innopanel.tables import write_regression_table

log_to_file(snakemake.log[0])
write_regression_table(
    snakemake.output.tex,
    pd.read_csv(snakemake.input.estimates),
    snakemake.params.models,
    snakemake.params.model_labels,
    snakemake.params.term_labels,
    digits=snakemake.params.digits,
    stars=snakemake.params.stars,
    note=snakemake.params.note,
)
logging.info("wrote %s", snakemake.output.tex)
