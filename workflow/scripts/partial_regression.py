"""Partial out a model's effects and other terms from its outcome and one regressor
(rule partial_regression): the data the within-relationship figure draws."""

import logging

import pandas as pd

from innopanel.config.specs import model_specs
from innopanel.econometrics.partial_regression import (
    partial_regression,
    write_partial_regression,
)
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
panel = pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})
spec = model_specs({"study": params.window, "models": params.models})[params.model]
frame = partial_regression(panel, spec, params.regressor)
write_partial_regression(frame, params.data_note, snakemake.output.partial)
logging.info("model '%s', term '%s': %d unit-years", spec.name, params.regressor, len(frame))
