"""Fit every configured panel model and the Hausman test (rule estimate_models)."""

import logging

import pandas as pd

from innopanel.io import write_csv
from innopanel.models import estimate_models, hausman_test
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
models = snakemake.params.models
estimates = estimate_models(panel, models, unit=snakemake.params.unit)
hausman = hausman_test(
    panel,
    models,
    snakemake.params.hausman["fixed_effects"],
    snakemake.params.hausman["random_effects"],
)
write_csv(snakemake.output.estimates, estimates)
write_csv(snakemake.output.hausman, hausman)
logging.info("%d models, %d estimates", estimates["model"].nunique(), len(estimates))
