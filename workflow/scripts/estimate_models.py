"""Fit every configured panel model (rule estimate_models)."""

import logging

import pandas as pd

from innopanel.config.specs import model_specs
from innopanel.econometrics.models import estimate_models, write_estimates
from innopanel.io import with_data_note
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
models = model_specs({"study": snakemake.params.window, "models": snakemake.params.models})
estimates = estimate_models(panel, models, unit=snakemake.params.unit)
write_estimates(
    with_data_note(estimates, snakemake.params.data_note),
    snakemake.output.estimates,
    snakemake.output.estimates_parquet,
)
logging.info("%d models, %d estimates", estimates["model"].nunique(), len(estimates))
