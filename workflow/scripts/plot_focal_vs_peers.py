"""Draw the focal city against its peers over the years (rule plot_focal_vs_peers)."""

import logging

import pandas as pd

from innopanel.figures import plot_focal_vs_peers, save_figure
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure = plot_focal_vs_peers(
    pd.read_csv(snakemake.input.panel),
    snakemake.params.focal_unit,
    snakemake.params.peer_units,
    snakemake.params.variables,
    snakemake.params.labels,
    snakemake.params.footer,
)
save_figure(figure, snakemake.output.pdf, snakemake.output.png)
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
