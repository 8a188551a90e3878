"""Fit the vintage table's model on one policy's panel (rule estimate_vintage)."""

import logging

import pandas as pd

from innopanel.config.specs import model_specs
from innopanel.econometrics.models import estimate_models
from innopanel.io import with_data_note, write_csv
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
models = model_specs({"study": snakemake.params.window, "models": snakemake.params.models})
estimates = estimate_models(panel, models, unit=snakemake.params.unit)
write_csv(snakemake.output.estimates, with_data_note(estimates.table, snakemake.params.data_note))
logging.info("%s: %d estimates", snakemake.wildcards.vintage, len(estimates.table))
