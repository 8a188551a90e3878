"""Draw coefficients with 95 % CIs across models (rule plot_coefficients)."""

import logging

import pandas as pd

from innopanel.exhibits.estimate_figures import plot_coefficients
from innopanel.exhibits.style import save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure = plot_coefficients(
    pd.read_csv(snakemake.input.estimates),
    snakemake.params.terms,
    snakemake.params.models,
    snakemake.params.model_labels,
    snakemake.params.term_labels,
    snakemake.params.footer,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
