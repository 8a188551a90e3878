"""Draw the focal unit against each peer in one year (rule plot_focal_vs_peers)."""

from innopanel.exhibits.panel_figures import plot_focal_vs_peers
from innopanel.exhibits.steps import figure_step, read_input
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(
    plot_focal_vs_peers, read_input(snakemake.input.panel), snakemake.output, snakemake.params
)
