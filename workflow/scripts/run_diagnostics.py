"""Run the configured specification tests (rule run_diagnostics)."""

import logging

import pandas as pd

from innopanel.econometrics.diagnostics import run_diagnostics
from innopanel.io import with_data_note, write_csv
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
diagnostics = run_diagnostics(
    panel, snakemake.params.models, snakemake.params.diagnostics, unit=snakemake.params.unit
)
write_csv(snakemake.output.diagnostics, with_data_note(diagnostics, snakemake.params.data_note))
logging.info("%d diagnostic rows", len(diagnostics))
