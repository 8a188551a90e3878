"""Draw the correlation heatmap (rule plot_correlation_heatmap)."""

import logging

import pandas as pd

from innopanel.exhibits.relationship_figures import plot_correlation_heatmap
from innopanel.exhibits.style import save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
figure = plot_correlation_heatmap(
    pd.read_csv(snakemake.input.panel, dtype={"unit_id": str}),
    params.variables,
    params.labels,
    params.footer,
    unit=params.unit,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
