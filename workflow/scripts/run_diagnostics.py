"""Run the configured specification tests (rule run_diagnostics)."""

import logging

import pandas as pd

from innopanel.config.diagnostics import diagnostics_spec
from innopanel.config.specs import model_specs
from innopanel.econometrics.diagnostics import run_diagnostics
from innopanel.io import with_data_note, write_csv
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
models = model_specs({"study": snakemake.params.window, "models": snakemake.params.models})
diagnostics = run_diagnostics(
    panel,
    models,
    diagnostics_spec(snakemake.params.diagnostics),
    unit=snakemake.params.unit,
)
write_csv(snakemake.output.diagnostics, with_data_note(diagnostics, snakemake.params.data_note))
logging.info("%d diagnostic rows", len(diagnostics))
