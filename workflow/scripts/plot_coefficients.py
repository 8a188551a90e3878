"""Draw coefficients with 95 % CIs across models (rule plot_coefficients)."""

from innopanel.exhibits.estimate_figures import plot_coefficients
from innopanel.exhibits.steps import figure_step, read_input
from innopanel.runlog import log_to_file

log_to_file(snakemake.log[0])
figure_step(
    plot_coefficients, read_input(snakemake.input.estimates), snakemake.output, snakemake.params
)
