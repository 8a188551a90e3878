"""Draw the correlation heatmap (rule plot_correlation_heatmap)."""

from innopanel.exhibits.relationship_figures import plot_correlation_heatmap
from innopanel.exhibits.steps import figure_step, read_input
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(
    plot_correlation_heatmap, read_input(snakemake.input.panel), snakemake.output, snakemake.params
)
