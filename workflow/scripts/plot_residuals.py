"""Draw residual diagnostics of one model (rule plot_residuals)."""

import logging

import pandas as pd

from innopanel.exhibits.estimate_figures import model_residuals, plot_residuals
from innopanel.exhibits.frames import unit_names
from innopanel.exhibits.style import save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
residuals = model_residuals(pd.read_parquet(snakemake.input.residuals), params.model)
figure = plot_residuals(
    residuals,
    params.labels[params.outcome],
    params.model_labels[params.model],
    params.focal_unit,
    unit_names(pd.read_csv(snakemake.input.panel, dtype={"unit_id": str})),
    params.footer,
    unit=params.unit,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info(
    "wrote %s and %s (%d residuals)", snakemake.output.pdf, snakemake.output.png, len(residuals)
)
