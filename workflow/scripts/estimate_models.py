"""Fit every configured panel model; write estimates and residuals (rule estimate_models)."""

import logging

import pandas as pd

from innopanel.config.specs import model_specs
from innopanel.econometrics.models import estimate_models, write_estimates
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
models = model_specs({"study": snakemake.params.window, "models": snakemake.params.models})
estimates = estimate_models(panel, models, unit=snakemake.params.unit)
write_estimates(
    estimates,
    snakemake.params.data_note,
    snakemake.output.estimates,
    snakemake.output.estimates_parquet,
    snakemake.output.residuals,
)
logging.info(
    "%d models, %d estimates, %d residuals",
    estimates.table["model"].nunique(),
    len(estimates.table),
    len(estimates.residuals),
)
