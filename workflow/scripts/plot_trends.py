"""Draw the focal unit against its peers over the years (rule plot_trends)."""

from innopanel.exhibits.panel_figures import plot_trends
from innopanel.exhibits.steps import figure_step, read_input
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(plot_trends, read_input(snakemake.input.panel), snakemake.output, snakemake.params)
