"""Draw the within-city relationship with its OLS line (rule plot_within_relationship)."""

import logging

import pandas as pd

from innopanel.figures import plot_within_relationship, save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure = plot_within_relationship(
    pd.read_csv(snakemake.input.panel),
    snakemake.params.outcome,
    snakemake.params.regressor,
    snakemake.params.labels,
    snakemake.params.focal_unit,
    snakemake.params.footer,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
