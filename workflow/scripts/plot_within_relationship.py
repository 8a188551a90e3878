"""Draw the within-unit relationship with its OLS line (rule plot_within_relationship)."""

import logging

import pandas as pd

from innopanel.exhibits.relationship_figures import plot_within_relationship
from innopanel.exhibits.style import save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
figure = plot_within_relationship(
    pd.read_csv(snakemake.input.panel, dtype={"unit_id": str}),
    params.outcome,
    params.regressor,
    params.labels,
    params.focal_unit,
    params.footer,
    unit=params.unit,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
