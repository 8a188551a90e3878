"""Draw the within-unit relationship with its OLS line (rule plot_within_relationship)."""

from innopanel.exhibits.relationship_figures import plot_within_relationship
from innopanel.exhibits.steps import figure_step, read_input
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(
    plot_within_relationship, read_input(snakemake.input.panel), snakemake.output, snakemake.params
)
