"""Rank every unit on one variable in one year (rule plot_ranking)."""

import logging

import pandas as pd

from innopanel.exhibits.panel_figures import plot_ranking
from innopanel.exhibits.style import save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
params = snakemake.params
figure = plot_ranking(
    pd.read_csv(snakemake.input.panel, dtype={"unit_id": str}),
    params.variable,
    params.focal_unit,
    params.peer_units,
    params.labels,
    params.footer,
    unit=params.unit,
    year=params.year,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
