"""Draw the focal unit against its peers over the years (rule plot_trends)."""

import logging

import pandas as pd

from innopanel.exhibits.panel_figures import plot_trends
from innopanel.exhibits.style import save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
figure = plot_trends(
    pd.read_csv(snakemake.input.panel, dtype={"unit_id": str}),
    params.focal_unit,
    params.peer_units,
    params.variables,
    params.labels,
    params.footer,
    unit=params.unit,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
